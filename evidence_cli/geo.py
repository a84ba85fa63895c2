"""GPS: rational degrees/minutes/seconds plus references -> a validated GeoPoint.

A position is produced only when every part is present and valid; ``0/0``
rationals, out-of-range values and unknown references are problems, never a point
at 0,0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence


class GeoError(ValueError):
    """A stored GPS value that cannot be a real position."""


@dataclass(frozen=True)
class Rational:
    """A stored rational number, denominator possibly 0 (then it is invalid)."""

    num: int
    den: int

    def value(self, what: str) -> float:
        if self.den == 0:
            raise GeoError(f"{what}: rational {self.num}/0 has a zero denominator")
        v = self.num / self.den
        if not math.isfinite(v):
            raise GeoError(f"{what}: not a finite number")
        return v


def dms_to_degrees(parts: Sequence[Rational], what: str) -> float:
    """[deg, min, sec] (1 to 3 rationals) -> unsigned decimal degrees."""
    if not 1 <= len(parts) <= 3:
        raise GeoError(f"{what}: expected 1-3 values (deg, min, sec), got {len(parts)}")
    vals = [p.value(what) for p in parts]
    for v in vals:
        if v < 0:
            raise GeoError(f"{what}: negative component {v}")
    deg = vals[0]
    mins = vals[1] if len(vals) > 1 else 0.0
    secs = vals[2] if len(vals) > 2 else 0.0
    if mins >= 60 or secs >= 60:
        raise GeoError(f"{what}: minutes/seconds out of range ({mins}, {secs})")
    return deg + mins / 60.0 + secs / 3600.0


def signed(value: float, ref: str | None, positive: str, negative: str, limit: float, what: str) -> float:
    """Apply an N/S or E/W reference and check the range."""
    r = (ref or "").strip().upper()[:1]
    if r == negative:
        value = -value
    elif r != positive:
        raise GeoError(f"{what}: reference {ref!r} is not {positive} or {negative}")
    if abs(value) > limit:
        raise GeoError(f"{what}: {value} is outside ±{limit}")
    return value


def altitude_m(alt: Rational, ref: Any) -> float:
    """GPSAltitude with GPSAltitudeRef (0 or absent: above sea level; 1: below)."""
    v = alt.value("GPSAltitude")
    ref_i = 0
    if ref is not None:
        try:
            ref_i = int(ref[0] if isinstance(ref, (list, tuple, bytes)) else ref)
        except (TypeError, ValueError, IndexError, ZeroDivisionError, OverflowError):
            # (A ref stored as a rational n/0, or an infinite float, fails int() these ways.)
            raise GeoError(f"GPSAltitudeRef: not a number: {ref!r}") from None
    if ref_i not in (0, 1):
        raise GeoError(f"GPSAltitudeRef: unknown value {ref_i}")
    if v < 0:
        raise GeoError(f"GPSAltitude: negative magnitude {v}")
    v = -v if ref_i == 1 else v
    if not -12_000 <= v <= 100_000:
        raise GeoError(f"GPSAltitude: {v} m is not a plausible altitude")
    return v
