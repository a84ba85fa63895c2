"""Resuming an interrupted JSON Lines scan without re-hashing what it already recorded.

An interrupted scan's JSONL export is a header line, complete record lines in walk
order, possibly a torn last line, and (when it stopped cleanly) a closing line with
``"complete": false``. Resuming keeps the header and every complete record, drops the
rest, and continues the walk after the recorded entries.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from typing import Any, Iterator

from evidence_cli.errors import ScanError
from evidence_cli.models import SCHEMA_VERSION, FileRecord


@dataclass
class ResumeState:
    header: dict[str, Any]
    """The original header line (its start time and options stay those of the first run)."""
    done: set[bytes]
    """Relative paths (exact bytes) already recorded."""
    records_end: int
    """Byte offset just after the last complete record line."""
    path: str


def record_key(rec: dict[str, Any]) -> bytes:
    """The exact relative path bytes of an exported record."""
    if rec.get("path_bytes"):
        return base64.b64decode(rec["path_bytes"])
    return str(rec["path"]).encode("utf-8")


def load(path: str) -> ResumeState:
    """Read a JSONL export to resume. Raises ScanError when it cannot be resumed."""
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise ScanError(f"cannot resume from {path!r}: {exc.strerror}") from None
    done: set[bytes] = set()
    header: dict[str, Any] | None = None
    end = 0
    with fh:
        for line in fh:
            if not line.endswith(b"\n"):
                break  # torn last line of an abrupt stop: dropped, re-done
            try:
                obj = json.loads(line)
            except ValueError:
                break
            if header is None:
                if not isinstance(obj, dict) or obj.get("schema") != SCHEMA_VERSION or "scan" not in obj:
                    raise ScanError(f"{path!r} is not an evidence-cli JSON Lines export ({SCHEMA_VERSION})")
                header = obj
                end = fh.tell()
                continue
            if not isinstance(obj, dict) or "path" not in obj:
                break  # the closing line: everything after it is rewritten
            done.add(record_key(obj))
            end = fh.tell()
    if header is None:
        raise ScanError(f"{path!r} has no header line: nothing to resume")
    return ResumeState(header=header, done=done, records_end=end, path=path)


def replay(state: ResumeState) -> Iterator[FileRecord]:
    """The records already in the file, in order (to rebuild summaries and other exports)."""
    with open(state.path, "rb") as fh:
        fh.readline()
        while fh.tell() < state.records_end:
            yield FileRecord.from_dict(json.loads(fh.readline()))


def truncate(state: ResumeState) -> None:
    """Cut the file after its last complete record (drops the closing/torn line)."""
    with open(state.path, "r+b") as fh:
        fh.truncate(state.records_end)
        fh.flush()
        os.fsync(fh.fileno())


def check_compatible(state: ResumeState, roots: list[str], options: dict[str, Any]) -> None:
    """A resumed scan must cover the same roots with the same options."""
    scan = state.header.get("scan", {})
    if list(scan.get("roots", [])) != roots:
        raise ScanError(
            f"cannot resume: {state.path!r} scanned {scan.get('roots')}, not {roots}; scan to a new file instead"
        )
    old = scan.get("options", {})
    defaults = {"exact_magic": False}
    for key in ("algorithms", "metadata", "exact_magic"):
        if old.get(key, defaults.get(key)) != options.get(key, defaults.get(key)):
            raise ScanError(
                f"cannot resume: option {key!r} was {old.get(key)!r}, now {options.get(key)!r}; "
                "use the same options or scan to a new file"
            )
