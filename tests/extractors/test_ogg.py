"""Ogg Opus / Vorbis and FLAC: the encoder's vendor string, comments, channels, rate and
duration; damage becomes problems, never a crash. Files are built here page by page
(RFC 3533, RFC 7845) and block by block (the FLAC format)."""

from __future__ import annotations

import base64
import hashlib
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence_cli.extractors.flac import FlacExtractor
from evidence_cli.extractors.ogg import OggExtractor
from evidence_cli.formats import ogg as oggfmt
from evidence_cli.models import Extraction
from tests.builders import file_context, scan_one


def page(packets: list[bytes], *, granule: int = 0, serial: int = 7, seq: int = 0, flags: int = 0) -> bytes:
    """One Ogg page holding whole packets (lacing: 255s then the remainder)."""
    table = b""
    for p in packets:
        table += b"\xff" * (len(p) // 255) + bytes([len(p) % 255])
    head = b"OggS" + bytes([0, flags]) + struct.pack("<qIII", granule, serial, seq, 0) + bytes([len(table)])
    return head + table + b"".join(packets)


def vorbis_comments(vendor: bytes, *items: bytes) -> bytes:
    out = struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", len(items))
    return out + b"".join(struct.pack("<I", len(i)) + i for i in items)


def opus(
    *items: bytes, vendor: bytes = b"libopus 1.3.1", pre_skip: int = 312, last_granule: int = 312 + 48_000 * 3
) -> bytes:
    head = b"OpusHead" + bytes([1, 1]) + struct.pack("<HIhB", pre_skip, 16_000, 0, 0)
    tags = b"OpusTags" + vorbis_comments(vendor, *items)
    audio = [page([b"\xfc" + b"\x00" * 40] * 3, granule=48_000 * i, seq=2 + i) for i in range(1, 3)]
    return (
        page([head], flags=2)
        + page([tags], seq=1)
        + b"".join(audio)
        + page([b"\xfc"], granule=last_granule, seq=9, flags=4)
    )


def run(data: bytes, mime: str = "audio/ogg") -> Extraction:
    extractor = FlacExtractor() if mime == "audio/flac" else OggExtractor()
    return extractor.extract(file_context(data, "voice.opus", mime=mime))


def test_opus_voice_message() -> None:
    got = run(opus(b"ENCODER=WhatsApp Voice", b"DATE=2025-02-03T04:05:06", b"title=hi"))
    t = got.tags
    assert t["codec"] == "opus" and t["vendor"] == "libopus 1.3.1"
    assert t["comments"] == {"ENCODER": "WhatsApp Voice", "DATE": "2025-02-03T04:05:06", "TITLE": "hi"}
    assert t["channels"] == 1 and t["input_sample_rate"] == 16_000 and t["pre_skip"] == 312
    assert got.image == {"format": "Ogg", "codec": "opus", "channels": 1, "sample_rate": 48_000, "duration_s": 3.0}
    assert [(x.name, x.source, x.value) for x in got.timestamps] == [("RecordingTime", "ogg", "2025-02-03T04:05:06")]
    assert got.device is not None and got.device.software == "WhatsApp Voice"
    assert got.problems == ()


def test_opus_without_comments_gives_the_vendor_as_software() -> None:
    got = run(opus())
    assert got.device is not None and got.device.software == "libopus 1.3.1"
    assert "comments" not in got.tags and got.timestamps == ()


def test_a_header_packet_across_pages_and_another_stream_between() -> None:
    tags = b"OpusTags" + vorbis_comments(b"v", b"ARTIST=" + b"a" * 600)
    head = b"OpusHead" + bytes([1, 2]) + struct.pack("<HIhB", 0, 48_000, 0, 0)
    first, rest = tags[:510], tags[510:]
    data = (
        page([head], flags=2)
        + page([b"theora header"], serial=99, flags=2)  # a video stream's page: skipped
        + b"OggS" + bytes([0, 0]) + struct.pack("<qIII", -1, 7, 1, 0) + b"\x02\xff\xff" + first
        + page([rest], seq=2, flags=1)
        + page([b"\xfc"], granule=48_000, seq=3, flags=4)
    )  # fmt: skip
    got = run(data)
    assert got.tags["comments"] == {"ARTIST": "a" * 600} and got.tags["channels"] == 2
    assert got.image is not None and got.image["duration_s"] == 1.0 and got.problems == ()


def test_vorbis() -> None:
    ident = b"\x01vorbis" + struct.pack("<IBIiii", 0, 2, 44_100, 0, 128_000, 0) + b"\xb8\x01"
    comments = b"\x03vorbis" + vorbis_comments(b"Xiph.Org libVorbis I 20200704", b"DATE=2019") + b"\x01"
    data = page([ident], flags=2) + page([comments], seq=1) + page([b"\x00"], granule=88_200, seq=2, flags=4)
    got = run(data)
    assert got.tags["codec"] == "vorbis" and got.tags["sample_rate"] == 44_100
    assert got.image is not None and got.image["duration_s"] == 2.0
    assert [(x.name, x.value) for x in got.timestamps] == [("RecordingTime", "2019")]


def flac(*blocks: tuple[int, bytes]) -> bytes:
    out = b"fLaC"
    for i, (kind, data) in enumerate(blocks):
        out += bytes([kind | (0x80 if i == len(blocks) - 1 else 0)]) + len(data).to_bytes(3, "big") + data
    return out + b"\xff\xf8" + b"\x00" * 30


def streaminfo(rate: int = 44_100, channels: int = 2, bits: int = 16, samples: int = 441_000) -> bytes:
    packed = (rate << 44) | ((channels - 1) << 41) | ((bits - 1) << 36) | samples
    return struct.pack(">HH", 4096, 4096) + b"\x00" * 6 + packed.to_bytes(8, "big") + b"\x00" * 16


def test_flac_streaminfo_comments_and_picture() -> None:
    cover = b"\x89PNG a picture"
    picture = struct.pack(">II", 3, 9) + b"image/png" + struct.pack(">I", 5) + b"cover" + b"\x00" * 16
    picture += struct.pack(">I", len(cover)) + cover
    got = run(
        flac((0, streaminfo()), (4, vorbis_comments(b"reference libFLAC 1.3.3", b"DATE=2024-01-02")), (6, picture)),
        "audio/flac",
    )
    assert got.image == {
        "format": "FLAC",
        "channels": 2,
        "sample_rate": 44_100,
        "bits_per_sample": 16,
        "duration_s": 10.0,
    }
    assert got.tags["vendor"] == "reference libFLAC 1.3.3"
    assert got.tags["pictures"] == [
        {
            "picture_type": 3,
            "mime": "image/png",
            "description": "cover",
            "bytes": len(cover),
            "sha256": hashlib.sha256(cover).hexdigest(),
        }
    ]
    assert [(x.source, x.value) for x in got.timestamps] == [("flac", "2024-01-02")]
    assert got.problems == ()


def test_flac_behind_an_id3_tag_is_read_and_the_tag_noted() -> None:
    tag = b"ID3\x04\x00\x00" + bytes([0, 0, 0, 20]) + b"\x00" * 20
    got = run(tag + flac((0, streaminfo()), (4, vorbis_comments(b"Lavf60", b"ENCODER=Recorder 2"))), "audio/flac")
    assert got.image is not None and got.image["duration_s"] == 10.0
    assert got.device is not None and got.device.software == "Recorder 2"
    assert [p.message for p in got.problems] == ["FLAC: an ID3v2 tag of 20 bytes stands before the fLaC marker"]


def test_a_cut_picture_and_a_long_vendor_are_said() -> None:
    cover = b"\x89PNG only part"
    picture = struct.pack(">II", 3, 9) + b"image/png" + struct.pack(">I", 0) + b"\x00" * 16
    picture += struct.pack(">I", 1000) + cover
    got = run(flac((0, streaminfo()), (4, vorbis_comments(b"v" * 5000)), (6, picture)), "audio/flac")
    assert got.tags["pictures"][0]["bytes"] == len(cover)
    assert got.tags["vendor"] == "v" * 4096
    said = [p.message for p in got.problems]
    assert "FLAC: a PICTURE declares 1000 bytes, its block holds 14" in said
    assert "FLAC comment vendor string: 5000 characters; the first 4096 kept" in said


def test_an_ogg_video_gives_its_audio_streams_headers_and_names_every_stream() -> None:
    theora = page([b"\x80theora" + b"\x00" * 40], serial=3, flags=2)
    vorbis_head = b"\x01vorbis" + struct.pack("<IBI", 0, 2, 44_100) + b"\x00" * 16
    vorbis = page([vorbis_head], serial=9, flags=2)
    comments = page([b"\x03vorbis" + vorbis_comments(b"Lavc", b"DATE=2024-05-06")], serial=9, seq=1)
    video = page([b"\x00" * 30], serial=3, seq=1, granule=5)
    end = page([b"\x00"], serial=9, seq=2, granule=88_200, flags=4)
    got = run(theora + vorbis + video + comments + end, "video/ogg")
    assert got.tags["codec"] == "vorbis" and got.tags["streams"] == ["theora", "vorbis"]
    assert got.image is not None and got.image["duration_s"] == 2.0 and got.image["channels"] == 2
    assert [(x.name, x.value) for x in got.timestamps] == [("RecordingTime", "2024-05-06")] and got.problems == ()
    alone = run(theora, "video/ogg")  # no audio stream: named, nothing more read, not damage
    assert alone.tags == {"codec": "theora", "headers_read": False} and alone.problems == ()


def test_speex_and_ogg_flac_headers_and_comments() -> None:
    # speex_string[8], speex_version[20], then int32s: version id, header size, rate, mode,
    # mode bitstream version, channels, ...
    speex = b"Speex   " + b"1.2".ljust(20, b"\x00") + struct.pack("<iiiiii", 1, 80, 16_000, 1, 4, 1)
    speex += b"\x00" * (80 - len(speex))
    data = page([speex], flags=2) + page([vorbis_comments(b"Lavc libspeex", b"TITLE=s")], seq=1)
    got = run(data + page([b"\x00"], seq=2, granule=32_000, flags=4))
    assert (got.tags["codec"], got.tags["sample_rate"], got.tags["channels"]) == ("speex", 16_000, 1)
    assert got.tags["comments"] == {"TITLE": "s"} and got.image is not None and got.image["duration_s"] == 2.0
    flac_head = b"\x7fFLAC\x01\x00\x00\x01fLaC" + b"\x00\x00\x00\x22" + streaminfo(rate=22_050, channels=1)
    comment_block = (
        b"\x84" + len(vorbis_comments(b"ref", b"TITLE=f")).to_bytes(3, "big") + vorbis_comments(b"ref", b"TITLE=f")
    )
    got = run(
        page([flac_head], flags=2) + page([comment_block], seq=1) + page([b"\x00"], seq=2, granule=44_100, flags=4)
    )
    assert (got.tags["codec"], got.tags["sample_rate"], got.tags["channels"]) == ("flac", 22_050, 1)
    assert got.tags["comments"] == {"TITLE": "f"} and got.image is not None and got.image["duration_s"] == 2.0
    assert got.problems == ()


def test_opus_cover_art_is_a_hashed_picture_and_creation_time_a_time() -> None:
    cover = b"\xff\xd8 a jpeg"
    block = (
        struct.pack(">II", 3, 10) + b"image/jpeg" + struct.pack(">I", 0) + b"\x00" * 16 + struct.pack(">I", len(cover))
    )
    picture = b"METADATA_BLOCK_PICTURE=" + base64.b64encode(block + cover)
    got = run(opus(picture, b"CREATION_TIME=2024-05-06T21:30:05Z"))
    assert "comments" not in got.tags or "METADATA_BLOCK_PICTURE" not in got.tags["comments"]
    assert got.tags["pictures"] == [
        {
            "picture_type": 3,
            "mime": "image/jpeg",
            "description": "",
            "bytes": len(cover),
            "sha256": hashlib.sha256(cover).hexdigest(),
        }
    ]
    assert [(x.name, x.utc) for x in got.timestamps] == [("CreationTime", "2024-05-06T21:30:05Z")]
    bad = run(opus(b"METADATA_BLOCK_PICTURE=not base64!"))
    assert bad.tags["comments"]["METADATA_BLOCK_PICTURE"] == "not base64!"
    assert [p.message for p in bad.problems] == ["Ogg comment METADATA_BLOCK_PICTURE is not base64; kept as text"]


def test_a_chained_file_gives_no_duration_and_says_chained() -> None:
    second = page([b"OpusHead" + bytes([1, 1]) + b"\x00" * 9], serial=99, flags=2)
    second += page([b"\xfc"], serial=99, seq=1, granule=48_000, flags=4)
    got = run(opus() + second)
    assert got.tags["chained"] is True and got.image is not None and "duration_s" not in got.image


def test_damage_is_a_problem_never_a_crash() -> None:
    cases = [
        (b"OggS" + b"\x00" * 10, "audio/ogg", "truncated page header"),
        (opus()[:60], "audio/ogg", "truncated"),
        (
            page([b"OpusHead" + b"\x01\x01" + b"\x00" * 9], flags=2) + b"NotOggS" + b"\x00" * 40,
            "audio/ogg",
            "does not start with OggS",
        ),
        (
            page([b"OpusHead" + b"\x01\x01" + b"\x00" * 9], flags=2)
            + page([b"OpusTags" + struct.pack("<I", 10_000)], seq=1),
            "audio/ogg",
            "vendor string declares 10000 bytes",
        ),
        (
            page([b"OpusHead" + b"\x01\x01" + b"\x00" * 9], flags=2)
            + page([b"OpusTags" + struct.pack("<I", 0) + struct.pack("<I", 2**32 - 1)], seq=1),
            "audio/ogg",
            "comments declared, 0 present",
        ),
        (b"fLaC\x00\x00\x00", "audio/flac", "truncated metadata block header"),
        (b"fLaC\x80\x00\x00\x22" + b"\x00" * 10, "audio/flac", "is truncated"),
        (flac((0, b"\x00" * 10)), "audio/flac", "STREAMINFO is shorter"),
        (flac((0, streaminfo()), (6, b"\x00\x00\x00\x03\x00\x00\xff\xff")), "audio/flac", "PICTURE block is truncated"),
    ]
    for data, mime, said in cases:
        got = run(data, mime)
        assert any(said in p.message for p in got.problems), (said, got.problems)
        assert all(p.severity == "warning" for p in got.problems)


def test_header_packets_past_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(oggfmt, "MAX_HEADER", 100)
    got = run(opus(b"X=" + b"y" * 500))
    assert any("larger than 100 bytes" in p.message for p in got.problems)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=500), st.binary(max_size=300))
def test_any_packets_read_without_raising(first: bytes, second: bytes) -> None:
    for lead in (b"OpusHead", b"\x01vorbis", b""):
        data = page([lead + first], flags=2) + page([second], seq=1) + page([second[:20]], granule=5, seq=2)
        got = run(data)
        assert all(p.stage == "metadata:ogg" for p in got.problems)
    got = run(b"fLaC" + first + second, "audio/flac")
    assert all(p.stage == "metadata:flac" for p in got.problems)


def test_scan_of_a_voice_message(tmp_path: Path) -> None:
    rec = scan_one(tmp_path / "case", "PTT-20250203-WA0001.opus", opus(b"DATE=2025-02-03T04:05:06"))
    assert rec.mime == "audio/ogg"
    assert rec.captured is not None and (rec.captured.source, rec.captured.value) == ("ogg", "2025-02-03T04:05:06")
    assert rec.image is not None and rec.image["duration_s"] == 3.0 and rec.device.software == "libopus 1.3.1"
    assert not rec.errors
