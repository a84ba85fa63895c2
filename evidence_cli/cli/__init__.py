"""Command line: parse options, call the library, render. No evidence logic lives here.

Each command lives in its own module and registers itself on the ``cli`` group of
``common.py``; importing them here builds the whole surface.
"""

from __future__ import annotations

import io
import logging
import os
import select
import sys
from typing import Any

import click
from rich.text import Text

from evidence_cli import extractors
from evidence_cli.cli import common
from evidence_cli.cli import custody as _custody  # noqa: F401  (registers `custody`)
from evidence_cli.cli import export as _export  # noqa: F401  (registers `export`)
from evidence_cli.cli import match as _match  # noqa: F401  (registers `match`)
from evidence_cli.cli import report as _report  # noqa: F401  (registers `report`)
from evidence_cli.cli import scan as _scan  # noqa: F401  (registers `scan`)
from evidence_cli.cli import show as _show  # noqa: F401  (registers `show`)
from evidence_cli.cli import similar as _similar  # noqa: F401  (registers `similar`)
from evidence_cli.cli import timeline as _timeline  # noqa: F401  (registers `timeline`)
from evidence_cli.cli import verify as _verify  # noqa: F401  (registers `verify`)
from evidence_cli.cli.common import CONTEXT, EXIT_PROBLEMS, EXIT_USAGE, cli, drop_stdout
from evidence_cli.console import make_consoles, safe_text
from evidence_cli.errors import EvidenceError

__all__ = ["cli", "main"]


@cli.command("extractors", context_settings=CONTEXT)
def extractors_cmd() -> None:
    """List the metadata extractors and the types each one reads.

    \b
    Example:
      evidence extractors
    """
    out, _ = make_consoles()
    for ex in extractors.registered():
        types = ", ".join(sorted(ex.mime_types)) or "every file"
        out.print(Text(f"{ex.name}: {ex.description}"))
        out.print(Text(f"    types: {types}"))


def main() -> None:
    """Entry point: library errors become clean messages, never tracebacks."""
    # Libraries (Pillow, ExifRead) log about damaged files. Extractors collect that into
    # problems on the record; nothing they log may reach the terminal raw (Python's
    # last-resort handler would print it, unescaped, next to the table).
    logging.getLogger().addHandler(logging.NullHandler())
    _tolerant_console()
    try:
        try:
            try:
                cli.main(prog_name="evidence")
            finally:
                # Flushed here, not by the interpreter at exit, so that a stdout that cannot
                # take it (a full disk) is reported like any other failure.
                sys.stdout.flush()
        except EvidenceError as exc:
            _say(f"Error: {exc}")
            sys.exit(EXIT_USAGE)
        except BrokenPipeError:
            drop_stdout()  # the reader went away (`| head`): end quietly, as click does
            sys.exit(EXIT_PROBLEMS)
        except OSError as exc:
            # The table, a listing or --help could not be written to stdout (a full disk, an
            # I/O error); the exports, if any, say themselves whether they are complete.
            drop_stdout()
            where = f" {exc.filename!r}" if exc.filename else " the output"
            _say(safe_text(f"Error: cannot write{where}: {exc.strerror or exc}"))
            sys.exit(EXIT_PROBLEMS)
    finally:
        # A terminal that went away (SIGHUP) takes stderr with it: what is left for it is
        # dropped, or the interpreter's own flush at exit turns the status into 120.
        try:
            sys.stderr.flush()
        except OSError:
            drop_stdout(sys.stderr)


def _say(text: str) -> None:
    """An error message on stderr, unless stderr itself cannot be written (then nothing)."""
    try:
        click.echo(text, err=True)
    except OSError:
        drop_stdout(sys.stderr)


def _tolerant_console() -> None:
    """A stdout and a stderr that can be written to, and that write what their encoding
    cannot represent as Python's backslash escapes (``\\u65e5``). A legacy locale or a
    Windows code page cannot show every file name; strict, the table ended in a
    UnicodeEncodeError traceback. The exports are written in UTF-8 through their own
    streams, whatever the console's encoding."""
    # Started with stdout or stderr closed (``>&-``, some service managers): Python sets it
    # to None, and the table, a message or the final flush raised AttributeError. What
    # would go there goes nowhere, as when it is sent to /dev/null.
    # Data asked for on stdout (``-f jsonl``, ``--json -``, ``export`` without -o) is refused
    # then (common.refuse_closed_stdout): it would be lost without a word.
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - for the process's life
        common.STDOUT_CLOSED = True
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) == "strict":
            try:
                stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
            except (AttributeError, ValueError, OSError):  # not a TextIOWrapper, or closed
                pass
    _buffered_stdout()
    _quiet_stderr()


def _buffered_stdout() -> None:
    """Buffer stdout when Python was told not to (``python -u``, ``PYTHONUNBUFFERED=1``, which
    many container images set) and it is not a terminal: every record of ``-f jsonl``
    was otherwise a system call of its own. Records reach a pipe or a file in blocks, as
    they do without that setting; a terminal keeps it (nothing long is printed there).

    The new stream has its own buffer and file object on the same descriptor, which it
    never closes; the interpreter's original stdout is left untouched, and empty."""
    old = sys.stdout
    raw = getattr(old, "buffer", None)
    if not isinstance(raw, io.RawIOBase):  # buffered already, or not a real stream
        return
    try:
        fd = old.fileno()
        if os.isatty(fd):
            return
        stream = io.TextIOWrapper(
            io.BufferedWriter(io.FileIO(fd, "w", closefd=False)),
            encoding=old.encoding,
            errors=old.errors,
            newline=None,
        )
    except (OSError, ValueError, AttributeError):  # closed, or no descriptor: as it is
        return
    sys.stdout = stream


class _QuietWriter(io.RawIOBase):
    """stderr's bytes, written to its descriptor in full. A write that fails (a full disk,
    an I/O error, a reader gone) drops them and everything after: stderr carries the
    summary and the messages, for a person; the exports and reports carry the results.
    A stderr that cannot be written no longer turns a run that did all it had to (exit 0)
    into exit 1, while the JSON report it wrote says 0 and ``all-ok``: the exit status is
    the run's (see DESIGN.md), whatever became of its messages."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd
        self.failed = False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return os.isatty(self._fd)

    def write(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        size = len(view)
        while view and not self.failed:
            try:
                view = view[os.write(self._fd, view) :]
            except BlockingIOError:  # a non-blocking stderr that is full for now: wait
                select.select([], [self._fd], [], 1.0)
            except OSError:
                self.failed = True
        return size


def _quiet_stderr() -> None:
    """stderr through :class:`_QuietWriter`, on the same descriptor, with the same encoding
    and error handling, line by line as before. POSIX only (a Windows console is not written
    as bytes), and only for a real stream, buffered or not (``python -u``); a test
    runner's is left as it is."""
    old = sys.stderr
    if os.name != "posix" or not isinstance(getattr(old, "buffer", None), (io.BufferedWriter, io.FileIO)):
        return
    try:
        fd = old.fileno()
        old.flush()
    except (OSError, ValueError, AttributeError):  # closed, or no descriptor: as it is
        return
    sys.stderr = io.TextIOWrapper(
        _QuietWriter(fd),  # type: ignore[arg-type]
        encoding=old.encoding,
        errors=old.errors,
        line_buffering=True,
        write_through=True,
    )
