"""A chain-of-custody log: append-only, each entry bound to the one before by its hash.

The log is a JSON Lines file (UTF-8, one entry a line)::

    {"schema": "evidence-cli/custody/1", "seq": 1, "time_utc": "...", "host": "...",
     "tool": "evidence-cli 0.1.0", "case": null, "by": "J. Doe", "action": "received",
     "note": "...", "items": [{"path": "/abs/path", "size": 123, "md5": "...",
     "sha1": "...", "sha256": "..."}], "prev": "<64 hex>", "hash": "<64 hex>"}

``hash`` is the SHA-256 of the entry's canonical form (``evidence-cli/c14n-json/1``, as
the manifest's seal) without ``hash``; ``prev`` is the previous entry's ``hash`` (64
zeros for the first); ``seq`` counts from 1. Changing, removing, inserting or
reordering an entry breaks the chain from there on, and :func:`check` says where.

What the chain does not prove: anyone who can write the file can rewrite the whole of
it with new hashes. Keep the chain's head (the last ``hash``, printed after each entry)
outside the log — case notes, an email, a signed custody form — and give it to
``verify --head``: a log rewritten before that entry no longer holds it.

Entries are added under an exclusive ``flock`` of the log, after the whole chain was
checked (nothing is added to a broken chain), in one ``write`` on an ``O_APPEND``
descriptor, then ``fsync``.

Signatures (optional): an entry may hold ``signature``, an OpenSSH signature (``ssh-keygen
-Y sign``, namespace :data:`NAMESPACE`) of the SHA-256 of its canonical form without
``hash`` and ``signature`` (:func:`signed_digest`, as 64 hex characters). ``hash`` covers
the signature too, so removing or swapping one breaks the chain at the next entry (the
last entry's shows only as unsigned: ``verify --require-signed``, or the head kept
elsewhere). A signature says which
key signed; :func:`check_signature` checks it against the key inside it, or against an
``allowed_signers`` file (OpenSSH's format: ``principal key``), which names the signer.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import socket
import stat
import subprocess
import tempfile
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

from evidence_cli import __version__
from evidence_cli.errors import EvidenceError
from evidence_cli.hashing import DEFAULT_ALGORITHMS, hash_fd, open_readonly
from evidence_cli.jsonstream import finite_float, no_constant
from evidence_cli.manifest import canonical

SCHEMA = "evidence-cli/custody/1"
GENESIS = "0" * 64
#: Longest line read (a note can be long; a line past this is damage or an attack).
MAX_LINE = 16 * 1024 * 1024
#: Longest text kept in one field given on the command line.
MAX_TEXT = 64 * 1024
NAMESPACE = "evidence-cli-custody"
#: ssh-keygen gets this long to sign or check (a passphrase typed at its prompt included).
SSH_TIMEOUT = 300
KEYS = ("schema", "seq", "time_utc", "host", "tool", "case", "by", "action", "note", "items", "prev", "hash")


class CustodyError(EvidenceError):
    """The log cannot be used (unreadable, or its chain is broken): nothing was added."""


def entry_hash(entry: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical({k: v for k, v in entry.items() if k != "hash"})).hexdigest()


def signed_digest(entry: Mapping[str, Any]) -> str:
    """What a signature signs: the SHA-256 of the entry without ``hash`` and ``signature``."""
    return hashlib.sha256(canonical({k: v for k, v in entry.items() if k not in ("hash", "signature")})).hexdigest()


def _ssh_keygen(args: list[str], message: bytes | None) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["ssh-keygen", *args], input=message, capture_output=True, timeout=SSH_TIMEOUT, check=False
        )
    except FileNotFoundError:
        raise CustodyError("ssh-keygen (OpenSSH 8.2 or later) is not installed: signatures need it") from None
    except subprocess.TimeoutExpired:
        raise CustodyError(f"ssh-keygen did not finish within {SSH_TIMEOUT} s") from None


def _said(proc: subprocess.CompletedProcess[bytes]) -> str:
    lines = (proc.stderr + proc.stdout).decode("utf-8", "replace").strip().splitlines()
    return " ".join(line for line in lines if not line.startswith("Signing data on standard input")) or (
        f"exit {proc.returncode}"
    )


def sign(digest: str, key: str) -> str:
    """An OpenSSH signature of ``digest`` with ``key`` (a private key file, or a public key
    whose private half is in ssh-agent)."""
    proc = _ssh_keygen(["-Y", "sign", "-f", key, "-n", NAMESPACE], digest.encode("ascii"))
    text = proc.stdout.decode("ascii", "replace")
    if proc.returncode != 0 or "BEGIN SSH SIGNATURE" not in text:
        raise CustodyError(f"cannot sign with {key!r}: {_said(proc)}")
    return text


@dataclass
class SignatureCheck:
    good: bool
    said: str
    """ssh-keygen's verdict: ``Good "..." signature for PRINCIPAL with ED25519 key SHA256:...``."""
    principal: str | None = None


def check_signature(entry: Mapping[str, Any], allowed_signers: str | None = None) -> SignatureCheck:
    """Check an entry's signature: against the key it names (``allowed_signers`` None: it
    proves the entry unchanged since that key signed it, not whose key it is), or against
    an OpenSSH ``allowed_signers`` file (it also names the signer)."""
    message = signed_digest(entry).encode("ascii")
    with tempfile.NamedTemporaryFile("w", suffix=".sig", encoding="ascii", errors="replace") as sig:
        sig.write(entry["signature"])
        sig.flush()
        if allowed_signers is None:
            proc = _ssh_keygen(["-Y", "check-novalidate", "-n", NAMESPACE, "-s", sig.name], message)
            return SignatureCheck(proc.returncode == 0, _said(proc))
        found = _ssh_keygen(["-Y", "find-principals", "-s", sig.name, "-f", allowed_signers], None)
        principals = found.stdout.decode("utf-8", "replace").split()
        if found.returncode != 0 or not principals:
            return SignatureCheck(False, f"signed by a key that {allowed_signers} does not list")
        proc = _ssh_keygen(
            ["-Y", "verify", "-f", allowed_signers, "-I", principals[0], "-n", NAMESPACE, "-s", sig.name], message
        )
        return SignatureCheck(proc.returncode == 0, _said(proc), principals[0])


@dataclass
class Check:
    """What :func:`check` found."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    """The entries up to the first break (all of them when the chain is whole)."""
    broken: str | None = None
    """Where and how the chain breaks (None: whole)."""
    notes: list[str] = field(default_factory=list)
    """What is odd but does not break it (a clock that went backwards)."""

    @property
    def head(self) -> str:
        return self.entries[-1]["hash"] if self.entries else GENESIS


def _lines(fd: int) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, bytes without the newline, whether a newline ended it) of the log."""
    rest = b""
    number = 0
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        parts = (rest + chunk).split(b"\n")
        rest = parts.pop()
        for part in parts:
            number += 1
            yield number, part, True
        if len(rest) > MAX_LINE:
            yield number + 1, rest, False  # checked below: too long
            return
    if rest:
        yield number + 1, rest, False


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"key {k!r} given twice")
        out[k] = v
    return out


def _wrong_types(entry: Mapping[str, Any]) -> str | None:
    for key in ("time_utc", "host", "tool", "by", "action", "prev", "hash"):
        if not isinstance(entry[key], str):
            return f"{key} is not text"
    for key in ("case", "note"):
        if entry[key] is not None and not isinstance(entry[key], str):
            return f"{key} is not text"
    if "signature" in entry and not isinstance(entry["signature"], str):
        return "signature is not text"
    items = entry["items"]
    if not isinstance(items, list) or not all(
        isinstance(i, dict) and isinstance(i.get("path"), str) and isinstance(i.get("sha256"), str) for i in items
    ):
        return "items is not a list of paths and digests"
    return None


def check_fd(fd: int) -> Check:
    """Check the chain of the log open at ``fd`` (read from its start)."""
    out = Check()
    os.lseek(fd, 0, os.SEEK_SET)
    prev = GENESIS
    last_time = ""
    for number, raw, ended in _lines(fd):
        where = f"line {number}"
        if len(raw) > MAX_LINE:
            out.broken = f"{where}: longer than {MAX_LINE} bytes"
            return out
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            out.broken = f"{where}: starts with a byte-order mark (the log was re-saved by an editor)"
            return out
        try:
            entry = json.loads(
                raw.decode("utf-8"),
                object_pairs_hook=_no_duplicates,
                parse_float=finite_float,
                parse_constant=no_constant,
            )
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            out.broken = f"{where}: not a JSON entry ({type(exc).__name__})"
            return out
        if not isinstance(entry, dict) or tuple(sorted(set(entry) - {"signature"})) != tuple(sorted(KEYS)):
            out.broken = f"{where}: not a custody entry (its keys are not {', '.join(KEYS)})"
            return out
        if entry["schema"] != SCHEMA:
            out.broken = f"{where}: schema {str(entry['schema'])[:80]!r}, not {SCHEMA}"
            return out
        if entry["seq"] != number or isinstance(entry["seq"], bool):
            out.broken = f"{where}: numbered {str(entry['seq'])[:20]}, not {number} (an entry removed, added or moved)"
            return out
        odd = _wrong_types(entry)
        if odd:
            out.broken = f"{where}: not a custody entry ({odd})"
            return out
        if entry["prev"] != prev:
            out.broken = f"{where}: does not follow entry {number - 1} (its prev is not that entry's hash)"
            return out
        if entry["hash"] != entry_hash(entry):
            out.broken = f"{where}: its content does not match its hash (edited after it was written)"
            return out
        if not ended:
            out.broken = (
                f"{where}: does not end with a line break (cut short, or re-saved by an editor); "
                "nothing can be added after it"
            )
            return out
        when = entry["time_utc"]
        if when < last_time:
            out.notes.append(f"line {number}: its time {when} is before the entry above ({last_time})")
        last_time = when
        prev = entry["hash"]
        out.entries.append(entry)
    return out


def check(path: str | bytes) -> Check:
    """Check a log's chain. Raises :class:`CustodyError` when it cannot be read."""
    try:
        fd = open_readonly(path)
    except OSError as exc:
        raise CustodyError(f"cannot read custody log {os.fsdecode(path)!r}: {exc.strerror}") from None
    try:
        return check_fd(fd)
    except OSError as exc:
        raise CustodyError(f"cannot read custody log {os.fsdecode(path)!r}: {exc.strerror}") from None
    finally:
        os.close(fd)


def hash_item(path: str) -> dict[str, Any]:
    """An item's absolute path, size and digests (one read pass, read-only)."""
    absolute = os.path.abspath(path)
    fd = open_readonly(absolute)
    try:
        if not _is_regular(fd):
            raise CustodyError(f"{path!r} is not a regular file (give a file: a folder's manifest, an image)")
        result = hash_fd(fd, DEFAULT_ALGORITHMS, expected_size=os.fstat(fd).st_size)
    finally:
        os.close(fd)
    return {"path": absolute, "size": result.size, **result.digests}


def _is_regular(fd: int) -> bool:
    return stat.S_ISREG(os.fstat(fd).st_mode)


def _bounded(name: str, text: str | None) -> str | None:
    if text is not None and len(text) > MAX_TEXT:
        raise CustodyError(f"--{name} is {len(text)} characters; at most {MAX_TEXT}")
    return text


def add(
    path: str,
    *,
    by: str,
    action: str,
    note: str | None,
    case: str | None,
    items: Sequence[dict[str, Any]],
    now: Callable[[], str],
    sign_with: str | None = None,
) -> dict[str, Any]:
    """Append one entry to the log at ``path`` (created if missing) and return it.

    The log is locked, its whole chain checked (a broken one is refused: nothing is added),
    the entry's time taken with ``now()`` (under the lock, so that times follow the
    entries' order when several examiners add at once), then the entry is signed with
    ``sign_with`` (see :func:`sign`) if given, written in one ``write`` and synced. A
    write cut short is taken back (the file truncated to its old size).
    """
    entry: dict[str, Any] = {
        "schema": SCHEMA,
        "seq": 0,
        "time_utc": "",
        "host": socket.gethostname(),
        "tool": f"evidence-cli {__version__}",
        "case": _bounded("case", case),
        "by": _bounded("by", by),
        "action": _bounded("action", action),
        "note": _bounded("note", note),
        "items": list(items),
        "prev": GENESIS,
        "hash": "",
    }
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    except OSError as exc:
        raise CustodyError(f"cannot open custody log {path!r}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        found = check_fd(fd)
        if found.broken is not None:
            raise CustodyError(f"custody log {path!r} is broken at {found.broken}: nothing was added")
        size = os.fstat(fd).st_size  # check_fd refused a log whose last line has no line break
        entry["time_utc"] = now()
        entry["seq"] = len(found.entries) + 1
        entry["prev"] = found.head
        if sign_with is not None:
            entry["signature"] = sign(signed_digest(entry), sign_with)
        entry["hash"] = entry_hash(entry)
        line = json.dumps(entry, ensure_ascii=True, allow_nan=False).encode("ascii") + b"\n"
        try:
            written = os.write(fd, line)
            if written != len(line):
                raise OSError(errno.ENOSPC, f"only {written} of {len(line)} bytes written")
            os.fsync(fd)
        except OSError:
            os.ftruncate(fd, size)  # a line cut short would block every later entry: take it back
            raise
    except OSError as exc:
        raise CustodyError(f"cannot write custody log {path!r}: {exc.strerror}") from None
    finally:
        os.close(fd)
    return entry


@dataclass
class ItemState:
    entry: int
    path: str
    status: str
    """``ok``, ``modified``, ``missing`` or ``unreadable``."""
    detail: str = ""


def recheck_items(entries: Sequence[Mapping[str, Any]]) -> Iterator[ItemState]:
    """Each item of each entry against what is at its path now (each path read once)."""
    seen: dict[str, dict[str, Any] | ItemState] = {}
    for entry in entries:
        for item in entry.get("items") or ():
            path = item["path"]
            if path not in seen:
                try:
                    seen[path] = hash_item(path)
                except FileNotFoundError:
                    seen[path] = ItemState(0, path, "missing")
                except (OSError, CustodyError) as exc:
                    why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                    seen[path] = ItemState(0, path, "unreadable", why)
            now = seen[path]
            if isinstance(now, ItemState):
                yield ItemState(entry["seq"], path, now.status, now.detail)
                continue
            changed = [k for k in ("size", *DEFAULT_ALGORITHMS) if k in item and item[k] != now[k]]
            if changed:
                yield ItemState(entry["seq"], path, "modified", ", ".join(changed))
            else:
                yield ItemState(entry["seq"], path, "ok")
