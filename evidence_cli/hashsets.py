"""Hash sets: lists of known files' digests that a scan is matched against (``evidence match``).

Examiners get them from others, so each is read as hostile input, whole, in one pass, and
never trusted blindly:

- *digest lists*: a digest a line, alone or in the ``*sum`` forms (``HEX  name``,
  ``HEX *name``, ``SHA256 (name) = HEX``); ``#`` starts a comment;
- *hashdeep* files (``%%%% HASHDEEP-1.0``, ``%%%% size,md5,sha256,filename``);
- *CSV* with a header that names digest columns (``md5``, ``sha1``/``SHA-1``,
  ``sha256`` ...): NSRL RDS 2's ``NSRLFile.txt``, this tool's own CSV report, most
  exports of forensic suites, and PowerShell's ``Get-FileHash`` (a ``Hash`` column named
  by an ``Algorithm`` one);
- *VICS JSON* (Project VIC, CAID): ``{"value": [media, ...]}`` with ``MD5``, ``SHA1``,
  ``MediaSize``, ``Category``, or VICS 1's cases each holding a ``Media`` list; read
  item by item, so a file of millions of items never sits in memory whole;
- *NSRL RDS 3* SQLite databases (its ``FILE`` view: ``sha256``, ``sha1``, ``md5``,
  ``file_name``, ``file_size``, ``package_id``), opened read-only and immutable, with
  SQLite's own limits on what a hostile database may make it do;
- this tool's own manifests (JSON or JSON Lines export), seal checked.

Text sets may be UTF-8 or UTF-16 (Windows PowerShell's ``>``). A line that cannot be read
is counted and named (at most :data:`BAD_SHOWN` of them), never skipped silently; a set
that is not any of these formats is refused whole. The SHA-256 of every byte of the set is
taken as it is read, so the examiner can say which version of a set was used.

A digest of 128 hexadecimal digits in a list that does not name its algorithm may be
SHA-512 or BLAKE2b-512; it is compared with both (:class:`Known` keeps both names).
"""

from __future__ import annotations

import codecs
import csv
import functools
import hashlib
import io
import os
import re
import sqlite3
import stat as stat_mod
import urllib.parse
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Iterable, Iterator, Sequence

from evidence_cli.errors import EvidenceError
from evidence_cli.jsonstream import JsonStreamError, ObjectReader

#: Hexadecimal digits of each digest this tool computes.
HEX_LENGTH = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128, "blake2b": 128}
#: What a digest of each length may be when the list does not say.
_BY_LENGTH: dict[int, tuple[str, ...]] = {32: ("md5",), 40: ("sha1",), 64: ("sha256",), 128: ("sha512", "blake2b")}
#: Bad lines named in full (the rest are counted).
BAD_SHOWN = 10
#: The longest line (or CSV field, or JSON item) read; a longer one is a bad line.
MAX_LINE = 64 * 1024
MAX_ITEM = 64 * 1024 * 1024
_CHUNK = 1 << 20
_HEX_BYTES = re.compile(rb"[0-9a-fA-F]+").fullmatch
_HEX_TEXT = re.compile(r"[0-9a-fA-F]+", re.ASCII).fullmatch
_TAGGED = re.compile(rb"(MD5|SHA1|SHA256|SHA512|BLAKE2b(?:-512)?) ?\((.*)\) ?= ?([0-9a-fA-F]+)", re.S)
_TAG_NAMES = {b"MD5": "md5", b"SHA1": "sha1", b"SHA256": "sha256", b"SHA512": "sha512", b"BLAKE2b": "blake2b"}
_SPACE = re.compile(rb"[ \t]")
_SQLITE_MAGIC = b"SQLite format 3\x00"
#: Column names of CSV sets, lowercase with ``-``, ``_`` and spaces removed.
_CSV_DIGESTS = {"md5": "md5", "sha1": "sha1", "sha256": "sha256", "sha512": "sha512", "blake2b": "blake2b"}
_CSV_NAME = ("filename", "name", "path", "file", "medianame")
_CSV_SIZE = ("filesize", "size", "bytes", "mediasize")
_CSV_LABEL = ("label", "category", "description")
#: Columns kept as the detail of a known entry (NSRL's product and OS codes, VICS's ids).
_CSV_DETAIL = ("productcode", "opsystemcode", "specialcode", "packageid", "mediaid")


class HashSetError(EvidenceError):
    """A hash set that cannot be read at all (unreadable, not any known format, broken JSON)."""


@dataclass(frozen=True, slots=True)
class Known:
    """One entry of a hash set: a known file's digests and what the set says about it."""

    digests: tuple[tuple[tuple[str, ...], str], ...]
    """(algorithms it may be, lowercase hex): one algorithm unless the set does not say."""
    where: str
    """Where it is in the set: ``line 12``, ``item 3``, ``row 7``, ``entry 4``."""
    name: str | None = None
    size: int | None = None
    label: str | None = None
    detail: str | None = None


@dataclass
class HashSet:
    """What was read of one set: its identity, and what could not be read."""

    path: str
    format: str = ""
    sha256: str = ""
    size: int = 0
    entries: int = 0
    bad: list[str] = field(default_factory=list)
    """``line N: why`` of the first :data:`BAD_SHOWN` entries that could not be read."""
    bad_count: int = 0
    notes: list[str] = field(default_factory=list)
    read: int = 0
    """Bytes of the file read so far (what a progress line shows while it is read)."""
    total: int | None = None
    """The file's size when it was first opened."""

    def reject(self, where: str, why: str) -> None:
        self.bad_count += 1
        if len(self.bad) < BAD_SHOWN:
            self.bad.append(f"{where}: {why}")


def _digest(text: bytes | str, algs: tuple[str, ...] | None = None) -> tuple[tuple[str, ...], str] | None:
    """(algorithms, lowercase hex) of a hex digest, or None when it is not one. ``algs``
    given together have one length (SHA-512 and BLAKE2b-512)."""
    raw = text.strip()
    n = len(raw)
    if algs is None:
        algs = _BY_LENGTH.get(n)
        if algs is None:
            return None
    elif HEX_LENGTH[algs[0]] != n:
        return None
    if isinstance(raw, str):
        return (algs, raw.lower()) if _HEX_TEXT(raw) else None
    return (algs, raw.decode("ascii").lower()) if _HEX_BYTES(raw) else None


#: A digest: (the algorithms it may be, lowercase hex).
_Digest = tuple[tuple[str, ...], str]
#: A digest column: (position, its algorithm as a tuple, hex length, why a bad value is bad).
_Column = tuple[int, tuple[str, ...], int, str]


def _columns(at: Iterable[tuple[int, str]]) -> list[_Column]:
    return [(i, (alg,), HEX_LENGTH[alg], f"{alg} is not {HEX_LENGTH[alg]} hexadecimal digits") for i, alg in at]


def _row_digests(row: Sequence[Any], columns: Sequence[_Column]) -> tuple[tuple[_Digest, ...], str | None]:
    """The digests of a row's digest columns (empty ones left out), or why one is bad."""
    digests: list[_Digest] = []
    for i, algs, length, why in columns:
        value = row[i]
        if value is None:
            continue
        if type(value) is str:
            value = value.strip()
            if not value:
                continue
            if len(value) == length and _HEX_TEXT(value):
                digests.append((algs, value.lower()))
                continue
        elif type(value) is bytes:  # SQLite's text, not decoded before it is checked
            value = value.strip()
            if not value:
                continue
            if len(value) == length and _HEX_BYTES(value):
                digests.append((algs, value.decode("ascii").lower()))
                continue
        return (), why
    return tuple(digests), None


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


def _size(value: Any) -> int | None:
    """A size in bytes, or None for an empty one; ValueError for anything else."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("size is not a whole number")
    n = int(value) if isinstance(value, int) else int(str(value).strip(), 10)
    if n < 0:
        raise ValueError("size is negative")
    return n


class _Reader(io.RawIOBase):
    """A set's bytes from a descriptor, each hashed and counted as it is read."""

    def __init__(self, fd: int, found: HashSet) -> None:
        self._fd = fd
        self._found = found
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        data = os.read(self._fd, len(buf))
        n = len(data)
        buf[:n] = data
        self.sha256.update(data)
        self._found.read += n
        return n

    def finish(self) -> None:
        """Read (and hash) whatever the parser left, so the digest is of the whole file."""
        while self.read(_CHUNK):
            pass


def read_hashset(path: str) -> tuple[HashSet, Iterator[Known]]:
    """The set's description and its entries, read as they are iterated.

    ``HashSet.format`` is known at once; ``sha256``, ``size``, ``entries`` and ``bad``
    once the iterator is exhausted. Raises :class:`HashSetError` at once (unreadable, not
    a regular file) or while iterating (damage found later: broken JSON, a database that
    fails).
    """
    fd, size = _open(path)
    try:
        head = os.pread(fd, 64 * 1024, 0)
    except OSError as exc:
        raise HashSetError(f"cannot read hash set {path!r}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    found = HashSet(path=path, total=size)
    utf16 = head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    if utf16:  # Windows PowerShell writes UTF-16 when a list is redirected (``>``, Out-File)
        head = head[: len(head) // 2 * 2].decode("utf-16", "replace").encode("utf-8")
    if head.startswith(_SQLITE_MAGIC):
        found.format = "NSRL RDS 3 (SQLite)"
        return found, _counted(found, _sqlite(path, found))
    lead = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if lead[:1] in (b"{", b"[") and b"odata" not in lead[:4096]:
        found.format = "evidence manifest"
        return found, _counted(found, _manifest(path, found))
    if lead[:1] in (b"{", b"["):
        found.format = "VICS JSON (Project VIC / CAID)"
        parse: Callable[[IO[bytes], HashSet], Iterator[Known]] = _vics
    elif lead.startswith(b"%%%% HASHDEEP"):
        found.format = "hashdeep"
        parse = _hashdeep
    elif _csv_header(_first_line(lead)) is not None:
        found.format = "CSV"
        parse = _csv
    else:
        found.format = "digest list"
        parse = _digest_list
    return found, _counted(found, _stream(path, found, parse, utf16))


def _counted(found: HashSet, known: Iterator[Known]) -> Iterator[Known]:
    """The entries of any format, counted; a set that gave none and nothing unreadable
    says so."""
    for k in known:
        found.entries += 1
        yield k
    if found.entries == 0 and found.bad_count == 0:
        found.notes.append("it lists no digest")


class _Utf8Of16(io.RawIOBase):
    """UTF-16 text (after its byte-order mark) given as UTF-8 bytes, for the parsers."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._text = io.TextIOWrapper(raw, encoding="utf-16", errors="replace", newline="")
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        while not self._pending:
            piece = self._text.read(_CHUNK // 4)
            if not piece:
                return 0
            self._pending = piece.encode("utf-8", "replace")
        n = min(len(buf), len(self._pending))
        buf[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def _open(path: str) -> tuple[int, int]:
    """A read-only descriptor of a regular file, and its size."""
    try:
        # A link to a set is followed (a set is no evidence); a FIFO does not block the open.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise HashSetError(f"cannot read hash set {path!r}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
    except OSError as exc:
        os.close(fd)
        raise HashSetError(f"cannot read hash set {path!r}: {exc.strerror or exc}") from None
    if not stat_mod.S_ISREG(st.st_mode):
        os.close(fd)
        raise HashSetError(f"hash set {path!r} is not a regular file")
    return fd, st.st_size


def _stream(
    path: str, found: HashSet, parse: Callable[[IO[bytes], HashSet], Iterator[Known]], utf16: bool
) -> Iterator[Known]:
    fd = _open(path)[0]
    reader = _Reader(fd, found)
    try:
        try:
            stream: IO[bytes] = io.BufferedReader(reader, _CHUNK)
            if utf16:
                found.format += ", UTF-16"
                stream = io.BufferedReader(_Utf8Of16(stream), _CHUNK)
            yield from parse(stream, found)
            reader.finish()
        except OSError as exc:
            raise HashSetError(f"cannot read hash set {path!r}: {exc.strerror or exc}") from None
        found.sha256 = reader.sha256.hexdigest()
        found.size = found.read
    finally:
        os.close(fd)


def _lines(stream: IO[bytes], found: HashSet) -> Iterator[tuple[int, bytes]]:
    """(number, line) without its end; a line over :data:`MAX_LINE` is rejected whole."""
    n = 0
    while True:
        line = stream.readline(MAX_LINE + 2)
        if not line:
            return
        n += 1
        if not line.endswith(b"\n") and len(line) > MAX_LINE:
            found.reject(f"line {n}", f"longer than {MAX_LINE} bytes")
            while line and not line.endswith(b"\n"):
                line = stream.readline(MAX_LINE + 2)
            continue
        line = line.rstrip(b"\n")
        if line.endswith(b"\r"):
            line = line[:-1]
        if n == 1 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]
        yield n, line


def _digest_list(stream: IO[bytes], found: HashSet) -> Iterator[Known]:
    for n, line in _lines(stream, found):
        body = line.strip()
        if not body or body.startswith(b"#"):
            continue
        where = f"line {n}"
        tagged = _TAGGED.fullmatch(body)
        if tagged:
            tag = tagged.group(1).split(b"-")[0]
            digest = _digest(tagged.group(3), (_TAG_NAMES[tag],))
            name: bytes | None = tagged.group(2)
        else:
            if body.startswith(b"\\"):  # GNU: the name has escapes
                body = body[1:]
            # HEX, then a space or a tab, then (GNU) a space or * for the mode, then the name.
            parts = _SPACE.split(body, 1)
            digest = _digest(parts[0])
            rest = parts[1] if len(parts) > 1 else b""
            rest = rest[1:] if rest[:1] in (b" ", b"*") else rest
            name = rest or None
        if digest is None:
            found.reject(where, "not a digest of 32, 40, 64 or 128 hexadecimal digits")
            continue
        yield Known((digest,), where, name=None if name is None else _text(name))


def _hashdeep(stream: IO[bytes], found: HashSet) -> Iterator[Known]:
    columns: list[str] | None = None
    for n, line in _lines(stream, found):
        where = f"line {n}"
        if line.startswith(b"%%%% "):
            spec = line[5:].decode("ascii", "replace").strip()
            if spec.startswith("HASHDEEP"):
                continue
            columns = [c.strip().lower().replace("-", "") for c in spec.split(",")]
            if len(columns) < 3 or columns[0] != "size" or columns[-1] != "filename":
                raise HashSetError(f"hash set {found.path!r}: {where}: not a hashdeep column line")
            continue
        if line.startswith(b"##") or not line.strip():
            continue
        if columns is None:
            raise HashSetError(f"hash set {found.path!r}: {where}: a hashdeep entry before the column line")
        cells = line.split(b",", len(columns) - 1)
        if len(cells) != len(columns):
            found.reject(where, f"{len(cells)} fields, not {len(columns)}")
            continue
        digests = []
        bad = None
        for col, cell in zip(columns[1:-1], cells[1:-1]):
            if col not in HEX_LENGTH:
                continue  # tiger, whirlpool: not computed by this tool
            d = _digest(cell, (col,))
            if d is None:
                bad = f"{col} is not {HEX_LENGTH[col]} hexadecimal digits"
                break
            digests.append(d)
        try:
            size = _size(cells[0].decode("ascii", "replace"))
        except ValueError:
            bad = bad or "size is not a whole number"
        if bad is not None or not digests:
            found.reject(where, bad or "no MD5, SHA-1 or SHA-256 in it")
            continue
        yield Known(tuple(digests), where, name=_text(cells[-1]), size=size)


def _norm(column: str) -> str:
    return re.sub(r"[-_ \"']", "", column.strip().lower())


@functools.lru_cache(maxsize=1024)
def _norm_key(key: str) -> str:
    """:func:`_norm` of a JSON key (the same few keys again in every item of a set)."""
    return _norm(key)


def _csv_header(first: bytes) -> tuple[list[str], list[str]] | None:
    """The cells of a CSV header that names a digest column, as read and normalised; else None."""
    text = first.lstrip(b"\xef\xbb\xbf").rstrip(b"\r\n").decode("utf-8", "replace")
    if "," not in text and ";" not in text and "\t" not in text:
        return None
    try:
        cells = next(csv.reader([text], delimiter=_delimiter(text)))
    except (csv.Error, StopIteration):
        return None
    names = [_norm(c) for c in cells]
    return (cells, names) if any(n in _CSV_DIGESTS or n == "hash" for n in names) else None


def _first_line(lead: bytes) -> bytes:
    """The line that tells a CSV set: the first, or the one after PowerShell 5's ``#TYPE``."""
    first, _, rest = lead.partition(b"\n")
    return rest.partition(b"\n")[0] if first.startswith(b"#TYPE ") else first


def _delimiter(text: str) -> str:
    return max((",", ";", "\t"), key=text.count)


def _csv(stream: IO[bytes], found: HashSet) -> Iterator[Known]:
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="backslashreplace", newline="")
    try:
        first = text.readline(MAX_LINE)
        before = 1  # lines read before the CSV reader's first: the header, blank lines
        while first and (not first.strip() or first.startswith("#TYPE ")):
            before += 1
            first = text.readline(MAX_LINE)
        sniffed = _csv_header(first.encode("utf-8", "surrogateescape"))
        if sniffed is None:  # pragma: no cover - sniffed before
            raise HashSetError(f"hash set {found.path!r}: its first line names no digest column")
        # The header's cells as read know it again when two lists were joined.
        raw_header, header = sniffed
        if header[:5] == ["sha1", "md5", "crc32", "filename", "filesize"]:
            found.format = "NSRL RDS 2 (NSRLFile.txt)"
        at = {name: i for i, name in reversed(list(enumerate(header)))}
        digest_cols = _columns((at[c], _CSV_DIGESTS[c]) for c in _CSV_DIGESTS if c in at)
        # PowerShell's Get-FileHash: a Hash column, and an Algorithm column that names it.
        hash_at, alg_at = at.get("hash"), at.get("algorithm")
        name_at = next((at[c] for c in _CSV_NAME if c in at), None)
        size_at = next((at[c] for c in _CSV_SIZE if c in at), None)
        label_at = next((at[c] for c in _CSV_LABEL if c in at), None)
        detail_at = [(c, at[c]) for c in _CSV_DETAIL if c in at]
        rows = csv.reader(_bounded(text), delimiter=_delimiter(first))
        while True:
            try:
                cells = next(rows)
            except StopIteration:
                return
            except csv.Error as exc:
                found.reject(f"line {rows.line_num + before}", f"not CSV ({exc})")
                continue
            where = f"line {rows.line_num + before}"
            if not cells or cells == [""]:
                continue
            if len(cells) < len(header):
                found.reject(where, f"{len(cells)} fields, not {len(header)}")
                continue
            if cells == raw_header:
                continue  # the header again: two lists joined (``type a.csv b.csv > all.csv``)
            digests, bad = _row_digests(cells, digest_cols)
            if hash_at is not None and bad is None and cells[hash_at].strip():
                one, bad = _named_digest(cells[hash_at], None if alg_at is None else cells[alg_at])
                digests += one
            size = None
            if size_at is not None:
                try:
                    size = _size(cells[size_at])
                except ValueError:
                    bad = bad or "size is not a whole number"
            if bad is not None or not digests:
                found.reject(where, bad or "no digest in it")
                continue
            detail = ", ".join(f"{c} {cells[i]}" for c, i in detail_at if cells[i].strip())
            yield Known(
                digests,
                where,
                name=None if name_at is None else cells[name_at] or None,
                size=size,
                label=None if label_at is None else cells[label_at] or None,
                detail=detail or None,
            )
    finally:
        text.detach()


def _named_digest(value: str, algorithm: str | None) -> tuple[tuple[_Digest, ...], str | None]:
    """A ``Hash`` cell's digest, of the ``Algorithm`` cell's algorithm (else told by its length)."""
    algs = None
    if algorithm is not None:
        name = _norm(algorithm)
        if name not in HEX_LENGTH:
            return (), f"{algorithm.strip()!r} is not an algorithm this tool computes"
        algs = (name,)
    d = _digest(value, algs)
    if d is None:
        return (), "Hash is not a digest " + (
            f"of {HEX_LENGTH[algs[0]]} hexadecimal digits" if algs else "of 32, 40, 64 or 128 hexadecimal digits"
        )
    return (d,), None


def _bounded(text: IO[str]) -> Iterator[str]:
    """The text's lines, none longer than :data:`MAX_LINE` (the csv module joins quoted
    lines, and its own field limit bounds what it holds)."""
    while True:
        line = text.readline(MAX_LINE)
        if not line:
            return
        yield line


def _vics(stream: IO[bytes], found: HashSet) -> Iterator[Known]:
    """The media of a VICS file, item by item from its ``value`` list (the shared
    streaming reader: a set of millions of items never sits in memory whole)."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict")

    def pieces() -> Iterator[str]:
        while piece := text.read(_CHUNK):
            yield piece

    reader = ObjectReader(pieces(), max_value=MAX_ITEM)
    seen_value = False
    try:
        while (key := reader.next_key()) is not None:
            if key != "value":
                reader.value()
                continue
            seen_value = True
            for n, item in enumerate(reader.items(), start=1):
                media = item.get("Media") if isinstance(item, dict) else None
                if isinstance(media, list):
                    for m, one in enumerate(media, start=1):
                        yield from _vics_media(one, f"item {n}, media {m}", found)
                else:
                    yield from _vics_media(item, f"item {n}", found)
        reader.finish()
    except JsonStreamError as exc:
        raise HashSetError(f"hash set {found.path!r} is not VICS JSON: {exc}") from None
    except RecursionError:
        raise HashSetError(f"hash set {found.path!r} is not VICS JSON: nested too deeply") from None
    except UnicodeDecodeError as exc:
        raise HashSetError(f"hash set {found.path!r} is not UTF-8 JSON: {exc.reason}") from None
    except ValueError as exc:  # the reader used out of order: a value where an object belongs
        raise HashSetError(f"hash set {found.path!r} is not VICS JSON: {exc}") from None
    finally:
        text.detach()
    if not seen_value:
        raise HashSetError(f"hash set {found.path!r} is not VICS JSON: no 'value' list")


_VICS_COLUMNS: list[_Column] = [
    (i, (alg,), HEX_LENGTH[alg], f"{alg.upper()} is not {HEX_LENGTH[alg]} hexadecimal digits")
    for i, alg in enumerate(("md5", "sha1", "sha256"))
]


def _vics_media(item: Any, where: str, found: HashSet) -> Iterator[Known]:
    if not isinstance(item, dict):
        found.reject(where, "not an object")
        return
    fields = {_norm_key(k): v for k, v in item.items()}
    digests, bad = _row_digests([fields.get("md5"), fields.get("sha1"), fields.get("sha256")], _VICS_COLUMNS)
    if bad is not None or not digests:
        found.reject(where, bad or "no MD5, SHA1 or SHA256")
        return
    try:
        size = _size(fields.get("mediasize"))
    except (TypeError, ValueError):
        found.reject(where, "MediaSize is not a whole number")
        return
    category = fields.get("category")
    label = None if category is None or isinstance(category, (dict, list)) else f"category {category}"
    media_id = fields.get("mediaid")
    name = fields.get("name") or fields.get("filename")
    yield Known(
        digests,
        where,
        name=str(name) if isinstance(name, (str, int)) else None,
        size=size,
        label=label,
        detail=None if media_id is None or isinstance(media_id, (dict, list)) else f"MediaID {media_id}",
    )


#: SQLite's limits while it reads a set: no string or blob over 1 MiB, 256 MiB of heap.
_SQLITE_MAX_LENGTH = 1 << 20
_SQLITE_HEAP = 256 << 20


def _sqlite(path: str, found: HashSet) -> Iterator[Known]:
    # The database's SHA-256 first: SQLite reads only the pages it needs.
    sha = hashlib.sha256()
    fd = _open(path)[0]
    try:
        while piece := os.read(fd, _CHUNK):
            sha.update(piece)
            found.read += len(piece)
    except OSError as exc:
        raise HashSetError(f"cannot read hash set {path!r}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    found.sha256, found.size = sha.hexdigest(), found.read
    uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro&immutable=1"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise HashSetError(f"hash set {path!r}: SQLite cannot open it: {exc}") from None
    heap = None
    try:
        try:
            limit = getattr(sqlite3, "SQLITE_LIMIT_LENGTH", None)  # Python 3.11 and later
            if limit is not None:
                conn.setlimit(limit, _SQLITE_MAX_LENGTH)  # type: ignore[attr-defined]
            conn.execute("PRAGMA trusted_schema = OFF")
            # The heap limit is the process's: the one before is put back after.
            heap = conn.execute("PRAGMA hard_heap_limit").fetchone()
            conn.execute(f"PRAGMA hard_heap_limit = {_SQLITE_HEAP}")
            # A Python call every 100,000 steps lets Ctrl-C stop a long query.
            conn.set_progress_handler(lambda: 0, 100_000)
            # Text as bytes: a damaged or hostile database's text need not be UTF-8.
            conn.text_factory = bytes
            tables = conn.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name = 'FILE' COLLATE NOCASE"
            ).fetchall()
            if not tables:
                raise HashSetError(f"hash set {path!r} is an SQLite database without the NSRL RDS 3 FILE view")
            table = _text(tables[0][0])
            quoted = '"' + table.replace('"', '""') + '"'
            columns = [_text(row[1]).lower() for row in conn.execute(f"PRAGMA table_info({quoted})")]
            digest_cols: list[str] = [c for c in ("sha256", "sha1", "md5") if c in columns]
            if not digest_cols:
                raise HashSetError(f"hash set {path!r}: its FILE view has no sha256, sha1 or md5 column")
            others: list[str] = [c for c in ("file_name", "file_size", "package_id") if c in columns]
            cursor = conn.execute(f"SELECT {', '.join(digest_cols + others)} FROM {quoted}")
            digest_at = _columns(enumerate(digest_cols))
            at = {c: len(digest_cols) + i for i, c in enumerate(others)}
            name_at, size_at, package_at = (at.get(c) for c in ("file_name", "file_size", "package_id"))
            n = 0
            for row in cursor:
                n += 1
                digests, bad = _row_digests(row, digest_at)
                size = None if size_at is None else row[size_at]
                if size is not None and (type(size) is not int or size < 0):
                    bad = bad or "file_size is not a whole number"
                if bad is not None or not digests:
                    found.reject(f"row {n}", bad or "no digest in it")
                    continue
                name = None if name_at is None else row[name_at]
                package = None if package_at is None else row[package_at]
                if isinstance(package, bytes):
                    package = _text(package)
                yield Known(
                    digests,
                    f"row {n}",
                    name=_text(name) if isinstance(name, bytes) else None,
                    size=size,
                    detail=None if package is None else f"package_id {package}",
                )
        except sqlite3.Error as exc:
            if str(exc) == "interrupted":
                # Ctrl-C ran in the progress handler, which SQLite's caller swallows.
                raise KeyboardInterrupt from None
            raise HashSetError(f"hash set {path!r}: SQLite failed reading it: {exc}") from None
        except UnicodeDecodeError:
            # Python decodes SQLite's messages, which quote a damaged schema's bytes.
            raise HashSetError(f"hash set {path!r}: SQLite failed reading it: a damaged schema") from None
    finally:
        if heap is not None and isinstance(heap[0], int):
            conn.execute(f"PRAGMA hard_heap_limit = {heap[0]}")
        conn.close()


def _manifest(path: str, found: HashSet) -> Iterator[Known]:
    # Imported here: the manifest reader is large, and most sets are not manifests.
    from evidence_cli.manifest import read_manifest, require_trusted

    try:
        manifest = read_manifest(path)
        require_trusted(manifest)
    except EvidenceError as exc:
        raise HashSetError(f"hash set {path!r}: {exc}") from None
    found.format = f"evidence manifest ({manifest.format})"
    found.sha256 = manifest.sha256
    found.size = manifest.size
    for i, entry in enumerate(manifest.entries, start=1):
        if entry.kind != "file":
            continue
        digests = tuple(((alg,), hexd) for alg, hexd in entry.hashes.items())
        name = entry.display[0]
        if not digests:
            found.reject(f"entry {i}", f"{name}: no digest (it was not read)")
            continue
        yield Known(digests, f"entry {i}", name=name, size=entry.size)
