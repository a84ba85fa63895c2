"""Byte-level walkers: JPEG segments, RIFF chunks, PNG chunks, TIFF IFD0, Photoshop resources."""

from __future__ import annotations

import io
import struct

from evidence_cli.formats import jpeg, photoshop, riff, tiff
from evidence_cli.formats import png as pngfmt
from tests.builders import ASCII, UNDEFINED, Field, exif_tiff, jpeg_bytes, png_bytes, tiff_image_bytes


def seg(marker: int, payload: bytes) -> bytes:
    return b"\xff" + bytes([marker]) + struct.pack(">H", len(payload) + 2) + payload


# --- JPEG ------------------------------------------------------------------------------


def test_jpeg_walk_finds_exif_behind_big_segments() -> None:
    base = jpeg_bytes()
    big = seg(0xE2, b"ICC_PROFILE\x00" + b"\x00" * 60000)
    data = base[:2] + big + seg(0xE1, b"Exif\x00\x00" + exif_tiff(make="X")) + base[2:]
    walked = jpeg.walk(io.BytesIO(data))
    assert walked.reached_sos and walked.notes == []
    off, length = jpeg.exif_tiff_offset(walked) or (0, 0)
    assert data[off : off + 2] == b"II" and length == len(exif_tiff(make="X"))


def test_jpeg_walk_resyncs_after_junk_and_skips_fill_bytes() -> None:
    base = jpeg_bytes()
    data = base[:2] + b"\xff\xff" + b"JUNKJUNK" + seg(0xE1, b"Exif\x00\x00" + exif_tiff(make="X")) + base[2:]
    walked = jpeg.walk(io.BytesIO(data))
    assert jpeg.exif_tiff_offset(walked) is not None
    assert len(walked.notes) == 1 and "junk" in walked.notes[0]


def test_jpeg_walk_truncated_segment_and_not_a_jpeg() -> None:
    data = b"\xff\xd8" + b"\xff\xe1" + struct.pack(">H", 1000) + b"Exif\x00\x00II*\x00"
    walked = jpeg.walk(io.BytesIO(data))
    assert walked.segments[0].payload == b"Exif\x00\x00II*\x00"
    assert any("only" in n for n in walked.notes)
    assert jpeg.walk(io.BytesIO(b"GIF89a")).notes == ["not a JPEG stream (no SOI marker)"]


def test_jpeg_walk_bounded_segment_count() -> None:
    data = b"\xff\xd8" + seg(0xE5, b"x") * 50 + b"\xff\xd9"
    walked = jpeg.walk(io.BytesIO(data), max_segments=10)
    assert len(walked.segments) == 10 and "more than 10" in walked.notes[-1]


# --- RIFF ------------------------------------------------------------------------------


def riff_file(*chunks: tuple[bytes, bytes], declared: int | None = None) -> bytes:
    body = b"WEBP" + b"".join(c + struct.pack("<I", len(d)) + d + b"\x00" * (len(d) & 1) for c, d in chunks)
    return b"RIFF" + struct.pack("<I", declared if declared is not None else len(body)) + body


def test_riff_walk_reads_requested_chunks_both_exif_forms() -> None:
    t = exif_tiff(make="X")
    for payload in (t, b"Exif\x00\x00" + t):
        data = riff_file((b"VP8X", bytes(10)), (b"ICCP", b"abc"), (b"EXIF", payload))
        walked = riff.walk(io.BytesIO(data), read=frozenset({b"EXIF"}))
        assert [c.fourcc for c in walked.chunks] == [b"VP8X", b"ICCP", b"EXIF"] and walked.notes == []
        chunk = walked.first(b"EXIF")
        assert chunk is not None and walked.first(b"ICCP").data is None  # type: ignore[union-attr]
        found = riff.exif_tiff(chunk)
        assert found is not None and found[1] == t and data[found[0] : found[0] + 2] == b"II"


def test_riff_walk_truncation_is_noted() -> None:
    data = riff_file((b"EXIF", b"x" * 100))[:-50]
    walked = riff.walk(io.BytesIO(data), read=frozenset({b"EXIF"}))
    assert walked.notes and walked.chunks[0].data == b"x" * 50


# --- PNG -------------------------------------------------------------------------------


def test_png_walk_crc_and_iend() -> None:
    data = png_bytes(chunks=[(b"tEXt", b"k\x00v")])
    walked = pngfmt.walk(io.BytesIO(data), read=frozenset({b"tEXt"}))
    assert walked.ended and walked.notes == [] and all(c.crc_ok for c in walked.chunks)
    text = pngfmt.decode_text(walked.chunks[1], pngfmt.InflateBudget())
    assert text is not None and (text.keyword, text.text) == ("k", "v")


def test_png_walk_without_iend_and_bad_signature() -> None:
    data = png_bytes()
    cut = data[: data.index(b"IEND") - 4]
    assert pngfmt.walk(io.BytesIO(cut)).notes == ["PNG: no IEND chunk (the file ends early)"]
    assert pngfmt.walk(io.BytesIO(b"\x89PNX....")).notes == ["not a PNG file (bad signature)"]


def test_png_raw_profile() -> None:
    blob = b"Exif\x00\x00" + exif_tiff(make="X")
    hexed = blob.hex()
    text = "\nexif\n" + f"{len(blob):8d}\n" + "\n".join(hexed[i : i + 72] for i in range(0, len(hexed), 72)) + "\n"
    assert pngfmt.raw_profile(text) == blob
    assert pngfmt.raw_profile("\nexif\n 999999999\n00") is None
    assert pngfmt.raw_profile("garbage") is None
    # Lengths int() refuses: a Latin-1 superscript (tEXt is Latin-1), another script's
    # digit, 5,000 digits. Each used to raise ValueError and lose the file's EXIF/XMP.
    for length in ("\u00b2", "\u0663", "9" * 5000):
        assert pngfmt.raw_profile(f"\nexif\n  {length}\n00") is None


def test_itxt_invalid_utf8_is_noted() -> None:
    chunk = pngfmt.PngChunk(b"iTXt", 0, 0, b"Title\x00\x00\x00\x00\x00\xff\xfe", True)
    t = pngfmt.decode_text(chunk, pngfmt.InflateBudget())
    assert t is not None and t.error is not None and "\ufffd" in t.text


# --- TIFF and Photoshop resources ------------------------------------------------------


def test_tiff_first_ifd_and_read_value_bounds() -> None:
    data = tiff_image_bytes(ifd0=[Field(700, UNDEFINED, b"<x:xmpmeta/>"), Field(0x010F, ASCII, "Make")])
    fh = io.BytesIO(data)
    ifd = tiff.first_ifd(fh)
    notes: list[str] = []
    assert tiff.read_value(fh, ifd.entries[700], notes) == b"<x:xmpmeta/>"
    assert tiff.read_value(fh, ifd.entries[700], notes, cap=4) is None and "more than 4" in notes[0]
    assert tiff.first_ifd(io.BytesIO(b"II*\x00\xff\xff\xff\x7f")).notes == [
        "TIFF: first IFD offset 2147483647 is outside the file"
    ]


def test_photoshop_resources_and_damage() -> None:
    good = b"8BIM" + struct.pack(">HBBI", 0x0404, 0, 0, 3) + b"abc\x00"
    res = photoshop.parse(good + b"8BIM" + struct.pack(">HBBI", 0x0425, 0, 0, 100) + b"short")
    assert res.first(0x0404).data == b"abc"  # type: ignore[union-attr]
    assert res.first(0x0425).data == b"short"  # type: ignore[union-attr]
    assert len(res.notes) == 1
    assert photoshop.parse(good + b"XXXX" + b"\x01" * 20).notes[0].startswith("Photoshop: unknown resource signature")
