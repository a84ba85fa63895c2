"""PNG: text chunks, tIME, Creation Time, CRC damage, truncation, zTXt bombs."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from evidence_cli.errors import UnsupportedFile
from evidence_cli.extractors.png import PngExtractor, creation_time
from evidence_cli.formats import png as pngfmt
from tests.builders import file_context, jpeg_bytes, png_bytes, png_chunk, scan_one


def text(keyword: str, value: str) -> tuple[bytes, bytes]:
    return b"tEXt", keyword.encode("latin-1") + b"\x00" + value.encode("latin-1")


def ztext(keyword: str, value: bytes) -> tuple[bytes, bytes]:
    return b"zTXt", keyword.encode("latin-1") + b"\x00\x00" + zlib.compress(value)


def itext(
    keyword: str, value: str, *, compressed: bool = False, lang: str = "", translated: str = ""
) -> tuple[bytes, bytes]:
    body = value.encode("utf-8")
    if compressed:
        body = zlib.compress(body)
    head = keyword.encode("latin-1") + b"\x00" + bytes([1 if compressed else 0, 0])
    return b"iTXt", head + lang.encode() + b"\x00" + translated.encode() + b"\x00" + body


TIME = (b"tIME", struct.pack(">HBBBBB", 2019, 5, 1, 11, 45, 10))


def test_text_chunks_time_and_software() -> None:
    data = png_bytes(
        chunks=[
            text("Software", "GIMP 2.10"),
            text("Comment", "Café"),
            ztext("Description", b"long " * 100),
            itext("Title", "Ünïcode title", compressed=True, lang="de", translated="Titel"),
            text("Creation Time", "Wed, 01 May 2019 13:45:10 +0200"),
            TIME,
        ]
    )
    ex = PngExtractor().extract(file_context(data, "a.png"))
    assert ex.problems == ()
    t = ex.tags
    assert t["Software"] == "GIMP 2.10"
    assert t["Comment"] == "Café"
    assert t["Description"] == "long " * 100
    assert t["Title"] == "Ünïcode title"
    assert (t["ImageWidth"], t["ImageHeight"], t["ColorType"]) == (16, 12, 2)
    assert t["Chunks"] == {"IHDR": 1, "tEXt": 3, "zTXt": 1, "iTXt": 1, "tIME": 1, "IDAT": 1, "IEND": 1}
    ts = {x.name: x for x in ex.timestamps}
    assert (ts["ModifyDate"].value, ts["ModifyDate"].utc, ts["ModifyDate"].offset_origin) == (
        "2019-05-01T11:45:10+00:00",
        "2019-05-01T11:45:10Z",
        "utc-by-spec",
    )
    assert ts["CreationTime"].value == "2019-05-01T13:45:10+02:00"
    assert ts["CreationTime"].utc == "2019-05-01T11:45:10Z"
    assert ts["CreationTime"].raw == "Wed, 01 May 2019 13:45:10 +0200"
    assert all(x.source == "png" for x in ts.values())
    assert ex.device is not None and ex.device.software == "GIMP 2.10"


@pytest.mark.parametrize(
    ("raw", "value", "utc"),
    [
        ("2009:06:16 14:57:56", "2009-06-16T14:57:56", None),
        ("2019-05-01T13:45:10Z", "2019-05-01T13:45:10+00:00", "2019-05-01T13:45:10Z"),
        ("Mon, 9 Aug 2004 20:17:36 -0000", "2004-08-09T20:17:36", None),
        ("Sat, 01 Jun 2013 10:00:00 GMT", "2013-06-01T10:00:00+00:00", "2013-06-01T10:00:00Z"),
    ],
)
def test_creation_time_forms(raw: str, value: str, utc: str | None) -> None:
    ts = creation_time(raw)
    assert ts is not None and (ts.value, ts.utc, ts.raw) == (value, utc, raw)


def test_free_text_creation_time_is_a_tag_not_a_problem() -> None:
    data = png_bytes(chunks=[text("Creation Time", "last summer, at the lake")])
    ex = PngExtractor().extract(file_context(data, "a.png"))
    assert ex.tags["Creation Time"] == "last summer, at the lake"
    assert ex.timestamps == () and ex.problems == ()


def test_bad_crc_is_a_problem_and_the_walk_goes_on() -> None:
    good = png_bytes(chunks=[text("Author", "A"), text("Software", "S")])
    i = good.index(b"tEXtAuthor")
    # One byte of the Author chunk's data changed: its CRC no longer matches.
    value_at = i + len(b"tEXtAuthor\x00")
    bad = good[:value_at] + b"B" + good[value_at + 1 :]
    ex = PngExtractor().extract(file_context(bad, "a.png"))
    assert len(ex.problems) == 1 and "bad CRC" in ex.problems[0].message
    assert ex.tags["Software"] == "S"
    assert ex.tags["BadCRCChunks"] == 1


def test_truncated_chunk_is_a_problem() -> None:
    data = png_bytes(chunks=[text("Software", "S")])
    cut = data[: data.index(b"IDAT") + 20]
    ex = PngExtractor().extract(file_context(cut, "a.png"))
    assert ex.tags["Software"] == "S"
    assert len(ex.problems) == 1 and "truncated" in ex.problems[0].message


def test_ztxt_bomb_is_bounded() -> None:
    bomb = zlib.compress(b"\x00" * (4 * pngfmt.MAX_INFLATE), 9)
    data = png_bytes(chunks=[(b"zTXt", b"Comment\x00\x00" + bomb)])
    ex = PngExtractor().extract(file_context(data, "a.png"))
    v = ex.tags["Comment"]
    assert isinstance(v, dict) and v["truncated"] and v["length"] == pngfmt.MAX_INFLATE
    assert [p.type for p in ex.problems] == ["Truncated"]


def test_total_inflation_budget_is_shared() -> None:
    budget = pngfmt.InflateBudget(total=1000, per_chunk=600)
    first, cut1 = budget.inflate(zlib.compress(b"a" * 700))
    second, cut2 = budget.inflate(zlib.compress(b"b" * 700))
    assert (len(first), cut1) == (600, True)
    assert (len(second), cut2) == (400, True)


def test_bad_zlib_and_missing_keyword_are_problems() -> None:
    data = png_bytes(chunks=[(b"zTXt", b"Comment\x00\x00not zlib"), (b"tEXt", b"no terminator" * 10)])
    ex = PngExtractor().extract(file_context(data, "a.png"))
    assert len(ex.problems) == 2


def test_trailing_data_after_iend_is_counted() -> None:
    data = png_bytes() + b"appended secret"
    ex = PngExtractor().extract(file_context(data, "a.png"))
    assert ex.tags["TrailingBytes"] == len(b"appended secret") and ex.problems == ()


def test_wrong_type_is_unsupported() -> None:
    with pytest.raises(UnsupportedFile):
        PngExtractor().extract(file_context(jpeg_bytes(), "a.png", mime="image/png"))


def test_invalid_chunk_type_stops_the_walk() -> None:
    data = png_bytes()
    broken = data[:8] + png_chunk(b"IHDR", data[16:29]) + b"\x00\x00\x00\x04\x01\x02\x03\x04abcdxxxx"
    ex = PngExtractor().extract(file_context(broken, "a.png"))
    assert any("invalid chunk type" in p.message for p in ex.problems)


def test_scan_record(tmp_path: Path) -> None:
    rec = scan_one(tmp_path, "s.png", png_bytes(chunks=[text("Software", "GIMP"), TIME]))
    assert rec.metadata["png"]["Software"] == "GIMP"
    assert rec.device.software == "GIMP"
    assert any(t.name == "ModifyDate" and t.source == "png" for t in rec.timestamps)
    assert [e for e in rec.errors if e.stage == "metadata:png"] == []
