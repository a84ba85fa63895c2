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
from typing import Iterator

from PIL import Image, UnidentifiedImageError

from evidence_cli import threadlimit
from evidence_cli.errors import UnsupportedFile
from evidence_cli.extractors.base import FileContext, captured_logs, problem, register
from evidence_cli.extractors.image import IMAGE_TYPES, PILLOW_DAMAGE
from evidence_cli.models import Extraction, JSONValue

#: The types the image reader reads a header of, but vector WMF (Pillow draws it only on
#: Windows). Not HEIF/AVIF: no decoder for them here.
PDQ_TYPES = IMAGE_TYPES - {"image/wmf", "image/x-wmf"}

#: Largest image decoded for a hash. 100 million pixels take about 1.5 GB while hashed
#: (RGB, then three single-precision planes); larger ones are refused with a warning.
MAX_PIXELS = 100_000_000

#: What the record says of how the hash was made: enough to make it again.
METHOD = "PDQ (Meta reference algorithm) of the first frame's pixels as stored, decoded by Pillow, converted to RGB"


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


@register
class PdqExtractor:
    name = "pdq"
    description = "PDQ perceptual hash and quality of an image's pixels (only with --pdq; NumPy)"
    mime_types = PDQ_TYPES

    def extract(self, ctx: FileContext) -> Extraction:
        if not ctx.pdq:
            return Extraction(extractor=self.name, group=self.name)
        from evidence_cli.formats import pdq

        array = None
        refused: str | None = None  # why the pixels were not hashed
        in_worker = threadlimit.backstops and ctx.file_type.mime == "image/tiff"  # (libtiff: TIFF only)
        with (
            ctx.open() as fh,
            warnings.catch_warnings(),
            captured_logs("PIL") as logged,
            c_messages(in_worker) as c_said,
        ):
            warnings.simplefilter("ignore")  # (the image reader reports Pillow's warnings)
            try:
                img = Image.open(fh)
                width, height = img.size
                if width * height > MAX_PIXELS:
                    refused = f"{width} x {height} pixels, more than the {MAX_PIXELS:,} decoded for PDQ"
                else:
                    frames = getattr(img, "n_frames", 1)
                    img.seek(0)
                    import numpy

                    array = numpy.asarray(img.convert("RGB"))
            except Image.DecompressionBombError as exc:
                refused = f"decompression bomb refused: {exc}"
            except UnidentifiedImageError:
                raise UnsupportedFile("Pillow cannot identify this image") from None
            except PILLOW_DAMAGE as exc:
                refused = f"pixels not decodable: {type(exc).__name__}: {exc}"
        # (After the block: what a C library said is only there once it has ended.)
        problems = [problem(self.name, f"Pillow: {m}") for m in logged]
        problems += [problem(self.name, f"libtiff: {m}") for m in c_said]
        if array is None:
            problems.append(problem(self.name, f"not hashed: {refused}"))
            return Extraction(extractor=self.name, group=self.name, problems=tuple(problems))
        hashes, quality = pdq.dihedral_from_rgb(array)
        tags: dict[str, JSONValue] = {
            "hash": hashes.pop("none"),
            "quality": quality,
            "width": width,
            "height": height,
            "mode": img.mode,
            "frames": frames,
            "method": METHOD,
            # The hashes of the picture turned and mirrored, so that `evidence similar`
            # finds a copy that was (a mirrored selfie, a rotated screenshot).
            "turned": hashes,
        }
        return Extraction(extractor=self.name, group=self.name, tags=tags, problems=tuple(problems))
