"""The extractor contract and registry.

An extractor reads one format's metadata from one file. It is a class with

* ``name`` — unique, lowercase; errors from it are reported as stage ``metadata:<name>``;
* ``description`` — one line, shown by ``evidence extractors``;
* ``mime_types`` — the detected MIME types it accepts (empty: every regular file);
* ``extract(ctx) -> Extraction``.

Rules (see STYLE.md): raise :class:`~evidence_cli.errors.UnsupportedFile` only when the
content is not your format; damage inside your format becomes a ``Problem`` in the
returned ``Extraction``. Read only through ``ctx.open()`` / ``ctx.head`` (a JPEG's
segments, a PNG's chunks, a HEIF item list: ``ctx.jpeg_walk``, ``ctx.png_walk``,
``ctx.heif_meta``, read once for all readers), with bounded reads; never write, never
print, no wall clock, no local time zone, no absolute paths.
The scanner wraps every call: any other exception becomes an ``error`` on the record.
"""

from __future__ import annotations

import io
import logging
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable, ClassVar, Iterator, Protocol, TypeVar

from evidence_cli.formats import id3, isobmff, jpeg
from evidence_cli.formats import png as pngfmt
from evidence_cli.hashing import DEFAULT_ALGORITHMS
from evidence_cli.models import Extraction, FileType, Problem

_T = TypeVar("_T")

#: Files up to this size are kept in memory by the hashing pass, so extractors read
#: the very bytes that were hashed and the file is read once.
MEMORY_LIMIT = 64 * 1024 * 1024
#: The inflated bytes of an archive's members the archive reader hashes by default (about
#: a second and a half here; ``scan --archive-mib``).
ARCHIVE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class FileContext:
    """Everything an extractor may know about the file it reads."""

    path: bytes
    """Path to open (absolute or relative to the working directory); never put it in output."""
    rel_path: str
    """Path relative to the scan root, for messages."""
    stat: os.stat_result
    """The ``lstat`` taken before the file was read."""
    file_type: FileType
    head: bytes
    """The first bytes of the file (the first chunk of the hashing pass)."""
    content: bytes | None = None
    """The whole content when the file is small enough to keep (see MEMORY_LIMIT)."""
    c2pa_trust: str | None = None
    """PEM trust anchors the examiner gave for C2PA validation (None: trust nothing)."""
    pdq: bool = False
    """Decode the pixels of images for their PDQ perceptual hash (``--pdq``)."""
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    """The scan's digest algorithms (a reader that hashes what a file holds uses them)."""
    archive_bytes: int | None = ARCHIVE_BYTES
    """Inflated bytes of an archive's members hashed per archive (None: every member)."""
    timeout: float | None = None
    """Seconds the scan gives each reader on this file (None: no limit): a reader sizes the
    work it may leave out to it (an archive's members' PDQ hashes)."""
    _parsed: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def open(self) -> BinaryIO:
        """A read-only binary stream over the file's content (the hashed bytes when kept)."""
        if self.content is not None:
            return io.BytesIO(self.content)
        from evidence_cli.hashing import open_readonly

        return os.fdopen(open_readonly(self.path), "rb")

    def _once(self, key: str, make: Callable[[], _T]) -> _T:
        """What ``make`` gives, made for the first reader that asks for ``key`` and kept
        for the file's other readers."""
        if key not in self._parsed:
            self._parsed[key] = make()
        return self._parsed[key]

    def jpeg_walk(self, fh: BinaryIO) -> jpeg.JpegWalk:
        """The segments of this JPEG (``fh``: a stream from :meth:`open`), walked once for
        all the file's readers (EXIF, XMP and IPTC each need them). Read it, never change it."""
        return self._once("jpeg", lambda: jpeg.walk(fh))

    def png_walk(self, fh: BinaryIO) -> pngfmt.PngWalk:
        """The chunks of this PNG, with the data of every chunk a reader needs
        (``pngfmt.READERS_READ``), walked once for all the file's readers (png, EXIF and
        XMP). Read it, never change it."""
        return self._once("png", lambda: pngfmt.walk(fh, read=pngfmt.READERS_READ))

    def heif_meta(self, fh: BinaryIO) -> isobmff.MetaRead:
        """The item list (``meta``) of this HEIF/AVIF file, read once for its EXIF and
        container readers (see ``isobmff.BoxReader.take_over``). Read it, never change it."""
        return self._once("heif", lambda: isobmff.read_meta(fh))

    def id3_tag(self, fh: BinaryIO) -> tuple[id3.Tag | None, list[str]]:
        """The ID3v2 tag at the start of this file and what was wrong with it, read once
        for its ID3 and C2PA readers. Read it, never change it."""

        def read() -> tuple[id3.Tag | None, list[str]]:
            notes: list[str] = []
            return id3.read_v2(fh, notes), notes

        return self._once("id3", read)

    @property
    def size(self) -> int:
        return len(self.content) if self.content is not None else self.stat.st_size


class Extractor(Protocol):
    """Structural type of an extractor class instance."""

    name: ClassVar[str]
    description: ClassVar[str]
    mime_types: ClassVar[frozenset[str]]

    def extract(self, ctx: FileContext) -> Extraction: ...


_REGISTRY: dict[str, Extractor] = {}

E = TypeVar("E")


def register(cls: Callable[[], E]) -> Callable[[], E]:
    """Class decorator: instantiate and register an extractor. Duplicate names fail."""
    inst = cls()
    name = getattr(inst, "name", None)
    if not name or name != name.lower():
        raise TypeError(f"extractor {cls!r} needs a lowercase name")
    if name in _REGISTRY:
        raise TypeError(f"duplicate extractor name {name!r}")
    _REGISTRY[name] = inst  # type: ignore[assignment]
    return cls


def reorder(modules: list[str]) -> None:
    """Put the extractors defined in these modules first, in this order; the others keep
    their registration order after them. Run order then does not depend on which module
    some other code happened to import first."""
    rank = {m: i for i, m in enumerate(modules)}
    items = sorted(_REGISTRY.items(), key=lambda kv: rank.get(type(kv[1]).__module__, len(rank)))
    _REGISTRY.clear()
    _REGISTRY.update(items)


def registered() -> tuple[Extractor, ...]:
    """All registered extractors, in registration order (deterministic)."""
    return tuple(_REGISTRY.values())


def for_type(mime: str | None) -> tuple[Extractor, ...]:
    """Extractors that accept a file of this detected MIME type."""
    return tuple(e for e in _REGISTRY.values() if not e.mime_types or (mime is not None and mime in e.mime_types))


class _Collector(logging.Handler):
    """Collects one logger's records of WARNING and above emitted by the current thread."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread and len(self.messages) < 20:
            self.messages.append(record.getMessage())


@contextmanager
def captured_logs(logger_name: str) -> Iterator[list[str]]:
    """Collect what a library logs (WARNING and above) while an extractor runs, so it
    becomes problems on that file's record instead of raw text on the terminal."""
    collector = _Collector()
    logger = logging.getLogger(logger_name)
    logger.addHandler(collector)
    try:
        yield collector.messages
    finally:
        logger.removeHandler(collector)


def problem(extractor: str, message: str, *, severity: str = "warning", type: str = "Damaged") -> Problem:
    """Shortcut for an extractor's own problem (stage ``metadata:<extractor>``)."""
    return Problem(stage=f"metadata:{extractor}", severity=severity, type=type, message=message)  # type: ignore[arg-type]
