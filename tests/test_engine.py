"""The engine: same records whatever runs them (inline, N workers, Dask), crash isolation."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from evidence_cli import engine
from evidence_cli.models import FileRecord
from evidence_cli.scanner import ScanOptions, scan
from evidence_cli.walker import Entry, resolve_roots, walk
from evidence_cli.writers import PRERENDER, prerender


def _tree(root: Path) -> Path:
    """A small mixed tree: nested folders, text, binary, empty, a symlink, a FIFO."""
    (root / "a" / "b").mkdir(parents=True)
    for i in range(40):
        (root / "a" / f"note{i:02d}.txt").write_text(f"line {i}\n" * (i + 1))
    (root / "a" / "b" / "blob.bin").write_bytes(bytes(range(256)) * 64)
    (root / "empty.dat").write_bytes(b"")
    (root / "link").symlink_to("a/note00.txt")
    os.mkfifo(root / "pipe")
    return root


def _comparable(records: list[FileRecord]) -> list[dict[str, Any]]:
    out = []
    for r in records:
        d = r.to_dict()
        # Access times are the OS's business (O_NOATIME keeps them, but other readers may not).
        d["filesystem"].pop("accessed", None)
        out.append(d)
    return out


def test_batches_keep_order_and_bounds() -> None:
    st = os.stat(__file__)
    entries = [Entry(f"/x/{i}".encode(), f"{i}".encode(), "file", st) for i in range(100)]
    got = list(engine.batches(entries))
    assert [e for b in got for e in b] == entries
    assert all(1 <= len(b) <= engine.BATCH_ENTRIES for b in got)
    # Small first (every worker gets work early), then larger (fewer hand-offs).
    many = entries * 5
    sizes = [len(b) for b in engine.batches(many)]
    assert sizes[:4] == [engine.BATCH_FIRST, 2 * engine.BATCH_FIRST, 4 * engine.BATCH_FIRST, 8 * engine.BATCH_FIRST]
    assert max(sizes) == engine.BATCH_ENTRIES and sum(sizes) == len(many)


def test_same_records_for_any_worker_count(tmp_path: Path) -> None:
    root = _tree(tmp_path / "ev")
    inline = _comparable(list(scan([root], ScanOptions(workers=0))))
    one = _comparable(list(scan([root], ScanOptions(workers=1))))
    two = _comparable(list(scan([root], ScanOptions(workers=2))))
    assert inline == one == two
    assert [r["path"] for r in inline] == sorted(r["path"] for r in inline)
    # Byte-for-byte identical JSON too.
    assert json.dumps(inline, sort_keys=True) == json.dumps(two, sort_keys=True)
    assert len(inline) == 40 + 1 + 1 + 1 + 1


def test_crashed_worker_becomes_error_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker dying on one entry: that entry gets a WorkerCrashed error, the rest are read."""
    root = tmp_path / "ev"
    root.mkdir()
    for name in ("a.txt", "boom.txt", "c.txt"):
        (root / name).write_text(name)

    calls: list[bytes] = []

    def fake_isolated(entry: Entry, options: ScanOptions) -> FileRecord:
        calls.append(entry.rel)
        if entry.rel == b"boom.txt":
            return engine.crashed_record(entry, "the worker process died")
        return engine.process_batch([entry], options)[0]

    class BrokenFuture:
        def result(self) -> list[FileRecord]:
            raise engine.BrokenProcessPool("simulated")

        def cancel(self) -> bool:
            return True

    class FakePool:
        def submit(self, fn: Any, batch: list[Entry], options: ScanOptions) -> BrokenFuture:
            return BrokenFuture()

        def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
            pass

    monkeypatch.setattr(engine, "_new_pool", lambda workers, options, mapped=False: FakePool())
    monkeypatch.setattr(engine, "_isolated", fake_isolated)
    records = list(engine.run_pool(walk(resolve_roots([root])), ScanOptions(), workers=2))
    assert [r.path for r in records] == ["a.txt", "boom.txt", "c.txt"]
    assert calls == [b"a.txt", b"boom.txt", b"c.txt"]
    boom = records[1]
    assert [e.type for e in boom.errors] == ["WorkerCrashed"]
    assert records[0].hashes and not records[0].errors


def test_killed_workers_are_replaced_and_nothing_is_lost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Kill the real worker processes mid-scan (as a crash in a C library would): the
    affected entries are re-run in fresh workers and every record is complete."""
    root = tmp_path / "ev"
    root.mkdir()
    with open(root / "big.bin", "wb") as fh:  # sparse: slow enough to be mid-read when killed
        fh.truncate(768 * 1024 * 1024)
    for i in range(5):
        (root / f"n{i}.txt").write_text(str(i))
    pools: list[Any] = []
    real_new_pool = engine._new_pool

    def recording_new_pool(workers: int, options: ScanOptions, mapped: bool = False) -> Any:
        pool = real_new_pool(workers, options, mapped=mapped)
        pools.append(pool)
        return pool

    monkeypatch.setattr(engine, "_new_pool", recording_new_pool)

    def killer() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            procs = list(getattr(pools[0], "_processes", {}).values()) if pools else []
            if procs:
                time.sleep(0.3)
                for p in procs:
                    if p.pid:
                        os.kill(p.pid, signal.SIGKILL)
                return
            time.sleep(0.02)

    t = threading.Thread(target=killer)
    t.start()
    records = list(scan([root], ScanOptions(workers=2)))
    t.join()
    assert len(pools) >= 2, "the first pool should have been replaced"
    assert [r.path for r in records] == ["big.bin", "n0.txt", "n1.txt", "n2.txt", "n3.txt", "n4.txt"]
    for r in records:
        assert r.hashes.get("sha256"), r
        assert not r.errors, r.errors


def test_stopping_the_pool_ends_a_read_of_a_result_cut_short() -> None:
    """A worker stopped while it sends a result leaves half a message in the result pipe.
    The pool's manager thread, reading it, must still end once the pool is stopped: the
    interpreter waits for that thread at exit, so an interrupted scan would never end.

    The cut message is written here into the pipe (a header for 1,000 bytes, then 10):
    what a worker killed in the middle of ``send_bytes`` leaves."""
    import struct

    pool = engine._new_pool(1, ScanOptions(workers=1))
    thread = None
    writer = None
    try:
        pool.submit(os.getpid).result(timeout=60)  # the worker and the manager thread run
        thread = pool._executor_manager_thread
        writer = pool._result_queue._writer
        os.write(writer.fileno(), struct.pack("!i", 1000) + b"x" * 10)
        time.sleep(0.3)  # the manager thread reads the header and waits for the rest
        assert thread is not None and thread.is_alive()
        engine._stop_pool(pool)
        thread.join(timeout=20)
        assert not thread.is_alive(), "the manager thread still waits for the rest of the message"
    finally:
        if thread is not None and thread.is_alive() and writer is not None and not writer.closed:
            # Without the fix: give the thread its 990 bytes so this test process can exit.
            os.write(writer.fileno(), b"x" * 990)
            engine._stop_pool(pool)


def test_dask_local_cluster_gives_the_same_records(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    root = _tree(tmp_path / "ev")
    expected = _comparable(list(scan([root], ScanOptions(workers=0))))
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=2, processes=True, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        by_client = _comparable(list(scan([root], ScanOptions(), scheduler=client)))
        converted = list(scan([root], ScanOptions(prerender=PRERENDER), scheduler=cluster.scheduler_address))
    assert by_client == expected
    assert _comparable(converted) == expected
    # Each record came converted to the exports' text by its Dask worker, as a local worker does.
    for record in converted:
        assert record.rendered == prerender(replace(record), PRERENDER).rendered


def test_worker_processes_convert_their_records_to_the_exports_text(tmp_path: Path) -> None:
    root = _tree(tmp_path / "ev")
    plain = list(scan([root], ScanOptions(workers=2)))
    converted = list(scan([root], ScanOptions(workers=2, prerender=("json", "csv-raw"))))
    assert _comparable(converted) == _comparable(plain) and all(r.rendered is None for r in plain)
    for record in converted:
        assert record.rendered == prerender(replace(record), ("json", "csv-raw")).rendered


def test_a_file_that_kills_a_dask_worker_costs_only_its_own_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole batch (up to 128 entries) got "the Dask task failed: KilledWorker" and no
    hashes: every other file of it lost its record. It is now run again an entry a task,
    as worker processes do. The file that kills its worker (here a crash, and an extractor
    stuck in C code past its limit, which ends its worker) got a record without hashes; it
    is now read again without the metadata readers, and keeps them."""
    distributed = pytest.importorskip("distributed")
    import dask

    root = tmp_path / "ev"
    root.mkdir()
    for i in range(12):
        (root / f"f{i:02d}.txt").write_text(f"file {i}\n")
    (root / "f05-crash-exit.txt").write_text("kills the worker reading it\n")
    (root / "f08-slow-sleep.txt").write_text("sleeps in C code\n")
    expected = {r.path: r for r in scan([root], ScanOptions(workers=0, metadata=False))}
    # The workers' preload must find ``tests``, so the repository root must be on the
    # sys.path they are spawned with (this process's): the ``pytest`` command, unlike
    # ``python -m pytest``, puts none of it there, and the test passed only after other
    # tests had.
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent))
    # One death makes the task fail (the default retries it on 3 more workers first).
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            preload=["tests.hostile.crashers"],  # registers the test extractors in each worker
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        records = list(scan([root], ScanOptions(timeout=0.2), scheduler=client))
    assert [r.path for r in records] == sorted(p.name for p in root.iterdir())
    failed = {r.path: [e.message for e in r.errors] for r in records if r.errors}
    assert list(failed) == ["f05-crash-exit.txt", "f08-slow-sleep.txt"], failed
    for r in records:
        if r.path in failed:
            (message,) = failed[r.path]
            # The same words at every scan (Dask's own message names a random task key).
            assert message == (
                "the Dask task failed: KilledWorker: every Dask worker that ran this entry died (see the "
                "workers' logs); read again for its type, hashes and times alone, without the metadata readers"
            )
            assert r.hashes == expected[r.path].hashes and r.mime == expected[r.path].mime == "text/plain"
        else:
            assert r.hashes and r.metadata["test-crasher"] == {"ran": True}, r


def test_a_failed_dask_batch_is_run_again_an_entry_a_task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Any failed task (here an exception, in worker threads of this process)."""
    distributed = pytest.importorskip("distributed")
    real = engine.process_batch
    seen: list[list[str]] = []

    def failing(batch: list[Entry], options: ScanOptions) -> list[FileRecord]:
        names = [e.rel.decode() for e in batch]
        seen.append(names)
        if any("boom" in n for n in names):
            raise RuntimeError("this batch holds a boom")
        return real(batch, options)

    root = _tree(tmp_path / "ev")
    (root / "boom.txt").write_text("x")
    expected = _comparable(list(scan([root], ScanOptions(workers=0))))
    monkeypatch.setattr(engine, "process_batch", failing)
    with (
        distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        records = list(scan([root], ScanOptions(), scheduler=client))
    assert [r.path for r in records] == [r["path"] for r in expected]
    boom = [r for r in records if r.path == "boom.txt"]
    assert [e.message for e in boom[0].errors] == [
        "the Dask task failed: RuntimeError: this batch holds a boom; "
        "read again for its type, hashes and times alone, without the metadata readers"
    ]
    # Read again alone, the file keeps its identity: hashes, type and times.
    (want,) = [r for r in expected if r["path"] == "boom.txt"]
    assert boom[0].hashes == want["hashes"] and boom[0].mime == want["mime"] and boom[0].hashes
    assert _comparable([r for r in records if r.path != "boom.txt"]) == [r for r in expected if r["path"] != "boom.txt"]
    assert ["boom.txt"] in seen and any(len(b) > 1 and "boom.txt" in b for b in seen)


def _refused_by_a_worker_process(distributed: Any, root: Path, error: type[Exception]) -> str:
    """What a scan on a one-worker LocalCluster (a worker process) raised before any record."""
    with (
        distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        with pytest.raises(error) as caught:
            next(iter(scan([root], ScanOptions(), scheduler=client)))
    return str(caught.value)


def test_a_dask_worker_with_other_components_stops_the_scan_before_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers with another libmagic (or database, ExifRead, Pillow, Python, evidence-cli)
    gave other answers for the batches they happened to take: one scan, mixed answers."""
    distributed = pytest.importorskip("distributed")
    from evidence_cli import components

    root = _tree(tmp_path / "ev")
    here = components.current()
    # This process says 5.01; the worker processes answer with their own (real) version.
    monkeypatch.setattr(components, "current", lambda: {**here, "libmagic": "5.01"})
    said = _refused_by_a_worker_process(distributed, root, engine.ComponentsDiffer)
    assert f"libmagic {here['libmagic']!r}, not '5.01'" in said and "install the same versions" in said, said


def test_a_dask_worker_that_does_not_see_the_evidence_stops_the_scan_before_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A share not mounted on a worker leaves an empty folder (or none) at the same path:
    every file read there got an error, after a scan's worth of time."""
    distributed = pytest.importorskip("distributed")
    root = _tree(tmp_path / "ev")
    real = engine.root_views
    # This process sees another folder; the worker processes see the real one.
    monkeypatch.setattr(engine, "root_views", lambda roots: [f"{v} elsewhere" for v in real(roots)])
    said = _refused_by_a_worker_process(distributed, root, engine.ViewDiffers)
    view = real([bytes(root)])[0]
    assert f"does not see the scan roots as this machine does (root 1: {view}, not {view} elsewhere)" in said, said
    assert view.startswith("folder of 4 entries") and "mount the evidence at the same path" in said, said


def test_root_views_tell_a_missing_an_empty_and_a_full_folder_apart(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "a.txt").write_text("a")
    (tmp_path / "empty").mkdir()
    (tmp_path / "f.bin").write_bytes(b"12345")
    os.mkfifo(tmp_path / "pipe")
    views = engine.root_views([bytes(tmp_path / n) for n in ("full", "empty", "gone", "f.bin", "pipe")])
    assert views[0].startswith("folder of 1 entries ") and views[1].startswith("folder of 0 entries ")
    assert views[2:] == ["missing", "file of 5 bytes", "other"]
    past = 978307200
    os.utime(tmp_path / "full", (past, past))
    engine.root_views([bytes(tmp_path / "full")])
    assert os.stat(tmp_path / "full").st_atime == past, "listed without changing its access time"
    engine._check_views({"tcp://a": views}, views)
    with pytest.raises(engine.ViewDiffers, match="tcp://b .*root 2: missing, not folder of 0 entries"):
        engine._check_views({"tcp://a": views, "tcp://b": [views[0], "missing", *views[2:]]}, views)
    with pytest.raises(engine.ViewDiffers, match=r"tcp://c .*\(root unknown\)"):
        engine._check_views({"tcp://c": None}, views)


def test_a_dask_batch_on_a_worker_with_other_components_fails() -> None:
    """A worker may join after the scan started: each batch checks its worker."""
    from evidence_cli import components

    entries = [Entry(path=b"/nonexistent/x", rel=b"x", kind="file", stat=None)]
    with pytest.raises(engine.ComponentsDiffer, match="pillow '.*', not '0.1'"):
        engine._dask_batch(entries, ScanOptions(workers=0), {**components.current(), "pillow": "0.1"})
    [record] = engine._dask_batch(entries, ScanOptions(workers=0), components.current())
    assert record.path == "x"


def test_dask_workers_are_compared_with_this_process_including_evidence_clis_version() -> None:
    from evidence_cli import __version__, components

    mine = {"evidence-cli": __version__, **components.current()}
    engine._check_workers({"tcp://a": mine, "tcp://b": dict(mine)}, components.current())
    with pytest.raises(engine.ComponentsDiffer, match=r"tcp://b .*evidence-cli '0.0.1', not "):
        engine._check_workers({"tcp://a": mine, "tcp://b": {**mine, "evidence-cli": "0.0.1"}}, components.current())
    with pytest.raises(engine.ComponentsDiffer, match="tcp://c .*python None"):
        engine._check_workers({"tcp://c": "not a mapping"}, components.current())


def test_scan_from_inside_the_tree_keeps_access_times(tmp_path: Path) -> None:
    """`cd evidence && evidence scan .` with worker processes: no access time changes,
    not even the folder's (helper processes must not import from the working folder)."""
    import shutil
    import subprocess

    exe = shutil.which("evidence")
    if exe is None:
        pytest.skip("the evidence console script is not installed")
    root = tmp_path / "ev"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("a")
    (root / "sub" / "b.txt").write_text("b")
    paths = [root, root / "sub", root / "a.txt", root / "sub" / "b.txt"]
    past = 978307200  # 2001-01-01: under relatime any read would move it
    for p in paths:
        os.utime(p, (past, os.stat(p).st_mtime), follow_symlinks=False)
    done = subprocess.run(
        [exe, "scan", ".", "--workers", "2", "-f", "jsonl"],
        cwd=root,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert {p.name: os.stat(p).st_atime for p in paths} == {p.name: float(past) for p in paths}


def test_a_nan_from_a_parser_never_breaks_the_json_export() -> None:
    from evidence_cli.writers.json_out import dumps

    text = dumps({"metadata": {"x": {"a": float("nan"), "b": [float("inf"), -float("inf"), 1.5]}}})
    assert json.loads(text) == {"metadata": {"x": {"a": "NaN", "b": ["Infinity", "-Infinity", 1.5]}}}


def test_time_limit_is_not_swallowed_by_an_extractors_except_exception(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evidence_cli import scanner
    from evidence_cli.models import Extraction

    class Stubborn:
        name = "stubborn"
        description = "loops and catches Exception"
        mime_types: frozenset[str] = frozenset()

        def extract(self, ctx: Any) -> Extraction:
            while True:
                try:
                    time.sleep(0.01)
                except Exception:  # noqa: BLE001 - what a careless parser might do
                    pass

    monkeypatch.setattr(scanner.extractors, "for_type", lambda mime: (Stubborn(),))
    (tmp_path / "a.txt").write_text("x")
    [rec] = list(scan([tmp_path], ScanOptions(workers=0, timeout=0.3)))
    assert [(e.stage, e.type) for e in rec.errors] == [("metadata:stubborn", "TimeLimitExceeded")]


def test_jsonl_records_never_contain_raw_line_separators() -> None:
    from evidence_cli.writers.json_out import dumps

    value = "a\u2028b\u2029c\x85d\ne"
    text = dumps({"v": value})
    assert len(text.splitlines()) == 1
    assert json.loads(text) == {"v": value}


def test_library_logging_becomes_problems_not_terminal_text() -> None:
    import logging

    from evidence_cli.extractors.base import captured_logs

    with captured_logs("PIL") as logged:
        logging.getLogger("PIL.TiffImagePlugin").error("More samples per pixel than can be decoded: %d", 99)
        logging.getLogger("PIL").debug("chatter")
    assert logged == ["More samples per pixel than can be decoded: 99"]


def test_each_extractor_of_a_file_gets_its_own_time_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One timer serves a file's extractors, but it is re-armed after a slow one: two
    extractors that each take most of the limit both finish."""
    from evidence_cli import scanner
    from evidence_cli.models import Extraction

    class Slowish:
        mime_types: frozenset[str] = frozenset()
        description = "takes 60 % of the limit"

        def __init__(self, name: str) -> None:
            self.name = name

        def extract(self, ctx: Any) -> Extraction:
            time.sleep(0.3)
            return Extraction(extractor=self.name, group=self.name, tags={"done": True})

    monkeypatch.setattr(scanner.extractors, "for_type", lambda mime: (Slowish("one"), Slowish("two")))
    (tmp_path / "a.txt").write_text("x")
    [rec] = list(scan([tmp_path], ScanOptions(workers=0, timeout=0.5)))
    assert rec.errors == ()
    assert rec.metadata == {"one": {"done": True}, "two": {"done": True}}


def test_an_alarm_outside_an_extractor_is_ignored() -> None:
    from evidence_cli import scanner

    scanner._expired(0, None)  # between extractors: nothing to stop
    with pytest.raises(scanner.TimeLimitExceeded), scanner._LIMITED:
        scanner._expired(0, None)


#: Run in a child interpreter: a pool whose task pipe is full (its one worker busy, a
#: 300 KB task half written), whose manager thread then dies (what Python 3.11's does when
#: it finds the pool broken with a task already cancelled), stopped by ``_stop_pool``.
_FULL_PIPE_CHILD = r"""
import fcntl, os, signal, struct, sys, termios, time
from evidence_cli import engine
from evidence_cli.scanner import ScanOptions

pool = engine._new_pool(1, ScanOptions(workers=1))
pool.submit(os.getpid).result(timeout=60)  # the worker runs
futures = [pool.submit(time.sleep, 120)] + [pool.submit(len, b"x" * 300_000) for _ in range(3)]
reader = pool._call_queue._reader.fileno()
deadline = time.monotonic() + 30
while True:  # until the feeder thread is blocked: the pipe holds 64 KB nobody reads
    queued = struct.unpack("i", fcntl.ioctl(reader, termios.FIONREAD, b"\0" * 4))[0]
    if queued >= 60_000 or time.monotonic() > deadline:
        break
    time.sleep(0.05)
print("queued", queued, flush=True)
if sys.argv[1] == "cancel":
    for f in futures:
        f.cancel()
manager = pool._executor_manager_thread
for p in list(pool._processes.values()):
    os.kill(p.pid, signal.SIGKILL)
manager.join(timeout=30 if sys.argv[1] == "cancel" else 5)  # (kept tasks: it may wait for good)
print("manager", "alive" if manager.is_alive() else "ended", flush=True)
engine._stop_pool(pool)
print("stopped", flush=True)
"""


@pytest.mark.parametrize("cancel", ["cancel", "keep"])
def test_a_stopped_pool_never_holds_up_the_exit(tmp_path: Path, cancel: str) -> None:
    """Once a pool is stopped, the interpreter must not wait at exit for the thread that
    writes its tasks. With batches of 128 entries an interrupted scan hung at exit (6 of
    150 interrupts): that thread was blocked in a write no worker would read, and
    the pool's manager thread, which should have closed the pipe's other end, had died
    (an already cancelled task; _stop_pool's docstring). Here the same state is made on
    purpose, and the child process must end.

    Without a cancelled task ("keep"; also what a loaded machine gave once with them, the
    tasks already handed on) the manager thread lives, waiting for that writer: Python
    3.11.2 (Debian 12's) hung there at exit every time until _stop_pool closed the pipe."""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-c", _FULL_PIPE_CHILD, cancel],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"the process did not exit after the pool was stopped: {out.decode()!r}")
    lines = out.decode().split()
    assert int(lines[lines.index("queued") + 1]) >= 60_000, "the task pipe never filled: nothing was tested"
    # With a cancelled task, the state of the hang: the manager thread gone (Python 3.11
    # ends it with InvalidStateError; a later Python may end it cleanly), the feeder blocked.
    # Without, the manager ends (3.11.4+) or waits for the feeder (3.11.2) until the pool stops.
    assert "stopped" in lines and ("ended" in lines or cancel == "keep"), (out, err[-2000:])
    assert proc.returncode == 0, err[-2000:]


def test_stopping_a_pass_never_cancels_its_tasks_by_hand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The scan's passes (run_pool, _rerun) leave the cancelling of their waiting tasks to
    _stop_pool: a task cancelled by hand can kill the pool's manager thread (see there)."""
    import concurrent.futures

    root = tmp_path / "ev"
    root.mkdir()
    for i in range(400):
        (root / f"f{i:03d}.txt").write_text(f"note {i}\n")
    options = ScanOptions(workers=2)
    entries = list(walk(resolve_roots([str(root)])))
    by_hand: list[str] = []
    real_cancel = concurrent.futures.Future.cancel

    def recording_cancel(self: Any) -> bool:
        import sys

        caller = sys._getframe(1).f_globals.get("__name__", "")
        if caller.startswith("evidence_cli"):
            by_hand.append(caller)
        return real_cancel(self)

    monkeypatch.setattr(concurrent.futures.Future, "cancel", recording_cancel)
    for run in (lambda: engine.run_pool(iter(entries), options, 2), lambda: engine._rerun(entries, options, 2)):
        records = run()
        for _ in range(3):
            next(records)
        records.close()  # stopped with tasks in flight: what an interrupt does
    assert by_hand == []


def test_workers_convert_the_records_only_where_the_main_process_would_be_the_limit() -> None:
    # (On 2 workers it costs more CPU than it spares the main process: see workers_convert.)
    assert not engine.workers_convert(0) and not engine.workers_convert(engine.CONVERT_FROM - 1)
    assert engine.workers_convert(engine.CONVERT_FROM) and engine.workers_convert(32)
    assert engine.workers_convert(0, scheduler="tcp://10.0.0.5:8786")
