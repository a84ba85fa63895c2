"""Damaged and hostile manifests: a clear ManifestError or a manifest, never anything else.

A manifest may come from the other side of a case (the prosecution's acquisition, checked
by the defence's expert). Random damage to a real sealed manifest and to hash lists is
read in pieces of several sizes; nothing but ManifestError may escape, and what is read
must agree with itself.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evidence_cli import jsonstream, manifest
from evidence_cli.errors import ManifestError
from evidence_cli.manifest import read_manifest
from tests.custody import make_tree, write_manifest

TOKENS = [
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b'"',
    b"\\",
    b"\\u",
    b"1e",
    b"1e999",
    b"NaN",
    b"-Infinity",
    b"-",
    b"\xe9",
    b"\xef\xbb\xbf",
    b"\n",
    b"\r",
    b"null",
    b"9" * 30,
    b'"files": [],',
    b'"case": {},',
    b'"kind": {},',
    b'"kind": [],',
    b'"seal": 1,',
    b"[" * 3000,
]

edits = st.lists(
    st.tuples(
        st.sampled_from(["flip", "delete", "insert", "truncate", "duplicate"]),
        st.floats(0, 1),
        st.integers(0, 255),
        st.sampled_from(TOKENS),
        st.integers(1, 400),
    ),
    min_size=1,
    max_size=4,
)


def damage(data: bytes, steps: list[tuple[str, float, int, bytes, int]]) -> bytes:
    b = bytearray(data)
    for op, where, byte, token, length in steps:
        i = int(where * len(b))
        if op == "flip" and b:
            b[min(i, len(b) - 1)] = byte
        elif op == "delete":
            del b[i : i + length]
        elif op == "insert":
            b[i:i] = token
        elif op == "truncate":
            del b[i:]
        elif op == "duplicate":
            b[i:i] = b[i : i + length]
    return bytes(b)


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    base = tmp_path_factory.mktemp("hostile-manifests")
    make_tree(base / "ev")
    write_manifest(base / "ev", base / "m.json")
    sealed = (base / "m.json").read_bytes()
    sums = b"".join(b"%064x  f%d.txt\n" % (i, i) for i in range(5)) + b"\\" + b"%064x  a\\nb\n" % 9
    hashdeep = b"%%%% HASHDEEP-1.0\n%%%% size,md5,sha256,filename\n## Invoked from: /ev\n" + b"".join(
        b"%d,%032x,%064x,/ev/f%d\n" % (i, i, i, i) for i in range(5)
    )
    return [sealed, sealed.replace(b"\n", b""), sums, hashdeep]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    which=st.integers(0, 3),
    steps=edits,
    chunk=st.sampled_from([1, 5, 64, 1 << 20]),
    keep=st.sampled_from([16, 1 << 20]),
)
def test_damaged_manifests_give_a_manifest_or_a_manifest_error(
    seeds: list[bytes],
    tmp_path_factory: pytest.TempPathFactory,
    which: int,
    steps: list[tuple[str, float, int, bytes, int]],
    chunk: int,
    keep: int,
) -> None:
    data = damage(seeds[which], steps)
    path = tmp_path_factory.mktemp("m") / "m"
    path.write_bytes(data)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(manifest, "_CHUNK", chunk)
        mp.setattr(jsonstream, "_KEEP", keep)
        try:
            m = read_manifest(str(path))
        except ManifestError as exc:
            assert str(exc)
            return
        assert m.sha256 == hashlib.sha256(data).hexdigest() and m.size == len(data)
        if m.seal.status == "invalid":
            assert m.entries == ()
            return
        assert len({e.rel for e in m.entries}) == len(m.entries)
        if m.has_records:
            records = list(m.iter_records())
            # Every entry came from a record (exact repeats of one path are one entry).
            assert len(records) >= len(m.entries)
            if m.seal.status == "valid":
                doc = json.loads(data.decode("utf-8-sig"))
                assert records == doc["files"]
