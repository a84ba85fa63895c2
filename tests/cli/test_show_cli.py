"""`evidence show FILE` through the CLI runner."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from evidence_cli import engine
from evidence_cli.cli import cli
from tests.hostile import crashers

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"


def _sample_jpeg_with_gps() -> Path:
    for p in sorted(SAMPLES.rglob("*.jpg")):
        rec = json.loads(CliRunner().invoke(cli, ["show", str(p), "--json"]).stdout)
        if rec["gps"] and rec["device"]["make"]:
            return p
    raise AssertionError("samples/ should hold a JPEG with GPS and a make")


def test_show_prints_every_section_for_a_photo() -> None:
    path = _sample_jpeg_with_gps()
    result = CliRunner().invoke(cli, ["show", str(path), "--width", "160"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.stdout
    for section in ("File", "Timestamps", "GPS", "Device", "Metadata: exif", "exif:DateTimeOriginal", "hash sha256"):
        assert section in out, section


def test_show_json_is_the_scan_record() -> None:
    path = _sample_jpeg_with_gps()
    result = CliRunner().invoke(cli, ["show", str(path), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rec = json.loads(result.stdout)
    assert rec["path"] == path.name
    assert rec["kind"] == "file" and rec["hashes"]["sha256"]
    assert rec["metadata"]["exif"]


def test_show_escapes_hostile_strings(tmp_path: Path) -> None:
    name = "evil\x1b[31m[bold]x[red].txt"
    (tmp_path / name).write_text("hello\n")
    result = CliRunner().invoke(cli, ["show", str(tmp_path / name), "--width", "200"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout
    assert "\\x1b[31m[bold]x[red].txt" in result.stdout


def test_show_lists_an_archives_members_escaped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import zipfile

    from evidence_cli.cli import show as show_mod

    monkeypatch.setattr(show_mod, "MAX_MEMBERS_SHOWN", 3)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("\x1b[2J[bold]evil\u202e.txt", b"hi")
        for i in range(4):
            z.writestr(f"n{i}.txt", b"x" * i)
    (tmp_path / "e.zip").write_bytes(out.getvalue())
    result = CliRunner().invoke(cli, ["show", str(tmp_path / "e.zip"), "--width", "200"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "Archive members (5)" in text and "Metadata: archive" in text
    assert "\x1b" not in text and "\u202e" not in text
    assert "\\x1b[2J[bold]evil\\u202e.txt" in text
    assert hashlib.sha256(b"hi").hexdigest() in text
    assert "n1.txt" in text and "n2.txt" not in text  # three shown ...
    assert "… 2 more members; --json lists them all" in text  # ... and the rest counted


def test_show_gives_a_zipped_photos_capture_time_and_device(tmp_path: Path) -> None:
    import io
    import zipfile

    from tests.builders import exif_tiff, jpeg_bytes

    photo = jpeg_bytes(exif_tiff(make="Canon", model="EOS R5", date_original="2023:06:01 14:15:16"))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("IMG_0001.JPG", photo)
    (tmp_path / "e.zip").write_bytes(out.getvalue())
    result = CliRunner().invoke(cli, ["show", str(tmp_path / "e.zip"), "--width", "220"], catch_exceptions=False)
    row = next(line for line in result.stdout.splitlines() if line.startswith("IMG_0001.JPG"))
    assert "2023-06-01T14:15:16" in row and "Canon EOS R5" in row


def test_show_refuses_a_folder_and_a_missing_file(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["show", str(tmp_path)])
    assert r.exit_code == 2 and "one file" in r.output
    r = CliRunner().invoke(cli, ["show", str(tmp_path / "nope")])
    assert r.exit_code == 2 and "does not exist" in r.output
    assert "Traceback" not in r.output


def test_show_survives_a_file_that_crashes_its_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`show` read the file in its own process: a file that crashed a parser (a C library,
    here a test extractor reading address 0) ended the command with a segmentation
    fault and printed nothing. It now reads it in a worker, as a scan does: the record
    has the crash as an error, and the file's hashes."""
    monkeypatch.chdir(tmp_path)  # (workers drop the working folder from their import path)
    monkeypatch.syspath_prepend(str(REPO))
    monkeypatch.setattr(engine, "process_batch", crashers.batch_with_test_extractors)
    target = tmp_path / "crash-segv.txt"
    target.write_bytes(b"a file its reader dies on\n")
    result = CliRunner().invoke(cli, ["show", str(target), "--json"], catch_exceptions=False)
    assert result.exit_code == 1, result.output  # the record has an error
    rec = json.loads(result.stdout)
    assert [(e["stage"], e["type"]) for e in rec["errors"]] == [("worker", "WorkerCrashed")]
    assert rec["hashes"]["sha256"] == hashlib.sha256(target.read_bytes()).hexdigest()
    assert rec["mime"] == "text/plain"
    control = tmp_path / "control.txt"
    control.write_bytes(b"read by the test extractors in a worker\n")
    rec = json.loads(CliRunner().invoke(cli, ["show", str(control), "--json"], catch_exceptions=False).stdout)
    assert rec["errors"] == [] and rec["metadata"]["test-crasher"] == {"ran": True}


def test_show_reads_in_this_process_where_workers_cannot_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from evidence_cli.cli import show

    monkeypatch.setattr(show, "pool_unavailable", lambda: "no /dev/shm")
    target = tmp_path / "a.txt"
    target.write_bytes(b"plain\n")
    result = CliRunner().invoke(cli, ["show", str(target), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    warning = " ".join(result.stderr.split())
    assert "worker processes cannot start here (no /dev/shm); reading the file in this process" in warning
    assert json.loads(result.stdout)["hashes"]["sha256"] == hashlib.sha256(b"plain\n").hexdigest()


def test_show_notes_a_members_name_time_and_findings(tmp_path: Path) -> None:
    import io
    import zipfile

    from tests.builders import exif_tiff, jpeg_bytes

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(
            "WhatsApp Images/Sent/IMG-20190501-WA0001.jpg", jpeg_bytes(exif_tiff(date_original="2019:06:10 10:00:00"))
        )
    (tmp_path / "w.zip").write_bytes(out.getvalue())
    result = CliRunner().invoke(cli, ["show", str(tmp_path / "w.zip"), "--width", "400"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "name says 2019-05-01 (WhatsApp (Android), sent); name-date-conflict" in text
