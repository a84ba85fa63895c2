"""With --pdq, the EXIF thumbnail of a JPEG: hashed, compared with the image, and a finding
when it shows another picture (an image changed after its thumbnail was made)."""

from __future__ import annotations

import hashlib
import io
import struct
from typing import Any

import pytest
from PIL import Image

np = pytest.importorskip("numpy", reason="NumPy (the [pdq] extra, in [test]) is not installed")

from evidence_cli.extractors import pdq as pdq_extractor  # noqa: E402
from evidence_cli.formats import pdq  # noqa: E402
from tests.builders import exif_with_thumbnail  # noqa: E402
from tests.extractors.test_pdq import _ctx, encoded  # noqa: E402
from tests.formats.test_pdq import picture  # noqa: E402


def shrunk(array: Any, size: tuple[int, int]) -> Any:
    return np.asarray(Image.fromarray(array).resize(size, Image.Resampling.BOX))


def jpeg_with_thumbnail(image: Any, thumbnail: bytes, **declared: Any) -> bytes:
    main = encoded(image, "JPEG", quality=92)
    payload = b"Exif\x00\x00" + exif_with_thumbnail(thumbnail, **declared)
    return main[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + main[2:]


def extract(data: bytes) -> Any:
    return pdq_extractor.PdqExtractor().extract(_ctx(data, mime="image/jpeg"))


def test_the_thumbnail_of_the_image_is_hashed_and_close() -> None:
    image = picture(360, 480, 41)
    thumb = encoded(shrunk(image, (160, 120)), "JPEG", quality=80)
    result = extract(jpeg_with_thumbnail(image, thumb))
    t = result.tags["thumbnail"]
    thumb_hash, thumb_quality = pdq.pdq_from_rgb(np.asarray(Image.open(io.BytesIO(thumb)).convert("RGB")))
    assert (t["hash"], t["quality"], t["width"], t["height"]) == (thumb_hash, thumb_quality, 160, 120)
    assert (t["bytes"], t["sha256"]) == (len(thumb), hashlib.sha256(thumb).hexdigest())
    assert t["distance"] == pdq.hamming(result.tags["hash"], thumb_hash) and t["distance"] <= 31
    assert t["grey_difference"] < 8 and t["bars_cut"] is None and t["closest_turn"] == "none"
    assert not result.findings and not result.problems


def test_a_thumbnail_of_another_picture_is_a_finding() -> None:
    whole = picture(480, 640, 42)
    cropped = np.ascontiguousarray(whole[240:, 320:])  # the image cut to a quarter after...
    thumb = encoded(shrunk(whole, (160, 120)), "JPEG", quality=80)  # ...the thumbnail was made
    result = extract(jpeg_with_thumbnail(cropped, thumb))
    t = result.tags["thumbnail"]
    assert t["distance"] >= pdq_extractor.THUMB_DIFFERS and t["grey_difference"] >= pdq_extractor.THUMB_PIXELS_DIFFER
    [finding] = result.findings
    assert (finding.code, finding.severity) == ("thumbnail-differs", "notice")
    assert finding.message.startswith(
        f"the EXIF thumbnail does not show the image as stored: their PDQ hashes are {t['distance']} of 256 bits apart"
    )
    assert finding.evidence["thumbnail_sha256"] == hashlib.sha256(thumb).hexdigest()


def test_both_measures_must_agree() -> None:
    """PDQ's bits can be far apart for one flat drawing and its own thumbnail: a finding
    needs the pixels to differ too."""
    image = picture(360, 480, 43)
    thumb = encoded(shrunk(image, (160, 120)), "JPEG", quality=80)
    data = jpeg_with_thumbnail(image, thumb)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pdq_extractor, "THUMB_DIFFERS", 0)  # as if PDQ said "far"
        assert not extract(data).findings
        mp.setattr(pdq_extractor, "THUMB_PIXELS_DIFFER", 0.0)  # and the pixels too
        assert [f.code for f in extract(data).findings] == ["thumbnail-differs"]


def test_black_bars_of_a_letterboxed_thumbnail_are_cut() -> None:
    image = picture(320, 480, 44)  # 3:2 in a 4:3 thumbnail: bars above and below
    frame = np.zeros((120, 160, 3), dtype=np.uint8)
    frame[7:114] = shrunk(image, (160, 107))
    result = extract(jpeg_with_thumbnail(image, encoded(frame, "JPEG", quality=85)))
    t = result.tags["thumbnail"]
    assert t["bars_cut"] is not None and t["bars_cut"].startswith("top and bottom (")
    assert t["distance"] <= 31 and not result.findings


@pytest.mark.parametrize(
    "thumbnail, declared, says",
    [
        (b"\xff\xd8\xff" + b"\x00" * 50, {}, "thumbnail not decodable: "),
        (b"x" * 40, {"length": 5000}, "thumbnail: its 5000 bytes at "),
        (b"x" * 40, {"start": 2**32 - 10}, "run past the EXIF block"),
    ],
)
def test_a_damaged_thumbnail_is_a_problem_and_the_image_still_hashed(
    thumbnail: bytes, declared: dict[str, int], says: str
) -> None:
    result = extract(jpeg_with_thumbnail(picture(120, 160, 45), thumbnail, **declared))
    assert "hash" in result.tags and "thumbnail" not in result.tags
    assert [says in p.message for p in result.problems] == [True]
    assert result.problems[0].stage == "metadata:pdq"


def test_a_thumbnail_too_large_to_be_one_is_not_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdq_extractor, "THUMB_MAX_PIXELS", 160 * 120 - 1)
    thumb = encoded(picture(120, 160, 46), "JPEG", quality=80)
    result = extract(jpeg_with_thumbnail(picture(240, 320, 46), thumb))
    assert "thumbnail" not in result.tags
    assert [p.message for p in result.problems] == ["thumbnail of 160 x 120 pixels: not decoded (more than 19,199)"]


def test_the_table_flags_it(tmp_path: Any) -> None:
    from evidence_cli.scanner import ScanOptions, scan
    from evidence_cli.writers.table import flags

    whole = picture(480, 640, 47)
    (tmp_path / "cropped.jpg").write_bytes(
        jpeg_with_thumbnail(np.ascontiguousarray(whole[240:, 320:]), encoded(shrunk(whole, (160, 120)), "JPEG"))
    )
    [record] = scan([str(tmp_path)], ScanOptions(pdq=True, workers=0))
    assert "THUMB" in flags(record).split()
    [plain] = scan([str(tmp_path)], ScanOptions(workers=0))
    assert "THUMB" not in flags(plain).split() and "pdq" not in plain.metadata


def test_the_report_shows_the_exif_thumbnail_beside_the_image(tmp_path: Any) -> None:
    import json

    from click.testing import CliRunner

    from evidence_cli.cli import cli
    from evidence_cli.manifest import seal_value

    folder = tmp_path / "case"
    folder.mkdir()
    whole = picture(480, 640, 48)
    data = jpeg_with_thumbnail(np.ascontiguousarray(whole[240:, 320:]), encoded(shrunk(whole, (160, 120)), "JPEG"))
    (folder / "cropped.jpg").write_bytes(data)
    manifest, page = tmp_path / "case.json", tmp_path / "report.html"
    run = CliRunner().invoke
    assert run(cli, ["scan", str(folder), "--pdq", "--workers", "0", "--json", str(manifest)]).exit_code == 0
    assert run(cli, ["report", str(manifest), "--thumbnails", "-o", str(page)]).exit_code == 0
    html = page.read_text()
    assert "its EXIF thumbnail (thumbnail-differs):" in html
    assert 'alt="EXIF thumbnail of record 1" src="data:image/jpeg;base64,' in html
    # A thumbnail that is not the one the scan recorded is not shown.
    doc = json.loads(manifest.read_text())
    doc["files"][0]["metadata"]["pdq"]["thumbnail"]["sha256"] = "0" * 64
    doc["seal"]["value"] = seal_value(doc)
    manifest.write_text(json.dumps(doc))
    assert run(cli, ["report", str(manifest), "--thumbnails", "-o", str(page), "--overwrite"]).exit_code == 0
    html = page.read_text()
    assert "EXIF thumbnail: not the one the scan recorded" in html and "EXIF thumbnail of record" not in html
