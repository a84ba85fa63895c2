"""Image extractor (Pillow header parse): good, wrong-type and damaged inputs built in the test."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from PIL import Image

from evidence_cli.errors import UnsupportedFile
from evidence_cli.extractors.image import ImageExtractor
from evidence_cli.models import Extraction
from evidence_cli.scanner import run_extractors
from tests.builders import (
    file_context,
    flip_byte,
    ifd_offset,
    jpeg_bytes,
    patch_entry,
    png_bytes,
    png_chunk,
    scan_one,
    set_entry_count,
    set_ifd0_offset,
    set_next_ifd,
    tiff_image_bytes,
    truncate,
)

IMAGE = ImageExtractor()


def extract(data: bytes, name: str, mime: str | None = None) -> Extraction:
    return IMAGE.extract(file_context(data, name, mime=mime))


def via_scanner(data: bytes, name: str) -> Extraction:
    """The image extractor's result as the scanner isolates it (exceptions become problems)."""
    runs = [e for e in run_extractors(file_context(data, name)) if e.extractor == "image"]
    assert len(runs) == 1
    return runs[0]


def pillow_bytes(fmt: str, size: tuple[int, int], mode: str = "RGB", **kw: object) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size).save(buf, fmt, **kw)
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR declares these dimensions, with no image data at all."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IEND", b"")


# --- good ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (jpeg_bytes(size=(20, 10)), "a.jpg", ("JPEG", 20, 10, "RGB")),
        (png_bytes((7, 5)), "a.png", ("PNG", 7, 5, "RGB")),
        (tiff_image_bytes((9, 4)), "a.tif", ("TIFF", 9, 4, "L")),
        (tiff_image_bytes((9, 4), byteorder=">"), "b.tif", ("TIFF", 9, 4, "L")),
        (pillow_bytes("GIF", (11, 3), "P"), "a.gif", ("GIF", 11, 3, "P")),
        (pillow_bytes("BMP", (6, 2)), "a.bmp", ("BMP", 6, 2, "RGB")),
        (pillow_bytes("WEBP", (5, 8), lossless=True), "a.webp", ("WEBP", 5, 8, "RGB")),
        (pillow_bytes("PNG", (3, 3), "RGBA"), "alpha.png", ("PNG", 3, 3, "RGBA")),
    ],
    ids=["jpeg", "png", "tiff-le", "tiff-be", "gif", "bmp", "webp", "png-rgba"],
)
def test_good_images(data: bytes, name: str, expected: tuple[str, int, int, str]) -> None:
    ex = extract(data, name)
    assert ex.problems == ()
    assert ex.image is not None
    assert (ex.image["format"], ex.image["width"], ex.image["height"], ex.image["mode"]) == expected
    assert dict(ex.tags) == dict(ex.image)
    assert (ex.timestamps, ex.gps, ex.device) == ((), None, None)


def test_pixels_are_never_decoded() -> None:
    # A valid header over garbage pixel data: reading the header only, nothing to report.
    ihdr = struct.pack(">IIBBBBB", 64, 48, 8, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", b"not zlib") + png_chunk(b"IEND", b"")
    ex = extract(data, "garbage.png")
    assert ex.problems == ()
    assert ex.image is not None and (ex.image["width"], ex.image["height"]) == (64, 48)


def test_through_the_scanner(tmp_path: Path) -> None:
    rec = scan_one(tmp_path, "photo.jpg", jpeg_bytes(size=(20, 10)))
    assert rec.errors == ()
    assert rec.image == {"format": "JPEG", "width": 20, "height": 10, "mode": "RGB"}
    assert rec.metadata["image"] == rec.image


# --- wrong type ----------------------------------------------------------------------


def test_wrong_type_content_is_unsupported() -> None:
    with pytest.raises(UnsupportedFile) as info:
        extract(b"hello, this is text\n" * 10, "fake.png", mime="image/png")
    # Deterministic message (Pillow's own names a memory address).
    assert "0x" not in str(info.value)


def test_wrong_type_is_not_sent_to_image(tmp_path: Path) -> None:
    rec = scan_one(tmp_path, "notes.txt", b"plain text, not an image\n")
    assert rec.image is None and "image" not in rec.metadata
    assert rec.errors == ()


# --- damaged -------------------------------------------------------------------------


@pytest.mark.parametrize(("width", "height"), [(100_000, 100_000), (2**31 - 1, 2**31 - 1), (200_000, 1_000)])
def test_decompression_bomb_header_is_a_problem_not_a_crash(width: int, height: int) -> None:
    ex = extract(png_header_only(width, height), "bomb.png")
    assert ex.image is None
    assert [(p.type, p.stage) for p in ex.problems] == [("DecompressionBombError", "metadata:image")]


def test_tiff_declaring_huge_width_is_a_bomb() -> None:
    data = patch_entry(tiff_image_bytes((8, 6)), 0x0100, value=0x7FFFFFFF)
    ex = extract(data, "huge.tif")
    assert ex.image is None
    assert [p.type for p in ex.problems] == ["DecompressionBombError"]


def test_large_but_not_absurd_header_is_read_with_a_warning() -> None:
    # 100 million pixels: above Pillow's warning threshold, below its refusal threshold.
    ex = extract(png_header_only(10_000, 10_000), "big.png")
    assert ex.image is not None and (ex.image["width"], ex.image["height"]) == (10_000, 10_000)
    assert [p.type for p in ex.problems] == ["DecompressionBombWarning"]


def test_bomb_through_the_scanner(tmp_path: Path) -> None:
    rec = scan_one(tmp_path, "bomb.png", png_header_only(100_000, 100_000))
    assert rec.image is None
    assert [(e.stage, e.type) for e in rec.errors] == [("metadata:image", "DecompressionBombError")]


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (truncate(png_bytes(), 20), "cut.png"),
        (truncate(jpeg_bytes(), 30), "cut.jpg"),
        (truncate(jpeg_bytes(), 200), "cut200.jpg"),
    ],
    ids=["png-in-ihdr", "jpeg-in-dqt", "jpeg-in-tables"],
)
def test_truncated_headers_become_one_error(data: bytes, name: str) -> None:
    ex = via_scanner(data, name)
    assert ex.image is None
    assert len(ex.problems) == 1
    assert (ex.problems[0].stage, ex.problems[0].severity) == ("metadata:image", "error")


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (flip_byte(png_header_only(10, 10), 8 + 8 + 13 + 3, 0x01), "crc.png"),  # IHDR CRC flipped
        (flip_byte(jpeg_bytes(), 3), "marker.jpg"),  # first segment marker flipped
        (set_ifd0_offset(tiff_image_bytes(), 0xFFFFFF00), "ifd.tif"),  # IFD0 past the end
        (truncate(tiff_image_bytes(), 20), "cut.tif"),
    ],
    ids=["png-crc", "jpeg-marker", "tiff-ifd-offset", "tiff-truncated"],
)
def test_unreadable_headers_become_one_warning(data: bytes, name: str) -> None:
    ex = via_scanner(data, name)
    assert ex.image is None
    assert [(p.stage, p.severity, p.type) for p in ex.problems] == [("metadata:image", "warning", "UnsupportedFile")]
    assert "0x" not in ex.problems[0].message


def test_tiff_ifd_loop_is_harmless() -> None:
    data = tiff_image_bytes((8, 6))
    ex = extract(set_next_ifd(data, ifd_offset(data)), "loop.tif")
    assert ex.problems == ()
    assert ex.image is not None and (ex.image["width"], ex.image["height"]) == (8, 6)


def test_tiff_absurd_entry_count_is_read_with_warnings() -> None:
    ex = extract(set_entry_count(tiff_image_bytes((8, 6)), 65535), "count.tif")
    assert ex.image is not None and (ex.image["width"], ex.image["height"]) == (8, 6)
    assert len(ex.problems) == 2
    assert all(p.type == "UserWarning" and "Corrupt EXIF data" in p.message for p in ex.problems)


def test_same_damaged_bytes_same_problems() -> None:
    data = flip_byte(png_header_only(10, 10), 8 + 8 + 13 + 3, 0x01)
    assert via_scanner(data, "x.png").problems == via_scanner(data, "x.png").problems
