"""A scan's files matched against hash sets of known files (``evidence match``).

Known-file matching is how an examiner sets aside what is known to be harmless (NSRL's
software files) and finds what is known to matter (a hotline's or Project VIC's hashes, a
victim's own list), as hashdeep's ``-m``/``-x`` do. Matching is exact and strict:

- a file and an entry of a set are compared on every digest both have; one equal digest
  finds the pair, and the pair is a **match** only when every digest they share is equal
  and the sizes (where both are known) are too;
- otherwise it is a **conflict**, reported and never counted as a match: an MD5 equal and a
  SHA-1 different is a collision or a broken set, and either way a court must hear of it;
- an entry that gives no digest the manifest has (an MD5-only set against a SHA-256-only
  scan) cannot be compared, and is counted, not skipped silently.

The sets are streamed: memory grows with the manifest (an index of its digests, built
for each algorithm a set uses) and with the matches, never with the size of a set.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Iterable, Iterator, Mapping, Sequence

from evidence_cli.console import counted, safe_text
from evidence_cli.errors import ManifestError
from evidence_cli.formats import tar as tarfmt
from evidence_cli.formats import zip as zipfmt
from evidence_cli.hashing import ALGORITHMS
from evidence_cli.hashsets import HashSet, HashSetError, Known, read_hashset
from evidence_cli.manifest import Manifest, ManifestEntry, hex_digest, record_path
from evidence_cli.models import ARCHIVE_GROUP
from evidence_cli.walker import display_path
from evidence_cli.writers.csv_out import BOM, csv_line, neutralise_columns

MATCH_COLUMNS = (
    "path",
    "member",
    "size",
    "sha256",
    "result",
    "matched_on",
    "differs",
    "hashset",
    "hashset_sha256",
    "location",
    "known_name",
    "known_size",
    "label",
    "detail",
)
#: Cells that come from the evidence or from a set someone else made.
_UNTRUSTED = frozenset({"path", "member", "known_name", "label", "detail", "location", "hashset"})
#: The archive types (ZIP, TAR and compressed files), for a manifest whose summary does not
#: count the records with archive members.
ARCHIVE_TYPES = zipfmt.MIME_TYPES | tarfmt.MIME_TYPES


@dataclass(frozen=True, slots=True)
class ArchiveMember:
    """A member of an archive the scan listed, compared like a file of its own."""

    archive: int
    """Index of the archive in the manifest's entries."""
    name: str
    """The member's name as the archive stores it."""


@dataclass
class Members:
    """The hashed members of the archives a manifest's records list."""

    entries: list[ManifestEntry] = field(default_factory=list)
    """One a member: the archive's path, the member's size and digests."""
    of: list[ArchiveMember] = field(default_factory=list)
    unhashed: int = 0
    """Members the scan listed without digests (encrypted, damaged, over its bounds)."""


def archive_members(manifest: Manifest) -> Members:
    """The members of the archives the records of a JSON export list, with their digests.

    The records are read again (never held whole) only when the export's summary counts a
    record with archive members (or, from a scan before that count, an archive type). A
    member's digests are checked as a file's are; a malformed one raises
    :class:`ManifestError`."""
    found = Members()
    if not manifest.has_records:
        return found
    summary = manifest.header.get("summary")
    summary = summary if isinstance(summary, Mapping) else {}
    counted_archives = summary.get("entries_with_archive_members")
    by_type = summary.get("by_type")
    if isinstance(counted_archives, int) and not isinstance(counted_archives, bool):
        if counted_archives == 0:
            return found
    elif isinstance(by_type, Mapping) and not any(t in by_type for t in ARCHIVE_TYPES):
        return found  # (a scan from before that count: archives were only read by their type then)
    listed: list[tuple[bytes, list[Any]]] = []
    for i, record in enumerate(manifest.iter_records()):
        metadata = record.get("metadata") if isinstance(record, dict) else None
        group = metadata.get(ARCHIVE_GROUP) if isinstance(metadata, dict) else None
        members = group.get("members") if isinstance(group, dict) else None
        if isinstance(members, list) and members:
            listed.append((record_path(record, f"record {i + 1}"), members))
    if not listed:
        return found
    where_is = {e.rel: n for n, e in enumerate(manifest.entries) if e.kind == "file"}
    for rel, members in listed:
        n = where_is.get(rel)
        if n is None:
            continue
        for k, m in enumerate(members):
            where = f"{display_path(rel)[0]}: member {k + 1}"
            if not isinstance(m, dict) or not isinstance(m.get("name"), str):
                raise ManifestError(f"{where} has no name")
            hashes = {a: hex_digest(m[a], a, where) for a in ALGORITHMS if a in m}
            if not hashes:
                found.unhashed += 0 if m.get("directory") is True else 1
                continue
            size = m.get("size")
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise ManifestError(f"{where}: size {size!r} is not a byte count")
            found.entries.append(ManifestEntry(rel=rel, kind="file", size=size, hashes=hashes))
            found.of.append(ArchiveMember(n, m["name"]))
    return found


@dataclass(frozen=True, slots=True)
class Hit:
    """A file of the manifest and an entry of a set that share an equal digest."""

    entry: int
    """Index of the file in the manifest's entries."""
    set_no: int
    seq: int
    """Order of the entry in its set."""
    known: Known
    equal: tuple[str, ...]
    differs: tuple[str, ...]
    """Digests (and ``size``) that differ: a conflict when not empty."""

    @property
    def is_match(self) -> bool:
        return not self.differs


class Index:
    """The manifest's regular files (and the hashed members of its archives, after them)
    by digest, built for an algorithm when first asked."""

    def __init__(self, entries: Sequence[ManifestEntry], members: Members | None = None) -> None:
        self.members = members if members is not None else Members()
        self.first_member = len(entries)
        self.entries: Sequence[ManifestEntry] = [*entries, *self.members.entries] if self.members.entries else entries
        self.files = [i for i, e in enumerate(self.entries) if e.kind == "file"]
        self.undigested = [i for i in self.files if not self.entries[i].hashes]
        present = {a for i in self.files for a in self.entries[i].hashes}
        self.algorithms = tuple(a for a in ALGORITHMS if a in present)
        self._by: dict[str, dict[str, list[int]]] = {}

    def table(self, alg: str) -> dict[str, list[int]]:
        """The files by their ``alg`` digest (built on first use)."""
        table = self._by.get(alg)
        if table is None:
            grouped: defaultdict[str, list[int]] = defaultdict(list)
            for i in self.files:
                value = self.entries[i].hashes.get(alg)
                if value is not None:
                    grouped[value].append(i)
            self._by[alg] = table = dict(grouped)
        return table

    def member(self, i: int) -> ArchiveMember | None:
        """The archive member entry ``i`` is, or None for a file of the manifest."""
        return self.members.of[i - self.first_member] if i >= self.first_member else None

    def path(self, i: int) -> tuple[str, str]:
        """(path, member name) of entry ``i`` as the outputs show them ("" for a file)."""
        m = self.member(i)
        return self.entries[i].display[0], "" if m is None else m.name


@dataclass
class Tally:
    """What was matched, and what could not be compared."""

    conflicts: int = 0
    matched_files: set[int] = field(default_factory=set)
    conflict_files: set[int] = field(default_factory=set)
    incomparable: dict[int, int] = field(default_factory=dict)
    """Entries of each set (by number) that give no digest the manifest has."""


def match_set(index: Index, set_no: int, known: Iterable[Known], tally: Tally) -> Iterator[Hit]:
    """Every pair of a file and an entry of one set that share an equal digest."""
    mine = set(index.algorithms)
    tables: dict[str, dict[str, list[int]]] = {}
    for seq, k in enumerate(known):
        candidates: set[int] = set()
        comparable = False
        for algs, digest in k.digests:
            for alg in algs:
                table = tables.get(alg)
                if table is None:
                    if alg not in mine:
                        continue
                    table = tables[alg] = index.table(alg)
                comparable = True
                found = table.get(digest)
                if found:
                    candidates.update(found)
        if not comparable:
            tally.incomparable[set_no] = tally.incomparable.get(set_no, 0) + 1
            continue
        for i in sorted(candidates):
            hit = _compare(index.entries[i], i, set_no, seq, k)
            if hit.is_match:
                tally.matched_files.add(i)
            else:
                tally.conflicts += 1
                tally.conflict_files.add(i)
            yield hit


@dataclass
class Matched:
    """A manifest matched against hash sets: what `evidence match` and the report show."""

    index: Index
    tally: Tally
    sets: list[HashSet]
    hits: list[Hit]
    """In the manifest's order, then the sets', then each set's."""

    def problems(self) -> list[str]:
        """What could not be read or compared, a sentence each (each makes exit status 1)."""
        out = []
        for n, s in enumerate(self.sets):
            name = safe_text(s.path)
            if s.bad_count:
                shown = "; ".join(safe_text(b) for b in s.bad)
                more = f"; and {s.bad_count - len(s.bad)} more" if s.bad_count > len(s.bad) else ""
                out.append(f"{name}: {counted(s.bad_count, 'entry', 'entries')} could not be read: {shown}{more}.")
            if n in self.tally.incomparable:
                have = ", ".join(self.index.algorithms) or "no digest"
                n_entries = counted(self.tally.incomparable[n], "entry", "entries")
                out.append(f"{name}: {n_entries} not compared: no digest the manifest has ({have}).")
            out.extend(f"{name}: {safe_text(note)}." for note in s.notes)
        if self.tally.conflicts:
            out.append(
                f"{counted(len(self.tally.conflict_files), 'file')} with a digest equal to a set entry's while another "
                f"digest or the size differs ({counted(self.tally.conflicts, 'conflict')}): a collision or a broken "
                "set, listed as 'conflict', never as a match."
            )
        if self.index.undigested:
            out.append(
                f"{counted(len(self.index.undigested), 'file')} without a digest in the manifest (not readable at "
                "scan time): not compared."
            )
        if self.index.members.unhashed:
            out.append(
                f"{counted(self.index.members.unhashed, 'archive member')} listed by the scan without a digest "
                "(encrypted, damaged, or past the archive reader's bounds): not compared; extract the archives "
                "and scan them to compare every member."
            )
        return out


def describe(s: HashSet) -> str:
    """A set's identity, as stderr and the report give it."""
    return f"{s.format}, {counted(s.entries, 'entry', 'entries')}, {s.size} bytes, SHA-256 {s.sha256}"


def match_sets(
    entries: Sequence[ManifestEntry],
    paths: Iterable[str],
    reading: Callable[[HashSet], None] | None = None,
    members: Members | None = None,
) -> Matched:
    """Every set of ``paths`` read and matched against ``entries`` (and the archive
    ``members``, see :func:`archive_members`); ``reading`` is told of each set as it
    starts. Raises :class:`HashSetError` for a set that cannot be read, or that gave not
    one entry and some it could not read (not a hash set at all)."""
    done = Matched(Index(entries, members), Tally(), [], [])
    for set_no, path in enumerate(paths):
        found, known = read_hashset(path)
        done.sets.append(found)
        if reading is not None:
            reading(found)
        done.hits.extend(match_set(done.index, set_no, known, done.tally))
        if not found.entries and found.bad_count:
            first = safe_text(found.bad[0])
            raise HashSetError(
                f"{safe_text(path)} is not a hash set this tool reads: read as a {found.format}, {first}."
            )
    done.hits.sort(key=lambda h: (h.entry, h.set_no, h.seq))
    return done


def _compare(e: ManifestEntry, i: int, set_no: int, seq: int, k: Known) -> Hit:
    equal: list[str] = []
    differs: list[str] = []
    for algs, digest in k.digests:
        have = [a for a in algs if a in e.hashes]
        if not have:
            continue
        same = next((a for a in have if e.hashes[a] == digest), None)
        if same is not None:
            equal.append(same)
        else:
            differs.append("/".join(have))
    if k.size is not None and e.size is not None and k.size != e.size:
        differs.append("size")
    return Hit(i, set_no, seq, k, tuple(equal), tuple(differs))


def _cells(row: list[str], columns: Sequence[str], neutral: bool) -> list[str]:
    return neutralise_columns(row, columns, _UNTRUSTED) if neutral else row


def write_matches(
    hits: Iterable[Hit],
    index: Index,
    sets: Sequence[HashSet],
    out: IO[str],
    *,
    neutral: bool,
    bom: bool,
) -> None:
    """One row a pair of a file and a set entry (see :data:`MATCH_COLUMNS`), in the order
    given (:class:`Matched` keeps them in the manifest's order)."""
    if bom:
        out.write(BOM)
    out.write(csv_line(list(MATCH_COLUMNS)))
    for h in hits:
        e, k, s = index.entries[h.entry], h.known, sets[h.set_no]
        row = [
            *index.path(h.entry),
            "" if e.size is None else str(e.size),
            e.hashes.get("sha256", ""),
            "match" if h.is_match else "conflict",
            "+".join(h.equal),
            "+".join(h.differs),
            s.path,
            s.sha256,
            k.where,
            k.name or "",
            "" if k.size is None else str(k.size),
            k.label or "",
            k.detail or "",
        ]
        out.write(csv_line(_cells(row, MATCH_COLUMNS, neutral)))


def unmatched_columns(index: Index) -> tuple[str, ...]:
    return ("path", "member", "size", *index.algorithms, "note")


def write_unmatched(index: Index, tally: Tally, out: IO[str], *, neutral: bool, bom: bool) -> int:
    """One row a regular file that matches no set (a conflict is no match; a file without
    digests could not be compared): what is left after known files are set aside.
    Returns the number of rows."""
    columns = unmatched_columns(index)
    if bom:
        out.write(BOM)
    out.write(csv_line(list(columns)))
    undigested = set(index.undigested)
    rows = 0
    for i in index.files:
        if i in tally.matched_files:
            continue
        e = index.entries[i]
        if i in undigested:
            note = "no digest in the manifest: not compared"
        elif i in tally.conflict_files:
            note = "conflict with a set entry (see the matches)"
        else:
            note = ""
        row = [*index.path(i), "" if e.size is None else str(e.size)]
        row += [e.hashes.get(a, "") for a in index.algorithms]
        row.append(note)
        out.write(csv_line(_cells(row, columns, neutral)))
        rows += 1
    return rows
