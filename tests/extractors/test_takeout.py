"""Google Photos metadata files (Google Takeout): times, places, people, origin; what
is not one is left alone; damaged and hostile ones are bounded and said."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence_cli.extractors import for_type
from evidence_cli.extractors.takeout import MAX_BYTES, MAX_TEXT, TakeoutExtractor
from evidence_cli.models import archive_members
from tests.builders import file_context, scan_one

READER = TakeoutExtractor()


def item(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "title": "IMG_20200920_131207.jpg",
        "description": "at the tower",
        "imageViews": "9",
        "creationTime": {"timestamp": "1600598769", "formatted": "Sep 20, 2020, 10:46:09 AM UTC"},
        "photoTakenTime": {"timestamp": "1600596727", "formatted": "Sep 20, 2020, 10:12:07 AM UTC"},
        "geoData": {"latitude": 48.8583, "longitude": 2.2945, "altitude": 35.2, "latitudeSpan": 0.0},
        "geoDataExif": {"latitude": 48.8583, "longitude": 2.2945, "altitude": 35.2, "latitudeSpan": 0.0},
        "people": [{"name": "Sam"}, {"name": "Дочь"}],
        "url": "https://photos.google.com/photo/AF1Qip-example",
        "googlePhotosOrigin": {
            "mobileUpload": {"deviceFolder": {"localFolderName": "WhatsApp Images"}, "deviceType": "ANDROID_PHONE"}
        },
        "appSource": {"androidPackageName": "com.whatsapp"},
        "trashed": True,
    }
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not None}


def read(doc: Any, name: str = "IMG_20200920_131207.jpg.supplemental-metadata.json") -> Any:
    data = doc if isinstance(doc, bytes) else json.dumps(doc, ensure_ascii=False, indent=2).encode()
    return READER.extract(file_context(data, name, mime="application/json"))


def test_it_reads_json_and_text() -> None:
    for mime in ("application/json", "text/plain"):
        assert "takeout" in {e.name for e in for_type(mime)}


def test_a_photos_metadata_file() -> None:
    found = read(item())
    assert found.tags == {
        "format": "Google Photos item (Takeout)",
        "title": "IMG_20200920_131207.jpg",
        "description": "at the tower",
        "url": "https://photos.google.com/photo/AF1Qip-example",
        "image_views": "9",
        "trashed": True,
        "people": ["Sam", "Дочь"],
        "origin": ["mobileUpload"],
        "device_type": "ANDROID_PHONE",
        "device_folder": "WhatsApp Images",
        "app_package": "com.whatsapp",
        "geo_data": {"latitude": 48.8583, "longitude": 2.2945, "altitude": 35.2},
        "geo_data_exif": {"latitude": 48.8583, "longitude": 2.2945, "altitude": 35.2},
    }
    assert [(t.name, t.value, t.utc, t.raw, t.offset_origin) for t in found.timestamps] == [
        (
            "PhotoTakenTime",
            "2020-09-20T10:12:07Z",
            "2020-09-20T10:12:07Z",
            "1600596727 (Sep 20, 2020, 10:12:07 AM UTC)",
            "utc-by-spec",
        ),
        (
            "CreationTime",
            "2020-09-20T10:46:09Z",
            "2020-09-20T10:46:09Z",
            "1600598769 (Sep 20, 2020, 10:46:09 AM UTC)",
            "utc-by-spec",
        ),
    ]
    assert found.gps is not None
    assert (found.gps.latitude, found.gps.longitude, found.gps.altitude, found.gps.source) == (
        48.8583,
        2.2945,
        35.2,
        "takeout",
    )
    assert found.gps.raw == {"from": "geoDataExif"}
    assert found.findings == () and found.problems == ()


def test_a_place_google_holds_other_than_the_photos_own_is_a_finding() -> None:
    moved = read(item(geoData={"latitude": 40.7128, "longitude": -74.006, "altitude": 10.0}))
    [finding] = moved.findings
    assert finding.code == "takeout-place-differs" and "other than its own EXIF one" in finding.message
    assert finding.evidence == {"geo_data": [40.7128, -74.006], "geo_data_exif": [48.8583, 2.2945]}
    assert moved.gps is not None and moved.gps.latitude == 48.8583  # the photo's own, always first
    added = read(item(geoDataExif={"latitude": 0.0, "longitude": 0.0, "altitude": 0.0}))
    [finding] = added.findings
    assert "that its own EXIF does not give" in finding.message
    assert added.gps is not None and added.gps.raw == {"from": "geoData"} and added.gps.latitude == 48.8583


def test_zeros_are_no_place_and_an_impossible_place_is_said() -> None:
    zeros = {"latitude": 0.0, "longitude": 0.0, "altitude": 0.0}
    none = read(item(geoData=zeros, geoDataExif=zeros))
    assert none.gps is None and none.findings == () and "geo_data" not in none.tags
    bad = read(item(geoData={"latitude": 95.0, "longitude": 2.0}, geoDataExif=zeros))
    assert bad.gps is None
    assert [p.message for p in bad.problems] == ["geoData: not a position on Earth"]


def test_an_album() -> None:
    doc = {
        "title": "Holiday",
        "description": "",
        "access": "protected",
        "date": {"timestamp": "1672477816", "formatted": "x"},
    }
    found = read(doc, "metadata.json")
    assert found.tags == {"format": "Google Photos album (Takeout)", "title": "Holiday", "access": "protected"}
    assert [(t.name, t.value) for t in found.timestamps] == [("AlbumDate", "2022-12-31T09:10:16Z")]


@pytest.mark.parametrize(
    "doc",
    [
        {"title": "a song", "artist": "x"},  # a title and nothing of Google's
        {"messages": [], "title": "chat", "creationTime": 5},  # the keys, not Google's shapes
        [{"title": "x", "photoTakenTime": {"timestamp": "1"}}],  # not an object
        {"name": "x", "photoTakenTime": {"timestamp": "1600596727"}},  # no title
    ],
)
def test_other_json_is_left_alone(doc: Any) -> None:
    found = read(doc)
    assert found.tags == {} and found.timestamps == () and found.problems == ()


@pytest.mark.parametrize(
    ("held", "said"),
    [
        ({"timestamp": "16005967x7"}, "photoTakenTime: not a time in seconds"),
        ({"timestamp": -5}, "photoTakenTime: not a time in seconds"),
        ({"timestamp": "9" * 40}, "photoTakenTime: not a time in seconds"),
        ({"timestamp": "5000000000"}, "photoTakenTime: 5000000000 seconds is after 2100"),
        ({"timestamp": True}, "photoTakenTime: not a time in seconds"),
    ],
)
def test_a_time_that_is_none_is_said(held: dict[str, Any], said: str) -> None:
    found = read(item(photoTakenTime=held))
    assert [t.name for t in found.timestamps] == ["CreationTime"]
    assert [p.message for p in found.problems][0].startswith(said)


def test_zero_seconds_is_googles_none() -> None:
    found = read(item(photoTakenTime={"timestamp": "0", "formatted": "Jan 1, 1970"}))
    assert [t.name for t in found.timestamps] == ["CreationTime"] and found.problems == ()


def test_damaged_and_oversized_files_are_said_not_lost() -> None:
    cut = json.dumps(item()).encode()[:-40]
    found = read(cut)
    assert found.tags == {} and "not valid JSON" in found.problems[0].message
    deep = b'{"title": "x", "photoTakenTime": {"timestamp": "1"}, "d": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert "not valid JSON" in read(deep).problems[0].message
    big = json.dumps({**item(description=None), "description": "x" * (MAX_BYTES + 10)}).encode()
    assert "not read" in read(big).problems[0].message
    long = read({**item(description=None), "description": "y" * (MAX_TEXT + 5)})
    assert long.tags["description"] == "y" * MAX_TEXT
    assert any(p.type == "LimitReached" for p in long.problems)


def test_bytes_that_are_not_utf8_are_replaced_and_said() -> None:
    data = json.dumps(item(description="caf\u00e9")).encode().replace(b"caf\\u00e9", b"caf\xe9")
    assert b"caf\xe9" in data
    found = read(data)
    assert found.tags["description"] == "caf\ufffd"
    assert found.problems[0].message.startswith("not valid UTF-8")


def test_hostile_strings_are_kept_as_stored() -> None:
    evil = '=HYPERLINK("http://x")\x1b[31m<script>alert(1)</script>\u202e'
    found = read(item(title=evil, people=[{"name": evil}], description=evil))
    assert found.tags["title"] == evil and found.tags["people"] == [evil] and found.tags["description"] == evil


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "title",
                "photoTakenTime",
                "creationTime",
                "geoData",
                "geoDataExif",
                "people",
                "googlePhotosOrigin",
                "appSource",
                "access",
                "date",
                "imageViews",
                "trashed",
            ]
        ),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(
                    st.sampled_from(
                        [
                            "timestamp",
                            "formatted",
                            "latitude",
                            "longitude",
                            "altitude",
                            "name",
                            "mobileUpload",
                            "deviceType",
                            "deviceFolder",
                            "localFolderName",
                            "androidPackageName",
                        ]
                    ),
                    inner,
                    max_size=4,
                )
            ),
            max_leaves=12,
        ),
        max_size=8,
    )
)
def test_any_object_with_these_keys_is_read_or_refused_never_raises(doc: dict[str, Any]) -> None:
    doc.setdefault("title", "x")
    doc.setdefault("photoTakenTime", {"timestamp": "1600596727"})
    found = read(json.dumps(doc).encode())
    if found.gps is not None:
        assert abs(found.gps.latitude) <= 90 and abs(found.gps.longitude) <= 180


def test_a_scan_gives_the_photos_time_and_place_and_so_does_a_takeout_zip(tmp_path: Path) -> None:
    data = json.dumps(item(), indent=2).encode()
    r = scan_one(tmp_path / "a", "Takeout/Google Photos/Photos from 2020/IMG_20200920_131207.jpg.json", data)
    assert r.mime == "application/json"
    assert r.captured is not None and (r.captured.source, r.captured.name) == ("takeout", "PhotoTakenTime")
    assert r.gps is not None and r.gps.source == "takeout"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("Takeout/Google Photos/Photos from 2020/IMG_20200920_131207.jpg.supplemental-metadata.json", data)
    r = scan_one(tmp_path / "b", "takeout-20240101T000000Z-001.zip", buf.getvalue())
    [member] = archive_members(r.metadata)
    assert member["captured"]["value"] == "2020-09-20T10:12:07Z"
    assert member["gps"]["latitude"] == 48.8583
