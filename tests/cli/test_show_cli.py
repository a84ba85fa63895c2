"""`evidence show FILE` through the CLI runner."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from evidence_cli.cli import cli

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


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


def test_show_refuses_a_folder_and_a_missing_file(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["show", str(tmp_path)])
    assert r.exit_code == 2 and "one file" in r.output
    r = CliRunner().invoke(cli, ["show", str(tmp_path / "nope")])
    assert r.exit_code == 2 and "does not exist" in r.output
    assert "Traceback" not in r.output
