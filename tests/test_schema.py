"""The published JSON Schema: valid, in step with the model, strict where it must be."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any, get_args

import pytest
from jsonschema import Draft202012Validator

from evidence_cli import models
from evidence_cli.hashing import ALGORITHMS
from evidence_cli.models import SCHEMA_VERSION, FileRecord, ScanInfo
from evidence_cli.scanner import scan
from evidence_cli.schema import SCHEMA_FILE, definition_schema, load_schema
from evidence_cli.summary import Summary
from evidence_cli.writers.json_out import JsonLinesWriter, JsonWriter

SCHEMA = load_schema()
DEFS = SCHEMA["$defs"]


def validator(name: str | None = None) -> Draft202012Validator:
    return Draft202012Validator(load_schema() if name is None else definition_schema(name))


def errors_of(instance: Any, name: str | None = None) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in validator(name).iter_errors(instance)]


def info() -> ScanInfo:
    return ScanInfo(
        tool={"name": "evidence-cli", "version": "0.1.0"},
        case={"case": "2026-041", "examiner": "J. Doe", "evidence_id": "EV-7"},
        roots=("/evidence",),
        started_utc="2026-01-02T03:04:05.123456Z",
        finished_utc=None,
        options={"algorithms": ["md5", "sha1", "sha256"], "metadata": True},
        host="lab-1",
    )


def full_record() -> dict[str, Any]:
    """A record with every optional part filled, as the scanner would give it."""
    return {
        "path": "DCIM/IMG_0001.jpg",
        "path_bytes": None,
        "kind": "file",
        "size": 3,
        "mime": "image/jpeg",
        "description": "JPEG image data",
        "extension_ok": True,
        "type_decided_by": "libmagic",
        "link_target": None,
        "hashes": {a: ALGORITHMS[a](b"abc").hexdigest() for a in ALGORITHMS},
        "filesystem": {
            "modified": "2019-05-01T11:45:10.123456789Z",
            "accessed": "2019-05-01T11:45:10Z",
            "changed": "2019-05-01T11:45:10.5Z",
            "born": None,
        },
        "timestamps": [
            {
                "name": "DateTimeOriginal",
                "source": "exif",
                "value": "2019-05-01T13:45:10.12+02:00",
                "utc": "2019-05-01T11:45:10.12Z",
                "raw": "2019:05:01 13:45:10 SubSecTimeOriginal=12 OffsetTimeOriginal=+02:00",
                "offset_origin": "stored",
            },
            {
                "name": "DateCreated",
                "source": "xmp",
                "value": "2019-05",
                "utc": None,
                "raw": "2019-05",
                "offset_origin": "none",
            },
            {
                "name": "CreateDate",
                "source": "xmp",
                "value": "2019-05-01T13:45+02:00",
                "utc": "2019-05-01T11:45Z",
                "raw": "2019-05-01T13:45+02:00",
                "offset_origin": "stored",
            },
        ],
        "captured": {
            "name": "DateTimeOriginal",
            "source": "exif",
            "value": "2019-05-01T13:45:10.12+02:00",
            "utc": "2019-05-01T11:45:10.12Z",
            "raw": "2019:05:01 13:45:10",
            "offset_origin": "stored",
        },
        "gps": {
            "latitude": -22.9519,
            "longitude": -43.2105,
            "altitude": -3.5,
            "timestamp_utc": "2019-05-01T11:45:00Z",
            "source": "exif",
            "raw": {"GPSLatitudeRef": "S", "GPSLatitude": [[22, 1], [57, 1], [683, 100]]},
        },
        "device": {
            "make": "NIKON",
            "model": "COOLPIX P6000",
            "serial": None,
            "software": "=cmd|' /C calc'!A0",
            "lens": None,
            "source": "exif",
        },
        "image": {"format": "JPEG", "width": 640, "height": 480},
        "metadata": {
            "exif": {"Image Make": "NIKON", "GPS GPSLatitude": [[22, 1], [57, 1], [683, 100]], "x": None},
            "xmp": {"dc:title": ["a", {"lang": "x-default"}], "n": 1.5, "ok": True},
        },
        "findings": [
            {
                "code": "extension-mismatch",
                "severity": "notice",
                "message": "the name's extension does not fit the detected type image/jpeg",
                "evidence": {"extension": "png", "mime": "image/jpeg"},
            }
        ],
        "errors": [
            {"stage": "metadata:exif", "severity": "warning", "type": "Damaged", "message": "bad IFD"},
            {"stage": "hash", "severity": "error", "type": "ChangedDuringScan", "message": "changed"},
        ],
    }


def export(records: list[dict[str, Any]]) -> dict[str, Any]:
    head = info().to_dict()
    head["scan"]["finished_utc"] = "2026-01-02T03:04:06Z"
    return {**head, "files": records, "summary": Summary().to_dict()}


# --- the schema itself -----------------------------------------------------------------


def test_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_file_is_package_data(repo_root: Path) -> None:
    on_disk = json.loads((repo_root / "evidence_cli" / "schema" / SCHEMA_FILE).read_text(encoding="utf-8"))
    assert on_disk == SCHEMA


def test_load_schema_returns_a_fresh_copy() -> None:
    s = load_schema()
    s["$defs"].clear()
    assert load_schema()["$defs"], "a caller's change must not leak into the next load"


def test_definition_schema_names_a_definition() -> None:
    with pytest.raises(KeyError, match="no_such"):
        definition_schema("no_such")
    for name in ("export", "file_record", "jsonl_header", "jsonl_closing", "timestamp", "gps"):
        Draft202012Validator.check_schema(definition_schema(name))


def test_schema_version_matches_the_model() -> None:
    assert DEFS["schema_version"]["const"] == SCHEMA_VERSION


# --- in step with the model -----------------------------------------------------------


def test_record_keys_are_exactly_the_model_keys() -> None:
    keys = set(FileRecord(path="a", path_bytes=None, kind="file", size=0).to_dict())
    assert set(DEFS["file_record"]["required"]) == keys
    assert set(DEFS["file_record"]["properties"]) == keys


@pytest.mark.parametrize(
    ("definition", "obj"),
    [
        ("timestamp", models.Timestamp("n", "s", "2019", None, "2019")),
        ("device", models.Device()),
        ("finding", models.Finding("c", "info", "m")),
        ("problem", models.Problem("walk", "error", "T", "m")),
        ("gps", models.GeoPoint(1.0, 2.0, None, None, "exif")),
    ],
)
def test_part_keys_are_exactly_the_model_keys(definition: str, obj: Any) -> None:
    keys = set(obj.to_dict())
    assert set(DEFS[definition]["required"]) == keys
    assert set(DEFS[definition]["properties"]) == keys


def test_header_keys_match_scan_info() -> None:
    d = info().to_dict()
    assert set(DEFS["jsonl_header"]["required"]) == set(d)
    assert set(DEFS["scan"]["required"]) == set(d["scan"])
    # Every count is described; the ones added later are optional, so that older exports stay valid.
    later = {"entries_with_archive_members"}
    assert set(DEFS["summary"]["required"]) == set(Summary().to_dict()) - later
    assert set(DEFS["summary"]["properties"]) == set(Summary().to_dict())
    assert errors_of(d, "jsonl_header") == []


def test_enums_match_the_model_literals() -> None:
    assert set(DEFS["file_record"]["properties"]["kind"]["enum"]) == set(get_args(models.Kind))
    assert set(DEFS["problem"]["properties"]["severity"]["enum"]) == set(get_args(models.Severity))
    assert set(DEFS["finding"]["properties"]["severity"]["enum"]) == set(get_args(models.FindingSeverity))
    assert set(DEFS["timestamp"]["properties"]["offset_origin"]["enum"]) == set(get_args(models.OffsetOrigin))


def test_every_hash_algorithm_has_an_exact_pattern() -> None:
    props = DEFS["hashes"]["properties"]
    assert set(props) == set(ALGORITHMS), "hashing.ALGORITHMS and the schema must list the same digests"
    for name, make in ALGORITHMS.items():
        n = make().digest_size * 2
        assert props[name]["pattern"] == f"^[0-9a-f]{{{n}}}$"
        assert re.fullmatch(props[name]["pattern"].strip("^$"), hashlib.new(name, b"").hexdigest())


# --- what it accepts and refuses ------------------------------------------------------


def test_a_full_record_and_its_export_validate() -> None:
    rec = full_record()
    assert errors_of(rec, "file_record") == []
    assert errors_of(export([rec])) == []
    # And the model reads it back unchanged.
    assert FileRecord.from_dict(rec).to_dict() == rec


def test_minimal_records_of_every_kind_validate() -> None:
    recs = [
        FileRecord(path="a", path_bytes=None, kind="file", size=0, hashes={"md5": hashlib.md5().hexdigest()}),
        FileRecord(path="b", path_bytes=None, kind="symlink", size=1, link_target="../x"),
        FileRecord(path="c", path_bytes=None, kind="symlink", size=None, link_target=None),
        FileRecord(path="d", path_bytes=None, kind="directory", size=None),
        FileRecord(path="e\\xff", path_bytes="Zf8=", kind="other", size=0, description="FIFO"),
    ]
    for r in recs:
        assert errors_of(r.to_dict(), "file_record") == [], r


def test_unknown_top_level_keys_are_allowed() -> None:
    doc = export([full_record()])
    doc["seal"] = {"algorithm": "sha256", "value": "0" * 64}
    doc["x-later-addition"] = [1, 2]
    assert errors_of(doc) == []


def mutate(path: list[Any], value: Any = None, *, delete: bool = False) -> dict[str, Any]:
    rec = copy.deepcopy(full_record())
    target: Any = rec
    for p in path[:-1]:
        target = target[p]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return rec


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (["kind"], "dir"),
        (["kind"], "FILE"),
        (["size"], -1),
        (["size"], 1.5),
        (["size"], "3"),
        (["path"], ""),
        (["path_bytes"], "not base64!"),
        (["extension_ok"], "yes"),
        (["hashes", "md5"], "900150983CD24FB0D6963F7D28E17F72"),
        (["hashes", "md5"], "900150983cd24fb0d6963f7d28e17f7"),
        (["hashes", "sha1"], ALGORITHMS["sha256"](b"").hexdigest()),
        (["hashes", "sha256"], " " + ALGORITHMS["sha256"](b"").hexdigest()),
        (["hashes", "sha3"], "00"),
        (["filesystem", "modified"], "2019-05-01T11:45:10+00:00"),
        (["filesystem", "modified"], "2019-05-01T11:45:10"),
        (["filesystem", "modified"], "2019-05-01 11:45:10Z"),
        (["filesystem", "modified"], "2019-13-01T11:45:10Z"),
        (["filesystem", "modified"], "2019-05-01T11:45:10.1234567890Z"),
        (["filesystem", "modified"], 1556711110),
        (["filesystem", "extra"], None),
        (["timestamps", 0, "offset_origin"], "guessed"),
        (["timestamps", 0, "offset_origin"], "none"),
        (["timestamps", 1, "utc"], "2019-05-01T00:00:00Z"),
        (["timestamps", 0, "value"], "2019:05:01 13:45:10"),
        (["timestamps", 0, "utc"], "2019-05-01T11:45:10+00:00"),
        (["timestamps", 0, "name"], ""),
        (["captured"], "2019-05-01T11:45:10Z"),
        (["gps", "latitude"], 90.5),
        (["gps", "latitude"], "48.8"),
        (["gps", "longitude"], -180.5),
        (["gps", "altitude"], "35 m"),
        (["gps", "raw"], [1, 2]),
        (["device", "make"], 1),
        (["device", "camera"], "x"),
        (["image"], [640, 480]),
        (["metadata", "exif"], "flat"),
        (["metadata"], []),
        (["findings", 0, "severity"], "error"),
        (["findings", 0, "code"], "Extension Mismatch"),
        (["findings", 0, "evidence"], None),
        (["errors", 0, "severity"], "notice"),
        (["errors", 0, "stage"], "Metadata:EXIF"),
        (["errors", 0, "stage"], ""),
        (["errors", 0, "type"], ""),
        (["unexpected"], 1),
    ],
)
def test_invalid_records_are_refused(path: list[Any], value: Any) -> None:
    assert errors_of(mutate(path, value), "file_record"), f"{path} = {value!r} should be refused"


@pytest.mark.parametrize(
    "path",
    [["path"], ["kind"], ["hashes"], ["errors"], ["device"], ["timestamps", 0, "raw"], ["device", "lens"]],
)
def test_required_keys_are_required(path: list[Any]) -> None:
    assert errors_of(mutate(path, delete=True), "file_record")


def test_filesystem_is_all_four_times_or_empty() -> None:
    assert errors_of(mutate(["filesystem"], {}), "file_record") == []
    assert errors_of(mutate(["filesystem", "born"], delete=True), "file_record")


def test_kind_rules() -> None:
    # Only regular files carry digests, only symlinks a target.
    assert errors_of(mutate(["kind"], "other"), "file_record")
    assert errors_of({**mutate(["kind"], "other"), "hashes": {}}, "file_record") == []
    assert errors_of({**mutate(["link_target"], "x"), "kind": "file"}, "file_record")


@pytest.mark.parametrize(
    "doc_change",
    [
        {"schema": "evidence-cli/scan/2"},
        {"tool": {"name": "other-tool", "version": "1"}},
        {"case": {"case": None, "examiner": None}},
        {"files": {}},
        {"summary": {"entries": 1}},
    ],
)
def test_invalid_exports_are_refused(doc_change: dict[str, Any]) -> None:
    assert errors_of({**export([]), **doc_change})


def test_tool_components_are_checked_when_given() -> None:
    """Headers written before components were recorded have none; a header that has them
    names each one (null when unknown), the database hash as lowercase SHA-256 hex."""
    from evidence_cli import components

    assert errors_of(export([])) == []
    good = {"name": "evidence-cli", "version": "0.1.0", "components": components.current()}
    assert errors_of({**export([]), "tool": good}) == []
    unknown = {**good, "components": dict.fromkeys(components.NAMES)}
    assert errors_of({**export([]), "tool": unknown}) == []
    for bad in (
        {**good["components"], "magic_database_sha256": "ABC"},
        {**good["components"], "libmagic": 5.44},
        {k: v for k, v in good["components"].items() if k != "pillow"},
        [],
    ):
        assert errors_of({**export([]), "tool": {**good, "components": bad}}), bad


def test_export_scan_part_is_checked() -> None:
    doc = export([])
    doc["scan"]["started_utc"] = "yesterday"
    assert errors_of(doc)
    doc = export([])
    doc["scan"]["roots"] = []
    assert errors_of(doc)


def test_jsonl_lines_are_told_apart() -> None:
    header = info().to_dict()
    closing = {"scan": header["scan"], "summary": Summary().to_dict()}
    rec = full_record()
    assert errors_of(header, "jsonl_header") == []
    assert errors_of(closing, "jsonl_closing") == []
    assert errors_of(rec, "jsonl_header")
    assert errors_of(rec, "jsonl_closing")
    assert errors_of(header, "jsonl_closing")
    assert errors_of(closing, "jsonl_header")
    assert errors_of(header, "file_record")


# --- real exports -----------------------------------------------------------------------


def make_tree(root: Path) -> None:
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("hello\n")
    (root / "sub" / "b.bin").write_bytes(bytes(range(256)))
    (root / "empty").write_bytes(b"")
    (root / "sub" / "link").symlink_to("../a.txt")
    (root / "dangling").symlink_to("nowhere")


def test_real_json_and_jsonl_exports_validate(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    make_tree(tree)
    records = list(scan([str(tree)]))
    summary = Summary()
    buf, lines = io.StringIO(), io.StringIO()
    writers = [JsonWriter(buf), JsonLinesWriter(lines)]
    for w in writers:
        w.begin(info())
    for r in records:
        summary.add(r)
        for w in writers:
            w.write(r)
    done = dataclasses.replace(info(), finished_utc="2026-01-02T03:04:06Z")
    for w in writers:
        w.end(done, summary)
    doc = json.loads(buf.getvalue())
    assert errors_of(doc) == []
    assert len(doc["files"]) == len(records) == 5
    rows = [json.loads(x) for x in lines.getvalue().splitlines()]
    assert errors_of(rows[0], "jsonl_header") == []
    assert errors_of(rows[-1], "jsonl_closing") == []
    for row in rows[1:-1]:
        assert errors_of(row, "file_record") == []
