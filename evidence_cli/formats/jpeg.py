"""JPEG marker segments: a bounded walk from SOI to the start of scan.

Metadata lives in the APPn/COM segments before the first SOS (start of scan); the walk
stops there. Damage (junk where a marker belongs, a segment running past the end) is
reported as notes and the walk re-synchronises on the next marker when it can, as
ExifTool does, so one bad byte does not hide the metadata behind it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import BinaryIO, NamedTuple

SOI = 0xD8
EOI = 0xD9
SOS = 0xDA
APP0 = 0xE0
APP1 = 0xE1
APP11 = 0xEB
APP13 = 0xED
COM = 0xFE
#: Markers without a length field.
STANDALONE = frozenset({0x01, SOI, EOI, *range(0xD0, 0xD8)})

MAX_SEGMENTS = 4_096
#: Total payload bytes kept from one file (each APPn payload is at most 65,533 bytes).
MAX_PAYLOAD_TOTAL = 32 * 1024 * 1024
#: How far to look for the next marker after junk.
RESYNC_WINDOW = 1024 * 1024

EXIF_ID = b"Exif\x00\x00"
XMP_ID = b"http://ns.adobe.com/xap/1.0/\x00"
XMP_EXT_ID = b"http://ns.adobe.com/xmp/extension/\x00"
PHOTOSHOP_ID = b"Photoshop 3.0\x00"


class Segment(NamedTuple):
    """One marker segment (a named tuple: immutable, and built several times faster than a
    frozen dataclass; three extractors walk every JPEG)."""

    marker: int
    offset: int
    """File offset of the 0xFF of the marker."""
    length: int
    """Payload length as declared (the 2-byte length field minus 2)."""
    payload: bytes | None
    """The payload (APPn and COM only; may be shorter than ``length`` when truncated)."""

    @property
    def payload_offset(self) -> int:
        return self.offset + 4


@dataclass
class JpegWalk:
    segments: list[Segment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Damage found on the way, for the caller to turn into problems."""
    reached_sos: bool = False

    def app(self, marker: int, ident: bytes) -> list[Segment]:
        """Segments with this marker whose payload starts with ``ident``."""
        return [
            s for s in self.segments if s.marker == marker and s.payload is not None and s.payload.startswith(ident)
        ]


def _wants_payload(marker: int) -> bool:
    return APP0 <= marker <= 0xEF or marker == COM


def is_jpeg(head: bytes) -> bool:
    return head[:3] == b"\xff\xd8\xff"


def walk(fh: BinaryIO, *, max_segments: int = MAX_SEGMENTS) -> JpegWalk:
    """Walk the segments of a JPEG stream (``fh`` positioned anywhere; read from 0)."""
    out = JpegWalk()
    fh.seek(0)
    if fh.read(2) != b"\xff\xd8":
        out.notes.append("not a JPEG stream (no SOI marker)")
        return out
    pos = 2
    kept = 0
    while len(out.segments) < max_segments:
        fh.seek(pos)
        b = fh.read(2)
        if len(b) < 2:
            out.notes.append(f"JPEG ends at offset {pos} before the start of scan")
            return out
        if b[0] != 0xFF or b[1] == 0xFF or (b[1] < 0xC0 and b[1] != 0x01):
            if b == b"\xff\xff":  # fill bytes before a marker
                pos += 1
                continue
            nxt = _resync(fh, pos)
            if nxt is None:
                out.notes.append(f"JPEG: no marker at offset {pos} and none found after it")
                return out
            out.notes.append(f"JPEG: {nxt - pos} byte(s) of junk at offset {pos} before the next marker")
            pos = nxt
            continue
        marker = b[1]
        if marker in STANDALONE:
            if marker == EOI:
                out.notes.append(f"JPEG: end-of-image marker at offset {pos} before any image data")
                return out
            pos += 2
            continue
        lb = fh.read(2)
        if len(lb) < 2:
            out.notes.append(f"JPEG: segment 0x{marker:02X} at offset {pos} is truncated")
            return out
        seglen = struct.unpack(">H", lb)[0]
        if seglen < 2:
            out.notes.append(f"JPEG: segment 0x{marker:02X} at offset {pos} has an impossible length {seglen}")
            nxt = _resync(fh, pos + 2)
            if nxt is None:
                return out
            pos = nxt
            continue
        payload = None
        if _wants_payload(marker) and kept < MAX_PAYLOAD_TOTAL:
            payload = fh.read(seglen - 2)
            kept += len(payload)
            if len(payload) < seglen - 2:
                out.notes.append(
                    f"JPEG: segment 0x{marker:02X} at offset {pos} declares {seglen - 2} bytes, "
                    f"only {len(payload)} remain"
                )
        out.segments.append(Segment(marker, pos, seglen - 2, payload))
        if marker == SOS:
            out.reached_sos = True
            return out
        pos += 2 + seglen
    out.notes.append(f"JPEG: more than {max_segments} segments; the rest were not read")
    return out


def _resync(fh: BinaryIO, pos: int) -> int | None:
    """Offset of the next plausible marker (0xFF followed by a non-zero, non-fill byte)."""
    fh.seek(pos)
    window = fh.read(RESYNC_WINDOW)
    i = 0
    while True:
        i = window.find(b"\xff", i + 1)
        if i < 0 or i + 1 >= len(window):
            return None
        m = window[i + 1]
        if m not in (0x00, 0xFF) and (m >= 0xC0 or m == 0x01):
            return pos + i


def exif_tiff_offset(walked: JpegWalk) -> tuple[int, int] | None:
    """(file offset, length) of the TIFF block of the first APP1 ``Exif\\0\\0`` segment."""
    for seg in walked.app(APP1, EXIF_ID):
        assert seg.payload is not None
        return seg.payload_offset + len(EXIF_ID), len(seg.payload) - len(EXIF_ID)
    # Some writers omit the second NUL ("Exif\0" + TIFF header).
    for seg in walked.app(APP1, b"Exif\x00"):
        assert seg.payload is not None
        rest = seg.payload[5:]
        if rest[:2] in (b"II", b"MM"):
            return seg.payload_offset + 5, len(rest)
    return None
