"""The record model: to_dict/from_dict round-trip exactly, through JSON too, and fit the schema."""

from __future__ import annotations

import base64
import dataclasses
import json
import pickle
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from evidence_cli.hashing import ALGORITHMS
from evidence_cli.models import (
    SCHEMA_VERSION,
    Device,
    FileRecord,
    Finding,
    GeoPoint,
    Problem,
    ScanInfo,
    Timestamp,
    pickle_by_fields,
)
from evidence_cli.schema import definition_schema
from evidence_cli.writers import prerender

T = TypeVar("T")

VALIDATORS = {
    name: Draft202012Validator(definition_schema(name))
    for name in ("file_record", "timestamp", "gps", "device", "finding", "problem", "jsonl_header")
}

# --- strategies (every generated value is a valid record part) --------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(max_size=12), json_values, max_size=5)
names = st.text(min_size=1, max_size=20)
optional_text = st.none() | st.text(max_size=30)

datetimes = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59))
fractions = st.none() | st.from_regex(r"[0-9]{1,9}", fullmatch=True)


@st.composite
def utc_texts(draw: st.DrawFn) -> str:
    dt = draw(datetimes)
    frac = draw(fractions)
    return dt.isoformat(timespec="seconds") + (f".{frac}" if frac else "") + "Z"


@st.composite
def timestamps(draw: st.DrawFn) -> Timestamp:
    dt = draw(datetimes)
    frac = draw(fractions)
    local = dt.isoformat(timespec="seconds") + (f".{frac}" if frac else "")
    origin = draw(st.sampled_from(["stored", "gps-inferred", "utc-by-spec", "none"]))
    if origin == "none":
        return Timestamp(draw(names), draw(names), local, None, draw(st.text(max_size=40)))
    minutes = draw(st.integers(min_value=-14 * 60, max_value=14 * 60))
    sign = "-" if minutes < 0 else "+"
    value = f"{local}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return Timestamp(draw(names), draw(names), value, draw(utc_texts()), draw(st.text(max_size=40)), origin)


finite = {"allow_nan": False, "allow_infinity": False}
geopoints = st.builds(
    GeoPoint,
    latitude=st.floats(min_value=-90, max_value=90, **finite),
    longitude=st.floats(min_value=-180, max_value=180, **finite),
    altitude=st.none() | st.floats(min_value=-12_000, max_value=100_000, **finite),
    timestamp_utc=st.none() | utc_texts(),
    source=names,
    raw=json_objects,
)
devices = st.builds(
    Device,
    make=optional_text,
    model=optional_text,
    serial=optional_text,
    software=optional_text,
    lens=optional_text,
    source=optional_text,
)
extractor_names = st.from_regex(r"[a-z][a-z0-9_-]{0,15}", fullmatch=True)
problems = st.builds(
    Problem,
    stage=st.sampled_from(["walk", "stat", "hash", "type"]) | extractor_names.map(lambda n: f"metadata:{n}"),
    severity=st.sampled_from(["warning", "error"]),
    type=names,
    message=st.text(max_size=60),
)
findings = st.builds(
    Finding,
    code=st.from_regex(r"[a-z0-9]+(-[a-z0-9]+){0,3}", fullmatch=True),
    severity=st.sampled_from(["info", "notice", "warning"]),
    message=names,
    evidence=json_objects,
)


@st.composite
def hashes(draw: st.DrawFn) -> dict[str, str]:
    chosen = draw(st.lists(st.sampled_from(sorted(ALGORITHMS)), unique=True, max_size=len(ALGORITHMS)))
    return {
        a: draw(st.binary(min_size=ALGORITHMS[a]().digest_size, max_size=ALGORITHMS[a]().digest_size)).hex()
        for a in chosen
    }


@st.composite
def file_records(draw: st.DrawFn) -> FileRecord:
    kind = draw(st.sampled_from(["file", "symlink", "directory", "other"]))
    raw_name = draw(st.binary(min_size=1, max_size=40))
    try:
        path, path_bytes = raw_name.decode("utf-8"), None
    except UnicodeDecodeError:
        path, path_bytes = raw_name.decode("utf-8", "backslashreplace"), base64.b64encode(raw_name).decode()
    filesystem = draw(
        st.just({})
        | st.fixed_dictionaries({k: st.none() | utc_texts() for k in ("modified", "accessed", "changed", "born")})
    )
    ts = tuple(draw(st.lists(timestamps(), max_size=3)))
    return FileRecord(
        path=path,
        path_bytes=path_bytes,
        kind=kind,
        size=draw(st.none() | st.integers(min_value=0, max_value=2**63)),
        mime=draw(optional_text),
        description=draw(optional_text),
        extension_ok=draw(st.none() | st.booleans()),
        type_decided_by=draw(optional_text),
        link_target=draw(optional_text) if kind == "symlink" else None,
        hashes=draw(hashes()) if kind == "file" else {},
        filesystem=filesystem,
        timestamps=ts,
        captured=draw(st.none() | st.sampled_from(ts)) if ts else None,
        gps=draw(st.none() | geopoints),
        device=draw(devices),
        image=draw(st.none() | json_objects),
        metadata=draw(st.dictionaries(names, json_objects, max_size=3)),
        findings=tuple(draw(st.lists(findings, max_size=3))),
        errors=tuple(draw(st.lists(problems, max_size=3))),
    )


scan_infos = st.builds(
    ScanInfo,
    tool=st.fixed_dictionaries({"name": st.just("evidence-cli"), "version": names}),
    case=st.fixed_dictionaries({k: optional_text for k in ("case", "examiner", "evidence_id")}),
    roots=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=3).map(tuple),
    started_utc=utc_texts(),
    finished_utc=st.none() | utc_texts(),
    options=json_objects,
    host=optional_text,
    complete=st.booleans(),
)


def through_json(d: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(d, ensure_ascii=False, allow_nan=False))
    return out


def check_round_trip(obj: T, from_dict: Callable[[dict[str, Any]], T], schema: str | None) -> None:
    d = obj.to_dict()  # type: ignore[attr-defined]
    assert from_dict(d) == obj
    assert from_dict(through_json(d)) == obj
    assert from_dict(d).to_dict() == d  # type: ignore[attr-defined]
    if schema is not None:
        errors = [e.message for e in VALIDATORS[schema].iter_errors(through_json(d))]
        assert errors == []


# --- round trips --------------------------------------------------------------------------


@given(timestamps())
def test_timestamp_round_trip(t: Timestamp) -> None:
    check_round_trip(t, Timestamp.from_dict, "timestamp")


@given(geopoints)
def test_geopoint_round_trip(g: GeoPoint) -> None:
    check_round_trip(g, GeoPoint.from_dict, "gps")


@given(devices)
def test_device_round_trip(d: Device) -> None:
    check_round_trip(d, Device.from_dict, "device")


@given(problems)
def test_problem_round_trip(p: Problem) -> None:
    check_round_trip(p, Problem.from_dict, "problem")


@given(findings)
def test_finding_round_trip(f: Finding) -> None:
    check_round_trip(f, Finding.from_dict, "finding")


@settings(max_examples=100, deadline=None)
@given(file_records())
def test_file_record_round_trip(r: FileRecord) -> None:
    check_round_trip(r, FileRecord.from_dict, "file_record")


@settings(deadline=None)
@given(scan_infos)
def test_scan_info_round_trip(i: ScanInfo) -> None:
    check_round_trip(i, ScanInfo.from_dict, "jsonl_header")
    assert i.to_dict()["schema"] == SCHEMA_VERSION


# --- defaults and details ---------------------------------------------------------------


def test_from_dict_fills_defaults() -> None:
    r = FileRecord.from_dict({"path": "a", "kind": "file"})
    assert r == FileRecord(path="a", path_bytes=None, kind="file", size=None)
    assert r.device == Device() and r.device.is_empty()
    assert r.timestamps == () and r.captured is None and r.gps is None and r.image is None
    t = Timestamp.from_dict({"name": "n", "source": "s", "value": "2019", "raw": "2019"})
    assert (t.utc, t.offset_origin) == (None, "none")
    f = Finding.from_dict({"code": "c", "severity": "info", "message": "m"})
    assert f.evidence == {}


def test_empty_image_is_kept_apart_from_no_image() -> None:
    r = FileRecord(path="a", path_bytes=None, kind="file", size=0, image={})
    assert r.to_dict()["image"] == {}
    assert FileRecord.from_dict(r.to_dict()).image == {}
    assert FileRecord.from_dict({"path": "a", "kind": "file", "image": None}).image is None


def test_record_key_order_is_stable() -> None:
    keys = list(FileRecord(path="a", path_bytes=None, kind="file", size=0).to_dict())
    assert keys[:4] == ["path", "path_bytes", "kind", "size"]
    assert keys[-2:] == ["findings", "errors"]


def test_to_dict_copies_mappings() -> None:
    tags = {"Make": "X"}
    r = FileRecord(path="a", path_bytes=None, kind="file", size=0, metadata={"exif": tags})
    d = r.to_dict()
    d["metadata"]["exif"]["Make"] = "changed"
    assert tags["Make"] == "X"


def test_has_errors_and_is_empty() -> None:
    r = FileRecord(path="a", path_bytes=None, kind="file", size=0)
    assert not r.has_errors
    assert dataclasses.replace(r, errors=(Problem("hash", "error", "OSError", "x"),)).has_errors
    assert not Device(lens="50mm").is_empty()
    assert Device(source="exif").is_empty(), "a source alone is no device"


def test_records_are_frozen() -> None:
    r = FileRecord(path="a", path_bytes=None, kind="file", size=0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.path = "b"  # type: ignore[misc]


def test_scan_info_from_dict_defaults() -> None:
    d = {
        "schema": SCHEMA_VERSION,
        "tool": {"name": "evidence-cli", "version": "1"},
        "case": {"case": None, "examiner": None, "evidence_id": None},
        "scan": {"roots": ["/x"], "started_utc": "2020-01-01T00:00:00Z"},
    }
    i = ScanInfo.from_dict(d)
    assert (i.finished_utc, i.host, i.complete, dict(i.options)) == (None, None, True, {})


def test_utc_strategy_agrees_with_the_stat_formatter() -> None:
    from evidence_cli.timeparse import from_stat_ns

    ns = int((datetime(2019, 5, 1, 11, 45, 10, tzinfo=timezone.utc) + timedelta(0)).timestamp()) * 10**9 + 5
    text = from_stat_ns(ns)
    assert text == "2019-05-01T11:45:10.000000005Z"
    assert VALIDATORS["file_record"].is_valid(
        FileRecord(
            path="a",
            path_bytes=None,
            kind="other",
            size=0,
            filesystem={"modified": text, "accessed": text, "changed": text, "born": None},
        ).to_dict()
    )


@settings(max_examples=60, deadline=None)
@given(file_records())
def test_records_pickle_by_field_values(r: FileRecord) -> None:
    # Records cross from the workers by pickle: the copy is equal, to the last nested part.
    back = pickle.loads(pickle.dumps(r, protocol=pickle.HIGHEST_PROTOCOL))
    assert back == r and back.to_dict() == r.to_dict()
    cls, values = r.__reduce__()
    assert cls is FileRecord and values == tuple(getattr(r, f.name) for f in dataclasses.fields(r) if f.init)


@settings(max_examples=60, deadline=None)
@given(file_records())
def test_a_records_export_text_travels_with_it_but_is_never_its_value(r: FileRecord) -> None:
    """A worker converts its records to the exports' text (writers.prerender): the text
    crosses to the main process with the record, and is no part of what the record says."""
    assert r.rendered is None
    done = prerender(dataclasses.replace(r), ("json", "csv"))
    back = pickle.loads(pickle.dumps(done, protocol=pickle.HIGHEST_PROTOCOL))
    assert back.rendered == done.rendered and set(back.rendered or ()) == {"json", "csv"}
    assert back == r and back.to_dict() == r.to_dict() and "rendered" not in back.to_dict()
    # (Its repr is the record's: a generated string may well say "rendered" itself.)
    assert repr(back) == repr(r)
    # A changed copy says something else: it is converted again where it is written.
    assert dataclasses.replace(back, errors=back.errors).rendered is None


def test_pickle_by_fields_refuses_fields_outside_init() -> None:
    @dataclasses.dataclass(frozen=True)
    class Odd:
        a: int
        b: int = dataclasses.field(default=0, init=False)

    with pytest.raises(TypeError, match="outside __init__"):
        pickle_by_fields(Odd)
    # (Only a record's export text is set after it is made: see the test above.)
    assert [f.name for f in dataclasses.fields(FileRecord) if not f.init] == ["rendered"]
    assert pickle.loads(pickle.dumps(_One((1, 2)))) == _One((1, 2))  # one field: still a tuple of values


@pickle_by_fields
@dataclasses.dataclass(frozen=True, slots=True)
class _One:
    a: tuple[int, ...]
