"""PDQ perceptual hash of an image's pixels (``evidence scan --pdq``; needs NumPy).

The one reader that decodes pixels, and only when the examiner asks: decoding is the
costly and exposed part of reading an image. Pillow decodes the first frame, as stored
(an EXIF orientation is not applied, as ThreatExchange's hasher does not), converted to
RGB; :mod:`evidence_cli.formats.pdq` hashes it. What cannot be decoded whole is not hashed
and says why: a hash of half a picture would match nothing and prove nothing.
"""

from __future__ import annotations

import warnings

from PIL import Image, UnidentifiedImageError

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


@register
class PdqExtractor:
    name = "pdq"
    description = "PDQ perceptual hash and quality of an image's pixels (only with --pdq; NumPy)"
    mime_types = PDQ_TYPES

    def extract(self, ctx: FileContext) -> Extraction:
        if not ctx.pdq:
            return Extraction(extractor=self.name, group=self.name)
        from evidence_cli.formats import pdq

        with ctx.open() as fh, warnings.catch_warnings(), captured_logs("PIL") as logged:
            warnings.simplefilter("ignore")  # (the image reader reports Pillow's warnings)
            try:
                img = Image.open(fh)
                width, height = img.size
                if width * height > MAX_PIXELS:
                    return self._not_hashed(f"{width} x {height} pixels, more than the {MAX_PIXELS:,} decoded for PDQ")
                frames = getattr(img, "n_frames", 1)
                img.seek(0)
                rgb = img.convert("RGB")
                import numpy

                array = numpy.asarray(rgb)
                del rgb
            except Image.DecompressionBombError as exc:
                return self._not_hashed(f"decompression bomb refused: {exc}")
            except UnidentifiedImageError:
                raise UnsupportedFile("Pillow cannot identify this image") from None
            except PILLOW_DAMAGE as exc:
                return self._not_hashed(f"pixels not decodable: {type(exc).__name__}: {exc}")
        digest, quality = pdq.pdq_from_rgb(array)
        tags: dict[str, JSONValue] = {
            "hash": digest,
            "quality": quality,
            "width": width,
            "height": height,
            "mode": img.mode,
            "frames": frames,
            "method": METHOD,
        }
        problems = tuple(problem(self.name, f"Pillow: {m}") for m in logged)
        return Extraction(extractor=self.name, group=self.name, tags=tags, problems=problems)

    def _not_hashed(self, why: str) -> Extraction:
        return Extraction(extractor=self.name, group=self.name, problems=(problem(self.name, f"not hashed: {why}"),))
