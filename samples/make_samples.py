#!/usr/bin/env python3
"""Generate the sample evidence of ``samples/``, byte for byte the same on every machine.

Usage::

    python samples/make_samples.py            # (re)write the samples beside this script
    python samples/make_samples.py --out DIR  # write them into DIR instead

No image encoder is used: the JPEG pictures are fixed baseline bitstreams stored
below (made once, then frozen), the EXIF/TIFF structures are written with
``struct`` by the code in this file, the PNG uses stored (uncompressed) deflate
blocks, and the texts are constants. Only the standard library is needed, and the
output does not depend on the Python, Pillow, zlib or libjpeg version.
``tests/test_samples.py`` checks that a fresh run equals the committed files, and
that ``evidence scan samples/`` reads from them exactly the values listed here.

Every sample is fictional: the devices, serial numbers, places and chat are made up
for the examples (the places are well-known landmarks).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import struct
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, Union

# --- Frozen picture data -------------------------------------------------------------

#: 32x24 RGB colour gradient, baseline JPEG, no APP segments (SOI, DQT, SOF0, DHT, SOS, EOI).
JPEG_32X24 = base64.b64decode(
    "/9j/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1xeXBkeFxlZ2P/2wBD"
    "ARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2P/wAARCAAYACAD"
    "ASIAAhEBAxEB/8QAGAABAQEBAQAAAAAAAAAAAAAABAAFAgb/xAAXEAADAQAAAAAAAAAAAAAAAAAAAwRh/8QAFwEBAQEBAAAAAAAA"
    "AAAAAAAABAUDBv/EABgRAAMBAQAAAAAAAAAAAAAAAAACBAMB/9oADAMBAAIRAxEAPwDyy5cFLlw0Fy4KXLgx9zCekzly4KXLhoLl"
    "wUuXAr7l+ek4XLgpcuEQJ36cHPowlcuCly4RBXfpfn0Y/9k="
)
#: 24x32 (portrait) RGB colour gradient, same structure.
JPEG_24X32 = base64.b64decode(
    "/9j/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1xeXBkeFxlZ2P/2wBD"
    "ARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2P/wAARCAAgABgD"
    "ASIAAhEBAxEB/8QAGAAAAwEBAAAAAAAAAAAAAAAAAAMEBQb/xAAWEAEBAQAAAAAAAAAAAAAAAAADAGH/xAAWAQEBAQAAAAAAAAAA"
    "AAAAAAAEBgL/xAAZEQEBAAMBAAAAAAAAAAAAAAADAAIEISL/2gAMAwEAAhEDEQA/AOUIMrhDJxBlaIZORreo8kgyLTIMiHkvajJ/"
    "MggytEMnEGVwhkZGoLUeQIZFqCGRDybtRk/m/9k="
)

# --- TIFF / EXIF writer --------------------------------------------------------------

BYTE, ASCII, SHORT, LONG, RATIONAL, UNDEFINED = 1, 2, 3, 4, 5, 7
#: IFD0 tags that point to the EXIF and GPS sub-IFDs.
EXIF_IFD_POINTER, GPS_IFD_POINTER = 0x8769, 0x8825

Value = Union[str, bytes, Sequence[int], Sequence[tuple[int, int]]]
Entry = tuple[int, int, Value]
"""(tag, TIFF field type, value): ASCII a str, BYTE/UNDEFINED bytes, SHORT/LONG ints,
RATIONAL (numerator, denominator) pairs."""


def _payload(bo: str, typ: int, value: Value) -> tuple[int, bytes]:
    """(count, encoded bytes) of one field value."""
    if typ == ASCII:
        assert isinstance(value, str)
        data = value.encode("ascii") + b"\x00"
        return len(data), data
    if typ in (BYTE, UNDEFINED):
        assert isinstance(value, bytes)
        return len(value), value
    if typ in (SHORT, LONG):
        ints = [int(v) for v in value]  # type: ignore[arg-type]
        return len(ints), struct.pack(f"{bo}{len(ints)}{'H' if typ == SHORT else 'I'}", *ints)
    if typ == RATIONAL:
        pairs = list(value)
        flat = [int(x) for pair in pairs for x in pair]  # type: ignore[union-attr]
        return len(pairs), struct.pack(f"{bo}{len(flat)}I", *flat)
    raise ValueError(f"unsupported field type {typ}")


def _ifd(bo: str, entries: Sequence[Entry], start: int) -> bytes:
    """One IFD placed at ``start`` (offset from the TIFF header), its values after it."""
    ordered = sorted(entries, key=lambda e: e[0])
    data_start = start + 2 + 12 * len(ordered) + 4
    head = struct.pack(f"{bo}H", len(ordered))
    data = b""
    for tag, typ, value in ordered:
        count, payload = _payload(bo, typ, value)
        if len(payload) <= 4:
            field = payload.ljust(4, b"\x00")
        else:
            field = struct.pack(f"{bo}I", data_start + len(data))
            data += payload + (b"\x00" if len(payload) % 2 else b"")
        head += struct.pack(f"{bo}HHI", tag, typ, count) + field
    return head + struct.pack(f"{bo}I", 0) + data


def tiff(
    bo: str, ifd0: Sequence[Entry], exif: Sequence[Entry] = (), gps: Sequence[Entry] = (), strip: bytes = b""
) -> bytes:
    """A TIFF structure: header, ``strip`` at offset 8, IFD0, then the EXIF and GPS IFDs.

    ``bo`` is ``"<"`` (Intel, ``II``) or ``">"`` (Motorola, ``MM``). The sub-IFD
    pointers are added to IFD0 when ``exif``/``gps`` are given.
    """
    header = (b"II" if bo == "<" else b"MM") + struct.pack(f"{bo}H", 42)
    ifd0_start = 8 + len(strip) + len(strip) % 2
    pointers = [t for t, given in ((EXIF_IFD_POINTER, exif), (GPS_IFD_POINTER, gps)) if given]

    def with_pointers(offsets: dict[int, int]) -> list[Entry]:
        return [*ifd0, *((t, LONG, [offsets.get(t, 0)]) for t in pointers)]

    size0 = len(_ifd(bo, with_pointers({}), ifd0_start))  # pointer values do not change sizes
    offsets: dict[int, int] = {}
    tail = b""
    at = ifd0_start + size0
    for tag, entries in ((EXIF_IFD_POINTER, exif), (GPS_IFD_POINTER, gps)):
        if entries:
            offsets[tag] = at
            block = _ifd(bo, entries, at)
            tail += block
            at += len(block)
    body = _ifd(bo, with_pointers(offsets), ifd0_start)
    return header + struct.pack(f"{bo}I", ifd0_start) + strip + b"\x00" * (len(strip) % 2) + body + tail


def jpeg(bitstream: bytes, tiff_bytes: bytes | None) -> bytes:
    """The bitstream with an APP1 ``Exif`` segment holding ``tiff_bytes`` right after SOI."""
    assert bitstream[:2] == b"\xff\xd8"
    if tiff_bytes is None:
        return bitstream
    payload = b"Exif\x00\x00" + tiff_bytes
    return bitstream[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + bitstream[2:]


# --- C2PA Content Credentials ------------------------------------------------------------
#
# A manifest store (JUMBF boxes holding CBOR and JSON) in a JPEG APP11 segment, as C2PA
# lays it out. Its signature bytes are zeros and its certificate is made up: it shows
# what evidence-cli reads from a manifest (it does not validate one).

CborValue = Union[None, bool, int, str, bytes, list, dict, tuple]


def cbor(value: CborValue) -> bytes:
    """Definite-length CBOR; a tuple ``(tag, value)`` is a tagged item."""

    def head(major: int, n: int) -> bytes:
        if n < 24:
            return bytes([major << 5 | n])
        size = 1 if n < 0x100 else 2 if n < 0x10000 else 4
        return bytes([major << 5 | {1: 24, 2: 25, 4: 26}[size]]) + n.to_bytes(size, "big")

    if value is None:
        return b"\xf6"
    if isinstance(value, bool):
        return b"\xf5" if value else b"\xf4"
    if isinstance(value, int):
        return head(0, value) if value >= 0 else head(1, -1 - value)
    if isinstance(value, bytes):
        return head(2, len(value)) + value
    if isinstance(value, str):
        return head(3, len(value.encode())) + value.encode()
    if isinstance(value, list):
        return head(4, len(value)) + b"".join(cbor(v) for v in value)
    if isinstance(value, dict):
        return head(5, len(value)) + b"".join(cbor(k) + cbor(v) for k, v in value.items())
    return head(6, value[0]) + cbor(value[1])


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def superbox(code: bytes, label: str, *contents: bytes) -> bytes:
    """A JUMBF superbox: its description (type ``code`` + the JUMBF suffix, a label), then contents."""
    desc = code + bytes.fromhex("00110010800000AA00389B71") + b"\x03" + label.encode() + b"\x00"
    return box(b"jumb", box(b"jumd", desc) + b"".join(contents))


def der(tag: int, body: bytes) -> bytes:
    n = len(body)
    return bytes([tag]) + (bytes([n]) if n < 0x80 else b"\x82" + n.to_bytes(2, "big")) + body


def der_name(*parts: tuple[str, str]) -> bytes:
    oids = {"C": "550406", "O": "55040A", "CN": "550403"}
    rdns = (der(0x31, der(0x30, der(0x06, bytes.fromhex(oids[k])) + der(0x0C, v.encode()))) for k, v in parts)
    return der(0x30, b"".join(rdns))


def certificate(subject: bytes, issuer: bytes, not_before: bytes, not_after: bytes) -> bytes:
    """An X.509 certificate's structure (DER) with made-up names, key and signature."""
    ecdsa_sha256 = der(0x30, der(0x06, bytes.fromhex("2A8648CE3D040302")))
    key = der(0x30, der(0x30, der(0x06, bytes.fromhex("2A8648CE3D0201"))) + der(0x03, b"\x00\x04" + b"\x00" * 64))
    validity = der(0x30, der(0x17, not_before) + der(0x17, not_after))
    version = der(0xA0, der(0x02, b"\x02"))
    tbs = der(0x30, version + der(0x02, b"\x2a") + ecdsa_sha256 + issuer + validity + subject + key)
    return der(0x30, tbs + ecdsa_sha256 + der(0x03, b"\x00" + b"\x00" * 64))


def c2pa_store(generator: str, title: str, actions: list[dict[str, str]], signer: bytes) -> bytes:
    """A store of one manifest: actions and hash assertions, the claim, the signature."""
    label = "urn:c2pa:00000000-0000-4000-8000-000000000042"
    assertions = superbox(
        b"c2as",
        "c2pa.assertions",
        superbox(b"cbor", "c2pa.actions.v2", box(b"cbor", cbor({"actions": list(actions)}))),
        superbox(b"cbor", "c2pa.hash.data", box(b"cbor", cbor({"alg": "sha256", "hash": bytes(32)}))),
    )
    claim = {
        "claim_generator_info": [{"name": generator.split("/")[0], "version": generator.split("/")[1]}],
        "dc:title": title,
        "dc:format": "image/jpeg",
        "instanceID": "xmp:iid:00000000-0000-4000-8000-000000000042",
        "signature": "self#jumbf=c2pa.signature",
        "alg": "sha256",
    }
    cose = (18, [cbor({1: -7, 33: [signer]}), {}, None, bytes(64)])  # COSE_Sign1, ES256
    manifest = superbox(
        b"c2ma",
        label,
        assertions,
        superbox(b"c2cl", "c2pa.claim.v2", box(b"cbor", cbor(claim))),
        superbox(b"c2cs", "c2pa.signature", box(b"cbor", cbor(cose))),
    )
    return superbox(b"c2pa", "c2pa", manifest)


def c2pa_jpeg(bitstream: bytes, store: bytes) -> bytes:
    """The bitstream with ``store`` in one APP11 JUMBF segment (box instance 1, sequence 1)."""
    payload = b"JP" + struct.pack(">HI", 1, 1) + store
    assert len(payload) + 2 <= 0xFFFF
    return bitstream[:2] + b"\xff\xeb" + struct.pack(">H", len(payload) + 2) + payload + bitstream[2:]


GENERATED = c2pa_store(
    "ExampleGen/2.1",
    "portrait_0042.jpg",
    [
        {
            "action": "c2pa.created",
            "softwareAgent": "ExampleGen 2.1",
            "when": "2025-11-20T21:14:03Z",
            "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
        }
    ],
    certificate(
        der_name(("C", "XX"), ("O", "ExampleGen Ltd (fictional)"), ("CN", "ExampleGen Signing")),
        der_name(("C", "XX"), ("O", "Example Trust (fictional)"), ("CN", "Example CA")),
        b"250101000000Z",
        b"300101000000Z",
    ),
)


# --- EXIF field helpers --------------------------------------------------------------


def dms(degrees: int, minutes: int, seconds_hundredths: int) -> list[tuple[int, int]]:
    """GPS degrees/minutes/seconds as three rationals (seconds in hundredths)."""
    return [(degrees, 1), (minutes, 1), (seconds_hundredths, 100)]


@dataclass(frozen=True)
class Shot:
    """What a camera wrote into one picture (None: the tag is absent)."""

    make: str
    model: str
    software: str | None = None
    serial: str | None = None
    lens: str | None = None
    size: tuple[int, int] = (32, 24)
    date_original: str | None = None
    subsec_original: str | None = None
    offset_original: str | None = None
    date_digitized: str | None = None
    subsec_digitized: str | None = None
    offset_digitized: str | None = None
    date_modified: str | None = None
    subsec_modified: str | None = None
    offset_modified: str | None = None
    lat: tuple[str, list[tuple[int, int]]] | None = None
    lon: tuple[str, list[tuple[int, int]]] | None = None
    altitude: tuple[int, tuple[int, int]] | None = None
    """(GPSAltitudeRef: 0 above sea level, 1 below; metres as a rational)."""
    gps_date: str | None = None
    gps_time: list[tuple[int, int]] | None = None

    def ifds(self) -> tuple[list[Entry], list[Entry], list[Entry]]:
        ifd0: list[Entry] = [
            (0x010F, ASCII, self.make),
            (0x0110, ASCII, self.model),
            (0x0112, SHORT, [1]),  # Orientation: top-left
            (0x011A, RATIONAL, [(72, 1)]),  # XResolution
            (0x011B, RATIONAL, [(72, 1)]),  # YResolution
            (0x0128, SHORT, [2]),  # ResolutionUnit: inches
        ]
        optional0 = ((0x0131, self.software), (0x0132, self.date_modified))
        ifd0 += [(tag, ASCII, v) for tag, v in optional0 if v is not None]
        exif: list[Entry] = [
            (0x9000, UNDEFINED, b"0232"),  # ExifVersion
            (0xA001, SHORT, [1]),  # ColorSpace: sRGB
            (0xA002, SHORT, [self.size[0]]),  # PixelXDimension
            (0xA003, SHORT, [self.size[1]]),  # PixelYDimension
        ]
        optional = (
            (0x9003, self.date_original),
            (0x9004, self.date_digitized),
            (0x9010, self.offset_modified),
            (0x9011, self.offset_original),
            (0x9012, self.offset_digitized),
            (0x9290, self.subsec_modified),
            (0x9291, self.subsec_original),
            (0x9292, self.subsec_digitized),
            (0xA431, self.serial),  # BodySerialNumber
            (0xA434, self.lens),  # LensModel
        )
        exif += [(tag, ASCII, v) for tag, v in optional if v is not None]
        gps: list[Entry] = []
        if self.lat is not None and self.lon is not None:
            gps += [
                (0x0000, BYTE, bytes([2, 3, 0, 0])),  # GPSVersionID
                (0x0001, ASCII, self.lat[0]),
                (0x0002, RATIONAL, self.lat[1]),
                (0x0003, ASCII, self.lon[0]),
                (0x0004, RATIONAL, self.lon[1]),
                (0x0012, ASCII, "WGS-84"),  # GPSMapDatum
            ]
        if self.altitude is not None:
            gps += [(0x0005, BYTE, bytes([self.altitude[0]])), (0x0006, RATIONAL, [self.altitude[1]])]
        if self.gps_time is not None:
            gps.append((0x0007, RATIONAL, self.gps_time))
        if self.gps_date is not None:
            gps.append((0x001D, ASCII, self.gps_date))
        return ifd0, exif, gps


def exif_jpeg(shot: Shot, bo: str) -> bytes:
    bitstream = {(32, 24): JPEG_32X24, (24, 32): JPEG_24X32}[shot.size]
    ifd0, exif, gps = shot.ifds()
    return jpeg(bitstream, tiff(bo, ifd0, exif, gps))


def grey_tiff(width: int, height: int, ifd0: list[Entry], exif: list[Entry]) -> bytes:
    """An uncompressed 8-bit greyscale TIFF image (one strip) with metadata."""
    pixels = bytes((x * 255 // (width - 1)) ^ (0x40 if y % 4 < 2 else 0) for y in range(height) for x in range(width))
    image: list[Entry] = [
        (0x0100, SHORT, [width]),  # ImageWidth
        (0x0101, SHORT, [height]),  # ImageLength
        (0x0102, SHORT, [8]),  # BitsPerSample
        (0x0103, SHORT, [1]),  # Compression: none
        (0x0106, SHORT, [1]),  # PhotometricInterpretation: BlackIsZero
        (0x0111, LONG, [8]),  # StripOffsets: the strip sits right after the header
        (0x0115, SHORT, [1]),  # SamplesPerPixel
        (0x0116, SHORT, [height]),  # RowsPerStrip
        (0x0117, LONG, [len(pixels)]),  # StripByteCounts
    ]
    return tiff(">", image + ifd0, exif, strip=pixels)


def syncsafe(n: int) -> bytes:
    """An ID3v2 size: 28 bits, 7 a byte."""
    return bytes((n >> shift) & 0x7F for shift in (21, 14, 7, 0))


def mp3(frames: Sequence[tuple[str, bytes]], audio_frames: int) -> bytes:
    """An ID3v2.4 tag of these frames, then silent MPEG-1 layer III frames (128 kbit/s,
    44.1 kHz, 417 bytes each; their side information all zeros: silence)."""
    body = b"".join(name.encode("ascii") + syncsafe(len(data)) + b"\x00\x00" + data for name, data in frames)
    return b"ID3\x04\x00\x00" + syncsafe(len(body)) + body + (b"\xff\xfb\x90\x64" + bytes(413)) * audio_frames


def id3_text(value: str) -> bytes:
    """A text frame's data: encoding 3 (UTF-8), the text."""
    return b"\x03" + value.encode("utf-8")


def png(width: int, height: int) -> bytes:
    """An RGB PNG (no metadata chunks), IDAT deflated with stored blocks (no compressor)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(
        b"\x00" + b"".join(bytes((40 + 5 * x, 60 + 6 * y, 200 if (x // 8 + y // 6) % 2 else 160)) for x in range(width))
        for y in range(height)
    )
    blocks = b""
    for i in range(0, len(raw), 65535):
        part = raw[i : i + 65535]
        final = 1 if i + 65535 >= len(raw) else 0
        blocks += bytes([final]) + struct.pack("<HH", len(part), len(part) ^ 0xFFFF) + part
    zdata = b"\x78\x01" + blocks + struct.pack(">I", zlib.adler32(raw))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zdata) + chunk(b"IEND", b"")


# --- The samples ---------------------------------------------------------------------

PARIS = Shot(
    make="Canon",
    model="Canon EOS 5D Mark IV",
    software="Adobe Photoshop Lightroom Classic 8.2 (Windows)",
    serial="032021001234",
    lens="EF24-105mm f/4L IS II USM",
    date_original="2019:05:01 13:45:10",
    subsec_original="123",
    offset_original="+02:00",
    date_digitized="2019:05:01 13:45:10",
    subsec_digitized="123",
    offset_digitized="+02:00",
    date_modified="2019:05:02 09:12:00",
    offset_modified="+02:00",
    lat=("N", dms(48, 51, 3024)),  # 48.8584
    lon=("E", dms(2, 17, 4020)),  # 2.2945
    altitude=(0, (352, 10)),  # +35.2 m
    gps_date="2019:05:01",
    gps_time=[(11, 1), (45, 1), (10, 1)],
)
SYDNEY = Shot(
    make="Apple",
    model="iPhone 12",
    software="14.4",
    lens="iPhone 12 back dual wide camera 4.2mm f/1.6",
    size=(24, 32),
    date_original="2021:01:01 00:00:05",
    subsec_original="250",
    offset_original="+11:00",
    date_digitized="2021:01:01 00:00:05",
    subsec_digitized="250",
    offset_digitized="+11:00",
    date_modified="2021:01:01 00:00:05",
    offset_modified="+11:00",
    lat=("S", dms(33, 51, 2448)),  # -33.8568
    lon=("E", dms(151, 12, 5508)),  # 151.2153
    altitude=(0, (37, 10)),  # +3.7 m
    gps_date="2020:12:31",
    gps_time=[(13, 1), (0, 1), (525, 100)],
)
RIO = Shot(
    make="samsung",
    model="SM-G991B",
    software="G991BXXU5CVLL",
    date_original="2023:02:18 22:15:30",
    subsec_original="5",
    offset_original="-03:00",
    date_digitized="2023:02:18 22:15:30",
    subsec_digitized="5",
    offset_digitized="-03:00",
    date_modified="2023:02:18 22:15:30",
    offset_modified="-03:00",
    lat=("S", dms(22, 57, 684)),  # -22.9519
    lon=("W", dms(43, 12, 3780)),  # -43.2105
    altitude=(0, (709, 1)),  # +709 m
    gps_date="2023:02:19",
    gps_time=[(1, 1), (15, 1), (29, 1)],
)
DEATH_VALLEY = Shot(
    make="DJI",
    model="FC3170",
    software="v01.00.0590",
    serial="3N3BJ9K00A0B1C",
    date_original="2021:07:04 06:30:00",
    date_digitized="2021:07:04 06:30:00",
    date_modified="2021:07:04 06:30:00",
    lat=("N", dms(36, 14, 4596)),  # 36.2461
    lon=("W", dms(116, 49, 660)),  # -116.8185
    altitude=(1, (855, 10)),  # 85.5 m below sea level
    gps_date="2021:07:04",
    gps_time=[(13, 1), (30, 1), (2, 1)],
)
PIXEL = Shot(
    make="Google",
    model="Pixel 7",
    software="HDR+ 1.0.478925454zd",
    date_original="2022:10:09 20:01:02",
    subsec_original="042",
    offset_original="+01:00",
    date_digitized="2022:10:09 20:01:02",
    subsec_digitized="042",
    offset_digitized="+01:00",
    date_modified="2022:10:09 20:01:02",
    offset_modified="+01:00",
)

CHAT = """\
[01/05/2019, 13:40:55] Sam: Are you at the tower already?
[01/05/2019, 13:41:12] Alex: Yes, queue for the lift is long
[01/05/2019, 13:45:31] Alex: <Media omitted>
[01/05/2019, 13:46:02] Sam: Nice one! Send me the original file, not a screenshot
[01/05/2019, 13:46:40] Alex: Will do tonight from the laptop
[02/05/2019, 09:15:03] Alex: Sent by mail, the metadata should still be in it
[02/05/2019, 09:20:47] Sam: Got it, thanks
"""


#: Signed by the C2PA SDK (samples/sign_c2pa_sample.py), which cannot do it the same way
#: twice: the committed file is taken as it is.
SIGNED_C2PA = (Path(__file__).resolve().parent / "jpeg_c2pa_signed.jpg").read_bytes()


def dos_time(year: int, month: int, day: int, hour: int, minute: int, second: int) -> tuple[int, int]:
    """(date, time) as a ZIP entry keeps them (MS-DOS, two-second steps)."""
    return (year - 1980) << 9 | month << 5 | day, hour << 11 | minute << 5 | second // 2


def stored_zip(members: Sequence[tuple[str, bytes, tuple[int, ...], int]]) -> bytes:
    """A ZIP of stored members: (name, data, local time as y/m/d/h/m/s, Unix UTC time for
    the extended timestamp field), made by "Unix", written with ``struct`` (no zipfile:
    its output follows the platform and Python version)."""
    out = bytearray()
    central = bytearray()
    for name, data, local, utc in members:
        raw = name.encode("ascii")
        date, time = dos_time(*local)
        crc = zlib.crc32(data)
        extra = struct.pack("<HHBi", 0x5455, 5, 1, utc)
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 10, 0, 0, time, date, crc, len(data), len(data), len(raw), 9)
        out += raw + extra + data
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 0x031E, 10, 0, 0, time, date, crc, len(data), len(data), len(raw), 9,
            0, 0, 0, 0o100644 << 16, offset,
        )  # fmt: skip
        central += raw + extra
    n = len(members)
    return bytes(out + central + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(central), len(out), 0))


def altered_after_signing(jpeg: bytes) -> bytes:
    """``jpeg`` with one byte of its entropy-coded data (just before EOI) changed."""
    assert jpeg[-2:] == b"\xff\xd9"
    return jpeg[:-10] + bytes([jpeg[-10] ^ 0x55]) + jpeg[-9:]


@dataclass(frozen=True)
class Sample:
    path: str
    """Relative to samples/, POSIX separators, plain ASCII."""
    shows: str
    """One line for the README: what an examiner sees in it."""
    data: bytes


def samples() -> list[Sample]:
    """Every sample file, in README order (README.md itself comes last)."""
    scan_ifd0: list[Entry] = [
        (0x010F, ASCII, "Fujitsu"),
        (0x0110, ASCII, "fi-7160"),
        (0x0131, ASCII, "PaperStream Capture 2.0"),
        (0x0132, ASCII, "2024:03:15 10:20:30"),
    ]
    scan_exif: list[Entry] = [(0x9003, ASCII, "2024:03:15 10:20:30"), (0x9011, ASCII, "+00:00")]
    return [
        Sample(
            "jpeg_gps_north_east_paris.jpg",
            "Canon EOS 5D Mark IV (Intel byte order): DateTimeOriginal 2019:05:01 13:45:10, "
            "SubSecTimeOriginal 123, OffsetTimeOriginal +02:00 (UTC 11:45:10.123), CreateDate, "
            "ModifyDate 2019:05:02 09:12:00 +02:00; GPS north/east 48.8584, 2.2945, +35.2 m, "
            "GPSDateStamp/GPSTimeStamp 2019:05:01 11:45:10; Make, Model, Software, "
            "BodySerialNumber 032021001234, LensModel.",
            exif_jpeg(PARIS, "<"),
        ),
        Sample(
            "jpeg_gps_south_west_rio.jpg",
            "Samsung SM-G991B: DateTimeOriginal 2023:02:18 22:15:30, SubSecTimeOriginal 5, "
            "OffsetTimeOriginal -03:00 (UTC is the next day, 2023-02-19 01:15:30.5); GPS "
            "south/west -22.9519, -43.2105, +709 m; GPS time one second before the camera clock.",
            exif_jpeg(RIO, "<"),
        ),
        Sample(
            "jpeg_gps_north_west_below_sea_level.jpg",
            "DJI FC3170 drone: no offset tags, so DateTimeOriginal 2021:07:04 06:30:00 gets its "
            "UTC value (13:30:00Z, offset -07:00) inferred from GPSDateStamp/GPSTimeStamp "
            "13:30:02 and marked gps-inferred; CreateDate/ModifyDate stay without UTC. GPS "
            "north/west 36.2461, -116.8185, GPSAltitudeRef 1: -85.5 m (below sea level); "
            "BodySerialNumber 3N3BJ9K00A0B1C.",
            exif_jpeg(DEATH_VALLEY, "<"),
        ),
        Sample(
            "jpeg_no_exif.jpg",
            "A JPEG without any metadata segment: no timestamps, GPS or device; only the "
            "filesystem times, hashes, type and image size (32x24).",
            JPEG_32X24,
        ),
        Sample(
            "jpeg_disguised_as.png",
            "A JPEG (Google Pixel 7, DateTimeOriginal 2022:10:09 20:01:02.042 +01:00) saved "
            "under a .png name: the type comes from the content (image/jpeg), extension_ok is "
            "false and an extension-mismatch finding is raised; the metadata is still read.",
            exif_jpeg(PIXEL, "<"),
        ),
        Sample(
            "jpeg_ai_generated_c2pa.jpg",
            "A 32x24 JPEG without EXIF whose C2PA Content Credentials say it was created by a "
            "trained algorithm (ExampleGen 2.1, generative AI) on 2025-11-20: metadata.c2pa gives "
            "the generator, title, action, digital source type and the signer's certificate; "
            "c2pa-manifest and ai-generated findings. The manifest is made by hand and its signature "
            "is zeros, as in a forged manifest: validation (with the C2PA SDK installed) says it cannot "
            "be read, and a c2pa-invalid finding says it cannot be relied on.",
            c2pa_jpeg(JPEG_32X24, GENERATED),
        ),
        Sample(
            "jpeg_c2pa_signed.jpg",
            "The same 32x24 JPEG with real C2PA Content Credentials (ExampleCam Firmware 3.2, "
            "c2pa.created from a digital capture on 2025-09-12), signed with a throwaway test key "
            "by sign_c2pa_sample.py (the one sample not made here: see there why). Validation: "
            "valid (signature and content hashes hold), signer not trusted (on no trust list).",
            SIGNED_C2PA,
        ),
        Sample(
            "jpeg_c2pa_altered_after_signing.jpg",
            "jpeg_c2pa_signed.jpg with one byte of its picture data changed after signing, as an "
            "edit that kept the Content Credentials would: the signature still verifies, the content "
            "hash does not (assertion.dataHash.mismatch): validation invalid, a c2pa-invalid warning.",
            altered_after_signing(SIGNED_C2PA),
        ),
        Sample(
            "png_screenshot.png",
            "A plain 40x30 RGB PNG without metadata chunks, like a screenshot.",
            png(40, 30),
        ),
        Sample(
            "tiff_scanned_page.tif",
            "An uncompressed 16x8 greyscale TIFF (Motorola byte order) from a document scanner: "
            "Make Fujitsu, Model fi-7160, Software, ModifyDate 2024:03:15 10:20:30 without "
            "offset, DateTimeOriginal with OffsetTimeOriginal +00:00.",
            grey_tiff(16, 8, scan_ifd0, scan_exif),
        ),
        Sample(
            "phone_dump/DCIM/IMG_0001.jpg",
            "Two folders deep, a portrait 24x32 iPhone 12 photo (Motorola byte order): "
            "DateTimeOriginal 2021:01:01 00:00:05.250 +11:00 (UTC still 2020-12-31 "
            "13:00:05.25), GPS south/east -33.8568, 151.2153, +3.7 m, GPSTimeStamp with "
            "fractional seconds, LensModel, no serial number.",
            exif_jpeg(SYDNEY, ">"),
        ),
        Sample(
            "voice_note.mp3",
            "An MP3 voice message (silent audio) with an ID3v2.4 tag: TDRC 2025-06-14T21:03:17, "
            "the RecordingTime timestamp and the captured time (no offset stored, so no UTC); "
            "TSSE Lavf60.16.100, the encoding software (FFmpeg's library), as device software; "
            "a title and a comment in metadata.id3; in `image`, MPEG-1 Layer III, stereo, 44.1 kHz, "
            "128 kbit/s, 0.2085 s (as ffprobe says).",
            mp3(
                [
                    ("TIT2", id3_text("Voice message")),
                    ("TDRC", id3_text("2025-06-14T21:03:17")),
                    ("TSSE", id3_text("Lavf60.16.100")),
                    ("COMM", b"\x03eng\x00" + b"Sent from the chat app"),
                ],
                audio_frames=8,
            ),
        ),
        Sample(
            "chat_export.txt",
            "A WhatsApp chat export (iOS layout): text/plain; `metadata.chat` counts 7 messages from "
            "2 participants and one media left out. Its dates (01/05 and 02/05) do not say whether the "
            "day or the month comes first, so `date_order` is `ambiguous` and no time is recorded.",
            CHAT.encode("ascii"),
        ),
        Sample(
            "chat_export_with_media.zip",
            "That chat exported with its media, as WhatsApp zips it: `metadata.archive.members` lists the "
            "chat and two pictures with their digests and types, read without unzipping; the chat member is "
            "read as chat_export.txt is (7 messages, dates ambiguous: no time). Each member keeps "
            "the zipping computer's local time and the UTC one, so `clock_utc_offsets` says +02:00; "
            "MemberFirstModified 2019-05-01T13:50:00 (UTC 11:50:00) and MemberLastModified "
            "2019-05-02T21:30:00 (UTC 19:30:00). `DOC-20190502-WA0002.pdf` is a JPEG (the Pixel 7 "
            "photo): a member-extension-mismatch finding, flagged ARCH! in the table. The members' "
            "WhatsApp names give the days they were sent or received (`name_time`, NameSavedDate "
            "2019-05-01 and 2019-05-02); the disguised photo was captured in 2022, after the day its "
            "name says it was sent: a name-date-conflict finding.",
            stored_zip(
                [
                    ("WhatsApp Chat with Sam/_chat.txt", CHAT.encode("ascii"), (2019, 5, 2, 21, 30, 0), 1556825400),
                    (
                        "WhatsApp Chat with Sam/IMG-20190501-WA0001.jpg",
                        exif_jpeg(PARIS, "<"),
                        (2019, 5, 1, 13, 50, 0),
                        1556711400,
                    ),
                    (
                        "WhatsApp Chat with Sam/DOC-20190502-WA0002.pdf",
                        exif_jpeg(PIXEL, "<"),
                        (2019, 5, 2, 9, 0, 0),
                        1556780400,
                    ),
                ]
            ),
        ),
        Sample(
            "google_takeout/jpeg_gps_north_east_paris.jpg.supplemental-metadata.json",
            "What Google Photos keeps of the Paris photo in a Google Takeout: `metadata.takeout` names it "
            "(`title`), a tagged person and the phone's folder; PhotoTakenTime 2019-05-01T11:45:10Z (the "
            "record's `captured`) and CreationTime (the upload) 2019-05-02T08:00:00Z, UTC; `gps` the photo's "
            "own place (48.8584, 2.2945, 35.2 m), and a takeout-place-differs finding: Google holds "
            "another one (48.8606, 2.3376, the Louvre), set by the account's user or estimated by Google.",
            TAKEOUT.encode("ascii"),
        ),
    ]


#: What Google Photos keeps beside the Paris photo in a Takeout: the place the account's
#: user set (the Louvre, 2.9 km from where the photo says it was taken), the photo's own,
#: its taken and upload times, a tagged person, the phone's folder.
TAKEOUT = """{
  "title": "jpeg_gps_north_east_paris.jpg",
  "description": "",
  "imageViews": "4",
  "creationTime": {
    "timestamp": "1556784000",
    "formatted": "May 2, 2019, 8:00:00 AM UTC"
  },
  "photoTakenTime": {
    "timestamp": "1556711110",
    "formatted": "May 1, 2019, 11:45:10 AM UTC"
  },
  "geoData": {
    "latitude": 48.8606,
    "longitude": 2.3376,
    "altitude": 0.0,
    "latitudeSpan": 0.0,
    "longitudeSpan": 0.0
  },
  "geoDataExif": {
    "latitude": 48.8584,
    "longitude": 2.2945,
    "altitude": 35.2,
    "latitudeSpan": 0.0,
    "longitudeSpan": 0.0
  },
  "people": [{
    "name": "Sam"
  }],
  "url": "https://photos.google.com/photo/AF1QipSAMPLEONLY",
  "googlePhotosOrigin": {
    "mobileUpload": {
      "deviceFolder": {
        "localFolderName": "Camera"
      },
      "deviceType": "ANDROID_PHONE"
    }
  }
}
"""


def readme(items: Sequence[Sample]) -> bytes:
    lines = [
        "# Sample evidence",
        "",
        "Small, fictional files that show what `evidence scan` reads. Every file here is",
        "**generated** by `make_samples.py` (standard library only, no image encoder), byte for",
        "byte the same on every machine, and committed, except one: `jpeg_c2pa_signed.jpg`, signed",
        "once by the C2PA SDK with a throwaway key (`sign_c2pa_sample.py`, which cannot sign the",
        "same way twice), which `make_samples.py` takes as it is. Do not edit them by hand: change",
        "the script, then regenerate and commit the result:",
        "",
        "```",
        "python samples/make_samples.py",
        "evidence scan samples/",
        "```",
        "",
        "`tests/test_samples.py` checks that a fresh run of the script gives exactly these bytes",
        "and that a scan of this folder gives the values described below (the scan also lists",
        "this README and the scripts themselves: they are plain files like any other). Names are",
        "plain ASCII on purpose; awkward names are tested in temporary folders.",
        "",
        "| file | SHA-256 | what it shows |",
        "|---|---|---|",
    ]
    for s in items:
        lines.append(f"| `{s.path}` | `{hashlib.sha256(s.data).hexdigest()}` | {s.shows} |")
    lines += [
        "",
        "Times: a value with a stored offset (OffsetTime* tags) gets a UTC value with",
        "`offset_origin` `stored`; GPSDateStamp/GPSTimeStamp are UTC by the EXIF standard",
        "(`utc-by-spec`); a DateTimeOriginal without offset next to a GPS time within two",
        "minutes of a real offset gets `gps-inferred`; any other time without offset stays naive",
        "(`utc` null). GPS is signed decimal degrees (south and west negative), altitude in",
        "metres (negative below sea level).",
        "",
    ]
    return "\n".join(lines).encode("ascii")


def write_all(out: Path) -> list[Path]:
    """Write every sample (and the README) under ``out``; unchanged files are left alone."""
    items = samples()
    files = [(s.path, s.data) for s in items] + [("README.md", readme(items))]
    written = []
    for rel, data in files:
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_bytes() != data:
            target.write_bytes(data)
        written.append(target)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent, help="target folder")
    args = parser.parse_args(argv)
    for path in write_all(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
