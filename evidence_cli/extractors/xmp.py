"""XMP: Adobe's RDF/XML metadata packets, wherever a file carries one.

Packets are located per container (JPEG APP1 plus ExtendedXMP, PNG ``iTXt``
``XML:com.adobe.xmp``, WebP ``XMP `` chunk, TIFF tag 700, GIF application extension
``XMP DataXMP``, a sidecar ``.xmp`` file) and, for any other type not read by another
extractor, by a bounded scan of the first few MiB for ``<x:xmpmeta`` / ``<?xpacket``.

Parsing goes only through :func:`evidence_cli.safexml.parse` (no DTD, no entities,
bounded size/depth/count); a refused or malformed packet is a problem, never a crash.
:func:`parse_packet` is public: other extractors (PDF, ISO-BMFF/HEIF) call it for the
XMP they find.

Tags are keyed by the conventional prefixed name (``xmp:CreateDate``), whatever prefix
the file used for a known namespace; values are strings, lists (``rdf:Seq``/``Bag``/
``Alt``) or dicts (structures), bounded in count, length and depth.
"""

from __future__ import annotations

import hashlib
import re
import struct
import xml.etree.ElementTree as ET
from dataclasses import replace
from fractions import Fraction
from typing import Any, Iterable, Mapping

from evidence_cli import safexml
from evidence_cli.extractors.base import FileContext, problem, register
from evidence_cli.formats import jpeg, photoshop, riff, tiff
from evidence_cli.formats import png as pngfmt
from evidence_cli.formats.isobmff import HEIF_MIME_TYPES, ISO_MEDIA_MIME_TYPES
from evidence_cli.geo import GeoError, Rational, altitude_m, signed
from evidence_cli.models import Device, Extraction, Finding, GeoPoint, Problem, Timestamp
from evidence_cli.timeparse import TimeParseError, clean_text, make_iso_timestamp

NAME = "xmp"

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XML_NS = "http://www.w3.org/XML/1998/namespace"

#: Conventional prefixes of well-known namespaces: these win over the prefix a file uses
#: (old Adobe software writes ``xap:`` for ``xmp:``), so keys are stable across writers.
KNOWN_NAMESPACES: Mapping[str, str] = {
    "adobe:ns:meta/": "x",
    RDF: "rdf",
    XML_NS: "xml",
    "http://ns.adobe.com/xap/1.0/": "xmp",
    "http://ns.adobe.com/xap/1.0/mm/": "xmpMM",
    "http://ns.adobe.com/xap/1.0/rights/": "xmpRights",
    "http://ns.adobe.com/xap/1.0/bj/": "xmpBJ",
    "http://ns.adobe.com/xap/1.0/t/pg/": "xmpTPg",
    "http://ns.adobe.com/xap/1.0/g/img/": "xmpGImg",
    "http://ns.adobe.com/xmp/1.0/DynamicMedia/": "xmpDM",
    "http://ns.adobe.com/xmp/note/": "xmpNote",
    "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#": "stEvt",
    "http://ns.adobe.com/xap/1.0/sType/ResourceRef#": "stRef",
    "http://ns.adobe.com/xap/1.0/sType/Version#": "stVer",
    "http://ns.adobe.com/xap/1.0/sType/Job#": "stJob",
    "http://ns.adobe.com/xap/1.0/sType/Dimensions#": "stDim",
    "http://ns.adobe.com/xap/1.0/sType/Font#": "stFnt",
    "http://ns.adobe.com/xap/1.0/g/": "xmpG",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://ns.adobe.com/tiff/1.0/": "tiff",
    "http://ns.adobe.com/exif/1.0/": "exif",
    "http://cipa.jp/exif/1.0/": "exifEX",
    "http://ns.adobe.com/exif/1.0/aux/": "aux",
    "http://ns.adobe.com/photoshop/1.0/": "photoshop",
    "http://ns.adobe.com/camera-raw-settings/1.0/": "crs",
    "http://ns.adobe.com/lightroom/1.0/": "lr",
    "http://ns.adobe.com/pdf/1.3/": "pdf",
    "http://ns.adobe.com/pdfx/1.3/": "pdfx",
    "http://www.aiim.org/pdfa/ns/id/": "pdfaid",
    "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/": "Iptc4xmpCore",
    "http://iptc.org/std/Iptc4xmpExt/2008-02-29/": "Iptc4xmpExt",
    "http://ns.useplus.org/ldf/xmp/1.0/": "plus",
    "http://ns.google.com/photos/1.0/panorama/": "GPano",
    "http://ns.google.com/photos/1.0/camera/": "GCamera",
    "http://ns.google.com/photos/1.0/image/": "GImage",
    "http://ns.google.com/photos/1.0/container/": "GContainer",
    "http://ns.microsoft.com/photo/1.0/": "MicrosoftPhoto",
    "http://ns.adobe.com/xmp/Identifier/qual/1.0/": "xmpidq",
}

#: Bounds: a packet is hostile input like any other.
MAX_PROPERTIES = 5_000
MAX_ITEMS = 1_000
MAX_TEXT = 8_192
MAX_DEPTH = 12
TEXT_HEAD = 512

#: (XMP property, timestamp name): which XMP dates become timestamps.
DATE_PROPERTIES: tuple[tuple[str, str], ...] = (
    ("exif:DateTimeOriginal", "DateTimeOriginal"),
    ("photoshop:DateCreated", "DateCreated"),
    ("xmp:CreateDate", "CreateDate"),
    ("exif:DateTimeDigitized", "DateTimeDigitized"),
    ("xmp:ModifyDate", "ModifyDate"),
    ("xmp:MetadataDate", "MetadataDate"),
)
#: Device fields and the properties that give them, first present wins.
DEVICE_PROPERTIES: Mapping[str, tuple[str, ...]] = {
    "make": ("tiff:Make",),
    "model": ("tiff:Model",),
    "serial": ("exifEX:BodySerialNumber", "aux:SerialNumber", "exif:BodySerialNumber"),
    "software": ("xmp:CreatorTool", "tiff:Software"),
    "lens": ("exifEX:LensModel", "aux:Lens", "exif:LensModel"),
}
#: IPTC NewsCodes digital source types (last path segment) worth an examiner's notice.
AI_SOURCE_TYPES = frozenset({"trainedalgorithmicmedia", "compositewithtrainedalgorithmicmedia"})
SYNTHETIC_SOURCE_TYPES = frozenset({"algorithmicmedia", "compositesynthetic"})

_XMLNS_DECL = re.compile(rb"""xmlns:([A-Za-z_][\w.\-]*)\s*=\s*["']([^"']{1,1000})["']""")
_PACKET_END = re.compile(rb"<\?xpacket\s+end\s*=\s*['\"][rw]['\"]\s*\?>")
_META_END = re.compile(rb"</(?:[\w.\-]+:)?(?:xmpmeta|xapmeta)\s*>|</(?:[\w.\-]+:)?RDF\s*>")


class _Budget:
    """Shared counters and notes for one packet."""

    def __init__(self) -> None:
        self.properties = 0
        self.notes: list[str] = []

    def note(self, msg: str) -> None:
        if msg not in self.notes and len(self.notes) < 20:
            self.notes.append(msg)


def _bounded_text(text: str, budget: _Budget, key: str) -> Any:
    if len(text) <= MAX_TEXT:
        return text
    # Not a problem: the tag itself says it is cut, how long it was and its SHA-256
    # (long values are routine: embedded thumbnails, base64 previews).
    return {
        "text": text[:TEXT_HEAD],
        "length": len(text),
        "truncated": True,
        "sha256": hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(),
    }


def trim_packet(data: bytes) -> bytes:
    """Cut a packet out of its surroundings: from ``<?xpacket``/``<x:xmpmeta`` to the packet's
    end (trailing padding, NULs and junk after it make expat fail)."""
    starts = [i for i in (data.find(b"<?xpacket"), data.find(b"<x:xmpmeta"), data.find(b"<x:xapmeta")) if i >= 0]
    if not starts and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        i = data.find(b"<rdf:RDF")
        if i >= 0:
            starts.append(i)
        else:
            i = data.find(b"<")
            starts.append(max(i, 0))
    if starts:
        start = min(starts)
        # Keep an XML declaration or DTD in front of the packet, so that a DTD is seen
        # (and refused) rather than silently cut off.
        for lead in (b"<?xml", b"<!DOCTYPE"):
            i = data.find(lead, 0, start)
            if i >= 0:
                start = min(start, i)
        data = data[start:]
    m = _PACKET_END.search(data)
    if m:
        return data[: m.end()]
    ends = list(_META_END.finditer(data))
    if ends:
        return data[: ends[-1].end()]
    return data.rstrip(b"\x00 \t\r\n")


class _Walker:
    """Turns a parsed RDF tree into {prefixed name: value}."""

    def __init__(self, prefixes: Mapping[str, str], budget: _Budget) -> None:
        self.prefixes = prefixes
        self.budget = budget

    def key(self, qname: str) -> str:
        if qname.startswith("{"):
            uri, _, local = qname[1:].partition("}")
            prefix = KNOWN_NAMESPACES.get(uri) or self.prefixes.get(uri)
            return f"{prefix}:{local}" if prefix else qname
        return qname

    def description(self, desc: ET.Element, out: dict[str, Any], depth: int) -> None:
        """Properties of one rdf:Description (attributes and child elements) into ``out``."""
        for name, value in desc.attrib.items():
            if name.startswith("{" + RDF + "}") or name.startswith("{" + XML_NS + "}") or "{" not in name:
                continue
            self._put(out, self.key(name), value)
        for child in desc:
            if not isinstance(child.tag, str):
                continue
            key = self.key(child.tag)
            self._put(out, key, self.value(child, depth + 1, key))

    def _put(self, out: dict[str, Any], key: str, value: Any) -> None:
        if key in out:
            return  # first one wins (a later rdf:Description repeating a property)
        self.budget.properties += 1
        if self.budget.properties > MAX_PROPERTIES:
            self.budget.note(f"more than {MAX_PROPERTIES} properties: the rest are not kept")
            return
        out[key] = value if not isinstance(value, str) else _bounded_text(value, self.budget, key)

    def value(self, elem: ET.Element, depth: int, key: str) -> Any:
        """The value of a property element (or rdf:li): text, list or structure."""
        if depth > MAX_DEPTH:
            self.budget.note(f"{key}: nested deeper than {MAX_DEPTH} levels, not kept")
            return None
        resource = elem.get(f"{{{RDF}}}resource")
        if resource is not None:
            return resource
        children = [c for c in elem if isinstance(c.tag, str)]
        if elem.get(f"{{{RDF}}}parseType") == "Resource":
            struct: dict[str, Any] = {}
            self.description(elem, struct, depth)
            return struct
        if len(children) == 1 and children[0].tag in (f"{{{RDF}}}Seq", f"{{{RDF}}}Bag", f"{{{RDF}}}Alt"):
            items: list[Any] = []
            for li in children[0]:
                if li.tag != f"{{{RDF}}}li":
                    continue
                if len(items) >= MAX_ITEMS:
                    self.budget.note(f"{key}: more than {MAX_ITEMS} items, the rest not kept")
                    break
                v = self.value(li, depth + 1, key)
                items.append(_bounded_text(v, self.budget, key) if isinstance(v, str) else v)
            return items
        if len(children) == 1 and children[0].tag == f"{{{RDF}}}Description":
            struct = {}
            self.description(children[0], struct, depth)
            return struct
        if children:
            # Unusual but legal-looking: element content without an rdf container.
            struct = {}
            self.description(elem, struct, depth)
            return struct
        shorthand = {k: v for k, v in elem.attrib.items() if "{" in k and not k.startswith(("{" + RDF, "{" + XML_NS))}
        if shorthand:
            struct = {}
            self.description(elem, struct, depth)
            return struct
        return elem.text or ""


def _prefixes(data: bytes) -> dict[str, str]:
    """Namespace URI -> the prefix the document declared (for namespaces we do not know)."""
    out: dict[str, str] = {}
    used = set(KNOWN_NAMESPACES.values())
    for m in _XMLNS_DECL.finditer(data[: safexml.MAX_BYTES]):
        prefix = m.group(1).decode("ascii", "replace")
        uri = m.group(2).decode("utf-8", "replace")
        if uri in KNOWN_NAMESPACES or uri in out or prefix in used:
            continue
        out[uri] = prefix
        used.add(prefix)
    return out


def parse_properties(data: bytes) -> tuple[dict[str, Any], list[str], str | None]:
    """Parse one packet: (properties, notes about bounds, fatal error text or None)."""
    packet = trim_packet(data)
    budget = _Budget()
    try:
        root = safexml.parse(packet)
    except safexml.UnsafeXMLError as exc:
        return {}, [], f"XMP packet refused: {exc}"
    except safexml.XMLSyntaxError as exc:
        return {}, [], f"XMP packet not well-formed: {exc}"
    props: dict[str, Any] = {}
    walker = _Walker(_prefixes(packet), budget)
    rdfs = [root] if root.tag == f"{{{RDF}}}RDF" else list(root.iter(f"{{{RDF}}}RDF"))
    if not rdfs:
        return {}, [], "XMP packet has no rdf:RDF element"
    for rdf in rdfs[:4]:
        for desc in rdf:
            if desc.tag == f"{{{RDF}}}Description":
                walker.description(desc, props, 0)
            elif isinstance(desc.tag, str):
                # A typed node (<ns:Type rdf:about="">) is a description with an rdf:type.
                walker.description(desc, props, 0)
    return props, budget.notes, None


def _text(props: Mapping[str, Any], key: str) -> str | None:
    v = props.get(key)
    if isinstance(v, list):
        v = v[0] if v and isinstance(v[0], str) else None
    if not isinstance(v, str):
        return None
    s = clean_text(v)
    return s or None


#: A number of the DMS form: at most 30 digits either side of the point. Longer is not a
#: coordinate, and Python refuses to turn over 4,300 digits into an int (a ValueError out
#: of Fraction(), found by fuzz/).
_DMS_NUMBER = r"(\d{1,30}(?:\.\d{1,30})?)"
_DMS = re.compile(rf"^\s*{_DMS_NUMBER}(?:\s*,\s*{_DMS_NUMBER})?(?:\s*,\s*{_DMS_NUMBER})?\s*([NSEWnsew])?\s*$")
_SIGNED = re.compile(r"^\s*([+\-]?\d+(?:\.\d+)?)\s*$")


def xmp_coordinate(text: str, positive: str, negative: str, limit: float, what: str) -> float:
    """XMP GPSCoordinate (``DDD,MM,SSk`` or ``DDD,MM.mmk``; also plain decimal) -> degrees."""
    m = _DMS.match(text)
    if m and m.group(4):
        deg, mins, secs = (Fraction(g) if g else Fraction(0) for g in m.group(1, 2, 3))
        if mins >= 60 or secs >= 60:
            raise GeoError(f"{what}: minutes/seconds out of range in {text!r}")
        if deg > limit:  # before float(): a 400-digit degree overflows it (found by fuzz/)
            raise GeoError(f"{what}: degrees out of range in {text[:60]!r}")
        value = float(deg + mins / 60 + secs / 3600)
        return signed(value, m.group(4), positive, negative, limit, what)
    m2 = _SIGNED.match(text)
    if m2:
        value = float(m2.group(1))
        if abs(value) > limit:
            raise GeoError(f"{what}: {value} is outside ±{limit}")
        return value
    raise GeoError(f"{what}: not a coordinate: {text[:60]!r}")


def _rational(text: str, what: str) -> Rational:
    t = text.strip()
    try:
        if "/" in t:
            num, den = t.split("/", 1)
            r = Rational(int(num), int(den))
        else:
            f = Fraction(t)
            r = Rational(f.numerator, f.denominator)
    except (ValueError, ZeroDivisionError):
        raise GeoError(f"{what}: not a number: {text[:60]!r}") from None
    # A 400-digit value would overflow float() later (found by fuzz/); EXIF stores 32 bits.
    if r.num.bit_length() > 64 or r.den.bit_length() > 64:
        raise GeoError(f"{what}: number too large: {text[:60]!r}")
    return r


def _gps(props: Mapping[str, Any], source: str) -> tuple[GeoPoint | None, list[str], Timestamp | None]:
    lat_t, lon_t = _text(props, "exif:GPSLatitude"), _text(props, "exif:GPSLongitude")
    notes: list[str] = []
    gps_ts: Timestamp | None = None
    stamp = _text(props, "exif:GPSTimeStamp")
    if stamp:
        try:
            gps_ts = make_iso_timestamp("GPSDateTime", source, stamp)
        except TimeParseError as exc:
            notes.append(str(exc))
    if lat_t is None and lon_t is None:
        return None, notes, gps_ts
    try:
        if lat_t is None or lon_t is None:
            raise GeoError("latitude or longitude missing")
        lat = xmp_coordinate(lat_t, "N", "S", 90.0, "GPSLatitude")
        lon = xmp_coordinate(lon_t, "E", "W", 180.0, "GPSLongitude")
    except GeoError as exc:
        notes.append(f"GPS position rejected: {exc}")
        return None, notes, gps_ts
    alt = None
    alt_t = _text(props, "exif:GPSAltitude")
    if alt_t:
        try:
            alt = altitude_m(_rational(alt_t, "GPSAltitude"), _text(props, "exif:GPSAltitudeRef"))
        except GeoError as exc:
            notes.append(f"GPS altitude rejected: {exc}")
    raw = {k.split(":", 1)[1]: v for k, v in props.items() if k.startswith("exif:GPS")}
    point = GeoPoint(
        latitude=round(lat, 8),
        longitude=round(lon, 8),
        altitude=round(alt, 3) if alt is not None else None,
        timestamp_utc=gps_ts.utc if gps_ts is not None else None,
        source=source,
        raw=raw,
    )
    return point, notes, gps_ts


def source_type_finding(value: str, said_by: str, prop: str) -> Finding | None:
    """The finding for an IPTC digital source type (a term or its URL) that declares
    AI-generated or synthetic media, else None. ``said_by`` begins the message (``XMP
    Iptc4xmpExt:DigitalSourceType``, ``C2PA action c2pa.created``); ``prop`` names where
    the value was, in the finding's evidence. XMP and C2PA both declare it."""
    term = value.rstrip("/").rsplit("/", 1)[-1].strip().lower()
    if term in AI_SOURCE_TYPES:
        code, what = "ai-generated", "media made by a trained algorithm (generative AI)"
    elif term in SYNTHETIC_SOURCE_TYPES:
        code, what = "synthetic-media", "algorithmic or synthetic media"
    else:
        return None
    return Finding(code, "notice", f"{said_by} declares {what}: {value}", {"property": prop, "value": value})


def source_type_findings(props: Mapping[str, Any]) -> list[Finding]:
    """A finding when the XMP's IPTC digital source type declares AI-generated or synthetic media."""
    out: list[Finding] = []
    for key in ("Iptc4xmpExt:DigitalSourceType", "plus:DigitalSourceType"):
        value = _text(props, key)
        found = source_type_finding(value, f"XMP {key}", key) if value else None
        if found is not None:
            out.append(found)
    return out


def interpret(
    props: Mapping[str, Any], *, extractor: str = NAME, source: str = NAME
) -> tuple[list[Timestamp], GeoPoint | None, Device | None, list[Finding], list[Problem]]:
    """Timestamps, GPS, device and findings from parsed XMP properties."""
    problems: list[Problem] = []
    timestamps: list[Timestamp] = []
    for key, name in DATE_PROPERTIES:
        text = _text(props, key)
        if text is None:
            continue
        try:
            ts = make_iso_timestamp(name, source, text)
        except TimeParseError as exc:
            problems.append(problem(extractor, f"XMP {key}: {exc}"))
            continue
        if ts is not None:
            timestamps.append(ts)
    gps, notes, gps_ts = _gps(props, source)
    if gps_ts is not None:
        timestamps.append(gps_ts)
    problems.extend(problem(extractor, f"XMP: {n}") for n in notes)
    dev = {f: next((v for v in (_text(props, k) for k in keys) if v), None) for f, keys in DEVICE_PROPERTIES.items()}
    device = Device(**dev, source=source) if any(dev.values()) else None
    return timestamps, gps, device, source_type_findings(props), problems


def parse_packet(data: bytes, *, extractor: str = NAME) -> Extraction:
    """Parse one XMP packet (bytes as stored) into an Extraction of group ``xmp``.

    Never raises for bad content: a refused (DTD/entities) or malformed packet gives an
    Extraction with no tags and one problem. ``extractor`` names the caller for the
    problems' stage (``metadata:<extractor>``); timestamps, GPS and device carry the
    source ``xmp`` whoever calls.
    """
    props, notes, fatal = parse_properties(data)
    if fatal is not None:
        return Extraction(extractor=extractor, group=NAME, problems=(problem(extractor, fatal, type="BadXMP"),))
    return build_extraction(props, notes, extractor=extractor)


def build_extraction(props: Mapping[str, Any], notes: Iterable[str] = (), *, extractor: str = NAME) -> Extraction:
    """The Extraction for already parsed properties (used after merging ExtendedXMP)."""
    timestamps, gps, device, findings, problems = interpret(props, extractor=extractor)
    problems = [problem(extractor, f"XMP: {n}", type="Truncated") for n in notes] + problems
    return Extraction(
        extractor=extractor,
        group=NAME,
        tags=dict(props),
        timestamps=tuple(timestamps),
        gps=gps,
        device=device,
        findings=tuple(findings),
        problems=tuple(problems),
    )


#: Types whose own extractor finds their XMP and calls parse_packet (PDF, ISO-BMFF/HEIF),
#: and archives, whose members' packets are not the archive's own: never scanned here.
XMP_ELSEWHERE = (
    HEIF_MIME_TYPES
    | ISO_MEDIA_MIME_TYPES
    | {
        "application/pdf",
        "application/zip",
        "application/x-tar",
        "application/gzip",
        "application/x-7z-compressed",
        "application/x-rar",
        "application/vnd.rar",
        "application/java-archive",
    }
)
#: The fallback scan reads at most this much of the start of a file.
SCAN_LIMIT = 4 * 1024 * 1024
#: Largest ExtendedXMP we reassemble.
MAX_EXTENDED = 16 * 1024 * 1024
GIF_XMP_ID = b"XMP DataXMP"
_SCAN_MARKERS = (b"<?xpacket begin", b"<x:xmpmeta", b"<x:xapmeta")
#: First bytes of JPEG, PNG, RIFF/WebP, TIFF (II/MM), PSD and GIF.
_CONTAINER_FIRST_BYTES = b"\xff\x89RIM8G"


def _read_upto(ctx: FileContext, limit: int) -> bytes:
    if ctx.content is not None:
        return ctx.content[:limit]
    with ctx.open() as fh:
        return fh.read(limit)


def _extended_xmp(walked: jpeg.JpegWalk, guid: str | None, notes: list[str]) -> bytes | None:
    """Reassemble the ExtendedXMP chunks (APP1 ``http://ns.adobe.com/xmp/extension/``)."""
    parts: dict[str, list[tuple[int, int, bytes]]] = {}
    for seg in walked.app(jpeg.APP1, jpeg.XMP_EXT_ID):
        body = (seg.payload or b"")[len(jpeg.XMP_EXT_ID) :]
        if len(body) < 40:
            notes.append("ExtendedXMP segment too short")
            continue
        g = body[:32].decode("latin-1")
        full, off = struct.unpack(">II", body[32:40])
        parts.setdefault(g, []).append((full, off, body[40:]))
    if not parts:
        return None
    if guid is None or guid not in parts:
        notes.append("ExtendedXMP segments whose GUID the main packet does not name were ignored")
        return None
    chunks = parts[guid]
    full = chunks[0][0]
    if full > MAX_EXTENDED:
        notes.append(f"ExtendedXMP of {full} bytes exceeds {MAX_EXTENDED}; not read")
        return None
    buf = bytearray(full)
    covered = 0
    for f, off, data in chunks:
        if f != full or off + len(data) > full:
            notes.append("ExtendedXMP chunk with an inconsistent length or offset ignored")
            continue
        buf[off : off + len(data)] = data
        covered += len(data)
    if covered < full:
        notes.append(f"ExtendedXMP incomplete: {covered} of {full} bytes present")
    return bytes(buf)


def find_packets(ctx: FileContext) -> tuple[bytes | None, bytes | None, list[str]]:
    """(main packet, ExtendedXMP, notes) of a file, by its container; (None, None, []) when none."""
    head = ctx.head
    notes: list[str] = []
    mime = ctx.file_type.mime or ""
    if head[:1] not in _CONTAINER_FIRST_BYTES:
        # Every container below starts with one of these bytes: text (most small
        # files) skips their six signature checks.
        return _scan_for_packet(ctx, mime, notes)
    if jpeg.is_jpeg(head):
        with ctx.open() as fh:
            walked = ctx.jpeg_walk(fh)
        segs = walked.app(jpeg.APP1, jpeg.XMP_ID)
        main = (segs[0].payload or b"")[len(jpeg.XMP_ID) :] if segs else None
        if main is None:
            return None, None, notes
        m = re.search(rb"HasExtendedXMP\s*=\s*[\"']([0-9A-Fa-f]{32})[\"']", main) or re.search(
            rb"HasExtendedXMP>\s*([0-9A-Fa-f]{32})\s*<", main
        )
        guid = m.group(1).decode("ascii") if m else None
        return main, _extended_xmp(walked, guid, notes), notes
    if pngfmt.is_png(head):
        with ctx.open() as fh:
            pw = ctx.png_walk(fh)
        budget = pngfmt.InflateBudget()
        for c in pw.chunks:
            t = pngfmt.decode_text(c, budget)
            if t is None:
                continue
            if t.keyword == "XML:com.adobe.xmp" and t.text:
                return t.text.encode("utf-8"), None, notes
            if t.keyword.lower() == "raw profile type xmp":
                blob = pngfmt.raw_profile(t.text)
                if blob:
                    return blob, None, notes
        return None, None, notes
    if riff.is_webp(head):
        with ctx.open() as fh:
            rw = riff.walk(fh, read=frozenset({b"XMP "}))
        chunk = rw.first(b"XMP ")
        return (chunk.data if chunk is not None else None), None, notes
    if tiff.is_tiff(head):
        with ctx.open() as fh:
            ifd = tiff.first_ifd(fh)
            entry = ifd.entries.get(tiff.TAG_XMP)
            data = tiff.read_value(fh, entry, notes) if entry is not None else None
        return data, None, notes
    if head[:4] == b"8BPS":
        with ctx.open() as fh:
            res = photoshop.from_psd(fh)
        r = res.first(photoshop.XMP) if res is not None else None
        return (r.data if r is not None else None), None, notes
    if head[:6] in (b"GIF87a", b"GIF89a"):
        data = ctx.content if ctx.content is not None else _read_upto(ctx, SCAN_LIMIT)
        i = data.find(GIF_XMP_ID)
        # The packet is stored raw after the identifier; trim_packet cuts its end.
        return (data[i + len(GIF_XMP_ID) : i + len(GIF_XMP_ID) + safexml.MAX_BYTES] if i >= 0 else None), None, notes
    return _scan_for_packet(ctx, mime, notes)


def _scan_for_packet(ctx: FileContext, mime: str, notes: list[str]) -> tuple[bytes | None, bytes | None, list[str]]:
    """The bounded scan for a packet marker, for any type without a container reader here."""
    if mime in XMP_ELSEWHERE or mime.startswith("application/vnd.openxmlformats") or "opendocument" in mime:
        return None, None, notes
    data = _read_upto(ctx, SCAN_LIMIT)
    if b"<" not in data:  # every marker starts with "<": one pass instead of three or four
        return None, None, notes
    markers = _SCAN_MARKERS + ((b"<rdf:RDF",) if ctx.rel_path.lower().endswith(".xmp") else ())
    hits = [i for i in (data.find(m) for m in markers) if i >= 0]
    if not hits:
        return None, None, notes
    return data[min(hits) :], None, notes


@register
class XmpExtractor:
    name = NAME
    description = "XMP packets (JPEG+ExtendedXMP, PNG, WebP, TIFF, GIF, PSD, sidecar .xmp, others by a bounded scan)"
    mime_types: frozenset[str] = frozenset()

    def extract(self, ctx: FileContext) -> Extraction:
        main, extended, notes = find_packets(ctx)
        if main is None:
            if notes:
                return Extraction(self.name, self.name, problems=tuple(problem(self.name, n) for n in notes))
            return Extraction(self.name, self.name)  # no packet: nothing to say, not damage
        props, bound_notes, fatal = parse_properties(main)
        problems = [problem(self.name, n) for n in notes]
        if fatal is not None:
            problems.append(problem(self.name, fatal, type="BadXMP"))
            return Extraction(self.name, self.name, problems=tuple(problems))
        if extended is not None:
            ext_props, ext_notes, ext_fatal = parse_properties(extended)
            if ext_fatal is not None:
                problems.append(problem(self.name, f"ExtendedXMP: {ext_fatal}", type="BadXMP"))
            for k, v in ext_props.items():
                props.setdefault(k, v)
            bound_notes = bound_notes + ext_notes
        ex = build_extraction(props, bound_notes, extractor=self.name)
        return replace(ex, problems=tuple(problems) + ex.problems)
