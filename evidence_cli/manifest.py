"""Manifests: the sealed JSON scan export, and the plain hash lists examiners exchange.

``evidence scan DIR --json manifest.json`` writes the manifest: the JSON export *is* the
manifest, and it carries a seal. ``evidence verify`` and ``evidence export`` read it,
and also read the hash lists other tools write (``sha256sum``/``md5sum``/``sha1sum``/
``sha512sum`` lists, ``b2sum`` lists, ``openssl dgst`` output, ``hashdeep`` files and
PowerShell's ``Get-FileHash`` CSV), which have no seal.

The seal
--------
The JSON export ends with a top-level key::

    "seal": {"algorithm": "sha256", "canonicalization": "evidence-cli/c14n-json/1", "value": "<64 hex>"}

``value`` is the SHA-256 (lowercase hex) of the *canonical serialisation* of the export's
top-level object without its ``seal`` key: every other top-level key (``case``, ``files``,
``scan``, ``schema``, ``summary``, ``tool``, and any later addition) is covered.

Canonical serialisation ``evidence-cli/c14n-json/1`` is the value *as a JSON reader sees
it* (so re-indenting or re-ordering the file does not break the seal; changing any value
does), written as Python's
``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)``
and encoded as ASCII. In words, for a re-implementation:

* no whitespace outside strings; ``,`` between members and items, ``:`` after a key;
* object members sorted by key, comparing keys code point by code point;
* strings: ``"`` and ``\\`` are escaped with a backslash; ``\\b \\f \\n \\r \\t`` for those
  five controls; every other character outside U+0020..U+007E (other controls, DEL and
  all non-ASCII) as ``\\uXXXX`` with lowercase hex, characters above U+FFFF as their
  UTF-16 surrogate pair. The result is pure ASCII;
* integers in decimal, any size; floats as Python's ``repr``: the shortest text that
  reads back as the same IEEE-754 double (``0.1``, ``2.0``, ``1e-07``, ``1e+16``);
  NaN and infinities never occur;
* ``true``, ``false``, ``null``.

The writer computes the seal while it streams the records (:class:`Sealer`); the keys
that sort before ``files`` are known when the scan starts, the others are kept or come
at the end, so memory stays constant in the number of records. The reader does the
same as it reads the file in pieces (:func:`read_manifest`); only a file whose keys
were re-ordered so that one sorting before ``files`` comes after it is read twice.

What the seal proves: any edit of the manifest after the scan (a changed digest, a
removed or added record, a changed time) that does not also recompute the seal, and any
accidental corruption, is detected before anything is re-hashed. What it does not prove:
who wrote it. Anyone who can edit the file can recompute the seal; keep the manifest's own
SHA-256 (every verify report states it) in the case notes, a custody log or a signature.

Plain hash lists
----------------
``sha256sum``-style lists (GNU format ``<hex>  <name>``, or ``<hex> *<name>``, or the
``--tag`` format ``SHA256 (<name>) = <hex>``, or BSD's ``md5 -r`` ``<hex> <name>``, told
by the list's first untagged line): a line that starts with ``\\`` has an
escaped name (``\\\\`` backslash, ``\\n`` newline, ``\\r`` carriage return); other names
are raw bytes. One carriage return before the line end is dropped (lists written on
Windows); lines starting with ``#`` and blank lines are skipped; any other malformed
line is an error (a list that does not parse is not evidence of anything).
``hashdeep`` files: ``%%%% HASHDEEP-1.0``, a ``%%%% size,<digests>,filename`` column
line, ``##`` comments; ``## Invoked from: DIR`` gives the folder relative names start
from. Absolute names are made relative to that folder (or, without it, to the deepest
folder holding them all), so a list still verifies after the evidence has moved; when
that folder is ``/`` (names from all over the file system) no root is taken: verifying
gives ``--root``, as for relative names (``--root /`` to walk the whole system). A
name that is the root folder itself (``.``, or ``/`` alone) is refused: a line names a
file, and ``/`` would have made the whole file system the root to walk.
PowerShell's ``Get-FileHash | Export-Csv`` (``"Algorithm","Hash","Path"``, with or without
Windows PowerShell's ``#TYPE`` line): Windows paths are made relative to the deepest folder
holding them all (compared without regard to case), which is no folder of this machine
(``Manifest.foreign_base``); see :func:`_windows_relative`. A hashdeep file made on Windows
(``## Invoked from: C:\\...``, or full Windows names) is read so too. Any list may start with a
UTF-8 byte-order mark, or be UTF-16 with one (``ConvertTo-Csv > file``).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import csv
import hashlib
import itertools
import json
import os
import re
import stat as stat_mod
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Literal, Mapping, Sequence, cast

from evidence_cli.errors import ManifestError
from evidence_cli.hashing import ALGORITHMS
from evidence_cli.jsonenc import compact_encode
from evidence_cli.jsonstream import JsonStreamError, NotPortable, ObjectReader, finite_float, no_constant
from evidence_cli.models import SCHEMA_VERSION, Kind
from evidence_cli.timeparse import to_stat_ns
from evidence_cli.walker import display_path

SEAL_ALGORITHM = "sha256"
CANONICALIZATION = "evidence-cli/c14n-json/1"

#: Formats :func:`read_manifest` recognises.
ManifestFormat = Literal[
    "evidence-json", "md5sum", "sha1sum", "sha256sum", "sha512sum", "b2sum", "hashdeep", "get-filehash"
]
#: ``valid``/``invalid``: the seal matches / does not match; ``missing``: a JSON export
#: without a seal (older version, or stripped); ``not-sealed``: the format has no seal.
SealStatus = Literal["valid", "invalid", "missing", "not-sealed"]

#: Algorithm -> the length of its digests in hex (every digest this tool computes): what
#: an untagged line of a sum list may be read as when the examiner names its algorithm
#: (``read_manifest(algorithm=)``): a ``b2sum`` list without ``--tag`` is as long as a
#: ``sha512sum`` one.
SUM_ALGORITHMS = {name: 2 * new().digest_size for name, new in ALGORITHMS.items()}
#: Digest length in hex -> algorithm, for ``*sum`` lists whose algorithm nobody named.
_SUM_BY_LENGTH = {SUM_ALGORITHMS[a]: a for a in ("md5", "sha1", "sha256", "sha512")}
#: ``--tag`` line names. BLAKE2b is b2sum's full-length (512-bit) digest; an untagged b2sum
#: line is as long as a SHA-512 one and cannot be told from it (verify says so when no
#: file matches; the examiner names it: ``read_manifest(algorithm="blake2b")``);
#: ``BLAKE2b-256`` and other lengths are not digests this tool computes.
_TAG_NAMES = {"MD5": "md5", "SHA1": "sha1", "SHA256": "sha256", "SHA512": "sha512", "BLAKE2b": "blake2b"}
#: hashdeep column names -> ours (tiger and whirlpool have no implementation here).
_HASHDEEP_COLUMNS = {"md5": "md5", "sha1": "sha1", "sha256": "sha256", "tiger": None, "whirlpool": None}
_KINDS: dict[str, str] = {k: k for k in ("file", "symlink", "directory", "other")}


def with_article(name: str) -> str:
    """``a sha256sum``, ``an md5sum``: the article a digest or format name takes when read
    aloud (md5 is "em-dee-five")."""
    return ("an " if name[:1].lower() in "aeiou" or name.lower().startswith("md5") else "a ") + name


class TamperedManifest(ManifestError):
    """The manifest's seal does not match its content: it was edited after the scan."""


# --- canonical form and seal ----------------------------------------------------------


#: ``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
#: allow_nan=False)``, with its C encoder made once (a manifest's seal canonicalises
#: every record: about 3 µs of 13 a small file's record, 18 of 60 a photo's).
_canonical_text = compact_encode(
    json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
)


def canonical(obj: Any) -> bytes:
    """The canonical serialisation ``evidence-cli/c14n-json/1`` of a JSON value."""
    return _canonical_text(obj).encode("ascii")


def _as_read(obj: Any) -> Any:
    """The value as a JSON reader will see it (tuples become lists, keys become strings)."""
    return json.loads(json.dumps(obj, ensure_ascii=False, allow_nan=False))


def sealed_form(text: str) -> bytes:
    """What the seal hashes of an item written as this JSON text: the canonical form of
    the value a reader of that text gets."""
    return canonical(json.loads(text))


def seal_value(document: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical form of a whole document, its ``seal`` key left out."""
    body = {k: v for k, v in document.items() if k != "seal"}
    return hashlib.sha256(canonical(body)).hexdigest()


def seal_object(value: str) -> dict[str, str]:
    return {"algorithm": SEAL_ALGORITHM, "canonicalization": CANONICALIZATION, "value": value}


class Sealer:
    """Computes the seal of ``{head..., stream_key: [items...], tail...}`` while it streams.

    Keys of ``head`` may sort before or after ``stream_key``; keys given to
    :meth:`finish` must sort after it (they are not known until the end). Items are
    hashed as they come; nothing is kept but the head keys that sort after the stream.
    """

    def __init__(self, head: Mapping[str, Any], stream_key: str = "files") -> None:
        self._key = stream_key
        self._h = hashlib.sha256(b"{")
        self._later: dict[str, Any] = {}
        for k in sorted(head):
            if k == "seal" or k == stream_key:
                raise ValueError(f"{k!r} cannot be a head key")
            if k < stream_key:
                self._h.update(canonical(k) + b":" + canonical(_as_read(head[k])) + b",")
            else:
                self._later[k] = _as_read(head[k])
        self._h.update(canonical(stream_key) + b":[")
        self._count = 0
        self._done = False

    def add(self, item: Any) -> None:
        """Add one item of the stream (any JSON-serialisable value)."""
        self.add_read(_as_read(item))

    def add_json(self, text: str) -> None:
        """Add one item given as the JSON text that was written (seals exactly that)."""
        self.add_sealed(sealed_form(text))

    def add_read(self, value: Any) -> None:
        self.add_sealed(canonical(value))

    def add_sealed(self, form: bytes) -> None:
        """Add one item given as its canonical form (:func:`sealed_form` of its text)."""
        if self._done:
            raise ValueError("the seal is already finished")
        if self._count:
            self._h.update(b",")
        self._h.update(form)
        self._count += 1

    def finish(self, tail: Mapping[str, Any]) -> dict[str, str]:
        """Close the stream with the keys known only now; return the ``seal`` object."""
        rest = dict(self._later)
        for k, v in tail.items():
            if k <= self._key or k in rest or k == "seal":
                raise ValueError(f"{k!r} cannot be added at the end (it must sort after {self._key!r}, once)")
            rest[k] = _as_read(v)
        self._h.update(b"]")
        for k in sorted(rest):
            self._h.update(b"," + canonical(k) + b":" + canonical(rest[k]))
        self._h.update(b"}")
        self._done = True
        return seal_object(self._h.hexdigest())


@dataclass(frozen=True)
class SealCheck:
    """The outcome of checking a manifest's seal."""

    status: SealStatus
    recorded: str | None = None
    """The seal value stored in the manifest."""
    computed: str | None = None
    """The value computed from the manifest's content now."""
    message: str = ""
    details: tuple[str, ...] = ()
    """Hints at what was edited (counts that disagree), when the seal is invalid."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "algorithm": SEAL_ALGORITHM if self.status in ("valid", "invalid") else None,
            "canonicalization": CANONICALIZATION if self.status in ("valid", "invalid") else None,
            "recorded": self.recorded,
            "computed": self.computed,
            "message": self.message,
            "details": list(self.details),
        }


def check_seal(document: Mapping[str, Any]) -> SealCheck:
    """Check the seal of a parsed JSON export (before anything else is trusted)."""
    seal = document.get("seal")
    if seal is None:
        return judge_seal(None, "", ())
    files = document.get("files")
    count = None
    if isinstance(files, list):
        count = _RecordCount()
        for r in files:
            count.add(r)
    return judge_seal(seal, seal_value(document), _tamper_hints(count, document.get("summary")))


def judge_seal(seal: Any, computed: str, hints: Sequence[str]) -> SealCheck:
    """The verdict on a recorded ``seal`` object, given the value computed from the content.

    ``hints``: what disagrees inside the manifest, reported when the seal fails.
    """
    if seal is None:
        return SealCheck(
            "missing",
            message="the manifest has no seal: edits made after the scan cannot be detected",
        )
    if not isinstance(seal, dict):
        return SealCheck("invalid", computed=computed, message="the seal is not an object")
    recorded = seal.get("value")
    recorded_text = recorded if isinstance(recorded, str) else None
    if seal.get("algorithm") != SEAL_ALGORITHM or seal.get("canonicalization") != CANONICALIZATION:
        return SealCheck(
            "invalid",
            recorded=recorded_text,
            computed=computed,
            message=f"unknown seal method {seal.get('algorithm')!r}/{seal.get('canonicalization')!r}; "
            f"this version seals with {SEAL_ALGORITHM}/{CANONICALIZATION}",
        )
    if recorded_text is None or recorded_text.lower() != computed:
        return SealCheck(
            "invalid",
            recorded=recorded_text,
            computed=computed,
            message="the seal does not match the content: the manifest was changed after the scan",
            details=tuple(hints),
        )
    return SealCheck("valid", recorded=recorded_text, computed=computed, message="the seal matches the content")


class _RecordCount:
    """How many records a manifest lists, and how many of them are files (for tamper hints)."""

    def __init__(self) -> None:
        self.records = 0
        self.files = 0

    def add(self, record: Any) -> None:
        self.records += 1
        if isinstance(record, dict) and record.get("kind") == "file":
            self.files += 1


def _tamper_hints(count: _RecordCount | None, summary: Any) -> tuple[str, ...]:
    """Counts that disagree inside a manifest whose seal failed (hints, not proof)."""
    hints: list[str] = []
    if count is not None and isinstance(summary, dict):
        entries = summary.get("entries")
        if isinstance(entries, int) and entries != count.records:
            hints.append(f"the summary counts {entries} entries but the manifest lists {count.records} records")
        n_files = summary.get("files")
        if isinstance(n_files, int) and n_files != count.files:
            hints.append(f"the summary counts {n_files} files but the manifest lists {count.files}")
    return tuple(hints)


# --- the manifest in memory -----------------------------------------------------------


#: Algorithm -> bytes of its digest.
_DIGEST_SIZE = {name: make().digest_size for name, make in ALGORITHMS.items()}


class Digests(Mapping[str, str]):
    """Lowercase hex digests by algorithm (in ``ALGORITHMS`` order), held as raw bytes.

    A manifest of a million files keeps a million entries: as a dict of hex strings their
    digests took about 470 bytes each, held this way about 150. Reads like the dict.
    """

    __slots__ = ("_names", "_raw")
    _shared: dict[tuple[str, ...], tuple[str, ...]] = {}

    def __init__(self, digests: Mapping[str, str]) -> None:
        names = tuple(a for a in ALGORITHMS if a in digests)
        if len(names) != len(digests):
            unknown = ", ".join(sorted(set(digests) - set(names)))
            raise ValueError(f"unknown digest name(s): {unknown}")
        raw = b"".join(bytes.fromhex(digests[a]) for a in names)
        if len(raw) != sum(_DIGEST_SIZE[a] for a in names):
            raise ValueError("a digest has the wrong length")
        self._names = Digests._shared.setdefault(names, names)
        self._raw = raw

    def __getitem__(self, name: str) -> str:
        start = 0
        for a in self._names:
            end = start + _DIGEST_SIZE[a]
            if a == name:
                return self._raw[start:end].hex()
            start = end
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    @property
    def names(self) -> tuple[str, ...]:
        """The algorithms held, in ``ALGORITHMS`` order."""
        return self._names

    def as_dict(self) -> dict[str, str]:
        """``dict(self)``, made in one pass (`verify` makes one for every entry)."""
        out = {}
        start = 0
        raw = self._raw
        for a in self._names:
            end = start + _DIGEST_SIZE[a]
            out[a] = raw[start:end].hex()
            start = end
        return out

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Digests):
            return self._names == other._names and self._raw == other._raw
        return isinstance(other, Mapping) and dict(self.items()) == dict(other.items())

    def __hash__(self) -> int:
        return hash((self._names, self._raw))

    def __repr__(self) -> str:
        return repr(dict(self.items()))


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """What a manifest says about one path."""

    rel: bytes
    """Exact path bytes relative to the root, ``/`` separators."""
    kind: Kind
    size: int | None
    hashes: Mapping[str, str]
    """Lowercase hex digests by algorithm name (only algorithms this tool computes)."""
    link_target: str | None = None
    description: str | None = None
    """For ``other`` entries: what the special file was (``FIFO``, ``socket`` ...)."""
    modified_ns: int | None = None
    """For ``file`` entries of a JSON export: the modification time the scan recorded
    (``filesystem.modified``, read back with :func:`~evidence_cli.timeparse.to_stat_ns`;
    an integer takes less memory than its text, kept for each of a million entries)."""

    def __post_init__(self) -> None:
        if not isinstance(self.hashes, Digests):
            object.__setattr__(self, "hashes", Digests(self.hashes))

    @property
    def display(self) -> tuple[str, str | None]:
        """(text path, base64 of the bytes when the text is not exact)."""
        return display_path(self.rel)


@dataclass(frozen=True)
class Manifest:
    """A manifest read from disk: its identity, its seal, its root and its entries."""

    path: str
    """The manifest's absolute path (text, undecodable bytes as ``\\xNN``)."""
    format: ManifestFormat
    sha256: str
    """SHA-256 of the manifest file's bytes."""
    size: int
    seal: SealCheck
    base: bytes | None
    """Absolute directory the entries are relative to, as recorded (None: not recorded).
    For a tampered manifest it is untrusted: only good for refusing to write inside it."""
    roots: tuple[bytes, ...] = (b".",)
    """What was scanned, relative to ``base`` (``.`` is the base itself)."""
    entries: tuple[ManifestEntry, ...] = ()
    header: Mapping[str, Any] = field(default_factory=dict)
    """JSON export: every top-level key but ``files`` and ``seal``."""
    source: bytes | None = None
    """The manifest file's absolute path, to read its records again (:meth:`iter_records`)."""
    notes: tuple[str, ...] = ()
    complete: bool = True
    """False for the manifest of an interrupted scan (it lists only part of the tree)."""
    foreign_base: str | None = None
    """The folder a list's names were relative to on the machine that made it, when that
    is no folder of this one (a Windows path, ``C:\\Cases\\Evidence``): ``base`` is then
    None, and verifying needs ``--root``, the folder that holds a copy of it."""

    @property
    def sealed(self) -> bool:
        return self.seal.status == "valid"

    @property
    def has_records(self) -> bool:
        """True when the manifest holds full records (a JSON export), not only digests."""
        return self.format == "evidence-json" and self.source is not None

    def iter_records(self) -> Iterator[Any]:
        """The raw records of a JSON export, in order, read again from its file.

        They are not kept in memory (a million records take gigabytes). The file must
        still be the one that was read: its SHA-256 is checked when the last record has
        been given, and a change raises :class:`ManifestError` then.
        """
        if not self.has_records or self.source is None:
            return iter(())
        return _records_again(self.source, self.sha256)

    def algorithms(self) -> tuple[str, ...]:
        """Digest names present in the entries, in ``ALGORITHMS`` order."""
        seen = {a for e in self.entries for a in e.hashes}
        return tuple(a for a in ALGORITHMS if a in seen)

    def describe(self) -> dict[str, Any]:
        """The manifest's identity for reports."""
        scan = self.header.get("scan") if isinstance(self.header.get("scan"), dict) else None
        return {
            "path": self.path,
            "format": self.format,
            "sha256": self.sha256,
            "size": self.size,
            "seal": self.seal.to_dict(),
            "entries": len(self.entries),
            "complete": self.complete,
            "scan": ({k: scan.get(k) for k in ("started_utc", "finished_utc", "host", "complete")} if scan else None),
            "case": dict(self.header["case"]) if isinstance(self.header.get("case"), dict) else None,
            "notes": list(self.notes),
        }


def require_trusted(manifest: Manifest, *, allow_unsealed: bool = False) -> None:
    """Raise unless the manifest may be used: a valid seal, or a format without one.

    A JSON export whose seal is missing is refused unless ``allow_unsealed`` (removing
    the seal is the simplest way to hide an edit).
    """
    if manifest.seal.status == "invalid":
        hints = "".join(f"; {d}" for d in manifest.seal.details)
        raise TamperedManifest(f"manifest {manifest.path!r} is tampered: {manifest.seal.message}{hints}")
    if manifest.seal.status == "missing" and not allow_unsealed:
        raise ManifestError(
            f"manifest {manifest.path!r} has no seal, so edits made after the scan cannot be detected. "
            "Use it anyway with --allow-unsealed (the report then says 'not sealed')."
        )


# --- reading ---------------------------------------------------------------------------

#: Bytes read at a time. A manifest is read in pieces and never held whole.
_CHUNK = 1 << 20
#: What may come before the first character that tells the format.
_LEAD = b"\xef\xbb\xbf \t\r\n"
_HASHDEEP_MAGIC = b"%%%% HASHDEEP"
#: The first columns of this tool's own CSV reports (``writers.csv_out.COLUMNS``,
#: ``exports.VERIFY_CSV_COLUMNS``), given to `evidence verify` for a manifest.
_OWN_REPORTS = {
    b"path,path_bytes,kind,": "the CSV report of `evidence scan` (or `evidence export -f csv`)",
    b"status,in_manifest,path,": "the CSV report of `evidence verify`",
}
#: How far the first line is read to tell its format (a PowerShell CSV header is short).
_SNIFF = 4096


def read_manifest(path: str | bytes, *, algorithm: str | None = None) -> Manifest:
    """Read a manifest of any supported format. Never re-hashes evidence.

    ``algorithm`` (a name of :data:`SUM_ALGORITHMS`) says what the digests of a sum
    list's untagged lines are, which the list itself does not say (see
    :func:`_read_sum_list`); a JSON export or a hashdeep file names its own digests, and
    is refused with it.

    The seal of a JSON export is checked first; when it fails, no entry is parsed or
    trusted (``entries`` is empty and ``seal.status`` is ``invalid``; ``base`` is kept
    only so that nothing gets written inside it).

    The file is read once, in pieces: its SHA-256, its seal and its entries are computed
    as it is read, and the records themselves are not kept (:meth:`Manifest.iter_records`
    reads them again), so memory grows only with the entries (about 350 bytes each).

    Raises:
        ManifestError: the file cannot be read or is not a manifest.
    """
    with _Source(os.path.abspath(os.fsencode(path))) as src:
        chunks: Iterator[bytes] = src.chunks()
        first = b""
        for chunk in chunks:
            first += chunk
            if len(first) >= 2:
                break
        utf16 = first[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
        if utf16:
            # Windows PowerShell writes UTF-16 when a list is redirected to a file (``>``).
            chunks = _from_utf16(itertools.chain((first,), chunks))
            first = b""
        for chunk in chunks:
            first += chunk
            head = first.lstrip(_LEAD)
            if _sniffed(head):
                break
        head = first.lstrip(_LEAD)
        data = itertools.chain((first,), chunks)
        if utf16 and head.startswith(b"{"):
            raise ManifestError("the manifest is JSON in UTF-16: not an export this tool wrote (it writes UTF-8)")
        if algorithm is not None and (head.startswith(b"{") or head.startswith(_HASHDEEP_MAGIC)):
            named = "a JSON export" if head.startswith(b"{") else "a hashdeep file"
            raise ManifestError(
                f"the manifest is {named}, which names its digests: an algorithm is given only for a sum list"
            )
        if head.startswith(b"{"):
            return _read_json(data, src)
        lines = _lines(_without_bom(data))
        if head.startswith(_HASHDEEP_MAGIC):
            return _read_hashdeep(lines, src)
        for start, what in _OWN_REPORTS.items():
            if head.startswith(start):
                raise ManifestError(
                    f"the file is {what}: a report, not a manifest (it has no seal, and cells a spreadsheet "
                    "would run are neutralised); verify the scan's JSON export (evidence scan --json)"
                )
        delimiter = _powershell_delimiter(head)
        if algorithm is not None and algorithm not in SUM_ALGORITHMS:
            raise ManifestError(f"unknown digest {algorithm!r}; choose from {', '.join(SUM_ALGORITHMS)}")
        if delimiter is not None:
            return _read_powershell_csv(lines, src, algorithm, delimiter)
        return _read_sum_list(lines, src, algorithm)


def _sniffed(head: bytes) -> bool:
    """Enough of the start of a file to tell its format: a JSON or hashdeep start, else its
    first line (a PowerShell CSV's header; its second after Windows PowerShell's #TYPE)."""
    if len(head) > _SNIFF:
        return True
    if len(head) < len(_HASHDEEP_MAGIC):
        return False
    return head[:1] in b"{%" or head.count(b"\n") >= (2 if head.startswith(b"#TYPE ") else 1)


def file_sha256(path: str | bytes) -> str | None:
    """SHA-256 of a (regular) file's bytes, or None when it cannot be read."""
    try:
        with _Source(os.fsencode(path)) as src:
            for _ in src.chunks():
                pass
            return src.sha256.hexdigest()
    except ManifestError:
        return None


class _Source:
    """A manifest file (absolute path) read from start to end in pieces, its SHA-256 and size
    taken on the way."""

    def __init__(self, path: bytes) -> None:
        self.path = path
        self.sha256 = hashlib.sha256()
        self.size = 0
        try:
            self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            raise ManifestError(f"cannot read manifest {os.fsdecode(path)!r}: {exc.strerror}") from None
        try:
            st = os.fstat(self._fd)
        except OSError as exc:  # pragma: no cover - fstat of an open descriptor
            os.close(self._fd)
            raise ManifestError(f"cannot read manifest {os.fsdecode(path)!r}: {exc.strerror}") from None
        if not stat_mod.S_ISREG(st.st_mode):
            os.close(self._fd)
            raise ManifestError(f"manifest {os.fsdecode(path)!r} is not a regular file")

    def __enter__(self) -> _Source:
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self._fd)

    def chunks(self) -> Iterator[bytes]:
        """The file's bytes, in order, each piece hashed and counted as it is given."""
        while True:
            try:
                buf = os.read(self._fd, _CHUNK)
            except OSError as exc:
                raise ManifestError(f"cannot read manifest {os.fsdecode(self.path)!r}: {exc.strerror}") from None
            if not buf:
                return
            self.sha256.update(buf)
            self.size += len(buf)
            yield buf

    def identity(self) -> dict[str, Any]:
        """The ``path``, ``sha256`` and ``size`` of a :class:`Manifest` (once every byte is read)."""
        return {
            "path": self.path.decode("utf-8", "backslashreplace"),
            "sha256": self.sha256.hexdigest(),
            "size": self.size,
        }


def _bom_whole(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The pieces, the first ones joined until they hold a whole byte-order mark or
    cannot start one. A read may return fewer bytes than asked (a network or FUSE file
    system): a mark split across two reads was decoded as text, and a manifest read
    again by pieces of another size seemed to have changed since it was read."""
    pieces = iter(chunks)
    first = b""
    for piece in pieces:
        first += piece
        if len(first) >= len(codecs.BOM_UTF8) or not codecs.BOM_UTF8.startswith(first):
            break
    if first:
        yield first
    yield from pieces


def _texts(chunks: Iterable[bytes]) -> Iterator[str]:
    """UTF-8 text of the byte pieces (a leading byte-order mark dropped)."""
    pieces = _bom_whole(chunks)
    first = next(pieces, b"")
    skip = len(codecs.BOM_UTF8) if first.startswith(codecs.BOM_UTF8) else 0
    yield from _decoded(itertools.chain((first[skip:],), pieces), "utf-8", skip)


def _decoded(chunks: Iterable[bytes], encoding: str, fed: int = 0) -> Iterator[str]:
    """Text of the byte pieces; a bad character is refused with the number of the byte it
    starts at (``fed``: the bytes of the file before the first piece)."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    shown = encoding.upper()
    for chunk in chunks:
        held = len(decoder.getstate()[0])
        try:
            text = decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            raise ManifestError(f"the manifest is not {shown} text (byte {fed - held + exc.start})") from None
        fed += len(chunk)
        if text:
            yield text
    held = len(decoder.getstate()[0])
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise ManifestError(f"the manifest is not {shown} text (byte {fed - held + exc.start})") from None


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d: dict[str, Any] = {}
    for k, v in pairs:
        if k in d:
            raise ManifestError(f"the manifest repeats the key {k!r} in one object (a JSON reader would drop one)")
        d[k] = v
    return d


class _JsonExport:
    """A JSON export read piece by piece.

    :meth:`records` gives the records of ``files`` one at a time; once it is exhausted,
    ``members`` holds the other top-level members (a ``files`` that is not a list among
    them), ``has_files`` says whether ``files`` was there, and ``late`` whether a member
    that sorts before ``files`` came after it (a re-ordered file).
    """

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self.members: dict[str, Any] = {}
        self.has_files = False
        self.late = False
        self._reader = ObjectReader(
            _texts(chunks), object_pairs_hook=_no_duplicate_keys, parse_float=finite_float, parse_constant=no_constant
        )

    def records(self) -> Iterator[Any]:
        reader = self._reader
        try:
            while (key := reader.next_key()) is not None:
                if key in self.members or (key == "files" and self.has_files):
                    _no_duplicate_keys([(key, None), (key, None)])
                if key == "files" and reader.peek() == "[":
                    self.has_files = True
                    yield from reader.items()
                    continue
                if key == "files":
                    self.has_files = True
                elif self.has_files and key < "files":
                    self.late = True
                self.members[key] = reader.value()
            reader.finish()
        except JsonStreamError as exc:
            if exc.msg == "Extra data":
                raise ManifestError(
                    "this looks like a JSON Lines export; the manifest is the JSON export (scan --json PATH)"
                ) from None
            raise ManifestError(
                f"the manifest is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            ) from None
        except RecursionError:
            raise ManifestError("the manifest is nested too deeply to be an evidence-cli export") from None
        except NotPortable as exc:
            raise ManifestError(f"the manifest holds what is not portable JSON: {exc}") from None
        except ValueError:  # e.g. an integer of more digits than Python converts (4,300)
            raise ManifestError("the manifest holds a number too long to be an evidence-cli export") from None


class _StreamSeal:
    """The seal of a JSON export computed as its records stream past (see :class:`Sealer`).

    The members that sort before ``files`` must be known when the first record comes:
    :meth:`start` takes those read so far. When one comes only after ``files`` (a
    re-ordered file), the file is read again (:func:`_reseal`).
    """

    def __init__(self) -> None:
        self._sealer: Sealer | None = None

    @property
    def started(self) -> bool:
        return self._sealer is not None

    def start(self, members: Mapping[str, Any]) -> None:
        self._sealer = Sealer({k: v for k, v in members.items() if k < "files"})

    def add(self, record: Any) -> None:
        assert self._sealer is not None
        self._sealer.add_read(record)

    def value(self, members: Mapping[str, Any]) -> str:
        """The seal value, given every member (read to the end)."""
        if self._sealer is None:
            self.start(members)
        assert self._sealer is not None
        tail = {k: v for k, v in members.items() if k > "files" and k != "seal"}
        return self._sealer.finish(tail)["value"]


def _read_json(chunks: Iterable[bytes], src: _Source) -> Manifest:
    export = _JsonExport(chunks)
    seal = _StreamSeal()
    count = _RecordCount()
    entries = _EntryIndex("record")
    for record in export.records():
        if not seal.started:
            seal.start(export.members)  # the members read so far
        seal.add(record)
        count.add(record)
        entries.add_record(record)
    common = src.identity()
    members = export.members
    if not export.has_files:
        raise ManifestError("the JSON file is not an evidence-cli scan export (no 'files' list)")
    schema = members.get("schema")
    if schema != SCHEMA_VERSION:
        raise ManifestError(f"unknown manifest schema {schema!r}; this version reads {SCHEMA_VERSION!r}")
    not_a_list = "files" in members
    files = members.pop("files", None)
    if "seal" not in members:
        check = judge_seal(None, "", ())
    else:
        if not_a_list:  # the whole document is in memory anyway
            computed = seal_value({**members, "files": files})
        elif export.late and seal.started:
            computed = _reseal(src.path, members, common["sha256"])
        else:
            computed = seal.value(members)
        check = judge_seal(members["seal"], computed, _tamper_hints(count, members.get("summary")))
    header = {k: v for k, v in members.items() if k != "seal"}
    scan: dict[str, Any] = members["scan"] if isinstance(members.get("scan"), dict) else {}
    complete = scan.get("complete", True) is not False
    if check.status == "invalid":
        # Nothing of a tampered manifest is trusted: no entries. Its recorded root is
        # kept only so that callers can refuse to write reports inside it.
        try:
            untrusted_base = _json_base(scan)[1]
        except ManifestError:
            untrusted_base = None
        return Manifest(
            format="evidence-json", seal=check, base=untrusted_base, header=header, complete=complete, **common
        )
    if not_a_list:
        raise ManifestError("'files' is not a list")
    entries.raise_error()
    if entries.repeated:
        _check_repeats(src.path, common["sha256"], entries.repeated)
    base_text, base = _json_base(scan)
    notes = [] if complete else ["the manifest is from an interrupted scan: it lists only part of the tree"]
    return Manifest(
        format="evidence-json",
        seal=check,
        base=base,
        roots=_json_roots(scan, base_text),
        entries=entries.entries(),
        header=header,
        source=src.path,
        notes=tuple(notes),
        complete=complete,
        **common,
    )


def _reseal(source: bytes, members: Mapping[str, Any], sha256: str) -> str:
    """The seal value of a JSON export whose members come in another order: a second reading."""
    seal = _StreamSeal()
    seal.start(members)
    for record in _records_again(source, sha256):
        seal.add(record)
    return seal.value(members)


def _records_again(source: bytes, sha256: str) -> Iterator[Any]:
    """The records of a JSON export read again (see :meth:`Manifest.iter_records`); the
    file's SHA-256 is checked once the last one has been given."""
    with _Source(source) as src:
        try:
            yield from _JsonExport(src.chunks()).records()
        except ManifestError as exc:
            raise ManifestError(f"the manifest changed since it was read: {exc}") from None
        _same_file(src, sha256)


def _same_file(src: _Source, sha256: str) -> None:
    """Refuse a manifest file read again that is not the one read first."""
    if src.sha256.hexdigest() != sha256:
        raise ManifestError(
            f"the manifest {os.fsdecode(src.path)!r} changed since it was read "
            f"(its SHA-256 was {sha256}, it is now {src.sha256.hexdigest()})"
        )


class _EntryIndex:
    """The entries of a manifest as they are read: one per path, first seen first.

    Exact repeats of one path are dropped; two different claims about one path are
    refused. The first error is kept, not raised (a tampered manifest reports its seal,
    not a malformed record) until :meth:`raise_error`; entries stop being made then.
    ``repeated``: the paths listed more than once (their records are compared whole by
    :func:`_check_repeats`: an entry keeps only part of a record).
    """

    def __init__(self, what: str) -> None:
        self.what = what
        self.count = 0
        self.error: ManifestError | None = None
        self.repeated: set[bytes] = set()
        self._seen: dict[bytes, ManifestEntry] = {}

    def add_record(self, record: Any) -> None:
        i = self.count
        self.count += 1
        if self.error is None:
            try:
                self.add(_entry_of_record(i, record))
            except ManifestError as exc:
                self.error = exc
                self._seen = {}

    def add(self, entry: ManifestEntry) -> None:
        prev = self._seen.get(entry.rel)
        if prev is None:
            self._seen[entry.rel] = entry
            return
        if prev != entry:
            raise _twice(entry.rel, self.what)
        self.repeated.add(entry.rel)

    def raise_error(self) -> None:
        if self.error is not None:
            raise self.error

    def entries(self) -> tuple[ManifestEntry, ...]:
        return tuple(self._seen.values())


def _twice(rel: bytes, what: str) -> ManifestError:
    text = rel.decode("utf-8", "backslashreplace")
    return ManifestError(f"the manifest lists {text!r} twice with different contents ({what}s disagree)")


def _check_repeats(source: bytes, sha256: str, repeated: set[bytes]) -> None:
    """Refuse a JSON export that lists one path twice with records that differ in anything.

    The entries agreed, but an entry keeps only what verify compares (a file's
    description, times and metadata are left out): the records are read again and
    compared whole, in their canonical form. Our scans never list a path twice.
    """
    first: dict[bytes, bytes] = {}
    for i, record in enumerate(_records_again(source, sha256)):
        rel = record_path(record, f"record {i + 1}")
        if rel not in repeated:
            continue
        form = canonical(record)
        if first.setdefault(rel, form) != form:
            raise _twice(rel, "record")


def _entry_of_record(i: int, r: Any) -> ManifestEntry:
    where = f"record {i + 1}"
    if not isinstance(r, dict):
        raise ManifestError(f"{where} is not an object")
    rel = record_path(r, where)
    kind = r.get("kind")
    if not isinstance(kind, str) or kind not in _KINDS:  # (a list is not hashable: TypeError)
        raise ManifestError(f"{where}: unknown kind {kind!r}")
    size = r.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise ManifestError(f"{where}: size {size!r} is not a byte count")
    raw_hashes = r.get("hashes") or {}
    if not isinstance(raw_hashes, dict):
        raise ManifestError(f"{where}: 'hashes' is not an object")
    # A manifest of a million files keeps a million entries: their keys are this
    # module's own strings, not one copy a record, and a file's libmagic description
    # (only a special file's is ever checked) is not kept.
    hashes = {}
    for name in ALGORITHMS:
        if name in raw_hashes:
            hashes[name] = _hex(raw_hashes[name], name, where)
    target = r.get("link_target")
    desc = r.get("description") if kind == "other" else None
    fs = r.get("filesystem") if kind == "file" else None
    modified = fs.get("modified") if isinstance(fs, dict) else None
    # Not a time as this tool writes it: nothing to compare it with.
    modified_ns = to_stat_ns(modified) if isinstance(modified, str) else None
    return ManifestEntry(
        rel=rel,
        kind=cast(Kind, _KINDS[kind]),
        size=size,
        hashes=hashes,
        link_target=target if isinstance(target, str) else None,
        description=desc if isinstance(desc, str) else None,
        modified_ns=modified_ns,
    )


def record_path(r: Mapping[str, Any], where: str) -> bytes:
    pb = r.get("path_bytes")
    if pb is not None:
        if not isinstance(pb, str):
            raise ManifestError(f"{where}: 'path_bytes' is not text")
        try:
            rel = base64.b64decode(pb, validate=True)
        except (binascii.Error, ValueError):
            raise ManifestError(f"{where}: 'path_bytes' is not base64") from None
    else:
        p = r.get("path")
        if not isinstance(p, str):
            raise ManifestError(f"{where}: no path")
        try:
            rel = p.encode("utf-8")
        except UnicodeEncodeError:
            raise ManifestError(f"{where}: the path is not encodable text") from None
    return check_relative(rel, where)


def check_relative(rel: bytes, where: str) -> bytes:
    """Refuse a path that could reach outside the root (``..``, absolute, NUL, empty parts)."""
    parts = rel.split(b"/")
    bad = (
        not rel
        or b"\x00" in rel
        or rel.startswith(b"/")
        or (rel != b"." and any(p in (b"", b".", b"..") for p in parts))
    )
    if bad:
        text = rel.decode("utf-8", "backslashreplace")
        raise ManifestError(f"{where}: path {text!r} is not a relative path inside the root")
    return rel


#: Algorithm -> (hex digits of its digest, a pattern matching exactly that).
_HEX = {name: (2 * size, re.compile(f"[0-9a-fA-F]{{{2 * size}}}")) for name, size in _DIGEST_SIZE.items()}


def hex_digest(value: Any, name: str, where: str) -> str:
    """``value`` as a ``name`` digest in lowercase hex; :class:`ManifestError` (naming
    ``where``) when it is not one."""
    return _hex(value, name, where)


def _hex(value: Any, name: str, where: str) -> str:
    n, pattern = _HEX[name]
    if not isinstance(value, str) or not pattern.fullmatch(value):
        shown = repr(value)
        if len(shown) > 160:  # (a hostile manifest's megabyte of "digest" is not echoed whole)
            shown = f"{shown[:150]}... ({len(value) if isinstance(value, str | list | dict) else len(shown)} long)"
        raise ManifestError(f"{where}: {name} digest {shown} is not {n} hex digits")
    return value.lower()


def _path_bytes(text: str, where: str) -> bytes:
    """A path written as text, as bytes (undecodable bytes come back from their surrogate
    escapes). A lone surrogate written as a JSON escape (``\\ud800``) is no path this tool
    writes, and no path at all: refused, where encoding it raised UnicodeEncodeError and
    `evidence verify` ended in a traceback."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise ManifestError(f"{where}: {text!r} is not a path (it holds a lone surrogate)") from None


def _text_to_path(text: str, where: str) -> bytes:
    """Bytes of a path written as text; if that does not exist, undo ``\\xNN`` escapes."""
    b = _path_bytes(text, where)
    if not os.path.lexists(b) and b"\\x" in b:
        undone = re.sub(rb"\\x([0-9a-f]{2})", lambda m: bytes([int(m.group(1), 16)]), b)
        if os.path.lexists(undone):
            return undone
    return b


def _json_base(scan: Mapping[str, Any]) -> tuple[str | None, bytes | None]:
    opts: Mapping[str, Any] = scan["options"] if isinstance(scan.get("options"), dict) else {}
    text = scan.get("root") if isinstance(scan.get("root"), str) else opts.get("base")
    if not isinstance(text, str) or not text:
        return None, None
    rb = scan.get("root_bytes")
    if isinstance(rb, str) and scan.get("root") == text:
        try:
            return text, base64.b64decode(rb, validate=True)
        except (binascii.Error, ValueError):
            raise ManifestError("scan.root_bytes is not base64") from None
    b = _text_to_path(text, "scan.root" if scan.get("root") == text else "scan.options.base")
    return text, b if os.path.isabs(b) else None


def _json_roots(scan: Mapping[str, Any], base_text: str | None) -> tuple[bytes, ...]:
    roots = scan.get("roots")
    if base_text is None or not isinstance(roots, list) or not roots:
        return (b".",)
    out: list[bytes] = []
    for r in roots:
        if not isinstance(r, str) or not r:
            raise ManifestError("scan.roots holds a value that is not a path")
        rel = os.path.relpath(r, base_text).replace(os.sep, "/")
        if rel == ".":
            return (b".",)
        out.append(check_relative(_path_bytes(rel, "scan.roots"), "scan.roots"))
    return tuple(sorted(set(out)))


# --- plain hash lists ---------------------------------------------------------------


def _lines(chunks: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """(number, line) of the byte pieces' lines; one carriage return before a line end dropped."""
    n = 0
    held: list[bytes] = []
    for chunk in chunks:
        held.append(chunk)
        if b"\n" not in chunk:
            continue
        lines = b"".join(held).split(b"\n")
        held = [lines.pop()]
        for line in lines:
            n += 1
            yield n, line[:-1] if line.endswith(b"\r") else line
    rest = b"".join(held)
    if rest:
        yield n + 1, rest[:-1] if rest.endswith(b"\r") else rest


def unescape_name(name: bytes, where: str) -> bytes:
    """Undo GNU ``*sum`` escaping (``\\\\``, ``\\n``, ``\\r``)."""
    out = bytearray()
    i = 0
    while i < len(name):
        c = name[i : i + 1]
        if c == b"\\":
            nxt = name[i + 1 : i + 2]
            rep = {b"\\": b"\\", b"n": b"\n", b"r": b"\r"}.get(nxt)
            if rep is None:
                raise ManifestError(f"{where}: invalid escape in the file name")
            out += rep
            i += 2
        else:
            out += c
            i += 1
    return bytes(out)


#: The format of a sum list of each algorithm.
_SUM_FORMATS: dict[str, ManifestFormat] = {
    "md5": "md5sum",
    "sha1": "sha1sum",
    "sha256": "sha256sum",
    "sha512": "sha512sum",
    "blake2b": "b2sum",
}
_SUM_LINE = re.compile(rb"([0-9a-fA-F]+) [ *](.*)", re.S)
#: BSD's ``md5 -r``, ``sha256 -r`` (macOS, FreeBSD): one space, then the name, unescaped.
_BSD_LINE = re.compile(rb"([0-9a-fA-F]+) (.*)", re.S)
_BSD_FIRST = re.compile(rb"([0-9a-fA-F]+) ([^ *].*)", re.S)
_TAG_LINE = re.compile(rb"(MD5|SHA1|SHA256|SHA512|BLAKE2b) \((.*)\) = ([0-9a-fA-F]+)", re.S)
#: ``openssl dgst`` (and ``openssl sha256`` ...): ``SHA2-256(name)= digest`` (OpenSSL 3),
#: ``SHA256(name)= digest`` (1.1). The name is what lies before the last ``)= ``: a digest
#: holds none. Its algorithm names -> ours; any other is a digest this tool does not compute.
_OPENSSL_LINE = re.compile(rb"([A-Za-z0-9-]{2,20})\((.*)\)= ([0-9a-fA-F]+)", re.S)
_OPENSSL_NAMES = {
    "MD5": "md5",
    "SHA1": "sha1",
    "SHA256": "sha256",
    "SHA2-256": "sha256",
    "SHA512": "sha512",
    "SHA2-512": "sha512",
    "BLAKE2b512": "blake2b",
    "BLAKE2B-512": "blake2b",
}


def _untagged_line(body: bytes, style: str | None, escaped: bool) -> tuple[re.Match[bytes] | None, str | None]:
    """(digest and name, the list's style) of a line that does not name its algorithm.

    GNU's ``md5sum`` puts two characters before the name (two spaces, or `` *``); BSD's
    ``md5 -r`` one space. The list's first such line tells which (a name after one space
    that starts with a space or ``*`` reads as GNU there); every other line is read so."""
    if style == "bsd":
        return (None if escaped else _BSD_LINE.fullmatch(body)), style
    m = _SUM_LINE.fullmatch(body)
    if m or style == "gnu" or escaped:
        return m, ("gnu" if m else style)
    bsd = _BSD_FIRST.fullmatch(body)
    return bsd, ("bsd" if bsd else style)


def _read_sum_list(lines: Iterable[tuple[int, bytes]], src: _Source, given: str | None = None) -> Manifest:
    """A sum list: ``--tag`` lines name their algorithm; an untagged line's digest is read
    by its length (:data:`_SUM_BY_LENGTH`), or as ``given`` when the examiner names the
    algorithm (then it must be that algorithm's length, and tagged lines that one too)."""
    algorithm: str | None = given
    untagged = False  # a line that does not name its algorithm was read
    style: str | None = None  # of its untagged lines: "gnu" (md5sum) or "bsd" (md5 -r)
    items: list[tuple[bytes, str, str]] = []
    for n, line in lines:
        where = f"line {n}"
        if not line.strip() or line.startswith(b"#"):
            continue
        escaped = line.startswith(b"\\")
        body = line[1:] if escaped else line
        m = _TAG_LINE.fullmatch(body)
        # (The openssl form only where its separator is: not a regex more on every GNU line.)
        o = _OPENSSL_LINE.fullmatch(body) if not m and not escaped and b")= " in body else None
        if m:
            alg, name, hexd = _TAG_NAMES[m.group(1).decode()], m.group(2), m.group(3).decode()
        elif o:
            tool_name = o.group(1).decode("ascii")
            if tool_name not in _OPENSSL_NAMES:
                raise ManifestError(
                    f"{where}: {tool_name} digests (openssl dgst) are not computed by this tool; it checks "
                    f"{', '.join(sorted(set(_OPENSSL_NAMES)))}"
                )
            alg, name, hexd = _OPENSSL_NAMES[tool_name], o.group(2), o.group(3).decode()
        else:
            m, style = _untagged_line(body, style, escaped)
            if m and m.group(2) and given is not None and len(m.group(1)) != SUM_ALGORITHMS[given]:
                raise ManifestError(
                    f"{where}: a digest of {len(m.group(1))} hex digits, where {given} digests have "
                    f"{SUM_ALGORITHMS[given]}"
                )
            if not m or len(m.group(1)) not in _SUM_BY_LENGTH or not m.group(2):
                other = re.match(rb"BLAKE2b-(\d+) \(", body)
                if other:
                    raise ManifestError(
                        f"{where}: BLAKE2b-{other.group(1).decode()} digests (b2sum -l) are not computed by this "
                        "tool; it checks b2sum's full-length digests (b2sum --tag without -l)"
                    )
                if m is None and style == "gnu" and not escaped and _BSD_LINE.fullmatch(body):
                    raise ManifestError(
                        f"{where}: one space before the name (md5 -r form), in a list whose lines have two "
                        "(md5sum form): not one list"
                    )
                if b"\x00" in line[:4096]:  # (a photo, a document: its bytes are no help to show)
                    raise ManifestError(
                        f"{where} holds NUL bytes: the file is not text, not a manifest this tool reads"
                    )
                shown = line[:80].decode("utf-8", "backslashreplace")
                raise ManifestError(f"{where} is not a hash-list line ({shown!r}): not a manifest this tool reads")
            alg, name, hexd = given or _SUM_BY_LENGTH[len(m.group(1))], m.group(2), m.group(1).decode()
            untagged = True
        algorithm = _same_algorithm(algorithm, alg, given, where)
        if escaped:
            name = unescape_name(name, where)
        items.append((name, _hex(hexd, alg, where), where))
    if algorithm is None or not items:
        raise ManifestError("the file holds no hash line: not a manifest")
    named = _list_names([(name, where) for name, _, where in items])
    digests = [h for _, h, _ in items]
    return _one_digest_list(_SUM_FORMATS[algorithm], algorithm, digests, named, src, untagged, given, "lines")


def _one_digest_list(
    fmt: ManifestFormat,
    algorithm: str,
    digests: Sequence[str],
    named: tuple[bytes | None, str | None, list[bytes], tuple[str, ...]],
    src: _Source,
    untagged: bool,
    given: str | None,
    lines: str,
) -> Manifest:
    """A list of one digest a file (``named``: its base, foreign base, relative names and
    notes). ``untagged``: its ``lines`` do not name their algorithm, a note says how it was
    told."""
    base, foreign, rels, notes = named
    if untagged:
        # An assumption the report must state: other tools write digests of the same length.
        how = "as the examiner said" if given is not None else "by their length"
        notes = (f"its {lines} do not name their algorithm: their digests are read as {algorithm}, {how}", *notes)
    entries = [ManifestEntry(rel=rel, kind="file", size=None, hashes={algorithm: h}) for rel, h in zip(rels, digests)]
    return Manifest(
        format=fmt,
        seal=SealCheck("not-sealed", message=f"{with_article(fmt)} list has no seal"),
        base=base,
        entries=_unique(entries),
        notes=notes,
        foreign_base=foreign,
        **src.identity(),
    )


def _same_algorithm(listed: str | None, alg: str, given: str | None, where: str) -> str:
    """The list's algorithm, once a line of ``alg`` is read: every line of a list has one."""
    if listed is None or alg == listed:
        return alg
    said = ", as the examiner said" if listed == given else ""
    raise ManifestError(f"{where}: {with_article(alg)} digest in a list of {listed} digests{said}")


def _read_hashdeep(lines: Iterable[tuple[int, bytes]], src: _Source) -> Manifest:
    columns: list[str] | None = None
    invoked: bytes | None = None
    invoked_on_windows: str | None = None  # (hashdeep run on Windows: its folder there)
    ignored: set[str] = set()
    raw: list[tuple[bytes, int, dict[str, str], str]] = []
    for n, line in lines:
        where = f"line {n}"
        if line.startswith(b"%%%%"):
            text = line[4:].strip().decode("ascii", "replace")
            if text.startswith("HASHDEEP"):
                continue
            cols = [c.strip().lower() for c in text.split(",")]
            if len(cols) < 3 or cols[0] != "size" or cols[-1] != "filename":
                raise ManifestError(f"{where}: unexpected hashdeep column line {text!r}")
            unknown = [c for c in cols[1:-1] if c not in _HASHDEEP_COLUMNS]
            if unknown:
                raise ManifestError(f"{where}: unknown hashdeep digest(s) {', '.join(unknown)}")
            columns = cols
            continue
        if line.startswith(b"##"):
            m = re.match(rb"## Invoked from: (.*)", line)
            if m and os.path.isabs(m.group(1)):
                invoked = m.group(1)
            elif m and _is_windows_path(folder := m.group(1).decode("utf-8", "surrogateescape")):
                invoked_on_windows = folder
            continue
        if not line.strip():
            continue
        if columns is None:
            raise ManifestError(f"{where}: a hash line before the hashdeep column line")
        parts = line.split(b",", len(columns) - 1)
        # (A size is at most 20 digits: 2**64; a longer one is not a size, and Python
        # refuses to convert more than 4,300 digits.)
        if len(parts) != len(columns) or not parts[0].isdigit() or len(parts[0]) > 20 or not parts[-1]:
            raise ManifestError(f"{where} is not a hashdeep line for columns {','.join(columns)}")
        hashes = {}
        for col, value in zip(columns[1:-1], parts[1:-1]):
            ours = _HASHDEEP_COLUMNS[col]
            if ours is None:
                ignored.add(col)
                continue
            hashes[ours] = _hex(value.decode("ascii", "replace"), ours, where)
        if not hashes:
            raise ManifestError(f"{where}: no digest this tool can check ({', '.join(sorted(ignored))})")
        raw.append((parts[-1], int(parts[0]), hashes, where))
    if not raw:
        raise ManifestError("the hashdeep file holds no hash line")
    base, foreign, rels, notes = _list_names([(name, where) for name, _, _, where in raw], invoked, invoked_on_windows)
    entries = [
        ManifestEntry(rel=rel, kind="file", size=size, hashes=hashes) for rel, (_, size, hashes, _) in zip(rels, raw)
    ]
    notes += tuple(f"{c} digests are not checked (not computed by this tool)" for c in sorted(ignored))
    return Manifest(
        format="hashdeep",
        seal=SealCheck("not-sealed", message="a hashdeep file has no seal"),
        base=base,
        entries=_unique(entries),
        notes=tuple(notes),
        foreign_base=foreign,
        **src.identity(),
    )


def _from_utf16(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """UTF-8 bytes of UTF-16 pieces (after their byte-order mark, which says the order)."""
    for text in _decoded(chunks, "utf-16"):
        try:
            yield text.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate: no name of any file system
            lone = ord(exc.object[exc.start])
            raise ManifestError(f"the manifest's UTF-16 holds a lone surrogate (U+{lone:04X})") from None


def _without_bom(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The pieces without a leading UTF-8 byte-order mark (Notepad, and Windows
    PowerShell's ``-Encoding UTF8``, write one): it was read as part of the first line,
    and a list saved so was refused."""
    pieces = _bom_whole(chunks)
    for piece in pieces:
        yield piece[len(codecs.BOM_UTF8) :] if piece.startswith(codecs.BOM_UTF8) else piece
        break
    yield from pieces


# --- PowerShell: Get-FileHash | Export-Csv ------------------------------------------

#: ``Get-FileHash -Algorithm`` names -> ours; the others it offers are not computed here.
_POWERSHELL_ALGORITHMS = {"MD5": "md5", "SHA1": "sha1", "SHA256": "sha256", "SHA512": "sha512"}
_POWERSHELL_OTHERS = {"SHA384", "MACTRIPLEDES", "RIPEMD160"}
_CSV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DRIVE = re.compile(r"[A-Za-z]:")
_DRIVE_ROOT = re.compile(r"[A-Za-z]:[\\/]")
_CONTROL = re.compile("[\x00-\x1f]")
#: A full Windows path written with backslashes (a drive, or a share), as bytes.
_WINDOWS_FULL = re.compile(rb"[A-Za-z]:\\|\\\\")


def _powershell_delimiter(head: bytes) -> str | None:
    """The delimiter of a PowerShell CSV, or None when the first line is not one: a line
    ``#TYPE ...`` (Windows PowerShell's Export-Csv) or a header of property names holding
    ``Hash`` and ``Path`` (``"Algorithm","Hash","Path"``; ``;`` between them with
    ``-UseCulture`` in much of Europe, or another ``-Delimiter``). No line of a sum or
    hashdeep list is either: a sum line's first field holds its name after spaces."""
    lines = head.split(b"\n", 2)
    line = lines[0].rstrip(b"\r")
    typed = line.startswith(b"#TYPE ")
    if typed:
        line = lines[1].rstrip(b"\r") if len(lines) > 1 else b""
    for delimiter in (",", ";", "\t", "|"):
        try:
            fields = _csv_fields(line, "line 1", delimiter)
        except ManifestError:
            continue
        if all(_CSV_NAME.fullmatch(f) for f in fields) and {"hash", "path"} <= {f.lower() for f in fields}:
            return delimiter
    return "," if typed else None


def _csv_fields(line: bytes, where: str, delimiter: str) -> list[str]:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{where} is not UTF-8 text (byte {exc.start + 1})") from None
    try:
        return next(csv.reader([text], delimiter=delimiter, strict=True))
    except (csv.Error, StopIteration) as exc:
        raise ManifestError(f"{where} is not a CSV line ({exc or 'empty'})") from None


def _read_powershell_csv(
    lines: Iterable[tuple[int, bytes]], src: _Source, given: str | None, delimiter: str = ","
) -> Manifest:
    """``Get-FileHash | Export-Csv`` (or ``ConvertTo-Csv``): a header naming the columns
    (``Algorithm``, ``Hash``, ``Path``; only Hash and Path are needed), one row a file,
    the file's full path as the machine that hashed it wrote it (a Windows path, or a
    POSIX one from PowerShell on Linux or macOS). See :func:`_windows_relative`."""
    header: dict[str, int] | None = None
    names: list[str] = []  # the header's column names, lowercase
    algorithm: str | None = given
    untagged = False
    items: list[tuple[str, str, str]] = []  # (path text, hex digest, where)
    for n, line in lines:
        where = f"line {n}"
        if not line.strip():
            continue
        if line.startswith(b"#TYPE "):  # (two exports joined: `type a.csv b.csv > all.csv`)
            continue
        fields = _csv_fields(line, where, delimiter)
        if header is None:
            names = [f.lower() for f in fields]
            header = {name: i for i, name in enumerate(names)}
            if "hash" not in header or "path" not in header:
                raise ManifestError(f"{where}: the CSV header names no Hash and Path columns: not a Get-FileHash list")
            continue
        if [f.lower() for f in fields] == names:  # the header again, of a second export joined to the first
            continue
        if len(fields) != len(names):
            raise ManifestError(f"{where}: {len(fields)} fields, where the header names {len(names)}")
        hexd, name = fields[header["hash"]], fields[header["path"]]
        if "algorithm" in header:
            said = fields[header["algorithm"]].upper()
            if said in _POWERSHELL_OTHERS:
                raise ManifestError(
                    f"{where}: {said} digests (Get-FileHash -Algorithm {said}) are not computed by this tool; "
                    f"it checks {', '.join(_POWERSHELL_ALGORITHMS)}"
                )
            if said not in _POWERSHELL_ALGORITHMS:
                raise ManifestError(f"{where}: {said[:40]!r} is not an algorithm of Get-FileHash")
            alg = _POWERSHELL_ALGORITHMS[said]
        else:  # (Select-Object Hash, Path): the digest's length says, as in a sum list
            alg = given or _SUM_BY_LENGTH.get(len(hexd), "")
            if not alg:
                raise ManifestError(f"{where}: a digest of {len(hexd)} characters is no digest this tool computes")
            untagged = True
        algorithm = _same_algorithm(algorithm, alg, given, where)
        if not name:
            raise ManifestError(f"{where}: the Path is empty")
        items.append((name, _hex(hexd, alg, where), where))
    if header is None or algorithm is None or not items:
        raise ManifestError("the PowerShell CSV holds no hash row: not a manifest")
    named = _powershell_names([(name, where) for name, _, where in items])
    digests = [h for _, h, _ in items]
    return _one_digest_list("get-filehash", algorithm, digests, named, src, untagged, given, "rows")


def _powershell_names(
    names: Sequence[tuple[str, str]],
) -> tuple[bytes | None, str | None, list[bytes], tuple[str, ...]]:
    """(base, foreign base, relative paths, notes) of Get-FileHash's full paths: POSIX
    paths (PowerShell on Linux or macOS) are read as a sum list's absolute names, Windows
    paths by :func:`_windows_relative`."""
    if any(_is_windows_path(name) for name, _ in names):
        foreign, rels, notes = _windows_relative(names, None)
        return None, foreign, rels, notes
    for name, where in names:
        if not name.startswith("/"):
            raise ManifestError(f"{where}: {name[:80]!r} is not a full path, as Get-FileHash writes them")
    base, posix, said = _relative_names([(_path_bytes(name, where), where) for name, where in names], None)
    return base, None, posix, said


def _windows_relative(
    names: Sequence[tuple[str, str]], invoked: str | None
) -> tuple[str, list[bytes], tuple[str, ...]]:
    """(foreign base, relative paths, notes) of the names of a list made on Windows.

    Full paths (``C:\\Cases\\x.jpg``, ``\\\\server\\share\\x.jpg``, with or without the
    ``\\\\?\\`` prefix) are made relative to ``invoked`` (the folder a hashdeep list says it
    was made in) when they are all in it, else to the deepest folder holding them all;
    folders are compared without regard to case, as Windows does. They must all be on one
    drive or share. Relative names (``sub\\x.jpg``, ``.\\x.jpg``) are relative to
    ``invoked``, and need it. The ``\\`` between folders becomes ``/``. The base is no folder
    of this machine: verifying needs ``--root``."""
    windows = [_is_windows_path(name) for name, _ in names]
    if not all(windows) and (any(windows) or invoked is None):
        where = names[windows.index(False)][1]
        raise ManifestError(f"{where}: not a full Windows path, where the list's other paths are")
    if not any(windows):
        assert invoked is not None
        for name, where in names:
            if name.startswith(("\\", "/")):
                raise ManifestError(f"{where}: {name[:80]!r} is neither a full Windows path nor a relative one")
        split = [(invoked, [p for p in re.split(r"[\\/]", name) if p not in ("", ".")]) for name, _ in names]
        for (_, parts), (name, where) in zip(split, names):
            _windows_checks(name, parts, where)
        foreign, depth = (invoked if _DRIVE_ROOT.fullmatch(invoked) else invoked.rstrip("\\/")), 0
    else:
        split = [_windows_parts(name, where) for name, where in names]
        volumes = sorted({volume.casefold(): volume for volume, _ in split}.values())
        if len(volumes) > 1:
            raise ManifestError(
                f"the list's paths are on more than one drive or share ({', '.join(volumes[:3])}): "
                "verify each one's rows as a list of its own"
            )
        folded = [[p.casefold() for p in parts[:-1]] for _, parts in split]
        depth = 0
        while all(depth < len(f) for f in folded) and len({f[depth] for f in folded}) == 1:
            depth += 1
        volume, first = split[0]
        if invoked is not None and _is_windows_path(invoked):
            home_volume, home = _windows_parts(invoked + "\\x", "## Invoked from")
            if (
                home_volume.casefold() == volume.casefold()
                and [p.casefold() for p in home[:-1]] == [p.casefold() for p in first[: len(home) - 1]]
                and len(home) - 1 <= depth
            ):
                depth = len(home) - 1
        foreign = "\\".join([volume, *first[:depth]]) + ("\\" if not depth and _DRIVE.fullmatch(volume) else "")
    rels = [
        _file_name(_path_bytes("/".join(parts[depth:]), where), where) for (_, parts), (_, where) in zip(split, names)
    ]
    notes = [
        f"its names are Windows paths under {foreign}; they are read relative to that folder, "
        "with '/' for '\\' (--root names the folder that holds a copy of it)"
    ]
    lost = sum("?" in "".join(parts) for _, parts in split)
    if lost:
        notes.append(
            f"{lost} of its names hold '?', which no Windows name can: the list was written in an encoding that "
            "lost their characters (as Windows PowerShell 5.1's Export-Csv, which writes ASCII unless given "
            "-Encoding UTF8), so those files show as missing"
        )
    undecoded = sum(any("\udc80" <= c <= "\udcff" for c in name) for name, _ in names)
    if undecoded:
        notes.append(
            f"{undecoded} of its names are not UTF-8 (a Windows code page?): they are read as their bytes, so "
            "those files show as missing where the copy's names are UTF-8"
        )
    return foreign, rels, tuple(notes)


def _is_windows_path(name: str) -> bool:
    return name.startswith("\\\\") or (_DRIVE.match(name) is not None and name[2:3] in ("\\", "/"))


def _windows_parts(name: str, where: str) -> tuple[str, list[str]]:
    """(drive or ``\\\\server\\share``, the folders and file name) of a full Windows path."""
    text = name
    if text.startswith(("\\\\?\\", "\\\\.\\")):
        text = text[4:]
        if text[:4].upper() == "UNC\\":
            text = "\\\\" + text[4:]
    parts = re.split(r"[\\/]", text)
    if _DRIVE.fullmatch(parts[0]) and len(parts) > 1:
        volume, rest = parts[0].upper(), parts[1:]
    elif text.startswith("\\\\") and len(parts) > 4 and parts[2] and parts[3]:
        volume, rest = "\\\\" + parts[2] + "\\" + parts[3], parts[4:]
    else:
        raise ManifestError(f"{where}: {name[:80]!r} is not a full Windows path")
    rest = [p for p in rest if p not in ("", ".")]
    _windows_checks(name, rest, where)
    return volume, rest


def _windows_checks(name: str, parts: list[str], where: str) -> None:
    """Refuse what no Windows hash tool writes: a control character, ``..``, no file name."""
    if _CONTROL.search(name):
        raise ManifestError(f"{where}: {name[:80]!r} holds a control character, which no Windows path can")
    if any(":" in p for p in parts):
        raise ManifestError(f"{where}: {name[:80]!r} holds ':' in a name, which no Windows name can")
    if ".." in parts:
        raise ManifestError(f"{where}: {name[:80]!r} climbs out of a folder ('..'), which no Windows hash tool writes")
    if not parts:
        raise ManifestError(f"{where}: {name[:80]!r} names a drive or share, not a file")


def _list_names(
    names: Sequence[tuple[bytes, str]], invoked: bytes | None = None, invoked_on_windows: str | None = None
) -> tuple[bytes | None, str | None, list[bytes], tuple[str, ...]]:
    """(base, foreign base, relative paths, notes) of a sum or hashdeep list's names.

    A list made on Windows (hashdeep says it ran in a Windows folder, or every name is a
    full Windows path: ``md5deep -r C:\\Case``, ``openssl dgst`` there) is read by
    :func:`_windows_relative`; any other by :func:`_relative_names`, its backslashes part of
    its names (a Linux name may hold one)."""
    # (With backslashes: a Linux folder may be named "C:", as some tools export a drive. The
    # first name that is no such path ends the check, before any name is decoded.)
    if invoked_on_windows is not None or all(_WINDOWS_FULL.match(name) for name, _ in names):
        texts = [(name.decode("utf-8", "surrogateescape"), where) for name, where in names]
        foreign, rels, notes = _windows_relative(texts, invoked_on_windows)
        return None, foreign, rels, notes
    base, rels, notes = _relative_names(names, invoked)
    return base, None, rels, notes


def _unique(entries: Iterable[ManifestEntry]) -> tuple[ManifestEntry, ...]:
    index = _EntryIndex("digest")
    for e in entries:
        index.add(e)
    return index.entries()


#: The note of a list whose absolute names share no folder but ``/`` (and no ``## Invoked
#: from: /`` says it was made there): its root is not taken to be ``/``, which would have
#: `evidence verify` walk, and hash, the whole file system (``/proc`` and ``/dev`` too).
NO_COMMON_FOLDER = "its absolute names share no folder but /; they are read as relative to /"


def _relative_names(
    names: Sequence[tuple[bytes, str]], invoked: bytes | None
) -> tuple[bytes | None, list[bytes], tuple[str, ...]]:
    """(base, relative paths, notes) of a hash list's names; see the module docstring."""
    base, rels, notes = _relative_to_root(names, invoked)
    return base, rels, notes + _windows_names(rels)


def _relative_to_root(
    names: Sequence[tuple[bytes, str]], invoked: bytes | None
) -> tuple[bytes | None, list[bytes], tuple[str, ...]]:
    """(base, relative paths, the note of a list with no common folder but ``/``)."""
    absolute = [os.path.isabs(n) for n, _ in names]
    if any(absolute) and not all(absolute):
        raise ManifestError("the list mixes absolute and relative names; cannot tell what they are relative to")
    if not absolute[0]:
        rels = []
        for name, where in names:
            while name.startswith(b"./"):
                name = name[2:].lstrip(b"/")
            rels.append(_file_name(name, where))
        return invoked, rels, ()
    normed = [os.path.normpath(n) for n, _ in names]
    if invoked is not None and all(n.startswith(invoked.rstrip(b"/") + b"/") for n in normed):
        base = invoked.rstrip(b"/") or b"/"
    else:
        base = os.path.commonpath([os.path.dirname(n) for n in normed])
    rels = [_file_name(os.path.relpath(n, base), where) for n, (_, where) in zip(normed, names)]
    if base == b"/" and invoked != b"/":
        return None, rels, (NO_COMMON_FOLDER,)
    return base, rels, ()


def _windows_names(rels: Sequence[bytes]) -> tuple[str, ...]:
    """A note when the names look like a list made on Windows: backslashes in names and
    no ``/`` anywhere. They stay part of the names (a Linux or macOS name may hold one),
    so such files are reported missing, or moved to the path with ``/``; the note says why."""
    if any(b"\\" in r for r in rels) and not any(b"/" in r for r in rels):
        return (
            "names hold backslashes and no '/': if the list was made on Windows, its folders are "
            "written with '\\' and are read here as part of the names (files then show as missing or moved)",
        )
    return ()


def _file_name(rel: bytes, where: str) -> bytes:
    """A hash list's name, relative: never the root folder itself (``.``, or ``/`` alone,
    which made a list of one such line verify the whole file system)."""
    if rel == b".":
        raise ManifestError(f"{where}: the name is the root folder itself, not a file")
    return check_relative(rel, where)
