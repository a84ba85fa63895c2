"""Hostile hash sets: every format's bytes mutated, read to the end.

A hash set comes from someone else (a hotline, a colleague, a download) and may be
damaged or made up. Whatever it holds, reading it may end only in a
:class:`~evidence_cli.hashsets.HashSetError` (`evidence match` then exits 2 with a
message), never in another exception; when it is read to the end, every entry is either
given or counted as bad, and the SHA-256 recorded is that of its bytes.

Inputs are drawn by hypothesis, derandomized so the suite stays deterministic
(``EVIDENCE_HASHSET_FUZZ_EXAMPLES`` for a longer run): each seed truncated, bytes changed,
cut or repeated, tokens of its format put in.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evidence_cli import hashsets
from evidence_cli.hashsets import HashSetError, read_hashset
from tests.test_match import RDS3_SCHEMA, VICS2, digests

FUZZ = dict(
    max_examples=int(os.environ.get("EVIDENCE_HASHSET_FUZZ_EXAMPLES", "150")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

D = digests(b"x")
SEEDS: list[bytes] = [
    f"# list\n{D['md5']}  a.jpg\n{D['sha1']} *b.jpg\nSHA256 (c.jpg) = {D['sha256']}\n{D['sha512']}\n".encode(),
    (
        "%%%% HASHDEEP-1.0\n%%%% size,md5,sha256,filename\n## x\n"
        f"1,{D['md5']},{D['sha256']},/a,b.jpg\n2,{D['md5']},{D['sha256']},/c.jpg\n"
    ).encode(),
    (
        '"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode","OpSystemCode","SpecialCode"\n'
        f'"{D["sha1"].upper()}","{D["md5"].upper()}","0","a.exe",1,2,"3",""\n'
    ).encode(),
    (json.dumps(VICS2) % D).encode(),
    json.dumps(
        {"odata.metadata": "x", "value": [{"CaseNumber": 1, "Media": [{"MD5": D["md5"], "Category": 1}]}]}
    ).encode(),
]
SEEDS.append(f'#TYPE x\r\n"Algorithm","Hash","Path"\r\n"SHA256","{D["sha256"]}","C:\\a"\r\n'.encode("utf-16"))
SEEDS.append(SEEDS[0].decode().encode("utf-16"))
TOKENS = [b"\n", b"\r", b",", b'"', b"{", b"}", b"[", b"]", b":", b"\\", b"\x00", b"\xff", b"%%%% ", b"##"]
TOKENS += [b'"value"', b'"Media"', b"1e999", b"-1", b"null", D["md5"].encode(), b"SHA256 (", b") = "]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["cut", "flip", "token", "truncate", "repeat"]))
        if kind == "cut":
            del data[at : at + draw(st.integers(1, 40))]
        elif kind == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif kind == "token":
            data[at:at] = draw(st.sampled_from(TOKENS))
        elif kind == "truncate":
            del data[at:]
        elif kind == "repeat":
            data[at:at] = data[at : at + draw(st.integers(1, 200))]
    return bytes(data)


def read_all(path: Path) -> None:
    try:
        found, known = read_hashset(str(path))
        given = sum(1 for _ in known)
    except HashSetError:
        return
    assert given == found.entries
    assert len(found.bad) == min(found.bad_count, hashsets.BAD_SHOWN)
    if not found.format.startswith("evidence manifest"):
        assert found.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


@settings(**FUZZ)  # type: ignore[arg-type]
@given(data=mutated())
def test_mutated_text_sets_end_in_entries_or_a_refusal(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "set"
    path.write_bytes(data)
    read_all(path)


def rds_bytes(tmp: Path) -> bytes:
    path = tmp / "seed.db"
    if not path.exists():
        conn = sqlite3.connect(path)
        conn.executescript(RDS3_SCHEMA)
        for n in range(1, 40):
            d = digests(bytes([n]))
            conn.execute("INSERT INTO PACKAGE_OBJECT VALUES (?, ?, ?)", (n, n, n))
            conn.execute(
                "INSERT INTO METADATA VALUES (?, ?, ?, 'dll', ?, '0', ?, ?, ?)",
                (n, n, f"f{n}", n, d["md5"], d["sha1"], d["sha256"]),
            )
        conn.commit()
        conn.close()
    return path.read_bytes()


@settings(**{**FUZZ, "max_examples": max(20, FUZZ["max_examples"] // 3)})  # type: ignore[arg-type]
@given(at=st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 255)), min_size=1, max_size=30))
def test_damaged_rds3_databases_end_in_entries_or_a_refusal(tmp_path: Path, at: list[tuple[int, int]]) -> None:
    data = bytearray(rds_bytes(tmp_path))
    for where, value in at:
        data[100 + where % (len(data) - 100)] = value  # past SQLite's header magic
    path = tmp_path / "damaged.db"
    path.write_bytes(bytes(data))
    read_all(path)
