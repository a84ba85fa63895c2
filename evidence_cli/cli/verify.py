"""`evidence verify`: re-hash what a manifest lists; report ok/modified/missing/moved/new/unreadable."""

from __future__ import annotations

import os
import socket
import sys
from contextlib import ExitStack
from typing import Any, Callable

import click

from evidence_cli import __version__
from evidence_cli.cli.common import (
    CONTEXT,
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    Advance,
    Failure,
    GuardedOutput,
    ProgressLine,
    Totals,
    case_options,
    check_outputs_distinct,
    check_outputs_new,
    check_outputs_outside,
    cli,
    csv_bom_option,
    drop_stdout,
    lines_above,
    not_empty,
    open_output,
    overwrite_option,
    progress_columns,
    refuse_closed_stdout,
    safe_path,
    say,
    stdout_lines,
    utc_now,
)
from evidence_cli.cli.stopping import StopSignals
from evidence_cli.console import counted, make_consoles, safe_text
from evidence_cli.errors import ManifestError, OutputFailed
from evidence_cli.exports import VerifyReportCsv, VerifyReportJson
from evidence_cli.manifest import (
    SUM_ALGORITHMS,
    Manifest,
    TamperedManifest,
    file_sha256,
    read_manifest,
    require_trusted,
    with_article,
)
from evidence_cli.meter import ReadMeter, counting
from evidence_cli.models import VerifyEntry
from evidence_cli.verify import VerifySummary, other_mtime, verification_roots, verify
from evidence_cli.walker import Roots, display_path


@cli.command("verify", context_settings=CONTEXT)
@click.argument("manifest_path", metavar="MANIFEST", type=click.Path(dir_okay=False, path_type=str), callback=not_empty)
@click.option(
    "--root",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=str),
    callback=not_empty,
    help="Folder the manifest's paths are relative to, when the evidence has moved "
    "(default: the root recorded in the manifest).",
)
@click.option(
    "--json",
    "json_path",
    metavar="PATH",
    callback=not_empty,
    help="Write the verify report (JSON, sealed) here; '-' for stdout.",
)
@click.option(
    "--csv",
    "csv_path",
    metavar="PATH",
    callback=not_empty,
    help="Write the verify report as CSV (one row an entry) here.",
)
@click.option("-a", "--all", "show_all", is_flag=True, help="List ok entries on stdout too (default: only the others).")
@click.option(
    "--allow-unsealed",
    is_flag=True,
    help="Accept a JSON manifest that has no seal (the report then says it is not sealed).",
)
@click.option(
    "--algorithm",
    type=click.Choice(list(SUM_ALGORITHMS)),
    help="The digest algorithm of a sum list whose lines do not name it: b2sum without --tag "
    "writes digests as long as sha512sum's, so give blake2b for such a list (by default their "
    "length decides: md5, sha1, sha256 or sha512). Sum lists, and Get-FileHash CSVs without an "
    "Algorithm column, only.",
)
@csv_bom_option
@overwrite_option
@case_options
def verify_cmd(
    manifest_path: str,
    root: str | None,
    json_path: str | None,
    csv_path: str | None,
    show_all: bool,
    allow_unsealed: bool,
    algorithm: str | None,
    csv_bom: bool,
    overwrite: bool,
    case_id: str | None,
    examiner: str | None,
    evidence_id: str | None,
) -> None:
    """Re-hash the evidence a manifest lists and report every difference.

    MANIFEST is the JSON export of `evidence scan` (sealed), or a sha256sum,
    md5sum, sha1sum, sha512sum, b2sum, BSD `md5 -r`, `openssl dgst` or hashdeep
    list, or PowerShell's `Get-FileHash | Export-Csv` (no seal: the report says so; a
    b2sum list without --tag needs --algorithm blake2b; a list made on Windows
    needs --root, the folder that holds the copy of its common folder).
    The seal is checked before anything is re-hashed: a tampered manifest stops
    there. Then the root is walked read-only (symlinks never followed, special
    files never opened, nothing written inside it) and every path gets one
    status: ok, modified (which digests, old/new size), missing, moved (its
    exact content is at a path not in the manifest), new, unreadable. An
    identical copy that is itself in the manifest never hides a missing file.
    A file whose bytes match but whose modification time is not the one the
    scan recorded (touched, saved again, copied without its times) stays ok and
    is listed with both times (JSON manifests only: sum lists hold no times).
    Entries that are not ok are listed on stdout (all with --all); the summary
    goes to stderr. Exit status: 0 everything ok and nothing new; 1 anything
    else; 2 the manifest cannot be read, is tampered, has no seal (without
    --allow-unsealed), or bad usage.

    \b
    Example:
      evidence verify manifest.json
      evidence verify manifest.json --root /mnt/copy/collected \\
          --json verify-report.json --examiner "J. Doe"
      evidence verify SHA256SUMS --root ./collected --csv verify.csv
      evidence verify B2SUMS --algorithm blake2b --root ./collected
      evidence verify hashes.csv --root /mnt/usb/Evidence   # Get-FileHash
    """
    out, err = make_consoles()
    started = utc_now()
    if json_path == "-" and csv_path == "-":
        raise click.UsageError("only one report can go to stdout ('-')")
    outputs = [p for p in (json_path, csv_path) if p]
    if csv_bom and csv_path is None:
        raise click.UsageError("--csv-bom applies to the CSV report: give --csv PATH")
    if "-" in outputs:
        refuse_closed_stdout()
    check_outputs_distinct(outputs, [manifest_path])
    check_outputs_new(outputs, overwrite=overwrite)
    given_root = os.path.abspath(os.fsencode(root)) if root else None
    if given_root is not None:
        check_outputs_outside(outputs, Roots(base=given_root, roots=(given_root,)))
    context = _Context(started, case_id, examiner, evidence_id, allow_unsealed, given_root, csv_bom)

    # 1. The manifest, and its seal, before anything is re-hashed.
    try:
        manifest = read_manifest(manifest_path, algorithm=algorithm)
    except ManifestError as exc:
        _refuse(context, outputs, json_path, csv_path, _unreadable_manifest(manifest_path, str(exc)), err, exc)
        return
    if manifest.base is not None:
        # Even a manifest that will be refused never gets a report written inside its tree.
        check_outputs_outside(outputs, Roots(base=manifest.base, roots=(manifest.base,)))
    try:
        require_trusted(manifest, allow_unsealed=allow_unsealed)
        roots = verification_roots(manifest, root)
    except ManifestError as exc:
        _refuse(context, outputs, json_path, csv_path, manifest.describe(), err, exc)
        return
    check_outputs_outside(outputs, Roots(base=roots.base, roots=(roots.base,)))

    # 2. Walk and re-hash.
    exclude = _manifest_inode(manifest_path)
    summary = VerifySummary(len(manifest.entries))
    stopped: str | None = None  # why not every entry was checked, if so
    reports: list[GuardedOutput] = []  # each knows if it could not be written
    # The entries listed on stdout (none when a report goes there). Written as it is, not
    # flushed line by line; flushed before the summary (`2>&1` keeps the order). A stdout
    # that cannot take it stops the run as a report would, the reports closed validly.
    listing = None if "-" in outputs else stdout_lines()
    result: dict[str, Any] = {}
    code = EXIT_PROBLEMS
    try:
        with ExitStack() as stack:
            json_w, csv_w = _open_reports(stack, json_path, csv_path, reports, csv_bom=csv_bom)
            if listing is not None:
                reports.append(listing)
                stack.callback(listing.flush)
            try:
                if json_w is not None:
                    json_w.begin(context.tool, context.case, manifest.describe())
                if csv_w is not None:
                    csv_w.begin()
            except OutputFailed:
                stopped = _REPORT_FAILED
            except BrokenPipeError:
                stopped = _READER_GONE
            meter = ReadMeter()  # the bytes re-hashed so far, the file under way included
            # The totals are the manifest's (a new file adds to them: see ReadColumn).
            totals = Totals(len(manifest.entries), sum(e.size or 0 for e in manifest.entries if e.kind == "file"))
            progress = _progress(err, lambda: meter.total, lambda: meter.reading, totals) if stopped is None else None
            stops = stack.enter_context(StopSignals(ignore_after_stop=True))
            try:
                with (
                    # Where stdout is the terminal that shows the progress line, a listed entry
                    # (or a report's line) goes above that line: written to stdout, it was
                    # glued to the end of the line's text.
                    lines_above(progress, reports),
                    progress or ExitStack(),
                    counting(meter if progress else None),
                ):
                    advance = Advance(progress, "verifying") if progress else None
                    entries = (
                        verify(manifest, roots.base, allow_unsealed=allow_unsealed, exclude=exclude)
                        if stopped is None
                        else ()
                    )
                    try:
                        for entry in entries:
                            # Ctrl-C/SIGTERM/SIGHUP wait until this entry is in the summary and
                            # every report, so an interrupted run's reports stay valid and agree.
                            with stops.held():
                                summary.add(entry)
                                if json_w is not None:
                                    json_w.write(entry)
                                if csv_w is not None:
                                    csv_w.write(entry)
                                if listing is not None and (show_all or entry.status != "ok" or other_mtime(entry)):
                                    listing.write(entry_line(entry) + "\n")
                            if advance is not None:
                                advance(entry.path)
                    finally:
                        if advance is not None:
                            advance.flush()
            except KeyboardInterrupt:
                stopped = "interrupted"
            except OutputFailed:
                stopped = _REPORT_FAILED
            except BrokenPipeError:  # (`| head`: stdout's report drops what follows)
                stopped = _READER_GONE
            # Closing the reports is not interrupted: a signal now would leave them invalid.
            stops.holding = True
            # The listing and the CSV report are finished before the result is decided: one
            # that cannot be written even then makes the run exit 1, and the JSON report,
            # closed last, gives that exit code (it said 0).
            try:
                if listing is not None:
                    listing.flush()
            except (OutputFailed, BrokenPipeError):
                pass  # (said below)
            try:
                if csv_w is not None:
                    csv_w.end()
            except (OutputFailed, BrokenPipeError):
                pass  # (said below; the other report is still closed)
            lost = any(r.failed is not None or r.broken for r in reports)
            code = EXIT_PROBLEMS if stopped is not None or lost or not summary.all_ok else EXIT_OK
            result = _result(summary, stopped, code, manifest.format)
            try:
                if json_w is not None:
                    json_w.end(context.verify_section(roots.base, root is not None), summary.to_dict(), result)
            except OutputFailed:
                pass  # (said below; the other report is closed)
    except OutputFailed:
        pass  # a report failed as it was closed (said below; both were closed)
    if listing is not None and (listing.failed is not None or listing.broken):
        drop_stdout()  # what stdout still holds cannot be written: not again at exit
    failed = [r.failed for r in reports if r.failed is not None]
    if failed:
        code = EXIT_PROBLEMS
        result = {**result, "exit_code": code}
    _print_summary(err, manifest, roots.base, root is not None, summary, result)
    for failure in failed:
        say(err, safe_text(f"Error: {failure}"), "bold red")
    sys.exit(code)


class _Context:
    """What every report of this run states, whatever happens."""

    def __init__(
        self,
        started: str,
        case_id: str | None,
        examiner: str | None,
        evidence_id: str | None,
        allow_unsealed: bool,
        given_root: bytes | None,
        csv_bom: bool = False,
    ) -> None:
        self.started = started
        self.csv_bom = csv_bom
        self.tool = {"name": "evidence-cli", "version": __version__}
        self.case = {"case": case_id, "examiner": examiner, "evidence_id": evidence_id}
        self.allow_unsealed = allow_unsealed
        self.given_root = given_root

    def verify_section(self, root: bytes | None, root_given: bool) -> dict[str, Any]:
        text, b64 = display_path(root) if root is not None else (None, None)
        return {
            "started_utc": self.started,
            "finished_utc": utc_now(),
            "host": socket.gethostname(),
            "cwd": safe_path(os.getcwdb()),
            "root": text,
            "root_bytes": b64,
            "root_origin": None if root is None else ("--root" if root_given else "manifest"),
            "options": {"allow_unsealed": self.allow_unsealed},
        }


def _open_reports(
    stack: ExitStack,
    json_path: str | None,
    csv_path: str | None,
    streams: list[GuardedOutput] | None = None,
    *,
    csv_bom: bool = False,
) -> tuple[VerifyReportJson | None, VerifyReportCsv | None]:
    """The reports' writers; their streams are added to ``streams`` (to name a failed one)."""
    json_w = VerifyReportJson(open_output(stack, json_path, track=streams, json=True)) if json_path else None
    csv_w = VerifyReportCsv(open_output(stack, csv_path, track=streams), bom=csv_bom) if csv_path else None
    return json_w, csv_w


def _refuse(
    context: _Context,
    outputs: list[str],
    json_path: str | None,
    csv_path: str | None,
    manifest_info: dict[str, Any],
    err: Any,
    exc: ManifestError,
) -> None:
    """The manifest cannot be used: record that in the reports, then stop with exit 2."""
    if isinstance(exc, TamperedManifest):
        outcome = "tampered-manifest"
    elif manifest_info.get("seal", {}).get("status") == "missing":
        outcome = "unsealed-manifest"
    elif "error" in manifest_info:
        outcome = "unreadable-manifest"
    else:
        outcome = "no-root"
    result = {"outcome": outcome, "exit_code": EXIT_USAGE, "message": str(exc)}
    with ExitStack() as stack:
        json_w, csv_w = _open_reports(stack, json_path, csv_path, csv_bom=context.csv_bom)
        if json_w is not None:
            json_w.begin(context.tool, context.case, manifest_info)
            summary = VerifySummary(int(manifest_info.get("entries") or 0))
            json_w.end(context.verify_section(context.given_root, True), summary.to_dict(), result)
        if csv_w is not None:
            csv_w.begin()
            csv_w.end()
    if outcome == "tampered-manifest":
        seal = manifest_info.get("seal") or {}
        say(err, f"TAMPERED MANIFEST: {safe_text(manifest_info.get('path'))}")
        say(err, f"  seal recorded: {seal.get('recorded')}")
        say(err, f"  seal computed: {seal.get('computed')}")
        for d in seal.get("details") or ():
            say(err, f"  {safe_text(d)}")
        say(err, "  Nothing was re-hashed: a manifest edited after the scan proves nothing.")
    raise Failure(str(exc))


def _unreadable_manifest(path: str, error: str) -> dict[str, Any]:
    return {"path": safe_path(os.path.abspath(os.fsencode(path))), "sha256": file_sha256(path), "error": error}


def _manifest_inode(path: str) -> tuple[tuple[int, int], ...]:
    try:
        st = os.stat(path)
    except OSError:
        return ()
    return ((st.st_dev, st.st_ino),)


_REPORT_FAILED = "stopped because a report could not be written"
_READER_GONE = "stopped because the reader of stdout went away"


#: Other tools that write digests as long as a sum list's, without saying which they are.
_SAME_LENGTH = {
    "md5sum": "b2sum -l 128",
    "sha1sum": "b2sum -l 160, RIPEMD-160",
    "sha256sum": "b2sum -l 256, sha3-256, BLAKE3",
    "sha512sum": "b2sum, sha3-512",
}
#: What to do about it, where this tool computes the other algorithm.
_OTHER_ALGORITHM = {"sha512sum": "; for a b2sum list, give --algorithm blake2b"}


def _result(summary: VerifySummary, stopped: str | None, code: int, fmt: str) -> dict[str, Any]:
    if stopped is not None:
        outcome, message = "interrupted", f"the verification was {stopped}: not every entry was checked"
    elif summary.all_ok:
        outcome, message = "all-ok", "every entry matches the manifest and nothing was added"
        if summary.ok_other_mtime:
            n = summary.ok_other_mtime
            message += (
                f"; {n} {'file has' if n == 1 else 'files have'} the recorded content but not the recorded "
                "modification time"
            )
    else:
        outcome, message = "differences", "the evidence does not match the manifest"
        by = summary.manifest_by_status
        if fmt in _SAME_LENGTH and by["modified"] and not by["ok"]:
            # A list only says how long its digests are: one of another algorithm reads as
            # a list of every file modified. Said before anyone concludes that they were.
            message += (
                f"; not one listed file has its digest: if the list was not made with {fmt} "
                f"(digests of that length also come from {_SAME_LENGTH[fmt]}), check it with the tool that made it"
                + _OTHER_ALGORITHM.get(fmt, "")
            )
    return {"outcome": outcome, "exit_code": code, "message": message}


def entry_line(e: VerifyEntry) -> str:
    """One stdout line for an entry; evidence strings escaped."""
    line = f"{e.status.upper():<10}  {safe_text(e.path)}"
    if e.status == "moved":
        line += f"  ->  {safe_text(e.moved_to)}"
    details: list[str] = []
    if e.changed:
        details.append("changed: " + ", ".join(e.changed))
    old, new = e.expected.get("size"), e.actual.get("size")
    if e.status == "modified" and old is not None and new is not None:
        details.append(f"size {old} -> {new}")
    if e.status == "modified" and "kind" in e.changed:
        details.append(f"{e.expected.get('kind')} -> {e.actual.get('kind')}")
    old_t, new_t = e.expected.get("fs_modified"), e.actual.get("fs_modified")
    if e.status == "modified" and old_t is not None and new_t is not None and old_t != new_t:
        details.append(f"mtime {old_t} -> {new_t}")
    if other_mtime(e):
        details.append(f"content unchanged; mtime {old_t} -> {new_t or 'out of range'}")
    if e.status == "new" and e.kind != "file":
        details.append(str(e.kind))
    details.extend(safe_text(p.message) for p in e.problems)
    if e.note and e.status != "ok":
        details.append(safe_text(e.note))
    return line + (f"  ({'; '.join(details)})" if details else "")


def _print_summary(
    err: Any, m: Manifest, root: bytes, root_given: bool, s: VerifySummary, result: dict[str, Any]
) -> None:
    seal = {
        "valid": "valid",
        "missing": "NOT SEALED (accepted with --allow-unsealed)",
        "not-sealed": f"not sealed ({with_article(m.format)} list has no seal)",
    }.get(m.seal.status, m.seal.status)
    listed = counted(len(m.entries), "entry", "entries")
    say(err, f"Manifest: {safe_text(m.path)} ({m.format}, {listed}, sha256 {m.sha256})")
    say(err, f"Seal: {seal}")
    origin = "given with --root" if root_given else "recorded in the manifest"
    say(err, f"Root: {safe_text(safe_path(root))} ({origin})")
    for note in m.notes:
        say(err, f"Note: {safe_text(note)}")
    c, d = s.manifest_by_status, s.disk_only_by_status
    say(
        err,
        f"{counted(s.manifest_entries, 'manifest entry', 'manifest entries')}: {c['ok']} ok"
        + (f" ({s.ok_other_mtime} with another mtime)" if s.ok_other_mtime else "")
        + f", {c['modified']} modified, {c['missing']} missing, "
        f"{c['moved']} moved, {c['unreadable']} unreadable; not in the manifest: {d['new']} new"
        + (f", {counted(d['unreadable'], 'unreadable folder')}" if d["unreadable"] else ""),
    )
    verdict = "PASSED" if result["outcome"] == "all-ok" else "FAILED"
    say(err, f"Result: {verdict}: {result['message']}", "bold green" if verdict == "PASSED" else "bold red")


def _progress(
    err_console: Any, read: Callable[[], int], reading: Callable[[], bytes | None], totals: Totals
) -> ProgressLine | None:
    """The progress display on a terminal: entries done, bytes re-hashed (``read``) and
    their rate, of how many (``totals``) and the time left at that rate; time, the path
    the report waits for (``reading``) or else the last one done; None elsewhere."""
    if not err_console.is_terminal:
        return None
    return ProgressLine(
        *progress_columns(read, reading, totals, bar_width=20),
        console=err_console,
        transient=True,
    )
