"""Deterministic benchmark corpora (seeded; same seed and scale give the same bytes).

Each corpus is one folder under ``WORKDIR/corpora/NAME``. A stamp
(``WORKDIR/stamps/NAME.json``, outside the corpus so no tool scans it) records the
generator version and parameters; a corpus whose stamp matches is reused.

* ``photos``: JPEGs with EXIF (make/model, capture time with offset, GPS), 200 KB - 3 MB
  of noisy pixels so JPEG cannot shrink them, in DCIM-like folders.
* ``camera``: JPEGs with the metadata real cameras and phones write (maker notes,
  thumbnail, ICC profile, XMP; see ``camera.py``), sized like the shared corpus's
  camera photos (median 140 KB), in DCIM-like folders.
* ``large``: a few large files of pseudo-random bytes (not sparse).
* ``single``: one very large file (the "every core on one file" case).
* ``small``: many small files (text, logs, JSON, CSV, XML, binary; 100 B - 8 KB) in nested folders.
* ``mixed``: a tree of JPEG, PNG, MP4-like, PDF, DOCX, text, JSON, HTML and binary files.
* ``many``: 100,000 tiny files in 100 folders (memory check: 10 folders = 10 %, all = 100 %).

Randomness comes from ``random.Random(text seed)`` (stable across Python runs and
``PYTHONHASHSEED``). Pixel and large-file bytes are slices of one seeded pool at
seeded offsets, each 1 MiB block stamped with its own index (fast, and no two
blocks are equal). File times are set to seeded values.
"""

from __future__ import annotations

import io
import json
import math
import os
import random
import shutil
import struct
import zipfile
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from camera import VERSION as CAMERA_VERSION  # beside this file (bench/ is on sys.path)
from camera import make_camera_jpeg

GENERATOR_VERSION = 1
MiB = 1024 * 1024
GiB = 1024 * MiB
POOL_SIZE = 32 * MiB
_POOL: dict[int, bytes] = {}

CORPORA = ("photos", "camera", "large", "single", "small", "mixed", "many")


@dataclass(frozen=True)
class Params:
    """What a corpus depends on (its stamp)."""

    seed: int = 2024
    scale: float = 1.0
    large_count: int = 4
    large_size: int = 1 * GiB
    single_size: int = 4 * GiB

    def count(self, n: int, minimum: int = 1) -> int:
        return max(minimum, int(round(n * self.scale)))

    def size(self, n: int, minimum: int) -> int:
        return max(minimum, int(n * self.scale))


def pool(seed: int) -> bytes:
    """A seeded block of pseudo-random bytes (the raw material of pixels and big files)."""
    p = _POOL.get(seed)
    if p is None:
        rng = random.Random(f"pool/{seed}")
        p = b"".join(rng.randbytes(4 * MiB) for _ in range(POOL_SIZE // (4 * MiB)))
        _POOL[seed] = p
    return p


def rng_for(params: Params, corpus: str, i: int) -> random.Random:
    return random.Random(f"{params.seed}/{corpus}/{i}")


def random_bytes(rng: random.Random, n: int, seed: int) -> bytes:
    """``n`` pseudo-random bytes: for n <= 1 MiB, one slice of the pool at a seeded offset."""
    p = pool(seed)
    if n <= MiB:
        off = rng.randrange(0, len(p) - n)
        return p[off : off + n]
    return b"".join(random_bytes(rng, min(MiB, n - k), seed) for k in range(0, n, MiB))


def set_times(path: Path, rng: random.Random) -> None:
    t = 1_500_000_000 + rng.randrange(0, 200_000_000)
    os.utime(path, ns=(t * 10**9 + 1, t * 10**9 + rng.randrange(0, 10**9)))


# --- words, text ------------------------------------------------------------------------

_SYLLABLES = (
    "ka to ri me su na lo pe ver dan ish ol un tra ple gor mi sa be en al ter con pro ex "
    "ment tion ing ed ly re de ar or ic at us um io ve cé ñe ü ø"
).split()


def words(rng: random.Random, n: int) -> list[str]:
    return ["".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 3))) for _ in range(n)]


def prose(rng: random.Random, size: int) -> bytes:
    out: list[str] = []
    total = 0
    while total < size:
        sentence = " ".join(words(rng, rng.randint(4, 16))).capitalize() + rng.choice([". ", "? ", "! ", ".\n"])
        out.append(sentence)
        total += len(sentence.encode())
    return "".join(out).encode()[:size]


def log_text(rng: random.Random, size: int) -> bytes:
    out: list[str] = []
    total = 0
    t = 1_600_000_000 + rng.randrange(0, 50_000_000)
    levels = ("INFO", "DEBUG", "WARN", "ERROR")
    while total < size:
        t += rng.randrange(0, 120)
        d = divmod(t, 86400)
        hh, rem = divmod(d[1], 3600)
        line = (
            f"2021-{(d[0] % 12) + 1:02d}-{(d[0] % 28) + 1:02d}T{hh:02d}:{rem // 60:02d}:{rem % 60:02d}Z "
            f"{rng.choice(levels)} [{rng.choice(['net', 'db', 'auth', 'ui'])}] "
            f"{' '.join(words(rng, rng.randint(3, 10)))} id={rng.randrange(10**6)}\n"
        )
        out.append(line)
        total += len(line)
    return "".join(out).encode()[:size]


def json_text(rng: random.Random, size: int) -> bytes:
    items = []
    total = 2
    while total < size:
        item = {
            "id": rng.randrange(10**9),
            "from": " ".join(words(rng, 2)),
            "text": " ".join(words(rng, rng.randint(2, 20))),
            "ts": 1_600_000_000 + rng.randrange(10**7),
            "read": rng.random() < 0.5,
        }
        items.append(item)
        total += len(json.dumps(item)) + 2
    return json.dumps({"messages": items}, ensure_ascii=False, indent=1).encode()


def csv_text(rng: random.Random, size: int) -> bytes:
    lines = ["id,name,amount,date"]
    total = len(lines[0])
    while total < size:
        amount = rng.random() * 1000
        line = f"{rng.randrange(10**6)},{' '.join(words(rng, 2))},{amount:.2f},2021-03-{rng.randint(1, 28):02d}"
        lines.append(line)
        total += len(line) + 1
    return ("\n".join(lines) + "\n").encode()


def xml_text(rng: random.Random, size: int) -> bytes:
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<items>\n']
    total = len(parts[0])
    while total < size:
        p = f'  <item id="{rng.randrange(10**6)}">{" ".join(words(rng, rng.randint(2, 8)))}</item>\n'
        parts.append(p)
        total += len(p)
    parts.append("</items>\n")
    return "".join(parts).encode()


def html_text(rng: random.Random, size: int) -> bytes:
    head = "<!DOCTYPE html>\n<html><head><title>" + " ".join(words(rng, 3)) + "</title></head><body>\n"
    body = prose(rng, max(10, size - len(head) - 20)).decode("utf-8", "ignore")
    return (head + "<p>" + body + "</p></body></html>\n").encode()


def log_uniform(rng: random.Random, lo: float, hi: float) -> float:
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


# --- EXIF JPEG --------------------------------------------------------------------------

DEVICES = (
    ("Apple", "iPhone 12", "16.1"),
    ("Apple", "iPhone 14 Pro", "17.2"),
    ("samsung", "SM-G991B", "G991BXXU5CVK1"),
    ("Google", "Pixel 7", "HDR+ 1.0.540104767zd"),
    ("Canon", "Canon EOS 80D", "Firmware Version 1.0.3"),
    ("NIKON CORPORATION", "NIKON D750", "Ver.1.12"),
    ("HUAWEI", "ELE-L29", "ELE-L29 10.0.0.168"),
)


def _dms(value: float) -> tuple[float, float, float]:
    value = abs(value)
    d = int(value)
    m = int((value - d) * 60)
    s = round((value - d - m / 60) * 3600, 2)
    return (float(d), float(m), s)


def exif_for(rng: random.Random, width: int, height: int) -> object:
    from PIL import Image

    make, model, software = rng.choice(DEVICES)
    t = 1_400_000_000 + rng.randrange(0, 300_000_000)
    days, rem = divmod(t, 86400)
    y = 2014 + days // 365 % 10
    stamp = f"{y}:{(days % 12) + 1:02d}:{(days % 28) + 1:02d} {rem // 3600:02d}:{rem % 3600 // 60:02d}:{rem % 60:02d}"
    offset_h = rng.randint(-10, 12)
    offset = f"{'+' if offset_h >= 0 else '-'}{abs(offset_h):02d}:00"
    ex = Image.Exif()
    ex[0x010F] = make
    ex[0x0110] = model
    ex[0x0131] = software
    ex[0x0132] = stamp
    ex[0x0112] = 1
    sub = ex.get_ifd(0x8769)
    sub[0x9003] = stamp  # DateTimeOriginal
    sub[0x9004] = stamp  # CreateDate
    sub[0x9011] = offset  # OffsetTimeOriginal
    sub[0x9010] = offset  # OffsetTime
    sub[0x9291] = f"{rng.randrange(1000):03d}"  # SubSecTimeOriginal
    sub[0xA002] = width
    sub[0xA003] = height
    lat = rng.uniform(-60, 70)
    lon = rng.uniform(-180, 180)
    gps = ex.get_ifd(0x8825)
    gps[0x0000] = b"\x02\x03\x00\x00"
    gps[0x0001] = "N" if lat >= 0 else "S"
    gps[0x0002] = _dms(lat)
    gps[0x0003] = "E" if lon >= 0 else "W"
    gps[0x0004] = _dms(lon)
    gps[0x0005] = b"\x00"
    gps[0x0006] = round(rng.uniform(0, 900), 1)
    return ex


def make_jpeg(rng: random.Random, seed: int, lo_bytes: int, hi_bytes: int, quality: int | None = None) -> bytes:
    """A JPEG of noise whose size falls (roughly) between lo and hi bytes, with EXIF."""
    from PIL import Image

    target = log_uniform(rng, lo_bytes, hi_bytes)
    q = quality or rng.choice((85, 88, 90, 92))
    # Noise at these qualities costs about 0.85-1.0 byte a pixel.
    pixels = max(64 * 64, int(target / 0.92))
    aspect = rng.choice((4 / 3, 3 / 4, 16 / 9, 9 / 16, 1.0))
    w = max(64, int(math.sqrt(pixels * aspect)) // 16 * 16)
    h = max(64, int(pixels / w) // 16 * 16)
    img = Image.frombytes("RGB", (w, h), random_bytes(rng, w * h * 3, seed))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=q, exif=exif_for(rng, w, h))
    return out.getvalue()


def make_png(rng: random.Random, seed: int, lo_bytes: int, hi_bytes: int) -> bytes:
    from PIL import Image, PngImagePlugin

    target = log_uniform(rng, lo_bytes, hi_bytes)
    pixels = max(32 * 32, int(target / 3.0))
    w = max(32, int(math.sqrt(pixels * 16 / 9)))
    h = max(32, pixels // w)
    img = Image.frombytes("RGB", (w, h), random_bytes(rng, w * h * 3, seed))
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "Screenshot tool " + str(rng.randint(1, 9)))
    info.add_text("Creation Time", f"2021-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T10:00:00Z")
    out = io.BytesIO()
    img.save(out, "PNG", pnginfo=info, compress_level=1)
    return out.getvalue()


# --- MP4, PDF, DOCX ---------------------------------------------------------------------


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def make_mp4(rng: random.Random, seed: int, size: int) -> bytes:
    """ftyp + moov (mvhd with 1904-based times, udta with a ©xyz location) + random mdat."""
    created = 3_600_000_000 + rng.randrange(0, 200_000_000)  # seconds since 1904
    mvhd = struct.pack(
        ">B3xIIII I H10x 36s 24x I",
        0,
        created,
        created + 5,
        1000,
        rng.randrange(1000, 600_000),
        0x00010000,
        0x0100,
        struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000),
        2,
    )
    xyz = f"{rng.uniform(-80, 80):+08.4f}{rng.uniform(-179, 179):+09.4f}/".encode()
    udta = _box(b"udta", _box(b"\xa9xyz", struct.pack(">HH", len(xyz), 0x15C7) + xyz))
    moov = _box(b"moov", _box(b"mvhd", mvhd) + udta)
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41")
    head = ftyp + moov
    return head + _box(b"mdat", random_bytes(rng, max(0, size - len(head) - 8), seed))


def make_pdf(rng: random.Random, seed: int, size: int) -> bytes:
    stream = random_bytes(rng, max(16, size - 900), seed)
    y, mo, d = rng.randint(2015, 2023), rng.randint(1, 12), rng.randint(1, 28)
    info = (
        f"<< /Title ({' '.join(words(rng, 3))}) /Author ({' '.join(words(rng, 2))}) "
        f"/Creator (Writer) /Producer (LibreOffice 7.4) "
        f"/CreationDate (D:{y}{mo:02d}{d:02d}103000+02'00') /ModDate (D:{y}{mo:02d}{d:02d}113000Z) >>"
    ).encode()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        info,
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def make_docx(rng: random.Random, size: int) -> bytes:
    y, mo, d = rng.randint(2015, 2023), rng.randint(1, 12), rng.randint(1, 28)
    members = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
            '<Override PartName="/docProps/core.xml" '
            'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/></Types>'
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/officeDocument" Target="word/document.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/'
            'metadata/core-properties" Target="docProps/core.xml"/></Relationships>'
        ),
        "word/document.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
            + "".join(
                f"<w:p><w:r><w:t>{prose(rng, 200).decode('utf-8', 'ignore')}</w:t></w:r></w:p>"
                for _ in range(max(1, size // 250))
            )
            + "</w:body></w:document>"
        ),
        "docProps/core.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<dc:creator>{' '.join(words(rng, 2))}</dc:creator>"
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{y}-{mo:02d}-{d:02d}T09:00:00Z</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{y}-{mo:02d}-{d:02d}T10:00:00Z</dcterms:modified>'
            "</cp:coreProperties>"
        ),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in members.items():
            zi = zipfile.ZipInfo(name, date_time=(y, mo, d, 9, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, text)
    return out.getvalue()


def small_file(rng: random.Random, seed: int, lo: int = 100, hi: int = 8192) -> tuple[str, bytes]:
    """(extension, content) of one small file of a random kind."""
    size = int(log_uniform(rng, lo, hi))
    kind = rng.choices(("txt", "log", "json", "csv", "xml", "html", "bin", "dat"), weights=(30, 25, 20, 5, 5, 3, 8, 4))[
        0
    ]
    maker: dict[str, Callable[[], bytes]] = {
        "txt": lambda: prose(rng, size),
        "log": lambda: log_text(rng, size),
        "json": lambda: json_text(rng, size),
        "csv": lambda: csv_text(rng, size),
        "xml": lambda: xml_text(rng, size),
        "html": lambda: html_text(rng, size),
        "bin": lambda: random_bytes(rng, size, seed),
        # A binary record format with a small header and zero runs.
        "dat": lambda: b"REC1" + struct.pack("<I", size) + random_bytes(rng, size // 2, seed) + bytes(size // 2),
    }
    return kind, maker[kind]()


# --- corpus builders (each job writes files i in [lo, hi)) ----------------------------------


def _write(path: Path, data: bytes, rng: random.Random) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    set_times(path, rng)


def _photos_job(root: str, params: Params, lo: int, hi: int) -> None:
    for i in range(lo, hi):
        rng = rng_for(params, "photos", i)
        name = Path(root) / "DCIM" / f"{100 + i // 200}APPLE" / f"IMG_{i:05d}.JPG"
        _write(name, make_jpeg(rng, params.seed, 200_000, 3_000_000), rng)


def _camera_job(root: str, params: Params, lo: int, hi: int) -> None:
    for i in range(lo, hi):
        rng = rng_for(params, "camera", i)
        name = Path(root) / "DCIM" / f"{100 + i // 200}CAMRA" / f"IMG_{i:05d}.JPG"
        _write(name, make_camera_jpeg(rng, lambda r, n: random_bytes(r, n, params.seed))[0], rng)


def _small_job(root: str, params: Params, lo: int, hi: int) -> None:
    for i in range(lo, hi):
        rng = rng_for(params, "small", i)
        ext, data = small_file(rng, params.seed)
        leaf = i // 100
        _write(Path(root) / f"u{leaf // 25:02d}" / f"s{leaf % 25:02d}" / f"f{i:06d}.{ext}", data, rng)


def _many_job(root: str, params: Params, lo: int, hi: int, per_folder: int) -> None:
    for i in range(lo, hi):
        rng = rng_for(params, "many", i)
        ext, data = small_file(rng, params.seed, 50, 600)
        _write(Path(root) / f"f{i // per_folder:03d}" / f"m{i:06d}.{ext}", data, rng)


def _mixed_job(root: str, params: Params, lo: int, hi: int, plan: list[str]) -> None:
    for i in range(lo, hi):
        kind = plan[i]
        rng = rng_for(params, "mixed", i)
        folder = Path(root) / f"case{i % 7}" / ("media" if kind in ("jpg", "png", "mp4") else "docs")
        if kind == "jpg":
            data = make_jpeg(rng, params.seed, 80_000, 2_500_000)
        elif kind == "png":
            data = make_png(rng, params.seed, 40_000, 1_500_000)
        elif kind == "mp4":
            data = make_mp4(rng, params.seed, int(log_uniform(rng, 1 * MiB, 24 * MiB)))
        elif kind == "pdf":
            data = make_pdf(rng, params.seed, int(log_uniform(rng, 5_000, 2_000_000)))
        elif kind == "docx":
            data = make_docx(rng, int(log_uniform(rng, 2_000, 60_000)))
        else:
            kind, data = small_file(rng, params.seed, 200, 64_000)
        _write(folder / f"item{i:05d}.{kind}", data, rng)


def _mixed_plan(params: Params) -> list[str]:
    counts = {"jpg": 400, "png": 150, "mp4": 30, "pdf": 120, "docx": 80, "other": 600}
    plan = [k for k, n in counts.items() for _ in range(params.count(n))]
    random.Random(f"{params.seed}/mixed/plan").shuffle(plan)
    return plan


def _big_file(path: Path, size: int, rng: random.Random, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    p = pool(seed)
    with open(path, "wb") as fh:
        done = 0
        block = 0
        while done < size:
            n = min(MiB, size - done)
            off = rng.randrange(0, len(p) - n)
            buf = bytearray(p[off : off + n])
            stamp = struct.pack("<QQ", block, rng.getrandbits(64))
            buf[: min(16, n)] = stamp[: min(16, n)]
            fh.write(buf)
            done += n
            block += 1
    set_times(path, rng)


def _run_jobs(fn: Callable[..., None], root: Path, params: Params, n: int, jobs: int, *extra: object) -> None:
    step = max(1, math.ceil(n / (jobs * 8)))
    ranges = [(lo, min(n, lo + step)) for lo in range(0, n, step)]
    if jobs <= 1:
        for lo, hi in ranges:
            fn(str(root), params, lo, hi, *extra)
        return
    with ProcessPoolExecutor(max_workers=jobs) as ex:
        for f in [ex.submit(fn, str(root), params, lo, hi, *extra) for lo, hi in ranges]:
            f.result()


def build(name: str, root: Path, params: Params, jobs: int) -> None:
    """Write corpus ``name`` into the (new, empty) folder ``root``."""
    if name == "photos":
        _run_jobs(_photos_job, root, params, params.count(2000), jobs)
    elif name == "camera":
        _run_jobs(_camera_job, root, params, params.count(2000), jobs)
    elif name == "small":
        _run_jobs(_small_job, root, params, params.count(50_000), jobs)
    elif name == "many":
        n = params.count(100_000, 100)
        _run_jobs(_many_job, root, params, n, jobs, math.ceil(n / 100))
    elif name == "mixed":
        plan = _mixed_plan(params)
        _run_jobs(_mixed_job, root, params, len(plan), jobs, plan)
    elif name == "large":
        size = params.size(params.large_size, 128 * MiB)
        for i in range(params.large_count):
            _big_file(root / f"disk_export_{i}.bin", size, rng_for(params, "large", i), params.seed)
    elif name == "single":
        size = params.size(params.single_size, 256 * MiB)
        _big_file(root / "image.dd", size, rng_for(params, "single", 0), params.seed)
    else:
        raise ValueError(f"unknown corpus {name!r}; choose from {', '.join(CORPORA)}")


def ensure(name: str, workdir: Path, params: Params, jobs: int, log: Callable[[str], None] = print) -> Path:
    """The corpus folder, generated unless an identical one (same stamp) is there."""
    root = workdir / "corpora" / name
    stamp_path = workdir / "stamps" / f"{name}.json"
    want = {"generator": GENERATOR_VERSION, "corpus": name, **asdict(params)}
    if name != "large":
        del want["large_count"], want["large_size"]
    if name != "single":
        want.pop("single_size", None)
    if name == "camera":
        want["camera_generator"] = CAMERA_VERSION
    if root.is_dir() and stamp_path.is_file():
        try:
            if json.loads(stamp_path.read_text()) == want:
                return root
        except (OSError, ValueError):
            pass
    log(f"generating corpus {name!r} in {root} ...")
    tmp = root.with_name(name + ".partial")
    for p in (tmp, root):
        if p.exists():
            shutil.rmtree(p)
    stamp_path.unlink(missing_ok=True)
    tmp.mkdir(parents=True)
    build(name, tmp, params, jobs)
    tmp.rename(root)
    stamp_path.parent.mkdir(parents=True, exist_ok=True)
    stamp_path.write_text(json.dumps(want, indent=1))
    return root


def tree_stats(root: Path) -> tuple[int, int]:
    """(regular files, bytes) under root."""
    n = total = 0
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            st = os.lstat(os.path.join(dirpath, f))
            n += 1
            total += st.st_size
    return n, total


def crc_of_tree(root: Path) -> str:
    """A quick fingerprint of names and bytes (to check determinism across generations)."""
    c = 0
    for dirpath, dirs, files in os.walk(root):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(dirpath, f)
            c = zlib.crc32(os.path.relpath(p, root).encode(), c)
            with open(p, "rb") as fh:
                while chunk := fh.read(MiB):
                    c = zlib.crc32(chunk, c)
    return f"{c:08x}"
