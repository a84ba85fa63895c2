"""Ogg (Opus, Vorbis) and FLAC audio: encoder, comments, channels, rate and duration.

Voice messages of WhatsApp, Telegram and Signal are Ogg Opus files. What they say of
themselves is little but telling: the encoder's vendor string (``libopus 1.3``, an app's
own), comments such as ``ENCODER`` or ``DATE``, the channel count, the input sample rate
and the duration. A FLAC file carries the same comments, and may carry pictures
(described and hashed, never decoded). Parsing is in :mod:`evidence_cli.formats.ogg`.
"""

from __future__ import annotations

import hashlib
from typing import Any

from evidence_cli.extractors.base import FileContext, problem, register
from evidence_cli.formats import ogg as oggfmt
from evidence_cli.models import Device, Extraction, Timestamp
from evidence_cli.timeparse import TimeParseError, make_iso_timestamp

#: Longest text kept from one comment.
MAX_TEXT = 4096


def _comments(tags: oggfmt.Comments | None, out: dict[str, Any], problems: list[str], where: str) -> None:
    """The vendor string and comments into the record's tags (a key given twice: a list)."""
    if tags is None:
        return
    out["vendor"] = tags.vendor[:MAX_TEXT]
    found: dict[str, Any] = {}
    for key, value in tags.comments:
        if len(value) > MAX_TEXT:
            problems.append(f"{where} {key}: {len(value)} characters; the first {MAX_TEXT} kept")
            value = value[:MAX_TEXT]
        prev = found.get(key)
        found[key] = value if prev is None else [*(prev if isinstance(prev, list) else [prev]), value]
    if found:
        out["comments"] = found


def _recorded(source: str, comments: dict[str, Any], problems: list[str]) -> tuple[Timestamp, ...]:
    """The ``DATE`` comment (the recording's date, by the Vorbis comment field list) as a
    ``RecordingTime`` timestamp, when it is an ISO date."""
    value = comments.get("DATE")
    if not isinstance(value, str) or not value.strip():
        return ()
    try:
        ts = make_iso_timestamp("RecordingTime", source, value)
    except TimeParseError:
        return ()  # free text ("1998, live"): kept as the comment, not a time
    return (ts,) if ts is not None else ()


def _software(tags: dict[str, Any], source: str) -> Device | None:
    """The device's software: the ENCODER comment (the application), else the vendor
    string (the encoding library)."""
    encoder = (tags.get("comments") or {}).get("ENCODER")
    software = encoder if isinstance(encoder, str) and encoder else tags.get("vendor")
    return Device(software=software, source=source) if isinstance(software, str) and software else None


@register
class OggExtractor:
    name = "ogg"
    description = "Ogg Opus and Vorbis (voice messages): encoder vendor string, comments, channels, rate, duration"
    mime_types = frozenset({"audio/ogg", "audio/opus", "audio/x-opus+ogg", "audio/vorbis", "application/ogg"})

    def extract(self, ctx: FileContext) -> Extraction:
        with ctx.open() as fh:
            stream = oggfmt.read_ogg(fh, ctx.size)
        problems = list(stream.notes)
        tags: dict[str, Any] = {"codec": stream.codec} if stream.codec else {}
        _comments(stream.tags, tags, problems, "Ogg comment")
        media: dict[str, Any] | None = None
        if stream.codec in ("opus", "vorbis"):
            tags["channels"] = stream.channels
            tags["sample_rate" if stream.codec == "vorbis" else "input_sample_rate"] = stream.sample_rate
            if stream.codec == "opus":
                tags["pre_skip"] = stream.pre_skip
            tags["last_granule"] = stream.last_granule
            media = {"format": "Ogg", "codec": stream.codec, "channels": stream.channels}
            media["sample_rate"] = 48_000 if stream.codec == "opus" else stream.sample_rate
            if stream.duration_s is not None:
                media["duration_s"] = stream.duration_s
        return Extraction(
            extractor=self.name,
            group=self.name,
            tags=tags,
            timestamps=_recorded(self.name, tags.get("comments") or {}, problems),
            device=_software(tags, self.name),
            image=media,
            problems=tuple(problem(self.name, p) for p in problems),
        )


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
        _comments(flac.tags, tags, problems, "FLAC comment")
        if flac.pictures:
            tags["pictures"] = [
                {
                    "picture_type": kind,
                    "mime": mime,
                    "description": desc[:MAX_TEXT],
                    "bytes": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                }
                for kind, mime, desc, data in flac.pictures
            ]
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
        return Extraction(
            extractor=self.name,
            group=self.name,
            tags=tags,
            timestamps=_recorded(self.name, tags.get("comments") or {}, problems),
            device=_software(tags, self.name),
            image=media,
            problems=tuple(problem(self.name, p) for p in problems),
        )
