"""MPEG audio (MP3, MP2) frames: the first frame's header, its Xing/Info or VBRI header,
and from them the stream's length. Bounded: at most :data:`SEARCH` bytes are read to find
the first frame, and it counts only when the next frame starts where its length says.

The length is the frame count (from a Xing/Info or VBRI header) times the samples a
frame holds, over the sample rate, as ffprobe gives it; without such a header, for a
constant bit rate, the audio's bytes (after the ID3v2 tag, before an ID3v1 tag) over the
byte rate.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

from evidence_cli.formats import id3

#: Bytes searched for the first frame after the ID3v2 tag.
SEARCH = 64 * 1024
VERSIONS = {0: "2.5", 2: "2", 3: "1"}
LAYERS = {1: 3, 2: 2, 3: 1}
RATES = {"1": (44_100, 48_000, 32_000), "2": (22_050, 24_000, 16_000), "2.5": (11_025, 12_000, 8_000)}
#: kbit/s by (MPEG-1?, layer), bitrate index 1..14.
BITRATES = {
    (True, 1): (32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}


@dataclass(frozen=True)
class Frame:
    version: str
    """``1``, ``2`` or ``2.5``."""
    layer: int
    bitrate_kbps: int
    sample_rate: int
    channels: int
    padding: int
    protected: bool

    @property
    def samples(self) -> int:
        """Samples a frame holds."""
        if self.layer == 1:
            return 384
        return 1152 if self.layer == 2 or self.version == "1" else 576

    @property
    def length(self) -> int:
        """Bytes of the frame, header included."""
        if self.layer == 1:
            return (12 * self.bitrate_kbps * 1000 // self.sample_rate + self.padding) * 4
        return self.samples // 8 * self.bitrate_kbps * 1000 // self.sample_rate + self.padding


def frame_at(b: bytes) -> Frame | None:
    """The frame header in the first four bytes of ``b``, or None."""
    if len(b) < 4 or b[0] != 0xFF or b[1] & 0xE0 != 0xE0:
        return None
    v, lay, rate_i = (b[1] >> 3) & 3, (b[1] >> 1) & 3, (b[2] >> 2) & 3
    bit_i = b[2] >> 4
    if v not in VERSIONS or lay not in LAYERS or rate_i == 3 or bit_i in (0, 15):
        return None  # reserved values; a free-format (index 0) stream has no length to compute
    version, layer = VERSIONS[v], LAYERS[lay]
    return Frame(
        version=version,
        layer=layer,
        bitrate_kbps=BITRATES[(version == "1", layer)][bit_i - 1],
        sample_rate=RATES[version][rate_i],
        channels=1 if b[3] >> 6 == 3 else 2,
        padding=(b[2] >> 1) & 1,
        protected=not b[1] & 1,
    )


@dataclass
class Stream:
    frame: Frame
    offset: int
    """File offset of the first frame."""
    frames: int | None
    """From a Xing/Info or VBRI header; None without one."""
    header: str | None
    """``Xing`` (variable bit rate), ``Info`` (constant, by LAME), ``VBRI`` or None."""
    duration_s: float | None
    average_kbps: int | None = None
    """With a Xing/Info/VBRI header: the audio's bytes over its length (its first frame,
    which holds the header, may be coded at another rate)."""


def _audio_start(fh: BinaryIO) -> int:
    """Where the audio starts: after an ID3v2 tag (and its footer), if there is one."""
    fh.seek(0)
    return id3.tag_span(fh.read(10)) or 0


def read(fh: BinaryIO, file_size: int) -> Stream | None:
    """The stream's first frame and length, or None when no two frames in a row are found."""
    start = _audio_start(fh)
    fh.seek(start)
    window = fh.read(SEARCH + 2048)
    pos = window.find(b"\xff")
    while 0 <= pos < SEARCH:
        frame = frame_at(window[pos : pos + 4])
        if frame is not None and frame.length >= 4:
            nxt = frame_at(window[pos + frame.length : pos + frame.length + 4])
            if nxt is not None and (nxt.version, nxt.layer, nxt.sample_rate) == (
                frame.version,
                frame.layer,
                frame.sample_rate,
            ):
                return _stream(fh, frame, start + pos, window[pos : pos + frame.length], file_size)
        pos = window.find(b"\xff", pos + 1)
    return None


def _stream(fh: BinaryIO, frame: Frame, offset: int, first: bytes, file_size: int) -> Stream:
    side = (32 if frame.channels == 2 else 17) if frame.version == "1" else (17 if frame.channels == 2 else 9)
    at = 4 + side + (2 if frame.protected else 0)
    frames: int | None = None
    header: str | None = None
    for where in (at, 4 + side):  # some writers leave the CRC out of the count
        tag = first[where : where + 4]
        if tag in (b"Xing", b"Info") and len(first) >= where + 12:
            header = tag.decode()
            (flags,) = struct.unpack(">I", first[where + 4 : where + 8])
            if flags & 1:
                (frames,) = struct.unpack(">I", first[where + 8 : where + 12])
            break
    if header is None and first[36:40] == b"VBRI" and len(first) >= 36 + 18:
        header = "VBRI"
        (frames,) = struct.unpack(">I", first[36 + 14 : 36 + 18])
    fh.seek(max(0, file_size - 128))
    audio = max(0, file_size - offset - (128 if fh.read(3) == b"TAG" else 0))
    duration: float | None = None
    average: int | None = None
    if frames:
        duration = round(frames * frame.samples / frame.sample_rate, 6)
        average = round(audio * 8 / duration / 1000) if duration else None
    elif header is None:
        duration = round(audio * 8 / (frame.bitrate_kbps * 1000), 6)
    return Stream(frame, offset, frames, header, duration, average)
