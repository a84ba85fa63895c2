"""JSON and JSON Lines exports (schema ``evidence-cli/scan/1``), streamed record by record.

JSON: ``{"schema", "tool", "case", "files": [...], "scan", "summary", "seal"}`` — ``scan``
comes after the records so its end time and completeness are known; key order
means nothing in JSON. ``seal`` is computed while the records stream (see
:mod:`evidence_cli.manifest` for its exact definition): this export is the manifest.
JSON Lines: a header line, one record a line, a closing line with ``scan`` (end time)
and ``summary`` (not sealed: the sealed manifest is the JSON export).
"""

from __future__ import annotations

import json
import math
from typing import IO, Any

from evidence_cli.jsonenc import compact_encode
from evidence_cli.manifest import Sealer
from evidence_cli.models import FileRecord, ScanInfo
from evidence_cli.summary import Summary

#: The settings of every compact dump, and its C encoder made once (``json.dumps`` with
#: arguments builds a new encoder per call, and ``encode`` a new C encoder).
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
_encode = compact_encode(_ENCODER)


def dumps(obj: Any, *, indent: int | None = None) -> str:
    """JSON text; non-ASCII kept readable (the stream must be UTF-8).

    JSON has no NaN or infinity: a parser that reads such a float from a file gets it
    written as the string ``"NaN"``, ``"Infinity"`` or ``"-Infinity"`` — never invalid
    JSON, and never an exception that would stop the scan.
    """
    encode = _encode if indent is None else json.JSONEncoder(ensure_ascii=False, allow_nan=False, indent=indent).encode
    try:
        text = encode(obj)
    except ValueError:
        text = encode(_finite(obj))
    # Line and paragraph separators (and NEL) are valid raw in JSON strings, but line-based
    # readers split a JSON Lines record there: always write them escaped.
    if "\u2028" in text or "\u2029" in text or "\x85" in text:
        text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").replace("\x85", "\\u0085")
    return text


#: The last record dumped and its text: every JSON writer of a scan writes the same record
#: in turn (``--json`` and ``--jsonl`` and ``-f jsonl``), so it is converted once. One
#: tuple, assigned at once, so a record is never paired with another record's text.
_last: tuple[FileRecord | None, str] = (None, "")


def record_json(record: FileRecord) -> str:
    """``dumps(record.to_dict())``, computed once for consecutive writes of one record, and
    not at all when the worker that made the record converted it (``writers.prerender``)."""
    global _last
    cached = _last
    if cached[0] is record:
        return cached[1]
    done = record.rendered
    text = done.get("json") if done is not None else None
    if text is None:
        text = dumps(record.to_dict())
    _last = (record, text)
    return text


def _forget() -> None:
    """Drop the cached record (at the end of an export: nothing outlives the scan)."""
    global _last
    _last = (None, "")


def _finite(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return "NaN" if math.isnan(obj) else ("Infinity" if obj > 0 else "-Infinity")
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


class JsonWriter:
    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.count = 0
        self.sealer: Sealer | None = None

    def begin(self, info: ScanInfo) -> None:
        d = info.to_dict()
        head = {key: d[key] for key in ("schema", "tool", "case")}
        self.sealer = Sealer(head, "files")
        self.stream.write("{")
        for key, value in head.items():
            self.stream.write(f"\n  {dumps(key)}: {dumps(value)},")
        self.stream.write('\n  "files": [')

    def write(self, record: FileRecord) -> None:
        assert self.sealer is not None, "begin() first"
        sep = "," if self.count else ""
        text = record_json(record)
        self.stream.write(f"{sep}\n    {text}")
        # Seal exactly what was written, as a reader will parse it (what the worker that
        # converted this text found, if it did: see writers.prerender).
        done = record.rendered
        form = done.get("seal") if done is not None and text is done.get("json") else None
        if form is not None:
            self.sealer.add_sealed(form.encode("ascii"))
        else:
            self.sealer.add_json(text)
        self.count += 1

    def end(self, info: ScanInfo, summary: Summary) -> None:
        assert self.sealer is not None, "begin() first"
        tail = {"scan": info.to_dict()["scan"], "summary": summary.to_dict()}
        seal = self.sealer.finish(tail)
        self.stream.write(
            f'\n  ],\n  "scan": {dumps(tail["scan"])},\n  "summary": {dumps(tail["summary"])},'
            f'\n  "seal": {dumps(seal)}\n}}\n'
        )
        self.stream.flush()
        _forget()


class JsonLinesWriter:
    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def begin(self, info: ScanInfo) -> None:
        self.stream.write(dumps(info.to_dict()) + "\n")

    def write(self, record: FileRecord) -> None:
        self.stream.write(record_json(record) + "\n")

    def end(self, info: ScanInfo, summary: Summary) -> None:
        self.stream.write(dumps({"scan": info.to_dict()["scan"], "summary": summary.to_dict()}) + "\n")
        self.stream.flush()
        _forget()
