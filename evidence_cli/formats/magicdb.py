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
nothing but part of the word "data". Such entries are *unproven*. So is an ``indirect``
entry reached the same way: it runs the whole walk again further into the buffer, where
any entry may print a MIME type without text.

Text may also have been printed before an entry by an earlier continuation of the same
parent (libmagic tests every continuation of a matching parent, in order): one that
matches whenever the buffer holds the integer it reads (``x`` at a fixed offset) and
prints text proves every later entry there that can only match with more of the buffer.

An unproven entry can only be reached when the first test of its top-level entry
matches; when that test compares fixed bytes at a fixed offset (a plain string, or an
integer equal to a value under a mask that leaves few bits free), those bytes are a
*guard*: a buffer that passes no guard cannot reach any unproven entry, and libmagic's
pattern walk prints no MIME type for it. libmagic's MIME type is then what it says
without the pattern database, asked for separately at a small fraction of the cost
(:mod:`evidence_cli.filetype`).

Anything this module does not fully understand — another database format version, a
source file with entries in the search path, an unproven entry behind a test that is not
such a comparison — gives no guards at all (``None``), and the caller asks libmagic twice
as before.
"""

from __future__ import annotations

import functools
import os
import re
import struct
import sys
from collections import defaultdict
from typing import Iterable, Iterator, NamedTuple

#: The compiled database's header: magic number and format version (libmagic 5.x, VERSIONNO).
MAGICNO = 0xF11E041C
VERSION = 18
#: Size of one compiled entry (``struct magic``) in format 18, and of the header.
ENTRY_SIZE = 376

# Entry types (libmagic's FILE_STRING, FILE_INDIRECT, FILE_NAME and FILE_USE).
_TYPE_STRING, _TYPE_INDIRECT, _TYPE_NAME, _TYPE_USE = 5, 41, 45, 46
#: Integer types a guard can compare (libmagic's FILE_BYTE, FILE_SHORT, ...): their size
#: and byte order ("" for the host's, as libmagic reads them).
_INTEGERS = {
    1: (1, ""),
    2: (2, ""),
    4: (4, ""),
    24: (8, ""),
    7: (2, "big"),
    8: (4, "big"),
    26: (8, "big"),
    10: (2, "little"),
    11: (4, "little"),
    25: (8, "little"),
}
#: Offset flags that make an entry's offset something other than a plain number:
#: indirect, relative to the previous match, relative indirect, from the end.
_OFFSET_FLAGS = 0x01 | 0x02 | 0x04 | 0x80

#: A printf conversion in a description (libmagic formats the matched value with it).
_CONVERSION = re.compile(rb"%[-#0 +'.\d]*[a-zA-Z]")

Guard = tuple[int, bytes]
#: A masked integer test becomes one guard per value its free bits can take, up to this many.
_MAX_MASK_GUARDS = 256


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


def byte_order(data: bytes) -> str | None:
    """The byte order of a compiled database ("<" or ">", for ``struct``), or None when it
    is not a format 18 database of the size its header gives."""
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
    return order


def parse(data: bytes) -> Iterator[_Entry] | None:
    """The entries of a compiled database, in order (read one at a time: the proof keeps
    a few facts per top-level entry, never the 22,000 entries), or None when it is not
    format 18 in either byte order."""
    order = byte_order(data)
    if order is None:
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


def _guards_of(top: _Entry, order: str = "<") -> tuple[Guard, ...] | None:
    """The comparison a top-level entry makes, as the bytes it needs at a fixed offset (any
    one of the guards returned): a plain string, or an integer equal to a value, under a
    mask that leaves few bits free; None for anything else.

    An integer's value and mask are compiled 64-bit numbers (in the database's byte order
    ``order``); libmagic reads the integer in its own byte order, masks it and compares.
    Only the integer's bytes are compared here: a buffer one guard matches might still
    fail libmagic's test (it then costs a second walk, never a wrong answer); one no guard
    matches cannot pass it."""
    plain = (
        top.reln == ord("=")
        and not top.flag & _OFFSET_FLAGS
        and top.offset >= 0
        and top.in_op == 0
        and top.mask_op == 0  # "&", not inverted (and no arithmetic)
        and top.cond == 0
    )
    if not plain:
        return None
    if top.type == _TYPE_STRING:
        simple = top.str_range == 0 and top.str_flags == 0 and top.value
        return ((top.offset, top.value),) if simple else None
    integer = _INTEGERS.get(top.type)
    if integer is None:
        return None
    size, endian = integer
    bits = 8 * size
    (number,) = struct.unpack_from(order + "Q", top.raw_value)
    # For an integer, the string's range and flags are the two halves of its mask.
    mask = top.str_range | top.str_flags << 32 if order == "<" else top.str_range << 32 | top.str_flags
    mask &= (1 << bits) - 1
    if not mask:
        mask = (1 << bits) - 1  # no mask
    free = [1 << i for i in range(bits) if not mask >> i & 1]
    if 1 << len(free) > _MAX_MASK_GUARDS:
        return None
    base = number & mask
    out = []
    for combo in range(1 << len(free)):
        value = base | sum(bit for j, bit in enumerate(free) if combo >> j & 1)
        out.append((top.offset, value.to_bytes(size, endian or sys.byteorder)))  # type: ignore[arg-type]
    return tuple(out)


def _always_prints(e: _Entry) -> int | None:
    """For a continuation that matches whenever the buffer holds the integer it reads (``x``
    at a fixed offset) and prints text: how many bytes (from the block's start) that takes.
    None for any other entry."""
    integer = _INTEGERS.get(e.type)
    if (
        integer is None
        or e.reln != ord("x")
        or e.flag & _OFFSET_FLAGS
        or e.offset < 0
        or e.in_op != 0
        or e.mask_op != 0
        or e.str_range != 0  # the mask
        or e.str_flags != 0
        or e.cond != 0
        or e.raw_desc[0] == 0
        or not prints_text(e.desc)
    ):
        return None
    return e.offset + integer[0]


#: Types whose test libmagic refuses unless the buffer holds their offset plus this many
#: bytes (``mget``'s "enough data" check) ...
_NEEDS_AFTER_OFFSET = {t: size for t, (size, _) in _INTEGERS.items()} | {17: 0, _TYPE_INDIRECT: 0}  # 17: regex
#: ... or plus the string's own length (string, pstring, search).
_NEEDS_STRING = frozenset({_TYPE_STRING, 13, 20})


def _needs(e: _Entry) -> int | None:
    """How many bytes (from the block's start) the buffer must hold for an entry to match,
    at least; None when that is not known (an offset from the end or from the previous
    match, or a type libmagic tests without that check).

    An offset read through a pointer needs at least the pointer's first byte."""
    if e.flag & (_OFFSET_FLAGS & ~0x01) or e.offset < 0:
        return None
    if e.flag & 0x01:
        return e.offset + 1
    if e.type in _NEEDS_STRING:
        return e.offset + e.vallen
    after = _NEEDS_AFTER_OFFSET.get(e.type)
    return None if after is None else e.offset + after


def guards(entries: Iterable[_Entry], order: str = "<") -> tuple[Guard, ...] | None:
    """The guards of a database (see the module's docstring), or None when an unproven
    entry is reachable otherwise than through a guard (see _guards_of). ``order``: the
    database's byte order.

    An ``indirect`` entry runs the whole pattern walk again at another offset, where any
    entry may print a MIME type without text: one reached with nothing printed on its way
    is unproven too."""
    # Per top-level entry: its type, its value (a named block's name) and its guards.
    tops: list[tuple[int, bytes, tuple[Guard, ...] | None]] = []
    uses: dict[bytes, list[tuple[int, bool]]] = defaultdict(list)  # name -> (top, proven)
    unproven: set[int] = set()  # top-level entries with an unproven MIME type below them
    # Along the current chain: is there a description that prints text on the way
    # (the entry itself or a parent)?
    stack: list[bool] = []
    # Per level of the current chain: the fewest bytes after which an earlier entry of
    # that level (under the same parent) has surely matched and printed text (libmagic
    # tests every continuation of a matching parent, in order).
    printed_by: list[int | None] = []
    for e in entries:
        if e.level == 0:
            tops.append((e.type, e.value, _guards_of(e, order)))
            stack.clear()
            printed_by.clear()
        elif not tops:
            return None  # a continuation before any top-level entry: not a database we know
        ci = len(tops) - 1
        del stack[e.level :]
        del printed_by[e.level + 1 :]
        printed_by.extend([None] * (e.level + 1 - len(printed_by)))
        needs = _needs(e)
        before = needs is not None and any(n is not None and needs >= n for n in printed_by[1:])
        here = (stack[-1] if stack else False) or before or (e.raw_desc[0] != 0 and prints_text(e.desc))
        stack.append(here)
        if e.level > 0 and (always := _always_prints(e)) is not None:
            known = printed_by[e.level]
            printed_by[e.level] = always if known is None else min(known, always)
        if e.type == _TYPE_USE:
            uses[e.value.lstrip(b"^")].append((ci, here))
        if (e.raw_mime[0] != 0 or e.type == _TYPE_INDIRECT) and not here:
            unproven.add(ci)

    found: set[Guard] = set()

    def roots(ci: int, seen: frozenset[int]) -> bool:
        """Add the guards of every way into top-level entry ``ci``; False if one has none."""
        etype, value, guard = tops[ci]
        if etype != _TYPE_NAME:
            if guard is None:
                return False
            found.update(guard)
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
        entries, order = parse(data), byte_order(data)
        if entries is None or order is None:
            return None
        g = guards(entries, order)
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
