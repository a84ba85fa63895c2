"""Timestamps: EXIF/ISO dates, offsets, GPS inference, stat nanoseconds."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence_cli import timeparse
from evidence_cli.timeparse import (
    TimeParseError,
    clean_text,
    format_offset,
    from_stat_ns,
    infer_offset,
    is_blank_date,
    iso_utc,
    make_iso_timestamp,
    make_timestamp,
    parse_iso,
    parse_offset,
)

UTC_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")


def ts(raw: object, **kw: object) -> tuple[str, str | None, str]:
    t = make_timestamp("DateTimeOriginal", "exif", raw, **kw)  # type: ignore[arg-type]
    assert t is not None
    return t.value, t.utc, t.offset_origin


# --- EXIF-style dates ----------------------------------------------------------------


def test_plain_exif_date_stays_local() -> None:
    t = make_timestamp("DateTimeOriginal", "exif", "2019:05:01 13:45:10")
    assert t is not None
    assert (t.name, t.source, t.value, t.utc, t.raw, t.offset_origin) == (
        "DateTimeOriginal",
        "exif",
        "2019-05-01T13:45:10",
        None,
        "2019:05:01 13:45:10",
        "none",
    )


@pytest.mark.parametrize(
    ("raw", "kw", "expected"),
    [
        # Sub-seconds from SubSecTime keep their stored digits.
        ("2019:05:01 13:45:10", {"subsec": "123"}, ("2019-05-01T13:45:10.123", None, "none")),
        ("2019:05:01 13:45:10", {"subsec": "07"}, ("2019-05-01T13:45:10.07", None, "none")),
        ("2019:05:01 13:45:10", {"subsec": " 5\x00"}, ("2019-05-01T13:45:10.5", None, "none")),
        ("2019:05:01 13:45:10", {"subsec": "   "}, ("2019-05-01T13:45:10", None, "none")),
        # A fraction in the date itself wins over SubSecTime.
        ("2019:05:01 13:45:10.25", {"subsec": "9"}, ("2019-05-01T13:45:10.25", None, "none")),
        # More than nanoseconds: cut to 9 digits.
        ("2019:05:01 13:45:10.1234567891", {}, ("2019-05-01T13:45:10.123456789", None, "none")),
        # Offsets from OffsetTime*.
        (
            "2019:05:01 13:45:10",
            {"subsec": "123", "offset": "+02:00"},
            ("2019-05-01T13:45:10.123+02:00", "2019-05-01T11:45:10.123Z", "stored"),
        ),
        ("2019:05:01 13:45:10", {"offset": "-05:30"}, ("2019-05-01T13:45:10-05:30", "2019-05-01T19:15:10Z", "stored")),
        (
            "2019:05:01 13:45:10",
            {"offset": b"+0100\x00"},
            ("2019-05-01T13:45:10+01:00", "2019-05-01T12:45:10Z", "stored"),
        ),
        ("2019:05:01 00:15:10", {"offset": "+02:00"}, ("2019-05-01T00:15:10+02:00", "2019-04-30T22:15:10Z", "stored")),
        ("2019:12:31 23:30:00", {"offset": "-01:00"}, ("2019-12-31T23:30:00-01:00", "2020-01-01T00:30:00Z", "stored")),
        ("2019:05:01 13:45:10", {"offset": "Z"}, ("2019-05-01T13:45:10+00:00", "2019-05-01T13:45:10Z", "stored")),
        ("2019:05:01 13:45:10", {"offset": "+14:00"}, ("2019-05-01T13:45:10+14:00", "2019-04-30T23:45:10Z", "stored")),
        # A blank offset is no offset.
        ("2019:05:01 13:45:10", {"offset": "   "}, ("2019-05-01T13:45:10", None, "none")),
        ("2019:05:01 13:45:10", {"offset": ""}, ("2019-05-01T13:45:10", None, "none")),
        # Inline offsets and Z.
        ("2019:05:01 13:45:10.5+02:00", {}, ("2019-05-01T13:45:10.5+02:00", "2019-05-01T11:45:10.5Z", "stored")),
        ("2019:05:01 13:45:10Z", {}, ("2019-05-01T13:45:10+00:00", "2019-05-01T13:45:10Z", "stored")),
        ("2019-05-01T13:45:10-0300", {}, ("2019-05-01T13:45:10-03:00", "2019-05-01T16:45:10Z", "stored")),
        # An inline offset wins over a separate one.
        (
            "2019:05:01 13:45:10+02:00",
            {"offset": "-07:00"},
            ("2019-05-01T13:45:10+02:00", "2019-05-01T11:45:10Z", "stored"),
        ),
        # Surrounding blanks and NULs as cameras write them.
        ("  2019:05:01 13:45:10\x00\x00", {}, ("2019-05-01T13:45:10", None, "none")),
        (b"2019:05:01 13:45:10\x00", {}, ("2019-05-01T13:45:10", None, "none")),
        # Minutes only.
        ("2019:05:01 13:45", {}, ("2019-05-01T13:45:00", None, "none")),
        # Years before 1000 are padded (glibc's strftime does not).
        ("0999:01:02 03:04:05", {}, ("0999-01-02T03:04:05", None, "none")),
    ],
)
def test_exif_dates(raw: object, kw: dict[str, object], expected: tuple[str, str | None, str]) -> None:
    assert ts(raw, **kw) == expected


def test_raw_keeps_the_stored_text_and_extra() -> None:
    t = make_timestamp("DateTimeOriginal", "exif", "2019:05:01 13:45:10\x00", raw_extra=" OffsetTime=+02:00")
    assert t is not None
    assert t.raw == "2019:05:01 13:45:10 OffsetTime=+02:00"


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "\x00\x00", "0000:00:00 00:00:00", "    :  :     :  :  ", "0000-00-00T00:00:00", b"\x00" * 20],
)
def test_blank_and_zero_dates_are_unknown(raw: object) -> None:
    assert make_timestamp("DateTimeOriginal", "exif", raw) is None
    assert is_blank_date(clean_text(raw))


@pytest.mark.parametrize(
    ("raw", "kw"),
    [
        ("hello", {}),
        ("2019", {}),
        ("13:45:10", {}),
        ("2019:05:01 13:45:10 extra", {}),
        ("2019:13:01 00:00:00", {}),
        ("2019:02:30 00:00:00", {}),
        ("2019:02:29 00:00:00", {}),
        ("2019:05:01 24:00:00", {}),
        ("2019:05:01 13:60:00", {}),
        ("2019:05:01 13:45:61", {}),
        ("0000:05:01 13:45:10", {}),
        ("2019:05:01 13:45:10", {"subsec": "12a"}),
        ("2019:05:01 13:45:10", {"offset": "+15:00"}),
        ("2019:05:01 13:45:10", {"offset": "+02:60"}),
        ("2019:05:01 13:45:10", {"offset": "2 hours"}),
        ("2019:05:01 13:45:10", {"offset": "+2:00"}),
        ("2019:05:01 13:45:10+25:00", {}),
        # The UTC value would fall outside datetime's years: a parse error, not a crash.
        ("0001:01:01 00:00:00", {"offset": "+02:00"}),
        ("9999:12:31 23:59:59", {"offset": "-02:00"}),
    ],
)
def test_garbage_and_impossible_dates_raise(raw: str, kw: dict[str, object]) -> None:
    with pytest.raises(TimeParseError):
        make_timestamp("DateTimeOriginal", "exif", raw, **kw)  # type: ignore[arg-type]


def test_leap_day_is_a_date() -> None:
    assert ts("2020:02:29 12:00:00")[0] == "2020-02-29T12:00:00"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+02:00", timedelta(hours=2)),
        ("-0530", -timedelta(hours=5, minutes=30)),
        ("Z", timedelta(0)),
        (" +00:00 ", timedelta(0)),
        ("+14:00", timedelta(hours=14)),
        ("-14:00", -timedelta(hours=14)),
        ("", None),
        ("\x00", None),
    ],
)
def test_parse_offset(raw: str, expected: timedelta | None) -> None:
    assert parse_offset(raw) == expected


@pytest.mark.parametrize("raw", ["+15:00", "+02:99", "02:00", "+2", "UTC", "+02:00:00", "z"])
def test_parse_offset_refuses(raw: str) -> None:
    with pytest.raises(TimeParseError):
        parse_offset(raw)


@given(st.integers(min_value=-14 * 60, max_value=14 * 60))
def test_offset_format_round_trip(minutes: int) -> None:
    off = timedelta(minutes=minutes)
    text = format_offset(off)
    assert re.fullmatch(r"[+-]\d{2}:\d{2}", text)
    assert parse_offset(text) == off


# --- round trips (hypothesis) ---------------------------------------------------------

aware_datetimes = st.builds(
    lambda dt, minutes: dt.replace(tzinfo=timezone(timedelta(minutes=minutes))),
    st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9998, 12, 30)),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)


@settings(max_examples=300)
@given(aware_datetimes)
def test_exif_date_with_offset_round_trips(dt: datetime) -> None:
    raw = dt.strftime("%Y:%m:%d %H:%M:%S")
    sub = f"{dt.microsecond:06d}"
    t = make_timestamp("DateTimeOriginal", "exif", raw, subsec=sub, offset=format_offset(dt.utcoffset()))  # type: ignore[arg-type]
    assert t is not None and t.utc is not None
    assert parse_iso(t.value) == dt
    assert parse_iso(t.value).utcoffset() == dt.utcoffset()
    assert parse_iso(t.utc) == dt
    assert UTC_RE.match(t.utc)
    assert t.offset_origin == "stored"


@settings(max_examples=200)
@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)))
def test_naive_exif_date_round_trips(dt: datetime) -> None:
    raw = f"{dt.year:04d}:{dt.month:02d}:{dt.day:02d} {dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
    t = make_timestamp("CreateDate", "exif", raw, subsec=f"{dt.microsecond:06d}")
    assert t is not None
    assert t.utc is None and t.offset_origin == "none"
    assert parse_iso(t.value) == dt


def test_parse_iso_accepts_nanoseconds_and_z() -> None:
    assert parse_iso("2019-05-01T13:45:10.123456789+02:00") == datetime(
        2019, 5, 1, 13, 45, 10, 123456, tzinfo=timezone(timedelta(hours=2))
    )
    assert parse_iso("2019-05-01T11:45:10Z") == datetime(2019, 5, 1, 11, 45, 10, tzinfo=timezone.utc)
    assert parse_iso("2019-05-01T13:45:10") == datetime(2019, 5, 1, 13, 45, 10)


class _Python310Datetime(datetime):
    """datetime as Python 3.10 parses ISO text: a fraction of exactly 3 or 6 digits."""

    @classmethod
    def fromisoformat(cls, text: str) -> datetime:  # type: ignore[override]
        m = re.search(r"\.(\d+)", text)
        if m and len(m.group(1)) not in (3, 6):
            raise ValueError(f"Invalid isoformat string: {text!r}")
        return datetime.fromisoformat(text)


@pytest.mark.parametrize("digits", ["2", "25", "2500", "25000", "250000", "2500000", "250000000"])
def test_parse_iso_reads_any_fraction_as_python_3_10_would(monkeypatch: pytest.MonkeyPatch, digits: str) -> None:
    # Values keep the fraction digits stored (EXIF SubSecTime "25"); on 3.10 they made
    # ValueError, and the extractor that compared or placed them lost its tags.
    monkeypatch.setattr(timeparse, "datetime", _Python310Datetime)
    want = datetime(2019, 5, 1, 13, 45, 10, int((digits + "00000")[:6]), tzinfo=timezone(timedelta(hours=2)))
    assert parse_iso(f"2019-05-01T13:45:10.{digits}+02:00") == want
    assert parse_iso(f"2019-05-01T11:45:10.{digits}Z") == want
    t0 = make_timestamp("DateTimeOriginal", "exif", "2019:05:01 13:45:10", subsec=digits)
    assert t0 is not None
    assert infer_offset(t0, utc(2019, 5, 1, 11, 45, 10)).offset_origin == "gps-inferred"


def test_iso_utc_keeps_the_stored_precision() -> None:
    dt = datetime(2019, 5, 1, 13, 45, 10, 120000, tzinfo=timezone(timedelta(hours=2)))
    assert iso_utc(dt) == "2019-05-01T11:45:10.12Z"
    assert iso_utc(dt, "120") == "2019-05-01T11:45:10.120Z"
    assert iso_utc(dt.replace(microsecond=0)) == "2019-05-01T11:45:10Z"
    assert iso_utc(datetime(5, 1, 1, tzinfo=timezone.utc)) == "0005-01-01T00:00:00Z"


# --- ISO dates as XMP stores them -------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2019", ("2019", None, "none")),
        ("2019-05", ("2019-05", None, "none")),
        ("2019-05-01", ("2019-05-01", None, "none")),
        ("2019-05-01T13:45", ("2019-05-01T13:45", None, "none")),
        ("2019-05-01T13:45+02:00", ("2019-05-01T13:45+02:00", "2019-05-01T11:45Z", "stored")),
        ("2019-05-01T13:45:10.5Z", ("2019-05-01T13:45:10.5+00:00", "2019-05-01T13:45:10.5Z", "stored")),
        ("0999-05-01T13:45", ("0999-05-01T13:45", None, "none")),
        ("2019:05:01 13:45:10", ("2019-05-01T13:45:10", None, "none")),
    ],
)
def test_iso_dates_keep_their_precision(raw: str, expected: tuple[str, str | None, str]) -> None:
    t = make_iso_timestamp("CreateDate", "xmp", raw)
    assert t is not None
    assert (t.value, t.utc, t.offset_origin) == expected


@pytest.mark.parametrize("raw", ["2019-13", "2019-02-30", "0001-01-01T00:00+01:00", "soon"])
def test_iso_garbage_raises(raw: str) -> None:
    with pytest.raises(TimeParseError):
        make_iso_timestamp("CreateDate", "xmp", raw)


# --- offset inferred from a UTC reference (GPS) -----------------------------------------


def local(value_raw: str = "2019:05:01 13:45:10") -> object:
    return make_timestamp("DateTimeOriginal", "exif", value_raw)


def utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=timezone.utc)  # type: ignore[misc]


def test_infer_offset_from_gps() -> None:
    t = infer_offset(local(), utc(2019, 5, 1, 11, 45, 0))  # type: ignore[arg-type]
    assert (t.value, t.utc, t.offset_origin) == ("2019-05-01T13:45:10", "2019-05-01T11:45:10Z", "gps-inferred")


def test_infer_offset_keeps_subseconds() -> None:
    t0 = make_timestamp("DateTimeOriginal", "exif", "2019:05:01 13:45:10", subsec="25")
    assert t0 is not None
    t = infer_offset(t0, utc(2019, 5, 1, 16, 15, 10))
    assert (t.utc, t.offset_origin) == ("2019-05-01T16:15:10.25Z", "gps-inferred")


@pytest.mark.parametrize(
    ("ref", "inferred"),
    [
        (utc(2019, 5, 1, 11, 47, 10), True),  # residual exactly the 120 s tolerance
        (utc(2019, 5, 1, 11, 47, 11), False),  # one second more
        (utc(2019, 5, 1, 11, 37, 0), False),  # 8m10s off any quarter hour
        (utc(2019, 4, 30, 23, 45, 10), True),  # +14:00
        (utc(2019, 4, 30, 22, 45, 10), False),  # +15:00 is no real offset
        (utc(2019, 5, 2, 1, 45, 10), True),  # -12:00
        (utc(2019, 5, 2, 2, 45, 10), False),  # -13:00 is outside the accepted range
        (utc(2019, 5, 11, 11, 45, 10), False),  # ten days apart
    ],
)
def test_infer_offset_tolerance_and_range(ref: datetime, inferred: bool) -> None:
    t = infer_offset(local(), ref)  # type: ignore[arg-type]
    assert (t.offset_origin == "gps-inferred") is inferred
    assert (t.utc is not None) is inferred


def test_infer_offset_leaves_a_known_offset_alone() -> None:
    t0 = make_timestamp("DateTimeOriginal", "exif", "2019:05:01 13:45:10", offset="+02:00")
    assert t0 is not None
    assert infer_offset(t0, utc(2019, 5, 1, 1, 0, 0)) is t0


def test_infer_offset_outside_datetime_range_is_unchanged() -> None:
    # Local 00:58:50 vs UTC 00:00:30 on 1 Jan of year 1: offset +01:00 (residual 100 s),
    # so the UTC value would be 100 s before year 1: no inference, no crash.
    t0 = make_timestamp("DateTimeOriginal", "exif", "0001:01:01 00:58:50")
    assert t0 is not None
    assert infer_offset(t0, utc(1, 1, 1, 0, 0, 30)) == t0
    t1 = make_timestamp("DateTimeOriginal", "exif", "0001:01:01 01:00:30")
    assert t1 is not None
    assert infer_offset(t1, utc(1, 1, 1, 0, 0, 30)).utc == "0001-01-01T00:00:30Z"


@settings(max_examples=200)
@given(
    quarters=st.integers(min_value=-48, max_value=56),
    residual=st.integers(min_value=-120, max_value=120),
)
def test_infer_offset_finds_every_real_offset(quarters: int, residual: int) -> None:
    off = timedelta(minutes=15 * quarters)
    true_utc = datetime(2019, 5, 1, 12, 0, 0)
    t0 = make_timestamp("DateTimeOriginal", "exif", (true_utc + off).strftime("%Y:%m:%d %H:%M:%S"))
    assert t0 is not None
    ref = (true_utc + timedelta(seconds=residual)).replace(tzinfo=timezone.utc)
    t = infer_offset(t0, ref)
    assert t.offset_origin == "gps-inferred"
    assert t.utc == "2019-05-01T12:00:00Z"


@settings(max_examples=200)
@given(
    quarters=st.integers(min_value=-48, max_value=56),
    residual=st.one_of(st.integers(min_value=121, max_value=449), st.integers(min_value=-449, max_value=-121)),
)
def test_infer_offset_refuses_a_loose_match(quarters: int, residual: int) -> None:
    off = timedelta(minutes=15 * quarters)
    true_utc = datetime(2019, 5, 1, 12, 0, 0)
    t0 = make_timestamp("DateTimeOriginal", "exif", (true_utc + off).strftime("%Y:%m:%d %H:%M:%S"))
    assert t0 is not None
    t = infer_offset(t0, (true_utc + timedelta(seconds=residual)).replace(tzinfo=timezone.utc))
    assert t == t0


# --- stat times --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ns", "expected"),
    [
        (0, "1970-01-01T00:00:00Z"),
        (1, "1970-01-01T00:00:00.000000001Z"),
        (1_500_000_000, "1970-01-01T00:00:01.5Z"),
        (1_556_711_110_123_456_789, "2019-05-01T11:45:10.123456789Z"),
        (-1, "1969-12-31T23:59:59.999999999Z"),
        (-60 * 10**18, "0068-09-03T13:20:00Z"),
        (None, None),
        (10**30, None),
        (-(10**30), None),
    ],
)
def test_from_stat_ns(ns: int | None, expected: str | None) -> None:
    assert from_stat_ns(ns) == expected


def parse_utc_ns(text: str) -> int:
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z", text)
    assert m, text
    secs = datetime.fromisoformat(m.group(1)).replace(tzinfo=timezone.utc)
    delta = secs - datetime(1970, 1, 1, tzinfo=timezone.utc)
    whole = delta.days * 86400 + delta.seconds
    return whole * 1_000_000_000 + int((m.group(2) or "").ljust(9, "0"))


@settings(max_examples=500)
@given(st.integers(min_value=-62_135_596_800 * 10**9, max_value=253_402_300_799 * 10**9 + 999_999_999))
def test_from_stat_ns_round_trips(ns: int) -> None:
    text = from_stat_ns(ns)
    assert text is not None
    assert UTC_RE.match(text)
    assert not re.search(r"\.\d*0Z$", text), "no trailing zeros in the fraction"
    assert parse_utc_ns(text) == ns
