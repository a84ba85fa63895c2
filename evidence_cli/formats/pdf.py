"""A bounded, read-only reader of PDF structure: objects, cross-references, trailers.

It reads just enough of a PDF to find its document information (``/Info``), its catalog
(``/Root``: ``/Metadata``, ``/Pages``), its encryption dictionary and how many times it
was saved (incremental updates). It never renders, never runs anything and never trusts
a number from the file without a cap:

* bytes read from a file not held in memory (:data:`MAX_READ_TOTAL`), one object's text
  (:data:`MAX_OBJECT_BYTES`), one stream's encoded and decoded size, all decoding together;
* nesting of arrays/dictionaries (:data:`MAX_DEPTH`), items per container, cross-reference
  sections and entries, object streams decoded;
* ``/Prev`` chains are followed with loop protection; reference chains are bounded.

Damage never raises out of :class:`PdfDocument`: what went wrong is collected in
``notes`` (text for the caller's problems) and the reader falls back to scanning the
bytes for ``N G obj`` headers and ``trailer`` dictionaries when the cross-reference is
broken. Only "this is not a PDF at all" raises :class:`NotPdf`.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import re
import zlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Iterator, NamedTuple

from evidence_cli.formats import pdfcrypt

#: Bytes we may read from a file that is not in memory, in total.
MAX_READ_TOTAL = 96 * 1024 * 1024
#: First window read to parse one object; grown x4 up to MAX_OBJECT_BYTES when needed.
WINDOW = 64 * 1024
MAX_OBJECT_BYTES = 8 * 1024 * 1024
#: Largest stream (encoded) we read, and largest decoded output of one stream.
MAX_STREAM = 32 * 1024 * 1024
MAX_DECODED = 16 * 1024 * 1024
#: All stream decoding of one document together.
MAX_DECODE_TOTAL = 128 * 1024 * 1024
MAX_DEPTH = 48
MAX_ITEMS = 100_000
MAX_XREF_SECTIONS = 512
#: Subsections (table) or /Index ranges (stream) kept undecoded in one section.
MAX_LAZY_BLOCKS = 4096
MAX_XREF_ENTRIES = 2_000_000
MAX_OBJSTMS = 256
MAX_OBJSTM_OBJECTS = 200_000
MAX_FILTERS = 8
MAX_REF_CHAIN = 16
#: Windows scanned at each end of a file that is not in memory (fallback, %%EOF count).
SCAN_WINDOW = 16 * 1024 * 1024
#: Where ``startxref`` is looked for: the last bytes of the file.
TAIL = 64 * 1024
#: ``%PDF-`` may be preceded by junk; readers look for it in the first KiB.
HEADER_SEARCH = 1024
MAX_NOTES = 50
#: Trailers / cross-reference streams looked at when scanning a broken file (the newest).
MAX_SCANNED_TRAILERS = 64
#: Characters (escapes, parentheses, line ends) one literal string may make us step through.
MAX_STRING_STEPS = 200_000
#: Bytes of predictor rows that need a Python step per byte (PNG Sub/Average/Paeth, TIFF).
MAX_PREDICTOR_BYTEWISE = 2 * 1024 * 1024

WS = b"\x00\t\n\x0c\r "
DELIMS = b"()<>[]{}/%"
_WS_OR_COMMENT = re.compile(rb"(?:[\x00\t\n\x0c\r ]+|%[^\r\n]*)*")
_NUMBER = re.compile(rb"[+\-]*(?:\d+\.?\d*|\.\d+)")
_W = rb"[\x00\t\n\x0c\r ]"  # one whitespace byte
_END = rb"(?=[\x00\t\n\x0c\r ()<>\[\]{}/%]|\Z)"  # end of a token
_REGULAR = re.compile(rb"[^\x00\t\n\x0c\r ()<>\[\]{}/%]+")
_REF_TAIL = re.compile(_W + rb"+(\d{1,10})" + _W + rb"+R" + _END)
_OBJ_HEADER = re.compile(rb"(\d{1,10})" + _W + rb"+(\d{1,5})" + _W + rb"+obj" + _END)
_OBJ_SCAN = re.compile(rb"(?<![0-9])(\d{1,10})" + _W + rb"+(\d{1,5})" + _W + rb"+obj" + _END)
_STARTXREF = re.compile(rb"startxref[\x00\t\n\x0c\r ]*(?:%[^\r\n]*[\r\n]+[\x00\t\n\x0c\r ]*)?(\d{1,15})")
_XREF_SUBSECTION = re.compile(rb"(\d{1,10})[ \t]+(\d{1,10})[ \t]*(?:\r\n|\r|\n)?")
_XREF_BLOCK = re.compile(rb"(?:\d{10} \d{5} [nf](?: \r| \n|\r\n))+")
_XREF_FIELDS = re.compile(rb"(\d{10}) (\d{5}) ([nf])")
_XREF_ENTRY = re.compile(rb"[\x00\t\n\x0c\r ]*(\d{1,10})[ \t]+(\d{1,5})[ \t]+([nfNF])")
_HEADER = re.compile(rb"%PDF-(\d{1,2}\.\d{1,2})")
_EOF = re.compile(rb"%%EOF")
_LITERAL_SPECIAL = re.compile(rb"[()\\\r]")
_TRAILER = re.compile(rb"(?<![A-Za-z])trailer(?=[\x00\t\n\x0c\r <])")
_STREAM_KW = re.compile(rb"stream(?:\r\n|\n|\r)?")


class NotPdf(Exception):
    """The bytes are not a PDF (no ``%PDF-`` header near the start)."""


class PdfSyntaxError(ValueError):
    """Bytes that are not valid PDF syntax where an object was expected."""


class _BadHeader(PdfSyntaxError):
    """No ``N G obj`` header (or another object's) where the cross-reference points."""


class _NeedMore(Exception):
    """The parse window ended inside an object: read a bigger window."""


class BudgetExceeded(Exception):
    """A read or decode cap was reached."""


class Name(str):
    """A PDF name object (``/Producer`` -> ``Name("Producer")``)."""

    __slots__ = ()


class PdfString(bytes):
    """A PDF string object: the bytes as decoded from the literal or hex syntax."""

    __slots__ = ()


class Keyword(str):
    """A bare keyword that is not a value (``obj``, ``endobj``, ``stream``, stray ``R``)."""

    __slots__ = ()


class Ref(NamedTuple):
    """An indirect reference ``num gen R``."""

    num: int
    gen: int


@dataclass
class Stream:
    """A stream object: its dictionary and its encoded bytes (None when over the cap)."""

    dict: dict[str, Any]
    data: bytes | None
    offset: int
    note: str | None = None


# ----------------------------------------------------------------------------------------
# byte source


class Source:
    """Random access to the file's bytes: the content in memory, or bounded reads of a file."""

    def __init__(self, data: bytes | None = None, fh: BinaryIO | None = None, size: int | None = None) -> None:
        if data is None and fh is None:
            raise ValueError("Source needs data or a file")
        self._data = data
        self._fh = fh
        self.size = len(data) if data is not None else int(size or 0)
        self.budget = MAX_READ_TOTAL
        self.in_memory = data is not None

    def read(self, offset: int, n: int) -> bytes:
        """Up to ``n`` bytes at ``offset`` (fewer at the end of the file)."""
        if offset < 0 or offset >= self.size or n <= 0:
            return b""
        n = min(n, self.size - offset)
        if self._data is not None:
            return self._data[offset : offset + n]
        if n > self.budget:
            raise BudgetExceeded(f"read budget of {MAX_READ_TOTAL} bytes exhausted")
        assert self._fh is not None
        self._fh.seek(offset)
        out = self._fh.read(n)
        self.budget -= len(out)
        return out

    def windows(self) -> Iterator[tuple[int, bytes]]:
        """The regions a byte scan may look at: the whole file in memory, else head and tail."""
        if self._data is not None:
            yield 0, self._data
            return
        if self.size <= 2 * SCAN_WINDOW:
            yield 0, self.read(0, self.size)
            return
        yield 0, self.read(0, SCAN_WINDOW)
        yield self.size - SCAN_WINDOW, self.read(self.size - SCAN_WINDOW, SCAN_WINDOW)

    @property
    def fully_scanned(self) -> bool:
        return self._data is not None or self.size <= 2 * SCAN_WINDOW


# ----------------------------------------------------------------------------------------
# lexer / object parser


class Parser:
    """Parses PDF objects from ``buf`` starting at ``pos``.

    ``complete`` says the buffer reaches the end of the file: running out of bytes is
    then a truncated file (:class:`PdfSyntaxError`), otherwise :class:`_NeedMore`.
    """

    def __init__(self, buf: bytes, pos: int = 0, *, complete: bool = True) -> None:
        self.buf = buf
        self.pos = pos
        self.complete = complete
        self.items = 0

    # -- helpers
    def _short(self, margin: int = 0) -> None:
        if self.pos + margin >= len(self.buf):
            if self.complete:
                raise PdfSyntaxError("unexpected end of data (truncated)")
            raise _NeedMore()

    def skip_ws(self) -> None:
        m = _WS_OR_COMMENT.match(self.buf, self.pos)
        if m:
            self.pos = m.end()

    def peek(self, n: int = 1) -> bytes:
        return self.buf[self.pos : self.pos + n]

    def at_keyword(self, kw: bytes) -> bool:
        end = self.pos + len(kw)
        if self.buf[self.pos : end] != kw:
            return False
        return end >= len(self.buf) or self.buf[end] in WS or self.buf[end] in DELIMS

    # -- values
    def parse(self, depth: int = 0) -> Any:
        """One object (direct value); references come back as :class:`Ref`."""
        if depth > MAX_DEPTH:
            raise PdfSyntaxError(f"objects nested deeper than {MAX_DEPTH}")
        self.items += 1
        if self.items > 4 * MAX_ITEMS:
            raise PdfSyntaxError("too many tokens in one object")
        self.skip_ws()
        if not self.complete and len(self.buf) - self.pos < 40:
            raise _NeedMore()
        self._short()
        c = self.buf[self.pos]
        if c == 0x2F:  # /
            return self._name()
        if c == 0x28:  # (
            return self._literal()
        if c == 0x3C:  # <
            if self.buf[self.pos + 1 : self.pos + 2] == b"<":
                return self._dict(depth)
            return self._hex()
        if c == 0x5B:  # [
            return self._array(depth)
        if c in b"+-.0123456789":
            return self._number()
        m = _REGULAR.match(self.buf, self.pos)
        if not m:
            # a stray delimiter such as ')' or '>' or '{': skip it, say so
            self.pos += 1
            raise PdfSyntaxError(f"unexpected delimiter {chr(c)!r}")
        word = m.group()
        self.pos = m.end()
        if word == b"true":
            return True
        if word == b"false":
            return False
        if word == b"null":
            return None
        return Keyword(word[:64].decode("latin-1"))

    def _name(self) -> Name:
        m = _REGULAR.match(self.buf, self.pos + 1)
        raw = m.group() if m else b""
        self.pos += 1 + len(raw)
        if b"#" in raw:
            raw = re.sub(rb"#([0-9A-Fa-f]{2})", lambda mm: bytes([int(mm.group(1), 16)]), raw)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        return Name(text)

    def _number(self) -> Any:
        m = _NUMBER.match(self.buf, self.pos)
        if not m:  # a lone sign or dot: PDF readers take it as 0
            self.pos += 1
            return 0
        tok = m.group()
        self.pos = m.end()
        neg = tok.count(b"-") % 2 == 1
        digits = tok.lstrip(b"+-")
        if len(digits) > 40:
            return 0
        if b"." in digits:
            val: Any = float(digits)
            return -val if neg else val
        ival = int(digits)
        if not neg:
            ref = _REF_TAIL.match(self.buf, self.pos)
            if ref:
                self.pos = ref.end()
                return Ref(ival, int(ref.group(1)))
            if not self.complete and len(self.buf) - self.pos < 24:
                raise _NeedMore()
        return -ival if neg else ival

    def _literal(self) -> PdfString:
        buf = self.buf
        out = bytearray()
        i = self.pos + 1
        depth = 1
        n = len(buf)
        steps = 0
        while True:
            steps += 1
            if steps > MAX_STRING_STEPS:
                raise PdfSyntaxError("literal string too complex (escapes/parentheses)")
            m = _LITERAL_SPECIAL.search(buf, i)
            if not m:
                self.pos = n
                self._short()
            assert m is not None
            j = m.start()
            out += buf[i:j]
            ch = buf[j]
            i = j + 1
            if ch == 0x28:
                depth += 1
                out.append(ch)
            elif ch == 0x29:
                depth -= 1
                if depth == 0:
                    break
                out.append(ch)
            elif ch == 0x0D:  # EOL in a literal string is read as \n
                out.append(0x0A)
                if i < n and buf[i] == 0x0A:
                    i += 1
            else:  # backslash
                if i >= n:
                    self.pos = i
                    self._short()
                e = buf[i]
                i += 1
                if e in b"01234567":
                    digits = bytes([e])
                    while len(digits) < 3 and i < n and buf[i] in b"01234567":
                        digits += bytes([buf[i]])
                        i += 1
                    out.append(int(digits, 8) & 0xFF)
                elif e == 0x6E:
                    out.append(0x0A)
                elif e == 0x72:
                    out.append(0x0D)
                elif e == 0x74:
                    out.append(0x09)
                elif e == 0x62:
                    out.append(0x08)
                elif e == 0x66:
                    out.append(0x0C)
                elif e == 0x0D:  # line continuation
                    if i < n and buf[i] == 0x0A:
                        i += 1
                elif e == 0x0A:
                    pass
                else:  # \( \) \\ and unknown escapes: the character itself
                    out.append(e)
        self.pos = i
        return PdfString(bytes(out))

    def _hex(self) -> PdfString:
        end = self.buf.find(b">", self.pos + 1)
        if end < 0:
            self.pos = len(self.buf)
            self._short()
        body = self.buf[self.pos + 1 : end]
        self.pos = end + 1
        digits = re.sub(rb"[^0-9A-Fa-f]", b"", body)
        if len(digits) % 2:
            digits += b"0"
        return PdfString(binascii.unhexlify(digits))

    def _array(self, depth: int) -> list[Any]:
        self.pos += 1
        out: list[Any] = []
        while True:
            self.skip_ws()
            self._short()
            if self.buf[self.pos] == 0x5D:  # ]
                self.pos += 1
                return out
            start = self.pos
            val = self.parse(depth + 1)
            if isinstance(val, Keyword) and val in ("endobj", "stream", "obj", "endstream"):
                self.pos = start  # unterminated array: stop before the keyword
                return out
            if len(out) < MAX_ITEMS:
                out.append(val)
            else:
                raise PdfSyntaxError(f"array with more than {MAX_ITEMS} items")

    def _dict(self, depth: int) -> dict[str, Any]:
        self.pos += 2
        out: dict[str, Any] = {}
        while True:
            self.skip_ws()
            self._short()
            if self.buf[self.pos : self.pos + 2] == b">>":
                self.pos += 2
                return out
            start = self.pos
            key = self.parse(depth + 1)
            if isinstance(key, Keyword) and key in ("endobj", "stream", "obj", "endstream"):
                self.pos = start  # unterminated dictionary
                return out
            if not isinstance(key, Name):
                continue  # junk where a key should be: skip it
            self.skip_ws()
            self._short()
            if self.buf[self.pos : self.pos + 2] == b">>":
                out[str(key)] = None
                continue
            start = self.pos
            val = self.parse(depth + 1)
            if isinstance(val, Keyword) and val in ("endobj", "stream", "obj", "endstream"):
                self.pos = start
                return out
            if len(out) >= MAX_ITEMS:
                raise PdfSyntaxError(f"dictionary with more than {MAX_ITEMS} entries")
            out[str(key)] = val


# ----------------------------------------------------------------------------------------
# filters


class Decoder:
    """Stream filters with caps on each output and on all output together."""

    def __init__(self) -> None:
        self.total = 0

    def decode(self, data: bytes, sdict: dict[str, Any], resolve: Any, cap: int | None = None) -> bytes:
        """Apply the stream's filters in order; output capped at ``cap`` (default MAX_DECODED)."""
        cap = MAX_DECODED if cap is None else cap
        filters = resolve(sdict.get("Filter", sdict.get("F")))
        parms = resolve(sdict.get("DecodeParms", sdict.get("DP")))
        if filters is None:
            flist: list[Any] = []
        elif isinstance(filters, list):
            flist = [resolve(f) for f in filters]
        else:
            flist = [filters]
        plist = [resolve(p) for p in parms] if isinstance(parms, list) else [parms] * max(len(flist), 1)
        if len(flist) > MAX_FILTERS:
            raise PdfSyntaxError(f"more than {MAX_FILTERS} filters on one stream")
        for i, f in enumerate(flist):
            p = plist[i] if i < len(plist) else None
            data = self._one(str(f), data, p if isinstance(p, dict) else {}, cap)
        if len(data) > cap:
            raise BudgetExceeded(f"decoded stream larger than {cap} bytes")
        return data

    def _charge(self, n: int) -> None:
        self.total += n
        if self.total > MAX_DECODE_TOTAL:
            raise BudgetExceeded(f"more than {MAX_DECODE_TOTAL} bytes decoded in this document")

    def _one(self, name: str, data: bytes, parms: dict[str, Any], cap: int) -> bytes:
        if name in ("FlateDecode", "Fl"):
            out = inflate(data, cap)
            self._charge(len(out))
            return predict(out, parms, cap)
        if name in ("ASCIIHexDecode", "AHx"):
            body = data.split(b">", 1)[0]
            digits = re.sub(rb"[^0-9A-Fa-f]", b"", body)
            if len(digits) % 2:
                digits += b"0"
            out = binascii.unhexlify(digits)
            self._charge(len(out))
            return out
        if name in ("ASCII85Decode", "A85"):
            body = re.sub(rb"[\x00\t\n\x0c\r ]", b"", data)
            if body.startswith(b"<~"):
                body = body[2:]
            body = body.split(b"~>", 1)[0]
            if body.count(b"z") * 4 + len(body) > cap * 2:
                raise BudgetExceeded("ASCII85 stream would decode beyond the cap")
            try:
                out = base64.a85decode(body)
            except ValueError as exc:
                raise PdfSyntaxError(f"bad ASCII85 data: {exc}") from None
            self._charge(len(out))
            return out
        raise PdfSyntaxError(f"unsupported stream filter {name!r}")


def inflate(data: bytes, cap: int) -> bytes:
    """zlib/deflate with an output cap; a truncated or damaged tail keeps what decoded."""
    for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS):
        d = zlib.decompressobj(wbits)
        try:
            out = d.decompress(data, cap + 1)
        except zlib.error:
            if wbits > 0:
                continue
            raise PdfSyntaxError("FlateDecode data is damaged") from None
        if len(out) > cap:
            raise BudgetExceeded(f"decoded stream larger than {cap} bytes")
        return out
    raise PdfSyntaxError("FlateDecode data is damaged")  # pragma: no cover - loop always returns


def _int(v: Any, default: int) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else default


def _add_bytes(a: bytes, b: bytes) -> bytes:
    """Bytewise (a + b) mod 256 of two equal-length strings, without a Python loop per byte."""
    n = len(a)
    x, y = int.from_bytes(a, "big"), int.from_bytes(b, "big")
    low = int.from_bytes(b"\x7f" * n, "big")
    high = int.from_bytes(b"\x80" * n, "big")
    return (((x & low) + (y & low)) ^ ((x ^ y) & high)).to_bytes(n, "big")


def _all_up(padded: bytes, rowlen: int, nrows: int) -> bytes:
    """Every row uses PNG "Up" (as xref streams do): a running sum of rows, mod 256 per byte.

    Done on one big integer (rows as lanes): log2(rows) rounds of "add the row d above",
    each a bytewise addition without carries between bytes.
    """
    step = rowlen + 1
    body = bytearray(nrows * rowlen)
    for c in range(rowlen):
        body[c::rowlen] = padded[1 + c :: step]
    n = len(body)
    if n == 0:
        return b""
    x = int.from_bytes(body, "little")
    low = int.from_bytes(b"\x7f" * n, "little")
    high = int.from_bytes(b"\x80" * n, "little")
    full = (1 << (8 * n)) - 1
    shift = 8 * rowlen
    while shift < 8 * n:
        y = (x << shift) & full
        x = ((x & low) + (y & low)) ^ ((x ^ y) & high)
        shift *= 2
    return x.to_bytes(n, "little")


def predict(data: bytes, parms: dict[str, Any], cap: int) -> bytes:
    """Undo a PNG (10-15) or TIFF (2) predictor as given in DecodeParms.

    Rows that need a Python step per byte (PNG Sub/Average/Paeth, TIFF) are limited to
    :data:`MAX_PREDICTOR_BYTEWISE` bytes; "Up" rows, the usual case, are done in bulk.
    """
    predictor = _int(parms.get("Predictor"), 1)
    if predictor <= 1:
        return data
    colors = max(1, min(_int(parms.get("Colors"), 1), 32))
    bpc = _int(parms.get("BitsPerComponent"), 8)
    if bpc not in (1, 2, 4, 8, 16):
        raise PdfSyntaxError(f"bad BitsPerComponent {bpc}")
    columns = max(1, min(_int(parms.get("Columns"), 1), 1 << 20))
    bpp = max(1, colors * bpc // 8)
    rowlen = (columns * colors * bpc + 7) // 8
    slow_budget = MAX_PREDICTOR_BYTEWISE

    def spend(n: int) -> None:
        nonlocal slow_budget
        slow_budget -= n
        if slow_budget < 0:
            raise BudgetExceeded(f"predictor needs byte-by-byte work beyond {MAX_PREDICTOR_BYTEWISE} bytes")

    if predictor == 2:
        if bpc != 8:
            raise PdfSyntaxError("TIFF predictor supported only for 8-bit components")
        spend(len(data))
        tout = bytearray(data)
        for start in range(0, len(tout), rowlen):
            for i in range(start + bpp, min(start + rowlen, len(tout))):
                tout[i] = (tout[i] + tout[i - bpp]) & 0xFF
        return bytes(tout)
    if predictor < 10:
        raise PdfSyntaxError(f"unknown predictor {predictor}")
    step = rowlen + 1
    nrows = -(-len(data) // step)
    if nrows * rowlen > cap:
        raise BudgetExceeded(f"decoded stream larger than {cap} bytes")
    padded = data + bytes(nrows * step - len(data))
    if padded[0::step].count(2) == nrows:
        return _all_up(padded, rowlen, nrows)
    out = bytearray()
    prev = bytearray(rowlen)
    for start in range(0, len(padded), step):
        ftype = padded[start]
        row = bytearray(padded[start + 1 : start + step])
        if ftype == 1:
            spend(rowlen)
            for i in range(bpp, rowlen):
                row[i] = (row[i] + row[i - bpp]) & 0xFF
        elif ftype == 2:
            row = bytearray(_add_bytes(bytes(row), bytes(prev)))
        elif ftype == 3:
            spend(rowlen)
            for i in range(rowlen):
                left = row[i - bpp] if i >= bpp else 0
                row[i] = (row[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:
            spend(rowlen)
            for i in range(rowlen):
                a = row[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                row[i] = (row[i] + pred) & 0xFF
        elif ftype != 0:
            raise PdfSyntaxError(f"bad PNG row filter {ftype}")
        out += row
        prev = row
    return bytes(out)


# ----------------------------------------------------------------------------------------
# text and dates


#: PDFDocEncoding differs from Latin-1 at 0x18-0x1F and 0x80-0xA0.
_PDFDOC_SPECIAL = {
    0x18: "\u02d8", 0x19: "\u02c7", 0x1A: "\u02c6", 0x1B: "\u02d9", 0x1C: "\u02dd", 0x1D: "\u02db",
    0x1E: "\u02da", 0x1F: "\u02dc", 0x80: "\u2022", 0x81: "\u2020", 0x82: "\u2021", 0x83: "\u2026",
    0x84: "\u2014", 0x85: "\u2013", 0x86: "\u0192", 0x87: "\u2044", 0x88: "\u2039", 0x89: "\u203a",
    0x8A: "\u2212", 0x8B: "\u2030", 0x8C: "\u201e", 0x8D: "\u201c", 0x8E: "\u201d", 0x8F: "\u2018",
    0x90: "\u2019", 0x91: "\u201a", 0x92: "\u2122", 0x93: "\ufb01", 0x94: "\ufb02", 0x95: "\u0141",
    0x96: "\u0152", 0x97: "\u0160", 0x98: "\u0178", 0x99: "\u017d", 0x9A: "\u0131", 0x9B: "\u0142",
    0x9C: "\u0153", 0x9D: "\u0161", 0x9E: "\u017e", 0x9F: "\ufffd", 0xA0: "\u20ac",
}  # fmt: skip
_PDFDOC_TABLE = {i: ch for i, ch in _PDFDOC_SPECIAL.items()}


def decode_text(raw: bytes) -> str:
    """A PDF text string: UTF-16BE with BOM, UTF-8 with BOM (PDF 2.0), else PDFDocEncoding."""
    if raw[:2] == b"\xfe\xff":
        return raw[2:].decode("utf-16-be", "replace")
    if raw[:2] == b"\xff\xfe":  # not in the standard, but written by some tools
        return raw[2:].decode("utf-16-le", "replace")
    if raw[:3] == b"\xef\xbb\xbf":
        return raw[3:].decode("utf-8", "replace")
    return raw.decode("latin-1").translate(_PDFDOC_TABLE)


_PDF_DATE = re.compile(
    r"^\s*(?:D\s*:)?\s*(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:[.,](\d{1,9}))?\s*"
    r"(?:([Zz+\-])\s*(?:(\d{1,2})\s*(?:'\s*(\d{2})?\s*'?|:?\s*(\d{2}))?)?)?\s*'?\s*$"
)


@dataclass(frozen=True)
class PdfDate:
    """The parts of a PDF date; fields after the last stored one are None."""

    year: int
    month: int | None
    day: int | None
    hour: int | None
    minute: int | None
    second: int | None
    fraction: str | None
    offset_minutes: int | None
    """Stored UTC offset in minutes (``Z`` -> 0); None when the date has no offset."""


def parse_pdf_date(text: str) -> PdfDate | None:
    """Parse ``D:YYYYMMDDHHmmSSOHH'mm'`` and its common partial/broken variants.

    Returns None when the text does not have that shape (the caller may then try ISO 8601).
    Ranges are not checked here (the caller builds a datetime and reports impossible ones).
    """
    m = _PDF_DATE.match(text)
    if not m:
        return None
    y, mo, d, hh, mi, ss, frac, sign, oh, om1, om2 = m.groups()
    off: int | None = None
    if sign in ("Z", "z"):
        off = 0
    elif sign:
        if oh is None:
            return None
        om = om1 or om2 or "0"
        if int(om) > 59:
            return None
        off = (int(oh) * 60 + int(om)) * (-1 if sign == "-" else 1)

    def num(s: str | None) -> int | None:
        return int(s) if s is not None else None

    return PdfDate(int(y), num(mo), num(d), num(hh), num(mi), num(ss), frac, off)


# ----------------------------------------------------------------------------------------
# the document


class XrefLayer:
    """One cross-reference section's entries: (type, a, b) by object number.

    Type 1 is (offset, generation), type 2 (object stream number, index), type 0 free.
    Exact 20-byte table records and xref-stream records are kept as bytes and decoded
    only for the few objects looked up (a file may list millions).
    """

    def __init__(self, *, weak_free: bool = False) -> None:
        self.entries: dict[int, tuple[int, int, int]] = {}
        self.tables: list[tuple[int, int, bytes]] = []
        self.streams: list[tuple[int, int, bytes, int, tuple[int, int, int]]] = []
        self.count = 0
        self.weak_free = weak_free
        """A hybrid file's table: its free entries may be given by the XRefStm that follows."""

    def get(self, num: int) -> tuple[int, int, int] | None:
        e = self.entries.get(num)
        if e is not None:
            return e
        for start, count, blk in self.tables:
            if start <= num < start + count:
                i = (num - start) * 20
                return (1 if blk[i + 17] == 0x6E else 0, int(blk[i : i + 10]), int(blk[i + 11 : i + 16]))
        for start, count, data, pos, w in self.streams:
            if start <= num < start + count:
                width = w[0] + w[1] + w[2]
                p = pos + (num - start) * width
                rec = data[p : p + width]
                f1 = int.from_bytes(rec[: w[0]], "big") if w[0] else 1
                f2 = int.from_bytes(rec[w[0] : w[0] + w[1]], "big")
                f3 = int.from_bytes(rec[w[0] + w[1] :], "big") if w[2] else 0
                return (f1, f2, f3) if f1 in (0, 1, 2) else None
        return None


@dataclass
class XrefSection:
    offset: int
    kind: str
    """``table`` or ``stream``."""
    trailer: dict[str, Any]
    entries: int


@dataclass
class PdfDocument:
    """What the reader found. Build with :func:`open_pdf`."""

    src: Source
    header_offset: int = 0
    version: str | None = None
    shift: int = 0
    """Added to every stored offset (files with junk before ``%PDF-`` whose offsets count from it)."""
    xref: list[XrefLayer] = field(default_factory=list)
    """Cross-reference sections, newest first (a hybrid file's XRefStm right after its table)."""
    sections: list[XrefSection] = field(default_factory=list)
    trailer: dict[str, Any] = field(default_factory=dict)
    """Merged trailer: for each key, the newest section that has it."""
    xref_broken: bool = False
    eof_markers: int = 0
    after_eof: int | None = None
    """Bytes after the last ``%%EOF`` (0: only whitespace; None: no ``%%EOF`` near the end)."""
    tail: bytes = b""
    linearized: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    _scan: dict[int, int] | None = None
    _scan_trailers: list[dict[str, Any]] | None = None
    _headers: list[tuple[int, int]] = field(default_factory=list)
    _objstm_index: dict[int, tuple[int, int]] | None = None
    xref_entries_read: int = 0
    crypt: pdfcrypt.StandardSecurity | None = None
    """Set when the file is encrypted with an empty user password (strings/streams decrypted)."""
    encryption: str | None = None
    """None (not encrypted), ``empty-user-password`` (read), ``locked`` or ``unsupported: ...``."""
    encrypt_num: int | None = None
    _cache: dict[int, Any] = field(default_factory=dict)
    _busy: set[int] = field(default_factory=set)
    _objstms: dict[int, tuple[bytes, dict[int, tuple[int, int]]] | None] = field(default_factory=dict)
    _bad_offsets: int = 0
    decoder: Decoder = field(default_factory=Decoder)

    # -- notes
    def note(self, msg: str) -> None:
        if len(self.notes) < MAX_NOTES and msg not in self.notes:
            self.notes.append(msg)

    # -- reading objects
    def parse_at(self, offset: int, *, expect: int | None = None) -> tuple[int, int, Any]:
        """Parse the indirect object ``N G obj ... endobj`` at a file offset."""
        size = WINDOW
        while True:
            buf = self.src.read(offset, size)
            complete = offset + len(buf) >= self.src.size
            p = Parser(buf, 0, complete=complete)
            try:
                p.skip_ws()
                m = _OBJ_HEADER.match(buf, p.pos)
                if not m:
                    raise _BadHeader(f"no object header at offset {offset}")
                num, gen = int(m.group(1)), int(m.group(2))
                if expect is not None and num != expect:
                    raise _BadHeader(f"object {num} found where object {expect} was expected")
                p.pos = m.end()
                value = p.parse()
                p.skip_ws()
                if isinstance(value, dict) and p.at_keyword(b"stream"):
                    return num, gen, self._stream(value, offset, buf, p)
                return num, gen, value
            except _NeedMore:
                if size >= MAX_OBJECT_BYTES:
                    raise PdfSyntaxError(f"object at offset {offset} larger than {MAX_OBJECT_BYTES} bytes") from None
                size *= 4

    def _stream(self, sdict: dict[str, Any], offset: int, buf: bytes, p: Parser) -> Stream:
        m = _STREAM_KW.match(buf, p.pos)
        assert m is not None
        start = offset + m.end()
        length = sdict.get("Length")
        if isinstance(length, Ref):
            try:
                length = self.resolve(length)
            except (PdfSyntaxError, BudgetExceeded):
                length = None
        if isinstance(length, int) and not isinstance(length, bool) and 0 <= length:
            if length > MAX_STREAM:
                return Stream(sdict, None, start, f"stream of {length} bytes is over the {MAX_STREAM}-byte cap")
            data = self.src.read(start, length)
            after = self.src.read(start + length, 64)
            if after.lstrip(WS).startswith(b"endstream"):
                return Stream(sdict, data, start)
        # /Length missing or wrong: look for endstream
        chunk = 1024 * 1024
        pos = start
        found = -1
        carried = b""
        while pos - start < MAX_STREAM:
            piece = self.src.read(pos, chunk)
            if not piece:
                break
            hay = carried + piece
            k = hay.find(b"endstream")
            if k >= 0:
                found = pos - len(carried) + k
                break
            carried = hay[-9:]
            pos += len(piece)
        if found < 0:
            self.note(f"stream at offset {start} has no valid /Length and no endstream")
            return Stream(sdict, None, start, "stream end not found")
        data = self.src.read(start, found - start)
        if data.endswith(b"\r\n"):
            data = data[:-2]
        elif data.endswith((b"\n", b"\r")):
            data = data[:-1]
        self.note(f"stream at offset {start}: /Length wrong or missing, used endstream")
        return Stream(sdict, data, start)

    def resolve(self, obj: Any) -> Any:
        """Follow references (bounded) to a direct object; a missing one is None."""
        hops = 0
        while isinstance(obj, Ref):
            hops += 1
            if hops > MAX_REF_CHAIN:
                self.note("reference chain too long")
                return None
            obj = self.get_object(obj.num)
        return obj

    def get_object(self, num: int) -> Any:
        if num in self._cache:
            return self._cache[num]
        if num in self._busy:
            self.note(f"object {num} refers to itself")
            return None
        self._busy.add(num)
        try:
            value = self._load(num)
        except BudgetExceeded as exc:
            self.note(str(exc))
            value = None
        except PdfSyntaxError as exc:
            self.note(f"object {num}: {exc}")
            value = None
        finally:
            self._busy.discard(num)
        self._cache[num] = value
        return value

    def entry(self, num: int) -> tuple[int, int, int] | None:
        """The newest cross-reference entry of an object, or None."""
        for layer in self.xref:
            e = layer.get(num)
            if e is None or (e[0] == 0 and layer.weak_free):
                continue
            return e
        return None

    def read_at(self, offset: int, expect: int | None = None) -> Any:
        """The indirect object at ``offset``, decrypted when the file is (and can be)."""
        num, gen, value = self.parse_at(offset, expect=expect)
        if self.crypt is None or num == self.encrypt_num:
            return value
        try:
            return self._decrypt(value, num, gen, 0)
        except pdfcrypt.CryptError as exc:
            raise PdfSyntaxError(f"cannot decrypt: {exc}") from None

    def _decrypt(self, value: Any, num: int, gen: int, depth: int) -> Any:
        assert self.crypt is not None
        if isinstance(value, PdfString):
            return PdfString(self.crypt.decrypt_string(bytes(value), num, gen))
        if isinstance(value, list) and depth < MAX_DEPTH:
            return [self._decrypt(v, num, gen, depth + 1) for v in value]
        if isinstance(value, dict) and depth < MAX_DEPTH:
            return {k: self._decrypt(v, num, gen, depth + 1) for k, v in value.items()}
        if isinstance(value, Stream):
            sdict = self._decrypt(value.dict, num, gen, depth + 1)
            data = value.data
            if data is not None:
                data = self.crypt.decrypt_stream(data, num, gen, value.dict)
            return Stream(sdict, data, value.offset, value.note)
        return value

    def _load(self, num: int) -> Any:
        entry = self.entry(num)
        if entry is not None and entry[0] == 1:
            try:
                return self.read_at(entry[1] + self.shift, expect=num)
            except _BadHeader:
                self._bad_offsets += 1
                off = self.scan_index().get(num)
                if off is None:
                    raise
                self.note("some cross-reference offsets are wrong; objects found by scanning")
                return self.read_at(off, expect=num)
        if entry is not None and entry[0] == 2:
            return self._from_objstm(entry[1], entry[2], num)
        if entry is not None:
            return None  # free
        # not in the cross-reference: damaged files still have it somewhere
        off = self.scan_index().get(num)
        if off is not None:
            if not self.xref_broken:
                self.note(f"object {num} is missing from the cross-reference; found by scanning")
            return self.read_at(off, expect=num)
        hit = self._scan_objstms(num)
        return hit

    def _objstm(self, stm_num: int) -> tuple[bytes, dict[int, tuple[int, int]]]:
        """Decoded object stream: (data, index -> (object number, offset in data))."""
        if stm_num in self._objstms:
            got = self._objstms[stm_num]
            if got is None:
                raise PdfSyntaxError(f"object stream {stm_num} is not readable")
            return got
        if len(self._objstms) >= MAX_OBJSTMS:
            raise BudgetExceeded(f"more than {MAX_OBJSTMS} object streams")
        self._objstms[stm_num] = None
        stm = self.get_object(stm_num)
        if not isinstance(stm, Stream) or stm.data is None:
            raise PdfSyntaxError(f"object stream {stm_num} is not readable")
        data = self.decoder.decode(stm.data, stm.dict, self.resolve)
        n = _int(self.resolve(stm.dict.get("N")), 0)
        first = _int(self.resolve(stm.dict.get("First")), 0)
        if not 0 <= n <= MAX_OBJSTM_OBJECTS or not 0 <= first <= len(data):
            raise PdfSyntaxError(f"object stream {stm_num} has a bad /N or /First")
        hp = Parser(data[:first], 0, complete=True)
        pairs: dict[int, tuple[int, int]] = {}
        for idx in range(n):
            try:
                a, b = hp.parse(), hp.parse()
            except PdfSyntaxError:
                break
            if not (isinstance(a, int) and isinstance(b, int)) or isinstance(a, bool) or isinstance(b, bool):
                break
            pairs[idx] = (a, first + b)
        self._objstms[stm_num] = (data, pairs)
        return data, pairs

    def _from_objstm(self, stm_num: int, index: int, num: int) -> Any:
        data, pairs = self._objstm(stm_num)
        hit = pairs.get(index)
        if hit is None or hit[0] != num:  # index wrong: search by object number
            hit = next((v for v in pairs.values() if v[0] == num), None)
            if hit is None:
                raise PdfSyntaxError(f"object {num} not in object stream {stm_num}")
        return Parser(data, hit[1], complete=True).parse()

    def _scan_objstms(self, num: int) -> Any:
        """Last resort: look for ``num`` in the object streams found by scanning (indexed once)."""
        if self._objstm_index is None:
            index: dict[int, tuple[int, int]] = {}
            for _off, stm_num in self.objects_with(rb"/Type\s*/ObjStm\b", MAX_OBJSTMS):
                if stm_num in self._busy:
                    continue
                try:
                    _data, pairs = self._objstm(stm_num)
                except (PdfSyntaxError, BudgetExceeded) as exc:
                    self.note(f"object stream {stm_num}: {exc}")
                    continue
                for idx, (onum, _o) in pairs.items():
                    index.setdefault(onum, (stm_num, idx))
            self._objstm_index = index
        hit = self._objstm_index.get(num)
        if hit is None:
            return None
        return self._from_objstm(hit[0], hit[1], num)

    # -- scanning fallback
    def scan_index(self) -> dict[int, int]:
        """Object number -> offset of its last ``N G obj`` header in the bytes (bounded)."""
        if self._scan is None:
            found: dict[int, int] = {}
            headers: list[tuple[int, int]] = []
            for base, buf in self.src.windows():
                for m in _OBJ_SCAN.finditer(buf):
                    num, off = int(m.group(1)), base + m.start()
                    found[num] = off
                    headers.append((off, num))
                    if len(headers) >= MAX_XREF_ENTRIES:
                        self.note(f"more than {MAX_XREF_ENTRIES} object headers: scan stopped")
                        break
            self._scan = found
            self._headers = sorted(headers)
        return self._scan

    def objects_with(self, pattern: bytes, limit: int) -> list[tuple[int, int]]:
        """(offset, number) of the objects whose text matches ``pattern``, newest first.

        A match belongs to the nearest object header before it (searched in the bytes the
        source lets us scan); at most ``limit`` objects are returned.
        """
        self.scan_index()
        headers = self._headers
        if not headers:
            return []
        offsets = [o for o, _n in headers]
        rx = re.compile(pattern)
        hits: deque[int] = deque(maxlen=64 * limit)
        for base, buf in self.src.windows():
            for m in rx.finditer(buf):
                hits.append(base + m.start())
        out: list[tuple[int, int]] = []
        seen: set[int] = set()
        for h in reversed(hits):
            k = bisect.bisect_right(offsets, h) - 1
            if k < 0 or h - headers[k][0] > MAX_OBJECT_BYTES or headers[k][0] in seen:
                continue
            seen.add(headers[k][0])
            out.append(headers[k])
            if len(out) >= limit:
                break
        return out

    def scan_trailers(self) -> list[dict[str, Any]]:
        """Trailer dictionaries found by scanning (``trailer`` keywords and XRef streams), newest first.

        The entries of cross-reference streams found this way are merged too (newest first),
        so objects inside object streams stay reachable when ``startxref`` is broken.
        """
        if self._scan_trailers is None:
            found: list[tuple[int, dict[str, Any]]] = []
            streams: list[tuple[int, XrefLayer]] = []
            for base, buf in self.src.windows():
                positions: deque[int] = deque(maxlen=MAX_SCANNED_TRAILERS)
                for m in _TRAILER.finditer(buf):
                    positions.append(m.end())
                for end in positions:  # the newest ones
                    p = Parser(buf, end, complete=True)
                    try:
                        d = p.parse()
                    except (PdfSyntaxError, _NeedMore):
                        continue
                    if isinstance(d, dict):
                        found.append((base + end, d))
            for off, _num in self.objects_with(rb"/Type\s*/XRef\b", MAX_SCANNED_TRAILERS):
                try:
                    section, layer = self._read_stream(off)
                except (PdfSyntaxError, BudgetExceeded):
                    continue
                found.append((off, section.trailer))
                streams.append((off, layer))
            found.sort(key=lambda t: t[0], reverse=True)
            for _off, layer in sorted(streams, key=lambda t: t[0], reverse=True):
                self.xref.append(layer)
            self._scan_trailers = [d for _o, d in found]
        return self._scan_trailers

    # -- cross-reference
    def read_section(self, offset: int) -> tuple[XrefSection, XrefLayer]:
        if self.xref_entries_read > MAX_XREF_ENTRIES:
            raise BudgetExceeded(f"more than {MAX_XREF_ENTRIES} cross-reference entries read")
        head = self.src.read(offset, 32).lstrip(WS)
        if head.startswith(b"xref"):
            got = self._read_table(offset)
        elif _OBJ_HEADER.match(head):
            got = self._read_stream(offset)
        else:
            raise PdfSyntaxError(f"no cross-reference at offset {offset}")
        self.xref_entries_read += max(got[0].entries, 1)
        return got

    def _read_table(self, offset: int) -> tuple[XrefSection, XrefLayer]:
        # A small window first (a file read piecemeal pays for what it reads), then all a
        # table may take: never a third parse of the same bytes.
        for size in (WINDOW, MAX_XREF_ENTRIES * 20 + WINDOW):
            buf = self.src.read(offset, size)
            complete = offset + len(buf) >= self.src.size
            try:
                return self._parse_table(offset, buf, complete)
            except _NeedMore:
                continue
        raise PdfSyntaxError("cross-reference table too large")

    def _parse_table(self, offset: int, buf: bytes, complete: bool) -> tuple[XrefSection, XrefLayer]:
        pos = buf.find(b"xref") + 4
        layer = XrefLayer()
        entries = layer.entries
        while True:
            m = _WS_OR_COMMENT.match(buf, pos)
            pos = m.end() if m else pos
            if not complete and len(buf) - pos < 64:
                raise _NeedMore()
            if buf.startswith(b"trailer", pos):
                p = Parser(buf, pos + 7, complete=complete)
                trailer = p.parse()
                if not isinstance(trailer, dict):
                    raise PdfSyntaxError("trailer is not a dictionary")
                return XrefSection(offset, "table", trailer, layer.count), layer
            sub = _XREF_SUBSECTION.match(buf, pos)
            if not sub:
                raise PdfSyntaxError(f"bad cross-reference table at offset {offset}")
            start, count = int(sub.group(1)), int(sub.group(2))
            if count > MAX_XREF_ENTRIES or layer.count + count > MAX_XREF_ENTRIES:
                raise PdfSyntaxError(f"cross-reference table of more than {MAX_XREF_ENTRIES} entries")
            pos = sub.end()
            block = _XREF_BLOCK.match(buf, pos, pos + 20 * count)
            if count and block and block.end() == pos + 20 * count and len(layer.tables) < MAX_LAZY_BLOCKS:
                # the usual exact 20-byte records: kept as bytes, decoded when looked up
                layer.tables.append((start, count, block.group()))
                layer.count += count
                pos = block.end()
                continue
            for i in range(count):
                e = _XREF_ENTRY.match(buf, pos)
                if not e:
                    if not complete and len(buf) - pos < 64:
                        raise _NeedMore()
                    raise PdfSyntaxError(f"bad cross-reference entry {start + i}")
                pos = e.end()
                kind = 1 if e.group(3) in b"nN" else 0
                entries.setdefault(start + i, (kind, int(e.group(1)), int(e.group(2))))
                layer.count += 1

    def _read_stream(self, offset: int) -> tuple[XrefSection, XrefLayer]:
        _num, _gen, obj = self.parse_at(offset)
        if not isinstance(obj, Stream) or str(obj.dict.get("Type")) != "XRef":
            raise PdfSyntaxError(f"object at offset {offset} is not a cross-reference stream")
        if obj.data is None:
            raise PdfSyntaxError(obj.note or "cross-reference stream unreadable")
        d = obj.dict
        data = self.decoder.decode(obj.data, d, lambda x: x)
        w = d.get("W")
        if not (isinstance(w, list) and len(w) == 3 and all(isinstance(x, int) and 0 <= x <= 8 for x in w)):
            raise PdfSyntaxError("cross-reference stream has a bad /W")
        size = _int(d.get("Size"), 0)
        index = d.get("Index")
        if not isinstance(index, list) or len(index) % 2:
            index = [0, size]
        width = sum(w)
        if width == 0:
            raise PdfSyntaxError("cross-reference stream has zero-width entries")
        layer = XrefLayer()
        pos = 0
        w3 = (w[0], w[1], w[2])
        for k in range(0, len(index), 2):
            start, count = index[k], index[k + 1]
            if not (isinstance(start, int) and isinstance(count, int)) or count < 0 or start < 0:
                raise PdfSyntaxError("cross-reference stream has a bad /Index")
            count = min(count, (len(data) - pos) // width, MAX_XREF_ENTRIES - layer.count)
            if count <= 0:
                break
            if len(layer.streams) >= MAX_LAZY_BLOCKS:
                raise PdfSyntaxError("cross-reference stream has too many /Index ranges")
            layer.streams.append((start, count, data, pos, w3))
            layer.count += count
            pos += count * width
        return XrefSection(offset, "stream", d, layer.count), layer


def _find_startxref(doc: PdfDocument, tail: bytes) -> int | None:
    hits = list(_STARTXREF.finditer(tail))
    if not hits:
        return None
    last = hits[-1]
    rest = tail[last.end() :]
    first_eof = rest.find(b"%%EOF")
    if first_eof >= 0 and rest.find(b"%%EOF", first_eof + 5) >= 0:
        doc.note("the newest revision has no readable startxref; an older one was used")
    return int(last.group(1))


def open_pdf(src: Source) -> PdfDocument:
    """Read the structure of a PDF. Raises :class:`NotPdf` when there is no ``%PDF-`` header."""
    head = src.read(0, HEADER_SEARCH)
    m = _HEADER.search(head)
    if m is None:
        if b"%PDF-" not in head:
            raise NotPdf("no %PDF- header in the first 1024 bytes")
    doc = PdfDocument(src=src)
    doc.header_offset = head.find(b"%PDF-")
    doc.version = m.group(1).decode("ascii") if m else None
    for _base, buf in src.windows():
        doc.eof_markers += len(_EOF.findall(buf))
    tail = src.read(max(0, src.size - TAIL), TAIL)
    k = tail.rfind(b"%%EOF")
    if k >= 0:
        doc.after_eof = len(tail) - k - 5 if tail[k + 5 :].strip(WS) else 0
    doc.tail = tail
    _read_xref(doc)
    _security(doc)
    _linearization(doc, head)
    return doc


def _security(doc: PdfDocument) -> None:
    """Open an encrypted file when its user password is empty (the usual "owner restrictions only")."""
    ref = doc.trailer.get("Encrypt")
    if ref is None:
        return
    doc.encrypt_num = ref.num if isinstance(ref, Ref) else None
    enc = doc.resolve(ref)
    ids = doc.resolve(doc.trailer.get("ID"))
    id0 = bytes(ids[0]) if isinstance(ids, list) and ids and isinstance(ids[0], PdfString) else b""
    if not isinstance(enc, dict):
        doc.encryption = "unsupported: /Encrypt is not a dictionary"
        return
    try:
        handler = pdfcrypt.StandardSecurity(enc, id0)
        opened = handler.authenticate_empty()
    except (pdfcrypt.CryptError, ValueError, OverflowError) as exc:
        doc.encryption = f"unsupported: {exc}"
        return
    if not opened:
        doc.encryption = "locked"
        return
    doc.encryption = "empty-user-password"
    doc.crypt = handler
    # objects read so far (the /Encrypt dictionary, stream lengths) were read undecrypted
    doc._cache = {k: v for k, v in doc._cache.items() if k == doc.encrypt_num}
    doc._objstms.clear()
    doc._objstm_index = None


def _linearization(doc: PdfDocument, head: bytes) -> None:
    m = _OBJ_HEADER.search(head, doc.header_offset)
    if not m:
        return
    try:
        _n, _g, obj = doc.parse_at(m.start())
    except (PdfSyntaxError, BudgetExceeded):
        return
    if isinstance(obj, dict) and "Linearized" in obj:
        doc.linearized = obj


def _read_xref(doc: PdfDocument) -> None:
    start = _find_startxref(doc, doc.tail)
    sections: list[XrefSection] = []
    if start is None:
        doc.note("no startxref at the end of the file")
    else:
        shifts = [0] if doc.header_offset == 0 else [doc.header_offset, 0]
        todo: list[int] = [start]
        seen: set[int] = set()
        first = True
        while todo:
            off = todo.pop(0)
            # several offsets may lead (through whitespace) to one section: key on where it starts
            lead = doc.src.read(off + (0 if first else doc.shift), 64)
            key = off + len(lead) - len(lead.lstrip(WS))
            if key in seen:
                doc.note(f"cross-reference /Prev loop at offset {off}")
                continue
            seen.add(key)
            if len(sections) >= MAX_XREF_SECTIONS:
                doc.note(f"more than {MAX_XREF_SECTIONS} cross-reference sections")
                break
            got = None
            err: Exception | None = None
            for sh in shifts if first else [doc.shift]:
                try:
                    got = doc.read_section(off + sh)
                    doc.shift = sh
                    break
                except (PdfSyntaxError, BudgetExceeded) as exc:
                    err = exc
            first = False
            if got is None:
                doc.note(f"cross-reference section at offset {off} unreadable: {err}")
                if not sections:
                    break
                continue
            section, layer = got
            sections.append(section)
            doc.xref.append(layer)
            hybrid = section.trailer.get("XRefStm")
            if isinstance(hybrid, int) and not isinstance(hybrid, bool) and hybrid not in seen:
                seen.add(hybrid)
                try:
                    _s, more = doc.read_section(hybrid + doc.shift)
                    layer.weak_free = True
                    doc.xref.append(more)
                except (PdfSyntaxError, BudgetExceeded) as exc:
                    doc.note(f"hybrid cross-reference stream unreadable: {exc}")
            prev = section.trailer.get("Prev")
            if isinstance(prev, int) and not isinstance(prev, bool):
                todo.append(prev)
            elif prev is not None:
                doc.note("trailer /Prev is not an offset")
    doc.sections = sections
    trailers = [s.trailer for s in sections]
    if not sections or not any("Root" in t for t in trailers):
        doc.xref_broken = True
        doc.note("cross-reference broken or missing; objects found by scanning")
        trailers = trailers + doc.scan_trailers()
    merged: dict[str, Any] = {}
    for t in trailers:
        for k, v in t.items():
            merged.setdefault(k, v)
    doc.trailer = merged


def find_by_scanning(doc: PdfDocument, pattern: bytes, accept: Any, limit: int = 64) -> Any:
    """The newest object whose text matches ``pattern`` and that ``accept(obj)`` likes."""
    for off, num in doc.objects_with(pattern, limit):
        try:
            obj = doc.read_at(off, expect=num)
        except (PdfSyntaxError, BudgetExceeded):
            continue
        if accept(obj):
            return obj
    return None
