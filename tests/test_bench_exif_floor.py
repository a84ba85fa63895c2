"""bench/exif_floor.py is a floor for an EXIF reader only if it does the same job as
ExifRead: every IFD that ExifRead reads, every entry decoded (here, as many values as
ExifRead gives tags, on blocks with IFD0, Exif, GPS and IFD1 entries, in both byte orders)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import exifread
import pytest

from tests.builders import exif_tiff, gps_fields

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import exif_floor  # noqa: E402


@pytest.mark.parametrize("byteorder", ["<", ">"])
def test_the_walk_decodes_what_exifread_reads(byteorder: str) -> None:
    block = exif_tiff(
        gps=gps_fields(48.8584, 2.2945, alt=35.2),
        byteorder=byteorder,
        make="Canon",
        model="Canon EOS R5",
        software="Firmware 1.8.1",
        date_original="2019:05:01 13:45:10",
        subsec_original="123",
        offset_original="+02:00",
    )
    tags = exifread.process_file(io.BytesIO(block), details=False, extract_thumbnail=False)
    assert len(tags) >= 10
    assert exif_floor.walk_ifds(block) == len(tags)


def test_damaged_blocks_end_the_walk_quietly() -> None:
    block = exif_tiff(make="Canon", date_original="2019:05:01 13:45:10")
    for cut in range(0, len(block), 7):
        exif_floor.walk_ifds(block[:cut])
    looped = bytearray(block)
    looped[4:8] = (8).to_bytes(4, "little")  # IFD0 where it is: the walk meets it once
    assert exif_floor.walk_ifds(bytes(looped)) == exif_floor.walk_ifds(block)
