"""CSV export: stable columns, formula neutralisation of evidence cells, numbers untouched."""

from __future__ import annotations

import base64
import csv
import io
import json

import pytest

from evidence_cli.hashing import ALGORITHMS
from evidence_cli.models import Device, FileRecord, GeoPoint, Problem, ScanInfo, Timestamp
from evidence_cli.summary import Summary
from evidence_cli.writers import OutputFormat, make_writer
from evidence_cli.writers.csv_out import COLUMN_NAMES, COLUMNS, CsvWriter, neutralise

INFO = ScanInfo(
    tool={"name": "evidence-cli", "version": "0"},
    case={"case": None, "examiner": None, "evidence_id": None},
    roots=("/x",),
    started_utc="2020-01-01T00:00:00Z",
    finished_utc=None,
    options={},
)


def write(records: list[FileRecord], *, neutralise_cells: bool = True) -> list[dict[str, str]]:
    buf = io.StringIO(newline="")
    w = make_writer(OutputFormat.CSV, buf, csv_neutralise=neutralise_cells)
    w.begin(INFO)
    for r in records:
        w.write(r)
    w.end(INFO, Summary())
    rows = list(csv.reader(io.StringIO(buf.getvalue(), newline="")))
    assert rows[0] == COLUMN_NAMES
    assert all(len(row) == len(COLUMN_NAMES) for row in rows)
    return [dict(zip(COLUMN_NAMES, row)) for row in rows[1:]]


def rec(path: str = "a.jpg", **kw: object) -> FileRecord:
    return FileRecord(path=path, path_bytes=None, kind="file", size=kw.pop("size", 10), **kw)  # type: ignore[arg-type]


def test_column_order_is_stable() -> None:
    assert COLUMN_NAMES[:7] == ["path", "path_bytes", "kind", "size", "mime", "description", "extension_ok"]
    assert COLUMN_NAMES[7 : 7 + len(ALGORITHMS)] == list(ALGORITHMS)
    assert COLUMN_NAMES[-5:] == ["findings", "errors", "timestamps", "pdq", "pdq_quality"]
    assert len(set(COLUMN_NAMES)) == len(COLUMN_NAMES)


def test_column_names_are_documented_in_the_readme(repo_root: object) -> None:
    from pathlib import Path

    readme = (Path(str(repo_root)) / "README.md").read_text(encoding="utf-8")
    assert ", ".join(COLUMN_NAMES) in " ".join(readme.split()), "README lists the CSV columns in order"


def test_one_row_a_record_with_values() -> None:
    r = rec(
        "DCIM/IMG_1.jpg",
        size=1234,
        mime="image/jpeg",
        extension_ok=False,
        hashes={"md5": "0" * 32, "sha256": "f" * 64},
        filesystem={"modified": "2020-01-01T00:00:00Z", "accessed": None, "changed": None, "born": None},
        captured=Timestamp("DateTimeOriginal", "exif", "2019-05-01T13:45:10", None, "2019:05:01 13:45:10"),
        gps=GeoPoint(-22.95, -43.21, -3.5, None, "exif"),
        device=Device(make="Canon", model="EOS", source="exif"),
        image={"format": "JPEG", "width": 640, "height": 480},
    )
    (row,) = write([r])
    assert row["path"] == "DCIM/IMG_1.jpg"
    assert row["size"] == "1234"
    assert row["extension_ok"] == "false"
    assert (row["md5"], row["sha1"], row["sha256"]) == ("0" * 32, "", "f" * 64)
    assert row["fs_modified"] == "2020-01-01T00:00:00Z" and row["fs_born"] == ""
    assert (row["captured"], row["captured_utc"], row["captured_offset_origin"]) == ("2019-05-01T13:45:10", "", "none")
    # Computed numbers are never altered, even negative ones.
    assert (row["gps_latitude"], row["gps_longitude"], row["gps_altitude"]) == ("-22.95", "-43.21", "-3.5")
    assert (row["make"], row["model"], row["width"], row["height"]) == ("Canon", "EOS", "640", "480")


FORMULAS = ["=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("http://evil","x")', "=cmd|' /C calc'!A0"]


@pytest.mark.parametrize("formula", FORMULAS)
def test_evidence_cells_that_look_like_formulas_are_neutralised(formula: str) -> None:
    r = rec(
        formula,
        mime=formula,
        description=formula,
        device=Device(make=formula, model=formula, serial=formula, software=formula, lens=formula, source="exif"),
        link_target=formula,
        image={"format": formula},
        errors=(Problem("metadata:x", "warning", "T", formula),),
    )
    (row,) = write([r])
    for col in ("path", "mime", "description", "make", "model", "serial", "software", "lens", "link_target"):
        assert row[col] == "'" + formula, col
    assert row["image_format"] == "'" + formula
    (raw,) = write([r], neutralise_cells=False)
    for col in ("path", "mime", "description", "make", "model", "serial", "software", "lens", "link_target"):
        assert raw[col] == formula, col


def test_every_cell_from_evidence_is_neutralised() -> None:
    """Whatever column a string from the file reaches, no cell starts like a formula.

    (Sources, stages and finding codes are the tool's own words, not evidence.)
    """
    hostile = "=EVIL()"
    r = FileRecord(
        path=hostile,
        path_bytes=base64.b64encode(b"\xfb\xff").decode(),  # "+/8=": base64 may start with "+"
        kind="symlink",
        size=1,
        mime=hostile,
        description=hostile,
        type_decided_by=hostile,
        link_target=hostile,
        timestamps=(Timestamp(hostile, "xmp", "2019", None, hostile),),
        device=Device(make=hostile, model=hostile, serial=hostile, software=hostile, lens=hostile, source="xmp"),
        # Image properties come from headers and XMP: a width can be text there.
        image={"format": hostile, "width": hostile, "height": hostile},
        errors=(Problem("walk", "error", "OSError", hostile),),
    )
    (row,) = write([r])
    for col, cell in row.items():
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (col, cell)


def test_cells_that_only_contain_formula_characters_later_are_kept() -> None:
    (row,) = write([rec("a=b+c-d@e.jpg", description="JPEG image data, -1")])
    assert row["path"] == "a=b+c-d@e.jpg"
    assert row["description"] == "JPEG image data, -1"


def test_neutralise() -> None:
    assert neutralise("=1") == "'=1"
    assert neutralise("'=1") == "'=1"
    assert neutralise("") == ""
    assert neutralise("plain") == "plain"


def test_newlines_and_quotes_survive_csv_quoting() -> None:
    name = 'two\nlines, "quoted"\r\nname'
    (row,) = write([rec(name)])
    assert row["path"] == name


def test_timestamps_column_is_json() -> None:
    ts = (Timestamp("DateTimeOriginal", "exif", "2019-05-01T13:45:10", None, "2019:05:01 13:45:10"),)
    (row,) = write([rec(timestamps=ts)])
    assert json.loads(row["timestamps"]) == [ts[0].to_dict()]
    (empty,) = write([rec()])
    assert empty["timestamps"] == ""


def test_rows_keep_the_record_order() -> None:
    paths = ["b", "a", "c/d", "c/a"]
    assert [r["path"] for r in write([rec(p) for p in paths])] == paths


def test_crlf_line_ends() -> None:
    buf = io.StringIO(newline="")
    w = CsvWriter(buf)
    w.begin(INFO)
    w.write(rec())
    w.end(INFO, Summary())
    assert buf.getvalue().count("\r\n") == 2


def test_every_column_has_a_getter() -> None:
    for name, get, from_evidence in COLUMNS:
        assert isinstance(name, str) and callable(get) and isinstance(from_evidence, bool)
