"""IPTC-IIM: the press-photo records (caption, by-line, keywords, dates) of JPEG/TIFF/PSD.

IIM data sits in Photoshop image resource 0x0404 (JPEG APP13 ``Photoshop 3.0``, TIFF tag
34377, PSD image resources) or raw in TIFF tag 33723. A dataset is ``0x1C <record>
<dataset> <length:2>`` (a length with the top bit set gives the size of a longer length
field) followed by its bytes.

Text is UTF-8 when record 1:90 (CodedCharacterSet) holds the ISO 2022 escape ``ESC % G``;
otherwise it is decoded as Latin-1, a bijection, so the stored bytes stay recoverable
(``value.encode("latin-1")``). Photoshop's MD5 of the IIM block (resource 0x0425) is
reported beside the digest of the block as found: when they differ, the IPTC data was
changed by software that did not update the digest.
"""

from __future__ import annotations

import hashlib
import re
import struct
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from evidence_cli.extractors.base import FileContext, problem, register
from evidence_cli.formats import jpeg, photoshop, tiff
from evidence_cli.models import Device, Extraction, Finding, Problem, Timestamp
from evidence_cli.timeparse import TimeParseError, format_offset, iso_utc

NAME = "iptc"
MAX_DATASETS = 10_000
MAX_DATASET_BYTES = 1024 * 1024
MAX_TEXT = 8_192
UTF8_ESCAPE = b"\x1b%G"

#: (record, dataset) -> ExifTool-style name.
DATASETS: Mapping[tuple[int, int], str] = {
    (1, 0): "EnvelopeRecordVersion",
    (1, 5): "Destination",
    (1, 20): "FileFormat",
    (1, 22): "FileVersion",
    (1, 30): "ServiceIdentifier",
    (1, 40): "EnvelopeNumber",
    (1, 50): "ProductID",
    (1, 60): "EnvelopePriority",
    (1, 70): "DateSent",
    (1, 80): "TimeSent",
    (1, 90): "CodedCharacterSet",
    (1, 100): "UniqueObjectName",
    (2, 0): "ApplicationRecordVersion",
    (2, 3): "ObjectTypeReference",
    (2, 4): "ObjectAttributeReference",
    (2, 5): "ObjectName",
    (2, 7): "EditStatus",
    (2, 10): "Urgency",
    (2, 12): "SubjectReference",
    (2, 15): "Category",
    (2, 20): "SupplementalCategories",
    (2, 22): "FixtureIdentifier",
    (2, 25): "Keywords",
    (2, 26): "ContentLocationCode",
    (2, 27): "ContentLocationName",
    (2, 30): "ReleaseDate",
    (2, 35): "ReleaseTime",
    (2, 37): "ExpirationDate",
    (2, 38): "ExpirationTime",
    (2, 40): "SpecialInstructions",
    (2, 42): "ActionAdvised",
    (2, 45): "ReferenceService",
    (2, 47): "ReferenceDate",
    (2, 50): "ReferenceNumber",
    (2, 55): "DateCreated",
    (2, 60): "TimeCreated",
    (2, 62): "DigitalCreationDate",
    (2, 63): "DigitalCreationTime",
    (2, 65): "OriginatingProgram",
    (2, 70): "ProgramVersion",
    (2, 75): "ObjectCycle",
    (2, 80): "By-line",
    (2, 85): "By-lineTitle",
    (2, 90): "City",
    (2, 92): "Sub-location",
    (2, 95): "Province-State",
    (2, 100): "Country-PrimaryLocationCode",
    (2, 101): "Country-PrimaryLocationName",
    (2, 103): "OriginalTransmissionReference",
    (2, 105): "Headline",
    (2, 110): "Credit",
    (2, 115): "Source",
    (2, 116): "CopyrightNotice",
    (2, 118): "Contact",
    (2, 120): "Caption-Abstract",
    (2, 121): "LocalCaption",
    (2, 122): "Writer-Editor",
    (2, 130): "ImageType",
    (2, 131): "ImageOrientation",
    (2, 135): "LanguageIdentifier",
    (2, 184): "JobID",
    (2, 187): "OwnerID",
    (2, 221): "Prefs",
    (2, 225): "ClassifyState",
    (2, 228): "SimilarityIndex",
    (2, 230): "DocumentNotes",
    (2, 231): "DocumentHistory",
    (2, 232): "ExifCameraInfo",
}
#: Datasets that are binary numbers, not text.
BINARY_UINT = frozenset({(1, 0), (1, 20), (1, 22), (2, 0)})
#: Datasets repeatable by the standard: always a list.
REPEATABLE = frozenset(
    {(1, 5), (2, 4), (2, 12), (2, 20), (2, 25), (2, 26), (2, 27), (2, 45), (2, 47), (2, 50), (2, 80), (2, 85)}
    | {(2, 118), (2, 122)}
)
#: (timestamp name, date dataset, time dataset)
DATE_PAIRS = (
    ("DateCreated", (2, 55), (2, 60)),
    ("DigitalCreationDateTime", (2, 62), (2, 63)),
)

_DATE = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})\s*$")
_TIME = re.compile(r"^\s*(\d{2})(\d{2})(\d{2})(?:([+\-])(\d{2})(\d{2}))?\s*$")


def parse_iim(data: bytes) -> tuple[list[tuple[int, int, bytes]], list[str]]:
    """The datasets of an IIM block as (record, dataset, bytes), with notes on damage."""
    out: list[tuple[int, int, bytes]] = []
    notes: list[str] = []
    pos, n = 0, len(data)
    while pos < n:
        if data[pos] != 0x1C:
            if data[pos:].strip(b"\x00"):
                notes.append(f"IPTC: no tag marker at offset {pos}; the rest is not read")
            break
        if len(out) >= MAX_DATASETS:
            notes.append(f"IPTC: more than {MAX_DATASETS} datasets; the rest are not read")
            break
        if pos + 5 > n:
            notes.append(f"IPTC: truncated dataset header at offset {pos}")
            break
        rec, ds = data[pos + 1], data[pos + 2]
        size = struct.unpack(">H", data[pos + 3 : pos + 5])[0]
        pos += 5
        if size & 0x8000:
            width = size & 0x7FFF
            if width > 4 or pos + width > n:
                notes.append(f"IPTC: bad extended length for {rec}:{ds}")
                break
            size = int.from_bytes(data[pos : pos + width], "big")
            pos += width
        if pos + size > n:
            notes.append(f"IPTC: dataset {rec}:{ds} declares {size} bytes, {n - pos} remain")
            size = n - pos
        if size > MAX_DATASET_BYTES:
            notes.append(f"IPTC: dataset {rec}:{ds} of {size} bytes exceeds {MAX_DATASET_BYTES}; not kept")
        else:
            out.append((rec, ds, data[pos : pos + size]))
        pos += size
    return out, notes


def _text(raw: bytes, utf8: bool) -> Any:
    text = raw.decode("utf-8", "replace") if utf8 else raw.decode("latin-1")
    text = text.rstrip("\x00")
    if len(text) <= MAX_TEXT:
        return text
    return {"text": text[:512], "length": len(text), "truncated": True, "sha256": hashlib.sha256(raw).hexdigest()}


def decode(datasets: list[tuple[int, int, bytes]]) -> tuple[dict[str, Any], list[str]]:
    """Named tag values (lists for repeatable datasets), charset from 1:90."""
    utf8 = any(r == 1 and d == 90 and UTF8_ESCAPE in v for r, d, v in datasets)
    tags: dict[str, Any] = {}
    notes: list[str] = []
    for rec, ds, raw in datasets:
        name = DATASETS.get((rec, ds), f"{rec}:{ds}")
        value: Any
        if (rec, ds) in BINARY_UINT and 1 <= len(raw) <= 4:
            value = int.from_bytes(raw, "big")
        else:
            value = _text(raw, utf8)
            if utf8 and isinstance(value, str) and "\ufffd" in value:
                notes.append(f"IPTC {name}: not valid UTF-8 although 1:90 says UTF-8")
        if (rec, ds) in REPEATABLE:
            tags.setdefault(name, []).append(value)
        elif name in tags:
            prev = tags[name]
            tags[name] = (prev if isinstance(prev, list) else [prev]) + [value]
        else:
            tags[name] = value
    return tags, notes


def _first(tags: Mapping[str, Any], name: str) -> str | None:
    v = tags.get(name)
    if isinstance(v, list):
        v = v[0] if v else None
    return v.strip() or None if isinstance(v, str) else None


def iim_timestamp(name: str, date_text: str, time_text: str | None) -> Timestamp | None:
    """IIM CCYYMMDD + HHMMSS±HHMM -> Timestamp (offset when stored). Raises TimeParseError."""
    md = _DATE.match(date_text)
    if not md:
        raise TimeParseError(f"IPTC {name}: not a CCYYMMDD date: {date_text!r}")
    y, mo, d = (int(x) for x in md.groups())
    if y == 0 and mo == 0 and d == 0:
        return None
    raw = date_text + (f" {time_text}" if time_text else "")
    if not time_text:
        try:
            datetime(y, mo, d)
        except ValueError as exc:
            raise TimeParseError(f"IPTC {name}: impossible date {date_text!r}: {exc}") from None
        return Timestamp(name=name, source=NAME, value=f"{y:04d}-{mo:02d}-{d:02d}", utc=None, raw=raw)
    mt = _TIME.match(time_text)
    if not mt:
        raise TimeParseError(f"IPTC {name}: not a HHMMSS±HHMM time: {time_text!r}")
    hh, mi, ss = int(mt.group(1)), int(mt.group(2)), int(mt.group(3))
    try:
        naive = datetime(y, mo, d, hh, mi, ss)
    except ValueError as exc:
        raise TimeParseError(f"IPTC {name}: impossible date/time {raw!r}: {exc}") from None
    local = naive.isoformat(timespec="seconds")
    if mt.group(4) is None:
        return Timestamp(name=name, source=NAME, value=local, utc=None, raw=raw)
    oh, om = int(mt.group(5)), int(mt.group(6))
    if oh > 14 or om > 59:
        raise TimeParseError(f"IPTC {name}: UTC offset out of range in {time_text!r}")
    off = (-1 if mt.group(4) == "-" else 1) * timedelta(hours=oh, minutes=om)
    aware = naive.replace(tzinfo=timezone(off))
    return Timestamp(
        name=name,
        source=NAME,
        value=local + format_offset(off),
        utc=iso_utc(aware),
        raw=raw,
        offset_origin="stored",
    )


def find_iim(ctx: FileContext) -> tuple[bytes | None, bytes | None, list[str]]:
    """(IIM block, Photoshop's stored IPTC digest, notes) of a JPEG, TIFF or PSD."""
    head = ctx.head
    notes: list[str] = []
    res: photoshop.Resources | None = None
    with ctx.open() as fh:
        if jpeg.is_jpeg(head):
            res = photoshop.from_jpeg(ctx.jpeg_walk(fh))
        elif head[:4] == b"8BPS":
            res = photoshop.from_psd(fh)
        elif tiff.is_tiff(head):
            ifd = tiff.first_ifd(fh)
            entry = ifd.entries.get(tiff.TAG_PHOTOSHOP)
            if entry is not None:
                blob = tiff.read_value(fh, entry, notes)
                res = photoshop.parse(blob) if blob else None
            entry = ifd.entries.get(tiff.TAG_IPTC)
            if (res is None or res.first(photoshop.IPTC_NAA) is None) and entry is not None:
                return tiff.read_value(fh, entry, notes), None, notes
    if res is None:
        return None, None, notes
    notes.extend(res.notes)
    block = res.first(photoshop.IPTC_NAA)
    digest = res.first(photoshop.IPTC_DIGEST)
    return (block.data if block else None), (digest.data if digest else None), notes


@register
class IptcExtractor:
    name = NAME
    description = "IPTC-IIM records (JPEG APP13, TIFF, PSD): caption, by-line, keywords, creation dates"
    mime_types = frozenset({"image/jpeg", "image/tiff", "image/vnd.adobe.photoshop", "image/x-photoshop"})

    def extract(self, ctx: FileContext) -> Extraction:
        block, stored_digest, notes = find_iim(ctx)
        problems: list[Problem] = [problem(self.name, n) for n in notes]
        if block is None:
            return Extraction(self.name, self.name, problems=tuple(problems))
        datasets, parse_notes = parse_iim(block)
        tags, decode_notes = decode(datasets)
        problems.extend(problem(self.name, n) for n in parse_notes + decode_notes)
        # Photoshop's digest covers the block as stored (as ExifTool's CurrentIPTCDigest).
        current = hashlib.md5(block).hexdigest()
        tags["CurrentIPTCDigest"] = current
        findings: list[Finding] = []
        if stored_digest is not None:
            tags["IPTCDigest"] = stored_digest.hex()
            if len(stored_digest) == 16 and stored_digest.hex() != current and stored_digest.strip(b"\x00"):
                findings.append(
                    Finding(
                        "iptc-digest-mismatch",
                        "info",
                        "the IPTC data differs from the digest Photoshop stored: it was changed by software "
                        "that did not update the digest",
                        {"IPTCDigest": stored_digest.hex(), "CurrentIPTCDigest": current},
                    )
                )
        timestamps: list[Timestamp] = []
        for ts_name, date_key, time_key in DATE_PAIRS:
            date_text = _first(tags, DATASETS[date_key])
            if not date_text:
                continue
            try:
                ts = iim_timestamp(ts_name, date_text, _first(tags, DATASETS[time_key]))
            except TimeParseError as exc:
                problems.append(problem(self.name, str(exc)))
                continue
            if ts is not None:
                timestamps.append(ts)
        program = _first(tags, "OriginatingProgram")
        version = _first(tags, "ProgramVersion")
        software = f"{program} {version}" if program and version else program
        device = Device(software=software, source=self.name) if software else None
        return Extraction(
            extractor=self.name,
            group=self.name,
            tags=tags,
            timestamps=tuple(timestamps),
            device=device,
            problems=tuple(problems),
            findings=tuple(findings),
        )
