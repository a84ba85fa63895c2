"""Photoshop image resource blocks (``8BIM``), as found in JPEG APP13, TIFF tag 34377 and PSD.

A resource block is ``8BIM <id:2> <Pascal name, padded to even> <size:4> <data, padded to
even>``. JPEG splits the blocks of one file over several APP13 ``Photoshop 3.0\\0``
segments, to be joined before walking. Resource 0x0404 holds IPTC-IIM records, 0x0424
an XMP packet, 0x0425 the MD5 digest of the IPTC data as Photoshop last saved it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import BinaryIO

from evidence_cli.formats import jpeg

IPTC_NAA = 0x0404
XMP = 0x0424
IPTC_DIGEST = 0x0425
#: Signatures other programs use in place of 8BIM.
SIGNATURES = (b"8BIM", b"PHUT", b"AgHg", b"DCSR", b"MeSa")
MAX_RESOURCES = 4_096
PSD_MAX_RESOURCES_SECTION = 64 * 1024 * 1024


@dataclass(frozen=True)
class Resource:
    id: int
    name: str
    data: bytes


@dataclass
class Resources:
    items: list[Resource] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def first(self, rid: int) -> Resource | None:
        return next((r for r in self.items if r.id == rid), None)


def parse(data: bytes) -> Resources:
    """Walk the resource blocks of an image resource section (bounded, damage noted)."""
    out = Resources()
    pos = 0
    n = len(data)
    while pos + 12 <= n:
        if len(out.items) >= MAX_RESOURCES:
            out.notes.append(f"Photoshop: more than {MAX_RESOURCES} resources; the rest were not read")
            break
        sig = data[pos : pos + 4]
        if sig not in SIGNATURES:
            if data[pos:].strip(b"\x00"):
                out.notes.append(f"Photoshop: unknown resource signature {sig!r} at offset {pos}; rest not read")
            break
        rid = struct.unpack(">H", data[pos + 4 : pos + 6])[0]
        name_len = data[pos + 6]
        name = data[pos + 7 : pos + 7 + name_len].decode("latin-1")
        npos = pos + 6 + ((1 + name_len + 1) & ~1)
        if npos + 4 > n:
            out.notes.append(f"Photoshop: resource 0x{rid:04X} is truncated")
            break
        size = struct.unpack(">I", data[npos : npos + 4])[0]
        start = npos + 4
        if start + size > n:
            out.notes.append(f"Photoshop: resource 0x{rid:04X} declares {size} bytes, {n - start} remain")
            out.items.append(Resource(rid, name, data[start:n]))
            break
        out.items.append(Resource(rid, name, data[start : start + size]))
        pos = start + size + (size & 1)
    return out


def from_jpeg(walked: jpeg.JpegWalk) -> Resources | None:
    """The resources of a JPEG's APP13 ``Photoshop 3.0`` segments (joined), or None."""
    segs = walked.app(jpeg.APP13, jpeg.PHOTOSHOP_ID)
    if not segs:
        return None
    joined = b"".join((s.payload or b"")[len(jpeg.PHOTOSHOP_ID) :] for s in segs)
    return parse(joined)


def from_psd(fh: BinaryIO) -> Resources | None:
    """The image resources section of a PSD/PSB file, or None when it is not one."""
    fh.seek(0)
    head = fh.read(26)
    if len(head) < 26 or head[:4] != b"8BPS":
        return None
    cm = fh.read(4)
    if len(cm) < 4:
        return Resources(notes=["PSD: truncated after the header"])
    fh.seek(26 + 4 + struct.unpack(">I", cm)[0])
    rl = fh.read(4)
    if len(rl) < 4:
        return Resources(notes=["PSD: truncated before the image resources"])
    length = struct.unpack(">I", rl)[0]
    if length > PSD_MAX_RESOURCES_SECTION:
        return Resources(notes=[f"PSD: image resources section of {length} bytes is too large; not read"])
    data = fh.read(length)
    res = parse(data)
    if len(data) < length:
        res.notes.append(f"PSD: image resources section declares {length} bytes, {len(data)} remain")
    return res
