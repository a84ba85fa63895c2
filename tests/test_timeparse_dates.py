"""A stored date without a time of day stays a date: no invented midnight, no UTC."""

from __future__ import annotations

from datetime import datetime, timezone

from evidence_cli.timeparse import infer_offset, make_timestamp


def test_date_only_is_not_given_a_time() -> None:
    ts = make_timestamp("DateTimeOriginal", "exif", "2019:05:01", offset="+02:00")
    assert ts is not None
    assert (ts.value, ts.utc, ts.offset_origin) == ("2019-05-01", None, "none")


def test_date_only_gets_no_inferred_offset() -> None:
    ts = make_timestamp("DateTimeOriginal", "exif", "2019:05:01")
    assert ts is not None
    inferred = infer_offset(ts, datetime(2019, 5, 1, 0, 0, tzinfo=timezone.utc))
    assert (inferred.value, inferred.utc, inferred.offset_origin) == ("2019-05-01", None, "none")
