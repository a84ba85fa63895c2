"""Records converted to the exports' text by the worker that made them (writers.prerender).

The main process then only writes that text. These tests hold the two ways to the same
bytes: what a worker converts is what the writers convert, for any record, hostile text
and non-finite numbers included; and a writer writes a converted record's text as it is.
"""

from __future__ import annotations

import dataclasses
import io
import math

import pytest
from hypothesis import given, settings

from evidence_cli.models import FileRecord
from evidence_cli.summary import Summary
from evidence_cli.writers import PRERENDER, OutputFormat, make_writer, prerender, prerender_kinds
from tests.hostile.corpus import TEXT_PAYLOADS
from tests.test_models import file_records
from tests.writers.test_csv import INFO


def exports(records: list[FileRecord]) -> dict[str, str]:
    """Every export of these records, as the writers write them."""
    out = {}
    for name, fmt, extra in (
        ("json", OutputFormat.JSON, {}),
        ("jsonl", OutputFormat.JSONL, {}),
        ("csv", OutputFormat.CSV, {}),
        ("csv-raw", OutputFormat.CSV, {"csv_neutralise": False}),
    ):
        buf = io.StringIO(newline="")
        w = make_writer(fmt, buf, **extra)
        w.begin(INFO)
        for r in records:
            w.write(r)
        w.end(INFO, Summary())
        out[name] = buf.getvalue()
    return out


def converted(records: list[FileRecord], kinds: tuple[str, ...] = PRERENDER) -> list[FileRecord]:
    """Copies converted as a worker converts them (the originals stay unconverted)."""
    return [prerender(dataclasses.replace(r), kinds) for r in records]


@settings(max_examples=80, deadline=None)
@given(file_records(), file_records())
def test_a_workers_conversion_writes_the_same_bytes_as_the_writers_own(a: FileRecord, b: FileRecord) -> None:
    assert exports(converted([a, b])) == exports([a, b])


def test_hostile_text_and_numbers_json_cannot_hold_convert_the_same_either_way() -> None:
    records = [
        FileRecord(
            path=payload,
            path_bytes=None,
            kind="file",
            size=1,
            description=payload,
            metadata={"exif": {"Text": payload, "Ratio": math.nan, "Big": math.inf, "Small": -math.inf}},
        )
        for payload in TEXT_PAYLOADS.values()
    ]
    plain = exports(records)
    assert plain == exports(converted(records))
    assert '"Ratio": "NaN"' in plain["json"] and "\u2028" not in plain["jsonl"]
    # Only the neutralised CSV quotes a formula (the export a spreadsheet opens).
    assert plain["csv"] != plain["csv-raw"]


def test_a_writer_writes_a_converted_record_as_it_was_converted() -> None:
    """The main process does not convert a converted record again (the text below is not
    what this record converts to: it is written all the same)."""
    record = FileRecord(path="a.txt", path_bytes=None, kind="file", size=1)
    object.__setattr__(
        record, "rendered", {"json": '{"from": "the worker"}', "csv": "worker,row\r\n", "csv-raw": "raw,row\r\n"}
    )
    out = exports([record])
    assert '{"from": "the worker"}\n' in out["jsonl"]
    assert '\n    {"from": "the worker"}' in out["json"]
    assert out["csv"].endswith("\r\nworker,row\r\n") and out["csv-raw"].endswith("\r\nraw,row\r\n")


def test_the_seal_hashes_what_the_worker_found_for_the_text_it_converted() -> None:
    """The seal of the JSON export hashes each record's canonical form: a converted record
    brings it (so the main process does not parse its text again), but only beside the text
    it was found for."""
    record = FileRecord(path="a.txt", path_bytes=None, kind="file", size=1)
    plain = exports([record])["json"]
    (ours,) = converted([record], ("json", "seal"))
    assert exports([ours])["json"] == plain
    forged = dict(ours.rendered or {}, seal='{"another":"record"}')
    object.__setattr__(ours, "rendered", forged)
    assert exports([ours])["json"] != plain  # (it is used, not computed again)
    del forged["json"]  # a form without its text: the writer converts and seals itself
    assert exports([ours])["json"] == plain


def test_a_conversion_the_writer_does_not_write_is_not_used() -> None:
    record = FileRecord(path="=cmd", path_bytes=None, kind="file", size=1)
    raw_only = converted([record], ("csv-raw",))
    assert exports(raw_only) == exports([record])  # the neutralised CSV converts it itself
    assert exports(raw_only)["csv"] != exports(raw_only)["csv-raw"]


def test_which_conversions_the_exports_need() -> None:
    assert prerender_kinds([OutputFormat.TABLE], csv_raw=False) == ()
    assert prerender_kinds([OutputFormat.JSON, OutputFormat.JSONL, OutputFormat.TABLE], csv_raw=False) == (
        "json",
        "seal",
    )
    assert prerender_kinds([OutputFormat.JSONL], csv_raw=False) == ("json",)  # (no seal in JSON Lines)
    assert prerender_kinds([OutputFormat.CSV], csv_raw=False) == ("csv",)
    assert prerender_kinds([OutputFormat.JSONL, OutputFormat.CSV], csv_raw=True) == ("json", "csv-raw")
    record = FileRecord(path="a", path_bytes=None, kind="file", size=1)
    assert prerender(record, ()) is record and record.rendered is None
    with pytest.raises(ValueError, match="no conversion"):
        prerender(record, ("html",))
