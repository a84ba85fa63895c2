"""Hand-assembled ISO base media boxes for tests (MP4, QuickTime, HEIF), built with struct.

Nothing here reads a real file. Times are seconds since 1904-01-01 (QuickTime's epoch):
use :func:`qt_time` to get one from a UTC date.
"""

from __future__ import annotations

import struct
from datetime import datetime, timezone
from typing import Sequence

EPOCH_1904 = datetime(1904, 1, 1, tzinfo=timezone.utc)
IDENTITY = (0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
ROT90 = (0, 0x10000, 0, -0x10000 & 0xFFFFFFFF, 0, 0, 0, 0, 0x40000000)
XMP_UUID = bytes.fromhex("BE7ACFCB97A942E89C71999491E3AFAC")


def qt_time(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> int:
    return int((datetime(y, mo, d, h, mi, s, tzinfo=timezone.utc) - EPOCH_1904).total_seconds())


def t4(t: str | bytes) -> bytes:
    b = t.encode("latin-1") if isinstance(t, str) else t
    assert len(b) == 4, t
    return b


def box(t: str | bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I", 8 + len(body)) + t4(t) + body


def large_box(t: str | bytes, *payload: bytes) -> bytes:
    """A box with size 1 and a 64-bit largesize."""
    body = b"".join(payload)
    return struct.pack(">I", 1) + t4(t) + struct.pack(">Q", 16 + len(body)) + body


def fbox(t: str | bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return box(t, bytes([version]) + flags.to_bytes(3, "big"), *payload)


def ftyp(major: str = "isom", brands: Sequence[str] = ("isom", "mp42")) -> bytes:
    return box("ftyp", t4(major), struct.pack(">I", 0x200), *(t4(b) for b in brands))


def mvhd(created: int, modified: int, timescale: int = 1000, duration: int = 5000, version: int = 0) -> bytes:
    if version == 1:
        head = struct.pack(">QQIQ", created, modified, timescale, duration)
    else:
        head = struct.pack(">IIII", created, modified, timescale, duration)
    rest = struct.pack(">Ih", 0x10000, 0x100) + b"\x00" * 10 + struct.pack(">9I", *IDENTITY) + b"\x00" * 24
    return fbox("mvhd", version, 0, head, rest, struct.pack(">I", 3))


def tkhd(
    created: int,
    modified: int,
    track_id: int = 1,
    duration: int = 5000,
    width: float = 0,
    height: float = 0,
    version: int = 0,
    matrix: Sequence[int] = IDENTITY,
) -> bytes:
    if version == 1:
        head = struct.pack(">QQIIQ", created, modified, track_id, 0, duration)
    else:
        head = struct.pack(">IIIII", created, modified, track_id, 0, duration)
    rest = b"\x00" * 8 + struct.pack(">hhhH", 0, 0, 0, 0) + struct.pack(">9I", *matrix)
    dims = struct.pack(">II", int(width * 65536), int(height * 65536))
    return fbox("tkhd", version, 3, head, rest, dims)


def mdhd(created: int, modified: int, timescale: int = 600, duration: int = 3000, version: int = 0) -> bytes:
    if version == 1:
        head = struct.pack(">QQIQ", created, modified, timescale, duration)
    else:
        head = struct.pack(">IIII", created, modified, timescale, duration)
    lang = ((ord("e") - 0x60) << 10) | ((ord("n") - 0x60) << 5) | (ord("g") - 0x60)
    return fbox("mdhd", version, 0, head, struct.pack(">HH", lang, 0))


def hdlr(handler: str, name: bytes = b"Handler\x00", component: bytes = b"\x00\x00\x00\x00") -> bytes:
    return fbox("hdlr", 0, 0, component, t4(handler), b"\x00" * 12, name)


def visual_entry(codec: str, width: int, height: int) -> bytes:
    body = b"\x00" * 6 + struct.pack(">H", 1) + b"\x00" * 16 + struct.pack(">HH", width, height) + b"\x00" * 50
    return box(codec, body)


def audio_entry(codec: str = "mp4a", channels: int = 2, rate: int = 48000) -> bytes:
    body = b"\x00" * 6 + struct.pack(">H", 1) + b"\x00" * 8 + struct.pack(">HHHHI", channels, 16, 0, 0, rate << 16)
    return box(codec, body)


def stsd(*entries: bytes) -> bytes:
    return fbox("stsd", 0, 0, struct.pack(">I", len(entries)), *entries)


def trak(
    created: int,
    modified: int,
    handler: str = "vide",
    entry: bytes | None = None,
    width: float = 1920,
    height: float = 1080,
    track_id: int = 1,
    version: int = 0,
    extra: bytes = b"",
    chunk_box: bytes | None = None,
) -> bytes:
    if entry is None:
        entry = visual_entry("avc1", int(width), int(height)) if handler == "vide" else audio_entry()
    if handler != "vide":
        width = height = 0
    chunks = chunk_box if chunk_box is not None else fbox("stco", 0, 0, struct.pack(">II", 1, 48))
    stbl = box("stbl", stsd(entry), chunks)
    minf = box("minf", stbl)
    mdia = box("mdia", mdhd(created, modified, version=version), hdlr(handler), minf)
    return box("trak", tkhd(created, modified, track_id, width=width, height=height, version=version), mdia, extra)


def data_atom(type_code: int, value: bytes) -> bytes:
    return box("data", struct.pack(">I", type_code), b"\x00\x00\x00\x00", value)


def keys_meta(items: Sequence[tuple[str, int, bytes]], *, full: bool) -> bytes:
    """A ``meta`` with ``hdlr mdta`` + ``keys`` + ``ilst`` (full box in MP4, plain in QuickTime)."""
    keys = b"".join(struct.pack(">I", 8 + len(k.encode())) + b"mdta" + k.encode() for k, _, _ in items)
    keys_box = fbox("keys", 0, 0, struct.pack(">I", len(items)), keys)
    ilst = box("ilst", *(box(struct.pack(">I", i + 1), data_atom(tc, v)) for i, (_, tc, v) in enumerate(items)))
    body = hdlr("mdta", b"\x00") + keys_box + ilst
    return fbox("meta", 0, 0, body) if full else box("meta", body)


def text_atom(t: str, text: str, lang: int = 0x15C7) -> bytes:
    raw = text.encode("utf-8")
    return box(t, struct.pack(">HH", len(raw), lang), raw)


def udta(*atoms: bytes) -> bytes:
    return box("udta", *atoms)


def xmp_packet(create: str = "2020-01-02T03:04:05Z", tool: str = "TestTool 1.0") -> bytes:
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/">'
        f"<xmp:CreateDate>{create}</xmp:CreateDate><xmp:CreatorTool>{tool}</xmp:CreatorTool>"
        '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="r"?>'
    ).encode()


def uuid_box(usertype: bytes, payload: bytes) -> bytes:
    return box("uuid", usertype, payload)


def movie(
    *moov_children: bytes,
    major: str = "isom",
    brands: Sequence[str] = ("isom", "mp42"),
    top: Sequence[bytes] = (),
    mdat: bytes = b"\x00" * 64,
) -> bytes:
    return ftyp(major, brands) + box("moov", *moov_children) + b"".join(top) + box("mdat", mdat)


# --- HEIF ---------------------------------------------------------------------------


def infe(item_id: int, item_type: str, name: str = "", content_type: str | None = None, version: int = 2) -> bytes:
    idb = struct.pack(">H" if version == 2 else ">I", item_id)
    body = idb + struct.pack(">H", 0) + t4(item_type) + name.encode() + b"\x00"
    if content_type is not None:
        body += content_type.encode() + b"\x00"
    return fbox("infe", version, 0, body)


def iinf(*entries: bytes, version: int = 0, count: int | None = None) -> bytes:
    n = len(entries) if count is None else count
    return fbox("iinf", version, 0, struct.pack(">H" if version == 0 else ">I", n), *entries)


def iloc(
    items: Sequence[tuple[int, int, int, Sequence[tuple[int, int]]]],
    *,
    version: int = 1,
    offset_size: int = 4,
    length_size: int = 4,
    base_offset_size: int = 0,
    index_size: int = 0,
) -> bytes:
    """items: (item_id, construction_method, base_offset, [(offset, length), ...])."""
    fmt = {0: "", 4: "I", 8: "Q"}
    body = bytes([(offset_size << 4) | length_size, (base_offset_size << 4) | (index_size if version else 0)])
    body += struct.pack(">H" if version < 2 else ">I", len(items))
    for item_id, method, base, extents in items:
        body += struct.pack(">H" if version < 2 else ">I", item_id)
        if version in (1, 2):
            body += struct.pack(">H", method & 0x0F)
        body += struct.pack(">H", 0)
        if base_offset_size:
            body += struct.pack(">" + fmt[base_offset_size], base)
        body += struct.pack(">H", len(extents))
        for off, length in extents:
            if version and index_size:
                body += struct.pack(">" + fmt[index_size], 0)
            if offset_size:
                body += struct.pack(">" + fmt[offset_size], off)
            if length_size:
                body += struct.pack(">" + fmt[length_size], length)
    return fbox("iloc", version, 0, body)


def ispe_iprp(item_id: int, width: int, height: int) -> bytes:
    ipco = box("ipco", fbox("ispe", 0, 0, struct.pack(">II", width, height)))
    ipma = fbox("ipma", 0, 0, struct.pack(">IHB", 1, item_id, 1), bytes([0x81]))
    return box("iprp", ipco, ipma)


def heif_file(
    exif_tiff: bytes | None,
    *,
    xmp: bytes | None = None,
    prefix: bytes = b"Exif\x00\x00",
    method: int = 0,
    iloc_version: int = 1,
    infe_version: int = 2,
    split: int = 0,
    offset_size: int = 4,
    base_offset_size: int = 0,
    major: str = "heic",
) -> bytes:
    """A HEIF still image: primary item 1 ('hvc1', no real coded data), an Exif item 2
    (the 4-byte offset, ``prefix``, then the TIFF block) and optionally an XMP item 3.

    ``method`` 0 stores the items in ``mdat`` (file offsets), 1 in ``idat``; ``split`` > 0
    cuts the Exif payload into two extents at that byte; ``base_offset_size`` > 0 moves
    the extents' offsets into a base offset.
    """
    payloads: dict[int, bytes] = {1: b"\x00" * 16}
    if exif_tiff is not None:
        payloads[2] = struct.pack(">I", len(prefix)) + prefix + exif_tiff
    if xmp is not None:
        payloads[3] = xmp
    entries = [infe(1, "hvc1", version=infe_version)]
    if 2 in payloads:
        entries.append(infe(2, "Exif", version=infe_version))
    if 3 in payloads:
        entries.append(infe(3, "mime", content_type="application/rdf+xml", version=infe_version))
    refs = fbox("iref", 0, 0, box("cdsc", struct.pack(">HHH", 2, 1, 1))) if 2 in payloads else b""

    def build(offsets: dict[int, int]) -> bytes:
        items = []
        for item_id, data in payloads.items():
            off = offsets.get(item_id, 0)
            base = 0
            if base_offset_size:
                base, off = off, 0
            if split and item_id == 2:
                extents = [(off, split), (off + split, len(data) - split)]
            else:
                extents = [(off, len(data))]
            items.append((item_id, method, base, extents))
        loc = iloc(items, version=iloc_version, offset_size=offset_size, base_offset_size=base_offset_size)
        body = hdlr("pict") + fbox("pitm", 0, 0, struct.pack(">H", 1)) + iinf(*entries)
        body += loc + refs + ispe_iprp(1, 64, 48)
        if method == 1:
            body += box("idat", b"".join(payloads.values()))
        return ftyp(major, ("mif1", major)) + fbox("meta", 0, 0, body)

    # Offsets depend on the meta box's length, which does not depend on the offsets' values.
    offsets: dict[int, int] = {}
    pos = 0
    for item_id, data in payloads.items():
        offsets[item_id] = pos
        pos += len(data)
    head = build(offsets)
    if method == 1:
        return head
    start = len(head) + 8  # mdat header
    head = build({k: v + start for k, v in offsets.items()})
    return head + box("mdat", b"".join(payloads.values()))
