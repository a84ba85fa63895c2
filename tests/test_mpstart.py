"""Starting the worker helper early: only for scans that will use worker processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from evidence_cli.mpstart import wants_pool


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["scan", "case"], True),
        (["scan", "case", "--workers", "2"], True),
        (["scan", "case", "--workers", "1"], True),  # one worker is still a pool
        (["scan", "case", "--workers", "0"], False),
        (["scan", "case", "--workers=0"], False),
        (["scan", "case", "--scheduler", "tcp://h:8786"], False),
        (["scan", "--help"], False),
        (["verify", "m.json"], False),
        (["show", "IMG_0001.jpg"], True),  # read in one worker
        (["show", "--help"], False),
        ([], False),
    ],
)
def test_only_a_pooled_scan_or_a_show_prestarts(argv: list[str], expected: bool) -> None:
    assert wants_pool(argv) is expected


def test_importing_the_package_does_not_load_the_scanner() -> None:
    # The entry point relies on this to start the fork server before the heavy imports.
    code = "import sys, evidence_cli; print('evidence_cli.scanner' in sys.modules, evidence_cli.ScanOptions.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    assert out.stdout.split() == ["False", "ScanOptions"]


def test_the_cli_does_not_load_the_extractors_until_they_are_used() -> None:
    # The main process of a pooled scan never runs one; workers get them from the fork server.
    code = (
        "import sys, evidence_cli.cli, evidence_cli.scanner\n"
        "print(any(m.startswith('evidence_cli.extractors.') and m != 'evidence_cli.extractors.base'"
        " for m in sys.modules), 'PIL' in sys.modules)\n"
        "from evidence_cli import extractors\n"
        "print(len(extractors.registered()) > 5)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    assert out.stdout.split() == ["False", "False", "True"]


def test_run_order_does_not_depend_on_which_extractor_module_was_imported_first() -> None:
    code = (
        "import evidence_cli.extractors.png, evidence_cli.extractors.xmp\n"
        "from evidence_cli import extractors\n"
        "print(' '.join(e.name for e in extractors.registered()))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    names = out.stdout.split()
    assert names[0] == "filesystem" and names.index("exif") < names.index("xmp") < names.index("png")


def test_workers_start_with_libmagic_ready(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fork server opens libmagic's handles and reads its database files once
    (evidence_cli.preload): a worker has them before its first file. Neither the guards of
    the "data" proof nor the smaller copies of the database are made there: they held up
    the start of every scan, and a scan of photos never needs them."""
    from evidence_cli import engine
    from evidence_cli.scanner import ScanOptions

    monkeypatch.chdir(tmp_path)  # workers import this module from the repository, not the working folder
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1]))
    pool = engine._new_pool(1, ScanOptions(workers=1))
    try:
        assert pool.submit(_libmagic_state).result(timeout=60) == (True, True, False, False, False)
    finally:
        engine._stop_pool(pool)


def _libmagic_state() -> tuple[bool, bool, bool, bool, bool]:
    from evidence_cli.filetype import _detector

    return (
        getattr(_detector._local, "handles", None) is not None,
        _detector._databases_read and _detector._databases is not None,
        _detector._guards_read,
        _detector._reduction_read,
        frozenset() in getattr(getattr(_detector._local, "copies", None), "loaded", {}),
    )
