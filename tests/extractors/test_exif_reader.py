"""The view ExifRead reads a JPEG's EXIF block through (offset 0 = the TIFF header)."""

from __future__ import annotations

import io

import pytest

from evidence_cli.extractors.exif import _OffsetReader
from evidence_cli.formats import jpeg
from tests.builders import JPEG_TIFF_OFFSET, exif_tiff, jpeg_bytes

DATA = b"JPEG-HEAD" + b"II*\x00" + bytes(range(40))
BASE = 9


def test_offsets_count_from_the_block() -> None:
    r = _OffsetReader(io.BytesIO(DATA), BASE)
    assert r.seek(0) == 0 and r.read(4) == b"II*\x00"
    assert r.tell() == 4
    assert r.seek(10) == 10 and r.read(2) == bytes([6, 7])


@pytest.mark.parametrize("pos", [-1, -BASE, -(10**9)])
def test_negative_offsets_stay_at_the_block_start(pos: int) -> None:
    # A signed sub-IFD pointer (SLONG) can be negative: never read before the TIFF header.
    r = _OffsetReader(io.BytesIO(DATA), BASE)
    assert r.seek(pos) == 0 and r.read(2) == b"II"


def test_reads_past_the_block_read_what_follows_and_end_is_the_file_end() -> None:
    r = _OffsetReader(io.BytesIO(DATA), BASE)
    assert r.seek(0, io.SEEK_END) == len(DATA) - BASE
    assert r.seek(-2, io.SEEK_END) == len(DATA) - BASE - 2 and r.read() == bytes([38, 39])
    assert r.seek(10**6) == 10**6 and r.read(4) == b""
    r.seek(5)
    assert r.seek(-(10**3), io.SEEK_CUR) == 0  # relative seeks are clamped to the block start too


def test_jpeg_segments_are_immutable_and_locate_the_exif() -> None:
    data = jpeg_bytes(exif_tiff(make="Canon"))
    walked = jpeg.walk(io.BytesIO(data))
    first = walked.segments[0]
    assert (first.marker, first.offset, first.payload_offset) == (jpeg.APP1, 2, 6)
    with pytest.raises(AttributeError):
        first.offset = 0  # type: ignore[misc]
    found = jpeg.exif_tiff_offset(walked)
    assert found is not None and found[0] == JPEG_TIFF_OFFSET
