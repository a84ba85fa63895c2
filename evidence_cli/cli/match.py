"""`evidence match`: a scan's files matched against hash sets of known files."""

from __future__ import annotations

import io
import os
import sys
from contextlib import contextmanager
from typing import Callable, Iterator

import click
from rich.console import Console
from rich.progress import Progress, ProgressColumn, Task, TimeElapsedColumn
from rich.text import Text

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
from evidence_cli.errors import ManifestError
from evidence_cli.hashsets import HashSet, HashSetError
from evidence_cli.match import archive_members, describe, match_sets, write_matches, write_unmatched
from evidence_cli.writers.table import human_size


class _SetColumn(ProgressColumn):
    """The hash set being read: how far, and its entries so far (read live from the
    :class:`HashSet` the reader updates, at each refresh of the display)."""

    def __init__(self) -> None:
        super().__init__()
        self.current: HashSet | None = None

    def render(self, task: Task) -> Text:
        s = self.current
        if s is None:
            return Text("")
        name = safe_text(os.path.basename(s.path))[-40:]
        part = f" {s.read * 100 // s.total}% of {human_size(s.total)}," if s.total and s.read < s.total else ""
        bad = f", {s.bad_count:,} not read" if s.bad_count else ""
        return Text(f"Hash set {name}:{part} {s.entries:,} entries{bad}")


@contextmanager
def set_progress(err: Console) -> Iterator[Callable[[HashSet], None] | None]:
    """Within: a progress line on stderr when it is a terminal (a set of hundreds of
    millions of lines takes minutes), and the callback that names the set being read."""
    if not err.is_terminal:
        yield None
        return
    column = _SetColumn()
    with Progress(column, TimeElapsedColumn(), console=err, transient=True) as progress:
        progress.add_task("", total=None)
        yield lambda s: setattr(column, "current", s)


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
    detail such as NSRL's product code). The members of the ZIP and TAR archives the
    scan listed are matched too, from the digests it recorded: their rows give the
    archive's path and the member's name (column 'member'). With --unmatched, each
    row is a regular file (or member) that matches no set, with its digests. Lines of a set that cannot be read are
    counted and named, never skipped silently. Exit status: 0 written; 1 written, but
    something could not be compared or read (bad lines in a set, conflicts, entries
    with no digest the manifest has, files or archive members without digests); 2
    refused (tampered or
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
    try:
        members = archive_members(manifest)
        with set_progress(err) as reading:
            done = match_sets(manifest.entries, set_paths, reading, members)
    except (HashSetError, ManifestError) as exc:
        raise Failure(str(exc)) from None
    with writing_from_manifest(output) as stream:
        text = io.TextIOWrapper(stream, encoding="utf-8", errors="backslashreplace", newline="", write_through=True)
        try:
            if unmatched:
                rows = write_unmatched(done.index, done.tally, text, neutral=not csv_raw, bom=csv_bom)
            else:
                write_matches(done.hits, done.index, done.sets, text, neutral=not csv_raw, bom=csv_bom)
            text.flush()
        finally:
            text.detach()
    for s in done.sets:
        say(err, f"Hash set {safe_text(s.path)}: {describe(s)}.")
    where = "stdout" if output == "-" else safe_text(output)
    first_member = done.index.first_member
    files = sum(1 for i in done.index.files if i < first_member)
    inside = len(done.index.members.entries)
    of_members = f" and {inside} archive members" if inside else ""
    if unmatched:
        say(err, f"{counted(rows, 'file')} of {files}{of_members} match no hash set, written to {where}.")
    else:
        matching = len(done.hits) - done.tally.conflicts
        matched_members = sum(1 for i in done.tally.matched_files if i >= first_member)
        matched = f"{counted(len(done.tally.matched_files) - matched_members, 'file')} of {files}"
        if inside:
            matched += f" and {matched_members} of {inside} archive members"
        say(
            err,
            f"{matched} in {safe_text(os.path.basename(manifest.path))} match a hash set "
            f"({counted(matching, 'matching entry', 'matching entries')}), written to {where}.",
        )
    problems = done.problems()
    for problem in problems:
        say(err, f"Warning: {problem}")
    sys.exit(EXIT_PROBLEMS if problems else EXIT_OK)
