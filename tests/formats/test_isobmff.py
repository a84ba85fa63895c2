"""The ISO base media box reader and HEIF item helpers, on hand-assembled and damaged boxes."""

from __future__ import annotations

import io
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence_cli.formats import isobmff
from evidence_cli.formats.isobmff import (
    BoxReader,
    has_ftyp,
    heif_exif_tiff,
    heif_item_payload,
    heif_xmp,
    looks_isobmff,
    meta_is_full_box,
    parse_ftyp,
    parse_iloc,
)
from tests.builders import exif_tiff
from tests.formats.isobmff_builders import (
    box,
    fbox,
    ftyp,
    hdlr,
    heif_file,
    iinf,
    iloc,
    infe,
    large_box,
    xmp_packet,
)

TIFF = exif_tiff(make="Canon", date_original="2019:05:01 13:45:10")


def reader(data: bytes, **kw: int) -> BoxReader:
    return BoxReader(io.BytesIO(data), **kw)


def top(data: bytes, **kw: int) -> tuple[list[tuple[str, int, int]], list[str]]:
    r = reader(data, **kw)
    boxes = [(b.type, b.offset, b.size) for b in r.boxes(0, r.size)]
    return boxes, r.problems


# --- box iteration ---------------------------------------------------------------------


def test_boxes_end_to_end_with_largesize_uuid_and_size_zero() -> None:
    data = box("ftyp", b"isom\x00\x00\x00\x00") + large_box("free", b"x" * 5) + box("uuid", b"U" * 16, b"abc")
    data += struct.pack(">I", 0) + b"mdat" + b"\x00" * 30  # size 0: to the end of the parent
    r = reader(data)
    boxes = list(r.boxes(0, r.size))
    assert [b.type for b in boxes] == ["ftyp", "free", "uuid", "mdat"]
    free, uuid, mdat = boxes[1], boxes[2], boxes[3]
    assert (free.header, free.size, free.payload_size) == (16, 21, 5)
    assert uuid.usertype == b"U" * 16 and uuid.header == 24 and uuid.payload_size == 3
    assert mdat.end == len(data) and mdat.payload_size == 30
    assert r.problems == []


def test_box_larger_than_parent_stops_that_level_keeping_earlier_boxes() -> None:
    data = box("free", b"1234") + struct.pack(">I", 1000) + b"moov" + b"\x00" * 20
    boxes, problems = top(data)
    assert [b[0] for b in boxes] == ["free"]
    assert len(problems) == 1 and "claims 1000 bytes" in problems[0]


def test_box_smaller_than_its_header() -> None:
    data = box("free") + struct.pack(">I", 4) + b"moov" + b"\x00" * 8
    boxes, problems = top(data)
    assert [b[0] for b in boxes] == ["free"]
    assert len(problems) == 1 and "smaller" in problems[0]


def test_size_one_with_truncated_largesize() -> None:
    data = struct.pack(">I", 1) + b"mdat" + b"\x00\x00"
    boxes, problems = top(data)
    assert boxes == [] and len(problems) == 1 and "64-bit" in problems[0]


def test_box_claiming_2_pow_63_bytes_is_refused_without_allocation() -> None:
    data = struct.pack(">I", 1) + b"moov" + struct.pack(">Q", 2**63) + box("mvhd", b"\x00" * 100)
    boxes, problems = top(data)
    assert boxes == [] and len(problems) == 1 and str(2**63) in problems[0]


def test_largesize_below_header_is_damage() -> None:
    data = struct.pack(">I", 1) + b"free" + struct.pack(">Q", 8) + b"\x00" * 8
    boxes, problems = top(data)
    assert boxes == [] and "smaller" in problems[0]


def test_truncated_uuid() -> None:
    data = struct.pack(">I", 20) + b"uuid" + b"\x00" * 12
    boxes, problems = top(data)
    assert boxes == [] and "uuid" in problems[0]


def test_trailing_zero_bytes_are_not_damage_but_other_bytes_are() -> None:
    assert top(box("free") + b"\x00\x00\x00\x00") == ([("free", 0, 8)], [])
    boxes, problems = top(box("free") + b"\x01\x02\x03")
    assert boxes == [("free", 0, 8)] and problems == ["3 stray bytes at offset 8 (in file)"]


def test_deep_nesting_stops_at_the_depth_limit() -> None:
    data = b""
    for _ in range(10_000):
        data = box("moov", data)
    r = reader(data)

    def descend(start: int, end: int, depth: int) -> int:
        deepest = depth
        for b in r.boxes(start, end, depth):
            deepest = max(deepest, descend(b.start, b.end, depth + 1))
        return deepest

    assert descend(0, r.size, 0) == isobmff.MAX_DEPTH + 1
    assert r.count == isobmff.MAX_DEPTH + 1
    assert len(r.problems) == 1 and "deeper than 16" in r.problems[0]


def test_box_count_limit() -> None:
    data = box("free") * 5000
    boxes, problems = top(data, max_boxes=100)
    assert len(boxes) == 100
    assert problems == ["more than 100 boxes: the rest of the file was not read"]


def test_payload_cap_and_short_fields() -> None:
    data = box("XMP_", b"x" * 100)
    r = reader(data)
    b = next(r.boxes(0, r.size))
    assert r.payload(b) == b"x" * 100
    assert r.payload(b, cap=10) is None
    assert r.payload(b, skip=200) is None
    assert list(r.children(b, 0, skip=200)) == []
    assert len(r.problems) == 2


def test_first_follows_a_path() -> None:
    data = ftyp() + box("moov", box("udta", box("©xyz", b"abcd")), box("mvhd", b"\x00" * 4))
    r = reader(data)
    found = r.first(0, r.size, ("moov", "mvhd"))
    assert found is not None and found.type == "mvhd"
    assert r.first(0, r.size, ("moov", "trak")) is None
    xyz = r.first(0, r.size, ("moov", "udta", "©xyz"))
    assert xyz is not None and r.payload(xyz) == b"abcd"


def test_meta_full_box_or_plain() -> None:
    full = fbox("meta", 0, 0, hdlr("mdta"))
    plain = box("meta", hdlr("mdta"))
    for data, expected in ((full, True), (plain, False)):
        r = reader(data)
        assert meta_is_full_box(r, next(r.boxes(0, r.size))) is expected


def test_signatures_and_ftyp() -> None:
    assert has_ftyp(ftyp()) and looks_isobmff(ftyp())
    assert looks_isobmff(box("moov", b"")) and not has_ftyp(box("moov", b""))
    assert not looks_isobmff(b"\x89PNG\r\n\x1a\n" + b"\x00" * 8)
    assert not looks_isobmff(b"abc")
    info = parse_ftyp(b"heic\x00\x00\x00\x00mif1heic")
    assert info == {"major_brand": "heic", "minor_version": 0, "compatible_brands": ["mif1", "heic"]}
    with pytest.raises(ValueError):
        parse_ftyp(b"abc")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_never_raise(tail: bytes) -> None:
    data = ftyp("heic", ("mif1",)) + tail
    r = reader(data)
    seen = 0
    stack = [(0, r.size, 0)]
    while stack and seen < 10_000:
        start, end, depth = stack.pop()
        for b in r.boxes(start, end, depth):
            seen += 1
            stack.append((b.start, b.end, depth + 1))
    problems: list[str] = []
    heif_exif_tiff(io.BytesIO(data), problems)
    heif_xmp(io.BytesIO(data), problems)


# --- HEIF items ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"method": 1},
        {"split": 7},
        {"iloc_version": 0},
        {"iloc_version": 2, "offset_size": 8},
        {"base_offset_size": 4},
        {"base_offset_size": 8, "split": 3},
        {"infe_version": 3},
        {"method": 1, "split": 20},
    ],
)
def test_heif_exif_item_variants(kw: dict[str, Any]) -> None:
    data = heif_file(TIFF, xmp=xmp_packet(), **kw)
    problems: list[str] = []
    assert heif_exif_tiff(io.BytesIO(data), problems) == TIFF
    assert heif_xmp(io.BytesIO(data), problems) == xmp_packet()
    assert problems == []


def test_heif_exif_payload_keeps_the_offset_header() -> None:
    data = heif_file(TIFF)
    payload = heif_item_payload(io.BytesIO(data), "Exif")
    assert payload == struct.pack(">I", 6) + b"Exif\x00\x00" + TIFF


def test_heif_exif_without_prefix_and_with_a_wrong_offset() -> None:
    assert heif_exif_tiff(io.BytesIO(heif_file(TIFF, prefix=b""))) == TIFF
    # Offset field says 6 but the TIFF header starts right after it: found, reported.
    data = heif_file(TIFF, prefix=b"")
    data = data.replace(struct.pack(">I", 0) + TIFF[:4], struct.pack(">I", 6) + TIFF[:4])
    problems: list[str] = []
    assert heif_exif_tiff(io.BytesIO(data), problems) == TIFF
    assert len(problems) == 1 and "not at the stated offset" in problems[0]


def test_heif_without_exif_or_meta() -> None:
    problems: list[str] = []
    assert heif_exif_tiff(io.BytesIO(heif_file(None)), problems) is None
    assert heif_xmp(io.BytesIO(heif_file(None)), problems) is None
    assert heif_exif_tiff(io.BytesIO(ftyp() + box("moov")), problems) is None
    assert problems == []


def _meta_file(*children: bytes, tail: bytes = b"") -> bytes:
    return ftyp("heic", ("mif1",)) + fbox("meta", 0, 0, hdlr("pict"), *children) + tail


def test_iloc_pointing_past_eof() -> None:
    data = _meta_file(iinf(infe(2, "Exif")), iloc([(2, 0, 0, [(10_000, 50)])]))
    problems: list[str] = []
    assert heif_exif_tiff(io.BytesIO(data), problems) is None
    assert len(problems) == 1 and "outside its source" in problems[0]


def test_iloc_huge_length_is_not_allocated() -> None:
    data = _meta_file(iinf(infe(2, "Exif")), iloc([(2, 0, 0, [(0, 2**63)])], length_size=8), tail=b"x" * 64)
    problems: list[str] = []
    assert heif_item_payload(io.BytesIO(data), "Exif", problems=problems) is None
    assert "outside its source" in problems[0]


def test_item_in_idat_without_idat_box() -> None:
    data = _meta_file(iinf(infe(2, "Exif")), iloc([(2, 1, 0, [(0, 10)])]))
    problems: list[str] = []
    assert heif_item_payload(io.BytesIO(data), "Exif", problems=problems) is None
    assert problems == ["item 2 is in idat, but there is no idat box"]


def test_unsupported_construction_method_and_no_location_and_no_extents() -> None:
    cases = {
        "construction method 2": iloc([(2, 2, 0, [(0, 10)])]),
        "no extents": iloc([(2, 0, 0, [])]),
        "no location": iloc([(5, 0, 0, [(0, 10)])]),
    }
    for words, loc in cases.items():
        problems: list[str] = []
        assert heif_item_payload(io.BytesIO(_meta_file(iinf(infe(2, "Exif")), loc)), "Exif", problems=problems) is None
        assert len(problems) == 1 and words in problems[0], problems


def test_iloc_damage_is_reported() -> None:
    cases = {
        "is not 0, 4 or 8": fbox("iloc", 1, 0, bytes([0x33, 0x00]), struct.pack(">H", 0)),
        "more than it can hold": fbox("iloc", 1, 0, bytes([0x44, 0x00]), struct.pack(">H", 5000)),
        "version 3 unknown": fbox("iloc", 3, 0, b"\x00" * 8),
        "needs 4 bytes": fbox(
            "iloc", 1, 0, bytes([0x44, 0x00]), struct.pack(">HHHH", 1, 2, 0, 0), struct.pack(">H", 1)
        ),
    }
    for words, loc in cases.items():
        problems: list[str] = []
        assert heif_item_payload(io.BytesIO(_meta_file(iinf(infe(2, "Exif")), loc)), "Exif", problems=problems) is None
        assert any(words in p for p in problems), (words, problems)


def test_parse_iloc_directly_refuses_short_payload() -> None:
    with pytest.raises(ValueError):
        parse_iloc(b"\x01", isobmff.HeifMeta())


def test_iinf_count_mismatch_and_damaged_infe() -> None:
    bad_infe = fbox("infe", 2, 0, b"\x00\x02")  # too short for an item type
    data = _meta_file(iinf(infe(2, "Exif"), bad_infe, count=5), iloc([(2, 0, 0, [(0, 4)])]))
    problems: list[str] = []
    heif_item_payload(io.BytesIO(data), "Exif", problems=problems)
    assert any("declares 5 items but holds 2" in p for p in problems)
    assert any("infe at offset" in p for p in problems)


def test_exif_item_shorter_than_its_header() -> None:
    data = _meta_file(iinf(infe(2, "Exif")), box("idat", b"\x00\x00"), iloc([(2, 1, 0, [(0, 2)])]))
    problems: list[str] = []
    assert heif_exif_tiff(io.BytesIO(data), problems) is None
    assert problems == ["Exif item shorter than its 4-byte header"]


def test_exif_item_without_tiff_header() -> None:
    payload = struct.pack(">I", 0) + b"no tiff here at all"
    data = _meta_file(iinf(infe(2, "Exif")), box("idat", payload), iloc([(2, 1, 0, [(0, len(payload))])]))
    problems: list[str] = []
    assert heif_exif_tiff(io.BytesIO(data), problems) is None
    assert problems == ["Exif item holds no TIFF header"]


def test_cdsc_reference_picks_the_exif_of_the_primary_image() -> None:
    other = struct.pack(">I", 0) + exif_tiff(make="Other")
    mine = struct.pack(">I", 0) + TIFF
    idat = box("idat", other + mine)
    data = _meta_file(
        fbox("pitm", 0, 0, struct.pack(">H", 1)),
        iinf(infe(1, "hvc1"), infe(4, "Exif"), infe(7, "Exif")),
        iloc([(4, 1, 0, [(0, len(other))]), (7, 1, 0, [(len(other), len(mine))])]),
        fbox("iref", 0, 0, box("cdsc", struct.pack(">HHH", 7, 1, 1))),
        idat,
    )
    assert heif_exif_tiff(io.BytesIO(data)) == TIFF


def test_xmp_item_needs_the_rdf_content_type() -> None:
    packet = xmp_packet()
    data = _meta_file(
        iinf(infe(3, "mime", content_type="image/jpeg")),
        box("idat", packet),
        iloc([(3, 1, 0, [(0, len(packet))])]),
    )
    assert heif_xmp(io.BytesIO(data)) is None
    assert heif_item_payload(io.BytesIO(data), "mime", content_type="image/jpeg") == packet
