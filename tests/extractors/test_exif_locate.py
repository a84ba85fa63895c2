"""EXIF found where ExifRead alone misses it, and MakerNote serial numbers."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from evidence_cli.extractors.exif import ExifExtractor
from evidence_cli.formats import makernote
from tests.builders import UNDEFINED, Field, ascii, exif_tiff, file_context, jpeg_bytes, png_bytes, scan_one, tiff_bytes


def seg(marker: int, payload: bytes) -> bytes:
    return b"\xff" + bytes([marker]) + struct.pack(">H", len(payload) + 2) + payload


@pytest.mark.parametrize(
    "before", [seg(0xEB, b"JP" + b"\x00" * 8000), seg(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + b" " * 30000)]
)
def test_exif_behind_a_big_segment_is_read(before: bytes) -> None:
    base = jpeg_bytes()
    tiff = exif_tiff(make="samsung", model="SM-J320F", date_original="2018:07:06 13:55:22")
    data = base[:2] + seg(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00") + before
    data += seg(0xE1, b"Exif\x00\x00" + tiff) + base[2:]
    ex = ExifExtractor().extract(file_context(data, "a.jpg"))
    assert ex.device is not None and (ex.device.make, ex.device.model) == ("samsung", "SM-J320F")
    assert [t.value for t in ex.timestamps if t.name == "DateTimeOriginal"] == ["2018-07-06T13:55:22"]
    assert ex.problems == ()


def test_png_raw_profile_exif_is_read() -> None:
    blob = b"Exif\x00\x00" + exif_tiff(make="ImageMagick test", model="M")
    hexed = blob.hex()
    text = "\nexif\n" + f"{len(blob):8d}\n" + "\n".join(hexed[i : i + 72] for i in range(0, len(hexed), 72)) + "\n"
    data = png_bytes(chunks=[(b"tEXt", b"Raw profile type exif\x00" + text.encode())])
    ex = ExifExtractor().extract(file_context(data, "a.png"))
    assert ex.device is not None and ex.device.make == "ImageMagick test"


@pytest.mark.parametrize("length", [b"\xb2", b"9" * 5000])
def test_png_raw_profile_with_a_length_int_refuses_is_skipped_not_a_crash(length: bytes) -> None:
    # tEXt is Latin-1: b"\xb2" is "\u00b2", which str.isdigit() accepts and int() refuses.
    # The ValueError escaped the exif and xmp extractors; the PNG's own XMP was lost too.
    from evidence_cli.extractors.xmp import XmpExtractor

    bad = b"\nexif\n  " + length + b"\n4949"
    xmp_packet = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    )
    xmp_packet += (
        b'<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Make="Kept"/></rdf:RDF></x:xmpmeta>'
    )
    data = png_bytes(
        chunks=[
            (b"tEXt", b"Raw profile type exif\x00" + bad),
            (b"tEXt", b"Raw profile type xmp\x00" + bad),
            (b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + xmp_packet),
        ]
    )
    ex = ExifExtractor().extract(file_context(data, "a.png"))
    assert ex.tags == {} and all(p.severity == "warning" for p in ex.problems)
    xmp = XmpExtractor().extract(file_context(data, "a.png"))
    assert xmp.device is not None and xmp.device.make == "Kept"


JXL_HEAD = b"\x00\x00\x00\x0cJXL \r\n\x87\n" + struct.pack(">I4s4sI4s", 20, b"ftyp", b"jxl ", 0, b"jxl ")


def jxl_box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def test_jpeg_xl_exif_box_is_read() -> None:
    data = JXL_HEAD + jxl_box(b"Exif", b"\x00\x00\x00\x00" + exif_tiff(make="JXLCam", model="M1"))
    ex = ExifExtractor().extract(file_context(data + jxl_box(b"jxlc", b"\xff\x0a"), "a.jxl", mime="image/jxl"))
    assert ex.device is not None and (ex.device.make, ex.device.model) == ("JXLCam", "M1")
    assert ex.problems == ()


def test_a_bare_jpeg_xl_codestream_has_no_exif_and_no_problem() -> None:
    # It has no boxes, so no Exif (ExifRead called it "file format not recognized").
    ex = ExifExtractor().extract(file_context(b"\xff\x0a" + bytes(40), "a.jxl", mime="image/jxl"))
    assert ex.tags == {} and ex.problems == ()


@pytest.mark.parametrize(
    ("tail", "said"),
    [
        (struct.pack(">I4sQ", 1, b"jxlc", 0) + bytes(32), "smaller (0 bytes) than its header"),
        (jxl_box(b"brob", b"Exif" + bytes(20)), "Brotli-compressed"),
        (jxl_box(b"Exif", b"\x00\x00\x00\x09" + exif_tiff(make="X")), "no TIFF header at its stated offset"),
        (jxl_box(b"Exif", b"\x00\x00"), "shorter than its 4-byte header"),
    ],
    ids=["size-zero", "brob", "bad-offset", "short"],
)
def test_a_damaged_jpeg_xl_is_a_problem_and_never_loops(tmp_path: Path, tail: bytes, said: str) -> None:
    # A box whose 64-bit size is 0 sent ExifRead's own walk round that box for ever: the
    # --timeout made it an error after 5 s (a denial of service per file).
    rec = scan_one(tmp_path, "photo.jxl", JXL_HEAD + tail)
    exif = [e for e in rec.errors if e.stage == "metadata:exif"]
    assert [(e.severity, e.type) for e in exif] == [("warning", "Damaged")]
    assert exif[0].message.startswith("JPEG XL: ") and said in exif[0].message


# --- MakerNote serial numbers ----------------------------------------------------------


def ifd(entries: list[tuple[int, int, int, bytes]], start: int, bo: str = "<") -> bytes:
    """A bare IFD at offset ``start``: (tag, type, count, value bytes); long values follow it."""
    head = struct.pack(bo + "H", len(entries))
    data_at = start + 2 + 12 * len(entries) + 4
    tail = b""
    for tag, typ, count, value in entries:
        if len(value) <= 4:
            slot = value.ljust(4, b"\x00")
        else:
            slot = struct.pack(bo + "I", data_at + len(tail))
            tail += value
        head += struct.pack(bo + "HHI", tag, typ, count) + slot
    return head + b"\x00\x00\x00\x00" + tail


def nikon() -> bytes:
    return b"Nikon\x00\x02\x10\x00\x00" + tiff_bytes([ascii(0x001D, "3105364")])


def olympus() -> bytes:
    serial = b"B9V508278".ljust(31, b" ") + b"\x00"
    sub = ifd([(0x0101, 2, 32, serial)], 30)
    main = ifd([(0x2010, 13, 1, struct.pack("<I", 30))], 12)
    assert len(main) == 18
    return b"OLYMPUS\x00II\x03\x00" + main + sub


def reconyx() -> bytes:
    serial = "H500EE06130468".encode("utf-16-le").ljust(30, b"\x00")
    return b"\x01\xf1\x03\x00" + b"\x00" * (0x2A - 4) + serial + b"\x00" * 20


def canon() -> bytes:
    return ifd([(0x000C, 4, 1, struct.pack("<I", 620620599))], 0) + b"\x00" * 8


@pytest.mark.parametrize(
    ("make", "note", "serial"),
    [
        ("NIKON CORPORATION", nikon(), "3105364"),
        ("OLYMPUS IMAGING CORP.", olympus(), "B9V508278"),
        (None, reconyx(), "H500EE06130468"),
        ("Canon", canon(), "620620599"),
    ],
)
def test_makernote_serial(make: str | None, note: bytes, serial: str) -> None:
    tiff = exif_tiff(make=make, date_original="2020:01:01 00:00:00", extra_exif=[Field(0x927C, UNDEFINED, note)])
    ex = ExifExtractor().extract(file_context(jpeg_bytes(tiff), "a.jpg"))
    assert ex.device is not None and ex.device.serial == serial
    assert ex.tags["MakerNote SerialNumber"] == serial
    assert ex.problems == ()


def test_body_serial_wins_over_makernote() -> None:
    tiff = exif_tiff(make="NIKON CORPORATION", serial="BODY1", extra_exif=[Field(0x927C, UNDEFINED, nikon())])
    ex = ExifExtractor().extract(file_context(jpeg_bytes(tiff), "a.jpg"))
    assert ex.device is not None and ex.device.serial == "BODY1"


@pytest.mark.parametrize(
    "note",
    [
        b"Nikon\x00\x02\x10\x00\x00II*\x00\xff\xff\xff\x7f",  # inner IFD far outside
        b"OLYMPUS\x00II\x03\x00\xff\xff" + b"\x00" * 20,  # absurd entry count
        b"\x01\xf1\x03\x00\xff\xfe",  # Reconyx, cut short
        b"Nikon\x00\x02\x10\x00\x00II*\x00\x08\x00\x00\x00\x01\x00\x1d\x00\x02\x00\xff\xff\xff\x00\xf0\xff\xff\xff",
    ],
)
def test_damaged_makernote_gives_no_serial_and_no_crash(note: bytes) -> None:
    tiff = exif_tiff(make="NIKON CORPORATION", extra_exif=[Field(0x927C, UNDEFINED, note)])
    ex = ExifExtractor().extract(file_context(jpeg_bytes(tiff), "a.jpg"))
    assert ex.device is not None and ex.device.make == "NIKON CORPORATION" and ex.device.serial is None


def test_makernote_reader_caps_reads() -> None:
    import io

    r = makernote.Reader(io.BytesIO(b"x" * 100), cap=10)
    assert r.at(0, 1_000_000) == b"x" * 10 and r.at(-5, 3) == b"" and r.at(200, 3) == b""


def test_exifread_crash_on_damaged_ifd_becomes_a_problem() -> None:
    from tests.builders import LONG, gps_fields, patch_entry

    base = exif_tiff(make="LoopCam", date_original="2019:05:01 13:45:10", gps=gps_fields(1.0, 2.0))
    tiff = patch_entry(base, "ExifIFD", type=LONG, count=0xFFFFFFFF)
    ex = ExifExtractor().extract(file_context(jpeg_bytes(tiff), "a.jpg"))
    assert [p.severity for p in ex.problems] == ["error"]
    assert "too damaged" in ex.problems[0].message


def test_jpeg_without_exif_block_is_not_given_to_exifread() -> None:
    # An Adobe APP14 segment is what ExifRead would otherwise take for an "EXIF-like" header.
    base = jpeg_bytes()
    data = base[:2] + seg(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x01") + base[2:]
    ex = ExifExtractor().extract(file_context(data, "a.jpg"))
    assert ex.tags == {} and ex.problems == () and ex.device is None
