"""Time limits for extractors that run outside a main thread (Dask worker threads), and
the backstop that ends any worker stuck in C code (see :class:`Backstop`).

Worker processes and the in-process scan limit each extractor with SIGALRM, which only a
main thread receives. In a Dask worker, tasks run in threads: an extractor caught in an
endless loop by a crafted file held its worker, and the scan, for ever. Inside
:func:`watched`, :class:`evidence_cli.scanner.ExtractorClock` limits the thread's
extractors with a watchdog thread instead:

* at the limit, the watchdog raises the limit's exception in the late thread (CPython's
  ``PyThreadState_SetAsyncExc``). Like the alarm's, it arrives between two bytecodes: an
  extractor running Python code stops there, and the record says so, as in a local scan;
* an extractor stuck in C code (which no exception reaches) at twice its limit, or
  :data:`KILL_GRACE` seconds after it if later, ends the process when ``kill`` is set
  (through the thread's :class:`Backstop`): the Dask worker, whose death Dask reports
  (after its retries) as a failed task, so the entry is read again without it and the
  scan goes on.

One exception at most is raised per extractor run, while it runs: a raise that has not
arrived when the extractor returns is withdrawn. (An extractor that ends within a
microsecond of its limit may still see it arrive just after it returned: the caller's
handler for the limit's exception surrounds the run, and a Dask task failed by it is run
again.)
"""

from __future__ import annotations

import ctypes
import os
import threading
import time
from contextlib import contextmanager
from typing import Iterator

#: An extractor stuck in C code ends the process this long after its limit (or after
#: twice the limit, if longer).
KILL_GRACE = 5.0
#: The exit status of a process ended that way.
KILL_CODE = 75
_KILL_MESSAGE = b"evidence-cli: a file reader is stuck in C code past its time limit; ending this worker\n"
#: The watchdog looks at the running extractors at least this often (seconds): a limit is
#: enforced at most this much late. It takes the interpreter lock only then: a thread
#: entering or leaving a limited run takes no lock and wakes nobody.
TICK = 0.1

_local = threading.local()
_slots: dict[int, _Slot] = {}
_dog: threading.Thread | None = None
_dog_lock = threading.Lock()


#: How many time limits were raised in each thread (by the alarm or the watchdog). Code
#: whose callbacks a limit could interrupt unseen (a C library that swallows the exception
#: raised in a callback and goes on with a short read) compares its thread's count before
#: and after: a limit raised in another thread (another Dask task) is not its own.
_limits_raised: dict[int, int] = {}


def limit_raised(thread_id: int | None = None) -> None:
    """Count a time limit raised in that thread (default: this one), just before raising it."""
    # (No lock: the alarm's handler calls this, and could interrupt its own thread holding
    # one. Each thread's count has one writer: the alarm in the main thread, the watchdog
    # for the others; a dict's item update is atomic under the GIL.)
    key = threading.get_ident() if thread_id is None else thread_id
    _limits_raised[key] = _limits_raised.get(key, 0) + 1


def limits_raised() -> int:
    """How many time limits were raised in this thread."""
    return _limits_raised.get(threading.get_ident(), 0)


def _set_async(thread_id: int, error: type[BaseException] | None) -> int:
    """Raise ``error`` in that thread at its next bytecode; None withdraws a pending one."""
    exc = ctypes.py_object(error) if error is not None else None
    return int(ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), exc))


def available() -> bool:
    """Can this interpreter raise an exception in another thread (CPython can)?"""
    return hasattr(ctypes, "pythonapi") and hasattr(ctypes.pythonapi, "PyThreadState_SetAsyncExc")


class _Slot:
    __slots__ = ("deadline", "error", "raised")

    def __init__(self, deadline: float, error: type[BaseException]) -> None:
        self.deadline = deadline
        self.error = error
        self.raised = False


class Watch:
    """How this thread's extractors are limited (see :func:`watched`)."""

    def __init__(self, error: type[BaseException], kill: bool) -> None:
        self.error = error
        self.kill = kill

    def limited(self, seconds: float) -> _Limited:
        """Context for one extractor run, limited to ``seconds``."""
        return _Limited(self, seconds)


class _Limited:
    __slots__ = ("watch", "seconds")

    def __init__(self, watch: Watch, seconds: float) -> None:
        self.watch = watch
        self.seconds = seconds

    def __enter__(self) -> None:
        if _dog is None and not _start_dog():
            return  # no watchdog (no thread could start): this run is not limited; the next tries again
        stop = thread_backstop() if self.watch.kill else None
        if stop is not None:
            stop.arm(self.seconds)
        # No lock here or in ended(): a raise arriving while a lock is held would keep it.
        _slots[threading.get_ident()] = _Slot(clock() + self.seconds, self.watch.error)

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        # If the raise arrives in here, it still comes from this extractor's run: the
        # caller's handler for the limit's exception then calls ended().
        ended(arrived=exc_type is not None and issubclass(exc_type, self.watch.error))


def ended(arrived: bool = False) -> None:
    """The thread's extractor run is over: forget it, disarm its backstop, and withdraw a
    raise that has not arrived yet. ``arrived``: the caller is handling the limit's
    exception (the watchdog raises it once a run), so there is none to withdraw.

    A withdrawal is not free: CPython flags the interpreter for a pending exception even
    when it withdraws one, and only a thread that receives one clears the flag. Until
    then every thread checks for it again at every chance: after one, plain Python ran
    46 % slower on 3.12, 15 % on 3.10, 5 % on 3.11 (medians of 7 runs, against a control
    without it), for the rest of the process (a Dask worker); and under a trace function
    (coverage, a debugger) the thread looped there for ever (found by a coverage run).
    So the raise that has arrived, the usual case, is not withdrawn."""
    thread_id = threading.get_ident()
    stop = _backstops.get(thread_id)
    if stop is not None:
        stop.disarm()
    slot = _slots.pop(thread_id, None)
    if slot is not None and slot.raised and not arrived:
        _set_async(thread_id, None)


def _start_dog() -> bool:
    """Start the watchdog thread; False when no thread can start (a process at its limit of
    threads or of memory): nothing is limited or backstopped then, and the next run tries
    again. (Before, the failure reached the reader's caller once, as an error on that
    file's record, and later runs of the thread went on without any backstop, unsaid.)"""
    global _dog, _due
    with _dog_lock:  # (no extractor of this thread runs yet: nothing can be raised here)
        if _dog is None:
            started = _due = time.monotonic()
            dog = threading.Thread(target=_watch_loop, args=(started,), name="evidence-time-limits", daemon=True)
            try:
                dog.start()
            except RuntimeError:  # "can't start new thread"
                return False
            _dog = dog
    return True


#: A watchdog that wakes this much later than it meant to was not running (the scan
#: stopped with Ctrl-Z or SIGSTOP, the machine suspended or paused): the time is not
#: counted against the runs it watches (see clock()).
STALL = 1.0
#: Seconds this process was not running, as the watchdog saw (only it writes this).
_stalled = 0.0


def stalled() -> float:
    """Seconds this process was not running, as the watchdog saw."""
    return _stalled


def clock() -> float:
    """The watchdog's clock: monotonic time, less the time this process was not running.
    (A scan stopped for an hour and continued found every run under way an hour late: the
    file being read was said to be stuck.)"""
    return time.monotonic() - _stalled


#: When the watchdog means to wake next (monotonic time; only it writes this).
_due = 0.0


def time_left(started: float, seconds: float) -> float | None:
    """Of a limit of ``seconds`` from ``started`` (on :func:`clock`), how much is left;
    None where no watchdog keeps count of the time this process was not running. For
    SIGALRM's handler, whose timer counts that time too. A stall the watchdog has not
    counted yet (it wakes late, and SIGALRM came first) gives it a moment to."""
    if _dog is None or not _dog.is_alive():
        return None
    real = time.monotonic()
    if real - _due > STALL:
        return 2 * TICK
    return seconds - (real - _stalled - started)


def _say_killed() -> None:
    try:
        os.write(2, _KILL_MESSAGE)
    except OSError:  # no stderr: the process ends all the same
        pass


def _watch_loop(due: float) -> None:
    """``due``: when the loop was started (a stop before it first runs is a stall too)."""
    global _stalled, _due
    while True:
        real = time.monotonic()
        if real - due > STALL:
            _stalled += real - due
        now = real - _stalled
        soonest = now + TICK
        for thread_id, slot in list(_slots.items()):
            if slot.raised:
                continue
            if now < slot.deadline:
                soonest = min(soonest, slot.deadline)
            elif _slots.get(thread_id) is slot:  # still running
                slot.raised = True
                limit_raised(thread_id)
                if _set_async(thread_id, slot.error) != 1:  # that thread is gone
                    _slots.pop(thread_id, None)
                    gone = _backstops.pop(thread_id, None)
                    if gone is not None:
                        gone.disarm()
        for stop in list(_backstops.values()):
            if now >= stop.kill_at:
                if stop.announce:  # (a local worker's record says it; its stderr is the terminal)
                    _say_killed()
                os._exit(KILL_CODE)
            soonest = min(soonest, stop.kill_at)
        pause = max(0.0, soonest - now)
        due = _due = real + pause
        time.sleep(pause)


def current() -> Watch | None:
    """This thread's watch, inside :func:`watched`; else None."""
    return getattr(_local, "watch", None)


@contextmanager
def watched(error: type[BaseException], *, kill: bool) -> Iterator[None]:
    """Within: this thread's extractors are limited by the watchdog, raising ``error``
    (and, with ``kill``, ending the process when one is stuck in C code). Without
    :func:`available`, they run without a limit, as before."""
    old = current()
    _local.watch = Watch(error, kill) if available() else None
    try:
        yield
    finally:
        _local.watch = old


def kill_after(seconds: float) -> float:
    """How long after its start a run limited to ``seconds`` ends a process stuck in C code."""
    return seconds + max(seconds, KILL_GRACE)


#: Set in a scan's worker processes (never in the scan's own process, which a kill would
#: end): see :class:`Backstop`.
backstops = False
_backstops: dict[int, Backstop] = {}
_NEVER = float("inf")


class Backstop:
    """One thread's backstop: while armed, the process ends once :func:`kill_after` the
    limit has passed. Nothing is raised: it is for code that SIGALRM's exception (or the
    watchdog's) cannot reach because it never returns to Python, such as a C library in an
    endless loop on a crafted file, or blocked. The process's death is reported by its
    pool (or by Dask), and the entry is read again without that reader. Arming stores one
    number, so that every file can afford it."""

    __slots__ = ("kill_at", "announce")

    def __init__(self, announce: bool) -> None:
        self.kill_at = _NEVER
        self.announce = announce

    def arm(self, seconds: float, now: float | None = None) -> None:
        """Armed for ``seconds`` from ``now`` (``time.monotonic()``'s, by default now)."""
        self.kill_at = (time.monotonic() if now is None else now) - _stalled + kill_after(seconds)

    def disarm(self) -> None:
        self.kill_at = _NEVER


def thread_backstop() -> Backstop | None:
    """This thread's backstop in a scan's worker process, or in a Dask task watched with
    ``kill``; elsewhere, or while no watchdog thread can start, None."""
    if not backstops:
        watch = current()
        if watch is None or not watch.kill:
            return None
    if _dog is None and not _start_dog():
        return None  # no watchdog to end the process: no backstop for this run
    thread_id = threading.get_ident()
    stop = _backstops.get(thread_id)
    if stop is None:
        stop = _backstops[thread_id] = Backstop(announce=not backstops)
    return stop
