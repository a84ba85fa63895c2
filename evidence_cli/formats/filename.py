"""Dates that apps write into file names.

Messaging apps strip a picture's EXIF when they send it, so the name is often the only
date a received photo keeps: WhatsApp on Android names it ``IMG-20190501-WA0003.jpg``
(the day it was sent or received), Telegram's chat export ``photo_3@01-05-2019_13-45-10.jpg``
(the message's time), Android's screenshot tool ``Screenshot_20190501-134510_WhatsApp.jpg``
(when it was taken, and the app that was on screen). This module recognises the names of
the apps and devices evidence in these cases comes from and reads the time they hold.

Forensic limits, said in every record: a name is what the file is called now, anyone can
rename a file, and a name records no time zone (the clock of the device that named it, on
its own zone). The one exception is ``FB_IMG_<milliseconds since 1970>``, UTC by
definition. A name whose digits are no real date or time is not recognised.

Pure functions on text: no I/O, no clock, no local zone. The name is hostile: it is
matched only against anchored patterns of fixed shapes (linear time), the one free-text
part kept (the app a screenshot shows) is at most :data:`MAX_SHOWN` characters of
letters, digits and a few signs, and the raw name is cut to :data:`MAX_RAW`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from evidence_cli.models import Finding, Timestamp
from evidence_cli.timeparse import TimeParseError, iso_utc, parse_iso

#: The group and timestamp source of what a name says.
SOURCE = "filename"

#: Timestamp names by what the name's time is. ``NameCreateDate``: when the file was made
#: (a camera's or a screenshot tool's name: it should agree with the capture time).
#: ``NameMessageDate``: the time of the message that carried it (a chat export's name).
#: ``NameSavedDate``: when an app saved it on the device (sent, received or downloaded).
#: The last two come at or after the capture.
CREATE = "NameCreateDate"
MESSAGE = "NameMessageDate"
SAVED = "NameSavedDate"
NAMES = (CREATE, MESSAGE, SAVED)

#: Longest raw name kept in a record (a name is at most 255 bytes on common file systems;
#: an archive member's may be longer).
MAX_RAW = 1024
#: Longest app name a screenshot's name may give.
MAX_SHOWN = 64
#: Two clocks on two zones can differ by 26 hours (UTC-12 to UTC+14): a name's time and a
#: capture time further apart than that, the wrong way, cannot both be right.
TOLERANCE = timedelta(hours=26)

_EXT = r"(?P<copy>\s?\(\d{1,4}\)|~\d{1,4}| - (?:Copy|Copie|Kopie)(?: \(\d{1,4}\))?)?\.(?P<ext>[A-Za-z0-9]{1,5})"
_YMD = r"(?P<Y>(?:19|20)\d\d)(?P<M>\d\d)(?P<D>\d\d)"
_HMS = r"(?P<h>\d\d)(?P<m>\d\d)(?P<s>\d\d)"
_Y_M_D = r"(?P<Y>(?:19|20)\d\d)-(?P<M>\d\d)-(?P<D>\d\d)"
# Lazy: the shortest app name that leaves a copy's suffix and the extension after it.
_SHOWN = r"(?P<shown>[^\W_](?:[\w .&'+-]{0,62}?[\w.+])?)"

#: What a name's first letters say the file is (WhatsApp on Android, camera apps); other
#: words (``PHOTO``, ``photo``) are kept in lower case.
MEDIA = {
    "IMG": "image",
    "VID": "video",
    "AUD": "audio",
    "PTT": "voice message",
    "DOC": "document",
    "STK": "sticker",
    "PANO": "panorama",
    "MVIMG": "motion photo",
    "PORTRAIT": "portrait",
    "TRIM": "trimmed video",
}


@dataclass(frozen=True)
class _Pattern:
    key: str
    """Stable identifier, recorded as ``pattern``."""
    app: str
    """Who names files this way."""
    meaning: str
    """What the time is, for the examiner."""
    name: str
    """The timestamp's name (CREATE, MESSAGE or SAVED)."""
    regex: re.Pattern[str]


def _p(key: str, app: str, name: str, meaning: str, body: str) -> _Pattern:
    return _Pattern(key, app, meaning, name, re.compile(body + _EXT))


_PATTERNS: tuple[_Pattern, ...] = (
    _p(
        "whatsapp-android",
        "WhatsApp (Android)",
        SAVED,
        "the day WhatsApp saved the file on the phone, when it was sent or received "
        "(a date only, on the phone's clock)",
        r"(?P<media>IMG|VID|AUD|PTT|DOC|STK)-" + _YMD + r"-WA(?P<seq>\d{4,6})",
    ),
    _p(
        "whatsapp-iphone-export",
        "WhatsApp (iPhone)",
        MESSAGE,
        "the time of the message that carried the file, as WhatsApp on an iPhone names the "
        "media it exports with a chat (numbered) or shares (the phone's clock)",
        r"(?:(?P<seq>\d{8})-)?(?P<media>PHOTO|VIDEO|AUDIO|GIF|STICKER|DOCUMENT|CONTACT)-"
        + _Y_M_D
        + r"-(?P<h>\d\d)-(?P<m>\d\d)-(?P<s>\d\d)",
    ),
    _p(
        "telegram-export",
        "Telegram Desktop (chat export)",
        MESSAGE,
        "the time of the message that carried the file, as Telegram Desktop names an "
        "exported chat's media (the exporting computer's clock)",
        r"(?P<media>photo|video|file|sticker|audio|voice|round_video)_(?P<seq>\d{1,9})@"
        r"(?P<D>\d\d)-(?P<M>\d\d)-(?P<Y>(?:19|20)\d\d)_(?P<h>\d\d)-(?P<m>\d\d)-(?P<s>\d\d)",
    ),
    _p(
        "telegram-desktop",
        "Telegram Desktop",
        SAVED,
        "when Telegram Desktop saved the file (the computer's clock)",
        r"(?P<media>photo|video|file|audio|voice|sticker)_" + _Y_M_D + r"_(?P<h>\d\d)-(?P<m>\d\d)-(?P<s>\d\d)",
    ),
    _p(
        "signal",
        "Signal",
        SAVED,
        "when Signal saved the attachment (the device's clock)",
        r"signal-"
        + _Y_M_D
        + r"-(?:(?P<h>\d\d)(?P<m>\d\d)(?P<s>\d\d)|(?P<h2>\d\d)-(?P<m2>\d\d)-(?P<s2>\d\d)(?:-(?P<f>\d{3}))?)"
        r"(?:[_-](?P<seq>\d{1,4}))?",
    ),
    _p(
        "android-screenshot",
        "Android screenshot",
        CREATE,
        "when the screenshot was taken (the phone's clock)",
        r"Screenshot_(?:"
        + _YMD
        + r"-"
        + _HMS
        + r"|(?P<Y2>(?:19|20)\d\d)-(?P<M2>\d\d)-(?P<D2>\d\d)"
        + r"-(?P<h2>\d\d)-(?P<m2>\d\d)-(?P<s2>\d\d)(?:-(?P<f>\d{2,3}))?)"
        r"(?:_" + _SHOWN + r")?",
    ),
    _p(
        "macos-screenshot",
        "macOS screenshot",
        CREATE,
        "when the screenshot was taken (the Mac's clock)",
        r"(?:Screenshot|Screen Shot|Bildschirmfoto|Capture d['\u2019]\u00e9cran) "
        + _Y_M_D
        + r" (?:at|um|\u00e0) (?P<h>\d{1,2})\.(?P<m>\d\d)\.(?P<s>\d\d)(?:[ \u202f\u00a0](?P<ampm>AM|PM))?",
    ),
    _p(
        "windows-screenshot",
        "Windows screenshot (Snipping Tool)",
        CREATE,
        "when the screenshot was taken (the computer's clock)",
        r"Screenshot " + _Y_M_D + r" " + _HMS,
    ),
    _p(
        "pixel-camera",
        "Google Pixel camera",
        CREATE,
        "when the camera app named the file, at capture (the name does not say on which zone's clock)",
        r"PXL_" + _YMD + r"_" + _HMS + r"(?P<f>\d{3})(?:~\d{1,4})?(?P<mode>(?:\.[A-Z][A-Z0-9_]{0,23}){0,3})",
    ),
    _p(
        "android-camera",
        "Android camera app",
        CREATE,
        "when the app that wrote the file named it; for a camera app, the moment of capture (the phone's clock)",
        r"(?P<media>IMG|VID|PANO|MVIMG|PORTRAIT|TRIM)_"
        + _YMD
        + r"_"
        + _HMS
        + r"(?P<suffix>_\d{1,4})?(?:_[A-Z][A-Z0-9]{0,15})?",
    ),
    _p(
        "windows-phone-camera",
        "Windows Phone camera",
        CREATE,
        "when the camera app named the file, at capture (the phone's clock)",
        r"WP_" + _YMD + r"_(?P<h>\d\d)_(?P<m>\d\d)_(?P<s>\d\d)(?:_[A-Za-z]{1,16})?",
    ),
    _p(
        "date-time",
        "Samsung camera, and others naming files YYYYMMDD_HHMMSS",
        CREATE,
        "when the app that wrote the file named it; for a camera app, the moment of capture (the device's clock)",
        _YMD + r"_" + _HMS,
    ),
    _p(
        "dropbox-upload",
        "Dropbox camera upload, and others naming files YYYY-MM-DD HH.MM.SS",
        CREATE,
        "the capture time the uploading app read from the file, or when it was made (the device's clock)",
        _Y_M_D + r" (?P<h>\d\d)\.(?P<m>\d\d)\.(?P<s>\d\d)(?:-(?P<seq>\d{1,4}))?",
    ),
    _p(
        "facebook-saved",
        "Facebook (Android), a saved picture",
        SAVED,
        "when the picture was saved from Facebook (milliseconds since 1970-01-01, UTC)",
        r"FB_IMG_(?P<epoch>\d{13})",
    ),
)

#: The characters a name of each pattern can start with: a name is tried only against the
#: patterns its first character allows (two or three, not fourteen: about 1 µs a name).
_DIGIT = "0123456789"
_STARTS = {
    "whatsapp-android": "IVAPDS",
    "whatsapp-iphone-export": _DIGIT + "PVAGSDC",
    "telegram-export": "pvfsar",
    "telegram-desktop": "pvfas",
    "signal": "s",
    "android-screenshot": "S",
    "macos-screenshot": "SBC",
    "windows-screenshot": "S",
    "pixel-camera": "P",
    "android-camera": "IVPMT",
    "windows-phone-camera": "W",
    "date-time": "12",
    "dropbox-upload": "12",
    "facebook-saved": "F",
}
_BY_FIRST: dict[str, tuple[_Pattern, ...]] = {
    c: tuple(p for p in _PATTERNS if c in _STARTS[p.key]) for c in {c for starts in _STARTS.values() for c in starts}
}

#: Milliseconds since 1970 a ``FB_IMG_`` name may hold: 2004 (Facebook's start) to 2100.
_EPOCH_MS = (1_072_915_200_000, 4_102_444_800_000)
#: Names without four digits in a row match no pattern: one search turns most names away.
_DIGITS = re.compile(r"\d{4}")


@dataclass(frozen=True)
class NameTime:
    """What a file's name says of its time."""

    pattern: str
    app: str
    meaning: str
    timestamp: Timestamp
    details: dict[str, str | int]
    """What else the name says: ``media`` (its type), ``sequence`` (an app's count),
    ``suffix`` (a number a camera app adds: a count or milliseconds), ``mode`` (a Pixel's,
    ``PORTRAIT``), ``shown_app`` (the app on screen, as a screenshot's name gives it),
    ``copy`` (the suffix a copy's name gets: ``(1)``, ``~2``, ``- Copy``), ``folder_says``
    (``sent`` or ``received``: the WhatsApp folder a WhatsApp name is in)."""

    def tags(self) -> dict[str, str | int]:
        """The ``metadata.filename`` group of a record."""
        return {
            "pattern": self.pattern,
            "app": self.app,
            "time": self.timestamp.value,
            "time_is": self.meaning,
            **self.details,
        }


def base_name(path: str) -> str:
    """The last part of a path or an archive member's name (``/`` or ``\\``)."""
    return path.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]


def parse_path(path: str, *, backslash: bool = True) -> NameTime | None:
    """:func:`parse` of a path's last part, its folder given: an archive member's name
    (``/`` or ``\\``), or with ``backslash=False`` a scanned file's path (``/`` only: on
    Linux a backslash is a character of a name)."""
    name = base_name(path) if backslash else path.rsplit("/", 1)[-1]
    return parse(name, path[: len(path) - len(name)])


def parse(name: str, folder: str = "") -> NameTime | None:
    """What the file name ``name`` (its last part only) says of its time, or None when it
    is no name this module knows, or its digits are no real date and time. ``folder``, the
    path of the folder it is in (``/`` or ``\\``), may say more (see :func:`whatsapp_folder`)."""
    if not name or len(name) > 255 or _DIGITS.search(name) is None:
        return None
    for pattern in _BY_FIRST.get(name[0], ()):
        m = pattern.regex.fullmatch(name)
        if m is None:
            continue
        found = _read(pattern, m, name)
        if found is not None:
            if pattern.key == "whatsapp-android" and (says := whatsapp_folder(folder)) is not None:
                found.details["folder_says"] = says
            return found
    return None


#: The folders WhatsApp on Android (and WhatsApp Business) keeps media in.
_WHATSAPP_MEDIA_FOLDER = re.compile(r"WhatsApp (?:Business )?(?:Images|Video|Audio|Documents|Animated Gifs)")


def whatsapp_folder(folder: str) -> str | None:
    """``sent`` or ``received``, as WhatsApp on Android files its media: what it receives
    in its media folders (``WhatsApp Images``, ``WhatsApp Video`` ...), what the phone's
    user sends in a ``Sent`` folder inside them. None when the folder is neither (the file
    was copied or moved elsewhere, or is in ``Private``)."""
    parts = [p for p in folder.replace("\\", "/").split("/") if p]
    if not parts:
        return None
    if _WHATSAPP_MEDIA_FOLDER.fullmatch(parts[-1]):
        return "received"
    if parts[-1] == "Sent" and len(parts) > 1 and _WHATSAPP_MEDIA_FOLDER.fullmatch(parts[-2]):
        return "sent"
    return None


def _read(pattern: _Pattern, m: re.Match[str], name: str) -> NameTime | None:
    g = {k: v for k, v in m.groupdict().items() if v is not None}
    raw = name[:MAX_RAW]
    details: dict[str, str | int] = {}
    media = g.get("media")
    if media is not None:
        details["media"] = MEDIA.get(media, media.lower())
    if "seq" in g:
        details["sequence"] = int(g["seq"])
    if "suffix" in g:
        details["suffix"] = g["suffix"][1:]
    if "shown" in g:
        details["shown_app"] = g["shown"][:MAX_SHOWN]
    if "mode" in g and g["mode"]:
        details["mode"] = g["mode"].lstrip(".")
    if "copy" in g:
        details["copy"] = g["copy"].strip()
    if "epoch" in g:
        ms = int(g["epoch"])
        if not _EPOCH_MS[0] <= ms < _EPOCH_MS[1]:
            return None
        when = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=ms)
        utc = iso_utc(when, f"{ms % 1000:03d}")
        stamp = Timestamp(pattern.name, SOURCE, utc, utc, raw, "utc-by-spec")
        return NameTime(pattern.key, pattern.app, pattern.meaning, stamp, details)
    year, month, day = (g.get(k) or g.get(k + "2") for k in ("Y", "M", "D"))
    hour, minute, second = (g.get(k) or g.get(k + "2") for k in ("h", "m", "s"))
    if hour is not None and "ampm" in g:
        h = int(hour)
        if not 1 <= h <= 12:
            return None
        hour = str(h % 12 + (12 if g["ampm"] == "PM" else 0))
    try:
        when = datetime(
            int(year or 0), int(month or 0), int(day or 0), int(hour or 0), int(minute or 0), int(second or 0)
        )
    except ValueError:  # (no such day, hour, minute or second)
        return None
    if hour is None:
        value = when.date().isoformat()
    else:
        value = when.isoformat(timespec="seconds") + (f".{g['f']}" if "f" in g else "")
    stamp = Timestamp(pattern.name, SOURCE, value, None, raw)
    return NameTime(pattern.key, pattern.app, pattern.meaning, stamp, details)


def conflict(named: Timestamp, captured: Timestamp) -> dict[str, str | float] | None:
    """When a name's time (``named``, from :func:`parse`) and the file's capture time
    cannot both be right, what they say: a file made (a camera's or screenshot tool's
    name) more than :data:`TOLERANCE` from its capture time, or sent, received or saved
    more than that before it. None when they agree, or cannot be compared.

    Each is read on its own clock: a time without an offset as its wall-clock time, and
    the tolerance covers any two zones. A name that is only a date stands for the day."""
    try:
        start, end = _span(named)
        shot = _wall(captured)
    except (TimeParseError, ValueError, OverflowError):
        return None
    if shot is None:
        return None
    if named.utc is not None and captured.utc is not None:
        start = end = parse_iso(named.utc).replace(tzinfo=None)
        shot = parse_iso(captured.utc).replace(tzinfo=None)
        slack = timedelta(0)
    else:
        slack = TOLERANCE
    if shot > end + slack:
        gap = shot - end
        how = "after"
    elif named.name == CREATE and shot < start - slack:
        gap = start - shot
        how = "before"
    else:
        return None
    return {
        "name_time": named.value,
        "name_time_is": named.name,
        "captured": captured.value,
        "captured_from": f"{captured.source} {captured.name}",
        "capture_is": how,
        "hours_apart": round(gap.total_seconds() / 3600, 1),
    }


#: The code of the finding :func:`conflict_finding` makes.
CONFLICT = "name-date-conflict"


def conflict_finding(timestamps: tuple[Timestamp, ...], captured: Timestamp | None) -> Finding | None:
    """The ``name-date-conflict`` finding when the name's time among a record's
    ``timestamps`` and its ``captured`` time cannot both be right (see :func:`conflict`)."""
    if captured is None:
        return None
    named = next((t for t in timestamps if t.source == SOURCE and t.name in NAMES), None)
    if named is None:
        return None
    found = conflict(named, captured)
    if found is None:
        return None
    return Finding(CONFLICT, "notice", conflict_message(found), found)


def conflict_message(found: dict[str, str | float]) -> str:
    """The examiner's sentence for what :func:`conflict` found."""
    hours = float(found["hours_apart"])
    apart = f"{hours / 24:.1f} days" if hours >= 48 else f"{hours} hours"
    said = f"the capture time ({found['captured']}, {found['captured_from']})"
    if found["name_time_is"] == CREATE:
        return (
            f"{said} is {apart} {found['capture_is']} the time the file's name gives for its making "
            f"({found['name_time']}): the app that names files this way takes both from one clock; the file "
            "was renamed, or a time was changed"
        )
    return (
        f"{said} is {apart} after the time the file's name gives for when it was sent, received or "
        f"saved ({found['name_time']}): nothing is captured after it is sent; the file was renamed, or a "
        "time or a clock is wrong"
    )


def _span(stamp: Timestamp) -> tuple[datetime, datetime]:
    """The first and last instant (wall clock) a name's time may stand for."""
    if "T" not in stamp.value:
        day = parse_iso(stamp.value)
        return day, day + timedelta(days=1) - timedelta(microseconds=1)
    at = parse_iso(stamp.value).replace(tzinfo=None)
    return at, at


def _wall(stamp: Timestamp) -> datetime | None:
    """A capture time's wall-clock time (its own offset dropped); None for a date only."""
    if "T" not in stamp.value:
        return None
    return parse_iso(stamp.value).replace(tzinfo=None)
