"""FLAC audio: Vorbis comments, the encoder's vendor string, pictures, rate, channels and
duration (the comments' helpers are the Ogg reader's: :mod:`evidence_cli.extractors.ogg`).
Pictures are described and hashed, never decoded. Parsing is in
:mod:`evidence_cli.formats.ogg`."""

from __future__ import annotations

from typing import Any

from evidence_cli.extractors.base import FileContext, register
from evidence_cli.extractors.ogg import comment_tags, describe_pictures, extraction
from evidence_cli.formats import ogg as oggfmt
from evidence_cli.models import Extraction


@register
class FlacExtractor:
    name = "flac"
    description = "FLAC audio: Vorbis comments, encoder vendor string, pictures (hashed), rate, channels, duration"
    mime_types = frozenset({"audio/flac", "audio/x-flac"})

    def extract(self, ctx: FileContext) -> Extraction:
        with ctx.open() as fh:
            flac = oggfmt.read_flac(fh)
        problems = list(flac.notes)
        tags: dict[str, Any] = {}
        comment_tags(flac.tags, tags, problems, "FLAC comment")
        if flac.pictures:
            tags["pictures"] = describe_pictures(flac.pictures)
        media: dict[str, Any] | None = None
        if flac.sample_rate is not None:
            media = {
                "format": "FLAC",
                "channels": flac.channels,
                "sample_rate": flac.sample_rate,
                "bits_per_sample": flac.bits_per_sample,
            }
            if flac.duration_s is not None:
                media["duration_s"] = flac.duration_s
        return extraction(self.name, tags, media, problems)
