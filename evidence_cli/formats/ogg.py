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


@dataclass
class Stream:
    """The first logical stream of an Ogg file."""

    codec: str = ""
    """``opus``, ``vorbis``, or the first bytes of an unknown first packet."""
    channels: int | None = None
    sample_rate: int | None = None
    """Opus: the input sample rate it records (Opus itself always runs at 48 kHz)."""
    pre_skip: int = 0
    tags: Comments | None = None
    last_granule: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def duration_s(self) -> float | None:
        """Seconds of audio: the last granule position (less Opus's pre-skip) over the rate."""
        if self.last_granule is None or self.last_granule < 0:
            return None
        if self.codec == "opus":
            return round(max(self.last_granule - self.pre_skip, 0) / 48_000, 6)
        if self.codec == "vorbis" and self.sample_rate:
            return round(self.last_granule / self.sample_rate, 6)
        return None


def _pages(fh: BinaryIO, notes: list[str]) -> tuple[int | None, list[bytes]]:
    """(serial, the first two packets) of the first logical stream, from the start of ``fh``."""
    serial: int | None = None
    packets: list[bytes] = []
    current = b""
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
        page_serial = struct.unpack_from("<I", head, 14)[0]
        table = fh.read(head[26])
        if len(table) < head[26]:
            notes.append("Ogg: truncated segment table")
            break
        body = fh.read(sum(table))
        if len(body) < sum(table):
            notes.append(f"Ogg: page {page_no + 1} is truncated")
        if serial is None:
            serial = page_serial
        elif page_serial != serial:
            continue  # another logical stream (a video's, a second audio track's)
        pos = 0
        for lace in table:
            current += body[pos : pos + lace]
            pos += lace
            total += lace
            if total > MAX_HEADER:
                notes.append(f"Ogg: header packets larger than {MAX_HEADER} bytes; not read")
                return serial, packets
            if lace < 255:
                packets.append(current)
                current = b""
                if len(packets) == 2:
                    return serial, packets
    else:
        notes.append(f"Ogg: the header packets are not within the first {MAX_PAGES} pages")
    return serial, packets


def read_ogg(fh: BinaryIO, size: int) -> Stream:
    out = Stream()
    serial, packets = _pages(fh, out.notes)
    if not packets:
        return out
    first = packets[0]
    if first.startswith(b"OpusHead") and len(first) >= 19:
        out.codec = "opus"
        out.channels = first[9]
        out.pre_skip, out.sample_rate = struct.unpack_from("<HI", first, 10)
        if len(packets) > 1 and packets[1].startswith(b"OpusTags"):
            out.tags = comments(packets[1][8:], out.notes, "OpusTags")
    elif first.startswith(b"\x01vorbis") and len(first) >= 16:
        out.codec = "vorbis"
        out.channels = first[11]
        out.sample_rate = struct.unpack_from("<I", first, 12)[0]
        if len(packets) > 1 and packets[1].startswith(b"\x03vorbis"):
            out.tags = comments(packets[1][7:], out.notes, "Vorbis comment header")
    else:
        out.codec = first[:8].decode("latin-1")
        out.notes.append("Ogg: the first stream is not Opus or Vorbis; its headers not read")
        return out
    if len(packets) < 2:
        out.notes.append(f"Ogg: the {out.codec} comment header is missing")
    out.last_granule = _last_granule(fh, size, serial)
    return out


def _last_granule(fh: BinaryIO, size: int, serial: int | None) -> int | None:
    """The granule position of the stream's last page (searched in the file's last bytes)."""
    start = max(0, size - TAIL)
    fh.seek(start)
    tail = fh.read(TAIL)
    at = len(tail)
    while True:
        at = tail.rfind(b"OggS", 0, at)
        if at < 0 or at + 27 > len(tail):
            return None
        granule, page_serial = struct.unpack_from("<qI", tail, at + 6)
        if tail[at + 4] == 0 and page_serial == serial and granule != -1:
            return granule


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
        size = id3.syncsafe(head[6:10])
        if len(head) == 10 and size is not None:
            fh.seek(10 + size + (10 if head[5] & 0x10 else 0))
            marker = fh.read(4)
            out.notes.append(f"FLAC: an ID3v2 tag of {size} bytes stands before the fLaC marker")
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
        try:
            ptype, n = struct.unpack_from(">II", data)
            mime = data[8 : 8 + n].decode("latin-1")
            pos = 8 + n
            (d,) = struct.unpack_from(">I", data, pos)
            desc = data[pos + 4 : pos + 4 + d].decode("utf-8", "replace")
            pos += 4 + d + 16
            (length,) = struct.unpack_from(">I", data, pos)
        except struct.error:
            out.notes.append("FLAC: a PICTURE block is truncated")
            return
        picture = data[pos + 4 : pos + 4 + length]
        if len(picture) < length:
            out.notes.append(f"FLAC: a PICTURE declares {length} bytes, its block holds {len(picture)}")
        out.pictures.append((ptype, mime, desc, picture))
