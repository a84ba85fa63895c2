"""bench/without_libmagic.py measures the scan without libmagic only if libmagic is really
left out: in the scan's own process and in every worker process (which run the main
script again as they start). Its records must then say no type came from libmagic, and
the rest of each record must be the real scan's."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.builders import exif_tiff, jpeg_bytes

WRAPPER = Path(__file__).resolve().parent.parent / "bench" / "without_libmagic.py"


def _records(tree: Path, *args: str, without: str = "") -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(WRAPPER), "scan", str(tree), "-f", "jsonl", *args],
        capture_output=True,
        check=False,
        timeout=300,
        env={**os.environ, "EVIDENCE_BENCH_WITHOUT": without},
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    lines = [json.loads(x) for x in done.stdout.splitlines()]
    return {r["path"]: r for r in lines if "path" in r}


@pytest.mark.parametrize("workers", ["0", "2"])
def test_no_type_comes_from_libmagic(tmp_path: Path, workers: str) -> None:
    tree = tmp_path / "ev"
    tree.mkdir()
    (tree / "photo.jpg").write_bytes(jpeg_bytes())
    (tree / "notes.txt").write_text("a line of plain text\n" * 20)
    # Bytes no format claims (libmagic: "data"): digests of counters.
    (tree / "data.bin").write_bytes(b"".join(hashlib.sha256(b"%d" % i).digest() for i in range(64)))
    records = _records(tree, "--workers", workers)
    assert {p: r["type_decided_by"] for p, r in records.items()} == {
        "photo.jpg": "signature",
        "notes.txt": "none",
        "data.bin": "none",
    }
    assert records["photo.jpg"]["mime"] == "image/jpeg" and records["notes.txt"]["mime"] is None
    # Everything else is the real scan's: digests, times, metadata readers.
    real = subprocess.run(
        [sys.executable, "-m", "evidence_cli", "scan", str(tree), "-f", "jsonl", "--workers", workers],
        capture_output=True,
        check=False,
        timeout=300,
    )
    assert real.returncode == 0, real.stderr.decode(errors="replace")
    real_records = {r["path"]: r for r in map(json.loads, real.stdout.splitlines()) if "path" in r}
    for path, r in records.items():
        assert r["hashes"] == real_records[path]["hashes"]
        assert r["filesystem"]["modified"] == real_records[path]["filesystem"]["modified"]
    assert records["photo.jpg"]["metadata"] == real_records["photo.jpg"]["metadata"]


@pytest.mark.parametrize("workers", ["0", "2"])
def test_extractors_named_in_the_environment_are_left_out(tmp_path: Path, workers: str) -> None:
    """EVIDENCE_BENCH_WITHOUT=exif: no EXIF group, capture time or device from EXIF, in
    the workers too; the other readers still run (Pillow's image facts)."""
    tree = tmp_path / "ev"
    tree.mkdir()
    exif = exif_tiff(make="Canon", model="EOS 5D", date_original="2021:06:01 10:00:00")
    (tree / "photo.jpg").write_bytes(jpeg_bytes(exif))
    with_exif = _records(tree, "--workers", workers)["photo.jpg"]
    without = _records(tree, "--workers", workers, without="exif")["photo.jpg"]
    assert "exif" in with_exif["metadata"] and with_exif["captured"] is not None
    assert "exif" not in without["metadata"] and without["captured"] is None
    assert without["image"] == with_exif["image"] and without["hashes"] == with_exif["hashes"]
