"""A manifest far larger than what is kept of it: read in pieces, never held whole."""

from __future__ import annotations

import hashlib
import json
import tracemalloc
from pathlib import Path
from typing import Any

from evidence_cli.manifest import read_manifest, seal_value
from tests.custody import make_tree, write_manifest


def _big_manifest(tmp_path: Path, n: int, note_size: int) -> tuple[Path, dict[str, Any]]:
    """A sealed manifest of ``n`` records, each with ``note_size`` characters of metadata."""
    make_tree(tmp_path / "ev", specials=False)
    doc = write_manifest(tmp_path / "ev", tmp_path / "m.json")
    rec = next(r for r in doc["files"] if r["kind"] == "file" and r["path_bytes"] is None)
    doc["files"] = [
        dict(rec, path=f"d{i // 1000}/f{i}.bin", metadata={"note": {"text": chr(0x61 + i % 26) * note_size}})
        for i in range(n)
    ]
    doc["summary"]["entries"] = doc["summary"]["files"] = n
    doc["seal"]["value"] = seal_value(doc)
    p = tmp_path / "big.json"
    p.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return p, doc


def test_a_large_manifest_is_read_without_holding_it(tmp_path: Path) -> None:
    path, doc = _big_manifest(tmp_path, 3000, 8000)
    size = path.stat().st_size
    tracemalloc.start()
    try:
        m = read_manifest(str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert m.sealed and len(m.entries) == 3000 and m.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    # Holding the parsed records took several times the file's size (27 MB here); now
    # it is the entries (about 400 bytes each) and a few megabytes of the file.
    assert peak < size / 2, f"peak {peak / 1e6:.1f} MB reading a {size / 1e6:.1f} MB manifest"
    assert list(m.iter_records()) == doc["files"]
