"""A JPEG's format, size and mode read from its header bytes, exactly as Pillow reports them.

The ``image`` extractor reports what Pillow's ``Image.open`` says (format, width, height,
mode), and Pillow's JPEG plugin does much more than that answer needs: it walks every
segment one byte read at a time, decodes the quantisation tables, parses the Photoshop
block and the EXIF IFD0 (for a DPI it then throws away). :func:`plain_frame` gives the same
answer from bytes already in memory, for the *plain* case only: every segment where a
marker belongs, complete, and nothing that makes Pillow's plugin (Pillow 13,
``JpegImagePlugin.JpegImageFile._open`` and ``jpeg_factory``) warn, raise, or answer
differently. Anything else returns None and the caller asks Pillow itself, so damaged and
unusual files keep Pillow's exact answers and problems.

What Pillow does, and what is checked here so that it would succeed silently:

* markers: ``FF xx`` back to back from offset 2 to the start of scan (SOS). Pillow skips
  junk and fill bytes, takes ``FF00`` as data, raises on ``FF01``-``FFBF`` and reads no
  length for SOI/EOI/RSTn/JPGn: all of these are refused (not plain). A segment must lie
  entirely inside the data (Pillow raises "Truncated File Read" otherwise).
* SOF (C0-C3, C5-C7, C9-CB, CD-CF and DHP): exactly one, 8-bit samples (Pillow raises on
  others), 1, 3 or 4 components (``L``, ``RGB``, ``CMYK``; Pillow raises on others; the
  Adobe APP14 transform does not change Pillow's mode), component specs in whole
  3-byte groups (Pillow indexes a short last group), width and height above zero.
* DQT: each table complete (Pillow raises "bad quantization table marker").
* APP0 ``JFIF``, APP14 ``Adobe``: at least 7 bytes (Pillow reads a 16-bit field at 5,
  unguarded). APP2 ``ICC_PROFILE``: at least 14 bytes (Pillow indexes byte 13 when the
  SOF comes). APP2 ``MPF``: refused (Pillow then decides between JPEG and MPO by parsing
  the MP index). APP13 ``Photoshop 3.0``: its resource walk must not index past the end
  (Pillow guards that walk against ``struct.error`` only, not ``IndexError``).
* EXIF: without a JFIF density (APP0 unit 1 or 2), Pillow parses the EXIF IFD0 for the
  ResolutionUnit and XResolution, and warns on damage there ("Tag data larger than file",
  "Possibly corrupt EXIF data", "too many entries" ...). The IFD0 must be fully in bounds
  with known field types and no repeated tag, ResolutionUnit a single SHORT and
  XResolution a single RATIONAL (other shapes can escape Pillow's ``except``).

The Pillow-side conditions that do not depend on the bytes (which plugin ``Image.open``
tries first, the decompression-bomb limit) are the caller's to check.
"""

from __future__ import annotations

import struct

#: SOFn markers (and DHP, 0xDE) that Pillow's JPEG plugin reads a frame header from.
SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xDE})
#: Markers Pillow reads a length for and skips, or whose payload it decodes (APPn, COM).
LENGTH_MARKERS = frozenset({0xC4, 0xCC, 0xDA, 0xDB, 0xDC, 0xDD, 0xDF, 0xFE, *range(0xE0, 0xF0), *SOF_MARKERS})
SOS = 0xDA
DQT = 0xDB
#: Component count -> Pillow's mode.
MODES = {1: "L", 3: "RGB", 4: "CMYK"}
#: Bytes per value of the TIFF field types 1-12 (Pillow loads each; other types are refused).
TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}
RESOLUTION_UNIT = 0x0128
X_RESOLUTION = 0x011A
SHORT = 3
RATIONAL = 5
EXIF_ID = b"Exif\x00\x00"


def plain_frame(data: bytes) -> tuple[int, int, str] | None:
    """(width, height, mode) as Pillow's JPEG plugin reads them, when ``data`` (the file's
    first bytes, up to at least the SOS segment) is a plain JPEG header; None otherwise."""
    if data[:3] != b"\xff\xd8\xff":
        return None
    n = len(data)
    pos = 2
    frame: tuple[int, int, str] | None = None
    exif: list[bytes] = []
    jfif_dpi = False
    while True:
        if pos + 4 > n or data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker not in LENGTH_MARKERS:
            return None
        end = pos + 2 + ((data[pos + 2] << 8) | data[pos + 3])
        if end < pos + 4 or end > n:
            return None
        if marker == SOS:
            break
        s = data[pos + 4 : end]
        pos = end
        if marker in SOF_MARKERS:
            if frame is not None or len(s) < 6 or s[0] != 8 or s[5] not in MODES or (len(s) - 6) % 3:
                return None
            width, height = (s[3] << 8) | s[4], (s[1] << 8) | s[2]
            if width == 0 or height == 0:
                return None
            frame = (width, height, MODES[s[5]])
        elif marker == DQT:
            if not _tables_complete(s):
                return None
        elif marker == 0xE0:
            if s.startswith(b"JFIF"):
                if len(s) < 7:
                    return None
                jfif_dpi = jfif_dpi or (len(s) >= 12 and s[7] in (1, 2))
        elif marker == 0xE1:
            if s.startswith(EXIF_ID):
                exif.append(s if not exif else s[6:])
        elif marker == 0xE2:
            if s.startswith(b"MPF\x00") or (s.startswith(b"ICC_PROFILE\x00") and len(s) < 14):
                return None
        elif marker == 0xED:
            if s.startswith(b"Photoshop 3.0\x00") and not _photoshop_walk_safe(s):
                return None
        elif marker == 0xEE:
            if s.startswith(b"Adobe") and len(s) < 7:
                return None
    if frame is None:
        return None
    if exif and not jfif_dpi and not _ifd0_quiet(b"".join(exif)):
        return None
    return frame


def _tables_complete(s: bytes) -> bool:
    i = 0
    while i < len(s):
        i += 65 if s[i] < 16 else 129
        if i > len(s):
            return False
    return True


def _photoshop_walk_safe(s: bytes) -> bool:
    """Pillow's 8BIM resource walk over this APP13 ends without an IndexError."""
    n = len(s)
    off = 14
    while s[off : off + 4] == b"8BIM":
        off += 4
        if off + 2 > n:  # struct.error: Pillow stops there
            return True
        off += 2
        if off >= n:  # the name length byte is indexed unguarded
            return False
        off += 1 + s[off]
        off += off & 1
        if off + 4 > n:
            return True
        size = struct.unpack_from(">I", s, off)[0]
        off += 4
        off += size
        off += off & 1
    return True


def _ifd0_quiet(exif: bytes) -> bool:
    """Pillow's DPI lookup in this EXIF block (IFD0 ResolutionUnit/XResolution) warns
    nothing and raises nothing past its own ``except``."""
    t = exif
    for _ in range(2):  # Pillow strips one or two leading "Exif\0\0"
        if t.startswith(EXIF_ID):
            t = t[6:]
    if not t:
        return True  # no IFD: Pillow's lookup fails on KeyError, silently
    n = len(t)
    if n < 8:
        return False
    if t[:4] == b"II*\x00":
        bo = "<"
    elif t[:4] == b"MM\x00*":
        bo = ">"
    else:
        return False
    ifd = struct.unpack_from(bo + "I", t, 4)[0]
    if ifd + 2 > n:
        return False
    count = struct.unpack_from(bo + "H", t, ifd)[0]
    if ifd + 2 + 12 * count + 4 > n:
        return False
    seen: set[int] = set()
    total = 0
    for i in range(count):
        tag, typ, cnt, field = struct.unpack_from(bo + "HHI4s", t, ifd + 2 + 12 * i)
        unit = TYPE_SIZES.get(typ)
        if unit is None or tag in seen:
            return False
        seen.add(tag)
        size = unit * cnt
        if size > 4:
            total += size
            if total > n or struct.unpack(bo + "I", field)[0] + size > n:
                return False
        if size and tag in (RESOLUTION_UNIT, X_RESOLUTION):
            if cnt != 1 or typ != (SHORT if tag == RESOLUTION_UNIT else RATIONAL):
                return False
    return True
