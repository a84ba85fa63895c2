"""Every hostile file gets a record, and the scan finishes in bounded time and memory.

One tree holds every attack of :mod:`tests.hostile.corpus` (damaged seeds of every format,
decompression bombs, zip bombs, 100,001-member and nested archives, XML entity attacks,
ISO-BMFF box tricks, EXIF IFD loops, PDF loops and stream bombs, empty files). It is
scanned the way a user does it — the CLI in a subprocess — once in-process (``--workers
0``: its peak RSS is the parsers' real appetite) and once with worker processes.
"""

from __future__ import annotations

import builtins
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from evidence_cli.schema import definition_schema
from tests.hostile import corpus
from tests.hostile.run import Run, load_json_export, load_jsonl_export, record_bytes, run_evidence

#: Peak resident memory a scan of the whole hostile tree may use (a bare scan of a few
#: files peaks near 90 MiB: Python, rich, Pillow, libmagic's database).
MAX_RSS_MIB = 400
#: Wall-clock bound for scanning the tree (it takes ~10 s on 2 cores; hangs are what we catch).
SCAN_TIMEOUT_S = 240

#: Exception class names that, as a metadata error type, mean an exception escaped an
#: extractor instead of being reported as damage (warnings are how Pillow reports damage).
ESCAPED = {
    name
    for name, obj in vars(builtins).items()
    if isinstance(obj, type) and issubclass(obj, BaseException) and not issubclass(obj, Warning)
} | {"error", "BadSize", "BadZipFile", "ExpatError", "ParseError", "TimeLimitExceeded", "WorkerCrashed"}


@pytest.fixture(scope="module")
def hostile_tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes]]:
    files = corpus.all_attacks()
    root = tmp_path_factory.mktemp("hostile") / "evidence"
    corpus.write_tree(root, files)
    return root, files


@pytest.fixture(scope="module")
def inprocess(
    hostile_tree: tuple[Path, dict[str, bytes]], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Run, dict[str, Any]]:
    root, _ = hostile_tree
    out = tmp_path_factory.mktemp("out") / "scan.json"
    run = run_evidence(
        ["scan", root, "--workers", "0", "--timeout", "20", "--json", out, "--width", "120"], timeout=SCAN_TIMEOUT_S
    )
    return run, load_json_export(out)


def by_path(export: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["path"]: r for r in export["files"]}


def test_scan_of_every_attack_finishes_with_one_record_per_file(
    hostile_tree: tuple[Path, dict[str, bytes]], inprocess: tuple[Run, dict[str, Any]]
) -> None:
    _, files = hostile_tree
    run, export = inprocess
    assert run.returncode in (0, 1), run.text()[-3000:]
    paths = [record_bytes(r) for r in export["files"]]
    assert len(paths) == len(files), "one record per entry"
    assert set(paths) == {n.encode() for n in files}
    assert export["scan"]["complete"] is True
    assert export["summary"]["entries"] == len(files)


def test_scan_of_every_attack_stays_within_memory(inprocess: tuple[Run, dict[str, Any]]) -> None:
    run, _ = inprocess
    assert run.max_rss_mib < MAX_RSS_MIB, f"peak RSS {run.max_rss_mib:.0f} MiB"


def test_terminal_output_of_the_attack_scan_holds_no_control_character(inprocess: tuple[Run, dict[str, Any]]) -> None:
    """Table and summary (and anything a library prints) are valid UTF-8 without control,
    C1 or bidi characters, whatever the damaged files made the parsers say."""
    run, _ = inprocess
    for stream in (run.stdout, run.stderr):
        text = stream.decode("utf-8")
        assert sorted({f"U+{ord(c):04X}" for c in text if c in corpus.FORBIDDEN_TERMINAL_CHARS}) == []


def test_every_record_is_valid_against_the_schema(inprocess: tuple[Run, dict[str, Any]]) -> None:
    _, export = inprocess
    validator = Draft202012Validator(definition_schema("file_record"))
    bad = {r["path"]: [e.message for e in validator.iter_errors(r)][:3] for r in export["files"]}
    assert not {k: v for k, v in bad.items() if v}


def test_every_file_is_hashed_exactly(
    hostile_tree: tuple[Path, dict[str, bytes]], inprocess: tuple[Run, dict[str, Any]]
) -> None:
    """Damage never stops the hash pass: every digest is that of the bytes on disk."""
    _, files = hostile_tree
    _, export = inprocess
    for r in export["files"]:
        data = files[r["path"]]
        assert r["size"] == len(data)
        assert r["hashes"]["sha256"] == hashlib.sha256(data).hexdigest(), r["path"]
        assert r["hashes"]["md5"] == hashlib.md5(data).hexdigest(), r["path"]


def test_no_exception_escapes_an_extractor(inprocess: tuple[Run, dict[str, Any]]) -> None:
    """Damage is reported as damage (a Problem the extractor words), never as a raw
    ``IndexError``/``RecursionError``/``struct.error`` caught by the scanner, nor as a hang."""
    _, export = inprocess
    escaped = [
        (r["path"], e["stage"], e["type"], e["message"][:120])
        for r in export["files"]
        for e in r["errors"]
        if e["stage"].startswith("metadata:") and e["type"] in ESCAPED
    ]
    assert not escaped


def test_decompression_bombs_are_refused_not_decoded(inprocess: tuple[Run, dict[str, Any]]) -> None:
    _, export = inprocess
    records = by_path(export)
    for name in corpus.image_bombs():
        r = records[name]
        assert r["hashes"]["sha256"], name
        if name.endswith((".png", ".gif", ".tif", ".jpg")):
            kinds = {(e["stage"], e["type"]) for e in r["errors"]}
            assert ("metadata:image", "DecompressionBombError") in kinds, (name, r["errors"])
            assert r["image"] is None, "a refused image reports no dimensions"


def test_xml_entities_are_never_expanded_or_fetched(inprocess: tuple[Run, dict[str, Any]]) -> None:
    _, export = inprocess
    records = by_path(export)
    passwd = Path("/etc/passwd").read_text(errors="replace").splitlines()[:1]
    for name in corpus.xml_attacks():
        text = json.dumps(records[name], ensure_ascii=False)
        assert "lollollol" not in text, name
        for line in passwd:
            assert line not in text, name
        if name.startswith(("billion-laughs", "xxe")):
            # The refusal is reported, never silent.
            assert records[name]["errors"], name


def test_archives_are_recorded_with_their_damage_bounded(inprocess: tuple[Run, dict[str, Any]]) -> None:
    _, export = inprocess
    records = by_path(export)
    for name in corpus.archive_attacks():
        r = records[name]
        assert r["kind"] == "file" and r["hashes"]["sha256"], name
    # The bombs' members are never inflated whole: nothing of the 2 GiB of filler is kept.
    text = json.dumps(records["zipbomb-2GiB-members.docx"])
    assert "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" not in text
    assert len(text) < 200_000


def test_tar_attacks_are_recorded_with_what_stopped_them(inprocess: tuple[Run, dict[str, Any]]) -> None:
    _, export = inprocess
    records = by_path(export)
    for name in corpus.tar_attacks():
        assert records[name]["kind"] == "file" and records[name]["hashes"]["sha256"], name
    messages = {name: " ".join(e["message"] for e in records[name]["errors"]) for name in corpus.tar_attacks()}
    assert "asks to read 8589934592 bytes at once" in messages["pax-header-8GiB.tar"]
    assert "more than 50000 members" in messages["many-members-50001.tar"]
    assert "over the 256 MiB hashed per archive" in messages["gzip-bomb-2GiB.gz"]


def test_empty_file_is_a_plain_record(inprocess: tuple[Run, dict[str, Any]]) -> None:
    _, export = inprocess
    r = by_path(export)["empty"]
    assert r["size"] == 0
    assert r["hashes"]["sha256"] == hashlib.sha256(b"").hexdigest()
    assert r["errors"] == []


def test_worker_processes_give_the_same_records(
    hostile_tree: tuple[Path, dict[str, bytes]],
    inprocess: tuple[Run, dict[str, Any]],
    tmp_path: Path,
) -> None:
    """With crash isolation and a memory limit per worker, the records are the same."""
    root, files = hostile_tree
    out = tmp_path / "scan.jsonl"
    run = run_evidence(
        ["scan", root, "--workers", "2", "--memory-limit", "1024", "--timeout", "20", "--jsonl", out, "-f", "json"],
        timeout=SCAN_TIMEOUT_S,
    )
    assert run.returncode in (0, 1), run.text()[-3000:]
    lines = load_jsonl_export(out)
    records = [line for line in lines[1:] if "path" in line]
    assert len(records) == len(files)
    _, first = inprocess
    assert records == first["files"]


def test_decoding_every_attack_for_pdq_is_bounded_and_reported(
    hostile_tree: tuple[Path, dict[str, bytes]], inprocess: tuple[Run, dict[str, Any]], tmp_path: Path
) -> None:
    """--pdq decodes pixels, the most exposed part of reading an image: every attack still
    gives its record, bombs and damage become metadata:pdq warnings, nothing escapes, the
    terminal stays clean (libtiff's own messages go on the record), memory stays bounded,
    and every other answer is the scan's without --pdq."""
    pytest.importorskip("numpy", reason="NumPy (the [pdq] extra) is not installed")
    root, files = hostile_tree
    out = tmp_path / "scan.json"
    run = run_evidence(
        ["scan", root, "--pdq", "--workers", "2", "--memory-limit", "1024", "--timeout", "20", "--json", out],
        timeout=SCAN_TIMEOUT_S,
    )
    assert run.returncode in (0, 1), run.text()[-3000:]
    assert run.max_rss_mib < MAX_RSS_MIB, f"peak RSS {run.max_rss_mib:.0f} MiB"
    for stream in (run.stdout, run.stderr):
        assert not {c for c in stream.decode("utf-8") if c in corpus.FORBIDDEN_TERMINAL_CHARS}
    assert b"libtiff" not in run.stderr and b"tempfile.tif" not in run.stderr
    records = by_path(load_json_export(out))
    assert len(records) == len(files)
    pdq_errors = [(p, e) for p, r in records.items() for e in r["errors"] if e["stage"] == "metadata:pdq"]
    assert not [(p, e["type"]) for p, e in pdq_errors if e["type"] in ESCAPED]
    assert all(e["severity"] == "warning" for _, e in pdq_errors)
    for name in corpus.image_bombs():
        assert "pdq" not in records[name]["metadata"], name
    hashed = [r for r in records.values() if "pdq" in r["metadata"]]
    assert hashed and all(len(r["metadata"]["pdq"]["hash"]) == 64 for r in hashed)
    _, plain = inprocess
    for r in plain["files"]:
        with_pdq = records[r["path"]]
        other = {k: v for k, v in with_pdq["metadata"].items() if k != "pdq"}
        for member in other.get("archive", {}).get("members", ()):  # (pictures in archives: their hashes)
            member.pop("pdq", None)
        assert (other, with_pdq["hashes"], with_pdq["mime"]) == (r["metadata"], r["hashes"], r["mime"])
        more = [e for e in with_pdq["errors"] if e["stage"] != "metadata:pdq" and e not in r["errors"]]
        # What decoding an archive's pictures said: warnings on the archive's record, never an escape.
        assert all(e["stage"] == "metadata:archive" and e["severity"] == "warning" for e in more), more
        assert [e for e in with_pdq["errors"] if e["stage"] != "metadata:pdq" and e not in more] == r["errors"]


def test_many_jpeg_segments_do_not_hide_the_exif(tmp_path: Path) -> None:
    """libmagic gives up ('name use count (64) exceeded') on a JPEG with 64+ segments before
    its image data: the type must still be known, so the EXIF (GPS, capture time) is read."""
    from evidence_cli.scanner import ScanOptions, scan

    jpg = corpus.jpeg_seed("HiddenCam")
    (tmp_path / "hidden.jpg").write_bytes(jpg[:2] + b"\xff\xe2\x00\x02" * 70 + jpg[2:])
    [r] = list(scan([str(tmp_path)], ScanOptions(workers=0)))
    assert r.mime == "image/jpeg"
    assert r.gps is not None and r.gps.source == "exif"
