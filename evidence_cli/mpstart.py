"""Starting worker processes: the multiprocessing context, and starting its helper early.

Kept free of heavy imports: :func:`prestart` runs first thing in the ``evidence``
command, so the fork server imports the scanner and its extractors on another core
while this process is still importing its own modules (about 0.3 s each on a small
machine; a scan of many small files finishes in seconds, so this matters).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from typing import Any

#: Modules the fork server imports once; every worker is forked from it with them loaded
#: (the pipeline, its extractors, python-magic: see evidence_cli.preload). Not the CLI:
#: a worker re-runs only the light ``evidence`` script (see entry.py).
PRELOAD = ["evidence_cli.preload"]


def current_dir() -> str | None:
    try:
        return os.getcwd()
    except OSError:
        return None


def method() -> str:
    return "forkserver" if sys.platform.startswith("linux") else "spawn"


def context() -> Any:
    """The context worker pools use, its helper processes running (see below).

    forkserver: workers start from a clean process, not a fork of one that may hold
    locks in other threads (the progress bar, digest threads).
    """
    ctx = multiprocessing.get_context(method())
    if method() == "forkserver":
        ctx.set_forkserver_preload(PRELOAD)
    _start_helpers_outside_cwd()
    return ctx


def _start_helpers_outside_cwd() -> None:
    """Start multiprocessing's helper processes (fork server, resource tracker) from /.

    They run ``python -c ...``, which puts the working folder first on the import path
    and lists it while importing — changing its access time when the examiner runs the
    scan from inside the evidence folder. Starting them returns at once (they import in
    the background); later calls find them running.
    """
    old = current_dir()
    if old is None:
        return
    try:
        os.chdir("/")
        from multiprocessing import resource_tracker

        resource_tracker.ensure_running()
        if method() == "forkserver":
            from multiprocessing import forkserver

            forkserver.ensure_running()
    finally:
        os.chdir(old)


def _runs(argv: list[str], command: str) -> bool:
    """Does this command line run ``command`` (not only ask for its help)?"""
    return argv[:1] == [command] and not any(a in ("-h", "--help") for a in argv)


def is_scan(argv: list[str]) -> bool:
    """Does this command line start a scan (as far as a quick look at the arguments tells)?"""
    return _runs(argv, "scan")


def wants_pool(argv: list[str]) -> bool:
    """Does this command line start a scan with worker processes (as far as a quick look
    at the arguments tells), or a ``show`` (which reads its file in one worker)? A wrong
    guess costs only an idle helper process."""
    if _runs(argv, "show"):
        return True
    if not is_scan(argv):
        return False
    for i, a in enumerate(argv):
        if a.startswith("--scheduler"):
            return False
        if a == "--workers" and argv[i + 1 : i + 2] == ["0"] or a == "--workers=0":
            return False
    return True


def prestart(argv: list[str]) -> None:
    """Start the worker helper now if ``argv`` is a scan that will use worker processes."""
    if method() == "forkserver" and wants_pool(argv):
        context()
