"""Build evidence bytes in tests: JPEG, TIFF, PNG and WebP with chosen EXIF.

Shared by every test module (``from tests.builders import ...``). Nothing here reads
a real file: each helper returns ``bytes`` built with ``struct`` (and Pillow for the
pixel data of JPEG/WebP).

Layers, from low to high:

* :class:`Field` and :func:`tiff_bytes` — a TIFF structure (header, IFD0, EXIF and GPS
  sub-IFDs) from raw fields, in either byte order; what EXIF is in every container.
* :func:`exif_fields` / :func:`exif_tiff` and :func:`gps_fields` — the usual choices
  (capture times with sub-seconds and offsets, GPS, make/model/serial/software/lens)
  as keyword arguments.
* Containers: :func:`jpeg_bytes` (APP1), :func:`png_bytes` (eXIf chunk),
  :func:`tiff_image_bytes` (a real TIFF image with metadata in its IFDs),
  :func:`webp_bytes` (EXIF chunk, through Pillow).
* Damage: :func:`entry_offset` / :func:`patch_entry` (rewrite one IFD entry: type,
  count, value/offset), :func:`set_ifd0_offset`, :func:`set_next_ifd`,
  :func:`truncate`, :func:`flip_byte`.
* Running code: :func:`file_context` (a ``FileContext`` for calling one extractor
  directly) and :func:`scan_one` (write a file in a temp folder, scan it, get its record).

Example::

    tiff = exif_tiff(make="Canon", date_original="2019:05:01 13:45:10", offset_original="+02:00",
                     gps=gps_fields(48.8584, 2.2945, alt=35.2, date="2019:05:01", time=(11, 45, 10)))
    data = jpeg_bytes(tiff)
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, Union

from PIL import Image

from evidence_cli.extractors.base import FileContext
from evidence_cli.filetype import detect_type
from evidence_cli.models import FileRecord, FileType

# TIFF field types (TIFF 6.0 / EXIF 2.32).
BYTE, ASCII, SHORT, LONG, RATIONAL, SBYTE, UNDEFINED, SSHORT, SLONG, SRATIONAL = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
_STRUCT = {BYTE: "B", SBYTE: "b", UNDEFINED: "B", SHORT: "H", SSHORT: "h", LONG: "I", SLONG: "i"}

# Tags used by the helpers (IFD0, EXIF IFD, GPS IFD).
TAG = {
    "Make": 0x010F,
    "Model": 0x0110,
    "Software": 0x0131,
    "DateTime": 0x0132,  # ModifyDate
    "ExifIFD": 0x8769,
    "GPSIFD": 0x8825,
    "DateTimeOriginal": 0x9003,
    "DateTimeDigitized": 0x9004,  # CreateDate
    "OffsetTime": 0x9010,
    "OffsetTimeOriginal": 0x9011,
    "OffsetTimeDigitized": 0x9012,
    "SubSecTime": 0x9290,
    "SubSecTimeOriginal": 0x9291,
    "SubSecTimeDigitized": 0x9292,
    "BodySerialNumber": 0xA431,
    "LensModel": 0xA434,
    "GPSVersionID": 0x0000,
    "GPSLatitudeRef": 0x0001,
    "GPSLatitude": 0x0002,
    "GPSLongitudeRef": 0x0003,
    "GPSLongitude": 0x0004,
    "GPSAltitudeRef": 0x0005,
    "GPSAltitude": 0x0006,
    "GPSTimeStamp": 0x0007,
    "GPSDateStamp": 0x001D,
}

Rational = tuple[int, int]
FieldValue = Union[str, bytes, Sequence[int], Sequence[Rational]]


@dataclass(frozen=True)
class Field:
    """One IFD entry to write.

    ``value``: ``str`` for ASCII (a NUL is appended; pass ``bytes`` to write exactly
    those bytes), ``bytes`` for BYTE/UNDEFINED, ints for SHORT/LONG/SSHORT/SLONG,
    ``(numerator, denominator)`` pairs for RATIONAL/SRATIONAL (any denominator, 0 too).
    ``count`` overrides the count written in the entry (to forge absurd counts); the
    value bytes written stay those of ``value``.
    """

    tag: int
    type: int
    value: FieldValue
    count: int | None = None


def ascii(tag: int | str, text: str | bytes) -> Field:
    """An ASCII field; ``tag`` may be a name from :data:`TAG`."""
    return Field(TAG[tag] if isinstance(tag, str) else tag, ASCII, text)


def encode_value(byteorder: str, type_: int, value: FieldValue) -> tuple[int, bytes]:
    """(count, bytes) of a field value in the given byte order (``"<"`` or ``">"``)."""
    if type_ == ASCII:
        if isinstance(value, bytes):
            return len(value), value
        assert isinstance(value, str)
        data = value.encode("latin-1") + b"\x00"
        return len(data), data
    if type_ in (BYTE, UNDEFINED, SBYTE) and isinstance(value, (bytes, bytearray)):
        return len(value), bytes(value)
    if type_ in (RATIONAL, SRATIONAL):
        pairs = [tuple(p) for p in value]  # type: ignore[arg-type]
        code = "I" if type_ == RATIONAL else "i"
        flat = [int(x) for p in pairs for x in p]
        return len(pairs), struct.pack(f"{byteorder}{len(flat)}{code}", *flat)
    ints = [int(v) for v in value]  # type: ignore[union-attr, arg-type]
    return len(ints), struct.pack(f"{byteorder}{len(ints)}{_STRUCT[type_]}", *ints)


def _ifd(byteorder: str, fields: Sequence[Field], start: int, next_ifd: int = 0) -> bytes:
    ordered = sorted(fields, key=lambda f: f.tag)
    data_at = start + 2 + 12 * len(ordered) + 4
    head = struct.pack(f"{byteorder}H", len(ordered))
    data = b""
    for f in ordered:
        count, payload = encode_value(byteorder, f.type, f.value)
        if f.count is not None:
            count = f.count
        if len(payload) <= 4:
            slot = payload.ljust(4, b"\x00")
        else:
            slot = struct.pack(f"{byteorder}I", data_at + len(data))
            data += payload + b"\x00" * (len(payload) % 2)
        head += struct.pack(f"{byteorder}HHI", f.tag, f.type, count) + slot
    return head + struct.pack(f"{byteorder}I", next_ifd) + data


def tiff_bytes(
    ifd0: Sequence[Field] = (),
    exif: Sequence[Field] | None = None,
    gps: Sequence[Field] | None = None,
    *,
    byteorder: str = "<",
    strip: bytes = b"",
) -> bytes:
    """A complete TIFF structure: header, ``strip`` at offset 8, IFD0, EXIF IFD, GPS IFD.

    ``exif``/``gps`` None: no such sub-IFD (and no pointer); a list (even empty): the
    sub-IFD is written and IFD0 points to it. Offsets count from the ``II``/``MM`` header,
    as in EXIF. ``byteorder``: ``"<"`` Intel (``II``), ``">"`` Motorola (``MM``).
    """
    bo = byteorder
    header = (b"II" if bo == "<" else b"MM") + struct.pack(f"{bo}H", 42)
    pad = b"\x00" * (len(strip) % 2)
    start0 = 8 + len(strip) + len(pad)
    subs = [(TAG["ExifIFD"], exif), (TAG["GPSIFD"], gps)]

    def ifd0_fields(offsets: dict[int, int]) -> list[Field]:
        return [*ifd0, *(Field(t, LONG, [offsets.get(t, 0)]) for t, sub in subs if sub is not None)]

    at = start0 + len(_ifd(bo, ifd0_fields({}), start0))
    offsets: dict[int, int] = {}
    tail = b""
    for tag, sub in subs:
        if sub is not None:
            offsets[tag] = at
            block = _ifd(bo, sub, at)
            tail += block
            at += len(block)
    return header + struct.pack(f"{bo}I", start0) + strip + pad + _ifd(bo, ifd0_fields(offsets), start0) + tail


def exif_with_thumbnail(
    thumbnail: bytes, *, byteorder: str = "<", start: int | None = None, length: int | None = None
) -> bytes:
    """An EXIF TIFF block whose IFD1 holds a JPEG thumbnail (``start``/``length``: what IFD1
    declares instead of the truth, for damaged blocks)."""
    bo = byteorder
    header = (b"II" if bo == "<" else b"MM") + struct.pack(f"{bo}HI", 42, 8)
    ifd0_len = len(_ifd(bo, [ascii("Make", "Camera")], 8))
    ifd1_at = 8 + ifd0_len
    thumb_at = ifd1_at + 2 + 3 * 12 + 4
    ifd1 = [
        Field(0x0103, SHORT, [6]),
        Field(0x0201, LONG, [thumb_at if start is None else start]),
        Field(0x0202, LONG, [len(thumbnail) if length is None else length]),
    ]
    return header + _ifd(bo, [ascii("Make", "Camera")], 8, ifd1_at) + _ifd(bo, ifd1, ifd1_at) + thumbnail


# --- The usual choices ---------------------------------------------------------------


def dms(value: float, sec_den: int = 10000) -> list[Rational]:
    """|value| in degrees as [degrees/1, minutes/1, seconds/sec_den], exact to 1/sec_den s."""
    total = round(abs(value) * 3600 * sec_den)
    degrees, rest = divmod(total, 3600 * sec_den)
    minutes, seconds = divmod(rest, 60 * sec_den)
    return [(degrees, 1), (minutes, 1), (seconds, sec_den)]


def dms_value(parts: Sequence[Rational]) -> float:
    """The decimal degrees the extractor should compute from DMS rationals."""
    d, m, s = (n / den for n, den in parts)
    return d + m / 60 + s / 3600


AUTO = "auto"
"""Marker: derive the reference from the sign of the value."""


def gps_fields(
    lat: float | None = None,
    lon: float | None = None,
    *,
    alt: float | None = None,
    date: str | None = None,
    time: tuple[float, float, float] | None = None,
    lat_ref: str | None = AUTO,
    lon_ref: str | None = AUTO,
    alt_ref: int | None | str = AUTO,
    lat_dms: Sequence[Rational] | None = None,
    lon_dms: Sequence[Rational] | None = None,
    alt_rational: Rational | None = None,
    time_rationals: Sequence[Rational] | None = None,
    version: bool = True,
) -> list[Field]:
    """GPS IFD fields.

    ``lat``/``lon`` are signed decimal degrees: the references (N/S, E/W) follow the
    sign unless ``lat_ref``/``lon_ref`` are given (None: leave the reference out).
    ``lat_dms``/``lon_dms`` write those rationals verbatim instead (e.g. ``(0, 0)`` ones);
    the reference then defaults to N/E. ``alt`` is signed metres (GPSAltitudeRef 1 below
    sea level) written to 1/1000 m; ``alt_rational``/``alt_ref`` write raw values
    (``alt_ref=None``: no GPSAltitudeRef). ``date`` is GPSDateStamp text
    (``"YYYY:MM:DD"``), ``time`` (h, m, s) GPSTimeStamp (seconds to 1/1000), or
    ``time_rationals`` verbatim.
    """
    out: list[Field] = []
    if version:
        out.append(Field(TAG["GPSVersionID"], BYTE, bytes([2, 3, 0, 0])))
    for value, parts, ref, pos, neg, ref_tag, val_tag in (
        (lat, lat_dms, lat_ref, "N", "S", "GPSLatitudeRef", "GPSLatitude"),
        (lon, lon_dms, lon_ref, "E", "W", "GPSLongitudeRef", "GPSLongitude"),
    ):
        if value is None and parts is None:
            continue
        if ref == AUTO:
            ref = neg if value is not None and value < 0 else pos
        if ref is not None:
            out.append(ascii(ref_tag, ref))
        out.append(Field(TAG[val_tag], RATIONAL, list(parts) if parts is not None else dms(value or 0.0)))
    if alt is not None or alt_rational is not None:
        rational = alt_rational if alt_rational is not None else (round(abs(alt or 0.0) * 1000), 1000)
        if alt_ref == AUTO:
            alt_ref = 1 if alt is not None and alt < 0 else 0
        if alt_ref is not None:
            out.append(Field(TAG["GPSAltitudeRef"], BYTE, bytes([int(alt_ref)])))
        out.append(Field(TAG["GPSAltitude"], RATIONAL, [rational]))
    if time is not None or time_rationals is not None:
        if time_rationals is None:
            h, m, s = time  # type: ignore[misc]
            time_rationals = [(int(h), 1), (int(m), 1), (round(s * 1000), 1000)]
        out.append(Field(TAG["GPSTimeStamp"], RATIONAL, list(time_rationals)))
    if date is not None:
        out.append(ascii("GPSDateStamp", date))
    return out


def exif_fields(
    *,
    make: str | None = None,
    model: str | None = None,
    software: str | None = None,
    serial: str | None = None,
    lens: str | None = None,
    date_original: str | bytes | None = None,
    subsec_original: str | bytes | None = None,
    offset_original: str | bytes | None = None,
    create_date: str | bytes | None = None,
    subsec_create: str | bytes | None = None,
    offset_create: str | bytes | None = None,
    modify_date: str | bytes | None = None,
    subsec_modify: str | bytes | None = None,
    offset_modify: str | bytes | None = None,
) -> tuple[list[Field], list[Field]]:
    """(IFD0 fields, EXIF IFD fields) for the usual tags; None leaves a tag out.

    Dates are EXIF text (``"YYYY:MM:DD HH:MM:SS"``); pass ``bytes`` to write raw bytes
    (no NUL added), e.g. blanks. ``modify_date`` is IFD0 DateTime (ModifyDate),
    ``create_date`` is DateTimeDigitized (CreateDate).
    """
    ifd0_map = {"Make": make, "Model": model, "Software": software, "DateTime": modify_date}
    exif_map = {
        "DateTimeOriginal": date_original,
        "SubSecTimeOriginal": subsec_original,
        "OffsetTimeOriginal": offset_original,
        "DateTimeDigitized": create_date,
        "SubSecTimeDigitized": subsec_create,
        "OffsetTimeDigitized": offset_create,
        "SubSecTime": subsec_modify,
        "OffsetTime": offset_modify,
        "BodySerialNumber": serial,
        "LensModel": lens,
    }
    ifd0 = [ascii(k, v) for k, v in ifd0_map.items() if v is not None]
    exif = [ascii(k, v) for k, v in exif_map.items() if v is not None]
    return ifd0, exif


def exif_tiff(
    *,
    gps: Sequence[Field] | None = None,
    extra_ifd0: Sequence[Field] = (),
    extra_exif: Sequence[Field] = (),
    byteorder: str = "<",
    **tags: str | bytes | None,
) -> bytes:
    """The TIFF structure an APP1/eXIf/EXIF chunk holds: :func:`exif_fields` keywords
    (``make=``, ``date_original=``, ``offset_original=`` ...), plus GPS fields and extras.
    The EXIF IFD is written only when it has fields."""
    ifd0, exif = exif_fields(**tags)  # type: ignore[arg-type]
    exif += list(extra_exif)
    return tiff_bytes([*ifd0, *extra_ifd0], exif or None, list(gps) if gps is not None else None, byteorder=byteorder)


# --- Containers ----------------------------------------------------------------------


def _pixels(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    w, h = size
    img = Image.new(mode, size)
    if mode == "RGB":
        img.putdata([(x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), 128) for y in range(h) for x in range(w)])
    return img


def jpeg_bytes(
    exif: bytes | None = None, *, size: tuple[int, int] = (16, 12), app1: bytes | None = None, quality: int = 50
) -> bytes:
    """A baseline JPEG (Pillow) with an APP1 segment right after SOI.

    ``exif``: a TIFF structure, wrapped as ``Exif\\0\\0`` + TIFF. ``app1``: the raw APP1
    payload instead (anything, for damaged segments). Neither: no APP1 at all.
    """
    buf = io.BytesIO()
    _pixels(size).save(buf, "JPEG", quality=quality)
    data = buf.getvalue()
    payload = app1 if app1 is not None else (b"Exif\x00\x00" + exif if exif is not None else None)
    if payload is None:
        return data
    if len(payload) + 2 > 0xFFFF:
        raise ValueError("APP1 payload too long for one segment")
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + data[2:]


#: Offset of the TIFF header inside :func:`jpeg_bytes` output (SOI, APP1 marker+length, "Exif\0\0").
JPEG_TIFF_OFFSET = 2 + 4 + 6


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk with its length and CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(
    size: tuple[int, int] = (16, 12), *, exif: bytes | None = None, chunks: Sequence[tuple[bytes, bytes]] = ()
) -> bytes:
    """An RGB PNG; ``exif`` (a TIFF structure) as an ``eXIf`` chunk before IDAT;
    ``chunks`` (type, data) inserted before IDAT as well (``tEXt``, ``iTXt`` ...)."""
    w, h = size
    raw = b"".join(b"\x00" + bytes(v for x in range(w) for v in (x * 7 % 256, y * 11 % 256, 90)) for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    out = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
    if exif is not None:
        out += png_chunk(b"eXIf", exif)
    for kind, data in chunks:
        out += png_chunk(kind, data)
    return out + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b"")


def tiff_image_bytes(
    size: tuple[int, int] = (8, 6),
    *,
    ifd0: Sequence[Field] = (),
    exif: Sequence[Field] | None = None,
    gps: Sequence[Field] | None = None,
    byteorder: str = "<",
) -> bytes:
    """An uncompressed 8-bit greyscale TIFF image (one strip at offset 8) with metadata."""
    w, h = size
    strip = bytes((x * 255 // max(w - 1, 1)) for _ in range(h) for x in range(w))
    image = [
        Field(0x0100, LONG, [w]),
        Field(0x0101, LONG, [h]),
        Field(0x0102, SHORT, [8]),
        Field(0x0103, SHORT, [1]),
        Field(0x0106, SHORT, [1]),
        Field(0x0111, LONG, [8]),
        Field(0x0115, SHORT, [1]),
        Field(0x0116, LONG, [h]),
        Field(0x0117, LONG, [len(strip)]),
    ]
    return tiff_bytes([*image, *ifd0], exif, gps, byteorder=byteorder, strip=strip)


def webp_bytes(exif: bytes | None = None, *, size: tuple[int, int] = (16, 12)) -> bytes:
    """A lossless WebP (Pillow) with ``exif`` (a TIFF structure) in its EXIF chunk.

    The chunk holds ``Exif\\0\\0`` + TIFF, the form Pillow and cameras write (and the
    only one ExifRead reads). Raises RuntimeError when Pillow lacks WebP support.
    """
    from PIL import features

    if not features.check("webp"):
        raise RuntimeError("Pillow was built without WebP")
    buf = io.BytesIO()
    kwargs = {"exif": b"Exif\x00\x00" + exif} if exif is not None else {}
    _pixels(size).save(buf, "WEBP", lossless=True, **kwargs)
    return buf.getvalue()


# --- Damage --------------------------------------------------------------------------


def _bo(tiff: bytes) -> str:
    if tiff[:2] == b"II":
        return "<"
    if tiff[:2] == b"MM":
        return ">"
    raise ValueError("not a TIFF header")


def ifd_offset(tiff: bytes, ifd: str = "ifd0") -> int:
    """Offset of ``ifd0``, ``exif`` or ``gps`` in a well-formed TIFF structure."""
    bo = _bo(tiff)
    start = struct.unpack_from(f"{bo}I", tiff, 4)[0]
    if ifd == "ifd0":
        return int(start)
    pointer = TAG["ExifIFD"] if ifd == "exif" else TAG["GPSIFD"]
    return int(struct.unpack_from(f"{bo}I", tiff, entry_offset(tiff, pointer, "ifd0") + 8)[0])


def entry_offset(tiff: bytes, tag: int | str, ifd: str = "ifd0") -> int:
    """Offset of the 12-byte entry of ``tag`` in IFD ``ifd`` (``ifd0``, ``exif``, ``gps``)."""
    tag_id = TAG[tag] if isinstance(tag, str) else tag
    bo = _bo(tiff)
    at = ifd_offset(tiff, ifd)
    (n,) = struct.unpack_from(f"{bo}H", tiff, at)
    for i in range(n):
        pos = at + 2 + 12 * i
        if struct.unpack_from(f"{bo}H", tiff, pos)[0] == tag_id:
            return pos
    raise KeyError(f"tag 0x{tag_id:04X} not in {ifd}")


def patch_entry(
    tiff: bytes,
    tag: int | str,
    ifd: str = "ifd0",
    *,
    type: int | None = None,
    count: int | None = None,
    value: int | None = None,
) -> bytes:
    """Rewrite the type, count and/or the 4-byte value/offset slot of one entry."""
    bo = _bo(tiff)
    pos = entry_offset(tiff, tag, ifd)
    out = bytearray(tiff)
    if type is not None:
        struct.pack_into(f"{bo}H", out, pos + 2, type)
    if count is not None:
        struct.pack_into(f"{bo}I", out, pos + 4, count)
    if value is not None:
        struct.pack_into(f"{bo}I", out, pos + 8, value)
    return bytes(out)


def set_ifd0_offset(tiff: bytes, offset: int) -> bytes:
    """Point the header at another IFD0 offset (e.g. past the end)."""
    bo = _bo(tiff)
    return tiff[:4] + struct.pack(f"{bo}I", offset) + tiff[8:]


def set_next_ifd(tiff: bytes, offset: int, ifd: str = "ifd0") -> bytes:
    """Set the next-IFD pointer that ends IFD ``ifd`` (e.g. to itself: a loop)."""
    bo = _bo(tiff)
    at = ifd_offset(tiff, ifd)
    (n,) = struct.unpack_from(f"{bo}H", tiff, at)
    out = bytearray(tiff)
    struct.pack_into(f"{bo}I", out, at + 2 + 12 * n, offset)
    return bytes(out)


def set_entry_count(tiff: bytes, count: int, ifd: str = "ifd0") -> bytes:
    """Overwrite the number of entries of an IFD (e.g. 65535 entries in a short block)."""
    bo = _bo(tiff)
    out = bytearray(tiff)
    struct.pack_into(f"{bo}H", out, ifd_offset(tiff, ifd), count)
    return bytes(out)


def truncate(data: bytes, keep: int) -> bytes:
    """The first ``keep`` bytes (negative: drop that many from the end)."""
    return data[:keep]


def flip_byte(data: bytes, offset: int, mask: int = 0xFF) -> bytes:
    """XOR one byte with ``mask``."""
    out = bytearray(data)
    out[offset] ^= mask
    return bytes(out)


# --- Running code on built bytes -----------------------------------------------------


def _fake_stat(size: int) -> os.stat_result:
    # mode (regular, 0644), ino, dev, nlink, uid, gid, size, atime, mtime, ctime
    return os.stat_result((0o100644, 1, 1, 1, 0, 0, size, 0, 0, 0))


def file_context(data: bytes, name: str = "evidence.bin", *, mime: str | None = None) -> FileContext:
    """A FileContext over in-memory bytes, typed by libmagic (or ``mime`` when given).

    For calling one extractor's ``extract`` directly; ``stat`` is a fixed fake one
    (mode 0644, uid/gid 0, times 0) sized to the data.
    """
    if mime is None:
        ftype = detect_type(name, data[: 64 * 1024])
    else:
        ftype = FileType(mime=mime, description=None, extension_ok=None, decided_by="test")
    return FileContext(
        path=name.encode(),
        rel_path=name,
        stat=_fake_stat(len(data)),
        file_type=ftype,
        head=data[: 64 * 1024],
        content=data,
    )


def scan_one(folder: Path, name: str, data: bytes) -> FileRecord:
    """Write ``data`` as ``folder/name``, scan that folder, return the record of that file."""
    from evidence_cli.scanner import scan

    target = folder / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    records = [r for r in scan([str(folder)]) if r.path == name]
    assert len(records) == 1, records
    return records[0]
