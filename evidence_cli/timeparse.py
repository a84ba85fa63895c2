"""Timestamps: EXIF-style dates with sub-seconds and offsets, and stat times.

Nothing here reads the machine's clock or local time zone. A date without a stored
offset stays naive (``value`` has no offset, ``utc`` is None) unless an offset is
inferred from a UTC reference, which is then marked ``gps-inferred``.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from evidence_cli.models import OffsetOrigin, Timestamp

_EXIF_DT = re.compile(
    r"^\s*(\d{4})[:\-/.](\d{1,2})[:\-/.](\d{1,2})(?:[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?(?:[.,](\d+))?)?\s*"
    r"(Z|[+\-]\d{2}:?\d{2})?\s*$"
)
_OFFSET = re.compile(r"^\s*(?:(Z)|([+\-])(\d{2}):?(\d{2}))\s*$")
_DIGITS = re.compile(r"^\s*(\d+)\s*$")
#: A value's fraction of a second (see parse_iso).
_FRACTION = re.compile(r"^(.*?\.)(\d+)(.*)$")


class TimeParseError(ValueError):
    """A stored date/time that cannot be understood."""


def clean_text(raw: object) -> str:
    """Text of a stored value, NULs and surrounding blanks removed (raw is kept elsewhere)."""
    if isinstance(raw, bytes):
        raw = raw.decode("latin-1")
    return str(raw).replace("\x00", "").strip()


def is_blank_date(text: str) -> bool:
    """EXIF writes unknown dates as blanks or zeros ("0000:00:00 00:00:00", "    :  :  ")."""
    return not text.strip(" :-.0T\x00")


def parse_offset(raw: str) -> timedelta | None:
    """``+02:00`` / ``-0530`` / ``Z`` -> timedelta; None for blank. Raises on nonsense."""
    text = clean_text(raw)
    # EXIF 2.31 writes an unknown offset as blanks around the colon ("   :  ").
    if not text.strip(" :"):
        return None
    m = _OFFSET.match(text)
    if not m:
        raise TimeParseError(f"not a UTC offset: {text!r}")
    if m.group(1):
        return timedelta(0)
    sign = -1 if m.group(2) == "-" else 1
    hours, minutes = int(m.group(3)), int(m.group(4))
    if hours > 14 or minutes > 59:
        raise TimeParseError(f"UTC offset out of range: {text!r}")
    return sign * timedelta(hours=hours, minutes=minutes)


def format_offset(off: timedelta) -> str:
    total = int(off.total_seconds())
    sign = "-" if total < 0 else "+"
    total = abs(total)
    return f"{sign}{total // 3600:02d}:{(total % 3600) // 60:02d}"


def _frac(digits: str | None) -> str:
    return f".{digits}" if digits else ""


def _micro(digits: str | None) -> int:
    if not digits:
        return 0
    return int((digits + "000000")[:6])


def iso_utc(dt: datetime, frac_digits: str | None = None) -> str:
    """An aware datetime as ``YYYY-MM-DDTHH:MM:SS[.fff]Z``, keeping the stored precision."""
    try:
        u = dt.astimezone(timezone.utc)
    except OverflowError:
        raise TimeParseError(f"{dt.isoformat()} is outside the years 1-9999 in UTC") from None
    # isoformat, not strftime: glibc's %Y does not pad years before 1000.
    base = u.replace(tzinfo=None).isoformat(timespec="seconds")
    if frac_digits is None and u.microsecond:
        frac_digits = f"{u.microsecond:06d}".rstrip("0")
    return f"{base}{_frac(frac_digits)}Z"


def make_timestamp(
    name: str,
    source: str,
    raw: str,
    *,
    subsec: object = None,
    offset: object = None,
    raw_extra: str = "",
) -> Timestamp | None:
    """Build a Timestamp from an EXIF-style date text plus optional sub-seconds and offset.

    Returns None for an empty or all-zero date (EXIF's "unknown"). Raises
    :class:`TimeParseError` for text that is not a date or names an impossible time.
    ``raw_extra`` is appended to ``raw`` (e.g. the stored SubSec/Offset values).
    """
    text = clean_text(raw)
    if is_blank_date(text):
        return None
    m = _EXIF_DT.match(text)
    if not m:
        raise TimeParseError(f"{name}: not a date: {text!r}")
    y, mo, d, hh, mi, ss, frac, inline_off = m.groups()
    try:
        naive = datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0), int(ss or 0))
    except ValueError as exc:
        raise TimeParseError(f"{name}: impossible date {text!r}: {exc}") from None
    # SubSecTime: digits only; when the date already has a fraction, it wins.
    if not frac and subsec is not None:
        sub = clean_text(subsec)
        sm = _DIGITS.match(sub)
        if sm:
            frac = sm.group(1)
        elif sub:
            raise TimeParseError(f"{name}: sub-seconds not digits: {sub!r}")
    if frac:
        frac = frac[:9]
        naive = naive.replace(microsecond=_micro(frac))
    off: timedelta | None = None
    origin: OffsetOrigin = "none"
    if inline_off:
        off = parse_offset(inline_off)
        origin = "stored"
    elif offset is not None:
        off = parse_offset(str(offset) if not isinstance(offset, bytes) else offset.decode("latin-1"))
        origin = "stored" if off is not None else "none"
    if hh is None:
        # A date without a time of day: keep it a date (no invented midnight, no UTC).
        return Timestamp(
            name=name, source=source, value=naive.date().isoformat(), utc=None, raw=clean_text(raw) + raw_extra
        )
    local = naive.isoformat(timespec="seconds") + _frac(frac)
    if off is None:
        return Timestamp(name=name, source=source, value=local, utc=None, raw=clean_text(raw) + raw_extra)
    aware = naive.replace(tzinfo=timezone(off))
    return Timestamp(
        name=name,
        source=source,
        value=local + format_offset(off),
        utc=iso_utc(aware, frac),
        raw=clean_text(raw) + raw_extra,
        offset_origin=origin,
    )


def parse_iso(value: str) -> datetime:
    """Parse a Timestamp.value (naive or aware) back into a datetime.

    Reduced-precision values (``2019``, ``2019-05``, as XMP allows) give the first
    instant of that year or month.
    """
    v = value.replace("Z", "+00:00")
    if re.match(r"^\d{4}$", v):
        v += "-01-01"
    elif re.match(r"^\d{4}-\d{2}$", v):
        v += "-01"
    # Python 3.10's fromisoformat reads exactly 3 or 6 fraction digits (3.11+ any number):
    # always give it 6, padded, or cut to microseconds (a datetime holds no finer).
    m = _FRACTION.match(v)
    if m:
        v = m.group(1) + (m.group(2) + "00000")[:6] + m.group(3)
    return datetime.fromisoformat(v)


def infer_offset(local: Timestamp, utc_ref: datetime, *, tolerance_s: int = 120) -> Timestamp:
    """Give a naive timestamp a UTC value by comparing it with a UTC reference taken at
    (nearly) the same moment, such as GPSDateTime. The offset is rounded to 15 minutes
    and accepted only when the residual is within ``tolerance_s`` and the offset is a
    real one (-12:00..+14:00). Otherwise the timestamp is returned unchanged.
    """
    if local.utc is not None or "T" not in local.value:
        return local  # already placed, or a date without a time of day
    naive = parse_iso(local.value)
    diff = (naive - utc_ref.replace(tzinfo=None)).total_seconds()
    quarter = round(diff / 900) * 900
    if abs(diff - quarter) > tolerance_s or not -12 * 3600 <= quarter <= 14 * 3600:
        return local
    off = timedelta(seconds=quarter)
    aware = naive.replace(tzinfo=timezone(off))
    frac = local.value.split(".", 1)[1] if "." in local.value else None
    try:
        utc = iso_utc(aware, frac)
    except TimeParseError:
        return local
    return Timestamp(
        name=local.name,
        source=local.source,
        value=local.value,
        utc=utc,
        raw=local.raw,
        offset_origin="gps-inferred",
    )


#: The stat times a record can show: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z (ISO-8601's
#: four-digit years; outside them the record says None), in seconds from the epoch.
_STAT_MIN_S = -62_135_596_800
_STAT_MAX_S = 253_402_300_799
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_date_text_cache: dict[int, str] = {}
_DAY_CACHE_MAX = 4096
_TWO_DIGITS = tuple(f"{i:02d}" for i in range(60))


def _date_text(days: int) -> str:
    """``YYYY-MM-DD`` of a day counted from 1970-01-01 (a bounded cache: a tree's files
    share few days)."""
    text = _date_text_cache.get(days)
    if text is None:
        if len(_date_text_cache) >= _DAY_CACHE_MAX:
            _date_text_cache.clear()
        # isoformat, not strftime: glibc's %Y does not pad years before 1000.
        text = _date_text_cache[days] = date.fromordinal(days + _EPOCH_ORDINAL).isoformat()
    return text


def from_stat_ns(ns: int | None) -> str | None:
    """A stat time in integer nanoseconds as UTC ISO-8601 with ``Z`` (nanoseconds kept).

    None for None and for a time outside the years 1..9999. Integer arithmetic and a
    per-day cache: this runs four times for every entry of a scan.
    """
    if ns is None:
        return None
    secs, rem = divmod(ns, 1_000_000_000)
    if not _STAT_MIN_S <= secs <= _STAT_MAX_S:
        return None
    days, tod = divmod(secs, 86_400)
    hours, tod = divmod(tod, 3600)
    minutes, seconds = divmod(tod, 60)
    two = _TWO_DIGITS
    text = f"{_date_text(days)}T{two[hours]}:{two[minutes]}:{two[seconds]}"
    if rem:
        return f"{text}.{rem:09d}".rstrip("0") + "Z"
    return text + "Z"


_STAT_TEXT = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z\Z", re.ASCII)


def to_stat_ns(text: str) -> int | None:
    """The inverse of :func:`from_stat_ns`: integer nanoseconds from its text, None for
    any other text (another form, a date or time that does not exist). Runs for every
    file of a manifest that verify reads: the day numbers are cached as in from_stat_ns."""
    m = _STAT_TEXT.match(text)
    if m is None:
        return None
    hours, minutes, seconds = int(m[4]), int(m[5]), int(m[6])
    if hours > 23 or minutes > 59 or seconds > 59:
        return None
    day = text[:10]
    days = _day_number_cache.get(day)
    if days is None:
        try:
            days = date(int(m[1]), int(m[2]), int(m[3])).toordinal() - _EPOCH_ORDINAL
        except ValueError:
            return None
        if len(_day_number_cache) >= _DAY_CACHE_MAX:
            _day_number_cache.clear()
        _day_number_cache[day] = days
    secs = days * 86_400 + hours * 3600 + minutes * 60 + seconds
    fraction = m[7]
    return secs * 1_000_000_000 + (int(fraction.ljust(9, "0")) if fraction else 0)


_day_number_cache: dict[str, int] = {}


_ISO_DT = re.compile(
    r"^\s*(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"\s*(Z|[+\-]\d{1,2}:\d{2}|[+\-]\d{2}\d{2})?)?)?)?\s*$"
)


def make_iso_timestamp(name: str, source: str, raw: object) -> Timestamp | None:
    """Build a Timestamp from an ISO 8601 date as XMP stores it, keeping its precision.

    XMP allows ``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD``, ``YYYY-MM-DDThh:mm[:ss[.s+]][TZD]``.
    ``value`` keeps exactly the stored precision (``2019-05-01`` stays a date, ``13:45``
    gets no invented seconds); ``utc`` is given only when a time and an offset are stored.
    Writers that put EXIF-style text (``2019:05:01 13:45:10``) in XMP are read through
    :func:`make_timestamp`. Returns None for blank/all-zero dates; raises
    :class:`TimeParseError` for anything else that is not a date.
    """
    text = clean_text(raw)
    if is_blank_date(text):
        return None
    m = _ISO_DT.match(text)
    if not m:
        return make_timestamp(name, source, text)
    y, mo, d, hh, mi, ss, frac, off_text = m.groups()
    try:
        naive = datetime(int(y), int(mo or 1), int(d or 1), int(hh or 0), int(mi or 0), int(ss or 0))
    except ValueError as exc:
        raise TimeParseError(f"{name}: impossible date {text!r}: {exc}") from None
    if d is None:
        value = y if mo is None else f"{y}-{mo}"
        return Timestamp(name=name, source=source, value=value, utc=None, raw=text)
    if hh is None:
        return Timestamp(name=name, source=source, value=f"{y}-{mo}-{d}", utc=None, raw=text)
    if frac:
        frac = frac[:9]
        naive = naive.replace(microsecond=_micro(frac))
    local = naive.isoformat(timespec="seconds" if ss is not None else "minutes") + _frac(frac)
    if not off_text:
        return Timestamp(name=name, source=source, value=local, utc=None, raw=text)
    if re.match(r"^[+\-]\d:", off_text):  # "+1:00", written by some tools
        off_text = off_text[0] + "0" + off_text[1:]
    off = parse_offset(off_text)
    assert off is not None  # the regex only lets a real offset through
    aware = naive.replace(tzinfo=timezone(off))
    utc_text = iso_utc(aware, frac)
    if ss is None:
        utc_text = utc_text[: len("YYYY-MM-DDTHH:MM")] + "Z"
    return Timestamp(
        name=name,
        source=source,
        value=local + format_offset(off),
        utc=utc_text,
        raw=text,
        offset_origin="stored",
    )
