"""RIFF chunks (WebP, WAV, AVI): a bounded walk over the top-level chunks.

A WebP file is ``RIFF <size> WEBP`` followed by chunks ``<fourcc> <size LE> <data>``
padded to an even length. Metadata chunks: ``EXIF`` (a TIFF block; some writers prefix
it with ``Exif\\0\\0``), ``XMP `` (an XMP packet), ``ICCP``.

RF64 and BW64 (EBU Tech 3306, ITU-R BS.2088: WAV files past 4 GiB, which field recorders
write for long takes) have the same layout, but their 32-bit sizes may be ``0xFFFFFFFF``:
the real sizes of the file and of the ``data`` chunk are in the ``ds64`` chunk that comes
first.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import BinaryIO

MAX_CHUNKS = 10_000
#: Forms whose sizes may be given by a ``ds64`` chunk.
LARGE_FORMS = (b"RF64", b"BW64")
#: What a 32-bit size says when the real one is in ``ds64``.
SIZE_IN_DS64 = 0xFFFFFFFF
#: Chunks whose data we read are capped at this size (bigger ones are reported).
MAX_READ = 16 * 1024 * 1024


@dataclass(frozen=True)
class Chunk:
    fourcc: bytes
    offset: int
    """File offset of the chunk header."""
    size: int
    """Data size as declared."""
    data: bytes | None
    """The data, for the chunks the caller asked for (None otherwise or when too big)."""

    @property
    def data_offset(self) -> int:
        return self.offset + 8


@dataclass
class RiffWalk:
    kind: bytes = b""
    """``RIFF``, ``RF64`` or ``BW64``."""
    form: bytes = b""
    chunks: list[Chunk] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def first(self, fourcc: bytes) -> Chunk | None:
        return next((c for c in self.chunks if c.fourcc == fourcc), None)


def is_webp(head: bytes) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


def is_riff(head: bytes) -> bool:
    """A RIFF file, or its 64-bit form (RF64, BW64)."""
    return head[:4] == b"RIFF" or head[:4] in LARGE_FORMS


def walk(fh: BinaryIO, *, read: frozenset[bytes] = frozenset()) -> RiffWalk:
    """Walk the chunks of a RIFF file, reading the data of the FourCCs in ``read``.

    The walk ends at the end of the RIFF data as declared (or of the file, if shorter).
    """
    out = RiffWalk()
    file_size = fh.seek(0, 2)
    fh.seek(0)
    head = fh.read(12)
    if len(head) < 12 or not is_riff(head):
        out.notes.append("not a RIFF file")
        return out
    out.kind, out.form = head[:4], head[8:12]
    riff_end = 8 + struct.unpack("<I", head[4:8])[0]
    data_size: int | None = None
    if head[:4] in LARGE_FORMS:
        ds64 = fh.read(8 + 24)
        if ds64[:4] == b"ds64" and len(ds64) == 32:
            riff_size, data_size, _samples = struct.unpack("<QQQ", ds64[8:32])
            if head[4:8] == b"\xff\xff\xff\xff":
                riff_end = 8 + riff_size
        else:
            out.notes.append(f"{head[:4].decode()}: no ds64 chunk first; 32-bit sizes used")
    if riff_end > file_size:
        out.notes.append(f"RIFF declares {riff_end} bytes, the file has {file_size}")
    end = min(riff_end, file_size)
    pos = 12
    while pos < end:
        if len(out.chunks) >= MAX_CHUNKS:
            out.notes.append(f"RIFF: more than {MAX_CHUNKS} chunks; the rest were not read")
            return out
        fh.seek(pos)
        hdr = fh.read(8)
        if len(hdr) < 8 or pos + 8 > end:
            out.notes.append(f"RIFF: truncated chunk header at offset {pos}")
            return out
        fourcc = hdr[:4]
        size = struct.unpack("<I", hdr[4:8])[0]
        if size == SIZE_IN_DS64 and fourcc == b"data" and data_size is not None:
            size = data_size
        data = None
        if pos + 8 + size > end:
            out.notes.append(f"RIFF: chunk {fourcc!r} at offset {pos} declares {size} bytes, {end - pos - 8} remain")
        if fourcc in read:
            if size > MAX_READ:
                out.notes.append(f"RIFF: chunk {fourcc!r} of {size} bytes is larger than {MAX_READ}, not read")
            else:
                data = fh.read(min(size, end - pos - 8))
        out.chunks.append(Chunk(fourcc, pos, size, data))
        pos += 8 + size + (size & 1)
    return out


def exif_tiff(chunk: Chunk) -> tuple[int, bytes] | None:
    """(file offset, TIFF block) of a WebP EXIF chunk, with or without an ``Exif\\0\\0`` prefix."""
    if chunk.data is None:
        return None
    data = chunk.data
    if data.startswith(b"Exif\x00\x00"):
        return chunk.data_offset + 6, data[6:]
    if data[:2] in (b"II", b"MM"):
        return chunk.data_offset, data
    return None
