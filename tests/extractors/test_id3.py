"""ID3 tags of MP3 files: ID3v2.2, 2.3 and 2.4 (unsynchronisation, extended headers,
compressed and encrypted frames), ID3v1, the recording time, the encoder software, and
damage that becomes problems, never a crash. Tags are built here, byte by byte, as the
id3.org documents lay them out."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence_cli.extractors.id3 import Id3Extractor
from evidence_cli.formats import id3
from evidence_cli.models import Extraction
from tests.builders import file_context, scan_one

#: Three MPEG-1 layer III frames (128 kbit/s, 44.1 kHz, 417 bytes each): audio libmagic knows.
AUDIO = (b"\xff\xfb\x90\x64" + b"\x00" * 413) * 3


def syncsafe(n: int) -> bytes:
    return bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])


def frame(name: str, data: bytes, *, major: int = 3, flags: int = 0) -> bytes:
    if major == 2:
        return name.encode() + len(data).to_bytes(3, "big") + data
    size = syncsafe(len(data)) if major == 4 else struct.pack(">I", len(data))
    return name.encode() + size + flags.to_bytes(2, "big") + data


def tag(*frames: bytes, major: int = 3, flags: int = 0, padding: int = 0, body: bytes | None = None) -> bytes:
    content = body if body is not None else b"".join(frames) + b"\x00" * padding
    return b"ID3" + bytes([major, 0, flags]) + syncsafe(len(content)) + content


def text(value: str, encoding: int = 3) -> bytes:
    codec = {0: "latin-1", 1: "utf-16", 2: "utf-16-be", 3: "utf-8"}[encoding]
    return bytes([encoding]) + value.encode(codec)


def run(data: bytes) -> Extraction:
    return Id3Extractor().extract(file_context(data, "call.mp3", mime="audio/mpeg"))


def messages(got: Extraction) -> list[str]:
    return [p.message for p in got.problems]


PICTURE = b"\xff\xd8\xff\xe0 a cover picture \xff\xd9"


def v23_tag() -> bytes:
    return tag(
        frame("TIT2", text("Call with +44 7700 900123", 0)),
        frame("TPE1", text("Recorder", 1)),
        frame("TSSE", text("Lavf58.76.100", 0)),
        frame("TYER", text("2019", 0)),
        frame("TDAT", text("2407", 0)),  # DDMM
        frame("TIME", text("1125", 0)),  # HHMM
        frame("COMM", b"\x00eng" + b"short\x00" + b"Recorded on a call"),
        frame("TXXX", b"\x01" + "app\x00".encode("utf-16") + "CallRec 4.2".encode("utf-16")),
        frame("APIC", b"\x00image/jpeg\x00\x03cover\x00" + PICTURE),
        frame("GEOB", b"\x00text/plain\x00notes.txt\x00attached\x00hello"),
        frame("PRIV", b"com.example\x00\x01\x02\x03"),
        frame("WXXX", b"\x00link\x00https://example.org/x"),
        padding=64,
    )


def test_v23_frames_times_and_software() -> None:
    got = run(v23_tag() + AUDIO)
    t = got.tags
    assert t["version"] == "ID3v2.3.0"
    assert t["TIT2"] == "Call with +44 7700 900123" and t["TPE1"] == "Recorder" and t["TSSE"] == "Lavf58.76.100"
    assert t["COMM"] == [{"language": "eng", "description": "short", "text": "Recorded on a call"}]
    assert t["TXXX"] == [{"description": "app", "value": "CallRec 4.2"}]
    assert t["APIC"] == [
        {
            "mime": "image/jpeg",
            "picture_type": 3,
            "description": "cover",
            "bytes": len(PICTURE),
            "sha256": hashlib.sha256(PICTURE).hexdigest(),
        }
    ]
    assert t["GEOB"][0]["mime"] == "text/plain" and t["GEOB"][0]["filename"] == "notes.txt"
    assert t["GEOB"][0]["bytes"] == 5
    assert t["PRIV"] == [
        {"owner": "com.example", "hex": "010203", "bytes": 3, "sha256": hashlib.sha256(b"\x01\x02\x03").hexdigest()}
    ]
    assert t["WXXX"] == [{"description": "link", "url": "https://example.org/x"}]
    [ts] = got.timestamps
    assert (ts.name, ts.source, ts.value, ts.raw) == (
        "RecordingTime",
        "id3",
        "2019-07-24T11:25",
        "TYER=2019 TDAT=2407 TIME=1125",
    )
    assert got.device is not None and got.device.software == "Lavf58.76.100" and got.device.source == "id3"
    assert got.problems == ()


def test_v24_times_encodings_unsync_length_and_compression() -> None:
    packed = zlib.compress(text("a compressed title"))
    unsynced = text("x\xff\xe0y", 0).replace(b"\xff", b"\xff\x00")  # FF written as FF 00
    got = run(
        tag(
            frame("TDRC", text("2024-03-01T10:20:30"), major=4),
            frame("TDEN", text("2024-03-01T10:21"), major=4),
            frame("TPE1", text("one\x00two", 3), major=4),  # two values
            frame("TCOM", text("UTF-16 big-endian", 2), major=4),
            frame("TIT2", syncsafe(len(text("a compressed title"))) + packed, major=4, flags=0x0009),
            frame("TIT3", unsynced, major=4, flags=0x0002),
            major=4,
        )
        + AUDIO
    )
    t = got.tags
    assert t["version"] == "ID3v2.4.0"
    assert t["TPE1"] == ["one", "two"] and t["TCOM"] == "UTF-16 big-endian"
    assert t["TIT2"] == "a compressed title"
    assert t["TIT3"] == "x\xff\xe0y"
    assert [(x.name, x.value) for x in got.timestamps] == [
        ("RecordingTime", "2024-03-01T10:20:30"),
        ("EncodingTime", "2024-03-01T10:21"),
    ]
    assert got.problems == ()


def test_v23_whole_tag_unsynchronisation_and_extended_header() -> None:
    frames = frame("TIT2", text("\xff\xe0 odd", 0))
    extended = struct.pack(">I", 6) + b"\x00\x00" + b"\x00\x00\x00\x00"  # size, flags, padding size
    body = (extended + frames).replace(b"\xff", b"\xff\x00")
    got = run(tag(body=body, flags=0x80 | 0x40) + AUDIO)
    assert got.tags["TIT2"] == "\xff\xe0 odd" and got.problems == ()


def test_v22_names_become_v23_names() -> None:
    got = run(
        tag(
            frame("TT2", text("old", 0), major=2),
            frame("TYE", text("2001", 0), major=2),
            frame("TDA", text("3112", 0), major=2),
            frame("TSS", text("an old encoder", 0), major=2),
            frame("PIC", b"\x00PNG\x00desc\x00\x89PNG", major=2),
            frame("COM", b"\x00eng\x00a comment", major=2),
            major=2,
        )
    )
    t = got.tags
    assert t["version"] == "ID3v2.2.0" and t["TIT2"] == "old" and t["TSSE"] == "an old encoder"
    assert t["APIC"][0]["mime"] == "PNG" and t["APIC"][0]["picture_type"] == 0 and t["APIC"][0]["bytes"] == 4
    assert t["COMM"][0]["text"] == "a comment"
    assert [(x.name, x.value) for x in got.timestamps] == [("RecordingTime", "2001-12-31")]


def test_v1_tag_at_the_end() -> None:
    v1 = b"TAG" + b"Title".ljust(30, b"\x00") + b"Artist".ljust(30, b" ") + b"Album".ljust(30, b"\x00")
    v1 += b"1999" + b"a comment".ljust(28, b"\x00") + b"\x00\x07" + b"\x0c"
    got = run(AUDIO + v1)
    assert got.tags == {
        "ID3v1": {
            "title": "Title",
            "artist": "Artist",
            "album": "Album",
            "year": "1999",
            "comment": "a comment",
            "track": 7,
            "genre": 12,
        }
    }
    assert got.timestamps == ()  # a year alone, in the weakest tag there is: not a time


def test_no_tag_gives_nothing_and_no_problem() -> None:
    got = run(AUDIO)
    assert got.tags == {} and got.problems == () and got.timestamps == () and got.device is None


def test_a_repeated_text_frame_is_kept_apart() -> None:
    got = run(tag(frame("TIT2", text("first")), frame("TIT2", text("second"))))
    assert got.tags["TIT2"] == "first"
    assert got.tags["repeated_frames"] == [{"frame": "TIT2", "value": "second"}]


# --- damage --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "said"),
    [
        # The shared corpus's id3v23_compression_underflow.mp3: a compressed frame of 3 bytes.
        (tag(frame("TIT2", b"\x00\x00\x00", flags=0x0080)), "shorter than its flags say"),
        (tag(frame("TIT2", b"\x00\x00\x00\x10" + b"not zlib at all", flags=0x0080)), "compressed data is damaged"),
        (tag(frame("TIT2", b"\x00\x00\x00\x10" + zlib.compress(b"\x00truncated")[:-6], flags=0x0080)), "ends early"),
        (tag(frame("TIT2", b"\x01" + text("secret"), flags=0x0040)), "encrypted; not read"),
        (tag(frame("TIT2", text("ok")), frame("tit2", text("bad"))), "no frame name at offset"),
        (b"ID3\x03\x00\x00" + syncsafe(100_000) + frame("TIT2", text("ok")), "but the file holds"),
        (tag(body=b"TIT2" + struct.pack(">I", 1000) + b"\x00\x00" + text("short")), "the tag holds"),
        (b"ID3\x03\x00\x00\x00\x00\x80\x00" + b"\x00" * 20, "not a syncsafe integer"),
        (b"ID3\x05\x00\x00" + syncsafe(10) + b"\x00" * 10, "not a version this reader knows"),
        (tag(body=struct.pack(">I", 5000) + b"\x00" * 10, flags=0x40), "extended header's size is damaged"),
        (b"ID3\x02\x00\x40" + syncsafe(10) + b"\x00" * 10, "compressed, a scheme the standard never defined"),
        (
            tag(frame("TIT2", b"\xff\xff\xff\xff", major=4).replace(syncsafe(4), b"\x00\x00\x00\x84"), major=4),
            "not syncsafe",
        ),
    ],
)
def test_damage_is_a_problem_never_a_crash(data: bytes, said: str) -> None:
    got = run(data + AUDIO)
    assert any(said in m for m in messages(got)), messages(got)
    assert all(p.severity == "warning" and p.stage == "metadata:id3" for p in got.problems)


def test_a_frame_that_inflates_past_the_cap_keeps_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(id3, "MAX_INFLATED", 1000)
    bomb = zlib.compress(b"\x00" + b"A" * 1_000_000)
    got = run(tag(frame("TIT2", struct.pack(">I", 1_000_001) + bomb, flags=0x0080)))
    assert len(got.tags["TIT2"]) == 999
    assert any("inflates to more than 1000 bytes" in m for m in messages(got))


def test_long_text_is_bounded() -> None:
    got = run(tag(frame("USLT", b"\x00eng\x00" + b"la " * 10_000)))
    assert len(got.tags["USLT"][0]["text"]) == 4096
    assert any("30000 characters; the first 4096 kept" in m for m in messages(got))


def test_too_many_frames_stop_at_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(id3, "MAX_FRAMES", 10)
    got = run(tag(*(frame("TXXX", b"\x00k\x00v") for _ in range(50))))
    assert len(got.tags["TXXX"]) == 10 and any("more than 10 frames" in m for m in messages(got))


def test_bad_times_are_problems() -> None:
    got = run(tag(frame("TDRC", text("2024-13-45T99:00")), major=4))
    assert got.timestamps == () and any("RecordingTime" in m for m in messages(got))


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600), st.sampled_from([2, 3, 4]), st.integers(0, 255))
def test_any_tag_body_reads_without_raising(body: bytes, major: int, flags: int) -> None:
    got = run(tag(body=body, major=major, flags=flags) + AUDIO)
    assert all(p.stage == "metadata:id3" for p in got.problems)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["TIT2", "TXXX", "COMM", "APIC", "GEOB", "PRIV", "WXXX", "TDRC", "XYZ1"]),
            st.binary(max_size=40),
            st.integers(0, 0xFFFF),
        ),
        max_size=8,
    ),
    st.sampled_from([3, 4]),
)
def test_any_frames_read_without_raising(frames: list[tuple[str, bytes, int]], major: int) -> None:
    got = run(tag(*(frame(n, d, major=major, flags=f) for n, d, f in frames), major=major) + AUDIO)
    assert all(p.stage == "metadata:id3" for p in got.problems)


def test_split_encoded_respects_utf16_alignment() -> None:
    # "a\u0100" in UTF-16-LE is 61 00 00 01: its middle 00 00 is not a terminator.
    raw = "a\u0100".encode("utf-16-le") + b"\x00\x00" + b"rest"
    (first,), rest = id3.split_encoded(raw, 1, 1)
    assert id3.decode(first, 1) == "a\u0100" and rest == b"rest"


def test_read_v2_reads_only_the_tag() -> None:
    fh = io.BytesIO(v23_tag() + AUDIO)
    notes: list[str] = []
    got = id3.read_v2(fh, notes)
    assert got is not None and [f.name for f in got.frames][:3] == ["TIT2", "TPE1", "TSSE"] and notes == []


def test_text_values_past_the_cap_are_said() -> None:
    notes: list[str] = []
    values = id3.text_values(b"\x00" + b"\x00".join(b"v%d" % i for i in range(150)), notes, "ID3 frame TPE1")
    assert values == [f"v{i}" for i in range(100)]
    assert notes == ["ID3 frame TPE1: more than 100 values; the first 100 kept"]


def test_read_v2_reads_from_the_start_wherever_the_handle_was_left() -> None:
    fh = io.BytesIO(v23_tag() + AUDIO)
    fh.seek(7)  # another reader (libmagic's sniff, a signature check) left it here
    got = id3.read_v2(fh, [])
    assert got is not None and [f.name for f in got.frames][:3] == ["TIT2", "TPE1", "TSSE"]


# --- the whole scan -------------------------------------------------------------------


def test_scan_gives_the_recording_time_as_captured_and_the_encoder(tmp_path: Path) -> None:
    rec = scan_one(tmp_path / "case", "voice-note.mp3", v23_tag() + AUDIO)
    assert rec.mime == "audio/mpeg"
    assert rec.captured is not None and rec.captured.source == "id3" and rec.captured.value == "2019-07-24T11:25"
    assert rec.device.software == "Lavf58.76.100" and rec.device.source == "id3"
    assert rec.metadata["id3"]["TIT2"] == "Call with +44 7700 900123"
    assert not [p for p in rec.errors if p.stage.startswith("metadata")]
