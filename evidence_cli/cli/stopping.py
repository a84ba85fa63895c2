"""How ``scan`` and ``verify`` stop on Ctrl-C (SIGINT), SIGTERM and SIGHUP: between two
entries, never in the middle of writing one to the exports or reports, so that what an
interrupted run leaves behind is valid (and says it is partial)."""

from __future__ import annotations

import signal
import sys
from typing import Any

#: The signals that stop a run. SIGHUP is the terminal going away (an SSH connection
#: dropped, the window closed): by default it killed the scan on the spot, leaving a JSON
#: manifest cut in the middle of a record (unreadable, unsealed) and the workers behind.
#: ``nohup`` starts a command with SIGHUP ignored, and it stays ignored (see __enter__).
STOP_SIGNALS: tuple[int, ...] = tuple(
    s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None
)


class StopSignals:
    """SIGINT (Ctrl-C), SIGTERM and SIGHUP stop the run as KeyboardInterrupt — but never while an
    entry is being added to the summary and the exports or reports (``with
    stops.held():``): a signal that arrives then is acted on right after, so a partial
    run's outputs all hold the same entries. Only the first signal stops the run; later
    ones, while it stops (and, with ``ignore_after_stop``, until the process exits),
    change nothing. A signal already ignored when the run begins is left ignored. A flag
    read by the handler, not a signal mask: no system call per entry.
    """

    def __init__(self, ignore_after_stop: bool = False) -> None:
        self.holding = False
        self.pending = False
        self.stopping = False
        #: After a stop, leave the signals ignored instead of restoring the previous
        #: handlers: the command is about to print its summary and exit.
        self.ignore_after_stop = ignore_after_stop

    def _handler(self, signum: int, frame: Any) -> None:
        # Once the scan is stopping, a second Ctrl-C must not cut the stop short: it
        # terminates the workers and unblocks the pool (engine._stop_pool), then closes
        # the exports; cut in the middle, it left workers running on, or the interpreter
        # waiting at exit for a pool thread that never ends.
        if self.holding or self.stopping:
            self.pending = True
        else:
            self.stopping = True
            raise KeyboardInterrupt()

    def __enter__(self) -> StopSignals:
        self.previous: dict[int, Any] = {}
        for sig in STOP_SIGNALS:
            try:
                # A signal ignored when the scan began stays ignored (Unix practice, and
                # what Python does for SIGINT): a shell starts a script's background job
                # with SIGINT ignored, so a Ctrl-C meant for the script does not stop it.
                if signal.getsignal(sig) == signal.SIG_IGN:
                    continue
                self.previous[sig] = signal.signal(sig, self._handler)
            except ValueError:  # not the main thread (embedded use): leave signals alone
                break
        self.previous_unraisable = sys.unraisablehook
        sys.unraisablehook = self._unraisable
        return self

    def _unraisable(self, unraisable: Any) -> None:
        # The handler's KeyboardInterrupt can be raised inside a finaliser (a weakref
        # callback of logging, a __del__), where Python drops it with "Exception ignored
        # in ..." and a traceback on stderr. The stop is not lost (the next record ends
        # the scan, see Held) and is not worth a traceback on the examiner's terminal.
        if isinstance(unraisable.exc_value, KeyboardInterrupt) and self.stopping:
            return
        self.previous_unraisable(unraisable)

    def __exit__(self, *exc: object) -> None:
        sys.unraisablehook = self.previous_unraisable
        for sig, previous in self.previous.items():
            signal.signal(sig, signal.SIG_IGN if self.stopping and self.ignore_after_stop else previous)

    def held(self) -> Held:
        return Held(self)


class Held:
    def __init__(self, stops: StopSignals) -> None:
        self.stops = stops

    def __enter__(self) -> None:
        self.stops.holding = True

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        self.stops.holding = False
        # A signal came while the record was written; or the stop raised before was
        # dropped by Python (raised inside a finaliser: see StopSignals._unraisable) and
        # the scan went on to this record. Either way, stop now.
        if exc_type is None and (self.stops.pending or self.stops.stopping):
            self.stops.pending = False
            self.stops.stopping = True
            raise KeyboardInterrupt()
