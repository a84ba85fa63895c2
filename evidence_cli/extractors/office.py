"""Office documents: OOXML (docx/xlsx/pptx and macro variants) and OpenDocument (odt/ods/odp ...).

Both are zip packages. The zip is read by our own bounded reader, never by trusting its
numbers: at most :data:`MAX_MEMBERS` members, a central directory of at most
:data:`MAX_CD_BYTES`, only the few XML parts we need, each inflated in chunks up to
:data:`MAX_PART` bytes with a compression-ratio guard (a zip bomb is a problem, found
before memory grows), CRC-checked. Nested archives are never opened. When the central
directory is missing (a truncated or carved file), the local headers are walked instead.

XML goes only through :func:`evidence_cli.safexml.parse` (no DTD, no entities).

* OOXML: ``docProps/core.xml`` (found through ``_rels/.rels``) gives ``dcterms:created``
  -> ``CreateDate``, ``dcterms:modified`` -> ``ModifyDate``, ``cp:lastPrinted`` ->
  ``LastPrinted``, and creator/last-modified-by/revision/title...; ``docProps/app.xml``
  gives ``Application`` (the device's software), ``AppVersion``, ``Company``,
  ``TotalTime``, ``Template``...; ``docProps/custom.xml`` the custom properties.
* OpenDocument: ``meta.xml`` gives ``meta:creation-date`` -> ``CreateDate``, ``dc:date`` ->
  ``ModifyDate``, ``meta:print-date`` -> ``LastPrinted``, ``meta:generator`` (software),
  ``meta:initial-creator``, ``dc:creator``, ``meta:editing-cycles``, ``meta:editing-duration``...

Tags keep the part's own qualified names (``dc:creator``, ``cp:revision``, ``Application``)
and the stored text. A document that says it was created after it was last modified
gets the finding ``office-time-inconsistent``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from evidence_cli import safexml
from evidence_cli.errors import UnsupportedFile
from evidence_cli.extractors.base import FileContext, problem, register
from evidence_cli.formats import zip as zipfmt
from evidence_cli.formats.zip import Member, Reader, ZipDamage
from evidence_cli.models import Device, Extraction, Finding, Problem, Timestamp
from evidence_cli.timeparse import TimeParseError, make_iso_timestamp, parse_iso

NAME = "office"

OOXML_TYPES = frozenset(
    {
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.template",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.openxmlformats-officedocument.presentationml.template",
        "application/vnd.openxmlformats-officedocument.presentationml.slideshow",
        "application/vnd.ms-word.document.macroenabled.12",
        "application/vnd.ms-word.template.macroenabled.12",
        "application/vnd.ms-excel.sheet.macroenabled.12",
        "application/vnd.ms-excel.template.macroenabled.12",
        "application/vnd.ms-excel.sheet.binary.macroenabled.12",
        "application/vnd.ms-powerpoint.presentation.macroenabled.12",
        "application/vnd.ms-powerpoint.slideshow.macroenabled.12",
        "application/vnd.ms-powerpoint.template.macroenabled.12",
    }
)
ODF_TYPES = frozenset(
    "application/vnd.oasis.opendocument." + k
    for k in (
        "text",
        "text-template",
        "text-master",
        "text-web",
        "spreadsheet",
        "spreadsheet-template",
        "presentation",
        "presentation-template",
        "graphics",
        "graphics-template",
        "chart",
        "formula",
        "database",
        "image",
    )
)
#: Declared office types (libmagic's spelling varies in case for the macro variants).
OFFICE_TYPES = OOXML_TYPES | ODF_TYPES | frozenset(t.replace("macroenabled", "macroEnabled") for t in OOXML_TYPES)
#: Generic types a package may arrive as: sniffed, and left alone (no problem) when not a document.
SNIFF_TYPES = frozenset(
    {"application/zip", "application/x-zip-compressed", "application/x-zip", "application/octet-stream"}
)

#: Bounds. A package is hostile input like any other.
MAX_MEMBERS = zipfmt.MAX_MEMBERS
MAX_CD_BYTES = zipfmt.MAX_CD_BYTES
MAX_PART = 8 * 1024 * 1024
"""Largest decompressed XML part we read."""
MAX_PART_COMPRESSED = 16 * 1024 * 1024
#: Inflating stops as a suspected bomb once the output passes RATIO_FLOOR bytes at a
#: ratio above MAX_RATIO (XML compresses well, but not 200:1 at this size).
MAX_RATIO = 200
RATIO_FLOOR = 1024 * 1024
MAX_TEXT = 65_536
MAX_CUSTOM = 1_000
MAX_LIST = 1_000


#: Conventional prefixes for the namespaces of the metadata parts.
NAMESPACES = {
    "http://schemas.openxmlformats.org/package/2006/metadata/core-properties": "cp",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://purl.org/dc/terms/": "dcterms",
    "http://purl.org/dc/dcmitype/": "dcmitype",
    "http://www.w3.org/2001/XMLSchema-instance": "xsi",
    "urn:oasis:names:tc:opendocument:xmlns:meta:1.0": "meta",
    "urn:oasis:names:tc:opendocument:xmlns:office:1.0": "office",
    "http://www.w3.org/1999/xlink": "xlink",
}
REL_CORE = "/metadata/core-properties"
REL_APP = "/extended-properties"
REL_CUSTOM = "/custom-properties"
REL_MAIN = "/officeDocument"
#: Relationship type endings (transitional and Strict OOXML spellings) -> which part.
REL_SUFFIXES = {
    "/metadata/core-properties": REL_CORE,
    "/extended-properties": REL_APP,
    "/extendedProperties": REL_APP,
    "/custom-properties": REL_CUSTOM,
    "/customProperties": REL_CUSTOM,
    "/officeDocument": REL_MAIN,
}

#: (tag key, timestamp name) for each format.
OOXML_DATES = (("dcterms:created", "CreateDate"), ("dcterms:modified", "ModifyDate"), ("cp:lastPrinted", "LastPrinted"))
ODF_DATES = (("meta:creation-date", "CreateDate"), ("dc:date", "ModifyDate"), ("meta:print-date", "LastPrinted"))


def read_member(r: Reader, m: Member, cap: int | None = None) -> bytes:
    """One part, whole and CRC-checked, within this reader's bounds. Raises ZipDamage."""
    return zipfmt.read_member(
        r,
        m,
        MAX_PART if cap is None else cap,
        max_compressed=MAX_PART_COMPRESSED,
        max_ratio=MAX_RATIO,
        ratio_floor=RATIO_FLOOR,
    )


# ----------------------------------------------------------------------------------------
# XML parts


def _qkey(tag: str) -> str:
    """``{uri}local`` -> ``prefix:local`` for known namespaces, else ``local``."""
    if tag.startswith("{"):
        uri, local = tag[1:].split("}", 1)
        prefix = NAMESPACES.get(uri)
        return f"{prefix}:{local}" if prefix else local
    return tag


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class _Out:
    def __init__(self) -> None:
        self.tags: dict[str, Any] = {}
        """Values read from the package's XML parts, keyed by their own names."""
        self.derived: dict[str, Any] = {}
        """What we say about the package (Format, Members ...): never overwritten by a part."""
        self.problems: list[Problem] = []
        self.timestamps: list[Timestamp] = []
        self.findings: list[Finding] = []
        self.cut: list[str] = []

    def warn(self, message: str, type: str = "Damaged") -> None:
        self.problems.append(problem(NAME, message, type=type))

    def text(self, key: str, value: str | None) -> str:
        value = value or ""
        if len(value) > MAX_TEXT:
            self.cut.append(key)
            value = value[:MAX_TEXT]
        return value


def _leaf_texts(elem: ET.Element, out: _Out, key: str) -> list[str]:
    vals: list[str] = []
    for e in elem.iter():
        if len(e) == 0 and e is not elem:
            vals.append(out.text(key, e.text))
            if len(vals) >= MAX_LIST:
                break
    return vals


def _parse_xml(data: bytes, part: str, out: _Out) -> ET.Element | None:
    try:
        return safexml.parse(data)
    except safexml.UnsafeXMLError as exc:
        out.warn(f"{part}: refused: {exc}", type="UnsafeXML")
    except safexml.XMLSyntaxError as exc:
        out.warn(f"{part}: {exc}", type="BadXML")
    return None


def _simple_children(root: ET.Element, out: _Out, *, plain: bool = False) -> None:
    """Each child element of ``root`` as a tag (text, or list of leaf texts)."""
    for child in root:
        key = _local(child.tag) if plain else _qkey(child.tag)
        if len(child):
            out.tags[key] = _leaf_texts(child, out, key)
        else:
            out.tags[key] = out.text(key, child.text)


def _rels(r: Reader, by_name: dict[str, Member], out: _Out) -> dict[str, str]:
    """Package relationships: type suffix -> part name."""
    m = by_name.get("_rels/.rels")
    if m is None:
        return {}
    try:
        root = _parse_xml(read_member(r, m), "_rels/.rels", out)
    except ZipDamage as exc:
        out.warn(str(exc))
        return {}
    found: dict[str, str] = {}
    if root is None:
        return found
    for rel in root:
        rtype = rel.get("Type") or ""
        target = (rel.get("Target") or "").removeprefix("./").lstrip("/")
        if rel.get("TargetMode") == "External" or not target:
            continue
        for suffix, part in REL_SUFFIXES.items():
            if rtype.endswith(suffix) and part not in found:
                found[part] = target
    return found


def _read_part(r: Reader, by_name: dict[str, Member], name: str, out: _Out) -> ET.Element | None:
    m = by_name.get(name)
    if m is None:
        return None
    try:
        data = read_member(r, m)
    except ZipDamage as exc:
        out.warn(str(exc), type="ZipDamage")
        return None
    return _parse_xml(data, name, out)


def _ooxml(r: Reader, by_name: dict[str, Member], out: _Out) -> str | None:
    rels = _rels(r, by_name, out)
    core_name = rels.get(REL_CORE, "docProps/core.xml")
    app_name = rels.get(REL_APP, "docProps/app.xml")
    custom_name = rels.get(REL_CUSTOM, "docProps/custom.xml")
    core = _read_part(r, by_name, core_name, out)
    if core is not None:
        _simple_children(core, out)
    app = _read_part(r, by_name, app_name, out)
    if app is not None:
        _simple_children(app, out, plain=True)
    custom = _read_part(r, by_name, custom_name, out)
    if custom is not None:
        for prop in list(custom)[:MAX_CUSTOM]:
            pname = prop.get("name")
            if pname is None:
                continue
            key = f"custom:{pname}"
            out.tags[key] = out.text(key, next((c.text for c in prop), None))
    main = rels.get(REL_MAIN)
    if main is not None:
        out.derived["MainPart"] = main
        ctypes = _read_part(r, by_name, "[Content_Types].xml", out)
        if ctypes is not None:
            for ov in ctypes:
                if _local(ov.tag) == "Override" and (ov.get("PartName") or "").lstrip("/") == main:
                    out.derived["MainContentType"] = ov.get("ContentType")
                    break
    if any(n.lower().endswith("vbaproject.bin") for n in by_name):
        out.derived["HasMacros"] = True
    if core is None and app is None:
        out.warn("no document properties (docProps/core.xml, docProps/app.xml)", type="NoMetadata")
    for key, name in OOXML_DATES:
        _timestamp(out, key, name)
    app_name_v = out.tags.get("Application")
    return app_name_v.strip() if isinstance(app_name_v, str) and app_name_v.strip() else None


def _odf(r: Reader, by_name: dict[str, Member], out: _Out, mimetype: str | None) -> str | None:
    if mimetype:
        out.derived["mimetype"] = mimetype
    root = _read_part(r, by_name, "meta.xml", out)
    if root is None:
        if "meta.xml" not in by_name:
            out.warn("no meta.xml", type="NoMetadata")
        return None
    meta = next((c for c in root if _local(c.tag) == "meta"), None)
    if meta is None:
        out.warn("meta.xml has no office:meta element", type="NoMetadata")
        return None
    for child in meta:
        key = _qkey(child.tag)
        if key == "meta:user-defined":
            uname = child.get(f"{{{_ns('meta')}}}name")
            if uname is not None:
                ukey = f"meta:user-defined:{uname}"
                out.tags[ukey] = out.text(ukey, child.text)
            continue
        if child.attrib and not (child.text or "").strip():
            out.tags[key] = {_qkey(k): out.text(key, v) for k, v in list(child.attrib.items())[:MAX_LIST]}
        elif key == "meta:keyword":
            out.tags.setdefault(key, [])
            if isinstance(out.tags[key], list) and len(out.tags[key]) < MAX_LIST:
                out.tags[key].append(out.text(key, child.text))
        else:
            out.tags[key] = out.text(key, child.text)
    for key, name in ODF_DATES:
        _timestamp(out, key, name)
    gen = out.tags.get("meta:generator")
    return gen.strip() if isinstance(gen, str) and gen.strip() else None


def _ns(prefix: str) -> str:
    return next(uri for uri, p in NAMESPACES.items() if p == prefix)


def _timestamp(out: _Out, key: str, name: str) -> None:
    raw = out.tags.get(key)
    if not isinstance(raw, str):
        return
    try:
        ts = make_iso_timestamp(name, NAME, raw)
    except TimeParseError as exc:
        out.warn(f"{key}: {exc}", type="BadDate")
        return
    if ts is not None:
        out.timestamps.append(ts)


def _time_findings(out: _Out) -> None:
    by_name = {t.name: t for t in out.timestamps}
    c, m = by_name.get("CreateDate"), by_name.get("ModifyDate")
    if c is None or m is None or (c.utc is None) != (m.utc is None):
        return
    try:
        later = parse_iso(c.utc or c.value) > parse_iso(m.utc or m.value)
    except ValueError:
        return
    if later:
        out.findings.append(
            Finding(
                "office-time-inconsistent",
                "notice",
                "the document says it was created after it was last modified",
                {"CreateDate": c.raw, "ModifyDate": m.raw},
            )
        )


def _kind(r: Reader, by_name: dict[str, Member], out: _Out) -> tuple[str | None, str | None]:
    """("ooxml" | "odf" | None, ODF mimetype text)."""
    if "[Content_Types].xml" in by_name:
        return "ooxml", None
    m = by_name.get("mimetype")
    mimetype: str | None = None
    if m is not None and m.usize <= 256:
        try:
            mimetype = read_member(r, m, cap=256).decode("ascii", "replace").strip()
        except ZipDamage as exc:
            out.warn(str(exc), type="ZipDamage")
    if (mimetype or "").startswith("application/vnd.oasis.opendocument") or (
        "meta.xml" in by_name and "META-INF/manifest.xml" in by_name
    ):
        return "odf", mimetype
    return None, mimetype


@register
class OfficeExtractor:
    name = NAME
    description = "OOXML (docx/xlsx/pptx) and OpenDocument properties: dates, authors, application"
    mime_types = OFFICE_TYPES | SNIFF_TYPES

    def extract(self, ctx: FileContext) -> Extraction:
        declared = ctx.file_type.mime or ""
        if not ctx.head.startswith(b"PK"):
            if declared in SNIFF_TYPES:
                return Extraction(extractor=self.name, group=self.name)  # not a zip: not ours, nothing to say
            raise UnsupportedFile("not a zip package")
        if ctx.content is not None:
            return self._run(Reader(ctx.content, None, len(ctx.content)), declared)
        with ctx.open() as fh:
            return self._run(Reader(None, fh, ctx.size), declared)

    def _run(self, r: Reader, declared: str) -> Extraction:
        out = _Out()
        try:
            members = zipfmt.read_directory(r, max_members=MAX_MEMBERS, max_cd_bytes=MAX_CD_BYTES).members
        except ZipDamage as exc:
            if "members (over" in str(exc) or "central directory of" in str(exc):
                out.warn(str(exc), type="LimitReached")
                return self._result(out, None)
            members, why = zipfmt.walk_local_headers(r, max_members=MAX_MEMBERS, max_unsized=MAX_PART)
            out.warn(f"{exc}; {len(members)} member(s) found by walking local headers", type="ZipDamage")
            if why:
                out.warn(why, type="ZipDamage")
        by_name: dict[str, Member] = {}
        dups: set[str] = set()
        for m in members:
            if m.name in by_name:
                dups.add(m.name)
                continue  # the first wins; readers disagree, so say so
            by_name[m.name] = m
        if dups:
            shown = ", ".join(sorted(dups)[:5])
            out.warn(f"{len(dups)} member name(s) stored twice (readers may disagree): {shown}", type="ZipDamage")
        kind, mimetype = _kind(r, by_name, out)
        if kind is None:
            if declared in SNIFF_TYPES:
                return Extraction(extractor=self.name, group=self.name)  # an ordinary zip
            raise UnsupportedFile("zip package without [Content_Types].xml or an OpenDocument mimetype")
        out.derived["Format"] = "OOXML" if kind == "ooxml" else "OpenDocument"
        out.derived["Members"] = len(members)
        software = _ooxml(r, by_name, out) if kind == "ooxml" else _odf(r, by_name, out, mimetype)
        _time_findings(out)
        if out.cut:
            out.warn(f"values longer than {MAX_TEXT} characters cut: {', '.join(sorted(set(out.cut)))}")
        return self._result(out, software)

    def _result(self, out: _Out, software: str | None) -> Extraction:
        tags = {(f"part:{k}" if k in out.derived or k.startswith("part:") else k): v for k, v in out.tags.items()}
        tags.update(out.derived)
        return Extraction(
            extractor=self.name,
            group=self.name,
            tags=tags,
            timestamps=tuple(out.timestamps),
            device=Device(software=software, source=NAME) if software else None,
            problems=tuple(out.problems),
            findings=tuple(out.findings),
        )
