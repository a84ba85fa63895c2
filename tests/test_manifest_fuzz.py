"""Hostile manifests: mutated sealed exports through ``read_manifest`` and ``verify``.

A manifest comes from outside (a colleague, the other side's expert, a copy kept for
months) and may be damaged or made up. Whatever it holds, reading and verifying it may
end only in a :class:`ManifestError` (the command then exits 2 with a message), never in
another exception (a traceback, exit 1).

Two kinds of input:

* the export's bytes mutated, drawn by hypothesis (derandomized: the suite stays
  deterministic; ``EVIDENCE_MANIFEST_FUZZ_EXAMPLES`` for a longer run): truncated, bytes
  changed or cut, JSON tokens and pieces of itself put in. Nearly all of these break the
  seal, and are judged before any entry is used;
* every value of the header and of three records (a file, a symlink, a special file)
  replaced by every hostile value, and every key removed, one at a time, then
  **resealed**: the seal holds, so every check behind it is reached, as by a manifest
  made up with care.

* hash lists (``sha256sum``, ``md5sum``, ``--tag`` lines, hashdeep), our own exports of
  the tree and lists written by hand, mutated the same way and also with one line's name
  replaced by hostile names (``/``, ``..``, escapes, NUL, very long, a path through a
  file); verified against the tree (``--root``), as a list without a root is.

A first run of this kind, outside the suite, found a root written with a lone surrogate
escape ending in a UnicodeEncodeError (see test_manifest's lone-surrogate tests); this
file finds it again without that fix.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from evidence_cli.errors import ManifestError
from evidence_cli.exports import ExportFormat, export_manifest
from evidence_cli.manifest import read_manifest, seal_value
from evidence_cli.verify import verify
from tests.custody import make_tree, write_manifest

FUZZ = dict(
    max_examples=int(os.environ.get("EVIDENCE_MANIFEST_FUZZ_EXAMPLES", "120")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

TOKENS = [b'"', b"{", b"}", b"[", b"]", b",", b":", b"\\", b"\\u0000", b"\\ud800", b"1e999", b"-0", b"null"]
TOKENS += [b"NaN", b"true", b'"path": "../x"', b"\x00", b"\xff", b'"kind": "file"', b'"size": -1']

#: Values put in place of one value of a resealed export.
HOSTILE: list[Any] = [None, True, 0, -1, 2**70, 1.5, "", ".", "..", "../x", "/etc", "a//b", "\ud800", "\udcff"]
HOSTILE += ["\x00", "\u202e", "x" * 5000, [], {}, [None], {"md5": "0" * 32}, {"sha256": "zz"}, ["/"], "file"]
HOSTILE += ["symlink", "other", "directory", "A" * 64, "=cmd|' /C calc'!A0", "\\x41", "==", "!!!"]


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A sealed export of the custody tree (awkward names, a symlink, special files)."""
    base = tmp_path_factory.mktemp("manifest-fuzz")
    out = base / "manifest.json"
    write_manifest(make_tree(base / "evidence"), out)
    return base, out.read_bytes()


#: Names put in place of one hash-list line's name.
NAMES = [b"/", b".", b"..", b"./", b"//x", b"/etc/passwd", b"a/../../b", b"plain.txt/x", b"x" * 300, b"y/" * 3000]
NAMES += [b"\\n", b"\\", b"\\x41", b"\x00", b"\xff", b"\xed\xa0\x80", b" ", b"photos/", b"a-fifo", b"link-to-plain"]
NAMES += [b"\r", b"dup/a.txt", b"=cmd|' /C calc'!A0", b"\xe2\x80\xae", b"C:\\x", b"a,b", b"MD5 (x) = 0"]
NAMES += [b"gone.txt", b"photos/deep", b"photos/deep/er/note.txt/", b"./plain.txt", b"sub/./x", b"empty/x", b"%%%%"]


@pytest.fixture(scope="module")
def hash_lists(export: tuple[Path, bytes]) -> tuple[Path, list[bytes]]:
    """Hash lists of the custody tree: our sha256sum and md5sum exports (escaped names),
    our hashdeep export of the tree without the newline name, and --tag (SHA-256, BLAKE2b),
    absolute-name, untagged BLAKE2b, openssl dgst and BSD md5 -r lists written here, and lists made on
    Windows (Get-FileHash CSV in UTF-8 and UTF-16, hashdeep) of the names Windows can hold."""
    base, _ = export
    lists = []
    m = read_manifest(str(base / "manifest.json"))
    for fmt in (ExportFormat.SHA256SUM, ExportFormat.MD5SUM):
        out = io.BytesIO()
        export_manifest(m, fmt, out)
        lists.append(out.getvalue())
    plain = base / "plain-tree"
    write_manifest(make_tree(plain, newline=False, specials=False), base / "plain.json")
    out = io.BytesIO()
    export_manifest(read_manifest(str(base / "plain.json")), ExportFormat.HASHDEEP, out)
    lists.append(out.getvalue())
    files = [e for e in m.entries if e.kind == "file" and b"\n" not in e.rel]
    lists.append(b"".join(b"SHA256 (" + e.rel + b") = " + e.hashes["sha256"].encode() + b"\n" for e in files))
    evidence = os.fsencode(base / "evidence")
    lists.append(b"".join(e.hashes["md5"].encode() + b" *" + os.path.join(evidence, e.rel) + b"\n" for e in files))
    blake = [hashlib.blake2b(Path(os.fsdecode(os.path.join(evidence, e.rel))).read_bytes()).hexdigest() for e in files]
    lists.append(b"".join(b"BLAKE2b (" + e.rel + b") = " + h.encode() + b"\n" for e, h in zip(files, blake)))
    # b2sum's own (untagged) form: read with the algorithm named (UNTAGGED_BLAKE2B).
    lists.append(b"".join(h.encode() + b"  " + e.rel + b"\n" for e, h in zip(files, blake)))
    lists.append(b"".join(b"SHA2-256(" + e.rel + b")= " + e.hashes["sha256"].encode() + b"\n" for e in files))
    # BSD md5 -r (macOS, FreeBSD): one space, names unescaped (none with a line break).
    bsd = sorted((e for e in files if b"\r" not in e.rel), key=lambda e: e.rel.startswith((b" ", b"*")))
    lists.append(b"".join(e.hashes["md5"].encode() + b" " + e.rel + b"\n" for e in bsd))
    # Get-FileHash | Export-Csv of a copy on Windows (names Windows can hold): Windows
    # PowerShell 5.1's (UTF-8, #TYPE, CRLF) and ConvertTo-Csv > file (UTF-16).
    windows = [e for e in files if _windows_name(e.rel)]

    def get_filehash(algorithm: str, folder: str) -> str:
        rows = ""
        for e in windows:
            path = folder + e.rel.decode().replace("/", "\\")
            rows += f'"{algorithm.upper()}","{e.hashes[algorithm].upper()}","{path}"\r\n'
        return '"Algorithm","Hash","Path"\r\n' + rows

    lists.append(("#TYPE Microsoft.Powershell.Utility.FileHash\r\n" + get_filehash("sha256", "C:\\Case\\")).encode())
    lists.append(get_filehash("md5", "D:\\").encode("utf-16"))
    # hashdeep run on Windows, in C:\Case.
    deep = "%%%% HASHDEEP-1.0\r\n%%%% size,md5,filename\r\n## Invoked from: C:\\Case\r\n"
    for e in windows:
        size = os.path.getsize(os.path.join(evidence, e.rel))
        deep += f"{size},{e.hashes['md5']},C:\\Case\\{e.rel.decode().replace('/', chr(92))}\r\n"
    lists.append(deep.encode())
    assert all(lists)
    return base / "evidence", lists


def _windows_name(rel: bytes) -> bool:
    """A name Windows can hold (UTF-8, no control character, none of ``\\:*?"<>|``)."""
    try:
        text = rel.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not any(c in '\\:*?"<>|' or ord(c) < 32 for c in text)


def _renamed(data: bytes, line: int, name: bytes, escaped: bool) -> bytes:
    """``data`` with the name of one of its lines (any format) replaced."""
    lines = data.split(b"\n")
    k = line % len(lines)
    ln = lines[k]
    if ln.startswith(b"%%%%") or ln.startswith(b"##"):
        return data
    if b"," in ln:  # hashdeep: size,digests...,name
        ln = b",".join(ln.split(b",", 2)[:2]) + b"," + name
    elif b") = " in ln:
        ln = ln.split(b" (", 1)[0] + b" (" + name + b") = " + ln.rsplit(b" = ", 1)[1]
    elif b")= " in ln:  # openssl dgst
        ln = ln.split(b"(", 1)[0] + b"(" + name + b")= " + ln.rsplit(b")= ", 1)[1]
    else:
        ln = ln.split(b" ", 1)[0] + b"  " + name
    lines[k] = (b"\\" if escaped else b"") + ln.lstrip(b"\\")
    return b"\n".join(lines)


#: The seed of :func:`hash_lists` in b2sum's untagged form (read as ``algorithm="blake2b"``).
UNTAGGED_BLAKE2B = 6


@settings(**FUZZ)
@given(
    which=st.integers(0, 11),
    algorithm=st.sampled_from([None, None, "blake2b", "sha512", "md5", "sha256"]),
    renames=st.lists(st.tuples(st.integers(0, 100), st.sampled_from(NAMES), st.booleans()), max_size=3),
    ops=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 2**40), st.integers(0, 2**32)), max_size=2),
)
def test_a_damaged_hash_list_is_refused_or_verified(
    hash_lists: tuple[Path, list[bytes]],
    which: int,
    renames: list[tuple[int, bytes, bool]],
    ops: list[tuple[int, int, int]],
    algorithm: str | None,
) -> None:
    tree, lists = hash_lists
    data = lists[which]
    for line, name, escaped in renames:
        data = _renamed(data, line, name, escaped)
    p = tree.parent / "damaged.list"
    p.write_bytes(_mutated(data, ops) if ops else data)
    _check(p, tree, events=True, algorithm=algorithm)


def test_hash_list_seeds_read_back(hash_lists: tuple[Path, list[bytes]]) -> None:
    """The fuzz seeds are lists this tool reads and verifies whole (so the fuzz starts
    from inputs that reach verify)."""
    tree, lists = hash_lists
    p = tree.parent / "seed.list"
    for i, data in enumerate(lists):
        p.write_bytes(data)
        m = read_manifest(str(p), algorithm="blake2b" if i == UNTAGGED_BLAKE2B else None)
        root = tree.parent / "plain-tree" if m.format == "hashdeep" and m.foreign_base is None else tree
        statuses = {e.status for e in verify(m, str(root)) if e.in_manifest}
        assert statuses == {"ok"}, (i, statuses)
        assert len(m.entries) >= (10 if m.foreign_base else 14)  # (names Windows can hold)


def _mutated(data: bytes, ops: list[tuple[int, int, int]]) -> bytes:
    b = bytearray(data)
    for op, at, n in ops:
        if not b:
            break
        i = at % len(b)
        if op == 0:  # truncate
            del b[i:]
        elif op == 1:  # change bytes
            for k in range(1 + n % 8):
                b[(i + k * 7919) % len(b)] = (n >> k) & 0xFF
        elif op == 2:  # cut a piece
            del b[i : i + 1 + n % 200]
        elif op == 3:  # a JSON token
            b[i:i] = TOKENS[n % len(TOKENS)]
        else:  # a piece of itself elsewhere
            j = n % len(b)
            b[i:i] = b[j : j + 1 + (n >> 8) % 300]
    return bytes(b)


def _places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every value's place in a parsed export (its keys and indexes), the seal's excepted."""
    out = [path] if path else []
    if isinstance(value, dict):
        for k, v in value.items():
            if path or k != "seal":
                out += _places(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _places(v, (*path, i))
    return out


def _check(path: Path, root: Path | None = None, *, events: bool = False, algorithm: str | None = None) -> None:
    """Read ``path`` once (with ``--algorithm``'s value when given) and verify it as
    `evidence verify` does (against ``root`` when given), with and without
    ``--allow-unsealed``: only ManifestError may escape. ``events``: tell hypothesis which
    it was (``--hypothesis-show-statistics``)."""
    try:
        m = read_manifest(str(path), algorithm=algorithm)
    except ManifestError:
        if events:
            event("refused by read_manifest")
        return
    if events:
        event("read, then verified")
    for allow_unsealed in (False, True):
        try:
            for _ in verify(m, None if root is None else str(root), allow_unsealed=allow_unsealed):
                pass
        except ManifestError:
            pass


@settings(**FUZZ)
@given(ops=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 2**40), st.integers(0, 2**32)), min_size=1, max_size=6))
def test_a_damaged_export_is_refused_or_verified(export: tuple[Path, bytes], ops: list[tuple[int, int, int]]) -> None:
    base, data = export
    p = base / "damaged.json"
    p.write_bytes(_mutated(data, ops))
    _check(p, events=True)


#: In place of a value: its key removed.
_REMOVE = object()


def _made_up(doc: dict[str, Any], where: tuple[Any, ...], value: Any, remove: bool) -> dict[str, Any]:
    """A copy of ``doc`` with the value at ``where`` replaced by ``value`` (or its key
    removed), resealed."""
    doc = json.loads(json.dumps(doc))
    parent = doc
    for key in where[:-1]:
        parent = parent[key]
    if remove:
        del parent[where[-1]]
    else:
        parent[where[-1]] = value
    doc["seal"]["value"] = seal_value(doc)
    return doc


@pytest.mark.parametrize("part", ["header", "first record", "symlink record", "other record"])
def test_a_made_up_resealed_export_is_refused_or_verified(export: tuple[Path, bytes], part: str) -> None:
    """Every value of the header, or of one record, replaced by every hostile value (and
    every key of a mapping removed), one at a time, resealed."""
    base, data = export
    doc = json.loads(data)
    kinds = {"first record": "file", "symlink record": "symlink", "other record": "other"}
    if part == "header":
        places = [w for w in _places(doc) if w[0] != "files"]
    else:
        index = next(i for i, r in enumerate(doc["files"]) if r["kind"] == kinds[part])
        places = [w for w in _places(doc) if w[:2] == ("files", index)]
    assert len(places) > 10
    p = base / f"made-up-{part.replace(' ', '-')}.json"
    failures = []
    for where in places:
        for value in [*HOSTILE, _REMOVE]:
            if value is _REMOVE and not isinstance(where[-1], str):
                continue
            made = _made_up(doc, where, value, remove=value is _REMOVE)
            p.write_text(json.dumps(made), encoding="ascii")  # (lone surrogates as escapes, as JSON may hold them)
            try:
                _check(p)
            except Exception as exc:  # noqa: BLE001 - collected: every case is tried
                failures.append(f"{where} = {value!r:.40}: {type(exc).__name__}: {exc}")
    assert not failures, f"{len(failures)} made-up exports ended in an exception:\n" + "\n".join(failures[:20])
