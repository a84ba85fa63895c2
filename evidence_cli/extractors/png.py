"""PNG: text chunks (tEXt, zTXt, iTXt), tIME, header facts, chunk integrity (CRC).

Chunks are walked with their CRCs checked (a bad CRC is a warning; the walk goes on).
Compressed text is inflated within a per-chunk and a per-file budget, so a zTXt "bomb"
costs at most that budget. ``tIME`` (UTC by the PNG specification) becomes the
``ModifyDate`` timestamp; the ``Creation Time`` keyword (free text) becomes
``CreationTime`` when it parses as RFC 1123/2822 or ISO 8601, otherwise it stays a tag
only. The ``Software`` keyword gives the device software. EXIF (``eXIf``) is read by the
exif extractor, XMP (``iTXt XML:com.adobe.xmp``) by the xmp extractor.
"""

from __future__ import annotations

import email.utils
import hashlib
import struct
from datetime import datetime, timezone
from typing import Any

from evidence_cli.errors import UnsupportedFile
from evidence_cli.extractors.base import FileContext, problem, register
from evidence_cli.formats import png as pngfmt
from evidence_cli.models import Device, Extraction, Problem, Timestamp
from evidence_cli.timeparse import TimeParseError, format_offset, iso_utc, make_iso_timestamp

NAME = "png"
MAX_TEXT = 8_192
MAX_TEXT_CHUNKS = 1_000
XMP_KEYWORD = "XML:com.adobe.xmp"
COLOR_TYPES = {0: "Grayscale", 2: "RGB", 3: "Palette", 4: "Grayscale with alpha", 6: "RGB with alpha"}


def _bounded(text: str) -> Any:
    if len(text) <= MAX_TEXT:
        return text
    return {
        "text": text[:512],
        "length": len(text),
        "truncated": True,
        "sha256": hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(),
    }


def time_chunk(data: bytes) -> Timestamp:
    """tIME (year:2, month, day, hour, minute, second; UTC) -> ModifyDate. Raises TimeParseError."""
    if len(data) != 7:
        raise TimeParseError(f"tIME chunk of {len(data)} bytes (7 expected)")
    y, mo, d, hh, mi, ss = struct.unpack(">HBBBBB", data)
    raw = f"{y:04d}-{mo:02d}-{d:02d} {hh:02d}:{mi:02d}:{ss:02d}"
    try:
        # The spec allows a leap second (60); datetime does not: refuse rather than move it.
        dt = datetime(y, mo, d, hh, mi, ss, tzinfo=timezone.utc)
    except ValueError as exc:
        raise TimeParseError(f"tIME {raw} is not a valid time: {exc}") from None
    return Timestamp(
        name="ModifyDate",
        source=NAME,
        value=dt.replace(tzinfo=None).isoformat(timespec="seconds") + "+00:00",
        utc=iso_utc(dt),
        raw=raw,
        offset_origin="utc-by-spec",
    )


def creation_time(text: str) -> Timestamp | None:
    """The free-text ``Creation Time`` as a timestamp, when it is RFC 1123/2822 or ISO 8601."""
    t = text.strip()
    if not t:
        return None
    try:
        ts = make_iso_timestamp("CreationTime", NAME, t)
        if ts is not None:
            return Timestamp(ts.name, ts.source, ts.value, ts.utc, text, ts.offset_origin)
    except TimeParseError:
        pass
    try:
        dt = email.utils.parsedate_to_datetime(t)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if dt is None:
        return None
    local = dt.replace(tzinfo=None).isoformat(timespec="seconds")
    if dt.tzinfo is None:  # RFC 2822 "-0000": the time is UTC-based but the local zone is unknown
        return Timestamp("CreationTime", NAME, local, None, text)
    off = dt.utcoffset()
    assert off is not None
    return Timestamp("CreationTime", NAME, local + format_offset(off), iso_utc(dt), text, "stored")


def _header(data: bytes) -> dict[str, Any] | None:
    if len(data) != 13:
        return None
    w, h, depth, color, comp, filt, interlace = struct.unpack(">IIBBBBB", data)
    return {
        "ImageWidth": w,
        "ImageHeight": h,
        "BitDepth": depth,
        "ColorType": color,
        "ColorTypeText": COLOR_TYPES.get(color, f"unknown ({color})"),
        "Compression": comp,
        "Filter": filt,
        "Interlace": interlace,
    }


@register
class PngExtractor:
    name = NAME
    description = "PNG text chunks (tEXt/zTXt/iTXt, bounded inflation), tIME, header, chunk CRCs"
    mime_types = frozenset({"image/png", "image/apng", "image/vnd.mozilla.apng"})

    def extract(self, ctx: FileContext) -> Extraction:
        if not pngfmt.is_png(ctx.head):
            raise UnsupportedFile("no PNG signature")
        with ctx.open() as fh:
            walked = ctx.png_walk(fh)
        problems: list[Problem] = [problem(self.name, n) for n in walked.notes]
        tags: dict[str, Any] = {}
        timestamps: list[Timestamp] = []
        software: str | None = None
        budget = pngfmt.InflateBudget()
        counts: dict[str, int] = {}
        texts = 0
        for c in walked.chunks:
            if len(counts) < 100 or c.name in counts:
                counts[c.name] = counts.get(c.name, 0) + 1
            if c.data is None:
                continue
            if c.ctype == b"IHDR":
                header = _header(c.data)
                if header is None:
                    problems.append(problem(self.name, f"IHDR chunk of {len(c.data)} bytes (13 expected)"))
                else:
                    tags.update(header)
            elif c.ctype == b"tIME":
                try:
                    ts = time_chunk(c.data)
                except TimeParseError as exc:
                    problems.append(problem(self.name, str(exc)))
                else:
                    tags.setdefault("ModifyDate", ts.raw)
                    if not any(t.name == "ModifyDate" for t in timestamps):
                        timestamps.append(ts)
            elif c.ctype == b"pHYs" and len(c.data) == 9:
                x, y, unit = struct.unpack(">IIB", c.data)
                tags["PixelsPerUnitX"], tags["PixelsPerUnitY"], tags["PixelUnits"] = x, y, unit
            elif c.ctype == b"gAMA" and len(c.data) == 4:
                tags["Gamma"] = struct.unpack(">I", c.data)[0]
            elif c.ctype == b"sRGB" and len(c.data) == 1:
                tags["SRGBRendering"] = c.data[0]
            elif c.ctype == b"iCCP":
                nul = c.data.find(b"\x00", 0, 80)
                if nul > 0:
                    tags["ProfileName"] = c.data[:nul].decode("latin-1")
            elif c.ctype == b"acTL" and len(c.data) == 8:
                tags["AnimationFrames"], tags["AnimationPlays"] = struct.unpack(">II", c.data)
            elif c.ctype == b"eXIf":
                tags["eXIf"] = {"length": len(c.data)}
            else:
                texts += 1
                if texts > MAX_TEXT_CHUNKS:
                    if texts == MAX_TEXT_CHUNKS + 1:
                        problems.append(problem(self.name, f"more than {MAX_TEXT_CHUNKS} text chunks; rest not kept"))
                    continue
                t = pngfmt.decode_text(c, budget)
                if t is None:
                    continue
                if t.error:
                    problems.append(problem(self.name, f"{t.kind} {t.keyword!r}: {t.error}"))
                if t.truncated:
                    msg = f"{t.kind} {t.keyword!r}: text cut at the inflation budget"
                    problems.append(problem(self.name, msg, type="Truncated"))
                value: Any
                if t.keyword == XMP_KEYWORD:
                    # The packet itself is read by the xmp extractor.
                    value = {"length": len(t.text), "sha256": hashlib.sha256(t.text.encode("utf-8")).hexdigest()}
                else:
                    value = _bounded(t.text)
                key = t.keyword or f"({t.kind} without keyword)"
                if key in tags:
                    prev = tags[key]
                    tags[key] = (prev if isinstance(prev, list) else [prev]) + [value]
                else:
                    tags[key] = value
                if t.keyword == "Creation Time" and isinstance(value, str):
                    ts2 = creation_time(value)
                    if ts2 is not None and not any(x.name == "CreationTime" for x in timestamps):
                        timestamps.append(ts2)
                elif t.keyword == "Software" and isinstance(value, str) and software is None:
                    software = value.strip() or None
        tags["Chunks"] = counts
        bad = sum(1 for c in walked.chunks if c.crc_ok is False)
        if bad:
            tags["BadCRCChunks"] = bad
        if walked.trailing:
            tags["TrailingBytes"] = walked.trailing
        return Extraction(
            extractor=self.name,
            group=self.name,
            tags=tags,
            timestamps=tuple(timestamps),
            device=Device(software=software, source=self.name) if software else None,
            problems=tuple(problems),
        )
