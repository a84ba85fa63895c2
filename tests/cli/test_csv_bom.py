"""``--csv-bom``: CSV output that Excel on Windows reads as UTF-8.

Excel opens a CSV without a byte-order mark in the local code page, so ``Café.jpg``
shows as ``CafÃ©.jpg``. With ``--csv-bom`` the scan CSV, the verify report and
``export -f csv`` begin with EF BB BF; every byte after it is what they write without
it. The option is refused where no CSV is written (nothing is silently ignored)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from evidence_cli.cli import cli
from tests.custody import write_manifest

BOM = b"\xef\xbb\xbf"
NAME = "Café ☕.txt"


def run(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    t = tmp_path / "evidence"
    t.mkdir()
    (t / NAME).write_text("a chat export\n")
    (t / "=SUM(A1).txt").write_text("formula-looking name\n")
    return t


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _same_but_bom(with_bom: bytes, without: bytes) -> None:
    assert with_bom.startswith(BOM) and not without.startswith(BOM)
    assert with_bom[len(BOM) :] == without
    assert NAME in [r["path"] for r in _rows(with_bom)]
    assert "'=SUM(A1).txt" in [r["path"] for r in _rows(with_bom)], "cells still neutralised"


def test_scan_csv_file_and_stdout(tree: Path, tmp_path: Path) -> None:
    plain, marked = tmp_path / "plain.csv", tmp_path / "marked.csv"
    assert run("scan", tree, "--workers", "0", "--csv", plain).exit_code == 0
    r = run("scan", tree, "--workers", "0", "--csv", marked, "--csv-bom", "-f", "csv")
    assert r.exit_code == 0, r.output
    # (The scan leaves the files' access times as they were: both runs give the same rows.)
    _same_but_bom(marked.read_bytes(), plain.read_bytes())
    assert r.stdout_bytes.startswith(BOM + b"path,")


def test_verify_csv_report(tree: Path, tmp_path: Path) -> None:
    manifest = tmp_path / "m.json"
    write_manifest(tree, manifest)
    plain, marked = tmp_path / "plain.csv", tmp_path / "marked.csv"
    assert run("verify", manifest, "--csv", plain, "--all").exit_code == 0
    assert run("verify", manifest, "--csv", marked, "--all", "--csv-bom").exit_code == 0
    _same_but_bom(marked.read_bytes(), plain.read_bytes())


def test_export_csv(tree: Path, tmp_path: Path) -> None:
    manifest = tmp_path / "m.json"
    write_manifest(tree, manifest)
    plain, marked = tmp_path / "plain.csv", tmp_path / "marked.csv"
    assert run("export", manifest, "-f", "csv", "-o", plain).exit_code == 0
    assert run("export", manifest, "-f", "csv", "-o", marked, "--csv-bom").exit_code == 0
    _same_but_bom(marked.read_bytes(), plain.read_bytes())


@pytest.mark.parametrize(
    "args",
    [
        ["scan", "{tree}", "--csv-bom"],
        ["scan", "{tree}", "--csv-bom", "--json", "{tmp}/x.json"],
        ["verify", "{manifest}", "--csv-bom"],
        ["verify", "{manifest}", "--csv-bom", "--json", "{tmp}/x.json"],
        ["export", "{manifest}", "-f", "sha256sum", "--csv-bom"],
    ],
)
def test_refused_where_no_csv_is_written(tree: Path, tmp_path: Path, args: list[str]) -> None:
    manifest = tmp_path / "m.json"
    write_manifest(tree, manifest)
    r = run(*[a.format(tree=tree, manifest=manifest, tmp=tmp_path) for a in args])
    assert r.exit_code == 2, r.output
    assert "--csv-bom applies to" in r.output
    assert not (tmp_path / "x.json").exists()


def test_verify_still_refuses_a_marked_report(tree: Path, tmp_path: Path) -> None:
    """A CSV report with the mark is still recognised as this tool's report, not read as
    a hash list (the mark is stripped before the first line is looked at)."""
    report = tmp_path / "scan.csv"
    assert run("scan", tree, "--workers", "0", "--csv", report, "--csv-bom").exit_code == 0
    r = run("verify", report)
    assert r.exit_code == 2
    assert "CSV report of `evidence scan`" in r.output
