"""Camera-like JPEGs for the ``camera`` corpus: the metadata real cameras and phones write.

The ``photos`` corpus carries the few EXIF tags evidence reports (make, model, times,
GPS): about 20 tags. A real camera photo carries 60 to 250 (see the shared corpus's
ExifTool answers): an IFD0, an Exif IFD of 40-odd tags, a maker note (Canon, Nikon,
Apple, Samsung: hundreds of values, some encrypted), an interoperability IFD, GPS, an
IFD1 with a thumbnail, sometimes an ICC profile and an XMP packet. Every tool that
reads metadata pays for them, so this corpus gives them, written by hand here (Pillow's
EXIF writer cannot place a maker note whose offsets depend on where it lands).

Sizes follow the shared corpus's camera JPEGs over 50 KB (65 files: median 140 KB,
mean 430 KB), decile by decile, not the ``photos`` corpus's 200 KB - 3 MB.
"""

from __future__ import annotations

import io
import math
import random
import struct
from typing import Callable, Sequence

#: Changes whenever the bytes written change (a corpus made by another version is remade).
VERSION = 6

BYTE, ASCII, SHORT, LONG, RATIONAL, UNDEFINED, SLONG, SRATIONAL = 1, 2, 3, 4, 5, 7, 9, 10
#: (tag, TIFF type, value): ASCII a str, BYTE/UNDEFINED bytes, numbers an int or a list,
#: (S)RATIONAL a (numerator, denominator) pair or a list of pairs.
Entry = tuple[int, int, object]

#: File sizes of the shared corpus's 65 camera JPEGs over 50 KB at each decile (0 % .. 100 %).
SIZE_DECILES = (58_405, 87_107, 131_520, 135_813, 139_435, 150_301, 159_137, 166_864, 448_492, 1_350_507, 2_913_134)

_FORMATS = {SHORT: "H", LONG: "I", SLONG: "i", RATIONAL: "I", SRATIONAL: "i"}


def _encode(e: str, typ: int, value: object) -> tuple[int, bytes]:
    """(count, bytes) of one value."""
    if typ == ASCII:
        raw = str(value).encode("ascii") + b"\x00"
        return len(raw), raw
    if typ in (BYTE, UNDEFINED):
        raw = bytes(value)  # type: ignore[call-overload]
        return len(raw), raw
    if typ in (RATIONAL, SRATIONAL):
        pairs = [value] if isinstance(value, tuple) else list(value)  # type: ignore[call-overload]
        flat = [x for pair in pairs for x in pair]
        return len(pairs), struct.pack(e + _FORMATS[typ] * len(flat), *flat)
    vals = list(value) if isinstance(value, (list, tuple)) else [value]
    return len(vals), struct.pack(e + _FORMATS[typ] * len(vals), *vals)


def ifd_bytes(entries: Sequence[Entry], offset: int, e: str, next_ifd: int = 0) -> bytes:
    """One IFD written at ``offset`` (offsets counted as its TIFF header counts them), its
    entries sorted by tag, values over 4 bytes right after the table (each on an even offset)."""
    ordered = sorted(entries, key=lambda t: t[0])
    table = bytearray(struct.pack(e + "H", len(ordered)))
    data = bytearray()
    data_at = offset + 2 + 12 * len(ordered) + 4
    for tag, typ, value in ordered:
        count, raw = _encode(e, typ, value)
        if len(raw) <= 4:
            table += struct.pack(e + "HHI", tag, typ, count) + raw.ljust(4, b"\x00")
        else:
            table += struct.pack(e + "HHII", tag, typ, count, data_at + len(data))
            data += raw + (b"\x00" if len(raw) % 2 else b"")
    table += struct.pack(e + "I", next_ifd)
    return bytes(table + data)


def data_offset(entries: Sequence[Entry], offset: int, e: str, tag: int) -> int:
    """Where ``ifd_bytes(entries, offset, e)`` puts the value of ``tag``."""
    ordered = sorted(entries, key=lambda t: t[0])
    at = offset + 2 + 12 * len(ordered) + 4
    for t, typ, value in ordered:
        raw = _encode(e, typ, value)[1]
        if t == tag:
            return at
        if len(raw) > 4:
            at += len(raw) + len(raw) % 2
    raise KeyError(tag)


# --- maker notes --------------------------------------------------------------------------
# Each builder returns the maker note's bytes given its offset from the TIFF header (Canon
# counts its offsets from there; the others from their own header, so ignore it).


def _shorts(rng: random.Random, n: int, hi: int = 1000) -> list[int]:
    return [rng.randrange(hi) for _ in range(n)]


def canon_note(rng: random.Random, model: str, serial: int) -> Callable[[int], bytes]:
    entries: list[Entry] = [
        (0x0001, SHORT, [98, *_shorts(rng, 48, 16)]),  # CameraSettings
        (0x0002, SHORT, [0, rng.randrange(18, 200), 35, 24]),  # FocalLength
        (0x0003, SHORT, _shorts(rng, 4, 8)),  # FlashInfo
        (0x0004, SHORT, [68, *_shorts(rng, 33, 400)]),  # ShotInfo
        (0x0006, ASCII, model),  # ImageType
        (0x0007, ASCII, "Firmware Version 1.0.3"),
        (0x0009, ASCII, "".ljust(31)),  # OwnerName
        (0x000C, LONG, serial),  # SerialNumber
        (0x0010, LONG, 0x80000189),  # ModelID (EOS 350D)
        (0x0013, SHORT, [0, 159, 7, 112]),  # ThumbnailImageValidArea
        (0x0019, SHORT, 1),
        (0x0026, SHORT, [96, 2, 9, 9, 6000, 4000, 6000, 4000, *_shorts(rng, 40, 3000)]),  # AFInfo2
        (0x0093, SHORT, [60, *_shorts(rng, 29, 100)]),  # FileInfo
        (0x0095, ASCII, "EF-S18-135mm f/3.5-5.6 IS USM"),  # LensModel
        (0x0096, ASCII, f"{serial:010d}"),  # InternalSerialNumber
        (0x0097, UNDEFINED, bytes(rng.getrandbits(8) for _ in range(256))),  # DustRemovalData
        (0x00A0, SHORT, [28, *_shorts(rng, 13, 10)]),  # ProcessingInfo
        (0x00AA, SHORT, [12, *_shorts(rng, 5, 1024)]),  # MeasuredColor
        (0x00B4, SHORT, 1),  # ColorSpace
        (0x00E0, SHORT, [34, 6288, 4056, 1, 1, 52, 4, 4, 0, *_shorts(rng, 8, 10)]),  # SensorInfo
        (0x4001, SHORT, _shorts(rng, 582, 4096)),  # ColorData (ColorData1, 1.2 KB)
        (0x4008, SHORT, _shorts(rng, 3, 130)),  # PictureStyleUserDef
        (0x4010, ASCII, "".ljust(31)),  # CustomPictureStyleFileName
        (0x4019, UNDEFINED, bytes(rng.getrandbits(8) for _ in range(30))),  # LensInfo
        (0x4020, LONG, [56, *_shorts(rng, 13, 4)]),  # AmbienceInfo
    ]
    return lambda offset: ifd_bytes(entries, offset, "<")


def nikon_note(rng: random.Random, serial: int) -> Callable[[int], bytes]:
    entries: list[Entry] = [
        (0x0001, UNDEFINED, b"0211"),  # MakerNoteVersion
        (0x0002, SHORT, [0, rng.choice((100, 200, 400, 800))]),  # ISO
        (0x0004, ASCII, "FINE   "),
        (0x0005, ASCII, "AUTO        "),
        (0x0007, ASCII, "AF-S  "),
        (0x0008, ASCII, "NORMAL      "),
        (0x000D, UNDEFINED, b"\x00\x01\x06\x00"),
        (0x0012, UNDEFINED, b"\x00\x01\x06\x00"),
        (0x001B, SHORT, [0, 6032, 4032, 6032, 4032, 0, 0]),  # CropHiSpeed
        (0x001D, ASCII, str(serial)),  # SerialNumber
        (0x0022, SHORT, 65535),  # ActiveD-Lighting
        (0x0023, UNDEFINED, b"0100" + bytes(rng.getrandbits(8) for _ in range(54))),  # PictureControlData
        (0x0083, BYTE, b"\x06"),  # LensType
        (0x0084, RATIONAL, [(240, 10), (1200, 10), (35, 10), (56, 10)]),  # Lens
        (0x0091, UNDEFINED, b"0243" + bytes(rng.getrandbits(8) for _ in range(7000))),  # ShotInfo (encrypted)
        (0x0095, ASCII, "OFF "),
        (0x0097, UNDEFINED, b"0219" + bytes(rng.getrandbits(8) for _ in range(1000))),  # ColorBalance
        (0x0098, UNDEFINED, b"0204" + bytes(rng.getrandbits(8) for _ in range(29))),  # LensData (encrypted)
        (0x00A7, LONG, rng.randrange(1000, 90000)),  # ShutterCount
        (0x00A8, UNDEFINED, b"0106" + bytes(rng.getrandbits(8) for _ in range(45))),  # FlashInfo
        (0x00B7, UNDEFINED, b"0100" + bytes(rng.getrandbits(8) for _ in range(80))),  # AFInfo2
        (0x00B8, UNDEFINED, b"0100" + bytes(rng.getrandbits(8) for _ in range(168))),  # FileInfo
    ]
    inner = ifd_bytes(entries, 8, ">")
    note = b"Nikon\x00\x02\x11\x00\x00" + b"MM\x00\x2a" + struct.pack(">I", 8) + inner
    return lambda offset: note


def apple_note(rng: random.Random) -> Callable[[int], bytes]:
    uuid = "".join(rng.choice("0123456789ABCDEF") for _ in range(32))
    entries: list[Entry] = [
        (0x0001, SLONG, 14),  # MakerNoteVersion
        (0x0002, UNDEFINED, bytes(rng.getrandbits(8) for _ in range(512))),
        (0x0003, UNDEFINED, b"bplist00" + bytes(rng.getrandbits(8) for _ in range(96))),  # RunTime
        (0x0004, SLONG, 1),  # AEStable
        (0x0005, SLONG, rng.randrange(150, 250)),  # AETarget
        (0x0006, SLONG, rng.randrange(150, 250)),  # AEAverage
        (0x0007, SLONG, 1),  # AFStable
        (0x0008, SRATIONAL, [(rng.randrange(-900, 900), 1000) for _ in range(3)]),  # AccelerationVector
        (0x000A, SRATIONAL, (rng.randrange(1, 500), 1000)),
        (0x000C, SRATIONAL, [(rng.randrange(1, 50), 100), (rng.randrange(1, 50), 100)]),  # FocusDistanceRange
        (0x000D, SLONG, rng.randrange(20)),
        (0x000E, SLONG, 0),
        (0x000F, SLONG, 2),
        (0x0010, SLONG, 1),
        (0x0011, ASCII, f"{uuid[:8]}-{uuid[8:12]}-{uuid[12:16]}-{uuid[16:20]}-{uuid[20:]}"),  # ContentIdentifier
        (0x0014, SLONG, 12),  # ImageCaptureType
        (0x0016, ASCII, "A" + uuid[:27]),
        (0x0017, SLONG, 0),
        (0x0019, SLONG, 0),
        (0x001A, ASCII, "q" + uuid[:24]),
        (0x001F, SLONG, 0),
        (0x0020, ASCII, uuid),  # ImageCaptureRequestID
        (0x0021, SRATIONAL, (rng.randrange(1, 100), 100)),
        (0x0023, SLONG, [rng.randrange(1, 300), 268435456]),
        (0x0025, SLONG, rng.randrange(1, 400)),
        (0x0026, SLONG, 3),
        (0x0027, SRATIONAL, (rng.randrange(1, 90000), 1000)),
        (0x002B, ASCII, uuid[:8]),
        (0x002D, SLONG, rng.randrange(4000, 6000)),
        (0x002E, SLONG, 1),
        (0x002F, SLONG, rng.randrange(40, 80)),
    ]
    inner = ifd_bytes(entries, 14, ">")
    note = b"Apple iOS\x00" + b"\x00\x01" + b"MM" + inner
    return lambda offset: note


def samsung_note(rng: random.Random) -> Callable[[int], bytes]:
    entries: list[Entry] = [
        (0x0001, UNDEFINED, b"0100"),  # MakerNoteVersion
        (0x0002, LONG, 0x3000),  # DeviceType
        (0x0003, LONG, 0x6001200),  # SamsungModelID
        (0x0011, UNDEFINED, bytes(rng.getrandbits(8) for _ in range(8))),
        (0x0021, SHORT, [0, 4, 4, 4, 4]),  # PictureWizard
        (0x0030, ASCII, "".ljust(15)),
        (0x0040, LONG, 0),  # RawDataByteOrder
        (0x0043, SRATIONAL, (rng.randrange(200, 450), 10)),  # CameraTemperature
        (0x0050, LONG, 1),
        (0xA001, ASCII, "G991BXXU5CVK1"),  # FirmwareName
        (0xA003, LONG, [0, 0]),
        (0xA004, LONG, [0, 0]),
        (0xA005, LONG, [0, 0]),
        (0xA010, LONG, [0, 0, 4032, 3024, 0, 0, 4032, 3024]),  # SensorAreas
        (0xA011, SHORT, _shorts(rng, 4, 2048)),  # ColorSpace ...
        (0xA013, SRATIONAL, [(rng.randrange(-50, 50), 10) for _ in range(2)]),
        (0xA018, UNDEFINED, bytes(rng.getrandbits(8) for _ in range(200))),
    ]
    return lambda offset: ifd_bytes(entries, 0, "<")


# --- the TIFF block -----------------------------------------------------------------------

#: (make, model, software, byte order, maker note kind): half write a maker note, as in
#: the shared corpus's camera JPEGs (32 of 65).
DEVICES = (
    ("Canon", "Canon EOS 350D DIGITAL", "Firmware Version 1.0.3", "<", "canon"),
    ("NIKON CORPORATION", "NIKON D750", "Ver.1.12", ">", "nikon"),
    ("Apple", "iPhone 12", "16.1", ">", "apple"),
    ("samsung", "SM-G991B", "G991BXXU5CVK1", "<", "samsung"),
    ("Google", "Pixel 7", "HDR+ 1.0.540104767zd", "<", ""),
    ("HUAWEI", "ELE-L29", "ELE-L29 10.0.0.168", "<", ""),
    ("Xiaomi", "Redmi Note 8", "ginkgo-user 11", "<", ""),
    ("motorola", "moto g(7)", "river-user 10", ">", ""),
)
LENSES = {"Canon": "EF-S18-135mm f/3.5-5.6 IS USM", "NIKON CORPORATION": "AF-S NIKKOR 24-120mm f/4G ED VR"}
#: Shares of those JPEGs with GPS (16 of 65), an ICC profile (17) and XMP (23).
GPS_SHARE = 0.25
ICC_SHARE = 0.26
XMP_SHARE = 0.35


def _dms(value: float) -> list[tuple[int, int]]:
    value = abs(value)
    d = int(value)
    m = int((value - d) * 60)
    s = round((value - d - m / 60) * 3600 * 100)
    return [(d, 1), (m, 1), (s, 100)]


def tiff_block(
    rng: random.Random, width: int, height: int, thumbnail: bytes, device: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """(TIFF block, facts) of one camera-like photo from DEVICES[device] (drawn when None);
    the facts (make, model, times, serial, GPS or not) feed the XMP packet and the tests."""
    pick = rng.randrange(len(DEVICES))  # drawn either way: a chosen device leaves the rest as drawn
    make, model, software, e, note_kind = DEVICES[pick if device is None else device]
    serial = rng.randrange(10**9, 4 * 10**9)
    t = 1_400_000_000 + rng.randrange(0, 300_000_000)
    days, rem = divmod(t, 86400)
    year = 2014 + days // 365 % 10
    date = f"{year}:{(days % 12) + 1:02d}:{(days % 28) + 1:02d}"
    clock = f"{rem // 3600:02d}:{rem % 3600 // 60:02d}:{rem % 60:02d}"
    stamp = f"{date} {clock}"
    offset_h = rng.randint(-10, 12)
    offset = f"{'+' if offset_h >= 0 else '-'}{abs(offset_h):02d}:00"
    subsec = f"{rng.randrange(1000):03d}"
    lat, lon = rng.uniform(-60, 70), rng.uniform(-180, 180)
    exposure = rng.choice((30, 60, 125, 250, 500, 1000))
    fnumber = rng.choice((18, 28, 40, 56, 80))
    focal = rng.randrange(40, 2000)
    with_gps = rng.random() < GPS_SHARE
    note: Callable[[int], bytes] | None = None
    if note_kind == "canon":
        note = canon_note(rng, model, serial)
    elif note_kind == "nikon":
        note = nikon_note(rng, serial)
    elif note_kind == "apple":
        note = apple_note(rng)
    elif note_kind == "samsung":
        note = samsung_note(rng)

    ifd0: list[Entry] = [
        (0x010F, ASCII, make),
        (0x0110, ASCII, model),
        (0x0112, SHORT, 1),
        (0x011A, RATIONAL, (72, 1)),
        (0x011B, RATIONAL, (72, 1)),
        (0x0128, SHORT, 2),
        (0x0131, ASCII, software),
        (0x0132, ASCII, stamp),
        (0x013B, ASCII, ""),  # Artist
        (0x0213, SHORT, 2),
        (0x8298, ASCII, ""),  # Copyright
        (0x8769, LONG, 0),  # ExifOffset (set below)
        (0x8825, LONG, 0),  # GPSInfo (set below)
    ]
    exif: list[Entry] = [
        (0x829A, RATIONAL, (1, exposure)),
        (0x829D, RATIONAL, (fnumber, 10)),
        (0x8822, SHORT, 2),
        (0x8827, SHORT, rng.choice((100, 200, 400, 800, 1600))),
        (0x8830, SHORT, 2),
        (0x9000, UNDEFINED, b"0231"),
        (0x9003, ASCII, stamp),
        (0x9004, ASCII, stamp),
        (0x9010, ASCII, offset),
        (0x9011, ASCII, offset),
        (0x9012, ASCII, offset),
        (0x9101, UNDEFINED, b"\x01\x02\x03\x00"),
        (0x9201, SRATIONAL, (int(math.log2(exposure) * 1000), 1000)),
        (0x9202, RATIONAL, (int(2 * math.log2(fnumber / 10) * 1000), 1000)),
        (0x9203, SRATIONAL, (rng.randrange(-2000, 9000), 1000)),
        (0x9204, SRATIONAL, (0, 3)),
        (0x9205, RATIONAL, (3, 1)),
        (0x9207, SHORT, 5),
        (0x9209, SHORT, 16),
        (0x920A, RATIONAL, (focal, 10)),
        (0x9214, SHORT, [2015, 1511, 2217, 1330]),
        (0x927C, UNDEFINED, b""),  # MakerNote (set below)
        (0x9286, UNDEFINED, b"\x00" * 264),  # UserComment, as cameras leave it
        (0x9290, ASCII, subsec),
        (0x9291, ASCII, subsec),
        (0x9292, ASCII, subsec),
        (0xA000, UNDEFINED, b"0100"),
        (0xA001, SHORT, 1),
        (0xA002, LONG, width),
        (0xA003, LONG, height),
        (0xA005, LONG, 0),  # InteropOffset (set below)
        (0xA20E, RATIONAL, (6000000, 22300)),
        (0xA20F, RATIONAL, (4000000, 14900)),
        (0xA210, SHORT, 2),
        (0xA217, SHORT, 2),
        (0xA301, UNDEFINED, b"\x01"),
        (0xA401, SHORT, 0),
        (0xA402, SHORT, 0),
        (0xA403, SHORT, 0),
        (0xA405, SHORT, rng.randrange(24, 200)),
        (0xA406, SHORT, 0),
        (0xA431, ASCII, str(serial)),
        (0xA432, RATIONAL, [(180, 10), (1350, 10), (35, 10), (56, 10)]),
        (0xA434, ASCII, LENSES.get(make, f"{model} back camera")),
    ]
    interop: list[Entry] = [(0x0001, ASCII, "R98"), (0x0002, UNDEFINED, b"0100")]
    gps: list[Entry] = [
        (0x0000, BYTE, b"\x02\x02\x00\x00"),
        (0x0001, ASCII, "N" if lat >= 0 else "S"),
        (0x0002, RATIONAL, _dms(lat)),
        (0x0003, ASCII, "E" if lon >= 0 else "W"),
        (0x0004, RATIONAL, _dms(lon)),
        (0x0005, BYTE, b"\x00"),
        (0x0006, RATIONAL, (rng.randrange(0, 90000), 100)),
        (0x0007, RATIONAL, [(rem // 3600, 1), (rem % 3600 // 60, 1), (rem % 60, 1)]),
        (0x000C, ASCII, "K"),
        (0x000D, RATIONAL, (0, 1)),
        (0x0010, ASCII, "T"),
        (0x0011, RATIONAL, (rng.randrange(0, 360000), 1000)),
        (0x0017, ASCII, "T"),
        (0x0018, RATIONAL, (rng.randrange(0, 360000), 1000)),
        (0x001D, ASCII, date),
        (0x001F, RATIONAL, (rng.randrange(1, 5000), 100)),
    ]
    ifd1: list[Entry] = [
        (0x0103, SHORT, 6),
        (0x011A, RATIONAL, (72, 1)),
        (0x011B, RATIONAL, (72, 1)),
        (0x0128, SHORT, 2),
        (0x0201, LONG, 0),  # ThumbnailOffset (set below)
        (0x0202, LONG, len(thumbnail)),
    ]

    def size(entries: list[Entry]) -> int:
        return len(ifd_bytes(entries, 0, e))

    def put(entries: list[Entry], tag: int, typ: int, value: object) -> None:
        entries[:] = [(t, ty, v) if t != tag else (tag, typ, value) for t, ty, v in entries]

    # Sizes do not depend on offsets: lay the IFDs out one after the other.
    if note is not None:
        put(exif, 0x927C, UNDEFINED, note(0))
    else:
        exif[:] = [x for x in exif if x[0] != 0x927C]
    if not with_gps:
        ifd0[:] = [x for x in ifd0 if x[0] != 0x8825]
        gps = []
    at0 = 8
    at_exif = at0 + size(ifd0)
    at_interop = at_exif + size(exif)
    at_gps = at_interop + size(interop)
    at_ifd1 = at_gps + (size(gps) if gps else 0)
    at_thumb = at_ifd1 + size(ifd1)
    put(ifd0, 0x8769, LONG, at_exif)
    put(ifd0, 0x8825, LONG, at_gps)
    put(exif, 0xA005, LONG, at_interop)
    put(ifd1, 0x0201, LONG, at_thumb)
    if note is not None:  # Canon counts the maker note's offsets from the TIFF header
        put(exif, 0x927C, UNDEFINED, note(data_offset(exif, at_exif, e, 0x927C)))
    header = (b"II*\x00" if e == "<" else b"MM\x00*") + struct.pack(e + "I", at0)
    block = (
        header
        + ifd_bytes(ifd0, at0, e, next_ifd=at_ifd1)
        + ifd_bytes(exif, at_exif, e)
        + ifd_bytes(interop, at_interop, e)
        + (ifd_bytes(gps, at_gps, e) if gps else b"")
        + ifd_bytes(ifd1, at_ifd1, e)
        + thumbnail
    )
    facts = {"make": make, "model": model, "software": software, "date": date.replace(":", "-"), "time": clock}
    facts.update(offset=offset, subsec=subsec, serial=str(serial), gps="yes" if with_gps else "")
    return block, facts


def xmp_packet(facts: dict[str, str], uuid: str) -> bytes:
    """An XMP packet as phones write it (dates, tool, a document id), padded as they pad it."""
    when = f"{facts['date']}T{facts['time']}.{facts['subsec']}{facts['offset']}"
    body = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 6.0.0">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about=""\n'
        '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
        '    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"\n'
        '    xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"\n'
        '    xmlns:exifEX="http://cipa.jp/exif/1.0/"\n'
        f'   xmp:CreateDate="{when}"\n'
        f'   xmp:ModifyDate="{when}"\n'
        f'   xmp:CreatorTool="{facts["software"]}"\n'
        f'   photoshop:DateCreated="{when}"\n'
        f'   xmpMM:DocumentID="{uuid}"\n'
        f'   exifEX:LensModel="{facts["model"]} back camera"/>\n'
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
    )
    return (body + (" " * 99 + "\n") * 20 + '<?xpacket end="w"?>').encode("utf-8")


_ICC: list[bytes] = []


#: The ICC header's creation date (bytes 24-35) that littleCMS fills with the current time,
#: and its profile ID (bytes 84-99, an MD5 over the profile with that date): fixed here, so
#: the same seed gives the same bytes on any day (an ID of zeros means "not computed").
ICC_DATE = struct.pack(">6H", 2020, 1, 1, 0, 0, 0)


def icc_profile() -> bytes:
    """An sRGB profile (Pillow's littleCMS), as cameras embed one, dated ICC_DATE."""
    if not _ICC:
        from PIL import ImageCms

        icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
        icc[24:36] = ICC_DATE
        icc[84:100] = bytes(16)
        _ICC.append(bytes(icc))
    return _ICC[0]


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def target_size(rng: random.Random) -> float:
    """A file size drawn from SIZE_DECILES: a decile at random, log-uniform within it."""
    i = rng.randrange(len(SIZE_DECILES) - 1)
    lo, hi = SIZE_DECILES[i], SIZE_DECILES[i + 1]
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def make_camera_jpeg(
    rng: random.Random,
    noise: Callable[[random.Random, int], bytes],
    device: int | None = None,
    size: float | None = None,
) -> tuple[bytes, dict[str, str]]:
    """(JPEG, facts) of one camera-like photo: noise pixels (so its size is what was drawn),
    Exif with maker note, thumbnail and sometimes GPS, sometimes an ICC profile and XMP.
    ``noise(rng, n)`` gives n pseudo-random bytes; ``device`` and ``size`` (bytes) replace
    what would be drawn. ``facts``: make, model, date, time, offset, subsec, serial, gps."""
    from PIL import Image

    target = target_size(rng)
    if size is not None:
        target = size
    q = rng.choice((85, 88, 90, 92))
    pixels = max(64 * 64, int(target / 0.92))
    aspect = rng.choice((4 / 3, 3 / 4, 16 / 9, 1.0))
    w = max(64, int(math.sqrt(pixels * aspect)) // 16 * 16)
    h = max(64, int(pixels / w) // 16 * 16)
    thumb = io.BytesIO()
    Image.frombytes("RGB", (160, 120), noise(rng, 160 * 120 * 3)).save(thumb, "JPEG", quality=40)
    block, facts = tiff_block(rng, w, h, thumb.getvalue(), device)
    out = io.BytesIO()
    Image.frombytes("RGB", (w, h), noise(rng, w * h * 3)).save(out, "JPEG", quality=q)
    body = out.getvalue()
    # Drop Pillow's JFIF APP0: cameras start with the Exif APP1.
    assert body[:4] == b"\xff\xd8\xff\xe0"
    rest = body[4 + int.from_bytes(body[4:6], "big") :]
    segments = _segment(0xE1, b"Exif\x00\x00" + block)
    if rng.random() < ICC_SHARE:
        segments += _segment(0xE2, b"ICC_PROFILE\x00\x01\x01" + icc_profile())
    if rng.random() < XMP_SHARE:
        uuid = "".join(rng.choice("0123456789abcdef") for _ in range(32))
        segments += _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + xmp_packet(facts, uuid))
    return b"\xff\xd8" + segments + rest, facts
