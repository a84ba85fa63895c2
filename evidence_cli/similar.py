"""Groups of images that show the same picture, by their PDQ hashes (``evidence similar``).

Two images are linked when their PDQ hashes differ in at most ``distance`` bits (31 is the
usual "same picture" threshold) and both hashes have at least ``min_quality``. A group is
every image reached through such links (one copy may join two others that differ more
than the threshold from each other: each row gives its own distance to the group's first
member, so that shows). Hashes an examiner was given (``--known``: a victim's hash list,
a platform's report) join the groups as members of their own.

Candidate pairs come from the pigeonhole principle (multi-index hashing), so no pair within
the distance is missed and not every pair is compared: cut into 16 pieces of 16 bits, two
hashes within ``distance`` bits have a piece that differs in at most ``distance // 16``
bits. Each piece is looked up with every such difference in the sorted pieces of all the
hashes; only the pairs found are compared, in bulk with NumPy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import IO, Any, Iterable, Iterator, Mapping

from evidence_cli.errors import EvidenceError
from evidence_cli.formats.pdq import DIHEDRAL, INVERSE
from evidence_cli.models import archive_members
from evidence_cli.writers.csv_out import BOM, csv_line, neutralise_columns

#: The greatest distance accepted: beyond it each piece is looked up in thousands of ways,
#: and twice the usual threshold matches unrelated pictures anyway.
MAX_DISTANCE = 63
DEFAULT_DISTANCE = 31
#: Below this quality, Meta's PDQ documentation advises against matching on a hash.
DEFAULT_MIN_QUALITY = 50
#: Lines and bytes of a --known list read at most.
KNOWN_MAX_LINES = 1_000_000
KNOWN_MAX_LINE = 4096

_HASH = re.compile(r"[0-9a-f]{64}")
#: The turns and mirror images a record may give hashes of.
TURNS = frozenset(DIHEDRAL) - {"none"}
CSV_COLUMNS = (
    "group",
    "member",
    "path",
    "archive_member",
    "known",
    "pdq",
    "quality",
    "distance_to_first",
    "turn",
    "sha256",
    "mime",
)
_FROM_EVIDENCE = frozenset({"path", "archive_member", "known", "mime"})


class KnownListError(EvidenceError):
    """A --known list that cannot be read as PDQ hashes."""


@dataclass(frozen=True)
class Member:
    """One image of the scan, or one known hash."""

    pdq: int
    quality: int | None
    turned: tuple[tuple[str, int], ...] = ()
    """The hashes of the picture turned and mirrored (``pdq.DIHEDRAL`` names but ``none``);
    empty for a known hash."""
    path: str | None = None
    """Path in the scan (None for a known hash)."""
    archive_member: str | None = None
    """The name of the archive member it is, in the archive at ``path`` (None: the file)."""
    known: str | None = None
    """The label of a known hash (its line when the list gives none)."""
    sha256: str | None = None
    mime: str | None = None
    order: int = 0
    """Scan members first in manifest order, then known hashes in list order."""


@dataclass
class Tally:
    """What was compared and what was not."""

    records: int = 0
    hashed: int = 0
    low_quality: int = 0
    malformed: int = 0
    compared_pairs: int = 0
    groups: int = 0
    grouped_files: int = 0
    not_hashed: list[str] = field(default_factory=list)


def pdq_of(record: Mapping[str, Any]) -> tuple[int, int | None, tuple[tuple[str, int], ...]] | None:
    """(hash, quality, turned hashes) from a record's ``metadata.pdq``; None when it has
    none, and ValueError when it has a malformed one (a manifest may have been forged)."""
    metadata = record.get("metadata")
    return _pdq_group(metadata.get("pdq") if isinstance(metadata, Mapping) else None, "metadata.pdq")


def _pdq_group(group: Any, where: str) -> tuple[int, int | None, tuple[tuple[str, int], ...]] | None:
    """What :func:`pdq_of` reads, from the ``pdq`` object of a record or of an archive member."""
    if group is None:
        return None
    if not isinstance(group, Mapping):
        raise ValueError(f"{where} is not an object")
    digest, quality = group.get("hash"), group.get("quality")
    if not isinstance(digest, str) or _HASH.fullmatch(digest) is None:
        raise ValueError(f"{where}.hash is not 64 lowercase hexadecimal digits")
    if quality is not None and (isinstance(quality, bool) or not isinstance(quality, int) or not 0 <= quality <= 100):
        raise ValueError(f"{where}.quality is not a whole number from 0 to 100")
    turned = group.get("turned", {})
    if not isinstance(turned, Mapping) or any(
        name not in TURNS or not isinstance(h, str) or _HASH.fullmatch(h) is None for name, h in turned.items()
    ):
        raise ValueError(f"{where}.turned is not a set of named PDQ hashes")
    return int(digest, 16), quality, tuple((name, int(h, 16)) for name, h in turned.items())


def scan_members(records: Iterable[Mapping[str, Any]], tally: Tally, min_quality: int) -> Iterator[Member]:
    """The images of a scan's records, and of the archive members they list, that can be
    compared; the others counted in ``tally``."""
    order = 0
    for record in records:
        tally.records += 1
        path = str(record.get("path"))
        try:
            found = pdq_of(record)
        except ValueError:
            tally.malformed += 1
            found = None
        else:
            if found is None:
                errors = record.get("errors")
                if isinstance(errors, list) and any(
                    isinstance(e, Mapping) and e.get("stage") == "metadata:pdq" for e in errors
                ):
                    tally.not_hashed.append(path)
        # (hash, quality, turned, sha256, mime, the member's name): the file's, then its members'
        pictures: list[tuple[int, int | None, tuple[tuple[str, int], ...], Any, Any, str | None]] = []
        if found is not None:
            hashes = record.get("hashes")
            sha256 = hashes.get("sha256") if isinstance(hashes, Mapping) else None
            pictures.append((*found, sha256, record.get("mime"), None))
        for m in archive_members(record.get("metadata")):
            try:
                member_found = _pdq_group(m.get("pdq"), "an archive member's pdq")
            except ValueError:
                tally.malformed += 1
                continue
            if member_found is not None:
                pictures.append((*member_found, m.get("sha256"), m.get("mime"), m["name"]))
        for digest, quality, turned, sha256, mime, member in pictures:
            tally.hashed += 1
            if quality is None or quality < min_quality:
                tally.low_quality += 1
                continue
            yield Member(
                pdq=digest,
                quality=quality,
                turned=turned,
                path=path,
                archive_member=member,
                sha256=sha256 if isinstance(sha256, str) else None,
                mime=mime if isinstance(mime, str) else None,
                order=order,
            )
            order += 1


def read_known(fh: IO[bytes], first_order: int) -> list[Member]:
    """Known PDQ hashes, a line each: 64 hexadecimal digits, then optionally a comma, a tab or
    spaces and a label (ThreatExchange's ``hash,quality`` lines give the quality as the
    label). Blank lines and lines starting with ``#`` are skipped; anything else is refused
    with its line number: a list read wrong would report no match where there is one."""
    out: list[Member] = []
    number = 0
    while raw := fh.readline(KNOWN_MAX_LINE + 1):
        number += 1
        if number > KNOWN_MAX_LINES:
            raise KnownListError(f"more than {KNOWN_MAX_LINES:,} lines")
        if len(raw) > KNOWN_MAX_LINE:
            raise KnownListError(f"line {number} is longer than {KNOWN_MAX_LINE} bytes")
        try:
            line = raw.decode("utf-8").strip().lstrip("\ufeff")
        except UnicodeDecodeError:
            raise KnownListError(f"line {number} is not UTF-8 text") from None
        if not line or line.startswith("#"):
            continue
        digest, label = line[:64].lower(), line[64:]
        if _HASH.fullmatch(digest) is None or (label and label[0] not in ", \t"):
            raise KnownListError(f"line {number} does not start with a PDQ hash (64 hexadecimal digits)")
        label = label.lstrip(", \t").strip() or f"line {number}"
        out.append(Member(pdq=int(digest, 16), quality=None, known=label, order=first_order + len(out)))
    return out


#: A hash is indexed in this many pieces of 16 bits each.
PIECES = 16


def _flips(bits: int) -> list[int]:
    """Every 16-bit mask with at most ``bits`` bits set, fewest first."""
    masks = [0]
    frontier = [0]
    for _ in range(bits):
        frontier = sorted({m | (1 << b) for m in frontier for b in range(16) if not m & (1 << b)})
        masks.extend(frontier)
    return masks


def _words(hashes: list[int]) -> Any:
    """N x 4 unsigned 64-bit words of 256-bit hashes (word w holds bits 64 w to 64 w + 63)."""
    import numpy as np

    out = np.zeros((len(hashes), 4), dtype=np.uint64)
    for w in range(4):
        out[:, w] = [(h >> (64 * w)) & 0xFFFFFFFFFFFFFFFF for h in hashes]
    return out


def _popcount(words: Any) -> Any:
    """Bits set in each row of N x 4 words."""
    import numpy as np

    if hasattr(np, "bitwise_count"):  # NumPy 2
        return np.bitwise_count(words).sum(axis=1, dtype=np.int64)
    table = np.array([bin(i).count("1") for i in range(256)], dtype=np.int64)
    return table[words.view(np.uint8)].reshape(len(words), -1).sum(axis=1)


def _linked_pairs(
    originals: list[int], probes: list[tuple[int, int]], distance: int, tally: Tally
) -> Iterator[tuple[int, int]]:
    """Pairs (a, b) of indexes into ``originals`` such that a probe of ``a`` (its hash, or
    one turned) is within ``distance`` bits of ``b``'s hash; ``probes`` is (a, hash).

    Two hashes within ``distance`` bits differ in at most ``distance // PIECES`` bits in one
    of their 16-bit pieces at least (the pigeonhole principle): for each piece and each such
    difference, the probes are looked up in the sorted pieces of the originals, and only
    the pairs found are compared, in bulk."""
    import numpy as np

    if not originals or not probes:
        return
    targets = _words(originals)
    owner = np.array([a for a, _ in probes], dtype=np.int64)
    asked = _words([h for _, h in probes])
    for piece in range(PIECES):
        word, shift = divmod(16 * piece, 64)
        mask = np.uint64(0xFFFF)
        keys = (targets[:, word] >> np.uint64(shift)) & mask
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        mine = (asked[:, word] >> np.uint64(shift)) & mask
        for flip in _flips(distance // PIECES):
            wanted = mine ^ np.uint64(flip)
            lo = np.searchsorted(sorted_keys, wanted, side="left")
            hi = np.searchsorted(sorted_keys, wanted, side="right")
            counts = hi - lo
            if not counts.any():
                continue
            # Every (probe, original) pair in the ranges found, a chunk at a time.
            for start in range(0, len(counts), 65536):
                part = counts[start : start + 65536]
                total = int(part.sum())
                if not total:
                    continue
                tally.compared_pairs += total
                probe_at = np.repeat(np.arange(start, start + len(part)), part)
                offsets = np.arange(total) - np.repeat(np.cumsum(part) - part, part)
                target_at = order[lo[start : start + len(part)].repeat(part) + offsets]
                close = _popcount(asked[probe_at] ^ targets[target_at]) <= distance
                for a, b in zip(owner[probe_at[close]].tolist(), target_at[close].tolist()):
                    if a != b:
                        yield a, b


def closest(a: Member, b: Member) -> tuple[int, str]:
    """(bits, turn): how close ``b``'s picture is to ``a``'s, and how ``b`` is turned or
    mirrored from ``a`` (``none``: as it is), by the hashes each record gives."""
    best = ((a.pdq ^ b.pdq).bit_count(), "none")
    for name, h in a.turned:  # b looks like a turned by `name`
        best = min(best, ((h ^ b.pdq).bit_count(), name))
    for name, h in b.turned:  # a looks like b turned by `name`: b is a turned back
        best = min(best, ((h ^ a.pdq).bit_count(), INVERSE[name]))
    return best


def groups(members: list[Member], distance: int, tally: Tally) -> list[list[tuple[Member, int, str]]]:
    """Groups of two or more members linked by pictures within ``distance`` bits, as they are
    or turned or mirrored; each a list of (member, bits from the group's first member, how
    it is turned from it), in member order; groups in the order of their first members."""
    if not 0 <= distance <= MAX_DISTANCE:
        raise ValueError(f"distance must be 0 to {MAX_DISTANCE}")
    # Members with the same hash are one node: a thousand copies of one picture cost
    # nothing more than one. A node keeps the turned hashes of its first member.
    nodes: dict[int, list[Member]] = {}
    for m in members:
        nodes.setdefault(m.pdq, []).append(m)
    heads = [group[0] for group in nodes.values()]
    parent = list(range(len(heads)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    probes = [(index, h) for index, head in enumerate(heads) for h in (head.pdq, *(h for _, h in head.turned))]
    for a, b in _linked_pairs([head.pdq for head in heads], probes, distance, tally):
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    linked: dict[int, list[Member]] = {}
    for index, head in enumerate(heads):
        linked.setdefault(root(index), []).extend(nodes[head.pdq])
    out: list[list[tuple[Member, int, str]]] = []
    for group in linked.values():
        if len(group) < 2:
            continue
        group.sort(key=lambda m: m.order)
        out.append([(m, *closest(group[0], m)) for m in group])
    out.sort(key=lambda g: g[0][0].order)
    tally.groups = len(out)
    tally.grouped_files = sum(1 for g in out for m, _, _ in g if m.path is not None)
    return out


def write_csv(found: list[list[tuple[Member, int, str]]], out: IO[str], *, neutral: bool, bom: bool) -> None:
    """One row a member of a group (see CSV_COLUMNS)."""
    if bom:
        out.write(BOM)
    out.write(csv_line(list(CSV_COLUMNS)))
    for number, group in enumerate(found, start=1):
        for place, (m, bits, turn) in enumerate(group, start=1):
            cells = [
                str(number),
                str(place),
                m.path or "",
                m.archive_member or "",
                m.known or "",
                format(m.pdq, "064x"),
                "" if m.quality is None else str(m.quality),
                str(bits),
                turn,
                m.sha256 or "",
                m.mime or "",
            ]
            if neutral:
                cells = neutralise_columns(cells, CSV_COLUMNS, _FROM_EVIDENCE)
            out.write(csv_line(cells))
