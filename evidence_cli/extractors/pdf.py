"""PDF: document information, XMP, page count, encryption and edit history.

Our own bounded reader (:mod:`evidence_cli.formats.pdf`) finds the trailer through the
cross-reference (classic tables, PDF 1.5 streams with object streams, ``/Prev`` chains,
hybrid files) or, when that is broken, by scanning for ``N G obj`` headers. From it:

* every ``/Info`` entry, keys verbatim, text strings decoded (UTF-16BE/UTF-8 with BOM,
  else PDFDocEncoding); ``CreationDate``/``ModDate`` become timestamps (source ``pdf``)
  with their stored offset, naive when the date has none;
* the catalog's ``/Metadata`` XMP packet, parsed by :func:`evidence_cli.extractors.xmp.parse_packet`
  (tags under ``xmp:``-prefixed keys, timestamps with source ``xmp``);
* ``PDFVersion``, ``PageCount``, ``Linearized``, the ``Encryption`` dictionary, and how
  many times the file was saved: an incremental update (a PDF changed after it was
  first written) is a finding, with the ``%%EOF`` and cross-reference section counts.

An encrypted PDF whose user password is empty (restrictions only: every reader opens it
without asking) is decrypted (:mod:`evidence_cli.formats.pdfcrypt`). Otherwise its strings
(dates included) are ciphertext: they are not reported, a warning says so, and whatever
is not encrypted (numbers, names, structure) still is.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from evidence_cli.errors import UnsupportedFile
from evidence_cli.extractors.base import FileContext, problem, register
from evidence_cli.formats import pdf as fmt
from evidence_cli.models import Device, Extraction, Finding, Problem, Timestamp
from evidence_cli.timeparse import TimeParseError, format_offset, iso_utc, make_iso_timestamp, parse_iso

NAME = "pdf"
PDF_TYPES = frozenset({"application/pdf", "application/x-pdf", "application/acrobat"})
#: libmagic says "data" for a PDF with junk before ``%PDF-``: such files are sniffed.
SNIFF_TYPES = frozenset({"application/octet-stream"})
#: Info dictionary dates that become timestamps (PDF key = timestamp name).
DATE_KEYS = ("CreationDate", "ModDate")
#: Longest Info text kept (characters); longer values are cut and a problem says so.
MAX_TEXT = 65_536
MAX_VALUE_DEPTH = 6


def _iso_value(d: fmt.PdfDate) -> tuple[str, datetime | None, int]:
    """(ISO text at the stored precision, datetime when a time is present, precision level)."""
    if d.month is None:
        return f"{d.year:04d}", None, 1
    if d.day is None:
        return f"{d.year:04d}-{d.month:02d}", None, 2
    naive = datetime(d.year, d.month, d.day, d.hour or 0, d.minute or 0, d.second or 0)
    # isoformat, not strftime: glibc's %Y does not pad years before 1000 (a PDF dated
    # D:0099... gave "99-01-01", which no reader of ISO 8601 takes for a date).
    if d.hour is None:
        return naive.date().isoformat(), None, 3
    if d.second is None:
        return naive.isoformat(timespec="minutes"), naive, 4
    text = naive.isoformat(timespec="seconds")
    if d.fraction:
        naive = naive.replace(microsecond=int((d.fraction + "000000")[:6]))
        text += "." + d.fraction
    return text, naive, 5


def pdf_timestamp(name: str, raw: str) -> Timestamp | None:
    """A Timestamp from a PDF date string (or an ISO 8601 one some writers use).

    Returns None for an empty value; raises :class:`TimeParseError` for text that is not
    a date or names an impossible one.
    """
    text = raw.replace("\x00", "").strip()
    if not text or not text.strip("D: 0'Z"):
        return None
    d = fmt.parse_pdf_date(text)
    if d is None:  # some writers put ISO 8601 or EXIF-style text (sometimes after "D:")
        ts = make_iso_timestamp(name, NAME, re.sub(r"^D\s*:\s*", "", text))
        if ts is None:
            return None
        return Timestamp(name, NAME, ts.value, ts.utc, raw, ts.offset_origin)
    try:
        value, naive, _level = _iso_value(d)
        if d.month is not None:
            datetime(d.year, d.month, d.day or 1)  # validates month/day when there is no time
    except ValueError as exc:
        raise TimeParseError(f"{name}: impossible date {text!r}: {exc}") from None
    if naive is None or d.offset_minutes is None:
        return Timestamp(name=name, source=NAME, value=value, utc=None, raw=raw)
    if abs(d.offset_minutes) > 14 * 60:
        raise TimeParseError(f"{name}: UTC offset out of range in {text!r}")
    off = timedelta(minutes=d.offset_minutes)
    aware = naive.replace(tzinfo=timezone(off))
    if d.second is None:
        utc = aware.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="minutes") + "Z"
    else:
        utc = iso_utc(aware, d.fraction)
    return Timestamp(name=name, source=NAME, value=value + format_offset(off), utc=utc, raw=raw, offset_origin="stored")


class _Out:
    """Collects one file's results."""

    def __init__(self) -> None:
        self.tags: dict[str, Any] = {}
        self.timestamps: list[Timestamp] = []
        self.problems: list[Problem] = []
        self.findings: list[Finding] = []
        self.long_values: list[str] = []

    def warn(self, message: str, type: str = "Damaged") -> None:
        self.problems.append(problem(NAME, message, type=type))


def _json_value(doc: fmt.PdfDocument, value: Any, out: _Out, key: str, depth: int = 0) -> Any:
    """A PDF object as a JSON-safe value (text strings decoded, names as text)."""
    if depth > MAX_VALUE_DEPTH:
        return None
    if isinstance(value, fmt.Ref):
        value = doc.resolve(value)
    if isinstance(value, fmt.PdfString):
        text = fmt.decode_text(bytes(value))
        if len(text) > MAX_TEXT:
            out.long_values.append(key)
            text = text[:MAX_TEXT]
        return text
    if isinstance(value, (fmt.Name, fmt.Keyword)):
        return str(value)
    if isinstance(value, bool) or value is None or isinstance(value, (int, float)):
        return value
    if isinstance(value, list):
        return [_json_value(doc, v, out, key, depth + 1) for v in value[:256]]
    if isinstance(value, dict):
        return {str(k): _json_value(doc, v, out, key, depth + 1) for k, v in list(value.items())[:256]}
    if isinstance(value, fmt.Stream):
        return "<stream>"
    return str(value)


def _info(doc: fmt.PdfDocument, out: _Out, encrypted: bool) -> dict[str, Any]:
    info = doc.resolve(doc.trailer.get("Info"))
    if info is None and doc.xref_broken:
        info = fmt.find_by_scanning(
            doc,
            rb"/(?:Producer|Creator|CreationDate|ModDate|Author)\b",
            lambda o: isinstance(o, dict) and "Type" not in o and "Subtype" not in o,
        )
        if isinstance(info, dict):
            out.warn("document information found by scanning (trailer unreadable)")
    if info is None:
        return {}
    if not isinstance(info, dict):
        out.warn(f"trailer /Info is not a dictionary ({type(info).__name__})")
        return {}
    result: dict[str, Any] = {}
    hidden: list[str] = []
    for key, value in list(info.items())[:1000]:
        resolved = doc.resolve(value)
        if encrypted and isinstance(resolved, fmt.PdfString):
            hidden.append(key)
            continue
        result[key] = _json_value(doc, resolved, out, key)
    if hidden:
        out.tags["InfoEncryptedKeys"] = hidden
    return result


def _dates(info: dict[str, Any], out: _Out) -> None:
    for key in DATE_KEYS:
        raw = info.get(key)
        if raw is None:
            continue
        if not isinstance(raw, str):
            out.warn(f"{key} is not a string ({type(raw).__name__})", type="BadDate")
            continue
        try:
            ts = pdf_timestamp(key, raw)
        except TimeParseError as exc:
            out.warn(str(exc), type="BadDate")
            continue
        if ts is not None:
            out.timestamps.append(ts)


def _catalog(doc: fmt.PdfDocument, out: _Out) -> dict[str, Any] | None:
    root = doc.resolve(doc.trailer.get("Root"))
    if root is None and doc.xref_broken:
        root = fmt.find_by_scanning(
            doc, rb"/Type\s*/Catalog\b", lambda o: isinstance(o, dict) and str(o.get("Type")) == "Catalog"
        )
    if root is None:
        out.warn("no document catalog found")
        return None
    if not isinstance(root, dict):
        out.warn("trailer /Root is not a dictionary")
        return None
    return root


def _xmp(doc: fmt.PdfDocument, root: dict[str, Any], out: _Out, encrypted: bool) -> Extraction | None:
    md = doc.resolve(root.get("Metadata"))
    if md is None:
        return None
    if not isinstance(md, fmt.Stream):
        out.warn("catalog /Metadata is not a stream")
        return None
    if md.data is None:
        out.warn(f"XMP metadata stream unreadable: {md.note}")
        return None
    try:
        data = doc.decoder.decode(md.data, md.dict, doc.resolve)
    except (fmt.PdfSyntaxError, fmt.BudgetExceeded) as exc:
        if encrypted:
            out.warn("XMP metadata stream is encrypted", type="Encrypted")
        else:
            out.warn(f"XMP metadata stream: {exc}")
        return None
    if encrypted and b"<x:xmpmeta" not in data and b"<?xpacket" not in data and b"rdf:RDF" not in data:
        out.warn("XMP metadata stream is encrypted", type="Encrypted")
        return None
    from evidence_cli.extractors import xmp

    return xmp.parse_packet(data, extractor=NAME)


def _history(doc: fmt.PdfDocument, out: _Out) -> None:
    lin = 1 if doc.linearized is not None else 0
    sections = len(doc.sections)
    out.tags["EOFMarkers"] = doc.eof_markers
    out.tags["XRefSections"] = sections
    if not doc.src.fully_scanned:
        out.tags["EOFMarkersScope"] = "first and last 16 MiB"
    # A linearized file is written with two cross-reference sections and two %%EOF
    # markers; every incremental update adds one of each.
    by_xref = sections - 1 - lin if sections and not doc.xref_broken else 0
    by_eof = doc.eof_markers - 1 - lin
    updates = max(by_xref, by_eof, 0)
    out.tags["IncrementalUpdates"] = updates
    if updates > 0:
        out.findings.append(
            Finding(
                "pdf-incremental-update",
                "info",
                f"the PDF was saved {updates} more time(s) after it was first written (incremental update)",
                {
                    "incremental_updates": updates,
                    "eof_markers": doc.eof_markers,
                    "xref_sections": sections,
                    "linearized": bool(lin),
                },
            )
        )


def _edges(doc: fmt.PdfDocument, out: _Out) -> None:
    """Bytes before ``%PDF-`` or after the last ``%%EOF``: another file may hide there."""
    out.tags["BytesAfterEOF"] = doc.after_eof
    if doc.header_offset > 0:
        out.tags["HeaderOffset"] = doc.header_offset
        out.findings.append(
            Finding(
                "pdf-data-before-header",
                "notice",
                f"{doc.header_offset} bytes precede the %PDF- header (another format may be wrapped around the PDF)",
                {"bytes": doc.header_offset},
            )
        )
    if doc.after_eof:
        out.findings.append(
            Finding(
                "pdf-data-after-eof",
                "notice",
                f"{doc.after_eof} bytes follow the last %%EOF marker (appended data)",
                {"bytes": doc.after_eof},
            )
        )


_HAS_SECONDS = re.compile(r"T\d{2}:\d{2}:\d{2}")


def _same_time(a: Timestamp, b: Timestamp) -> bool | None:
    """Same moment to the second? Instants when both have an offset, else wall-clock times.
    None when either lacks seconds (a date-only XMP value proves nothing)."""
    if not (_HAS_SECONDS.search(a.value) and _HAS_SECONDS.search(b.value)):
        return None
    try:
        if a.utc is not None and b.utc is not None:
            x, y = parse_iso(a.utc), parse_iso(b.utc)
        else:
            x, y = parse_iso(a.value).replace(tzinfo=None), parse_iso(b.value).replace(tzinfo=None)
    except ValueError:
        return None
    return x.replace(microsecond=0) == y.replace(microsecond=0)


def _xmp_findings(out: _Out) -> None:
    """Info and XMP dates that disagree: often one tool edited the file without updating both."""
    info = {t.name: t for t in out.timestamps if t.source == NAME}
    xmp = {t.name: t for t in out.timestamps if t.source == "xmp"}
    differ: dict[str, Any] = {}
    for info_name, xmp_name in (("CreationDate", "CreateDate"), ("ModDate", "ModifyDate")):
        a, b = info.get(info_name), xmp.get(xmp_name)
        if a is not None and b is not None and _same_time(a, b) is False:
            differ[info_name] = {"info": a.raw, "xmp": b.raw}
    if differ:
        out.findings.append(
            Finding(
                "pdf-info-xmp-mismatch",
                "info",
                "the document information and the XMP metadata give different dates: " + ", ".join(sorted(differ)),
                differ,
            )
        )


def _time_findings(out: _Out) -> None:
    by_name = {t.name: t for t in out.timestamps if t.source == NAME}
    c, m = by_name.get("CreationDate"), by_name.get("ModDate")
    if c is None or m is None or (c.utc is None) != (m.utc is None):
        return
    try:
        if c.utc is not None and m.utc is not None:
            later = parse_iso(c.utc) > parse_iso(m.utc)
        else:
            later = parse_iso(c.value) > parse_iso(m.value)
    except ValueError:
        return
    if later:
        out.findings.append(
            Finding(
                "pdf-time-inconsistent",
                "notice",
                "the PDF says it was created after it was last modified",
                {"CreationDate": c.raw, "ModDate": m.raw},
            )
        )


@register
class PdfExtractor:
    name = NAME
    description = "PDF document information, XMP, page count, encryption and incremental updates"
    mime_types = PDF_TYPES | SNIFF_TYPES

    def extract(self, ctx: FileContext) -> Extraction:
        if ctx.file_type.mime in SNIFF_TYPES and b"%PDF-" not in ctx.head[: fmt.HEADER_SEARCH]:
            # Unknown binary data that is not a PDF either: nothing to say, no problem.
            return Extraction(extractor=self.name, group=self.name)
        if ctx.content is not None:
            return self._run(fmt.Source(data=ctx.content))
        with ctx.open() as fh:
            return self._run(fmt.Source(fh=fh, size=ctx.size))

    def _run(self, src: fmt.Source) -> Extraction:
        out = _Out()
        try:
            doc = fmt.open_pdf(src)
        except fmt.NotPdf as exc:
            raise UnsupportedFile(str(exc)) from None
        except fmt.BudgetExceeded as exc:
            return Extraction(self.name, self.name, problems=(problem(self.name, str(exc), type="LimitReached"),))
        info: dict[str, Any] = {}
        xmp_ex: Extraction | None = None
        try:
            info, xmp_ex = _collect(doc, out)
        except fmt.BudgetExceeded as exc:  # a read or decode cap hit late: keep what was read
            out.warn(str(exc), type="LimitReached")
        except fmt.PdfSyntaxError as exc:
            out.warn(str(exc))
        for note in doc.notes:
            out.warn(note)
        if out.long_values:
            out.warn(f"values longer than {MAX_TEXT} characters cut: {', '.join(sorted(set(out.long_values)))}")
        # Info keys verbatim; one that could be taken for a key we derive gets an "Info:" prefix.
        tags: dict[str, Any] = {}
        for k, v in info.items():
            clash = k in out.tags or k.startswith(("xmp:", "Info:"))
            tags[f"Info:{k}" if clash else k] = v
        tags.update(out.tags)
        software = _first_text(info.get("Producer"), info.get("Creator"))
        if xmp_ex is not None:
            for k, v in xmp_ex.tags.items():
                tags[f"xmp:{k}"] = v
            out.timestamps.extend(xmp_ex.timestamps)
            _xmp_findings(out)
            out.findings.extend(xmp_ex.findings)
            out.problems.extend(xmp_ex.problems)
            if software is None and xmp_ex.device is not None:
                software = xmp_ex.device.software
        return Extraction(
            extractor=self.name,
            group=self.name,
            tags=tags,
            timestamps=tuple(out.timestamps),
            gps=xmp_ex.gps if xmp_ex is not None else None,
            device=Device(software=software, source=NAME) if software else None,
            problems=tuple(out.problems),
            findings=tuple(out.findings),
        )


def _collect(doc: fmt.PdfDocument, out: _Out) -> tuple[dict[str, Any], Extraction | None]:
    """Read everything from an opened document into ``out``; returns (Info, XMP extraction)."""
    tags = out.tags
    tags["PDFVersion"] = doc.version
    encrypt = doc.resolve(doc.trailer.get("Encrypt")) if "Encrypt" in doc.trailer else None
    # "encrypted" here means locked: an empty user password opens the file like any reader does
    encrypted = doc.encryption is not None and doc.crypt is None
    if doc.encryption is not None:
        tags["Encrypted"] = True
        tags["EncryptionAccess"] = doc.encryption
        if isinstance(encrypt, dict):
            tags["Encryption"] = {
                k: _json_value(doc, encrypt.get(k), out, k)
                for k in ("Filter", "SubFilter", "V", "R", "Length", "P", "EncryptMetadata")
                if k in encrypt
            }
    if encrypted:
        why = "a user password is required" if doc.encryption == "locked" else str(doc.encryption)
        out.warn(f"encrypted: Info strings unreadable ({why})", type="Encrypted")
    tags["Linearized"] = doc.linearized is not None
    _history(doc, out)
    _edges(doc, out)
    info = _info(doc, out, encrypted)
    _dates(info, out)
    _time_findings(out)
    root = _catalog(doc, out)
    if root is None:
        return info, None
    lang = doc.resolve(root.get("Lang"))
    if isinstance(lang, fmt.PdfString) and not encrypted:
        tags["Lang"] = fmt.decode_text(bytes(lang))[:256]
    version = doc.resolve(root.get("Version"))
    if isinstance(version, fmt.Name):
        tags["CatalogVersion"] = str(version)
    pages = doc.resolve(root.get("Pages"))
    count = doc.resolve(pages.get("Count")) if isinstance(pages, dict) else None
    if isinstance(count, int) and not isinstance(count, bool):
        tags["PageCount"] = count
    return info, _xmp(doc, root, out, encrypted)


def _first_text(*values: Any) -> str | None:
    for v in values:
        if isinstance(v, str) and v.strip():
            return v.strip()
    return None
