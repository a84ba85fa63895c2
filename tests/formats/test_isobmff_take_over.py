"""BoxReader.take_over: a HEIF item list read by one reader, taken over by another, is
exactly what the other would have read itself, or is refused."""

from __future__ import annotations

import copy
import io
import random

import pytest

from evidence_cli.formats.isobmff import BoxReader, MetaRead, read_heif_meta, read_meta
from tests.builders import exif_tiff
from tests.formats.isobmff_builders import box, heif_file, xmp_packet


def _seeds() -> list[bytes]:
    tiff = exif_tiff(make="TakeOver")
    seeds = [
        heif_file(tiff),
        heif_file(tiff, xmp=xmp_packet(), method=1, split=5),
        heif_file(None),
        heif_file(tiff, iloc_version=2, infe_version=3, offset_size=8, base_offset_size=4),
        heif_file(tiff) + box("free", b"\x00" * 8) + b"\x00\x00\x01",  # trailing junk
    ]
    rng = random.Random(2912)
    mutated = []
    for seed in seeds:
        for _ in range(40):  # flipped bytes, cut ends: damage the meta parse reports
            data = bytearray(seed)
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            mutated.append(bytes(data[: rng.randint(len(data) // 2, len(data))]))
    return seeds + mutated


SEEDS = _seeds()


def _state(r: BoxReader) -> tuple[list[str], int, bool]:
    return list(r.problems), r.count, r._exhausted


def _read(data: bytes, max_boxes: int) -> MetaRead:
    """What read_meta does, with another box limit."""
    r = BoxReader(io.BytesIO(data), max_boxes=max_boxes)
    meta = read_heif_meta(r)
    return MetaRead(meta, tuple(r.problems), r.count, r._exhausted, r.size, r.max_depth, r.max_boxes)


def test_read_meta_is_read_heif_meta_on_a_fresh_reader() -> None:
    for data in SEEDS:
        r = BoxReader(io.BytesIO(data))
        meta = read_heif_meta(r)
        read = read_meta(io.BytesIO(data))
        assert (read.meta, list(read.problems), read.count, read.exhausted) == (meta, *_state(r))


@pytest.mark.parametrize("max_boxes", [1, 2, 3, 5, 8, 13, 100_000])
@pytest.mark.parametrize("walked_first", [False, True])
def test_take_over_gives_what_reading_here_gives(max_boxes: int, walked_first: bool) -> None:
    taken = refused = 0
    for data in SEEDS:
        read = _read(data, max_boxes)
        here = BoxReader(io.BytesIO(data), max_boxes=max_boxes)
        if walked_first:  # as the container reader does before it reads the item list
            for _ in here.boxes(0, here.size):
                pass
            here.problem("a problem found before")
        other = copy.deepcopy(here)
        expected_meta = read_heif_meta(here)
        before = _state(other)
        if other.take_over(read):
            taken += 1
            assert read.meta == expected_meta
            assert _state(other) == _state(here)
        else:
            refused += 1
            assert _state(other) == before  # refused: nothing changed
    assert taken > 0
    if max_boxes < 8 and walked_first:
        assert refused > 0  # near the box limit a non-fresh reader must read for itself


def test_take_over_refuses_another_file_or_other_limits() -> None:
    data = SEEDS[0]
    read = read_meta(io.BytesIO(data))
    assert not BoxReader(io.BytesIO(data + b"\x00" * 8)).take_over(read)  # another size
    assert not BoxReader(io.BytesIO(data), max_depth=3).take_over(read)
    assert not BoxReader(io.BytesIO(data), max_boxes=50).take_over(read)


def test_a_read_that_hit_the_problem_cap_is_read_again_by_a_reader_with_problems() -> None:
    # The read kept 100 problems and dropped the rest. A reader that already holds one of
    # them would have kept one more of the dropped ones: it must read for itself.
    data = SEEDS[0]
    full = read_meta(io.BytesIO(data))
    capped = MetaRead(
        full.meta, tuple(f"p{i}" for i in range(100)), full.count, False, full.size, full.max_depth, full.max_boxes
    )
    here = BoxReader(io.BytesIO(data))
    here.problem("p0")
    assert not here.take_over(capped)
    assert _state(here) == (["p0"], 0, False)
    fresh = BoxReader(io.BytesIO(data))
    assert fresh.take_over(capped)  # a fresh reader would have kept the same 100
    assert fresh.problems == list(capped.problems)
