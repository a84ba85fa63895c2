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

import struct
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass
from typing import Any, BinaryIO

from evidence_cli import safexml
from evidence_cli.errors import UnsupportedFile
from evidence_cli.extractors.base import FileContext, problem, register
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
MAX_MEMBERS = 10_000
MAX_CD_BYTES = 8 * 1024 * 1024
MAX_PART = 8 * 1024 * 1024
"""Largest decompressed XML part we read."""
MAX_PART_COMPRESSED = 16 * 1024 * 1024
#: Inflating stops as a suspected bomb once the output passes RATIO_FLOOR bytes at a
#: ratio above MAX_RATIO (XML compresses well, but not 200:1 at this size).
MAX_RATIO = 200
RATIO_FLOOR = 1024 * 1024
CHUNK = 64 * 1024
MAX_TEXT = 65_536
MAX_CUSTOM = 1_000
MAX_LIST = 1_000
EOCD_SEARCH = 22 + 65_535

_SIG_LOCAL = b"PK\x03\x04"
_SIG_CD = b"PK\x01\x02"
_SIG_EOCD = b"PK\x05\x06"
_SIG_Z64_LOC = b"PK\x06\x07"
_SIG_Z64_EOCD = b"PK\x06\x06"

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


class ZipDamage(Exception):
    """The package's zip structure is damaged or over a bound (message says which)."""


@dataclass(frozen=True)
class Member:
    name: str
    method: int
    flags: int
    crc: int
    csize: int
    usize: int
    offset: int
    """Offset of the local header (corrected for bytes prepended to the archive)."""


class _Reader:
    """Bounded random access to the package bytes (in memory or a file)."""

    def __init__(self, data: bytes | None, fh: BinaryIO | None, size: int) -> None:
        self.data, self.fh, self.size = data, fh, size

    def read(self, offset: int, n: int) -> bytes:
        if offset < 0 or n <= 0 or offset >= self.size:
            return b""
        n = min(n, self.size - offset)
        if self.data is not None:
            return self.data[offset : offset + n]
        assert self.fh is not None
        self.fh.seek(offset)
        return self.fh.read(n)


def _decode_name(raw: bytes, flags: int) -> str:
    if flags & 0x800:
        return raw.decode("utf-8", "replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp437")


def _zip64_extra(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        hid, hlen = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4 : pos + 4 + hlen]
        pos += 4 + hlen
        if hid != 0x0001:
            continue
        vals = []
        for k in range(0, len(body) - 7, 8):
            vals.append(struct.unpack_from("<Q", body, k)[0])
        it = iter(vals)
        if usize == 0xFFFFFFFF:
            usize = next(it, usize)
        if csize == 0xFFFFFFFF:
            csize = next(it, csize)
        if offset == 0xFFFFFFFF:
            offset = next(it, offset)
        break
    return usize, csize, offset


def read_directory(r: _Reader) -> list[Member]:
    """The members listed in the central directory. Raises :class:`ZipDamage`."""
    tail_start = max(0, r.size - EOCD_SEARCH)
    tail = r.read(tail_start, EOCD_SEARCH)
    pos = tail.rfind(_SIG_EOCD)
    while pos >= 0 and pos + 22 > len(tail):
        pos = tail.rfind(_SIG_EOCD, 0, pos)
    if pos < 0:
        raise ZipDamage("no end of central directory record (truncated or not a zip)")
    (_disk, _cd_disk, _n_disk, total, cd_size, cd_offset, _clen) = struct.unpack_from("<HHHHIIH", tail, pos + 4)
    eocd_abs = tail_start + pos
    if total == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
        loc = r.read(eocd_abs - 20, 20)
        if len(loc) == 20 and loc[:4] == _SIG_Z64_LOC:
            z64_off = struct.unpack_from("<Q", loc, 8)[0]
            rec = r.read(z64_off, 56)
            if len(rec) == 56 and rec[:4] == _SIG_Z64_EOCD:
                total, cd_size, cd_offset = struct.unpack_from("<QQQ", rec, 32)
                eocd_abs = z64_off
    if total > MAX_MEMBERS:
        raise ZipDamage(f"the zip lists {total} members (over {MAX_MEMBERS}): not read")
    if cd_size > MAX_CD_BYTES:
        raise ZipDamage(f"central directory of {cd_size} bytes (over {MAX_CD_BYTES}): not read")
    # Bytes prepended to the archive (a self-extractor stub) shift every offset: when the
    # stored offset does not hold the directory, measure the shift from where it ends.
    shift = 0
    if r.read(cd_offset, 4) != _SIG_CD and total:
        shift = eocd_abs - cd_size - cd_offset
        if shift < 0:
            raise ZipDamage("central directory offset points past its end record")
    cd = r.read(cd_offset + shift, cd_size)
    members: list[Member] = []
    p = 0
    while p + 46 <= len(cd):
        if cd[p : p + 4] != _SIG_CD:
            raise ZipDamage(f"bad central directory entry at offset {cd_offset + shift + p}")
        (flags, method, _t, _d, crc, csize, usize, nlen, elen, clen, _dn, _ia, _ea, off) = struct.unpack_from(
            "<4xHHHHIIIHHHHHII", cd, p + 4
        )
        name_raw = cd[p + 46 : p + 46 + nlen]
        extra = cd[p + 46 + nlen : p + 46 + nlen + elen]
        usize, csize, off = _zip64_extra(extra, usize, csize, off)
        members.append(Member(_decode_name(name_raw, flags), method, flags, crc, csize, usize, off + shift))
        p += 46 + nlen + elen + clen
        if len(members) > MAX_MEMBERS:
            raise ZipDamage(f"more than {MAX_MEMBERS} members: not read")
    if not members and total:
        raise ZipDamage("central directory is empty or unreadable")
    return members


def walk_local_headers(r: _Reader) -> tuple[list[Member], str | None]:
    """Members found by walking local headers from the start (no central directory).

    Stops at the first thing that is not a local header; entries whose size is only in a
    data descriptor are measured by inflating them (bounded). Returns (members, why stopped).
    """
    members: list[Member] = []
    pos = 0
    while len(members) < MAX_MEMBERS:
        hdr = r.read(pos, 30)
        if len(hdr) < 30 or hdr[:4] != _SIG_LOCAL:
            return members, None if hdr[:4] in (_SIG_CD, b"") else f"no local header at offset {pos}"
        (flags, method, _t, _d, crc, csize, usize, nlen, elen) = struct.unpack_from("<2xHHHHIIIHH", hdr, 4)
        name_raw = r.read(pos + 30, nlen)
        extra = r.read(pos + 30 + nlen, elen)
        usize, csize, _o = _zip64_extra(extra, usize, csize, 0)
        data_start = pos + 30 + nlen + elen
        if flags & 0x08 and csize == 0:
            if method != 8:
                return members, "an entry without sizes that is not deflated: cannot walk further"
            d = zlib.decompressobj(-zlib.MAX_WBITS)
            consumed = 0
            out_total = 0
            while not d.eof:
                chunk = r.read(data_start + consumed, CHUNK)
                if not chunk:
                    return members, "the file ends inside a member"
                consumed += len(chunk)
                pending = chunk
                while pending and not d.eof:
                    try:
                        out_total += len(d.decompress(pending, 4 * CHUNK))
                    except zlib.error:
                        return members, "damaged deflate data"
                    pending = d.unconsumed_tail
                    if out_total > MAX_PART:
                        return members, "an entry without sizes inflates beyond the cap: cannot walk further"
            csize = consumed - len(d.unused_data)
            usize = out_total
            # data descriptor: [signature] crc, sizes (4 or 8 bytes each for zip64)
            desc = r.read(data_start + csize, 28)
            signed = desc[:4] == b"PK\x07\x08"
            sizes = (16, 24) if signed else (12, 20)
            skip = next((k for k in sizes if desc[k : k + 2] == b"PK"), sizes[0])
            crc_at = 4 if signed else 0
            if len(desc) >= crc_at + 4:
                crc = struct.unpack_from("<I", desc, crc_at)[0]
            members.append(Member(_decode_name(name_raw, flags), method, flags, crc, csize, usize, pos))
            pos = data_start + csize + skip
            continue
        members.append(Member(_decode_name(name_raw, flags), method, flags, crc, csize, usize, pos))
        pos = data_start + csize
    return members, f"more than {MAX_MEMBERS} members"


def read_member(r: _Reader, m: Member, cap: int | None = None) -> bytes:
    """The decompressed bytes of one member (at most ``cap``, default MAX_PART), CRC-checked.

    Raises :class:`ZipDamage`.
    """
    cap = MAX_PART if cap is None else cap
    if m.flags & 0x01:
        raise ZipDamage(f"{m.name}: member is encrypted")
    hdr = r.read(m.offset, 30)
    if len(hdr) < 30 or hdr[:4] != _SIG_LOCAL:
        raise ZipDamage(f"{m.name}: no local header at offset {m.offset}")
    nlen, elen = struct.unpack_from("<HH", hdr, 26)
    start = m.offset + 30 + nlen + elen
    if m.csize > MAX_PART_COMPRESSED:
        raise ZipDamage(f"{m.name}: {m.csize} compressed bytes (over {MAX_PART_COMPRESSED}): not read")
    if m.method == 0:
        data = r.read(start, min(m.csize, cap + 1))
        if len(data) > cap:
            raise ZipDamage(f"{m.name}: larger than {cap} bytes: not read")
        if len(data) < m.csize:
            raise ZipDamage(f"{m.name}: truncated (the file ends inside it)")
    elif m.method == 8:
        data = _inflate(r, start, m, cap)
    else:
        raise ZipDamage(f"{m.name}: compression method {m.method} not supported")
    if zlib.crc32(data) != m.crc:
        raise ZipDamage(f"{m.name}: CRC mismatch (damaged member)")
    return data


def _inflate(r: _Reader, start: int, m: Member, cap: int) -> bytes:
    d = zlib.decompressobj(-zlib.MAX_WBITS)
    out = bytearray()
    consumed = 0
    while consumed < m.csize and not d.eof:
        chunk = r.read(start + consumed, min(CHUNK, m.csize - consumed))
        if not chunk:
            raise ZipDamage(f"{m.name}: truncated (the file ends inside it)")
        consumed += len(chunk)
        pending = chunk
        while pending and not d.eof:
            try:
                out += d.decompress(pending, cap + 1 - len(out))
            except zlib.error as exc:
                raise ZipDamage(f"{m.name}: damaged deflate data ({exc})") from None
            pending = d.unconsumed_tail
            if len(out) > cap:
                raise ZipDamage(f"{m.name}: inflates to more than {cap} bytes: not read (zip bomb?)")
            if len(out) > RATIO_FLOOR and len(out) > MAX_RATIO * max(1, consumed - len(pending)):
                raise ZipDamage(
                    f"{m.name}: compression ratio over {MAX_RATIO}:1 after {len(out)} bytes: not read (zip bomb?)"
                )
    if not d.eof:
        raise ZipDamage(f"{m.name}: deflate stream incomplete")
    return bytes(out)


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


def _rels(r: _Reader, by_name: dict[str, Member], out: _Out) -> dict[str, str]:
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


def _read_part(r: _Reader, by_name: dict[str, Member], name: str, out: _Out) -> ET.Element | None:
    m = by_name.get(name)
    if m is None:
        return None
    try:
        data = read_member(r, m)
    except ZipDamage as exc:
        out.warn(str(exc), type="ZipDamage")
        return None
    return _parse_xml(data, name, out)


def _ooxml(r: _Reader, by_name: dict[str, Member], out: _Out) -> str | None:
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


def _odf(r: _Reader, by_name: dict[str, Member], out: _Out, mimetype: str | None) -> str | None:
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


def _kind(r: _Reader, by_name: dict[str, Member], out: _Out) -> tuple[str | None, str | None]:
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
            return self._run(_Reader(ctx.content, None, len(ctx.content)), declared)
        with ctx.open() as fh:
            return self._run(_Reader(None, fh, ctx.size), declared)

    def _run(self, r: _Reader, declared: str) -> Extraction:
        out = _Out()
        try:
            members = read_directory(r)
        except ZipDamage as exc:
            if "members (over" in str(exc) or "central directory of" in str(exc):
                out.warn(str(exc), type="LimitReached")
                return self._result(out, None)
            members, why = walk_local_headers(r)
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
