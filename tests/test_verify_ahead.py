"""verify hashes files ahead of its report on one thread per core: the same report, in
the same order, as hashing each file when its turn comes."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from evidence_cli import hashing
from evidence_cli import verify as verify_mod
from evidence_cli.manifest import read_manifest
from evidence_cli.models import VerifyEntry
from evidence_cli.verify import AHEAD_MIN, verify
from tests.custody import make_tree, write_manifest

BIG = 2 * 1024 * 1024  # counted as large below: hashed when reported, on every core
REAL_HASH = verify_mod._hash


@pytest.fixture
def changed_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """An awkward tree with medium files (hashed ahead) and one large file, then changed
    after its manifest was written: modified, deleted, renamed, added, a manifest copy inside."""
    monkeypatch.setattr(verify_mod, "THREADED_MIN", BIG)
    tree = make_tree(tmp_path / "evidence")
    rng = __import__("random").Random(4)
    for i in range(24):
        (tree / "media" / f"clip-{i:02d}.bin").parent.mkdir(exist_ok=True)
        (tree / "media" / f"clip-{i:02d}.bin").write_bytes(rng.randbytes(AHEAD_MIN + 1000 * i))
    (tree / "disk.img").write_bytes(rng.randbytes(BIG + 5))
    manifest = tmp_path / "manifest.json"
    write_manifest(tree, manifest)
    with open(tree / "media" / "clip-03.bin", "r+b") as fh:
        fh.seek(AHEAD_MIN // 2)
        fh.write(b"\x00")
    (tree / "media" / "clip-05.bin").unlink()
    (tree / "media" / "clip-07.bin").rename(tree / "media" / "renamed.bin")
    (tree / "media" / "added.bin").write_bytes(rng.randbytes(AHEAD_MIN * 2))
    (tree / "disk.img").write_bytes(rng.randbytes(BIG + 5))
    return tree, manifest


def _report(manifest: Path, cores: int, monkeypatch: pytest.MonkeyPatch) -> tuple[list[VerifyEntry], list[str]]:
    """The whole report with ``cores`` cores, and the thread that hashed each file."""
    monkeypatch.setattr(hashing, "usable_cores", lambda: cores)
    threads: list[str] = []

    def spy(path: bytes, st: os.stat_result, algorithms: tuple[str, ...]) -> Any:
        threads.append(f"{os.fsdecode(os.path.basename(path))!r} {threading.current_thread().name.split('_')[0]}")
        return REAL_HASH(path, st, algorithms)

    monkeypatch.setattr(verify_mod, "_hash", spy)
    return list(verify(read_manifest(str(manifest)))), threads


def test_hashing_ahead_changes_nothing_in_the_report(
    changed_case: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    tree, manifest = changed_case
    alone, alone_threads = _report(manifest, 1, monkeypatch)
    ahead, ahead_threads = _report(manifest, 4, monkeypatch)
    assert ahead == alone, "every entry, every field, in the same order"
    statuses = {e.path: e.status for e in ahead if e.status != "ok"}
    assert statuses == {
        "media/clip-03.bin": "modified",
        "media/clip-05.bin": "missing",
        "media/clip-07.bin": "moved",
        "media/added.bin": "new",
        "disk.img": "modified",
    }
    assert all(t.endswith(" MainThread") for t in alone_threads)
    on = dict(t.rsplit(" ", 1) for t in ahead_threads)
    assert on["'clip-00.bin'"] == on["'added.bin'"] == on["'renamed.bin'"] == "verify-hash", on
    assert on["'disk.img'"] == "MainThread", "a large file uses every core itself"
    assert on["'plain.txt'"] == "MainThread", "small files are hashed when reported"
    assert sorted(ahead_threads) != sorted(alone_threads)
    assert sorted(t.rsplit(" ", 1)[0] for t in ahead_threads) == sorted(t.rsplit(" ", 1)[0] for t in alone_threads), (
        "each file hashed once either way"
    )


def test_stopping_the_report_early_stops_hashing_ahead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An interrupted verify (Ctrl-C, an output error) reads nothing more once it stops:
    files queued ahead are dropped, only those being read are finished."""
    tree = tmp_path / "evidence"
    tree.mkdir()
    for i in range(40):
        (tree / f"{i:02d}.bin").write_bytes(os.urandom(AHEAD_MIN))
    manifest = tmp_path / "manifest.json"
    write_manifest(tree, manifest)
    monkeypatch.setattr(hashing, "usable_cores", lambda: 2)
    hashed: list[bytes] = []
    held = threading.Event()  # holds every file but the first until the report has stopped
    holding = threading.Semaphore(0)  # a thread has taken a file and is held

    def slow(path: bytes, st: os.stat_result, algorithms: tuple[str, ...]) -> Any:
        if not path.endswith(b"/00.bin"):
            holding.release()
            held.wait(30)
        hashed.append(path)
        return REAL_HASH(path, st, algorithms)

    monkeypatch.setattr(verify_mod, "_hash", slow)
    report = verify(read_manifest(str(manifest)))
    assert next(report).path == "00.bin"
    # Both threads hold a file before the report stops (on a loaded machine the second
    # may not have taken one yet when the first file is reported).
    assert holding.acquire(timeout=30) and holding.acquire(timeout=30)
    threading.Timer(0.3, held.set).start()  # lets the files being read finish, after close() began
    report.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("verify-hash")]
    # 17 files were queued when the first was reported (a window of 2 x 8 behind it): the
    # first, and the two the threads were holding, were read; the rest never.
    assert len(hashed) == 3, f"{len(hashed)} files read"
