"""The bounded CBOR decoder: RFC 8949's examples, and hostile input that only ever
raises CborError (no recursion error, no huge allocation, no other exception)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence_cli.formats import cbor
from evidence_cli.formats.cbor import CborError, Simple, Tagged


@pytest.mark.parametrize(
    ("hexdata", "value"),
    [  # RFC 8949, Appendix A
        ("00", 0),
        ("17", 23),
        ("1818", 24),
        ("1903e8", 1000),
        ("1b000000e8d4a51000", 1000000000000),
        ("1bffffffffffffffff", 18446744073709551615),
        ("20", -1),
        ("3903e7", -1000),
        ("3bffffffffffffffff", -18446744073709551616),
        ("f90000", 0.0),
        ("f93c00", 1.0),
        ("f9c400", -4.0),
        ("fa47c35000", 100000.0),
        ("fb3ff199999999999a", 1.1),
        ("f4", False),
        ("f5", True),
        ("f6", None),
        ("f7", Simple(23)),
        ("f0", Simple(16)),
        ("f8ff", Simple(255)),
        ("c074323031332d30332d32315432303a30343a30305a", Tagged(0, "2013-03-21T20:04:00Z")),
        ("d82076687474703a2f2f7777772e6578616d706c652e636f6d", Tagged(32, "http://www.example.com")),
        ("40", b""),
        ("4401020304", b"\x01\x02\x03\x04"),
        ("60", ""),
        ("6449455446", "IETF"),
        ("62225c", '"\\'),
        ("62c3bc", "\u00fc"),
        ("64f0908591", "\U00010151"),
        ("80", []),
        ("83010203", [1, 2, 3]),
        ("8301820203820405", [1, [2, 3], [4, 5]]),
        ("a0", {}),
        ("a201020304", {1: 2, 3: 4}),
        ("a26161016162820203", {"a": 1, "b": [2, 3]}),
        ("5f42010243030405ff", b"\x01\x02\x03\x04\x05"),
        ("7f657374726561646d696e67ff", "streaming"),
        ("9fff", []),
        ("9f018202039f0405ffff", [1, [2, 3], [4, 5]]),
        ("bf61610161629f0203ffff", {"a": 1, "b": [2, 3]}),
        ("826161bf61626163ff", ["a", {"b": "c"}]),
    ],
)
def test_rfc_examples(hexdata: str, value: object) -> None:
    assert cbor.loads(bytes.fromhex(hexdata)) == value


def test_special_floats() -> None:
    assert math.isinf(cbor.loads(bytes.fromhex("f97c00")))
    assert math.isnan(cbor.loads(bytes.fromhex("f97e00")))


def test_a_map_key_that_is_an_array_is_kept_as_its_repr() -> None:
    assert cbor.loads(bytes.fromhex("a1820102f5")) == {"[1, 2]": True}


@pytest.mark.parametrize(
    ("hexdata", "why"),
    [
        ("", "wanted"),
        ("1a0102", "wanted"),  # a 4-byte argument cut short
        ("5a7fffffff", "wanted"),  # a 2 GB byte string claimed, nothing there: no allocation
        ("9b7fffffffffffffff", "array of"),  # an array of 2**63 items claimed
        ("bb7fffffffffffffff", "map of"),
        ("1c", "reserved"),
        ("ff", "break"),
        ("8201ff", "break"),  # a break inside a definite array
        ("5f01ff", "chunk of another type"),
        ("5f5f4101ffff", "indefinite-length chunk"),
        ("62c328", "UTF-8"),
        ("0000", "after the data item"),
        ("f801", "simple value"),
        ("1f", "indefinite length where a number belongs"),
    ],
)
def test_damage_is_a_cbor_error(hexdata: str, why: str) -> None:
    with pytest.raises(CborError, match=why):
        cbor.loads(bytes.fromhex(hexdata))


def test_nesting_is_bounded() -> None:
    deep = b"\x81" * 10_000 + b"\x00"  # [[[[...0]]]] ten thousand deep
    with pytest.raises(CborError, match="deeper"):
        cbor.loads(deep)
    deep_tags = b"\xc6" * 10_000 + b"\x00"
    with pytest.raises(CborError, match="deeper"):
        cbor.loads(deep_tags)
    assert cbor.loads(b"\x81" * 30 + b"\x00", max_depth=32) is not None


def test_item_count_is_bounded() -> None:
    many = b"\x9f" + b"\x00" * 200_000 + b"\xff"  # an indefinite array of 200,000 zeros
    with pytest.raises(CborError, match="more data items"):
        cbor.loads(many)
    assert cbor.loads(many, max_items=300_000) == [0] * 200_000
    chunks = b"\x5f" + b"\x40" * 200_000 + b"\xff"  # 200,000 empty chunks
    with pytest.raises(CborError, match="more data items"):
        cbor.loads(chunks)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_decode_or_raise_cbor_error(data: bytes) -> None:
    try:
        cbor.loads(data)
    except CborError:
        pass
