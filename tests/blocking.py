"""A guard for tests of things that must never block (FIFOs, special files, hangs)."""

from __future__ import annotations

import threading
from typing import Any, Callable


def run_with_timeout(fn: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Run fn in a daemon thread; fail (instead of hanging the suite) if it blocks."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), f"blocked for more than {timeout:g} s"
    if "error" in box:
        raise box["error"]
    return box.get("value")
