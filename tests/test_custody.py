"""`evidence custody`: the hash chain, every way of breaking it, the items re-hashed, and
the commands as a user runs them."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence_cli import custody
from evidence_cli.cli import cli
from evidence_cli.cli.common import utc_now
from evidence_cli.custody import GENESIS, SCHEMA, CustodyError, check, entry_hash

#: Lines shaped like entries (valid JSON, the right keys, wrong values) for the fuzz below.
SHAPES = [
    b'{"schema": "evidence-cli/custody/1", "seq": 1, "time_utc": 5, "host": "h", "tool": "t", "case": null, '
    b'"by": "b", "action": "a", "note": null, "items": [], "prev": "' + b"0" * 64 + b'", "hash": "x"}',
    b'{"schema": "evidence-cli/custody/1", "seq": true}',
    b"[1, 2, 3]",
    b'"just text"',
    b"[" * 5000,
    b'{"a": 1, "a": 2}',
]


def invoke(args: list[str], expect: int) -> Result:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == expect, result.output
    return result


@pytest.fixture
def case(tmp_path: Path) -> dict[str, Path]:
    image = tmp_path / "disk.img"
    image.write_bytes(b"disk image bytes\n" * 1000)
    manifest = tmp_path / "case.json"
    manifest.write_text('{"files": []}\n')
    log = tmp_path / "case.custody"
    invoke(["custody", "add", str(log), "--by", "J. Doe", "--action", "received", str(image), "--note", "bag S-1"], 0)
    invoke(["custody", "add", str(log), "--by", "J. Doe", "--action", "scanned", str(image), str(manifest)], 0)
    invoke(["custody", "add", str(log), "--by", "A. N. Other", "--action", "handed to court", "--case", "2026-041"], 0)
    return {"image": image, "manifest": manifest, "log": log, "tmp": tmp_path}


def lines(log: Path) -> list[bytes]:
    return log.read_bytes().splitlines(keepends=True)


def test_entries_are_chained_and_say_who_what_when(case: dict[str, Path]) -> None:
    entries = [json.loads(x) for x in lines(case["log"])]
    assert [e["seq"] for e in entries] == [1, 2, 3]
    assert entries[0]["prev"] == GENESIS
    assert [e["prev"] for e in entries[1:]] == [e["hash"] for e in entries[:2]]
    assert all(e["hash"] == entry_hash(e) and e["schema"] == SCHEMA for e in entries)
    first = entries[0]
    assert (first["by"], first["action"], first["note"], first["case"]) == ("J. Doe", "received", "bag S-1", None)
    data = case["image"].read_bytes()
    assert first["items"] == [
        {
            "path": str(case["image"]),
            "size": len(data),
            "md5": hashlib.md5(data).hexdigest(),
            "sha1": hashlib.sha1(data).hexdigest(),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    ]
    assert [len(e["items"]) for e in entries] == [1, 2, 0] and entries[2]["case"] == "2026-041"
    assert entries[0]["time_utc"] <= entries[1]["time_utc"] <= entries[2]["time_utc"]


def test_add_prints_the_head_and_verify_finds_it(case: dict[str, Path]) -> None:
    result = invoke(["custody", "add", str(case["log"]), "--by", "J. Doe", "--action", "checked"], 0)
    head = json.loads(lines(case["log"])[-1])["hash"]
    assert f"Chain head: {head}" in result.stderr and "Entry 4 added" in result.stderr
    shown = invoke(["custody", "verify", str(case["log"]), "--head", head, "--head", head.upper()], 0)
    assert f"Chain whole: 4 entries; head {head}." in shown.stderr and shown.stderr.count("in the chain.") == 2
    assert "J. Doe: received (bag S-1)" in shown.stdout and "A. N. Other: handed to court" in shown.stdout
    other = invoke(["custody", "verify", str(case["log"]), "--head", "ab" * 32], 2)
    assert "NOT in the chain" in other.stderr


def rewrite(log: Path, new: list[bytes]) -> None:
    log.write_bytes(b"".join(new))


def edited(line: bytes, **changes: object) -> bytes:
    entry = json.loads(line)
    entry.update(changes)
    return json.dumps(entry).encode() + b"\n"


@pytest.mark.parametrize(
    ("tamper", "said"),
    [
        (lambda ls: [edited(ls[0], by="Someone Else"), *ls[1:]], "line 1: its content does not match its hash"),
        (lambda ls: ls[1:], "line 1: numbered 2, not 1"),
        (lambda ls: [ls[0], ls[2]], "line 2: numbered 3, not 2"),
        (lambda ls: [ls[1], ls[0], ls[2]], "line 1: numbered 2, not 1"),
        (lambda ls: [ls[0], edited(ls[1], seq=2, prev="ab" * 32), ls[2]], "line 2: does not follow entry 1"),
        (lambda ls: [ls[0], b"not json\n", *ls[1:]], "line 2: not a JSON entry"),
        (lambda ls: [b"\xef\xbb\xbf" + ls[0], *ls[1:]], "line 1: starts with a byte-order mark"),
        (lambda ls: [ls[0], ls[1][:-2] + b', "by": "x"}\n', ls[2]], "line 2: not a JSON entry (ValueError)"),
        (lambda ls: [ls[0], edited(ls[1], extra=1), ls[2]], "line 2: not a custody entry (its keys"),
        (lambda ls: [ls[0], ls[1], edited(ls[2], schema="other/1")], "line 3: schema 'other/1'"),
        (lambda ls: [ls[0], ls[1], b"\xff\xfe\n"], "line 3: not a JSON entry (UnicodeDecodeError)"),
    ],
)
def test_every_way_of_breaking_the_chain_is_found_and_blocks_adding(
    case: dict[str, Path], tamper: object, said: str
) -> None:
    rewrite(case["log"], tamper(lines(case["log"])))  # type: ignore[operator]
    before = case["log"].read_bytes()
    result = invoke(["custody", "verify", str(case["log"])], 2)
    assert f"BROKEN at {said}" in result.stderr, result.stderr
    refused = invoke(["custody", "add", str(case["log"]), "--by", "x", "--action", "y"], 2)
    assert "nothing was added" in refused.stderr and case["log"].read_bytes() == before


def test_an_entry_with_a_recomputed_hash_but_wrong_types_is_refused(case: dict[str, Path]) -> None:
    entry = json.loads(lines(case["log"])[0])
    entry["items"] = "not a list"
    entry["hash"] = entry_hash(entry)
    rewrite(case["log"], [json.dumps(entry).encode() + b"\n"])
    assert check(str(case["log"])).broken == "line 1: not a custody entry (items is not a list of paths and digests)"


def test_a_log_cut_inside_its_last_line_is_refused(case: dict[str, Path]) -> None:
    whole = case["log"].read_bytes()
    case["log"].write_bytes(whole[:-1])  # the last entry is whole but its line break is gone
    said = "line 3: does not end with a line break (cut short, or re-saved by an editor)"
    assert said in str(check(str(case["log"])).broken)
    assert said in invoke(["custody", "verify", str(case["log"])], 2).stderr  # verify and add agree
    assert said in invoke(["custody", "add", str(case["log"]), "--by", "x", "--action", "y"], 2).stderr
    case["log"].write_bytes(whole[:-20])
    assert "line 3: not a JSON entry" in str(check(str(case["log"])).broken)


def test_nan_infinity_and_an_item_without_digest_break_the_chain_never_raise(case: dict[str, Path]) -> None:
    ls = lines(case["log"])
    for text in (
        ls[1].replace(b'"size": ', b'"x": NaN, "size": '),
        ls[1].replace(b'"size": ', b'"x": 1e999, "size": '),
        ls[1].replace(b'"size": ', b'"x": -Infinity, "size": '),
    ):
        rewrite(case["log"], [ls[0], text, ls[2]])
        assert check(str(case["log"])).broken == "line 2: not a JSON entry (NotPortable)"
        invoke(["custody", "add", str(case["log"]), "--by", "x", "--action", "y"], 2)
    entry = json.loads(ls[0])
    del entry["items"][0]["sha256"]
    entry["hash"] = entry_hash(entry)
    rewrite(case["log"], [json.dumps(entry).encode() + b"\n"])
    assert check(str(case["log"])).broken == "line 1: not a custody entry (items is not a list of paths and digests)"


def test_a_write_cut_short_is_taken_back(case: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    before = case["log"].read_bytes()
    real_write = os.write

    def half(fd: int, data: bytes) -> int:
        return real_write(fd, data[: len(data) // 2])

    monkeypatch.setattr(custody.os, "write", half)
    with pytest.raises(CustodyError, match="only .* bytes written"):
        custody.add(str(case["log"]), by="x", action="y", note=None, case=None, items=[], now=utc_now)
    monkeypatch.undo()
    assert case["log"].read_bytes() == before
    invoke(["custody", "add", str(case["log"]), "--by", "x", "--action", "after the failed write"], 0)


def test_an_empty_log_says_so(tmp_path: Path) -> None:
    log = tmp_path / "empty.custody"
    log.write_bytes(b"")
    result = invoke(["custody", "verify", str(log)], 0)
    assert "The log holds no entries" in result.stderr


def test_a_line_past_the_limit_is_damage(case: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(custody, "MAX_LINE", 100)
    assert check(str(case["log"])).broken == "line 1: longer than 100 bytes"


def test_a_clock_that_went_backwards_is_noted_not_broken(case: dict[str, Path]) -> None:
    ls = lines(case["log"])
    first = json.loads(ls[0])
    first["time_utc"] = "2099-01-01T00:00:00.000000Z"
    first["hash"] = entry_hash(first)
    # Rebuild the chain on the changed first entry, as a writer with a wrong clock would have.
    rebuilt = [json.dumps(first).encode() + b"\n"]
    prev = first["hash"]
    for raw in ls[1:]:
        e = json.loads(raw)
        e["prev"] = prev
        e["hash"] = prev = entry_hash(e)
        rebuilt.append(json.dumps(e).encode() + b"\n")
    rewrite(case["log"], rebuilt)
    found = check(str(case["log"]))
    assert found.broken is None and found.notes and "is before the entry above" in found.notes[0]


def test_items_hashed_again(case: dict[str, Path]) -> None:
    result = invoke(["custody", "verify", str(case["log"]), "--items"], 0)
    assert "Items: every one unchanged." in result.stderr
    case["image"].write_bytes(b"changed")
    case["manifest"].unlink()
    result = invoke(["custody", "verify", str(case["log"]), "--items"], 1)
    assert "MODIFIED    entry 1" in result.stdout and "MODIFIED    entry 2" in result.stdout
    assert "(size, md5, sha1, sha256)" in result.stdout
    assert f"MISSING     entry 2  {case['manifest']}" in result.stdout and "Items: 3 problems." in result.stderr


def test_bad_items_add_nothing(case: dict[str, Path]) -> None:
    before = case["log"].read_bytes()
    fifo = case["tmp"] / "a-fifo"
    os.mkfifo(fifo)
    for item, said in [
        (case["tmp"], "is a directory"),
        (fifo, "is not a regular file"),
        (case["tmp"] / "absent.img", "cannot read"),
        (case["log"], "is the log itself"),
    ]:
        result = invoke(["custody", "add", str(case["log"]), "--by", "x", "--action", "y", str(item)], 2)
        assert said in result.stderr and case["log"].read_bytes() == before
    invoke(["custody", "add", str(case["log"]), "--by", "", "--action", "y"], 2)
    assert case["log"].read_bytes() == before


def test_hostile_text_is_recorded_as_given_and_shown_escaped(case: dict[str, Path]) -> None:
    nasty = "\x1b[2J\x1b]0;owned\x07 Eve\u202e"
    invoke(["custody", "add", str(case["log"]), "--by", nasty, "--action", "=HYPERLINK(1)"], 0)
    assert json.loads(lines(case["log"])[-1])["by"] == nasty
    shown = invoke(["custody", "verify", str(case["log"])], 0)
    assert "\x1b" not in shown.output and "\x07" not in shown.output and "\u202e" not in shown.output


def test_adds_from_many_writers_at_once_keep_one_chain(tmp_path: Path) -> None:
    log = tmp_path / "busy.custody"
    failures: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(8):
                custody.add(
                    str(log),
                    by=f"w{n}",
                    action=f"a{i}",
                    note=None,
                    case=None,
                    items=[],
                    now=utc_now,
                )
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    found = check(str(log))
    assert found.broken is None and len(found.entries) == 32
    assert found.notes == []  # each time taken under the lock: they follow the entries' order


def test_an_unreadable_log(tmp_path: Path) -> None:
    with pytest.raises(CustodyError, match="cannot read custody log"):
        check(str(tmp_path / "absent.custody"))
    result = invoke(["custody", "verify", str(tmp_path / "absent.custody")], 2)
    assert "cannot read custody log" in result.stderr


# --- signatures (OpenSSH's ssh-keygen -Y) ---------------------------------------------------------

needs_ssh_keygen = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen (openssh-client) missing")


def ssh_key(folder: Path, name: str, principal: str) -> tuple[Path, str]:
    """(private key file, its allowed_signers line)."""
    key = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", principal, "-f", str(key)], check=True)
    kind, b64 = (folder / f"{name}.pub").read_text().split()[:2]
    return key, f"{principal} {kind} {b64}\n"


@needs_ssh_keygen
def test_signed_entries_are_checked_against_their_key_and_the_allowed_signers(tmp_path: Path) -> None:
    log = tmp_path / "case.custody"
    jdoe, jdoe_line = ssh_key(tmp_path, "jdoe", "jdoe@lab.example")
    eve, _ = ssh_key(tmp_path, "eve", "eve@elsewhere.example")
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(jdoe_line)
    added = invoke(["custody", "add", str(log), "--by", "J. Doe", "--action", "received", "--sign", str(jdoe)], 0)
    assert "(0 items, signed)" in added.stderr
    invoke(["custody", "add", str(log), "--by", "J. Doe", "--action", "checked"], 0)
    entry = json.loads(lines(log)[0])
    assert entry["signature"].startswith("-----BEGIN SSH SIGNATURE-----")
    shown = invoke(["custody", "verify", str(log)], 0)
    assert 'signature: good: Good "evidence-cli-custody" signature with ED25519 key SHA256:' in shown.stdout
    shown = invoke(["custody", "verify", str(log), "--allowed-signers", str(allowed)], 0)
    assert "signature for jdoe@lab.example with ED25519 key" in shown.stdout
    plain = invoke(["custody", "verify", str(log)], 0)
    assert "signature: NONE" in plain.stdout and "1 entry is not signed." in plain.stderr
    result = invoke(["custody", "verify", str(log), "--require-signed"], 2)
    assert "signature: NONE" in result.stdout and "1 entry has a bad or missing signature" in result.stderr
    invoke(["custody", "add", str(log), "--by", "Eve", "--action", "swapped", "--sign", str(eve)], 0)
    result = invoke(["custody", "verify", str(log), "--allowed-signers", str(allowed)], 2)
    assert "signature: BAD: signed by a key that" in result.stdout


@needs_ssh_keygen
def test_a_signature_cannot_be_removed_swapped_or_kept_over_an_edit(tmp_path: Path) -> None:
    log = tmp_path / "case.custody"
    jdoe, _ = ssh_key(tmp_path, "jdoe", "jdoe@lab.example")
    invoke(["custody", "add", str(log), "--by", "J. Doe", "--action", "received", "--sign", str(jdoe)], 0)
    whole = log.read_bytes()
    entry = json.loads(whole)
    unsigned = dict(entry)
    del unsigned["signature"]
    rewrite(log, [json.dumps(unsigned).encode() + b"\n"])
    assert check(str(log)).broken == "line 1: its content does not match its hash (edited after it was written)"
    # An edit whose hash is recomputed keeps the chain but not the signature.
    entry["action"] = "never received"
    entry["hash"] = entry_hash(entry)
    rewrite(log, [json.dumps(entry).encode() + b"\n"])
    assert check(str(log)).broken is None
    result = invoke(["custody", "verify", str(log)], 2)
    assert "signature: BAD" in result.stdout


def test_signing_with_a_key_that_does_not_exist_adds_nothing(tmp_path: Path) -> None:
    log = tmp_path / "case.custody"
    invoke(["custody", "add", str(log), "--by", "x", "--action", "y"], 0)
    before = log.read_bytes()
    result = invoke(["custody", "add", str(log), "--by", "x", "--action", "y", "--sign", str(tmp_path / "nokey")], 2)
    assert "cannot sign with" in result.stderr and log.read_bytes() == before


def test_without_ssh_keygen_signing_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no ssh-keygen there
    with pytest.raises(CustodyError, match="ssh-keygen .* is not installed"):
        custody.sign("00" * 32, str(tmp_path / "key"))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.binary(max_size=80), st.sampled_from(SHAPES)), max_size=6))
def test_any_log_bytes_are_checked_without_raising(parts: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "any.custody"
        log.write_bytes(b"\n".join(parts))
        found = check(str(log))
        assert found.broken is not None or all(e["hash"] == entry_hash(e) for e in found.entries)
        shown = CliRunner().invoke(cli, ["custody", "verify", str(log), "--items"])
        assert shown.exception is None or isinstance(shown.exception, SystemExit)
        assert shown.exit_code in (0, 1, 2)
