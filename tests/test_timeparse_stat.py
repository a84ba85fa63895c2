"""``from_stat_ns`` (integer arithmetic, per-day cache) gives exactly the strings of the
former ``time.gmtime`` + ``strftime`` implementation, kept here as the oracle."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence_cli import timeparse
from evidence_cli.timeparse import from_stat_ns


def oracle(ns: int | None) -> str | None:
    """The implementation before the integer-arithmetic rewrite, verbatim in behaviour."""
    if ns is None:
        return None
    secs, rem = divmod(ns, 1_000_000_000)
    try:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    except (OverflowError, OSError, ValueError):
        text = ""
    if len(text) != 19 or not text[:4].isdigit():
        try:
            base = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=secs)
        except OverflowError:
            return None
        text = base.replace(tzinfo=None).isoformat(timespec="seconds")
    if rem:
        text += "." + f"{rem:09d}".rstrip("0")
    return text + "Z"


FIRST = -62_135_596_800 * 10**9  # 0001-01-01T00:00:00Z
LAST = 253_402_300_799 * 10**9 + 999_999_999  # 9999-12-31T23:59:59.999999999Z


@pytest.mark.parametrize(
    "ns",
    [
        None,
        0,
        1,
        -1,
        999_999_999,
        1_000_000_000,
        -1_000_000_000,
        -1_000_000_001,
        86_400 * 10**9 - 1,
        FIRST,
        FIRST - 1,
        FIRST + 1,
        LAST,
        LAST + 1,
        -(10**9) * 86_400 * 719_162,  # year 1 by another route
        -30_610_224_000 * 10**9,  # 1000-01-01: where glibc starts padding years
        -30_610_224_000 * 10**9 - 1,  # 0999-12-31T23:59:59.999999999
        951_782_400 * 10**9,  # 2000-02-29 (leap day of a century leap year)
        4_107_542_400 * 10**9,  # 2100-03-01 (2100 is not a leap year)
        2**63 - 1,
        -(2**63),
        2**31 * 10**9,
        10**30,
        -(10**30),
        10**400,
        -(10**400),
    ],
)
def test_same_text_as_the_oracle_at_the_edges(ns: int | None) -> None:
    assert from_stat_ns(ns) == oracle(ns)


@settings(max_examples=2000)
@given(
    st.one_of(
        st.integers(min_value=FIRST - 10**12, max_value=LAST + 10**12),
        st.integers(min_value=-(10**9) * 10**9, max_value=10**9 * 10**9),
        st.integers(),
    )
)
def test_same_text_as_the_oracle(ns: int) -> None:
    assert from_stat_ns(ns) == oracle(ns)


@given(st.integers(min_value=FIRST // 10**9, max_value=LAST // 10**9), st.integers(0, 999_999_999))
def test_same_text_in_whole_seconds_and_fractions(secs: int, frac: int) -> None:
    ns = secs * 10**9 + frac
    assert from_stat_ns(ns) == oracle(ns)


def test_the_day_cache_is_bounded_and_stays_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    cache: dict[int, str] = {}
    monkeypatch.setattr(timeparse, "_date_text_cache", cache)
    for day in range(0, 10_000 * 7, 7):
        ns = day * 86_400 * 10**9 + 5
        assert from_stat_ns(ns) == oracle(ns)
        assert len(cache) <= 4096
    assert cache, "the cache is used"


# --- to_stat_ns: the inverse, for the times a manifest recorded ---------------------------


@settings(max_examples=3000, deadline=None)
@given(st.integers(min_value=-62_135_596_800 * 10**9, max_value=253_402_300_799 * 10**9 + 999_999_999))
def test_to_stat_ns_reads_back_every_time_from_stat_ns_writes(ns: int) -> None:
    text = from_stat_ns(ns)
    assert text is not None and timeparse.to_stat_ns(text) == ns


@pytest.mark.parametrize(
    "text",
    [
        "2020-02-30T00:00:00Z",  # no such day
        "2020-01-01T24:00:00Z",
        "2020-01-01T00:60:00Z",
        "2020-01-01T00:00:60Z",
        "0000-01-01T00:00:00Z",
        "2020-01-01T00:00:00.Z",
        "2020-01-01T00:00:00.1234567891Z",  # more than nanoseconds
        "2020-01-01T00:00:00+00:00",  # another form
        "2020-01-01 00:00:00Z",
        "2020-01-01T00:00:00Z\n",
        "\uff12\uff10\uff12\uff10-01-01T00:00:00Z",  # full-width digits are not ASCII digits
        "",
    ],
)
def test_to_stat_ns_refuses_other_text(text: str) -> None:
    assert timeparse.to_stat_ns(text) is None
