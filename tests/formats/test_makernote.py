"""The bounded IFD reader behind MakerNote serials (formats.makernote.read_ifd)."""

from __future__ import annotations

import io
import struct

import pytest

from evidence_cli.formats import makernote


def _ifd(bo: str, entries: list[tuple[int, int, int, bytes]], cut: int = 0) -> bytes:
    """An IFD: its count, then (tag, type, count, 4-byte field) entries; ``cut`` bytes
    dropped from the end (a truncated block)."""
    body = struct.pack(bo + "H", len(entries)) + b"".join(
        struct.pack(bo + "HHI", tag, typ, count) + field for tag, typ, count, field in entries
    )
    return body[: len(body) - cut] if cut else body


def _read(data: bytes, bo: str, base: int = 0) -> dict[int, makernote.Entry] | None:
    return makernote.read_ifd(makernote.Reader(io.BytesIO(data)), 0, bo, base)


@pytest.mark.parametrize("bo", ["<", ">"])
def test_entries_inline_and_by_offset(bo: str) -> None:
    far = struct.pack(bo + "I", 40)
    ifd = _read(_ifd(bo, [(0x0001, 3, 2, b"\x01\x02\x03\x04"), (0x0002, 2, 9, far)]), bo, base=100)
    assert ifd is not None
    assert ifd[0x0001] == makernote.Entry(0x0001, 3, 2, b"\x01\x02\x03\x04", None)  # 4 bytes: inline
    assert ifd[0x0001].size == 4
    assert ifd[0x0002] == makernote.Entry(0x0002, 2, 9, far, 140)  # 9 bytes: at base + offset
    assert ifd[0x0002].size == 9


def test_the_first_entry_of_a_tag_counts_and_unknown_types_are_skipped() -> None:
    entries = [
        (0x0010, 99, 1, b"AAAA"),  # unknown type: skipped, so the next 0x0010 counts
        (0x0010, 2, 4, b"BBBB"),
        (0x0010, 2, 4, b"CCCC"),  # a second one of a tag: ignored
        (0x0020, 4, 1, b"DDDD"),
    ]
    ifd = _read(_ifd("<", entries), "<")
    assert ifd is not None
    assert sorted(ifd) == [0x0010, 0x0020]
    assert ifd[0x0010].inline == b"BBBB"


def test_a_truncated_ifd_keeps_its_whole_entries() -> None:
    entries = [(0x0001, 4, 1, b"\x00" * 4), (0x0002, 4, 1, b"\x01" * 4), (0x0003, 4, 1, b"\x02" * 4)]
    ifd = _read(_ifd("<", entries, cut=5), "<")  # the third entry is cut short
    assert ifd is not None
    assert sorted(ifd) == [0x0001, 0x0002]


@pytest.mark.parametrize("data", [b"", b"\x00", b"\x00\x00", struct.pack("<H", makernote.MAX_ENTRIES + 1)])
def test_implausible_ifds_give_none(data: bytes) -> None:
    assert _read(data, "<") is None
