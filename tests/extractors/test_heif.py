"""EXIF of HEIF/HEIC/AVIF read from the Exif item (exif extractor's HEIF branch)."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest

from evidence_cli.extractors.exif import ExifExtractor
from evidence_cli.extractors.quicktime import QuickTimeExtractor
from evidence_cli.formats.isobmff import HEIF_MIME_TYPES
from evidence_cli.models import Extraction
from tests.builders import exif_tiff, file_context, gps_fields, scan_one
from tests.formats.isobmff_builders import box, fbox, ftyp, hdlr, heif_file, iinf, iloc, infe, xmp_packet

TIFF = exif_tiff(
    make="Apple",
    model="iPhone 11 Pro Max",
    software="14.4.2",
    date_original="2021:04:11 15:47:53",
    subsec_original="054",
    offset_original="-05:00",
    gps=gps_fields(39.0513444, -94.2887722, alt=260.56),
)


def run_exif(data: bytes, mime: str = "image/heic") -> Extraction:
    return ExifExtractor().extract(file_context(data, "photo.heic", mime=mime))


def assert_iphone(ex: Extraction) -> None:
    dto = [t for t in ex.timestamps if t.name == "DateTimeOriginal"]
    assert len(dto) == 1
    assert dto[0].value == "2021-04-11T15:47:53.054-05:00" and dto[0].utc == "2021-04-11T20:47:53.054Z"
    assert ex.device is not None
    assert (ex.device.make, ex.device.model, ex.device.software) == ("Apple", "iPhone 11 Pro Max", "14.4.2")
    assert ex.gps is not None
    assert ex.gps.latitude == pytest.approx(39.0513444, abs=1e-6)
    assert ex.gps.longitude == pytest.approx(-94.2887722, abs=1e-6)
    assert ex.gps.altitude == pytest.approx(260.56, abs=0.01)


@pytest.mark.parametrize(
    "kw",
    [{}, {"method": 1}, {"split": 9}, {"iloc_version": 2, "offset_size": 8}, {"base_offset_size": 4}, {"prefix": b""}],
)
def test_exif_item_read(kw: dict[str, Any]) -> None:
    ex = run_exif(heif_file(TIFF, **kw))
    assert_iphone(ex)
    assert ex.problems == ()


@pytest.mark.parametrize("mime", sorted(HEIF_MIME_TYPES))
def test_every_heif_type_takes_the_branch(mime: str) -> None:
    ex = run_exif(heif_file(TIFF, major="avif" if "avif" in mime else "heic"), mime)
    assert_iphone(ex)


def test_libmagic_type_of_a_built_heic_goes_to_the_branch(tmp_path: Path) -> None:
    rec = scan_one(tmp_path, "photo.heic", heif_file(TIFF))
    assert rec.mime in HEIF_MIME_TYPES
    assert rec.captured is not None and rec.captured.name == "DateTimeOriginal"
    assert rec.gps is not None and rec.device.make == "Apple"
    assert not [e for e in rec.errors if e.stage.startswith("metadata:exif")]


def test_heif_without_exif_item_has_no_tags_and_no_problem() -> None:
    ex = run_exif(heif_file(None, xmp=xmp_packet()))
    assert ex.timestamps == () and ex.gps is None and ex.device is None
    assert ex.problems == ()


def test_wrong_type_tiff_bytes_labelled_heif_fall_back_to_exifread() -> None:
    # Not a HEIF at all: the container is "damaged", ExifRead reads the whole stream as it is.
    ex = run_exif(TIFF)
    assert_iphone(ex)
    assert len(ex.problems) == 1 and ex.problems[0].message.startswith("HEIF: box ")


def test_damaged_heif_boxes_are_a_problem_and_exifread_does_not_loop_on_them(tmp_path: Path) -> None:
    # A meta box longer than the file, holding a box whose 64-bit size is 0: ExifRead's own
    # HEIC walk seeks back to that box and reads it again for ever (found by fuzz/; the
    # --timeout turned it into an error after 5 s, a denial of service per file).
    zero_size_box = struct.pack(">I4sQ", 1, b"hdlr", 0) + b"\x00" * 24
    meta = struct.pack(">I4s", 400, b"meta") + b"\x00" * 4 + zero_size_box
    # (ExifRead walks on only for a minor version of 0.)
    head = struct.pack(">I4s4sI4s4s", 24, b"ftyp", b"heic", 0, b"mif1", b"heic")
    rec = scan_one(tmp_path, "photo.heic", head + meta)
    exif = [e for e in rec.errors if e.stage == "metadata:exif"]
    assert [(e.severity, e.type) for e in exif] == [("warning", "Damaged")]
    assert "box 'meta' at offset" in exif[0].message and "truncated or damaged" in exif[0].message


def test_exif_item_past_eof_is_a_problem_and_exifread_is_not_asked() -> None:
    body = hdlr("pict") + iinf(infe(2, "Exif")) + iloc([(2, 0, 0, [(1_000_000, 100)])])
    data = ftyp("heic", ("mif1", "heic")) + fbox("meta", 0, 0, body)
    ex = run_exif(data)
    assert ex.timestamps == ()
    heif = [p for p in ex.problems if p.message.startswith("HEIF:")]
    assert len(heif) == 1 and "outside its source" in heif[0].message
    assert heif[0].stage == "metadata:exif" and heif[0].severity == "warning"


def test_truncated_heif_is_a_problem() -> None:
    data = heif_file(TIFF)
    ex = run_exif(data[:-40])  # mdat, holding the Exif item, is cut
    heif = [p for p in ex.problems if p.message.startswith("HEIF:")]
    assert heif and any("outside its source" in p.message or "file ends" in p.message for p in heif)


def test_damaged_tiff_inside_the_item() -> None:
    broken = TIFF[:8] + b"\xff" * 40
    ex = run_exif(heif_file(broken))
    assert ex.timestamps == () and ex.device is None
    assert len(ex.problems) >= 1


def test_octet_stream_heif_is_summarised_by_the_quicktime_extractor() -> None:
    data = heif_file(TIFF, xmp=xmp_packet())
    ex = QuickTimeExtractor().extract(file_context(data, "photo.heic", mime="application/octet-stream"))
    assert ex.tags["heif"] == {
        "handler": "pict",
        "primary_item": 1,
        "item_types": {"Exif": 1, "hvc1": 1, "mime": 1},
        "primary_width": 64,
        "primary_height": 48,
    }
    assert ex.image == {"format": "heic", "width": 64, "height": 48}
    assert ex.problems == ()


def test_implausible_primary_size_is_reported_not_used() -> None:
    data = heif_file(None).replace(struct.pack(">II", 64, 48), struct.pack(">II", 0, 0xFFFFFF3F))
    ex = QuickTimeExtractor().extract(file_context(data, "x.heic", mime="application/octet-stream"))
    assert ex.image == {"format": "heic"}
    assert len(ex.problems) == 1 and "not plausible" in ex.problems[0].message


def test_meta_of_a_heif_without_pict_items_is_harmless() -> None:
    data = ftyp("heic", ("mif1",)) + fbox("meta", 0, 0, hdlr("pict")) + box("mdat")
    ex = run_exif(data)
    assert ex.timestamps == ()
    assert not [p for p in ex.problems if p.message.startswith("HEIF:")]


def test_heif_types_get_container_summary_and_xmp_from_the_quicktime_extractor() -> None:
    data = heif_file(TIFF, xmp=xmp_packet("2021-04-11T15:47:53-05:00", "14.4.2"), method=1)
    ex = QuickTimeExtractor().extract(file_context(data, "photo.heic", mime="image/heic"))
    assert ex.problems == ()
    assert ex.image == {"format": "heic", "width": 64, "height": 48}
    assert [(t.name, t.source, t.utc) for t in ex.timestamps] == [("CreateDate", "xmp", "2021-04-11T20:47:53Z")]
    assert ex.tags["XMP"]["xmp:CreatorTool"] == "14.4.2"
    assert ex.timestamps[0].source == "xmp"


def test_heif_scan_record_has_exif_xmp_and_size(tmp_path: Path) -> None:
    rec = scan_one(tmp_path, "photo.heic", heif_file(TIFF, xmp=xmp_packet()))
    assert rec.image is not None and (rec.image["width"], rec.image["height"]) == (64, 48)
    assert {t.source for t in rec.timestamps} >= {"exif", "xmp"}
    assert "heif" in rec.metadata["quicktime"] and "exif" in rec.metadata
    assert rec.errors == ()


def test_damaged_xmp_item_is_a_problem_not_a_crash() -> None:
    data = heif_file(None, xmp=b"<x:xmpmeta><rdf:RDF><unclosed")
    ex = QuickTimeExtractor().extract(file_context(data, "photo.heic", mime="image/heif"))
    assert ex.timestamps == ()
    assert len(ex.problems) == 1 and ex.problems[0].stage == "metadata:quicktime"


def test_damage_that_does_not_cost_the_exif_is_left_to_the_container_reader() -> None:
    data = heif_file(TIFF) + b"\x01\x02\x03"  # stray bytes after the last box
    ex = run_exif(data)
    assert_iphone(ex)
    assert ex.problems == ()
    qt = QuickTimeExtractor().extract(file_context(data, "photo.heic", mime="image/heic"))
    assert [p.message for p in qt.problems] == [f"3 stray bytes at offset {len(data) - 3} (in file)"]
