"""Ogg pages, Opus and Vorbis headers, FLAC metadata blocks, Vorbis comments: bounded.

Voice messages of WhatsApp, Telegram and Signal are Ogg Opus files. An Ogg file is a run
of pages (``OggS``, a header, a segment table, the data); the first logical stream's
first two packets are its identification header (``OpusHead``, ``\\x01vorbis``) and its
comment header (``OpusTags``, ``\\x03vorbis``): the encoder's vendor string and
``KEY=value`` comments. The last page's granule position gives the duration. A native
FLAC file is ``fLaC`` and metadata blocks: STREAMINFO (rate, channels, bits, samples),
VORBIS_COMMENT (the same comments), PICTURE.

Every count and length is checked against the bytes there before anything is built; at
most :data:`MAX_HEADER` bytes of header packets or blocks are read. Damage becomes a note.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import BinaryIO

from evidence_cli.formats import id3

#: Bytes of the header packets (or FLAC metadata blocks) read: cover art aside, a few KB.
MAX_HEADER = 4 * 1024 * 1024
#: Pages read for the first two packets.
MAX_PAGES = 4_096
#: Bytes read at the end of an Ogg file to find its last page (a page is at most 65,307).
TAIL = 65_536 + 27 + 255
MAX_COMMENTS = 2_000
MAX_BLOCKS = 1_000


@dataclass
class Comments:
    vendor: str = ""
    comments: list[tuple[str, str]] = field(default_factory=list)


def comments(data: bytes, notes: list[str], where: str) -> Comments:
    """A Vorbis comment block: vendor string and ``KEY=value`` items (little-endian lengths)."""
    out = Comments()
    if len(data) < 4:
        notes.append(f"{where}: the comment header is truncated")
        return out
    n = struct.unpack_from("<I", data)[0]
    if 4 + n > len(data):
        notes.append(f"{where}: the vendor string declares {n} bytes, {len(data) - 4} remain")
        return out
    out.vendor = data[4 : 4 + n].decode("utf-8", "replace")
    pos = 4 + n
    if pos + 4 > len(data):
        notes.append(f"{where}: the comment count is missing")
        return out
    count = struct.unpack_from("<I", data, pos)[0]
    pos += 4
    for i in range(count):
        if i >= MAX_COMMENTS:
            notes.append(f"{where}: {count} comments declared; the first {MAX_COMMENTS} read")
            break
        if pos + 4 > len(data):
            notes.append(f"{where}: {count} comments declared, {i} present")
            break
        size = struct.unpack_from("<I", data, pos)[0]
        item = data[pos + 4 : pos + 4 + size]
        pos += 4 + size
        if len(item) < size:
            notes.append(f"{where}: comment {i + 1} declares {size} bytes, {len(item)} remain")
        text = item.decode("utf-8", "replace")
        key, sep, value = text.partition("=")
        out.comments.append((key.upper(), value) if sep else ("", text))
    return out


#: What a logical stream's first packet starts with, and the codec it names.
CODECS = (
    (b"OpusHead", "opus"),
    (b"\x01vorbis", "vorbis"),
    (b"Speex   ", "speex"),
    (b"\x7fFLAC", "flac"),
    (b"\x80theora", "theora"),
    (b"\x80kate", "kate"),
    (b"fishead\x00", "skeleton"),
    (b"BBCD\x00", "dirac"),
    (b"OVP80", "vp8"),
)
#: The codecs whose headers (rate, channels, comments) this reader knows.
AUDIO = ("opus", "vorbis", "speex", "flac")


def codec_of(first: bytes) -> str:
    return next((name for magic, name in CODECS if first.startswith(magic)), "unknown")


@dataclass
class Stream:
    """The first audio stream of an Ogg file (Opus, Vorbis, Speex or FLAC), and the codecs
    of every logical stream that begins the file (a video's Theora, a Skeleton index)."""

    codec: str = ""
    """``opus``, ``vorbis``, ``speex``, ``flac``; else the first stream's codec name."""
    streams: list[str] = field(default_factory=list)
    """The codec of each logical stream begun at the start of the file, in order."""
    channels: int | None = None
    sample_rate: int | None = None
    """Opus: the input sample rate it records (Opus itself always runs at 48 kHz)."""
    pre_skip: int = 0
    tags: Comments | None = None
    last_granule: int | None = None
    chained: bool = False
    """Another stream follows the first ones (a chained file): the duration is the first's."""
    notes: list[str] = field(default_factory=list)

    @property
    def duration_s(self) -> float | None:
        """Seconds of audio: the last granule position (less Opus's pre-skip) over the rate."""
        if self.last_granule is None or self.last_granule < 0:
            return None
        if self.codec == "opus":
            return round(max(self.last_granule - self.pre_skip, 0) / 48_000, 6)
        if self.codec in AUDIO and self.sample_rate:
            return round(self.last_granule / self.sample_rate, 6)
        return None


def _pages(fh: BinaryIO, notes: list[str]) -> tuple[list[int], dict[int, list[bytes]]]:
    """(the serials of the streams begun at the start, in order; the first two packets of
    each, as far as read), stopping once an audio stream has its two header packets."""
    order: list[int] = []
    packets: dict[int, list[bytes]] = {}
    partial: dict[int, bytes] = {}
    total = 0
    fh.seek(0)
    for page_no in range(MAX_PAGES):
        head = fh.read(27)
        if len(head) < 27:
            if page_no == 0 or len(head):
                notes.append("Ogg: truncated page header")
            break
        if head[:4] != b"OggS":
            notes.append(f"Ogg: page {page_no + 1} does not start with OggS")
            break
        serial = struct.unpack_from("<I", head, 14)[0]
        table = fh.read(head[26])
        if len(table) < head[26]:
            notes.append("Ogg: truncated segment table")
            break
        body = fh.read(sum(table))
        if len(body) < sum(table):
            notes.append(f"Ogg: page {page_no + 1} is truncated")
        if serial not in packets:
            if not head[5] & 0x02 and order:
                continue  # a page of a stream that did not begin here: not one of the first
            order.append(serial)
            packets[serial] = []
        got = packets[serial]
        pos = 0
        for lace in table:
            if len(got) >= 2:
                break
            partial[serial] = partial.get(serial, b"") + body[pos : pos + lace]
            pos += lace
            total += lace
            if total > MAX_HEADER:
                notes.append(f"Ogg: header packets larger than {MAX_HEADER} bytes; not read")
                return order, packets
            if lace < 255:
                got.append(partial.pop(serial))
        if any(codec_of(p[0]) in AUDIO and len(p) >= 2 for p in packets.values() if p):
            return order, packets
        if not head[5] & 0x02 and all(p and codec_of(p[0]) not in AUDIO for p in packets.values()):
            return order, packets  # past the first pages and no audio stream: nothing more to find
    else:
        notes.append(f"Ogg: the header packets are not within the first {MAX_PAGES} pages")
    return order, packets


def read_ogg(fh: BinaryIO, size: int) -> Stream:
    out = Stream()
    order, packets = _pages(fh, out.notes)
    out.streams = [codec_of(packets[s][0]) if packets[s] else "unknown" for s in order]
    audio = next((s for s in order if packets[s] and codec_of(packets[s][0]) in AUDIO), None)
    if audio is None:
        out.codec = out.streams[0] if out.streams else ""
        return out
    first, rest = packets[audio][0], packets[audio][1:]
    out.codec = codec_of(first)
    comment = rest[0] if rest else None
    if out.codec == "opus" and len(first) >= 19:
        out.channels = first[9]
        out.pre_skip, out.sample_rate = struct.unpack_from("<HI", first, 10)
        if comment is not None and comment.startswith(b"OpusTags"):
            out.tags = comments(comment[8:], out.notes, "OpusTags")
    elif out.codec == "vorbis" and len(first) >= 16:
        out.channels = first[11]
        out.sample_rate = struct.unpack_from("<I", first, 12)[0]
        if comment is not None and comment.startswith(b"\x03vorbis"):
            out.tags = comments(comment[7:], out.notes, "Vorbis comment header")
    elif out.codec == "speex" and len(first) >= 52:
        out.sample_rate, _mode, _mode_size, channels = struct.unpack_from("<iiii", first, 36)
        out.channels = channels
        if comment is not None:
            out.tags = comments(comment, out.notes, "Speex comment header")
    elif out.codec == "flac" and len(first) >= 13 + 4 + 34 and first[9:13] == b"fLaC":
        info = Flac()
        _flac_block(info, 0, first[17 : 17 + 34])
        out.channels, out.sample_rate = info.channels, info.sample_rate
        if comment is not None and len(comment) >= 4 and comment[0] & 0x7F == 4:
            out.tags = comments(comment[4:], out.notes, "Ogg FLAC VORBIS_COMMENT")
    else:
        out.notes.append(f"Ogg: the {out.codec} identification header is too short")
    if comment is None:
        out.notes.append(f"Ogg: the {out.codec} comment header is missing")
    out.last_granule, out.chained = _last_granule(fh, size, audio, set(order))
    return out


def _last_granule(fh: BinaryIO, size: int, serial: int, known: set[int]) -> tuple[int | None, bool]:
    """(the granule position of the stream's last page, searched in the file's last bytes;
    whether the file's last page belongs to a stream that did not begin it: chained)."""
    start = max(0, size - TAIL)
    fh.seek(start)
    tail = fh.read(TAIL)
    at = len(tail)
    chained = False
    last_seen = True
    while True:
        at = tail.rfind(b"OggS", 0, at)
        if at < 0 or at + 27 > len(tail):
            return None, chained
        granule, page_serial = struct.unpack_from("<qI", tail, at + 6)
        if tail[at + 4] != 0:
            continue
        if last_seen:
            chained, last_seen = page_serial not in known, False
        if page_serial == serial and granule != -1 and not chained:
            return granule, chained
        if chained:
            return None, chained


@dataclass
class Flac:
    sample_rate: int | None = None
    channels: int | None = None
    bits_per_sample: int | None = None
    total_samples: int | None = None
    tags: Comments | None = None
    pictures: list[tuple[int, str, str, bytes]] = field(default_factory=list)
    """(picture type, MIME type, description, data) of each PICTURE block."""
    notes: list[str] = field(default_factory=list)

    @property
    def duration_s(self) -> float | None:
        if not self.total_samples or not self.sample_rate:
            return None
        return round(self.total_samples / self.sample_rate, 6)


def read_flac(fh: BinaryIO) -> Flac:
    """The metadata blocks of a native FLAC file; an ID3v2 tag some encoders put in front
    of the ``fLaC`` marker is stepped over (and noted: the standard has no place for it)."""
    out = Flac()
    fh.seek(0)
    marker = fh.read(4)
    if marker[:3] == b"ID3":
        head = marker + fh.read(6)
        span = id3.tag_span(head)
        if span is not None:
            fh.seek(span)
            marker = fh.read(4)
            body = span - 10 - (10 if head[5] & 0x10 else 0)
            out.notes.append(f"FLAC: an ID3v2 tag of {body} bytes stands before the fLaC marker")
    if marker != b"fLaC":
        out.notes.append("FLAC: no fLaC marker")
        return out
    total = 0
    for i in range(MAX_BLOCKS):
        head = fh.read(4)
        if len(head) < 4:
            out.notes.append("FLAC: truncated metadata block header")
            return out
        last, kind, size = head[0] & 0x80, head[0] & 0x7F, int.from_bytes(head[1:4], "big")
        if kind in (0, 4, 6):
            total += size
            if total > MAX_HEADER:
                out.notes.append(f"FLAC: metadata larger than {MAX_HEADER} bytes; the rest not read")
                return out
            data = fh.read(size)
            if len(data) < size:
                out.notes.append(f"FLAC: metadata block {i + 1} is truncated")
                return out
            _flac_block(out, kind, data)
        else:
            fh.seek(size, 1)
        if last:
            return out
    out.notes.append(f"FLAC: more than {MAX_BLOCKS} metadata blocks; the rest not read")
    return out


def _flac_block(out: Flac, kind: int, data: bytes) -> None:
    if kind == 0:
        if len(data) < 18:
            out.notes.append("FLAC: STREAMINFO is shorter than 34 bytes")
            return
        bits = int.from_bytes(data[10:18], "big")
        out.sample_rate = bits >> 44
        out.channels = ((bits >> 41) & 0x7) + 1
        out.bits_per_sample = ((bits >> 36) & 0x1F) + 1
        out.total_samples = bits & 0xFFFFFFFFF
    elif kind == 4:
        out.tags = comments(data, out.notes, "FLAC VORBIS_COMMENT")
    elif kind == 6:
        picture = parse_picture(data, out.notes)
        if picture is not None:
            out.pictures.append(picture)


def parse_picture(data: bytes, notes: list[str]) -> tuple[int, str, str, bytes] | None:
    """(picture type, MIME type, description, data) of a FLAC PICTURE block (also what an
    Ogg ``METADATA_BLOCK_PICTURE`` comment holds, base64-encoded); None, with a note, when
    it is truncated."""
    try:
        ptype, n = struct.unpack_from(">II", data)
        mime = data[8 : 8 + n].decode("latin-1")
        pos = 8 + n
        (d,) = struct.unpack_from(">I", data, pos)
        desc = data[pos + 4 : pos + 4 + d].decode("utf-8", "replace")
        pos += 4 + d + 16
        (length,) = struct.unpack_from(">I", data, pos)
    except struct.error:
        notes.append("FLAC: a PICTURE block is truncated")
        return None
    picture = data[pos + 4 : pos + 4 + length]
    if len(picture) < length:
        notes.append(f"FLAC: a PICTURE declares {length} bytes, its block holds {len(picture)}")
    return ptype, mime, desc, picture
