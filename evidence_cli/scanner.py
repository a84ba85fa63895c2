"""The scan pipeline: walk -> stat -> one read pass (hash + type) -> stat -> extract -> record.

``scan()`` yields one :class:`FileRecord` per entry, in sorted path order. No
failure of one entry stops the scan: it becomes an ``errors`` entry on that record.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Iterator, Sequence

from evidence_cli import extractors, threadlimit
from evidence_cli.errors import UnsupportedFile
from evidence_cli.extractors.base import ARCHIVE_BYTES, MEMORY_LIMIT, FileContext
from evidence_cli.filetype import detect_type, signature_type
from evidence_cli.formats import c2pa_validation, filename
from evidence_cli.hashing import DEFAULT_ALGORITHMS, EntryReplaced, HashResult, changed_while_read, hash_entry
from evidence_cli.meter import ReadMeter, counting
from evidence_cli.models import Device, Extraction, FileRecord, FileType, Finding, GeoPoint, Problem, Timestamp
from evidence_cli.timeparse import from_stat_ns
from evidence_cli.walker import (
    PATH_LIMIT,
    Entry,
    Roots,
    birth_time_ns,
    display_path,
    reachable_entry,
    resolve_roots,
    special_name,
    walk,
)

log = logging.getLogger(__name__)

#: Which timestamp is the best original-capture time, in order (source, name).
#: Data, not code: a later extractor adds its pairs here. Modification times are never
#: capture times. Apple's QuickTime ``CreationDate`` (local time with its offset, taken
#: when recording starts) comes before the movie header's ``CreateDate`` (UTC, written
#: when the file is finalised, often seconds later). XMP ``CreateDate`` comes before
#: Photoshop's ``DateCreated`` (a date the user may set for the content).
CAPTURE_PRECEDENCE: tuple[tuple[str, str], ...] = (
    ("exif", "DateTimeOriginal"),
    ("xmp", "DateTimeOriginal"),
    ("quicktime", "CreationDate"),
    ("quicktime", "CreateDate"),
    ("exif", "CreateDate"),
    ("xmp", "CreateDate"),
    ("xmp", "DateCreated"),
    ("iptc", "DateCreated"),
    ("iptc", "DigitalCreationDateTime"),
    ("png", "CreationTime"),
    ("pdf", "CreationDate"),
    ("office", "CreateDate"),
    ("riff", "DateTimeOriginal"),
    ("riff", "DateCreated"),
    ("riff", "RecordingTime"),
    ("id3", "RecordingTime"),
    ("ogg", "RecordingTime"),
    ("flac", "RecordingTime"),
    ("ogg", "CreationTime"),
    ("flac", "CreationTime"),
    # A Google Photos metadata file: when the photo it describes was taken, as Google holds it.
    ("takeout", "PhotoTakenTime"),
)
#: Which extractor's GPS/device wins when several give one (earlier wins; others after).
SOURCE_PRECEDENCE: tuple[str, ...] = (
    "exif",
    "quicktime",
    "xmp",
    "iptc",
    "png",
    "pdf",
    "office",
    "riff",
    "id3",
    "ogg",
    "flac",
    "takeout",
)


@dataclass(frozen=True)
class ScanOptions:
    """What a scan computes."""

    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    metadata: bool = True
    """Run extractors (False: identity only — hashes, type, filesystem times)."""
    keep_limit: int = MEMORY_LIMIT
    exclude: tuple[bytes, ...] = field(default_factory=tuple)
    """Absolute paths never read (the scan's own outputs)."""
    workers: int = 0
    """Worker processes; 0 runs everything in this process (no crash isolation)."""
    timeout: float | None = 5.0
    """Seconds each extractor may spend on one file (None: no limit)."""
    memory_limit: int | None = 4 * 1024**3
    """Address-space limit of each worker process in bytes (None: no limit)."""
    exact_magic: bool = False
    """Run libmagic's whole pattern database on plain text too (slower; see filetype)."""
    c2pa_trust: str | None = None
    """PEM trust anchors for C2PA validation, as the examiner gave them (None: trust nothing)."""
    pdq: bool = False
    """Decode images' pixels for their PDQ perceptual hash (``metadata.pdq``)."""
    archive_bytes: int | None = ARCHIVE_BYTES
    """Inflated bytes of an archive's members hashed per archive (None: every member)."""
    prerender: tuple[str, ...] = ()
    """The export text worker processes convert each record to (``writers.prerender``:
    the same bytes, converted off the main process). Changes no record."""

    def to_dict(self) -> dict[str, Any]:
        # Only what changes the records: the worker count does not (a test proves it).
        out: dict[str, Any] = {
            "algorithms": list(self.algorithms),
            "metadata": self.metadata,
            "timeout_s": self.timeout,
            "exact_magic": self.exact_magic,
        }
        if self.c2pa_trust:
            out["c2pa_trust_sha256"] = c2pa_validation.anchors_sha256(self.c2pa_trust)
        if self.pdq:
            out["pdq"] = True
        if self.archive_bytes != ARCHIVE_BYTES:  # (recorded when changed: older headers stay valid)
            out["archive_mib"] = 0 if self.archive_bytes is None else self.archive_bytes // (1024 * 1024)
        return out


def fs_times(path: bytes, st: os.stat_result) -> dict[str, str | None]:
    return {
        "modified": from_stat_ns(st.st_mtime_ns),
        "accessed": from_stat_ns(st.st_atime_ns),
        "changed": from_stat_ns(st.st_ctime_ns),
        "born": from_stat_ns(birth_time_ns(path, st)),
    }


def _err(stage: str, exc: BaseException, severity: str = "error") -> Problem:
    msg = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return Problem(stage=stage, severity=severity, type=type(exc).__name__, message=msg)  # type: ignore[arg-type]


def pick_captured(timestamps: Sequence[Timestamp]) -> Timestamp | None:
    """The best original-capture timestamp by CAPTURE_PRECEDENCE, or None."""
    for source, name in CAPTURE_PRECEDENCE:
        for t in timestamps:
            if t.source == source and t.name == name:
                return t
    return None


def _rank(source: str) -> int:
    return SOURCE_PRECEDENCE.index(source) if source in SOURCE_PRECEDENCE else len(SOURCE_PRECEDENCE)


def merge_device(devices: Sequence[Device]) -> Device:
    """Field by field, the first source (by SOURCE_PRECEDENCE) that gives a value."""
    ordered = sorted(devices, key=lambda d: _rank(d.source or ""))
    vals = {f: next((getattr(d, f) for d in ordered if getattr(d, f)), None) for f in Device.FIELDS}
    # The source that gave a value (an empty string gives none, as for the fields above).
    source = next((d.source for d in ordered if any(getattr(d, f) for f in Device.FIELDS)), None)
    return Device(**vals, source=source)


def merge_gps(points: Sequence[GeoPoint]) -> GeoPoint | None:
    return min(points, key=lambda g: _rank(g.source)) if points else None


def run_extractors(
    ctx: FileContext, timeout: float | None = None, clock: ExtractorClock | None = None
) -> list[Extraction]:
    """Every extractor for the type, each isolated: any exception, or running longer
    than ``timeout`` seconds, becomes a problem naming the extractor.

    ``clock``: the time limit of a group of files (see :func:`process_entries`), entered
    by the caller with the same ``timeout``; else this file's own."""
    out: list[Extraction] = []
    with ExtractorClock(timeout) if clock is None else nullcontext(clock) as limits:
        for ex in extractors.for_type(ctx.file_type.mime):
            stage = f"metadata:{ex.name}"
            try:
                with limits.running():
                    result = ex.extract(ctx)
                out.append(result)
            except TimeLimitExceeded:
                if limits.watch is not None:
                    threadlimit.ended(arrived=True)  # (the raise may have arrived as the run ended)
                out.append(
                    Extraction(
                        extractor=ex.name,
                        group=ex.name,
                        problems=(
                            Problem(stage, "error", "TimeLimitExceeded", f"stopped after {timeout:g} s (--timeout)"),
                        ),
                    )
                )
            except UnsupportedFile as exc:
                out.append(
                    Extraction(
                        extractor=ex.name,
                        group=ex.name,
                        problems=(Problem(stage, "warning", "UnsupportedFile", f"not readable as {ex.name}: {exc}"),),
                    )
                )
            except MemoryError as exc:
                out.append(Extraction(extractor=ex.name, group=ex.name, problems=(_err(stage, exc),)))
            except Exception as exc:  # noqa: BLE001 - one file never stops the scan
                log.debug("extractor %s failed on %s", ex.name, ctx.rel_path, exc_info=True)
                out.append(Extraction(extractor=ex.name, group=ex.name, problems=(_err(stage, exc),)))
    return out


def process_entry(entry: Entry, options: ScanOptions, *, libmagic: bool = True) -> FileRecord:
    """Build the record of one walked entry. Never raises for a file-level problem.

    ``libmagic=False``: the type comes from our own signature check only (see
    :func:`salvage_entry`)."""
    if len(entry.path) < PATH_LIMIT:
        return _process_entry(entry, options, libmagic)
    # A path deeper than a system call takes goes through a short one (see reachable).
    with reachable_entry(entry) as reached:
        return _process_entry(reached, options, libmagic)


#: Bytes of read files (their heads and kept content) that :func:`process_entries` holds
#: at most while it waits to type them together: what the processor's caches keep (a
#: group of photos whose contents had left them took their readers longer: with 16 MiB,
#: 2,000 photos of 1 MB took 4.53 - 4.80 s against 4.33 - 4.39 s a file at a time; with
#: 1 MiB, a group holds one such photo, and a batch of small files is one group).
GROUP_BYTES = 1024 * 1024


def process_entries(entries: Sequence[Entry], options: ScanOptions) -> list[FileRecord]:
    """The records of these entries, as :func:`process_entry` makes them one by one.

    In three passes over groups of files instead: read and hash each, then ask libmagic
    for the type of each, then read their metadata and make the records. libmagic's
    database and code then stay in the processor's caches from one file to the next:
    on 8,000 small files, 97-99 µs of CPU a file against 125 µs entry by entry (the
    passes cost no other work; the files' heads and small contents wait in memory, at
    most about :data:`GROUP_BYTES` of them). The same functions make the records either
    way."""
    records: list[FileRecord | None] = [None] * len(entries)
    group: list[tuple[int, _Read]] = []
    held = 0

    def finish_group() -> None:
        if not group:
            return
        types = [_file_type(read, options) for _, read in group]
        # One timer for the group's readers: arming the alarm and the backstop for every
        # file cost about 3 µs, more than most readers of a small file take.
        with ExtractorClock(options.timeout) as clock:
            for (i, read), ftype in zip(group, types):
                records[i] = _finish_file(read, ftype, options, clock)
        group.clear()

    for i, entry in enumerate(entries):
        if len(entry.path) >= PATH_LIMIT:  # (its short path is valid within process_entry only)
            records[i] = process_entry(entry, options)
            continue
        read = _begin(entry, options)
        if isinstance(read, FileRecord):
            records[i] = read
            continue
        group.append((i, read))
        held += len(read.result.head) + len(read.result.content or b"")
        if held > GROUP_BYTES:
            finish_group()
            held = 0
    finish_group()
    return records  # type: ignore[return-value]  # (every index is set above)


def salvage_entry(entry: Entry, options: ScanOptions, reason: str, *, libmagic: bool = True) -> FileRecord:
    """The record of an entry whose worker died reading it, read again for its identity
    alone: hashes, filesystem times, and its type (from libmagic, or with ``libmagic=False``
    from our signature check only), never the metadata readers. The file that crashes a
    parser is the one an examiner must still be able to prove unchanged. The record
    carries a ``WorkerCrashed`` error: ``reason``, and what was read again."""
    record = process_entry(entry, replace(options, metadata=False), libmagic=libmagic)
    again = "type, hashes and times" if libmagic else "hashes and times (type by signature only, without libmagic)"
    note = f"{reason}; read again for its {again} alone, without the metadata readers"
    return replace(record, errors=(Problem("worker", "error", "WorkerCrashed", note), *record.errors))


def _process_entry(entry: Entry, options: ScanOptions, libmagic: bool = True) -> FileRecord:
    read = _begin(entry, options)
    if isinstance(read, FileRecord):
        return read
    return _finish_file(read, _file_type(read, options, libmagic), options)


@dataclass
class _Read:
    """A regular file read: its digests and what the read saw, waiting for its type and
    metadata (see :func:`process_entries`)."""

    entry: Entry
    st: os.stat_result
    times: dict[str, str | None]
    base: dict[str, Any]
    result: HashResult
    errors: list[Problem]
    findings: list[Finding]


def _begin(entry: Entry, options: ScanOptions) -> _Read | FileRecord:
    """The record of an entry that is not a regular file, or of one that could not be read;
    else the file read."""
    path_text, path_b64 = display_path(entry.rel)
    base: dict[str, Any] = {"path": path_text, "path_bytes": path_b64}
    st = entry.stat
    if entry.problem is not None or st is None:
        problem = entry.problem or Problem("walk", "error", "StatError", "entry could not be examined")
        return FileRecord(
            **base,
            kind=entry.kind,
            size=None,
            filesystem=fs_times(entry.path, st) if st else {},
            errors=(problem,),
        )
    times = fs_times(entry.path, st)
    if entry.kind == "symlink":
        try:
            target = display_path(os.readlink(entry.path))[0]
            errors: tuple[Problem, ...] = ()
        except OSError as exc:
            target, errors = None, (_err("walk", exc),)
        return FileRecord(**base, kind="symlink", size=st.st_size, link_target=target, filesystem=times, errors=errors)
    if entry.kind != "file":
        what = special_name(st)
        return FileRecord(
            **base,
            kind="other",
            size=st.st_size,
            description=what,
            filesystem=times,
            errors=(Problem("walk", "warning", "SpecialFile", f"{what}: recorded, not opened"),),
        )
    return _read_file(entry, st, times, base, options)


def _read_file(
    entry: Entry,
    st: os.stat_result,
    times: dict[str, str | None],
    base: dict[str, Any],
    options: ScanOptions,
) -> _Read | FileRecord:
    errors: list[Problem] = []
    findings: list[Finding] = []
    # 1. One read pass: all digests, the head for libmagic, the content if small.
    try:
        result = hash_entry(
            entry.path, st, options.algorithms, keep_limit=options.keep_limit if options.metadata else 0
        )
    except EntryReplaced as exc:
        return FileRecord(
            **base,
            kind="file",
            size=st.st_size,
            filesystem=times,
            errors=(Problem("hash", "error", "ChangedDuringScan", str(exc)),),
        )
    except OSError as exc:
        return FileRecord(**base, kind="file", size=st.st_size, filesystem=times, errors=(_err("hash", exc),))
    # 2. Did it change while we read it?
    changed = changed_while_read(entry.path, st, result)
    if changed:
        errors.append(
            Problem(
                "hash",
                "error",
                "ChangedDuringScan",
                "the file changed while it was read (its size, mtime or ctime)",
            )
        )
        findings.append(
            Finding("changed-during-scan", "warning", "the file changed while it was read; the hashes may not match it")
        )
    return _Read(entry, st, times, base, result, errors, findings)


def _file_type(read: _Read, options: ScanOptions, libmagic: bool = True) -> FileType:
    """3. What is it really? (A failure is an error of the record, and no type.)"""
    entry = read.entry
    try:
        if libmagic:
            return _libmagic_type(path_name(entry.rel), read.result.head, options)
        return signature_type(path_name(entry.rel), read.result.head)
    except Exception as exc:  # noqa: BLE001 - libmagic errors are per-file
        read.errors.append(_err("type", exc))
        return FileType(mime=None, description=None, extension_ok=None, decided_by="none")


def _finish_file(read: _Read, ftype: FileType, options: ScanOptions, clock: ExtractorClock | None = None) -> FileRecord:
    entry, st, times, base, result = read.entry, read.st, read.times, read.base, read.result
    errors, findings = read.errors, read.findings
    if ftype.problem is not None:
        errors.append(Problem("type", "warning", "LibmagicGaveUp", ftype.problem))
    if ftype.extension_ok is False:
        findings.append(
            Finding(
                "extension-mismatch",
                "notice",
                f"the name's extension does not fit the detected type {ftype.mime}",
                {"extension": path_name(entry.rel).rsplit(".", 1)[-1], "mime": ftype.mime},
            )
        )
    # 4. Metadata.
    extractions: list[Extraction] = []
    if options.metadata and result.size > 0:
        ctx = FileContext(
            path=entry.path,
            rel_path=base["path"],
            stat=st,
            file_type=ftype,
            head=result.head,
            content=result.content,
            c2pa_trust=options.c2pa_trust,
            pdq=options.pdq,
            algorithms=options.algorithms,
            archive_bytes=options.archive_bytes,
            timeout=options.timeout,
        )
        extractions = run_extractors(ctx, options.timeout, clock)
    timestamps = tuple(t for e in extractions for t in e.timestamps)
    devices = [e.device for e in extractions if e.device is not None]
    image = next((e.image for e in extractions if e.image is not None), None)
    for e in extractions:
        errors.extend(e.problems)
        findings.extend(e.findings)
    metadata = {e.group: e.tags for e in extractions if e.tags}
    captured = pick_captured(timestamps)
    clash = filename.conflict_finding(timestamps, captured)
    if clash is not None:
        findings.append(clash)
    return FileRecord(
        **base,
        kind="file",
        size=result.size,
        mime=ftype.mime,
        description=ftype.description,
        extension_ok=ftype.extension_ok,
        type_decided_by=ftype.decided_by,
        hashes=result.digests,
        filesystem=times,
        timestamps=timestamps,
        captured=captured,
        gps=merge_gps([e.gps for e in extractions if e.gps is not None]),
        device=merge_device(devices) if devices else Device(),
        image=image,
        metadata=metadata,
        findings=tuple(findings),
        errors=tuple(errors),
    )


def _libmagic_type(name: str, head: bytes, options: ScanOptions) -> FileType:
    """detect_type. libmagic is C: no exception reaches it. In a worker, one stuck on a
    crafted file past the time limit ends its process (see threadlimit.Backstop)."""
    limit = options.timeout
    stop = threadlimit.thread_backstop() if limit else None
    if stop is None or not limit:
        return detect_type(name, head, exact=options.exact_magic)
    stop.arm(limit)
    try:
        return detect_type(name, head, exact=options.exact_magic)
    finally:
        stop.disarm()


def path_name(rel: bytes) -> str:
    return rel.rsplit(b"/", 1)[-1].decode("utf-8", "replace")


def scan(
    paths: Sequence[str | bytes] | Roots,
    options: ScanOptions | None = None,
    *,
    skip: Callable[[Entry], bool] | None = None,
    scheduler: Any = None,
    meter: ReadMeter | None = None,
) -> Iterator[FileRecord]:
    """Scan files and folders; yield one record per entry, sorted by path.

    Args:
        paths: files and folders, or already resolved ``Roots``.
        options: what to compute and how many workers to use.
        skip: entries for which this returns True are not processed (``--resume``).
        scheduler: a Dask scheduler address or ``distributed.Client`` to run on.
        meter: counts the bytes read, here and in the worker processes, as they are
            read (for a progress display; a Dask cluster's workers do not count).
    """
    with counting(meter):
        yield from _scan(paths, options, skip, scheduler)


def _scan(
    paths: Sequence[str | bytes] | Roots,
    options: ScanOptions | None,
    skip: Callable[[Entry], bool] | None,
    scheduler: Any,
) -> Iterator[FileRecord]:
    from evidence_cli import engine

    options = options or ScanOptions()
    roots = paths if isinstance(paths, Roots) else resolve_roots(paths)
    entries: Iterable[Entry] = (
        e for e in walk(roots) if e.path not in options.exclude and not (skip is not None and skip(e))
    )
    if scheduler is not None:
        yield from engine.run_dask(entries, options, scheduler, roots.roots)
    elif options.workers >= 1:
        yield from engine.run_pool(entries, options, options.workers)
    else:
        yield from engine.run_inline(entries, options)


class TimeLimitExceeded(BaseException):
    """An extractor ran past its time limit. A BaseException, so that an extractor's own
    ``except Exception`` cannot swallow it (the timer fires only once)."""


_alarm_installed = False
#: True only while limited code runs: an alarm that fires just after it returned (before
#: the timer is disarmed) is ignored instead of escaping into the scan's own code.
_inside_limit = False


#: The running limit (for the handler): its start on threadlimit.clock(), and its length.
_limit_from = 0.0
_limit_seconds = 0.0
#: An alarm this much early (or less) is on time (clocks differ by a hair).
_EARLY = 0.01


def _expired(signum: int, frame: Any) -> None:
    if _inside_limit:
        # In a worker, the alarm may come early by the time the process was stopped (Ctrl-Z,
        # a paused machine): SIGALRM's timer counts it, and the extractor would be said to
        # have run past its limit. Then the timer is set again for what is left.
        left = threadlimit.time_left(_limit_from, _limit_seconds)
        if left is not None and left > _EARLY:
            signal.setitimer(signal.ITIMER_REAL, left)
            return
        threadlimit.limit_raised()
        raise TimeLimitExceeded()


def _limit_usable(seconds: float | None) -> bool:
    return (
        seconds is not None
        and seconds > 0
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )


def _install_alarm() -> None:
    global _alarm_installed
    if not _alarm_installed:
        signal.signal(signal.SIGALRM, _expired)
        _alarm_installed = True


class _Limited:
    """Marks limited code (a plain class: entered for every extractor of every file)."""

    def __enter__(self) -> None:
        global _inside_limit
        _inside_limit = True

    def __exit__(self, *exc: object) -> None:
        global _inside_limit
        _inside_limit = False


_LIMITED = _Limited()


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise TimeLimitExceeded in this thread after ``seconds`` (SIGALRM timer).

    Effective in a process's main thread on POSIX — where worker processes and the
    in-process scan run extractors — and, with a watchdog thread, in any thread inside
    :func:`evidence_cli.threadlimit.watched` (Dask tasks); elsewhere it runs without a
    limit. The handler is installed once per process; each call only arms and disarms the
    timer (two system calls).
    """
    with ExtractorClock(seconds) as clock:
        try:
            with clock.running():
                yield
        except TimeLimitExceeded:
            if clock.watch is not None:
                threadlimit.ended(arrived=True)
            raise


#: The longest time limit: the timer (``setitimer``) takes about 2**31 seconds at most, and
#: raised OverflowError in every extractor past it. Longer limits are this one (an
#: extractor busy for a day on one file is stuck); ``--timeout`` refuses them.
MAX_TIMEOUT = 86400.0

#: The extractors of one file, or of a group of files (:func:`process_entries`), share one
#: timer, re-armed for the next extractor only when the ones before it used more than this
#: share of the limit (at most 10 ms): each extractor gets at least 99 % of ``--timeout``,
#: for two system calls a group instead of two an extractor (most extractors take
#: microseconds).
REARM_SHARE = 0.01


class ExtractorClock:
    """The time limit of each extractor of one file, or of a group of files (SIGALRM, as
    :func:`time_limit`). Between extractors the timer may stay armed: an alarm outside
    one is ignored, and the next extractor's run arms it again (see REARM_SHARE)."""

    def __init__(self, seconds: float | None) -> None:
        self.usable = _limit_usable(seconds)
        self.seconds = min(float(seconds or 0), MAX_TIMEOUT)
        self.slack = min(0.01, self.seconds * REARM_SHARE)
        self.armed_at: float | None = None
        # Outside a main thread, in threadlimit.watched() (Dask tasks): the watchdog.
        self.watch = threadlimit.current() if not self.usable and self.seconds > 0 else None
        # In a worker process, the alarm's exception cannot reach an extractor stuck in C
        # code: with the alarm, the backstop ends the worker then (threadlimit.Backstop).
        self.backstop = threadlimit.thread_backstop() if self.usable else None

    def __enter__(self) -> ExtractorClock:
        if self.usable:
            _install_alarm()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.armed_at is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            self.armed_at = None
            if self.backstop is not None:
                self.backstop.disarm()

    def running(self) -> Any:
        """Context for one extractor: its limit is (re-)armed if needed."""
        global _limit_from, _limit_seconds
        if self.watch is not None:
            return self.watch.limited(self.seconds)
        if not self.usable:
            return nullcontext()
        now = time.monotonic()
        # After an alarm (or any extractor slower than the slack) the timer is re-armed.
        if self.armed_at is None or now - self.armed_at > self.slack:
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
            self.armed_at = now
            if self.backstop is not None:
                self.backstop.arm(self.seconds, now)
                _limit_from, _limit_seconds = now - threadlimit.stalled(), self.seconds
        return _LIMITED
