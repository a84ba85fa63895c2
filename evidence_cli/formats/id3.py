"""ID3 tags: the metadata of MP3 (and some AAC) files, read within bounds.

An ID3v2 tag (versions 2.2, 2.3 and 2.4) starts the file: a 10-byte header, then
frames, each a short name and its data. An ID3v1 tag is the file's last 128 bytes.
Everything here is bounded: at most :data:`MAX_TAG` bytes of a tag are read, at most
:data:`MAX_FRAMES` frames kept, a compressed frame inflates to at most
:data:`MAX_INFLATED` bytes. Damage never raises: it becomes a note, and what could be
read is kept. Encrypted frames are listed, never decrypted.

References: id3.org's ID3v2.2, ID3v2.3.0 and ID3v2.4.0 structure and frames documents.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import BinaryIO

#: Bytes of an ID3v2 tag read (cover art aside, a tag is a few kilobytes).
MAX_TAG = 16 * 1024 * 1024
MAX_FRAMES = 2_000
#: What one compressed frame may inflate to.
MAX_INFLATED = 16 * 1024 * 1024

#: ID3v2.2 frame names and their ID3v2.3 names: one set of names for the record.
V22_NAMES = {
    "BUF": "RBUF", "CNT": "PCNT", "COM": "COMM", "CRA": "AENC", "ETC": "ETCO", "GEO": "GEOB", "IPL": "IPLS",
    "LNK": "LINK", "MCI": "MCDI", "MLL": "MLLT", "PIC": "APIC", "POP": "POPM", "REV": "RVRB", "SLT": "SYLT",
    "STC": "SYTC", "TAL": "TALB", "TBP": "TBPM", "TCM": "TCOM", "TCO": "TCON", "TCR": "TCOP", "TDA": "TDAT",
    "TDY": "TDLY", "TEN": "TENC", "TFT": "TFLT", "TIM": "TIME", "TKE": "TKEY", "TLA": "TLAN", "TLE": "TLEN",
    "TMT": "TMED", "TOA": "TOPE", "TOF": "TOFN", "TOL": "TOLY", "TOR": "TORY", "TOT": "TOAL", "TP1": "TPE1",
    "TP2": "TPE2", "TP3": "TPE3", "TP4": "TPE4", "TPA": "TPOS", "TPB": "TPUB", "TRC": "TSRC", "TRD": "TRDA",
    "TRK": "TRCK", "TSI": "TSIZ", "TSS": "TSSE", "TT1": "TIT1", "TT2": "TIT2", "TT3": "TIT3", "TXT": "TEXT",
    "TXX": "TXXX", "TYE": "TYER", "UFI": "UFID", "ULT": "USLT", "WAF": "WOAF", "WAR": "WOAR", "WAS": "WOAS",
    "WCM": "WCOM", "WCP": "WCOP", "WPB": "WPUB", "WXX": "WXXX",
}  # fmt: skip

_ENCODINGS = {0: "latin-1", 1: "utf-16", 2: "utf-16-be", 3: "utf-8"}


@dataclass(frozen=True)
class Frame:
    """One frame: its name (ID3v2.3 names for ID3v2.2 frames) and its data, as stored
    once unsynchronisation and compression are undone (None: encrypted or unreadable)."""

    name: str
    data: bytes | None
    stored_name: str
    """The name as the file wrote it (three letters in ID3v2.2)."""


@dataclass
class Tag:
    """An ID3v2 tag: its version (``"2.3.0"``), declared size and frames."""

    version: str
    size: int
    frames: list[Frame] = field(default_factory=list)


def syncsafe(b: bytes) -> int | None:
    """A 28-bit syncsafe integer (7 bits a byte), None when a byte has its top bit set."""
    if len(b) != 4 or any(x & 0x80 for x in b):
        return None
    return (b[0] << 21) | (b[1] << 14) | (b[2] << 7) | b[3]


def resync(data: bytes) -> bytes:
    """Undo unsynchronisation: every ``FF 00`` written for an ``FF`` becomes ``FF`` again."""
    return data.replace(b"\xff\x00", b"\xff")


def tag_span(head: bytes) -> int | None:
    """Bytes an ID3v2 tag at the start of a file takes (header, body and footer), from the
    file's first 10 bytes; None when they are not an ID3v2 header. Some MP3 and FLAC
    writers put one before the audio."""
    if len(head) < 10 or head[:3] != b"ID3":
        return None
    size = syncsafe(head[6:10])
    return None if size is None else 10 + size + (10 if head[5] & 0x10 else 0)


def read_v2(fh: BinaryIO, notes: list[str]) -> Tag | None:
    """The ID3v2 tag at the start of ``fh``, or None when it has none (or its header is
    unusable, with a note)."""
    fh.seek(0)
    head = fh.read(10)
    if len(head) < 10 or head[:3] != b"ID3":
        return None
    major, revision, flags = head[3], head[4], head[5]
    version = f"2.{major}.{revision}"
    size = syncsafe(head[6:10])
    if size is None:
        notes.append(f"ID3v{version}: the tag's size is not a syncsafe integer; tag not read")
        return None
    tag = Tag(version, size)
    if major not in (2, 3, 4):
        notes.append(f"ID3v{version}: not a version this reader knows (2.2, 2.3, 2.4); frames not read")
        return tag
    if major == 2 and flags & 0x40:
        notes.append("ID3v2.2: the tag is compressed, a scheme the standard never defined; frames not read")
        return tag
    body = fh.read(min(size, MAX_TAG))
    if size > MAX_TAG:
        notes.append(f"ID3v{version}: the tag declares {size} bytes; only the first {MAX_TAG} were read")
    elif len(body) < size:
        notes.append(f"ID3v{version}: the tag declares {size} bytes but the file holds {len(body)} after its header")
    if major < 4 and flags & 0x80:
        body = resync(body)
    pos = _skip_extended_header(body, major, flags, version, notes)
    if pos is not None:
        _frames(tag, body, pos, major, bool(flags & 0x80), notes)
    return tag


def _skip_extended_header(body: bytes, major: int, flags: int, version: str, notes: list[str]) -> int | None:
    if major == 2 or not flags & 0x40:
        return 0
    raw = body[:4]
    ext = int.from_bytes(raw, "big") + 4 if major == 3 else syncsafe(raw)
    if len(raw) < 4 or ext is None or ext > len(body):
        notes.append(f"ID3v{version}: the extended header's size is damaged; frames not read")
        return None
    return ext


def _frames(tag: Tag, body: bytes, pos: int, major: int, all_unsync: bool, notes: list[str]) -> None:
    id_len, header = (3, 6) if major == 2 else (4, 10)
    where = f"ID3v{tag.version}"
    while pos + header <= len(body):
        raw_id = body[pos : pos + id_len]
        if raw_id[0] == 0:
            return  # padding
        if not all(0x30 <= c <= 0x39 or 0x41 <= c <= 0x5A for c in raw_id):
            notes.append(f"{where}: no frame name at offset {pos + 10} of the tag ({raw_id.hex()}); the rest not read")
            return
        if len(tag.frames) >= MAX_FRAMES:
            notes.append(f"{where}: more than {MAX_FRAMES} frames; the rest not read")
            return
        stored = raw_id.decode("ascii")
        fmt_flags = 0
        if major == 2:
            size: int | None = int.from_bytes(body[pos + 3 : pos + 6], "big")
        elif major == 3:
            size = int.from_bytes(body[pos + 4 : pos + 8], "big")
            fmt_flags = body[pos + 9]
        else:
            size = syncsafe(body[pos + 4 : pos + 8])
            if size is None:  # some writers put a plain integer here
                size = int.from_bytes(body[pos + 4 : pos + 8], "big")
                notes.append(f"{where}: frame {stored}'s size is not syncsafe; read as a plain integer")
            fmt_flags = body[pos + 9]
        assert size is not None
        data = body[pos + header : pos + header + size]
        pos += header + size
        if len(data) < size:
            notes.append(f"{where}: frame {stored} declares {size} bytes, the tag holds {len(data)}")
        name = V22_NAMES.get(stored, stored) if major == 2 else stored
        tag.frames.append(
            Frame(name, _frame_data(data, major, fmt_flags, all_unsync, f"{where} frame {stored}", notes), stored)
        )


def _frame_data(data: bytes, major: int, flags: int, all_unsync: bool, where: str, notes: list[str]) -> bytes | None:
    """A frame's data once its header extras, unsynchronisation and compression are undone."""
    if major == 3:
        compressed, encrypted, grouped = flags & 0x80, flags & 0x40, flags & 0x20
        # Extras in this order: decompressed size (4), encryption method (1), group (1).
        extra = (4 if compressed else 0) + (1 if encrypted else 0) + (1 if grouped else 0)
        unsync = False
    elif major == 4:
        grouped, compressed, encrypted = flags & 0x40, flags & 0x08, flags & 0x04
        unsync, length_given = bool(flags & 0x02) or all_unsync, flags & 0x01
        extra = (1 if grouped else 0) + (1 if encrypted else 0) + (4 if length_given else 0)
    else:
        return data
    if len(data) < extra:
        notes.append(f"{where}: shorter than its flags say; not read")
        return None
    data = data[extra:]
    if encrypted:
        notes.append(f"{where}: encrypted; not read")
        return None
    if unsync:
        data = resync(data)
    if compressed:
        inflater = zlib.decompressobj()
        try:
            out = inflater.decompress(data, MAX_INFLATED)
        except zlib.error as exc:
            notes.append(f"{where}: compressed data is damaged ({exc}); not read")
            return None
        if inflater.unconsumed_tail:
            notes.append(f"{where}: inflates to more than {MAX_INFLATED} bytes; the rest not read")
        elif not inflater.eof:
            notes.append(f"{where}: compressed data ends early; what inflated is kept")
        return out
    return data


# --- frame contents ------------------------------------------------------------------


def split_encoded(data: bytes, encoding: int, count: int) -> tuple[list[bytes], bytes]:
    """The first ``count`` terminated strings in ``data`` (raw bytes, in ``encoding``'s
    width), and what follows them. A missing terminator ends the last string at the end."""
    width = 2 if encoding in (1, 2) else 1
    term = b"\x00" * width
    parts: list[bytes] = []
    pos = 0
    for _ in range(count):
        at = data.find(term, pos)
        while width == 2 and at != -1 and (at - pos) % 2:
            at = data.find(term, at + 1)
        if at == -1:
            parts.append(data[pos:])
            pos = len(data)
        else:
            parts.append(data[pos:at])
            pos = at + width
    return parts, data[pos:]


def decode(raw: bytes, encoding: int) -> str:
    """Text in one of ID3's four encodings (bad bytes replaced, byte-order marks dropped)."""
    codec = _ENCODINGS.get(encoding, "latin-1")
    if codec == "utf-16" and raw[:2] not in (b"\xff\xfe", b"\xfe\xff"):
        codec = "utf-16-le"  # no byte-order mark: little-endian, as Windows writers mean it
    return raw.decode(codec, "replace").replace("\ufeff", "")


#: Values read from one text frame.
MAX_VALUES = 100


def text_values(data: bytes, notes: list[str] | None = None, where: str = "") -> list[str]:
    """A text frame's values (ID3v2.4 separates several with a terminator); past
    :data:`MAX_VALUES`, a note in ``notes``."""
    if not data:
        return []
    encoding = data[0]
    body = data[1:]
    values: list[str] = []
    while body:
        if len(values) >= MAX_VALUES:
            if notes is not None:
                notes.append(f"{where}: more than {MAX_VALUES} values; the first {MAX_VALUES} kept")
            break
        (raw,), body = split_encoded(body, encoding, 1)
        values.append(decode(raw, encoding))
    while values and not values[-1]:
        values.pop()
    return values


def read_v1(fh: BinaryIO, size: int) -> dict[str, str | int] | None:
    """The ID3v1 tag in the last 128 bytes, if any (fields as Latin-1, trailing blanks cut)."""
    if size < 128:
        return None
    fh.seek(size - 128)
    b = fh.read(128)
    if len(b) < 128 or b[:3] != b"TAG":
        return None

    def field_(raw: bytes) -> str:
        return raw.split(b"\x00", 1)[0].decode("latin-1").rstrip(" ")

    out: dict[str, str | int] = {
        "title": field_(b[3:33]),
        "artist": field_(b[33:63]),
        "album": field_(b[63:93]),
        "year": field_(b[93:97]),
    }
    if b[125] == 0 and b[126] != 0:  # ID3v1.1: a track number after a shorter comment
        out["comment"] = field_(b[97:125])
        out["track"] = b[126]
    else:
        out["comment"] = field_(b[97:127])
    out["genre"] = b[127]
    return {k: v for k, v in out.items() if v != ""}
