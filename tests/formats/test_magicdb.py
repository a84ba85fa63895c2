"""The proof that libmagic's "data" means application/octet-stream, read from its compiled
database (evidence_cli.formats.magicdb), on databases built here entry by entry, and the
detector that uses it checked against libmagic's own two answers."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence_cli import filetype
from evidence_cli.formats import magicdb

STRING, REGEX, NAME, USE, BELONG, BYTE, LELONG, INDIRECT = 5, 17, 45, 46, 8, 1, 11, 41


def entry(
    level: int = 0,
    etype: int = STRING,
    value: bytes = b"",
    desc: bytes = b"",
    mime: bytes = b"",
    *,
    offset: int = 0,
    reln: int = ord("="),
    flag: int = 0x20,
    str_range: int = 0,
    str_flags: int = 0,
    order: str = "<",
) -> bytes:
    """One compiled entry (``struct magic``, format 18)."""
    head = struct.pack(
        order + "HBBBBBBBBBBiiIII",
        level,
        flag,
        0,
        reln,
        len(value),
        etype,
        0,
        0,
        0,
        0,
        0,
        offset,
        0,
        1,
        str_range,
        str_flags,
    )
    out = head + value.ljust(128, b"\0") + desc.ljust(64, b"\0") + mime.ljust(80, b"\0") + bytes(72)
    assert len(out) == magicdb.ENTRY_SIZE
    return out


def database(entries: list[bytes], *, order: str = "<", version: int = magicdb.VERSION) -> bytes:
    header = struct.pack(order + "IIII", magicdb.MAGICNO, version, len(entries), 0)
    return header.ljust(magicdb.ENTRY_SIZE, b"\0") + b"".join(entries)


def guards_of(entries: list[bytes], **kw: object) -> tuple[magicdb.Guard, ...] | None:
    data = database(entries, **kw)  # type: ignore[arg-type]
    parsed, order = magicdb.parse(data), magicdb.byte_order(data)
    assert parsed is not None and order is not None
    return magicdb.guards(parsed, order)


@pytest.mark.parametrize(
    ("desc", "prints"),
    [
        (b"PNG image data", True),
        (b"data file", True),  # more than the word: white space and other letters
        (b"", False),
        (b" ", False),
        (b"%s", False),  # a value alone may print nothing, or "data"
        (b"\\b%d", False),
        (b"\bdata", False),
        (b"at %s", False),  # "at" are letters of "data", in order
        (b"dta", False),
        (b"ad", True),  # not in this order
        (b", version %d", True),
        (b"100%% %s", True),
    ],
)
def test_prints_text(desc: bytes, prints: bool) -> None:
    assert magicdb.prints_text(desc.replace(b"\\b", b"\b")) is prints


def test_entries_that_print_text_before_their_mime_need_no_guard() -> None:
    db = [
        entry(0, STRING, b"\x89PNG", b"PNG image data", b"image/png"),
        entry(1, BELONG, b"", b", %d x", b""),
        entry(0, STRING, b"GIF8", b"GIF image data"),
        entry(1, STRING, b"7a", b", version 87a", b"image/gif"),  # the parent prints first
    ]
    assert guards_of(db) == ()


def test_a_mime_without_text_is_guarded_by_its_top_level_string() -> None:
    db = [
        entry(0, STRING, b"-lh5-", b"", offset=2),
        entry(1, REGEX, b"^lh", b" ", b"application/x-lzh-compressed"),
        entry(2, STRING, b"x", b"LHa archive data"),
    ]
    assert guards_of(db) == ((2, b"-lh5-"),)


@pytest.mark.parametrize(
    "top",
    [
        entry(0, REGEX, b"^abc", b""),  # not a plain string
        entry(0, BELONG, b"", b"", reln=ord(">")),  # not an equality
        entry(0, BELONG, b"", b"", str_range=0xFFF00000),  # a mask that leaves 20 bits free
        entry(0, STRING, b"abc", b"", reln=ord("!")),
        entry(0, STRING, b"abc", b"", flag=0x20 | 0x01),  # indirect offset
        entry(0, STRING, b"abc", b"", str_flags=1),  # compact white space
        entry(0, STRING, b"abc", b"", offset=-4),
    ],
)
def test_no_proof_when_the_top_level_test_is_not_a_fixed_comparison(top: bytes) -> None:
    assert guards_of([top, entry(1, STRING, b"x", b"%s", b"application/x-thing")]) is None


def number(value: int, order: str = "<") -> bytes:
    """A compiled integer value (libmagic keeps every integer as 64 bits)."""
    return struct.pack(order + "Q", value)


@pytest.mark.parametrize("order", ["<", ">"])
def test_integer_comparisons_guard_with_the_bytes_they_need(order: str) -> None:
    """An integer equal to a value needs its bytes in the integer's own byte order (not
    the database's); a mask leaving a few bits free needs one of a few byte strings."""
    quiet = entry(1, STRING, b"x", b"", b"application/x-thing", order=order)
    assert guards_of([entry(0, BELONG, number(0x01020304, order), order=order), quiet], order=order) == (
        (0, b"\x01\x02\x03\x04"),
    )
    assert guards_of([entry(0, BYTE, number(0xFF, order), offset=7, order=order), quiet], order=order) == (
        (7, b"\xff"),
    )
    # lelong&0xfffffff0 =0x184d2a50 (an LZ4 skippable frame), the mask sign-extended as
    # libmagic compiles it: the low four bits are free.
    masked = entry(0, LELONG, number(0x184D2A50, order), str_range=0xFFFFFFF0, str_flags=0xFFFFFFFF, order=order)
    if order == ">":  # the mask's two halves swap places with the byte order
        masked = entry(0, LELONG, number(0x184D2A50, order), str_range=0xFFFFFFFF, str_flags=0xFFFFFFF0, order=order)
    assert guards_of([masked, quiet], order=order) == tuple((0, bytes([b]) + b"*M\x18") for b in range(0x50, 0x60))


def test_an_indirect_test_reached_quietly_is_unproven() -> None:
    """``indirect`` runs the whole walk again further on, where a MIME type may be printed
    without text: reached with nothing printed, it needs a guard like a quiet MIME type."""
    frame = [entry(0, LELONG, number(0x184D2A50)), entry(1, INDIRECT, b"", b"", reln=ord("x"), offset=4, flag=0x21)]
    assert guards_of(frame) == ((0, b"P*M\x18"),)
    loud = [entry(0, STRING, b"xar!", b"xar archive"), entry(1, INDIRECT, b"", b"", reln=ord("x"), offset=28)]
    assert guards_of(loud) == ()
    unguarded = [entry(0, REGEX, b"^abc", b""), entry(1, INDIRECT, b"", b"", reln=ord("x"), offset=4)]
    assert guards_of(unguarded) is None


def test_a_quiet_entry_after_one_that_surely_printed_text_is_proven() -> None:
    """libmagic tests every continuation of a matching parent, in order: an earlier one
    that matches whenever the buffer holds its byte (``x``) has printed text by the time a
    later one can match, if the later one reads at or past that byte."""
    block = [
        entry(0, NAME, b"fw"),
        entry(1, BYTE, b"", b"firmware", reln=ord("x"), offset=0),
        entry(1, BELONG, b"", b"", reln=ord("x"), offset=128),
        entry(2, INDIRECT, b"", b"", reln=ord("x"), offset=128, flag=0x21),
    ]
    caller = [entry(0, BELONG, b"", b"", reln=ord("<")), entry(1, USE, b"fw")]  # no guard possible
    assert guards_of(block + caller) == ()
    # The same entries, where the byte that prints comes after what the indirect test reads.
    late = [block[0], entry(1, BYTE, b"", b"firmware", reln=ord("x"), offset=200), *block[2:]]
    assert guards_of(late + caller) is None
    # A sibling that prints only on some values proves nothing.
    some = [block[0], entry(1, BYTE, number(1), b"firmware", offset=0), *block[2:]]
    assert guards_of(some + caller) is None
    # Nor one under another parent.
    other = [block[0], entry(1, BELONG, b"", b""), entry(2, BYTE, b"", b"firmware", reln=ord("x")), *block[2:]]
    assert guards_of(other + caller) is None
    # Nor one whose offset counts from the previous match.
    relative = [block[0], entry(1, BYTE, b"", b"firmware", reln=ord("x"), flag=0x22), *block[2:]]
    assert guards_of(relative + caller) is None
    # A later entry that libmagic tests without checking the buffer's length (``default``)
    # may match a buffer too short for the byte that prints.
    default = [*block[:2], entry(1, 3, b"", b"", b"application/x-thing", reln=ord("x"), offset=500)]
    assert guards_of(default + caller) is None
    # A string needs its whole value within the buffer: at offset 0, four bytes is enough.
    string = [*block[:2], entry(1, STRING, b"ABCD", b"", b"application/x-thing", offset=0)]
    assert guards_of(string + caller) == ()
    assert guards_of([block[0], entry(1, BYTE, b"", b"firmware", reln=ord("x"), offset=4), string[2]] + caller) is None


def test_named_blocks_are_guarded_through_every_use_that_prints_nothing_first() -> None:
    block = [entry(0, NAME, b"blk"), entry(1, STRING, b"Z", b"", b"application/x-z")]
    quiet_use = [entry(0, STRING, b"QQ", b"", offset=4), entry(1, USE, b"blk")]
    loud_use = [entry(0, STRING, b"LL", b"Loud archive"), entry(1, USE, b"^blk")]
    assert guards_of(block + quiet_use + loud_use) == ((4, b"QQ"),)
    assert guards_of(block + loud_use) == ()
    # Used from a block that is itself used quietly from a regex: nothing to guard with.
    outer = [entry(0, NAME, b"outer"), entry(1, USE, b"blk")]
    regex_use = [entry(0, REGEX, b"^x", b""), entry(1, USE, b"outer")]
    assert guards_of(block + outer + regex_use) is None


def test_parse_refuses_what_it_does_not_know() -> None:
    good = database([entry(0, STRING, b"A", b"A file")])
    assert magicdb.parse(good) is not None
    assert magicdb.parse(database([entry(0, STRING, b"A", b"A")], version=17)) is None
    assert magicdb.parse(good[:-1]) is None
    assert magicdb.parse(b"") is None
    assert magicdb.parse(bytes(magicdb.ENTRY_SIZE * 2)) is None  # no magic number
    assert guards_of([entry(1, STRING, b"A", b"A")]) is None  # a continuation first
    swapped = database(
        [entry(0, STRING, b"AB", b"", order=">"), entry(1, STRING, b"c", b"", b"x/y", order=">")], order=">"
    )
    parsed = magicdb.parse(swapped)
    assert parsed is not None and magicdb.guards(parsed) == ((0, b"AB"),)


def test_database_files_follow_libmagics_search_path(tmp_path: Path) -> None:
    db = database([entry(0, STRING, b"A", b"A file")])
    (tmp_path / "sys.mgc").write_bytes(db)
    (tmp_path / "local").write_bytes(b"# local additions\n\n#   none yet\n")
    (tmp_path / "rules").write_bytes(b"# a rule\n0 string XYZ XYZ data\n")
    assert magicdb.database_files(f"{tmp_path}/local:{tmp_path}/sys") == [db]
    assert magicdb.database_files(f"{tmp_path}/sys.mgc") == [db]
    assert magicdb.database_files(f"{tmp_path}/sys:{tmp_path}/rules") is None  # patterns we do not read
    assert magicdb.database_files(f"{tmp_path}/missing") is None
    assert magicdb.database_files(f"{tmp_path}/local") is None  # no database at all
    (tmp_path / "bad.mgc").write_bytes(b"not a database")
    assert magicdb.databases_guards(magicdb.database_files(f"{tmp_path}/bad")) is None
    proven = magicdb.databases_guards(magicdb.database_files(f"{tmp_path}/sys"))
    assert proven is not None and proven.pairs == ()


def test_guard_set_pads_like_libmagic() -> None:
    guards = magicdb.GuardSet([(2, b"-lh5-"), (2, b"-lh0-"), (0, b"AB\0\0"), (2, b"-lh5-")])
    assert guards.pairs == ((0, b"AB\0\0"), (2, b"-lh0-"), (2, b"-lh5-"))
    assert guards.hit(b"xx-lh5-rest") and guards.hit(b"xx-lh0-")
    assert not guards.hit(b"xx-lh4-rest")
    assert not guards.hit(b"xx-lh")
    assert guards.hit(b"AB")  # compared against zero bytes past the end
    assert not magicdb.GuardSet(()).hit(b"")


# --- against the libmagic on this machine ---------------------------------------------------


def _libmagic_twice(head: bytes) -> tuple[str, str]:
    mime_h, desc_h, _, _ = filetype._detector._handles()
    return mime_h.from_buffer(head), desc_h.from_buffer(head)


def _binary_samples() -> list[bytes]:
    rng = random.Random(7)
    out = [rng.randbytes(rng.randint(1, 9000)) for _ in range(300)]
    out += [b"REC1" + struct.pack("<I", n) + rng.randbytes(n // 2) + bytes(n // 2) for n in (10, 999, 5000)]
    # Buffers that reach libmagic's LHarc block, whose MIME type is printed without text.
    for method in (b"-lh5-", b"-lh0-", b"-lz4-", b"-pm2-", b"-lhx-"):
        out.append(b"\x00\x00" + method + bytes(13) + b"\x01" + rng.randbytes(60))
        out.append(b"\x00\x00" + method + rng.randbytes(80))
    out.append(bytes(range(256)) * 8)
    out.append(b"MZ" + rng.randbytes(500))
    # LZ4 skippable frames: libmagic walks again past them (``indirect``), here onto an
    # LHarc header or noise.
    for lead in (0x50, 0x5F):
        for n in (0, 16):
            for tail in (b"\x00\x00-lh5-" + rng.randbytes(80), rng.randbytes(90)):
                out.append(bytes([lead]) + b"*M\x18" + struct.pack("<I", n) + bytes(n) + tail)
    # Headers shaped like MacBinary's and TP-Link firmware's, whose blocks walk again too.
    out.append(bytes(1) + bytes([5]) + b"Name" + bytes(59) + b"TEXTttxt" + bytes(50) + b"\x81" + rng.randbytes(300))
    out.append(struct.pack("<I", 1) + rng.randbytes(60) + struct.pack(">H", 3) + rng.randbytes(300))
    return out


@pytest.mark.parametrize("head", _binary_samples())
def test_detect_equals_libmagics_two_answers(head: bytes) -> None:
    assert filetype._detector.detect(head) == _libmagic_twice(head)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=600))
def test_detect_equals_libmagics_two_answers_for_any_bytes(head: bytes) -> None:
    assert filetype._detector.detect(head) == _libmagic_twice(head)


def test_unknown_binary_costs_one_pattern_walk_when_the_database_is_proven(monkeypatch: pytest.MonkeyPatch) -> None:
    if magicdb.databases_guards(filetype._default_databases()) is None:
        pytest.skip("this machine's libmagic database could not be read as proof")
    mime_h = filetype._detector._handles()[0]
    calls = []

    class Counting:
        def from_buffer(self, head: bytes) -> str:
            calls.append(head)
            return str(mime_h.from_buffer(head))

    monkeypatch.setattr(filetype, "GUARDS_AFTER", 2)
    det = filetype.MagicDetector()
    handles = det._handles()
    det._local.handles = (Counting(), *handles[1:])
    rng = random.Random(3)
    for n in range(1, 3):  # the first GUARDS_AFTER get both walks: the proof is not made yet
        early = rng.randbytes(3000)
        assert det.detect(early) == ("application/octet-stream", "data")
        assert len(calls) == n and not det._guards_read
    calls.clear()
    noise = rng.randbytes(3000)
    assert det.detect(noise) == ("application/octet-stream", "data")
    assert calls == []  # libmagic's pattern walk ran once, for the description
    assert det._guards_read and det._data_guards is not None
    assert det.detect(noise, exact=True) == ("application/octet-stream", "data")
    assert len(calls) == 1
    lzh = b"\x00\x00-lh5-" + noise
    assert det.detect(lzh) == _libmagic_twice(lzh)
    assert len(calls) == 2  # a guard matched: libmagic was asked for the MIME type itself


# --- the smaller database a buffer may be typed with (magicdb.reduce) ------------------------

SEARCH, TEXT, OFFADD = 20, 0x40, 0x02


def two_sets(first: list[bytes], named: list[bytes] = (), *, order: str = "<") -> bytes:  # type: ignore[assignment]
    """A database with its first set (the pattern walk) and its second (named blocks)."""
    header = struct.pack(order + "IIII", magicdb.MAGICNO, magicdb.VERSION, len(first), len(named))
    return header.ljust(magicdb.ENTRY_SIZE, b"\0") + b"".join(first) + b"".join(named)


def descriptions(data: bytes) -> list[bytes]:
    parsed = magicdb.parse(data)
    assert parsed is not None
    return [e.desc for e in parsed]


def sets_of(data: bytes, order: str = "<") -> tuple[int, int]:
    _, _, n0, n1 = struct.unpack_from(order + "IIII", data, 0)
    return n0, n1


@pytest.mark.parametrize("order", ["<", ">"])
def test_binary_blocks_with_a_guard_are_left_out_until_a_buffer_passes_it(order: str) -> None:
    first = [
        entry(0, STRING, b"AB", b"Alpha", order=order),  # left out (block 0)
        entry(1, BYTE, number(0, order), b"more", offset=2, reln=ord("x"), order=order),
        entry(0, REGEX, b"^x", b"Regex", order=order),  # stays: not a fixed comparison
        entry(0, STRING, b"<x", b"Markup", flag=TEXT, order=order),  # stays: the text walk tests it
        entry(0, BELONG, number(0x43440000, order), b"Gamma", offset=4, order=order),  # left out (block 1)
        entry(0, STRING, b"EF", b"Epsilon", flag=0x20 | TEXT, order=order),  # stays: both walks
    ]
    named = [entry(0, NAME, b"blk", flag=0, order=order), entry(1, STRING, b"Z", b"zed", order=order)]
    data = two_sets(first, named, order=order)
    reduction = magicdb.reduce(data)
    assert reduction is not None and reduction.left_out == 2
    assert reduction.hits(b"zzzzzzzz") == frozenset()
    assert reduction.hits(b"ABzz") == {0}
    assert reduction.hits(b"....CD\0\0") == {1}
    assert reduction.hits(b"ABxxCD\0\0") == {0, 1}
    assert reduction.hits(b"....CD\0") == frozenset()  # libmagic refuses a test the buffer cannot hold
    smallest = reduction.database()
    assert descriptions(smallest) == [b"Regex", b"Markup", b"Epsilon", b"", b"zed"]
    assert sets_of(smallest, order) == (3, 2)
    assert magicdb.byte_order(smallest) == order
    assert descriptions(reduction.database(frozenset({1}))) == [b"Regex", b"Markup", b"Gamma", b"Epsilon", b"", b"zed"]
    assert reduction.database(frozenset({0, 1})) == data  # every block: the database itself
    # What a copy loads: its first set, and the named blocks every copy shares.
    first, named = b"".join(reduction.first_set(frozenset({1}))), b"".join(reduction.named_set())
    assert sets_of(first, order) == (4, 0) and descriptions(first) == [b"Regex", b"Markup", b"Gamma", b"Epsilon"]
    assert sets_of(named, order) == (0, 2) and descriptions(named) == [b"", b"zed"]


def test_a_block_that_may_reach_an_indirect_entry_asks_for_the_whole_database() -> None:
    first = [
        entry(0, STRING, b"LZ", b"Frame"),  # left out, never in a smaller copy: walks again
        entry(1, INDIRECT, b"", b"", offset=4, reln=ord("x")),
        entry(0, STRING, b"UU", b"Uses"),  # the same, through a named block that walks again
        entry(1, USE, b"^outer"),
        entry(0, LELONG, number(3), b"Kept", reln=ord("<")),  # stays; its way there passes "GG" at 8
        entry(1, STRING, b"GG", b"", offset=8),
        entry(2, USE, b"outer"),
        entry(0, SEARCH, b"NEEDLE", b"Found", offset=1, str_range=40),  # stays; a search leads there
        entry(1, INDIRECT, b"", b"", reln=ord("x"), flag=OFFADD),
        entry(0, STRING, b"QQ", b"Plain"),  # left out: leads to no indirect entry
    ]
    named = [
        entry(0, NAME, b"outer", flag=0),
        entry(1, USE, b"inner"),
        entry(0, NAME, b"inner", flag=0),
        entry(1, INDIRECT, b"", b"", reln=ord("x")),
    ]
    reduction = magicdb.reduce(two_sets(first, named))
    assert reduction is not None and reduction.left_out == 1
    assert reduction.hits(b"LZ......") is None
    assert reduction.hits(b"UU......") is None
    assert reduction.hits(b"xxxxxxxxGG") is None
    assert reduction.hits(b"xxxxxxxxG") == frozenset()
    assert reduction.hits(b"....NEEDLE....") is None  # (anywhere: more than the search's range)
    assert reduction.hits(b"QQ......") == {0}
    assert reduction.hits(b"........") == frozenset()
    assert descriptions(reduction.database()) == [b"Kept", b"", b"", b"Found", b"", b"", b"", b"", b""]


@pytest.mark.parametrize(
    "first",
    [
        # an indirect entry behind no fixed comparison
        [entry(0, REGEX, b"^x", b"R"), entry(1, INDIRECT, b"", b"", reln=ord("x"))],
        # behind a fixed comparison, in a block the text walk tests (on the re-encoded buffer)
        [entry(0, STRING, b"<h", b"T", flag=TEXT), entry(1, INDIRECT, b"", b"", reln=ord("x"))],
        # behind a search that ignores case
        [entry(0, SEARCH, b"abc", b"S", str_range=9, str_flags=0x04), entry(1, INDIRECT, b"", b"", reln=ord("x"))],
        # behind a test at an offset relative to the one before
        [entry(0, REGEX, b"^x", b"R"), entry(1, STRING, b"GG", flag=OFFADD), entry(2, INDIRECT, b"", reln=ord("x"))],
        # a named block in the pattern walk's set, or a continuation first
        [entry(0, NAME, b"n", flag=0), entry(1, STRING, b"A", b"a")],
        [entry(1, STRING, b"A", b"a"), entry(0, STRING, b"B", b"b")],
    ],
)
def test_no_smaller_database_when_a_way_to_walk_again_has_no_guard(first: list[bytes]) -> None:
    assert magicdb.reduce(two_sets(first)) is None


def test_reduce_refuses_what_it_does_not_know() -> None:
    assert magicdb.reduce(b"") is None
    assert magicdb.reduce(database([entry(0, STRING, b"A", b"A")], version=17)) is None
    # a named block's continuation first in the second set
    assert magicdb.reduce(two_sets([entry(0, STRING, b"A", b"A")], [entry(1, STRING, b"B", b"b")])) is None


def _reduction() -> magicdb.Reduction:
    reduction = filetype._database_reduction(filetype._default_databases())
    if reduction is None:
        pytest.skip("this machine's libmagic database has no smaller copy")
    return reduction


def _reducing_detector() -> filetype.MagicDetector:
    """A detector with its smaller copies already on (a scan turns them on after
    REDUCE_AFTER buffers that walked the whole database)."""
    detector = filetype.MagicDetector()
    detector._reduction = _reduction()
    detector._reduction_read = True
    return detector


def _guard_buffers(reduction: magicdb.Reduction, count: int, seed: int) -> list[bytes]:
    """Buffers that pass guards of left-out blocks (or ask for the whole database), their
    bytes at their offset in noise, in text or in zeros, with more or nothing after."""
    rng = random.Random(seed)
    pairs = sorted({(offset, value) for _, offset, table in reduction._tables for value in table})
    out = []
    for offset, value in rng.sample(pairs, count):
        for fill in (rng.randbytes(600), b"The quick brown fox. " * 30, bytes(600)):
            buf = bytearray(fill[: offset + len(value) + rng.choice((0, 1, 300))].ljust(offset, b"\0"))
            buf[offset : offset + len(value)] = value
            out.append(bytes(buf))
    return out


def test_smaller_databases_answer_as_the_whole_one() -> None:
    """Each buffer typed with the copy made for the left-out blocks it passes (as the
    detector does), against libmagic with its whole database."""
    reduction = _reduction()
    named = filetype._buffer(reduction.named_set())
    copies = 0
    for head in _guard_buffers(reduction, 120, seed=5):
        hits = reduction.hits(head)
        if hits is None:
            assert filetype._detector.detect(head) == _libmagic_twice(head)
            continue
        loaded = filetype._load_database(reduction.first_set(hits), named)
        assert loaded is not None
        try:
            got = (loaded.mime.from_buffer(head), loaded.desc.from_buffer(head))
        finally:
            filetype._close(loaded)
        assert got == _libmagic_twice(head), (sorted(hits), head[:64])
        copies += bool(hits)
    assert copies > 200  # most passed guards of left-out blocks


_TEXTS = [
    "<?xml version='1.0'?><a>caf\u00e9</a>\n",
    "<!DOCTYPE html><html><body>caf\u00e9</body></html>\n",
    "#!/bin/sh\necho caf\u00e9\n",
    "%PDF-1.4 caf\u00e9\n",
    "From: a@example.org\nSubject: caf\u00e9\n\nhello\n",
    "MZ caf\u00e9 plain words\n",
    "PK\u0003\u0004 caf\u00e9\n",
]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32", "latin-1", "cp500"])
def test_text_in_any_encoding_gets_libmagics_answers(encoding: str) -> None:
    """libmagic's text walk reads the text re-encoded as UTF-8 (other bytes than the file's
    for UTF-16, Latin-1 or EBCDIC): every block it tests stays in every smaller copy."""
    _reduction()
    for text in _TEXTS:
        head = text.encode(encoding)
        assert filetype._detector.detect(head) == _libmagic_twice(head), (encoding, text)


def test_copies_are_made_for_the_blocks_needed_most(monkeypatch: pytest.MonkeyPatch) -> None:
    reduction = _reduction()
    monkeypatch.setattr(filetype, "REDUCED_AFTER", 2)
    monkeypatch.setattr(filetype, "REDUCED_KEEP", 2)
    detector = _reducing_detector()
    noise = random.Random(1).randbytes(700)
    assert reduction.hits(noise) == frozenset()
    assert detector.detect(noise, exact=True) == _libmagic_twice(noise)
    assert getattr(detector._local, "copies", None) is None  # --exact-magic: the whole database
    assert detector.detect(noise) == _libmagic_twice(noise)
    copies = detector._local.copies
    assert list(copies.loaded) == [frozenset()]
    distinct: dict[frozenset[int], bytes] = {}
    for head in _guard_buffers(reduction, 200, seed=9):
        hits = reduction.hits(head)
        if hits:
            distinct.setdefault(hits, head)
    (a, ka), (b, kb), (c, kc) = [(head, hits) for hits, head in distinct.items()][:3]

    def typed(head: bytes, times: int) -> None:
        for _ in range(times):
            assert detector.detect(head) == _libmagic_twice(head)

    typed(a, 1)
    assert ka not in copies.loaded  # needed once: the whole database
    typed(a, 1)
    typed(b, 3)
    assert list(copies.loaded) == [frozenset(), ka, kb] and copies.uses[ka] == 2 and copies.uses[kb] == 3
    first = copies.loaded[ka]
    typed(c, 3)
    assert kc not in copies.loaded  # needed 3 times, not twice as often as the least used (2)
    typed(c, 1)
    assert list(copies.loaded) == [frozenset(), kb, kc]  # it replaced that one ...
    assert first.mime.cookie is None and first.desc.cookie is None  # ... whose handles are closed
    monkeypatch.setattr(filetype, "REDUCED_BUILDS", copies.builds)
    typed(a, 20)
    assert ka not in copies.loaded  # no more copies made, however often needed


def test_a_copy_libmagic_will_not_load_means_the_whole_database(monkeypatch: pytest.MonkeyPatch) -> None:
    _reduction()
    monkeypatch.setattr(filetype, "_load_database", lambda first, named: None)
    detector = _reducing_detector()
    noise = random.Random(2).randbytes(900)
    assert detector.detect(noise) == _libmagic_twice(noise)
    assert detector._reduction is None and detector._reduction_read


@pytest.mark.parametrize(("lead", "skip"), [(0x50, 0), (0x5F, 16)])
def test_a_buffer_that_walks_again_gets_the_whole_database(
    monkeypatch: pytest.MonkeyPatch, lead: int, skip: int
) -> None:
    """An LZ4 skippable frame: libmagic walks again past it (``indirect``), over the database
    it has loaded, and finds the PNG there. A copy without PNG's block would say "data"."""
    _reduction()
    monkeypatch.setattr(filetype, "REDUCED_AFTER", 1)
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x02\x00\x00\x00" + bytes(40)
    head = bytes([lead]) + b"*M\x18" + struct.pack("<I", skip) + bytes(skip) + png
    detector = _reducing_detector()
    assert detector.detect(head) == _libmagic_twice(head) == ("image/png", _libmagic_twice(head)[1])


def test_no_memory_for_a_copy_means_the_whole_database_for_that_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under --memory-limit a copy may not fit: the buffer is typed as before, not failed."""
    _reduction()

    def no_memory(first: object, named: object) -> None:
        raise MemoryError

    monkeypatch.setattr(filetype, "_load_database", no_memory)
    detector = _reducing_detector()
    noise = random.Random(3).randbytes(900)
    assert detector.detect(noise) == _libmagic_twice(noise)
    assert detector._reduction is not None  # later buffers may still get one


def test_a_scan_types_files_as_with_the_whole_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """End to end: every record's type is the one --exact-magic gives (the whole database
    for every buffer), smaller copies made for the guards these files pass included."""
    from evidence_cli.scanner import ScanOptions, scan

    reduction = _reduction()
    monkeypatch.setattr(filetype, "REDUCED_AFTER", 2)
    monkeypatch.setattr(filetype, "REDUCED_KEEP", 100)  # a copy for every set of guards passed twice
    monkeypatch.setattr(filetype, "_detector", _reducing_detector())
    rng = random.Random(17)
    contents = [rng.randbytes(rng.randint(1, 5000)) for _ in range(30)]
    contents += [f"<html><body><p>entry {i}</p></body></html>\n".encode() for i in range(6)]
    contents += [f"<?xml version='1.0'?><log n='{i}'/>\n".encode() for i in range(6)]
    contents += _guard_buffers(reduction, 10, seed=23)
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x02\x00\x00\x00" + bytes(30)
    contents += [b"P*M\x18" + struct.pack("<I", 0) + png] * 3
    for i, data in enumerate(contents):
        (tmp_path / f"f{i:03d}.bin").write_bytes(data)
    fast = list(scan([str(tmp_path)], ScanOptions(workers=0)))
    exact = list(scan([str(tmp_path)], ScanOptions(workers=0, exact_magic=True)))
    assert len(fast) == len(exact) == len(contents)
    # (Plain text is typed by libmagic's text classifier alone unless --exact-magic: not compared.)
    walked = [(a, b) for a, b in zip(fast, exact) if a.type_decided_by != "libmagic-text"]
    assert len(walked) > 45
    for a, b in walked:
        assert (a.path, a.mime, a.description) == (b.path, b.mime, b.description)
    assert len(filetype._detector._local.copies.loaded) > 1  # copies with left-out blocks were used


def test_smaller_copies_are_made_after_enough_walks_that_would_use_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process makes them once REDUCE_AFTER buffers described as data (or typed text/*)
    walked the whole database; photos (JPEG, PNG) do not count: they always need it."""
    _reduction()
    monkeypatch.setattr(filetype, "REDUCE_AFTER", 3)
    detector = filetype.MagicDetector()
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x02\x00\x00\x00" + bytes(30)
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(40)
    for head in (png, jpeg) * 3:
        assert detector.detect(head) == _libmagic_twice(head)
    assert not detector._reduction_read
    rng = random.Random(8)
    for n in range(3):
        noise = rng.randbytes(500)
        assert detector.detect(noise) == _libmagic_twice(noise)
        assert detector._reduction_read == (n == 2)
    assert detector._reduction is not None
    noise = rng.randbytes(500)
    assert detector.detect(noise) == _libmagic_twice(noise)
    assert frozenset() in detector._local.copies.loaded  # the next one used the smallest copy
    detector = filetype.MagicDetector()
    for _ in range(5):
        assert detector.detect(noise, exact=True) == _libmagic_twice(noise)
    assert not detector._reduction_read  # --exact-magic never makes them


@pytest.mark.parametrize("part", ["copies", "guards"])
def test_what_cannot_be_made_leaves_the_whole_database(monkeypatch: pytest.MonkeyPatch, part: str) -> None:
    """Under --memory-limit a worker may run out of memory making the smaller copies, or
    proving the guards (it does both itself, when first needed): the buffer that asked is
    still typed, with the whole database and both of libmagic's walks (as --exact-magic),
    never as an error, and so are the next ones; it is tried once, not for every buffer."""
    calls = []

    def no_memory(databases: object) -> None:
        calls.append(1)
        raise MemoryError

    if part == "copies":
        monkeypatch.setattr(filetype, "REDUCE_AFTER", 2)
        monkeypatch.setattr(filetype, "_database_reduction", no_memory)
    else:
        monkeypatch.setattr(filetype, "GUARDS_AFTER", 1)
        monkeypatch.setattr(magicdb, "databases_guards", no_memory)
    detector = filetype.MagicDetector()
    rng = random.Random(12)
    for _ in range(4):
        noise = rng.randbytes(400)
        assert detector.detect(noise) == _libmagic_twice(noise)
    assert calls == [1]
    if part == "copies":
        assert detector._reduction_read and detector._reduction is None
    else:
        assert detector._guards_read and detector._data_guards is None
