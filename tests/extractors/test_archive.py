"""Archive reader: ZIP files built in the test (zipfile, or byte by byte for the damage
and tricks zipfile will not write): members listed, dated, typed and hashed; names that
escape, disagree or repeat; encrypted, damaged, lying and over-budget members."""

from __future__ import annotations

import bz2
import dataclasses
import hashlib
import io
import lzma
import os
import shutil
import struct
import subprocess
import zipfile
import zlib
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from evidence_cli.extractors import archive as archive_mod
from evidence_cli.extractors.archive import ArchiveExtractor, escapes
from evidence_cli.extractors.base import ARCHIVE_BYTES
from evidence_cli.filetype import detect_type
from evidence_cli.formats import zip as zipfmt
from evidence_cli.models import Extraction
from evidence_cli.scanner import ScanOptions, scan
from tests.builders import exif_tiff, file_context, gps_fields, jpeg_bytes, png_bytes, scan_one
from tests.hostile.corpus import RawMember, bomb_member, deflated, raw_zip, stored

ARCHIVE = ArchiveExtractor()
WHEN = (2019, 5, 13, 21, 3, 10)


def zip_of(members: list[tuple[str, bytes]], *, method: int = zipfile.ZIP_DEFLATED, extra: bytes = b"") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=WHEN)
            info.compress_type = method
            info.extra = extra
            z.writestr(info, data)
    return out.getvalue()


def run(data: bytes, name: str = "evidence.zip", *, budget: int | None = ARCHIVE_BYTES) -> Extraction:
    """The archive reader on ``data``, hashing ``budget`` bytes of members (None: all)."""
    ctx = dataclasses.replace(file_context(data, name, mime="application/zip"), archive_bytes=budget)
    return ARCHIVE.extract(ctx)


def members(ex: Extraction) -> list[dict[str, Any]]:
    listed = ex.tags["members"]
    assert isinstance(listed, list)
    return listed


def codes(ex: Extraction) -> set[str]:
    return {f.code for f in ex.findings}


def unix_extra(when: datetime) -> bytes:
    """The extended timestamp extra field (0x5455) with a modification time."""
    return struct.pack("<HHBi", 0x5455, 5, 1, int(when.timestamp()))


def ntfs_extra(when: datetime) -> bytes:
    """The NTFS extra field (0x000A): modification, access and creation times."""
    delta = when - datetime(1601, 1, 1, tzinfo=timezone.utc)
    ticks = (delta.days * 86_400 + delta.seconds) * 10_000_000 + delta.microseconds * 10
    return struct.pack("<HHIHHQQQ", 0x000A, 32, 0, 1, 24, ticks, ticks, ticks)


# --- what a member is ----------------------------------------------------------------------


def test_members_are_listed_hashed_and_typed_as_the_scan_types_a_file() -> None:
    photo = jpeg_bytes()
    text = b"[13/05/2019, 21:03:11] Sam: hello\n"
    data = zip_of([("media/", b""), ("media/IMG-20190513-WA0001.jpg", photo), ("chat.txt", text)])
    ex = run(data)
    assert ex.tags["format"] == "ZIP"
    assert ex.tags["member_count"] == 3 and ex.tags["files"] == 2 and ex.tags["hashed"] == 2
    folder, jpg, txt = members(ex)
    assert folder["directory"] is True and "sha256" not in folder
    for entry, content, name in ((jpg, photo, "IMG-20190513-WA0001.jpg"), (txt, text, "chat.txt")):
        assert entry["size"] == len(content)
        assert entry["md5"] == hashlib.md5(content).hexdigest()
        assert entry["sha1"] == hashlib.sha1(content).hexdigest()
        assert entry["sha256"] == hashlib.sha256(content).hexdigest()
        assert entry["crc32"] == f"{zlib.crc32(content):08x}"
        assert entry["method"] == "deflate"
        assert entry["modified"] == "2019-05-13T21:03:10"
        expected = detect_type(name, content[: 64 * 1024])
        assert (entry["mime"], entry["description"]) == (expected.mime, expected.description)
        assert entry["extension_ok"] is True
    assert jpg["mime"] == "image/jpeg"
    assert ex.findings == () and ex.problems == ()


def test_a_member_is_typed_as_the_same_file_scanned_beside_it(tmp_path: Path) -> None:
    photo = png_bytes()
    record = scan_one(tmp_path / "a", "inner.png", photo)
    entry = members(run(zip_of([("inner.png", photo)])))[0]
    assert (entry["mime"], entry["description"]) == (record.mime, record.description)
    assert entry["sha256"] == record.hashes["sha256"]


def test_a_member_whose_extension_hides_its_type_is_a_finding() -> None:
    ex = run(zip_of([("notes.txt", jpeg_bytes()), ("fine.jpg", jpeg_bytes())]))
    hidden, fine = members(ex)
    assert hidden["mime"] == "image/jpeg" and hidden["extension_ok"] is False
    assert fine["extension_ok"] is True
    (finding,) = [f for f in ex.findings if f.code == "member-extension-mismatch"]
    assert finding.evidence == {"count": 1, "names": ["notes.txt"]}


def test_stored_bzip2_lzma_and_xz_members_are_hashed_and_deflate64_ones_listed_with_the_reason() -> None:
    content = b"evidence " * 5000
    for method, name in (
        (zipfile.ZIP_STORED, "stored"),
        (zipfile.ZIP_BZIP2, "bzip2"),
        (zipfile.ZIP_LZMA, "lzma"),
    ):
        entry = members(run(zip_of([("a.txt", content)], method=method)))[0]
        assert entry["method"] == name
        assert entry["sha256"] == hashlib.sha256(content).hexdigest(), name
    xz = RawMember("a.txt", lzma.compress(content, format=lzma.FORMAT_XZ), 95, zlib.crc32(content), len(content))
    entry = members(run(raw_zip([xz])))[0]
    assert entry["method"] == "xz" and entry["sha256"] == hashlib.sha256(content).hexdigest()
    # Deflate64 (what Windows Explorer writes for large files) has no decoder here.
    deflate64 = RawMember("big.bin", b"\x00" * 100, 9, 0, 1000)
    ex = run(raw_zip([deflate64]))
    entry = members(ex)[0]
    assert entry["method"] == "deflate64" and "sha256" not in entry
    assert entry["not_hashed"] == "compression method deflate64 not read"
    assert [p.type for p in ex.problems] == ["Unsupported"]
    assert ex.tags["hashed"] == 0


def lzma_member(content: bytes, *, cut: int = 0, dictionary: int = 1 << 16) -> RawMember:
    """An LZMA member as APPNOTE 5.8.8 writes it: version, properties' size, properties
    (lc=3, lp=0, pb=2 and the dictionary size), then the raw stream, its last ``cut``
    bytes left out (the end marker's: the decoder has every byte of output by then, and
    ends on the compressed size, as for a stream written without the marker)."""
    filters = [{"id": lzma.FILTER_LZMA1, "dict_size": 1 << 16, "lc": 3, "lp": 0, "pb": 2}]
    raw = lzma.compress(content, format=lzma.FORMAT_RAW, filters=filters)
    props = struct.pack("<BI", 3 + 9 * (0 + 5 * 2), dictionary)
    data = struct.pack("<BBH", 9, 20, len(props)) + props + raw[: len(raw) - cut]
    return RawMember("a.txt", data, 14, zlib.crc32(content), len(content))


def test_lzma_members_with_or_without_an_end_marker_and_hostile_properties() -> None:
    content = b"lzma " * 1000
    for cut in (0, 5):
        entry = members(run(raw_zip([lzma_member(content, cut=cut)])))[0]
        assert entry["sha256"] == hashlib.sha256(content).hexdigest(), cut
    short = members(run(raw_zip([lzma_member(content, cut=6)])))[0]
    assert short["not_hashed"] == "lzma stream incomplete"
    huge = members(run(raw_zip([lzma_member(content, dictionary=0xFFFFFFFF)])))[0]
    assert huge["not_hashed"] == f"an LZMA dictionary of {0xFFFFFFFF} bytes (over 134217728): not read"
    bad = lzma_member(content)
    broken = RawMember(bad.name, bad.data[:4] + b"\xff" + bad.data[5:], 14, bad.crc, bad.size)
    assert members(run(raw_zip([broken])))[0]["not_hashed"] == "damaged lzma properties"
    cut = RawMember(bad.name, bad.data[:6], 14, bad.crc, bad.size)
    assert members(run(raw_zip([cut])))[0]["not_hashed"] == "damaged lzma properties"


def test_bzip2_data_that_is_damaged_is_reported_not_raised() -> None:
    content = bz2.compress(b"x" * 10_000)
    broken = content[:20] + bytes(20) + content[40:]
    member = RawMember("a.bin", broken, zipfile.ZIP_BZIP2, zlib.crc32(b"x" * 10_000), 10_000)
    ex = run(raw_zip([member]))
    entry = members(ex)[0]
    assert "sha256" not in entry and entry["not_hashed"].startswith("damaged bzip2 data")
    assert [p.type for p in ex.problems] == ["ArchiveDamage"]


def test_the_scan_hashes_members_with_its_own_algorithms(tmp_path: Path) -> None:
    (tmp_path / "e.zip").write_bytes(zip_of([("a.txt", b"hello")]))
    (record,) = scan([str(tmp_path)], ScanOptions(algorithms=("sha256", "sha512")))
    entry = record.metadata["archive"]["members"][0]
    assert entry["sha512"] == hashlib.sha512(b"hello").hexdigest()
    assert entry["sha256"] == hashlib.sha256(b"hello").hexdigest()
    assert "md5" not in entry and "sha1" not in entry


# --- times ---------------------------------------------------------------------------------


def test_member_times_the_first_and_last_and_the_archiving_clock_offset() -> None:
    # Made on a machine two hours east of UTC: its DOS times are two hours ahead of the
    # extended timestamps' UTC.
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, local, utc in (
            ("b.txt", (2020, 1, 2, 10, 0, 0), datetime(2020, 1, 2, 8, 0, 0, tzinfo=timezone.utc)),
            ("a.txt", (2019, 12, 31, 23, 30, 0), datetime(2019, 12, 31, 21, 30, 0, tzinfo=timezone.utc)),
            ("c.txt", (2020, 3, 1, 12, 0, 0), None),
        ):
            info = zipfile.ZipInfo(name, date_time=local)
            if utc is not None:
                info.extra = unix_extra(utc)
            z.writestr(info, b"x")
    ex = run(out.getvalue())
    b_, a_, c_ = members(ex)
    assert a_["modified"] == "2019-12-31T23:30:00" and a_["modified_utc"] == "2019-12-31T21:30:00Z"
    assert "modified_utc" not in c_
    assert ex.tags["clock_utc_offsets"] == ["+02:00"]
    first, last = ex.timestamps
    assert (first.name, first.value, first.utc, first.offset_origin) == (
        "MemberFirstModified",
        "2019-12-31T23:30:00",
        "2019-12-31T21:30:00Z",
        "utc-by-spec",
    )
    assert first.source == "archive" and first.raw.startswith("member 1: DOS date 0x")
    assert (last.name, last.value, last.utc, last.offset_origin) == (
        "MemberLastModified",
        "2020-03-01T12:00:00",
        None,
        "none",
    )


def test_the_ntfs_time_is_taken_before_the_unix_one_and_a_west_offset_is_negative() -> None:
    utc = datetime(2021, 6, 1, 17, 45, 30, 123456, tzinfo=timezone.utc)
    extra = unix_extra(datetime(2000, 1, 1, tzinfo=timezone.utc)) + ntfs_extra(utc)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        info = zipfile.ZipInfo("a.txt", date_time=(2021, 6, 1, 12, 45, 30))  # UTC-05:00
        info.extra = extra
        z.writestr(info, b"x")
    ex = run(out.getvalue())
    assert members(ex)[0]["modified_utc"] == "2021-06-01T17:45:30.123456Z"
    assert ex.tags["clock_utc_offsets"] == ["-05:00"]


def test_times_that_are_no_date_are_none_and_clocks_that_disagree_give_no_offset() -> None:
    assert zipfmt.dos_datetime(0, 0) is None
    assert zipfmt.dos_datetime((39 << 9) | (13 << 5) | 1, 0) is None  # month 13
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        info = zipfile.ZipInfo("a.txt", date_time=(2021, 6, 1, 12, 0, 0))
        info.extra = unix_extra(datetime(2021, 6, 1, 12, 7, 0, tzinfo=timezone.utc))  # 7 minutes: no zone
        z.writestr(info, b"x")
    ex = run(out.getvalue())
    assert "clock_utc_offsets" not in ex.tags
    assert members(ex)[0]["modified_utc"] == "2021-06-01T12:07:00Z"


def test_extra_fields_cut_short_or_out_of_range_give_no_time() -> None:
    assert zipfmt.utc_modified(b"\x55\x54\x05\x00\x01\x00") is None  # cut
    assert zipfmt.utc_modified(struct.pack("<HHIHHQ", 0x000A, 32, 0, 1, 24, 2**64 - 1) + bytes(16)) is None
    assert zipfmt.utc_modified(b"") is None


# --- what the metadata readers read in a member ------------------------------------------


def camera_photo() -> bytes:
    tiff = exif_tiff(
        make="Canon",
        model="Canon EOS R5",
        serial="0123",
        date_original="2023:06:01 14:15:16",
        offset_original="+02:00",
        gps=gps_fields(48.8584, 2.2945, alt=35.0),
    )
    return jpeg_bytes(tiff)


def test_a_photo_inside_gives_its_capture_time_place_and_device(tmp_path: Path) -> None:
    photo = camera_photo()
    entry = members(run(zip_of([("DCIM/IMG_0001.JPG", photo)])))[0]
    record = scan_one(tmp_path / "alone", "IMG_0001.JPG", photo)  # the same photo as a file
    assert record.captured is not None and record.gps is not None
    assert entry["captured"] == {
        "name": "DateTimeOriginal",
        "source": "exif",
        "value": "2023-06-01T14:15:16+02:00",
        "utc": "2023-06-01T12:15:16Z",
        "offset_origin": "stored",
    }
    assert entry["captured"]["value"] == record.captured.value
    assert (entry["gps"]["latitude"], entry["gps"]["longitude"]) == (record.gps.latitude, record.gps.longitude)
    assert entry["device"] == {"make": "Canon", "model": "Canon EOS R5", "serial": "0123", "source": "exif"}
    assert entry["image"] == dict(record.image or {})


def test_a_members_findings_and_damage_go_on_the_archive_naming_it() -> None:
    from tests.extractors.test_xmp import packet

    ai = packet(
        body="<Iptc4xmpExt:DigitalSourceType>"
        "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia</Iptc4xmpExt:DigitalSourceType>"
    )
    ex = run(zip_of([("made.xmp", ai), ("broken.jpg", jpeg_bytes(app1=b"Exif\x00\x00MM\x00*\x00\x00\xff\xff"))]))
    made, broken = members(ex)
    assert made["findings"] == ["ai-generated"]
    (finding,) = [f for f in ex.findings if f.code == "ai-generated"]
    assert finding.message.startswith("member made.xmp: ")
    assert "findings" not in broken
    assert any(p.message.startswith("member broken.jpg: ") and p.stage == "metadata:archive" for p in ex.problems)


def test_readers_run_on_the_first_members_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive_mod, "MAX_READ", 1)
    first, second = members(run(zip_of([("a.jpg", camera_photo()), ("b.jpg", camera_photo())])))
    assert "captured" in first and "captured" not in second
    assert second["mime"] == "image/jpeg" and "sha256" in second


def test_an_archive_inside_is_listed_not_opened() -> None:
    inner = zip_of([("deep.jpg", camera_photo())])
    entry = members(run(zip_of([("inner.zip", inner)])))[0]
    assert entry["mime"] == "application/zip" and entry["sha256"] == hashlib.sha256(inner).hexdigest()
    assert set(entry) & {"captured", "members", "chat"} == set()


# --- chat exports inside ------------------------------------------------------------------


WHATSAPP = (
    "[13/05/2019, 21:03:11] Sam: hello\n"
    "[13/05/2019, 21:04:00] Alex: \u200e<attached: 00000001-PHOTO-2019-05-13-21-04-00.jpg>\n"
    "[13/05/2019, 20:59:00] Sam: late\n"
).encode("utf-8")


def test_a_chat_export_inside_is_read_as_the_scan_reads_one_on_its_own() -> None:
    ex = run(zip_of([("_chat.txt", WHATSAPP), ("00000001-PHOTO-2019-05-13-21-04-00.jpg", jpeg_bytes())]))
    read = members(ex)[0]["chat"]
    alone = file_context(WHATSAPP, "_chat.txt")
    from evidence_cli.extractors.chat import ChatExtractor

    on_its_own = ChatExtractor().extract(alone)
    assert read == dict(on_its_own.tags)
    assert read["messages"] == 3 and read["participants"] == {"Sam": 2, "Alex": 1}
    chat_times = [t for t in ex.timestamps if t.name.startswith("Chat")]
    assert [(t.name, t.value, t.source) for t in chat_times] == [
        ("ChatFirstMessage", "2019-05-13T21:03:11", "archive"),
        ("ChatLastMessage", "2019-05-13T20:59:00", "archive"),
    ]
    assert all(t.raw.startswith("member 0: ") for t in chat_times)
    (late,) = [f for f in ex.findings if f.code == "chat-out-of-order"]
    assert late.message.startswith("member _chat.txt: 1 message lines are dated before")
    assert "chat" not in members(ex)[1]
    assert members(ex)[0]["chat_attachments_in_archive"] == 1
    assert "chat_attachments_missing" not in members(ex)[0]


def test_the_attachments_a_zipped_chat_names_are_looked_for_beside_it() -> None:
    chat_lines = (
        WHATSAPP
        + (
            "[14/05/2019, 08:00:00] Sam: \u200e<attached: 00000002-AUDIO.opus>\n"
            "[14/05/2019, 08:01:00] Sam: \u200e<attached: ../Chat/00000001-PHOTO-2019-05-13-21-04-00.jpg>\n"
        ).encode()
    )
    ex = run(
        zip_of(
            [
                ("Chat/_chat.txt", chat_lines),
                ("Chat/00000001-PHOTO-2019-05-13-21-04-00.jpg", jpeg_bytes()),
                ("elsewhere/00000002-AUDIO.opus", b"OggS"),
            ]
        )
    )
    entry = members(ex)[0]
    assert entry["chat_attachments_in_archive"] == 1
    # Not beside the chat, and a name that climbs out with "..": not found there.
    assert entry["chat_attachments_missing"] == [
        "00000002-AUDIO.opus",
        "../Chat/00000001-PHOTO-2019-05-13-21-04-00.jpg",
    ]


def test_a_telegram_export_inside_gives_utc_times() -> None:
    from tests.hostile.corpus import telegram_seed

    ex = run(
        zip_of(
            [
                ("ChatExport_2019-05-14/result.json", telegram_seed()),
                ("ChatExport_2019-05-14/photos/Seed sender.jpg", jpeg_bytes()),
            ]
        )
    )
    assert members(ex)[0]["chat"]["app"] == "Telegram"
    assert members(ex)[0]["chat_attachments_in_archive"] == 1  # photos/Seed sender.jpg, under its folder
    first = next(t for t in ex.timestamps if t.name == "ChatFirstMessage")
    assert (first.utc, first.offset_origin) == ("2019-05-13T19:03:11Z", "utc-by-spec")


def test_text_that_is_no_chat_or_too_large_is_only_hashed(monkeypatch: pytest.MonkeyPatch) -> None:
    ex = run(zip_of([("notes.txt", b"just some notes\n"), ("_chat.txt", WHATSAPP)]))
    assert "chat" not in members(ex)[0] and "chat" in members(ex)[1]
    monkeypatch.setattr(archive_mod, "MAX_CHAT", len(WHATSAPP) - 1)
    ex = run(zip_of([("_chat.txt", WHATSAPP)]))
    assert "chat" not in members(ex)[0] and members(ex)[0]["sha256"] == hashlib.sha256(WHATSAPP).hexdigest()
    assert not [t for t in ex.timestamps if t.name.startswith("Chat")]


# --- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "escaping"),
    [
        ("../evil.txt", True),
        ("a/../../b", True),
        ("..\\x.txt", True),
        ("/etc/passwd", True),
        ("\\\\server\\share\\x", True),
        ("C:\\Windows\\x.dll", True),
        ("c:x", True),
        ("a..b/c", False),
        ("x/..y", False),
        ("media/IMG.jpg", False),
    ],
)
def test_names_that_escape_the_extraction_folder(name: str, escaping: bool) -> None:
    assert escapes(name) is escaping


def test_escaping_and_repeated_names_are_findings() -> None:
    data = raw_zip([stored("../../tmp/pwned", b"x"), stored("a.txt", b"1"), stored("a.txt", b"2")])
    ex = run(data)
    found = {f.code: f for f in ex.findings}
    assert found["archive-path-escape"].evidence == {"count": 1, "names": ["../../tmp/pwned"]}
    assert found["archive-duplicate-name"].evidence == {"count": 1, "names": ["a.txt"]}
    # Both copies are listed, each with its own digest: nothing is dropped.
    assert [m["sha256"] for m in members(ex)[1:]] == [
        hashlib.sha256(b"1").hexdigest(),
        hashlib.sha256(b"2").hexdigest(),
    ]


def test_a_local_header_that_names_the_member_otherwise_is_a_finding() -> None:
    data = bytearray(raw_zip([stored("invoice.pdf", b"%PDF-1.4 x"), stored("b.txt", b"y")]))
    at = data.index(b"invoice.pdf")  # the first occurrence is the local header's
    data[at : at + 11] = b"invoice.exe"
    ex = run(bytes(data))
    entry = members(ex)[0]
    assert entry["name"] == "invoice.pdf" and entry["local_name"] == "invoice.exe"
    (finding,) = [f for f in ex.findings if f.code == "archive-name-mismatch"]
    assert finding.evidence == {"count": 1, "names": ["invoice.pdf"]}


def test_hostile_names_and_comments_are_kept_as_stored() -> None:
    name = "\x1b[31mred\x1b[0m=cmd|' /C calc'!A0.jpg"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.comment = b"\x1b]0;pwned\x07 archive comment"
        info = zipfile.ZipInfo(name, date_time=WHEN)
        info.comment = b"=1+1"
        z.writestr(info, b"x")
    ex = run(out.getvalue())
    entry = members(ex)[0]
    assert entry["name"] == name and entry["comment"] == "=1+1"
    assert ex.tags["comment"] == "\x1b]0;pwned\x07 archive comment"


def test_names_not_flagged_utf8_are_read_as_cp437_when_they_are_not_utf8() -> None:
    data = bytearray(raw_zip([stored("xx.txt", b"x")]))
    # raw_zip flags UTF-8 (0x800): clear it in both headers, and store a CP437 byte.
    for sig, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.index(sig)
        struct.pack_into("<H", data, at + flag_at, 0)
    data = bytearray(bytes(data).replace(b"xx.txt", b"\x81x.txt"))
    assert members(run(bytes(data)))[0]["name"] == "üx.txt"


# --- what is around the archive ------------------------------------------------------------


def test_bytes_before_and_after_the_archive_are_a_finding_and_members_still_read() -> None:
    inner = zip_of([("a.txt", b"hello")])
    ex = run(b"MZ" + bytes(510) + inner + b"trailing")
    assert members(ex)[0]["sha256"] == hashlib.sha256(b"hello").hexdigest()
    assert ex.tags["prepended_bytes"] == 512 and ex.tags["trailing_bytes"] == 8
    (finding,) = [f for f in ex.findings if f.code == "archive-extra-data"]
    assert finding.evidence == {"prepended_bytes": 512, "trailing_bytes": 8}


def test_an_end_record_that_declares_another_count_is_damage() -> None:
    data = bytearray(zip_of([("a.txt", b"1"), ("b.txt", b"2")]))
    eocd = data.rindex(b"PK\x05\x06")
    struct.pack_into("<HH", data, eocd + 8, 5, 5)
    ex = run(bytes(data))
    assert ex.tags["declared_members"] == 5 and len(members(ex)) == 2
    assert any("declares 5 members" in p.message for p in ex.problems)


# --- damage and bounds -----------------------------------------------------------------------


def test_encrypted_members_are_listed_not_read() -> None:
    data = bytearray(raw_zip([stored("secret.jpg", b"\x00" * 40), stored("open.txt", b"x")]))
    for sig, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.index(sig)
        struct.pack_into("<H", data, at + flag_at, 0x801)
    ex = run(bytes(data))
    secret, fine = members(ex)
    assert secret["encrypted"] is True and secret["not_hashed"] == "encrypted" and "sha256" not in secret
    assert fine["sha256"] == hashlib.sha256(b"x").hexdigest()
    assert "archive-encrypted" in codes(ex)
    assert [p.type for p in ex.problems] == ["Unsupported"]


def test_a_member_whose_bytes_are_not_its_crc_keeps_its_digest_and_is_marked_damaged() -> None:
    data = bytearray(raw_zip([stored("a.txt", b"hello world")]))
    at = data.index(b"hello world")
    data[at] = ord("j")
    ex = run(bytes(data))
    entry = members(ex)[0]
    assert entry["damaged"] == "CRC mismatch"
    assert entry["sha256"] == hashlib.sha256(b"jello world").hexdigest()
    assert [p.type for p in ex.problems] == ["ArchiveDamage"]


def test_a_member_that_inflates_past_or_short_of_its_recorded_size_is_marked() -> None:
    content = b"0123456789" * 100
    good = deflated("a.txt", content)
    ex = run(raw_zip([RawMember("a.txt", good.data, good.method, good.crc, 10)]))
    entry = members(ex)[0]
    assert entry["not_hashed"] == "inflates to more than the 10 bytes its entry records: not read"
    assert "sha256" not in entry
    ex = run(raw_zip([RawMember("a.txt", good.data, good.method, good.crc, 5000)]))
    entry = members(ex)[0]
    assert entry["damaged"] == "inflates to 1000 bytes, not the 5000 recorded"
    assert entry["sha256"] == hashlib.sha256(content).hexdigest()


def test_members_past_the_hashing_budget_are_listed_and_counted() -> None:
    data = zip_of([("a.bin", b"a" * 1000), ("b.bin", b"b" * 1000), ("c.bin", b"c" * 400)])
    ex = run(data, budget=1500)
    a, b_, c = members(ex)
    assert "sha256" in a and "sha256" in c
    assert b_["not_hashed"] == "over the 1500 bytes hashed per archive" and "sha256" not in b_
    (limit,) = [p for p in ex.problems if p.type == "LimitReached"]
    assert limit.message == (
        "1 member(s) listed but not hashed: over the 1500 bytes hashed per archive (scan --archive-mib raises it)"
    )
    assert ex.tags["hashed"] == 2
    # No budget: every member.
    assert [("sha256" in m) for m in members(run(data, budget=None))] == [True, True, True]


def test_the_scan_passes_its_archive_budget_on(tmp_path: Path) -> None:
    (tmp_path / "e.zip").write_bytes(zip_of([("a.bin", b"a" * (2 << 20))]))
    (record,) = scan([str(tmp_path)], ScanOptions(archive_bytes=1 << 20))
    assert record.metadata["archive"]["members"][0]["not_hashed"] == "over the 1 MiB hashed per archive"
    assert ScanOptions(archive_bytes=1 << 20).to_dict()["archive_mib"] == 1
    assert ScanOptions(archive_bytes=None).to_dict()["archive_mib"] == 0
    assert "archive_mib" not in ScanOptions().to_dict()  # the default: older headers stay as they were


def test_a_bomb_that_lies_about_its_size_stops_at_the_size_it_gives() -> None:
    bomb = bomb_member("small.txt", b"", b"A", 64)  # 64 MiB, declared 64 MiB
    lying = RawMember(bomb.name, bomb.data, bomb.method, bomb.crc, 100)
    ex = run(raw_zip([lying, stored("after.txt", b"z")]))
    first, after = members(ex)
    assert first["not_hashed"] == "inflates to more than the 100 bytes its entry records: not read"
    assert "sha256" not in first
    assert after["sha256"] == hashlib.sha256(b"z").hexdigest()


def test_a_two_gigabyte_bomb_is_listed_without_being_inflated() -> None:
    ex = run(raw_zip([bomb_member("bomb.bin"), stored("a.txt", b"z")]))
    bomb, fine = members(ex)
    assert bomb["size"] == 2048 * 1024 * 1024 and bomb["not_hashed"].startswith("over the 256 MiB")
    assert fine["sha256"] == hashlib.sha256(b"z").hexdigest()


def test_members_that_overlap_are_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    # Two central directory entries for one local header (the overlapping zip bomb's trick).
    one = raw_zip([stored("a.txt", b"x" * 100)])
    cd = one.index(b"PK\x01\x02")
    eocd = one.index(b"PK\x05\x06")
    entry = one[cd:eocd]
    twice = one[:cd] + entry + entry.replace(b"a.txt", b"b.txt")
    tail = bytearray(one[eocd:])
    struct.pack_into("<HHI", tail, 8, 2, 2, 2 * len(entry))
    ex = run(twice + bytes(tail))
    assert len(members(ex)) == 2
    assert any("overlap" in p.message for p in ex.problems)
    assert "archive-name-mismatch" in codes(ex)  # b.txt's local header says a.txt


def test_more_members_than_the_bound_are_refused_with_a_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive_mod, "MAX_MEMBERS", 3)
    ex = run(zip_of([(f"{i}.txt", b"x") for i in range(4)]))
    assert "members" not in ex.tags
    assert [p.type for p in ex.problems] == ["LimitReached"]


def test_members_past_the_typed_bound_are_hashed_not_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive_mod, "MAX_TYPED", 1)
    ex = run(zip_of([("a.txt", b"one"), ("b.txt", b"two")]))
    a, b_ = members(ex)
    assert "mime" in a and "mime" not in b_ and "sha256" in b_
    (limit,) = [p for p in ex.problems if p.type == "LimitReached"]
    assert "1 member(s) hashed but not typed" in limit.message


def test_a_truncated_archive_is_read_from_its_local_headers() -> None:
    data = zip_of([("a.txt", b"a" * 100), ("b.txt", b"b" * 100)], method=zipfile.ZIP_STORED)
    cut = data[: data.index(b"PK\x01\x02")]
    ex = run(cut)
    assert [m["name"] for m in members(ex)] == ["a.txt", "b.txt"]
    assert members(ex)[1]["sha256"] == hashlib.sha256(b"b" * 100).hexdigest()
    assert ex.tags["central_directory"] is False
    assert ex.problems[0].type == "ZipDamage" and "walking local headers" in ex.problems[0].message


@pytest.mark.parametrize(
    "data",
    [b"", b"PK", b"PK\x05\x06" + bytes(18), b"not a zip at all" * 100, b"PK\x03\x04" + b"\xff" * 200],
)
def test_what_is_not_a_zip_gives_problems_never_an_exception(data: bytes) -> None:
    ex = run(data)
    assert isinstance(ex.tags.get("members", []), list)


def test_the_record_is_the_same_every_time() -> None:
    data = zip_of([("a.txt", b"x"), ("b.jpg", jpeg_bytes())])
    assert run(data) == run(data)


def test_a_scan_records_the_members_and_their_times(tmp_path: Path) -> None:
    record = scan_one(tmp_path / "ev", "export.zip", zip_of([("../x.txt", b"x")]))
    assert record.metadata["archive"]["members"][0]["name"] == "../x.txt"
    assert {t.name for t in record.timestamps} >= {"MemberFirstModified", "MemberLastModified"}
    assert "archive-path-escape" in {f.code for f in record.findings}
    assert record.captured is None  # a member's time is not when the archive was made


@pytest.mark.skipif(shutil.which("zip") is None, reason="Info-ZIP's zip is not installed")
def test_an_info_zip_archive_gives_the_zipping_clocks_offsets(tmp_path: Path) -> None:
    """Another tool's archive: Info-ZIP writes DOS times in the local zone and the UTC time
    in its extended timestamp, so Paris's winter and summer offsets both show."""
    src = tmp_path / "src"
    src.mkdir()
    for name, when in (("winter.txt", "2024-01-15 12:00:00"), ("summer.txt", "2024-07-01 12:00:00")):
        (src / name).write_bytes(name.encode())
        stamp = datetime.fromisoformat(when).replace(tzinfo=timezone.utc).timestamp()
        os.utime(src / name, (stamp, stamp))
    out = tmp_path / "made.zip"
    env = {**os.environ, "TZ": "Europe/Paris"}
    subprocess.run(["zip", "-q", str(out), "winter.txt", "summer.txt"], cwd=src, env=env, check=True)
    ex = run(out.read_bytes())
    assert ex.tags["clock_utc_offsets"] == ["+01:00", "+02:00"]
    winter, summer = members(ex)
    assert (winter["modified"], winter["modified_utc"]) == ("2024-01-15T13:00:00", "2024-01-15T12:00:00Z")
    assert (summer["modified"], summer["modified_utc"]) == ("2024-07-01T14:00:00", "2024-07-01T12:00:00Z")
    assert winter["sha256"] == hashlib.sha256(b"winter.txt").hexdigest()


def test_members_are_typed_from_as_many_bytes_as_files() -> None:
    import inspect

    from evidence_cli.hashing import hash_fd

    assert inspect.signature(hash_fd).parameters["head_size"].default == archive_mod.TYPE_HEAD


def test_scan_archive_mib_as_a_user_gives_it(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from evidence_cli.cli import cli

    folder = tmp_path / "ev"
    folder.mkdir()
    noise = b"".join(hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(65536))  # 2 MiB: "data"
    (folder / "e.zip").write_bytes(zip_of([("big.bin", noise), ("small.txt", b"x")]))
    for mib, hashed in (("1", 1), ("0", 2)):
        out = tmp_path / f"o{mib}.json"
        done = CliRunner().invoke(
            cli, ["scan", str(folder), "--archive-mib", mib, "--json", str(out), "--workers", "0"]
        )
        export = json.loads(out.read_text())
        assert export["scan"]["options"]["archive_mib"] == int(mib)
        assert export["files"][0]["metadata"]["archive"]["hashed"] == hashed
        assert done.exit_code == (1 if hashed == 1 else 0), done.output  # a warning: not every member hashed


# --- an archive appended to a picture or a PDF ------------------------------------------------


def test_a_zip_appended_to_a_picture_is_listed_with_a_finding(tmp_path: Path) -> None:
    hidden = zip_of([("secret/IMG_0001.jpg", camera_photo()), ("notes.txt", b"x")])
    for picture, name in ((jpeg_bytes(), "holiday.jpg"), (png_bytes(), "screen.png")):
        record = scan_one(tmp_path / name, name, picture + hidden)
        assert record.mime in ("image/jpeg", "image/png") and record.image is not None  # still the picture
        archive = record.metadata["archive"]
        assert [m["name"] for m in archive["members"]] == ["secret/IMG_0001.jpg", "notes.txt"]
        assert archive["members"][0]["device"]["model"] == "Canon EOS R5"
        codes = [f.code for f in record.findings]
        assert "archive-appended" in codes and "archive-extra-data" not in codes
        (finding,) = [f for f in record.findings if f.code == "archive-appended"]
        assert finding.evidence == {"members": 2, "offset": len(picture)}
        from evidence_cli.writers.table import flags

        assert "ARCH!" in flags(record).split()


def test_a_zip_with_a_comment_appended_is_found_too() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.comment = b"c" * 60_000  # the end record 60 KB before the end
        z.writestr("a.txt", b"hidden")
    ex = ARCHIVE.extract(file_context(jpeg_bytes() + out.getvalue(), "a.jpg"))
    assert "archive-appended" in codes(ex)


@pytest.mark.parametrize(
    "tail",
    [b"", b"PK\x05\x06", b"PK\x05\x06" + bytes(18), b"PK\x05\x06" + b"\xff" * 18, b"junk" * 100],
)
def test_a_picture_that_only_looks_like_it_ends_in_a_zip_is_only_a_picture(tail: bytes) -> None:
    ex = ARCHIVE.extract(file_context(jpeg_bytes() + tail, "a.jpg"))
    assert ex.tags == {} and ex.findings == () and ex.problems == ()


def test_a_zip_appended_to_a_pdf_is_found() -> None:
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    ex = ARCHIVE.extract(file_context(pdf + zip_of([("a.txt", b"x")]), "doc.pdf", mime="application/pdf"))
    (finding,) = [f for f in ex.findings if f.code == "archive-appended"]
    assert "appended to this PDF" in finding.message
