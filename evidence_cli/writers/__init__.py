"""Output formats. Every ``OutputFormat`` maps to a writer (a test checks it).

A writer receives the scan header, then records one by one (streamed: nothing is
held in memory but what the format itself needs), then the final header and summary.
"""

from __future__ import annotations

import enum
from typing import IO, Any, Iterable, Protocol

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

        return CsvWriter(stream, neutralise=options.get("csv_neutralise", True), bom=options.get("csv_bom", False))
    if fmt is OutputFormat.TABLE:
        from evidence_cli.writers.table import TableWriter

        return TableWriter(options["console"], limit=options.get("table_limit"))
    raise ValueError(f"no writer for {fmt!r}")  # pragma: no cover - exhaustiveness is tested


#: What a worker can convert a record to for the exports (``FileRecord.rendered``): its
#: JSON text (the JSON and JSON Lines exports write the same), what the JSON export's seal
#: hashes of that text (``manifest.sealed_form``, ASCII), and its CSV row with evidence
#: text neutralised (the default) or raw (``--csv-raw``).
PRERENDER = ("json", "seal", "csv", "csv-raw")


def prerender_kinds(formats: Iterable[OutputFormat], *, csv_raw: bool) -> tuple[str, ...]:
    """The conversions the exports in ``formats`` write (none for the table alone)."""
    wanted = set(formats)
    kinds = []
    if wanted & {OutputFormat.JSON, OutputFormat.JSONL}:
        kinds.append("json")
    if OutputFormat.JSON in wanted:
        kinds.append("seal")
    if OutputFormat.CSV in wanted:
        kinds.append("csv-raw" if csv_raw else "csv")
    return tuple(kinds)


def prerender(record: FileRecord, kinds: tuple[str, ...]) -> FileRecord:
    """Convert ``record`` to the export text of each kind, where the record is made.

    The main process of a scan writes every record to every export, and its work per
    record bounds how many worker processes a scan can keep busy: converting records
    there was about half of it on a folder of small files. Where that limits the scan
    (``engine.workers_convert``: 4 workers or more, Dask), the workers convert them with
    the same functions instead (the writers then only write the text: see ``record_json``
    and ``CsvWriter.write``), so the exports are the same bytes whoever converted them (a
    test compares scans with 0, 2 and 4 workers, export by export).
    """
    if not kinds:
        return record
    from evidence_cli.manifest import sealed_form
    from evidence_cli.writers.csv_out import CsvWriter, csv_line
    from evidence_cli.writers.json_out import dumps

    done: dict[str, str] = {}
    for kind in kinds:
        if kind == "json":
            done[kind] = dumps(record.to_dict())
        elif kind == "seal":
            text = done.get("json") or dumps(record.to_dict())
            done[kind] = sealed_form(text).decode("ascii")
        elif kind in ("csv", "csv-raw"):
            done[kind] = csv_line(CsvWriter.cells(record, neutralise=kind == "csv"))
        else:
            raise ValueError(f"no conversion {kind!r}; choose from {', '.join(PRERENDER)}")
    object.__setattr__(record, "rendered", done)
    return record
