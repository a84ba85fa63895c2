"""Dates apps write into file names: which names are read, what they give, and when a
name's time and a capture time cannot both be right."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence_cli.formats import filename
from evidence_cli.formats.filename import CREATE, MESSAGE, SAVED, conflict, conflict_finding, parse
from evidence_cli.models import Timestamp

# name, pattern, timestamp name, value, details
KNOWN = [
    ("IMG-20190501-WA0003.jpg", "whatsapp-android", SAVED, "2019-05-01", {"media": "image", "sequence": 3}),
    ("PTT-20190501-WA0012.opus", "whatsapp-android", SAVED, "2019-05-01", {"media": "voice message", "sequence": 12}),
    (
        "VID-20190501-WA0001 (1).mp4",
        "whatsapp-android",
        SAVED,
        "2019-05-01",
        {"media": "video", "sequence": 1, "copy": "(1)"},
    ),
    (
        "00000012-PHOTO-2021-05-01-13-45-10.jpg",
        "whatsapp-iphone-export",
        MESSAGE,
        "2021-05-01T13:45:10",
        {"media": "photo", "sequence": 12},
    ),
    (
        "photo_3@01-05-2021_13-45-10.jpg",
        "telegram-export",
        MESSAGE,
        "2021-05-01T13:45:10",
        {"media": "photo", "sequence": 3},
    ),
    ("PHOTO-2021-05-01-13-45-10.jpg", "whatsapp-iphone-export", MESSAGE, "2021-05-01T13:45:10", {"media": "photo"}),
    ("photo_2021-05-01_13-45-10.jpg", "telegram-desktop", SAVED, "2021-05-01T13:45:10", {"media": "photo"}),
    ("signal-2021-05-01-134510.jpg", "signal", SAVED, "2021-05-01T13:45:10", {}),
    ("signal-2021-05-01-13-45-10-123.jpg", "signal", SAVED, "2021-05-01T13:45:10.123", {}),
    ("signal-2021-05-01-134510_001.jpeg", "signal", SAVED, "2021-05-01T13:45:10", {"sequence": 1}),
    ("Screenshot_20230501-134510.png", "android-screenshot", CREATE, "2023-05-01T13:45:10", {}),
    (
        "Screenshot_20230501-134510_WhatsApp.jpg",
        "android-screenshot",
        CREATE,
        "2023-05-01T13:45:10",
        {"shown_app": "WhatsApp"},
    ),
    (
        "Screenshot_20230501-134510_Samsung Internet - Copy.jpg",
        "android-screenshot",
        CREATE,
        "2023-05-01T13:45:10",
        {"shown_app": "Samsung Internet", "copy": "- Copy"},
    ),
    (
        "Screenshot_2023-05-01-13-45-10-123_com.whatsapp.jpg",
        "android-screenshot",
        CREATE,
        "2023-05-01T13:45:10.123",
        {"shown_app": "com.whatsapp"},
    ),
    ("Screenshot 2023-05-01 at 13.45.10.png", "macos-screenshot", CREATE, "2023-05-01T13:45:10", {}),
    ("Screen Shot 2019-05-01 at 1.45.10 PM.png", "macos-screenshot", CREATE, "2019-05-01T13:45:10", {}),
    ("Screen Shot 2019-05-01 at 12.05.10 AM.png", "macos-screenshot", CREATE, "2019-05-01T00:05:10", {}),
    (
        "Screenshot 2023-05-01 at 1.45.10\u202fPM (2).png",
        "macos-screenshot",
        CREATE,
        "2023-05-01T13:45:10",
        {"copy": "(2)"},
    ),
    ("Bildschirmfoto 2023-05-01 um 13.45.10.png", "macos-screenshot", CREATE, "2023-05-01T13:45:10", {}),
    ("Capture d\u2019\u00e9cran 2023-05-01 \u00e0 13.45.10.png", "macos-screenshot", CREATE, "2023-05-01T13:45:10", {}),
    ("Screenshot 2023-05-01 134510.png", "windows-screenshot", CREATE, "2023-05-01T13:45:10", {}),
    ("PXL_20210501_134510123.jpg", "pixel-camera", CREATE, "2021-05-01T13:45:10.123", {}),
    ("PXL_20210501_134510123.PORTRAIT.jpg", "pixel-camera", CREATE, "2021-05-01T13:45:10.123", {"mode": "PORTRAIT"}),
    ("IMG_20190501_134510.jpg", "android-camera", CREATE, "2019-05-01T13:45:10", {"media": "image"}),
    (
        "IMG_20190501_134510_123.jpg",
        "android-camera",
        CREATE,
        "2019-05-01T13:45:10",
        {"media": "image", "suffix": "123"},
    ),
    ("VID_20190501_134510.mp4", "android-camera", CREATE, "2019-05-01T13:45:10", {"media": "video"}),
    ("WP_20140501_13_45_10_Pro.jpg", "windows-phone-camera", CREATE, "2014-05-01T13:45:10", {}),
    ("20190501_134510.jpg", "date-time", CREATE, "2019-05-01T13:45:10", {}),
    ("20190501_134510(0).jpg", "date-time", CREATE, "2019-05-01T13:45:10", {"copy": "(0)"}),
    ("2019-05-01 13.45.10.jpg", "dropbox-upload", CREATE, "2019-05-01T13:45:10", {}),
    ("2019-05-01 13.45.10-1.jpg", "dropbox-upload", CREATE, "2019-05-01T13:45:10", {"sequence": 1}),
]


@pytest.mark.parametrize(("name", "pattern", "stamp", "value", "details"), KNOWN, ids=[k[0] for k in KNOWN])
def test_a_known_name_gives_its_time_without_a_zone(
    name: str, pattern: str, stamp: str, value: str, details: dict[str, object]
) -> None:
    found = parse(name)
    assert found is not None
    assert found.pattern == pattern
    assert found.details == details
    t = found.timestamp
    # A name records no zone: the wall-clock time, never a UTC value.
    assert (t.name, t.source, t.value, t.utc, t.raw, t.offset_origin) == (stamp, "filename", value, None, name, "none")
    tags = found.tags()
    assert tags["pattern"] == pattern and tags["time"] == value and tags["app"] and tags["time_is"]


def test_milliseconds_since_1970_are_utc_by_definition() -> None:
    found = parse("FB_IMG_1556718310123.jpg")
    assert found is not None and found.pattern == "facebook-saved"
    t = found.timestamp
    assert (t.name, t.value, t.utc, t.offset_origin) == (
        SAVED,
        "2019-05-01T13:45:10.123Z",
        "2019-05-01T13:45:10.123Z",
        "utc-by-spec",
    )


@pytest.mark.parametrize(
    "name",
    [
        "IMG_0001.jpg",  # an iPhone's name: a count, no date
        "IMG-20191301-WA0003.jpg",  # month 13
        "IMG-20190230-WA0003.jpg",  # 30 February
        "Screenshot_20230501-256010.png",  # hour 25
        "Screen Shot 2019-05-01 at 13.45.10 PM.png",  # 13 PM
        "Screen Shot 2019-05-01 at 0.45.10 AM.png",  # hour 0 on a 12-hour clock
        "FB_IMG_0000000000001.jpg",  # 1970: before Facebook
        "FB_IMG_9999999999999.jpg",  # after 2100
        "IMG-18990501-WA0003.jpg",  # a year no such app wrote
        "IMG-20190501-WA0003",  # no extension
        "IMG-20190501-WA0003.jpg.exe",  # a second extension after it
        "xIMG-20190501-WA0003.jpg",  # not at the start
        "IMG-20190501-WA0003.jpg ",
        "20190501-134510.jpg",
        "Screenshot_20230501-134510_\x1b[31mred.png",  # a control sequence is no app name
        "Screenshot_20230501-134510_<script>.png",
        "",
        "2019",
    ],
)
def test_other_names_and_impossible_dates_are_not_read(name: str) -> None:
    assert parse(name) is None


def test_a_name_longer_than_a_file_system_allows_is_not_read() -> None:
    assert parse("IMG-20190501-WA0003" + " (1)" * 100 + ".jpg") is None
    assert parse("Screenshot_20230501-134510_" + "A" * 300 + ".png") is None


def test_the_app_a_screenshot_shows_is_bounded() -> None:
    found = parse("Screenshot_20230501-134510_" + "A" * 64 + ".png")
    assert found is not None and found.details["shown_app"] == "A" * 64
    assert parse("Screenshot_20230501-134510_" + "A" * 65 + ".png") is None


def test_base_name_takes_the_last_part_of_either_separator() -> None:
    assert filename.base_name("WhatsApp Chat/IMG-20190501-WA0003.jpg") == "IMG-20190501-WA0003.jpg"
    assert filename.base_name("DCIM\\Camera\\IMG_20190501_134510.jpg") == "IMG_20190501_134510.jpg"
    assert filename.base_name("plain.jpg") == "plain.jpg"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_read_or_refused_never_raises(name: str) -> None:
    found = parse(name)
    if found is not None:
        assert found.timestamp.raw == name


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([k[0] for k in KNOWN]),
    st.integers(min_value=0, max_value=40),
    st.characters(),
)
def test_one_character_changed_in_a_known_name_gives_a_real_date_or_nothing(name: str, at: int, ch: str) -> None:
    changed = name[: at % len(name)] + ch + name[at % len(name) + 1 :]
    found = parse(changed)
    if found is not None:
        Timestamp.from_dict(found.timestamp.to_dict())  # (a real date: parse made it)
        assert found.timestamp.value[:2] in ("19", "20")


def stamp(name: str, value: str, utc: str | None = None, source: str = "filename") -> Timestamp:
    return Timestamp(name, source, value, utc, value)


def captured(value: str, utc: str | None = None) -> Timestamp:
    return stamp("DateTimeOriginal", value, utc, source="exif")


@pytest.mark.parametrize(
    ("named", "shot", "expected"),
    [
        # Sent, received or saved: capture at or before it, with 26 hours for two zones.
        (stamp(SAVED, "2019-05-01"), captured("2019-04-20T10:00:00"), None),
        (stamp(SAVED, "2019-05-01"), captured("2019-05-02T23:59:00"), None),  # within the day + 26 h
        (stamp(SAVED, "2019-05-01"), captured("2019-05-03T02:00:01"), "after"),
        (stamp(MESSAGE, "2021-05-01T13:45:10"), captured("2021-05-02T15:45:10"), None),
        (stamp(MESSAGE, "2021-05-01T13:45:10"), captured("2021-05-02T15:45:11"), "after"),
        (stamp(SAVED, "2021-05-01T13:45:10"), captured("2010-01-01T00:00:00"), None),  # long before: fine
        # Made (camera, screenshot): both sides.
        (stamp(CREATE, "2019-05-01T13:45:10"), captured("2019-05-01T13:45:10"), None),
        (stamp(CREATE, "2019-05-01T13:45:10"), captured("2019-05-01T22:45:10+02:00"), None),
        (stamp(CREATE, "2019-05-01T13:45:10"), captured("2019-04-30T11:45:09"), "before"),
        (stamp(CREATE, "2019-05-01T13:45:10"), captured("2019-05-02T15:45:11"), "after"),
        # Both in UTC: no slack.
        (
            stamp(SAVED, "2019-05-01T13:45:10.123Z", "2019-05-01T13:45:10.123Z"),
            captured("2019-05-01T16:00:00+02:00", "2019-05-01T14:00:00Z"),
            "after",
        ),
        (
            stamp(SAVED, "2019-05-01T13:45:10.123Z", "2019-05-01T13:45:10.123Z"),
            captured("2019-05-01T15:00:00+02:00", "2019-05-01T13:00:00Z"),
            None,
        ),
        # A capture that is only a date cannot be compared.
        (stamp(CREATE, "2019-05-01T13:45:10"), captured("2010-01-01"), None),
    ],
)
def test_conflict(named: Timestamp, shot: Timestamp, expected: str | None) -> None:
    found = conflict(named, shot)
    if expected is None:
        assert found is None
    else:
        assert found is not None and found["capture_is"] == expected
        assert found["name_time"] == named.value and found["captured"] == shot.value
        assert found["captured_from"] == "exif DateTimeOriginal"
        assert isinstance(found["hours_apart"], float) and found["hours_apart"] > 0


def test_the_finding_names_both_times_and_what_the_name_says() -> None:
    named = parse("IMG-20190501-WA0003.jpg")
    assert named is not None
    finding = conflict_finding((named.timestamp,), captured("2019-06-10T10:00:00"))
    assert finding is not None
    assert (finding.code, finding.severity) == ("name-date-conflict", "notice")
    assert "2019-06-10T10:00:00" in finding.message and "2019-05-01" in finding.message
    assert "39.4 days after" in finding.message
    assert finding.evidence["hours_apart"] == 946.0
    made = parse("Screenshot_20230501-134510.png")
    assert made is not None
    near = conflict_finding((made.timestamp,), captured("2023-05-01T22:00:00"))
    assert near is None
    far = conflict_finding((made.timestamp,), captured("2023-04-29T13:45:10"))
    assert far is not None and "48.0 hours before" not in far.message and "2.0 days before" in far.message


def test_no_finding_without_a_name_time_or_a_capture_time() -> None:
    named = parse("IMG-20190501-WA0003.jpg")
    assert named is not None
    assert conflict_finding((named.timestamp,), None) is None
    assert conflict_finding((), captured("2019-06-10T10:00:00")) is None
    # A timestamp of another source with the same name is not the name's.
    assert conflict_finding((stamp(SAVED, "2019-05-01", source="xmp"),), captured("2019-06-10T10:00:00")) is None


@pytest.mark.parametrize(
    ("folder", "says"),
    [
        ("WhatsApp/Media/WhatsApp Images/Sent/", "sent"),
        ("Android/media/com.whatsapp/WhatsApp/Media/WhatsApp Images/", "received"),
        ("WhatsApp Business/Media/WhatsApp Business Video/Sent", "sent"),
        ("phone\\WhatsApp\\Media\\WhatsApp Documents\\", "received"),
        ("WhatsApp/Media/WhatsApp Images/Private/", None),  # (hidden from the gallery: neither)
        ("Sent/", None),  # a Sent folder of something else
        ("Downloads/", None),
        ("", None),
    ],
)
def test_whatsapps_folders_say_sent_or_received(folder: str, says: str | None) -> None:
    found = parse("IMG-20190501-WA0003.jpg", folder)
    assert found is not None and found.details.get("folder_says") == says
    # Only for WhatsApp's own names: a camera's photo copied there says nothing of it.
    other = parse("IMG_20190501_134510.jpg", folder)
    assert other is not None and "folder_says" not in other.details


def every_pattern(name: str) -> filename.NameTime | None:
    """parse without its first-character dispatch: every pattern tried."""
    for pattern in filename._PATTERNS:
        m = pattern.regex.fullmatch(name)
        if m is not None and (found := filename._read(pattern, m, name)) is not None:
            return found
    return None


def test_every_pattern_says_which_characters_its_names_start_with() -> None:
    assert set(filename._STARTS) == {p.key for p in filename._PATTERNS}
    for name, pattern, *_ in KNOWN:
        assert name[0] in filename._STARTS[pattern]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([k[0] for k in KNOWN]), st.integers(min_value=0, max_value=40), st.characters())
def test_the_dispatch_finds_what_trying_every_pattern_finds(name: str, at: int, ch: str) -> None:
    for text in (name, ch + name[1:], name[: at % len(name)] + ch + name[at % len(name) + 1 :]):
        mine, every = parse(text), every_pattern(text)
        assert (mine and (mine.pattern, mine.timestamp)) == (every and (every.pattern, every.timestamp))
