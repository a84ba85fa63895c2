"""Camera serial numbers from EXIF MakerNotes (the few makes that store one there).

ExifRead, asked for MakerNotes (``details=True``), decodes many more tags than we need,
returns wrong serials for some makes (Nikon) and none for others (Olympus, Reconyx). So
only the serial number is read here, from a bounded walk of the MakerNote of these makes
(layouts as documented by ExifTool's MakerNotes tables):

========================  =====================  ==============  ====================
MakerNote starts with     IFD at (from start)    offsets from    serial tag
========================  =====================  ==============  ====================
``Nikon\\0\\x02``           TIFF header at +10     that header     0x001D, else 0x00A0
(Make NIKON, no header)   +0                     EXIF TIFF       0x001D, else 0x00A0
(Make Canon)              +0                     EXIF TIFF       0x000C (number)
``OLYMPUS\\0``/``OM SYSTEM\\0``  +12 / +16       MakerNote       Equipment 0x2010 → 0x0101, else 0x0404
``OLYMP\\0``/``EPSON\\0``     +8                     EXIF TIFF       same as above
``AOC\\0`` (Pentax)         +6                     MakerNote/TIFF  0x0229 (text)
``PENTAX \\0``/``RICOH\\0``   +10 / +8               MakerNote       0x0229 (text)
``SIGMA\\0``/``FOVEON\\0``    +10                    MakerNote       0x0002 (text)
(Make SAMSUNG, IFD)       +0                     EXIF TIFF       0xA002 (text)
``\\x01\\xf1`` (Reconyx HyperFire)  binary        —               UTF-16LE at 0x2A, 30 bytes
``RECONYXUF\\0`` / ``RECONYXH2\\0``  binary       —               text at 0x4B / UTF-16LE at 0x7E
========================  =====================  ==============  ====================

Everything is read through :class:`Reader`, which caps each read; IFDs are limited in
entries and only one level of sub-IFD is followed. Nothing here raises on bad data:
it returns no serial (and a note when the structure is visibly broken).
"""

from __future__ import annotations

import struct
from typing import BinaryIO, NamedTuple

from evidence_cli.formats.tiff import TYPE_SIZES

EXIF_IFD_POINTER = 0x8769
MAKERNOTE = 0x927C
MAX_ENTRIES = 512
MAX_READ = 64 * 1024
MAX_SERIAL = 64


class Reader:
    """Bounded random access to a TIFF block (offset 0 = the TIFF header)."""

    def __init__(self, fh: BinaryIO, cap: int = MAX_READ) -> None:
        self.fh = fh
        self.cap = cap

    def at(self, off: int, n: int) -> bytes:
        if off < 0 or n <= 0:
            return b""
        self.fh.seek(off)
        return self.fh.read(min(n, self.cap))


class Entry(NamedTuple):
    """One IFD entry (a tuple: an IFD has dozens of them, and the walk makes each)."""

    tag: int
    type: int
    values: int
    """The entry's count of values (``count`` would hide the tuple's method)."""
    inline: bytes
    """The 4-byte value field as stored."""
    offset: int | None
    """Absolute offset (in the TIFF block) of values that do not fit inline."""

    @property
    def size(self) -> int:
        return TYPE_SIZES.get(self.type, 1) * self.values


#: An IFD entry as stored (tag, type, count, value field), and a 32-bit offset; by byte order.
_ENTRY = {bo: struct.Struct(bo + "HHI4s") for bo in "<>"}
_U32 = {bo: struct.Struct(bo + "I") for bo in "<>"}


def read_ifd(r: Reader, off: int, bo: str, base: int) -> dict[int, Entry] | None:
    """The entries of the IFD at ``off``; value offsets are relative to ``base``. None if implausible."""
    head = r.at(off, 2)
    if len(head) < 2:
        return None
    n = struct.unpack(bo + "H", head)[0]
    if not 0 < n <= MAX_ENTRIES:
        return None
    raw = r.at(off + 2, 12 * n)
    whole = len(raw) - len(raw) % 12
    out: dict[int, Entry] = {}
    sizes = TYPE_SIZES
    offset_of = _U32[bo].unpack
    for tag, typ, count, field in _ENTRY[bo].iter_unpack(raw[:whole] if whole < len(raw) else raw):
        unit = sizes.get(typ)
        if unit is None or tag in out:  # an unknown type is skipped; the first of a tag counts
            continue
        out[tag] = Entry(tag, typ, count, field, None if unit * count <= 4 else base + offset_of(field)[0])
    return out


def value(r: Reader, e: Entry) -> bytes:
    if e.offset is None:
        return e.inline[: e.size]
    return r.at(e.offset, min(e.size, MAX_READ))


def _text(raw: bytes) -> str | None:
    s = raw.split(b"\x00", 1)[0].decode("latin-1").strip()
    if not s or len(s) > MAX_SERIAL or not all(32 <= ord(c) < 127 for c in s):
        return None
    return s


def _utf16(raw: bytes) -> str | None:
    s = raw.decode("utf-16-le", "replace").split("\x00", 1)[0].strip()
    if not s or len(s) > MAX_SERIAL or not all(32 <= ord(c) < 127 for c in s):
        return None
    return s


def _text_tag(r: Reader, ifd: dict[int, Entry] | None, tag: int) -> str | None:
    e = ifd.get(tag) if ifd else None
    if e is None or e.type not in (1, 2, 7):
        return None
    return _text(value(r, e))


def _bo_of(mark: bytes) -> str | None:
    return "<" if mark == b"II" else ">" if mark == b"MM" else None


def _ifd_any_order(r: Reader, off: int, bo: str, base: int) -> tuple[dict[int, Entry] | None, str]:
    """An IFD whose byte order is not stated: the TIFF's first, then the other."""
    for order in (bo, "<" if bo == ">" else ">"):
        ifd = read_ifd(r, off, order, base)
        if ifd:
            return ifd, order
    return None, bo


def find_makernote(r: Reader) -> tuple[int, int, str] | None:
    """(offset, length, TIFF byte order) of the MakerNote in the EXIF sub-IFD, or None."""
    head = r.at(0, 8)
    bo = _bo_of(head[:2])
    if bo is None or len(head) < 8:
        return None
    ifd0 = read_ifd(r, struct.unpack(bo + "I", head[4:8])[0], bo, 0)
    ptr = ifd0.get(EXIF_IFD_POINTER) if ifd0 else None
    if ptr is None or ptr.type not in (4, 13) or ptr.values != 1:
        return None
    exif = read_ifd(r, struct.unpack(bo + "I", ptr.inline)[0], bo, 0)
    mn = exif.get(MAKERNOTE) if exif else None
    if mn is None or mn.offset is None or mn.size < 8:
        return None
    return mn.offset, mn.size, bo


def _olympus(r: Reader, ifd: dict[int, Entry] | None, bo: str, base: int) -> str | None:
    eq = ifd.get(0x2010) if ifd else None
    if eq is not None:
        if eq.type in (4, 13) and eq.values == 1:
            sub = read_ifd(r, base + struct.unpack(bo + "I", eq.inline)[0], bo, base)
        elif eq.offset is not None:  # the sub-IFD stored as an undefined blob: it starts there
            sub = read_ifd(r, eq.offset, bo, base)
        else:
            sub = None
        serial = _text_tag(r, sub, 0x0101)
        if serial:
            return serial
    return _text_tag(r, ifd, 0x0404)


def _nikon(r: Reader, ifd: dict[int, Entry] | None) -> tuple[str | None, str | None]:
    # 0x001D on most models; 0x00A0 ("NO= ...") on older ones such as the D70.
    for tag in (0x001D, 0x00A0):
        serial = _text_tag(r, ifd, tag)
        if serial:
            return serial, f"Nikon 0x{tag:04X}"
    return None, None


def serial_number(r: Reader, make: str | None) -> tuple[str | None, str | None]:
    """(serial, where it was found) from the MakerNote of this EXIF block; (None, None) if none."""
    found = find_makernote(r)
    if found is None:
        return None, None
    mn, length, bo = found
    head = r.at(mn, 16)
    make_u = (make or "").strip().upper()
    if head.startswith(b"Nikon\x00\x02"):
        nbo = _bo_of(r.at(mn + 10, 2))
        if nbo is None:
            return None, None
        first = struct.unpack(nbo + "I", r.at(mn + 14, 4).rjust(4, b"\x00"))[0]
        return _nikon(r, read_ifd(r, mn + 10 + first, nbo, mn + 10))
    if make_u.startswith("NIKON") and not head.startswith(b"Nikon"):
        return _nikon(r, _ifd_any_order(r, mn, bo, 0)[0])
    if make_u.startswith("CANON"):
        ifd, order = _ifd_any_order(r, mn, bo, 0)
        e = ifd.get(0x000C) if ifd else None
        if e is not None and e.type == 4 and e.values == 1:
            n = struct.unpack(order + "I", e.inline)[0]
            return (str(n) if n else None), "Canon 0x000C"
        return None, None
    for sig, ifd_at, hdr_bo_at in ((b"OLYMPUS\x00", 12, 8), (b"OM SYSTEM\x00", 16, 12)):
        if head.startswith(sig):
            obo = _bo_of(r.at(mn + hdr_bo_at, 2)) or bo
            return _olympus(r, read_ifd(r, mn + ifd_at, obo, mn), obo, mn), "Olympus"
    if head.startswith((b"OLYMP\x00", b"EPSON\x00")):
        ifd, order = _ifd_any_order(r, mn + 8, bo, 0)
        return _olympus(r, ifd, order, 0), "Olympus"
    if head.startswith(b"AOC\x00"):
        pbo = _bo_of(head[4:6]) or bo
        for base in (mn, 0):  # offsets are relative to the MakerNote in most models, the TIFF in some
            serial = _text_tag(r, read_ifd(r, mn + 6, pbo, base), 0x0229)
            if serial:
                return serial, "Pentax 0x0229"
        return None, None
    for sig, ifd_at in ((b"PENTAX \x00", 10), (b"RICOH\x00", 8)):
        if head.startswith(sig):
            pbo = _bo_of(head[ifd_at - 2 : ifd_at]) or bo
            return _text_tag(r, read_ifd(r, mn + ifd_at, pbo, mn), 0x0229), "Pentax 0x0229"
    if head.startswith((b"SIGMA\x00", b"FOVEON\x00")):
        ifd, _ = _ifd_any_order(r, mn + 10, bo, mn)
        return _text_tag(r, ifd, 0x0002), "Sigma 0x0002"
    if make_u.startswith("SAMSUNG") and not head.startswith(b"AOC"):
        ifd, _ = _ifd_any_order(r, mn, bo, 0)
        return _text_tag(r, ifd, 0xA002), "Samsung 0xA002"
    if head[:2] == b"\x01\xf1" and (head[2:4] in (b"\x02\x00", b"\x03\x00") or make_u == "RECONYX"):
        return _utf16(r.at(mn + 0x2A, 30)), "Reconyx HyperFire"
    if head.startswith(b"RECONYXUF\x00"):
        return _text(r.at(mn + 0x4B, 15)), "Reconyx UltraFire"
    if head.startswith(b"RECONYXH2\x00"):
        return _utf16(r.at(mn + 0x7E, 30)), "Reconyx HF2"
    return None, None
