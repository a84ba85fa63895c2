"""Every time a scan found, in one chronological list: the ``evidence timeline`` command.

The events of a record are its file-system times (``modified``, ``accessed``,
``changed``, ``born``: UTC, from the scanning machine's file system) and every
timestamp its metadata holds (EXIF, XMP, QuickTime, PDF, ID3, ...), each with the name
and the reader it came from, and for an archive each member's modification time and
capture time (the ``member`` column names it; ``sha256`` and ``mime`` are then the
member's). Nothing is merged or dropped: a photo's DateTimeOriginal from EXIF and from
XMP are two events.

Order. An event whose UTC instant is known (stored with an offset, given in UTC by its
standard, or placed by the GPS clock: ``offset_origin`` says which) is ordered by that
instant. An event stored without an offset (a camera's local clock) has no instant: it
is ordered by its clock reading as if that were UTC, and its ``clock`` column says
``local, offset unknown`` — it may belong up to fourteen hours either side. A date
without a time (``2019``, ``2019-05-01``) is ordered at its first instant. Ties keep
the manifest's order (record, then event), so the same manifest always gives the same
list, byte for byte.

Memory stays flat: events are sorted in runs of :data:`RUN` that spill to temporary
files outside the evidence, then merged.

Formats:

``csv``
    One row an event, in order (columns :data:`CSV_COLUMNS`); cells from the evidence
    that would start a spreadsheet formula are neutralised as in the scan's CSV.
``bodyfile``
    The Sleuth Kit's body file (``MD5|name|inode|mode_as_string|UID|GID|size|atime|
    mtime|ctime|crtime``, whole seconds since 1970 UTC), for ``mactime -b FILE``: a
    line a record with its file-system times, then a line for each metadata time with a
    known UTC instant, named ``path (source Name)``, its time in all four columns (mactime
    shows it as ``macb``). Times without an offset cannot be placed there, nor times at
    or before 1970-01-01T00:00:00Z (``mactime`` shows none before its start, and 0 is
    "no time"): they are left out, counted. In names, ``|`` and ``%`` are written
    ``%7C`` and ``%25`` (``mactime`` decodes them back), a line break ``\n`` or ``\r``
    and a backslash ``\\`` (a decoded line break makes ``mactime`` drop the entry),
    counted.
"""

from __future__ import annotations

import enum
import heapq
import json
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import IO, Any, Iterable, Iterator, Mapping

from evidence_cli.errors import EvidenceError
from evidence_cli.models import archive_members
from evidence_cli.writers.csv_out import BOM, csv_line, neutralise_columns

#: Events sorted in memory before a run spills to a temporary file.
RUN = 100_000
FS_TIMES = ("modified", "accessed", "changed", "born")
UTC_CLOCK = "UTC"
LOCAL_CLOCK = "local, offset unknown"
CSV_COLUMNS = (
    "time",
    "clock",
    "time_utc",
    "value",
    "offset_origin",
    "event",
    "source",
    "path",
    "member",
    "sha256",
    "mime",
    "raw",
)
#: Columns whose text comes from the manifest, so from the evidence or whoever made the
#: manifest (neutralised against formulas): all but ``clock``, which is ours.
_FROM_EVIDENCE = frozenset(CSV_COLUMNS) - {"clock"}
_ISO = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?)?(Z|[+-]\d{2}:\d{2})?"
)


class TimelineFormat(str, enum.Enum):
    CSV = "csv"
    BODYFILE = "bodyfile"


class TimelineRefused(EvidenceError):
    """The manifest cannot give a timeline (nothing useful was written)."""


def sort_key(text: str) -> str | None:
    """``YYYY-MM-DDTHH:MM:SS.nnnnnnnnn`` for an ISO time as the record stores it (any
    precision; the offset, if any, ignored: pass a UTC time or a local clock reading),
    so that keys compare as the instants they name. None when it is not such a time."""
    m = _ISO.fullmatch(text)
    if m is None:
        return None
    y, mo, d, hh, mi, ss, frac, _ = m.groups()
    return f"{y}-{mo or '01'}-{d or '01'}T{hh or '00'}:{mi or '00'}:{ss or '00'}.{(frac or '').ljust(9, '0')}"


@dataclass(frozen=True, order=True, slots=True)
class Event:
    """One timeline row. Fields compare in order: the key, then the manifest's order."""

    key: str
    record: int
    index: int
    clock: str
    time_utc: str
    value: str
    offset_origin: str
    event: str
    source: str
    path: str
    member: str
    """The archive member the event is of ("" for the file itself); sha256 and mime are then its own."""
    sha256: str
    mime: str
    raw: str

    def to_list(self) -> list[Any]:
        return [getattr(self, f) for f in Event.__dataclass_fields__]

    @classmethod
    def from_list(cls, values: list[Any]) -> Event:
        return cls(*values)

    def shown_time(self) -> str:
        """The time an examiner reads first: the UTC instant, else the clock reading."""
        return self.time_utc or self.value


@dataclass
class TimelineResult:
    events: int = 0
    records: int = 0
    unordered: int = 0
    """Events whose time is not an ISO time this version reads (CSV: listed last; body
    file: left out)."""
    left_out: int = 0
    """Bodyfile: metadata times without a UTC instant (the CSV has them)."""
    too_early: int = 0
    """Bodyfile: times at or before 1970-01-01T00:00:00Z, which ``mactime`` never shows
    (and 0 means "no time" there): left out (the CSV has them)."""
    escaped_names: int = 0
    """Bodyfile: names holding ``|``, ``%``, ``\\`` or a line break, written escaped."""


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def events_of(i: int, record: Any) -> list[Event]:
    """The events of record ``i`` (a raw record of a JSON export), in the record's order.
    Raises :class:`TimelineRefused` for a record this version cannot read."""
    if not isinstance(record, Mapping) or not isinstance(record.get("path"), str):
        raise TimelineRefused(f"record {i + 1} is not a record this version reads (no path)")
    path = record["path"]
    hashes = record.get("hashes")
    sha256 = _text(hashes.get("sha256")) if isinstance(hashes, Mapping) else ""
    mime = _text(record.get("mime"))
    out: list[Event] = []

    def add(
        value: str, utc: str, origin: str, name: str, source: str, raw: str, member: Mapping[str, Any] | None = None
    ) -> None:
        key = sort_key(utc or value)  # a local value's own offset, if any, is not used
        out.append(
            Event(
                key=key if key is not None else "~",  # after every digit: listed last
                record=i,
                index=len(out),
                clock=UTC_CLOCK if utc else LOCAL_CLOCK,
                time_utc=utc,
                value=value,
                offset_origin=origin,
                event=name,
                source=source,
                path=path,
                member="" if member is None else member["name"],
                sha256=sha256 if member is None else _text(member.get("sha256")),
                mime=mime if member is None else _text(member.get("mime")),
                raw=raw,
            )
        )

    fs = record.get("filesystem")
    if isinstance(fs, Mapping):
        for name in FS_TIMES:
            when = fs.get(name)
            if isinstance(when, str) and when:
                add(when, when, "filesystem", f"fs_{name}", "filesystem", when)
    stamps = record.get("timestamps")
    if stamps is not None and not isinstance(stamps, list):
        raise TimelineRefused(f"record {i + 1} is not a record this version reads (timestamps)")
    for ts in stamps or ():
        if not isinstance(ts, Mapping) or not isinstance(ts.get("value"), str):
            raise TimelineRefused(f"record {i + 1} is not a record this version reads (a timestamp)")
        add(
            ts["value"],
            _text(ts.get("utc")),
            _text(ts.get("offset_origin")) or "none",
            _text(ts.get("name")),
            _text(ts.get("source")),
            _text(ts.get("raw")),
        )
    for m in archive_members(record.get("metadata")):
        modified = m.get("modified")
        if isinstance(modified, str) and modified and m.get("directory") is not True:
            utc = _text(m.get("modified_utc"))
            add(modified, utc, "utc-by-spec" if utc else "none", "MemberModified", "archive", modified, m)
        captured = m.get("captured")
        if isinstance(captured, Mapping) and isinstance(captured.get("value"), str):
            add(
                captured["value"],
                _text(captured.get("utc")),
                _text(captured.get("offset_origin")) or "none",
                _text(captured.get("name")),
                f"archive/{_text(captured.get('source'))}",
                captured["value"],
                m,
            )
        named = m.get("name_time")  # the time the member's name gives (formats.filename)
        if isinstance(named, Mapping) and isinstance(named.get("value"), str):
            utc = _text(named.get("utc"))
            add(
                named["value"],
                utc,
                "utc-by-spec" if utc else "none",
                _text(named.get("name")),
                "archive/filename",
                _text(m.get("name")),
                m,
            )
    return out


# --- ordering ------------------------------------------------------------------------------


def ordered(events: Iterable[Event], run: int = RUN) -> Iterator[Event]:
    """``events`` sorted (by key, then manifest order), holding at most ``run`` in memory;
    longer inputs are sorted in runs spilled to temporary files and merged."""
    runs: list[IO[str]] = []
    batch: list[Event] = []
    try:
        for e in events:
            batch.append(e)
            if len(batch) >= run:
                runs.append(_spill(sorted(batch)))
                batch = []
        batch.sort()
        if not runs:
            yield from batch
            return
        yield from heapq.merge(batch, *(_read_run(f) for f in runs))
    finally:
        for f in runs:
            f.close()


def _spill(batch: list[Event]) -> IO[str]:
    f = tempfile.TemporaryFile("w+", encoding="utf-8", errors="surrogatepass")  # noqa: SIM115 - closed by ordered()
    for e in batch:
        f.write(json.dumps(e.to_list(), ensure_ascii=True) + "\n")
    f.seek(0)
    return f


def _read_run(f: IO[str]) -> Iterator[Event]:
    for line in f:
        yield Event.from_list(json.loads(line))


# --- writers -------------------------------------------------------------------------------


def write_csv(events: Iterable[Event], out: IO[str], result: TimelineResult, *, neutral: bool, bom: bool) -> None:
    if bom:
        out.write(BOM)
    out.write(csv_line(list(CSV_COLUMNS)))
    for e in events:
        cells = [
            e.shown_time(),
            e.clock,
            e.time_utc,
            e.value,
            e.offset_origin,
            e.event,
            e.source,
            e.path,
            e.member,
            e.sha256,
            e.mime,
            e.raw,
        ]
        if neutral:
            cells = neutralise_columns(cells, CSV_COLUMNS, _FROM_EVIDENCE)
        out.write(csv_line(cells))
        result.events += 1
        if e.key == "~":
            result.unordered += 1


_BODY_UNSAFE = re.compile(r"[%|\\\r\n]")
#: ``mactime`` decodes ``%XX`` in a name after splitting the line at ``|`` (so ``%7C``
#: and ``%25`` show as ``|`` and ``%``), but it drops an entry whose decoded name holds a
#: line break: those are written as ``\n`` and ``\r``, and a backslash as ``\\``.
_BODY_ESCAPES = {"%": "%25", "|": "%7C", "\\": "\\\\", "\n": "\\n", "\r": "\\r"}


def body_name(name: str) -> tuple[str, bool]:
    """A name the body file can carry and ``mactime`` shows (``|`` separates its columns;
    a line is a record); True when something had to be escaped."""
    if _BODY_UNSAFE.search(name) is None:
        return name, False
    return _BODY_UNSAFE.sub(lambda m: _BODY_ESCAPES[m.group()], name), True


def epoch(utc: str) -> int | None:
    """Whole seconds since 1970 (floor) of a UTC ISO time, None if it is not one."""
    key = sort_key(utc)
    if key is None:
        return None
    try:
        when = datetime.strptime(key[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    return int(when.timestamp())


def bodyfile_lines(i: int, record: Any, result: TimelineResult) -> Iterator[str]:
    """The body-file lines of one record: its file-system times, then its metadata times."""
    events = events_of(i, record)
    hashes = record.get("hashes")
    md5 = _text(hashes.get("md5")) if isinstance(hashes, Mapping) else ""
    meta = record.get("metadata")
    fsmeta = meta.get("filesystem") if isinstance(meta, Mapping) else None
    fsmeta = fsmeta if isinstance(fsmeta, Mapping) else {}

    def num(value: Any) -> str:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else "0"

    inode, mode = num(fsmeta.get("inode")), _text(fsmeta.get("mode_text")) or "0"
    uid, gid, size = num(fsmeta.get("uid")), num(fsmeta.get("gid")), num(record.get("size"))

    def line(name: str, atime: int, mtime: int, ctime: int, crtime: int) -> str:
        shown, escaped = body_name(name)
        result.escaped_names += escaped
        cols = [md5 or "0", shown, inode, mode, uid, gid, size, str(atime), str(mtime), str(ctime), str(crtime)]
        return "|".join(cols) + "\n"

    def placed(e: Event) -> int | None:
        """The event's whole seconds since 1970 when a body file can show them, else None (counted)."""
        if not e.time_utc:
            result.left_out += 1
            return None
        t = epoch(e.time_utc)
        if t is None:
            result.unordered += 1
        elif t <= 0:
            result.too_early += 1
        else:
            return t
        return None

    fs_times = {e.event[3:]: t for e in events if e.source == "filesystem" and (t := placed(e)) is not None}
    yield line(
        record["path"],
        fs_times.get("accessed", 0),
        fs_times.get("modified", 0),
        fs_times.get("changed", 0),
        fs_times.get("born", 0),
    )
    result.events += len(fs_times)
    for e in events:
        if e.source == "filesystem":
            continue
        t = placed(e)
        if t is not None:
            result.events += 1
            where = f"{e.path} [member {e.member}]" if e.member else e.path
            yield line(f"{where} ({e.source} {e.event})", t, t, t, t)
