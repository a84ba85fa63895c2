"""`evidence scan`: walk, identify, hash, extract; table, JSON, JSON Lines, CSV."""

from __future__ import annotations

import math
import os
import socket
import sys
from contextlib import ExitStack
from dataclasses import replace
from typing import Any, Callable

import click
from rich.text import Text

from evidence_cli import __version__, components
from evidence_cli import resume as resume_mod
from evidence_cli.cli.common import (
    CONTEXT,
    EXIT_OK,
    EXIT_PROBLEMS,
    Advance,
    Failure,
    GuardedOutput,
    ProgressLine,
    Tally,
    Totals,
    case_options,
    check_outputs_distinct,
    check_outputs_new,
    check_outputs_outside,
    cli,
    csv_bom_option,
    lines_above,
    not_empty,
    open_output,
    overwrite_option,
    progress_columns,
    refuse_closed_stdout,
    safe_path,
    utc_now,
)
from evidence_cli.cli.stopping import StopSignals
from evidence_cli.console import counted, make_consoles, safe_text
from evidence_cli.engine import MIN_MEMORY_LIMIT, default_workers, max_workers, pool_unavailable, workers_convert
from evidence_cli.errors import OutputFailed, ScanError
from evidence_cli.extractors.base import ARCHIVE_BYTES
from evidence_cli.filetype import check_libmagic
from evidence_cli.formats.pdq import numpy_missing
from evidence_cli.hashing import ALGORITHMS, DEFAULT_ALGORITHMS, normalise_algorithms
from evidence_cli.meter import ReadMeter
from evidence_cli.models import ScanInfo
from evidence_cli.scanner import MAX_TIMEOUT, ScanOptions, scan
from evidence_cli.summary import Summary
from evidence_cli.walker import RootLink, display_path, resolve_roots
from evidence_cli.writers import OutputFormat, Writer, make_writer, prerender_kinds
from evidence_cli.writers.table import DEFAULT_LIMIT, human_size


def _hash_option(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    if not value:
        return DEFAULT_ALGORITHMS
    try:
        return normalise_algorithms(n for v in value for n in v.split(","))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _memory_limit_option(ctx: click.Context, param: click.Parameter, value: int) -> int:
    if 0 < value < MIN_MEMORY_LIMIT:
        raise click.BadParameter(
            f"at least {MIN_MEMORY_LIMIT} (MiB), or 0 for none: a worker process itself takes "
            "about 240 MB of address space, and one with much less dies before reading a file."
        )
    return value


def _timeout_option(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if math.isnan(value):  # (a range check lets NaN through: every comparison is false)
        raise click.BadParameter(f"not a number: give seconds, at most {MAX_TIMEOUT:g} (a day), or 0 for no limit.")
    return value


@cli.command("scan", context_settings=CONTEXT)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=False, path_type=str), callback=not_empty)
@click.option(
    "--json",
    "json_path",
    metavar="PATH",
    callback=not_empty,
    help="Write the JSON export (the manifest) here; '-' for stdout.",
)
@click.option(
    "--jsonl",
    "jsonl_path",
    metavar="PATH",
    callback=not_empty,
    help="Write JSON Lines (header line, one record a line) here.",
)
@click.option(
    "--csv", "csv_path", metavar="PATH", callback=not_empty, help="Write the CSV export (one row a file) here."
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice([f.value for f in OutputFormat]),
    default=OutputFormat.TABLE.value,
    show_default=True,
    help="What to print on stdout.",
)
@click.option(
    "--hash",
    "algorithms",
    multiple=True,
    callback=_hash_option,
    metavar="LIST",
    help=f"Digests to compute, comma-separated or repeated: {', '.join(ALGORITHMS)}. "
    f"Default: {','.join(DEFAULT_ALGORITHMS)}.",
)
@click.option("--no-metadata", is_flag=True, help="Identity only: hashes, type and filesystem times.")
@click.option(
    "--csv-raw",
    is_flag=True,
    help="Do not neutralise CSV cells that start with = + - @ tab or CR (for machine consumers only).",
)
@csv_bom_option
@click.option(
    "--table-limit",
    type=click.IntRange(min=0),
    default=DEFAULT_LIMIT,
    show_default=True,
    help="Rows shown in the terminal table (0: all); exports always hold every entry.",
)
@click.option(
    "--width",
    type=click.IntRange(min=40),
    help="Terminal width for the table (narrower: fewer columns, named below it).",
)
@click.option(
    "--exact-magic",
    is_flag=True,
    help="Run libmagic's full pattern database on plain text too, ask it separately for the MIME "
    "type of unidentified data, and never use a smaller copy of the database (slower; by default "
    "plain prose, chat logs and CSV use its text classifier alone).",
)
@click.option(
    "--c2pa-trust",
    "c2pa_trust",
    type=click.Path(exists=True, dir_okay=False, allow_dash=False),
    help="PEM file of trust anchors for C2PA validation (for example the C2PA trust list you "
    "downloaded): a manifest whose signer chains to one is 'trusted'. Without it nothing is trusted. "
    "Its SHA-256 goes into the scan header. Never fetched: the validation is offline.",
)
@click.option(
    "--pdq",
    is_flag=True,
    help="Decode the pixels of JPEG, PNG, GIF, WebP, HEIC, AVIF, TIFF and other raster images and record their PDQ "
    "perceptual hash and quality (metadata.pdq; the hash hash-sharing programmes against "
    "non-consensual imagery exchange). Slower; needs NumPy (evidence-cli[pdq]).",
)
@click.option(
    "--archive-mib",
    type=click.IntRange(min=0),
    default=ARCHIVE_BYTES // (1024 * 1024),
    show_default=True,
    help="MiB of the members of each ZIP or TAR archive to inflate and hash (0: every member; "
    "a large archive then needs a larger --timeout too). Members past it are listed, not hashed, "
    "and a warning says how many.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=None,
    help="Worker processes (default: all cores; at most 8 per core, at least 32). 0 runs in this process, "
    "without crash isolation.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, max=MAX_TIMEOUT),
    default=5.0,
    show_default=True,
    callback=_timeout_option,
    help=(
        "Seconds each metadata extractor may spend on one file (0: no limit; at most "
        f"{MAX_TIMEOUT:g}, a day); past it, an error on the record. A reader stuck in C "
        "code (libmagic too) ends its worker past twice the limit (5 s past it at least)."
    ),
)
@click.option(
    "--memory-limit",
    type=click.IntRange(min=0),
    default=4096,
    show_default=True,
    callback=_memory_limit_option,
    help=(
        "Address-space limit of each worker process in MiB (0: none; else at least "
        f"{MIN_MEMORY_LIMIT}); a memory bomb becomes an error on the record."
    ),
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    callback=not_empty,
    help="Run on a Dask cluster (e.g. tcp://10.0.0.5:8786) whose workers see the same paths. Needs evidence-cli[dask].",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue an interrupted scan recorded in --jsonl PATH: recorded entries are kept, not re-hashed.",
)
@overwrite_option
@case_options
def scan_cmd(
    paths: tuple[str, ...],
    json_path: str | None,
    jsonl_path: str | None,
    csv_path: str | None,
    fmt: str,
    algorithms: tuple[str, ...],
    no_metadata: bool,
    csv_raw: bool,
    csv_bom: bool,
    table_limit: int,
    width: int | None,
    exact_magic: bool,
    c2pa_trust: str | None,
    pdq: bool,
    archive_mib: int,
    workers: int | None,
    timeout: float,
    memory_limit: int,
    scheduler: str | None,
    resume: bool,
    overwrite: bool,
    case_id: str | None,
    examiner: str | None,
    evidence_id: str | None,
) -> None:
    """Scan files and folders: type, hashes, times, GPS and device for every entry.

    Walks every PATH (folders recursively, sorted; symlinks recorded, never
    followed, a PATH that is a link too, with a warning: give LINK/ to scan the
    folder it leads to; FIFOs, sockets and devices recorded, never opened), hashes each
    regular file in one read pass, detects its real type with libmagic, reads
    its metadata and prints a table. Nothing inside the scanned tree is ever
    written. Exit status: 0 all entries read, 1 some entries had errors or
    warnings (the summary counts each), 2 nothing could be done (bad path, bad
    option, output inside the tree).

    \b
    Example:
      evidence scan samples/
      evidence scan ./collected --json manifest.json --csv report.csv \\
          --case 2026-041 --examiner "J. Doe" --evidence-id EV-7
      evidence scan phone/ --hash sha256,sha512 -f jsonl > records.jsonl
    """
    out_console, err_console = make_consoles(width)
    problem = check_libmagic()
    if problem:
        raise Failure(problem)
    try:
        roots = resolve_roots(paths)
    except ScanError as exc:
        raise Failure(str(exc)) from None
    for link in roots.links:
        err_console.print(Text(safe_text(_root_link_note(link)), style="" if link.followed else "bold yellow"))
    exports: list[tuple[OutputFormat, str]] = [
        (f, p)
        for f, p in ((OutputFormat.JSON, json_path), (OutputFormat.JSONL, jsonl_path), (OutputFormat.CSV, csv_path))
        if p
    ]
    if sum(p == "-" for _, p in exports) > 1:
        raise click.UsageError("only one export can go to stdout ('-')")
    stdout_taken = any(p == "-" for _, p in exports)
    if pdq and no_metadata:
        raise click.UsageError("--pdq is a metadata reader: it cannot run with --no-metadata")
    if pdq and (missing := numpy_missing()):
        raise Failure(missing)
    if csv_bom and csv_path is None and fmt != OutputFormat.CSV.value:
        raise click.UsageError("--csv-bom applies to CSV output: give --csv PATH or -f csv")
    if stdout_taken or fmt != OutputFormat.TABLE.value:
        refuse_closed_stdout()  # before any export file is begun
    check_outputs_outside([p for _, p in exports], roots)
    check_outputs_distinct([p for _, p in exports])
    # A resumed scan continues its own exports: those files are expected to exist.
    check_outputs_new([p for _, p in exports], overwrite=overwrite or resume, resumable=jsonl_path)
    worker_count = _worker_count(workers, local=scheduler is None, err_console=err_console)
    options = ScanOptions(
        algorithms=algorithms,
        metadata=not no_metadata,
        workers=worker_count,
        timeout=timeout or None,
        memory_limit=memory_limit * 1024 * 1024 if memory_limit else None,
        exact_magic=exact_magic,
        c2pa_trust=read_trust_anchors(c2pa_trust) if c2pa_trust else None,
        pdq=pdq,
        archive_bytes=archive_mib * 1024 * 1024 if archive_mib else None,
        # What the exports write, converted by the workers where that pays (see there).
        prerender=prerender_kinds(
            [f for f, _ in exports] + ([] if stdout_taken else [OutputFormat(fmt)]), csv_raw=csv_raw
        )
        if workers_convert(worker_count, scheduler)
        else (),
    )
    root_texts = [safe_path(r) for r in roots.roots]
    base_text, base_b64 = display_path(roots.base)
    tool = {"name": "evidence-cli", "version": __version__, "components": components.current()}
    state = _resume_state(resume, jsonl_path, root_texts, options, tool)
    info = ScanInfo(
        tool=tool,
        case={"case": case_id, "examiner": examiner, "evidence_id": evidence_id},
        roots=tuple(root_texts),
        started_utc=utc_now(),
        finished_utc=None,
        options={**options.to_dict(), "base": safe_path(roots.base)},
        host=socket.gethostname(),
        root=base_text,
        root_bytes=base_b64,
    )
    if state is not None:
        # The header of the first run stays the header; this run is noted in the options.
        first = ScanInfo.from_dict(state.header)
        info = replace(
            first,
            options={**first.options, "resumed_utc": [*first.options.get("resumed_utc", []), info.started_utc]},
        )
    summary = Summary()
    interrupted: str | None = None
    outputs: list[GuardedOutput] = []  # the exports' streams: each knows if it could not be written
    table_error: OSError | None = None
    try:
        with ExitStack() as stack:
            stdout_fmt = None if stdout_taken else OutputFormat(fmt)
            writers, resumed_writer = _open_exports(
                stack,
                exports,
                state,
                stdout_fmt,
                outputs,
                csv_raw=csv_raw,
                csv_bom=csv_bom,
                console=out_console,
                table_limit=table_limit,
            )
            all_writers = writers + ([resumed_writer] if resumed_writer is not None else [])
            try:
                for w in writers:
                    w.begin(info)
                if state is not None:
                    # Entries already recorded: into the summary and the other exports, not re-read.
                    for rec in resume_mod.replay(state):
                        summary.add(rec)
                        for w in writers:
                            w.write(rec)
            except OutputFailed:
                interrupted = "stopped: an export could not be written"
            except BrokenPipeError:
                interrupted = _READER_GONE
            # The bytes read so far, the file being read included (a Dask cluster's
            # workers do not count: there, the files finished).
            meter, finished, totals = ReadMeter(), [0], Totals()
            progress = (
                _progress(err_console, lambda: max(meter.total, finished[0]), lambda: meter.reading, totals)
                if interrupted is None
                else None
            )
            stops = stack.enter_context(StopSignals(ignore_after_stop=True))
            try:
                skip = (lambda e: e.rel in state.done) if state is not None else None
                # On the screen only, the totals come from a walk of its own, in a thread.
                with (
                    # Records streamed to the terminal that shows the progress line go above
                    # it (written as they were, each was glued to the end of its text).
                    lines_above(progress, outputs),
                    progress or ExitStack(),
                    Tally(roots, totals, skip) if progress else ExitStack(),
                ):
                    advance = Advance(progress, "scanning") if progress else None
                    records = (
                        scan(roots, options, skip=skip, scheduler=scheduler, meter=meter if progress else None)
                        if interrupted is None
                        else ()
                    )
                    try:
                        for rec in records:
                            # Ctrl-C/SIGTERM/SIGHUP wait until this record is in every export and
                            # the summary, so a partial scan's exports all hold the same records.
                            with stops.held():
                                summary.add(rec)
                                for w in all_writers:
                                    w.write(rec)
                            if advance is not None:
                                if rec.hashes:
                                    finished[0] += rec.size or 0
                                advance(rec.path)
                    finally:
                        if advance is not None:
                            advance.flush()
            except KeyboardInterrupt:
                interrupted = "interrupted"
            except OutputFailed:
                interrupted = "stopped: an export could not be written"
            except BrokenPipeError:  # (`| head`: stdout's stream drops what follows)
                interrupted = _READER_GONE
            except Exception as exc:  # noqa: BLE001 - e.g. the Dask scheduler is unreachable
                if summary.entries == 0 and state is None:
                    raise Failure(safe_text(f"the scan could not run: {type(exc).__name__}: {exc}")) from None
                interrupted = safe_text(f"stopped by an error: {type(exc).__name__}: {exc}")
            info = replace(_finish(info), complete=interrupted is None)
            # Closing the exports is not interrupted: a signal now would leave them invalid.
            stops.holding = True
            for w in all_writers:
                try:
                    w.end(info, summary)
                except OutputFailed:
                    pass  # (said below; the other exports are still closed)
                except OSError as exc:  # the table, printed on stdout by rich itself
                    table_error = exc  # raised once every export is closed
    except OutputFailed:
        pass  # an export failed as it was closed (said below; every stream was closed)
    if table_error is not None:
        _print_summary(err_console, summary)
        raise table_error  # (the command line reports it: cli.main)
    _print_summary(err_console, summary)
    failed = [o.failed for o in outputs if o.failed is not None]
    for failure in failed:
        err_console.print(Text(safe_text(f"Error: {failure}"), style="bold red"))
    if interrupted:
        err_console.print(
            Text(
                f"Scan {interrupted} after {counted(summary.entries, 'entry', 'entries')}: the "
                + ("other " if failed else "")
                + 'exports are valid but partial ("complete": false). Re-run with --jsonl PATH --resume to continue.'
            )
        )
        sys.exit(EXIT_PROBLEMS)
    if failed:
        err_console.print(Text("The scan ran to its end; the other exports are complete."))
        sys.exit(EXIT_PROBLEMS)
    sys.exit(EXIT_PROBLEMS if summary.with_errors else EXIT_OK)


#: Why a scan stopped when the reader of its stdout went away (``| head``).
_READER_GONE = "stopped: the reader of stdout went away"


def _open_exports(
    stack: ExitStack,
    exports: list[tuple[OutputFormat, str]],
    state: resume_mod.ResumeState | None,
    stdout_fmt: OutputFormat | None,
    outputs: list[GuardedOutput],
    *,
    csv_raw: bool,
    csv_bom: bool,
    console: Any,
    table_limit: int,
) -> tuple[list[Writer], Writer | None]:
    """The writers of every export (and of stdout's format, if any), their streams added
    to ``outputs``; with ``state``, the JSONL export is cut after its last record and
    continued (its writer comes second: it already holds the replayed records)."""
    writers: list[Writer] = []
    resumed_writer: Writer | None = None
    for f, p in exports:
        if state is not None and f is OutputFormat.JSONL:
            resume_mod.truncate(state)
            resumed_writer = make_writer(f, open_output(stack, p, append=True, track=outputs, json=True))
        else:
            stream = open_output(stack, p, track=outputs, json=f is not OutputFormat.CSV)
            writers.append(make_writer(f, stream, csv_neutralise=not csv_raw, csv_bom=csv_bom))
    if stdout_fmt is OutputFormat.TABLE:
        writers.append(make_writer(stdout_fmt, sys.stdout, console=console, table_limit=table_limit))
    elif stdout_fmt is not None:
        stream = open_output(stack, "-", track=outputs, json=stdout_fmt is not OutputFormat.CSV)
        writers.append(make_writer(stdout_fmt, stream, csv_neutralise=not csv_raw, csv_bom=csv_bom))
    return writers, resumed_writer


def _resume_state(
    resume: bool, jsonl_path: str | None, roots: list[str], options: ScanOptions, tool: dict[str, Any]
) -> resume_mod.ResumeState | None:
    if not resume:
        return None
    if not jsonl_path or jsonl_path == "-":
        raise click.UsageError("--resume needs --jsonl PATH: the JSON Lines export of the interrupted scan")
    if not os.path.exists(jsonl_path):
        raise Failure(f"cannot resume: {jsonl_path!r} does not exist (run the scan without --resume first)")
    try:
        state = resume_mod.load(jsonl_path)
        resume_mod.check_compatible(state, roots, options.to_dict(), tool)
    except ScanError as exc:
        raise Failure(safe_text(str(exc))) from None  # (it may quote the file's text)
    return state


def _finish(info: ScanInfo) -> ScanInfo:
    return replace(info, finished_utc=utc_now())


def _progress(
    err_console: Any, read: Callable[[], int], reading: Callable[[], bytes | None], totals: Totals
) -> ProgressLine | None:
    """The progress display on a terminal: entries done, bytes read (``read``) and their
    rate, and once ``totals`` are known of how many and the time left at that rate; time,
    the path being read (``reading``) or else the last one done; None elsewhere."""
    if not err_console.is_terminal:
        return None
    return ProgressLine(
        *progress_columns(read, reading, totals, bar_width=40),
        console=err_console,
        transient=True,
    )


def _print_summary(console: Any, s: Summary) -> None:
    console.print(
        Text(
            f"{counted(s.entries, 'entry', 'entries')}: {counted(s.files, 'file')} ({human_size(s.bytes)}), "
            f"{counted(s.symlinks, 'symlink')}, {s.other} special, {counted(s.directories, 'unreadable folder')}; "
            # Errors and warnings apart, as the table's ERR:n and WARN:n: "2 with errors" for
            # two files holding only warnings read as if nothing was read from them.
            f"{s.with_errors - s.with_warnings_only} with errors, {s.with_warnings_only} with warnings "
            f"only, {s.with_findings} with findings"
        )
    )
    if s.by_type:
        console.print(Text("by type: " + ", ".join(f"{safe_text(k)} {v}" for k, v in s.by_type.most_common())))


def _worker_count(asked: int | None, *, local: bool, err_console: Any) -> int:
    """Worker processes for this scan: ``--workers`` or every core; a usage error past
    :func:`max_workers`; none (a warning says why) where processes cannot start."""
    workers = default_workers() if asked is None else asked
    if workers > max_workers():
        raise click.BadParameter(
            f"{workers} worker processes would exhaust this machine's memory; at most {max_workers()} "
            f"(8 per core, at least 32)",
            param_hint="'--workers'",
        )
    why = pool_unavailable() if workers >= 1 and local else None
    if why is None:
        return workers
    err_console.print(
        Text(
            safe_text(
                f"Warning: worker processes cannot start here ({why}); scanning in this process "
                "instead (as --workers 0): the records are the same, but a file that crashes a C "
                "library would stop the scan."
            ),
            style="bold yellow",
        )
    )
    return 0


def _root_link_note(link: RootLink) -> str:
    """What the examiner must know about a root that is a symbolic link (see resolve_roots)."""
    given = safe_path(link.given)
    if link.followed and link.target is not None:
        return f"Note: {given} names the folder a symbolic link leads to; scanning it as {safe_path(link.target)}."
    if link.target is None:
        return f"Warning: {given} is a symbolic link that leads nowhere: recorded as a link."
    again = safe_path(link.target)
    if os.path.isdir(link.target):
        again = f"{given.rstrip('/')}/ or {again}"
    return (
        f"Warning: {given} is a symbolic link to {safe_path(link.target)}: recorded as a link, not followed "
        f"(links never are). To scan what it leads to, give {again}."
    )


#: A trust list is a few hundred certificates: far below this.
MAX_TRUST_FILE = 16 * 1024 * 1024


def read_trust_anchors(path: str) -> str:
    """The PEM text of ``--c2pa-trust``, refused with a message when it holds no certificate."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_TRUST_FILE + 1)
    except OSError as exc:
        raise click.BadParameter(f"cannot read it: {exc.strerror or exc}", param_hint="--c2pa-trust") from None
    if len(data) > MAX_TRUST_FILE:
        raise click.BadParameter(
            f"larger than {MAX_TRUST_FILE // 1024 // 1024} MiB: not a trust list", param_hint="--c2pa-trust"
        )
    text = data.decode("ascii", errors="replace")
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise click.BadParameter("holds no PEM certificate (-----BEGIN CERTIFICATE-----)", param_hint="--c2pa-trust")
    return text
