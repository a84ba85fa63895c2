"""QuickTime / MP4 / 3GP / M4V / M4A: movie and track headers, Apple and Android keys, user data.

Read with our own bounded box reader (:mod:`evidence_cli.formats.isobmff`); ``mdat``
(the media) is never read. What is read:

* ``mvhd`` creation/modification times -> ``CreateDate``/``ModifyDate`` (seconds since
  1904-01-01, UTC by specification; 0 means "not set"), time scale and duration;
* per track ``tkhd``/``mdhd`` (``TrackCreateDate``, ``MediaCreateDate``, ..., duration,
  width/height in 16.16, rotation), ``hdlr`` (track kind), ``stsd`` (codec), ``stco``/``co64``;
* ``meta`` (a full box in ISO files, a plain container in QuickTime) with ``keys`` +
  ``ilst`` (``mdta`` keys: ``com.apple.quicktime.creationdate`` -> ``CreationDate`` with its
  own offset, ``...make/model/software``, ``...location.ISO6709``, ``com.android.*``) or
  iTunes-style ``ilst`` items;
* ``udta`` text atoms (``©xyz`` ISO 6709 position, ``©mak``, ``©mod``, ``©swr``, ``©day``);
* XMP in a ``uuid`` box (BE7ACFCB-97A9-42E8-9C71-999491E3AFAC) or ``udta/XMP_``, parsed by
  :func:`evidence_cli.extractors.xmp.parse_packet`.

Like ExifTool, a date below the Unix epoch's 1904-based value is taken as counted from
1970 (writers that use the wrong epoch); that is reported as a problem.
"""

from __future__ import annotations

import hashlib
import math
import re
import struct
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, BinaryIO, Callable, Iterable, Mapping

from evidence_cli.errors import UnsupportedFile
from evidence_cli.extractors.base import FileContext, problem, register
from evidence_cli.formats.isobmff import (
    HEIF_MIME_TYPES,
    ISO_MEDIA_MIME_TYPES,
    XMP_CONTENT_TYPE,
    XMP_UUID,
    Box,
    BoxReader,
    MetaRead,
    find_item,
    fourcc,
    full_box,
    has_ftyp,
    heif_meta_of,
    item_data,
    looks_isobmff,
    meta_is_full_box,
    parse_ftyp,
    plausible_box,
)
from evidence_cli.geo import GeoError
from evidence_cli.models import Device, Extraction, Finding, GeoPoint, Problem, Timestamp
from evidence_cli.timeparse import TimeParseError, clean_text, iso_utc, make_iso_timestamp

NAME = "quicktime"

MIME_TYPES = (
    ISO_MEDIA_MIME_TYPES
    # libmagic sometimes says this for MP4/HEIF; accepted only when the head shows ftyp.
    | {"application/octet-stream"}
    # HEIF/AVIF: the container (items, primary image size) and its XMP item; their EXIF
    # item is read by the exif extractor.
    | HEIF_MIME_TYPES
)
OCTET = "application/octet-stream"

#: Seconds from 1904-01-01 (QuickTime's epoch) to 1970-01-01.
EPOCH_1904_TO_1970 = 2_082_844_800
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

#: Boxes that only hold other boxes (descended into wherever they appear).
CONTAINERS = frozenset({"moov", "mdia", "minf", "stbl", "edts", "dinf", "mvex", "tref", "tapt", "gmhd", "sinf"})
#: Largest payloads read for the small header boxes and for metadata lists.
HEADER_CAP = 4096
LIST_CAP = 4 * 1024 * 1024
#: Bounds on what one file can make us keep.
MAX_TRACKS = 64
MAX_KEYS = 4096
MAX_TEXT = 65536
BLOB_HEAD = 256

#: Well-known data types of ``data`` atoms (QuickTime File Format, "Well-known types").
_TEXT_TYPES: Mapping[int, str] = {1: "utf-8", 2: "utf-16-be", 3: "shift_jis", 4: "utf-8", 5: "utf-16-be"}
_INT_TYPES: Mapping[int, tuple[int | None, bool]] = {
    21: (None, True),
    22: (None, False),
    65: (1, True),
    66: (2, True),
    67: (4, True),
    74: (8, True),
    75: (1, False),
    76: (2, False),
    77: (4, False),
    78: (8, False),
}

#: Device fields: (where, key) pairs in order; the first present wins.
DEVICE_KEYS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "make": (
        ("keys", "com.apple.quicktime.make"),
        ("udta", "©mak"),
        ("ilst", "©mak"),
        ("keys", "com.android.manufacturer"),
    ),
    "model": (("keys", "com.apple.quicktime.model"), ("udta", "©mod"), ("ilst", "©mod"), ("keys", "com.android.model")),
    "software": (
        ("keys", "com.apple.quicktime.software"),
        ("udta", "©swr"),
        ("ilst", "©swr"),
        ("keys", "com.android.version"),
    ),
}
GPS_KEYS: tuple[tuple[str, str], ...] = (
    ("keys", "com.apple.quicktime.location.ISO6709"),
    ("udta", "©xyz"),
    ("ilst", "©xyz"),
    ("keys", "com.android.location.ISO6709"),
)
#: Text dates: (where, key, timestamp name).
DATE_KEYS: tuple[tuple[str, str, str], ...] = (
    ("keys", "com.apple.quicktime.creationdate", "CreationDate"),
    ("udta", "©day", "ContentCreateDate"),
    ("ilst", "©day", "ContentCreateDate"),
)


# --------------------------------------------------------------------------- ISO 6709

_ISO6709 = re.compile(
    r"^([+-])(\d+)(\.\d*)?"  # latitude
    r"([+-])(\d+)(\.\d*)?"  # longitude
    r"(?:([+-])(\d+(?:\.\d*)?))?"  # altitude, metres
    r"(?:CRS[A-Za-z0-9_:.-]*)?/?$"
)


def _sexagesimal(digits: str, frac: str | None, deg_digits: int, what: str) -> float:
    """[D]DD(.d), [D]DDMM(.m) or [D]DDMMSS(.s) -> decimal degrees (unsigned)."""
    f = float("0" + frac) if frac else 0.0
    n = len(digits)
    if n <= deg_digits:
        return int(digits) + f
    if n == deg_digits + 2:
        deg, mins = int(digits[:-2]), int(digits[-2:]) + f
        if mins >= 60:
            raise GeoError(f"{what}: minutes {mins} out of range")
        return deg + mins / 60
    if n == deg_digits + 4:
        deg, mins, secs = int(digits[:-4]), int(digits[-4:-2]), int(digits[-2:]) + f
        if mins >= 60 or secs >= 60:
            raise GeoError(f"{what}: minutes/seconds out of range")
        return deg + mins / 60 + secs / 3600
    raise GeoError(f"{what}: {digits!r} is not degrees, DDMM or DDMMSS")


def parse_iso6709(text: str) -> tuple[float, float, float | None]:
    """An ISO 6709 point (``+48.8577+002.2950+035.000/``, ``+4851.46+00217.70/``, ...)
    -> (latitude, longitude, altitude in metres or None). Raises GeoError when it is not one.
    """
    s = clean_text(text)
    m = _ISO6709.match(s)
    if not m:
        raise GeoError(f"not an ISO 6709 position: {s[:80]!r}")
    lat_s, lat_d, lat_f, lon_s, lon_d, lon_f, alt_s, alt_v = m.groups()
    lat = _sexagesimal(lat_d, lat_f, 2, "latitude") * (-1 if lat_s == "-" else 1)
    lon = _sexagesimal(lon_d, lon_f, 3, "longitude") * (-1 if lon_s == "-" else 1)
    if not (math.isfinite(lat) and abs(lat) <= 90):
        raise GeoError(f"latitude {lat} outside ±90")
    if not (math.isfinite(lon) and abs(lon) <= 180):
        raise GeoError(f"longitude {lon} outside ±180")
    alt = None
    if alt_v is not None:
        alt = float(alt_v) * (-1 if alt_s == "-" else 1)
        if not (math.isfinite(alt) and -12_000 <= alt <= 100_000):
            raise GeoError(f"altitude {alt} m is not plausible")
    return lat, lon, alt


# --------------------------------------------------------------------------- 3GPP assets

#: 3GPP (TS 26.244) user-data boxes holding one language-tagged string.
ASSET_TEXT = frozenset({"titl", "dscp", "cprt", "perf", "auth", "gnre", "albm"})


def _asset_string(buf: bytes) -> tuple[str, bytes]:
    """A 3GPP string: UTF-16 when it starts with a byte-order mark, else UTF-8; NUL-terminated."""
    if buf[:2] in (b"\xfe\xff", b"\xff\xfe"):
        for i in range(2, len(buf) - 1, 2):
            if buf[i : i + 2] == b"\x00\x00":
                return buf[:i].decode("utf-16", "replace"), buf[i + 2 :]
        return buf.decode("utf-16", "replace"), b""
    end = buf.find(b"\x00")
    if end < 0:
        return buf.decode("utf-8", "replace"), b""
    return buf[:end].decode("utf-8", "replace"), buf[end + 1 :]


def parse_3gpp_asset(kind: str, data: bytes) -> dict[str, Any]:
    """``titl``/``auth``/... (language + string), ``yrrc`` (year) or ``loci`` (location)."""
    _v, _f, rest = full_box(data)
    if kind == "yrrc":
        if len(rest) < 2:
            raise ValueError("yrrc too short")
        return {"year": struct.unpack(">H", rest[:2])[0]}
    if len(rest) < 2:
        raise ValueError(f"{kind} too short")
    out: dict[str, Any] = {"language": _mac_language(struct.unpack(">H", rest[:2])[0] & 0x7FFF)}
    text, rest = _asset_string(rest[2:])
    if kind != "loci":
        out["text"] = _text_value(text)
        return out
    # loci: name, role (1 byte), longitude, latitude, altitude (signed 16.16), body, notes.
    if len(rest) < 13:
        raise ValueError("loci too short for its coordinates")
    role = rest[0]
    lon, lat, alt = struct.unpack(">iii", rest[1:13])
    body, tail = _asset_string(rest[13:])
    notes, _ = _asset_string(tail)
    out.update(
        name=_text_value(text),
        role=role,
        longitude=lon / 65536,
        latitude=lat / 65536,
        altitude=alt / 65536,
        astronomical_body=_text_value(body),
        notes=_text_value(notes),
    )
    return out


# --------------------------------------------------------------------------- values


def _text_value(s: str) -> Any:
    """Text kept as stored, bounded (long text: head + length + digest)."""
    if len(s) <= MAX_TEXT:
        return s
    return {
        "text": s[:MAX_TEXT],
        "length": len(s),
        "truncated": True,
        "sha256": hashlib.sha256(s.encode("utf-8", "surrogatepass")).hexdigest(),
    }


def _blob(b: bytes) -> dict[str, Any]:
    if len(b) <= BLOB_HEAD:
        return {"hex": b.hex(), "length": len(b)}
    return {"hex": b[:BLOB_HEAD].hex(), "length": len(b), "truncated": True, "sha256": hashlib.sha256(b).hexdigest()}


def _number(x: float) -> Any:
    return x if math.isfinite(x) else str(x)


def decode_data(type_code: int, value: bytes) -> Any:
    """A ``data`` atom's value by its well-known type (text, integers, floats; else a blob)."""
    if type_code in _TEXT_TYPES:
        return _text_value(value.decode(_TEXT_TYPES[type_code], "replace"))
    if type_code in _INT_TYPES:
        width, signed_ = _INT_TYPES[type_code]
        if (width is None and len(value) in (1, 2, 3, 4, 8)) or len(value) == width:
            return int.from_bytes(value, "big", signed=signed_)
    if type_code == 23 and len(value) == 4:
        return _number(struct.unpack(">f", value)[0])
    if type_code == 24 and len(value) == 8:
        return _number(struct.unpack(">d", value)[0])
    return _blob(value)


def _mac_language(code: int) -> Any:
    """mdhd/udta language: packed ISO 639-2/T letters, or a Macintosh language number."""
    if code < 0x400 or code == 0x7FFF:
        return code
    letters = [((code >> s) & 0x1F) + 0x60 for s in (10, 5, 0)]
    if all(0x61 <= c <= 0x7A for c in letters):
        return bytes(letters).decode("ascii")
    return code


def _fixed(raw: int, frac_bits: int, signed_bits: int | None = None) -> Any:
    if signed_bits is not None and raw >= 1 << (signed_bits - 1):
        raw -= 1 << signed_bits
    v = raw / (1 << frac_bits)
    return int(v) if v.is_integer() else v


def _rotation(matrix: tuple[int, ...]) -> int | None:
    """Rotation in degrees from a tkhd/mvhd matrix, when it is a plain multiple of 90."""
    a, b, c, d = (_fixed(matrix[i], 16, 32) for i in (0, 1, 3, 4))
    for deg, m in ((0, (1, 0, 0, 1)), (90, (0, 1, -1, 0)), (180, (-1, 0, 0, -1)), (270, (0, -1, 1, 0))):
        if (a, b, c, d) == m:
            return deg
    return None


# --------------------------------------------------------------------------- parsing state


@dataclass
class _Track:
    index: int
    tags: dict[str, Any] = field(default_factory=dict)
    handler: str | None = None
    entry_type: str | None = None
    entry_head: bytes = b""
    udta: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Movie:
    """Everything read from one file before it becomes an Extraction."""

    tags: dict[str, Any] = field(default_factory=dict)
    keys: dict[str, Any] = field(default_factory=dict)
    udta: dict[str, Any] = field(default_factory=dict)
    ilst: dict[str, Any] = field(default_factory=dict)
    tracks: list[_Track] = field(default_factory=list)
    xmp: list[bytes] = field(default_factory=list)
    timestamps: list[Timestamp] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fragments: int = 0
    mdat_bytes: int = 0
    top_meta: bool = False
    brand: str | None = None
    timescale: int | None = None

    def where(self, name: str) -> Mapping[str, Any]:
        return {"keys": self.keys, "udta": self.udta, "ilst": self.ilst}[name]


class _Parser:
    def __init__(self, fh: BinaryIO, size: int, heif_meta: Callable[[], MetaRead] | None = None) -> None:
        self.r = BoxReader(fh, size)
        #: The file's HEIF item list as another reader read it (FileContext.heif_meta).
        self.heif_meta = heif_meta
        self.m = _Movie()
        self.track: _Track | None = None
        self.too_many_tracks = False

    # -- walking -------------------------------------------------------------------------

    def run(self) -> _Movie:
        self.walk(self.r.boxes(0, self.r.size, 0), 0, "file")
        if self.m.top_meta:
            self.heif()
        return self.m

    def walk(self, boxes: Iterable[Box], depth: int, parent: str) -> None:
        handlers: Mapping[str, Callable[[Box, int, str], None]] = {
            "ftyp": self.ftyp,
            "mvhd": self.mvhd,
            "tkhd": self.tkhd,
            "mdhd": self.mdhd,
            "hdlr": self.hdlr,
            "stsd": self.stsd,
            "stco": self.chunk_offsets,
            "co64": self.chunk_offsets,
            "mehd": self.mehd,
            "trak": self.trak,
            "udta": self.udta,
            "meta": self.meta,
            "uuid": self.uuid,
            "XMP_": self.xmp_box,
        }
        for box in boxes:
            handler = handlers.get(box.type)
            if handler is not None:
                try:
                    handler(box, depth, parent)
                except (ValueError, struct.error) as exc:
                    self.r.problem(f"{box.type} at offset {box.offset} damaged: {exc}")
            elif box.type in CONTAINERS:
                self.walk(self.r.children(box, depth), depth + 1, box.type)
            elif box.type == "moof":
                self.m.fragments += 1
            elif box.type == "mdat":
                self.m.mdat_bytes += box.payload_size

    def small(self, box: Box, cap: int = HEADER_CAP) -> bytes:
        """The first ``cap`` bytes of a header box's payload (bounded; may be the whole)."""
        return self.r.read_at(box.start, min(box.payload_size, cap))

    # -- headers ---------------------------------------------------------------------------

    def ftyp(self, box: Box, depth: int, parent: str) -> None:
        info = parse_ftyp(self.small(box, 1024))
        self.m.tags.setdefault("ftyp", info)
        self.m.brand = str(info["major_brand"])

    def time(self, name: str, raw: int, where: str) -> None:
        """A 1904-based UTC time -> Timestamp (0 = unset)."""
        if raw == 0:
            return
        secs = raw - EPOCH_1904_TO_1970
        if raw < EPOCH_1904_TO_1970:
            secs = raw
            self.m.notes.append(
                f"{where} {name} {raw} is before 1970 counted from 1904: taken as counted from 1970 (as ExifTool does)"
            )
        try:
            dt = _UNIX_EPOCH + timedelta(seconds=secs)
        except OverflowError:
            self.m.notes.append(f"{where} {name} {raw} is not a representable date")
            return
        ts = Timestamp(
            name=name,
            source=NAME,
            value=dt.strftime("%Y-%m-%dT%H:%M:%S") + "+00:00",
            utc=iso_utc(dt),
            raw=str(raw),
            offset_origin="utc-by-spec",
        )
        if all((t.name, t.raw) != (ts.name, ts.raw) for t in self.m.timestamps):
            self.m.timestamps.append(ts)

    @staticmethod
    def _times(version: int, buf: bytes) -> tuple[int, int, int]:
        """(creation, modification, bytes used) of a v0 (32-bit) or v1 (64-bit) header."""
        if version > 1:
            raise ValueError(f"version {version} is unknown")
        if version == 1:
            c, m = struct.unpack(">QQ", buf[:16])
            return c, m, 16
        c, m = struct.unpack(">II", buf[:8])
        return c, m, 8

    @staticmethod
    def _duration(duration: int, timescale: int, version: int) -> Any:
        unknown = 0xFFFFFFFFFFFFFFFF if version == 1 else 0xFFFFFFFF
        if timescale == 0 or duration == unknown:
            return None
        return round(duration / timescale, 6)

    def _media_header(self, version: int, b: bytes) -> tuple[dict[str, Any], int]:
        """Times, time scale and duration that mvhd and mdhd share; the offset after them."""
        c, m, n = self._times(version, b)
        p = n + 4 + (8 if version == 1 else 4)
        if len(b) < p:
            raise ValueError("too short for its time scale and duration")
        timescale = struct.unpack(">I", b[n : n + 4])[0]
        duration = int.from_bytes(b[n + 4 : p], "big")
        info: dict[str, Any] = {
            "version": version,
            "creation_time": c,
            "modification_time": m,
            "timescale": timescale,
            "duration": duration,
            "duration_s": self._duration(duration, timescale, version),
        }
        return info, p

    def mvhd(self, box: Box, depth: int, parent: str) -> None:
        version, flags, b = full_box(self.small(box))
        if "mvhd" in self.m.tags:
            self.m.notes.append(f"a second mvhd at offset {box.offset} ignored")
            return
        info, p = self._media_header(version, b)
        timescale, c, m = info["timescale"], info["creation_time"], info["modification_time"]
        if len(b) >= p + 6:
            rate, volume = struct.unpack(">Ih", b[p : p + 6])
            info["preferred_rate"] = _fixed(rate, 16)
            info["preferred_volume"] = _fixed(volume, 8)
        if len(b) >= p + 80:
            info["next_track_id"] = struct.unpack(">I", b[p + 76 : p + 80])[0]
        if timescale == 0:
            self.m.notes.append("mvhd time scale is 0: duration unknown")
        self.m.tags["mvhd"] = info
        self.m.timescale = timescale or None
        self.time("CreateDate", c, "mvhd")
        self.time("ModifyDate", m, "mvhd")

    def trak(self, box: Box, depth: int, parent: str) -> None:
        if len(self.m.tracks) >= MAX_TRACKS:
            if not self.too_many_tracks:
                self.too_many_tracks = True
                self.m.notes.append(f"more than {MAX_TRACKS} tracks: the rest were not read")
            return
        outer = self.track
        self.track = _Track(index=len(self.m.tracks) + 1)
        self.m.tracks.append(self.track)
        try:
            self.walk(self.r.children(box, depth), depth + 1, "trak")
        finally:
            self.track = outer

    def tkhd(self, box: Box, depth: int, parent: str) -> None:
        if self.track is None:
            return
        version, flags, b = full_box(self.small(box))
        c, m, n = self._times(version, b)
        p = n + 8
        dlen = 8 if version == 1 else 4
        if len(b) < p + dlen:
            raise ValueError("too short for its track id and duration")
        track_id = struct.unpack(">I", b[n : n + 4])[0]
        duration = int.from_bytes(b[p : p + dlen], "big")
        p += dlen
        info: dict[str, Any] = {
            "version": version,
            "flags": flags,
            "creation_time": c,
            "modification_time": m,
            "track_id": track_id,
            "duration": duration,
        }
        if self.m.timescale:
            info["duration_s"] = self._duration(duration, self.m.timescale, version)
        # reserved(8) layer(2) alternate_group(2) volume(2) reserved(2) matrix(36) width(4) height(4)
        if len(b) >= p + 60:
            layer, group, volume = struct.unpack(">hhh", b[p + 8 : p + 14])
            matrix = struct.unpack(">9I", b[p + 16 : p + 52])
            width, height = struct.unpack(">II", b[p + 52 : p + 60])
            info.update(
                layer=layer,
                alternate_group=group,
                volume=_fixed(volume, 8),
                matrix=list(matrix),
                width=_fixed(width, 16),
                height=_fixed(height, 16),
            )
            rot = _rotation(matrix)
            if rot is not None:
                info["rotation"] = rot
        self.track.tags.setdefault("tkhd", info)
        self.time("TrackCreateDate", c, "tkhd")
        self.time("TrackModifyDate", m, "tkhd")

    def mdhd(self, box: Box, depth: int, parent: str) -> None:
        if self.track is None:
            return
        version, flags, b = full_box(self.small(box))
        info, p = self._media_header(version, b)
        c, m = info["creation_time"], info["modification_time"]
        if len(b) >= p + 2:
            info["language"] = _mac_language(struct.unpack(">H", b[p : p + 2])[0])
        self.track.tags.setdefault("mdhd", info)
        self.time("MediaCreateDate", c, "mdhd")
        self.time("MediaModifyDate", m, "mdhd")

    def hdlr(self, box: Box, depth: int, parent: str) -> None:
        version, flags, b = full_box(self.small(box, 512))
        if len(b) < 8:
            raise ValueError("hdlr too short")
        kind = fourcc(b[4:8])
        name_raw = b[20:]
        # MP4: NUL-terminated UTF-8; QuickTime: a Pascal string (length byte first).
        if name_raw and name_raw[0] == len(name_raw) - 1 and name_raw[0] > 0:
            name_raw = name_raw[1:]
        name = name_raw.split(b"\x00", 1)[0].decode("utf-8", "replace")
        info = {"component_type": fourcc(b[0:4]), "handler_type": kind, "name": name}
        if parent == "mdia" and self.track is not None:
            self.track.handler = kind
            self.track.tags.setdefault("hdlr", info)

    def stsd(self, box: Box, depth: int, parent: str) -> None:
        if self.track is None:
            return
        head = self.small(box, 8)
        if len(head) < 8:
            raise ValueError("stsd too short")
        count = struct.unpack(">I", head[4:8])[0]
        entries: list[str] = []
        for entry in self.r.children(box, depth, 8):
            if len(entries) >= 16:
                break
            entries.append(entry.type)
            if self.track.entry_type is None:
                self.track.entry_type = entry.type
                self.track.entry_head = self.r.read_at(entry.start, min(entry.payload_size, 32))
        self.track.tags["stsd"] = {"entry_count": count, "sample_entries": entries}

    def chunk_offsets(self, box: Box, depth: int, parent: str) -> None:
        if self.track is None:
            return
        head = self.small(box, 8)
        if len(head) < 8:
            raise ValueError(f"{box.type} too short")
        count = struct.unpack(">I", head[4:8])[0]
        width = 8 if box.type == "co64" else 4
        if count * width > box.payload_size - 8:
            self.r.problem(f"{box.type} at offset {box.offset} declares {count} entries, more than it holds")
        self.track.tags["chunk_offsets"] = {"box": box.type, "entry_count": count}

    def mehd(self, box: Box, depth: int, parent: str) -> None:
        version, flags, b = full_box(self.small(box))
        n = 8 if version == 1 else 4
        if len(b) < n:
            raise ValueError("mehd too short")
        self.m.tags["mehd"] = {"version": version, "fragment_duration": int.from_bytes(b[:n], "big")}

    # -- metadata lists -----------------------------------------------------------------

    def udta(self, box: Box, depth: int, parent: str) -> None:
        into = self.m.udta if self.track is None else self.track.udta
        for child in self.r.children(box, depth):
            t = child.type
            try:
                if t == "meta":
                    self.meta(child, depth + 1, "udta")
                elif t == "XMP_":
                    self.xmp_box(child, depth + 1, "udta")
                elif t == "uuid":
                    self.uuid(child, depth + 1, "udta")
                elif t.startswith("\xa9"):
                    value = self.text_atom(child)
                    if value is not None:
                        into.setdefault(t, value)
                elif t in ASSET_TEXT or t in ("loci", "yrrc"):
                    data = self.r.payload(child, cap=LIST_CAP)
                    if data is not None:
                        into.setdefault(t, parse_3gpp_asset(t, data))
                else:
                    into.setdefault(t, self.opaque(child))
            except (ValueError, struct.error) as exc:
                self.r.problem(f"udta {t!r} at offset {child.offset} damaged: {exc}")

    def opaque(self, box: Box) -> dict[str, Any]:
        """An atom we do not decode: its length, and its bytes when small (text too when printable)."""
        out: dict[str, Any] = {"length": box.payload_size}
        if 0 < box.payload_size <= BLOB_HEAD:
            raw = self.r.read_at(box.start, box.payload_size)
            out["hex"] = raw.hex()
            text = raw.rstrip(b"\x00")
            if text and all(0x20 <= c < 0x7F for c in text):
                out["text"] = text.decode("ascii")
        return out

    def text_atom(self, box: Box) -> Any:
        """A QuickTime user-data text atom: [16-bit length][16-bit language][text], repeated.

        Some writers put an iTunes-style ``data`` atom inside instead; that is read too.
        """
        data = self.r.payload(box, cap=LIST_CAP)
        if data is None:
            return None
        if data[4:8] == b"data" and 16 <= struct.unpack(">I", data[:4])[0] <= len(data):
            values = self.data_values(box)
            return values[0] if len(values) == 1 else values or None
        out: list[Any] = []
        pos = 0
        while pos + 4 <= len(data) and len(out) < 64:
            n, lang = struct.unpack(">HH", data[pos : pos + 4])
            if pos + 4 + n > len(data):
                raise ValueError(f"text of {n} bytes runs past the atom's end")
            raw = data[pos + 4 : pos + 4 + n]
            # Language below 0x400: a Macintosh language code and Mac Roman text; else UTF-8.
            text = raw.decode("mac_roman" if lang < 0x400 else "utf-8", "replace")
            out.append(_text_value(text.rstrip("\x00")))
            pos += 4 + n
        if not out:
            return None
        return out[0] if len(out) == 1 else out

    def data_values(self, item: Box) -> list[Any]:
        """The decoded ``data`` atoms inside an ``ilst`` item (or a udta atom)."""
        values: list[Any] = []
        for d in self.r.boxes(item.start, item.end, 0, where=item.type):
            if d.type != "data" or len(values) >= 16:
                continue
            payload = self.r.payload(d, cap=LIST_CAP)
            if payload is None or len(payload) < 8:
                continue
            type_code = int.from_bytes(payload[1:4], "big")
            values.append(decode_data(type_code, payload[8:]))
        return values

    def meta(self, box: Box, depth: int, parent: str) -> None:
        if depth == 0:
            self.m.top_meta = True  # HEIF/AVIF item metadata: read by heif()
            return
        skip = 4 if meta_is_full_box(self.r, box) else 0
        handler = None
        keys: list[str] = []
        ilst: Box | None = None
        for child in self.r.children(box, depth, skip):
            try:
                if child.type == "hdlr":
                    head = self.small(child, 12)
                    handler = fourcc(head[8:12]) if len(head) >= 12 else None
                elif child.type == "keys":
                    keys = self.keys_box(child)
                elif child.type == "ilst":
                    ilst = child
                elif child.type in ("XMP_", "xml "):
                    self.xmp_box(child, depth + 1, "meta")
                elif child.type == "uuid":
                    self.uuid(child, depth + 1, "meta")
            except (ValueError, struct.error) as exc:
                self.r.problem(f"meta {child.type!r} at offset {child.offset} damaged: {exc}")
        if ilst is not None:
            self.ilst_box(ilst, depth + 1, handler, keys)

    def keys_box(self, box: Box) -> list[str]:
        data = self.r.payload(box, cap=LIST_CAP)
        if data is None:
            return []
        _v, _f, rest = full_box(data)
        if len(rest) < 4:
            raise ValueError("keys too short")
        count = struct.unpack(">I", rest[:4])[0]
        keys: list[str] = []
        pos = 4
        while pos + 8 <= len(rest) and len(keys) < min(count, MAX_KEYS):
            size = struct.unpack(">I", rest[pos : pos + 4])[0]
            if size < 8 or pos + size > len(rest):
                self.r.problem(f"keys entry {len(keys) + 1} has a bad size {size}")
                break
            keys.append(rest[pos + 8 : pos + size].decode("utf-8", "replace"))
            pos += size
        if len(keys) < count:
            self.r.problem(f"keys declares {count} entries, {len(keys)} read")
        return keys

    def ilst_box(self, box: Box, depth: int, handler: str | None, keys: list[str]) -> None:
        mdta = handler == "mdta" or bool(keys)
        for item in self.r.children(box, depth):
            if mdta:
                idx = int.from_bytes(item.type.encode("latin-1"), "big")
                if not 1 <= idx <= len(keys):
                    self.r.problem(f"ilst item refers to key {idx}, but there are {len(keys)} keys")
                    continue
                name, target = keys[idx - 1], self.m.keys
            else:
                name, target = item.type, self.m.ilst
                if name == "----":
                    name = self.freeform_name(item) or name
            values = self.data_values(item)
            if values:
                target.setdefault(name, values[0] if len(values) == 1 else values)

    def freeform_name(self, item: Box) -> str | None:
        parts = []
        for b in self.r.boxes(item.start, item.end, 0, where="----"):
            if b.type in ("mean", "name"):
                data = self.r.payload(b, cap=1024)
                if data is not None and len(data) >= 4:
                    parts.append(data[4:].decode("utf-8", "replace"))
        return ":".join(parts) if parts else None

    # -- XMP -------------------------------------------------------------------------------

    def uuid(self, box: Box, depth: int, parent: str) -> None:
        if box.usertype == XMP_UUID:
            self.xmp_box(box, depth, parent)

    def xmp_box(self, box: Box, depth: int, parent: str) -> None:
        data = self.r.payload(box)
        if data is not None and data.strip(b"\x00 \r\n\t"):
            self.m.xmp.append(data)

    # -- HEIF ------------------------------------------------------------------------------

    def heif(self) -> None:
        meta = heif_meta_of(self.r, self.heif_meta() if self.heif_meta is not None else None)
        if meta is None:
            return
        types: dict[str, int] = {}
        for item in meta.items.values():
            types[item.item_type] = types.get(item.item_type, 0) + 1
        info: dict[str, Any] = {
            "handler": meta.handler,
            "primary_item": meta.primary,
            "item_types": dict(sorted(types.items())),
        }
        if meta.primary is not None and meta.primary in meta.sizes:
            w, h = meta.sizes[meta.primary]
            info["primary_width"], info["primary_height"] = w, h
            if not (0 < w <= 1 << 20 and 0 < h <= 1 << 20):
                self.m.notes.append(f"primary image size {w}x{h} is not plausible")
        self.m.tags["heif"] = info
        xmp_item = find_item(meta, "mime", XMP_CONTENT_TYPE)
        if xmp_item is not None:
            data = item_data(self.r, meta, xmp_item)
            if data is not None and data.strip(b"\x00 \r\n\t"):
                self.m.xmp.append(data)


# --------------------------------------------------------------------------- extractor


def _first(movie: _Movie, pairs: Iterable[tuple[str, str]]) -> tuple[str, str, Any] | None:
    for where, key in pairs:
        v = movie.where(where).get(key)
        if isinstance(v, list) and v:
            v = v[0]
        if v not in (None, ""):
            return where, key, v
    return None


def _track_summary(t: _Track) -> dict[str, Any]:
    out: dict[str, Any] = {"index": t.index, "handler": t.handler, "sample_entry": t.entry_type}
    out.update(t.tags)
    head = t.entry_head
    # Visual sample entry: 6 reserved, 2 data ref, 16 predefined/reserved, width, height.
    if t.handler == "vide" and len(head) >= 28:
        out["sample_width"], out["sample_height"] = struct.unpack(">HH", head[24:28])
    # Audio sample entry: 6+2, 8 reserved, channels, sample size, 4 reserved, rate 16.16.
    if t.handler == "soun" and len(head) >= 28:
        ch, bits = struct.unpack(">HH", head[16:20])
        out.update(channels=ch, sample_size=bits, sample_rate=struct.unpack(">I", head[24:28])[0] >> 16)
    if t.udta:
        out["udta"] = t.udta
    return out


@register
class QuickTimeExtractor:
    name = NAME
    description = "QuickTime/MP4/3GP movies: creation times, tracks, Apple/Android keys, ©xyz GPS, device, XMP"
    mime_types = MIME_TYPES

    def extract(self, ctx: FileContext) -> Extraction:
        head = ctx.head
        if ctx.file_type.mime == OCTET:
            if not has_ftyp(head):
                # Unknown binary: not ours, and not worth a problem on every such file.
                return Extraction(extractor=self.name, group=self.name)
        elif not (looks_isobmff(head) or plausible_box(head, ctx.size)):
            raise UnsupportedFile("does not start with an ISO base media / QuickTime box")
        with ctx.open() as fh:
            parser = _Parser(fh, ctx.size, lambda: ctx.heif_meta(fh))
            movie = parser.run()
        problems = [problem(self.name, p) for p in parser.r.problems]
        problems += [problem(self.name, n) for n in movie.notes]
        return self._extraction(movie, problems)

    def _extraction(self, movie: _Movie, problems: list[Problem]) -> Extraction:
        tags: dict[str, Any] = dict(movie.tags)
        if movie.tracks:
            tags["tracks"] = [_track_summary(t) for t in movie.tracks]
        for key, values in (("keys", movie.keys), ("udta", movie.udta), ("ilst", movie.ilst)):
            if values:
                tags[key] = values
        if movie.fragments:
            tags["fragments"] = movie.fragments
        if movie.mdat_bytes:
            tags["mdat_bytes"] = movie.mdat_bytes
        timestamps = list(movie.timestamps)
        for where, key, name in DATE_KEYS:
            value = movie.where(where).get(key)
            if isinstance(value, list):
                value = value[0] if value else None
            if not isinstance(value, str) or any(t.name == name for t in timestamps):
                continue
            try:
                ts = make_iso_timestamp(name, NAME, value)
            except TimeParseError as exc:
                problems.append(problem(self.name, f"{key}: {exc}"))
                continue
            if ts is not None:
                timestamps.append(ts)
        gps = self._gps(movie, problems)
        device = self._device(movie)
        findings: list[Finding] = []
        if movie.xmp:
            xmp_ex = self._xmp(movie.xmp, tags, problems)
            if xmp_ex is not None:
                timestamps.extend(xmp_ex.timestamps)
                findings.extend(xmp_ex.findings)
                gps = gps or xmp_ex.gps
                device = device or xmp_ex.device
        return Extraction(
            extractor=self.name,
            group=self.name,
            tags=tags,
            timestamps=tuple(timestamps),
            gps=gps,
            device=device,
            image=self._image(movie),
            problems=tuple(problems),
            findings=tuple(findings),
        )

    def _gps(self, movie: _Movie, problems: list[Problem]) -> GeoPoint | None:
        point = self._iso6709_gps(movie, problems)
        loci = movie.udta.get("loci")
        if point is not None or not isinstance(loci, dict) or "latitude" not in loci:
            return point
        # 3GPP location, fixed-point degrees; only an Earth location is a position.
        lat, lon, alt = loci["latitude"], loci["longitude"], loci["altitude"]
        body = loci.get("astronomical_body")
        if isinstance(body, str) and body.strip().lower() not in ("", "earth"):
            problems.append(problem(self.name, f"loci: a position on {body[:40]!r}, not used as GPS"))
            return None
        if not (abs(lat) <= 90 and abs(lon) <= 180):
            problems.append(problem(self.name, f"loci: position {lat}, {lon} out of range"))
            return None
        return GeoPoint(
            latitude=round(lat, 8),
            longitude=round(lon, 8),
            altitude=round(alt, 3) if -12_000 <= alt <= 100_000 else None,
            timestamp_utc=None,
            source=NAME,
            raw={"loci": {k: loci[k] for k in ("latitude", "longitude", "altitude")}},
        )

    def _iso6709_gps(self, movie: _Movie, problems: list[Problem]) -> GeoPoint | None:
        for where, key in GPS_KEYS:
            value = movie.where(where).get(key)
            if isinstance(value, list):
                value = value[0] if value else None
            if not isinstance(value, str):
                continue
            try:
                lat, lon, alt = parse_iso6709(value)
            except GeoError as exc:
                problems.append(problem(self.name, f"{key}: GPS position rejected: {exc}"))
                continue
            return GeoPoint(
                latitude=round(lat, 8),
                longitude=round(lon, 8),
                altitude=round(alt, 3) if alt is not None else None,
                timestamp_utc=None,
                source=NAME,
                raw={key: value},
            )
        return None

    def _device(self, movie: _Movie) -> Device | None:
        vals: dict[str, str | None] = {}
        for f, pairs in DEVICE_KEYS.items():
            hit = _first(movie, pairs)
            text = clean_text(hit[2]) if hit is not None and isinstance(hit[2], (str, int, float)) else ""
            vals[f] = text or None
        if not any(vals.values()):
            return None
        return Device(make=vals["make"], model=vals["model"], software=vals["software"], source=NAME)

    def _image(self, movie: _Movie) -> dict[str, Any] | None:
        if not movie.tags:
            return None
        info: dict[str, Any] = {"format": movie.brand}
        mvhd = movie.tags.get("mvhd")
        if isinstance(mvhd, dict) and mvhd.get("duration_s") is not None:
            info["duration_s"] = mvhd["duration_s"]
        video = next((t for t in movie.tracks if t.handler == "vide"), None)
        if video is not None:
            tk = video.tags.get("tkhd", {})
            if tk.get("width") and tk.get("height"):
                info["width"], info["height"] = tk["width"], tk["height"]
            info["codec"] = video.entry_type
            if "rotation" in tk:
                info["rotation"] = tk["rotation"]
        heif = movie.tags.get("heif")
        if isinstance(heif, dict) and "width" not in info and "primary_width" in heif:
            w, h = heif["primary_width"], heif["primary_height"]
            if 0 < w <= 1 << 20 and 0 < h <= 1 << 20:
                info["width"], info["height"] = w, h
        audio = next((t for t in movie.tracks if t.handler == "soun"), None)
        if audio is not None:
            info["audio_codec"] = audio.entry_type
        return info

    def _xmp(self, packets: list[bytes], tags: dict[str, Any], problems: list[Problem]) -> Extraction | None:
        if len(packets) > 1:
            problems.append(problem(self.name, f"{len(packets)} XMP packets: only the first was read"))
        data = packets[0]
        try:
            from evidence_cli.extractors.xmp import parse_packet
        except ImportError:  # the XMP module is optional for this extractor
            tags["XMP"] = _blob(data)
            return None
        ex = parse_packet(data, extractor=self.name)
        tags["XMP"] = dict(ex.tags)
        problems.extend(ex.problems)
        return ex
