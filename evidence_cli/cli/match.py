"""`evidence match`: a scan's files matched against hash sets of known files."""

from __future__ import annotations

import io
import os
import sys

import click

from evidence_cli.cli.common import (
    CONTEXT,
    EXIT_OK,
    EXIT_PROBLEMS,
    Failure,
    check_outputs_distinct,
    cli,
    list_output_options,
    manifest_for_output,
    not_empty,
    overwrite_option,
    say,
    writing_from_manifest,
)
from evidence_cli.console import counted, make_consoles, safe_text
from evidence_cli.hashsets import HashSet, HashSetError, read_hashset
from evidence_cli.match import Hit, Index, Tally, match_set, write_matches, write_unmatched


@cli.command("match", context_settings=CONTEXT)
@click.argument("manifest_path", metavar="MANIFEST", type=click.Path(dir_okay=False, path_type=str), callback=not_empty)
@click.option(
    "--hashset",
    "set_paths",
    multiple=True,
    required=True,
    callback=not_empty,
    type=click.Path(dir_okay=False, path_type=str),
    help="A hash set of known files; repeatable. Digest lists (md5sum, sha256sum ... output, "
    "one digest a line), hashdeep files, CSV with digest columns (NSRL RDS 2 NSRLFile.txt), "
    "VICS JSON (Project VIC, CAID), NSRL RDS 3 SQLite databases, or a manifest of this tool.",
)
@click.option(
    "--unmatched",
    is_flag=True,
    help="List instead the regular files that match no set (hashdeep -x): what is left to "
    "examine once known files are set aside.",
)
@list_output_options
@overwrite_option
def match_cmd(
    manifest_path: str,
    set_paths: tuple[str, ...],
    unmatched: bool,
    output: str,
    allow_unsealed: bool,
    csv_raw: bool,
    csv_bom: bool,
    overwrite: bool,
) -> None:
    """Match the files of a scan against hash sets of known files.

    MANIFEST is any manifest `evidence verify` reads (the JSON export of `evidence
    scan`, its seal checked first; a hashdeep file; a sha256sum list ...); nothing in
    the evidence is read again. Each --hashset is read whole, in one pass, and its
    SHA-256 is recorded on every row, so the report says which version of a set was
    used. A file and a set entry that share an equal digest are a 'match' when every
    digest both have is equal and their sizes (where both are known) are too;
    otherwise a 'conflict' (a collision, or a broken set), listed and never counted
    as a match. Each row is one such pair: the file's path, size and SHA-256, the
    result, the digests that matched and those that differ, the set, where in it, and
    what the set says of the entry (name, size, label such as a VICS category,
    detail such as NSRL's product code). With --unmatched, each row is a regular file
    that matches no set, with its digests. Lines of a set that cannot be read are
    counted and named, never skipped silently. Exit status: 0 written; 1 written, but
    something could not be compared or read (bad lines in a set, conflicts, entries
    with no digest the manifest has, files without digests); 2 refused (tampered or
    unsealed manifest, a set that is no known format).

    \b
    Example:
      evidence scan ./phone --json phone.json
      evidence match phone.json --hashset vics.json -o known.csv
      evidence match phone.json --hashset RDS_2024.12.1_modern_minimal.db --unmatched -o left.csv
    """
    _, err = make_consoles()
    check_outputs_distinct([output], list(set_paths))
    manifest = manifest_for_output(manifest_path, output, allow_unsealed=allow_unsealed, overwrite=overwrite)
    if not manifest.entries:
        raise Failure(f"{safe_text(manifest.path)} lists no entry to match.")
    index = Index(manifest.entries)
    tally = Tally()
    sets: list[HashSet] = []
    hits: list[Hit] = []
    for set_no, path in enumerate(set_paths):
        try:
            found, known = read_hashset(path)
            sets.append(found)
            say(err, f"Reading hash set {safe_text(path)} ({found.format}) ...")
            hits.extend(match_set(index, set_no, known, tally))
        except HashSetError as exc:
            raise Failure(str(exc)) from None
        if not found.entries and found.bad_count:
            first = safe_text(found.bad[0])
            raise Failure(f"{safe_text(path)} is not a hash set this tool reads: read as a {found.format}, {first}.")
    with writing_from_manifest(output) as stream:
        text = io.TextIOWrapper(stream, encoding="utf-8", errors="backslashreplace", newline="", write_through=True)
        try:
            if unmatched:
                rows = write_unmatched(index, tally, text, neutral=not csv_raw, bom=csv_bom)
            else:
                write_matches(hits, manifest.entries, sets, text, neutral=not csv_raw, bom=csv_bom)
            text.flush()
        finally:
            text.detach()
    sys.exit(_summary(err, manifest.path, index, tally, sets, output, rows if unmatched else None))


def _summary(
    err: object, manifest: str, index: Index, tally: Tally, sets: list[HashSet], output: str, unmatched: int | None
) -> int:
    """What was read and found, on stderr; the exit status."""
    status = EXIT_OK
    for n, s in enumerate(sets):
        say(
            err,
            f"Hash set {safe_text(s.path)}: {s.format}, {counted(s.entries, 'entry', 'entries')}, "
            f"{s.size} bytes, SHA-256 {s.sha256}.",
        )
        if s.bad_count:
            status = EXIT_PROBLEMS
            shown = "; ".join(safe_text(b) for b in s.bad)
            more = f"; and {s.bad_count - len(s.bad)} more" if s.bad_count > len(s.bad) else ""
            say(err, f"Warning: {counted(s.bad_count, 'entry', 'entries')} of it could not be read: {shown}{more}.")
        if n in tally.incomparable:
            status = EXIT_PROBLEMS
            have = ", ".join(index.algorithms) or "no digest"
            say(
                err,
                f"Warning: {counted(tally.incomparable[n], 'entry', 'entries')} of it give no digest the manifest "
                f"has ({have}): not compared.",
            )
        for note in s.notes:
            status = EXIT_PROBLEMS
            say(err, f"Warning: {safe_text(s.path)}: {safe_text(note)}.")
    where = "stdout" if output == "-" else safe_text(output)
    files = len(index.files)
    if unmatched is None:
        say(
            err,
            f"{counted(len(tally.matched_files), 'file')} of {files} in {safe_text(os.path.basename(manifest))} "
            f"match a hash set ({counted(tally.hits - tally.conflicts, 'matching entry', 'matching entries')}), "
            f"written to {where}.",
        )
    else:
        say(err, f"{counted(unmatched, 'file')} of {files} match no hash set, written to {where}.")
    if tally.conflicts:
        status = EXIT_PROBLEMS
        say(
            err,
            f"Warning: {counted(len(tally.conflict_files), 'file')} share a digest with a set entry while another "
            f"digest or the size differs ({counted(tally.conflicts, 'conflict')}): a collision or a broken set, "
            "listed as 'conflict', never as a match.",
        )
    if index.undigested:
        status = EXIT_PROBLEMS
        say(
            err,
            f"Warning: {counted(len(index.undigested), 'file')} have no digest in the manifest (not readable at "
            "scan time): not compared.",
        )
    return status
