"""`evidence report`: one self-contained HTML report of a scan."""

from __future__ import annotations

import io
import sys

import click

from evidence_cli.cli.common import (
    CONTEXT,
    EXIT_OK,
    EXIT_PROBLEMS,
    Failure,
    check_outputs_distinct,
    cli,
    manifest_for_output,
    needs_records,
    not_empty,
    overwrite_option,
    say,
    utc_now,
    writing_from_manifest,
)
from evidence_cli.cli.match import set_progress
from evidence_cli.console import counted, make_consoles, safe_text
from evidence_cli.errors import ManifestError
from evidence_cli.hashsets import HashSetError
from evidence_cli.match import archive_members, match_sets
from evidence_cli.report import DEFAULT_LIMIT, ReportRefused, write_report
from evidence_cli.timeline import TimelineRefused


@cli.command("report", context_settings=CONTEXT)
@click.argument("manifest_path", metavar="MANIFEST", type=click.Path(dir_okay=False, path_type=str), callback=not_empty)
@click.option(
    "-o", "--output", metavar="PATH", required=True, callback=not_empty, help="The HTML file to write ('-': stdout)."
)
@click.option("--title", metavar="TEXT", help="The report's title (default: 'Evidence report: case CASE').")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=DEFAULT_LIMIT,
    show_default=True,
    help="Rows at most in each section (files, times, findings, problems, positions); the rest are counted.",
)
@click.option(
    "--thumbnails",
    is_flag=True,
    help="Add thumbnails of the image files, read again now, only when their digest still matches the "
    "manifest's. They show the content: leave them out of reports that travel.",
)
@click.option(
    "--hashset",
    "set_paths",
    multiple=True,
    callback=not_empty,
    type=click.Path(dir_okay=False, path_type=str),
    help="Add a section of the files found in this hash set of known files, as `evidence match` "
    "finds them; repeatable.",
)
@click.option("--allow-unsealed", is_flag=True, help="Accept a JSON manifest that has no seal (the report says so).")
@overwrite_option
def report_cmd(
    manifest_path: str,
    output: str,
    title: str | None,
    limit: int,
    thumbnails: bool,
    set_paths: tuple[str, ...],
    allow_unsealed: bool,
    overwrite: bool,
) -> None:
    """Write one self-contained HTML report of a scan, from its manifest.

    MANIFEST is the JSON export of `evidence scan` (its seal is checked first: a
    tampered manifest gives no report). The report holds the case and the scan,
    the manifest's SHA-256 and seal, the summary, the findings, the problems met
    reading the evidence, a map of the GPS positions (drawn in the page; each
    links to OpenStreetMap), the metadata times in order, and the files with
    their type, size, capture time, position, device, SHA-256 and flags. Each
    section shows at most --limit rows and counts the rest. The page has no
    script and forbids any (Content Security Policy): names and tags from the
    evidence are shown escaped, never run. With --hashset, a section lists the
    files found in hash sets of known files (see `evidence match`). Exit status:
    0 written; 1 written, but a hash set had entries that could not be read or
    compared (the report and stderr say which); 2 refused.

    \b
    Example:
      evidence scan ./collected --json case.json --case 2026-041
      evidence report case.json -o case-report.html
      evidence report case.json --hashset vics.json -o case-report.html
    """
    _, err = make_consoles()
    manifest = manifest_for_output(
        manifest_path,
        output,
        allow_unsealed=allow_unsealed,
        overwrite=overwrite,
        check=needs_records("no file records"),
    )
    check_outputs_distinct([output], list(set_paths))
    known = None
    if set_paths:
        try:
            members = archive_members(manifest)
            with set_progress(err) as reading:
                known = match_sets(manifest.entries, set_paths, reading, members)
        except (HashSetError, ManifestError) as exc:
            raise Failure(str(exc)) from None
    with writing_from_manifest(output, (ReportRefused, TimelineRefused)) as stream:
        text = io.TextIOWrapper(stream, encoding="utf-8", errors="backslashreplace", newline="\n")
        try:
            result = write_report(
                manifest, text, generated_utc=utc_now(), title=title, limit=limit, thumbnails=thumbnails, known=known
            )
            text.flush()
        finally:
            text.detach()
    where = "stdout" if output == "-" else output
    say(err, f"Wrote the report of {counted(result.records, 'record')} to {safe_text(where)}.")
    for section, n in result.left_out.items():
        say(err, f"{section}: {n} beyond --limit {limit}, counted in the report, not listed.")
    if thumbnails:
        say(err, f"{counted(result.thumbnails, 'thumbnail')}; {len(result.no_thumbnail)} image files without one.")
        for path, why in result.no_thumbnail[:20]:
            say(err, f"  {safe_text(path)}: {safe_text(why)}")
        if len(result.no_thumbnail) > 20:
            say(err, f"  ... and {len(result.no_thumbnail) - 20} more (the report names each).")
    problems = known.problems() if known is not None else []
    for problem in problems:
        say(err, f"Warning: {problem}")
    for note in manifest.notes:
        say(err, f"Note: {safe_text(note)}")
    sys.exit(EXIT_PROBLEMS if problems else EXIT_OK)
