"""The benchmark's camera-like JPEGs (bench/camera.py) read back as written.

The benchmark's ``camera`` corpus only measures something if its photos are what they
claim: valid EXIF with maker notes at the right offsets, GPS where written. Every
device's photo is scanned here and its facts compared with the record.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import camera  # noqa: E402

from evidence_cli.scanner import ScanOptions, scan  # noqa: E402


def _noise(rng: random.Random, n: int) -> bytes:
    return rng.randbytes(n)


@pytest.mark.parametrize("device", range(len(camera.DEVICES)))
def test_camera_photo_reads_back(tmp_path: Path, device: int) -> None:
    data, facts = camera.make_camera_jpeg(random.Random(f"test/{device}"), _noise, device=device, size=20_000)
    path = tmp_path / "IMG_0001.JPG"
    path.write_bytes(data)
    rec = next(iter(scan([str(path)], ScanOptions(workers=0)))).to_dict()
    assert rec["mime"] == "image/jpeg"
    assert rec["errors"] == [] and rec["findings"] == []
    assert (rec["device"]["make"], rec["device"]["model"]) == (facts["make"], facts["model"])
    assert rec["device"]["serial"] == facts["serial"]
    date = facts["date"]
    assert rec["captured"]["value"] == f"{date}T{facts['time']}.{facts['subsec']}{facts['offset']}"
    assert (rec["gps"] is not None) == bool(facts["gps"])
    exif = rec["metadata"]["exif"]
    assert exif["Image Make"] == facts["make"]
    # Canon and Nikon keep the serial in their maker note too: read there by our own
    # reader, it proves the note's offsets were laid out where its format counts them.
    if camera.DEVICES[device][4] in ("canon", "nikon"):
        assert exif["MakerNote SerialNumber"] == facts["serial"]


def test_camera_maker_note_offsets_point_inside_the_block() -> None:
    """Canon counts its maker note's offsets from the TIFF header: each value that does not
    fit in its entry must lie inside the block, where the layout put it."""
    rng = random.Random("canon")
    block, _ = camera.tiff_block(rng, 640, 480, b"\xff\xd8\xff\xd9", device=0)
    assert block[:4] == b"II*\x00"
    exif_at = int.from_bytes(block[4:8], "little")
    # Find the MakerNote entry (0x927C) in the Exif IFD through IFD0's ExifOffset.
    count = int.from_bytes(block[exif_at : exif_at + 2], "little")
    entries = [block[exif_at + 2 + 12 * i : exif_at + 14 + 12 * i] for i in range(count)]
    ifd = next(int.from_bytes(e[8:12], "little") for e in entries if e[:2] == b"\x69\x87")
    n = int.from_bytes(block[ifd : ifd + 2], "little")
    table = [block[ifd + 2 + 12 * i : ifd + 14 + 12 * i] for i in range(n)]
    note = next(e for e in table if e[:2] == b"\x7c\x92")
    note_at = int.from_bytes(note[8:12], "little")
    m = int.from_bytes(block[note_at : note_at + 2], "little")
    assert 20 <= m < 100
    sizes = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 9: 4, 10: 8}
    for i in range(m):
        e = block[note_at + 2 + 12 * i : note_at + 14 + 12 * i]
        typ, cnt = int.from_bytes(e[2:4], "little"), int.from_bytes(e[4:8], "little")
        if sizes[typ] * cnt > 4:
            at = int.from_bytes(e[8:12], "little")
            assert note_at < at and at + sizes[typ] * cnt <= len(block)


def test_camera_icc_profile_does_not_carry_todays_date() -> None:
    """littleCMS stamps a new profile with the current time: left in, the corpus would
    change from day to day for the same seed (the benchmark promises the same bytes)."""
    icc = camera.icc_profile()
    assert icc[36:40] == b"acsp"  # still an ICC profile
    assert icc[24:36] == camera.ICC_DATE
    assert icc[84:100] == bytes(16)  # no profile ID computed over the old date
