"""Extractors' time limits outside a main thread (Dask worker threads), by a watchdog.

Before, an extractor caught in an endless loop by a crafted file held its Dask worker, and
the scan, for ever: SIGALRM reaches only a main thread."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from evidence_cli import scanner, threadlimit
from evidence_cli.models import Extraction
from evidence_cli.scanner import ScanOptions, TimeLimitExceeded, scan

pytestmark = pytest.mark.skipif(not threadlimit.available(), reason="needs CPython's PyThreadState_SetAsyncExc")


def _in_thread(work: Callable[[], Any]) -> Any:
    """Run ``work`` in a new thread; its result, or the exception it raised."""
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(work())
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            out.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the limited code was not stopped"
    return out[0]


def _spin() -> None:
    while True:  # a pure-Python endless loop, as a parser fooled by a crafted file
        pass


def test_outside_a_main_thread_and_without_a_watch_there_is_no_limit() -> None:
    assert _in_thread(lambda: scanner.ExtractorClock(1.0).running()).__class__.__name__ == "nullcontext"


def _limited_spin(seconds: float = 0.3) -> str:
    """An endless loop limited to ``seconds`` in a watched thread: "stopped" when stopped."""
    with threadlimit.watched(TimeLimitExceeded, kill=False):
        try:
            with scanner.time_limit(seconds):
                _spin()
        except TimeLimitExceeded:
            return "stopped"
    return "not stopped"


def test_a_watched_thread_stops_an_endless_loop_at_its_limit() -> None:
    assert _in_thread(_limited_spin) == "stopped"
    assert threadlimit._slots == {}


def test_runs_inside_their_limit_see_nothing_and_leave_nothing() -> None:
    def work() -> int:
        with threadlimit.watched(TimeLimitExceeded, kill=True):
            for _ in range(2000):
                with scanner.time_limit(5.0):
                    sum(range(100))
            return len(threadlimit._slots)

    assert _in_thread(work) == 0


def test_a_raise_that_has_not_arrived_is_withdrawn(monkeypatch: pytest.MonkeyPatch) -> None:
    """The watchdog marks the run and raises; if the run returned before the raise arrived,
    leaving withdraws it (PyThreadState_SetAsyncExc with NULL)."""
    calls: list[tuple[int, object]] = []
    monkeypatch.setattr(threadlimit, "_set_async", lambda tid, error: calls.append((tid, error)) or 1)
    watch = threadlimit.Watch(TimeLimitExceeded, kill=False)
    with watch.limited(60.0):
        me = threading.get_ident()
        threadlimit._slots[me].raised = True  # as the watchdog does before it raises
    assert calls == [(me, None)]
    assert me not in threadlimit._slots
    with watch.limited(60.0):
        pass
    assert calls == [(me, None)], "nothing to withdraw for a run that was not late"


def test_the_scan_record_says_which_extractor_ran_out_of_time_as_in_a_local_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """process_entry in a watched thread gives the record a scan in a main thread gives:
    the late extractor named, the other extractors' results and the hashes kept."""

    class Spinner:
        name = "spinner"
        description = "spins for ever"
        mime_types: frozenset[str] = frozenset()

        def extract(self, ctx: Any) -> Extraction:
            _spin()
            raise AssertionError("unreachable")

    real = scanner.extractors.for_type
    monkeypatch.setattr(scanner.extractors, "for_type", lambda mime: (*real(mime), Spinner()))
    (tmp_path / "a.txt").write_text("hello\n")
    options = ScanOptions(workers=0, timeout=0.3)
    [local] = list(scan([tmp_path], options))

    def work() -> Any:
        with threadlimit.watched(TimeLimitExceeded, kill=True):
            return list(scan([tmp_path], options))

    [threaded] = _in_thread(work)
    assert [(e.stage, e.type) for e in threaded.errors] == [("metadata:spinner", "TimeLimitExceeded")]
    strip = lambda r: {k: v for k, v in r.to_dict().items() if k != "filesystem"}  # noqa: E731 - (access times)
    assert strip(threaded) == strip(local)


def test_an_extractor_stuck_in_c_code_ends_the_process(tmp_path: Path) -> None:
    """No exception reaches C code (here a sleep): past twice its limit, at least the
    grace, the watchdog ends the process (a Dask worker: Dask then fails the task)."""
    code = """
import threading, time
from evidence_cli import scanner, threadlimit
threadlimit.KILL_GRACE = 0.5
def work():
    with threadlimit.watched(scanner.TimeLimitExceeded, kill=True):
        with scanner.time_limit(0.2):
            time.sleep(600)
t = threading.Thread(target=work)
t.start()
t.join()
print("not ended")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120, cwd=tmp_path)
    assert done.returncode == threadlimit.KILL_CODE, done
    assert b"stuck in C code past its time limit; ending this worker" in done.stderr
    assert b"not ended" not in done.stdout


def test_libmagic_stuck_in_a_dask_task_ends_the_process(tmp_path: Path) -> None:
    """libmagic had no limit at all: stuck in it (here a blocked sleep stands in), a Dask
    task held its worker for ever. The backstop ends the worker, and says so."""
    code = """
import os, threading, time
from evidence_cli import filetype, scanner, threadlimit
from evidence_cli.walker import resolve_roots, walk
threadlimit.KILL_GRACE = 0.5
scanner.detect_type = lambda *a, **k: time.sleep(600)
[entry] = [e for e in walk(resolve_roots(["a.txt"]))]
def work():
    with threadlimit.watched(scanner.TimeLimitExceeded, kill=True):
        scanner.process_entry(entry, scanner.ScanOptions(workers=0, timeout=0.2))
t = threading.Thread(target=work)
t.start()
t.join()
print("not ended")
"""
    (tmp_path / "a.txt").write_text("hello\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120, cwd=tmp_path)
    assert done.returncode == threadlimit.KILL_CODE, done
    assert b"a file reader is stuck in C code past its time limit; ending this worker" in done.stderr
    assert b"not ended" not in done.stdout


def test_time_the_process_is_stopped_does_not_count(tmp_path: Path) -> None:
    """A scan stopped with Ctrl-Z (SIGSTOP) and continued later found every run under way
    late by the whole pause, and its worker was ended for a reader "stuck in C code".
    Here a run armed for 2 s (ended 4 s after it starts) is stopped for 3.5 s, and ends
    1.5 s after it is continued: 5 s after it started, 1.5 s of them running."""
    code = """
import sys
from evidence_cli import threadlimit
threadlimit.backstops = True
threadlimit.KILL_GRACE = 0.5
stop = threadlimit.thread_backstop()
stop.arm(2.0)
print("armed", flush=True)
sys.stdin.readline()
stop.disarm()
print("done", flush=True)
"""
    assert _stopped_then_continued(tmp_path, [code], then=1.5) == (0, b"done\n")


def _stopped_then_continued(cwd: Path, args: list[str], then: float) -> tuple[int, bytes]:
    """Run ``python -c ARGS``; once it prints "armed", stop it for 3.5 s, continue it, and
    ``then`` seconds later write a line to it. Its exit status and the rest of its output."""
    command = [sys.executable, "-c", *args]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=cwd) as child:
        try:
            assert child.stdin is not None and child.stdout is not None
            assert child.stdout.readline() == b"armed\n"
            child.send_signal(signal.SIGSTOP)
            time.sleep(3.5)
            child.send_signal(signal.SIGCONT)
            time.sleep(then)
            out, _ = child.communicate(b"go\n", timeout=60)
        finally:
            child.kill()
    return child.returncode, out


_ALARMED = """
import sys
from evidence_cli import scanner, threadlimit
threadlimit.backstops = True  # as in a scan's worker process
try:
    with scanner.time_limit(float(sys.argv[1])):
        print("armed", flush=True)
        sys.stdin.readline()
    print("done", flush=True)
except scanner.TimeLimitExceeded:
    print("limit", flush=True)
"""


def test_a_worker_stopped_and_continued_is_not_said_past_its_time_limit(tmp_path: Path) -> None:
    """SIGALRM's timer counts the time a process is stopped: continued after Ctrl-Z, the
    extractor under way got TimeLimitExceeded, and its record said it ran past --timeout.
    In a worker, the alarm is now set again for what is left of the limit."""
    assert _stopped_then_continued(tmp_path, [_ALARMED, "2.0"], then=0.5) == (0, b"done\n")
    # And the limit still holds when nothing stops the worker.
    with subprocess.Popen(
        [sys.executable, "-c", _ALARMED, "0.3"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=tmp_path
    ) as late:
        try:
            assert late.stdout is not None
            assert late.stdout.readline() == b"armed\n"
            assert late.stdout.readline() == b"limit\n"  # (stdin stays open: only the limit ends the read)
        finally:
            late.kill()


def test_the_backstop_is_only_where_a_kill_ends_a_worker() -> None:
    """A scan's own process (`--workers 0`) has none: a kill would end the scan."""
    assert threadlimit.thread_backstop() is None

    def work() -> Any:
        with threadlimit.watched(TimeLimitExceeded, kill=True):
            inside = threadlimit.thread_backstop()
        with threadlimit.watched(TimeLimitExceeded, kill=False):
            unkilled = threadlimit.thread_backstop()
        return inside, unkilled

    inside, unkilled = _in_thread(work)
    assert isinstance(inside, threadlimit.Backstop) and inside.announce  # (a Dask worker's log)
    assert inside.kill_at == float("inf"), "not armed until a reader runs"
    assert unkilled is None


def test_a_dask_task_limits_its_extractors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With --scheduler, the endless loop ran for ever (here: worker threads of this process)."""
    distributed = pytest.importorskip("distributed")

    class Spinner:
        name = "spinner"
        description = "spins for ever on files named *spin*"
        mime_types: frozenset[str] = frozenset()

        def extract(self, ctx: Any) -> Extraction:
            if "spin" in ctx.rel_path:
                _spin()
            return Extraction(extractor=self.name, group=self.name, tags={"ran": True})

    real = scanner.extractors.for_type
    monkeypatch.setattr(scanner.extractors, "for_type", lambda mime: (*real(mime), Spinner()))
    for name in ("a.txt", "spin.txt", "z.txt"):
        (tmp_path / name).write_text(name)
    with (
        distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        records = list(scan([tmp_path], ScanOptions(timeout=0.3), scheduler=client))
    assert {r.path: [(e.stage, e.type) for e in r.errors] for r in records} == {
        "a.txt": [],
        "spin.txt": [("metadata:spinner", "TimeLimitExceeded")],
        "z.txt": [],
    }
    assert all(r.hashes for r in records)


def test_a_watchdog_that_cannot_start_costs_no_record_anything(tmp_path: Path) -> None:
    """A worker that could not start the watchdog thread (at its limit of threads or of
    memory) gave the file under way a type error ("can't start new thread"), and every
    later file of that worker an armed backstop that nothing watched. Now a run without a
    watchdog has no backstop (nor, in a Dask task, a time limit) and no error, and the next
    run starts the watchdog."""
    code = """
import json, threading
from evidence_cli import threadlimit
from evidence_cli.scanner import ScanOptions, process_entry
from evidence_cli.walker import resolve_roots, walk
threadlimit.backstops = True  # as in a scan's worker process
start = threading.Thread.start
def refused(self):
    if self.name == "evidence-time-limits":
        raise RuntimeError("can't start new thread")
    start(self)
threading.Thread.start = refused
[entry] = walk(resolve_roots(["a.txt"]))
out = []
for _ in range(2):
    record = process_entry(entry, ScanOptions(workers=0))
    out.append([record.mime, [p.message for p in record.errors], threadlimit.thread_backstop() is None])
with threadlimit.Watch(ValueError, kill=True).limited(1.0):  # (a Dask task's extractor)
    out.append("ran")
threading.Thread.start = start
out.append(threadlimit.thread_backstop() is not None and threadlimit._dog is not None)
print(json.dumps(out))
"""
    (tmp_path / "a.txt").write_text("hello\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done
    assert json.loads(done.stdout) == [["text/plain", [], True], ["text/plain", [], True], "ran", True]


def test_a_raise_that_arrived_is_not_withdrawn(monkeypatch: pytest.MonkeyPatch) -> None:
    """Withdrawing leaves CPython's interpreter flagged for a pending exception that no
    thread receives, so nobody clears the flag: after one timed-out extractor, a Dask
    worker ran plain Python up to 46 % slower (3.12; 15 % on 3.10) for the rest of its
    life. The raise that arrived (the limit's exception is being handled) is not withdrawn."""
    calls: list[tuple[int, Any]] = []
    real = threadlimit._set_async
    monkeypatch.setattr(threadlimit, "_set_async", lambda tid, error: calls.append((tid, error)) or real(tid, error))
    assert _in_thread(_limited_spin) == "stopped"
    assert [error for _, error in calls] == [TimeLimitExceeded], "raised once, never withdrawn"


def test_a_traced_thread_goes_on_after_its_limit(tmp_path: Path) -> None:
    """Under a trace function (coverage, a debugger), the thread whose raise had been
    withdrawn after it arrived looped for ever on the flag (found by a coverage run)."""
    code = """
import sys, threading
from evidence_cli import scanner, threadlimit
def tracer(frame, event, arg):
    return tracer
def work():
    sys.settrace(tracer)
    with threadlimit.watched(scanner.TimeLimitExceeded, kill=False):
        try:
            with scanner.time_limit(0.2):
                while True:
                    pass
        except scanner.TimeLimitExceeded:
            pass
    total = sum(range(1000))
    print("done", total, flush=True)
t = threading.Thread(target=work)
t.start()
t.join()
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0 and done.stdout == b"done 499500\n", done


def test_limits_raised_are_counted_per_thread() -> None:
    # (What C2PA validation compares: a limit raised in another thread is not its own.)
    before = threadlimit.limits_raised()
    threadlimit.limit_raised(threading.get_ident() + 1)
    assert threadlimit.limits_raised() == before
    threadlimit.limit_raised()
    assert threadlimit.limits_raised() == before + 1
