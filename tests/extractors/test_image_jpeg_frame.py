"""The image extractor's JPEG header reader (formats/jpeg_frame) against Pillow itself.

The fast path must give exactly what ``Image.open`` gives (format, size, mode, problems)
and decline (None) every header it has not proven identical. Each test compares
``ImageExtractor.extract`` with ``ImageExtractor.extract_with_pillow`` on the same bytes;
the mutation test does so on a few thousand damaged headers.
"""

from __future__ import annotations

import io
import random
import struct
from typing import Any

import pytest
from PIL import Image

from evidence_cli.extractors.image import ImageExtractor
from evidence_cli.formats.jpeg_frame import plain_frame
from tests.builders import (
    LONG,
    RATIONAL,
    SHORT,
    Field,
    ascii,
    exif_tiff,
    file_context,
    jpeg_bytes,
    tiff_bytes,
)

IMAGE = ImageExtractor()


def both(data: bytes) -> tuple[Any, Any]:
    """(fast-path answer, Pillow's answer) as comparable values (an exception as type + text)."""

    def run(call: Any) -> Any:
        try:
            return call(file_context(data, "x.jpg", mime="image/jpeg"))
        except Exception as exc:  # noqa: BLE001 - compared, not hidden
            return (type(exc).__name__, str(exc))

    return run(IMAGE.extract), run(IMAGE.extract_with_pillow)


def pillow_jpeg(mode: str = "RGB", size: tuple[int, int] = (24, 16), **kw: Any) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color=(10, 20, 30, 40)[: len(mode)] if mode != "L" else 7).save(buf, "JPEG", **kw)
    return buf.getvalue()


def seg(marker: int, payload: bytes) -> bytes:
    return b"\xff" + bytes([marker]) + struct.pack(">H", len(payload) + 2) + payload


def insert_after_soi(data: bytes, *segments: bytes) -> bytes:
    return data[:2] + b"".join(segments) + data[2:]


def photoshop(*resources: bytes) -> bytes:
    return b"Photoshop 3.0\x00" + b"".join(resources)


def resource(code: int, data: bytes, name: bytes = b"\x00\x00") -> bytes:
    return b"8BIM" + struct.pack(">H", code) + name + struct.pack(">I", len(data)) + data + b"\x00" * (len(data) % 2)


def exif_dpi(unit: Field | None, xres: Field | None, byteorder: str = "<") -> bytes:
    fields = [ascii("Make", "Canon")] + [f for f in (unit, xres) if f is not None]
    return b"Exif\x00\x00" + tiff_bytes(fields, byteorder=byteorder)


# --- good: plain headers, read without Pillow, same answer ------------------------------

GOOD = {
    "rgb": pillow_jpeg(),
    "grey": pillow_jpeg("L"),
    "cmyk": pillow_jpeg("CMYK"),
    "progressive": pillow_jpeg(progressive=True),
    "optimized": pillow_jpeg(optimize=True),
    "jfif-dpi": pillow_jpeg(dpi=(300, 300)),
    "icc": pillow_jpeg(icc_profile=b"\x00" * 300),
    "comment": pillow_jpeg(comment=b"hello"),
    "exif-gps": jpeg_bytes(exif_tiff(make="Canon", date_original="2019:05:01 13:45:10")),
    "exif-motorola": jpeg_bytes(exif_tiff(make="Nikon", byteorder=">")),
    "exif-dpi-cm": insert_after_soi(
        pillow_jpeg(), seg(0xE1, exif_dpi(Field(0x0128, SHORT, [3]), Field(0x011A, RATIONAL, [(72, 1)])))
    ),
    "exif-dpi-zero-den": insert_after_soi(
        pillow_jpeg(), seg(0xE1, exif_dpi(Field(0x0128, SHORT, [2]), Field(0x011A, RATIONAL, [(72, 0)])))
    ),
    "two-exif-segments": insert_after_soi(
        pillow_jpeg(), seg(0xE1, b"Exif\x00\x00" + exif_tiff(make="A")), seg(0xE1, b"Exif\x00\x00" + b"more")
    ),
    "empty-exif": insert_after_soi(pillow_jpeg(), seg(0xE1, b"Exif\x00\x00")),
    "adobe": insert_after_soi(pillow_jpeg("CMYK"), seg(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x02")),
    "photoshop-iptc": insert_after_soi(
        pillow_jpeg(),
        seg(0xED, photoshop(resource(0x0404, b"\x1c\x02\x05\x00\x03abc"), resource(0x03ED, b"\x00" * 16))),
    ),
    "photoshop-short-resolution": insert_after_soi(pillow_jpeg(), seg(0xED, photoshop(resource(0x03ED, b"\x00" * 4)))),
    "app-and-com-mix": insert_after_soi(
        pillow_jpeg(), seg(0xE5, b"anything"), seg(0xFE, b""), seg(0xEF, b"x" * 100), seg(0xE2, b"FPXR\x00junk")
    ),
    "large": pillow_jpeg(size=(3000, 2000)),
}


@pytest.mark.parametrize("name", sorted(GOOD))
def test_plain_headers_are_read_without_pillow_with_pillows_answer(name: str) -> None:
    data = GOOD[name]
    frame = plain_frame(data)
    assert frame is not None, name
    fast, slow = both(data)
    assert fast == slow
    assert fast.problems == ()
    with Image.open(io.BytesIO(data)) as im:
        assert (frame, fast.image) == (
            (im.size[0], im.size[1], im.mode),
            {"format": im.format, "width": im.size[0], "height": im.size[1], "mode": im.mode},
        )


def test_modes_follow_component_count() -> None:
    assert [plain_frame(GOOD[n]) for n in ("grey", "rgb", "cmyk")] == [(24, 16, "L"), (24, 16, "RGB"), (24, 16, "CMYK")]


# --- wrong type: not a JPEG at all -------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"\xff\xd8", b"GIF89a" + b"\x00" * 40, b"\x89PNG\r\n\x1a\n" + b"\x00" * 40])
def test_not_a_jpeg_is_declined(data: bytes) -> None:
    assert plain_frame(data) is None


def test_not_a_jpeg_still_goes_to_pillow() -> None:
    fast, slow = both(b"hello, this is text\n" * 10)
    assert fast == slow
    assert fast[0] == "UnsupportedFile"


# --- damaged / unusual: declined, so Pillow's own answer and problems ---------------------


def _sof_at(data: bytes) -> int:
    i = 2
    while data[i + 1] not in (0xC0, 0xC2):
        i += 2 + struct.unpack(">H", data[i + 2 : i + 4])[0]
    return i


def _patch(data: bytes, at: int, new: bytes) -> bytes:
    return data[:at] + new + data[at + len(new) :]


BASE = pillow_jpeg()
SOF = _sof_at(BASE)
MPO = io.BytesIO()
Image.new("RGB", (8, 8)).save(MPO, "MPO", save_all=True, append_images=[Image.new("RGB", (8, 8))])

DECLINED = {
    "mpo": MPO.getvalue(),
    "12-bit": _patch(BASE, SOF + 4, b"\x0c"),
    "two-components": _patch(BASE, SOF + 9, b"\x02"),
    "zero-width": _patch(BASE, SOF + 7, b"\x00\x00"),
    "two-frames": insert_after_soi(BASE, BASE[SOF : SOF + 2 + struct.unpack(">H", BASE[SOF + 2 : SOF + 4])[0]]),
    "junk-before-marker": insert_after_soi(BASE, b"\x00junk"),
    "fill-bytes": insert_after_soi(BASE, b"\xff\xff"),
    "standalone-marker": insert_after_soi(BASE, b"\xff\xd0"),
    "reserved-marker": insert_after_soi(BASE, b"\xff\x01"),
    "short-jfif": insert_after_soi(BASE, seg(0xE0, b"JFIF\x00")),
    "short-adobe": insert_after_soi(BASE, seg(0xEE, b"Adobe")),
    "short-icc": insert_after_soi(BASE, seg(0xE2, b"ICC_PROFILE\x00\x01")),
    "photoshop-name-past-end": insert_after_soi(BASE, seg(0xED, photoshop(b"8BIM\x04\x04"))),
    "short-dqt": insert_after_soi(BASE, seg(0xDB, b"\x00" + b"\x01" * 10)),
    "length-below-2": insert_after_soi(BASE, b"\xff\xe5\x00\x01"),
    "truncated-in-header": BASE[: SOF + 6],
    "no-sos": BASE[: BASE.index(b"\xff\xda")],
    "exif-xres-twice": insert_after_soi(
        BASE, seg(0xE1, exif_dpi(Field(0x0128, SHORT, [2]), Field(0x011A, RATIONAL, [(72, 1), (72, 1)])))
    ),
    "exif-xres-as-text": insert_after_soi(BASE, seg(0xE1, exif_dpi(Field(0x0128, SHORT, [2]), ascii(0x011A, "")))),
    "exif-unit-as-long": insert_after_soi(BASE, seg(0xE1, exif_dpi(Field(0x0128, LONG, [2]), None))),
    "exif-ifd-past-end": insert_after_soi(BASE, seg(0xE1, b"Exif\x00\x00II*\x00\xff\x00\x00\x00")),
    "exif-value-past-end": insert_after_soi(
        BASE, seg(0xE1, b"Exif\x00\x00" + tiff_bytes([Field(0x010F, 2, b"x" * 40, count=4000)]))
    ),
    "exif-not-tiff": insert_after_soi(BASE, seg(0xE1, b"Exif\x00\x00XX*\x00\x08\x00\x00\x00")),
}


@pytest.mark.parametrize("name", sorted(DECLINED))
def test_unusual_headers_are_left_to_pillow(name: str) -> None:
    data = DECLINED[name]
    assert plain_frame(data) is None, name
    fast, slow = both(data)
    assert fast == slow


def test_declined_headers_keep_pillows_problems() -> None:
    # Pillow's answers for some of them, kept as they were: a 12-bit JPEG is not
    # identified, a damaged XResolution is a warning, an MPO is reported as such.
    assert both(DECLINED["12-bit"])[0][0] == "UnsupportedFile"
    warned = both(DECLINED["exif-xres-twice"])[0]
    assert [p.type for p in warned.problems] == ["UserWarning"] and "too many entries" in warned.problems[0].message
    assert both(DECLINED["mpo"])[0].image["format"] == "MPO"


def test_bomb_sized_header_is_left_to_pillow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 24x16 = 384 pixels: a "bomb" now
    fast, slow = both(BASE)
    assert fast == slow
    assert [p.type for p in fast.problems] == ["DecompressionBombError"]


def test_plugin_without_signature_check_before_jpeg_is_left_to_pillow(monkeypatch: pytest.MonkeyPatch) -> None:
    # Image.open would try such a plugin on the content first: the fast path must not guess.
    both(BASE)  # Pillow's plugins are loaded
    calls: list[int] = []

    def reject(fp: Any, filename: Any = None) -> Any:
        calls.append(1)
        raise SyntaxError("not mine")

    monkeypatch.setitem(Image.OPEN, "NOSIG", (reject, None))
    monkeypatch.setattr(Image, "ID", ["NOSIG", *Image.ID])
    fast, slow = both(BASE)
    assert fast == slow and fast.image["format"] == "JPEG"
    assert len(calls) == 2  # Pillow was asked both times


# --- the proof on damage: thousands of mutated headers, same answers ----------------------


def _mutations(data: bytes, rng: random.Random) -> bytes:
    end = data.index(b"\xff\xda") + 20
    b = bytearray(data)
    kind = rng.randrange(4)
    if kind == 0:  # flip bytes in the header
        for _ in range(rng.randint(1, 3)):
            b[rng.randrange(2, end)] ^= 1 << rng.randrange(8)
    elif kind == 1:  # set a byte to a marker-ish value
        b[rng.randrange(2, end)] = rng.choice([0x00, 0x01, 0x02, 0x03, 0x04, 0x08, 0x0C, 0xFF, 0xD8, 0xDA, 0xE2])
    elif kind == 2:  # cut the file inside its header
        del b[rng.randrange(2, end) :]
    else:  # insert junk
        at = rng.randrange(2, end)
        b[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
    return bytes(b)


def test_mutated_headers_give_pillows_answers() -> None:
    rng = random.Random(6)
    seeds = [
        GOOD["exif-gps"],
        GOOD["exif-dpi-cm"],
        GOOD["photoshop-iptc"],
        GOOD["cmyk"],
        GOOD["icc"],
        GOOD["progressive"],
        GOOD["exif-motorola"],
    ]
    plain = declined = 0
    for i in range(2500):
        data = _mutations(seeds[i % len(seeds)], rng)
        fast, slow = both(data)
        assert fast == slow, data[:200].hex()
        if plain_frame(data) is None:
            declined += 1
        else:
            plain += 1
    # Both paths were exercised a good deal.
    assert plain > 250 and declined > 250, (plain, declined)
