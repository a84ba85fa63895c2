"""Consoles and safe text: evidence strings never act on the terminal.

Every string that comes from evidence (file names, tag text, libmagic output quoting
file content) goes through :func:`safe_text` before display and is handed to rich as
a ``Text`` (never parsed as markup). Control characters, ANSI escapes, bidi
overrides and other invisible format characters are shown as visible escapes.
"""

from __future__ import annotations

import os
import re
import sys
import unicodedata
from typing import Any

from rich.console import Console
from rich.text import Text

# C0/C1 controls, DEL, and Unicode format characters (bidi overrides, zero-width, BOM ...).
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\x1b"}


def _escape(m: re.Match[str]) -> str:
    c = m.group(0)
    if c in _NAMED:
        return _NAMED[c]
    o = ord(c)
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}"


def safe_text(value: object) -> str:
    """Text with every control/format character replaced by a visible escape."""
    s = value if isinstance(value, str) else str(value)
    s = _UNSAFE.sub(_escape, s)
    # Remaining "Cf"/"Cc"/"Co"/"Cs"/"Cn" categories not covered above (rare): escape too.
    if any(unicodedata.category(c) in ("Cf", "Cc", "Cs") for c in s):
        s = "".join(c if unicodedata.category(c) not in ("Cf", "Cc", "Cs") else f"\\u{ord(c):04x}" for c in s)
    return s


def evidence_text(value: object, style: str | None = None) -> Text:
    """A rich Text of an evidence string: escaped, never interpreted as markup."""
    return Text(safe_text(value), style=style or "")


def make_consoles(width: int | None = None) -> tuple[Console, Console]:
    """(stdout console for data, stderr console for progress/summary/warnings)."""
    common = {"highlight": False, "markup": False, "emoji": False, "width": width}
    out = Console(file=sys.stdout, **common)  # type: ignore[arg-type]
    err = Console(file=sys.stderr, stderr=True, **common)  # type: ignore[arg-type]
    return out, err


def same_terminal(a: Any, b: Any) -> bool:
    """Do two streams write to one terminal (stdout and stderr both on it)? What one
    writes then lands in the middle of the other's progress line."""
    try:
        fa, fb = a.fileno(), b.fileno()
        return os.isatty(fa) and os.isatty(fb) and os.path.samestat(os.fstat(fa), os.fstat(fb))
    except (AttributeError, ValueError, OSError):  # (io.UnsupportedOperation is both)
        return False
