"""A bounded CBOR decoder (RFC 8949), for the C2PA manifests in evidence.

C2PA claims, assertions and signatures are CBOR. Decoding one from a hostile file
must not recurse without bound, allocate what a length field claims before the bytes
are there, or take long: every container is limited in depth and every item counted,
and a length is checked against the bytes left before anything is built from it.

Values map to Python: unsigned and negative integers to ``int``, byte strings to
``bytes``, text to ``str`` (invalid UTF-8 is an error, as the RFC says), arrays to
``list``, maps to ``dict`` (a key that cannot be a dict key, an array or a map, is kept
as its ``repr``), ``false``/``true``/``null`` to ``False``/``True``/``None``,
``undefined`` and other simple values to :class:`Simple`, floats to ``float``; a tag
to :class:`Tagged` (its number and value; C2PA uses tag 18, COSE_Sign1).
"""

from __future__ import annotations

import struct
from typing import Any, NamedTuple

#: Deepest nesting of arrays, maps and tags.
MAX_DEPTH = 32
#: Most data items decoded from one input (every array element and map key counts).
MAX_ITEMS = 100_000


class CborError(ValueError):
    """The input is not well-formed CBOR, or passes a limit."""


class Tagged(NamedTuple):
    tag: int
    value: Any


class Simple(NamedTuple):
    value: int


_HALF = struct.Struct(">e")
_SINGLE = struct.Struct(">f")
_DOUBLE = struct.Struct(">d")
_BREAK = object()


def loads(data: bytes, *, max_depth: int = MAX_DEPTH, max_items: int = MAX_ITEMS) -> Any:
    """The one data item ``data`` holds. Raises :class:`CborError` on anything else
    (damage, trailing bytes, a limit passed)."""
    decoder = _Decoder(bytes(data), max_depth, max_items)
    value = decoder.item(0)
    if value is _BREAK:
        raise CborError("a break code outside an indefinite-length item")
    if decoder.pos != len(decoder.data):
        raise CborError(f"{len(decoder.data) - decoder.pos} bytes after the data item")
    return value


class _Decoder:
    def __init__(self, data: bytes, max_depth: int, max_items: int) -> None:
        self.data = data
        self.pos = 0
        self.max_depth = max_depth
        self.items_left = max_items

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if n < 0 or end > len(self.data):
            raise CborError(f"{n} bytes wanted at offset {self.pos}, {len(self.data) - self.pos} left")
        out = self.data[self.pos : end]
        self.pos = end
        return out

    def argument(self, info: int) -> int | None:
        """The head's argument; None for an indefinite length (info 31)."""
        if info < 24:
            return info
        if info == 24:
            return self.take(1)[0]
        if info == 25:
            return int.from_bytes(self.take(2), "big")
        if info == 26:
            return int.from_bytes(self.take(4), "big")
        if info == 27:
            return int.from_bytes(self.take(8), "big")
        if info == 31:
            return None
        raise CborError(f"reserved additional information {info} at offset {self.pos - 1}")

    def item(self, depth: int) -> Any:
        if depth > self.max_depth:
            raise CborError(f"nested deeper than {self.max_depth} levels")
        self.items_left -= 1
        if self.items_left < 0:
            raise CborError("more data items than this reader takes")
        initial = self.take(1)[0]
        major, info = initial >> 5, initial & 0x1F
        if major == 7:
            return self.simple(info)
        arg = self.argument(info)
        if major == 0:
            return self.definite(arg)
        if major == 1:
            return -1 - self.definite(arg)
        if major in (2, 3):
            raw = self.string(major, arg)
            if major == 2:
                return raw
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                raise CborError(f"text string with invalid UTF-8 before offset {self.pos}") from None
        if major == 4:
            return self.array(arg, depth)
        if major == 5:
            return self.map(arg, depth)
        # major 6: a tag and the item it applies to
        return Tagged(self.definite(arg), self.value(depth + 1))

    def value(self, depth: int) -> Any:
        """An item that must not be a break code."""
        v = self.item(depth)
        if v is _BREAK:
            raise CborError(f"unexpected break code at offset {self.pos - 1}")
        return v

    @staticmethod
    def definite(arg: int | None) -> int:
        if arg is None:
            raise CborError("indefinite length where a number belongs")
        return arg

    def string(self, major: int, arg: int | None) -> bytes:
        if arg is not None:
            return self.take(arg)
        chunks: list[bytes] = []
        while True:
            self.items_left -= 1
            if self.items_left < 0:
                raise CborError("more data items than this reader takes")
            head = self.take(1)[0]
            if head == 0xFF:
                return b"".join(chunks)
            if head >> 5 != major:
                raise CborError("a chunk of another type inside an indefinite-length string")
            size = self.argument(head & 0x1F)
            if size is None:
                raise CborError("an indefinite-length chunk inside an indefinite-length string")
            chunks.append(self.take(size))

    def array(self, arg: int | None, depth: int) -> list[Any]:
        out: list[Any] = []
        if arg is None:
            while (v := self.item(depth + 1)) is not _BREAK:
                out.append(v)
            return out
        if arg > len(self.data) - self.pos:  # each element takes at least one byte
            raise CborError(f"array of {arg} items in {len(self.data) - self.pos} bytes")
        for _ in range(arg):
            out.append(self.value(depth + 1))
        return out

    def map(self, arg: int | None, depth: int) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        if arg is None:
            while (k := self.item(depth + 1)) is not _BREAK:
                out[_key(k)] = self.value(depth + 1)
            return out
        if 2 * arg > len(self.data) - self.pos:
            raise CborError(f"map of {arg} pairs in {len(self.data) - self.pos} bytes")
        for _ in range(arg):
            k = self.value(depth + 1)
            out[_key(k)] = self.value(depth + 1)
        return out

    def simple(self, info: int) -> Any:
        if info == 20:
            return False
        if info == 21:
            return True
        if info == 22:
            return None
        if info == 23:
            return Simple(23)  # undefined
        if info < 20:
            return Simple(info)
        if info == 24:
            value = self.take(1)[0]
            if value < 32:
                raise CborError(f"simple value {value} in two bytes")
            return Simple(value)
        if info == 25:
            return float(_HALF.unpack(self.take(2))[0])
        if info == 26:
            return float(_SINGLE.unpack(self.take(4))[0])
        if info == 27:
            return float(_DOUBLE.unpack(self.take(8))[0])
        if info == 31:
            return _BREAK
        raise CborError(f"reserved additional information {info} in a simple value")


def _key(k: Any) -> Any:
    """A map key usable in a dict: arrays and maps (allowed by CBOR) become their repr."""
    try:
        hash(k)
    except TypeError:
        return repr(k)
    return k
