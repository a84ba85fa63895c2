"""ISO base media file format (ISO/IEC 14496-12) boxes: MP4, QuickTime, 3GP, HEIF, AVIF.

A hardened box reader for hostile files and the HEIF item helpers the extractors use.

* Every read is bounded: a box header is at most 32 bytes; a payload is read into
  memory only when it is smaller than a cap (16 MiB for metadata boxes); ``mdat`` is
  never read by anything here.
* ``size`` 1 means a 64-bit ``largesize`` follows; ``size`` 0 means "to the end of the
  parent". A box larger than its parent, or smaller than its own header, is damage:
  that level stops and a problem is recorded (the boxes before it are kept).
* Offsets strictly advance (a box is never smaller than 8 bytes), nesting is limited
  (:data:`MAX_DEPTH`) and so is the number of boxes one file may make us look at
  (:data:`MAX_BOXES`): no loop, no unbounded recursion, no hang.

Damage never raises: it is collected as text in :attr:`BoxReader.problems` (or in the
``problems`` list a helper is given) for the extractor to turn into ``Problem``\\ s.
"""

from __future__ import annotations

import io
import os
import struct
from dataclasses import dataclass, field
from typing import BinaryIO, Iterator

#: Deepest nesting of boxes we descend into (top level is depth 0).
MAX_DEPTH = 16
#: Most boxes one reader looks at in one file (headers included, payloads or not).
MAX_BOXES = 100_000
#: Problems one reader records (the rest are dropped).
MAX_PROBLEMS = 100
#: Largest payload read into memory for a metadata box.
META_CAP = 16 * 1024 * 1024
#: Most HEIF items / extents we keep (more is damage or abuse, reported).
MAX_ITEMS = 10_000
MAX_EXTENTS = 1_000

#: The uuid under which Adobe stores an XMP packet in an ISO file.
XMP_UUID = bytes.fromhex("BE7ACFCB97A942E89C71999491E3AFAC")
#: First-box types that say "this stream is ISO base media / QuickTime".
TOP_LEVEL_TYPES = frozenset(
    {"ftyp", "moov", "mdat", "free", "skip", "wide", "pnot", "uuid", "styp", "sidx", "moof", "pdin", "meta"}
)
#: MIME types libmagic gives HEIF/AVIF files (those whose EXIF is read from the Exif item).
XMP_CONTENT_TYPE = "application/rdf+xml"
#: libmagic also says ``application/octet-stream`` for some; those go to the quicktime extractor.
HEIF_MIME_TYPES = frozenset(
    {"image/heic", "image/heif", "image/heic-sequence", "image/heif-sequence", "image/avif", "image/avif-sequence"}
)
#: MIME types of ISO base media movies and audio (MP4, QuickTime, 3GPP, M4V/M4A).
ISO_MEDIA_MIME_TYPES = frozenset(
    {"video/mp4", "video/quicktime", "video/3gpp", "video/3gpp2", "video/x-m4v", "audio/mp4", "audio/x-m4a"}
)
#: ftyp brands of HEIF/AVIF still images and sequences.
HEIF_BRANDS = frozenset(
    {"mif1", "mif2", "msf1", "heic", "heix", "heim", "heis", "hevc", "hevx", "hevm", "hevs", "avif", "avis", "avio"}
)


def fourcc(raw: bytes) -> str:
    """A box type as text; bytes above 0x7f map one-to-one (``\\xa9xyz`` -> ``©xyz``)."""
    return raw.decode("latin-1")


@dataclass(frozen=True, slots=True)
class Box:
    """One box header: where it is and how big it says it is (already bounds-checked)."""

    type: str
    """Four-character type, latin-1 decoded (``moov``, ``©xyz``)."""
    offset: int
    """Absolute offset of the box's first byte."""
    size: int
    """Total size, header included."""
    header: int
    """Header length: 8, 16 with a largesize, plus 16 for a ``uuid`` usertype."""
    usertype: bytes | None = None
    """The 16-byte extended type of a ``uuid`` box."""

    @property
    def start(self) -> int:
        """Offset of the payload."""
        return self.offset + self.header

    @property
    def end(self) -> int:
        return self.offset + self.size

    @property
    def payload_size(self) -> int:
        return self.size - self.header


def stream_size(fh: BinaryIO) -> int:
    """Size of a seekable stream (its position is left at the end)."""
    return fh.seek(0, os.SEEK_END)


class BoxReader:
    """Bounded box iteration over a seekable binary stream.

    Args:
        fh: the stream (read-only use; positions are always explicit).
        size: its size; measured with a seek when not given.
        max_depth: deepest level :meth:`boxes` will iterate.
        max_boxes: total box headers this reader will yield.
    """

    def __init__(
        self, fh: BinaryIO, size: int | None = None, *, max_depth: int = MAX_DEPTH, max_boxes: int = MAX_BOXES
    ) -> None:
        self.fh = fh
        self.size = stream_size(fh) if size is None else size
        self.max_depth = max_depth
        self.max_boxes = max_boxes
        self.count = 0
        self.problems: list[str] = []
        self._exhausted = False

    def problem(self, message: str) -> None:
        """Record damage once (the same text twice is one problem)."""
        if message not in self.problems and len(self.problems) < MAX_PROBLEMS:
            self.problems.append(message)

    def take_over(self, read: MetaRead) -> bool:
        """Go on as if ``read_heif_meta(self)`` had just run, from a read of the same file
        made by a fresh reader (see :func:`read_meta`): its problems and box count added to
        this reader's. Only when that gives exactly what reading here would: the same
        size and limits, and either a fresh reader here too, or one that neither reached
        the box limit nor could have (this count plus the read's stays below it), with no
        problem of the read dropped at the cap. False (nothing changed) otherwise."""
        if (read.size, read.max_depth, read.max_boxes) != (self.size, self.max_depth, self.max_boxes):
            return False
        fresh = self.count == 0 and not self.problems and not self._exhausted
        if not fresh and (
            self._exhausted
            or read.exhausted
            or self.count + read.count >= self.max_boxes
            or len(read.problems) >= MAX_PROBLEMS
        ):
            return False
        for message in read.problems:
            self.problem(message)
        self.count += read.count
        self._exhausted = self._exhausted or read.exhausted
        return True

    def read_at(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``offset`` (short at end of file). ``length`` must be bounded."""
        if offset < 0 or length <= 0 or offset >= self.size:
            return b""
        length = min(length, self.size - offset)
        self.fh.seek(offset)
        return self.fh.read(length)

    def boxes(self, start: int, end: int, depth: int = 0, *, where: str = "file") -> Iterator[Box]:
        """The boxes laid end to end between ``start`` and ``end`` (a parent's payload).

        Stops (with a problem) at the first box that does not fit its parent, at the depth
        limit and at the box-count limit. Trailing bytes too short for a header are ignored
        when they are zero (QuickTime ends some lists with a 32-bit 0) and reported otherwise.
        """
        if depth > self.max_depth:
            self.problem(f"boxes nested deeper than {self.max_depth} levels (in {where}): not read")
            return
        end = min(end, self.size)
        pos = start
        while pos + 8 <= end:
            if self.count >= self.max_boxes:
                if not self._exhausted:
                    self._exhausted = True
                    self.problem(f"more than {self.max_boxes} boxes: the rest of the file was not read")
                return
            head = self.read_at(pos, 16)
            if len(head) < 8:
                self.problem(f"truncated box header at offset {pos} (in {where})")
                return
            size32, raw_type = struct.unpack(">I4s", head[:8])
            btype = fourcc(raw_type)
            header = 8
            if size32 == 1:
                if len(head) < 16 or pos + 16 > end:
                    self.problem(f"truncated 64-bit size of box {btype!r} at offset {pos} (in {where})")
                    return
                size = struct.unpack(">Q", head[8:16])[0]
                header = 16
            elif size32 == 0:
                size = end - pos
            else:
                size = size32
            usertype = None
            if btype == "uuid":
                if pos + header + 16 > end:
                    self.problem(f"truncated uuid box at offset {pos} (in {where})")
                    return
                usertype = self.read_at(pos + header, 16)
                if len(usertype) < 16:
                    self.problem(f"truncated uuid box at offset {pos} (in {where})")
                    return
                header += 16
            if size < header:
                self.problem(f"box {btype!r} at offset {pos} is smaller ({size} bytes) than its header (in {where})")
                return
            if size > end - pos:
                self.problem(
                    f"box {btype!r} at offset {pos} claims {size} bytes but only {end - pos} remain"
                    f" in its parent ({where}): truncated or damaged"
                )
                return
            self.count += 1
            yield Box(btype, pos, size, header, usertype)
            pos += size  # size >= 8: strictly advances
        if pos < end:
            tail = self.read_at(pos, min(end - pos, 8))
            if tail.strip(b"\x00"):
                self.problem(f"{end - pos} stray bytes at offset {pos} (in {where})")

    def children(self, box: Box, depth: int, skip: int = 0) -> Iterator[Box]:
        """Child boxes of ``box`` (at ``depth`` + 1), after ``skip`` bytes of its own fields."""
        if skip > box.payload_size:
            self.problem(f"box {box.type!r} at offset {box.offset} is too short for its fields")
            return
        yield from self.boxes(box.start + skip, box.end, depth + 1, where=box.type)

    def payload(self, box: Box, cap: int = META_CAP, skip: int = 0) -> bytes | None:
        """The payload of ``box`` (after ``skip`` bytes), or None with a problem when above ``cap``."""
        n = box.payload_size - skip
        if n < 0:
            self.problem(f"box {box.type!r} at offset {box.offset} is too short for its fields")
            return None
        if n > cap:
            self.problem(f"box {box.type!r} at offset {box.offset} has {n} bytes: more than the {cap} read; skipped")
            return None
        data = self.read_at(box.start + skip, n)
        if len(data) < n:
            self.problem(f"box {box.type!r} at offset {box.offset}: file ends inside it")
        return data

    def first(self, start: int, end: int, path: tuple[str, ...], depth: int = 0) -> Box | None:
        """The first box along ``path`` (plain containers only), e.g. ``("moov", "mvhd")``."""
        found: Box | None = None
        for box in self.boxes(start, end, depth):
            if box.type == path[0]:
                found = box
                break
        if found is None or len(path) == 1:
            return found
        return self.first(found.start, found.end, path[1:], depth + 1)


def full_box(data: bytes) -> tuple[int, int, bytes]:
    """(version, flags, rest) of a full box payload; raises ValueError when too short."""
    if len(data) < 4:
        raise ValueError("full box shorter than its version and flags")
    return data[0], int.from_bytes(data[1:4], "big"), data[4:]


def looks_isobmff(head: bytes) -> bool:
    """Does a file's first chunk start with a plausible ISO/QuickTime box?"""
    if len(head) < 8:
        return False
    size = struct.unpack(">I", head[:4])[0]
    btype = fourcc(head[4:8])
    if btype not in TOP_LEVEL_TYPES:
        return False
    return size in (0, 1) or size >= 8


def plausible_box(head: bytes, size: int) -> bool:
    """Does ``head`` start with a structurally valid box header (printable type, size that fits)?"""
    if len(head) < 8 or not all(0x20 <= c < 0x7F for c in head[4:8]):
        return False
    size32 = struct.unpack(">I", head[:4])[0]
    return size32 in (0, 1) or 8 <= size32 <= size


def has_ftyp(head: bytes) -> bool:
    """The first box is an ``ftyp`` (what the brief calls 'the head shows an ftyp box')."""
    return len(head) >= 12 and head[4:8] == b"ftyp" and struct.unpack(">I", head[:4])[0] >= 8


def parse_ftyp(data: bytes) -> dict[str, object]:
    """``ftyp`` payload -> major brand, minor version, compatible brands (at most 64 kept)."""
    if len(data) < 8:
        raise ValueError("ftyp shorter than 8 bytes")
    brands = [fourcc(data[i : i + 4]) for i in range(8, len(data) - 3, 4)][:64]
    return {
        "major_brand": fourcc(data[:4]),
        "minor_version": struct.unpack(">I", data[4:8])[0],
        "compatible_brands": brands,
    }


def meta_is_full_box(reader: BoxReader, box: Box) -> bool:
    """``meta`` is a full box in ISO files and a plain container in QuickTime files.

    Decided from the bytes: a plain ``meta`` starts with a child box header (a size of
    at least 8 and a printable type); a full one starts with version 0 and flags 0.
    """
    head = reader.read_at(box.start, 12)
    if len(head) >= 8:
        size = struct.unpack(">I", head[:4])[0]
        typ = head[4:8]
        if 8 <= size <= box.payload_size and all(0x20 <= c < 0x7F or c == 0xA9 for c in typ):
            return False
    return True


# --------------------------------------------------------------------------- HEIF items


@dataclass(slots=True)
class HeifItem:
    """One ``infe`` entry."""

    item_id: int
    item_type: str
    name: str = ""
    content_type: str = ""


@dataclass(slots=True)
class HeifLocation:
    """One ``iloc`` entry: where an item's bytes are."""

    item_id: int
    construction_method: int
    data_reference_index: int
    base_offset: int
    extents: list[tuple[int, int]]
    """(offset, length) pairs; length 0 means "to the end of the source"."""


@dataclass(slots=True)
class HeifMeta:
    """What the top-level HEIF ``meta`` box says about items."""

    handler: str | None = None
    primary: int | None = None
    items: dict[int, HeifItem] = field(default_factory=dict)
    locations: dict[int, HeifLocation] = field(default_factory=dict)
    idat: Box | None = None
    references: dict[str, list[tuple[int, list[int]]]] = field(default_factory=dict)
    """Reference type (``cdsc``, ``thmb``, ...) -> (from item, [to items])."""
    sizes: dict[int, tuple[int, int]] = field(default_factory=dict)
    """Item id -> (width, height) from its ``ispe`` property."""


class _Buf:
    """Cursor over a payload; every read checks the length (ValueError when short)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError(f"needs {n} bytes at {self.pos}, only {len(self.data) - self.pos} left")
        b = self.data[self.pos : self.pos + n]
        self.pos += n
        return b

    def uint(self, n: int) -> int:
        return int.from_bytes(self.take(n), "big") if n else 0

    def cstring(self) -> str:
        """A NUL-terminated UTF-8 string (or the rest of the payload when unterminated)."""
        end = self.data.find(b"\x00", self.pos)
        if end < 0:
            end = len(self.data)
        s = self.data[self.pos : end].decode("utf-8", "replace")
        self.pos = min(end + 1, len(self.data))
        return s

    @property
    def left(self) -> int:
        return len(self.data) - self.pos


def parse_iinf(reader: BoxReader, box: Box, depth: int, meta: HeifMeta) -> None:
    """``iinf`` (full box) with its ``infe`` children (versions 2 and 3 carry item types)."""
    head = reader.read_at(box.start, 8)
    if len(head) < 6:
        reader.problem("iinf too short")
        return
    version = head[0]
    skip = 4 + (2 if version == 0 else 4)
    if len(head) < skip:
        reader.problem("iinf too short")
        return
    declared = int.from_bytes(head[4:skip], "big")
    seen = 0
    for child in reader.children(box, depth, skip):
        if child.type != "infe":
            continue
        seen += 1
        if len(meta.items) >= MAX_ITEMS:
            reader.problem(f"more than {MAX_ITEMS} HEIF items: the rest ignored")
            break
        data = reader.payload(child, cap=64 * 1024)
        if data is None:
            continue
        try:
            _parse_infe(data, meta)
        except ValueError as exc:
            reader.problem(f"infe at offset {child.offset} damaged: {exc}")
    if seen != declared:
        reader.problem(f"iinf declares {declared} items but holds {seen}")


def _parse_infe(data: bytes, meta: HeifMeta) -> None:
    version, _flags, rest = full_box(data)
    buf = _Buf(rest)
    if version < 2:
        # MPEG-21 style entries carry no item type: nothing we can use.
        return
    item_id = buf.uint(2 if version == 2 else 4)
    buf.uint(2)  # protection index
    item_type = fourcc(buf.take(4))
    name = buf.cstring() if buf.left else ""
    content_type = ""
    if item_type == "mime" and buf.left:
        content_type = buf.cstring()
    if item_id in meta.items:
        raise ValueError(f"item {item_id} described twice")
    meta.items[item_id] = HeifItem(item_id, item_type, name, content_type)


def parse_iloc(data: bytes, meta: HeifMeta) -> None:
    """``iloc`` versions 0-2: offset/length/base_offset/index sizes of 0, 4 or 8 bytes."""
    version, _flags, rest = full_box(data)
    if version > 2:
        raise ValueError(f"iloc version {version} unknown")
    buf = _Buf(rest)
    sizes = buf.uint(1)
    offset_size, length_size = sizes >> 4, sizes & 0x0F
    sizes = buf.uint(1)
    base_offset_size = sizes >> 4
    index_size = sizes & 0x0F if version in (1, 2) else 0
    for what, n in (("offset", offset_size), ("length", length_size), ("base_offset", base_offset_size)):
        if n not in (0, 4, 8):
            raise ValueError(f"iloc {what}_size {n} is not 0, 4 or 8")
    if index_size not in (0, 4, 8):
        raise ValueError(f"iloc index_size {index_size} is not 0, 4 or 8")
    count = buf.uint(2 if version < 2 else 4)
    # Each entry takes at least 6 bytes: a count beyond that is a lie, not an allocation.
    if count > MAX_ITEMS or count * 6 > buf.left + 6:
        raise ValueError(f"iloc declares {count} items, more than it can hold")
    for _ in range(count):
        item_id = buf.uint(2 if version < 2 else 4)
        method = buf.uint(2) & 0x0F if version in (1, 2) else 0
        dref = buf.uint(2)
        base = buf.uint(base_offset_size)
        n_ext = buf.uint(2)
        if n_ext > MAX_EXTENTS:
            raise ValueError(f"item {item_id} has {n_ext} extents")
        extents = []
        for _ in range(n_ext):
            buf.uint(index_size)
            extents.append((buf.uint(offset_size), buf.uint(length_size)))
        meta.locations.setdefault(item_id, HeifLocation(item_id, method, dref, base, extents))


def _parse_iref(reader: BoxReader, box: Box, depth: int, meta: HeifMeta) -> None:
    head = reader.read_at(box.start, 4)
    if len(head) < 4:
        reader.problem("iref too short")
        return
    width = 2 if head[0] == 0 else 4
    for child in reader.children(box, depth, 4):
        data = reader.payload(child, cap=1024 * 1024)
        if data is None:
            continue
        try:
            buf = _Buf(data)
            src = buf.uint(width)
            n = buf.uint(2)
            targets = [buf.uint(width) for _ in range(n)]
        except ValueError as exc:
            reader.problem(f"iref {child.type!r} damaged: {exc}")
            continue
        meta.references.setdefault(child.type, []).append((src, targets))


def _parse_iprp(reader: BoxReader, box: Box, depth: int, meta: HeifMeta) -> None:
    """Image spatial extents (``ispe``) of items, through ``ipco`` + ``ipma``."""
    props: list[tuple[int, int] | None] = []
    assoc: list[tuple[int, list[int]]] = []
    for child in reader.children(box, depth):
        if child.type == "ipco":
            for prop in reader.children(child, depth + 1):
                if len(props) >= MAX_ITEMS:
                    break
                dims = None
                if prop.type == "ispe":
                    head = reader.read_at(prop.start, 12)
                    if len(head) == 12:
                        dims = struct.unpack(">II", head[4:12])
                props.append(dims)
        elif child.type == "ipma":
            data = reader.payload(child, cap=4 * 1024 * 1024)
            if data is None:
                continue
            try:
                version, flags, rest = full_box(data)
                buf = _Buf(rest)
                for _ in range(min(buf.uint(4), MAX_ITEMS)):
                    item = buf.uint(2 if version < 1 else 4)
                    n = buf.uint(1)
                    idx = []
                    for _ in range(n):
                        v = buf.uint(2 if flags & 1 else 1)
                        idx.append(v & (0x7FFF if flags & 1 else 0x7F))
                    assoc.append((item, idx))
            except ValueError as exc:
                reader.problem(f"ipma damaged: {exc}")
    for item, idx in assoc:
        for i in idx:
            if 1 <= i <= len(props) and props[i - 1] is not None:
                meta.sizes.setdefault(item, props[i - 1])  # type: ignore[arg-type]


def read_heif_meta(reader: BoxReader) -> HeifMeta | None:
    """The top-level ``meta`` of a HEIF/AVIF file, or None when there is none."""
    meta_box = next((b for b in reader.boxes(0, reader.size) if b.type == "meta"), None)
    if meta_box is None:
        return None
    meta = HeifMeta()
    skip = 4 if meta_is_full_box(reader, meta_box) else 0
    for child in reader.children(meta_box, 0, skip):
        try:
            if child.type == "hdlr":
                data = reader.read_at(child.start, 12)
                if len(data) == 12:
                    meta.handler = fourcc(data[8:12])
            elif child.type == "pitm":
                head = reader.read_at(child.start, 8)
                if len(head) >= 6:
                    meta.primary = int.from_bytes(head[4:6] if head[0] == 0 else head[4:8], "big")
            elif child.type == "iinf":
                parse_iinf(reader, child, 1, meta)
            elif child.type == "iloc":
                payload = reader.payload(child, cap=META_CAP)
                if payload is not None:
                    parse_iloc(payload, meta)
            elif child.type == "idat":
                meta.idat = child
            elif child.type == "iref":
                _parse_iref(reader, child, 1, meta)
            elif child.type == "iprp":
                _parse_iprp(reader, child, 1, meta)
        except ValueError as exc:
            reader.problem(f"{child.type} at offset {child.offset} damaged: {exc}")
    return meta


@dataclass(frozen=True)
class MetaRead:
    """:func:`read_heif_meta` on a fresh reader, and the state it left that reader in: the
    EXIF and container readers of a HEIF file share it (``FileContext.heif_meta``; see
    :meth:`BoxReader.take_over`). Read it, never change it."""

    meta: HeifMeta | None
    problems: tuple[str, ...]
    count: int
    exhausted: bool
    size: int
    max_depth: int
    max_boxes: int


def read_meta(fh: BinaryIO) -> MetaRead:
    """The top-level ``meta`` of a HEIF/AVIF stream, read by a fresh :class:`BoxReader`."""
    reader = BoxReader(fh)
    meta = read_heif_meta(reader)
    return MetaRead(
        meta,
        tuple(reader.problems),
        reader.count,
        reader._exhausted,
        reader.size,
        reader.max_depth,
        reader.max_boxes,
    )


def heif_meta_of(reader: BoxReader, read: MetaRead | None) -> HeifMeta | None:
    """``read_heif_meta(reader)``: from ``read`` (:func:`read_meta`, the file's item list as
    another reader read it) when the reader can take it over (:meth:`BoxReader.take_over`),
    else read here."""
    return read.meta if read is not None and reader.take_over(read) else read_heif_meta(reader)


def item_data(reader: BoxReader, meta: HeifMeta, item_id: int, cap: int = META_CAP) -> bytes | None:
    """The bytes of one item, its extents joined; None (with a problem) when they cannot be read."""
    loc = meta.locations.get(item_id)
    if loc is None:
        reader.problem(f"item {item_id} has no location (iloc)")
        return None
    if loc.data_reference_index != 0:
        reader.problem(f"item {item_id} is stored in another file (data reference {loc.data_reference_index})")
        return None
    if loc.construction_method == 0:
        src_start, src_end = 0, reader.size
    elif loc.construction_method == 1:
        if meta.idat is None:
            reader.problem(f"item {item_id} is in idat, but there is no idat box")
            return None
        src_start, src_end = meta.idat.start, meta.idat.end
    else:
        reader.problem(f"item {item_id}: construction method {loc.construction_method} is not supported")
        return None
    if not loc.extents:
        reader.problem(f"item {item_id} has no extents")
        return None
    out = bytearray()
    for off, length in loc.extents:
        start = src_start + loc.base_offset + off
        if length == 0:
            length = src_end - start
        if start < src_start or start > src_end or length > src_end - start:
            reader.problem(f"item {item_id}: extent ({start}, {length}) lies outside its source (ends at {src_end})")
            return None
        if len(out) + length > cap:
            reader.problem(f"item {item_id} is larger than {cap} bytes: not read")
            return None
        chunk = reader.read_at(start, length)
        if len(chunk) < length:
            reader.problem(f"item {item_id}: file ends inside it")
            return None
        out += chunk
    return bytes(out)


def _pick(meta: HeifMeta, candidates: list[int]) -> int:
    """Prefer the item that describes (``cdsc``) the primary image, then the lowest id."""
    described = {src for src, to in meta.references.get("cdsc", []) if meta.primary in to}
    for c in sorted(candidates):
        if c in described:
            return c
    return min(candidates)


def find_item(meta: HeifMeta, item_type: str, content_type: str | None = None) -> int | None:
    """The id of the item of this type (and content type) that belongs to the primary image, or None."""
    cands = [
        i.item_id
        for i in meta.items.values()
        if i.item_type == item_type and (content_type is None or i.content_type.strip() == content_type)
    ]
    return _pick(meta, cands) if cands else None


def heif_item_payload(
    fh: BinaryIO,
    item_type: str,
    *,
    content_type: str | None = None,
    problems: list[str] | None = None,
    read: MetaRead | None = None,
) -> bytes | None:
    """The payload of the HEIF item of ``item_type`` (e.g. ``Exif``, ``mime``), or None.

    For ``mime`` items ``content_type`` selects which (``application/rdf+xml`` is XMP).
    Damage found on the way is appended to ``problems`` (when given). ``read``: the file's
    ``meta`` already read (:func:`read_meta`), instead of reading it again.
    """
    reader = BoxReader(fh)
    try:
        meta = heif_meta_of(reader, read)
        if meta is None:
            return None
        item = find_item(meta, item_type, content_type)
        return item_data(reader, meta, item) if item is not None else None
    finally:
        if problems is not None:
            problems.extend(reader.problems)


def heif_exif_tiff(fh: BinaryIO, problems: list[str] | None = None, read: MetaRead | None = None) -> bytes | None:
    """The bare TIFF block (``II*\\0`` / ``MM\\0*``) of a HEIF ``Exif`` item, or None.

    The item starts with a 4-byte big-endian offset to the TIFF header, counted from
    the end of that field (usually 6, skipping ``Exif\\0\\0``). When the offset does not
    point at a TIFF header, the first 64 bytes are searched for one (and that is reported).

    Container damage is added to ``problems`` only when it cost the EXIF (no block is
    returned); damage elsewhere in the file is the container reader's to report.
    """
    probs: list[str] = [] if problems is None else problems
    container: list[str] = []
    data = heif_item_payload(fh, "Exif", problems=container, read=read)
    if data is None:
        probs.extend(container)
        return None
    if len(data) < 4:
        probs.append("Exif item shorter than its 4-byte header")
        return None
    off = struct.unpack(">I", data[:4])[0]
    start = 4 + off
    if _is_tiff(data[start : start + 4]):
        return data[start:]
    for sig in (b"II*\x00", b"MM\x00*"):
        i = data.find(sig, 0, 68)
        if i >= 0:
            probs.append(f"Exif item: TIFF header not at the stated offset {off}; found at {i - 4}")
            return data[i:]
    probs.append("Exif item holds no TIFF header")
    return None


#: The first box of a JPEG XL file in the container form (ISO/IEC 18181-2); the bare
#: codestream (``FF 0A``) has no boxes and so no Exif.
JXL_SIGNATURE = b"\x00\x00\x00\x0cJXL \r\n\x87\n"


def jxl_exif_tiff(fh: BinaryIO, problems: list[str] | None = None) -> bytes | None:
    """The bare TIFF block of a JPEG XL ``Exif`` box, or None (a bare codestream, no Exif
    box, or damage: then added to ``problems``).

    The box's payload starts, as a HEIF Exif item does, with a 4-byte big-endian offset
    to the TIFF header. The boxes are walked with the bounded reader: ExifRead's own walk
    reads a box whose 64-bit size is 0 again and again, for ever. A Brotli-compressed
    ``brob`` Exif box is noted, not decompressed.
    """
    probs: list[str] = [] if problems is None else problems
    reader = BoxReader(fh)
    try:
        if reader.read_at(0, len(JXL_SIGNATURE)) != JXL_SIGNATURE:
            return None
        for b in reader.boxes(0, reader.size):
            if b.type == "brob" and reader.read_at(b.start, 4) == b"Exif":
                probs.append(f"Exif box at offset {b.offset} is Brotli-compressed (brob): not read")
                return None
            if b.type == "Exif":
                data = reader.payload(b)
                if data is None or len(data) < 4:
                    probs.append(f"Exif box at offset {b.offset} is shorter than its 4-byte header")
                    return None
                start = 4 + struct.unpack(">I", data[:4])[0]
                if _is_tiff(data[start : start + 4]):
                    return data[start:]
                probs.append(f"Exif box at offset {b.offset} holds no TIFF header at its stated offset")
                return None
        return None
    finally:
        probs.extend(reader.problems)


def _is_tiff(b: bytes) -> bool:
    return b in (b"II*\x00", b"MM\x00*")


def heif_xmp(fh: BinaryIO, problems: list[str] | None = None) -> bytes | None:
    """The XMP packet of a HEIF/AVIF file (a ``mime`` item of type application/rdf+xml), or None."""
    return heif_item_payload(fh, "mime", content_type=XMP_CONTENT_TYPE, problems=problems)


def heif_exif_stream(fh: BinaryIO, problems: list[str] | None = None) -> io.BytesIO | None:
    """The TIFF block of a HEIF file as a stream ExifRead accepts, or None when there is none."""
    tiff = heif_exif_tiff(fh, problems)
    return io.BytesIO(tiff) if tiff is not None else None
