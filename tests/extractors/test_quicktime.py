"""QuickTime/MP4 extractor: hand-assembled movies, wrong types and damaged boxes."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence_cli.errors import UnsupportedFile
from evidence_cli.extractors.quicktime import QuickTimeExtractor, decode_data, parse_iso6709
from evidence_cli.geo import GeoError
from evidence_cli.models import Extraction, Timestamp
from tests.builders import file_context, scan_one
from tests.formats.isobmff_builders import (
    ROT90,
    XMP_UUID,
    audio_entry,
    box,
    data_atom,
    fbox,
    hdlr,
    keys_meta,
    mvhd,
    qt_time,
    text_atom,
    tkhd,
    trak,
    udta,
    uuid_box,
    xmp_packet,
)
from tests.formats.isobmff_builders import movie as build_movie

EX = QuickTimeExtractor()
T0 = qt_time(2019, 7, 24, 8, 25, 57)
T1 = qt_time(2019, 7, 24, 8, 25, 58)


def run(data: bytes, mime: str = "video/mp4") -> Extraction:
    return EX.extract(file_context(data, "clip.mp4", mime=mime))


def ts(ex: Extraction, name: str) -> Timestamp:
    found = [t for t in ex.timestamps if t.name == name]
    assert len(found) == 1, (name, ex.timestamps)
    return found[0]


def basic_movie(*extra: bytes, version: int = 0, **kw: object) -> bytes:
    return build_movie(
        mvhd(T0, T1, 600, 2401, version=version),
        trak(T0, T1, "vide", width=568, height=320, version=version),
        trak(T0, T1, "soun", track_id=2, version=version),
        *extra,
        **kw,  # type: ignore[arg-type]
    )


# --- good files ------------------------------------------------------------------------


@pytest.mark.parametrize("version", [0, 1])
def test_movie_and_track_headers(version: int) -> None:
    ex = run(basic_movie(version=version))
    assert ex.problems == ()
    create = ts(ex, "CreateDate")
    assert create.value == "2019-07-24T08:25:57+00:00"
    assert create.utc == "2019-07-24T08:25:57Z"
    assert create.raw == str(T0)
    assert create.source == "quicktime" and create.offset_origin == "utc-by-spec"
    assert ts(ex, "ModifyDate").utc == "2019-07-24T08:25:58Z"
    for name in ("TrackCreateDate", "TrackModifyDate", "MediaCreateDate", "MediaModifyDate"):
        assert ts(ex, name).offset_origin == "utc-by-spec"  # two tracks, same time: kept once
    assert ex.image == {
        "format": "isom",
        "duration_s": 4.001667,
        "width": 568,
        "height": 320,
        "codec": "avc1",
        "rotation": 0,
        "audio_codec": "mp4a",
    }
    mv = ex.tags["mvhd"]
    assert (mv["version"], mv["timescale"], mv["duration"], mv["creation_time"]) == (version, 600, 2401, T0)
    video, audio = ex.tags["tracks"]
    assert video["handler"] == "vide" and video["tkhd"]["width"] == 568 and video["sample_width"] == 568
    assert video["mdhd"]["language"] == "eng"
    assert audio["handler"] == "soun" and audio["channels"] == 2 and audio["sample_rate"] == 48000
    assert ex.gps is None and ex.device is None


def test_64bit_times_beyond_2038() -> None:
    far = qt_time(2100, 1, 2, 3, 4, 5)
    ex = run(build_movie(mvhd(far, 0, version=1)))
    assert ts(ex, "CreateDate").utc == "2100-01-02T03:04:05Z"
    assert not [t for t in ex.timestamps if t.name == "ModifyDate"]  # 0 = not set
    assert ex.problems == ()


def test_zero_times_give_no_timestamp() -> None:
    ex = run(build_movie(mvhd(0, 0), trak(0, 0)))
    assert ex.timestamps == () and ex.problems == ()


def test_unix_epoch_written_by_mistake_is_patched_and_reported() -> None:
    unix = 1_563_956_757  # 2019-07-24T08:25:57Z counted from 1970
    ex = run(build_movie(mvhd(unix, 0)))
    assert ts(ex, "CreateDate").utc == "2019-07-24T08:25:57Z"
    assert len(ex.problems) == 1 and "counted from 1970" in ex.problems[0].message


def test_unrepresentable_time_is_a_problem() -> None:
    ex = run(build_movie(mvhd(2**64 - 1, T0, version=1)))
    assert [t.name for t in ex.timestamps] == ["ModifyDate"]
    assert len(ex.problems) == 1 and "not a representable date" in ex.problems[0].message


def test_apple_keys_in_a_quicktime_meta() -> None:
    items = [
        ("com.apple.quicktime.location.ISO6709", 1, b"+32.0929+034.8620+028.516/"),
        ("com.apple.quicktime.make", 1, b"Apple"),
        ("com.apple.quicktime.model", 1, b"iPhone 6"),
        ("com.apple.quicktime.software", 1, b"12.3"),
        ("com.apple.quicktime.creationdate", 1, b"2019-07-24T11:25:40+0300"),
    ]
    data = basic_movie(keys_meta(items, full=False), major="qt  ", brands=("qt  ",))
    ex = run(data, "video/quicktime")
    assert ex.problems == ()
    cd = ts(ex, "CreationDate")
    assert cd.value == "2019-07-24T11:25:40+03:00" and cd.utc == "2019-07-24T08:25:40Z"
    assert cd.offset_origin == "stored" and cd.raw == "2019-07-24T11:25:40+0300"
    assert ex.gps is not None
    assert (ex.gps.latitude, ex.gps.longitude, ex.gps.altitude) == (32.0929, 34.862, 28.516)
    assert ex.gps.source == "quicktime"
    assert ex.gps.raw == {"com.apple.quicktime.location.ISO6709": "+32.0929+034.8620+028.516/"}
    assert ex.device is not None
    assert (ex.device.make, ex.device.model, ex.device.software, ex.device.source) == (
        "Apple",
        "iPhone 6",
        "12.3",
        "quicktime",
    )
    assert ex.tags["keys"]["com.apple.quicktime.make"] == "Apple"
    assert ex.image is not None and ex.image["format"] == "qt  "


def test_android_keys_in_a_full_box_meta_and_xyz_in_udta() -> None:
    items = [
        ("com.android.version", 1, b"7.1.2"),
        ("com.android.capture.fps", 23, struct.pack(">f", 30.0)),
        ("com.android.manufacturer", 1, b"Google"),
        ("com.android.model", 1, b"Pixel"),
    ]
    data = basic_movie(keys_meta(items, full=True), udta(text_atom("©xyz", "+33.9951-118.4762/")))
    ex = run(data)
    assert ex.problems == ()
    assert ex.tags["keys"]["com.android.capture.fps"] == 30.0
    assert ex.device is not None
    assert (ex.device.make, ex.device.model, ex.device.software) == ("Google", "Pixel", "7.1.2")
    assert ex.gps is not None and (ex.gps.latitude, ex.gps.longitude, ex.gps.altitude) == (33.9951, -118.4762, None)
    assert ex.tags["udta"]["©xyz"] == "+33.9951-118.4762/"


def test_user_data_text_atoms() -> None:
    data = basic_movie(
        udta(
            text_atom("©mak", "Canon"),
            text_atom("©mod", "EOS R"),
            text_atom("©swr", "Firmware 1.0"),
            text_atom("©day", "2020-05-06T07:08:09+0200"),
            text_atom("©nam", "Mac Roman \u00e9", lang=0),
            text_atom("©des", "data looks like a box type"),
            box("©cmt", data_atom(1, b"iTunes-style inside udta")),
            box("SDLN", b"PLAY"),
            box("BIN1", b"\x01\x02"),
            box("BIG1", b"z" * 1000),
        )
    )
    ex = run(data)
    assert ex.problems == ()
    assert ex.device is not None
    assert (ex.device.make, ex.device.model, ex.device.software) == ("Canon", "EOS R", "Firmware 1.0")
    day = ts(ex, "ContentCreateDate")
    assert day.utc == "2020-05-06T05:08:09Z" and day.offset_origin == "stored"
    u = ex.tags["udta"]
    assert u["©cmt"] == "iTunes-style inside udta"
    assert u["©des"] == "data looks like a box type"
    assert u["SDLN"] == {"length": 4, "hex": "504c4159", "text": "PLAY"}
    assert u["BIN1"] == {"length": 2, "hex": "0102"} and u["BIG1"] == {"length": 1000}
    assert u["©nam"].startswith("Mac Roman")


def test_itunes_ilst_in_udta_meta() -> None:
    ilst = box("ilst", box("©too", data_atom(1, b"Lavf58.29.100")), box("©day", data_atom(1, b"2017")))
    meta = fbox("meta", 0, 0, hdlr("mdir"), ilst)
    ex = run(basic_movie(udta(meta)))
    assert ex.tags["ilst"] == {"©too": "Lavf58.29.100", "©day": "2017"}
    assert ts(ex, "ContentCreateDate").value == "2017"  # year only: kept at its precision
    assert ex.problems == ()


def test_xmp_in_uuid_box() -> None:
    data = basic_movie(top=[uuid_box(XMP_UUID, xmp_packet())])
    ex = run(data)
    xmp_ts = [t for t in ex.timestamps if t.source == "xmp"]
    assert [(t.name, t.utc) for t in xmp_ts] == [("CreateDate", "2020-01-02T03:04:05Z")]
    assert ex.tags["XMP"]["xmp:CreatorTool"] == "TestTool 1.0"
    assert ex.device is not None and ex.device.software == "TestTool 1.0" and ex.device.source == "xmp"
    assert ex.problems == ()


def test_xmp_in_udta_and_a_second_packet() -> None:
    data = basic_movie(udta(box("XMP_", xmp_packet("2021-02-03T04:05:06Z"))), top=[uuid_box(XMP_UUID, xmp_packet())])
    ex = run(data)
    assert [t.utc for t in ex.timestamps if t.source == "xmp"] == ["2021-02-03T04:05:06Z"]
    assert len(ex.problems) == 1 and "2 XMP packets" in ex.problems[0].message


def test_fragmented_movie_and_co64() -> None:
    co64 = fbox("co64", 0, 0, struct.pack(">IQ", 1, 2**33))
    mvex = box("mvex", fbox("mehd", 1, 0, struct.pack(">Q", 90_000)))
    moof = box("moof", box("mfhd", b"\x00" * 8))
    data = build_movie(mvhd(T0, T1, 1000, 0), trak(T0, T1, chunk_box=co64), mvex, top=[moof, box("mdat"), moof])
    ex = run(data)
    assert ex.problems == ()
    assert ex.tags["fragments"] == 2
    assert ex.tags["mehd"] == {"version": 1, "fragment_duration": 90_000}
    assert ex.tags["tracks"][0]["chunk_offsets"] == {"box": "co64", "entry_count": 1}


def test_rotation_from_the_track_matrix() -> None:
    track = box("trak", tkhd(T0, T1, width=1920, height=1080, matrix=ROT90), box("mdia", hdlr("vide")))
    ex = run(build_movie(mvhd(T0, T1), track))
    assert ex.image is not None and ex.image["rotation"] == 90


def test_scan_record_end_to_end(tmp_path: Path) -> None:
    items = [("com.apple.quicktime.creationdate", 1, b"2019-07-24T11:25:40+0300")]
    rec = scan_one(tmp_path, "clip.mov", basic_movie(keys_meta(items, full=False), major="qt  ", brands=("qt  ",)))
    assert rec.mime == "video/quicktime"
    assert rec.captured is not None and rec.captured.name == "CreationDate"
    assert rec.metadata["quicktime"]["mvhd"]["creation_time"] == T0
    assert not [e for e in rec.errors if e.stage == "metadata:quicktime"]


# --- wrong type ------------------------------------------------------------------------


def test_not_a_movie_is_unsupported() -> None:
    with pytest.raises(UnsupportedFile):
        run(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)


def test_octet_stream_without_ftyp_is_quietly_not_ours() -> None:
    ex = run(b"\x00\x01\x02garbage" * 10, "application/octet-stream")
    assert ex.tags == {} and ex.problems == () and ex.timestamps == ()


def test_octet_stream_with_ftyp_is_read() -> None:
    ex = run(basic_movie(), "application/octet-stream")
    assert ts(ex, "CreateDate").utc == "2019-07-24T08:25:57Z"


# --- damaged ---------------------------------------------------------------------------


def test_truncated_movie_keeps_what_was_read() -> None:
    data = basic_movie()
    cut = data[: data.index(b"mdat") + 20]  # mdat claims more than is left
    ex = run(cut)
    assert ts(ex, "CreateDate").utc == "2019-07-24T08:25:57Z"
    assert len(ex.problems) == 1 and "'mdat'" in ex.problems[0].message


def test_moov_cut_inside() -> None:
    data = basic_movie()
    ex = run(data[: data.index(b"trak") + 40])
    assert len(ex.problems) == 1 and "'moov'" in ex.problems[0].message
    assert ex.timestamps == ()


def test_ten_thousand_nested_moov() -> None:
    nested = b""
    for _ in range(10_000):
        nested = box("moov", nested)
    ex = run(box("ftyp", b"mp42\x00\x00\x00\x00") + nested)
    assert len(ex.problems) == 1 and "deeper than 16" in ex.problems[0].message


def test_short_header_boxes_are_problems() -> None:
    data = build_movie(fbox("mvhd", 0, 0, b"\x00" * 6), box("trak", fbox("tkhd", 1, 0, b"\x00" * 9)))
    ex = run(data)
    assert ex.timestamps == ()
    assert len(ex.problems) == 2
    assert all("damaged" in p.message for p in ex.problems)


def test_unknown_header_version_and_short_duration() -> None:
    ex = run(build_movie(fbox("mvhd", 2, 0, b"\x00" * 96), box("trak", fbox("mdhd", 0, 0, b"\x00" * 14))))
    assert ex.timestamps == ()
    messages = sorted(p.message for p in ex.problems)
    assert len(messages) == 2
    assert "version 2 is unknown" in messages[1] and "too short for its time scale" in messages[0]


def test_keys_and_ilst_damage() -> None:
    keys = fbox("keys", 0, 0, struct.pack(">I", 3), struct.pack(">I", 4), b"mdta")  # entry size 4 < 8
    ilst = box("ilst", box(struct.pack(">I", 9), data_atom(1, b"x")))
    meta = fbox("meta", 0, 0, hdlr("mdta"), keys, ilst)
    ex = run(basic_movie(meta))
    messages = sorted(p.message for p in ex.problems)
    assert len(messages) == 3
    assert "bad size 4" in messages[2] and "declares 3 entries" in messages[1] and "refers to key 9" in messages[0]


def test_text_atom_longer_than_its_box() -> None:
    bad = box("©mak", struct.pack(">HH", 200, 0x15C7), b"short")
    ex = run(basic_movie(udta(bad)))
    assert ex.device is None
    assert len(ex.problems) == 1 and "runs past" in ex.problems[0].message


def test_garbage_position_gives_no_gps() -> None:
    ex = run(basic_movie(udta(text_atom("©xyz", "+99.0000+000.0000/"))))
    assert ex.gps is None
    assert len(ex.problems) == 1 and "GPS position rejected" in ex.problems[0].message


def test_too_many_tracks() -> None:
    tracks = [box("trak", tkhd(T0, T1, track_id=i)) for i in range(70)]
    ex = run(build_movie(mvhd(T0, T1), *tracks))
    assert len(ex.tags["tracks"]) == 64
    assert len(ex.problems) == 1 and "more than 64 tracks" in ex.problems[0].message


def test_audio_only_movie_has_no_frame_size() -> None:
    ex = run(build_movie(mvhd(T0, T1), trak(T0, T1, "soun", entry=audio_entry("samr", 1, 8000))))
    assert ex.image is not None and "width" not in ex.image and ex.image["audio_codec"] == "samr"


# --- ISO 6709 and data values ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+48.8577+002.2950+035.000/", (48.8577, 2.295, 35.0)),
        ("+40.7128-074.0060/", (40.7128, -74.006, None)),
        ("-33.8688+151.2093-012.5/", (-33.8688, 151.2093, -12.5)),
        ("+4851.462+00217.700/", (48 + 51.462 / 60, 2 + 17.7 / 60, None)),
        ("+485127.72+0021742.0/", (48 + 51 / 60 + 27.72 / 3600, 2 + 17 / 60 + 42 / 3600, None)),
        ("+48.8577+002.2950CRSWGS_84/", (48.8577, 2.295, None)),
        ("+1.5-2.5/", (1.5, -2.5, None)),
        ("  +48.8577+002.2950/\x00", (48.8577, 2.295, None)),
        ("+00.0000+000.0000/", (0.0, 0.0, None)),
    ],
)
def test_iso6709_forms(text: str, expected: tuple[float, float, float | None]) -> None:
    lat, lon, alt = parse_iso6709(text)
    assert lat == pytest.approx(expected[0]) and lon == pytest.approx(expected[1])
    assert alt == (pytest.approx(expected[2]) if expected[2] is not None else None)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage",
        "0,0",
        "48.8577 2.2950",
        "+91.0000+002.0000/",
        "+45.0000+181.0000/",
        "+4860.0+00200.0/",
        "+485160+0020000/",
        "+485+002/",
        "+48.8+0021.0/",
        "+48.8577+002.2950+999999/",
        "+48.8577",
    ],
)
def test_iso6709_rejects(text: str) -> None:
    with pytest.raises(GeoError):
        parse_iso6709(text)


@pytest.mark.parametrize(
    ("code", "raw", "value"),
    [
        (1, "héllo".encode(), "héllo"),
        (2, "hi".encode("utf-16-be"), "hi"),
        (21, b"\xff\xfe", -2),
        (22, b"\x01\x00", 256),
        (23, struct.pack(">f", 1.5), 1.5),
        (24, struct.pack(">d", float("nan")), "nan"),
        (67, struct.pack(">i", -5), -5),
        (21, b"\x00" * 5, {"hex": "0000000000", "length": 5}),
        (13, b"\xff\xd8", {"hex": "ffd8", "length": 2}),
    ],
)
def test_data_atom_values(code: int, raw: bytes, value: object) -> None:
    assert decode_data(code, raw) == value


def test_long_values_are_bounded() -> None:
    big = decode_data(0, b"x" * 1000)
    assert big["length"] == 1000 and big["truncated"] is True and len(big["hex"]) == 512
    text = decode_data(1, b"y" * 70_000)
    assert text["length"] == 70_000 and text["truncated"] is True and len(text["text"]) == 65_536


# --- 3GPP asset boxes ------------------------------------------------------------------


def _loci(lat: float, lon: float, alt: float, body: bytes = b"earth\x00") -> bytes:
    coords = struct.pack(">iii", int(lon * 65536), int(lat * 65536), int(alt * 65536))
    return fbox("loci", 0, 0, struct.pack(">H", 0x15C7), b"Home\x00", b"\x00", coords, body, b"notes\x00")


def test_3gpp_assets_and_loci_position() -> None:
    titl = fbox("titl", 0, 0, struct.pack(">H", 0x15C7), "\ufeffTitle".encode("utf-16-be"), b"\x00\x00")
    auth = fbox("auth", 0, 0, struct.pack(">H", 0x15C7), b"Author\x00")
    yrrc = fbox("yrrc", 0, 0, struct.pack(">H", 2005))
    ex = run(basic_movie(udta(titl, auth, yrrc, _loci(51.5, -0.125, 20.5))))
    assert ex.problems == ()
    u = ex.tags["udta"]
    assert u["titl"] == {"language": "eng", "text": "Title"}
    assert u["auth"] == {"language": "eng", "text": "Author"}
    assert u["yrrc"] == {"year": 2005}
    assert u["loci"]["name"] == "Home" and u["loci"]["astronomical_body"] == "earth" and u["loci"]["notes"] == "notes"
    assert ex.gps is not None
    assert (ex.gps.latitude, ex.gps.longitude, ex.gps.altitude) == (51.5, -0.125, 20.5)


def test_xyz_wins_over_loci_and_a_moon_position_is_not_gps() -> None:
    ex = run(basic_movie(udta(_loci(51.5, -0.125, 0), text_atom("©xyz", "+40.7128-074.0060/"))))
    assert ex.gps is not None and ex.gps.latitude == 40.7128
    moon = run(basic_movie(udta(_loci(10.0, 20.0, 0, b"moon\x00"))))
    assert moon.gps is None
    assert len(moon.problems) == 1 and "not used as GPS" in moon.problems[0].message


def test_damaged_loci() -> None:
    short = fbox("loci", 0, 0, struct.pack(">H", 0x15C7), b"Home\x00\x00\x01")
    ex = run(basic_movie(udta(short)))
    assert ex.gps is None
    assert len(ex.problems) == 1 and "loci too short" in ex.problems[0].message


# --- mutated files never raise ---------------------------------------------------------

_FUZZ_BASE = basic_movie(
    keys_meta(
        [("com.apple.quicktime.make", 1, b"Apple"), ("com.apple.quicktime.creationdate", 1, b"2020")], full=False
    ),
    udta(text_atom("©xyz", "+40.7128-074.0060/"), box("XMP_", xmp_packet())),
    top=[uuid_box(XMP_UUID, xmp_packet())],
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, len(_FUZZ_BASE) - 1), st.integers(0, 255)), min_size=1, max_size=8),
    st.integers(16, len(_FUZZ_BASE)),
)
def test_mutated_movies_give_problems_not_exceptions(edits: list[tuple[int, int]], keep: int) -> None:
    data = bytearray(_FUZZ_BASE)
    for pos, value in edits:
        data[pos] = value
    try:
        ex = run(bytes(data[:keep]))
    except UnsupportedFile:
        return
    assert all(p.stage == "metadata:quicktime" for p in ex.problems)


def test_old_quicktime_file_starting_with_another_atom_is_read() -> None:
    data = box("PICT", b"\x00" * 16) + box("moov", mvhd(T0, T1)) + box("mdat")
    ex = run(data, "video/quicktime")
    assert ts(ex, "CreateDate").utc == "2019-07-24T08:25:57Z" and ex.problems == ()
