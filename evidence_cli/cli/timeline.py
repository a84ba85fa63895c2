"""`evidence timeline`: every time of a scan in one chronological list (CSV or body file)."""

from __future__ import annotations

import io
import sys
from typing import BinaryIO, Iterator

import click

from evidence_cli.cli.common import (
    CONTEXT,
    EXIT_OK,
    cli,
    list_output_options,
    manifest_for_output,
    needs_records,
    not_empty,
    overwrite_option,
    say,
    writing_from_manifest,
)
from evidence_cli.console import counted, make_consoles, safe_text
from evidence_cli.manifest import Manifest
from evidence_cli.timeline import (
    Event,
    TimelineFormat,
    TimelineRefused,
    TimelineResult,
    bodyfile_lines,
    events_of,
    ordered,
    write_csv,
)


@cli.command("timeline", context_settings=CONTEXT)
@click.argument("manifest_path", metavar="MANIFEST", type=click.Path(dir_okay=False, path_type=str), callback=not_empty)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice([f.value for f in TimelineFormat]),
    default=TimelineFormat.CSV.value,
    show_default=True,
    help="csv: one row an event, in time order; bodyfile: The Sleuth Kit's body file, for `mactime -b`.",
)
@list_output_options
@overwrite_option
def timeline_cmd(
    manifest_path: str, fmt: str, output: str, allow_unsealed: bool, csv_raw: bool, csv_bom: bool, overwrite: bool
) -> None:
    """List every time a scan found, oldest first: file-system and metadata times.

    MANIFEST is the JSON export of `evidence scan` (its seal is checked first: a
    tampered manifest gives no timeline). Each file gives its file-system times
    (fs_modified, fs_accessed, fs_changed, fs_born: UTC, as the scanning machine's
    file system had them) and every timestamp of its metadata (EXIF, XMP,
    QuickTime, PDF, ID3, ..., and the dates apps write into file names), each with
    its name and source; none is merged or dropped. Events with a known UTC instant are ordered by it. A time stored
    without an offset (a camera's clock) has no instant: it is ordered by its clock
    reading as if it were UTC, and its `clock` column says "local, offset unknown"
    (it may belong up to 14 hours either side). Ties keep the manifest's order.
    The body file has a line a file with its file-system times, and a line a
    metadata time with a UTC instant, named "path (source Name)" (times without an
    offset, or at or before 1970-01-01T00:00:00Z, which mactime cannot show, are
    left out and counted). Exit status: 0 written;
    2 refused (tampered or unsealed manifest, a hash list without times).

    \b
    Example:
      evidence scan ./collected --json case.json
      evidence timeline case.json -o timeline.csv
      evidence timeline case.json -f bodyfile -o case.body && mactime -b case.body -d -z UTC
    """
    _, err = make_consoles()
    timeline_format = TimelineFormat(fmt)
    if timeline_format is TimelineFormat.BODYFILE and (csv_bom or csv_raw):
        raise click.UsageError("--csv-bom and --csv-raw apply to -f csv only")
    manifest = manifest_for_output(
        manifest_path, output, allow_unsealed=allow_unsealed, overwrite=overwrite, check=needs_records("no times")
    )
    result = TimelineResult()
    # A timeline cut short would look like the whole story: it is removed.
    with writing_from_manifest(output, (TimelineRefused,)) as stream:
        _write(manifest, timeline_format, stream, result, neutral=not csv_raw, bom=csv_bom)
    where = "stdout" if output == "-" else output
    what = counted(result.events, "event", "events")
    say(err, f"Wrote {what} of {counted(result.records, 'record', 'records')} ({fmt}) to {safe_text(where)}.")
    for note in manifest.notes:
        say(err, f"Note: {safe_text(note)}")
    if result.unordered:
        has = counted(result.unordered, "event has", "events have")
        where = "listed last" if timeline_format is TimelineFormat.CSV else "not in the body file"
        say(err, f"{has} a time this version cannot read as one: {where}.")
    if result.left_out:
        say(
            err,
            f"{counted(result.left_out, 'metadata time', 'metadata times')} without a UTC offset cannot be placed "
            "in a body file and are not in it (the CSV timeline lists them).",
        )
    if result.too_early:
        say(
            err,
            f"{counted(result.too_early, 'time', 'times')} at or before 1970-01-01T00:00:00Z are not in the body "
            "file: mactime shows none before its start, and reads 0 as no time (the CSV timeline lists them).",
        )
    if result.escaped_names:
        say(
            err,
            f"{counted(result.escaped_names, 'line names', 'lines name')} a file whose name holds | % \\ or a line "
            "break: written as %7C %25 \\\\ \\n \\r (mactime shows | and % again).",
        )
    sys.exit(EXIT_OK)


def _write(
    manifest: Manifest, fmt: TimelineFormat, out: BinaryIO, result: TimelineResult, *, neutral: bool, bom: bool
) -> None:
    text = io.TextIOWrapper(out, encoding="utf-8", errors="backslashreplace", newline="", write_through=True)
    try:
        if fmt is TimelineFormat.CSV:
            write_csv(ordered(_events(manifest, result)), text, result, neutral=neutral, bom=bom)
        else:
            for i, record in enumerate(manifest.iter_records()):
                text.writelines(bodyfile_lines(i, record, result))
                result.records += 1
        text.flush()
    finally:
        text.detach()


def _events(manifest: Manifest, result: TimelineResult) -> Iterator[Event]:
    for i, record in enumerate(manifest.iter_records()):
        yield from events_of(i, record)
        result.records += 1
