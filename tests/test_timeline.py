"""`evidence timeline`: the events of a record, their order (in memory and spilled to
disk), the CSV and the body file, and the command as a user runs it."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence_cli.cli import cli
from evidence_cli.timeline import (
    CSV_COLUMNS,
    LOCAL_CLOCK,
    UTC_CLOCK,
    TimelineRefused,
    TimelineResult,
    body_name,
    bodyfile_lines,
    epoch,
    events_of,
    ordered,
    sort_key,
    write_csv,
)
from tests.builders import exif_tiff, jpeg_bytes

FS = {
    "modified": "2026-01-02T03:04:05.123456789Z",
    "accessed": "2026-01-02T03:04:06Z",
    "changed": "2026-01-02T03:04:05.123456789Z",
    "born": None,
}


def stamp(name: str, value: str, utc: str | None, origin: str = "stored", source: str = "exif") -> dict[str, Any]:
    return {"name": name, "source": source, "value": value, "utc": utc, "raw": f"raw {value}", "offset_origin": origin}


def record(path: str, *stamps: dict[str, Any], fs: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "path": path,
        "kind": "file",
        "size": 10,
        "mime": "image/jpeg",
        "hashes": {"md5": "m" * 32, "sha256": "s" * 64},
        "filesystem": FS if fs is None else fs,
        "timestamps": list(stamps),
        "metadata": {"filesystem": {"inode": 7, "mode_text": "-rw-r--r--", "uid": 1000, "gid": 100}},
    }


# --- keys and events --------------------------------------------------------------------


def test_sort_key_orders_instants_whatever_their_precision() -> None:
    assert sort_key("2019") == "2019-01-01T00:00:00.000000000"
    assert sort_key("2019-05") == "2019-05-01T00:00:00.000000000"
    assert sort_key("2019-05-01") == "2019-05-01T00:00:00.000000000"
    assert sort_key("2019-05-01T13:45") == "2019-05-01T13:45:00.000000000"
    assert sort_key("2020-12-31T13:00:05.25Z") == sort_key("2020-12-31T13:00:05.250Z")
    assert sort_key("2020-12-31T13:00:05.123456789Z") == "2020-12-31T13:00:05.123456789"
    assert sort_key("2019-05-01T13:45:10+02:00") == "2019-05-01T13:45:10.000000000"  # the clock reading
    for junk in ("", "yesterday", "2019-5-1", "2019-05-01 13:45", "20190501"):
        assert sort_key(junk) is None, junk


def test_events_of_a_record_file_system_first_then_each_timestamp() -> None:
    rec = record(
        "IMG_1.jpg",
        stamp("DateTimeOriginal", "2019-05-01T13:45:10+02:00", "2019-05-01T11:45:10Z"),
        stamp("ModifyDate", "2019-05-02T09:00:00", None, "none"),
    )
    got = events_of(4, rec)
    assert [(e.event, e.source, e.clock, e.time_utc) for e in got] == [
        ("fs_modified", "filesystem", UTC_CLOCK, FS["modified"]),
        ("fs_accessed", "filesystem", UTC_CLOCK, FS["accessed"]),
        ("fs_changed", "filesystem", UTC_CLOCK, FS["changed"]),
        ("DateTimeOriginal", "exif", UTC_CLOCK, "2019-05-01T11:45:10Z"),
        ("ModifyDate", "exif", LOCAL_CLOCK, ""),
    ]
    assert {(e.record, e.path, e.sha256, e.mime) for e in got} == {(4, "IMG_1.jpg", "s" * 64, "image/jpeg")}
    assert [e.index for e in got] == [0, 1, 2, 3, 4]
    assert got[3].shown_time() == "2019-05-01T11:45:10Z" and got[4].shown_time() == "2019-05-02T09:00:00"


def test_a_record_this_version_cannot_read_is_refused() -> None:
    for bad in (["a list"], {"no": "path"}, {"path": "a", "timestamps": "x"}, {"path": "a", "timestamps": [{}]}):
        with pytest.raises(TimelineRefused, match="record 3 is not a record"):
            events_of(2, bad)


def test_order_utc_by_instant_local_by_clock_ties_by_manifest_order() -> None:
    recs = [
        record(
            "a.jpg",
            stamp("DateTimeOriginal", "2021-01-01T00:00:05+11:00", "2020-12-31T13:00:05Z"),
            stamp("GPSDateTime", "2020-12-31T13:00:05.00+00:00", "2020-12-31T13:00:05.00Z", "utc-by-spec"),
            fs={},
        ),
        record("b.mp3", stamp("RecordingTime", "2020-12-31T20:00", None, "none", "id3"), fs={}),
        record("c.pdf", stamp("CreationDate", "2020-12-31", None, "none", "pdf"), fs={}),
        record(
            "d.jpg",
            stamp("DateTimeOriginal", "2020-12-31T13:00:05", "2020-12-31T13:00:05Z", "gps-inferred"),
            fs={},
        ),
    ]
    events = [e for i, r in enumerate(recs) for e in events_of(i, r)]
    got = [(e.path, e.event) for e in ordered(events)]
    assert got == [
        ("c.pdf", "CreationDate"),  # a date: its first instant
        ("a.jpg", "DateTimeOriginal"),  # 13:00:05 UTC, three ways, in manifest order
        ("a.jpg", "GPSDateTime"),
        ("d.jpg", "DateTimeOriginal"),
        ("b.mp3", "RecordingTime"),  # 20:00 on a clock of unknown offset
    ]


def test_an_event_whose_time_cannot_be_ordered_is_listed_last_and_counted() -> None:
    events = events_of(0, record("x.jpg", stamp("Odd", "not a time", None, "none"), stamp("D", "1999", None), fs={}))
    out = io.StringIO()
    result = TimelineResult()
    write_csv(ordered(events), out, result, neutral=True, bom=False)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert [r[5] for r in rows[1:]] == ["D", "Odd"] and result.unordered == 1 and result.events == 2


event_times = st.one_of(
    st.datetimes().map(lambda d: d.isoformat(timespec="microseconds") + "Z"),
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(["", "junk", "2019", "2019-05"]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(event_times, st.booleans()), max_size=60), st.integers(1, 7))
def test_spilled_runs_merge_into_the_in_memory_order(times: list[tuple[str, bool]], run: int) -> None:
    recs = [record(f"f{i}", stamp("T", t, t if utc and t else None), fs={}) for i, (t, utc) in enumerate(times)]
    events = [e for i, r in enumerate(recs) for e in events_of(i, r)]
    assert list(ordered(iter(events), run=run)) == sorted(events) == list(ordered(events))


def test_spilled_events_keep_every_character() -> None:
    odd = "bad-\udcff-\u2603-\x00-\u202e.txt"  # an undecodable byte, a snowman, NUL, a bidi override
    events = [e for i in range(5) for e in events_of(i, record(odd, stamp("T", f"200{i}", None), fs={}))]
    back = list(ordered(events, run=2))
    assert [e.path for e in back] == [odd] * 5 and back == sorted(events)


# --- CSV and body file -------------------------------------------------------------------


def test_csv_columns_and_formula_cells_neutralised() -> None:
    events = events_of(0, record("=HYPERLINK(1).jpg", stamp("@cmd", "2019", None, "none"), fs={}))
    for neutral, path in ((True, "'=HYPERLINK(1).jpg"), (False, "=HYPERLINK(1).jpg")):
        out = io.StringIO()
        write_csv(ordered(events), out, TimelineResult(), neutral=neutral, bom=False)
        rows = list(csv.reader(io.StringIO(out.getvalue())))
        assert tuple(rows[0]) == CSV_COLUMNS
        assert rows[1][CSV_COLUMNS.index("path")] == path
        assert rows[1][CSV_COLUMNS.index("event")] == ("'@cmd" if neutral else "@cmd")
        assert rows[1][:3] == ["2019", LOCAL_CLOCK, ""]


def test_every_cell_from_the_manifest_is_neutralised() -> None:
    """A hand-made manifest can put a formula anywhere, the time columns included."""
    rec = record("p", stamp("=A1", "=1+1", None, "+x", "@src"), fs={})
    rec["hashes"]["sha256"] = "-cmd"
    out = io.StringIO()
    write_csv(ordered(events_of(0, rec)), out, TimelineResult(), neutral=True, bom=False)
    row = dict(zip(CSV_COLUMNS, list(csv.reader(io.StringIO(out.getvalue())))[1]))
    assert row["time"] == row["value"] == "'=1+1" and row["event"] == "'=A1" and row["source"] == "'@src"
    assert row["offset_origin"] == "'+x" and row["sha256"] == "'-cmd" and row["clock"] == LOCAL_CLOCK


def test_body_name_escapes_what_the_format_cannot_carry() -> None:
    assert body_name("plain name.jpg") == ("plain name.jpg", False)
    assert body_name("a|b%c\nd\re\\f") == ("a%7Cb%25c\\nd\\re\\\\f", True)


def test_epoch_whole_seconds_floor() -> None:
    assert epoch("1970-01-01T00:00:01.999Z") == 1
    assert epoch("2019-05-01T11:45:10Z") == 1556711110
    assert epoch("1969-12-31T23:59:59Z") == -1
    assert epoch("yesterday") is None


def test_bodyfile_lines_of_a_record() -> None:
    rec = record(
        "dir/a|b.jpg",
        stamp("DateTimeOriginal", "2019-05-01T13:45:10+02:00", "2019-05-01T11:45:10Z"),
        stamp("ModifyDate", "2019-05-02T09:00:00", None, "none"),
    )
    result = TimelineResult()
    lines = list(bodyfile_lines(0, rec, result))
    assert [line.rstrip("\n").split("|") for line in lines] == [
        ["m" * 32, "dir/a%7Cb.jpg", "7", "-rw-r--r--", "1000", "100", "10"]
        + [str(epoch(FS["accessed"])), str(epoch(FS["modified"])), str(epoch(FS["changed"])), "0"],
        ["m" * 32, "dir/a%7Cb.jpg (exif DateTimeOriginal)", "7", "-rw-r--r--", "1000", "100", "10"]
        + ["1556711110"] * 4,
    ]
    assert (result.events, result.left_out, result.escaped_names) == (4, 1, 2)


def test_bodyfile_leaves_out_what_mactime_cannot_show_and_counts_it() -> None:
    fs = {"modified": "1969-07-20T20:17:40Z", "accessed": "1970-01-01T00:00:00Z", "changed": "1970-01-01T00:00:01Z"}
    rec = record(
        "old.mov",
        stamp("CreateDate", "1904-01-01T00:00:00+00:00", "1904-01-01T00:00:00Z", "utc-by-spec", "quicktime"),
        stamp("Odd", "x", "not a time"),
        stamp("DateTimeOriginal", "2001-01-01T00:00:00Z", "2001-01-01T00:00:00Z"),
        fs=fs,
    )
    result = TimelineResult()
    lines = [line.rstrip("\n").split("|") for line in bodyfile_lines(0, rec, result)]
    assert [x[7:] for x in lines] == [["0", "0", "1", "0"], ["978307200"] * 4]
    assert (result.events, result.too_early, result.unordered, result.left_out) == (2, 3, 1, 0)


def archive_record() -> dict[str, Any]:
    rec = record("export.zip", stamp("MemberFirstModified", "2019-05-01T13:50:00", None, "none", "archive"))
    rec["mime"] = "application/zip"
    rec["metadata"]["archive"] = {
        "members": [
            {"name": "media/", "modified": "2019-05-01T13:00:00", "directory": True},
            {
                "name": "media/=IMG|1.jpg",
                "modified": "2019-05-01T13:50:00",
                "modified_utc": "2019-05-01T11:50:00Z",
                "sha256": "a" * 64,
                "mime": "image/jpeg",
                "captured": {
                    "name": "DateTimeOriginal",
                    "source": "exif",
                    "value": "2019-05-01T13:45:10+02:00",
                    "utc": "2019-05-01T11:45:10Z",
                    "offset_origin": "stored",
                },
            },
            {"name": "notes.txt", "modified": "2019-05-02T09:00:00", "sha256": "b" * 64},
            "not a member",
        ]
    }
    return rec


def test_the_members_of_an_archive_are_events_of_their_own() -> None:
    events = events_of(0, archive_record())
    members = [(e.event, e.source, e.member, e.time_utc, e.clock, e.sha256, e.mime) for e in events if e.member]
    assert members == [
        ("MemberModified", "archive", "media/=IMG|1.jpg", "2019-05-01T11:50:00Z", UTC_CLOCK, "a" * 64, "image/jpeg"),
        (
            "DateTimeOriginal",
            "archive/exif",
            "media/=IMG|1.jpg",
            "2019-05-01T11:45:10Z",
            UTC_CLOCK,
            "a" * 64,
            "image/jpeg",
        ),
        ("MemberModified", "archive", "notes.txt", "", LOCAL_CLOCK, "b" * 64, ""),
    ]
    # The archive's own events keep its digest and type.
    own = [e for e in events if not e.member]
    assert {e.sha256 for e in own} == {"s" * 64} and {e.mime for e in own} == {"application/zip"}
    out = io.StringIO()
    write_csv(ordered(events), out, TimelineResult(), neutral=True, bom=False)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert "'=IMG|1.jpg" not in [r["member"] for r in rows]  # only a cell that starts like a formula
    assert [r["member"] for r in rows if r["event"] == "DateTimeOriginal"] == ["media/=IMG|1.jpg"]
    lines = [line.split("|")[1] for line in bodyfile_lines(0, archive_record(), TimelineResult())]
    assert "export.zip [member media/=IMG%7C1.jpg] (archive/exif DateTimeOriginal)" in lines
    assert "export.zip [member media/=IMG%7C1.jpg] (archive MemberModified)" in lines


# --- the command ---------------------------------------------------------------------------


def invoke(args: list[str], expect: int) -> Result:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == expect, result.output
    return result


@pytest.fixture
def case(tmp_path: Path) -> dict[str, Path]:
    tree = tmp_path / "evidence"
    (tree / "DCIM").mkdir(parents=True)
    paris = exif_tiff(date_original="2019:05:01 13:45:10", offset_original="+02:00", modify_date="2019:05:02 09:12:00")
    (tree / "DCIM" / "IMG_0001.jpg").write_bytes(jpeg_bytes(paris))
    (tree / "DCIM" / "IMG_0002.jpg").write_bytes(jpeg_bytes(exif_tiff(date_original="2018:01:01 08:00:00")))
    (tree / "=cmd|x.txt").write_bytes(b"notes\n")
    (tree / "new\nline.txt").write_bytes(b"a name with a line break\n")
    os.utime(tree / "=cmd|x.txt", ns=(1_600_000_000_000_000_000, 1_500_000_000_000_000_000))
    manifest = tmp_path / "case.json"
    invoke(["scan", str(tree), "--json", str(manifest), "--workers", "0", "-f", "json"], 0)
    return {"tree": tree, "manifest": manifest, "tmp": tmp_path}


def test_timeline_csv_as_a_user_runs_it(case: dict[str, Path]) -> None:
    out = case["tmp"] / "timeline.csv"
    result = invoke(["timeline", str(case["manifest"]), "-o", str(out)], 0)
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert "Wrote " in result.stderr and f"events of 4 records (csv) to {out}" in result.stderr
    firsts = [(r["path"], r["event"], r["clock"]) for r in rows[:4]]
    assert firsts == [
        ("'=cmd|x.txt", "fs_modified", UTC_CLOCK),  # 2017-07-14, set above
        ("DCIM/IMG_0002.jpg", "DateTimeOriginal", LOCAL_CLOCK),
        ("DCIM/IMG_0001.jpg", "DateTimeOriginal", UTC_CLOCK),
        ("DCIM/IMG_0001.jpg", "ModifyDate", LOCAL_CLOCK),
    ]
    assert rows[0]["time"] == "2017-07-14T02:40:00Z" and rows[2]["time"] == "2019-05-01T11:45:10Z"
    assert [r["time"] for r in rows[4:]] == sorted(r["time"] for r in rows[4:])  # file-system times, UTC
    scanned = json.loads(case["manifest"].read_text(encoding="utf-8"))
    sha = {r["path"]: r["hashes"]["sha256"] for r in scanned["files"]}
    assert all(r["sha256"] == sha[r["path"].lstrip("'")] for r in rows)
    again = case["tmp"] / "again.csv"
    invoke(["timeline", str(case["manifest"]), "-o", str(again)], 0)
    assert again.read_bytes() == out.read_bytes()


def test_timeline_bodyfile_as_a_user_runs_it(case: dict[str, Path]) -> None:
    out = case["tmp"] / "case.body"
    result = invoke(["timeline", str(case["manifest"]), "-f", "bodyfile", "-o", str(out)], 0)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert all(len(line.split("|")) == 11 for line in lines)
    names = [line.split("|")[1] for line in lines]
    assert "=cmd%7Cx.txt" in names and "DCIM/IMG_0001.jpg (exif DateTimeOriginal)" in names
    assert "new\\nline.txt" in names
    assert "DCIM/IMG_0002.jpg (exif DateTimeOriginal)" not in names  # no offset: cannot be placed
    assert "2 metadata times without a UTC offset" in result.stderr
    assert "2 lines name a file whose name holds | % \\ or a line break" in result.stderr
    if shutil.which("mactime"):
        shown = subprocess.run(["mactime", "-b", str(out), "-d", "-z", "UTC"], capture_output=True, check=True)
        assert b"Wed May 01 2019 11:45:10" in shown.stdout
        # mactime drops an entry whose name holds a line break: it must see every file.
        assert b'"new\\nline.txt"' in shown.stdout and b'"=cmd|x.txt"' in shown.stdout


def test_a_tampered_manifest_gives_no_timeline(case: dict[str, Path]) -> None:
    text = case["manifest"].read_text(encoding="utf-8").replace("2019:05:01 13:45:10", "2019:05:01 13:45:11")
    case["manifest"].write_text(text, encoding="utf-8")
    out = case["tmp"] / "t.csv"
    result = invoke(["timeline", str(case["manifest"]), "-o", str(out)], 2)
    assert "tampered" in result.stderr and not out.exists()


def test_a_hash_list_has_no_times(case: dict[str, Path]) -> None:
    sums = case["tmp"] / "list.sha256"
    invoke(["export", str(case["manifest"]), "-f", "sha256sum", "-o", str(sums)], 0)
    result = invoke(["timeline", str(sums)], 2)
    assert "is a sha256sum list: it holds digests, no times" in result.stderr


def test_timeline_refuses_to_write_into_the_evidence_or_over_a_file(case: dict[str, Path]) -> None:
    result = invoke(["timeline", str(case["manifest"]), "-o", str(case["tree"] / "t.csv")], 2)
    assert not (case["tree"] / "t.csv").exists() and "inside" in result.stderr
    taken = case["tmp"] / "taken.csv"
    taken.write_text("earlier work\n")
    invoke(["timeline", str(case["manifest"]), "-o", str(taken)], 2)
    assert taken.read_text() == "earlier work\n"
    result = invoke(["timeline", str(case["manifest"]), "-f", "bodyfile", "--csv-bom"], 2)
    assert "apply to -f csv only" in result.output


def test_an_unreadable_record_removes_the_partial_timeline(case: dict[str, Path]) -> None:
    doc = json.loads(case["manifest"].read_text(encoding="utf-8"))
    doc["files"][1]["timestamps"] = "not a list"
    del doc["seal"]
    case["manifest"].write_text(json.dumps(doc), encoding="utf-8")
    out = case["tmp"] / "t.body"
    result = invoke(["timeline", str(case["manifest"]), "-f", "bodyfile", "-o", str(out), "--allow-unsealed"], 2)
    assert "record 2 is not a record this version reads" in result.stderr
    assert "the incomplete file was removed" in result.stderr and not out.exists()
