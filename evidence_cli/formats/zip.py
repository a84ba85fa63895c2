"""ZIP structures, read by our own bounded reader, never by trusting the archive's numbers.

Used by the office reader (a document is a zip package) and the archive reader (what a
zip holds). Bounds are the caller's: how many members, how large a central directory,
how many bytes a member may inflate to. Nested archives are never opened. When the
central directory is missing (a truncated or carved file), the local headers are walked
instead.

A member's name, sizes, method, CRC and times are the central directory's, as stored; the
local header before its data is read again when the member is, and a local name that is
not the central one is reported by the caller (two readers would disagree about what
the member is called).
"""

from __future__ import annotations

import bz2
import lzma
import struct
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, BinaryIO, Iterator

#: The types libmagic gives ZIP archives (and the formats that are ZIPs: JAR, APK, EPUB)
#: whose members the archive reader lists.
MIME_TYPES = frozenset(
    {
        "application/zip",
        "application/x-zip",
        "application/x-zip-compressed",
        "application/java-archive",
        "application/vnd.android.package-archive",
        "application/epub+zip",
    }
)

#: Bounds a caller may pass on; these defaults are the office reader's.
MAX_MEMBERS = 10_000
MAX_CD_BYTES = 8 * 1024 * 1024
CHUNK = 64 * 1024
EOCD_SEARCH = 22 + 65_535

SIG_LOCAL = b"PK\x03\x04"
SIG_CD = b"PK\x01\x02"
SIG_EOCD = b"PK\x05\x06"
SIG_Z64_LOC = b"PK\x06\x07"
SIG_Z64_EOCD = b"PK\x06\x06"

#: Compression methods by number (APPNOTE 4.4.5), as the record names them.
METHODS = {
    0: "stored",
    1: "shrunk",
    6: "imploded",
    8: "deflate",
    9: "deflate64",
    12: "bzip2",
    14: "lzma",
    93: "zstd",
    95: "xz",
    96: "jpeg",
    98: "ppmd",
    99: "aes",
}
#: Methods this reader inflates.
READABLE_METHODS = frozenset({0, 8, 12, 14, 95})
#: The largest LZMA dictionary (and xz decoder memory) a member may ask for: 7-Zip's
#: "ultra" level uses 64 MiB; a hostile header asking for 4 GiB would take that memory.
MAX_LZMA_MEMORY = 128 * 1024 * 1024

#: The system that made a member's entry (the high byte of "version made by", APPNOTE 4.4.2).
HOSTS = {
    0: "MS-DOS/Windows (FAT)",
    3: "Unix",
    7: "Macintosh",
    10: "Windows NTFS",
    11: "MVS",
    14: "VFAT",
    19: "OS X (Darwin)",
}

_EPOCH_1601 = datetime(1601, 1, 1, tzinfo=timezone.utc)
_EPOCH_1970 = datetime(1970, 1, 1, tzinfo=timezone.utc)


class ArchiveDamage(Exception):
    """An archive's structure is damaged or over a bound (message says which)."""


class ZipDamage(ArchiveDamage):
    """The zip structure is damaged or over a bound (message says which)."""


@dataclass(frozen=True)
class Member:
    name: str
    method: int
    flags: int
    crc: int
    csize: int
    usize: int
    offset: int
    """Offset of the local header (corrected for bytes prepended to the archive)."""
    dos_time: int = 0
    dos_date: int = 0
    extra: bytes = b""
    """The central directory's extra fields (the local header's when walked)."""
    comment: bytes = b""
    made_by: int = 0
    """"Version made by": the high byte names the system (see HOSTS)."""
    name_raw: bytes = b""

    @property
    def encrypted(self) -> bool:
        return bool(self.flags & 0x01)

    @property
    def is_dir(self) -> bool:
        return self.name.endswith("/") and self.usize == 0


@dataclass(frozen=True)
class Directory:
    """What the central directory says about the whole archive."""

    members: list[Member]
    prepended: int = 0
    """Bytes before the archive (a self-extractor stub, or another file it was appended to)."""
    trailing: int = 0
    """Bytes after the end record and its comment."""
    comment: bytes = b""
    declared: int = 0
    """How many members the end record declares."""


class Reader:
    """Bounded random access to the archive's bytes (in memory or a file)."""

    def __init__(self, data: bytes | None, fh: BinaryIO | None, size: int) -> None:
        self.data, self.fh, self.size = data, fh, size

    def read(self, offset: int, n: int) -> bytes:
        if offset < 0 or n <= 0 or offset >= self.size:
            return b""
        n = min(n, self.size - offset)
        if self.data is not None:
            return self.data[offset : offset + n]
        assert self.fh is not None
        self.fh.seek(offset)
        return self.fh.read(n)


def decode_name(raw: bytes, flags: int) -> str:
    """A stored name as text: UTF-8 when flagged (bad bytes replaced), else UTF-8 if it is
    valid, else code page 437 (what the format says when nothing is flagged)."""
    if flags & 0x800:
        return raw.decode("utf-8", "replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp437")


def extra_fields(extra: bytes) -> Iterator[tuple[int, bytes]]:
    """(header id, body) of each extra field; a field that runs past the end is cut."""
    pos = 0
    while pos + 4 <= len(extra):
        hid, hlen = struct.unpack_from("<HH", extra, pos)
        yield hid, extra[pos + 4 : pos + 4 + hlen]
        pos += 4 + hlen


def _zip64_extra(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    for hid, body in extra_fields(extra):
        if hid != 0x0001:
            continue
        vals = [struct.unpack_from("<Q", body, k)[0] for k in range(0, len(body) - 7, 8)]
        it = iter(vals)
        if usize == 0xFFFFFFFF:
            usize = next(it, usize)
        if csize == 0xFFFFFFFF:
            csize = next(it, csize)
        if offset == 0xFFFFFFFF:
            offset = next(it, offset)
        break
    return usize, csize, offset


def dos_datetime(date: int, time: int) -> datetime | None:
    """An MS-DOS date and time (the zip's own, in the local clock of the machine that made
    it, offset unknown), or None when it is not a valid date (0 is "no date")."""
    try:
        return datetime(
            1980 + (date >> 9), (date >> 5) & 0x0F, date & 0x1F, time >> 11, (time >> 5) & 0x3F, (time & 0x1F) * 2
        )
    except ValueError:
        return None


def utc_modified(extra: bytes) -> datetime | None:
    """The UTC modification time an extra field records: NTFS (0x000A, 100 ns since 1601)
    first, else the extended timestamp (0x5455, seconds since 1970), else None."""
    unix: datetime | None = None
    for hid, body in extra_fields(extra):
        try:
            if hid == 0x000A and len(body) >= 32:
                # reserved (4), then attributes: tag 1, size 24, mtime, atime, ctime
                pos = 4
                while pos + 4 <= len(body):
                    tag, size = struct.unpack_from("<HH", body, pos)
                    if tag == 1 and size >= 8 and pos + 12 <= len(body):
                        ticks = struct.unpack_from("<Q", body, pos + 4)[0]
                        if ticks:
                            return _EPOCH_1601 + timedelta(microseconds=ticks // 10)
                    pos += 4 + size
            elif hid == 0x5455 and len(body) >= 5 and body[0] & 0x01 and unix is None:
                unix = _EPOCH_1970 + timedelta(seconds=struct.unpack_from("<i", body, 1)[0])
        except OverflowError:
            continue
    return unix


def read_directory(r: Reader, *, max_members: int = MAX_MEMBERS, max_cd_bytes: int = MAX_CD_BYTES) -> Directory:
    """The members listed in the central directory. Raises :class:`ZipDamage`."""
    tail_start = max(0, r.size - EOCD_SEARCH)
    tail = r.read(tail_start, EOCD_SEARCH)
    pos = tail.rfind(SIG_EOCD)
    while pos >= 0 and pos + 22 > len(tail):
        pos = tail.rfind(SIG_EOCD, 0, pos)
    if pos < 0:
        raise ZipDamage("no end of central directory record (truncated or not a zip)")
    (_disk, _cd_disk, _n_disk, total, cd_size, cd_offset, clen) = struct.unpack_from("<HHHHIIH", tail, pos + 4)
    eocd_abs = tail_start + pos
    comment = tail[pos + 22 : pos + 22 + clen]
    trailing = max(0, r.size - (eocd_abs + 22 + clen))
    if total == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
        loc = r.read(eocd_abs - 20, 20)
        if len(loc) == 20 and loc[:4] == SIG_Z64_LOC:
            z64_off = struct.unpack_from("<Q", loc, 8)[0]
            rec = r.read(z64_off, 56)
            if len(rec) == 56 and rec[:4] == SIG_Z64_EOCD:
                total, cd_size, cd_offset = struct.unpack_from("<QQQ", rec, 32)
                eocd_abs = z64_off
    if total > max_members:
        raise ZipDamage(f"the zip lists {total} members (over {max_members}): not read")
    if cd_size > max_cd_bytes:
        raise ZipDamage(f"central directory of {cd_size} bytes (over {max_cd_bytes}): not read")
    # Bytes prepended to the archive (a self-extractor stub) shift every offset: when the
    # stored offset does not hold the directory, measure the shift from where it ends.
    shift = 0
    if r.read(cd_offset, 4) != SIG_CD and total:
        shift = eocd_abs - cd_size - cd_offset
        if shift < 0:
            raise ZipDamage("central directory offset points past its end record")
    cd = r.read(cd_offset + shift, cd_size)
    members: list[Member] = []
    p = 0
    while p + 46 <= len(cd):
        if cd[p : p + 4] != SIG_CD:
            raise ZipDamage(f"bad central directory entry at offset {cd_offset + shift + p}")
        (made_by, flags, method, t, d, crc, csize, usize, nlen, elen, mlen, _dn, _ia, _ea, off) = struct.unpack_from(
            "<4xH2xHHHHIIIHHHHHII", cd, p
        )
        name_raw = cd[p + 46 : p + 46 + nlen]
        extra = cd[p + 46 + nlen : p + 46 + nlen + elen]
        note = cd[p + 46 + nlen + elen : p + 46 + nlen + elen + mlen]
        usize, csize, off = _zip64_extra(extra, usize, csize, off)
        members.append(
            Member(
                decode_name(name_raw, flags),
                method,
                flags,
                crc,
                csize,
                usize,
                off + shift,
                t,
                d,
                extra,
                note,
                made_by,
                name_raw,
            )
        )
        p += 46 + nlen + elen + mlen
        if len(members) > max_members:
            raise ZipDamage(f"more than {max_members} members: not read")
    if not members and total:
        raise ZipDamage("central directory is empty or unreadable")
    first = min((m.offset for m in members), default=0)
    return Directory(members, prepended=max(0, first), trailing=trailing, comment=comment, declared=total)


def walk_local_headers(
    r: Reader, *, max_members: int = MAX_MEMBERS, max_unsized: int = 8 * 1024 * 1024
) -> tuple[list[Member], str | None]:
    """Members found by walking local headers from the start (no central directory).

    Stops at the first thing that is not a local header; entries whose size is only in a
    data descriptor are measured by inflating them (at most ``max_unsized`` bytes each).
    Returns (members, why stopped).
    """
    members: list[Member] = []
    pos = 0
    while len(members) < max_members:
        hdr = r.read(pos, 30)
        if len(hdr) < 30 or hdr[:4] != SIG_LOCAL:
            return members, None if hdr[:4] in (SIG_CD, b"") else f"no local header at offset {pos}"
        (flags, method, t, d, crc, csize, usize, nlen, elen) = struct.unpack_from("<2xHHHHIIIHH", hdr, 4)
        name_raw = r.read(pos + 30, nlen)
        extra = r.read(pos + 30 + nlen, elen)
        usize, csize, _o = _zip64_extra(extra, usize, csize, 0)
        data_start = pos + 30 + nlen + elen
        name = decode_name(name_raw, flags)
        if flags & 0x08 and csize == 0:
            if method != 8:
                return members, "an entry without sizes that is not deflated: cannot walk further"
            d_obj = zlib.decompressobj(-zlib.MAX_WBITS)
            consumed = 0
            out_total = 0
            while not d_obj.eof:
                chunk = r.read(data_start + consumed, CHUNK)
                if not chunk:
                    return members, "the file ends inside a member"
                consumed += len(chunk)
                pending = chunk
                while pending and not d_obj.eof:
                    try:
                        out_total += len(d_obj.decompress(pending, 4 * CHUNK))
                    except zlib.error:
                        return members, "damaged deflate data"
                    pending = d_obj.unconsumed_tail
                    if out_total > max_unsized:
                        return members, "an entry without sizes inflates beyond the cap: cannot walk further"
            csize = consumed - len(d_obj.unused_data)
            usize = out_total
            # data descriptor: [signature] crc, sizes (4 or 8 bytes each for zip64)
            desc = r.read(data_start + csize, 28)
            signed = desc[:4] == b"PK\x07\x08"
            sizes = (16, 24) if signed else (12, 20)
            skip = next((k for k in sizes if desc[k : k + 2] == b"PK"), sizes[0])
            crc_at = 4 if signed else 0
            if len(desc) >= crc_at + 4:
                crc = struct.unpack_from("<I", desc, crc_at)[0]
            members.append(Member(name, method, flags, crc, csize, usize, pos, t, d, extra, b"", 0, name_raw))
            pos = data_start + csize + skip
            continue
        members.append(Member(name, method, flags, crc, csize, usize, pos, t, d, extra, b"", 0, name_raw))
        pos = data_start + csize
    return members, f"more than {max_members} members"


def data_start(r: Reader, m: Member) -> tuple[int, bytes]:
    """(offset of the member's data, the name its local header stores). Raises ZipDamage."""
    hdr = r.read(m.offset, 30)
    if len(hdr) < 30 or hdr[:4] != SIG_LOCAL:
        raise ZipDamage(f"{m.name}: no local header at offset {m.offset}")
    nlen, elen = struct.unpack_from("<HH", hdr, 26)
    return m.offset + 30 + nlen + elen, r.read(m.offset + 30, nlen)


def member_chunks(r: Reader, m: Member, start: int, limit: int) -> Iterator[bytes]:
    """The member's decompressed bytes, in pieces of at most :data:`CHUNK` (so memory stays
    flat whatever the member inflates to). Raises :class:`ZipDamage` when the data is
    damaged or ends early, or when it inflates to more than ``limit`` bytes."""
    if m.encrypted:
        raise ZipDamage(f"{m.name}: member is encrypted")
    if m.method not in READABLE_METHODS:
        raise ZipDamage(f"{m.name}: compression method {METHODS.get(m.method, m.method)} not supported")
    if m.method == 0:
        if m.csize > limit:
            raise ZipDamage(f"{m.name}: larger than {limit} bytes: not read")
        done = 0
        while done < m.csize:
            piece = r.read(start + done, min(CHUNK, m.csize - done))
            if not piece:
                raise ZipDamage(f"{m.name}: truncated (the file ends inside it)")
            done += len(piece)
            yield piece
        return
    d, start, csize = _decoder(r, m, start)
    consumed = out = 0
    while consumed < csize and not d.eof:
        chunk = r.read(start + consumed, min(CHUNK, csize - consumed))
        if not chunk:
            raise ZipDamage(f"{m.name}: truncated (the file ends inside it)")
        consumed += len(chunk)
        try:
            if m.method == 8:
                pending = chunk
                while pending and not d.eof:
                    piece = d.decompress(pending, CHUNK)
                    pending = d.unconsumed_tail
                    out += len(piece)
                    if out > limit:
                        raise ZipDamage(f"{m.name}: inflates to more than {limit} bytes: not read")
                    if piece:
                        yield piece
            else:  # bz2 and lzma decoders: they keep the input they have not used
                piece = d.decompress(chunk, CHUNK)
                while True:
                    out += len(piece)
                    if out > limit:
                        raise ZipDamage(f"{m.name}: inflates to more than {limit} bytes: not read")
                    if piece:
                        yield piece
                    if d.eof or d.needs_input:
                        break
                    piece = d.decompress(b"", CHUNK)
        except (zlib.error, lzma.LZMAError, OSError, EOFError, ValueError) as exc:
            raise ZipDamage(f"{m.name}: damaged {METHODS[m.method]} data ({exc})") from None
    # An LZMA stream may end without an end marker: its compressed size says where.
    if not d.eof and not (m.method == 14 and consumed == csize and out == m.usize):
        raise ZipDamage(f"{m.name}: {METHODS[m.method]} stream incomplete")


def _decoder(r: Reader, m: Member, start: int) -> tuple[Any, int, int]:
    """(decoder, where its data starts, its compressed size) for a compressed member."""
    if m.method == 8:
        return zlib.decompressobj(-zlib.MAX_WBITS), start, m.csize
    if m.method == 12:
        return bz2.BZ2Decompressor(), start, m.csize
    if m.method == 95:
        return lzma.LZMADecompressor(format=lzma.FORMAT_XZ, memlimit=MAX_LZMA_MEMORY), start, m.csize
    # LZMA (APPNOTE 5.8.8): version (2 bytes), properties' size (2), then the properties
    # (lc/lp/pb in one byte, the dictionary size in four), then the raw LZMA stream.
    head = r.read(start, 4)
    if len(head) < 4:
        raise ZipDamage(f"{m.name}: truncated (the file ends inside it)")
    size = struct.unpack_from("<H", head, 2)[0]
    props = r.read(start + 4, size)
    if size < 5 or len(props) < 5 or 4 + size > m.csize or props[0] >= 9 * 5 * 5:
        raise ZipDamage(f"{m.name}: damaged lzma properties")
    dictionary = struct.unpack_from("<I", props, 1)[0]
    if dictionary > MAX_LZMA_MEMORY:
        raise ZipDamage(f"{m.name}: an LZMA dictionary of {dictionary} bytes (over {MAX_LZMA_MEMORY}): not read")
    lc, rest = props[0] % 9, props[0] // 9
    lzma1 = {"id": lzma.FILTER_LZMA1, "dict_size": dictionary, "lc": lc, "lp": rest % 5, "pb": rest // 5}
    skip = 4 + size
    try:
        decoder = lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=[lzma1])
    except (lzma.LZMAError, ValueError) as exc:
        raise ZipDamage(f"{m.name}: damaged lzma properties ({exc})") from None
    return decoder, start + skip, max(0, m.csize - skip)


def read_member(r: Reader, m: Member, cap: int, *, max_compressed: int, max_ratio: int, ratio_floor: int) -> bytes:
    """The decompressed bytes of one member (at most ``cap``), CRC-checked: for the small
    parts a reader needs whole (a document's XML). Inflating stops as a suspected bomb
    once the output passes ``ratio_floor`` bytes at a ratio above ``max_ratio``.

    Raises :class:`ZipDamage`.
    """
    if m.encrypted:
        raise ZipDamage(f"{m.name}: member is encrypted")
    start, _ = data_start(r, m)
    if m.csize > max_compressed:
        raise ZipDamage(f"{m.name}: {m.csize} compressed bytes (over {max_compressed}): not read")
    if m.method == 0:
        data = r.read(start, min(m.csize, cap + 1))
        if len(data) > cap:
            raise ZipDamage(f"{m.name}: larger than {cap} bytes: not read")
        if len(data) < m.csize:
            raise ZipDamage(f"{m.name}: truncated (the file ends inside it)")
    elif m.method == 8:
        data = _inflate(r, start, m, cap, max_ratio, ratio_floor)
    else:
        raise ZipDamage(f"{m.name}: compression method {m.method} not supported")
    if zlib.crc32(data) != m.crc:
        raise ZipDamage(f"{m.name}: CRC mismatch (damaged member)")
    return data


def _inflate(r: Reader, start: int, m: Member, cap: int, max_ratio: int, ratio_floor: int) -> bytes:
    d = zlib.decompressobj(-zlib.MAX_WBITS)
    out = bytearray()
    consumed = 0
    while consumed < m.csize and not d.eof:
        chunk = r.read(start + consumed, min(CHUNK, m.csize - consumed))
        if not chunk:
            raise ZipDamage(f"{m.name}: truncated (the file ends inside it)")
        consumed += len(chunk)
        pending = chunk
        while pending and not d.eof:
            try:
                out += d.decompress(pending, cap + 1 - len(out))
            except zlib.error as exc:
                raise ZipDamage(f"{m.name}: damaged deflate data ({exc})") from None
            pending = d.unconsumed_tail
            if len(out) > cap:
                raise ZipDamage(f"{m.name}: inflates to more than {cap} bytes: not read (zip bomb?)")
            if len(out) > ratio_floor and len(out) > max_ratio * max(1, consumed - len(pending)):
                raise ZipDamage(
                    f"{m.name}: compression ratio over {max_ratio}:1 after {len(out)} bytes: not read (zip bomb?)"
                )
    if not d.eof:
        raise ZipDamage(f"{m.name}: deflate stream incomplete")
    return bytes(out)
