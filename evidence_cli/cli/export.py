"""`evidence export`: write a manifest as a sha256sum, md5sum or hashdeep list, or as CSV."""

from __future__ import annotations

import os
import sys

import click

from evidence_cli.cli.common import (
    CONTEXT,
    EXIT_OK,
    EXIT_PROBLEMS,
    cli,
    list_output_options,
    manifest_for_output,
    not_empty,
    overwrite_option,
    safe_path,
    say,
    writing_from_manifest,
)
from evidence_cli.console import counted, make_consoles, safe_text
from evidence_cli.exports import ExportFormat, ExportRefused, check_exportable, export_manifest
from evidence_cli.manifest import SUM_ALGORITHMS

_CHECK_WITH = {
    ExportFormat.SHA256SUM: "sha256sum -c {file}",
    ExportFormat.MD5SUM: "md5sum -c {file}",
    ExportFormat.HASHDEEP: "hashdeep -o f -l -r -a -k {file} .",
}


@cli.command("export", context_settings=CONTEXT)
@click.argument("manifest_path", metavar="MANIFEST", type=click.Path(dir_okay=False, path_type=str), callback=not_empty)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice([f.value for f in ExportFormat]),
    required=True,
    help="sha256sum/md5sum: for `sha256sum -c`/`md5sum -c`; hashdeep: for `hashdeep -a -k`; csv: one row a record.",
)
@list_output_options
@click.option(
    "--algorithm",
    type=click.Choice(list(SUM_ALGORITHMS)),
    help="The digest algorithm of a sum list whose lines do not name it (give blake2b for a "
    "b2sum list without --tag; by default their length decides). Sum lists, and Get-FileHash CSVs "
    "without an Algorithm column, only.",
)
@overwrite_option
def export_cmd(
    manifest_path: str,
    fmt: str,
    output: str,
    allow_unsealed: bool,
    csv_raw: bool,
    csv_bom: bool,
    algorithm: str | None,
    overwrite: bool,
) -> None:
    """Write a manifest in the hash-list formats other tools check, or as CSV.

    The manifest's seal is checked first: a tampered manifest is never exported.
    MANIFEST may also be a sum, hashdeep or Get-FileHash list (see `evidence
    verify`): what was assumed in reading it (e.g. a sum list's algorithm, from
    the length of its digests) is printed as a note.
    sha256sum and md5sum lists are accepted by `sha256sum -c` / `md5sum -c` run
    from the evidence root (GNU escaping for names with a backslash, newline or
    carriage return; other names as raw bytes, UTF-8 or not). hashdeep files
    are accepted by `hashdeep -o f -l -r -a -k FILE .` run from the evidence
    root; hashdeep cannot carry a newline in a name, so such an export is
    refused, naming the files. Only regular files are listed (symlinks and
    special files have no content digest). Exit status: 0 every file written;
    1 some files had no digest (unreadable at scan time) and were left out;
    2 refused (tampered or unsealed manifest, a name the format cannot carry).

    \b
    Example:
      evidence export manifest.json --format sha256sum -o evidence.sha256
      cd /evidence/root && sha256sum -c /cases/evidence.sha256
      evidence export manifest.json --format hashdeep -o evidence.hashdeep
      cd /evidence/root && hashdeep -o f -l -r -a -k /cases/evidence.hashdeep .
    """
    _, err = make_consoles()
    export_format = ExportFormat(fmt)
    if csv_bom and export_format is not ExportFormat.CSV:
        raise click.UsageError("--csv-bom applies to -f csv only")
    manifest = manifest_for_output(
        manifest_path,
        output,
        allow_unsealed=allow_unsealed,
        overwrite=overwrite,
        algorithm=algorithm,
        check=lambda m: check_exportable(m, export_format),
    )
    # A list cut short would check "OK" for the files it still names and say nothing of
    # the rest: the file is removed if a record turns out unreadable half-way; what
    # reached stdout cannot be taken back, so stdout gets records checked first.
    with writing_from_manifest(output, (ExportRefused,)) as stream:
        result = export_manifest(
            manifest,
            export_format,
            stream,
            neutralise_csv=not csv_raw,
            check_first=output == "-",
            csv_bom=csv_bom,
        )
    where = "stdout" if output == "-" else output
    wrote = counted(result.written, "entry", "entries")
    say(err, f"Wrote {wrote} ({fmt}) to {safe_text(where)} from {safe_text(manifest.path)}.")
    for note in manifest.notes:
        say(err, f"Note: {safe_text(note)}")
    if result.not_files:
        what = (
            "symlink, special file or unreadable folder is"
            if result.not_files == 1
            else "symlinks, special files or unreadable folders are"
        )
        say(err, f"{result.not_files} {what} not listed (no content).")
    for path, reason in result.skipped:
        say(err, f"Left out: {safe_text(path)}: {reason}")
    check = _CHECK_WITH.get(export_format)
    if check and output != "-" and manifest.base is not None:
        target = os.path.abspath(output)
        say(err, f"Check it: cd {safe_text(safe_path(manifest.base))} && {check.format(file=safe_text(target))}")
    sys.exit(EXIT_PROBLEMS if result.skipped else EXIT_OK)
