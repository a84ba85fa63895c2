"""The bytes read so far, for the progress display of `scan` and `verify`.

Before, the display counted entries only: while one large file (a disk image) was read,
for minutes, nothing on the screen moved, as if the scan had hung."""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

import pytest
from rich.progress import Task

from evidence_cli import hashing
from evidence_cli.cli.common import PathColumn, ReadColumn
from evidence_cli.meter import ReadMeter, counting
from evidence_cli.scanner import ScanOptions, scan
from tests.hostile.run import evidence_cmd, run_in_terminal


def _tree(root: Path) -> int:
    """A tree to scan: a file of several read pieces, two small ones, an empty one. Its
    total size."""
    root.mkdir()
    (root / "big.bin").write_bytes(os.urandom(3 * hashing.CHUNK + 12345))
    (root / "a.txt").write_text("hello\n")
    (root / "b.json").write_text('{"a": 1}\n')
    (root / "empty").write_bytes(b"")
    return sum(p.stat().st_size for p in root.iterdir())


@pytest.mark.parametrize("workers", [0, 2])
def test_a_scan_counts_every_byte_it_reads_in_every_process(tmp_path: Path, workers: int) -> None:
    total = _tree(tmp_path / "t")
    meter = ReadMeter()
    records = list(scan([tmp_path / "t"], ScanOptions(workers=workers), meter=meter))
    assert len(records) == 4 and all(r.hashes for r in records if r.size)
    assert meter.total == total
    assert hashing.meter is None, "counting ends with the scan"


def test_nothing_is_counted_without_a_meter(tmp_path: Path) -> None:
    _tree(tmp_path / "t")
    meter = ReadMeter()
    with counting(meter):
        pass
    list(scan([tmp_path / "t"], ScanOptions(workers=0)))
    assert meter.total == 0 and hashing.meter is None


@pytest.mark.parametrize("threaded", [False, True])
def test_the_file_being_read_counts_before_its_read_ends(threaded: bool) -> None:
    """What the display is for: here the pass reads a pipe whose second half is only
    written once the first half has been counted."""
    half = 2 * hashing.CHUNK
    meter = ReadMeter()
    rfd, wfd = os.pipe()
    seen: list[int] = []

    def feed() -> None:
        try:
            os.write(wfd, b"a" * half)
            deadline = time.monotonic() + 30
            while meter.total < half and time.monotonic() < deadline:
                time.sleep(0.01)
            seen.append(meter.total)
            os.write(wfd, b"b" * half)
        finally:
            os.close(wfd)

    feeder = threading.Thread(target=feed)
    feeder.start()
    try:
        with counting(meter):
            result = hashing.hash_fd(rfd, threaded=threaded)
    finally:
        feeder.join()
        os.close(rfd)
    assert seen == [half], "the first half was not counted while the pass went on"
    assert result.size == meter.total == 2 * half


def test_the_column_shows_the_bytes_read_and_the_rate_over_the_last_seconds() -> None:
    now, read = [0.0], [0]
    column = ReadColumn(lambda: read[0], clock=lambda: now[0])
    task = Task(0, "scanning", None, 0, _get_time=lambda: now[0])

    def at(t: float, n: int) -> str:
        now[0], read[0] = t, n
        return column.render(task).plain

    assert at(0.0, 0) == "0 B read"
    assert at(0.2, 1000) == "1000 B read"  # too soon for a rate
    assert at(2.0, 20 * 2**20) == "20.0 MiB read, 10.0 MiB/s"
    for t in range(3, 10):
        at(float(t), 20 * 2**20)  # a pause in reading (a slow extractor, a network share)
    assert at(10.0, 20 * 2**20) == "20.0 MiB read, 0 B/s"
    assert at(12.0, 30 * 2**20).endswith(", 2.0 MiB/s")  # 10 MiB in the last 5 s
    assert len(column._samples) <= 10


def _in_a_terminal(cmd: list[str], cwd: Path) -> str:
    """What the terminal got from ``cmd`` (which must succeed), without its control sequences."""
    status, out = run_in_terminal(cmd, cwd)
    assert status == 0, out.decode(errors="replace")[-2000:]
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.decode("utf-8", "replace"))


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="no pseudo-terminals here")
def test_scan_and_verify_show_the_bytes_read_on_a_terminal(tmp_path: Path) -> None:
    root = tmp_path / "t"
    total = _tree(root)
    shown = f"{total / 2**20:.1f} MiB"
    scanned = _in_a_terminal(evidence_cmd("scan", root, "--json", tmp_path / "m.json", "--width", "160"), tmp_path)
    # (Of how many, once the scan's count is done; verify has it from the manifest.)
    done = rf"4 (of 4 )?entries {re.escape(shown)}( read| of {re.escape(shown)})"
    assert re.search(done, scanned), scanned[-3000:]
    verified = _in_a_terminal(evidence_cmd("verify", tmp_path / "m.json"), tmp_path)
    assert re.search(done, verified), verified[-3000:]


def test_the_count_is_not_in_any_export(tmp_path: Path) -> None:
    """It is for the screen: records, exports and the exit status never depend on it."""
    _tree(tmp_path / "t")
    with_meter = [r.to_dict() for r in scan([tmp_path / "t"], ScanOptions(workers=0), meter=ReadMeter())]
    without = [r.to_dict() for r in scan([tmp_path / "t"], ScanOptions(workers=0))]
    for a, b in zip(with_meter, without):
        a["filesystem"].pop("accessed", None)
        b["filesystem"].pop("accessed", None)
    assert with_meter == without


def test_a_worker_killed_holding_its_counter_stops_neither_the_display_nor_later_workers() -> None:
    """The out-of-memory killer or a user's kill may end a worker in the microsecond it
    holds its pool's counter: the display still reads, and the next pool counts."""
    from evidence_cli import mpstart

    meter = ReadMeter()
    first = meter.for_workers(mpstart.context())
    first.add(10)
    assert first._value.get_lock().acquire(timeout=1)  # held for ever, as by a killed worker
    second = meter.for_workers(mpstart.context())
    second.add(5)  # would wait for ever on the first pool's lock
    assert meter.total == 15


def _with_crashers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, names: list[str]) -> Path:
    """A tree of these text files, whose scan's workers run the misbehaving test
    extractors (tests.hostile.crashers: a name says what each does)."""
    from evidence_cli import engine
    from tests.hostile import crashers

    monkeypatch.chdir(tmp_path)  # (workers leave the working folder off their import path)
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1]))
    monkeypatch.setattr(engine, "process_batch", crashers.batch_with_test_extractors)
    root = tmp_path / "t"
    root.mkdir()
    for name in names:
        (root / name).write_text(f"text of {name}\n")
    return root


def test_a_scan_whose_worker_dies_holding_its_counter_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same in a real scan: the dead worker's pool is replaced, the file read again."""
    names = [f"f{i:03d}.txt" for i in range(60)] + ["crash-holding-meter.txt"]
    root = _with_crashers(tmp_path, monkeypatch, names)
    meter = ReadMeter()
    start = time.monotonic()
    records = {r.path: r for r in scan([root], ScanOptions(workers=2, timeout=5.0), meter=meter)}
    assert time.monotonic() - start < 120
    assert sorted(records) == sorted(names) and all(r.hashes for r in records.values())
    assert [e.type for e in records["crash-holding-meter.txt"].errors] == ["WorkerCrashed"]
    assert meter.total >= sum((root / n).stat().st_size for n in names)


def test_the_counters_of_ended_pools_are_let_go_and_their_counts_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each crash costs a new pool and single-use processes, each with a counter (a lock
    and shared memory): kept to the end of the scan, a tree of files that each kill their
    worker held thousands."""
    names = [f"{i:02d}-crash-exit.txt" for i in range(4)] + ["ok.txt"]
    root = _with_crashers(tmp_path, monkeypatch, names)
    meter = ReadMeter()
    made: list[object] = []
    real = meter.for_workers
    monkeypatch.setattr(meter, "for_workers", lambda ctx: made.append(real(ctx)) or made[-1])
    records = list(scan([root], ScanOptions(workers=2), meter=meter))
    assert len(records) == 5 and all(r.hashes for r in records)
    assert len(made) >= 5, "a pool for every crash, a single-use process for every crashing file"
    assert meter._shared == [], "every counter let go once its pool or process ended"
    assert meter.total >= sum((root / n).stat().st_size for n in names)


def test_the_line_names_the_entry_being_read_when_the_scan_knows_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It named the last entry done: while a disk image was read for minutes, the line
    showed the file before it. A large file travels alone to its worker: the scan,
    waiting for it, knows which it is (and in one process, every entry)."""
    from evidence_cli import engine

    root = tmp_path / "t"
    root.mkdir()
    for name in ("a.txt", "b.txt", "y.txt", "z.txt"):
        (root / name).write_text(f"{name}\n")
    with open(root / "big.img", "wb") as fh:
        fh.truncate(engine.BATCH_BYTES + 1)  # (sparse: read as zeros, quickly)
    meter = ReadMeter()
    seen: set[bytes | None] = set()
    real = hashing.hash_fd

    def noting(*args: object, **kwargs: object) -> object:
        seen.add(meter.reading)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(hashing, "hash_fd", noting)
    list(scan([root], ScanOptions(workers=0), meter=meter))
    assert seen == {b"a.txt", b"b.txt", b"big.img", b"y.txt", b"z.txt"} and meter.reading is None

    # With workers: the scan's process notes it while it waits for the large file.
    seen_waiting = _noted(monkeypatch, meter)
    list(scan([root], ScanOptions(workers=2), meter=meter))
    assert set(seen_waiting) == {None, b"big.img"}, "the large file alone; batches of small files are not named"
    assert meter.reading is None

    column = PathColumn(lambda: meter.reading)
    task = Task(0, "scanning", None, 0, _get_time=time.monotonic, fields={"path": "a.txt"})
    assert column.render(task).plain == "a.txt"
    meter.reading = b"[link=x]\x1b[31mbig\xff.img"
    assert column.render(task).plain == "[link=x]\\x1b[31mbig\\xff.img"


def _noted(monkeypatch: pytest.MonkeyPatch, meter: ReadMeter) -> list[bytes | None]:
    """What ``meter`` says is being read each time the scan notes what it waits for."""
    from evidence_cli import meter as meter_mod

    seen: list[bytes | None] = []
    real = meter_mod.waiting_for

    def noting(entries: list[object] | None) -> None:
        real(entries)
        seen.append(meter.reading)

    monkeypatch.setattr(meter_mod, "waiting_for", noting)
    return seen


def test_verify_names_the_entry_its_report_waits_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from evidence_cli import verify as verify_mod
    from evidence_cli.manifest import read_manifest
    from tests.custody import write_manifest

    root = tmp_path / "t"
    _tree(root)
    manifest = tmp_path / "m.json"
    write_manifest(root, manifest)
    meter = ReadMeter()
    seen = _noted(monkeypatch, meter)
    with counting(meter):
        statuses = [e.status for e in verify_mod.verify(read_manifest(str(manifest)), str(root))]
    assert statuses == ["ok"] * 4
    assert [s for s in seen if s is not None] == [b"a.txt", b"b.json", b"big.bin", b"empty"]
    assert meter.reading is None and meter.total == sum(p.stat().st_size for p in root.iterdir())
