"""What every command shares: the group, exit codes, failures, shared options, consoles."""

from __future__ import annotations

import io
import os
import stat
import sys
import threading
import time
from collections import deque
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from datetime import datetime, timezone
from typing import IO, Any, BinaryIO, Callable, Iterator, Sequence

import click
from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, TimeElapsedColumn
from rich.progress_bar import ProgressBar
from rich.table import Column
from rich.text import Text

from evidence_cli import __version__
from evidence_cli.cli.stopping import StopSignals
from evidence_cli.console import TerminalBytes, TerminalText, counted, safe_text, same_terminal
from evidence_cli.errors import EvidenceError, ManifestError, OutputFailed
from evidence_cli.manifest import Manifest, read_manifest, require_trusted
from evidence_cli.walker import Entry, Roots, display_path, walk
from evidence_cli.writers.table import human_size

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
    ctx = click.get_current_context()
    if ctx.invoked_subcommand != "extractors":
        _check_working_folder()


def _check_working_folder() -> None:
    """Refuse to start in a working folder that no longer exists (deleted or moved away
    meanwhile): relative paths cannot be resolved there, and resolving them against another
    folder would examine the wrong evidence; the worker processes need it too."""
    try:
        os.getcwd()
    except FileNotFoundError:
        raise EvidenceError(
            "the working folder no longer exists (it was deleted or moved away): "
            "cd to a folder that exists and run the command again"
        ) from None


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


def check_outputs_distinct(outputs: Sequence[str], inputs: Sequence[str] = ()) -> None:
    """Refuse two outputs that are one file (their lines would be interleaved) and an
    output that is an input (opening it for writing would empty the manifest before it is
    read): through a symlink or a hard link too. Devices and FIFOs (/dev/null) may repeat."""
    seen: dict[tuple[Any, ...], str] = {}
    for name in inputs:
        key = _file_key(name)
        if key is not None:
            seen[key] = name
    for out in outputs:
        if out == "-":
            continue
        key = _file_key(out)
        if key is None:
            continue
        if key in seen:
            other = seen[key]
            what = "the input" if other in inputs else "another output"
            raise Failure(f"refusing to write {out!r}: it is {what} {other!r}. Choose another output path.")
        seen[key] = out


def check_outputs_new(outputs: Sequence[str], *, overwrite: bool, resumable: str | None = None) -> None:
    """Refuse to replace a file that exists and holds something, unless ``overwrite``:
    an earlier scan's sealed manifest, or an earlier verification's report, is part of the
    chain of custody, and a scan run again with the same command line replaced it without
    a word. Devices and FIFOs (/dev/null), and empty files (made by ``mktemp``), are fine.
    ``resumable``: the JSON Lines export, for which the message also names --resume."""
    if overwrite:
        return
    for out in outputs:
        if out == "-":
            continue
        try:
            st = os.stat(out)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_size > 0:
            resume = ", --resume to continue the scan it records," if out == resumable else ""
            raise Failure(
                f"{out!r} exists already ({st.st_size:,} bytes) and is not replaced: an earlier export or "
                f"report is part of the record. Choose another path{resume} or give --overwrite to replace it."
            )


def not_empty(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Refuse an empty PATH, ADDRESS or name (``--json "$OUT"`` with OUT unset): click takes
    ``""`` as a value, and a falsy one read as not given, so such a scan wrote no manifest
    without a word, ``scan ""`` scanned the working folder and ``verify --root ""`` checked
    it instead of the evidence."""
    for v in value if isinstance(value, tuple) else (value,):
        if v == "":
            raise click.BadParameter("it is empty (an unset shell variable?)")
    return value


#: ``--csv-bom``: CSV output begins with a UTF-8 byte-order mark, for Excel (a decorator:
#: click makes a new option each time it is applied).
csv_bom_option = click.option(
    "--csv-bom",
    is_flag=True,
    help="Begin the CSV with a UTF-8 byte-order mark, for Excel on Windows (without it, Excel reads "
    "the file in the local code page: Café.jpg shows as CafÃ©.jpg).",
)

#: ``--overwrite``: replace output files that exist already (refused by default).
overwrite_option = click.option(
    "--overwrite",
    is_flag=True,
    help="Replace output files that exist already (refused by default: an earlier export or report is "
    "part of the record).",
)


def _file_key(path: str) -> tuple[Any, ...] | None:
    """What identifies the file a path opens (None: a device or FIFO, never refused)."""
    try:
        st = os.stat(path)
    except OSError:  # not there yet: its resolved path (a dangling symlink resolves too)
        return ("path", os.path.realpath(os.path.abspath(os.fsencode(path))))
    if not stat.S_ISREG(st.st_mode):
        return None
    return ("file", st.st_dev, st.st_ino)


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


class GuardedOutput:
    """A text stream of one export or report whose write errors (a full disk, an I/O error)
    become :class:`OutputFailed`, naming the file, instead of a traceback. After the first
    failure it drops what is written to it, so that the command can still close its other
    outputs validly and say which one is incomplete. A reader of stdout that went away
    (``evidence scan DIR -f jsonl | head``) raises BrokenPipeError once, for the command
    to stop and close its other outputs validly; what is written after it is dropped."""

    def __init__(self, stream: IO[str], path: str) -> None:
        self.stream = stream
        self.path = path
        self.failed: OutputFailed | None = None
        self.broken = False  # its reader went away
        #: For stdout on a terminal: where its lines go while a progress line is shown there.
        self.route: LineRoute | None = None

    def _call(self, step: Callable[..., Any], *args: Any) -> Any:
        try:
            return step(*args)
        except OSError as exc:
            if isinstance(exc, BrokenPipeError) and self.path == "-":
                # The reader went away (`| head`): the command stops and closes its
                # other outputs; what it still writes here is dropped.
                self.broken = True
                raise
            self.failed = OutputFailed("stdout" if self.path == "-" else self.path, exc.strerror or str(exc))
            raise self.failed from None

    def write(self, text: str) -> int:
        if self.failed is not None or self.broken:
            return len(text)
        return self._call(self.stream.write, text)  # type: ignore[no-any-return]

    def flush(self) -> None:
        if self.failed is None and not self.broken:
            self._call(self.stream.flush)

    def detach(self) -> None:
        """Detach the wrapper of stdout (stdout itself stays open). Detaching flushes; after
        a failure what stdout still holds cannot be written, and is dropped (stdout pointed
        at the null device) instead of failing again, unreported, on the way out; so is
        what it holds when its reader went away (``| head``), which Python 3.13 would
        otherwise report as an ignored BrokenPipeError when the stream is finalised."""
        if self.broken:
            drop_stdout()
            self.stream.detach()  # type: ignore[attr-defined]
            return
        if self.failed is None:
            self._call(self.stream.detach)  # type: ignore[attr-defined]
            return
        try:
            self.stream.detach()  # type: ignore[attr-defined]
        except OSError:
            drop_stdout()
            self.stream.detach()  # type: ignore[attr-defined]

    def close(self) -> None:
        if self.failed is None:
            self._call(self.stream.close)
        else:  # closing fails again (the same full disk): already said
            try:
                self.stream.close()
            except OSError:
                pass


#: Was this process started with stdout closed (``>&-``)? What would be shown there (the
#: table, a listing) goes to the null device; data asked for there is refused.
STDOUT_CLOSED = False


def refuse_closed_stdout(instead: str = "Give a file path instead, or run it with stdout open.") -> None:
    """Data asked for on stdout (records, a report, a hash list) when the command was started
    with stdout closed: refused before any work (exit 2), as an unwritable stdout ends other
    tools (``sha256sum >&-``: "write error"); it went nowhere, the command saying it was
    written. Each command calls it with its options checked, before it opens any output."""
    if STDOUT_CLOSED:
        raise Failure(
            "stdout is closed (the command was started with it closed, as `>&-` does): what was asked "
            f"for on stdout cannot be written. {instead}"
        )


def open_output(
    stack: ExitStack,
    path: str,
    *,
    append: bool = False,
    track: list[GuardedOutput] | None = None,
    json: bool = False,
) -> IO[str]:
    """A UTF-8 text stream for an export path, '-' meaning stdout (see GuardedOutput),
    added to ``track`` so that the command can name it if it could not be written.
    ``append`` continues an existing file (a resumed JSON Lines export). On a terminal,
    stdout's control and invisible characters are escaped (:class:`TerminalText`; as JSON
    escapes for ``json``)."""
    if path == "-":
        buf = getattr(sys.stdout, "buffer", None)
        if buf is None:
            return sys.stdout
        wrapper: Any = io.TextIOWrapper(
            buf, encoding="utf-8", errors="backslashreplace", newline="", write_through=True
        )
        route = None
        if stdout_is_terminal():
            route = LineRoute(wrapper)
            wrapper = TerminalText(route, json=json)
        guarded = GuardedOutput(wrapper, path)
        guarded.route = route
        # Detach (not close) at the end: stdout itself must stay open.
        stack.callback(guarded.detach)
        stack.callback(guarded.flush)
    else:
        try:
            stream = open(path, "a" if append else "w", encoding="utf-8", errors="backslashreplace", newline="")  # noqa: SIM115
        except OSError as exc:
            raise Failure(f"cannot write {path!r}: {exc.strerror}") from None
        guarded = GuardedOutput(stream, path)
        stack.callback(guarded.close)
    if track is not None:
        track.append(guarded)
    return guarded  # type: ignore[return-value]


class LineRoute:
    """stdout's data on a terminal (already escaped: see :class:`TerminalText`), sent on as
    it is, or, while a progress line is shown on that terminal (:meth:`above`), line by
    line above it (:class:`AboveProgress`): written as they are, records were glued to the
    end of the progress line's text. A line not finished when the progress line comes
    is erased by it: it is printed again, whole, above it; one not finished when the
    progress line goes is written on as it is, after it."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self._above: AboveProgress | None = None
        self._partial = ""  # the line not finished yet

    def write(self, text: str) -> int:
        above = self._above
        if above is None:
            cut = text.rfind("\n")
            self._partial = self._partial + text if cut < 0 else text[cut + 1 :]
            return self.stream.write(text)  # type: ignore[no-any-return]
        *lines, self._partial = (self._partial + text).split("\n")
        for line in lines:
            above.write(line.removesuffix("\r"))
        return len(text)

    @contextmanager
    def above(self, lines: AboveProgress) -> Iterator[None]:
        """Lines go to ``lines`` (entered here) within; enter this before the progress
        display starts, so that what is left is written after that display is gone."""
        self.stream.flush()
        try:
            with lines:
                self._above = lines
                try:
                    yield
                finally:
                    self._above = None
        finally:
            if self._partial:
                self.stream.write(self._partial)  # (still unfinished: kept)

    def flush(self) -> None:
        self.stream.flush()

    def detach(self) -> Any:
        return self.stream.detach()

    def close(self) -> None:
        self.stream.close()


def stdout_lines() -> GuardedOutput:
    """stdout for lines already escaped (verify's listing, see :class:`GuardedOutput`); on a
    terminal, through a :class:`LineRoute`."""
    route = LineRoute(sys.stdout) if stdout_is_terminal() else None
    out = GuardedOutput(route or sys.stdout, "-")  # type: ignore[arg-type]
    out.route = route
    return out


def lines_above(progress: ProgressLine | None, outputs: Sequence[GuardedOutput]) -> AbstractContextManager[Any]:
    """Within: the lines of the output of ``outputs`` that goes to stdout on a terminal are
    printed above the progress line (:class:`AboveProgress`), where that terminal shows it
    (see :func:`evidence_cli.console.same_terminal`). Enter it before ``progress``."""
    shown = next((o for o in outputs if o.route is not None), None)
    if progress is None or shown is None or shown.route is None or not same_terminal(sys.stdout, sys.stderr):
        return nullcontext()
    above = AboveProgress(progress.console, shown)
    progress.before_stop(above.stop_printing)
    return shown.route.above(above)


class ProgressLine(Progress):
    """rich's progress display, which runs given actions as it stops, before its line goes."""

    def __init__(self, *columns: Any, **options: Any) -> None:
        super().__init__(*columns, **options)
        self._before_stop: list[Callable[[], None]] = []

    def before_stop(self, action: Callable[[], None]) -> None:
        self._before_stop.append(action)

    def stop(self) -> None:
        actions, self._before_stop = self._before_stop, []
        for action in actions:
            action()
        super().stop()


class Advance:
    """A task of a progress display (``description``), told of each entry done and of its
    path at most every ``every`` seconds. rich's ``update`` takes a lock and keeps a speed
    sample at each call, and the path must be escaped for it: about 8 µs an entry, 0.4 s
    of CPU in the main process of a scan of 50,000 small files, beside its workers on the
    same cores. The display is redrawn ten times a second from the task, so it shows the
    same. :meth:`flush` tells it the entries still untold (at the end of the run, before
    the display stops)."""

    def __init__(
        self, progress: Progress, description: str, every: float = 0.05, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._progress = progress
        self._task = progress.add_task(description, total=None, path="")
        self._every = every
        self._clock = clock
        self._untold = 0
        self._last = ""
        self._due = clock()  # the first entry is told at once

    def __call__(self, path: str) -> None:
        """One more entry done, ``path`` its path (raw: escaped here when it is shown)."""
        self._untold += 1
        self._last = path
        now = self._clock()
        if now >= self._due:
            self._due = now + self._every
            self.flush()

    def flush(self) -> None:
        if self._untold:
            untold, self._untold = self._untold, 0
            self._progress.update(self._task, advance=untold, path=safe_text(self._last)[-60:])


def list_output_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``-o/--output`` (default stdout), ``--allow-unsealed``, ``--csv-raw`` and ``--csv-bom``:
    the options of a command that writes a list from a manifest (export, timeline)."""
    for opt in reversed(
        [
            click.option(
                "-o",
                "--output",
                metavar="PATH",
                default="-",
                show_default=True,
                callback=not_empty,
                help="Write here ('-': stdout).",
            ),
            click.option("--allow-unsealed", is_flag=True, help="Accept a JSON manifest that has no seal."),
            click.option(
                "--csv-raw", is_flag=True, help="Do not neutralise CSV cells that start with = + - @ tab or CR."
            ),
            csv_bom_option,
        ]
    ):
        f = opt(f)
    return f


def say(console: Any, text: str, style: str = "") -> None:
    """One line on a console, never wrapped (digests and paths stay whole)."""
    console.print(Text(text, style=style), soft_wrap=True)


def manifest_for_output(
    manifest_path: str,
    output: str,
    *,
    allow_unsealed: bool,
    overwrite: bool,
    algorithm: str | None = None,
    check: Callable[[Manifest], object] | None = None,
) -> Manifest:
    """The trusted manifest a command writes a file from (export, timeline, report).

    Refused first, before anything is read: stdout closed, an output that is the manifest
    itself or exists already (without ``--overwrite``). Then the manifest is read and its
    seal checked, ``check`` (which raises :class:`EvidenceError` or :class:`Failure`) is
    run, and an output inside the evidence it describes is refused.
    """
    if output == "-":
        refuse_closed_stdout()
    check_outputs_distinct([output], [manifest_path])
    check_outputs_new([output], overwrite=overwrite)
    try:
        manifest = read_manifest(manifest_path, algorithm=algorithm)
        require_trusted(manifest, allow_unsealed=allow_unsealed)
        if check is not None:
            check(manifest)
    except EvidenceError as exc:
        raise Failure(str(exc)) from None
    if manifest.base is not None:
        check_outputs_outside([output], Roots(base=manifest.base, roots=(manifest.base,)))
    return manifest


def needs_records(lacking: str) -> Callable[[Manifest], None]:
    """A ``check`` for :func:`manifest_for_output`: the manifest must be a scan's JSON
    export (a hash list holds digests only; ``lacking`` says what the command misses)."""

    def check(manifest: Manifest) -> None:
        if not manifest.has_records:
            raise Failure(
                f"{safe_text(manifest.path)} is a {manifest.format} list: it holds digests, {lacking}. "
                "Give the JSON export of `evidence scan` (--json)."
            )

    return check


@contextmanager
def writing_from_manifest(output: str, refusals: tuple[type[Exception], ...] = ()) -> Iterator[BinaryIO]:
    """The binary stream (stdout or a new file) a command writes from a manifest.

    SIGTERM and SIGHUP stop it like Ctrl-C. A file cut short — a write error, an
    interruption, the manifest changed while read, a record of ``refusals`` — is removed:
    a list or a timeline cut short would look whole. stdout closed early (``| head``)
    ends quietly.
    """
    caught: tuple[type[BaseException], ...] = (OSError, KeyboardInterrupt, ManifestError, *refusals)
    try:
        with StopSignals(), ExitStack() as stack:
            yield open_binary_output(stack, output)
    except BrokenPipeError:
        # What is still buffered for stdout goes nowhere (Python 3.13 reports a failing
        # flush when the stream is finalised).
        drop_stdout()
        raise
    except caught as exc:
        if isinstance(exc, KeyboardInterrupt):
            why = "interrupted"
        elif isinstance(exc, OSError):
            why = exc.strerror or str(exc)
        else:
            why = str(exc)
        raise Failure(safe_text(f"cannot write {output!r}: {why}; {remove_partial(output)}")) from None


def remove_partial(path: str) -> str:
    """Remove the incomplete output this command created (a regular file); say what became of it."""
    if path == "-":
        return "what reached stdout is incomplete"
    try:
        if stat.S_ISREG(os.lstat(path).st_mode):
            os.unlink(path)
            return "the incomplete file was removed"
    except OSError as exc:
        return f"the incomplete file could not be removed ({exc.strerror}): do not use it"
    return "what was written there is incomplete"


def open_binary_output(stack: ExitStack, path: str) -> BinaryIO:
    if path == "-":
        buf = getattr(sys.stdout, "buffer", None)
        if buf is None:  # pragma: no cover - an embedding without a byte stdout
            raise Failure("stdout cannot take bytes here; use -o PATH")
        if stdout_is_terminal():
            # Names from the evidence, shown on a terminal: escaped (see TerminalText).
            shown = TerminalBytes(buf)
            stack.callback(shown.close)
            return shown  # type: ignore[return-value]
        stack.callback(buf.flush)
        return buf  # type: ignore[no-any-return]
    try:
        return stack.enter_context(open(path, "wb"))
    except OSError as exc:
        raise Failure(f"cannot write {path!r}: {exc.strerror}") from None


def stdout_is_terminal() -> bool:
    try:
        return os.isatty(sys.stdout.fileno())
    except (AttributeError, ValueError, OSError):  # no descriptor (a test runner's stream), closed
        return False


def drop_stdout(stream: Any = None) -> None:
    """Point stdout (or ``stream``) at the null device: what is still buffered for it cannot
    be written, and the interpreter would otherwise try again at exit ("Exception ignored
    ...", exit status 120)."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, (stream or sys.stdout).fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):  # no real stream (embedded): nothing to drop
        pass


def safe_path(b: bytes) -> str:
    """An OS path as text for headers (undecodable bytes as \\xNN)."""
    return b.decode("utf-8", "backslashreplace")


#: Seconds of reading the progress display's rate is measured over.
RATE_WINDOW_S = 5.0


class Totals:
    """What the whole run will come to, for the progress display: its entries and the bytes
    of its files; None while not known (see :class:`Tally`). A display total only: no
    export or report holds it."""

    def __init__(self, entries: int | None = None, size: int | None = None) -> None:
        self.size = size
        self.entries = entries  # (set last by a tally: once it is set, both are)


class Tally:
    """Counts, in a thread of its own, what a scan's walk will find (the same walk: the same
    entries, in a tree that does not change meanwhile) into ``totals``, so that the progress
    line can say how far the scan is and how long it may still take. ``skip`` leaves out
    what the scan leaves out (a resumed scan's entries already recorded).

    It gives up, leaving the totals unknown, on any error, and at a folder whose path is
    too long for a system call (``walk(shallow=True)``: the walks of this process share
    the way down to such folders, and two walks taking turns would undo each other's).
    :meth:`stop` (or the end of its context, which starts it) lets it go when the scan
    ends first; the thread is a daemon, and never holds the scan up."""

    def __init__(self, roots: Roots, totals: Totals, skip: Callable[[Entry], bool] | None = None) -> None:
        self._roots = roots
        self._totals = totals
        self._skip = skip
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="evidence-tally", daemon=True)

    def __enter__(self) -> Tally:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        entries = size = 0
        stopped, skip = self._stopped, self._skip
        try:
            for e in walk(self._roots, shallow=True):
                if stopped.is_set():
                    return
                if skip is not None and skip(e):
                    continue
                entries += 1
                if e.kind == "file" and e.stat is not None:
                    size += e.stat.st_size
        except Exception:  # noqa: BLE001 - the display goes without totals; the scan says what it meets
            return
        self._totals.size = size
        self._totals.entries = entries


def _fixed() -> Column:
    """How the progress line's columns give way on a narrow terminal: the counts keep their
    text (cut with an ellipsis only when nothing else is left to give), the bar shrinks
    first (to 4 cells), then the path (to 8)."""
    return Column(no_wrap=True, overflow="ellipsis")


def _recent_rate(samples: deque[tuple[float, int]], now: float, value: int) -> float | None:
    """How fast ``value`` grew over the last :data:`RATE_WINDOW_S` seconds, ``samples``
    keeping what it needs of the values before; None before half a second."""
    samples.append((now, value))
    while len(samples) > 2 and now - samples[1][0] >= RATE_WINDOW_S:
        samples.popleft()
    then, before = samples[0]
    return (value - before) / (now - then) if now - then >= 0.5 else None


class EntriesColumn(ProgressColumn):
    """The progress display's entries done, and of how many once the total is known."""

    def __init__(self, totals: Totals) -> None:
        super().__init__(table_column=_fixed())
        self._totals = totals

    def render(self, task: Any) -> Text:
        done, total = int(task.completed), self._totals.entries
        if total is None or done > total:
            return Text(counted(done, "entry", "entries"))
        return Text(f"{done} of {counted(total, 'entry', 'entries')}")


class ReadColumn(ProgressColumn):
    """The progress display's bytes read so far (the file being read included: see
    :mod:`evidence_cli.meter`), of how many once the total is known (``totals``), and the
    rate over the last :data:`RATE_WINDOW_S` seconds. ``read`` gives the count; rich calls
    :meth:`render` several times a second, from its refresh thread, even while no entry is
    finished. :attr:`left` is then the bytes still to read and :attr:`rate` that rate (for
    :class:`TimeLeftColumn`), each None when not known.

    A total the reading has passed (a file that grew, a tree that changed) is no longer
    shown: the line says only what it knows."""

    def __init__(
        self, read: Callable[[], int], clock: Callable[[], float] = time.monotonic, totals: Totals | None = None
    ) -> None:
        super().__init__(table_column=_fixed())
        self._read = read
        self.clock = clock
        self._totals = totals
        self._samples: deque[tuple[float, int]] = deque()
        self.left: int | None = None
        self.rate: float | None = None

    def render(self, task: Any) -> Text:
        now, done = self.clock(), self._read()
        self.rate = _recent_rate(self._samples, now, done)
        total = self._totals.size if self._totals is not None else None
        if total is not None and (done > total or total == 0):
            total = None
        self.left = None if total is None else total - done
        text = f"{human_size(done)} read" if total is None else f"{human_size(done)} of {human_size(total)}"
        if self.rate is not None:
            text += f", {human_size(int(self.rate))}/s"
        return Text(text)


def _duration(seconds: float) -> str:
    """A time left, as roughly as it can be known: ``40 s``, ``12 min``, ``3 h 05 min``."""
    s = int(seconds + 0.5)
    if s < 60:
        return f"{s} s"
    m = (s + 30) // 60
    if m < 60:
        return f"{m} min"
    return f"{m // 60} h {m % 60:02d} min"


class TimeLeftColumn(ProgressColumn):
    """The time left, once the totals are known: the bytes still to read at the rate of
    the last :data:`RATE_WINDOW_S` seconds (from ``read``, the line's :class:`ReadColumn`,
    drawn before it); once every byte is read, the entries still to do (small and empty
    files, links) at their own rate over the same time. Nothing before, while nothing
    moves (a pause is not a forecast), or under a second."""

    def __init__(self, read: ReadColumn, totals: Totals) -> None:
        super().__init__(table_column=_fixed())
        self._read = read
        self._totals = totals
        self._samples: deque[tuple[float, int]] = deque()

    def render(self, task: Any) -> Text:
        done = int(task.completed)
        per_entry = _recent_rate(self._samples, self._read.clock(), done)
        left, entries = self._read.left, self._totals.entries
        if left is None or entries is None or done > entries:
            return Text("")
        # Bytes while bytes remain, then entries: each at its own rate, while it moves.
        rate, still = (self._read.rate, left) if left > 0 else (per_entry, entries - done)
        seconds = still / rate if rate and rate > 0 else None
        if seconds is None or seconds < 1:
            return Text("")
        return Text(f"{_duration(seconds)} left")


class BytesBar(BarColumn):
    """A bar of the bytes read against their total (see :class:`ReadColumn`); it pulses
    while the total is not known, or no longer holds."""

    def __init__(self, read: Callable[[], int], totals: Totals, max_width: int | None = None) -> None:
        super().__init__(bar_width=None, table_column=Column(min_width=4, max_width=max_width))
        self._read = read
        self._totals = totals

    def render(self, task: Any) -> ProgressBar:
        done, total = self._read(), self._totals.size
        known = total is not None and 0 < total and done <= total
        return ProgressBar(
            total=total if known else None,
            completed=done if known else 0,
            width=None,
            pulse=not known,
            animation_time=task.get_time(),
            style=self.style,
            complete_style=self.complete_style,
            finished_style=self.finished_style,
            pulse_style=self.pulse_style,
        )


class PathColumn(ProgressColumn):
    """The progress display's path: of the entry being read when the scan knows it
    (``reading``: a large file, which travels alone; see meter.ReadMeter.reading), else
    of the last entry done (the task's ``path`` field, escaped by the caller). Plain
    text, never markup: rich's ``TextColumn`` parses its text as markup by default
    whatever the console says, and a file named ``[link=...]x[/link]`` made a terminal
    hyperlink. Never folded onto a second line: cut with an ellipsis where room is short."""

    def __init__(self, reading: Callable[[], bytes | None]) -> None:
        super().__init__(table_column=Column(min_width=8))
        self._reading = reading

    def render(self, task: Any) -> Text:
        rel = self._reading()
        shown = str(task.fields.get("path", "")) if rel is None else safe_text(display_path(rel)[0])[-60:]
        return Text(shown, no_wrap=True, overflow="ellipsis")


def progress_columns(
    read: Callable[[], int], reading: Callable[[], bytes | None], totals: Totals, bar_width: int
) -> list[ProgressColumn]:
    """The progress line of `scan` and `verify`: spinner, entries, bytes read and their rate,
    a bar of the bytes (at most ``bar_width`` cells), time elapsed, time left, path."""
    counted = ReadColumn(read, totals=totals)
    return [
        SpinnerColumn(),
        EntriesColumn(totals),
        counted,
        BytesBar(read, totals, max_width=bar_width),
        TimeElapsedColumn(table_column=_fixed()),
        TimeLeftColumn(counted, totals),
        PathColumn(reading),
    ]


class AboveProgress:
    """Lines of stdout's listing (``out``), printed above the progress line where stdout is
    the terminal that shows it (see :func:`evidence_cli.console.same_terminal`): written to
    stdout, a line was glued to the end of the progress line's text. Each print redraws
    that line (about 0.7 ms), so the lines written are gathered and printed every ``every``
    seconds by a thread of the context (a line is never held back while the run waits on
    a large file), and what is left as the context ends. Lines are plain text, never
    markup. A print that fails is ``out``'s failure (:class:`OutputFailed` naming stdout),
    raised by the next :meth:`write` or by the context's end; what follows is dropped."""

    def __init__(self, console: Any, out: GuardedOutput, every: float = 0.1) -> None:
        self._console = console
        self._out = out
        self._every = every
        self._lock = threading.Lock()
        self._lines: list[str] = []
        self._failure: Exception | None = None  # (OutputFailed, BrokenPipeError) met by the thread
        self._ended = threading.Event()
        self._thread = threading.Thread(target=self._run, name="evidence-listing", daemon=True)

    def write(self, line: str) -> None:
        """One line, without its newline."""
        with self._lock:
            self._lines.append(line)
        self._raise_failure()

    def _raise_failure(self) -> None:
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure

    def _print(self) -> None:
        with self._lock:
            lines, self._lines = self._lines, []
        out = self._out
        if lines and out.failed is None and not out.broken:
            text = Text("\n".join(lines))
            out._call(lambda: self._console.print(text, soft_wrap=True))

    def _run(self) -> None:
        while not self._ended.wait(self._every):
            try:
                self._print()
            except (OutputFailed, OSError) as exc:  # for the run's thread to raise
                self._failure = exc
                return

    def __enter__(self) -> AboveProgress:
        self._thread.start()
        return self

    def stop_printing(self) -> None:
        """End the thread that prints (its last print done). Done before the progress
        display stops (:class:`ProgressLine`): each print draws the progress line again
        under the lines, and a print that rich wrote after the display had erased its line
        (the two threads write in turn) left that line on the screen for good, with the
        next output glued to its end (seen on a loaded machine)."""
        self._ended.set()
        if self._thread.is_alive():
            self._thread.join()

    def __exit__(self, *exc: object) -> None:
        self.stop_printing()
        self._raise_failure()
        self._print()
