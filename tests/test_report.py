"""`evidence report`: the HTML report as a user makes it, what it holds, its limits, its
thumbnails, and that nothing from the evidence can run or load anything in a browser."""

from __future__ import annotations

import io
import json
import struct
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evidence_cli.cli import cli
from evidence_cli.console import safe_text
from evidence_cli.manifest import read_manifest
from evidence_cli.report import CSP, h, write_report
from tests.builders import exif_tiff, gps_fields, jpeg_bytes, png_chunk

HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)>"\u202egpj.exe'


def invoke(args: list[str], expect: int) -> Result:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == expect, result.output
    return result


class Tags(HTMLParser):
    """Every start tag and its attributes, and the text, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(page: str) -> Tags:
    p = Tags()
    p.feed(page)
    p.close()
    return p


@pytest.fixture
def case(tmp_path: Path) -> dict[str, Path]:
    tree = tmp_path / "evidence"
    tree.mkdir()
    paris = exif_tiff(
        make="Canon",
        model="EOS 5D",
        date_original="2019:05:01 13:45:10",
        offset_original="+02:00",
        gps=gps_fields(48.8584, 2.2945, alt=35.2),
    )
    (tree / "IMG_0001.jpg").write_bytes(jpeg_bytes(paris))
    (tree / (HOSTILE.replace("/", "_") + ".jpg")).write_bytes(jpeg_bytes(exif_tiff(make=HOSTILE.replace("\u202e", ""))))
    (tree / "notes.txt").write_text("a chat log\n")
    # A PNG header declaring a billion pixels over a few bytes: a decompression bomb.
    bomb = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 40_000, 40_000, 8, 2, 0, 0, 0))
    (tree / "bomb.png").write_bytes(bomb + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + png_chunk(b"IEND", b""))
    manifest = tmp_path / "case.json"
    invoke(["scan", str(tree), "--json", str(manifest), "--workers", "0", "-f", "json", "--case", "2026-041"], 1)
    return {"tree": tree, "manifest": manifest, "tmp": tmp_path}


def report(case: dict[str, Path], *extra: str, expect: int = 0) -> tuple[str, Result]:
    out = case["tmp"] / "report.html"
    if out.exists():
        out.unlink()
    result = invoke(["report", str(case["manifest"]), "-o", str(out), *extra], expect)
    return (out.read_text(encoding="utf-8") if out.exists() else ""), result


def test_the_report_holds_the_case_the_summary_the_map_the_times_and_the_files(case: dict[str, Path]) -> None:
    page, result = report(case)
    assert "Wrote the report of 4 records" in result.stderr
    doc = json.loads(case["manifest"].read_text(encoding="utf-8"))
    assert "<title>Evidence report: case 2026-041</title>" in page
    for section in ("Case and scan", "Summary", "Findings (", "Problems reading the evidence (", "Map (1 position)"):
        assert f"<h2>{section}" in page, section
    assert "Timeline of metadata times" in page and "<h2>Files</h2>" in page
    for r in doc["files"]:
        assert r["hashes"]["sha256"] in page
    assert "2019-05-01T11:45:10Z" in page and "48.858400, 2.294500 35.2 m" in page
    assert "https://www.openstreetmap.org/?mlat=48.858400&amp;mlon=2.294500#map=16/48.858400/2.294500" in page
    circles = [a for t, a in parsed(page).tags if t == "circle"]
    assert [(a["cx"], a["cy"]) for a in circles] == [("364.59", "82.28")]  # (lon + 180) * 2, (90 - lat) * 2
    assert "valid: " in page and "End of report: 4 records in the manifest." in page


def test_nothing_from_the_evidence_becomes_markup(case: dict[str, Path]) -> None:
    page, _ = report(case)
    tags = parsed(page)
    names = {t for t, _ in tags.tags}
    assert not names & {"script", "iframe", "object", "embed", "form", "base", "link", "frame"}, names
    assert all(t != "img" for t, _ in tags.tags)  # no thumbnails asked for: no image at all
    for tag, attrs in tags.tags:
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
        if tag == "a":
            assert (attrs.get("href") or "").startswith("https://www.openstreetmap.org/?mlat=")
    assert ("meta", {"http-equiv": "Content-Security-Policy", "content": CSP}) in tags.tags
    assert "script-src" not in CSP and "default-src 'none'" in CSP
    text = "".join(tags.text)
    assert "<script>alert(1)</script>" in text  # shown as text, never as a tag
    assert "\u202e" not in page and "\\u202e" in text  # the bidi override made visible


def test_the_members_of_an_archive_and_a_chat_inside_are_listed_as_text(tmp_path: Path) -> None:
    import zipfile

    tree = tmp_path / "evidence"
    tree.mkdir()
    paris = exif_tiff(
        make="Canon", model="EOS 5D", gps=gps_fields(48.8584, 2.2945), date_original="2019:05:01 13:45:10"
    )
    chat = "[13/05/2019, 21:03:11] Sam: hello\n[13/05/2019, 21:04:00] Alex: \u200e<attached: gone.jpg>\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("Chat/_chat.txt", chat.encode())
        z.writestr("Chat/" + HOSTILE.replace("/", "_") + ".jpg", jpeg_bytes(paris))
    (tree / "export.zip").write_bytes(buf.getvalue())
    manifest = tmp_path / "zip.json"
    invoke(["scan", str(tree), "--json", str(manifest), "--workers", "0", "-f", "json"], 0)
    out = tmp_path / "r.html"
    invoke(["report", str(manifest), "-o", str(out)], 0)
    page = out.read_text(encoding="utf-8")
    section = page[page.index("<h2>Archive members (2)</h2>") :]
    assert "What the archive of the scan holds" in section
    assert "48.858400, 2.294500 <a href=" in section and "Canon EOS 5D" in section
    assert "2019-05-01T13:45:10" in section
    # The member's position is on the map, named by archive and member.
    assert "<h2>Map (1 position)</h2>" in page
    circles = [a for t, a in parsed(page).tags if t == "circle"]
    assert [(a["cx"], a["cy"]) for a in circles] == [("364.59", "82.28")]
    assert "<td class=mono>export.zip [member Chat/&lt;script&gt;" in page and "<td>archive/exif</td>" in page
    tags = parsed(page)
    assert not {t for t, _ in tags.tags} & {"script", "img", "iframe"}
    assert "Chat/<script>alert(1)<_script><img src=x onerror=alert(2)>" in "".join(tags.text)  # text, not tags
    chats = page[page.index("<h2>Chat exports (1)</h2>") : page.index("<h2>Archive members")]
    assert "export.zip<br>member Chat/_chat.txt" in chats and "gone.jpg" in chats
    assert "Sam (1), Alex (1)" in chats


def test_h_escapes_and_makes_controls_visible() -> None:
    assert h('<a href="x">&\x1b[31m') == "&lt;a href=&quot;x&quot;&gt;&amp;\\x1b[31m"
    assert h(None) == ""
    # A name with a line break and one with a backslash and an n do not look alike.
    assert h("a\nb") == "a\\nb" and h("a\\nb") == "a\\\\nb"


def test_thumbnails_from_a_manifest_without_sha256_use_the_digest_it_holds(case: dict[str, Path]) -> None:
    manifest = case["tmp"] / "md5.json"
    invoke(["scan", str(case["tree"]), "--hash", "md5", "--json", str(manifest), "--workers", "0", "-f", "json"], 1)
    out = case["tmp"] / "md5.html"
    result = invoke(["report", str(manifest), "-o", str(out), "--thumbnails"], 0)
    page = out.read_text(encoding="utf-8")
    assert "2 thumbnails" in result.stderr and "differs" not in page
    assert "MD5 " in page  # the digest column names the digest it shows
    (case["tree"] / "IMG_0001.jpg").write_bytes(jpeg_bytes(None))
    invoke(["report", str(manifest), "-o", str(out), "--thumbnails", "--overwrite"], 0)
    assert "the file is not the one scanned (its MD5 differs)" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("field", "value"),
    [("size", 10**400), ("size", -(2**70)), ("latitude", 10**400), ("latitude", 91.0), ("longitude", -180.5)],
)
def test_numbers_a_report_cannot_show_are_refused_and_no_file_is_left(
    case: dict[str, Path], field: str, value: int | float
) -> None:
    doc = json.loads(case["manifest"].read_text(encoding="utf-8"))
    doc.pop("seal")
    target = next(r for r in doc["files"] if r["gps"])
    (target["gps"] if field != "size" else target)[field] = value
    bad = case["tmp"] / "bad.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    out = case["tmp"] / "bad.html"
    result = invoke(["report", str(bad), "--allow-unsealed", "-o", str(out)], 2)
    assert "record 2" in result.stderr and not out.exists()  # refused by the reader or the report


def test_limit_counts_what_it_leaves_out(case: dict[str, Path]) -> None:
    page, result = report(case, "--limit", "1")
    assert "3 files more not shown here (limit reached)" in page
    assert "files: 3 beyond --limit 1" in result.stderr


def test_thumbnails_only_of_the_files_scanned(case: dict[str, Path]) -> None:
    page, result = report(case, "--thumbnails")
    imgs = [a for t, a in parsed(page).tags if t == "img"]
    assert len(imgs) == 2 and all((a.get("src") or "").startswith("data:image/jpeg;base64,") for a in imgs)
    assert "2 thumbnails; 1 image files without one." in result.stderr
    assert "bomb.png: no thumbnail: DecompressionBomb" in result.stderr
    (case["tree"] / "IMG_0001.jpg").write_bytes(jpeg_bytes(None))
    page, result = report(case, "--thumbnails")
    assert "no thumbnail: the file is not the one scanned (its SHA-256 differs)" in page
    assert "1 thumbnail; 2 image files without one." in result.stderr
    (case["tree"] / "IMG_0001.jpg").unlink()
    page, _ = report(case, "--thumbnails")
    assert "no thumbnail: cannot read it now (No such file or directory)" in page


def test_a_tampered_or_unsealed_manifest(case: dict[str, Path]) -> None:
    text = case["manifest"].read_text(encoding="utf-8")
    case["manifest"].write_text(text.replace("EOS 5D", "EOS 6D"), encoding="utf-8")
    page, result = report(case, expect=2)
    assert "tampered" in result.stderr and page == ""
    doc = json.loads(text)
    del doc["seal"]
    case["manifest"].write_text(json.dumps(doc), encoding="utf-8")
    report(case, expect=2)
    page, _ = report(case, "--allow-unsealed")
    assert "The manifest is not sealed (missing)" in page


def test_refusals(case: dict[str, Path]) -> None:
    sums = case["tmp"] / "list.sha256"
    invoke(["export", str(case["manifest"]), "-f", "sha256sum", "-o", str(sums)], 0)
    result = invoke(["report", str(sums), "-o", str(case["tmp"] / "r.html")], 2)
    assert "holds digests, no file records" in result.stderr
    result = invoke(["report", str(case["manifest"]), "-o", str(case["tree"] / "r.html")], 2)
    assert not (case["tree"] / "r.html").exists()


ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "table", "tr", "th", "td"}
ALLOWED_TAGS |= {"svg", "line", "circle", "text", "a", "em", "code", "span"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.text(max_size=60).map(lambda t: "f" + t.replace("/", "_").replace("\x00", "_")),
    st.text(max_size=60),
    st.text(max_size=60),
)
def test_any_strings_in_a_manifest_stay_text(case: dict[str, Path], path: str, make: str, message: str) -> None:
    doc = json.loads(case["manifest"].read_text(encoding="utf-8"))
    doc.pop("seal", None)  # the fixture's manifest, re-written by each example
    r = doc["files"][0]
    r["path"], r["device"]["make"], r["mime"] = path, make, make
    r["findings"] = [{"code": message, "severity": "notice", "message": message, "evidence": {}}]
    r["errors"] = [{"stage": message, "severity": "warning", "type": make, "message": message}]
    r["timestamps"] = [{"name": make, "source": message, "value": "2019", "utc": None, "raw": message}]
    doc["case"]["case"] = message
    case["manifest"].write_text(json.dumps(doc), encoding="utf-8")
    manifest = read_manifest(str(case["manifest"]))
    out = io.StringIO()
    write_report(manifest, out, generated_utc="2026-01-01T00:00:00Z")
    tags = parsed(out.getvalue())
    assert {t for t, _ in tags.tags} <= ALLOWED_TAGS
    for _, attrs in tags.tags:
        assert not any(k.startswith("on") for k in attrs)
    shown = "".join(tags.text)
    for value in (path, make, message):
        assert safe_text(value.replace("\\", "\\\\")) in shown


JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.just([]),
    st.just({}),
    st.just(["x"]),
)
RECORD_FIELDS = [
    ("path",),
    ("kind",),
    ("mime",),
    ("description",),
    ("size",),
    ("link_target",),
    ("hashes",),
    ("hashes", "sha256"),
    ("hashes", "md5"),
    ("device",),
    ("device", "make"),
    ("device", "model"),
    ("device", "software"),
    ("gps",),
    ("gps", "latitude"),
    ("gps", "longitude"),
    ("gps", "altitude"),
    ("captured",),
    ("captured", "value"),
    ("timestamps",),
    ("timestamps", 0),
    ("timestamps", 0, "value"),
    ("timestamps", 0, "utc"),
    ("findings",),
    ("findings", 0),
    ("findings", 0, "code"),
    ("errors",),
    ("filesystem",),
    ("filesystem", "modified"),
    ("metadata",),
    ("metadata", "filesystem"),
    ("metadata", "filesystem", "inode"),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(RECORD_FIELDS), JSON_VALUES)
def test_a_hand_made_manifest_of_any_shape_is_refused_or_reported_never_a_traceback(
    case: dict[str, Path], where: tuple[str | int, ...], value: object
) -> None:
    """A seal proves no authorship: anyone can hand over a manifest with a recomputed seal
    and records of any shape. Each command gives its output or refuses it (exit 2)."""
    doc = json.loads(case["manifest"].read_text(encoding="utf-8"))
    doc.pop("seal", None)
    target: Any = next(r for r in doc["files"] if r["gps"] and r["findings"] is not None)
    target.setdefault("findings", []).append({"code": "c", "severity": "notice", "message": "m", "evidence": {}})
    try:
        for key in where[:-1]:
            target = target[key]
        target[where[-1]] = value
    except (KeyError, IndexError, TypeError):
        return  # that field is not there in this record (no captured time, no timestamps)
    bad = case["tmp"] / "hand-made.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    for args in (
        ["report", str(bad), "-o", str(case["tmp"] / "r.html"), "--thumbnails"],
        ["timeline", str(bad), "-o", str(case["tmp"] / "t.csv")],
        ["timeline", str(bad), "-f", "bodyfile", "-o", str(case["tmp"] / "t.body")],
    ):
        result = CliRunner().invoke(cli, [*args, "--allow-unsealed", "--overwrite"])
        assert result.exception is None or isinstance(result.exception, SystemExit), (args[0], where, value)
        assert result.exit_code in (0, 2), result.output
        if result.exit_code == 2:
            assert "Error:" in result.output


@pytest.mark.filterwarnings("error")  # a warning that escaped would fail the thumbnail
def test_pillow_advice_does_not_reach_stderr(tmp_path: Path) -> None:
    """Pillow warns about palettes with byte transparency: a thumbnail is made, quietly."""
    from PIL import Image

    tree = tmp_path / "evidence"
    tree.mkdir()
    img = Image.new("P", (400, 300))  # larger than a thumbnail: Pillow resizes, and warns
    img.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * 759)
    img.save(tree / "palette.png", transparency=bytes([0, 128, 255]))
    manifest = tmp_path / "m.json"
    invoke(["scan", str(tree), "--json", str(manifest), "--workers", "0", "-f", "json"], 0)
    result = invoke(["report", str(manifest), "-o", str(tmp_path / "r.html"), "--thumbnails"], 0)
    assert "1 thumbnail;" in result.stderr and "Warning" not in result.stderr


def test_google_photos_metadata_files_are_a_section_as_text(tmp_path: Path) -> None:
    from tests.hostile.corpus import takeout_seed

    tree = tmp_path / "evidence"
    tree.mkdir()
    (tree / "IMG_1.jpg.supplemental-metadata.json").write_bytes(takeout_seed(HOSTILE))
    manifest = tmp_path / "t.json"
    invoke(["scan", str(tree), "--json", str(manifest), "--workers", "0", "-f", "json"], 0)
    out = tmp_path / "r.html"
    invoke(["report", str(manifest), "-o", str(out)], 0)
    page = out.read_text(encoding="utf-8")
    section = page[page.index("<h2>Google Photos (Takeout) (1)</h2>") : page.index("<h2>Timeline")]
    assert "<td>2019-05-13T19:01:40Z</td><td>2019-05-13T19:03:11Z</td>" in section
    # The photo's own place, and Google's other one.
    assert ">48.858400, 2.294600</a>" in section and ">48.858300, 2.294500</a>" in section
    tags = parsed(page)
    assert not {t for t, _ in tags.tags} & {"script", "img", "iframe"}
    text = "".join(tags.text)  # the title, people, device folder: text, not tags (the bidi mark shown)
    assert text.count("<script>alert(1)</script><img src=x onerror=alert(2)>") >= 3 and "\u202e" not in text


def test_google_photos_time_and_place_against_the_photo_beside(tmp_path: Path) -> None:
    tree = tmp_path / "Takeout" / "Google Photos" / "Photos from 2019"
    tree.mkdir(parents=True)
    paris = exif_tiff(
        make="Canon",
        date_original="2019:05:01 13:45:10",
        offset_original="+02:00",
        gps=gps_fields(48.8584, 2.2945),
    )
    (tree / "a.jpg").write_bytes(jpeg_bytes(paris))
    (tree / "b.jpg").write_bytes(jpeg_bytes(exif_tiff(make="Canon", date_original="2019:05:01 13:45:10")))

    def sidecar(title: str, taken: int, lat: float, lon: float) -> bytes:
        return json.dumps(
            {
                "title": title,
                "photoTakenTime": {"timestamp": str(taken)},
                "geoData": {"latitude": lat, "longitude": lon, "altitude": 0.0},
            }
        ).encode()

    # a.jpg: Google's time is the photo's own (11:45:10 UTC), its place moved to the Louvre.
    (tree / "a.jpg.supplemental-metadata.json").write_bytes(sidecar("a.jpg", 1556711110, 48.8606, 2.3376))
    # b.jpg: a date edited in Google Photos (a day later); no place of its own.
    (tree / "b.jpg.json").write_bytes(sidecar("b.jpg", 1556711110 + 86400, 48.8584, 2.2945))
    # c.jpg was not exported beside its metadata file; a title that climbs is never looked for.
    (tree / "c.jpg.json").write_bytes(sidecar("c.jpg", 1556711110, 48.8584, 2.2945))
    (tree / "d.json").write_bytes(sidecar("../a.jpg", 1556711110, 48.8584, 2.2945))
    manifest = tmp_path / "t.json"
    invoke(["scan", str(tmp_path / "Takeout"), "--json", str(manifest), "--workers", "0", "-f", "json"], 0)
    out = tmp_path / "r.html"
    invoke(["report", str(manifest), "-o", str(out)], 0)
    page = out.read_text(encoding="utf-8")
    section = page[page.index("<h2>Google Photos (Takeout) (4)</h2>") : page.index("<h2>Timeline")]
    rows = {row.split("</td>", 1)[0].rsplit("/", 1)[-1]: row for row in section.split("<tr><td class=mono>")[1:]}
    assert (
        "its own capture time agrees; its own place is 3.2 km from the place Google holds"
        in rows["a.jpg.supplemental-metadata.json"]
    )
    assert (
        "its own capture time (2019-05-01T13:45:10, offset unknown) is 22.0 hours from Google&#x27;s; "
        "it has no place of its own" in rows["b.jpg.json"]
    )
    assert "<td>not scanned beside it</td>" in rows["c.jpg.json"]
    assert "<td>not scanned beside it</td>" in rows["d.json"]
