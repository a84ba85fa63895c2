"""Read one large JSON object piece by piece, so that memory does not grow with it.

A scan manifest is one JSON object whose ``files`` list holds a record for every file: a
million records is about a gigabyte of text, and several gigabytes as Python objects.
:class:`ObjectReader` reads the object's members one at a time from text that arrives in
chunks, and a list member item by item; each value is parsed by :mod:`json`'s own
decoder (``raw_decode``), so values are exactly what :func:`json.loads` gives. Only the
text not yet parsed is kept, plus the value being parsed.

Errors carry the line and column in the whole text, with :mod:`json`'s own messages.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Callable, Iterator

#: When parsed text is dropped from the buffer (characters already parsed).
_KEEP = 1 << 20
#: A value that ends this close to the end of the text read so far may be cut short (a
#: number, ``tru``): read more before trusting it. Also the reach of an error that the
#: end of the text can cause (the longest is an ``\\uXXXX`` escape cut short).
_MARGIN = 64
_WS = re.compile(r"[ \t\n\r]*")


def _names_trailing_comma() -> bool:
    """Does this Python's json say "Illegal trailing comma" (3.13 and later), where earlier
    ones expect a value or a property name? Errors here are worded as :mod:`json` words them."""
    try:
        json.loads("[1,]")
    except json.JSONDecodeError as exc:
        return exc.msg.startswith("Illegal trailing comma")
    return False


_NAMES_TRAILING_COMMA = _names_trailing_comma()


class JsonStreamError(ValueError):
    """The text is not valid JSON (``msg``, ``lineno``, ``colno`` as in JSONDecodeError)."""

    def __init__(self, msg: str, lineno: int, colno: int) -> None:
        super().__init__(f"{msg}: line {lineno} column {colno}")
        self.msg = msg
        self.lineno = lineno
        self.colno = colno


class NotPortable(ValueError):
    """A number no JSON reader agrees on: ``NaN``, ``Infinity``, or one beyond a double's range.

    Python's reader accepts them (as nan and inf); no evidence-cli output holds them, and
    the seal's canonical form and the JSON writers refuse them.
    """


def finite_float(text: str) -> float:
    """``parse_float`` for :mod:`json` that refuses a number beyond a double's range."""
    value = float(text)
    if math.isinf(value):
        raise NotPortable(f"the number {text[:40]!r} is too large to be read as a number")
    return value


def no_constant(name: str) -> float:
    """``parse_constant`` for :mod:`json`: ``NaN``, ``Infinity`` and ``-Infinity`` are not JSON."""
    raise NotPortable(f"{name} is not JSON")


def strict_loads(text: str | bytes) -> Any:
    """:func:`json.loads` that refuses what is not portable JSON (:class:`NotPortable`)."""
    return json.loads(text, parse_float=finite_float, parse_constant=no_constant)


class ObjectReader:
    """The members of one JSON object, read from text given in pieces.

    Usage::

        r = ObjectReader(texts)
        while (key := r.next_key()) is not None:
            if key == "files" and r.peek() == "[":
                for item in r.items(): ...
            else:
                value = r.value()
        r.finish()  # nothing but whitespace may follow the object

    Args:
        texts: the text, in pieces of any size (empty pieces are skipped).
        object_pairs_hook, parse_float, parse_constant: as for :func:`json.loads` (for
            example to refuse repeated keys, or numbers no JSON reader agrees on).
        max_value: the most characters one value (a member's, an item's) may take; a
            longer one is a :class:`JsonStreamError` once that much is held, so a hostile
            file cannot make the reader hold all of itself. None: no limit.
    """

    def __init__(
        self,
        texts: Iterator[str],
        *,
        object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None,
        parse_float: Callable[[str], Any] | None = None,
        parse_constant: Callable[[str], Any] | None = None,
        max_value: int | None = None,
    ) -> None:
        self._texts = texts
        self._max_value = max_value
        self._decode = json.JSONDecoder(
            object_pairs_hook=object_pairs_hook, parse_float=parse_float, parse_constant=parse_constant
        ).raw_decode
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._lines = 0
        """Line breaks in the text dropped from the buffer."""
        self._col = 0
        """Characters dropped since the last line break (the column of the buffer's start)."""
        self._state = "start"

    # --- the object ---------------------------------------------------------------------

    def next_key(self) -> str | None:
        """The next member's key (its ``:`` consumed), or None after the closing ``}``."""
        if self._state == "start":
            if self.peek() != "{":
                raise self._error("Expecting value", self._pos)
            self._pos += 1
            if self.peek() == "}":
                self._pos += 1
                self._state = "done"
                return None
        elif self._state == "member":
            c = self.peek()
            if c == "}":
                self._pos += 1
                self._state = "done"
                return None
            if c != ",":
                raise self._error("Expecting ',' delimiter", self._pos)
            comma = self._pos
            self._pos += 1
            if _NAMES_TRAILING_COMMA and self.peek() == "}":
                raise self._error("Illegal trailing comma before end of object", comma)
        else:
            raise ValueError("the object is already read")
        self._compact()
        if self.peek() != '"':
            raise self._error("Expecting property name enclosed in double quotes", self._pos)
        key = self.value()
        if self.peek() != ":":
            raise self._error("Expecting ':' delimiter", self._pos)
        self._pos += 1
        self._state = "member"
        return key  # type: ignore[no-any-return]

    def finish(self) -> None:
        """Check that only whitespace follows the object (else ``Extra data``)."""
        if self._state != "done":
            raise ValueError("the object is not read to its end")
        if self.peek() != "":
            raise self._error("Extra data", self._pos)

    # --- values ---------------------------------------------------------------------------

    def peek(self) -> str:
        """The next character that is not whitespace ('' at the end of the text)."""
        while True:
            self._pos = _WS.match(self._buf, self._pos).end()  # type: ignore[union-attr]
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._more(1):
                return ""

    def value(self) -> Any:
        """Parse the next value whole."""
        self.peek()
        want = _KEEP
        while True:
            try:
                value, end = self._decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                cut_short = exc.pos >= len(self._buf) - _MARGIN or exc.msg.startswith("Unterminated string")
                if cut_short and self._within_limit() and self._more(want):
                    want *= 2  # so that a long value is parsed a bounded number of times
                    continue
                raise self._error(exc.msg, exc.pos) from None
            if end > len(self._buf) - _MARGIN and self._within_limit() and self._more(want):
                want *= 2
                continue
            self._pos = end
            return value

    def items(self) -> Iterator[Any]:
        """The items of the array that comes next, one at a time."""
        if self.peek() != "[":
            raise self._error("Expecting value", self._pos)
        self._pos += 1
        if self.peek() == "]":
            self._pos += 1
            return
        while True:
            yield self.value()
            c = self.peek()
            comma = self._pos
            self._pos += 1
            if c == "]":
                return
            if c != ",":
                raise self._error("Expecting ',' delimiter", self._pos - 1)
            if _NAMES_TRAILING_COMMA and self.peek() == "]":
                raise self._error("Illegal trailing comma before end of array", comma)
            self._compact()

    # --- the buffer -----------------------------------------------------------------------

    def _more(self, want: int) -> bool:
        """Append at least ``want`` characters of text (fewer at its end); False if none came."""
        got: list[str] = []
        n = 0
        while n < want and not self._eof:
            try:
                piece = next(self._texts)
            except StopIteration:
                self._eof = True
                break
            got.append(piece)
            n += len(piece)
        if not n:
            return False
        self._buf += "".join(got)
        return True

    def _within_limit(self) -> bool:
        """May more text be read for the value being parsed (see ``max_value``)?"""
        if self._max_value is not None and len(self._buf) - self._pos > self._max_value:
            raise self._error(f"A value longer than {self._max_value} characters", self._pos)
        return True

    def _compact(self) -> None:
        """Drop the text already parsed, once there is enough of it to be worth a copy."""
        if self._pos < _KEEP:
            return
        done = self._buf[: self._pos]
        last = done.rfind("\n")
        if last >= 0:
            self._lines += done.count("\n")
            self._col = len(done) - last - 1
        else:
            self._col += len(done)
        self._buf = self._buf[self._pos :]
        self._pos = 0

    def _error(self, msg: str, pos: int) -> JsonStreamError:
        line_start = self._buf.rfind("\n", 0, pos)
        lineno = self._lines + self._buf.count("\n", 0, pos) + 1
        colno = pos - line_start if line_start >= 0 else self._col + pos + 1
        return JsonStreamError(msg, lineno, colno)
