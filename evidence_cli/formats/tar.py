"""TAR archives, plain or compressed (gzip, bzip2, xz), and a single compressed file.

Headers are parsed by Python's :mod:`tarfile` (ustar, GNU and PAX forms), over a stream
that bounds what a hostile archive can ask of it: no header may make it read more than
:data:`MAX_HEADER` bytes at once (a PAX or GNU long-name header declaring gigabytes is
refused, never read into memory), and a compressed archive is read (inflated) for at
most the caller's ``limit`` bytes. A compressed file that holds no TAR is one member: the
file it compresses (gzip keeps its name).

:mod:`tarfile` ends its listing without a word at a header it cannot read past the first
(a damaged checksum, a cut block); the headers are read through a :class:`tarfile.TarInfo`
that notes why, and :func:`members` says so rather than take it for the archive's end.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import tarfile
import zlib
from datetime import datetime, timezone
from typing import BinaryIO, Iterator

from evidence_cli.formats.zip import ArchiveDamage
from evidence_cli.walker import display_path

#: The types libmagic gives TAR archives and the compressed files they come in.
MIME_TYPES = frozenset(
    {
        "application/x-tar",
        "application/x-gtar",
        "application/x-ustar",
        "application/gzip",
        "application/x-gzip",
        "application/x-bzip2",
        "application/x-xz",
    }
)
#: The most a header (PAX extended header, GNU long name) may make the reader read at once.
MAX_HEADER = 1024 * 1024
CHUNK = 64 * 1024
BLOCK = 512

#: Member types, as the record names them (a regular file has none).
KINDS = {
    tarfile.DIRTYPE: "directory",
    tarfile.SYMTYPE: "symlink",
    tarfile.LNKTYPE: "hardlink",
    tarfile.CHRTYPE: "character device",
    tarfile.BLKTYPE: "block device",
    tarfile.FIFOTYPE: "fifo",
}


class TarDamage(ArchiveDamage):
    """The TAR structure, or its compression, is damaged or over a bound."""


class _Bounded(io.RawIOBase):
    """A read-only stream that refuses a read of more than :data:`MAX_HEADER` bytes at once
    and any byte past ``limit`` (the inflated bytes of a compressed archive)."""

    def __init__(self, raw: BinaryIO, limit: int | None) -> None:
        super().__init__()
        self.raw = raw
        self.limit = limit

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.raw.tell()

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET and self.limit is not None and offset > self.limit:
            raise TarDamage(f"the archive goes on past the {self.limit} bytes read of it")
        try:
            return self.raw.seek(offset, whence)
        except (OSError, EOFError, zlib.error, lzma.LZMAError) as exc:
            raise TarDamage(f"damaged compressed data ({exc})") from None

    def read(self, n: int | None = -1) -> bytes:
        if n is None or n < 0 or n > max(MAX_HEADER, CHUNK):
            raise TarDamage(f"a header asks to read {n} bytes at once (over {MAX_HEADER}): not read")
        if self.limit is not None and self.raw.tell() + n > self.limit:
            n = max(0, self.limit - self.raw.tell())
            if n == 0:
                raise TarDamage(f"the archive goes on past the {self.limit} bytes read of it")
        try:
            return self.raw.read(n)
        except (OSError, EOFError, zlib.error, lzma.LZMAError) as exc:
            raise TarDamage(f"damaged compressed data ({exc})") from None

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


def compression(head: bytes) -> str | None:
    """The compression a file's first bytes show: ``gzip``, ``bzip2``, ``xz`` or None."""
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:3] == b"BZh":
        return "bzip2"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    return None


def gzip_name(head: bytes) -> bytes | None:
    """The original name a gzip header keeps (FNAME), or None."""
    if len(head) < 10 or head[:2] != b"\x1f\x8b" or not head[3] & 0x08:
        return None
    pos = 10
    if head[3] & 0x04:  # FEXTRA
        if len(head) < 12:
            return None
        pos += 2 + int.from_bytes(head[10:12], "little")
    end = head.find(b"\x00", pos)
    return head[pos:end] if end > pos else None


def decompressed(fh: BinaryIO, kind: str | None) -> BinaryIO:
    """The stream of the archive's bytes, inflated when ``kind`` says it is compressed."""
    if kind == "gzip":
        return gzip.GzipFile(fileobj=fh, mode="rb")  # type: ignore[return-value]
    if kind == "bzip2":
        return bz2.BZ2File(fh, "rb")  # type: ignore[return-value]
    if kind == "xz":
        return lzma.LZMAFile(fh, "rb")  # type: ignore[return-value]
    return fh


#: tarfile's own reasons for a header it cannot read (not in its stubs): a block of zeros
#: (the archive's end), and no block at all.
_EOF_HEADER: type[Exception] = tarfile.EOFHeaderError  # type: ignore[attr-defined]
_EMPTY_HEADER: type[Exception] = tarfile.EmptyHeaderError  # type: ignore[attr-defined]


class _Noting(tarfile.TarInfo):
    """Headers as tarfile reads them, noting why it stopped: it ends its listing without
    a word at a damaged or cut header, which must not pass for the archive's end."""

    @classmethod
    def fromtarfile(cls, tar: tarfile.TarFile) -> tarfile.TarInfo:  # type: ignore[override]
        try:
            return super().fromtarfile(tar)
        except _EOF_HEADER:  # a block of zeros: the archive's end
            raise
        except _EMPTY_HEADER:
            tar.evidence_stop = "the archive ends without its end blocks (cut at a member's end?)"  # type: ignore[attr-defined]
            raise
        except tarfile.HeaderError as exc:
            tar.evidence_stop = f"a damaged header at byte {tar.offset} ({exc})"  # type: ignore[attr-defined]
            raise


def open_tar(stream: BinaryIO, limit: int | None) -> tarfile.TarFile | None:
    """The TAR over ``stream``, or None when it holds none. Raises :class:`TarDamage`."""
    bounded = _Bounded(stream, limit)
    try:
        return tarfile.open(  # type: ignore[call-overload, no-any-return]
            fileobj=bounded, mode="r:", tarinfo=_Noting, encoding="utf-8", errors="surrogateescape"
        )
    except tarfile.ReadError:
        return None
    except ArchiveDamage:
        raise
    except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError) as exc:
        raise TarDamage(f"damaged data ({exc})") from None


def members(tar: tarfile.TarFile, max_members: int) -> Iterator[tarfile.TarInfo]:
    """The members in order. Raises :class:`TarDamage` where the listing stops early: a
    damaged or cut header, damaged compression, a bound."""
    count = 0
    while True:
        try:
            ti = tar.next()
        except ArchiveDamage:
            raise
        except tarfile.TarError as exc:
            raise TarDamage(f"a damaged header after {count} members ({exc}): the rest is not read") from None
        except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError) as exc:
            raise TarDamage(f"damaged data after {count} members ({exc}): the rest is not read") from None
        if ti is None:
            stop = getattr(tar, "evidence_stop", None)
            if stop is not None:
                raise TarDamage(f"{stop} after {count} members: the rest is not read")
            return
        count += 1
        if count > max_members:
            raise TarDamage(f"more than {max_members} members: the rest is not listed")
        # tarfile keeps every header it read (to find a hard link's target on extraction,
        # which is never done here): let them go, so that memory stays flat.
        tar.members.clear()  # type: ignore[attr-defined]
        yield ti


def member_chunks(tar: tarfile.TarFile, ti: tarfile.TarInfo) -> Iterator[bytes]:
    """A regular member's bytes in pieces of :data:`CHUNK`. Raises :class:`TarDamage`."""
    try:
        fh = tar.extractfile(ti)
        if fh is None:
            return
        while piece := fh.read(CHUNK):
            yield piece
    except ArchiveDamage:
        raise
    except (tarfile.TarError, OSError, EOFError, ValueError, zlib.error, lzma.LZMAError) as exc:
        raise TarDamage(f"{ti.name}: damaged or cut short ({exc})") from None


def stream_chunks(stream: BinaryIO) -> Iterator[bytes]:
    """A compressed file's inflated bytes in pieces of :data:`CHUNK`. Raises :class:`TarDamage`."""
    try:
        while piece := stream.read(CHUNK):
            yield piece
    except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError) as exc:
        raise TarDamage(f"damaged or cut short ({exc})") from None


def _text(name: str) -> str:
    """A name as the record shows it: bytes that are not UTF-8 as ``\\xNN``."""
    return display_path(name.encode("utf-8", "surrogateescape"))[0]


def member_name(ti: tarfile.TarInfo) -> str:
    return _text(ti.name)


def link_name(ti: tarfile.TarInfo) -> str:
    return _text(ti.linkname)


def modified(ti: tarfile.TarInfo) -> datetime | None:
    """The member's modification time (UTC, as TAR keeps it), or None when out of range."""
    try:
        return datetime.fromtimestamp(ti.mtime, timezone.utc)
    except (OverflowError, OSError, ValueError, TypeError):
        return None
