"""CSV export: one row a record, a stable documented column order.

Formula injection: a spreadsheet runs a cell that starts with ``=``, ``+``, ``-``,
``@``, tab or carriage return. Every text cell taken from evidence (names, tag
text, libmagic's description) that starts with one of these is prefixed with a
single quote ``'``, which spreadsheets show but do not run. Numbers we compute
(sizes, coordinates) are never altered. ``neutralise=False`` (``--csv-raw``) turns
this off for machine consumers.

``bom=True`` (``--csv-bom``) begins the text with a UTF-8 byte-order mark: Excel on
Windows reads a CSV without one in the local code page, so a name such as ``Café.jpg``
shows as ``CafÃ©.jpg``. Nothing else changes.
"""

from __future__ import annotations

import json
import re
from typing import IO, Any, Callable, Container, Mapping, Sequence

from evidence_cli.hashing import ALGORITHMS
from evidence_cli.jsonenc import compact_encode
from evidence_cli.models import FileRecord, ScanInfo
from evidence_cli.summary import Summary

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: What ``--csv-bom`` writes first (U+FEFF, in UTF-8 EF BB BF).
BOM = "\ufeff"


def neutralise(cell: str) -> str:
    """Prefix a formula-looking cell with ``'`` so a spreadsheet shows it as text."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def neutralise_columns(cells: Sequence[str], columns: Sequence[str], untrusted: Container[str]) -> list[str]:
    """A row's cells with those of the ``untrusted`` columns (text from the evidence, or from
    a list someone else made) neutralised, the others as they are."""
    return [neutralise(c) if col in untrusted else c for col, c in zip(columns, cells)]


def _ts(r: FileRecord, attr: str) -> Any:
    return getattr(r.captured, attr) if r.captured else None


def _gps(r: FileRecord, attr: str) -> Any:
    return getattr(r.gps, attr) if r.gps else None


def _digest(name: str) -> Callable[[FileRecord], Any]:
    return lambda r: r.hashes.get(name)


#: ``json.dumps(..., ensure_ascii=False)`` with one encoder, not a new one per call.
_TS_ENCODER = compact_encode(json.JSONEncoder(ensure_ascii=False))


def _timestamps(r: FileRecord) -> str:
    return _TS_ENCODER([t.to_dict() for t in r.timestamps]) if r.timestamps else ""


def _pdq(r: FileRecord, key: str) -> Any:
    group = r.metadata.get("pdq")
    return group.get(key) if isinstance(group, Mapping) else None


#: (column, getter, from_evidence). The order is the file's column order.
COLUMNS: list[tuple[str, Callable[[FileRecord], Any], bool]] = [
    ("path", lambda r: r.path, True),
    ("path_bytes", lambda r: r.path_bytes, True),  # base64 may start with "+"
    ("kind", lambda r: r.kind, False),
    ("size", lambda r: r.size, False),
    ("mime", lambda r: r.mime, True),
    ("description", lambda r: r.description, True),
    ("extension_ok", lambda r: r.extension_ok, False),
    *[(a, _digest(a), False) for a in ALGORITHMS],
    ("fs_modified", lambda r: r.filesystem.get("modified"), False),
    ("fs_accessed", lambda r: r.filesystem.get("accessed"), False),
    ("fs_changed", lambda r: r.filesystem.get("changed"), False),
    ("fs_born", lambda r: r.filesystem.get("born"), False),
    ("captured", lambda r: _ts(r, "value"), False),
    ("captured_utc", lambda r: _ts(r, "utc"), False),
    ("captured_name", lambda r: _ts(r, "name"), False),
    ("captured_source", lambda r: _ts(r, "source"), False),
    ("captured_offset_origin", lambda r: _ts(r, "offset_origin"), False),
    ("gps_latitude", lambda r: _gps(r, "latitude"), False),
    ("gps_longitude", lambda r: _gps(r, "longitude"), False),
    ("gps_altitude", lambda r: _gps(r, "altitude"), False),
    ("gps_timestamp_utc", lambda r: _gps(r, "timestamp_utc"), False),
    ("gps_source", lambda r: _gps(r, "source"), False),
    ("make", lambda r: r.device.make, True),
    ("model", lambda r: r.device.model, True),
    ("serial", lambda r: r.device.serial, True),
    ("software", lambda r: r.device.software, True),
    ("lens", lambda r: r.device.lens, True),
    ("device_source", lambda r: r.device.source, False),
    ("image_format", lambda r: (r.image or {}).get("format"), True),
    # Image properties are whatever a header or XMP stored: not always numbers.
    ("width", lambda r: (r.image or {}).get("width"), True),
    ("height", lambda r: (r.image or {}).get("height"), True),
    ("link_target", lambda r: r.link_target, True),
    ("findings", lambda r: "; ".join(f.code for f in r.findings), False),
    ("errors", lambda r: "; ".join(f"{e.stage}: {e.message}" for e in r.errors), True),
    ("timestamps", lambda r: _timestamps(r), True),
    # Computed from the pixels by --pdq (empty without it); neutralised all the same, as a
    # manifest given to `evidence export` may have been forged.
    ("pdq", lambda r: _pdq(r, "hash"), True),
    ("pdq_quality", lambda r: _pdq(r, "quality"), True),
]
COLUMN_NAMES = [c[0] for c in COLUMNS]
#: The five columns of a captured time, or of a GPS point, the record does not have.
_ABSENT = (None,) * 5
_DIGESTS = tuple(ALGORITHMS)


def _values(r: FileRecord) -> list[Any]:
    """What the getters of :data:`COLUMNS` give for one record, in their order, in one call
    instead of one a column (a test compares the two on generated records: the getters
    stay the definition). About 3 µs less a record in a scan of small files."""
    fs = r.filesystem
    c = r.captured
    g = r.gps
    d = r.device
    img = r.image or {}
    return [
        r.path,
        r.path_bytes,
        r.kind,
        r.size,
        r.mime,
        r.description,
        r.extension_ok,
        *map(r.hashes.get, _DIGESTS),
        fs.get("modified"),
        fs.get("accessed"),
        fs.get("changed"),
        fs.get("born"),
        *((c.value, c.utc, c.name, c.source, c.offset_origin) if c else _ABSENT),
        *((g.latitude, g.longitude, g.altitude, g.timestamp_utc, g.source) if g else _ABSENT),
        d.make,
        d.model,
        d.serial,
        d.software,
        d.lens,
        d.source,
        img.get("format"),
        img.get("width"),
        img.get("height"),
        r.link_target,
        "; ".join(f.code for f in r.findings) if r.findings else "",
        "; ".join(f"{e.stage}: {e.message}" for e in r.errors) if r.errors else "",
        _timestamps(r),
        *((pdq.get("hash"), pdq.get("quality")) if isinstance(pdq := r.metadata.get("pdq"), Mapping) else (None, None)),
    ]


#: Positions of the evidence-derived columns, and the first characters that need a quote.
_EVIDENCE_AT = tuple(i for i, c in enumerate(COLUMNS) if c[2])
_FORMULA_FIRST = frozenset(FORMULA_START)


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_NEEDS_QUOTES = re.compile('[,"\r\n]').search


def csv_line(cells: list[str]) -> str:
    """One row as ``csv.writer(lineterminator="\\r\\n", quoting=QUOTE_MINIMAL)`` writes it on
    Python 3.11 and later (a test checks the two agree on any cells there).

    A cell holding a comma, a double quote, CR or LF is quoted, its quotes doubled;
    others are written as they are, NUL included. A row of one empty cell is ``""``
    (an empty line would read back as no cell at all).

    The csv module is not used: up to Python 3.10 it refuses a cell holding NUL ("need
    to escape, but no escapechar set"), which stopped a scan at the first file whose
    metadata held one; the same row must be written whatever Python runs the tool.
    """
    if len(cells) == 1 and not cells[0]:
        return '""\r\n'
    line = ",".join(cells)
    if '"' not in line and "\r" not in line and "\n" not in line:
        if line.count(",") == len(cells) - 1:
            return line + "\r\n"
        # Only commas: the cells that hold one are quoted (no quote to double). A
        # description such as "ASCII text, with very long lines" sends most rows here.
        return ",".join([c if "," not in c else '"' + c + '"' for c in cells]) + "\r\n"
    needs = _NEEDS_QUOTES
    return ",".join([c if needs(c) is None else '"' + c.replace('"', '""') + '"' for c in cells]) + "\r\n"


class CsvWriter:
    def __init__(self, stream: IO[str], *, neutralise: bool = True, bom: bool = False) -> None:
        self.neutralise = neutralise
        self.stream = stream
        self.bom = bom

    def begin(self, info: ScanInfo) -> None:
        self.stream.write((BOM if self.bom else "") + csv_line(COLUMN_NAMES))

    def row(self, record: FileRecord) -> list[str]:
        """The cells of :data:`COLUMNS` for one record, as this writer writes them."""
        return self.cells(record, neutralise=self.neutralise)

    @staticmethod
    def cells(record: FileRecord, *, neutralise: bool) -> list[str]:
        """The cells of :data:`COLUMNS` for one record (what its getters give, the one
        definition of the columns: see _values); with ``neutralise``, evidence text that
        starts like a formula is neutralised."""
        out = [v if v.__class__ is str else "" if v is None else cell(v) for v in _values(record)]
        if neutralise:
            first = _FORMULA_FIRST
            for i in _EVIDENCE_AT:
                text = out[i]
                if text and text[0] in first:
                    out[i] = "'" + text
        return out

    def write(self, record: FileRecord) -> None:
        # Converted by the worker that made the record, when the scan asked it to.
        done = record.rendered
        line = done.get("csv" if self.neutralise else "csv-raw") if done is not None else None
        self.stream.write(line if line is not None else csv_line(self.row(record)))

    def end(self, info: ScanInfo, summary: Summary) -> None:
        self.stream.flush()
