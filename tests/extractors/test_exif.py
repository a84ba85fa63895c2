"""EXIF extractor: good, wrong-type and damaged inputs, built in the test (tests/builders.py)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from evidence_cli.errors import UnsupportedFile
from evidence_cli.extractors import for_type
from evidence_cli.extractors.exif import ExifExtractor
from evidence_cli.models import Extraction, Timestamp
from evidence_cli.scanner import run_extractors, scan
from tests.builders import (
    JPEG_TIFF_OFFSET,
    RATIONAL,
    UNDEFINED,
    Field,
    ascii,
    dms,
    dms_value,
    entry_offset,
    exif_tiff,
    file_context,
    flip_byte,
    gps_fields,
    ifd_offset,
    jpeg_bytes,
    patch_entry,
    png_bytes,
    scan_one,
    set_ifd0_offset,
    set_next_ifd,
    tiff_image_bytes,
    truncate,
    webp_bytes,
)

EXIF = ExifExtractor()


def extract(data: bytes, name: str = "photo.jpg", mime: str | None = None) -> Extraction:
    return EXIF.extract(file_context(data, name, mime=mime))


def by_name(ex: Extraction) -> dict[str, Timestamp]:
    names = [t.name for t in ex.timestamps]
    assert len(names) == len(set(names)), names
    return {t.name: t for t in ex.timestamps}


def messages(ex: Extraction) -> list[str]:
    return [p.message for p in ex.problems]


FULL = dict(
    make="Canon",
    model="Canon EOS R5",
    software="Firmware 1.8.1",
    serial="012345678901",
    lens="RF24-105mm F4 L IS USM",
    date_original="2019:05:01 13:45:10",
    subsec_original="123",
    offset_original="+02:00",
    create_date="2019:05:01 13:45:11",
    subsec_create="5",
    offset_create="+02:00",
    modify_date="2019:05:02 09:00:00",
    offset_modify="-05:30",
)


# --- good ----------------------------------------------------------------------------


@pytest.mark.parametrize("byteorder", ["<", ">"])
def test_good_jpeg_every_field(byteorder: str) -> None:
    gps = gps_fields(48.8584, 2.2945, alt=35.2, date="2019:05:01", time=(11, 45, 10))
    ex = extract(jpeg_bytes(exif_tiff(gps=gps, byteorder=byteorder, **FULL)))

    assert ex.problems == ()
    ts = by_name(ex)
    assert list(ts) == ["DateTimeOriginal", "CreateDate", "ModifyDate", "GPSDateTime"]
    dto = ts["DateTimeOriginal"]
    assert (dto.source, dto.value, dto.utc, dto.offset_origin) == (
        "exif",
        "2019-05-01T13:45:10.123+02:00",
        "2019-05-01T11:45:10.123Z",
        "stored",
    )
    assert dto.raw == "2019:05:01 13:45:10 SubSecTimeOriginal=123 OffsetTimeOriginal=+02:00"
    assert (ts["CreateDate"].value, ts["CreateDate"].utc) == ("2019-05-01T13:45:11.5+02:00", "2019-05-01T11:45:11.5Z")
    assert (ts["ModifyDate"].value, ts["ModifyDate"].utc) == ("2019-05-02T09:00:00-05:30", "2019-05-02T14:30:00Z")
    gdt = ts["GPSDateTime"]
    assert (gdt.value, gdt.utc) == ("2019-05-01T11:45:10+00:00", "2019-05-01T11:45:10Z")
    assert gdt.offset_origin == "utc-by-spec"

    assert ex.gps is not None
    assert ex.gps.latitude == pytest.approx(48.8584, abs=1e-6)
    assert ex.gps.longitude == pytest.approx(2.2945, abs=1e-6)
    assert ex.gps.altitude == pytest.approx(35.2, abs=1e-3)
    assert ex.gps.timestamp_utc == "2019-05-01T11:45:10Z"
    assert ex.gps.source == "exif"
    assert ex.gps.raw["GPSLatitudeRef"] == "N"

    assert ex.device is not None
    assert (ex.device.make, ex.device.model, ex.device.serial, ex.device.software, ex.device.lens) == (
        "Canon",
        "Canon EOS R5",
        "012345678901",
        "Firmware 1.8.1",
        "RF24-105mm F4 L IS USM",
    )
    # Raw tags are kept verbatim under ExifRead's flat keys.
    assert ex.tags["Image Make"] == "Canon"
    assert ex.tags["EXIF DateTimeOriginal"] == "2019:05:01 13:45:10"
    assert ex.tags["EXIF OffsetTimeOriginal"] == "+02:00"
    assert ex.tags["GPS GPSDate"] == "2019:05:01"


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(48.8584, 2.2945), (-33.8568, 151.2153), (-22.9519, -43.2105), (36.2461, -116.8185), (0.5, -0.25)],
)
def test_gps_signs_follow_the_references(lat: float, lon: float) -> None:
    ex = extract(jpeg_bytes(exif_tiff(gps=gps_fields(lat, lon))))
    assert ex.problems == ()
    assert ex.gps is not None
    assert ex.gps.latitude == pytest.approx(lat, abs=1e-6)
    assert ex.gps.longitude == pytest.approx(lon, abs=1e-6)
    assert ex.gps.altitude is None
    assert ex.gps.raw["GPSLatitudeRef"] == ("S" if lat < 0 else "N")
    assert ex.gps.raw["GPSLongitudeRef"] == ("W" if lon < 0 else "E")


def test_gps_exact_dms_rationals() -> None:
    parts = [(36, 1), (14, 1), (4596, 100)]
    ex = extract(jpeg_bytes(exif_tiff(gps=gps_fields(lat_dms=parts, lon_dms=dms(116.8185), lon_ref="W"))))
    assert ex.gps is not None
    assert ex.gps.latitude == pytest.approx(dms_value(parts), abs=1e-9)
    assert ex.gps.latitude == pytest.approx(36.2461, abs=1e-6)
    assert ex.gps.longitude == pytest.approx(-116.8185, abs=1e-6)


@pytest.mark.parametrize(("alt", "expected"), [(-85.5, -85.5), (0.0, 0.0), (8848.86, 8848.86)])
def test_altitude_sign_from_altitude_ref(alt: float, expected: float) -> None:
    ex = extract(jpeg_bytes(exif_tiff(gps=gps_fields(31.5, 35.5, alt=alt))))
    assert ex.problems == ()
    assert ex.gps is not None and ex.gps.altitude == pytest.approx(expected, abs=1e-3)
    assert ex.gps.raw["GPSAltitudeRef"] == (1 if alt < 0 else 0)


def test_altitude_without_ref_is_above_sea_level() -> None:
    ex = extract(jpeg_bytes(exif_tiff(gps=gps_fields(10.0, 10.0, alt_rational=(120, 1), alt_ref=None))))
    assert ex.problems == ()
    assert ex.gps is not None and ex.gps.altitude == 120.0


def test_altitude_unknown_ref_drops_only_the_altitude() -> None:
    ex = extract(jpeg_bytes(exif_tiff(gps=gps_fields(10.0, 20.0, alt_rational=(120, 1), alt_ref=2))))
    assert ex.gps is not None
    assert (ex.gps.latitude, ex.gps.longitude, ex.gps.altitude) == (pytest.approx(10.0), pytest.approx(20.0), None)
    assert len(ex.problems) == 1 and "GPSAltitudeRef" in ex.problems[0].message


@pytest.mark.parametrize(
    ("subsec", "value", "utc"),
    [
        ("5", "2020-02-29T23:59:59.5+01:00", "2020-02-29T22:59:59.5Z"),
        ("050", "2020-02-29T23:59:59.050+01:00", "2020-02-29T22:59:59.050Z"),
        ("123456789", "2020-02-29T23:59:59.123456789+01:00", "2020-02-29T22:59:59.123456789Z"),
        ("  42\x00", "2020-02-29T23:59:59.42+01:00", "2020-02-29T22:59:59.42Z"),
    ],
)
def test_subseconds_keep_their_stored_precision(subsec: str, value: str, utc: str) -> None:
    tiff = exif_tiff(date_original="2020:02:29 23:59:59", subsec_original=subsec, offset_original="+01:00")
    ex = extract(jpeg_bytes(tiff))
    assert ex.problems == ()
    ts = by_name(ex)["DateTimeOriginal"]
    assert (ts.value, ts.utc) == (value, utc)


@pytest.mark.parametrize(
    ("offset", "value", "utc"),
    [
        ("+05:30", "2021-06-01T00:10:00+05:30", "2021-05-31T18:40:00Z"),
        ("-03:00", "2021-06-01T00:10:00-03:00", "2021-06-01T03:10:00Z"),
        ("+00:00", "2021-06-01T00:10:00+00:00", "2021-06-01T00:10:00Z"),
        ("-0930", "2021-06-01T00:10:00-09:30", "2021-06-01T09:40:00Z"),
        ("+14:00", "2021-06-01T00:10:00+14:00", "2021-05-31T10:10:00Z"),
    ],
)
def test_stored_offsets(offset: str, value: str, utc: str) -> None:
    ex = extract(jpeg_bytes(exif_tiff(date_original="2021:06:01 00:10:00", offset_original=offset)))
    assert ex.problems == ()
    ts = by_name(ex)["DateTimeOriginal"]
    assert (ts.value, ts.utc, ts.offset_origin) == (value, utc, "stored")


@pytest.mark.parametrize("offset", ["+2 hours", "+15:00", "+05:75", "CET", "1:00"])
def test_malformed_offset_is_a_problem_and_the_value_stays_naive(offset: str) -> None:
    tiff = exif_tiff(date_original="2021:06:01 00:10:00", subsec_original="25", offset_original=offset)
    ex = extract(jpeg_bytes(tiff))
    assert len(ex.problems) == 1, messages(ex)
    ts = by_name(ex)["DateTimeOriginal"]
    assert (ts.value, ts.utc, ts.offset_origin) == ("2021-06-01T00:10:00.25", None, "none")
    assert f"OffsetTimeOriginal={offset}" in ts.raw  # the stored text is kept


def test_blank_offset_means_unknown_not_damage() -> None:
    ex = extract(jpeg_bytes(exif_tiff(date_original="2021:06:01 00:10:00", offset_original="   :  ")))
    assert ex.problems == ()
    ts = by_name(ex)["DateTimeOriginal"]
    assert (ts.value, ts.utc, ts.offset_origin) == ("2021-06-01T00:10:00", None, "none")


def test_malformed_subseconds_keep_the_valid_offset() -> None:
    tiff = exif_tiff(date_original="2021:06:01 00:10:00", subsec_original="1x", offset_original="+02:00")
    ex = extract(jpeg_bytes(tiff))
    assert len(ex.problems) == 1 and "sub-seconds" in ex.problems[0].message
    ts = by_name(ex)["DateTimeOriginal"]
    assert (ts.value, ts.utc, ts.offset_origin) == ("2021-06-01T00:10:00+02:00", "2021-05-31T22:10:00Z", "stored")


@pytest.mark.parametrize(
    "blank",
    [b"0000:00:00 00:00:00\x00", b"    :  :     :  :  \x00", b"\x00" * 20, b"                   \x00", b"\x00"],
)
def test_all_zero_or_blank_dates_give_no_timestamp_and_no_problem(blank: bytes) -> None:
    tiff = exif_tiff(make="X", date_original=blank, create_date=blank, modify_date=blank)
    ex = extract(jpeg_bytes(tiff))
    assert ex.timestamps == ()
    assert ex.problems == ()


@pytest.mark.parametrize("bad", ["2019:13:01 10:00:00", "2019:02:30 10:00:00", "2019:05:01 25:00:00", "yesterday"])
def test_impossible_date_is_one_problem_and_no_timestamp(bad: str) -> None:
    ex = extract(jpeg_bytes(exif_tiff(date_original=bad, create_date="2019:05:01 10:00:00")))
    assert len(ex.problems) == 1, messages(ex)
    assert list(by_name(ex)) == ["CreateDate"]


# --- GPS validation -------------------------------------------------------------------


def test_gps_zero_denominators_give_no_point_and_a_problem() -> None:
    zeros = [(0, 0), (0, 0), (0, 0)]
    ex = extract(jpeg_bytes(exif_tiff(gps=gps_fields(lat_dms=zeros, lon_dms=zeros, alt_rational=(0, 0)))))
    assert ex.gps is None  # never a point at 0,0
    assert len(ex.problems) == 1 and "zero denominator" in ex.problems[0].message
    # The stored rationals stay visible in the raw tags.
    assert ex.tags["GPS GPSLatitude"] == [[0, 0], [0, 0], [0, 0]]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"lat_dms": [(95, 1), (0, 1), (0, 1)], "lon_dms": dms(10.0)}, "outside"),
        ({"lat_dms": dms(45.0), "lon_dms": [(181, 1), (0, 1), (0, 1)]}, "outside"),
        ({"lat_dms": [(45, 1), (61, 1), (0, 1)], "lon_dms": dms(10.0)}, "out of range"),
        ({"lat": 45.0, "lon": 10.0, "lat_ref": None}, "reference"),
        ({"lat": 45.0, "lon": 10.0, "lon_ref": None}, "reference"),
        ({"lat": 45.0, "lon": 10.0, "lat_ref": "X"}, "reference"),
        ({"lat": 45.0}, "missing"),
    ],
)
def test_invalid_positions_are_rejected(kwargs: dict[str, object], fragment: str) -> None:
    ex = extract(jpeg_bytes(exif_tiff(gps=gps_fields(**kwargs))))  # type: ignore[arg-type]
    assert ex.gps is None
    assert len(ex.problems) == 1, messages(ex)
    assert "GPS position rejected" in ex.problems[0].message and fragment in ex.problems[0].message


def test_gps_ifd_without_position_is_not_a_problem() -> None:
    ex = extract(jpeg_bytes(exif_tiff(gps=gps_fields(date="2019:05:01", time=(10, 0, 0)))))
    assert ex.gps is None
    assert ex.problems == ()
    assert by_name(ex)["GPSDateTime"].utc == "2019-05-01T10:00:00Z"


def test_unusable_gps_date_is_a_problem_but_the_position_stays() -> None:
    ex = extract(jpeg_bytes(exif_tiff(gps=gps_fields(1.5, 2.5, date="2019:13:45", time=(10, 0, 0)))))
    assert len(ex.problems) == 1 and "GPSDateTime" in ex.problems[0].message
    assert "GPSDateTime" not in by_name(ex)
    assert ex.gps is not None and ex.gps.timestamp_utc is None


def test_gps_time_fractional_seconds() -> None:
    gps = gps_fields(1.0, 1.0, date="2020:12:31", time_rationals=[(13, 1), (0, 1), (525, 100)])
    ex = extract(jpeg_bytes(exif_tiff(gps=gps)))
    assert ex.problems == ()
    assert by_name(ex)["GPSDateTime"].utc == "2020-12-31T13:00:05.25Z"


# --- GPS-inferred offsets --------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "gps_time", "utc"),
    [
        ("2021:07:04 06:30:00", (13, 30, 2), "2021-07-04T13:30:00Z"),  # -07:00, GPS 2 s late
        ("2021:07:04 19:00:00", (13, 30, 0), "2021-07-04T13:30:00Z"),  # +05:30
        ("2021:07:04 13:31:30", (13, 30, 0), "2021-07-04T13:31:30Z"),  # +00:00, 90 s apart
    ],
)
def test_offset_inferred_from_gps_time(local: str, gps_time: tuple[int, int, int], utc: str) -> None:
    tiff = exif_tiff(date_original=local, create_date=local, gps=gps_fields(1.0, 1.0, date="2021:07:04", time=gps_time))
    ex = extract(jpeg_bytes(tiff))
    assert ex.problems == ()
    ts = by_name(ex)
    dto = ts["DateTimeOriginal"]
    iso_local = local.replace(":", "-", 2).replace(" ", "T")
    assert (dto.value, dto.utc, dto.offset_origin) == (iso_local, utc, "gps-inferred")
    # Only DateTimeOriginal is inferred; the others stay naive.
    assert (ts["CreateDate"].utc, ts["CreateDate"].offset_origin) == (None, "none")


@pytest.mark.parametrize(
    ("local", "gps_time"),
    [
        ("2021:07:04 13:45:10", (11, 52, 10)),  # 1 h 53 min: 7 min away from any quarter hour
        ("2021:07:04 23:30:00", (8, 30, 0)),  # +15:00 is not a real offset
        ("2021:07:04 00:00:00", (13, 0, 0)),  # -13:00 neither
    ],
)
def test_no_inference_when_the_difference_is_not_an_offset(local: str, gps_time: tuple[int, int, int]) -> None:
    tiff = exif_tiff(date_original=local, gps=gps_fields(1.0, 1.0, date="2021:07:04", time=gps_time))
    ex = extract(jpeg_bytes(tiff))
    assert ex.problems == ()
    dto = by_name(ex)["DateTimeOriginal"]
    assert (dto.utc, dto.offset_origin) == (None, "none")


def test_stored_offset_wins_over_gps() -> None:
    tiff = exif_tiff(
        date_original="2021:07:04 06:30:00",
        offset_original="+02:00",
        gps=gps_fields(1.0, 1.0, date="2021:07:04", time=(13, 30, 0)),
    )
    dto = by_name(extract(jpeg_bytes(tiff)))["DateTimeOriginal"]
    assert (dto.utc, dto.offset_origin) == ("2021-07-04T04:30:00Z", "stored")


# --- containers ----------------------------------------------------------------------


def test_tiff_file() -> None:
    data = tiff_image_bytes(
        (8, 6),
        byteorder=">",
        ifd0=[ascii("Make", "Fujitsu"), ascii("Model", "fi-7160"), ascii("DateTime", "2024:03:15 10:20:30")],
        exif=[ascii("DateTimeOriginal", "2024:03:15 10:20:30"), ascii("OffsetTimeOriginal", "+00:00")],
        gps=gps_fields(-1.25, 36.75),
    )
    ex = extract(data, "scan.tif")
    assert ex.problems == ()
    ts = by_name(ex)
    assert (ts["DateTimeOriginal"].utc, ts["ModifyDate"].utc) == ("2024-03-15T10:20:30Z", None)
    assert ex.device is not None and (ex.device.make, ex.device.model) == ("Fujitsu", "fi-7160")
    assert ex.gps is not None and (ex.gps.latitude, ex.gps.longitude) == (pytest.approx(-1.25), pytest.approx(36.75))
    assert ex.tags["Image ImageWidth"] == 8


def test_png_with_exif_chunk() -> None:
    tiff = exif_tiff(make="Google", model="Pixel 7", date_original="2022:10:09 20:01:02", offset_original="+01:00")
    ex = extract(png_bytes(exif=tiff), "screen.png")
    assert ex.problems == ()
    assert by_name(ex)["DateTimeOriginal"].utc == "2022-10-09T19:01:02Z"
    assert ex.device is not None and ex.device.model == "Pixel 7"


def test_png_without_exif_is_not_a_problem() -> None:
    ex = extract(png_bytes(chunks=[(b"tEXt", b"Comment\x00hello")]), "plain.png")
    assert (ex.tags, ex.timestamps, ex.gps, ex.device, ex.problems) == ({}, (), None, None, ())


def _riff(chunks: list[tuple[bytes, bytes]]) -> bytes:
    body = b"".join(k + struct.pack("<I", len(d)) + d + b"\x00" * (len(d) % 2) for k, d in chunks)
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def _chunks(webp: bytes) -> list[tuple[bytes, bytes]]:
    out, at = [], 12
    while at + 8 <= len(webp):
        kind, size = webp[at : at + 4], struct.unpack_from("<I", webp, at + 4)[0]
        out.append((kind, webp[at + 8 : at + 8 + size]))
        at += 8 + size + size % 2
    return out


@pytest.mark.parametrize("prefixed", [False, True], ids=["bare-tiff", "Exif00-prefix"])
def test_webp_with_exif(prefixed: bool) -> None:
    tiff = exif_tiff(make="Samsung", date_original="2023:02:18 22:15:30", offset_original="-03:00")
    try:
        data = webp_bytes(tiff)
    except RuntimeError as exc:  # Pillow without WebP support
        pytest.skip(str(exc))
    chunks = _chunks(data)
    assert any(k == b"EXIF" for k, _ in chunks)
    # Pillow stores the bare TIFF structure (the WebP spec); cameras may prefix "Exif\0\0".
    data = _riff([(k, (b"Exif\x00\x00" + d if prefixed and k == b"EXIF" else d)) for k, d in chunks])
    ex = extract(data, "sticker.webp")
    assert ex.problems == ()
    assert by_name(ex)["DateTimeOriginal"].utc == "2023-02-19T01:15:30Z"
    assert ex.device is not None and ex.device.make == "Samsung"


def test_webp_without_exif_is_not_a_problem() -> None:
    try:
        data = webp_bytes()
    except RuntimeError as exc:
        pytest.skip(str(exc))
    ex = extract(data, "plain.webp")
    assert (ex.tags, ex.problems) == ({}, ())


def test_jpeg_without_exif() -> None:
    ex = extract(jpeg_bytes())
    assert (ex.tags, ex.timestamps, ex.gps, ex.device, ex.problems) == ({}, (), None, None, ())


# --- wrong type ----------------------------------------------------------------------


def test_wrong_type_is_not_sent_to_exif() -> None:
    def names(mime: str) -> list[str]:
        return [e.name for e in for_type(mime)]

    assert "exif" not in names("text/plain")
    assert "exif" not in names("application/pdf")
    assert "exif" in names("image/jpeg")


def test_wrong_type_content_is_unsupported() -> None:
    with pytest.raises(UnsupportedFile):
        extract(b"[01/05/2019, 13:45:10] Alex: hello\n" * 20, "chat.jpg", mime="image/jpeg")


def test_wrong_type_through_the_scanner(tmp_path: Path) -> None:
    rec = scan_one(tmp_path, "chat.txt", b"[01/05/2019, 13:45:10] Alex: hello\n")
    assert "exif" not in rec.metadata
    assert rec.errors == ()


# --- damaged -------------------------------------------------------------------------

GOOD = exif_tiff(
    make="Canon",
    model="EOS",
    date_original="2019:05:01 13:45:10",
    offset_original="+02:00",
    gps=gps_fields(48.8584, 2.2945, alt=35.2),
)


def test_truncated_inside_the_ifd() -> None:
    ex = extract(truncate(jpeg_bytes(GOOD), JPEG_TIFF_OFFSET + 28))
    # The APP1 segment is cut short, the JPEG has no image data, and the IFD is cut.
    found = messages(ex)
    assert len(found) == 3, found
    assert any("0xE1" in m for m in found) and any("slice length" in m for m in found)
    assert ex.timestamps == () and ex.gps is None and ex.device is None


def test_truncated_to_a_few_bytes_becomes_an_error_not_a_crash() -> None:
    data = truncate(jpeg_bytes(GOOD), 5)
    ctx = file_context(data, "photo.jpg", mime="image/jpeg")
    exif_runs = [e for e in run_extractors(ctx) if e.extractor == "exif"]
    assert len(exif_runs) == 1
    problems = exif_runs[0].problems
    assert len(problems) == 1 and problems[0].stage == "metadata:exif"


def test_ifd0_offset_past_the_end_is_reported() -> None:
    ex = extract(jpeg_bytes(set_ifd0_offset(GOOD, 0x0FFFFFF0)))
    assert ex.tags == {} and ex.timestamps == ()
    assert len(ex.problems) == 1 and "no tag could be read" in ex.problems[0].message


def test_flipped_byte_order_mark_is_reported() -> None:
    ex = extract(flip_byte(jpeg_bytes(GOOD), JPEG_TIFF_OFFSET))
    assert ex.tags == {}
    assert len(ex.problems) == 1


@pytest.mark.parametrize(("pointer", "lost"), [("ExifIFD", "DateTimeOriginal"), ("GPSIFD", "gps")])
def test_sub_ifd_pointer_past_the_end_is_reported(pointer: str, lost: str) -> None:
    ex = extract(jpeg_bytes(patch_entry(GOOD, pointer, value=0xFFFFF000)))
    assert len(ex.problems) == 1 and "past the end" in ex.problems[0].message
    assert ex.device is not None and ex.device.make == "Canon"  # IFD0 still read
    if lost == "gps":
        assert ex.gps is None and "DateTimeOriginal" in by_name(ex)
    else:
        assert ex.timestamps == () and ex.gps is not None


def test_exif_ifd_holding_only_a_makernote_is_not_damage() -> None:
    # ExifRead skips MakerNote without details: the EXIF IFD gives no tag, yet it is sound.
    tiff = exif_tiff(make="Acme", extra_exif=[Field(0x927C, UNDEFINED, b"maker notes of some camera")])
    ex = extract(png_bytes(exif=tiff), "notes.png")
    assert ex.problems == ()
    assert ex.device is not None and ex.device.make == "Acme"


def test_bit_flip_inside_a_date() -> None:
    entry = entry_offset(GOOD, "DateTimeOriginal", "exif")
    value_at = struct.unpack_from("<I", GOOD, entry + 8)[0]
    data = flip_byte(jpeg_bytes(GOOD), JPEG_TIFF_OFFSET + value_at + 5, 0x40)  # "2019:" -> "2019z"
    ex = extract(data)
    assert len(ex.problems) == 1 and "not a date" in ex.problems[0].message
    assert "DateTimeOriginal" not in by_name(ex)
    assert ex.gps is not None and ex.device is not None


def test_ifd_self_loop_is_harmless() -> None:
    ex = extract(jpeg_bytes(set_next_ifd(GOOD, ifd_offset(GOOD))))
    assert ex.problems == ()
    assert by_name(ex)["DateTimeOriginal"].utc == "2019-05-01T11:45:10Z"


def test_ifd_chain_loop_is_detected() -> None:
    looped = set_next_ifd(set_next_ifd(GOOD, ifd_offset(GOOD, "exif")), ifd_offset(GOOD), "exif")
    ex = extract(jpeg_bytes(looped))
    assert messages(ex) == ["ExifRead: IFD loop detected."]
    assert by_name(ex)["DateTimeOriginal"].utc == "2019-05-01T11:45:10Z"


def test_exif_pointer_back_to_ifd0_does_not_loop() -> None:
    ex = extract(jpeg_bytes(patch_entry(GOOD, "ExifIFD", value=ifd_offset(GOOD))))
    assert ex.device is not None and ex.device.make == "Canon"
    assert "DateTimeOriginal" not in by_name(ex)


def test_absurd_count_on_a_rational() -> None:
    ex = extract(jpeg_bytes(patch_entry(GOOD, "GPSLatitude", "gps", count=0x7FFFFFFF)))
    assert ex.gps is None
    assert len(ex.problems) == 1 and "GPSLatitude" in ex.problems[0].message
    assert by_name(ex)["DateTimeOriginal"].utc == "2019-05-01T11:45:10Z"


def test_absurd_count_on_text_invents_nothing() -> None:
    ex = extract(jpeg_bytes(patch_entry(GOOD, "Make", count=0xFFFFFFFF)))
    assert ex.device is not None
    # The text is read up to its NUL (never beyond the data), the rest is intact.
    assert (ex.device.make, ex.device.model) == ("Canon", "EOS")
    assert by_name(ex)["DateTimeOriginal"].utc == "2019-05-01T11:45:10Z"


def test_absurd_count_in_a_gps_field_type() -> None:
    bad = exif_tiff(gps=[*gps_fields(10.0, 20.0), Field(0x0006, RATIONAL, [(1, 1)], count=0xFFFFFFFF)])
    ex = extract(jpeg_bytes(bad))
    assert ex.gps is not None and ex.gps.altitude is None
    assert len(ex.problems) == 1 and "altitude" in ex.problems[0].message


def test_damaged_files_never_crash_the_scan(tmp_path: Path) -> None:
    base = jpeg_bytes(GOOD)
    variants = [truncate(base, n) for n in range(0, 200, 9)] + [
        flip_byte(base, i) for i in range(JPEG_TIFF_OFFSET, JPEG_TIFF_OFFSET + len(GOOD), 5)
    ]
    for i, data in enumerate(variants):
        (tmp_path / f"v{i:03d}.jpg").write_bytes(data)
    records = list(scan([str(tmp_path)]))
    assert len(records) == len(variants)
    for rec in records:
        assert rec.kind == "file" and rec.hashes, rec
        for err in rec.errors:
            assert err.stage.startswith("metadata:"), err
