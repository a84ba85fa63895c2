"""Image properties from Pillow's header parse (format, size, mode); pixels are never decoded.

A plain, well-formed JPEG header is read from the bytes already in memory by
:mod:`evidence_cli.formats.jpeg_frame`, which gives exactly Pillow's answer for that case
(Pillow's JPEG plugin costs several times more); every other file, and any JPEG header
that is not plain, goes through Pillow itself, with its own answers and problems.
"""

from __future__ import annotations

import struct
import warnings

from PIL import Image, UnidentifiedImageError

from evidence_cli.errors import UnsupportedFile
from evidence_cli.extractors.base import FileContext, captured_logs, problem, register
from evidence_cli.formats import jpeg_frame
from evidence_cli.models import Extraction, Problem

#: libmagic types Pillow can read a header of.
IMAGE_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/tiff",
        "image/bmp",
        "image/x-ms-bmp",
        "image/x-icon",
        "image/vnd.microsoft.icon",
        "image/x-tga",
        "image/x-portable-pixmap",
        "image/x-portable-graymap",
        "image/x-portable-bitmap",
        "image/jp2",
        "image/x-pcx",
        "image/wmf",
        "image/x-wmf",
    }
)


#: What Pillow's format plugins raise on a damaged header once a plugin has accepted the
#: file ("Truncated File Read", "could not create decoder object", libavif's RuntimeError ...).
PILLOW_DAMAGE: tuple[type[BaseException], ...] = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    RuntimeError,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    OverflowError,
)


def _pillow_opens_as_jpeg(prefix: bytes) -> bool:
    """Would ``Image.open`` hand these first 16 bytes to its JPEG plugin first? It tries the
    registered plugins in order; each one before JPEG must decline them by its signature
    check (a plugin without one, such as TGA, would be tried on the content)."""
    if "JPEG" not in Image.ID:  # plugins not loaded yet: Image.open will load them
        return False
    for fmt in Image.ID:
        if fmt == "JPEG":
            return True
        accept = Image.OPEN[fmt][1]
        try:
            if accept is None or accept(prefix):
                return False
        except Exception:  # noqa: BLE001 - Image.open would go on to the next plugin: let it
            return False
    return False


def _below_bomb_limit(width: int, height: int) -> bool:
    """Pillow neither warns nor refuses this size as a decompression bomb."""
    limit = Image.MAX_IMAGE_PIXELS
    return limit is None or width * height <= limit


@register
class ImageExtractor:
    name = "image"
    description = "Image format, dimensions and mode from the header (Pillow; no pixel decoding)"
    mime_types = IMAGE_TYPES

    def extract(self, ctx: FileContext) -> Extraction:
        data = ctx.content if ctx.content is not None else ctx.head
        frame = jpeg_frame.plain_frame(data)
        if frame is not None and _pillow_opens_as_jpeg(data[:16]) and _below_bomb_limit(frame[0], frame[1]):
            info = {"format": "JPEG", "width": frame[0], "height": frame[1], "mode": frame[2]}
            return Extraction(extractor=self.name, group=self.name, tags=dict(info), image=info)
        return self.extract_with_pillow(ctx)

    def extract_with_pillow(self, ctx: FileContext) -> Extraction:
        """The answer from Pillow's ``Image.open`` (every format; damaged headers)."""
        problems: list[Problem] = []
        with ctx.open() as fh, warnings.catch_warnings(record=True) as caught, captured_logs("PIL") as logged:
            warnings.simplefilter("always")
            try:
                img = Image.open(fh)
            except Image.DecompressionBombError as exc:
                # A forged header declaring billions of pixels: report, do not decode.
                return Extraction(
                    extractor=self.name,
                    group=self.name,
                    problems=(problem(self.name, f"decompression bomb refused: {exc}", type="DecompressionBombError"),),
                )
            except UnidentifiedImageError:
                # Pillow's message names the stream object (a memory address): not deterministic.
                raise UnsupportedFile("Pillow cannot identify this image") from None
            except PILLOW_DAMAGE as exc:
                # A plugin recognised the format but its header is damaged (truncated file,
                # impossible values): damage, not a failed extractor (found by fuzz/).
                return Extraction(
                    extractor=self.name,
                    group=self.name,
                    problems=(
                        problem(
                            self.name,
                            f"header not readable: {type(exc).__name__}: {exc}",
                            severity="error",
                        ),
                    ),
                )
            try:
                info = {
                    "format": img.format,
                    "width": img.size[0],
                    "height": img.size[1],
                    "mode": img.mode,
                }
            finally:
                img.close()
        for w in caught:
            problems.append(problem(self.name, str(w.message), type=w.category.__name__))
        for msg in logged:
            problems.append(problem(self.name, f"Pillow: {msg}"))
        return Extraction(
            extractor=self.name,
            group=self.name,
            tags=dict(info),
            image=info,
            problems=tuple(problems),
        )
