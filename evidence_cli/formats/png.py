"""PNG chunks: a bounded walk with CRC checks.

A PNG is an 8-byte signature followed by chunks ``<length BE> <type> <data> <crc>``.
Every chunk's CRC is checked (a bad CRC is a note; the walk goes on, as the length
field still says where the next chunk is). The walk stops at ``IEND``, at the end of
the file, at a truncated chunk or at a chunk type that is not four ASCII letters (the
stream has lost sync).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from typing import BinaryIO

SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_CHUNKS = 200_000
#: Data of one metadata chunk is read up to this size (bigger ones are reported).
MAX_READ = 16 * 1024 * 1024
#: Largest chunk length the format allows.
MAX_LENGTH = 2**31 - 1
_PIECE = 1 << 20


@dataclass(frozen=True)
class PngChunk:
    ctype: bytes
    offset: int
    """File offset of the chunk's length field."""
    length: int
    data: bytes | None
    """The data, for the chunk types the caller asked for (None otherwise)."""
    crc_ok: bool | None
    """None when the chunk is truncated (no CRC to compare)."""

    @property
    def name(self) -> str:
        return self.ctype.decode("latin-1")


@dataclass
class PngWalk:
    chunks: list[PngChunk] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ended: bool = False
    """True when IEND was reached."""
    trailing: int = 0
    """Bytes after IEND (data appended to the image)."""


def is_png(head: bytes) -> bool:
    return head[:8] == SIGNATURE


#: The chunks whose data a reader of a PNG needs: the png reader's, and the EXIF and XMP
#: readers' (eXIf and the text chunks). One walk keeps them all for every reader (see
#: ``FileContext.png_walk``): each walk reads the whole file and checks every CRC.
READERS_READ = frozenset(
    {b"IHDR", b"tEXt", b"zTXt", b"iTXt", b"tIME", b"pHYs", b"gAMA", b"sRGB", b"iCCP", b"acTL", b"eXIf", b"caBX"}
)


def walk(fh: BinaryIO, *, read: frozenset[bytes] = frozenset(), max_chunks: int = MAX_CHUNKS) -> PngWalk:
    """Walk the chunks; keep the data of the chunk types in ``read``."""
    out = PngWalk()
    size = fh.seek(0, 2)
    fh.seek(0)
    if fh.read(8) != SIGNATURE:
        out.notes.append("not a PNG file (bad signature)")
        return out
    pos = 8
    while pos < size:
        if len(out.chunks) >= max_chunks:
            out.notes.append(f"PNG: more than {max_chunks} chunks; the rest were not read")
            return out
        fh.seek(pos)
        hdr = fh.read(8)
        if len(hdr) < 8:
            out.notes.append(f"PNG: truncated chunk header at offset {pos}")
            return out
        length = struct.unpack(">I", hdr[:4])[0]
        ctype = hdr[4:8]
        if not all(65 <= c <= 90 or 97 <= c <= 122 for c in ctype):
            out.notes.append(f"PNG: invalid chunk type {ctype!r} at offset {pos}; the rest is not read")
            return out
        if length > MAX_LENGTH:
            out.notes.append(f"PNG: chunk {ctype!r} at offset {pos} declares an impossible length {length}")
            return out
        available = size - pos - 12
        if length > available:
            out.notes.append(
                f"PNG: chunk {ctype.decode('latin-1')} at offset {pos} declares {length} bytes, "
                f"only {max(available, 0)} remain (truncated)"
            )
            data = None
            if ctype in read and length <= MAX_READ:
                data = fh.read(max(min(length, size - pos - 8), 0))
            out.chunks.append(PngChunk(ctype, pos, length, data, None))
            return out
        keep = ctype in read and length <= MAX_READ
        if ctype in read and not keep:
            out.notes.append(f"PNG: chunk {ctype.decode('latin-1')} of {length} bytes exceeds {MAX_READ}; not read")
        crc = zlib.crc32(ctype)
        parts: list[bytes] = []
        remaining = length
        while remaining:
            piece = fh.read(min(remaining, _PIECE))
            if not piece:
                break
            crc = zlib.crc32(piece, crc)
            if keep:
                parts.append(piece)
            remaining -= len(piece)
        stored = fh.read(4)
        crc_ok = len(stored) == 4 and struct.unpack(">I", stored)[0] == crc
        if not crc_ok:
            out.notes.append(f"PNG: chunk {ctype.decode('latin-1')} at offset {pos} has a bad CRC")
        out.chunks.append(PngChunk(ctype, pos, length, b"".join(parts) if keep else None, crc_ok))
        pos += 12 + length
        if ctype == b"IEND":
            out.ended = True
            out.trailing = max(size - pos, 0)
            return out
    out.notes.append("PNG: no IEND chunk (the file ends early)")
    return out


#: Text chunks are inflated up to this many bytes each ...
MAX_INFLATE = 1024 * 1024
#: ... and up to this many bytes for one file in all.
MAX_INFLATE_TOTAL = 8 * 1024 * 1024


class InflateBudget:
    """How many inflated bytes one file may still produce (shared by its chunks)."""

    def __init__(self, total: int = MAX_INFLATE_TOTAL, per_chunk: int = MAX_INFLATE) -> None:
        self.left = total
        self.per_chunk = per_chunk

    def inflate(self, data: bytes) -> tuple[bytes, bool]:
        """(inflated bytes, truncated?) — never more than the budget allows. Raises zlib.error."""
        cap = max(min(self.per_chunk, self.left), 0)
        d = zlib.decompressobj()
        out = d.decompress(data, cap + 1)
        truncated = len(out) > cap or (bool(d.unconsumed_tail) and len(out) >= cap)
        out = out[:cap]
        self.left -= len(out)
        return out, truncated


@dataclass(frozen=True)
class TextChunk:
    """A decoded tEXt/zTXt/iTXt chunk."""

    kind: str
    keyword: str
    text: str
    """tEXt/zTXt: Latin-1 as the spec says (a bijection: the stored bytes are recoverable);
    iTXt: UTF-8 (undecodable bytes replaced, which ``error`` then says)."""
    compressed: bool = False
    language: str | None = None
    translated: str | None = None
    truncated: bool = False
    """The inflated text was cut at the budget."""
    error: str | None = None
    """What was wrong with the chunk (the text may then be empty or partial)."""


def decode_text(chunk: PngChunk, budget: InflateBudget) -> TextChunk | None:
    """Decode a tEXt/zTXt/iTXt chunk's data; None for other chunk types or unread data."""
    kind = chunk.name
    if kind not in ("tEXt", "zTXt", "iTXt") or chunk.data is None:
        return None
    data = chunk.data
    nul = data.find(b"\x00", 0, 80)
    if nul < 0:
        return TextChunk(kind, "", "", error=f"{kind} chunk without a keyword terminator")
    keyword = data[:nul].decode("latin-1")
    rest = data[nul + 1 :]
    if kind == "tEXt":
        return TextChunk(kind, keyword, rest.decode("latin-1"))
    if kind == "zTXt":
        if not rest:
            return TextChunk(kind, keyword, "", True, error="zTXt chunk without a compression method")
        if rest[0] != 0:
            return TextChunk(kind, keyword, "", True, error=f"zTXt compression method {rest[0]} is unknown")
        try:
            raw, truncated = budget.inflate(rest[1:])
        except zlib.error as exc:
            return TextChunk(kind, keyword, "", True, error=f"zTXt data does not inflate: {exc}")
        return TextChunk(kind, keyword, raw.decode("latin-1"), True, truncated=truncated)
    # iTXt: flag, method, language\0, translated keyword\0, text
    if len(rest) < 2:
        return TextChunk(kind, keyword, "", error="iTXt chunk is truncated")
    flag, method = rest[0], rest[1]
    rest = rest[2:]
    a = rest.find(b"\x00")
    b = rest.find(b"\x00", a + 1) if a >= 0 else -1
    if a < 0 or b < 0:
        return TextChunk(kind, keyword, "", bool(flag), error="iTXt chunk without language/translated terminators")
    language = rest[:a].decode("latin-1")
    translated = rest[a + 1 : b].decode("utf-8", "replace")
    body = rest[b + 1 :]
    truncated = False
    if flag:
        if method != 0:
            return TextChunk(kind, keyword, "", True, language, translated, error=f"iTXt compression method {method}")
        try:
            body, truncated = budget.inflate(body)
        except zlib.error as exc:
            return TextChunk(kind, keyword, "", True, language, translated, error=f"iTXt data does not inflate: {exc}")
    try:
        text = body.decode("utf-8")
        error = None
    except UnicodeDecodeError as exc:
        text = body.decode("utf-8", "replace")
        error = f"iTXt text is not valid UTF-8: {exc}"
    return TextChunk(kind, keyword, text, bool(flag), language, translated, truncated, error)


def raw_profile(text: str, cap: int = MAX_INFLATE) -> bytes | None:
    """Decode ImageMagick's ``Raw profile type NAME`` text (``\\nname\\n  length\\nhex...``)."""
    parts = text.split(None, 2)
    # ASCII digits only: str.isdigit() also takes "²" (a Latin-1 tEXt byte) and other
    # digits int() refuses, and int() refuses over 4,300 digits; both raised ValueError.
    if len(parts) < 3 or not (parts[1].isascii() and parts[1].isdigit()) or len(parts[1]) > 12:
        return None
    length = int(parts[1])
    if length > cap:
        return None
    hexdigits = "".join(parts[2].split())[: 2 * length]
    try:
        out = bytes.fromhex(hexdigits)
    except ValueError:
        return None
    return out if len(out) == length else None
