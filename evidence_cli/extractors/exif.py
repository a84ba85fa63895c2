"""EXIF through ExifRead: every raw tag, capture/modify times, GPS and device.

ExifRead is called with ``details=False`` (no MakerNote decoding) and no thumbnail
extraction; raw ``IfdTag.values`` are kept, never ``builtin_types`` (which rewrites
dates and turns ``0/0`` into a number). ExifRead reports damage only through its
``exifread`` logger: those messages become problems on this file.
"""

from __future__ import annotations

import hashlib
import io
import logging
import struct
import threading
from datetime import datetime, timezone
from typing import Any, BinaryIO, Mapping

import exifread
from exifread.core.exceptions import ExifError
from exifread.core.find_exif import determine_type
from exifread.utils import Ratio

from evidence_cli.errors import UnsupportedFile
from evidence_cli.extractors.base import FileContext, problem, register
from evidence_cli.formats import jpeg, makernote
from evidence_cli.formats import png as pngfmt
from evidence_cli.formats.isobmff import HEIF_MIME_TYPES, heif_exif_tiff, jxl_exif_tiff
from evidence_cli.geo import GeoError, Rational, altitude_m, dms_to_degrees, signed
from evidence_cli.models import Device, Extraction, GeoPoint, Problem, Timestamp
from evidence_cli.timeparse import TimeParseError, clean_text, infer_offset, iso_utc, make_timestamp

#: Image types ExifRead understands (it returns {} for anything else, so only these go to it).
EXIF_TYPES = frozenset(
    {
        "image/jpeg",
        "image/tiff",
        "image/heic",
        "image/heif",
        "image/heic-sequence",
        "image/heif-sequence",
        "image/avif",
        "image/webp",
        "image/png",
        "image/x-canon-cr2",
        "image/jxl",
    }
)
#: The file starts ExifRead takes its own (unchecked) HEIC box walk for (its
#: ``find_exif.determine_type``).
EXIFREAD_HEIC_HEADS = (b"ftypheic", b"ftypavif", b"ftypmif1")
#: What ExifRead raises on damaged data it indexes without checking (an absurd count, a
#: short read, a non-ASCII chunk name): the damage becomes a problem on the file.
EXIFREAD_CRASHES = (
    IndexError,
    KeyError,
    ValueError,
    TypeError,
    ZeroDivisionError,
    OverflowError,
    EOFError,
    struct.error,
    RecursionError,
    # Its HEIC walk (files with no meta box we could read): BadSize on a short box,
    # NotImplementedError on a box size it does not handle, AssertionError on a missing
    # "Exif" marker (found by fuzz/).
    ExifError,
    NotImplementedError,
    AssertionError,
    # ... and OSError (EINVAL) when a box's size sends its seek before the start of the
    # file (found by fuzz/: a file object raises it where BytesIO raises ValueError).
    OSError,
)
#: Undefined-type blobs longer than this are kept as length + SHA-256 + leading bytes.
BLOB_HEAD = 256
#: Bounds of the WebP RIFF walk that finds the EXIF chunk.
WEBP_MAX_CHUNKS = 1024
WEBP_MAX_EXIF = 16 * 1024 * 1024

#: (timestamp name, date tag, sub-second tag, offset tag) as ExifRead keys them.
DATE_TAGS = (
    ("DateTimeOriginal", "EXIF DateTimeOriginal", "EXIF SubSecTimeOriginal", "EXIF OffsetTimeOriginal"),
    ("CreateDate", "EXIF DateTimeDigitized", "EXIF SubSecTimeDigitized", "EXIF OffsetTimeDigitized"),
    ("ModifyDate", "Image DateTime", "EXIF SubSecTime", "EXIF OffsetTime"),
)
#: Device fields and the tags that give them, first present wins.
DEVICE_TAGS: Mapping[str, tuple[str, ...]] = {
    "make": ("Image Make",),
    "model": ("Image Model",),
    "serial": ("EXIF BodySerialNumber", "Image CameraSerialNumber", "EXIF SerialNumber", "Image SerialNumber"),
    "software": ("Image Software", "Image ProcessingSoftware"),
    "lens": ("EXIF LensModel", "EXIF LensSpecification"),
}


class _LogCollector(logging.Handler):
    """Collects the exifread logger's warnings emitted by the current thread."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.messages.append(record.getMessage())


#: Rational tags re-read as stored are capped at this many values.
MAX_STORED_RATIONALS = 256


def stored_rationals(stream: Any, tags: Mapping[str, Any]) -> dict[str, list[list[int]]]:
    """Rational values exactly as stored (ExifRead reduces them: 525/100 becomes 21/4).

    ``stream`` must start at the TIFF header. Each value read back is checked against
    ExifRead's (same number); on any disagreement the tag keeps ExifRead's values.
    """
    out: dict[str, list[list[int]]] = {}
    try:
        stream.seek(0)
        order = stream.read(2)
    except (OSError, ValueError):
        return out
    endian = {b"II": "<", b"MM": ">"}.get(order)
    if endian is None:
        return out
    for key, tag in tags.items():
        ftype = getattr(tag, "field_type", None)
        values = getattr(tag, "values", None)
        if ftype not in (5, 10) or not isinstance(values, list) or not 0 < len(values) <= MAX_STORED_RATIONALS:
            continue
        fmt = endian + ("I" if ftype == 5 else "i") * (2 * len(values))
        try:
            stream.seek(int(tag.field_offset))
            data = stream.read(8 * len(values))
            if len(data) != 8 * len(values):
                continue
            nums = struct.unpack(fmt, data)
        except (OSError, ValueError, struct.error, TypeError):
            continue
        pairs = [[nums[i], nums[i + 1]] for i in range(0, len(nums), 2)]
        if all(_same_ratio(p, v) for p, v in zip(pairs, values)):
            out[key] = pairs
    return out


def _same_ratio(pair: list[int], value: Any) -> bool:
    if not isinstance(value, Ratio):
        return False
    n, d = int(value.num), int(value.den)
    if pair[1] == 0 or d == 0:
        return pair == [n, d]
    return pair[0] * d == n * pair[1]


def json_value(tag: Any, stored: list[list[int]] | None = None) -> Any:
    """An ExifRead tag's raw values as JSON-safe data (rationals as [num, den], as stored
    when ``stored`` gives them)."""
    if stored is not None:
        return stored[0] if len(stored) == 1 else stored
    values = getattr(tag, "values", tag)
    field_type = getattr(tag, "field_type", None)
    if isinstance(values, bytes):
        return _blob(values)
    if isinstance(values, str):
        return values
    if isinstance(values, (list, tuple)):
        if field_type in (1, 7) and all(isinstance(v, int) and 0 <= v < 256 for v in values) and len(values) > 8:
            return _blob(bytes(values))
        out = [_scalar(v) for v in values]
        return out[0] if len(out) == 1 else out
    return _scalar(values)


def _scalar(v: Any) -> Any:
    if isinstance(v, Ratio):
        return [int(v.num), int(v.den)]
    if isinstance(v, (int, float, str)) or v is None:
        return v
    if isinstance(v, bytes):
        return _blob(v)
    return str(v)


def _blob(b: bytes) -> Any:
    if len(b) <= BLOB_HEAD:
        return {"hex": b.hex(), "length": len(b)}
    return {"hex": b[:BLOB_HEAD].hex(), "length": len(b), "truncated": True, "sha256": hashlib.sha256(b).hexdigest()}


def _text(tags: Mapping[str, Any], key: str) -> str | None:
    t = tags.get(key)
    if t is None:
        return None
    v = t.values if hasattr(t, "values") else t
    if isinstance(v, (list, tuple)):
        if key.endswith("LensSpecification"):
            return None
        if all(isinstance(x, int) and 0 <= x < 256 for x in v):
            v = bytes(v).decode("utf-8", "replace")
        else:
            return None
    s = clean_text(v)
    return s or None


def _rationals(tag: Any, what: str) -> list[Rational]:
    values = getattr(tag, "values", None)
    if not isinstance(values, (list, tuple)) or not values:
        raise GeoError(f"{what}: no values")
    out = []
    for v in values:
        if isinstance(v, Ratio):
            out.append(Rational(int(v.num), int(v.den)))
        elif isinstance(v, int):
            out.append(Rational(v, 1))
        else:
            raise GeoError(f"{what}: not a rational: {v!r}")
    return out


def gps_datetime(tags: Mapping[str, Any]) -> tuple[datetime | None, str | None, str | None]:
    """(aware UTC datetime, raw text, problem) from GPSDateStamp + GPSTimeStamp."""
    d, t = tags.get("GPS GPSDate"), tags.get("GPS GPSTimeStamp")
    if d is None or t is None:
        return None, None, None
    dtext = clean_text(d.values if hasattr(d, "values") else d)
    try:
        hms = [r.value("GPSTimeStamp") for r in _rationals(t, "GPSTimeStamp")]
        raw = f"{dtext} {':'.join(str(x) for x in t.values)}"
        if len(hms) != 3:
            raise GeoError("GPSTimeStamp: expected 3 values")
        hh, mm, ss = hms
        whole = int(ss)
        micro = int(round((ss - whole) * 1_000_000))
        y, mo, dd = (int(x) for x in dtext.replace("-", ":").split(":"))
        dt = datetime(y, mo, dd, int(hh), int(mm), whole, min(micro, 999_999), tzinfo=timezone.utc)
        return dt, raw, None
    except (GeoError, ValueError, TypeError, OverflowError) as exc:  # an hour of 2**40: OverflowError (fuzz/)
        return None, None, f"GPSDateTime not usable: {exc}"


def webp_exif(fh: BinaryIO) -> bytes | None:
    """The TIFF structure in a WebP's ``EXIF`` chunk (bounded RIFF walk), or None.

    ExifRead always skips 6 bytes (``Exif\\0\\0``) at the start of that chunk, but the
    WebP specification, libwebp and Pillow store the bare TIFF structure, which ExifRead
    then misreads silently. Both forms are accepted here.
    """
    head = fh.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        return None
    for _ in range(WEBP_MAX_CHUNKS):
        hdr = fh.read(8)
        if len(hdr) < 8:
            return None
        size = int.from_bytes(hdr[4:8], "little")
        if hdr[:4] == b"EXIF":
            data = fh.read(min(size, WEBP_MAX_EXIF))
            return data[6:] if data.startswith(b"Exif\x00\x00") else data
        fh.seek(size + (size & 1), io.SEEK_CUR)
    return None


class _OffsetReader:
    """A read-only view of a stream whose offset 0 is ``base`` (the TIFF header of an EXIF
    block), so ExifRead reads the block as a TIFF file. Offsets past the block still read
    the bytes that follow, as ExifRead does when it reads the whole JPEG itself."""

    def __init__(self, fh: BinaryIO, base: int) -> None:
        self.fh = fh
        self.base = base
        # ExifRead seeks and reads once for every number it decodes (about 100 times a
        # photo): the stream's own read, with no Python frame in between.
        self.read = fh.read

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence == 0:
            return self.fh.seek(self.base + pos if pos > 0 else self.base) - self.base
        self.fh.seek(pos, whence)
        if self.fh.tell() < self.base:
            self.fh.seek(self.base)
        return self.tell()

    def tell(self) -> int:
        return self.fh.tell() - self.base


def png_exif(walked: pngfmt.PngWalk) -> bytes | None:
    """The TIFF block of a PNG (its walk: ``FileContext.png_walk``): the ``eXIf`` chunk, else
    ImageMagick's hex ``Raw profile type exif``/``APP1`` text chunk (as ExifTool reads).
    Chunk damage is the png extractor's to report."""
    for c in walked.chunks:
        if c.ctype == b"eXIf" and c.data is not None:
            return c.data[6:] if c.data.startswith(b"Exif\x00\x00") else c.data
    budget = pngfmt.InflateBudget()
    for c in walked.chunks:
        t = pngfmt.decode_text(c, budget) if c.ctype != b"eXIf" else None
        if t is None or t.keyword.lower() not in ("raw profile type exif", "raw profile type app1"):
            continue
        blob = pngfmt.raw_profile(t.text)
        if blob:
            body = blob[6:] if blob.startswith(b"Exif\x00\x00") else blob
            if body[:2] in (b"II", b"MM"):
                return body
    return None


def maker_serial(stream: Any, tags: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The camera serial number kept in the MakerNote (Nikon, Canon, Olympus, Pentax, Sigma,
    Samsung, Reconyx), read by our bounded reader: ExifRead's ``details=True`` decodes far
    more than we need and gives wrong serials for Nikon and none for Olympus or Reconyx.
    ``stream``'s offset 0 must be the TIFF header; (None, None) when there is none."""
    try:
        return makernote.serial_number(makernote.Reader(stream), _text(tags, "Image Make"))
    except (OSError, ValueError, struct.error):
        return None, None


def _has_exif_header(fh: BinaryIO) -> bool:
    """Does ExifRead find an EXIF/TIFF header in this stream (whether or not it reads tags)?"""
    try:
        fh.seek(0)
        determine_type(fh)
    except Exception:  # noqa: BLE001 - ExifNotFound, InvalidExif, or damage: no usable header
        return False
    return True


@register
class ExifExtractor:
    name = "exif"
    description = "EXIF tags, capture times, GPS and device (ExifRead; JPEG, TIFF, HEIC/HEIF, WebP, PNG, JPEG XL)"
    mime_types = EXIF_TYPES

    def extract(self, ctx: FileContext) -> Extraction:
        collector = _LogCollector()
        log = logging.getLogger("exifread")
        log.addHandler(collector)
        header_unread = False
        no_exif = False  # our walk of a JPEG/PNG found no EXIF block: ExifRead is not asked
        crash: str | None = None
        # Damage our own container walk found, each note prefixed with its container.
        container_notes: list[str] = []
        try:
            with ctx.open() as fh:
                stream: BinaryIO = fh
                if ctx.file_type.mime == "image/webp":
                    payload = webp_exif(fh)
                    if payload is not None:
                        stream = io.BytesIO(payload)
                elif ctx.file_type.mime in HEIF_MIME_TYPES:
                    # HEIF/AVIF: ExifRead reads only part of HEIC; give it the bare TIFF block of
                    # the Exif item. With no item list (no meta box) it gets the whole file; when
                    # our walk read the item list and found no usable Exif item, ExifRead (which
                    # walks the same boxes, unchecked) is not asked; nor when our walk found the
                    # boxes damaged and ExifRead would walk them too (a 64-bit box size of 0
                    # sends it round the same box for ever: found by fuzz/).
                    heif_notes: list[str] = []
                    heif_read = ctx.heif_meta(fh)
                    tiff = heif_exif_tiff(fh, heif_notes, heif_read)
                    container_notes.extend(f"HEIF: {n}" for n in heif_notes)
                    if tiff is not None:
                        stream = io.BytesIO(tiff)
                    damaged = bool(heif_notes) and ctx.head[4:12] in EXIFREAD_HEIC_HEADS
                    no_exif = tiff is None and (damaged or heif_read.meta is not None)
                elif ctx.file_type.mime == "image/jxl":
                    # Our bounded walk finds the Exif box; ExifRead's would loop on a box
                    # whose 64-bit size is 0 (found while fixing the HEIF case above).
                    jxl_notes: list[str] = []
                    tiff = jxl_exif_tiff(fh, jxl_notes)
                    container_notes.extend(f"JPEG XL: {n}" for n in jxl_notes)
                    if tiff is not None:
                        stream = io.BytesIO(tiff)
                    no_exif = tiff is None
                elif jpeg.is_jpeg(ctx.head):
                    # ExifRead looks for the APP1 Exif segment only within the first ~4 KB of
                    # segments (a large XMP or C2PA segment before it hides it): walk them here.
                    walked = ctx.jpeg_walk(fh)
                    container_notes.extend(walked.notes)  # (they say "JPEG" themselves)
                    found = jpeg.exif_tiff_offset(walked)
                    if found is not None:
                        stream = _OffsetReader(fh, found[0])  # type: ignore[assignment]
                    no_exif = found is None
                elif pngfmt.is_png(ctx.head):
                    payload = png_exif(ctx.png_walk(fh))
                    if payload is not None:
                        stream = io.BytesIO(payload)
                    no_exif = payload is None
                wrapped = stream is not fh  # ExifRead reads our EXIF block, not the container
                tags = {}
                if not no_exif:
                    try:
                        tags = exifread.process_file(stream, details=False, extract_thumbnail=False)
                    except EXIFREAD_CRASHES as exc:  # ExifRead indexes damaged data unchecked
                        crash = f"{type(exc).__name__}: {exc}"
                # ExifRead's stream starts at the TIFF header when we located the block, or
                # when the file is a TIFF: only then can stored rationals be re-read.
                stored = stored_rationals(stream, tags) if (wrapped or ctx.file_type.mime == "image/tiff") else {}
                mn_serial, mn_where = maker_serial(stream, tags)
                # A header whose IFDs point nowhere gives no tag and no log message.
                header_unread = not tags and not no_exif and crash is None and _has_exif_header(stream)
                data_end = stream.seek(0, io.SEEK_END)
        finally:
            log.removeHandler(collector)
        problems: list[Problem] = [problem(self.name, n) for n in container_notes]
        if header_unread:
            problems.append(problem(self.name, "EXIF header found but no tag could be read from it (damaged IFDs)"))
        if crash is not None:
            problems.append(problem(self.name, f"EXIF data too damaged for ExifRead ({crash})", severity="error"))
        for msg in collector.messages:
            # "No EXIF" is an answer, not damage (ExifRead 3.x words it "PNG/Webp/JPEG XL file
            # does not have exif data." for those containers).
            low = msg.lower()
            if "no exif" in low or "not found" in low or "does not have exif" in low:
                continue
            if "file format not recognized" in low:
                if not wrapped:
                    raise UnsupportedFile("ExifRead does not recognise this container")
                problems.append(problem(self.name, "EXIF block found but its TIFF header is not valid"))
                continue
            problems.append(problem(self.name, f"ExifRead: {msg}"))
        # A sub-IFD pointer past the end of the data loses its tags without a word from ExifRead
        # (other bad pointers it reports itself; an IFD of skipped tags, e.g. MakerNote, is fine).
        for pointer, prefix in (("Image ExifOffset", "EXIF "), ("Image GPSInfo", "GPS ")):
            values = getattr(tags.get(pointer), "values", None)
            where = values[0] if isinstance(values, list) and values and isinstance(values[0], int) else None
            if where is not None and where + 2 > data_end and not any(k.startswith(prefix) for k in tags):
                tag_name = pointer.split()[1]
                problems.append(problem(self.name, f"{tag_name} points to offset {where}, past the end of the data"))
        tags = {k: v for k, v in tags.items() if k != "JPEGThumbnail"}
        raw = {k: json_value(v, stored.get(k)) for k, v in tags.items()}
        if mn_serial is not None:
            raw["MakerNote SerialNumber"] = mn_serial  # read by formats.makernote (see maker_serial)

        timestamps: list[Timestamp] = []
        gps_dt, gps_raw, gps_problem = gps_datetime(tags)
        if gps_problem:
            problems.append(problem(self.name, gps_problem))
        for name, dkey, skey, okey in DATE_TAGS:
            if dkey not in tags:
                continue
            dval = tags[dkey].values
            sub = tags[skey].values if skey in tags else None
            off = tags[okey].values if okey in tags else None
            extra = "".join(f" {k.split()[-1]}={clean_text(v)}" for k, v in ((skey, sub), (okey, off)) if v is not None)
            try:
                ts = make_timestamp(name, "exif", dval, subsec=sub, offset=off, raw_extra=extra)
            except TimeParseError as exc:
                # Keep what is valid: drop the broken sub-seconds and/or offset, keep the raw.
                problems.append(problem(self.name, str(exc)))
                ts = None
                for kw in ({"offset": off}, {"subsec": sub}, {}):
                    try:
                        ts = make_timestamp(name, "exif", dval, raw_extra=extra, **kw)
                        break
                    except TimeParseError:
                        continue
            if ts is None:
                continue
            if ts.utc is None and gps_dt is not None and name == "DateTimeOriginal":
                ts = infer_offset(ts, gps_dt)
            timestamps.append(ts)
        if gps_dt is not None and gps_raw is not None:
            timestamps.append(
                Timestamp(
                    name="GPSDateTime",
                    source="exif",
                    value=iso_utc(gps_dt).replace("Z", "+00:00"),
                    utc=iso_utc(gps_dt),
                    raw=gps_raw,
                    offset_origin="utc-by-spec",
                )
            )

        gps, gps_problems = self._gps(tags, gps_dt, raw)
        problems.extend(gps_problems)
        dev = {f: next((v for v in (_text(tags, k) for k in keys) if v), None) for f, keys in DEVICE_TAGS.items()}
        if dev["serial"] is None and mn_serial is not None:
            dev["serial"] = mn_serial
        device = Device(**dev, source=self.name) if any(dev.values()) else None
        return Extraction(
            extractor=self.name,
            group=self.name,
            tags=raw,
            timestamps=tuple(timestamps),
            gps=gps,
            device=device,
            problems=tuple(problems),
        )

    def _gps(
        self, tags: Mapping[str, Any], gps_dt: datetime | None, tag_values: Mapping[str, Any]
    ) -> tuple[GeoPoint | None, list[Problem]]:
        """``tag_values``: the JSON values of ``tags`` already made for the record (the GPS
        ones are the point's raw values; not converted twice)."""
        if "GPS GPSLatitude" not in tags and "GPS GPSLongitude" not in tags:
            return None, []
        problems: list[Problem] = []
        raw = {k.split(" ", 1)[1]: tag_values[k] for k in tags if k.startswith("GPS ")}
        try:
            if "GPS GPSLatitude" not in tags or "GPS GPSLongitude" not in tags:
                raise GeoError("latitude or longitude missing")
            lat = signed(
                dms_to_degrees(_rationals(tags["GPS GPSLatitude"], "GPSLatitude"), "GPSLatitude"),
                _text(tags, "GPS GPSLatitudeRef"),
                "N",
                "S",
                90.0,
                "GPSLatitude",
            )
            lon = signed(
                dms_to_degrees(_rationals(tags["GPS GPSLongitude"], "GPSLongitude"), "GPSLongitude"),
                _text(tags, "GPS GPSLongitudeRef"),
                "E",
                "W",
                180.0,
                "GPSLongitude",
            )
        except GeoError as exc:
            return None, [problem(self.name, f"GPS position rejected: {exc}")]
        alt = None
        if "GPS GPSAltitude" in tags:
            try:
                ref = tags.get("GPS GPSAltitudeRef")
                alt = altitude_m(
                    _rationals(tags["GPS GPSAltitude"], "GPSAltitude")[0], ref.values if ref is not None else None
                )
            except GeoError as exc:
                problems.append(problem(self.name, f"GPS altitude rejected: {exc}"))
        point = GeoPoint(
            latitude=round(lat, 8),
            longitude=round(lon, 8),
            altitude=round(alt, 3) if alt is not None else None,
            timestamp_utc=iso_utc(gps_dt) if gps_dt else None,
            source=self.name,
            raw=raw,
        )
        return point, problems
