"""The fast CSV and JSON writers write byte for byte what the straightforward ones wrote.

The oracles below are the former implementations: the CSV row built from the getters of
``COLUMNS`` and written by ``csv.writer``; JSON from ``json.dumps`` with its arguments,
one ``to_dict()`` per writer. Records come from hypothesis, with hostile text (formula
starts, quotes, commas, CR/LF, NUL, U+2028/U+2029/NEL, lone surrogates) and
non-finite floats.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from evidence_cli.hashing import ALGORITHMS
from evidence_cli.jsonenc import compact_encode
from evidence_cli.manifest import canonical, check_seal
from evidence_cli.models import Device, FileRecord, Finding, GeoPoint, Problem, ScanInfo, Timestamp
from evidence_cli.summary import Summary
from evidence_cli.writers import csv_out, json_out
from evidence_cli.writers.csv_out import COLUMN_NAMES, COLUMNS, CsvWriter, cell, csv_line, neutralise
from evidence_cli.writers.json_out import JsonLinesWriter, JsonWriter, dumps, record_json

INFO = ScanInfo(
    tool={"name": "evidence-cli", "version": "0"},
    case={"case": "C", "examiner": None, "evidence_id": None},
    roots=("/x",),
    started_utc="2020-01-01T00:00:00Z",
    finished_utc=None,
    options={},
)

# --- strategies ---------------------------------------------------------------------------

HOSTILE = ["=", "+", "-", "@", "\t", "\r", "\n", ",", '"', "'", "\x00", "\u2028", "\u2029", "\x85", "\ud800", "é", " "]
text = st.one_of(
    st.text(max_size=12),
    st.lists(st.sampled_from(HOSTILE) | st.text(max_size=3), max_size=6).map("".join),
)
opt_text = st.none() | text
number = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
)
scalar = st.one_of(st.none(), st.booleans(), number, text)
json_value = st.recursive(
    scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
timestamp = st.builds(
    Timestamp,
    name=text,
    source=text,
    value=text,
    utc=opt_text,
    raw=text,
    offset_origin=st.sampled_from(["stored", "gps-inferred", "utc-by-spec", "none"]),
)
records = st.builds(
    FileRecord,
    path=text,
    path_bytes=opt_text,
    kind=st.sampled_from(["file", "symlink", "directory", "other"]),
    size=st.none() | st.integers(min_value=-1, max_value=10**15),
    mime=opt_text,
    description=opt_text,
    extension_ok=st.none() | st.booleans(),
    type_decided_by=opt_text,
    link_target=opt_text,
    hashes=st.dictionaries(st.sampled_from(list(ALGORITHMS)), st.text("0123456789abcdef", max_size=8)),
    filesystem=st.dictionaries(st.sampled_from(["modified", "accessed", "changed", "born"]), opt_text),
    timestamps=st.lists(timestamp, max_size=2).map(tuple),
    captured=st.none() | timestamp,
    gps=st.none()
    | st.builds(
        GeoPoint,
        latitude=number,
        longitude=number,
        altitude=st.none() | number,
        timestamp_utc=opt_text,
        source=text,
        raw=st.dictionaries(text, json_value, max_size=2),
    ),
    device=st.builds(
        Device, make=opt_text, model=opt_text, serial=opt_text, software=opt_text, lens=opt_text, source=opt_text
    ),
    image=st.none() | st.dictionaries(st.sampled_from(["format", "width", "height", "mode"]), scalar, max_size=4),
    metadata=st.dictionaries(text, st.dictionaries(text, json_value, max_size=3), max_size=2),
    findings=st.lists(st.builds(Finding, code=text, severity=st.just("info"), message=text), max_size=2).map(tuple),
    errors=st.lists(st.builds(Problem, stage=text, severity=st.just("error"), type=text, message=text), max_size=2).map(
        tuple
    ),
)

# --- oracles: the implementations before the speed-up ---------------------------------------

#: Up to Python 3.10 the csv module refuses a cell holding NUL ("need to escape, but no
#: escapechar set"); from 3.11 it writes it as it is, as ``csv_line`` does on every version.
CSV_MODULE_WRITES_NUL = sys.version_info >= (3, 11)


def csv_module_can_write(text: str) -> bool:
    return CSV_MODULE_WRITES_NUL or "\x00" not in text


def oracle_csv(recs: list[FileRecord], *, neutralise_cells: bool) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(COLUMN_NAMES)
    for r in recs:
        row = []
        for name, get, from_evidence in COLUMNS:
            if name == "timestamps":
                value: Any = json.dumps([t.to_dict() for t in r.timestamps], ensure_ascii=False) if r.timestamps else ""
            else:
                value = get(r)
            t = cell(value)
            if from_evidence and neutralise_cells:
                t = neutralise(t)
            row.append(t)
        w.writerow(row)
    return buf.getvalue()


def _finite(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return "NaN" if math.isnan(obj) else ("Infinity" if obj > 0 else "-Infinity")
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def oracle_dumps(obj: Any, *, indent: int | None = None) -> str:
    try:
        t = json.dumps(obj, ensure_ascii=False, indent=indent, allow_nan=False)
    except ValueError:
        t = json.dumps(_finite(obj), ensure_ascii=False, indent=indent, allow_nan=False)
    if "\u2028" in t or "\u2029" in t or "\x85" in t:
        t = t.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").replace("\x85", "\\u0085")
    return t


# --- CSV ------------------------------------------------------------------------------------


def write_csv(recs: list[FileRecord], *, neutralise_cells: bool) -> str:
    buf = io.StringIO()
    w = CsvWriter(buf, neutralise=neutralise_cells)
    w.begin(INFO)
    for r in recs:
        w.write(r)
    w.end(INFO, Summary())
    return buf.getvalue()


@settings(max_examples=100, deadline=None)
@given(st.lists(records, max_size=4), st.booleans())
def test_csv_is_byte_identical_to_the_column_getters_and_csv_writer(recs: list[FileRecord], neut: bool) -> None:
    ours = write_csv(recs, neutralise_cells=neut)
    assume(csv_module_can_write(ours))
    assert ours == oracle_csv(recs, neutralise_cells=neut)


@given(records)
def test_the_row_values_are_what_the_column_getters_give(r: FileRecord) -> None:
    assert csv_out._values(r) == [get(r) for _, get, _ in COLUMNS]


def test_csv_row_of_an_empty_record_matches_the_getters() -> None:
    r = FileRecord(path="=x", path_bytes=None, kind="other", size=None)
    assert write_csv([r], neutralise_cells=True) == oracle_csv([r], neutralise_cells=True)
    assert write_csv([r], neutralise_cells=True).splitlines()[1].startswith("'=x,,other,,")


def test_negative_image_numbers_are_neutralised_like_any_evidence_text() -> None:
    # width/height are whatever a header stored: a "-5" cell gets the quote like text.
    r = FileRecord(path="a", path_bytes=None, kind="file", size=1, image={"width": -5, "height": 2.5})
    row = next(csv.DictReader(io.StringIO(write_csv([r], neutralise_cells=True), newline="")))
    assert (row["width"], row["height"]) == ("'-5", "2.5")


@settings(max_examples=500)
@given(
    st.lists(st.sampled_from(HOSTILE) | st.text(max_size=4), max_size=6)
    .map("".join)
    .flatmap(lambda first: st.lists(text, min_size=0, max_size=5).map(lambda rest: [first, *rest]))
)
def test_csv_line_is_what_csv_writer_writes(cells: list[str]) -> None:
    assume(csv_module_can_write("".join(cells)))
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerow(cells)
    assert csv_line(cells) == buf.getvalue()


def test_csv_line_quotes_exactly_the_cells_that_need_it() -> None:
    assert csv_line(["a", "b,c", 'say "hi"', "x\ny", "r\r", ""]) == 'a,"b,c","say ""hi""","x\ny","r\r",\r\n'
    assert csv_line(["", ""]) == ",\r\n"
    assert csv_line(["a", "text, UTF-8", ",", ""]) == 'a,"text, UTF-8",",",\r\n'  # commas alone
    assert csv_line([""]) == '""\r\n'  # a row of one empty cell: the csv module's own rule


def _csv_module_of_python_3_10(*args: Any, **kwargs: Any) -> Any:
    raise csv.Error("need to escape, but no escapechar set")


def test_csv_line_writes_nul_on_every_python_without_the_csv_module(monkeypatch: pytest.MonkeyPatch) -> None:
    # Python 3.10's csv module refused NUL, and the scan stopped at the first file whose
    # metadata held one (found running the suite on 3.10). The rows are ours on every version.
    monkeypatch.setattr(csv, "writer", _csv_module_of_python_3_10)
    assert csv_line(["a\x00b", "c,d\x00", ""]) == 'a\x00b,"c,d\x00",\r\n'
    assert csv_line(["\x00"]) == "\x00\r\n"
    assert csv_line([]) == "\r\n"
    r = FileRecord(path="p\x00", path_bytes=None, kind="file", size=1, description="=\x00", image={"format": "\x00,"})
    lines = write_csv([r], neutralise_cells=True).split("\r\n")
    assert lines[1].startswith("p\x00,,file,1,,'=\x00,")
    assert ',"\x00,",' in lines[1]


# --- JSON -----------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(st.one_of(json_value, records.map(lambda r: r.to_dict())), st.sampled_from([None, 2]))
def test_dumps_is_byte_identical_to_json_dumps(obj: Any, indent: int | None) -> None:
    assert dumps(obj, indent=indent) == oracle_dumps(obj, indent=indent)


@settings(max_examples=150, deadline=None)
@given(st.one_of(json_value, records.map(lambda r: json.loads(dumps(r.to_dict())))))
def test_the_canonical_form_is_json_dumps_with_the_c14n_settings(obj: Any) -> None:
    # The seal hashes it: one byte apart and every manifest would fail to verify.
    try:
        expected: bytes | type[ValueError] = json.dumps(
            obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
        ).encode("ascii")
    except ValueError:
        expected = ValueError
    if expected is ValueError:
        with pytest.raises(ValueError):
            canonical(obj)
    else:
        assert canonical(obj) == expected


def test_dumps_without_the_c_encoder_writes_the_same_text(monkeypatch: pytest.MonkeyPatch) -> None:
    # The compact encoder is the C one, made once; a Python without it (or with another
    # signature) uses the JSON encoder's own encode, which must write the same text.
    gps = GeoPoint(math.inf, 1.5, None, None, "x")
    r = FileRecord(path="é\u2028\x00", path_bytes=None, kind="file", size=1, gps=gps)
    objects = [r.to_dict(), 's"\\', 1.0e-7, [math.nan, {"k": None, "n": 2**70}], {}]
    made = [dumps(obj) for obj in objects]
    assert made == [oracle_dumps(obj) for obj in objects]
    for options in ({}, {"ensure_ascii": False}, {"sort_keys": True, "separators": (",", ":")}):
        encode = compact_encode(json.JSONEncoder(**options))  # type: ignore[arg-type]
        assert [encode(obj) for obj in objects] == [json.dumps(obj, **options) for obj in objects]  # type: ignore[arg-type]
    indented = json.JSONEncoder(indent=1)
    assert compact_encode(indented) == indented.encode
    real = getattr(json.encoder, "c_make_encoder")  # noqa: B009 - (typeshed does not declare it)

    def other_signature(markers: Any, *args: Any) -> Any:
        if markers is None:  # (JSONEncoder itself passes a dict)
            raise TypeError("markers must be a dict")
        return real(markers, *args)

    for c_module in (None, other_signature):
        monkeypatch.setattr(json.encoder, "c_make_encoder", c_module)
        encode = compact_encode(json_out._ENCODER)
        assert encode == json_out._ENCODER.encode
        monkeypatch.setattr(json_out, "_encode", encode)
        assert [dumps(obj) for obj in objects] == made


@settings(max_examples=60, deadline=None)
@given(st.lists(records, max_size=4))
def test_json_exports_are_byte_identical_and_sealed(recs: list[FileRecord]) -> None:
    jl, js, jl2 = io.StringIO(), io.StringIO(), io.StringIO()
    writers = [JsonLinesWriter(jl), JsonWriter(js), JsonLinesWriter(jl2)]
    summary = Summary()
    for w in writers:
        w.begin(INFO)
    for r in recs:  # as a scan drives them: each record to every writer in turn
        summary.add(r)
        for w in writers:
            w.write(r)
    for w in writers:
        w.end(INFO, summary)
    lines = jl.getvalue().split("\n")
    assert lines[1:-2] == [oracle_dumps(r.to_dict()) for r in recs]
    assert jl2.getvalue() == jl.getvalue()
    doc_text = js.getvalue()
    for r in recs:
        assert f"\n    {oracle_dumps(r.to_dict())}" in doc_text
    assert check_seal(json.loads(doc_text)).status == "valid"
    for sep in ("\u2028", "\u2029", "\x85"):
        assert sep not in jl.getvalue() and sep not in doc_text


def test_record_json_never_gives_one_record_the_text_of_another() -> None:
    a = FileRecord(path="a", path_bytes=None, kind="file", size=1)
    a_twin = FileRecord(path="a", path_bytes=None, kind="file", size=1)
    b = FileRecord(path="b\u2028", path_bytes=None, kind="file", size=2, gps=GeoPoint(math.nan, 1.0, None, None, "x"))
    for r in (a, b, a, a_twin, b, b, a):
        assert record_json(r) == oracle_dumps(r.to_dict())
    assert json.loads(record_json(b))["gps"]["latitude"] == "NaN"


def test_the_record_cache_is_dropped_at_the_end_of_an_export() -> None:
    r = FileRecord(path="a", path_bytes=None, kind="file", size=1)
    w = JsonLinesWriter(io.StringIO())
    w.begin(INFO)
    w.write(r)
    assert json_out._last[0] is r
    w.end(INFO, Summary())
    assert json_out._last[0] is None
