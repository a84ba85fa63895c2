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
import itertools
import os
import re
import struct
import sys
from collections import defaultdict
from typing import Any, Iterable, Iterator, NamedTuple

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


def parse(data: bytes, start: int = 0) -> Iterator[_Entry] | None:
    """The entries of a compiled database, in order, from entry ``start`` on (read one at
    a time: the proof keeps a few facts per top-level entry, never the 22,000 entries),
    or None when it is not format 18 in either byte order."""
    order = byte_order(data)
    if order is None:
        return None
    # One C-level unpack per entry: level, flag, (factor), reln, vallen, type, (in_type),
    # in_op, mask_op, cond, (factor_op), offset, (in_offset, line number), range, string
    # flags, value, description, MIME type, (apple, extensions).
    layout = struct.Struct(order + "HBxBBBxBBBxi8xII128s64s80s72x")
    return map(_Entry._make, layout.iter_unpack(memoryview(data)[(1 + max(0, start)) * ENTRY_SIZE :]))


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


def databases_guards(files: list[bytes] | None) -> GuardSet | None:
    """Guards over every one of these compiled databases (see database_files), or None."""
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


# --- A smaller database that answers as the whole one, buffer by buffer --------------------
#
# libmagic's pattern walk (``match`` in softmagic.c) tests the top-level entries in order;
# a block (a top-level entry and its continuations) whose first test fails contributes
# nothing: no text, no MIME type, no state the next block reads. So for a buffer that
# fails the first test of some blocks, the walk over a copy of the database without
# those blocks answers exactly as the walk over the whole one, and sooner: most of the
# database is blocks that compare fixed bytes at a fixed offset, which a buffer of
# unknown binary data or markup fails (their guards, as above, tell it in Python).
#
# Only blocks libmagic tests on the buffer as given are left out: those it tests only
# in its binary walk (flag BINTEST, not TEXTTEST). Its text walk runs on the buffer
# re-encoded as UTF-8 (a UTF-16 or Latin-1 text has other bytes there), and every block
# it tests stays. An ``indirect`` entry runs the binary walk again at another offset,
# over the database it was loaded with: a buffer that may reach one (through its own
# block or a named block it uses) gets the whole database.

#: Entry flags (libmagic's BINTEST and TEXTTEST): which walks test a top-level entry.
_BINTEST, _TEXTTEST = 0x20, 0x40
_TYPE_SEARCH = 20
#: String flags that do not change which bytes a search matches: REGEX_OFFSET_START
#: (which end of the match later offsets start from), STRING_TEXTTEST, STRING_BINTEST.
_PLAIN_SEARCH_FLAGS = 0x10 | 0x20 | 0x40


def _needle(e: _Entry) -> bytes | None:
    """For a search at a fixed offset with no flag that changes which bytes match: the
    bytes it looks for (a buffer that holds them nowhere cannot match it). Else None."""
    if (
        e.type == _TYPE_SEARCH
        and e.reln == ord("=")
        and not e.flag & _OFFSET_FLAGS
        and e.offset >= 0
        and e.in_op == 0
        and e.mask_op == 0
        and e.cond == 0
        and not e.str_flags & ~_PLAIN_SEARCH_FLAGS
        and e.value
    ):
        return e.value
    return None


class _Block(NamedTuple):
    start: int  # index of its top-level entry
    stop: int
    entries: list[_Entry]


def _blocks(entries: Iterable[_Entry], first: int = 0) -> Iterator[_Block]:
    """The blocks of a run of entries (index ``first`` on), one at a time."""
    current: list[_Entry] = []
    start = first
    for i, e in enumerate(entries, first):
        if e.level == 0 and current:
            yield _Block(start, i, current)
            current, start = [], i
        elif e.level != 0 and not current:
            raise ValueError("a continuation before any top-level entry")
        current.append(e)
    if current:
        yield _Block(start, start + len(current), current)


def _ancestors(entries: list[_Entry], at: int) -> Iterator[_Entry]:
    """The entries that must match for entry ``at`` of a block to be tested, nearest
    first: each earlier entry of a lower level than every entry after it up to ``at``."""
    level = entries[at].level
    for e in reversed(entries[:at]):
        if e.level < level:
            level = e.level
            yield e
            if level == 0:
                return


class Reduction:
    """A compiled database, and which of its blocks a buffer can do without.

    ``hits(head)`` gives the left-out blocks whose guard the buffer passes (their first
    test may match), or None when it needs the whole database; ``database(hits)`` is the
    compiled database without the other left-out blocks, in the same order.
    """

    def __init__(
        self,
        data: bytes,
        order: str,
        sets: tuple[int, int],
        segments: list[tuple[int, int, int]],
        guards: dict[int, tuple[Guard, ...]],
        whole: Iterable[Guard],
        needles: Iterable[bytes],
    ) -> None:
        self._data = data
        self._order = order
        self._sets = sets
        #: (block id or -1 for entries always kept, first entry, end) over the first set.
        self._segments = segments
        self.left_out = len(guards)
        tables: dict[tuple[int, int], dict[bytes, Any]] = defaultdict(dict)
        for bid, pairs in guards.items():
            for offset, value in pairs:
                table = tables[(offset, len(value))]
                if table.get(value) is not _WHOLE:
                    table[value] = (*table.get(value, ()), bid)
        for offset, value in whole:
            tables[(offset, len(value))][value] = _WHOLE
        #: (end, offset, table) by end: a buffer shorter than the end holds none of its
        #: values (libmagic refuses a test whose bytes the buffer does not hold: ``mget``).
        self._tables = sorted((offset + size, offset, table) for (offset, size), table in tables.items())
        self._needles = tuple(sorted(set(needles)))
        # Most buffers pass no guard: one regular expression says so in a few microseconds
        # (the tables above take about 25); its branches are the guards' bytes at their offsets.
        by_offset: dict[int, set[bytes]] = defaultdict(set)
        for _, offset, table in self._tables:
            by_offset[offset].update(table)
        branches = [b"(?:.{%d})%s" % (offset, _trie(values)) for offset, values in sorted(by_offset.items())]
        self._any = re.compile(b"(?s)(?:" + b"|".join(branches) + b")").match if branches else None

    def hits(self, head: bytes) -> frozenset[int] | None:
        if (self._any is None or self._any(head) is None) and not any(n in head for n in self._needles):
            return frozenset()
        n = len(head)
        found: set[int] = set()
        for end, offset, table in self._tables:
            if end > n:
                break
            got = table.get(head[offset:end])
            if got is not None:
                if got is _WHOLE:
                    return None
                found.update(got)
        for needle in self._needles:
            if needle in head:
                return None
        return frozenset(found)

    def first_set(self, hits: frozenset[int] = frozenset()) -> list[bytes | memoryview]:
        """A compiled database of the blocks libmagic walks, without the left-out ones not
        in ``hits``, in pieces to be joined (its header, runs of entries)."""
        view = memoryview(self._data)
        runs = [
            view[(1 + start) * ENTRY_SIZE : (1 + stop) * ENTRY_SIZE]
            for bid, start, stop in self._segments
            if bid < 0 or bid in hits
        ]
        return [self._header(sum(len(r) for r in runs) // ENTRY_SIZE, 0), *runs]

    def named_set(self) -> list[bytes | memoryview]:
        """A compiled database of the named blocks alone, in pieces. libmagic loads it
        beside a first set (it walks the first sets of all, and finds a named block in
        any): every copy shares it."""
        n0, n1 = self._sets
        return [self._header(0, n1), memoryview(self._data)[(1 + n0) * ENTRY_SIZE :]]

    def database(self, hits: frozenset[int] = frozenset()) -> bytes:
        """The compiled database without the left-out blocks not in ``hits``, in one."""
        first, named = self.first_set(hits), self.named_set()
        count = sum(len(p) for p in first[1:]) // ENTRY_SIZE
        return b"".join([self._header(count, self._sets[1]), *first[1:], *named[1:]])

    def _header(self, first: int, named: int) -> bytes:
        header = bytearray(self._data[:ENTRY_SIZE])
        struct.pack_into(self._order + "II", header, 8, first, named)
        return bytes(header)


#: A guard that asks for the whole database (a block that may reach an ``indirect``).
_WHOLE: Any = object()


def _trie(values: Iterable[bytes]) -> bytes:
    """A regular expression matching exactly the given byte strings at its start, factored
    by common prefixes (``A(?:B|C(?:D)?)`` for AB, AC and ACD)."""
    root: dict[int, Any] = {}
    ends: set[int] = set()  # ids of the nodes where a value ends
    for value in values:
        node = root
        for byte in value:
            node = node.setdefault(byte, {})
        ends.add(id(node))

    def emit(node: dict[int, Any]) -> bytes:
        alts = [re.escape(bytes([byte])) + emit(child) for byte, child in sorted(node.items())]
        if not alts:
            return b""
        body = alts[0] if len(alts) == 1 else b"(?:" + b"|".join(alts) + b")"
        return b"(?:" + body + b")?" if id(node) in ends else body

    return emit(root)


def reduce(data: bytes) -> Reduction | None:
    """The reduction of one compiled database, or None when it is not one we understand
    (see the comment above) or a block that may reach an ``indirect`` entry has no guard."""
    try:
        return _reduce(data)
    except ValueError:  # entries in an order libmagic does not write
        return None


def _reduce(data: bytes) -> Reduction | None:
    order = byte_order(data)
    if order is None:
        return None
    _, _, n0, n1 = struct.unpack_from(order + "IIII", data, 0)
    # The second set holds the named blocks (``use`` calls them); they always stay. Which
    # of them may reach an ``indirect`` entry, directly or through the blocks they use?
    named = parse(data, n0)
    assert named is not None
    direct: dict[bytes, bool] = {}
    calls: dict[bytes, set[bytes]] = defaultdict(set)
    for block in _blocks(named, n0):
        top = block.entries[0]
        if top.type != _TYPE_NAME:
            return None
        name = top.value
        direct[name] = direct.get(name, False) or any(e.type == _TYPE_INDIRECT for e in block.entries)
        calls[name].update(e.value.lstrip(b"^") for e in block.entries if e.type == _TYPE_USE)
    reaching = {name for name, d in direct.items() if d}
    grew = True
    while grew:
        grew = False
        for name, callees in calls.items():
            if name not in reaching and callees & reaching:
                reaching.add(name)
                grew = True

    def reaches(e: _Entry) -> bool:
        return e.type == _TYPE_INDIRECT or (e.type == _TYPE_USE and e.value.lstrip(b"^") in reaching)

    entries = parse(data)
    assert entries is not None
    segments: list[tuple[int, int, int]] = []
    guards: dict[int, tuple[Guard, ...]] = {}
    whole: set[Guard] = set()
    needles: set[bytes] = set()
    count = 0
    for block in _blocks(itertools.islice(entries, n0), 0):
        count = block.stop
        top = block.entries[0]
        if top.type == _TYPE_NAME:
            return None  # named blocks belong to the second set
        may_indirect = [i for i, e in enumerate(block.entries) if reaches(e)]
        own = _guards_of(top, order)
        binary_only = top.flag & _BINTEST and not top.flag & _TEXTTEST
        if own is not None and binary_only:
            if may_indirect:
                whole.update(own)  # in no smaller database: when it may match, the whole one
            else:
                guards[len(guards)] = own
                segments.append((len(guards) - 1, block.start, block.stop))
            continue
        if may_indirect:
            # It stays. A buffer that may reach its ``indirect`` gets the whole database:
            # each way there passes a test of fixed bytes at a fixed offset, or a search.
            if not binary_only:
                return None  # its text walk would run on the re-encoded buffer
            for at in may_indirect:
                for ancestor in _ancestors(block.entries, at):
                    found = _guards_of(ancestor, order)
                    if found is not None:
                        whole.update(found)
                        break
                    needle = _needle(ancestor)
                    if needle is not None:
                        needles.add(needle)
                        break
                else:
                    return None
        if segments and segments[-1][0] < 0 and segments[-1][2] == block.start:
            segments[-1] = (-1, segments[-1][1], block.stop)
        else:
            segments.append((-1, block.start, block.stop))
    if count != n0:
        return None
    return Reduction(data, order, (n0, n1), segments, guards, whole, needles)
