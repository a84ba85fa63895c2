"""The garbage collector's settings in the command's process and in the scan's workers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from evidence_cli import gcsettings

_REPORT = "import atexit, gc; atexit.register(lambda: print(gc.get_threshold()[0], gc.get_freeze_count()))"


def test_settle_freezes_what_is_alive_and_spaces_the_young_collections() -> None:
    code = (
        "import gc\n"
        "from evidence_cli import gcsettings\n"
        "before = gc.get_threshold()\n"
        "assert gc.get_freeze_count() == 0\n"
        "gcsettings.settle()\n"
        "after = gc.get_threshold()\n"
        "assert after == (gcsettings.YOUNG_THRESHOLD, *before[1:]), (before, after)\n"
        "assert gc.get_freeze_count() > 1000, gc.get_freeze_count()\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_the_command_runs_settled() -> None:
    code = f"{_REPORT}\nimport sys\nsys.argv = ['evidence', '--version']\nfrom evidence_cli.entry import main\nmain()\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert out.returncode == 0, out.stderr
    threshold, frozen = out.stdout.split()[-2:]
    assert int(threshold) == gcsettings.YOUNG_THRESHOLD and int(frozen) > 1000


def test_workers_run_settled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pool's worker: the objects the fork server imported are frozen, and its own."""
    from evidence_cli import engine
    from evidence_cli.scanner import ScanOptions

    monkeypatch.chdir(tmp_path)  # workers import this module from the repository, not the working folder
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1]))
    pool = engine._new_pool(1, ScanOptions(workers=1))
    try:
        threshold, frozen = pool.submit(_gc_state).result(timeout=60)
    finally:
        engine._stop_pool(pool)
    assert threshold == gcsettings.YOUNG_THRESHOLD
    assert frozen > 10_000  # (the extractors, libmagic's tables: thousands of objects)


def _gc_state() -> tuple[int, int]:
    import gc

    return gc.get_threshold()[0], gc.get_freeze_count()
