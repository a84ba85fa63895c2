"""Ogg (Opus, Vorbis) audio: encoder, comments, channels, rate and duration.

Voice messages of WhatsApp, Telegram and Signal are Ogg Opus files. What they say of
themselves is little but telling: the encoder's vendor string (``libopus 1.3``, an app's
own), comments such as ``ENCODER`` or ``DATE``, the channel count, the input sample rate
and the duration. (FLAC files carry the same comments: :mod:`evidence_cli.extractors.flac`
shares the helpers here.) Parsing is in :mod:`evidence_cli.formats.ogg`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from evidence_cli.extractors.base import FileContext, problem, register
from evidence_cli.formats import ogg as oggfmt
from evidence_cli.models import Device, Extraction, Timestamp
from evidence_cli.timeparse import TimeParseError, make_iso_timestamp

#: Longest text kept from one comment.
MAX_TEXT = 4096


def describe_pictures(pictures: list[tuple[int, str, str, bytes]]) -> list[dict[str, Any]]:
    """Pictures as the record keeps them: described and hashed, never decoded."""
    return [
        {
            "picture_type": kind,
            "mime": mime[:MAX_TEXT],
            "description": desc[:MAX_TEXT],
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        for kind, mime, desc, data in pictures
    ]


def comment_tags(tags: oggfmt.Comments | None, out: dict[str, Any], problems: list[str], where: str) -> None:
    """The vendor string and comments into the record's tags (a key given twice: a list).
    A ``METADATA_BLOCK_PICTURE`` comment (cover art in Ogg, a base64 FLAC picture block)
    becomes a described and hashed picture, not text."""
    if tags is None:
        return
    if len(tags.vendor) > MAX_TEXT:
        problems.append(f"{where} vendor string: {len(tags.vendor)} characters; the first {MAX_TEXT} kept")
    out["vendor"] = tags.vendor[:MAX_TEXT]
    found: dict[str, Any] = {}
    pictures: list[tuple[int, str, str, bytes]] = []
    for key, value in tags.comments:
        if key == "METADATA_BLOCK_PICTURE":
            try:
                block = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                problems.append(f"{where} METADATA_BLOCK_PICTURE is not base64; kept as text")
            else:
                picture = oggfmt.parse_picture(block, problems)
                if picture is not None:
                    pictures.append(picture)
                    continue
        if len(value) > MAX_TEXT:
            problems.append(f"{where} {key}: {len(value)} characters; the first {MAX_TEXT} kept")
            value = value[:MAX_TEXT]
        prev = found.get(key)
        found[key] = value if prev is None else [*(prev if isinstance(prev, list) else [prev]), value]
    if found:
        out["comments"] = found
    if pictures:
        out["pictures"] = describe_pictures(pictures)


#: Comments that hold a time, and the timestamp each becomes: DATE (the recording's date,
#: by the Vorbis comment field list), CREATION_TIME (FFmpeg's, from its input's metadata).
TIME_COMMENTS = {"DATE": "RecordingTime", "CREATION_TIME": "CreationTime"}


def recorded(source: str, comments: dict[str, Any], problems: list[str]) -> tuple[Timestamp, ...]:
    """The time comments (:data:`TIME_COMMENTS`) as timestamps, when they are ISO times."""
    out: list[Timestamp] = []
    for key, name in TIME_COMMENTS.items():
        value = comments.get(key)
        if not isinstance(value, str) or not value.strip():
            continue
        try:
            ts = make_iso_timestamp(name, source, value)
        except TimeParseError:
            continue  # free text ("1998, live"): kept as the comment, not a time
        if ts is not None:
            out.append(ts)
    return tuple(out)


def software(tags: dict[str, Any], source: str) -> Device | None:
    """The device's software: the ENCODER comment (the application), else the vendor
    string (the encoding library)."""
    encoder = (tags.get("comments") or {}).get("ENCODER")
    made_by = encoder if isinstance(encoder, str) and encoder else tags.get("vendor")
    return Device(software=made_by, source=source) if isinstance(made_by, str) and made_by else None


def extraction(name: str, tags: dict[str, Any], media: dict[str, Any] | None, problems: list[str]) -> Extraction:
    """The record part of an Ogg or FLAC file: its tags, the ``DATE`` comment as a time,
    the encoder as the device's software, the audio properties, what was wrong."""
    return Extraction(
        extractor=name,
        group=name,
        tags=tags,
        timestamps=recorded(name, tags.get("comments") or {}, problems),
        device=software(tags, name),
        image=media,
        problems=tuple(problem(name, p) for p in problems),
    )


@register
class OggExtractor:
    name = "ogg"
    description = (
        "Ogg Opus, Vorbis, Speex and FLAC (voice messages; the audio of an Ogg video): encoder vendor string, "
        "comments, pictures (hashed), channels, rate, duration"
    )
    mime_types = frozenset(
        {"audio/ogg", "audio/opus", "audio/x-opus+ogg", "audio/vorbis", "audio/x-speex", "application/ogg", "video/ogg"}
    )

    def extract(self, ctx: FileContext) -> Extraction:
        with ctx.open() as fh:
            stream = oggfmt.read_ogg(fh, ctx.size)
        problems = list(stream.notes)
        tags: dict[str, Any] = {"codec": stream.codec} if stream.codec else {}
        if len(stream.streams) > 1:
            tags["streams"] = stream.streams
        comment_tags(stream.tags, tags, problems, "Ogg comment")
        media: dict[str, Any] | None = None
        if stream.codec in oggfmt.AUDIO:
            tags["channels"] = stream.channels
            tags["sample_rate" if stream.codec != "opus" else "input_sample_rate"] = stream.sample_rate
            if stream.codec == "opus":
                tags["pre_skip"] = stream.pre_skip
            tags["last_granule"] = stream.last_granule
            media = {"format": "Ogg", "codec": stream.codec, "channels": stream.channels}
            media["sample_rate"] = 48_000 if stream.codec == "opus" else stream.sample_rate
            if stream.duration_s is not None:
                media["duration_s"] = stream.duration_s
        elif stream.codec:
            tags["headers_read"] = False  # no Opus, Vorbis, Speex or FLAC stream: nothing more to read
        if stream.chained:
            tags["chained"] = True  # another stream follows: the first stream's length is not the file's
        return extraction(self.name, tags, media, problems)
