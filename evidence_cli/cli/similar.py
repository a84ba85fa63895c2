"""`evidence similar`: groups of images that show the same picture, from a scan's PDQ hashes."""

from __future__ import annotations

import io
import os
import sys

import click

from evidence_cli.cli.common import (
    CONTEXT,
    EXIT_OK,
    Failure,
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
from evidence_cli.formats.pdq import numpy_missing
from evidence_cli.hashing import open_readonly
from evidence_cli.manifest import ManifestError
from evidence_cli.similar import (
    DEFAULT_DISTANCE,
    DEFAULT_MIN_QUALITY,
    MAX_DISTANCE,
    KnownListError,
    Member,
    Tally,
    groups,
    read_known,
    scan_members,
    write_csv,
)

#: Known hashes come after every image of the scan in a group's order.
KNOWN_FIRST = 1 << 62


@cli.command("similar", context_settings=CONTEXT)
@click.argument("manifest_path", metavar="MANIFEST", type=click.Path(dir_okay=False, path_type=str), callback=not_empty)
@click.option(
    "--distance",
    type=click.IntRange(0, MAX_DISTANCE),
    default=DEFAULT_DISTANCE,
    show_default=True,
    help="Most bits two PDQ hashes may differ in to be linked (31 is the usual threshold).",
)
@click.option(
    "--min-quality",
    type=click.IntRange(0, 100),
    default=DEFAULT_MIN_QUALITY,
    show_default=True,
    help="Leave out images whose PDQ quality is lower (too plain to match on; counted).",
)
@click.option(
    "--known",
    "known_paths",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=str),
    help="A list of PDQ hashes to look for (a line each: 64 hex digits, optionally a comma "
    "and a label); repeatable. They join the groups as members with their label.",
)
@list_output_options
@overwrite_option
def similar_cmd(
    manifest_path: str,
    distance: int,
    min_quality: int,
    known_paths: tuple[str, ...],
    output: str,
    allow_unsealed: bool,
    csv_raw: bool,
    csv_bom: bool,
    overwrite: bool,
) -> None:
    """Group the images of a scan that show the same picture, by their PDQ hashes.

    MANIFEST is the JSON export of `evidence scan --pdq` (its seal is checked
    first). Two images are linked when their PDQ hashes differ in at most
    --distance bits and both have at least --min-quality; a group is every image
    reached through such links, so a re-encoded, resized or lightly edited copy
    joins its original even though every digest differs. Pictures inside the
    archives the scan listed are compared too. Each row is one member: its
    group, its place in it, its path (and archive member, for a picture inside an
    archive; or the label of a --known hash), its
    hash and quality, its distance in bits from the group's first member (a copy
    linked through another can be further than --distance from it), its
    SHA-256 (equal digests: the same file) and type. Images alone are not
    listed. The comparison misses no pair within the distance. Exit status: 0
    written; 2 refused (tampered or unsealed manifest, no PDQ hash in it, a
    --known list that is not PDQ hashes).

    \b
    Example:
      evidence scan ./collected --pdq --json case.json
      evidence similar case.json -o similar.csv
      evidence similar case.json --known reported.pdq -o matches.csv
    """
    _, err = make_consoles()
    if missing := numpy_missing("`evidence similar`"):
        raise Failure(missing)
    manifest = manifest_for_output(
        manifest_path, output, allow_unsealed=allow_unsealed, overwrite=overwrite, check=needs_records("no PDQ hashes")
    )
    known: list[Member] = []
    for path in known_paths:
        try:
            with os.fdopen(open_readonly(os.fsencode(path)), "rb") as fh:
                known.extend(read_known(fh, first_order=KNOWN_FIRST + len(known)))
        except KnownListError as exc:
            raise Failure(f"{safe_text(path)}: not a list of PDQ hashes: {exc}") from None
        except OSError as exc:
            raise Failure(f"cannot read {safe_text(path)}: {exc.strerror or exc}") from None
    tally = Tally()
    try:
        members = list(scan_members(manifest.iter_records(), tally, min_quality))
    except ManifestError as exc:
        raise Failure(str(exc)) from None
    if not tally.hashed:
        raise Failure(f"no record of {safe_text(manifest.path)} has a PDQ hash: scan with `evidence scan --pdq` first.")
    found = groups(members + known, distance, tally)
    with writing_from_manifest(output) as stream:
        text = io.TextIOWrapper(stream, encoding="utf-8", errors="backslashreplace", newline="", write_through=True)
        try:
            write_csv(found, text, neutral=not csv_raw, bom=csv_bom)
            text.flush()
        finally:
            text.detach()
    where = "stdout" if output == "-" else output
    with_known = sum(1 for g in found if any(m.known is not None for m, _, _ in g))
    say(
        err,
        f"{counted(tally.hashed, 'image', 'images')} with a PDQ hash in {counted(tally.records, 'record', 'records')}: "
        f"{counted(tally.groups, 'group', 'groups')} of {counted(tally.grouped_files, 'file', 'files')}"
        + (f" ({with_known} with a known hash)" if known else "")
        + f", written to {safe_text(where)}.",
    )
    if tally.low_quality:
        say(err, f"{counted(tally.low_quality, 'image', 'images')} below quality {min_quality} not compared.")
    if tally.malformed:
        say(err, f"{counted(tally.malformed, 'record', 'records')} with a malformed PDQ hash not compared.")
    if tally.not_hashed:
        shown = ", ".join(safe_text(p) for p in tally.not_hashed[:5])
        more = f" and {len(tally.not_hashed) - 5} more" if len(tally.not_hashed) > 5 else ""
        say(err, f"Not hashed at scan time (see their records): {shown}{more}.")
    for note in manifest.notes:
        say(err, f"Note: {safe_text(note)}")
    sys.exit(EXIT_OK)
