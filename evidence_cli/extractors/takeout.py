"""Google Photos' metadata files from Google Takeout (and the returns Google gives to a
warrant in the same form): ``IMG_1234.jpg.supplemental-metadata.json`` (older exports:
``IMG_1234.jpg.json``) beside each photo or video, ``metadata.json`` in each album folder.

Google keeps what it knows of a photo in these files, not in the photo: when it was taken
(as Google holds it: from the photo's EXIF, or as the account's user set it), when it was
uploaded, where (``geoData``: possibly set by the user, or estimated by Google;
``geoDataExif``: the photo's own), the people the user tagged, the caption, the device
type and folder it was uploaded from, the app that saved it, and whether it was archived,
trashed or a favourite. The layout is Google's, undocumented, read here as exports give it;
every field is optional.

The record is the metadata file's: its timestamps (UTC: Unix seconds, ``utc-by-spec``),
position and capture time are those of the photo it describes, named by ``title``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from evidence_cli.extractors.base import FileContext, problem, register
from evidence_cli.models import Extraction, Finding, GeoPoint, JSONValue, Problem, Timestamp
from evidence_cli.timeparse import iso_utc

NAME = "takeout"
#: The largest metadata file read (Google's are about a kilobyte).
MAX_BYTES = 4 * 1024 * 1024
#: Longest text kept from a field, and most tagged people kept.
MAX_TEXT = 64 * 1024
MAX_PEOPLE = 1000
#: Two positions further apart than this (degrees, about 11 m) are not the same place.
SAME_PLACE = 1e-4

#: What a metadata file's first 64 KiB hold: a title, and a photo's times or an album's.
_KEY = re.compile(rb'"(title|photoTakenTime|creationTime|access|date)"\s*:')

#: (JSON key, timestamp name) of a photo's times, and an album's.
ITEM_TIMES = (
    ("photoTakenTime", "PhotoTakenTime"),
    ("creationTime", "CreationTime"),
    ("photoLastModifiedTime", "PhotoLastModifiedTime"),
    ("modificationTime", "ModificationTime"),
)
ALBUM_TIMES = (("date", "AlbumDate"),)
#: Unix seconds a time may hold: 1970 (exclusive: Google writes 0 for "none") to 2100.
_LATEST = 4_102_444_800

#: What this reader gives the files it has nothing to say of (nearly all): one shared
#: value, never changed, as making one costs more than the reading here (2 µs).
NOTHING = Extraction(extractor=NAME, group=NAME)


@register
class TakeoutExtractor:
    name = NAME
    description = "Google Photos metadata files from Google Takeout: time taken and uploaded, places, people, device"
    mime_types = frozenset({"application/json", "text/plain"})

    def extract(self, ctx: FileContext) -> Extraction:
        head = ctx.head[: 64 * 1024]
        # Google's files are JSON objects: most text is turned away by its first byte.
        if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] != b"{" or b'"title"' not in head:
            return NOTHING
        keys = set(_KEY.findall(head))
        if b"title" not in keys or not (
            b"photoTakenTime" in keys or b"creationTime" in keys or {b"access", b"date"} <= keys
        ):
            return NOTHING
        if ctx.size > MAX_BYTES:
            return _nothing(f"{ctx.size} bytes: a Google Photos metadata file is about a kilobyte; not read")
        with ctx.open() as fh:
            data = fh.read(MAX_BYTES)
        text = data.decode("utf-8-sig", errors="replace")
        undecodable = "\ufffd" in text and "\ufffd".encode() not in data
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError) as exc:
            why = "nested too deeply" if isinstance(exc, RecursionError) else f"{type(exc).__name__}: {exc}"
            return _nothing(f"looks like a Google Photos metadata file but is not valid JSON: {why}")
        if not isinstance(doc, dict) or not isinstance(doc.get("title"), str):
            return NOTHING
        if any(isinstance(doc.get(key), dict) for key, _ in ITEM_TIMES):
            found = _read(doc, album=False)
        elif isinstance(doc.get("date"), dict) and "access" in doc:
            found = _read(doc, album=True)
        else:
            return NOTHING
        if undecodable:
            said = problem(NAME, "not valid UTF-8: the bytes that are not are shown as U+FFFD")
            found = replace(found, problems=(said, *found.problems))
        return found


def _nothing(why: str) -> Extraction:
    return Extraction(extractor=NAME, group=NAME, problems=(problem(NAME, why),))


def _text(value: Any, problems: list[Problem], what: str) -> str | None:
    if not isinstance(value, str):
        return None
    if len(value) > MAX_TEXT:
        problems.append(
            problem(NAME, f"{what}: {len(value)} characters, the first {MAX_TEXT} kept", type="LimitReached")
        )
        return value[:MAX_TEXT]
    return value


def _read(doc: dict[str, Any], album: bool) -> Extraction:
    problems: list[Problem] = []
    tags: dict[str, JSONValue] = {
        "format": "Google Photos album (Takeout)" if album else "Google Photos item (Takeout)",
        "title": _text(doc["title"], problems, "title"),
    }
    for key, tag in (("description", "description"), ("url", "url"), ("access", "access")):
        value = _text(doc.get(key), problems, key)
        if value:
            tags[tag] = value
    views = doc.get("imageViews")
    if isinstance(views, (str, int)) and not isinstance(views, bool):
        tags["image_views"] = str(views)[:32]
    for key in ("archived", "trashed", "favorited"):
        if isinstance(doc.get(key), bool):
            tags[key] = doc[key]
    people = doc.get("people")
    if isinstance(people, list):
        names = [p["name"] for p in people if isinstance(p, Mapping) and isinstance(p.get("name"), str)]
        if len(names) > MAX_PEOPLE:
            problems.append(
                problem(NAME, f"{len(names)} people tagged, the first {MAX_PEOPLE} kept", type="LimitReached")
            )
        if names:
            tags["people"] = [n[:256] for n in names[:MAX_PEOPLE]]
    _origin(doc, tags, problems)
    timestamps = [t for key, name in (ALBUM_TIMES if album else ITEM_TIMES) if (t := _time(doc, key, name, problems))]
    gps, findings = _place(doc, tags, problems)
    return Extraction(
        extractor=NAME,
        group=NAME,
        tags=tags,
        timestamps=tuple(timestamps),
        gps=gps,
        problems=tuple(problems),
        findings=tuple(findings),
    )


def _origin(doc: dict[str, Any], tags: dict[str, JSONValue], problems: list[Problem]) -> None:
    """Where the item came from: a phone's upload (its device type and folder), a shared
    album, a creation of Google Photos; the app that saved it."""
    origin = doc.get("googlePhotosOrigin")
    if isinstance(origin, Mapping) and origin:
        tags["origin"] = [str(k)[:64] for k in list(origin)[:8]]
        upload = origin.get("mobileUpload")
        if isinstance(upload, Mapping):
            kind = _text(upload.get("deviceType"), problems, "deviceType")
            if kind:
                tags["device_type"] = kind
            folder = upload.get("deviceFolder")
            if isinstance(folder, Mapping):
                name = _text(folder.get("localFolderName"), problems, "localFolderName")
                if name:
                    tags["device_folder"] = name
    source = doc.get("appSource")
    if isinstance(source, Mapping):
        package = _text(source.get("androidPackageName"), problems, "androidPackageName")
        if package:
            tags["app_package"] = package


def _time(doc: dict[str, Any], key: str, name: str, problems: list[Problem]) -> Timestamp | None:
    """A ``{"timestamp": "<Unix seconds>", "formatted": ...}`` time, in UTC."""
    held = doc.get(key)
    if not isinstance(held, Mapping):
        return None
    seconds = held.get("timestamp")
    text = str(seconds) if isinstance(seconds, (str, int)) and not isinstance(seconds, bool) else None
    if text is None or not text.isascii() or not text.isdigit() or len(text) > 12:
        problems.append(problem(NAME, f"{key}: not a time in seconds: {str(seconds)[:64]!r}"))
        return None
    value = int(text)
    if value == 0:
        return None  # (Google's "none")
    if value >= _LATEST:
        problems.append(problem(NAME, f"{key}: {value} seconds is after 2100"))
        return None
    utc = iso_utc(datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=value))
    formatted = held.get("formatted")
    raw = text + (f" ({formatted[:128]})" if isinstance(formatted, str) and formatted else "")
    return Timestamp(name, NAME, utc, utc, raw, "utc-by-spec")


def _position(held: Any) -> tuple[float, float, float | None] | None:
    """(latitude, longitude, altitude) of a ``geoData`` object; None for none (Google writes
    0.0, 0.0 when it has no place) or an impossible one."""
    if not isinstance(held, Mapping):
        return None
    lat, lon, alt = held.get("latitude"), held.get("longitude"), held.get("altitude")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (lat, lon)):
        return None
    assert isinstance(lat, (int, float)) and isinstance(lon, (int, float))
    if (lat == 0 and lon == 0) or abs(lat) > 90 or abs(lon) > 180:
        return None
    height = float(alt) if isinstance(alt, (int, float)) and not isinstance(alt, bool) and math.isfinite(alt) else None
    return float(lat), float(lon), height


def _place(
    doc: dict[str, Any], tags: dict[str, JSONValue], problems: list[Problem]
) -> tuple[GeoPoint | None, list[Finding]]:
    """The photo's position (its own, ``geoDataExif``, else the one Google holds), and a
    finding when Google holds another place than the photo's own."""
    held, own = _position(doc.get("geoData")), _position(doc.get("geoDataExif"))
    for key, tag, found in (("geoData", "geo_data", held), ("geoDataExif", "geo_data_exif", own)):
        if found is not None:
            tags[tag] = {"latitude": found[0], "longitude": found[1], "altitude": found[2]}
        elif isinstance(doc.get(key), Mapping) and _nonzero(doc[key]):
            problems.append(problem(NAME, f"{key}: not a position on Earth"))
    findings: list[Finding] = []
    if held is not None and (own is None or max(abs(held[0] - own[0]), abs(held[1] - own[1])) > SAME_PLACE):
        findings.append(
            Finding(
                "takeout-place-differs",
                "notice",
                "Google Photos holds a place for this photo "
                + ("that its own EXIF does not give" if own is None else "other than its own EXIF one")
                + ": set or moved by the account's user, or estimated by Google",
                {"geo_data": [held[0], held[1]], "geo_data_exif": None if own is None else [own[0], own[1]]},
            )
        )
    chosen, source_key = (own, "geoDataExif") if own is not None else (held, "geoData")
    if chosen is None:
        return None, findings
    point = GeoPoint(
        latitude=round(chosen[0], 8),
        longitude=round(chosen[1], 8),
        altitude=None if chosen[2] is None or chosen[2] == 0 else round(chosen[2], 3),
        timestamp_utc=None,
        source=NAME,
        raw={"from": source_key},
    )
    return point, findings


def _nonzero(held: Mapping[str, Any]) -> bool:
    return any(isinstance(held.get(k), (int, float)) and held.get(k) != 0 for k in ("latitude", "longitude"))
