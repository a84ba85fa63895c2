"""Hostile strings from names and metadata never act on whoever reads the output.

A tree of files whose names carry ANSI escapes, rich markup, bidi overrides, newlines,
spreadsheet formulas and bytes that are not UTF-8, and of files of every format whose
metadata strings (EXIF Make/Model/Software, XMP dc:title, PDF Title, DOCX/ODT creator,
PNG text, QuickTime keys) carry the same payloads. Checked: the terminal table and
summary (stdout and stderr bytes, plain and colour terminal), the CSV export (no live
formula unless ``--csv-raw``), the JSON/JSONL exports (strict UTF-8, exact name bytes).
"""

from __future__ import annotations

import csv
import io
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.hostile import corpus
from tests.hostile.run import Run, load_json_export, load_jsonl_export, record_bytes, run_evidence

#: One payload carrying every attack at once, for metadata fields.
ALL_IN_ONE = "".join(corpus.TEXT_PAYLOADS[k] for k in ("formula", "ansi", "markup", "bidi", "newline", "c1"))


def hostile_files() -> dict[bytes, bytes]:
    """name bytes -> content: hostile names, and every format with hostile metadata."""
    out: dict[bytes, bytes] = {n: b"plain text\n" for n in corpus.name_payloads()}
    for key, text in corpus.TEXT_PAYLOADS.items():
        for name, data in corpus.seed_files(text).items():
            out[f"meta-{key}-{name}".encode()] = data
    for name, data in corpus.seed_files(ALL_IN_ONE).items():
        out[f"meta-all-{name}".encode()] = data
    # A folder whose name is hostile too.
    out["\x1b[2J[bold]dir\u202e/inside.jpg".encode()] = corpus.jpeg_seed(ALL_IN_ONE)
    return out


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[bytes, bytes]]:
    root = tmp_path_factory.mktemp("strings") / "evidence"
    files = hostile_files()
    base = os.fsencode(root)
    for name, data in files.items():
        p = os.path.join(base, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as fh:
            fh.write(data)
    return root, files


@pytest.fixture(scope="module")
def outputs(tree: tuple[Path, dict[bytes, bytes]], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root, _ = tree
    out = tmp_path_factory.mktemp("out")
    plain = run_evidence(
        [
            "scan",
            root,
            "--workers",
            "0",
            "--width",
            "100",
            "--table-limit",
            "0",
            "--json",
            out / "scan.json",
            "--jsonl",
            out / "scan.jsonl",
            "--csv",
            out / "scan.csv",
        ],
        env={"TERM": "dumb", "NO_COLOR": "1"},
    )
    return {"plain": plain, "dir": out}


def forbidden_in(text: str) -> list[str]:
    return sorted({f"U+{ord(c):04X}" for c in text if c in corpus.FORBIDDEN_TERMINAL_CHARS})


def test_terminal_table_and_summary_hold_no_control_character(outputs: dict[str, Any]) -> None:
    run: Run = outputs["plain"]
    assert run.returncode in (0, 1), run.text()[-2000:]
    for stream in (run.stdout, run.stderr):
        text = stream.decode("utf-8")  # the terminal output is valid UTF-8 ...
        assert forbidden_in(text) == []  # ... with no control/bidi character at all
    assert b"Evidence scan" in run.stdout


def test_hostile_names_are_shown_escaped_and_visible(outputs: dict[str, Any]) -> None:
    text = outputs["plain"].stdout.decode("utf-8")
    flat = re.sub(r"[│┃|\s]+", "", text)  # cells fold across lines: compare without borders
    assert "\\x1b[31mRED" in flat, "the escape is shown, visibly"
    assert "[boldred]LOUD[/boldred]" in flat, "markup is shown as text, not obeyed"
    assert "invoice\\u202egnp.exe" in flat


def test_colour_terminal_gets_only_our_own_styling(tree: tuple[Path, dict[bytes, bytes]]) -> None:
    """On a (forced) colour terminal rich adds its own SGR codes; the evidence's escape
    sequences (clear screen, window title, colours) must still never come out raw."""
    root, _ = tree
    run = run_evidence(
        ["scan", root, "--workers", "0", "--width", "100", "--table-limit", "0"],
        env={"FORCE_COLOR": "1", "TERM": "xterm-256color", "COLUMNS": "100"},
    )
    assert run.returncode in (0, 1), run.text()[-2000:]
    for stream in (run.stdout, run.stderr):
        text = stream.decode("utf-8")
        assert "\x1b[31mRED" not in text
        assert "\x1b[2J" not in text
        assert "\x1b]" not in text  # no OSC (window title, hyperlinks) at all
        # Rich's own output: SGR colours and cursor moves of the progress display.
        ours = re.sub(r"\x1b\[[0-9;?]*[mAKGhlJ]|\r", "", text)
        assert forbidden_in(ours) == []


def read_csv(path: Path) -> list[list[str]]:
    """The rows of a CSV export. Metadata may hold NUL, which the export keeps as it is; up
    to Python 3.10 the csv module refuses to read it ("line contains NUL"), so there it
    reads as U+FFFD (no formula starts with either)."""
    text = path.read_bytes().decode("utf-8")
    if sys.version_info < (3, 11):
        text = text.replace("\x00", "\ufffd")
    return list(csv.reader(io.StringIO(text, newline="")))


def test_csv_has_no_live_formula(outputs: dict[str, Any]) -> None:
    rows = read_csv(outputs["dir"] / "scan.csv")
    header, body = rows[0], rows[1:]
    assert len(body) == len(hostile_files())
    live = []
    for row in body:
        for col, cell in zip(header, row):
            if cell.startswith(corpus.FORMULA_START):
                try:
                    float(cell)  # a negative number we computed (a coordinate) is not a formula
                except ValueError:
                    live.append((col, cell[:60]))
    assert not live
    # The payloads are there, neutralised, not dropped.
    cells = [c for row in body for c in row]
    assert any(c.startswith("'=cmd|") for c in cells)
    assert any(c.startswith("'@SUM") for c in cells)
    assert any(c.startswith("'-2+3") for c in cells)


def test_csv_raw_keeps_cells_as_they_are(tree: tuple[Path, dict[bytes, bytes]], tmp_path: Path) -> None:
    root, _ = tree
    out = tmp_path / "raw.csv"
    run = run_evidence(["scan", root, "--workers", "0", "--no-metadata", "--csv", out, "--csv-raw", "-f", "json"])
    assert run.returncode in (0, 1), run.text()[-2000:]
    rows = read_csv(out)
    paths = [r[0] for r in rows[1:]]
    assert "formula-=cmd|' _C calc'!A0.txt" in paths
    assert not any(p.startswith("'") for p in paths)


def test_json_exports_are_utf8_and_give_back_the_exact_name_bytes(
    tree: tuple[Path, dict[bytes, bytes]], outputs: dict[str, Any]
) -> None:
    _, files = tree
    export = load_json_export(outputs["dir"] / "scan.json")  # strict UTF-8 decode inside
    assert {record_bytes(r) for r in export["files"]} == set(files)
    lines = load_jsonl_export(outputs["dir"] / "scan.jsonl")
    records = [x for x in lines[1:] if "path" in x]
    assert {record_bytes(r) for r in records} == set(files)
    for r in export["files"]:
        raw = record_bytes(r)
        try:
            raw.decode("utf-8")
            assert r["path_bytes"] is None and r["path"] == raw.decode("utf-8")
        except UnicodeDecodeError:
            assert r["path_bytes"], "a name that is not UTF-8 carries its exact bytes"


def test_json_on_stdout_is_utf8(tree: tuple[Path, dict[bytes, bytes]]) -> None:
    root, files = tree
    run = run_evidence(["scan", root, "--workers", "0", "-f", "json"], env={"LANG": "C", "LC_ALL": "C"})
    assert run.returncode in (0, 1), run.text()[-2000:]
    import json

    export = json.loads(run.stdout.decode("utf-8", "strict"))
    assert {record_bytes(r) for r in export["files"]} == set(files)


def test_metadata_payloads_survive_in_json_exactly(outputs: dict[str, Any]) -> None:
    """Escaping is for display: the record keeps the string the file holds."""
    export = load_json_export(outputs["dir"] / "scan.json")
    records = {r["path"]: r for r in export["files"]}
    jpg = records["meta-ansi-seed.jpg"]
    assert jpg["device"]["make"] == corpus.TEXT_PAYLOADS["ansi"]
    assert records["meta-formula-seed.jpg"]["device"]["model"] == corpus.TEXT_PAYLOADS["formula"]
