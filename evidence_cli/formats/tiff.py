"""TIFF: the entries of the first IFD, for the tags that hold other metadata blocks.

Only what the XMP/IPTC/C2PA readers need: tag 700 (XMP), 33723 (IPTC-NAA), 34377
(Photoshop image resources) and 52545 (a C2PA manifest store); and the IFD after it, where
EXIF keeps its thumbnail (the PDQ reader's). Classic TIFF and BigTIFF, either byte order; every count
and offset is checked against the file size before anything is read.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import BinaryIO

TAG_XMP = 700
TAG_IPTC = 33723
TAG_PHOTOSHOP = 34377
TAG_C2PA = 0xCD41

#: Bytes per value of each TIFF field type.
TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8}
MAX_ENTRIES = 4_096
MAX_READ = 16 * 1024 * 1024


@dataclass(frozen=True)
class Entry:
    tag: int
    type: int
    count: int
    offset: int
    """File offset of the value bytes (inline values: the offset of the value field)."""
    size: int
    """Value size in bytes (count x type size)."""


@dataclass
class Ifd:
    byteorder: str = ""
    entries: dict[int, Entry] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    big: bool = False
    """BigTIFF (8-byte counts and offsets)."""
    next: int = 0
    """Offset of the next IFD from the TIFF header (0: none, or not readable)."""


def is_tiff(head: bytes) -> bool:
    return head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def first_ifd(fh: BinaryIO, base: int = 0) -> Ifd:
    """Entries of IFD0 of the TIFF structure starting at ``base``."""
    size = fh.seek(0, 2)
    fh.seek(base)
    head = fh.read(16)
    if len(head) < 8 or not is_tiff(head):
        return Ifd(notes=["not a TIFF header"])
    bo = "<" if head[:2] == b"II" else ">"
    big = head[2:4] in (b"+\x00", b"\x00+")
    if big and len(head) < 16:
        return Ifd(byteorder=bo, big=big, notes=["TIFF: truncated BigTIFF header"])
    ifd = struct.unpack(bo + "Q", head[8:16])[0] if big else struct.unpack(bo + "I", head[4:8])[0]
    return _read_ifd(fh, base, ifd, Ifd(byteorder=bo, big=big), size, "IFD0")


def following_ifd(fh: BinaryIO, before: Ifd, base: int = 0, name: str = "IFD1") -> Ifd | None:
    """The IFD after ``before`` (IFD1 after IFD0: in EXIF, the thumbnail's), or None when
    there is none."""
    if not before.byteorder or before.next == 0:
        return None
    return _read_ifd(fh, base, before.next, Ifd(byteorder=before.byteorder, big=before.big), fh.seek(0, 2), name)


def _read_ifd(fh: BinaryIO, base: int, ifd: int, out: Ifd, size: int, name: str) -> Ifd:
    bo, big = out.byteorder, out.big
    if big:
        count_fmt, count_len, entry_len, value_len = "Q", 8, 20, 8
    else:
        count_fmt, count_len, entry_len, value_len = "H", 2, 12, 4
    start = base + ifd
    if ifd < 8 or start + count_len > size:
        where = "first IFD" if name == "IFD0" else name
        out.notes.append(f"TIFF: {where} offset {ifd} is outside the file")
        return out
    fh.seek(start)
    n = struct.unpack(bo + count_fmt, fh.read(count_len))[0]
    if n > MAX_ENTRIES:
        out.notes.append(f"TIFF: {name} declares {n} entries; only {MAX_ENTRIES} read")
        n = MAX_ENTRIES
    raw = fh.read(n * entry_len)
    if len(raw) < n * entry_len:
        out.notes.append(f"TIFF: {name} is truncated")
        n = len(raw) // entry_len
    else:
        link = fh.read(value_len)
        if len(link) == value_len:
            out.next = struct.unpack(bo + ("Q" if big else "I"), link)[0]
    for i in range(n):
        e = raw[i * entry_len : (i + 1) * entry_len]
        if big:
            tag, typ, count = struct.unpack(bo + "HHQ", e[:12])
        else:
            tag, typ, count = struct.unpack(bo + "HHI", e[:8])
        vsize = TYPE_SIZES.get(typ, 1) * count
        value_field = start + count_len + i * entry_len + (12 if big else 8)
        if vsize <= value_len:
            voff = value_field
        else:
            voff = base + struct.unpack(bo + ("Q" if big else "I"), e[-value_len:])[0]
        if tag not in out.entries:
            out.entries[tag] = Entry(tag, typ, count, voff, vsize)
    return out


def read_value(fh: BinaryIO, entry: Entry, notes: list[str], *, cap: int = MAX_READ) -> bytes | None:
    """The value bytes of an entry, or None (with a note) when it is out of bounds or too big."""
    size = fh.seek(0, 2)
    if entry.size > cap:
        notes.append(f"TIFF: tag {entry.tag} holds {entry.size} bytes, more than {cap}; not read")
        return None
    if entry.offset + entry.size > size:
        notes.append(f"TIFF: tag {entry.tag} points outside the file")
        return None
    fh.seek(entry.offset)
    return fh.read(entry.size)
