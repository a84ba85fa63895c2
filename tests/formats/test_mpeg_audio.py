"""MPEG audio frames: the first frame, Xing/Info/VBRI headers, the length as ffprobe gives
it, and nothing taken for a frame that is not followed by another."""

from __future__ import annotations

import io
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from evidence_cli.formats import mpeg_audio

#: MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, stereo, no CRC: 417 bytes a frame (418 padded).
MPEG1 = b"\xff\xfb\x90\x00"
#: MPEG-2 Layer III, 32 kbit/s, 22.05 kHz, mono: 72 * 32000 / 22050 = 104 bytes.
MPEG2_MONO = b"\xff\xf3\x40\xc0"


def frames(header: bytes, n: int, length: int) -> bytes:
    return (header + b"\x00" * (length - 4)) * n


def read(data: bytes) -> mpeg_audio.Stream | None:
    return mpeg_audio.read(io.BytesIO(data), len(data))


def test_a_constant_bit_rate_stream_lasts_its_bytes_over_its_rate() -> None:
    tag = b"ID3\x04\x00\x00\x00\x00\x00\x0a" + b"\x00" * 10
    v1 = b"TAG" + b"\x00" * 125
    got = read(tag + frames(MPEG1, 10, 417) + v1)
    assert got is not None and got.offset == 20 and got.header is None and got.frames is None
    f = got.frame
    assert (f.version, f.layer, f.bitrate_kbps, f.sample_rate, f.channels, f.length) == ("1", 3, 128, 44_100, 2, 417)
    assert got.duration_s == round(4170 * 8 / 128_000, 6)


def test_xing_info_and_vbri_headers_give_the_frame_count() -> None:
    first = bytearray(MPEG1 + b"\x00" * 413)
    first[36:48] = b"Xing" + struct.pack(">II", 1, 1000)
    got = read(bytes(first) + frames(MPEG1, 3, 417))
    assert got is not None and (got.header, got.frames) == ("Xing", 1000)
    assert got.duration_s == round(1000 * 1152 / 44_100, 6)
    mono = bytearray(MPEG2_MONO + b"\x00" * 100)
    mono[13:25] = b"Info" + struct.pack(">II", 1, 500)  # MPEG-2 mono: side info is 9 bytes
    got = read(bytes(mono) + frames(MPEG2_MONO, 3, 104))
    assert got is not None and (got.header, got.frames, got.frame.channels) == ("Info", 500, 1)
    assert got.duration_s == round(500 * 576 / 22_050, 6)
    vbri = bytearray(MPEG1 + b"\x00" * 413)
    vbri[36:54] = b"VBRI" + b"\x00" * 10 + struct.pack(">I", 77)
    got = read(bytes(vbri) + frames(MPEG1, 3, 417))
    assert got is not None and (got.header, got.frames) == ("VBRI", 77)


def test_a_lone_sync_word_is_not_a_frame() -> None:
    junk = b"\x00" * 50 + MPEG1 + b"\x12" * 600  # a frame header not followed by another
    assert read(junk) is None
    got = read(junk + frames(MPEG1, 2, 417))
    assert got is not None and got.offset == 50 + 4 + 600


def test_reserved_values_are_not_frames() -> None:
    for header in (b"\xff\xe9\x90\x00", b"\xff\xf9\x90\x00", b"\xff\xfb\xf0\x00", b"\xff\xfb\x0c\x00"):
        assert mpeg_audio.frame_at(header) is None, header.hex()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_any_bytes_read_without_raising(data: bytes) -> None:
    got = read(data)
    assert got is None or got.duration_s is None or got.duration_s >= 0
