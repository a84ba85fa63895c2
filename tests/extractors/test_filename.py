"""The file-name reader on real scans: a name's time on the record, in the timeline and
on archive members; the conflict with a capture time as a finding and a table flag."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from evidence_cli.cli import cli
from evidence_cli.extractors import for_type, registered
from evidence_cli.extractors.filename import FilenameExtractor
from evidence_cli.models import archive_members
from evidence_cli.writers.table import flags
from tests.builders import exif_tiff, file_context, jpeg_bytes, scan_one
from tests.extractors.test_archive import zip_of

READER = FilenameExtractor()


def test_it_runs_on_every_type_and_is_listed() -> None:
    assert "filename" in {e.name for e in registered()}
    for mime in ("image/jpeg", "text/plain", "application/octet-stream", None):
        assert "filename" in {e.name for e in for_type(mime)}


def test_a_name_without_a_date_gives_nothing() -> None:
    found = READER.extract(file_context(b"hello", "notes.txt"))
    assert found.tags == {} and found.timestamps == ()


def test_only_the_last_part_of_the_path_is_read() -> None:
    ctx = file_context(b"x", "IMG-20190501-WA0003.jpg")
    ctx = type(ctx)(**{**ctx.__dict__, "rel_path": "20190501_134510/IMG-20190501-WA0003.jpg"})
    assert READER.extract(ctx).tags["pattern"] == "whatsapp-android"
    folder_only = type(ctx)(**{**ctx.__dict__, "rel_path": "IMG-20190501-WA0003.jpg/notes.txt"})
    assert READER.extract(folder_only).tags == {}


def test_a_received_whatsapp_photo_keeps_its_date_in_the_record(tmp_path: Path) -> None:
    r = scan_one(tmp_path, "Media/IMG-20190501-WA0003.jpg", jpeg_bytes())
    assert r.metadata["filename"]["pattern"] == "whatsapp-android"
    assert r.metadata["filename"]["media"] == "image"
    named = [t for t in r.timestamps if t.source == "filename"]
    assert [(t.name, t.value, t.utc) for t in named] == [("NameSavedDate", "2019-05-01", None)]
    # Never a capture time: the name says when it was sent or received, not when it was made.
    assert r.captured is None
    assert not r.findings


def test_the_folder_whatsapp_keeps_it_in_says_sent_or_received(tmp_path: Path) -> None:
    sent = scan_one(tmp_path, "WhatsApp/Media/WhatsApp Images/Sent/IMG-20190501-WA0003.jpg", jpeg_bytes())
    assert sent.metadata["filename"]["folder_says"] == "sent"
    received = scan_one(tmp_path / "b", "WhatsApp/Media/WhatsApp Images/IMG-20190501-WA0004.jpg", jpeg_bytes())
    assert received.metadata["filename"]["folder_says"] == "received"
    moved = scan_one(tmp_path / "c", "evidence/IMG-20190501-WA0005.jpg", jpeg_bytes())
    assert "folder_says" not in moved.metadata["filename"]


def test_a_capture_after_the_day_it_was_sent_is_a_finding_and_flagged(tmp_path: Path) -> None:
    photo = jpeg_bytes(exif_tiff(make="Apple", date_original="2019:06:10 10:00:00"))
    r = scan_one(tmp_path, "IMG-20190501-WA0003.jpg", photo)
    assert r.captured is not None and r.captured.value == "2019-06-10T10:00:00"
    [finding] = [f for f in r.findings if f.code == "name-date-conflict"]
    assert finding.evidence["capture_is"] == "after"
    assert finding.evidence["name_time"] == "2019-05-01"
    assert "NAME!" in flags(r)


def test_a_camera_name_that_agrees_with_the_capture_time_is_no_finding(tmp_path: Path) -> None:
    photo = jpeg_bytes(exif_tiff(make="samsung", date_original="2019:05:01 13:45:10"))
    r = scan_one(tmp_path, "20190501_134510.jpg", photo)
    assert r.metadata["filename"]["pattern"] == "date-time"
    assert not [f for f in r.findings if f.code == "name-date-conflict"]
    assert "NAME!" not in flags(r)


def test_a_renamed_camera_photo_is_a_finding(tmp_path: Path) -> None:
    photo = jpeg_bytes(exif_tiff(make="samsung", date_original="2017:01:01 09:00:00"))
    r = scan_one(tmp_path, "IMG_20190501_134510.jpg", photo)
    [finding] = [f for f in r.findings if f.code == "name-date-conflict"]
    assert finding.evidence["capture_is"] == "before"


def zipped(names: dict[str, bytes]) -> bytes:
    return zip_of(list(names.items()))


def test_members_names_give_their_times_and_conflicts(tmp_path: Path) -> None:
    late = jpeg_bytes(exif_tiff(make="Apple", date_original="2019:06:10 10:00:00"))
    data = zipped(
        {
            "WhatsApp Chat with Sam/IMG-20190501-WA0001.jpg": late,
            "WhatsApp Chat with Sam/PTT-20190502-WA0002.opus": b"OggS" + bytes(60),
            "WhatsApp/Media/WhatsApp Images/Sent/IMG-20190503-WA0001.jpg": jpeg_bytes(),
            "notes.txt": b"nothing in this name",
        }
    )
    r = scan_one(tmp_path, "chat.zip", data)
    members = {m["name"]: m for m in archive_members(r.metadata)}
    photo = members["WhatsApp Chat with Sam/IMG-20190501-WA0001.jpg"]
    assert photo["name_time"] == {
        "name": "NameSavedDate",
        "value": "2019-05-01",
        "utc": None,
        "pattern": "whatsapp-android",
        "app": "WhatsApp (Android)",
    }
    assert "name-date-conflict" in photo["findings"]
    assert members["WhatsApp Chat with Sam/PTT-20190502-WA0002.opus"]["name_time"]["value"] == "2019-05-02"
    assert "name_time" not in members["notes.txt"]
    assert members["WhatsApp/Media/WhatsApp Images/Sent/IMG-20190503-WA0001.jpg"]["name_time"]["folder_says"] == "sent"
    assert "folder_says" not in photo["name_time"]
    [finding] = [f for f in r.findings if f.code == "name-date-conflict"]
    assert finding.evidence["member"] == "WhatsApp Chat with Sam/IMG-20190501-WA0001.jpg"
    assert finding.message.startswith("member WhatsApp Chat with Sam/IMG-20190501-WA0001.jpg: ")
    # The member's name is not the archive's: the archive's own name gives nothing here.
    assert "filename" not in r.metadata


def test_the_timeline_lists_names_times_of_files_and_members(tmp_path: Path) -> None:
    case = tmp_path / "case"
    case.mkdir()
    (case / "Screenshot_20230501-134510_WhatsApp.jpg").write_bytes(jpeg_bytes())
    (case / "chat.zip").write_bytes(zipped({"IMG-20190501-WA0001.jpg": jpeg_bytes()}))
    out = tmp_path / "scan.json"
    runner = CliRunner()
    assert runner.invoke(cli, ["scan", str(case), "--json", str(out), "--workers", "0"]).exit_code == 0
    csv_out = tmp_path / "timeline.csv"
    res = runner.invoke(cli, ["timeline", str(out), "-o", str(csv_out)])
    assert res.exit_code == 0, res.output
    text = csv_out.read_text(encoding="utf-8-sig")
    rows = [line for line in text.splitlines() if "Name" in line]
    assert any("NameCreateDate" in row and "2023-05-01T13:45:10" in row and ",filename," in row for row in rows)
    assert any(
        "NameSavedDate" in row
        and "2019-05-01" in row
        and "archive/filename" in row
        and "IMG-20190501-WA0001.jpg" in row
        for row in rows
    )
    record = next(f for f in json.loads(out.read_text())["files"] if f["path"].startswith("Screenshot"))
    assert record["metadata"]["filename"]["shown_app"] == "WhatsApp"
