"""Exports: sha256sum/md5sum/hashdeep files the real tools accept, CSV, and the verify reports."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from evidence_cli.exports import (
    VERIFY_CSV_COLUMNS,
    ExportFormat,
    ExportRefused,
    VerifyReportCsv,
    VerifyReportJson,
    export_manifest,
    sum_line,
)
from evidence_cli.manifest import check_seal, read_manifest
from evidence_cli.models import VerifyEntry
from evidence_cli.writers.csv_out import COLUMN_NAMES
from tests.custody import AWKWARD, AWKWARD_NEWLINE, flip_one_byte, make_tree, write_manifest

needs_sha256sum = pytest.mark.skipif(shutil.which("sha256sum") is None, reason="GNU sha256sum is not installed")
needs_md5sum = pytest.mark.skipif(shutil.which("md5sum") is None, reason="GNU md5sum is not installed")
needs_hashdeep = pytest.mark.skipif(
    shutil.which("hashdeep") is None, reason="hashdeep is not installed (Debian package hashdeep)"
)


@pytest.fixture
def case(tmp_path: Path) -> tuple[Path, Path]:
    tree = make_tree(tmp_path / "evidence")
    manifest = tmp_path / "manifest.json"
    write_manifest(tree, manifest)
    return tree, manifest


def export(manifest: Path, fmt: ExportFormat, out: Path) -> Any:
    with open(out, "wb") as fh:
        return export_manifest(read_manifest(str(manifest)), fmt, fh)


def run_tool(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(args, cwd=cwd, capture_output=True, timeout=60, check=False)


# --- sha256sum / md5sum ------------------------------------------------------------------


def test_sum_line_follows_gnu_escaping() -> None:
    d = "ab" * 32
    assert sum_line(d, b"plain name") == f"{d}  plain name\n".encode()
    assert sum_line(d, b"-dash") == f"{d}  -dash\n".encode()
    assert sum_line(d, b"a\\b") == f"\\{d}  a\\\\b\n".encode()
    assert sum_line(d, b"new\nline") == f"\\{d}  new\\nline\n".encode()
    assert sum_line(d, b"cr\rx") == f"\\{d}  cr\\rx\n".encode()
    assert sum_line(d, b"raw-\xff") == f"{d}  raw-".encode() + b"\xff\n"


def test_sha256sum_export_lists_every_regular_file(case: tuple[Path, Path], tmp_path: Path) -> None:
    _, manifest = case
    result = export(manifest, ExportFormat.SHA256SUM, tmp_path / "SHA256SUMS")
    assert result.written == len(AWKWARD) + len(AWKWARD_NEWLINE)
    assert result.not_files == 3 and result.skipped == []  # two symlinks and a FIFO
    back = read_manifest(str(tmp_path / "SHA256SUMS"))
    assert {e.rel: e.hashes["sha256"] for e in back.entries} == {
        rel: hashlib.sha256(data).hexdigest() for rel, data in {**AWKWARD, **AWKWARD_NEWLINE}.items()
    }


@needs_sha256sum
def test_real_sha256sum_accepts_the_export_and_writes_the_same_lines(case: tuple[Path, Path], tmp_path: Path) -> None:
    tree, manifest = case
    lst = tmp_path / "SHA256SUMS"
    export(manifest, ExportFormat.SHA256SUM, lst)
    done = run_tool(["sha256sum", "--strict", "-c", str(lst)], cwd=tree)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(b": OK\n") == len(AWKWARD) + len(AWKWARD_NEWLINE)
    # The real tool, given the same names, writes byte-identical lines.
    names = [os.fsdecode(n) for n in sorted({**AWKWARD, **AWKWARD_NEWLINE})]
    real = run_tool(["sha256sum", "--", *names], cwd=tree)
    assert real.returncode == 0, real.stderr
    assert sorted(real.stdout.splitlines()) == sorted(lst.read_bytes().splitlines())
    # And it notices a change.
    flip_one_byte(os.path.join(os.fsencode(tree), b"bad-\xff\xfe-latin1.bin"))
    failed = run_tool(["sha256sum", "-c", str(lst)], cwd=tree)
    assert failed.returncode == 1 and b"bad-\xff\xfe-latin1.bin: FAILED" in failed.stdout


@needs_md5sum
def test_real_md5sum_accepts_the_export(case: tuple[Path, Path], tmp_path: Path) -> None:
    tree, manifest = case
    lst = tmp_path / "MD5SUMS"
    export(manifest, ExportFormat.MD5SUM, lst)
    done = run_tool(["md5sum", "--strict", "-c", str(lst)], cwd=tree)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(b": OK\n") == len(AWKWARD) + len(AWKWARD_NEWLINE)


def test_a_digest_the_manifest_lacks_is_refused(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "ev", specials=False)
    manifest = tmp_path / "m.json"
    write_manifest(tree, manifest, algorithms=("sha256",))
    with pytest.raises(ExportRefused, match="no md5 digest"):
        export(manifest, ExportFormat.MD5SUM, tmp_path / "x")
    # The digest it has is exported.
    export(manifest, ExportFormat.SHA256SUM, tmp_path / "ok")


# --- hashdeep ------------------------------------------------------------------------------


def test_hashdeep_refuses_a_newline_in_a_name_and_says_which(case: tuple[Path, Path], tmp_path: Path) -> None:
    _, manifest = case
    out = tmp_path / "known.hashdeep"
    with pytest.raises(ExportRefused, match=r"newline.*'new\\nline.txt'"):
        export(manifest, ExportFormat.HASHDEEP, out)
    assert out.read_bytes() == b""  # nothing was written


def test_hashdeep_export_shape(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "ev", newline=False)
    manifest = tmp_path / "m.json"
    write_manifest(tree, manifest)
    out = tmp_path / "known.hashdeep"
    result = export(manifest, ExportFormat.HASHDEEP, out)
    assert result.written == len(AWKWARD)
    lines = out.read_bytes().split(b"\n")
    assert lines[0] == b"%%%% HASHDEEP-1.0"
    assert lines[1] == b"%%%% size,md5,sha1,sha256,filename"
    assert lines[2] == b"## Invoked from: " + os.fsencode(tree)
    data = [x for x in lines if x and not x.startswith((b"%", b"#"))]
    plain = next(x for x in data if x.endswith(b",./plain.txt"))
    body = AWKWARD[b"plain.txt"]
    assert plain == b",".join(
        [
            str(len(body)).encode(),
            hashlib.md5(body).hexdigest().encode(),
            hashlib.sha1(body).hexdigest().encode(),
            hashlib.sha256(body).hexdigest().encode(),
            b"./plain.txt",
        ]
    )


@needs_hashdeep
def test_real_hashdeep_audit_passes_and_fails_when_it_should(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "ev", newline=False)  # with a symlink out of the tree and a FIFO
    manifest = tmp_path / "m.json"
    write_manifest(tree, manifest)
    known = tmp_path / "known.hashdeep"
    export(manifest, ExportFormat.HASHDEEP, known)
    cmd = ["hashdeep", "-o", "f", "-l", "-r", "-a", "-vv", "-k", str(known), "."]
    done = run_tool(cmd, cwd=tree)
    assert done.returncode == 0, done.stdout + done.stderr
    assert b"Audit passed" in done.stdout
    assert f"Files matched: {len(AWKWARD)}".encode() in done.stdout
    # The evidence moved: the relative export still audits from its new place.
    moved = tmp_path / "moved"
    os.rename(tree, moved)
    assert run_tool(cmd, cwd=moved).returncode == 0
    # One byte changed (size and time kept): hashdeep's audit fails too.
    flip_one_byte(moved / "comma,name.txt")
    failed = run_tool(cmd, cwd=moved)
    assert failed.returncode != 0 and b"Audit failed" in failed.stdout


# --- CSV -------------------------------------------------------------------------------------


def test_csv_export_is_the_scan_csv(case: tuple[Path, Path], tmp_path: Path) -> None:
    _, manifest = case
    out = tmp_path / "m.csv"
    result = export(manifest, ExportFormat.CSV, out)
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    assert rows[0] == COLUMN_NAMES
    assert result.written == len(rows) - 1 == len(AWKWARD) + len(AWKWARD_NEWLINE) + 3
    by_path = {r[0]: dict(zip(COLUMN_NAMES, r)) for r in rows[1:]}
    assert by_path["bad-\\xff\\xfe-latin1.bin"]["path_bytes"] == "YmFkLf/+LWxhdGluMS5iaW4="
    assert by_path["new\nline.txt"]["sha256"] == hashlib.sha256(AWKWARD_NEWLINE[b"new\nline.txt"]).hexdigest()
    assert "'=formula.txt" in by_path  # formula-looking names neutralised


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r.update(errors=[{"stage": "x"}]),
        lambda r: r.update(timestamps=["2020"]),
        lambda r: r.update(gps={"source": "exif"}),
        lambda r: r.update(device=7),
    ],
)
def test_csv_of_a_record_this_version_cannot_read_is_refused_before_writing(
    case: tuple[Path, Path], tmp_path: Path, change: Any
) -> None:
    """A hand-edited manifest (accepted unsealed) whose record has a field of the wrong
    shape: was a traceback (TypeError, KeyError ...) after the CSV header was written."""
    _, manifest = case
    doc = json.loads(manifest.read_text(encoding="utf-8"))
    doc.pop("seal")
    change(doc["files"][1])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    out = io.BytesIO()
    with pytest.raises(ExportRefused, match="record 2 is not a record this version reads"):
        export_manifest(read_manifest(str(bad)), ExportFormat.CSV, out)
    assert out.getvalue() == b""


def test_csv_from_a_hash_list(case: tuple[Path, Path], tmp_path: Path) -> None:
    _, manifest = case
    lst = tmp_path / "SHA256SUMS"
    export(manifest, ExportFormat.SHA256SUM, lst)
    out = tmp_path / "l.csv"
    export(lst, ExportFormat.CSV, out)
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    assert len(rows) == len(AWKWARD) + len(AWKWARD_NEWLINE)
    assert all(r["kind"] == "file" and len(r["sha256"]) == 64 and r["md5"] == "" for r in rows)


# --- verify reports --------------------------------------------------------------------------


def _entries() -> list[VerifyEntry]:
    return [
        VerifyEntry(path="a", path_bytes=None, status="ok", in_manifest=True, kind="file"),
        VerifyEntry(
            path="=evil()",
            path_bytes=None,
            status="modified",
            in_manifest=True,
            kind="file",
            expected={"size": 3, "hashes": {"md5": "0" * 32}},
            actual={"size": 4, "hashes": {"md5": "1" * 32}},
            changed=("md5", "size"),
        ),
        VerifyEntry(path="b", path_bytes=None, status="moved", in_manifest=True, kind="file", moved_to="-c"),
    ]


def test_verify_json_report_is_sealed_and_streams() -> None:
    buf = io.StringIO()
    w = VerifyReportJson(buf)
    w.begin({"name": "evidence-cli", "version": "x"}, {"case": "C"}, {"path": "/m.json", "sha256": "0" * 64})
    for e in _entries():
        w.write(e)
    w.end({"started_utc": "s"}, {"manifest_entries": 3}, {"outcome": "differences", "exit_code": 1})
    doc = json.loads(buf.getvalue())
    assert doc["schema"] == "evidence-cli/verify/1"
    assert list(doc) == ["schema", "tool", "case", "manifest", "entries", "verify", "summary", "result", "seal"]
    assert [VerifyEntry.from_dict(e) for e in doc["entries"]] == _entries()
    assert check_seal(doc).status == "valid"
    doc["entries"][1]["status"] = "ok"
    assert check_seal(doc).status == "invalid"


def test_verify_csv_report_columns_and_formula_neutralising() -> None:
    buf = io.StringIO()
    w = VerifyReportCsv(buf)
    w.begin()
    for e in _entries():
        w.write(e)
    w.end()
    rows = list(csv.DictReader(io.StringIO(buf.getvalue(), newline="")))
    assert list(rows[0]) == list(VERIFY_CSV_COLUMNS)
    mod = rows[1]
    assert mod["path"] == "'=evil()" and mod["changed"] == "md5;size"
    assert (mod["expected_size"], mod["actual_size"]) == ("3", "4")
    assert (mod["expected_md5"], mod["actual_md5"]) == ("0" * 32, "1" * 32)
    assert rows[2]["moved_to"] == "'-c"


def test_verify_csv_report_writes_nul_without_the_csv_module(monkeypatch: pytest.MonkeyPatch) -> None:
    # A manifest is a JSON file anyone can edit: its text may hold NUL, which Python 3.10's
    # csv module refused ("need to escape, but no escapechar set"), ending the report.
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise csv.Error("need to escape, but no escapechar set")

    monkeypatch.setattr(csv, "writer", refuse)
    buf = io.StringIO()
    w = VerifyReportCsv(buf)
    w.begin()
    w.write(VerifyEntry(path="=a\x00b", path_bytes=None, status="missing", in_manifest=True, kind="file", note="x\x00"))
    w.end()
    lines = buf.getvalue().split("\r\n")
    assert lines[0] == ",".join(VERIFY_CSV_COLUMNS)
    assert lines[1].startswith("missing,true,'=a\x00b,,file,")
    assert lines[1].endswith(",x\x00") and lines[2] == ""
