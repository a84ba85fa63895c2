"""PDQ perceptual hash of an image's pixels (``evidence scan --pdq``; needs NumPy).

The one reader that decodes pixels, and only when the examiner asks: decoding is the
costly and exposed part of reading an image. Pillow decodes the first frame, as stored
(an EXIF orientation is not applied, as ThreatExchange's hasher does not), converted to
RGB; :mod:`evidence_cli.formats.pdq` hashes it. What cannot be decoded whole is not hashed
and says why: a hash of half a picture would match nothing and prove nothing.
"""

from __future__ import annotations

import os
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
from evidence_cli.formats import pdq  # (imports NumPy only when it hashes)
from evidence_cli.models import Extraction, JSONValue

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


@register
class PdqExtractor:
    name = "pdq"
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
        # (After the block: what a C library said is only there once it has ended.)
        problems = [problem(self.name, f"Pillow: {m}") for m in logged]
        problems += [problem(self.name, f"libtiff: {m}") for m in c_said]
        if decoded.array is None:
            problems.append(problem(self.name, f"not hashed: {decoded.refused}"))
            return Extraction(extractor=self.name, group=self.name, problems=tuple(problems))
        hashes, quality = pdq.dihedral_from_rgb(decoded.array)
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
        return Extraction(extractor=self.name, group=self.name, tags=tags, problems=tuple(problems))
