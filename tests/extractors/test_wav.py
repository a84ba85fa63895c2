"""RIFF metadata of WAV and AVI: the INFO list, the Broadcast Wave bext chunk, a WAV's
audio format and duration, the chunk list; damage becomes problems, never a crash. Files
are built here chunk by chunk (RIFF, EBU Tech 3285)."""

from __future__ import annotations

import struct
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from evidence_cli.extractors.wav import RiffExtractor
from evidence_cli.models import Extraction
from tests.builders import file_context, scan_one
from tests.extractors.test_id3 import v23_tag


def chunk(fourcc: bytes, data: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")


def riff_file(form: bytes, *chunks: bytes) -> bytes:
    body = form + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def info(*items: tuple[bytes, bytes]) -> bytes:
    return chunk(b"LIST", b"INFO" + b"".join(chunk(k, v + b"\x00") for k, v in items))


#: 8 kHz, mono, 16-bit PCM: 16,000 bytes a second.
FMT = chunk(b"fmt ", struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16))


def bext(
    *,
    originator: bytes = b"ZOOM H5",
    date: bytes = b"2024-05-06",
    clock: bytes = b"21:30:05",
    history: bytes = b"A=PCM,F=48000,W=24,M=stereo,T=ZOOM H5\r\n",
) -> bytes:
    data = b"Interview".ljust(256, b"\x00") + originator.ljust(32, b"\x00") + b"REF-0001".ljust(32, b"\x00")
    data += date + clock + struct.pack("<QH", 1_234_567, 1) + b"\x00" * 64 + b"\x00" * 190
    return chunk(b"bext", data + history)


def wav(*extra: bytes, seconds: float = 2.0) -> bytes:
    return riff_file(b"WAVE", FMT, *extra, chunk(b"data", b"\x00" * int(16000 * seconds)))


def run(data: bytes, mime: str = "audio/x-wav") -> Extraction:
    return RiffExtractor().extract(file_context(data, "call.wav", mime=mime))


def test_bext_info_format_and_chunks() -> None:
    got = run(wav(bext(), info((b"ISFT", b"Call Recorder 3.1"), (b"ICRD", b"2024-05-06"), (b"INAM", b"Call"))))
    t = got.tags
    assert t["form"] == "WAVE" and t["chunks"] == ["fmt ", "bext", "LIST", "data"]
    assert t["INFO"] == {"ISFT": "Call Recorder 3.1", "ICRD": "2024-05-06", "INAM": "Call"}
    assert t["bext"] == {
        "Description": "Interview",
        "Originator": "ZOOM H5",
        "OriginatorReference": "REF-0001",
        "OriginationDate": "2024-05-06",
        "OriginationTime": "21:30:05",
        "TimeReference": 1_234_567,
        "Version": 1,
        "CodingHistory": "A=PCM,F=48000,W=24,M=stereo,T=ZOOM H5",
    }
    assert t["fmt"]["sample_rate"] == 8000 and t["fmt"]["bits_per_sample"] == 16
    assert got.image == {
        "format": "WAV",
        "codec": "PCM",
        "channels": 1,
        "sample_rate": 8000,
        "bits_per_sample": 16,
        "duration_s": 2.0,
    }
    assert [(x.name, x.value, x.raw) for x in got.timestamps] == [
        ("DateTimeOriginal", "2024-05-06T21:30:05", "2024-05-06 21:30:05"),
        ("DateCreated", "2024-05-06", "2024-05-06"),
    ]
    assert got.device is not None and got.device.software == "Call Recorder 3.1" and got.device.source == "riff"
    assert got.problems == ()


def test_bext_time_with_other_separators_as_the_standard_allows() -> None:
    got = run(wav(bext(date=b"2024:05:06", clock=b"21-30-05")))
    assert [(x.name, x.value) for x in got.timestamps] == [("DateTimeOriginal", "2024-05-06T21:30:05")]


def test_an_avi_info_list_is_read_and_its_movi_list_is_not() -> None:
    movi = chunk(b"LIST", b"movi" + b"\xff" * 5000)
    got = run(
        riff_file(b"AVI ", chunk(b"LIST", b"hdrl" + b"\x00" * 64), info((b"ISFT", b"Lavf58.76.100")), movi),
        "video/x-msvideo",
    )
    assert got.tags["INFO"] == {"ISFT": "Lavf58.76.100"} and got.tags["form"] == "AVI "
    assert got.image is None and got.problems == ()


def avi(idit: bytes | None, *extra: bytes) -> bytes:
    header = chunk(b"avih", b"\x00" * 56) + chunk(b"LIST", b"strl" + chunk(b"strh", b"\x00" * 56))
    if idit is not None:
        header += chunk(b"IDIT", idit)
    return riff_file(b"AVI ", chunk(b"LIST", b"hdrl" + header), *extra, chunk(b"LIST", b"movi" + b"\x00" * 100))


def test_an_avi_header_list_gives_the_camera_time() -> None:
    got = run(avi(b"THU OCT 26 16:46:04 2006\n\x00", info((b"ISFT", b"CanonMVI06"))), "video/x-msvideo")
    assert got.tags["IDIT"] == "THU OCT 26 16:46:04 2006"
    assert [(x.name, x.source, x.value, x.utc, x.raw) for x in got.timestamps] == [
        ("DateTimeOriginal", "riff", "2006-10-26T16:46:04", None, "THU OCT 26 16:46:04 2006")
    ]
    assert got.device is not None and got.device.software == "CanonMVI06" and got.problems == ()


def test_an_avi_gives_its_frame_size_codecs_rate_and_length_as_ffprobe_does() -> None:
    avih = struct.pack("<10I", 100_000, 0, 0, 0, 20, 0, 2, 0, 64, 48) + b"\x00" * 16
    vids = chunk(b"strh", b"vidsMJPG" + struct.pack("<IHHI4I", 0, 0, 0, 0, 1, 10, 0, 20) + b"\x00" * 20)
    vids += chunk(b"strf", struct.pack("<IiiHH", 40, 64, -48, 1, 24) + b"MJPG" + b"\x00" * 20)
    auds = chunk(b"strh", b"auds\x01\x00\x00\x00" + struct.pack("<IHHI4I", 0, 0, 0, 0, 1, 22_050, 0, 44_100))
    auds += chunk(b"strf", struct.pack("<HHIIHH", 1, 1, 22_050, 44_100, 2, 16))
    header = chunk(b"avih", avih) + chunk(b"LIST", b"strl" + vids) + chunk(b"LIST", b"strl" + auds)
    got = run(riff_file(b"AVI ", chunk(b"LIST", b"hdrl" + header), chunk(b"LIST", b"movi")), "video/x-msvideo")
    assert got.image == {
        "format": "AVI",
        "width": 64,
        "height": 48,
        "codec": "MJPG",
        "frame_rate": 10.0,
        "duration_s": 2.0,
        "audio_codec": "PCM",
        "audio_channels": 1,
        "audio_sample_rate": 22_050,
    }
    assert got.tags["avi"]["main"]["total_frames"] == 20 and got.problems == ()
    only_main = run(riff_file(b"AVI ", chunk(b"LIST", b"hdrl" + chunk(b"avih", avih))), "video/x-msvideo")
    assert only_main.image == {"format": "AVI", "width": 64, "height": 48, "duration_s": 2.0}


def test_camera_times_in_the_other_shapes_cameras_write() -> None:
    for text, value in [
        (b"Oct  6 09:05:00 2006", "2006-10-06T09:05:00"),
        (b"2005:08:17 11:42:43", "2005-08-17T11:42:43"),
        (b"2005/08/17/ 11:42", "2005-08-17T11:42"),
        (b"2005-08-17", "2005-08-17"),
    ]:
        got = run(avi(text + b"\x00"), "video/x-msvideo")
        assert [x.value for x in got.timestamps] == [value], text
        assert got.problems == ()


def test_a_camera_time_that_is_not_a_date_is_kept_and_said() -> None:
    for text, said in [(b"yesterday", "not a date this reader knows"), (b"SUN FEB 30 10:00:00 2020", "impossible")]:
        got = run(avi(text), "video/x-msvideo")
        assert got.tags["IDIT"] == text.decode() and got.timestamps == ()
        assert any(said in p.message for p in got.problems), got.problems
    cut = avi(b"THU OCT 26 16:46:04 2006")
    header_end = cut.index(b"IDIT") + 8
    got = run(cut[: header_end + 5], "video/x-msvideo")
    assert any("IDIT declares 24 bytes, 5 remain" in p.message for p in got.problems), got.problems


def test_an_id3_chunk_in_a_wav_is_read_as_an_mp3_tag_is() -> None:
    got = run(wav(chunk(b"id3 ", v23_tag())))
    t = got.tags["id3"]
    assert t["version"] == "ID3v2.3.0" and t["TSSE"] == "Lavf58.76.100" and t["TIT2"] == "Call with +44 7700 900123"
    assert [(x.name, x.source, x.value) for x in got.timestamps] == [("RecordingTime", "riff", "2019-07-24T11:25")]
    assert got.device is not None and got.device.software == "Lavf58.76.100" and got.problems == ()
    with_info = run(wav(chunk(b"ID3 ", v23_tag()), info((b"ISFT", b"Recorder"))))
    assert with_info.device is not None and with_info.device.software == "Recorder"
    garbage = run(wav(chunk(b"id3 ", b"not a tag")))
    assert "id3" not in garbage.tags and [p.message for p in garbage.problems] == [
        "RIFF: the 'id3 ' chunk holds no ID3v2 tag"
    ]


def test_rf64_sizes_come_from_ds64() -> None:
    """RF64/BW64 (WAV past 4 GiB): 0xFFFFFFFF sizes, the real ones in the ds64 chunk."""
    audio = b"\x00" * 32_000
    rest = FMT + bext() + b"data" + b"\xff\xff\xff\xff" + audio
    # ds64: RIFF size, data size, sample count, table length (none).
    body = chunk(b"ds64", struct.pack("<QQQI", 4 + 36 + len(rest), len(audio), 16_000, 0)) + rest
    for kind in (b"RF64", b"BW64"):
        got = run(kind + b"\xff\xff\xff\xff" + b"WAVE" + body)
        assert got.tags["container"] == kind.decode() and got.tags["chunks"] == ["ds64", "fmt ", "bext", "data"]
        assert got.image is not None and got.image["duration_s"] == 2.0
        assert [x.value for x in got.timestamps] == ["2024-05-06T21:30:05"] and got.problems == ()
    no_ds64 = run(b"RF64" + struct.pack("<I", 4 + len(FMT)) + b"WAVE" + FMT)
    assert [p.message for p in no_ds64.problems] == ["RF64: no ds64 chunk first; 32-bit sizes used"]


def test_a_compressed_wav_lasts_what_its_fact_chunk_says() -> None:
    ima = chunk(b"fmt ", struct.pack("<HHIIHHHH", 0x11, 1, 22_050, 11_100, 512, 4, 2, 1017))
    got = run(riff_file(b"WAVE", ima, chunk(b"fact", struct.pack("<I", 65_368)), chunk(b"data", b"\x00" * 33_048)))
    assert got.image is not None and got.image["codec"] == "IMA ADPCM" and got.image["duration_s"] == 2.964535
    assert got.tags["fmt"]["fact_samples"] == 65_368
    pcm = run(wav(chunk(b"fact", struct.pack("<I", 5))))  # PCM: the data's length decides
    assert pcm.image is not None and pcm.image["duration_s"] == 2.0


def test_an_extensible_wav_names_its_real_format() -> None:
    guid_tail = bytes.fromhex("000000001000800000aa00389b71")
    ext = struct.pack("<HHIIHHHHI", 0xFFFE, 2, 44_100, 352_800, 8, 32, 22, 32, 3) + struct.pack("<H", 3) + guid_tail
    got = run(riff_file(b"WAVE", chunk(b"fmt ", ext), chunk(b"data", b"\x00" * 352_800)))
    assert got.image is not None and got.image["codec"] == "IEEE float (extensible)" and got.image["duration_s"] == 1.0
    assert got.tags["fmt"]["sub_format"] == "0300" + guid_tail.hex()


def test_free_text_creation_date_stays_a_tag() -> None:
    got = run(wav(info((b"ICRD", b"summer of 2019"))))
    assert got.tags["INFO"]["ICRD"] == "summer of 2019" and got.timestamps == () and got.problems == ()


def test_repeated_info_items_are_all_kept() -> None:
    got = run(wav(info((b"ICMT", b"first"), (b"ICMT", b"second"), (b"ICMT", b"third"))))
    assert got.tags["INFO"]["ICMT"] == ["first", "second", "third"]


def test_latin1_and_utf8_texts() -> None:
    got = run(wav(info((b"IART", "Zoë".encode()), (b"ICMT", "café".encode("latin-1")))))
    assert got.tags["INFO"] == {"IART": "Zoë", "ICMT": "café"}


def test_damage_is_a_problem_never_a_crash() -> None:
    short_bext = chunk(b"bext", b"too short")
    bad_info = chunk(b"LIST", b"INFO" + b"\x01\x02\x03\x04" + b"\x00" * 8)
    got = run(wav(short_bext, bad_info, chunk(b"fmt ", b"\x01\x00")))
    said = [p.message for p in got.problems]
    assert any("less than its 602-byte layout" in m for m in said)
    assert any("no INFO item name" in m for m in said)
    impossible = run(wav(bext(date=b"2024-13-45", clock=b"99:99:99")))
    assert impossible.timestamps == () and any("RIFF bext" in p.message for p in impossible.problems)
    cut = wav(bext(), info((b"ISFT", b"x" * 100)))
    got = run(cut[: len(cut) - 32050])  # the file ends inside the INFO list
    assert all(p.stage == "metadata:riff" and p.severity == "warning" for p in got.problems) and got.problems


def test_the_shared_corpus_riff_bomb_shape() -> None:
    """LIST inside INFO inside LIST, a thousand deep (c2pa-rs's riff_bomb_1000.wav): read flat."""
    nested = b"\x00\x00\x00\x00"
    for _ in range(1000):
        nested = b"LIST" + struct.pack("<I", len(nested) + 4) + b"INFO" + nested
    got = run(riff_file(b"WAVE", FMT, chunk(b"data", b""), nested))
    assert list(got.tags["INFO"]) == ["LIST"] and got.image is not None and got.image["duration_s"] == 0.0


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.sampled_from([b"WAVE", b"AVI "]))
def test_any_chunks_read_without_raising(body: bytes, form: bytes) -> None:
    got = run(riff_file(form, FMT, chunk(b"LIST", b"INFO" + body), chunk(b"bext", body)))
    assert all(p.stage == "metadata:riff" for p in got.problems)
    got = run(riff_file(form, chunk(b"LIST", b"hdrl" + body), chunk(b"id3 ", b"ID3" + body), chunk(b"IDIT", body)))
    assert all(p.stage == "metadata:riff" for p in got.problems)


def test_scan_gives_an_avi_camera_time_as_captured(tmp_path: Path) -> None:
    rec = scan_one(tmp_path / "case", "MVI_0001.AVI", avi(b"THU OCT 26 16:46:04 2006\n\x00"))
    assert rec.mime in RiffExtractor.mime_types
    assert rec.captured is not None and (rec.captured.name, rec.captured.value) == (
        "DateTimeOriginal",
        "2006-10-26T16:46:04",
    )
    assert not rec.errors


def test_scan_gives_the_origination_time_as_captured(tmp_path: Path) -> None:
    rec = scan_one(tmp_path / "case", "recording.wav", wav(bext(), info((b"ISFT", b"Call Recorder 3.1"))))
    assert rec.mime in RiffExtractor.mime_types
    assert rec.captured is not None and (rec.captured.source, rec.captured.value) == ("riff", "2024-05-06T21:30:05")
    assert rec.device.software == "Call Recorder 3.1" and rec.image is not None and rec.image["duration_s"] == 2.0
    assert not rec.errors
