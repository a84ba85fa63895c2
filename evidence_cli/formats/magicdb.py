"""When does libmagic's "data" mean "application/octet-stream"? A proof read from its database.

For a buffer that libmagic cannot identify, its description is ``data`` and its MIME type
usually ``application/octet-stream``; asking for both costs two walks of the whole pattern
database (about 250 µs each here, whatever the size). The MIME walk can be skipped when
the database itself shows that it cannot print a MIME type for such a buffer. This module
reads the compiled database (``magic.mgc``, the format libmagic's ``file -C`` writes) and
checks that, entry by entry.

The argument, following libmagic's ``softmagic.c`` (``match``): both walks visit the
top-level entries in the same order and test each the same way; a matching entry prints
its description when libmagic describes, its MIME type (``!:mime``) when it names the
type. A description of exactly ``data`` means that no entry printed a description
containing other text. So the MIME walk can only print a type from an entry whose own
description, and every description on its way there (its parent entries, and for an entry
inside a named block, the entries leading to each ``use`` of that block), could print
nothing but part of the word "data". Such entries are *unproven*. An unproven entry can
only be reached when the first test of its top-level entry matches; when that test is a
plain string at a fixed offset, that comparison is a *guard*: a buffer that passes no
guard cannot reach any unproven entry, and libmagic's pattern walk prints no MIME type for
it. libmagic's MIME type is then what it says without the pattern database, asked for
separately at a small fraction of the cost (:mod:`evidence_cli.filetype`).

Anything this module does not fully understand — another database format version, a
source file with entries in the search path, an unproven entry behind a test that is not
a plain string — gives no guards at all (``None``), and the caller asks libmagic twice
as before.
"""

from __future__ import annotations

import functools
import os
import re
import struct
from collections import defaultdict
from typing import Iterable, Iterator, NamedTuple

#: The compiled database's header: magic number and format version (libmagic 5.x, VERSIONNO).
MAGICNO = 0xF11E041C
VERSION = 18
#: Size of one compiled entry (``struct magic``) in format 18, and of the header.
ENTRY_SIZE = 376

# Entry types (libmagic's FILE_STRING, FILE_NAME and FILE_USE).
_TYPE_STRING, _TYPE_NAME, _TYPE_USE = 5, 45, 46
#: Offset flags that make an entry's offset something other than a plain number:
#: indirect, relative to the previous match, relative indirect, from the end.
_OFFSET_FLAGS = 0x01 | 0x02 | 0x04 | 0x80

#: A printf conversion in a description (libmagic formats the matched value with it).
_CONVERSION = re.compile(rb"%[-#0 +'.\d]*[a-zA-Z]")

Guard = tuple[int, bytes]


class _Entry(NamedTuple):
    """The fields of a compiled entry (``struct magic``, format 18) that the proof reads."""

    level: int  # continuation level: 0 for a top-level entry
    flag: int
    reln: int
    vallen: int
    type: int
    in_op: int
    mask_op: int
    cond: int
    offset: int
    str_range: int
    str_flags: int
    raw_value: bytes
    raw_desc: bytes
    raw_mime: bytes

    @property
    def value(self) -> bytes:
        """The string value: its first ``vallen`` bytes."""
        return self.raw_value[: self.vallen]

    @property
    def desc(self) -> bytes:
        return self.raw_desc.split(b"\0", 1)[0]

    @property
    def mime(self) -> bytes:
        return self.raw_mime.split(b"\0", 1)[0]


def parse(data: bytes) -> Iterator[_Entry] | None:
    """The entries of a compiled database, in order (read one at a time: the proof keeps
    a few facts per top-level entry, never the 22,000 entries), or None when it is not
    format 18 in either byte order."""
    if len(data) < ENTRY_SIZE or len(data) % ENTRY_SIZE:
        return None
    for order in "<>":
        magicno, version, n0, n1 = struct.unpack_from(order + "IIII", data, 0)
        if magicno == MAGICNO:
            break
    else:
        return None
    if version != VERSION or (1 + n0 + n1) * ENTRY_SIZE != len(data):
        return None
    # One C-level unpack per entry: level, flag, (factor), reln, vallen, type, (in_type),
    # in_op, mask_op, cond, (factor_op), offset, (in_offset, line number), range, string
    # flags, value, description, MIME type, (apple, extensions).
    layout = struct.Struct(order + "HBxBBBxBBBxi8xII128s64s80s72x")
    return map(_Entry._make, layout.iter_unpack(memoryview(data)[ENTRY_SIZE:]))


@functools.lru_cache(maxsize=4096)
def prints_text(desc: bytes) -> bool:
    """Does printing this description always add text that is not part of "data"?

    The description's literal characters (outside its printf conversions and libmagic's
    backspace, which joins it to the text before) appear in the output in order. If they
    are only white space, or could be letters of the word "data" in order, the printed
    text might still be read as "data", or as nothing: not proven.
    """
    literal = _CONVERSION.sub(b"", desc).replace(b"%%", b"%").replace(b"\b", b"").strip()
    if not literal:
        return False
    rest = iter(b"data")
    return not all(ch in rest for ch in literal)


def _guard(top: _Entry) -> Guard | None:
    """The plain string comparison a top-level entry makes, or None if it is anything else."""
    plain = (
        top.type == _TYPE_STRING
        and top.reln == ord("=")
        and not top.flag & _OFFSET_FLAGS
        and top.offset >= 0
        and top.in_op == 0
        and top.mask_op == 0
        and top.cond == 0
        and top.str_range == 0
        and top.str_flags == 0
        and top.value
    )
    return (top.offset, top.value) if plain else None


def guards(entries: Iterable[_Entry]) -> tuple[Guard, ...] | None:
    """The guards of a database (see the module's docstring), or None when an unproven
    entry is reachable otherwise than through a plain string test."""
    # Per top-level entry: its type, its value (a named block's name) and its guard.
    tops: list[tuple[int, bytes, Guard | None]] = []
    uses: dict[bytes, list[tuple[int, bool]]] = defaultdict(list)  # name -> (top, proven)
    unproven: set[int] = set()  # top-level entries with an unproven MIME type below them
    # Along the current chain: is there a description that prints text on the way
    # (the entry itself or a parent)?
    stack: list[bool] = []
    for e in entries:
        if e.level == 0:
            tops.append((e.type, e.value, _guard(e)))
            stack.clear()
        elif not tops:
            return None  # a continuation before any top-level entry: not a database we know
        ci = len(tops) - 1
        del stack[e.level :]
        here = (stack[-1] if stack else False) or (e.raw_desc[0] != 0 and prints_text(e.desc))
        stack.append(here)
        if e.type == _TYPE_USE:
            uses[e.value.lstrip(b"^")].append((ci, here))
        if e.raw_mime[0] != 0 and not here:
            unproven.add(ci)

    found: set[Guard] = set()

    def roots(ci: int, seen: frozenset[int]) -> bool:
        """Add the guards of every way into top-level entry ``ci``; False if one has none."""
        etype, value, guard = tops[ci]
        if etype != _TYPE_NAME:
            if guard is None:
                return False
            found.add(guard)
            return True
        for caller, via_proven in uses.get(value, []):
            if via_proven:
                continue  # that use prints text before the block's entries
            if caller in seen or not roots(caller, seen | {caller}):
                return False
        return True

    for ci in sorted(unproven):
        if not roots(ci, frozenset({ci})):
            return None
    return tuple(sorted(found))


def database_files(search_path: str) -> list[bytes] | None:
    """The compiled databases libmagic loads for a search path (``magic_getpath``), or None
    when it would also load patterns we do not read.

    libmagic takes each colon-separated name, prefers ``NAME.mgc`` (or NAME itself when
    it ends in ``.mgc``) and otherwise reads NAME as patterns in source form; a source
    file with only comments and blank lines adds nothing.
    """
    out: list[bytes] = []
    for name in search_path.split(":"):
        if not name:
            continue
        compiled = name if name.endswith(".mgc") else name + ".mgc"
        try:
            with open(compiled, "rb") as fh:
                out.append(fh.read())
            continue
        except FileNotFoundError:
            pass
        except OSError:
            return None
        if not os.path.isfile(name):
            return None
        try:
            with open(name, "rb") as fh:
                source = fh.read((1 << 20) + 1)
        except OSError:
            return None
        if len(source) > 1 << 20:
            return None
        if any(line.strip() and not line.startswith(b"#") for line in source.splitlines()):
            return None
    return out or None


def octet_stream_guards(search_path: str) -> GuardSet | None:
    """Guards over every database of a libmagic search path, or None (no proof)."""
    files = database_files(search_path)
    if files is None:
        return None
    found: set[Guard] = set()
    for data in files:
        entries = parse(data)
        if entries is None:
            return None
        g = guards(entries)
        if g is None:
            return None
        found.update(g)
    prints_text.cache_clear()  # thousands of descriptions, never asked about again
    return GuardSet(found)


class GuardSet:
    """Guards grouped by where they compare: one slice and one set lookup per group."""

    def __init__(self, pairs: Iterable[Guard]) -> None:
        self.pairs = tuple(sorted(set(pairs)))
        groups: dict[tuple[int, int], set[bytes]] = defaultdict(set)
        for offset, value in self.pairs:
            groups[(offset, len(value))].add(value)
        self._groups = tuple((offset, n, frozenset(values)) for (offset, n), values in sorted(groups.items()))

    def hit(self, head: bytes) -> bool:
        """Does the buffer pass one of the guards? libmagic compares a string past the end
        of the buffer against zero bytes, so the buffer is padded the same way."""
        for offset, n, values in self._groups:
            got = head[offset : offset + n]
            if len(got) < n:
                got += bytes(n - len(got))
            if got in values:
                return True
        return False
