"""Rationals are reported as stored (ExifRead would reduce 3024/100 to 756/25)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.builders import exif_tiff, gps_fields, jpeg_bytes, scan_one, tiff_image_bytes


@pytest.mark.parametrize("byteorder", ["<", ">"])
def test_gps_rationals_keep_their_stored_terms(tmp_path: Path, byteorder: str) -> None:
    lat = [(48, 1), (51, 1), (3024, 100)]
    lon = [(2, 1), (17, 1), (4020, 100)]
    tiff = exif_tiff(
        gps=gps_fields(lat_dms=lat, lon_dms=lon, alt_rational=(3520, 100), alt_ref=0),
        byteorder=byteorder,
    )
    rec = scan_one(tmp_path, "photo.jpg", jpeg_bytes(tiff))
    assert rec.gps is not None
    assert rec.gps.raw["GPSLatitude"] == [list(p) for p in lat]
    assert rec.gps.raw["GPSLongitude"] == [list(p) for p in lon]
    assert rec.gps.raw["GPSAltitude"] == [3520, 100]
    assert rec.metadata["exif"]["GPS GPSAltitude"] == [3520, 100]
    assert rec.gps.latitude == pytest.approx(48 + 51 / 60 + 30.24 / 3600)
    assert rec.gps.altitude == pytest.approx(35.2)


def test_tiff_file_rationals_as_stored(tmp_path: Path) -> None:
    tiff = tiff_image_bytes(gps=gps_fields(lat_dms=[(10, 1), (0, 1), (500, 100)], lon_dms=[(20, 1), (0, 1), (0, 1)]))
    rec = scan_one(tmp_path, "scan.tif", tiff)
    assert rec.gps is not None
    assert rec.gps.raw["GPSLatitude"] == [[10, 1], [0, 1], [500, 100]]
