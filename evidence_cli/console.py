"""Consoles and safe text: evidence strings never act on the terminal.

Every string that comes from evidence (file names, tag text, libmagic output quoting
file content) goes through :func:`safe_text` before display and is handed to rich as
a ``Text`` (never parsed as markup). Control characters, ANSI escapes, bidi
overrides and other invisible format characters are shown as visible escapes.
"""

from __future__ import annotations

import codecs
import io
import os
import re
import sys
import unicodedata
from typing import Any

from rich.console import Console
from rich.text import Text

#: DEL, C1 controls and Unicode format characters (bidi overrides, zero-width, BOM, tags
#: ...), line and paragraph separators, lone surrogates: every "Cf", "Cc" and "Cs"
#: character of Unicode 15 (a test checks this against the running Python) but C0.
_INVISIBLE = (
    "\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    "\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
# C0/C1 controls, DEL, and Unicode format characters (bidi overrides, zero-width, BOM ...).
_UNSAFE = re.compile("[\x00-\x1f" + _INVISIBLE + "]")
#: The same in data printed on a terminal, but for its own layout: line feed, tab, and a
#: carriage return that ends a line (CSV's CRLF). See :class:`TerminalText`.
_TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f" + _INVISIBLE + "]|\r(?!\n)")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\x1b"}


def _escape(m: re.Match[str]) -> str:
    c = m.group(0)
    if c in _NAMED:
        return _NAMED[c]
    return _code(ord(c))


def _code(o: int) -> str:
    """``\\xNN``, ``\\uNNNN`` or ``\\UNNNNNNNN``: never one that reads as another (``\\ue0001``)."""
    if o < 0x100:
        return f"\\x{o:02x}"
    return f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}"


def _json_escape(m: re.Match[str]) -> str:
    """A JSON escape of the same character: the text stays valid JSON with the same value
    (a character outside the BMP, as JSON writes it, a surrogate pair)."""
    o = ord(m.group(0))
    if o < 0x10000:
        return f"\\u{o:04x}"
    o -= 0x10000
    return f"\\u{0xD800 + (o >> 10):04x}\\u{0xDC00 + (o & 0x3FF):04x}"


def safe_text(value: object) -> str:
    """Text with every control/format character replaced by a visible escape."""
    s = value if isinstance(value, str) else str(value)
    s = _UNSAFE.sub(_escape, s)
    # Remaining "Cf"/"Cc"/"Co"/"Cs"/"Cn" categories not covered above (rare): escape too.
    if any(unicodedata.category(c) in ("Cf", "Cc", "Cs") for c in s):
        s = "".join(c if unicodedata.category(c) not in ("Cf", "Cc", "Cs") else _code(ord(c)) for c in s)
    return s


def counted(n: int, one: str, many: str | None = None) -> str:
    """``"1 entry"``, ``"2 entries"``: a count and its noun in the right number
    (``many`` defaults to ``one`` + ``s``). Summaries end up quoted in reports."""
    return f"{n} {one if n == 1 else (many if many is not None else one + 's')}"


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


def terminal_text(text: str, *, json: bool = False) -> str:
    """Data printed on a terminal (records, lists, reports on stdout), its control and
    invisible characters escaped (see :class:`TerminalText`); ``json``: as JSON escapes."""
    return _TERMINAL_UNSAFE.sub(_json_escape if json else _escape, text)


class TerminalText:
    """A text stream of data on a terminal: evidence strings in it (file names, tag text)
    can hold escape sequences that recolour, retitle, move the cursor over what was shown,
    or write the clipboard; carriage returns that overwrite a line; bidi overrides that
    reorder it. They are written as visible escapes (``\\x1b``, ``\\u202e``); with ``json``,
    as JSON escapes, so that the text is still valid JSON of the same values. Line feeds,
    tabs and a CR ending a line are the data's own layout and are kept. Redirected to a
    file or a pipe, data is written exactly: this is for a terminal only.

    A CR that ends one write is held until the next shows whether a line feed follows it."""

    def __init__(self, stream: Any, *, json: bool = False) -> None:
        self.stream = stream
        self._json = json
        self._cr = False

    def write(self, text: str) -> int:
        size = len(text)
        if self._cr:
            text, self._cr = "\r" + text, False
        if text.endswith("\r"):
            text, self._cr = text[:-1], True
        self.stream.write(terminal_text(text, json=self._json))
        return size

    def _release(self) -> None:
        if self._cr:
            self._cr = False
            self.stream.write(terminal_text("\r", json=self._json))

    def flush(self) -> None:
        self.stream.flush()

    def detach(self) -> Any:
        self._release()
        return self.stream.detach()

    def close(self) -> None:
        self._release()
        self.stream.close()


class TerminalBytes(io.RawIOBase):
    """The same for a byte stream (``evidence export`` to a terminal): the bytes are shown as
    UTF-8, what is not UTF-8 as ``\\xNN``."""

    def __init__(self, buf: Any) -> None:
        super().__init__()
        self._buf = buf
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="backslashreplace")
        shown = io.TextIOWrapper(buf, encoding="utf-8", errors="backslashreplace", newline="", write_through=True)
        self._text = TerminalText(shown)

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        data = bytes(b)
        self._text.write(self._decoder.decode(data))
        return len(data)

    def flush(self) -> None:
        self._buf.flush()

    def close(self) -> None:
        if not self.closed:
            self._text.write(self._decoder.decode(b"", final=True))
            self._text.detach()  # (flushed; the byte stream itself stays open)
        super().close()
