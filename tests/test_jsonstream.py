"""ObjectReader: the same values and the same errors as json.loads, whatever the pieces."""

from __future__ import annotations

import json
import tracemalloc
from typing import Any, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence_cli import jsonstream
from evidence_cli.jsonstream import JsonStreamError, ObjectReader


@pytest.fixture(autouse=True)
def small_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    # Parsed text is dropped, and more is read, every few characters instead of every
    # megabyte: every boundary case comes up in small documents.
    monkeypatch.setattr(jsonstream, "_KEEP", 16)


def pieces(text: str, size: int) -> Iterator[str]:
    for i in range(0, len(text), size):
        yield text[i : i + size]


def read_all(text: str, size: int, stream: str = "files") -> dict[str, Any]:
    """The object as ObjectReader reads it, the ``stream`` list item by item."""
    reader = ObjectReader(pieces(text, size))
    out: dict[str, Any] = {}
    while (key := reader.next_key()) is not None:
        if key == stream and reader.peek() == "[":
            out[key] = list(reader.items())
        else:
            out[key] = reader.value()
    reader.finish()
    return out


SIZES = [1, 2, 3, 5, 64, 100_000]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    head=st.dictionaries(st.text(max_size=6).filter(lambda k: k != "files"), json_values, max_size=4),
    files=st.one_of(st.lists(json_values, max_size=6), json_values),
    tail=st.dictionaries(st.text(max_size=6).filter(lambda k: k != "files"), json_values, max_size=3),
    size=st.sampled_from(SIZES),
    indent=st.sampled_from([None, 0, 2]),
    ascii_only=st.booleans(),
)
def test_values_are_those_json_loads_gives(
    head: dict[str, Any], files: Any, tail: dict[str, Any], size: int, indent: int | None, ascii_only: bool
) -> None:
    doc = {**head, "files": files, **{k: v for k, v in tail.items() if k not in head}}
    text = json.dumps(doc, indent=indent, ensure_ascii=ascii_only)
    assert read_all(text, size) == json.loads(text)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(
    "text",
    [
        # Values that end where a piece may end: a number or a literal must not be
        # taken for a shorter one.
        '{"a": 12345678901234567890, "files": [1e-7, -0.5E+10, true, false, null, 1], "z": 123}',
        '{"n":-0.0,"files":[12,[34],{"x":56}],"m":9876543210}',
        '{"s": "caf\\u00e9 \\ud83d\\ude00 \\n\\t\\"\\\\", "files": ["\\u0000", "\u00e9\U0001f600"]}',
        ' \n\t{ "files" : [ ] , "a" : { } , "b" : [ ] } \n ',
        "{}",
        '{"files": [' + ",".join(f'{{"path": "f{i}", "size": {i}}}' for i in range(200)) + "]}",
    ],
)
def test_values_cut_anywhere(text: str, size: int) -> None:
    assert read_all(text, size) == json.loads(text)


INVALID = [
    '{"a": 1,}',
    '{"a" 1}',
    '{"a": 1 "b": 2}',
    "{a: 1}",
    '{"files": [1, 2,]}',
    '{"files": [1 2]}',
    '{"files": [1, 2}',
    '{"files": [{"x": tru}]}',
    '{"files": ["unterminated]}',
    '{"files": ["bad \\x escape"]}',
    '{"files": ["\\ud83"]}',
    '{"x": [\n\n  {"y":\n 1,,}]}',
    '{"a": 1}\n{"b": 2}\n',
    '{"a": 1} x',
    '{"a": "\x01"}',
    "{",
    '{"files": [',
    '{"files": [1,',
    '{"a": 1',
    "",
    '{"files": [' + "1," * 100 + "]}",
]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("text", INVALID)
def test_errors_are_those_json_loads_gives(text: str, size: int) -> None:
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(JsonStreamError) as got:
        read_all(text, size)
    assert (got.value.msg, got.value.lineno, got.value.colno) == (
        expected.value.msg,
        expected.value.lineno,
        expected.value.colno,
    )


TRAILING_COMMAS = [
    # text, as json before Python 3.13 words it, as 3.13 and later do (at the comma)
    (
        '{"a": 1,}',
        ("Expecting property name enclosed in double quotes", 1, 9),
        ("Illegal trailing comma before end of object", 1, 8),
    ),
    ('{"files": [1, 2,\n  ]}', ("Expecting value", 2, 3), ("Illegal trailing comma before end of array", 1, 16)),
    (
        '{"a": 1 ,\n }',
        ("Expecting property name enclosed in double quotes", 2, 2),
        ("Illegal trailing comma before end of object", 1, 9),
    ),
]


@pytest.mark.parametrize("names_it", [False, True])
@pytest.mark.parametrize(("text", "before_313", "from_313"), TRAILING_COMMAS)
def test_a_trailing_comma_is_worded_as_this_pythons_json_words_it(
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    before_313: tuple[str, int, int],
    from_313: tuple[str, int, int],
    names_it: bool,
) -> None:
    # Python 3.13's json names the trailing comma (at the comma); the object and the list
    # read here said what earlier versions say, so a manifest's error differed from json's.
    monkeypatch.setattr(jsonstream, "_NAMES_TRAILING_COMMA", names_it)
    for size in (1, 3, 100):
        with pytest.raises(JsonStreamError) as got:
            read_all(text, size)
        assert (got.value.msg, got.value.lineno, got.value.colno) == (from_313 if names_it else before_313)


def test_the_trailing_comma_wording_is_this_pythons() -> None:
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads("[1,]")
    assert jsonstream._NAMES_TRAILING_COMMA == expected.value.msg.startswith("Illegal trailing comma")


def test_only_an_object_is_read() -> None:
    with pytest.raises(JsonStreamError) as got:
        read_all(" [1]", 1)
    assert (got.value.msg, got.value.lineno, got.value.colno) == ("Expecting value", 1, 2)


def test_errors_far_into_a_long_document_keep_their_line_and_column() -> None:
    lines = ['{"files": ['] + [f'  {{"path": "f{i}"}},' for i in range(5000)] + ['  {"path": oops}', "]}"]
    text = "\n".join(lines)
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    for size in (1, 7, 4096):
        with pytest.raises(JsonStreamError) as got:
            read_all(text, size)
        assert (got.value.lineno, got.value.colno) == (expected.value.lineno, expected.value.colno) == (5002, 12)
    one_line = text.replace("\n", " ")
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(one_line)
    with pytest.raises(JsonStreamError) as got:
        read_all(one_line, 4096)
    assert (got.value.lineno, got.value.colno) == (1, expected.value.colno)


def test_memory_does_not_grow_with_the_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonstream, "_KEEP", 1 << 20)
    record = json.dumps({"path": "x" * 200, "metadata": {"note": "y" * 2000}})
    n = 20_000  # about 45 MB of text, given in pieces as a file would be

    def text() -> Iterator[str]:
        yield '{"schema": "s", "files": [\n'
        for i in range(n):
            yield record + (",\n" if i < n - 1 else "\n")
        yield f'], "summary": {{"entries": {n}}}}}'

    reader = ObjectReader(text())
    count = 0
    tracemalloc.start()
    try:
        while (key := reader.next_key()) is not None:
            if key == "files":
                for item in reader.items():
                    count += item["path"] == "x" * 200
            else:
                reader.value()
        reader.finish()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == n
    assert peak < 8 << 20, f"peak {peak / 1e6:.1f} MB for {n} records of {len(record)} characters"


def test_a_long_value_is_not_parsed_again_for_every_piece() -> None:
    calls = 0
    text = '{"files": ["' + "x" * 200_000 + '"]}'
    reader = ObjectReader(pieces(text, 100))
    real = reader._decode

    def counting(s: str, idx: int) -> Any:
        nonlocal calls
        calls += 1
        return real(s, idx)

    reader._decode = counting  # type: ignore[method-assign,assignment]
    assert reader.next_key() == "files"
    assert [len(v) for v in reader.items()] == [200_000]
    # The text read is doubled each time the value is found cut short (16, 32, ...
    # characters here): a few dozen attempts, not 2,000 (one a piece).
    assert calls < 40


def test_max_value_bounds_what_one_value_makes_the_reader_hold() -> None:
    text = '{"a": 1, "b": "' + "x" * 5000 + '", "c": 2}'
    pieces = [text[i : i + 10] for i in range(0, len(text), 10)]
    r = ObjectReader(iter(pieces), max_value=1000)
    assert r.next_key() == "a" and r.value() == 1
    assert r.next_key() == "b"
    with pytest.raises(JsonStreamError, match="A value longer than 1000 characters: line 1 column 15"):
        r.value()
    # Without the bound, the same text is read whole.
    r = ObjectReader(iter(pieces))
    got = {}
    while (key := r.next_key()) is not None:
        got[key] = r.value()
    assert got == {"a": 1, "b": "x" * 5000, "c": 2}
