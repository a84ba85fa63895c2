"""Resuming an interrupted JSON Lines scan without re-hashing what it already recorded.

An interrupted scan's JSONL export is a header line, complete record lines in walk
order, possibly a torn last line, and (when it stopped cleanly) a closing line with
``"complete": false``. Resuming keeps the header and every complete record, drops the
rest, and continues the walk after the recorded entries.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from evidence_cli import components
from evidence_cli.errors import ScanError
from evidence_cli.jsonstream import strict_loads
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
        return base64.b64decode(rec["path_bytes"], validate=True)
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
        for number, line in enumerate(fh, 1):
            if not line.endswith(b"\n"):
                break  # torn last line of an abrupt stop: dropped, re-done
            try:
                obj = strict_loads(line)
            except (ValueError, RecursionError):
                # An abrupt stop tears only the last line (no newline): this is damage.
                # Resuming would cut the file here and drop every record after it.
                raise ScanError(_damaged(path, number, "not valid JSON")) from None
            if header is None:
                if (
                    not isinstance(obj, dict)
                    or obj.get("schema") != SCHEMA_VERSION
                    or not isinstance(obj.get("scan"), dict)
                ):
                    raise ScanError(f"{path!r} is not an evidence-cli JSON Lines export ({SCHEMA_VERSION})")
                header = obj
                end = fh.tell()
                continue
            if not isinstance(obj, dict) or "path" not in obj:
                break  # the closing line: everything after it is rewritten
            try:
                # Replayed into the other exports later: it must be a record this version reads.
                FileRecord.from_dict(obj)
                done.add(record_key(obj))
            except Exception as exc:  # noqa: BLE001 - any malformed field (KeyError, TypeError, base64 ...)
                raise ScanError(_damaged(path, number, f"not a record ({type(exc).__name__}: {exc})")) from None
            end = fh.tell()
    if header is None:
        raise ScanError(f"{path!r} has no header line: nothing to resume")
    return ResumeState(header=header, done=done, records_end=end, path=path)


def _damaged(path: str, number: int, what: str) -> str:
    return (
        f"cannot resume from {path!r}: line {number} is {what[:200]}; the file is damaged. Scan again into a new file"
    )


def replay(state: ResumeState) -> Iterator[FileRecord]:
    """The records already in the file, in order (to rebuild summaries and other exports)."""
    with open(state.path, "rb") as fh:
        fh.readline()
        while fh.tell() < state.records_end:
            yield FileRecord.from_dict(strict_loads(fh.readline()))


def truncate(state: ResumeState) -> None:
    """Cut the file after its last complete record (drops the closing/torn line)."""
    with open(state.path, "r+b") as fh:
        fh.truncate(state.records_end)
        fh.flush()
        os.fsync(fh.fileno())


def check_compatible(
    state: ResumeState, roots: list[str], options: dict[str, Any], tool: Mapping[str, Any] | None = None
) -> None:
    """A resumed scan must cover the same roots with the same options, and (given this
    run's ``tool``) be made by the same evidence-cli with the same components."""
    if tool is not None:
        _check_tool(state, tool)
    scan = state.header.get("scan", {})
    if scan.get("roots") != roots:
        raise ScanError(
            f"cannot resume: {state.path!r} scanned {scan.get('roots')}, not {roots}; scan to a new file instead"
        )
    old = scan.get("options") if isinstance(scan.get("options"), dict) else {}
    defaults = {"exact_magic": False, "c2pa_trust_sha256": None, "pdq": False}
    for key in ("algorithms", "metadata", "exact_magic", "c2pa_trust_sha256", "pdq"):
        if old.get(key, defaults.get(key)) != options.get(key, defaults.get(key)):
            raise ScanError(
                f"cannot resume: option {key!r} was {old.get(key)!r}, now {options.get(key)!r}; "
                "use the same options or scan to a new file"
            )


def _check_tool(state: ResumeState, tool: Mapping[str, Any]) -> None:
    """The records already in the file and the new ones must come from the same code and
    components: otherwise one export would mix two versions' answers."""
    old = state.header.get("tool")
    old = old if isinstance(old, dict) else {}
    if old.get("version") != tool.get("version"):
        raise ScanError(
            f"cannot resume: {state.path!r} was written by evidence-cli {components.shown(old.get('version'))}, "
            f"this is {components.shown(tool.get('version'))}; one export would mix both versions' answers: "
            "scan to a new file"
        )
    recorded = old.get("components")
    if recorded is None:
        return  # written before headers named the components: only the version can be compared
    if not isinstance(recorded, dict):
        raise ScanError(f"cannot resume from {state.path!r}: its header's tool components are not an object")
    differ = components.differences(recorded, tool.get("components") or {})
    if differ:
        raise ScanError(
            f"cannot resume: {state.path!r} was scanned with other components ({'; '.join(differ)}); "
            "one export would mix their answers: scan to a new file"
        )
