"""GPS: rational DMS + references -> signed decimal degrees, validated."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from evidence_cli.geo import GeoError, Rational, altitude_m, dms_to_degrees, signed


def R(num: int, den: int = 1) -> Rational:
    return Rational(num, den)


def lat(parts: list[Rational], ref: Any) -> float:
    return signed(dms_to_degrees(parts, "GPSLatitude"), ref, "N", "S", 90.0, "GPSLatitude")


def lon(parts: list[Rational], ref: Any) -> float:
    return signed(dms_to_degrees(parts, "GPSLongitude"), ref, "E", "W", 180.0, "GPSLongitude")


# --- rationals and DMS ------------------------------------------------------------------


def test_rational_value() -> None:
    assert R(1407, 500).value("x") == pytest.approx(2.814)
    assert R(0, 5).value("x") == 0.0


@pytest.mark.parametrize("r", [R(0, 0), R(1, 0), R(-7, 0)])
def test_zero_denominator_is_an_error(r: Rational) -> None:
    with pytest.raises(GeoError, match="zero denominator"):
        r.value("GPSLatitude")


def test_rational_too_large_for_a_float() -> None:
    with pytest.raises((GeoError, OverflowError)):
        R(10**400, 1).value("x")


def test_known_position() -> None:
    # DSCN0010.jpg of the exif-samples corpus: 43°28'2.814"N 11°53'6.456"E.
    assert lat([R(43), R(28), R(1407, 500)], "N") == pytest.approx(43.46744833, abs=1e-8)
    assert lon([R(11), R(53), R(645599999, 100000000)], "E") == pytest.approx(11.88512667, abs=1e-8)


def test_decimal_minutes_and_degrees_only() -> None:
    assert lat([R(48), R(515, 10), R(0)], "N") == pytest.approx(48 + 51.5 / 60)
    assert lat([R(48858, 1000)], "N") == pytest.approx(48.858)
    assert lat([R(48), R(30)], "S") == pytest.approx(-48.5)


@pytest.mark.parametrize(
    "parts",
    [
        [R(0, 0), R(0, 0), R(0, 0)],  # all unknown: never a point at 0,0
        [R(43), R(0, 0), R(0)],
        [R(43), R(28), R(1, 0)],
        [R(-43), R(28), R(0)],  # negative components
        [R(43), R(-1), R(0)],
        [R(43), R(28, -1), R(0)],
        [R(43), R(60), R(0)],  # minutes >= 60
        [R(43), R(61), R(0)],
        [R(43), R(28), R(60)],  # seconds >= 60
        [R(43), R(28), R(6001, 100)],
        [],
        [R(1), R(2), R(3), R(4)],
    ],
)
def test_bad_dms_raises(parts: list[Rational]) -> None:
    with pytest.raises(GeoError):
        dms_to_degrees(parts, "GPSLatitude")


# --- references and ranges --------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "sign"),
    [("N", 1), ("S", -1), ("n", 1), ("s", -1), (" S ", -1), ("S\x00", -1), ("North", 1), ("South", -1)],
)
def test_latitude_refs(ref: str, sign: int) -> None:
    assert lat([R(10)], ref) == 10 * sign


@pytest.mark.parametrize(("ref", "sign"), [("E", 1), ("W", -1), ("e", 1), ("w", -1), ("W ", -1)])
def test_longitude_refs(ref: str, sign: int) -> None:
    assert lon([R(10)], ref) == 10 * sign


@pytest.mark.parametrize("ref", ["", "   ", None, "X", "E", "garbage", "0", "\x00"])
def test_bad_latitude_refs_raise(ref: Any) -> None:
    with pytest.raises(GeoError, match="reference"):
        lat([R(10)], ref)


@pytest.mark.parametrize("ref", ["", None, "N", "S", "x"])
def test_bad_longitude_refs_raise(ref: Any) -> None:
    with pytest.raises(GeoError, match="reference"):
        lon([R(10)], ref)


def test_ranges() -> None:
    assert lat([R(90)], "N") == 90.0
    assert lat([R(90)], "S") == -90.0
    assert lon([R(180)], "W") == -180.0
    with pytest.raises(GeoError, match="outside"):
        lat([R(90), R(0), R(1)], "N")
    with pytest.raises(GeoError, match="outside"):
        lat([R(91)], "S")
    with pytest.raises(GeoError, match="outside"):
        lon([R(180), R(1)], "E")
    with pytest.raises(GeoError, match="outside"):
        lon([R(361)], "W")


# --- altitude ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        (None, 35.2),
        (0, 35.2),
        (1, -35.2),
        ("0", 35.2),
        ("1", -35.2),
        (b"\x00", 35.2),
        (b"\x01", -35.2),
        ([1], -35.2),
        ((0,), 35.2),
    ],
)
def test_altitude_refs(ref: Any, expected: float) -> None:
    assert altitude_m(R(352, 10), ref) == pytest.approx(expected)


class _ZeroDenominator:
    """What ExifRead gives for a RATIONAL n/0: a ratio whose int() divides by zero."""

    def __int__(self) -> int:
        raise ZeroDivisionError("integer division or modulo by zero")


@pytest.mark.parametrize("ref", [2, 255, -1, "x", "", [], b"", [None], 1.5j, [_ZeroDenominator()], float("inf")])
def test_bad_altitude_refs_raise(ref: Any) -> None:
    with pytest.raises(GeoError, match="GPSAltitudeRef"):
        altitude_m(R(352, 10), ref)


@pytest.mark.parametrize("alt", [R(0, 0), R(5, 0), R(-10), R(200_000), R(13_000)])
def test_bad_altitudes_raise(alt: Rational) -> None:
    ref = 1 if alt.num == 13_000 else 0  # 13 km below sea level is not plausible either
    with pytest.raises(GeoError):
        altitude_m(alt, ref)


def test_altitude_extremes() -> None:
    assert altitude_m(R(0), 1) == 0.0
    assert altitude_m(R(8849), 0) == 8849.0
    assert altitude_m(R(430), 1) == -430.0  # Dead Sea shore


# --- properties -------------------------------------------------------------------------


def rationals_below(limit: int) -> st.SearchStrategy[Rational]:
    """Non-negative rationals strictly below ``limit``."""
    fractions = st.fractions(min_value=0, max_value=Fraction(limit), max_denominator=10**6)
    return fractions.filter(lambda f: f < limit).map(lambda f: Rational(f.numerator, f.denominator))


@settings(max_examples=200)
@given(
    deg=st.integers(min_value=0, max_value=89),
    mins=rationals_below(60),
    secs=rationals_below(60),
    ref=st.sampled_from(["N", "S", "n", "s"]),
)
def test_valid_latitudes_are_in_range_and_signed_by_ref(deg: int, mins: Rational, secs: Rational, ref: str) -> None:
    exact = deg + Fraction(mins.num, mins.den) / 60 + Fraction(secs.num, secs.den) / 3600
    assume(abs(exact - 90) > Fraction(1, 10**9))  # float rounding decides exactly at the limit
    if exact > 90:  # 89°59'59.99" + more: past the pole
        with pytest.raises(GeoError, match="outside"):
            lat([R(deg), mins, secs], ref)
        return
    v = lat([R(deg), mins, secs], ref)
    assert -90 <= v <= 90
    assert (v <= 0) if ref.upper() == "S" else (v >= 0)
    assert abs(v) == pytest.approx(float(exact), abs=1e-9)


@settings(max_examples=200)
@given(
    deg=st.integers(min_value=0, max_value=179),
    mins=rationals_below(60),
    secs=rationals_below(60),
    ref=st.sampled_from(["E", "W", "e", "w"]),
)
def test_valid_longitudes_are_in_range_and_signed_by_ref(deg: int, mins: Rational, secs: Rational, ref: str) -> None:
    exact = deg + Fraction(mins.num, mins.den) / 60 + Fraction(secs.num, secs.den) / 3600
    assume(abs(exact - 180) > Fraction(1, 10**9))  # float rounding decides exactly at the limit
    if exact > 180:
        with pytest.raises(GeoError, match="outside"):
            lon([R(deg), mins, secs], ref)
        return
    v = lon([R(deg), mins, secs], ref)
    assert -180 <= v <= 180
    assert (v <= 0) if ref.upper() == "W" else (v >= 0)
    assert abs(v) == pytest.approx(float(exact), abs=1e-9)


@given(
    num=st.integers(min_value=0, max_value=10**7),
    den=st.integers(min_value=1, max_value=10**4),
    ref=st.sampled_from([0, 1, None, b"\x00", b"\x01"]),
)
def test_valid_altitudes_follow_the_ref(num: int, den: int, ref: Any) -> None:
    below = ref in (1, b"\x01")
    magnitude = num / den
    if magnitude > (12_000 if below else 100_000):
        with pytest.raises(GeoError):
            altitude_m(R(num, den), ref)
        return
    v = altitude_m(R(num, den), ref)
    assert v == pytest.approx(-magnitude if below else magnitude)
    assert -12_000 <= v <= 100_000


@given(parts=st.lists(st.builds(Rational, st.integers(-(10**6), 10**6), st.integers(-10, 10**6)), max_size=5))
def test_any_input_gives_a_value_or_geo_error(parts: list[Rational]) -> None:
    try:
        v = dms_to_degrees(parts, "GPSLatitude")
    except GeoError:
        return
    assert v >= 0
