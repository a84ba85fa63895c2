"""IPTC-IIM: datasets in JPEG APP13 / TIFF, charset, dates with offsets, digest, damage."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pytest

from evidence_cli.extractors.iptc import IptcExtractor, iim_timestamp, parse_iim
from evidence_cli.timeparse import TimeParseError
from tests.builders import UNDEFINED, Field, file_context, jpeg_bytes, png_bytes, scan_one, tiff_image_bytes


def ds(record: int, dataset: int, value: bytes) -> bytes:
    """One IIM dataset (standard length field)."""
    return struct.pack(">BBBH", 0x1C, record, dataset, len(value)) + value


def resource(rid: int, data: bytes, name: bytes = b"") -> bytes:
    """One Photoshop 8BIM resource block (Pascal name padded to even, data padded to even)."""
    pname = bytes([len(name)]) + name
    pname += b"\x00" * (len(pname) % 2)
    return b"8BIM" + struct.pack(">H", rid) + pname + struct.pack(">I", len(data)) + data + b"\x00" * (len(data) % 2)


def app13(*resources: bytes) -> bytes:
    payload = b"Photoshop 3.0\x00" + b"".join(resources)
    return b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload


def jpeg_with(*segments: bytes) -> bytes:
    j = jpeg_bytes()
    return j[:2] + b"".join(segments) + j[2:]


UTF8 = ds(1, 90, b"\x1b%G")
GOOD_IIM = (
    UTF8
    + ds(2, 0, b"\x00\x04")
    + ds(2, 5, "Überschrift".encode())
    + ds(2, 25, b"one")
    + ds(2, 25, b"two")
    + ds(2, 55, b"20190501")
    + ds(2, 60, b"134510+0200")
    + ds(2, 62, b"20190430")
    + ds(2, 63, b"235959-0530")
    + ds(2, 65, b"Photo Mechanic")
    + ds(2, 70, b"6.0")
    + ds(2, 80, b"Jane Doe")
    + ds(2, 116, "© 2019 Jane".encode())
    + ds(2, 120, b"A caption")
)


def test_jpeg_app13_iptc() -> None:
    data = jpeg_with(app13(resource(0x0404, GOOD_IIM)))
    ex = IptcExtractor().extract(file_context(data, "a.jpg"))
    assert ex.problems == () and ex.findings == ()
    t = ex.tags
    assert t["ObjectName"] == "Überschrift"
    assert t["Keywords"] == ["one", "two"]
    assert t["By-line"] == ["Jane Doe"]
    assert t["CopyrightNotice"] == "© 2019 Jane"
    assert t["Caption-Abstract"] == "A caption"
    assert t["ApplicationRecordVersion"] == 4
    assert t["CurrentIPTCDigest"] == hashlib.md5(GOOD_IIM).hexdigest()
    ts = {x.name: x for x in ex.timestamps}
    assert ts["DateCreated"].value == "2019-05-01T13:45:10+02:00"
    assert ts["DateCreated"].utc == "2019-05-01T11:45:10Z"
    assert ts["DateCreated"].source == "iptc" and ts["DateCreated"].raw == "20190501 134510+0200"
    assert ts["DigitalCreationDateTime"].utc == "2019-05-01T05:29:59Z"
    assert ex.device is not None and ex.device.software == "Photo Mechanic 6.0"


def test_latin1_without_charset_keeps_bytes_recoverable() -> None:
    raw = "Café Noël".encode("latin-1")
    data = jpeg_with(app13(resource(0x0404, ds(2, 120, raw) + ds(2, 55, b"20190501"))))
    ex = IptcExtractor().extract(file_context(data, "a.jpg"))
    assert ex.tags["Caption-Abstract"] == "Café Noël"
    assert ex.tags["Caption-Abstract"].encode("latin-1") == raw
    # Date without time: a date, no invented time, no UTC.
    assert [(t.value, t.utc) for t in ex.timestamps] == [("2019-05-01", None)]


def test_resources_split_over_two_app13_segments_and_digest_mismatch() -> None:
    blob = resource(0x0425, hashlib.md5(b"something else").digest()) + resource(0x0404, GOOD_IIM)
    cut = len(blob) // 2
    seg1 = b"\xff\xed" + struct.pack(">H", 2 + 14 + cut) + b"Photoshop 3.0\x00" + blob[:cut]
    seg2 = b"\xff\xed" + struct.pack(">H", 2 + 14 + len(blob) - cut) + b"Photoshop 3.0\x00" + blob[cut:]
    ex = IptcExtractor().extract(file_context(jpeg_with(seg1, seg2), "a.jpg"))
    assert ex.tags["Keywords"] == ["one", "two"]
    assert [f.code for f in ex.findings] == ["iptc-digest-mismatch"]
    assert ex.tags["IPTCDigest"] != ex.tags["CurrentIPTCDigest"]


def test_matching_digest_is_no_finding() -> None:
    blob = resource(0x0425, hashlib.md5(GOOD_IIM).digest()) + resource(0x0404, GOOD_IIM)
    ex = IptcExtractor().extract(file_context(jpeg_with(app13(blob)), "a.jpg"))
    assert ex.findings == () and ex.tags["IPTCDigest"] == ex.tags["CurrentIPTCDigest"]


def test_tiff_raw_iptc_tag() -> None:
    data = tiff_image_bytes(ifd0=[Field(33723, UNDEFINED, GOOD_IIM)])
    ex = IptcExtractor().extract(file_context(data, "a.tif"))
    assert ex.tags["Caption-Abstract"] == "A caption" and ex.problems == ()


def test_wrong_type_gives_nothing() -> None:
    ex = IptcExtractor().extract(file_context(png_bytes(), "a.png"))
    assert ex.tags == {} and ex.problems == ()
    ex = IptcExtractor().extract(file_context(jpeg_bytes(), "plain.jpg"))
    assert ex.tags == {} and ex.problems == ()


def test_truncated_dataset_is_a_problem_rest_kept() -> None:
    iim = ds(2, 5, b"Title") + struct.pack(">BBBH", 0x1C, 2, 120, 500) + b"short"
    ex = IptcExtractor().extract(file_context(jpeg_with(app13(resource(0x0404, iim))), "a.jpg"))
    assert ex.tags["ObjectName"] == "Title"
    assert ex.tags["Caption-Abstract"] == "short"
    assert len(ex.problems) == 1 and "declares 500 bytes" in ex.problems[0].message


def test_bad_date_is_a_problem() -> None:
    iim = ds(2, 55, b"2019-05-01") + ds(2, 60, b"251010")
    ex = IptcExtractor().extract(file_context(jpeg_with(app13(resource(0x0404, iim))), "a.jpg"))
    assert ex.timestamps == () and len(ex.problems) == 1


def test_extended_length_and_junk() -> None:
    big = b"x" * 40000
    iim = struct.pack(">BBBH", 0x1C, 2, 120, 0x8004) + struct.pack(">I", len(big)) + big + b"JUNK"
    datasets, notes = parse_iim(iim)
    assert datasets == [(2, 120, big)]
    assert len(notes) == 1 and "no tag marker" in notes[0]


def test_iim_timestamp_rejects_bad_offset() -> None:
    assert iim_timestamp("DateCreated", "00000000", None) is None
    with pytest.raises(TimeParseError, match="offset"):
        iim_timestamp("DateCreated", "20190501", "101010+1500")


def test_scan_record(tmp_path: Path) -> None:
    rec = scan_one(tmp_path, "p.jpg", jpeg_with(app13(resource(0x0404, GOOD_IIM))))
    assert rec.metadata["iptc"]["Keywords"] == ["one", "two"]
    assert rec.captured is not None and (rec.captured.source, rec.captured.name) == ("iptc", "DateCreated")
    assert [e for e in rec.errors if e.stage == "metadata:iptc"] == []
