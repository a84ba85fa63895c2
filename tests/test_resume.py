"""Reading a JSON Lines export to resume: a torn last line is dropped and re-done; any
other damage is refused with a clear error, never a traceback, and the file is not cut."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evidence_cli import resume
from evidence_cli.errors import ScanError
from evidence_cli.models import SCHEMA_VERSION, FileRecord


def _lines() -> list[dict[str, Any]]:
    header = {"schema": SCHEMA_VERSION, "tool": {}, "case": {}, "scan": {"roots": ["ev"], "options": {}}}
    records = [FileRecord(path=f"f{i}.txt", path_bytes=None, kind="file", size=i).to_dict() for i in range(3)]
    return [header, *records]


def _write(path: Path, lines: list[Any], tail: bytes = b"") -> Path:
    path.write_bytes(b"".join(json.dumps(x).encode() + b"\n" for x in lines) + tail)
    return path


def test_a_torn_last_line_is_dropped(tmp_path: Path) -> None:
    p = _write(tmp_path / "a.jsonl", _lines(), tail=b'{"path": "f3.t')
    state = resume.load(str(p))
    assert state.done == {b"f0.txt", b"f1.txt", b"f2.txt"}
    assert [r.path for r in resume.replay(state)] == ["f0.txt", "f1.txt", "f2.txt"]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda lines: lines.insert(2, "NOT JSON"), "line 3 is not valid JSON"),
        (lambda lines: lines.insert(2, "[" * 100_000 + "]" * 100_000), "line 3 is not valid JSON"),
        (lambda lines: lines[2].pop("kind"), "line 3 is not a record"),
        (lambda lines: lines[2].update(path_bytes="!!!"), "line 3 is not a record"),
        (lambda lines: lines[2].update(errors=[{"stage": "x"}]), "line 3 is not a record"),
        # Python reads them as nan and inf: replayed into --json, that was a ValueError traceback.
        (lambda lines: lines.insert(2, '{"path": "x", "kind": "file", "size": NaN}'), "line 3 is not valid JSON"),
        (lambda lines: lines.insert(2, '{"path": "x", "kind": "file", "size": 1e999}'), "line 3 is not valid JSON"),
    ],
)
def test_damage_before_the_end_is_refused_and_the_file_is_kept(tmp_path: Path, damage: Any, message: str) -> None:
    """Was: a traceback (KeyError, RecursionError, binascii.Error), or, for a line that is
    not JSON, every record after it silently cut from the examiner's file."""
    lines: list[Any] = _lines()
    damage(lines)
    p = tmp_path / "a.jsonl"
    p.write_bytes(b"".join((x if isinstance(x, str) else json.dumps(x)).encode() + b"\n" for x in lines))
    before = p.read_bytes()
    with pytest.raises(ScanError, match=f"{message}.*the file is damaged"):
        resume.load(str(p))
    assert p.read_bytes() == before


def test_a_header_whose_scan_is_not_an_object_is_refused(tmp_path: Path) -> None:
    lines = _lines()
    lines[0]["scan"] = ["ev"]
    with pytest.raises(ScanError, match="not an evidence-cli JSON Lines export"):
        resume.load(str(_write(tmp_path / "a.jsonl", lines)))


def test_roots_or_options_of_the_wrong_shape_are_a_mismatch(tmp_path: Path) -> None:
    lines = _lines()
    lines[0]["scan"] = {"roots": 7, "options": "x"}
    state = resume.load(str(_write(tmp_path / "a.jsonl", lines)))
    with pytest.raises(ScanError, match="cannot resume"):
        resume.check_compatible(state, ["ev"], {})
