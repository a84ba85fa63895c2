"""Test-only extractors that hang, hog memory or kill their process, and a batch function
that registers them inside a worker process.

Worker processes start fresh (forkserver) and import ``evidence_cli.extractors`` only, so
a test cannot register an extractor there from the test process. Instead the test swaps
``engine.process_batch`` for :func:`batch_with_test_extractors`: it is pickled by name,
imported in the worker (``tests`` must be importable there), registers these extractors
and then runs the real ``process_entry``. Each misbehaves only on files whose name holds
its trigger word, so every other file is a control.
"""

from __future__ import annotations

import ctypes
import os
import signal
import time
from typing import Any, Callable

from evidence_cli.extractors import base
from evidence_cli.models import Extraction

ALLOCATE = 16 * 1024**3


def stuck_in_c() -> None:
    """What a C library in an endless loop does to the limits, as far as they can tell:
    SIGALRM's Python handler never runs (here the signal is blocked, then this sleeps)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    time.sleep(3600)


class Sleeper:
    name = "test-sleeper"
    description = "sleeps (or spins) on files named *slow*; is stuck as in C on *stuck-c*"
    mime_types: frozenset[str] = frozenset()

    def extract(self, ctx: base.FileContext) -> Extraction:
        if "stuck-c" in ctx.rel_path:
            stuck_in_c()
        if "slow-sleep" in ctx.rel_path:
            time.sleep(3600)
        if "slow-spin" in ctx.rel_path:
            while True:  # a pure-Python endless loop
                pass
        return Extraction(extractor=self.name, group=self.name, tags={"ran": True})


class Hog:
    name = "test-hog"
    description = "allocates 16 GiB on files named *hog*"
    mime_types: frozenset[str] = frozenset()

    def extract(self, ctx: base.FileContext) -> Extraction:
        if "hog" in ctx.rel_path:
            block = bytearray(ALLOCATE)
            return Extraction(extractor=self.name, group=self.name, tags={"allocated": len(block)})
        return Extraction(extractor=self.name, group=self.name, tags={"ran": True})


class Crasher:
    name = "test-crasher"
    description = "kills its process on files named *crash-exit* / *crash-segv* / *crash-holding-meter*"
    mime_types: frozenset[str] = frozenset()

    def extract(self, ctx: base.FileContext) -> Extraction:
        if "crash-exit" in ctx.rel_path:
            os._exit(3)
        if "crash-segv" in ctx.rel_path:
            ctypes.string_at(0)  # reads address 0: SIGSEGV
        if "crash-holding-meter" in ctx.rel_path:  # killed in the microsecond it counts a read
            from evidence_cli import hashing

            held = getattr(hashing.meter, "_value", None)
            if held is not None:
                held.get_lock().acquire()
            os._exit(3)
        return Extraction(extractor=self.name, group=self.name, tags={"ran": True})


TEST_EXTRACTORS = (Sleeper(), Hog(), Crasher())


def register_test_extractors() -> None:
    for ex in TEST_EXTRACTORS:
        base._REGISTRY.setdefault(ex.name, ex)  # type: ignore[arg-type]


def dask_setup(worker: object) -> None:
    """Run by a Dask worker given this module as its preload (``LocalCluster(preload=...)``)."""
    register_test_extractors()


def batch_with_test_extractors(batch: list, options: object) -> list:  # type: ignore[type-arg]
    """``engine.process_batch``, with the test extractors registered in this process."""
    from evidence_cli.scanner import process_entry

    register_test_extractors()
    return [process_entry(e, options) for e in batch]  # type: ignore[arg-type]


def batch_truncating_under_map(batch: list, options: object) -> list:  # type: ignore[type-arg]
    """``engine.process_batch`` where a file named *shrinks* is truncated to nothing while
    a worker holds it mapped (as a live share or a sync client could do): the worker dies
    of SIGBUS. Files of 1 KiB and more count as large here, mapped 64 KiB at a time."""
    from evidence_cli import hashing
    from evidence_cli.scanner import process_entry

    hashing.THREADED_MIN = 1024
    hashing.MAP_WINDOW = 64 * 1024
    real = hashing._map_window

    def map_then_truncate(fd: int, length: int, offset: int) -> object:
        window = real(fd, length, offset)
        if os.readlink(f"/proc/self/fd/{fd}").endswith("shrinks.bin"):
            os.truncate(f"/proc/self/fd/{fd}", 0)
        return window

    hashing._map_window = map_then_truncate
    # Which entries each batch held, and whether it mapped: beside the evidence folder.
    log = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(batch[0].path))), b"batches.log")
    with open(log, "a") as fh:
        fh.write(f"{hashing.mapped_reads} {os.getpid()} {' '.join(os.fsdecode(e.rel) for e in batch)}\n")
    return [process_entry(e, options) for e in batch]  # type: ignore[arg-type]


def _crash() -> None:
    os._exit(3)


def _misbehaving(word: str, act: Callable[[], None], real: Callable[..., Any]) -> Callable[..., Any]:
    """``real``, except that it does ``act`` (kill its process, be stuck as in C code) when
    the file's name holds ``word`` (its first argument is a name or a path)."""

    def wrapped(first: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if word in os.fsdecode(first):
            act()
        return real(first, *args, **kwargs)

    return wrapped


def _with_crashing_stages() -> None:
    """In this worker: libmagic's stage kills it on *crash-magic* files and is stuck as in
    C code on *stuck-magic* files, the read pass kills it on *crash-read* files, at every
    attempt. A stuck reader ends the worker 0.3 s after its limit."""
    from evidence_cli import scanner, threadlimit

    threadlimit.KILL_GRACE = 0.3
    if not getattr(scanner.detect_type, "crashing", False):
        crashing = _misbehaving("crash-magic", _crash, scanner.detect_type)
        scanner.detect_type = _misbehaving("stuck-magic", stuck_in_c, crashing)
        scanner.detect_type.crashing = True  # type: ignore[attr-defined]
        scanner.hash_entry = _misbehaving("crash-read", _crash, scanner.hash_entry)


def batch_with_crashing_stages(batch: list, options: object) -> list:  # type: ignore[type-arg]
    """``engine.process_batch`` with :func:`_with_crashing_stages` and the test extractors."""
    _with_crashing_stages()
    return batch_with_test_extractors(batch, options)


def salvage_with_crashing_stages(batch: list, options: object, reason: str, libmagic: bool) -> list:  # type: ignore[type-arg]
    """``engine.salvage_batch`` with :func:`_with_crashing_stages`."""
    from evidence_cli import engine

    _with_crashing_stages()
    return engine.salvage_batch(batch, options, reason, libmagic)  # type: ignore[arg-type]
