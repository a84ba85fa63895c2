"""PDQ perceptual hash of an image's pixels (``evidence scan --pdq``; needs NumPy).

The one reader that decodes pixels, and only when the examiner asks: decoding is the
costly and exposed part of reading an image. Pillow decodes the first frame, as stored
(an EXIF orientation is not applied, as ThreatExchange's hasher does not), converted to
RGB; :mod:`evidence_cli.formats.pdq` hashes it. What cannot be decoded whole is not hashed
and says why: a hash of half a picture would match nothing and prove nothing.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import sys
import threading
import warnings
from contextlib import contextmanager
from typing import Any, BinaryIO, Iterator, NamedTuple

import PIL
from PIL import Image, UnidentifiedImageError

from evidence_cli import threadlimit
from evidence_cli.errors import UnsupportedFile
from evidence_cli.extractors.base import FileContext, captured_logs, problem, register
from evidence_cli.extractors.image import IMAGE_TYPES, PILLOW_DAMAGE
from evidence_cli.formats import (
    jpeg,
    pdq,  # (imports NumPy only when it hashes)
    tiff,
)
from evidence_cli.models import Extraction, Finding, JSONValue

NAME = "pdq"

#: HEIF images (iPhones' HEIC), decoded by libheif through pillow-heif.
HEIF_TYPES = frozenset({"image/heic", "image/heif", "image/heic-sequence", "image/heif-sequence"})
#: The types the image reader reads a header of, but vector WMF (Pillow draws it only on
#: Windows); AVIF (Pillow's own decoder, libavif); and HEIF.
PDQ_TYPES = (IMAGE_TYPES - {"image/wmf", "image/x-wmf"}) | {"image/avif"} | HEIF_TYPES

#: Largest image decoded for a hash. 100 million pixels take about 1.5 GB while hashed
#: (RGB, then three single-precision planes); larger ones are refused with a warning.
MAX_PIXELS = 100_000_000
#: Longest side decoded for a hash. The filter's running sums take a Python step per pixel
#: along each side: a forged 8 x 8,388,614 TIFF of 375 bytes (found by fuzz/) took minutes.
#: No camera or scanner makes a longer side than this; a panorama at the pixel limit still fits.
MAX_SIDE = 100_000

#: What the record says of how the hash was made: enough to make it again (with ``decoder``).
METHOD = "PDQ (Meta reference algorithm) of the first frame's pixels as stored, decoded by Pillow, converted to RGB"
METHOD_HEIF = (
    "PDQ (Meta reference algorithm) of the primary image as libheif decodes it for display "
    "(the container's rotation, mirroring and crop applied), 8 bits, RGB"
)


#: EXIF's thumbnail (IFD1: JPEGInterchangeFormat, JPEGInterchangeFormatLength).
TAG_THUMB_START, TAG_THUMB_LENGTH = 0x0201, 0x0202
#: A "thumbnail" of more pixels is not decoded (EXIF's are 160 x 120, and an APP1 segment
#: holds 64 KiB; a flat picture of millions of pixels fits in that).
THUMB_MAX_PIXELS = 4_000_000
#: When a thumbnail is said not to show its image: their PDQ hashes at least THUMB_DIFFERS
#: bits apart (of 256; unrelated pictures are about 128 apart), *and* the image shrunk to
#: the thumbnail's size at least THUMB_PIXELS_DIFFER grey levels from it on average (of
#: 255). Each measure alone misleads: PDQ's bits are noise on a flat drawing (a blue
#: rectangle and its own thumbnail: 106 bits, 0.8 levels), and pixels compared one to one
#: on a thumbnail framed a little differently (a Ricoh's: 72 bits, 43 levels). On the
#: shared corpus's 55 JPEGs with a thumbnail, a thumbnail and its image were 10 to 42 bits
#: apart but for the Ricoh's, and 0.8 to 26 levels but for it. Every file's thumbnail
#: against every other file's image (2,970 pairs): 92 bits and 26 levels at the least, and
#: all found, but the two of one scene shot twice (an iPhone's HDR and plain photos). One
#: file is found with its own thumbnail: cropped after the thumbnail was made (126 bits, 54
#: levels; the thumbnail shows the whole scene).
THUMB_DIFFERS = 90
THUMB_PIXELS_DIFFER = 24.0
#: Quality both hashes need for the finding (Meta's advice for matching on a hash).
THUMB_MIN_QUALITY = 50
#: Near-black bars a camera adds to fit a picture into the thumbnail's frame: a band of
#: rows (or columns) at both edges, of nearly equal size, no channel of any pixel over this.
BAR_LEVEL = 32


#: Lines of a C library's own messages kept as problems, and bytes kept of them.
C_MESSAGES = 20
C_MESSAGE_BYTES = 8192


@contextmanager
def c_messages(active: bool) -> Iterator[list[str]]:
    """What C code writes straight to the process's standard error while the block runs
    (libtiff prints its warnings on damaged TIFF data there, not through Python), caught
    through a pipe and given as lines once the block ends: they belong on the record, and
    nothing of a library's may reach the shared terminal raw. A thread drains the pipe
    (a library that prints without end cannot block on it), keeping the first
    :data:`C_MESSAGE_BYTES` bytes.

    Only where the whole process is a scan worker (nothing else writes there meanwhile);
    else a no-op."""
    lines: list[str] = []
    if not active:
        yield lines
        return
    sys.stderr.flush()
    kept = bytearray()
    read_end, write_end = os.pipe()

    def drain() -> None:
        while data := os.read(read_end, 65536):
            if len(kept) < C_MESSAGE_BYTES:
                kept.extend(data[: C_MESSAGE_BYTES - len(kept)])

    saved = os.dup(2)
    reader = threading.Thread(target=drain, name="c-messages", daemon=True)
    reader.start()
    try:
        os.dup2(write_end, 2)
        os.close(write_end)
        write_end = -1
        try:
            yield lines
        finally:
            os.dup2(saved, 2)  # (the pipe's last writer gone: the thread sees its end)
            reader.join(5)
        text = kept.decode("utf-8", "replace")
        lines.extend([line.strip() for line in text.splitlines() if line.strip()][:C_MESSAGES])
    finally:
        if write_end >= 0:
            os.close(write_end)
        os.close(saved)
        if not reader.is_alive():
            os.close(read_end)


class _Decoded(NamedTuple):
    """An image decoded for its hash, or why it was not."""

    array: Any = None  # H x W x 3 RGB, 8 bits
    width: int = 0
    height: int = 0
    mode: str = ""
    frames: int = 1
    decoder: str = ""
    refused: str | None = None


def _too_large(width: int, height: int) -> _Decoded | None:
    if width * height > MAX_PIXELS:
        return _Decoded(refused=f"{width} x {height} pixels, more than the {MAX_PIXELS:,} decoded for PDQ")
    if max(width, height) > MAX_SIDE:
        return _Decoded(refused=f"{width} x {height} pixels, a side longer than the {MAX_SIDE:,} decoded for PDQ")
    return None


def _decode_with_pillow(fh: BinaryIO) -> _Decoded:
    """The first frame, as stored, by Pillow's decoder of the format."""
    import numpy

    try:
        img = Image.open(fh)
        width, height = img.size
        if refused := _too_large(width, height):
            return refused
        frames = getattr(img, "n_frames", 1)
        img.seek(0)
        array = numpy.asarray(img if img.mode == "RGB" else img.convert("RGB"))  # (converting RGB copies it)
    except Image.DecompressionBombError as exc:
        return _Decoded(refused=f"decompression bomb refused: {exc}")
    except UnidentifiedImageError:
        raise UnsupportedFile("Pillow cannot identify this image") from None
    except PILLOW_DAMAGE as exc:
        return _Decoded(refused=f"pixels not decodable: {type(exc).__name__}: {exc}")
    return _Decoded(array, width, height, img.mode, frames, f"Pillow {PIL.__version__}")


def _decode_heif(fh: BinaryIO) -> _Decoded:
    """The primary image of a HEIF file (an iPhone's HEIC), as libheif decodes it for display
    (the container's rotation, mirroring and crop applied; 10-bit samples made 8-bit)."""
    import numpy

    try:
        import pillow_heif
    except ImportError:
        return _Decoded(refused="decoding HEIF needs pillow-heif: pip install 'evidence-cli[pdq]'")
    try:
        heif = pillow_heif.open_heif(fh, convert_hdr_to_8bit=True)
        width, height = heif.size
        if refused := _too_large(width, height):
            return refused
        mode = heif.mode
        array = numpy.asarray(heif)
        frames = len(heif)
    except PILLOW_DAMAGE as exc:  # (libheif's errors come as ValueError, SyntaxError, RuntimeError)
        return _Decoded(refused=f"pixels not decodable: {type(exc).__name__}: {exc}")
    if array.ndim == 2:  # monochrome
        array = numpy.repeat(array[:, :, None], 3, axis=2)
    elif array.shape[2] != 3:  # with alpha: the colour planes, as Pillow's RGB conversion keeps them
        array = numpy.ascontiguousarray(array[:, :, :3])
    decoder = f"libheif {pillow_heif.libheif_version()} (pillow-heif {pillow_heif.__version__})"
    return _Decoded(array, width, height, mode, frames, decoder)


def exif_thumbnail(fh: BinaryIO, walked: jpeg.JpegWalk) -> tuple[bytes | None, list[str]]:
    """The JPEG thumbnail EXIF keeps in IFD1 of a JPEG's APP1 segment (None when there is
    none), and what was wrong on the way. It must lie inside the EXIF block. ``walked``:
    the JPEG's segments (a scan's readers share one walk: ``FileContext.jpeg_walk``)."""
    found = jpeg.exif_tiff_offset(walked)
    if found is None:
        return None, []
    start, length = found
    fh.seek(start)
    block = io.BytesIO(fh.read(length))
    ifd1 = tiff.following_ifd(block, tiff.first_ifd(block))
    if ifd1 is None:
        return None, []
    notes = [f"thumbnail: {n}" for n in ifd1.notes]
    at, size = (_number(block, ifd1, ifd1.entries.get(t), notes) for t in (TAG_THUMB_START, TAG_THUMB_LENGTH))
    if at is None or size is None or size == 0:
        return None, notes  # (a thumbnail stored as uncompressed strips is not read)
    if at + size > length:
        notes.append(f"thumbnail: its {size} bytes at {at} run past the EXIF block ({length} bytes)")
        return None, notes
    return block.getvalue()[at : at + size], notes


def _number(block: BinaryIO, ifd: tiff.Ifd, entry: tiff.Entry | None, notes: list[str]) -> int | None:
    """The value of a SHORT or LONG entry holding one number."""
    if entry is None:
        return None
    raw = tiff.read_value(block, entry, notes) if entry.count == 1 and entry.type in (3, 4) else None
    if raw is None:
        notes.append(f"thumbnail: tag {entry.tag:#06x} is not one number")
        return None
    return struct.unpack(ifd.byteorder + ("H" if entry.type == 3 else "I"), raw)[0]


def _without_bars(array: Any) -> tuple[Any, str | None]:
    """The picture without near-black bars of nearly equal size on two opposite edges (how
    a camera fits a 3:2 picture into a 4:3 thumbnail), and which were cut; or as it was."""
    level = array.max(axis=2) <= BAR_LEVEL
    cut = []
    for axis, names in ((1, "top and bottom"), (0, "left and right")):
        dark = level.all(axis=axis)
        n = len(dark)
        first = int(dark.argmin()) if not dark.all() else n
        last = int(dark[::-1].argmin()) if not dark.all() else n
        if first and last and abs(first - last) <= 2 and first + last < n // 2:
            array = array[first : n - last] if axis == 1 else array[:, first : n - last]
            level = level[first : n - last] if axis == 1 else level[:, first : n - last]
            cut.append(f"{names} ({first} and {last} px)")
    return array, "; ".join(cut) or None


#: What decoding a thumbnail may raise (UnidentifiedImageError is an OSError).
_THUMB_FAILURES: tuple[type[BaseException], ...] = (Image.DecompressionBombError, *PILLOW_DAMAGE)


def _grey_difference(image: Any, thumb: Any) -> float:
    """Mean absolute difference of grey levels (0-255) between ``thumb`` and ``image`` shrunk
    to its size (each output pixel the mean of the pixels it covers, of a regular sample of
    at least 4 x 4 of them)."""
    import numpy

    h, w = thumb.shape[:2]
    # Every step-th pixel first, still four or more to each pixel of the thumbnail's size:
    # a 12 MP image copied whole for Pillow took longer than its shrinking (44 and 30 ms).
    step = max(1, min(image.shape[0] // (4 * h), image.shape[1] // (4 * w)))
    sampled = numpy.ascontiguousarray(image[::step, ::step])
    small = numpy.asarray(Image.fromarray(sampled).resize((w, h), Image.Resampling.BOX), dtype=numpy.float64)
    weights = numpy.array([0.299, 0.587, 0.114])
    return float(numpy.abs(small @ weights - thumb.astype(numpy.float64) @ weights).mean())


def _thumbnail(
    data: bytes, image: Any, image_hash: str, image_quality: int
) -> tuple[dict[str, JSONValue] | None, list[str], Finding | None]:
    """The thumbnail's PDQ hash and its distance from the image's, and how far its pixels are
    from the image's shrunk; a finding when it does not show the image."""
    import numpy

    try:
        with Image.open(io.BytesIO(data), formats=["JPEG"]) as img:
            width, height = img.size
            if width * height > THUMB_MAX_PIXELS:
                return (
                    None,
                    [f"thumbnail of {width} x {height} pixels: not decoded (more than {THUMB_MAX_PIXELS:,})"],
                    None,
                )
            array = numpy.asarray(img.convert("RGB"))
    except _THUMB_FAILURES as exc:
        return None, [f"thumbnail not decodable: {type(exc).__name__}: {exc}"], None
    hashes, quality = pdq.dihedral_from_rgb(array)
    trimmed, cut = _without_bars(array)
    variants = [hashes]
    pixels = [array]
    if cut is not None:
        variants.append(pdq.dihedral_from_rgb(trimmed)[0])
        pixels.append(trimmed)
    distance = min(pdq.hamming(image_hash, v["none"]) for v in variants)
    grey = round(min(_grey_difference(image, p) for p in pixels), 1)
    turn, closest = min(((t, pdq.hamming(image_hash, h)) for v in variants for t, h in v.items()), key=lambda x: x[1])
    tags: dict[str, JSONValue] = {
        "hash": hashes["none"],
        "quality": quality,
        "width": width,
        "height": height,
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "bars_cut": cut,
        "distance": distance,
        "closest_turn": turn,
        "closest_distance": closest,
        "grey_difference": grey,
    }
    finding = None
    differs = distance >= THUMB_DIFFERS and grey >= THUMB_PIXELS_DIFFER
    if differs and min(quality, image_quality) >= THUMB_MIN_QUALITY:
        message = (
            f"the EXIF thumbnail does not show the image as stored: their PDQ hashes are {distance} of 256 bits apart "
            f"(unrelated pictures: about 128), and the image shrunk to the thumbnail's size differs from it by {grey} "
            "grey levels on average (of 255). The image was changed after its thumbnail was made (cropped, edited, "
            "turned or replaced), and the thumbnail may show what it was"
        )
        if turn != "none" and closest < THUMB_DIFFERS:
            message += f"; turned ({turn}), the thumbnail is {closest} bits from the image"
        finding = Finding(
            "thumbnail-differs",
            "notice",
            message,
            {
                "distance": distance,
                "grey_difference": grey,
                "closest_turn": turn,
                "closest_distance": closest,
                "thumbnail_sha256": tags["sha256"],
            },
        )
    return tags, [], finding


@register
class PdqExtractor:
    name = NAME
    description = "PDQ perceptual hash and quality of an image's pixels (only with --pdq; NumPy, pillow-heif)"
    mime_types = PDQ_TYPES

    def extract(self, ctx: FileContext) -> Extraction:
        if not ctx.pdq:
            return Extraction(extractor=self.name, group=self.name)
        libtiff = threadlimit.backstops and ctx.file_type.mime == "image/tiff"  # (in a worker: see c_messages)
        with (
            ctx.open() as fh,
            warnings.catch_warnings(),
            captured_logs("PIL") as logged,
            c_messages(libtiff) as c_said,
        ):
            warnings.simplefilter("ignore")  # (the image reader reports Pillow's warnings)
            heif = ctx.file_type.mime in HEIF_TYPES
            decoded = _decode_heif(fh) if heif else _decode_with_pillow(fh)
            thumb: bytes | None = None
            thumb_notes: list[str] = []
            if decoded.array is not None and ctx.file_type.mime == "image/jpeg":
                thumb, thumb_notes = exif_thumbnail(fh, ctx.jpeg_walk(fh))
        # (After the block: what a C library said is only there once it has ended.)
        problems = [problem(self.name, f"Pillow: {m}") for m in logged]
        problems += [problem(self.name, f"libtiff: {m}") for m in c_said]
        if decoded.array is None:
            problems.append(problem(self.name, f"not hashed: {decoded.refused}"))
            return Extraction(extractor=self.name, group=self.name, problems=tuple(problems))
        hashes, quality = pdq.dihedral_from_rgb(decoded.array)
        findings: list[Finding] = []
        thumb_tags = None
        if thumb is not None:
            thumb_tags, more, finding = _thumbnail(thumb, decoded.array, hashes["none"], quality)
            thumb_notes += more
            findings += [finding] if finding is not None else []
        problems += [problem(self.name, n) for n in thumb_notes]
        tags: dict[str, JSONValue] = {
            "hash": hashes.pop("none"),
            "quality": quality,
            "width": decoded.width,
            "height": decoded.height,
            "mode": decoded.mode,
            "frames": decoded.frames,
            "decoder": decoded.decoder,
            "method": METHOD_HEIF if heif else METHOD,
            # The hashes of the picture turned and mirrored, so that `evidence similar`
            # finds a copy that was (a mirrored selfie, a rotated screenshot).
            "turned": hashes,
        }
        if thumb_tags is not None:
            # The thumbnail EXIF keeps: a thumbnail that does not show the image is a
            # trace of an edit, and may show the picture before it.
            tags["thumbnail"] = thumb_tags
        return Extraction(
            extractor=self.name, group=self.name, tags=tags, problems=tuple(problems), findings=tuple(findings)
        )
