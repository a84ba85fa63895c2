"""The progress line's totals: how far a scan or a verification is, and how long it may take.

Before, the line said how much was done ("1,234 entries 12.0 GiB read") but never of how
much: an examiner scanning a 500 GB disk export could not tell whether it would end in
ten minutes or in ten hours."""

from __future__ import annotations

import os
import re
import subprocess
import threading
from pathlib import Path

import pytest
from rich.progress import Task

from evidence_cli import walker
from evidence_cli.cli import common
from evidence_cli.cli.common import (
    Advance,
    BytesBar,
    EntriesColumn,
    ReadColumn,
    Tally,
    TimeLeftColumn,
    Totals,
    _duration,
)
from evidence_cli.scanner import ScanOptions, scan
from tests.deep import make_chain, remove_deep
from tests.hostile.run import evidence_cmd
from tests.test_terminal_listing import _in_a_terminal, _screen


def _task(now: list[float]) -> Task:
    return Task(0, "scanning", None, 0, _get_time=lambda: now[0])


class _Display:
    """What a progress display is told (rich's Progress.add_task and update)."""

    def __init__(self) -> None:
        self.tasks: list[str] = []
        self.told: list[tuple[int, str]] = []

    def add_task(self, description: str, **fields: object) -> int:
        self.tasks.append(description)
        return len(self.tasks) - 1

    def update(self, task: int, *, advance: int, path: str) -> None:
        assert task == 0
        self.told.append((advance, path))


def test_the_entries_are_told_at_most_every_step_and_all_by_the_end() -> None:
    display, now = _Display(), [100.0]
    advance = Advance(display, "scanning", every=0.05, clock=lambda: now[0])  # type: ignore[arg-type]
    assert display.tasks == ["scanning"] and display.told == []
    advance("a")  # the first at once
    for name in ("b", "c", "d"):
        advance(name)  # within the step: kept
    assert display.told == [(1, "a")]
    now[0] += 0.05
    advance("e")  # the step is over: the four since, with the last path
    assert display.told == [(1, "a"), (4, "e")]
    advance("x" * 70 + "\x1b[2J")  # (a hostile name: escaped, its end kept)
    advance.flush()
    assert display.told[-1] == (1, "x" * 53 + "\\x1b[2J")
    advance.flush()  # nothing untold: nothing said
    assert sum(n for n, _ in display.told) == 6 and len(display.told) == 3


def test_the_entries_say_of_how_many_once_the_total_is_known() -> None:
    totals = Totals()
    column, task = EntriesColumn(totals), _task([0.0])
    task.completed = 12
    assert column.render(task).plain == "12 entries"
    totals.size, totals.entries = 1000, 3009
    assert column.render(task).plain == "12 of 3009 entries"
    task.completed = 3010  # (a file made while the scan ran)
    assert column.render(task).plain == "3010 entries"


def test_the_bytes_say_of_how_many_and_the_total_passed_is_dropped() -> None:
    now, read = [0.0], [0]
    totals = Totals(10, 100 * 2**20)
    column = ReadColumn(lambda: read[0], clock=lambda: now[0], totals=totals)
    task = _task(now)

    def at(t: float, n: int) -> str:
        now[0], read[0] = t, n
        return column.render(task).plain

    assert at(0.0, 0) == "0 B of 100.0 MiB"
    assert column.left == 100 * 2**20 and column.rate is None
    assert at(2.0, 20 * 2**20) == "20.0 MiB of 100.0 MiB, 10.0 MiB/s"
    assert column.left == 80 * 2**20 and column.rate == 10 * 2**20
    assert at(4.0, 101 * 2**20) == "101.0 MiB read, 25.2 MiB/s"  # a file grew: the total no longer holds
    assert column.left is None
    empty = ReadColumn(lambda: 0, totals=Totals(3, 0))  # only empty files: nothing to show a share of
    assert empty.render(task).plain == "0 B read"


def test_the_time_left_comes_from_the_bytes_then_from_the_entries() -> None:
    now, read = [0.0], [0]
    totals = Totals(1000, 100 * 2**20)
    bytes_column = ReadColumn(lambda: read[0], clock=lambda: now[0], totals=totals)
    column = TimeLeftColumn(bytes_column, totals)
    task = _task(now)

    def at(t: float, n: int, entries: int) -> str:
        now[0], read[0], task.completed = t, n, entries
        bytes_column.render(task)
        return column.render(task).plain

    assert at(0.0, 0, 0) == ""  # no rate yet
    assert at(2.0, 20 * 2**20, 1) == "8 s left"  # 80 MiB at 10 MiB/s
    for t in range(3, 9):
        at(float(t), 20 * 2**20, 1)
    assert at(9.0, 20 * 2**20, 1) == ""  # a pause is not a forecast
    # Every byte read; small and empty files still to do, 100 a second.
    for t in range(10, 21):
        at(float(t), 100 * 2**20, (t - 16) * 100 if t > 16 else 1)
    assert at(21.0, 100 * 2**20, 500) == "5 s left"  # 500 entries at 100 a second
    assert at(21.5, 100 * 2**20, 999) == ""  # under a second
    assert TimeLeftColumn(ReadColumn(lambda: 0, totals=Totals()), Totals()).render(task).plain == ""


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (1.2, "1 s"),
        (59.4, "59 s"),
        (59.6, "1 min"),
        (89, "1 min"),
        (91, "2 min"),
        (3569, "59 min"),
        (3600, "1 h 00 min"),
    ],
)
def test_a_time_left_is_shown_as_roughly_as_it_is_known(seconds: float, shown: str) -> None:
    assert _duration(seconds) == shown
    assert _duration(2 * 3600 + 5 * 60 + 10) == "2 h 05 min"


def test_the_bar_pulses_until_the_total_is_known_and_while_it_holds() -> None:
    read, totals = [50], Totals()
    bar = BytesBar(lambda: read[0], totals, max_width=20)
    task = _task([0.0])
    assert bar.render(task).pulse
    totals.size, totals.entries = 200, 2
    shown = bar.render(task)
    assert not shown.pulse and (shown.completed, shown.total) == (50, 200)
    read[0] = 201
    assert bar.render(task).pulse


def _tree(root: Path) -> None:
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "deep.bin").write_bytes(os.urandom(70_000))
    (root / "a" / "note.txt").write_text("hello\n")
    (root / "empty").write_bytes(b"")
    (root / "link").symlink_to("a/note.txt")
    os.mkfifo(root / "pipe")
    (root / "z.json").write_text('{"a": 1}\n')


def _tallied(roots: walker.Roots, skip: object = None) -> Totals:
    totals = Totals()
    with Tally(roots, totals, skip) as tally:  # type: ignore[arg-type]
        tally._thread.join(timeout=60)
    return totals


def test_the_tally_finds_what_the_scan_records(tmp_path: Path) -> None:
    _tree(tmp_path)
    roots = walker.resolve_roots([str(tmp_path)])
    records = list(scan(roots, ScanOptions(workers=0, metadata=False)))
    totals = _tallied(roots)
    assert totals.entries == len(records) == 6
    assert totals.size == sum(r.size or 0 for r in records if r.kind == "file") == 70_000 + 6 + 9


def test_the_tally_leaves_out_what_a_resumed_scan_skips(tmp_path: Path) -> None:
    _tree(tmp_path)
    totals = _tallied(walker.resolve_roots([str(tmp_path)]), lambda e: e.rel.startswith(b"a/"))
    assert (totals.entries, totals.size) == (4, 9)


def test_the_tally_gives_up_on_a_tree_deeper_than_a_path_can_be(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "t").mkdir()
    make_chain(tmp_path / "t", 2200, leaf=(b"x.txt", b"x\n"))  # 4,400 bytes of path
    try:
        roots = walker.resolve_roots([str(tmp_path / "t")])
        # The scan's own walk goes all the way down, through the descriptors it keeps ...
        assert [e.rel[-5:] for e in walker.walk(roots)] == [b"x.txt"]
        with pytest.raises(walker.TooDeep):
            list(walker.walk(roots, shallow=True))
        # ... which the count never touches: it gives up first.
        chained: list[bytes] = []
        real = walker._open_folder_chain
        monkeypatch.setattr(walker, "_open_folder_chain", lambda f: chained.append(f) or real(f))
        totals = _tallied(roots)
        assert (totals.entries, totals.size) == (None, None)
        assert chained == []
    finally:
        remove_deep(tmp_path / "t")


def test_the_tally_gives_up_on_an_error_and_stops_when_told(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(roots: walker.Roots, shallow: bool) -> object:
        yield walker.Entry(b"x", b"x", "file", os.lstat(tmp_path))
        raise RuntimeError("a walk that fails")

    monkeypatch.setattr(common, "walk", broken)
    assert _tallied(walker.resolve_roots([str(tmp_path)])).entries is None

    went_on, release = threading.Event(), threading.Event()

    def endless(roots: walker.Roots, shallow: bool) -> object:
        st = os.lstat(tmp_path)
        while True:
            went_on.set()
            release.wait()
            yield walker.Entry(b"x", b"x", "file", st)

    monkeypatch.setattr(common, "walk", endless)
    totals = Totals()
    with Tally(walker.resolve_roots([str(tmp_path)]), totals) as tally:
        assert went_on.wait(30)
    release.set()  # (stopped as its context ended)
    tally._thread.join(timeout=30)
    assert not tally._thread.is_alive() and totals.entries is None


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="no pseudo-terminals here")
def test_verify_on_a_terminal_says_of_how_many_entries_and_bytes(tmp_path: Path) -> None:
    root = tmp_path / "t"
    root.mkdir()
    _tree(root)
    (root / "pipe").unlink()
    manifest = tmp_path / "m.json"
    assert subprocess.run(evidence_cmd("scan", root, "--json", manifest), capture_output=True).returncode == 0
    status, raw = _in_a_terminal(evidence_cmd("verify", manifest), tmp_path)
    assert status == 0
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", raw.decode("utf-8", "replace"))
    assert "of 5 entries" in text and "of 68.4 KiB" in text, text[-2000:]
    assert _screen(raw)[-1].startswith("Result: PASSED")
