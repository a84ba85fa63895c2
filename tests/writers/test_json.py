"""JSON and JSON Lines exports: valid against the schema, one record per entry, stable order."""

from __future__ import annotations

import dataclasses
import io
import json
import os
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from evidence_cli.models import SCHEMA_VERSION, FileRecord, ScanInfo
from evidence_cli.scanner import ScanOptions, scan
from evidence_cli.schema import definition_schema, load_schema
from evidence_cli.summary import Summary
from evidence_cli.writers import OutputFormat, make_writer

EXPORT = Draft202012Validator(load_schema())
HEADER = Draft202012Validator(definition_schema("jsonl_header"))
RECORD = Draft202012Validator(definition_schema("file_record"))
CLOSING = Draft202012Validator(definition_schema("jsonl_closing"))


def info(root: Path) -> ScanInfo:
    return ScanInfo(
        tool={"name": "evidence-cli", "version": "0.0.0"},
        case={"case": "C-1", "examiner": "Examiner É", "evidence_id": None},
        roots=(str(root),),
        started_utc="2026-01-02T03:04:05.000001Z",
        finished_utc=None,
        options={"algorithms": ["md5", "sha1", "sha256"], "metadata": True},
        host="lab",
    )


def make_tree(root: Path) -> None:
    (root / "b" / "c").mkdir(parents=True)
    (root / "a.txt").write_text("alpha\n")
    (root / "b" / "c" / "deep.txt").write_text("deep\n")
    (root / "b" / "café ☕.txt").write_text("non-ASCII name\n")
    (root / "z.bin").write_bytes(b"\x00\xff" * 300)
    (root / "empty").write_bytes(b"")
    (root / "link").symlink_to("a.txt")
    os.mkfifo(root / "pipe")
    with open(os.path.join(os.fsencode(root), b"raw\xffname"), "wb") as fh:
        fh.write(b"bytes")


def export(fmt: OutputFormat, root: Path, records: list[FileRecord] | None = None) -> str:
    records = list(scan([str(root)], ScanOptions())) if records is None else records
    buf = io.StringIO()
    w = make_writer(fmt, buf)
    w.begin(info(root))
    summary = Summary()
    for r in records:
        summary.add(r)
        w.write(r)
    w.end(dataclasses.replace(info(root), finished_utc="2026-01-02T03:04:06Z"), summary)
    return buf.getvalue()


def errors(v: Draft202012Validator, doc: Any) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in v.iter_errors(doc)]


EXPECTED_PATHS = ["a.txt", "b/c/deep.txt", "b/café ☕.txt", "empty", "link", "pipe", "raw\\xffname", "z.bin"]


def test_json_export_validates_and_holds_every_entry_in_order(tmp_path: Path) -> None:
    make_tree(tmp_path)
    text = export(OutputFormat.JSON, tmp_path)
    doc = json.loads(text)
    assert errors(EXPORT, doc) == []
    assert doc["schema"] == SCHEMA_VERSION
    assert [f["path"] for f in doc["files"]] == EXPECTED_PATHS
    assert doc["case"] == {"case": "C-1", "examiner": "Examiner É", "evidence_id": None}
    assert doc["scan"]["finished_utc"] == "2026-01-02T03:04:06Z"
    s = doc["summary"]
    assert (s["entries"], s["files"], s["symlinks"], s["other"]) == (8, 6, 1, 1)
    assert s["entries_with_errors"] == 1  # the FIFO: recorded, not opened
    assert s["bytes"] == sum(f["size"] for f in doc["files"] if f["kind"] == "file")


def test_json_export_is_readable_utf8_one_record_a_line(tmp_path: Path) -> None:
    make_tree(tmp_path)
    text = export(OutputFormat.JSON, tmp_path)
    assert "café ☕.txt" in text, "non-ASCII is kept readable"
    record_lines = [line for line in text.splitlines() if line.startswith('    {"path": ')]
    assert len(record_lines) == len(EXPECTED_PATHS)
    for line in record_lines:
        assert errors(RECORD, json.loads(line.rstrip(","))) == []


def test_records_read_back_into_the_model(tmp_path: Path) -> None:
    make_tree(tmp_path)
    records = list(scan([str(tmp_path)], ScanOptions()))
    doc = json.loads(export(OutputFormat.JSON, tmp_path, records))
    assert [FileRecord.from_dict(f) for f in doc["files"]] == records


def test_same_tree_same_export_but_the_header(tmp_path: Path) -> None:
    make_tree(tmp_path)
    first = json.loads(export(OutputFormat.JSON, tmp_path))
    second = json.loads(export(OutputFormat.JSON, tmp_path))
    for doc in (first, second):
        doc.pop("seal", None)  # a digest of the rest: differs with the link access times
        for f in doc["files"]:
            if f["kind"] == "symlink":
                # The kernel updates a link's access time when its target is read
                # (readlink has no O_NOATIME); every other access time stays.
                f["filesystem"]["accessed"] = None
    assert first["files"] == second["files"]
    assert first == second


def test_jsonl_header_records_and_closing_line(tmp_path: Path) -> None:
    make_tree(tmp_path)
    lines = export(OutputFormat.JSONL, tmp_path).splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) == len(EXPECTED_PATHS) + 2
    assert errors(HEADER, rows[0]) == []
    assert rows[0]["schema"] == SCHEMA_VERSION and rows[0]["scan"]["finished_utc"] is None
    assert [r["path"] for r in rows[1:-1]] == EXPECTED_PATHS
    for r in rows[1:-1]:
        assert errors(RECORD, r) == []
    assert errors(CLOSING, rows[-1]) == []
    assert rows[-1]["scan"]["finished_utc"] == "2026-01-02T03:04:06Z"
    assert rows[-1]["summary"]["entries"] == len(EXPECTED_PATHS)


def test_json_and_jsonl_hold_the_same_records(tmp_path: Path) -> None:
    make_tree(tmp_path)
    records = list(scan([str(tmp_path)], ScanOptions()))
    doc = json.loads(export(OutputFormat.JSON, tmp_path, records))
    rows = [json.loads(line) for line in export(OutputFormat.JSONL, tmp_path, records).splitlines()]
    assert doc["files"] == rows[1:-1]


def test_empty_scan_is_a_valid_export(tmp_path: Path) -> None:
    doc = json.loads(export(OutputFormat.JSON, tmp_path, []))
    assert doc["files"] == [] and errors(EXPORT, doc) == []
    rows = [json.loads(line) for line in export(OutputFormat.JSONL, tmp_path, []).splitlines()]
    assert len(rows) == 2


def test_hostile_strings_stay_exact_in_json(tmp_path: Path) -> None:
    name = '\x1b[31m"quoted"\\ \u202e\n[red]x[/red]'
    r = FileRecord(path=name, path_bytes=None, kind="file", size=0, description="\x00\x07")
    doc = json.loads(export(OutputFormat.JSON, tmp_path, [r]))
    assert doc["files"][0]["path"] == name, "JSON keeps evidence exactly (escaping is JSON's own)"
    assert doc["files"][0]["description"] == "\x00\x07"
