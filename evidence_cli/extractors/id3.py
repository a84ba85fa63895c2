"""ID3 tags of MP3 files: what an audio file says of itself.

A recorded call, a voice note or a message made with a generated voice often reaches an
examiner as an MP3. Its ID3 tag may say when it was recorded (``TDRC``, or ``TYER`` +
``TDAT`` + ``TIME`` before ID3v2.4), which software encoded it (``TSSE``: a phone's
recorder, ``Lavf`` for FFmpeg, a voice generator's name), who made it, and it may hold
comments, pictures and whole embedded files (``GEOB``; a C2PA manifest store is one:
see the ``c2pa`` reader). Frames keep their ID3 names (ID3v2.2's three-letter names are
given their ID3v2.3 names); pictures and embedded objects are described and hashed,
never decoded. Parsing is in :mod:`evidence_cli.formats.id3`, within bounds.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from evidence_cli.extractors.base import FileContext, problem, register
from evidence_cli.formats import id3, mpeg_audio
from evidence_cli.models import Device, Extraction, Timestamp
from evidence_cli.timeparse import TimeParseError, make_iso_timestamp

NAME = "id3"
#: Longest text kept from one value (a lyrics frame can hold a book).
MAX_TEXT = 4096
#: Bytes of a private or unknown frame kept, as hex.
BLOB_HEAD = 64
#: ID3v2.4 time frames and the names their timestamps get.
TIME_FRAMES = {
    "TDRC": "RecordingTime",
    "TDEN": "EncodingTime",
    "TDOR": "OriginalReleaseTime",
    "TDRL": "ReleaseTime",
    "TDTG": "TaggingTime",
}
#: Frames that may come more than once: always a list.
LISTED = frozenset({"COMM", "USLT", "TXXX", "WXXX", "APIC", "GEOB", "PRIV", "UFID"})


@register
class Id3Extractor:
    name = NAME
    description = (
        "ID3 tags (v2.2-2.4, v1) of MP3 files: title, artist, recording time, encoder software, comments, "
        "pictures and embedded objects (described and hashed); the MPEG audio's channels, rate, bit rate, length"
    )
    mime_types = frozenset({"audio/mpeg", "audio/mp3", "audio/x-mp3", "audio/x-mpeg"})

    def extract(self, ctx: FileContext) -> Extraction:
        with ctx.open() as fh:
            tag, notes = ctx.id3_tag(fh)
            v1 = id3.read_v1(fh, ctx.size)
            stream = mpeg_audio.read(fh, ctx.size)
        problems = list(notes)
        if stream is None:
            problems.append(
                f"MPEG audio: no two frames in a row within the first {mpeg_audio.SEARCH} bytes of audio; "
                "its length is not known"
            )
        tags = frame_tags(tag, problems) if tag is not None else {}
        if v1:
            tags["ID3v1"] = v1
        timestamps = recorded(tags, problems, NAME)
        software = tags.get("TSSE")
        device = Device(software=software, source=NAME) if isinstance(software, str) and software else None
        return Extraction(
            extractor=NAME,
            group=NAME,
            tags=tags,
            timestamps=tuple(timestamps),
            device=device,
            image=_media(stream) if stream is not None else None,
            problems=tuple(problem(NAME, p) for p in problems),
        )


def _media(stream: mpeg_audio.Stream) -> dict[str, Any]:
    """The audio's properties from its first frame and its Xing/Info/VBRI header."""
    f = stream.frame
    media: dict[str, Any] = {
        "format": f"MP{f.layer}",
        "codec": f"MPEG-{f.version} Layer {'I' * f.layer}",
        "channels": f.channels,
        "sample_rate": f.sample_rate,
    }
    if stream.header is None:
        media["bitrate_kbps"] = f.bitrate_kbps
    else:
        media["frame_header"] = stream.header  # Xing: variable bit rate; Info: constant (LAME)
        if stream.frames is not None:
            media["frames"] = stream.frames
        if stream.average_kbps is not None:
            media["average_bitrate_kbps"] = stream.average_kbps
    if stream.duration_s is not None:
        media["duration_s"] = stream.duration_s
    return media


def frame_tags(tag: id3.Tag, problems: list[str]) -> dict[str, Any]:
    """An ID3v2 tag's version and frames as the record keeps them (also for an ID3 tag
    inside another container: a WAV's ``id3 `` chunk)."""
    tags: dict[str, Any] = {"version": f"ID3v{tag.version}"}
    for frame in tag.frames:
        _add(tags, frame, problems)
    return tags


def _bounded(text: str, where: str, problems: list[str]) -> str:
    if len(text) <= MAX_TEXT:
        return text
    problems.append(f"{where}: {len(text)} characters; the first {MAX_TEXT} kept")
    return text[:MAX_TEXT]


def _blob(data: bytes) -> dict[str, Any]:
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _add(tags: dict[str, Any], frame: id3.Frame, problems: list[str]) -> None:
    name, data = frame.name, frame.data
    if data is None:
        tags.setdefault("unread_frames", []).append(frame.stored_name)
        return
    value = _value(frame, data, problems)
    if value is None:
        return
    if name in LISTED:
        tags.setdefault(name, []).append(value)
    elif name in tags:  # the standard allows one; a second is kept apart, never dropped
        tags.setdefault("repeated_frames", []).append({"frame": frame.stored_name, "value": value})
    else:
        tags[name] = value


def _value(frame: id3.Frame, data: bytes, problems: list[str]) -> Any:
    """One frame's content as the record keeps it."""
    name, where = frame.name, f"ID3 frame {frame.stored_name}"
    enc = data[0] if data else 0
    text = id3.decode
    if name == "TXXX":
        (desc,), rest = id3.split_encoded(data[1:], enc, 1)
        values = id3.text_values(bytes([enc]) + rest, problems, where)
        joined = values[0] if len(values) == 1 else " / ".join(values)
        return {"description": text(desc, enc), "value": _bounded(joined, where, problems)}
    if name[0] == "T":
        values = [_bounded(v, where, problems) for v in id3.text_values(data, problems, where)]
        return values[0] if len(values) == 1 else (values or None)
    if name == "WXXX":
        (desc,), url = id3.split_encoded(data[1:], enc, 1)
        return {"description": text(desc, enc), "url": _bounded(id3.decode(url.split(b"\x00")[0], 0), where, problems)}
    if name[0] == "W":
        return _bounded(data.split(b"\x00")[0].decode("latin-1"), where, problems)
    if name in ("COMM", "USLT"):
        lang = data[1:4].decode("latin-1")
        (desc, body), _ = id3.split_encoded(data[4:], enc, 2)
        return {"language": lang, "description": text(desc, enc), "text": _bounded(text(body, enc), where, problems)}
    if name == "APIC":
        if frame.stored_name == "PIC":  # ID3v2.2: a three-letter image format
            mime, rest = data[1:4].decode("latin-1"), data[4:]
        else:
            (raw_mime,), rest = id3.split_encoded(data[1:], 0, 1)
            mime = raw_mime.decode("latin-1")
        kind = rest[0] if rest else None
        (desc,), picture = id3.split_encoded(rest[1:], enc, 1)
        return {"mime": mime, "picture_type": kind, "description": text(desc, enc), **_blob(picture)}
    if name == "GEOB":
        (raw_mime,), rest = id3.split_encoded(data[1:], 0, 1)
        (filename, desc), obj = id3.split_encoded(rest, enc, 2)
        return {
            "mime": raw_mime.decode("latin-1"),
            "filename": text(filename, enc),
            "description": text(desc, enc),
            **_blob(obj),
        }
    if name in ("PRIV", "UFID"):
        (owner,), rest = id3.split_encoded(data, 0, 1)
        return {"owner": owner.decode("latin-1"), "hex": rest[:BLOB_HEAD].hex(), **_blob(rest)}
    return {"hex": data[:BLOB_HEAD].hex(), **_blob(data)}


def recorded(tags: dict[str, Any], problems: list[str], source: str) -> list[Timestamp]:
    """The times in the frames of :func:`frame_tags`, as timestamps of ``source``."""
    out: list[Timestamp] = []

    def add(name: str, value: str, raw: str | None = None) -> None:
        try:
            ts = make_iso_timestamp(name, source, value)
        except TimeParseError as exc:
            problems.append(f"ID3 {name}: {exc}")
            return
        if ts is not None:
            out.append(ts if raw is None else dataclasses.replace(ts, raw=raw))

    for frame, name in TIME_FRAMES.items():
        value = tags.get(frame)
        if isinstance(value, str):
            add(name, value)
    if "TDRC" not in tags and isinstance(tags.get("TYER"), str):
        # ID3v2.3: the year, the day and month (DDMM) and the time (HHMM) apart.
        year, day, clock = tags["TYER"].strip(), tags.get("TDAT"), tags.get("TIME")
        raw = f"TYER={year}" + (f" TDAT={day}" if isinstance(day, str) else "")
        raw += f" TIME={clock}" if isinstance(clock, str) else ""
        iso = year
        if isinstance(day, str) and len(day) == 4 and day.isascii() and day.isdigit():
            iso += f"-{day[2:]}-{day[:2]}"
            if isinstance(clock, str) and len(clock) == 4 and clock.isascii() and clock.isdigit():
                iso += f"T{clock[:2]}:{clock[2:]}"
        add("RecordingTime", iso, raw)
    if "TDOR" not in tags and isinstance(tags.get("TORY"), str):
        add("OriginalReleaseTime", tags["TORY"].strip())
    return out
