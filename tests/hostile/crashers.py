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
import time

from evidence_cli.extractors import base
from evidence_cli.models import Extraction

ALLOCATE = 16 * 1024**3


class Sleeper:
    name = "test-sleeper"
    description = "sleeps (or spins) on files named *slow*"
    mime_types: frozenset[str] = frozenset()

    def extract(self, ctx: base.FileContext) -> Extraction:
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
    description = "kills its process on files named *crash-exit* / *crash-segv*"
    mime_types: frozenset[str] = frozenset()

    def extract(self, ctx: base.FileContext) -> Extraction:
        if "crash-exit" in ctx.rel_path:
            os._exit(3)
        if "crash-segv" in ctx.rel_path:
            ctypes.string_at(0)  # reads address 0: SIGSEGV
        return Extraction(extractor=self.name, group=self.name, tags={"ran": True})


TEST_EXTRACTORS = (Sleeper(), Hog(), Crasher())


def register_test_extractors() -> None:
    for ex in TEST_EXTRACTORS:
        base._REGISTRY.setdefault(ex.name, ex)  # type: ignore[arg-type]


def batch_with_test_extractors(batch: list, options: object) -> list:  # type: ignore[type-arg]
    """``engine.process_batch``, with the test extractors registered in this process."""
    from evidence_cli.scanner import process_entry

    register_test_extractors()
    return [process_entry(e, options) for e in batch]  # type: ignore[arg-type]
