"""How many bytes a scan or a verification has read so far, for the progress display.

A scan of a disk export runs for hours, and one large file (a disk image, a video) is
read for minutes: the display counted entries only, so it stood still until that file
was done, as a hung scan would. Every piece the hashing reads is now counted
(:data:`evidence_cli.hashing.meter`), in the scan's own process (``--workers 0``,
``verify``'s threads) and in its worker processes (on counters in shared memory, one
for each pool), and the display reads the count.

The count is for the screen only: no record, export or exit status depends on it. A
file read again (after its worker died, or after a large file's memory map failed) is
counted again: it is what was read, not the size of the evidence.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Iterator

from evidence_cli import hashing


class ReadMeter:
    """The count, as the scan's own process keeps it: what it reads itself, plus what
    its worker processes add to the counters :meth:`for_workers` shares with them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._here = 0
        self._shared: list[Any] = []
        #: The entry (its path relative to its root, as walked) the scan is waiting for,
        #: when it is known to be reading that one alone (a large file travels alone, and
        #: a scan in one process reads one entry at a time); else None. The progress
        #: line shows it instead of the last entry done.
        self.reading: bytes | None = None

    def add(self, n: int) -> None:
        with self._lock:  # (verify hashes in several threads)
            self._here += n

    @property
    def total(self) -> int:
        # The counters are read without their locks: a worker killed while it held one
        # (the out-of-memory killer, a user's kill) must not stop the display. (An aligned
        # 64-bit number is read whole.) This process's own lock keeps a counter being let
        # go from being counted twice, or not at all, for a moment (see retire).
        with self._lock:
            return self._here + sum(value.get_obj().value for value in self._shared)

    def for_workers(self, ctx: Any) -> WorkerMeter:
        """A new counter for the worker processes of one pool (or one single-use process)
        of the multiprocessing context ``ctx``, handed to them when they start. A new one
        for every pool: the workers of a pool add to theirs under its lock, and a worker
        killed while it held that lock would have stopped every later worker of the scan
        (a pool whose worker dies is replaced, and its other workers are ended)."""
        value = ctx.Value("Q", 0)
        self._shared.append(value)
        return WorkerMeter(value)

    def retire(self, counter: WorkerMeter | None) -> None:
        """The pool (or process) ``counter`` was handed to has ended: its count is kept,
        and the counter (a lock, a page of shared memory) let go. Without this, a tree of
        files that each kill their worker (two pools and up to three processes each)
        would have held thousands of them to the end of the scan."""
        if counter is None:
            return
        value = counter._value
        with self._lock:
            for i, held in enumerate(self._shared):
                if held is value:
                    del self._shared[i]
                    self._here += value.get_obj().value
                    break


class WorkerMeter:
    """The count as a worker process adds to it (a shared 64-bit counter; the scan's
    process keeps it as long as the pool it was handed to runs: see ReadMeter.retire)."""

    def __init__(self, value: Any) -> None:
        self._value = value

    def add(self, n: int) -> None:
        value = self._value
        with value.get_lock():
            value.value += n


def _counted() -> ReadMeter | None:
    """The meter this process counts on (see counting), if any."""
    meter = hashing.meter
    return meter if isinstance(meter, ReadMeter) else None


def waiting_for(entries: list[Any] | None) -> None:
    """The scan now waits for these entries (None: for nothing): the meter being counted
    on (see counting) notes the entry when it is one."""
    meter = _counted()
    if meter is not None:
        meter.reading = entries[0].rel if entries is not None and len(entries) == 1 else None


class _Waiting:
    __slots__ = ("entries",)

    def __init__(self, entries: list[Any]) -> None:
        self.entries = entries

    def __enter__(self) -> None:
        waiting_for(self.entries)

    def __exit__(self, *exc: object) -> None:
        waiting_for(None)


def waiting(entries: list[Any]) -> _Waiting:
    """Within: the scan waits for these entries (see waiting_for), and then for nothing,
    however the wait ends (a worker dying, Ctrl-C)."""
    return _Waiting(entries)


def shared_counter(ctx: Any) -> WorkerMeter | None:
    """A counter for a new pool or single-use process of the context ``ctx`` when this
    process counts (see ReadMeter.for_workers); else None, and its workers do not count."""
    meter = _counted()
    return meter.for_workers(ctx) if meter is not None else None


def retire(counter: WorkerMeter | None) -> None:
    """The pool or process handed ``counter`` has ended (see ReadMeter.retire)."""
    meter = _counted()
    if meter is not None:
        meter.retire(counter)


@contextmanager
def counting(meter: ReadMeter | None) -> Iterator[None]:
    """Within: what this process hashes is counted on ``meter`` (None: not counted), and
    the worker processes started for a scan count on it too. Process-wide (the hashing
    reads one setting): for one command's display, not for scans run side by side in
    threads of one program, which would count on each other's meters."""
    old = hashing.meter
    hashing.meter = meter
    try:
        yield
    finally:
        hashing.meter = old
