"""Output formats. Every ``OutputFormat`` maps to a writer (a test checks it).

A writer receives the scan header, then records one by one (streamed: nothing is
held in memory but what the format itself needs), then the final header and summary.
"""

from __future__ import annotations

import enum
from typing import IO, Any, Protocol

from evidence_cli.models import FileRecord, ScanInfo
from evidence_cli.summary import Summary


class OutputFormat(str, enum.Enum):
    TABLE = "table"
    JSON = "json"
    JSONL = "jsonl"
    CSV = "csv"


class Writer(Protocol):
    def begin(self, info: ScanInfo) -> None: ...

    def write(self, record: FileRecord) -> None: ...

    def end(self, info: ScanInfo, summary: Summary) -> None: ...


def make_writer(fmt: OutputFormat, stream: IO[str], **options: Any) -> Writer:
    """The writer of a format, writing to an open text stream."""
    if fmt is OutputFormat.JSON:
        from evidence_cli.writers.json_out import JsonWriter

        return JsonWriter(stream)
    if fmt is OutputFormat.JSONL:
        from evidence_cli.writers.json_out import JsonLinesWriter

        return JsonLinesWriter(stream)
    if fmt is OutputFormat.CSV:
        from evidence_cli.writers.csv_out import CsvWriter

        return CsvWriter(stream, neutralise=options.get("csv_neutralise", True))
    if fmt is OutputFormat.TABLE:
        from evidence_cli.writers.table import TableWriter

        return TableWriter(options["console"], limit=options.get("table_limit"))
    raise ValueError(f"no writer for {fmt!r}")  # pragma: no cover - exhaustiveness is tested
