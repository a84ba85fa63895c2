"""Manifests: the seal (canonical form, streaming = whole), tamper detection, hash-list readers."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence_cli import jsonstream, manifest
from evidence_cli.errors import ManifestError
from evidence_cli.exports import ExportFormat, export_manifest
from evidence_cli.manifest import (
    CANONICALIZATION,
    NO_COMMON_FOLDER,
    Digests,
    Sealer,
    TamperedManifest,
    canonical,
    check_relative,
    check_seal,
    read_manifest,
    require_trusted,
    seal_value,
    unescape_name,
    with_article,
)
from evidence_cli.models import ScanInfo, VerifyEntry
from evidence_cli.verify import verify
from tests.custody import AWKWARD, make_tree, write_manifest


@pytest.fixture(autouse=True, params=["1-byte pieces", "7-byte pieces", "as in use"])
def pieces(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test reads manifests in 1-byte and 7-byte pieces too (with a small parse buffer):
    a line, a record, a character or a number cut between two reads must not matter."""
    if request.param != "as in use":
        monkeypatch.setattr(manifest, "_CHUNK", int(request.param.split("-")[0]))
        monkeypatch.setattr(jsonstream, "_KEEP", 32)


# --- canonical form -------------------------------------------------------------------


def test_canonical_known_answers() -> None:
    assert canonical({"b": 1, "a": [1.5, "é", None, True, False]}) == b'{"a":[1.5,"\\u00e9",null,true,false],"b":1}'
    assert canonical('\x7f\n\t"\\\x01') == b'"\\u007f\\n\\t\\"\\\\\\u0001"'
    assert canonical("\U0001f4f7") == b'"\\ud83d\\udcf7"'
    assert canonical([0.1, 2.0, 1e-7, 1e16, 10**30]) == b"[0.1,2.0,1e-07,1e+16,1000000000000000000000000000000]"
    assert canonical({"\u00e9": 1, "z": 2, "A": 3}) == b'{"A":3,"z":2,"\\u00e9":1}'


def test_canonical_refuses_nan() -> None:
    with pytest.raises(ValueError):
        canonical(float("nan"))


json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)
head_keys = st.sampled_from(["case", "schema", "tool", "aaa", "zzz"])
tail_keys = st.sampled_from(["scan", "summary", "result", "g-later"])


@settings(max_examples=60, deadline=None)
@given(
    head=st.dictionaries(head_keys, json_values, max_size=4),
    items=st.lists(json_values, max_size=5),
    tail=st.dictionaries(tail_keys, json_values, max_size=3),
)
def test_streaming_seal_equals_the_seal_of_the_whole_document(
    head: dict[str, Any], items: list[Any], tail: dict[str, Any]
) -> None:
    tail = {k: v for k, v in tail.items() if k not in head}
    sealer = Sealer(head, "files")
    for it in items:
        sealer.add_json(json.dumps(it, ensure_ascii=False))
    seal = sealer.finish(tail)
    whole = {**head, "files": items, **tail}
    assert seal["value"] == seal_value(whole)
    assert seal["value"] == hashlib.sha256(canonical(json.loads(json.dumps(whole)))).hexdigest()
    assert seal["canonicalization"] == CANONICALIZATION


def test_sealer_refuses_a_late_key_that_sorts_before_the_stream() -> None:
    sealer = Sealer({"schema": 1}, "files")
    with pytest.raises(ValueError):
        sealer.finish({"case": {}})
    with pytest.raises(ValueError):
        Sealer({"seal": 1}, "files")


def test_sealer_seals_values_as_a_reader_sees_them() -> None:
    # Tuples and integer keys become lists and strings once written: the seal must agree.
    sealer = Sealer({"case": {"n": (1, 2)}}, "files")
    sealer.add({1: "one", 10: "ten", 9: "nine"})
    seal = sealer.finish({"summary": {}})
    doc = json.loads(json.dumps({"case": {"n": (1, 2)}, "files": [{1: "one", 10: "ten", 9: "nine"}], "summary": {}}))
    assert seal["value"] == seal_value(doc)


# --- the sealed JSON export -----------------------------------------------------------


@pytest.fixture
def sealed(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    tree = make_tree(tmp_path / "evidence")
    out = tmp_path / "manifest.json"
    return out, write_manifest(tree, out)


def test_the_json_export_is_sealed_and_reads_back(sealed: tuple[Path, dict[str, Any]]) -> None:
    path, doc = sealed
    assert doc["seal"]["algorithm"] == "sha256"
    assert doc["seal"]["canonicalization"] == CANONICALIZATION
    assert check_seal(doc).status == "valid"
    m = read_manifest(str(path))
    assert m.format == "evidence-json" and m.sealed
    assert m.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert m.base == os.fsencode(path.parent / "evidence")
    assert m.roots == (b".",)
    rels = {e.rel for e in m.entries}
    assert set(AWKWARD) | {b"new\nline.txt", b"link-to-plain", b"link-outside", b"a-fifo"} == rels
    bad = next(e for e in m.entries if e.rel.startswith(b"bad-"))
    assert bad.rel == b"bad-\xff\xfe-latin1.bin"
    assert bad.hashes["sha256"] == hashlib.sha256(AWKWARD[bad.rel]).hexdigest()
    link = next(e for e in m.entries if e.rel == b"link-outside")
    assert link.kind == "symlink" and link.link_target == "/etc/passwd" and not link.hashes
    fifo = next(e for e in m.entries if e.rel == b"a-fifo")
    assert fifo.kind == "other" and fifo.description == "FIFO"


def test_reformatting_keeps_the_seal(sealed: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    path, doc = sealed
    pretty = tmp_path / "pretty.json"
    reordered = dict(reversed(list(doc.items())))
    pretty.write_text(json.dumps(reordered, indent=3, ensure_ascii=True), encoding="utf-8")
    assert read_manifest(str(pretty)).seal.status == "valid"


def _edit(doc: dict[str, Any], tmp_path: Path, name: str) -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return p


@pytest.mark.parametrize(
    "edit",
    [
        "hash",
        "remove-record",
        "add-record",
        "time",
        "case",
        "seal-value",
    ],
)
def test_any_edit_breaks_the_seal(sealed: tuple[Path, dict[str, Any]], tmp_path: Path, edit: str) -> None:
    _, doc = sealed
    rec = next(r for r in doc["files"] if r["kind"] == "file")
    if edit == "hash":
        rec["hashes"]["sha256"] = "0" * 64
    elif edit == "remove-record":
        doc["files"].remove(rec)
    elif edit == "add-record":
        doc["files"].append(dict(rec, path="planted.txt"))
    elif edit == "time":
        doc["scan"]["started_utc"] = "2020-01-01T00:00:00Z"
    elif edit == "case":
        doc["case"]["examiner"] = "someone else"
    elif edit == "seal-value":
        doc["seal"]["value"] = "f" * 64
    m = read_manifest(str(_edit(doc, tmp_path, "t.json")))
    assert m.seal.status == "invalid"
    assert m.entries == ()  # nothing of a tampered manifest is trusted
    with pytest.raises(TamperedManifest, match="tampered"):
        require_trusted(m)


def test_a_removed_record_is_hinted_by_the_summary(sealed: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    _, doc = sealed
    n = len(doc["files"])
    doc["files"].pop()
    check = read_manifest(str(_edit(doc, tmp_path, "t.json"))).seal
    assert check.status == "invalid"
    assert f"the summary counts {n} entries but the manifest lists {n - 1} records" in check.details


def test_a_stripped_seal_is_refused_unless_allowed(sealed: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    _, doc = sealed
    del doc["seal"]
    m = read_manifest(str(_edit(doc, tmp_path, "t.json")))
    assert m.seal.status == "missing"
    with pytest.raises(ManifestError, match="no seal"):
        require_trusted(m)
    require_trusted(m, allow_unsealed=True)
    assert len(m.entries) == len(doc["files"])


def test_an_unknown_seal_method_is_invalid(sealed: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    _, doc = sealed
    doc["seal"]["canonicalization"] = "something-else/1"
    assert read_manifest(str(_edit(doc, tmp_path, "t.json"))).seal.status == "invalid"


def test_duplicate_keys_are_refused(sealed: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    path, _ = sealed
    text = path.read_text(encoding="utf-8").replace('"schema": ', '"schema": "x", "schema": ', 1)
    p = tmp_path / "dup.json"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ManifestError, match="repeats the key 'schema'"):
        read_manifest(str(p))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"schema": "evidence-cli/scan/99", "files": []}', "unknown manifest schema"),
        (b'{"files": [', "not valid JSON"),
        (b'{"schema": "evidence-cli/scan/1"}\n{"path": "a"}\n', "JSON Lines"),
        (b"[1, 2]", "not a manifest|not an evidence-cli"),
        # (A UTF-16 byte-order mark, then half a character.)
        (b"\xff\xfe{", r"not UTF-16 text \(byte 2\)"),
        (b"\xff\xfe{\x00", "JSON in UTF-16"),
        (b"", "no hash line"),
        (b"hello world\n", "not a hash-list line"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01", "line 1 holds NUL bytes: the file is not text"),
    ],
)
def test_unreadable_manifests(tmp_path: Path, content: bytes, message: str) -> None:
    p = tmp_path / "m"
    p.write_bytes(content)
    with pytest.raises(ManifestError, match=message):
        read_manifest(str(p))


def test_a_manifest_that_is_not_a_regular_file_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ManifestError, match="not a regular file"):
        read_manifest(str(fifo))
    with pytest.raises(ManifestError, match="cannot read"):
        read_manifest(str(tmp_path / "absent.json"))


def _resealed(doc: dict[str, Any]) -> dict[str, Any]:
    doc["seal"]["value"] = seal_value(doc)
    return doc


@pytest.mark.parametrize("evil", ["../outside.txt", "/etc/passwd", "a/../../b", "a//b", "./a", ""])
def test_a_resealed_manifest_cannot_point_outside_the_root(
    sealed: tuple[Path, dict[str, Any]], tmp_path: Path, evil: str
) -> None:
    _, doc = sealed
    doc["files"][0]["path"] = evil
    doc["files"][0]["path_bytes"] = None
    with pytest.raises(ManifestError, match="not a relative path inside the root"):
        read_manifest(str(_edit(_resealed(doc), tmp_path, "evil.json")))


def test_two_different_claims_about_one_path_are_refused(sealed: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    _, doc = sealed
    rec = next(r for r in doc["files"] if r["kind"] == "file" and r["size"])
    doc["files"].append(dict(rec, hashes={**rec["hashes"], "md5": "0" * 32}))
    with pytest.raises(ManifestError, match="twice"):
        read_manifest(str(_edit(_resealed(doc), tmp_path, "twice.json")))


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r.update(description="something else"),  # not kept in the entry
        lambda r: r.update(metadata={"exif": {"Make": "planted"}}),
        lambda r: r["filesystem"].update(modified="2001-01-01T00:00:00Z"),
    ],
)
def test_one_path_listed_twice_with_records_that_differ_anywhere_is_refused(
    sealed: tuple[Path, dict[str, Any]], tmp_path: Path, change: Any
) -> None:
    _, doc = sealed
    rec = next(r for r in doc["files"] if r["kind"] == "file" and r["size"])
    doc["files"].append(json.loads(json.dumps(rec)))
    m = read_manifest(str(_edit(_resealed(doc), tmp_path, "same.json")))  # an exact repeat is one entry
    assert m.sealed and len(m.entries) == len(doc["files"]) - 1
    change(doc["files"][-1])
    with pytest.raises(ManifestError, match="twice with different contents"):
        read_manifest(str(_edit(_resealed(doc), tmp_path, "twice.json")))


def test_check_relative() -> None:
    assert check_relative(b"a/b c/\xff", "x") == b"a/b c/\xff"
    assert check_relative(b".", "x") == b"."
    assert check_relative(b"..foo/...", "x") == b"..foo/..."
    for bad in (b"..", b"../a", b"/a", b"a/", b"a/./b", b"a\x00b", b""):
        with pytest.raises(ManifestError):
            check_relative(bad, "x")


def test_root_bytes_give_the_exact_root(tmp_path: Path) -> None:
    weird = tmp_path / os.fsdecode(b"root-\xff")
    weird.mkdir()
    (weird / "f").write_bytes(b"x")
    doc = write_manifest(weird, tmp_path / "m.json")
    assert doc["scan"]["root_bytes"] == base64.b64encode(os.fsencode(weird)).decode()
    assert read_manifest(str(tmp_path / "m.json")).base == os.fsencode(weird)


def test_old_exports_without_scan_root_use_options_base(sealed: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    _, doc = sealed
    base = doc["scan"].pop("root")
    doc["scan"].pop("root_bytes")
    m = read_manifest(str(_edit(_resealed(doc), tmp_path, "old.json")))
    assert m.base == base.encode()


def test_scan_info_root_round_trips_and_is_optional() -> None:
    plain = ScanInfo(tool={}, case={}, roots=("/r",), started_utc="t", finished_utc=None, options={})
    assert "root" not in plain.to_dict()["scan"]
    with_root = ScanInfo(
        tool={}, case={}, roots=("/r",), started_utc="t", finished_utc=None, options={}, root="/r", root_bytes=None
    )
    d = with_root.to_dict()
    assert d["scan"]["root"] == "/r" and d["scan"]["root_bytes"] is None
    assert ScanInfo.from_dict(d) == with_root


def test_verify_entry_round_trips() -> None:
    from evidence_cli.models import Problem

    e = VerifyEntry(
        path="a\\xff",
        path_bytes="Yf8=",
        status="moved",
        in_manifest=True,
        kind="file",
        expected={"size": 1, "hashes": {"md5": "0" * 32}},
        actual={"size": 1},
        changed=("md5",),
        moved_to="b",
        moved_to_bytes=None,
        problems=(Problem("hash", "error", "OSError", "boom"),),
        note="n",
    )
    assert VerifyEntry.from_dict(json.loads(json.dumps(e.to_dict()))) == e


# --- plain hash lists ------------------------------------------------------------------


def test_gnu_sum_list_with_escapes_tag_lines_comments_and_crlf(tmp_path: Path) -> None:
    h = hashlib.sha256(b"x").hexdigest()
    content = (
        b"# a comment\n"
        + f"{h}  plain name\r\n".encode()
        + f"\\{h}  back\\\\slash\\nnew\\rline\n".encode()
        + f"{h} *./star/binary\n".encode()
        + b"\n"
        + f"SHA256 (tagged \xff) = {h}\n".encode("latin-1")
        + f"{h}  raw\\backslash-not-escaped\n".encode()
    )
    p = tmp_path / "SHA256SUMS"
    p.write_bytes(content)
    m = read_manifest(str(p))
    assert m.format == "sha256sum"
    assert m.seal.status == "not-sealed" and m.base is None
    assert [e.rel for e in m.entries] == [
        b"plain name",
        b"back\\slash\nnew\rline",
        b"star/binary",
        b"tagged \xff",
        b"raw\\backslash-not-escaped",
    ]
    assert {e.hashes["sha256"] for e in m.entries} == {h}


def test_bsd_md5_r_lists_one_space_before_the_name(tmp_path: Path) -> None:
    """macOS and FreeBSD: ``md5 -r *``, ``sha256 -r *`` (``<hex> <name>``, unescaped). The
    first untagged line tells the form; names may then start with a space or ``*``."""
    h = hashlib.md5(b"x").hexdigest()
    p = tmp_path / "MD5SUMS"
    p.write_bytes(f"{h} IMG 1.jpg\n{h}  leading space\n{h} *star\nMD5 (tagged) = {h}\n{h} back\\slash\n".encode())
    m = read_manifest(str(p))
    assert m.format == "md5sum"
    assert [e.rel for e in m.entries] == [b"IMG 1.jpg", b" leading space", b"*star", b"tagged", b"back\\slash"]
    # A GNU list stays GNU: a line of the other form is refused, not read with a name cut.
    p.write_bytes(f"{h}  a\n{h} b\n".encode())
    with pytest.raises(ManifestError, match="line 2: one space before the name .md5 -r form., in a list whose"):
        read_manifest(str(p))


def test_b2sum_tag_lists(tmp_path: Path) -> None:
    """`b2sum --tag` names its digests: read as BLAKE2b and verified. Untagged, a b2sum line
    is as long as a SHA-512 one (read as sha512sum: verify then says the list may be of
    another algorithm); `b2sum -l 256 --tag` is a digest this tool does not compute."""
    tree = tmp_path / "ev"
    tree.mkdir()
    (tree / "a").write_bytes(b"x")
    digest = hashlib.blake2b(b"x").hexdigest()
    p = tmp_path / "B2SUMS"
    p.write_text(f"BLAKE2b (a) = {digest}\n")
    m = read_manifest(str(p))
    assert m.format == "b2sum" and m.seal.status == "not-sealed"
    assert [(e.rel, dict(e.hashes)) for e in m.entries] == [(b"a", {"blake2b": digest})]
    assert [e.status for e in verify(m, str(tree))] == ["ok"]
    p.write_text(f"{digest}  a\n")
    m = read_manifest(str(p))
    assert m.format == "sha512sum"  # the assumption is stated:
    assert m.notes == ("its lines do not name their algorithm: their digests are read as sha512, by their length",)
    p.write_text(f"BLAKE2b-256 (a) = {hashlib.blake2b(b'x', digest_size=32).hexdigest()}\n")
    with pytest.raises(ManifestError, match=r"line 1: BLAKE2b-256 digests \(b2sum -l\) are not computed"):
        read_manifest(str(p))


def test_the_examiner_names_the_algorithm_of_an_untagged_list(tmp_path: Path) -> None:
    """``algorithm=`` reads untagged lines as that algorithm (b2sum's default output), with
    a note saying the examiner named it; their digests must have its length, tagged lines
    must agree, and a JSON export or hashdeep file (which name their digests) refuse it."""
    tree = tmp_path / "ev"
    tree.mkdir()
    (tree / "a").write_bytes(b"x")
    (tree / "b").write_bytes(b"yy")
    b2 = {n: hashlib.blake2b((tree / n).read_bytes()).hexdigest() for n in "ab"}
    p = tmp_path / "B2SUMS"
    p.write_text(f"{b2['a']}  a\nBLAKE2b (b) = {b2['b']}\n")
    m = read_manifest(str(p), algorithm="blake2b")
    assert m.format == "b2sum"
    assert [(e.rel, dict(e.hashes)) for e in m.entries] == [(b"a", {"blake2b": b2["a"]}), (b"b", {"blake2b": b2["b"]})]
    said = "its lines do not name their algorithm: their digests are read as blake2b, as the examiner said"
    assert m.notes == (said,)
    assert [e.status for e in verify(m, str(tree))] == ["ok", "ok"]
    assert read_manifest(str(p), algorithm="blake2b").describe()["notes"] == list(m.notes)
    # Tagged lines alone: no note (they named it themselves).
    p.write_text(f"BLAKE2b (b) = {b2['b']}\n")
    assert read_manifest(str(p), algorithm="blake2b").notes == ()
    with pytest.raises(ManifestError, match=r"line 1: a blake2b digest in a list of sha512 digests, as the examiner"):
        read_manifest(str(p), algorithm="sha512")
    p.write_text(f"{hashlib.md5(b'x').hexdigest()}  a\n")
    with pytest.raises(ManifestError, match=r"line 1: a digest of 32 hex digits, where blake2b digests have 128"):
        read_manifest(str(p), algorithm="blake2b")
    assert dict(read_manifest(str(p), algorithm="md5").entries[0].hashes) == {"md5": hashlib.md5(b"x").hexdigest()}
    with pytest.raises(ManifestError, match=r"unknown digest 'sha3_256'"):
        read_manifest(str(p), algorithm="sha3_256")
    p.write_text("%%%% HASHDEEP-1.0\n%%%% size,md5,filename\n1,{},a\n".format(hashlib.md5(b"x").hexdigest()))
    with pytest.raises(ManifestError, match=r"is a hashdeep file, which names its digests"):
        read_manifest(str(p), algorithm="md5")
    p.write_text("{}")
    with pytest.raises(ManifestError, match=r"is a JSON export, which names its digests"):
        read_manifest(str(p), algorithm="md5")


def test_a_list_with_windows_folder_separators_says_so(tmp_path: Path) -> None:
    """Backslashes stay part of the names (a Linux name may hold one); a list whose names
    have backslashes and no '/' gets a note, which verify prints, saying why its files
    show as missing or moved."""
    h = hashlib.sha256(b"x").hexdigest()
    p = tmp_path / "list"
    p.write_text(f"\\{h}  photos\\\\IMG_1.jpg\n{h}  notes.txt\n")
    m = read_manifest(str(p))
    assert [e.rel for e in m.entries] == [b"photos\\IMG_1.jpg", b"notes.txt"]
    by_length = "its lines do not name their algorithm: their digests are read as sha256, by their length"
    assert len(m.notes) == 2 and m.notes[0] == by_length and "made on Windows" in m.notes[1]
    p.write_text(f"\\{h}  photos\\\\IMG_1.jpg\n{h}  sub/notes.txt\n")  # a '/' too: a name of its own
    assert read_manifest(str(p)).notes == (by_length,)


def test_md5_lists_and_absolute_names(tmp_path: Path) -> None:
    h = hashlib.md5(b"x").hexdigest()
    p = tmp_path / "list.md5"
    p.write_bytes(f"{h}  /ev/case/a.txt\n{h}  /ev/case/sub/b.txt\n".encode())
    m = read_manifest(str(p))
    assert m.format == "md5sum"
    assert m.base == b"/ev/case"
    assert [e.rel for e in m.entries] == [b"a.txt", b"sub/b.txt"]


@pytest.mark.parametrize("hashdeep", [False, True])
def test_absolute_names_sharing_only_the_system_root_give_no_root(tmp_path: Path, hashdeep: bool) -> None:
    """Names from all over the file system: '/' was taken as the root, and verify walked
    and hashed the whole system. Now no root is taken (as for relative names); a list made
    from '/' by hashdeep says so, and keeps it."""
    h = hashlib.md5(b"x").hexdigest()
    p = tmp_path / "list"
    if hashdeep:
        head = "%%%% HASHDEEP-1.0\n%%%% size,md5,filename\n"
        p.write_text(f"{head}1,{h},/etc/x\n1,{h},/home/u/y\n")
    else:
        p.write_text(f"{h}  /etc/x\n{h}  /home/u/y\n")
    m = read_manifest(str(p))
    assert m.base is None and NO_COMMON_FOLDER in m.notes
    assert [e.rel for e in m.entries] == [b"etc/x", b"home/u/y"]
    with pytest.raises(ManifestError, match="share no folder but '/'.*--root"):
        verify(m)
    if hashdeep:
        p.write_text(f"{head}## Invoked from: /\n1,{h},/etc/x\n1,{h},/home/u/y\n")
        m = read_manifest(str(p))
        assert m.base == b"/" and m.notes == ()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (f"{'0' * 64}  a\n{'0' * 32}  b\n", "md5 digest in a list of sha256"),
        (f"\\{'0' * 64}  bad\\escape\n", "invalid escape"),
        (f"{'0' * 64}  /abs\n{'0' * 64}  rel\n", "mixes absolute and relative"),
        (f"{'0' * 64}  ../up\n", "not a relative path"),
        (f"{'0' * 64}  a\n{'1' * 64}  a\n", "twice"),
        (f"{'0' * 63}  a\n", "not a hash-list line"),
        # The root folder itself, not a file: "/" made verify walk the whole file system.
        (f"{'0' * 64}  .\n", "root folder itself"),
        (f"{'0' * 64}  /\n", "root folder itself"),
        (f"{'0' * 64}  //\n", "root folder itself"),
        (f"{'0' * 64}  /ev/a\n{'0' * 64}  /\n", "line 2: the name is the root folder itself"),
        (f"SHA256 (.) = {'0' * 64}\n", "root folder itself"),
    ],
)
def test_bad_sum_lists(tmp_path: Path, content: str, message: str) -> None:
    p = tmp_path / "l"
    p.write_text(content)
    with pytest.raises(ManifestError, match=message):
        read_manifest(str(p))


def test_escape_rules() -> None:
    assert unescape_name(b"a\\\\b\\nc\\rd", "x") == b"a\\b\nc\rd"
    with pytest.raises(ManifestError):
        unescape_name(b"trailing\\", "x")


HASHDEEP = """%%%% HASHDEEP-1.0
%%%% size,md5,sha256,tiger,filename
## Invoked from: /cases/ev
## # hashdeep -r -l -c md5,sha256,tiger .
##
1,{md5},{sha},{tiger},./a,with,commas
1,{md5},{sha},{tiger},/cases/ev/sub/b
"""


def test_hashdeep_file(tmp_path: Path) -> None:
    md5, sha = hashlib.md5(b"x").hexdigest(), hashlib.sha256(b"x").hexdigest()
    text = HASHDEEP.format(md5=md5, sha=sha, tiger="0" * 48)
    p = tmp_path / "known.txt"
    p.write_text(text.replace("/cases/ev/sub/b", "./sub/b"))
    m = read_manifest(str(p))
    assert m.format == "hashdeep" and m.seal.status == "not-sealed"
    assert m.base == b"/cases/ev"
    assert [(e.rel, e.size, dict(e.hashes)) for e in m.entries] == [
        (b"a,with,commas", 1, {"md5": md5, "sha256": sha}),
        (b"sub/b", 1, {"md5": md5, "sha256": sha}),
    ]
    assert m.notes == ("tiger digests are not checked (not computed by this tool)",)
    # Absolute names under "Invoked from" become relative to it.
    p.write_text(text.replace("./a,with,commas", "/cases/ev/a,with,commas"))
    assert [e.rel for e in read_manifest(str(p)).entries] == [b"a,with,commas", b"sub/b"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("%%%% HASHDEEP-1.0\n1,abc,./a\n", "before the hashdeep column line"),
        ("%%%% HASHDEEP-1.0\n%%%% size,crc,filename\n", "unknown hashdeep digest"),
        ("%%%% HASHDEEP-1.0\n%%%% size,md5,filename\nx,{md5},./a\n", "not a hashdeep line"),
        ("%%%% HASHDEEP-1.0\n%%%% size,tiger,filename\n1,{tiger},./a\n", "no digest this tool can check"),
        ("%%%% HASHDEEP-1.0\n%%%% size,md5,filename\n", "no hash line"),
        # More digits than any size (and than Python converts: 4,300): was a ValueError traceback.
        ("%%%% HASHDEEP-1.0\n%%%% size,md5,filename\n" + "9" * 5000 + ",{md5},./a\n", "not a hashdeep line"),
        ("%%%% HASHDEEP-1.0\n%%%% size,md5,filename\n" + "1" * 21 + ",{md5},./a\n", "not a hashdeep line"),
        ("%%%% HASHDEEP-1.0\n%%%% size,md5,filename\n1,{md5},/\n", "root folder itself"),
    ],
)
def test_bad_hashdeep_files(tmp_path: Path, text: str, message: str) -> None:
    p = tmp_path / "h"
    p.write_text(text.format(md5="0" * 32, tiger="0" * 48))
    with pytest.raises(ManifestError, match=message):
        read_manifest(str(p))


BIG = "9" * 5000  # more digits than Python converts from text (4,300, since 3.10.7/3.11)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        # Each was a traceback (ValueError, TypeError) before it was a clear refusal.
        pytest.param(
            lambda d: d["files"][0].update(size="BIG"),
            "number too long",
            marks=pytest.mark.skipif(not hasattr(sys, "get_int_max_str_digits"), reason="no digit limit here"),
        ),
        (lambda d: d["files"][0].update(kind=["file"]), "unknown kind"),
        (lambda d: d["scan"].update(roots=[""]), "not a path"),
    ],
)
def test_malformed_json_manifests_are_refused_clearly(tmp_path: Path, change: Any, message: str) -> None:
    make_tree(tmp_path / "ev", specials=False)
    doc = write_manifest(tmp_path / "ev", tmp_path / "m.json")
    doc.pop("seal")
    change(doc)
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(doc).replace('"BIG"', BIG))
    with pytest.raises(ManifestError, match=message):
        read_manifest(str(p))


# --- reading in pieces ------------------------------------------------------------------


def test_records_are_read_again_only_from_the_same_manifest(sealed: tuple[Path, dict[str, Any]]) -> None:
    path, doc = sealed
    m = read_manifest(str(path))
    assert m.has_records and list(m.iter_records()) == doc["files"]
    # The file is replaced after it was read: another (validly sealed) manifest.
    doc["files"][0]["size"] += 1
    path.write_text(json.dumps(_resealed(doc), indent=1), encoding="utf-8")
    with pytest.raises(ManifestError, match="changed since it was read"):
        list(m.iter_records())
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ManifestError, match="changed since it was read"):
        list(m.iter_records())
    # A CSV export of it is refused before anything is written.
    out = io.BytesIO()
    with pytest.raises(ManifestError, match="changed since it was read"):
        export_manifest(m, ExportFormat.CSV, out)
    assert out.getvalue() == b""


def test_hash_lists_have_no_records_to_read_again(tmp_path: Path) -> None:
    p = tmp_path / "list.sha256"
    p.write_text(f"{'a' * 64}  one.txt\n", encoding="utf-8")
    m = read_manifest(str(p))
    assert not m.has_records and list(m.iter_records()) == []


@pytest.mark.parametrize("kind", ["planted", {"a": 1}, ["file"]])
def test_a_tampered_manifest_is_reported_as_tampered_even_with_a_malformed_record(
    sealed: tuple[Path, dict[str, Any]], tmp_path: Path, kind: Any
) -> None:
    # (A kind that is an object or a list was a TypeError while the tamper hints were counted.)
    _, doc = sealed
    doc["files"][0]["kind"] = kind
    m = read_manifest(str(_edit(doc, tmp_path, "t.json")))
    assert m.seal.status == "invalid" and m.entries == ()


@pytest.mark.parametrize("tampered", [False, True])
def test_members_in_another_order_are_sealed_alike(
    sealed: tuple[Path, dict[str, Any]], tmp_path: Path, tampered: bool
) -> None:
    # "case" sorts before "files" but comes after it: the seal is computed in a second reading.
    _, doc = sealed
    if tampered:
        doc["case"]["examiner"] = "someone else"
    order = ["files", "summary", "seal", "case", "schema", "scan", "tool"]
    p = tmp_path / "order.json"
    p.write_text(json.dumps({k: doc[k] for k in order}, indent=2), encoding="utf-8")
    m = read_manifest(str(p))
    assert m.seal.status == ("invalid" if tampered else "valid")
    assert len(m.entries) == (0 if tampered else len(doc["files"]))


def test_a_files_member_that_is_not_a_list_is_refused(sealed: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    _, doc = sealed
    doc["files"] = {"a": 1}
    with pytest.raises(ManifestError, match="'files' is not a list"):
        read_manifest(str(_edit(_resealed(doc), tmp_path, "t.json")))
    doc["seal"]["value"] = "0" * 64
    assert read_manifest(str(_edit(doc, tmp_path, "u.json"))).seal.status == "invalid"


def test_a_byte_that_is_not_utf8_is_located(sealed: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    path, _ = sealed
    data = path.read_bytes()
    at = data.index(b'"case"') + 3
    p = tmp_path / "bad.json"
    p.write_bytes(b"\xef\xbb\xbf" + data[:at] + b"\xe9" + data[at:])
    with pytest.raises(ManifestError, match=f"not UTF-8 text \\(byte {at + 3}\\)"):
        read_manifest(str(p))


@pytest.mark.parametrize("piece", [1, 2, 4, 1 << 20])
def test_a_byte_order_mark_split_across_reads_is_still_one(
    sealed: tuple[Path, dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, piece: int
) -> None:
    """A read may return fewer bytes than asked (network and FUSE file systems). A mark
    split across two reads was decoded as text when the records were read again, and the
    manifest said it had changed since it was read (found by hypothesis, on 3.13)."""
    path, doc = sealed
    p = tmp_path / "bom.json"
    p.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    monkeypatch.setattr(manifest, "_CHUNK", piece)
    m = read_manifest(str(p))
    assert m.seal.status == "valid"
    assert list(m.iter_records()) == doc["files"]
    # Bytes that only start like a mark are read as what they are.
    short = tmp_path / "short.txt"
    short.write_bytes(b"\xef\xbb")
    with pytest.raises(ManifestError, match="not a hash-list line"):
        read_manifest(str(short))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('"size": ', '"size": 1e999, "x": ', "'1e999' is too large"),
        ('"size": ', '"size": -1E+400, "x": ', "too large"),
        ('"case": {', '"case": {"n": NaN, ', "not portable JSON: NaN is not JSON"),
        ('"case": {', '"case": {"n": -Infinity, ', "-Infinity is not JSON"),
    ],
)
def test_numbers_no_json_reader_agrees_on_are_refused(
    sealed: tuple[Path, dict[str, Any]], tmp_path: Path, old: str, new: str, message: str
) -> None:
    # Python's reader turns them into inf and nan, which the seal's canonical form
    # refuses: 'evidence verify' of such a manifest ended in a ValueError traceback.
    path, _ = sealed
    p = tmp_path / "n.json"
    p.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ManifestError, match=message):
        read_manifest(str(p))


@settings(max_examples=100, deadline=None)
@given(
    chosen=st.dictionaries(
        st.sampled_from(["md5", "sha1", "sha256", "sha512", "blake2b"]), st.binary(min_size=64, max_size=64)
    ),
    upper=st.booleans(),
)
def test_digests_read_like_the_dict_they_hold(chosen: dict[str, bytes], upper: bool) -> None:
    sizes = {"md5": 16, "sha1": 20, "sha256": 32, "sha512": 64, "blake2b": 64}
    hexes = {a: raw[: sizes[a]].hex() for a, raw in chosen.items()}
    given_in = {a: h.upper() if upper else h for a, h in hexes.items()}
    d = Digests(given_in)
    order = ["md5", "sha1", "sha256", "sha512", "blake2b"]
    assert list(d) == [a for a in order if a in hexes]  # always in ALGORITHMS order
    assert dict(d) == hexes and d == hexes and len(d) == len(hexes) and bool(d) == bool(hexes)
    assert d.as_dict() == hexes and list(d.as_dict()) == list(d) and d.names == tuple(d)
    assert all(d[a] == hexes[a] and a in d for a in hexes)
    assert "crc32" not in d and d.get("crc32") is None
    assert d == Digests(hexes) and hash(d) == hash(Digests(hexes))
    assert repr(d) == repr(dict(d))
    if hexes:
        a = next(iter(hexes))
        assert d != {**hexes, a: "0" * len(hexes[a])} or set(hexes[a]) == {"0"}
        with pytest.raises(ValueError):
            Digests({**hexes, a: hexes[a][:-2]})
    with pytest.raises(ValueError):
        Digests({**hexes, "crc32": "00"})


@pytest.mark.parametrize("field", ["root", "roots", "base"])
@pytest.mark.parametrize("resealed", [False, True])
def test_a_root_with_a_lone_surrogate_is_refused_not_a_traceback(
    sealed: tuple[Path, dict[str, Any]], tmp_path: Path, field: str, resealed: bool
) -> None:
    # JSON can write "\ud800", which no path has: encoding it raised UnicodeEncodeError,
    # and `evidence verify` of such a manifest ended in a traceback (found by fuzzing
    # manifests). Tampered, the manifest is judged so; resealed, its root is refused.
    _, doc = sealed
    scan = doc["scan"]
    if field == "root":
        scan["root"] = scan["root"] + "/\ud800"
        scan["root_bytes"] = None
    elif field == "roots":
        scan["roots"] = [scan["roots"][0] + "/\ud800"]
    else:  # an old export: no root, the base among the options
        scan.pop("root")
        scan.pop("root_bytes")
        scan["options"]["base"] = "/\ud800"
    p = tmp_path / "surrogate.json"
    p.write_text(json.dumps(_resealed(doc) if resealed else doc), encoding="ascii")  # (the escape as written)
    if not resealed:
        m = read_manifest(str(p))
        assert m.seal.status == "invalid" and m.entries == ()
        assert (m.base is None) == (field != "roots")  # (an untrusted root, kept only to refuse writing in it)
        return
    with pytest.raises(ManifestError, match="is not a path .it holds a lone surrogate"):
        read_manifest(str(p))


def test_verify_of_a_manifest_with_a_lone_surrogate_root_exits_2(
    sealed: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from evidence_cli.cli import cli

    for resealed in (False, True):
        _, doc = sealed
        doc = json.loads(json.dumps(doc))
        doc["scan"]["root"] = "/\ud800"
        doc["scan"]["root_bytes"] = None
        p = tmp_path / f"s{resealed}.json"
        p.write_text(json.dumps(_resealed(doc) if resealed else doc), encoding="ascii")
        result = CliRunner().invoke(cli, ["verify", str(p)])
        assert result.exit_code == 2, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert "Traceback" not in result.output


def test_names_take_the_article_they_are_read_with(tmp_path: Path) -> None:
    """ "an md5sum list", "a sha256 digest": what verify prints reads as English."""
    assert [with_article(n) for n in ("md5sum", "md5", "sha256sum", "blake2b", "hashdeep", "evidence-json")] == [
        "an md5sum",
        "an md5",
        "a sha256sum",
        "a blake2b",
        "a hashdeep",
        "an evidence-json",
    ]
    p = tmp_path / "list"
    p.write_text(f"{hashlib.md5(b'x').hexdigest()}  a\n")
    assert read_manifest(str(p)).seal.message == "an md5sum list has no seal"
    p.write_text(f"{hashlib.sha1(b'x').hexdigest()}  a\nMD5 (b) = {hashlib.md5(b'x').hexdigest()}\n")
    with pytest.raises(ManifestError, match=r"line 2: an md5 digest in a list of sha1 digests"):
        read_manifest(str(p))


def test_openssl_dgst_lists(tmp_path: Path) -> None:
    """``openssl dgst`` output names its algorithm (``SHA2-256(name)= digest`` from OpenSSL
    3, ``SHA256(name)= digest`` from 1.1): read and verified; the name runs to the last
    ``)= ``; an algorithm this tool does not compute is refused, naming it."""
    tree = tmp_path / "ev"
    tree.mkdir()
    names = {"a": b"x", "we ird)= name": b"y", "b(1)": b"z"}
    for n, data in names.items():
        (tree / n).write_bytes(data)
    p = tmp_path / "list"
    for sha256, md5 in (("SHA2-256", "MD5"), ("SHA256", "MD5")):
        lines = [f"{sha256}({n})= {hashlib.sha256(d).hexdigest()}" for n, d in names.items()]
        p.write_text("\n".join(lines) + "\n")
        m = read_manifest(str(p))
        assert m.format == "sha256sum" and m.notes == ()  # (they name their algorithm)
        assert sorted(e.rel for e in m.entries) == sorted(n.encode() for n in names)
        assert {e.status for e in verify(m, str(tree))} == {"ok"}
        p.write_text(f"{md5}(a)= {hashlib.md5(b'x').hexdigest()}\n{hashlib.md5(b'y').hexdigest()}  we ird)= name\n")
        assert {e.status for e in verify(read_manifest(str(p)), str(tree)) if e.in_manifest} == {"ok"}
    p.write_text(f"BLAKE2B-512(a)= {hashlib.blake2b(b'x').hexdigest()}\n")
    assert dict(read_manifest(str(p)).entries[0].hashes) == {"blake2b": hashlib.blake2b(b"x").hexdigest()}
    p.write_text(f"SHA3-256(a)= {hashlib.sha3_256(b'x').hexdigest()}\n")
    with pytest.raises(ManifestError, match=r"line 1: SHA3-256 digests \(openssl dgst\) are not computed"):
        read_manifest(str(p))
    p.write_text(f"SHA2-256(a)= {hashlib.sha256(b'x').hexdigest()}\nSHA1(a)= {hashlib.sha1(b'x').hexdigest()}\n")
    with pytest.raises(ManifestError, match=r"line 2: a sha1 digest in a list of sha256 digests"):
        read_manifest(str(p))
