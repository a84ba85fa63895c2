"""What every command shares: the group, exit codes, failures, shared options, consoles."""

from __future__ import annotations

import io
import os
import sys
from contextlib import ExitStack
from datetime import datetime, timezone
from typing import IO, Any, Callable, Sequence

import click

from evidence_cli import __version__
from evidence_cli.walker import Roots

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


class Failure(click.ClickException):
    """A library error shown as a clear message; nothing could be done (exit 2)."""

    exit_code = EXIT_USAGE


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="evidence")
def cli() -> None:
    """evidence: identify, hash and read the metadata of digital evidence, read-only.

    \b
    Example:
      evidence scan samples/
      evidence scan ./collected --json manifest.json --csv report.csv --case 2026-041
    """


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def inside(path: bytes, root: bytes) -> bool:
    root = root.rstrip(b"/") or b"/"
    return path == root or path.startswith(root if root == b"/" else root + b"/")


def check_outputs_outside(outputs: Sequence[str], roots: Roots) -> None:
    """Refuse an output path inside a scanned tree (we never write into evidence)."""
    real_roots = [os.path.realpath(r) for r in roots.roots]
    for out in outputs:
        if out == "-":
            continue
        # The whole path: a final component that is a (dangling) symlink into the tree
        # would make open() create the file there. realpath resolves it even when the
        # file does not exist yet.
        real = os.path.realpath(os.path.abspath(os.fsencode(out)))
        for r in real_roots:
            if inside(real, r):
                raise Failure(
                    f"refusing to write {out!r} inside the scanned tree {os.fsdecode(r)!r}: "
                    "evidence folders are never written to. Choose an output path outside it."
                )


def case_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Case fields recorded in the header of every export (scan, verify)."""
    for opt in reversed(
        [
            click.option("--case", "case_id", metavar="TEXT", help="Case number or name, recorded in the exports."),
            click.option("--examiner", metavar="TEXT", help="Examiner's name, recorded in the exports."),
            click.option("--evidence-id", metavar="TEXT", help="Evidence item identifier, recorded in the exports."),
        ]
    ):
        f = opt(f)
    return f


def open_output(stack: ExitStack, path: str) -> IO[str]:
    """A UTF-8 text stream for an export path, '-' meaning stdout."""
    if path == "-":
        buf = getattr(sys.stdout, "buffer", None)
        if buf is None:
            return sys.stdout
        wrapper = io.TextIOWrapper(buf, encoding="utf-8", errors="backslashreplace", newline="", write_through=True)
        # Detach (not close) at the end: stdout itself must stay open.
        stack.callback(wrapper.detach)
        stack.callback(wrapper.flush)
        return wrapper
    try:
        return stack.enter_context(open(path, "w", encoding="utf-8", errors="backslashreplace", newline=""))
    except OSError as exc:
        raise Failure(f"cannot write {path!r}: {exc.strerror}") from None


def safe_path(b: bytes) -> str:
    """An OS path as text for headers (undecodable bytes as \\xNN)."""
    return b.decode("utf-8", "backslashreplace")
