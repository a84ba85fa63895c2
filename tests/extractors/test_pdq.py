"""`evidence scan --pdq`: the PDQ hash of each image's pixels, from the command line to the
exports; near copies near, other pictures far; nothing decoded unless asked; and images
that cannot be decoded whole are not hashed, with the reason on the record."""

from __future__ import annotations

import csv
import io
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from PIL import Image

np = pytest.importorskip("numpy", reason="NumPy (the [pdq] extra, in [test]) is not installed")

from evidence_cli.cli import cli  # noqa: E402
from evidence_cli.extractors import pdq as pdq_extractor  # noqa: E402
from evidence_cli.formats import pdq  # noqa: E402
from evidence_cli.scanner import ScanOptions, scan  # noqa: E402
from tests.builders import file_context, png_chunk  # noqa: E402
from tests.formats.test_pdq import picture  # noqa: E402


def encoded(array: Any, fmt: str, **kw: Any) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, fmt, **kw)
    return buf.getvalue()


def run(*args: Any) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], terminal_width=100, prog_name="evidence")


@pytest.fixture
def evidence(tmp_path: Path) -> Path:
    """The same picture as PNG, as a re-encoded and resized JPEG, and as a GIF; another picture."""
    folder = tmp_path / "evidence"
    folder.mkdir()
    original = picture(360, 480, 21)
    (folder / "original.png").write_bytes(encoded(original, "PNG"))
    smaller = np.asarray(Image.fromarray(original).resize((240, 180), Image.BILINEAR))
    (folder / "shared_copy.jpg").write_bytes(encoded(smaller, "JPEG", quality=70))
    (folder / "palette.gif").write_bytes(encoded(original, "GIF"))
    (folder / "other.png").write_bytes(encoded(picture(360, 480, 22), "PNG"))
    (folder / "notes.txt").write_text("not an image\n")
    return folder


def records(folder: Path, **options: Any) -> dict[str, Any]:
    return {r.path: r for r in scan([str(folder)], ScanOptions(**options))}


def test_hash_of_the_decoded_pixels_and_near_copies(evidence: Path) -> None:
    got = records(evidence, pdq=True)
    png = got["original.png"].metadata["pdq"]
    assert (png["hash"], png["quality"]) == pdq.pdq_from_rgb(np.asarray(Image.open(evidence / "original.png")))
    assert png["width"] == 480 and png["height"] == 360 and png["mode"] == "RGB" and png["frames"] == 1
    assert png["method"] == pdq_extractor.METHOD and png["decoder"].startswith("Pillow ")
    assert png["quality"] >= 50
    hashes = {p: r.metadata["pdq"]["hash"] for p, r in got.items() if "pdq" in r.metadata}
    assert set(hashes) == {"original.png", "shared_copy.jpg", "palette.gif", "other.png"}
    assert pdq.hamming(hashes["original.png"], hashes["shared_copy.jpg"]) <= 31
    assert pdq.hamming(hashes["original.png"], hashes["palette.gif"]) <= 31
    assert pdq.hamming(hashes["original.png"], hashes["other.png"]) > 31
    assert got["palette.gif"].metadata["pdq"]["mode"] == "P"  # converted to RGB for the hash
    assert all(not r.errors for r in got.values())


def test_nothing_is_decoded_without_the_option(evidence: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any) -> Any:
        raise AssertionError("pixels decoded without --pdq")

    monkeypatch.setattr(pdq, "dihedral_from_rgb", refuse)
    got = records(evidence)
    assert all("pdq" not in r.metadata for r in got.values())
    assert all(not r.errors for r in got.values())


def test_truncated_image_is_not_hashed_and_says_why() -> None:
    data = encoded(picture(200, 200, 3), "JPEG", quality=90)
    result = pdq_extractor.PdqExtractor().extract(_ctx(data[: len(data) // 2]))
    assert not result.tags
    assert [p.severity for p in result.problems] == ["warning"]
    assert result.problems[0].stage == "metadata:pdq"
    assert result.problems[0].message.startswith("not hashed: pixels not decodable: OSError")


def test_image_over_the_pixel_limit_is_not_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdq_extractor, "MAX_PIXELS", 100 * 100 - 1)
    monkeypatch.setattr(pdq, "dihedral_from_rgb", lambda *_: pytest.fail("decoded past the limit"))
    result = pdq_extractor.PdqExtractor().extract(_ctx(encoded(picture(100, 100, 4), "PNG")))
    assert not result.tags
    assert result.problems[0].message == "not hashed: 100 x 100 pixels, more than the 9,999 decoded for PDQ"


def test_forged_header_of_a_billion_pixels_is_refused_without_decoding() -> None:
    # A PNG header declaring 40,000 x 40,000 pixels over a few bytes of data.
    ihdr = struct.pack(">IIBBBBB", 40_000, 40_000, 8, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
    data += png_chunk(b"IEND", b"")
    result = pdq_extractor.PdqExtractor().extract(_ctx(data))
    assert not result.tags
    assert result.problems[0].message.startswith("not hashed: ")


def test_not_an_image_after_all_is_unsupported() -> None:
    from evidence_cli.errors import UnsupportedFile

    with pytest.raises(UnsupportedFile):
        pdq_extractor.PdqExtractor().extract(_ctx(b"GIF89a" + b"\xff" * 4, mime="image/gif"))


def _ctx(data: bytes, mime: str | None = None) -> Any:
    from dataclasses import replace

    return replace(file_context(data, "evidence.img", mime=mime), pdq=True)


def test_cli_exports_and_header(evidence: Path, tmp_path: Path) -> None:
    out_json, out_csv = tmp_path / "m.json", tmp_path / "r.csv"
    result = run("scan", evidence, "--pdq", "--workers", "1", "--json", out_json, "--csv", out_csv)
    assert result.exit_code == 0, result.output
    manifest = json.loads(out_json.read_text())
    assert manifest["scan"]["options"]["pdq"] is True
    by_path = {r["path"]: r for r in manifest["files"]}
    rows = {row["path"]: row for row in csv.DictReader(out_csv.open(encoding="utf-8", newline=""))}
    for name in ("original.png", "shared_copy.jpg", "palette.gif", "other.png"):
        group = by_path[name]["metadata"]["pdq"]
        assert rows[name]["pdq"] == group["hash"] and rows[name]["pdq_quality"] == str(group["quality"])
    assert rows["notes.txt"]["pdq"] == rows["notes.txt"]["pdq_quality"] == ""
    # Without --pdq the header says nothing of it, and the columns are empty.
    plain = tmp_path / "plain.json"
    assert run("scan", evidence, "--workers", "0", "--json", plain).exit_code == 0
    again = json.loads(plain.read_text())
    assert "pdq" not in again["scan"]["options"]
    assert all("pdq" not in r["metadata"] for r in again["files"])


def test_cli_refuses_pdq_without_metadata(evidence: Path) -> None:
    result = run("scan", evidence, "--pdq", "--no-metadata")
    assert result.exit_code == 2
    assert "--pdq is a metadata reader" in result.output


def test_cli_says_what_to_install_without_numpy(evidence: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import evidence_cli.cli.scan as scan_cli

    monkeypatch.setattr(scan_cli, "numpy_missing", lambda: "--pdq needs NumPy: pip install 'evidence-cli[pdq]'")
    result = run("scan", evidence, "--pdq")
    assert result.exit_code == 2
    assert "pip install 'evidence-cli[pdq]'" in result.output
    assert "Traceback" not in result.output


def test_resume_refuses_a_change_of_pdq(evidence: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    assert run("scan", evidence, "--workers", "0", "--jsonl", out).exit_code == 0
    result = run("scan", evidence, "--workers", "0", "--jsonl", out, "--resume", "--pdq")
    assert result.exit_code == 2
    assert "'pdq'" in result.output


def test_show_gives_the_same_hash_as_scan(evidence: Path) -> None:
    result = run("show", evidence / "original.png", "--pdq", "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)["metadata"]["pdq"]
    assert shown == records(evidence, pdq=True)["original.png"].metadata["pdq"]
    plain = run("show", evidence / "original.png", "--json")
    assert "pdq" not in json.loads(plain.output)["metadata"]


def damaged_lzw_tiff() -> bytes:
    """An LZW TIFF whose strip is damaged: libtiff prints a warning of its own on stderr."""
    data = bytearray(encoded(picture(64, 64, 5), "TIFF", compression="tiff_lzw"))
    for i in range(200, 260):
        data[i] ^= 0x5A
    return bytes(data)


def test_libtiff_messages_go_on_the_record_not_the_terminal(tmp_path: Path) -> None:
    import subprocess
    import sys

    folder = tmp_path / "tiff"
    folder.mkdir()
    (folder / "damaged.tif").write_bytes(damaged_lzw_tiff())
    # In a worker process, as a real scan runs (libtiff writes to file descriptor 2).
    done = subprocess.run(
        [sys.executable, "-m", "evidence_cli", "scan", str(folder), "--pdq", "--workers", "1", "-f", "jsonl"],
        capture_output=True,
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stderr
    assert b"libtiff" not in done.stderr and b"tempfile.tif" not in done.stderr
    record = next(r for r in map(json.loads, done.stdout.splitlines()) if r.get("path") == "damaged.tif")
    said = [e["message"] for e in record["errors"] if e["stage"] == "metadata:pdq"]
    assert any(m.startswith("libtiff: ") for m in said), said
    assert said[-1].startswith("not hashed: pixels not decodable")


def test_c_messages_catches_what_is_written_to_descriptor_2(capfd: pytest.CaptureFixture[str]) -> None:
    import os

    with pdq_extractor.c_messages(True) as said:
        os.write(2, b"first warning\n\nsecond warning\n")
    os.write(2, b"after\n")
    assert said == ["first warning", "second warning"]
    assert capfd.readouterr().err == "after\n"
    with pdq_extractor.c_messages(False) as said:
        os.write(2, b"shown\n")
    assert said == [] and capfd.readouterr().err == "shown\n"
    # A library that prints without end neither blocks on a full pipe nor fills memory.
    with pdq_extractor.c_messages(True) as said:
        for n in range(20_000):
            os.write(2, b"warning %d: the same again and again\n" % n)
    assert len(said) == pdq_extractor.C_MESSAGES and said[0] == "warning 0: the same again and again"
    assert capfd.readouterr().err == ""


def test_heic_and_avif_are_decoded_and_hashed(tmp_path: Path) -> None:
    """An iPhone's HEIC (libheif through pillow-heif) and an AVIF (Pillow's own decoder):
    hashed within a few bits of the picture they encode, the decoder named."""
    pillow_heif = pytest.importorskip("pillow_heif", reason="pillow-heif (the [pdq] extra, in [test]) is not installed")
    original = picture(240, 320, 3)
    heif = pillow_heif.from_bytes(mode="RGB", size=(320, 240), data=original.tobytes())
    buf = io.BytesIO()
    heif.save(buf, quality=90)
    folder = tmp_path / "phone"
    folder.mkdir()
    (folder / "IMG_0001.HEIC").write_bytes(buf.getvalue())
    (folder / "IMG_0002.avif").write_bytes(encoded(original, "AVIF", quality=90))
    (folder / "IMG_0003.HEIC").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    got = records(folder, pdq=True)
    want = pdq.pdq_from_rgb(original)[0]
    heic = got["IMG_0001.HEIC"].metadata["pdq"]
    assert got["IMG_0001.HEIC"].mime == "image/heic"
    assert (heic["width"], heic["height"], heic["mode"]) == (320, 240, "RGB")
    assert heic["decoder"].startswith("libheif ") and "pillow-heif" in heic["decoder"]
    assert heic["method"] == pdq_extractor.METHOD_HEIF
    assert pdq.hamming(heic["hash"], want) <= 16
    avif = got["IMG_0002.avif"].metadata["pdq"]
    assert avif["decoder"].startswith("Pillow ") and pdq.hamming(avif["hash"], want) <= 16
    cut = got["IMG_0003.HEIC"]
    assert "pdq" not in cut.metadata
    said = [e.message for e in cut.errors if e.stage == "metadata:pdq"]
    assert said and said[-1].startswith("not hashed: pixels not decodable")


def test_heic_without_pillow_heif_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real = builtins.__import__

    def no_heif(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "pillow_heif":
            raise ImportError("not here")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_heif)
    result = pdq_extractor.PdqExtractor().extract(_ctx(b"\0\0\0\x18ftypheic" + b"\0" * 64, mime="image/heic"))
    assert [p.message for p in result.problems] == [
        "not hashed: decoding HEIF needs pillow-heif: pip install 'evidence-cli[pdq]'"
    ]


def test_image_with_a_side_over_the_limit_is_not_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdq_extractor, "MAX_SIDE", 99)
    monkeypatch.setattr(pdq, "dihedral_from_rgb", lambda *_: pytest.fail("decoded past the limit"))
    result = pdq_extractor.PdqExtractor().extract(_ctx(encoded(picture(10, 100, 4), "PNG")))
    assert not result.tags
    assert result.problems[0].message == "not hashed: 100 x 10 pixels, a side longer than the 99 decoded for PDQ"
