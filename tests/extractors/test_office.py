"""Office extractor: OOXML and OpenDocument packages built with zipfile in the test
(good, wrong type, damaged, zip bombs, forged member counts, XML entity attacks)."""

from __future__ import annotations

import io
import os
import struct
import zipfile
from pathlib import Path

import pytest

from evidence_cli.errors import UnsupportedFile
from evidence_cli.extractors import office as office_mod
from evidence_cli.extractors.base import FileContext
from evidence_cli.extractors.office import OfficeExtractor
from evidence_cli.models import Extraction, FileType, Timestamp
from tests.builders import file_context, png_bytes, scan_one

OFFICE = OfficeExtractor()
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = "application/vnd.oasis.opendocument.text"

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    "</Types>"
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'extended-properties" Target="docProps/app.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
    'core-properties" Target="docProps/core.xml"/>'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="word/document.xml"/>'
    '<Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'custom-properties" Target="docProps/custom.xml"/>'
    "</Relationships>"
)


def core_xml(created: str = "2014-12-26T06:19:00Z", modified: str = "2014-12-26T06:24:00Z", extra: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<dc:title>Quarterly report</dc:title><dc:creator>Steve Canny</dc:creator>"
        "<cp:lastModifiedBy>Jane Roe</cp:lastModifiedBy><cp:revision>3</cp:revision>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{created}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{modified}</dcterms:modified>'
        f"<cp:lastPrinted>2014-12-27T08:00:00Z</cp:lastPrinted>{extra}"
        "</cp:coreProperties>"
    )


APP = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"'
    ' xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
    "<Template>Normal.dotm</Template><TotalTime>3</TotalTime><Application>Microsoft Macintosh Word</Application>"
    "<Company>Cisco Systems, Inc.</Company><AppVersion>14.0000</AppVersion>"
    '<HeadingPairs><vt:vector size="2" baseType="variant"><vt:variant><vt:lpstr>Title</vt:lpstr></vt:variant>'
    "<vt:variant><vt:i4>1</vt:i4></vt:variant></vt:vector></HeadingPairs>"
    "</Properties>"
)
CUSTOM = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"'
    ' xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
    '<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" name="Case">'
    "<vt:lpwstr>A-17</vt:lpwstr></property>"
    "</Properties>"
)
META = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
    ' xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" xmlns:dc="http://purl.org/dc/elements/1.1/"'
    ' xmlns:xlink="http://www.w3.org/1999/xlink" office:version="1.3"><office:meta>'
    "<meta:creation-date>2022-04-03T19:29:38.552950244</meta:creation-date>"
    "<meta:generator>LibreOffice/6.4.7.2$Linux_X86_64 LibreOffice_project/40$Build-2</meta:generator>"
    "<dc:date>2022-04-03T19:30:31.227585445</dc:date><meta:print-date>2022-04-04T08:00:00</meta:print-date>"
    "<meta:initial-creator>Alice</meta:initial-creator><dc:creator>Bob</dc:creator>"
    "<meta:editing-duration>PT52S</meta:editing-duration><meta:editing-cycles>2</meta:editing-cycles>"
    "<meta:keyword>one</meta:keyword><meta:keyword>two</meta:keyword>"
    '<meta:document-statistic meta:page-count="1" meta:word-count="100"/>'
    '<meta:user-defined meta:name="Case" meta:value-type="string">A-17</meta:user-defined>'
    "</office:meta></office:document-meta>"
)


def zip_bytes(members: list[tuple[str, bytes | str]], *, stored_first: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for i, (name, data) in enumerate(members):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED if (stored_first and i == 0) else zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()


def docx_bytes(core: str | None = None, *, app: str = APP, extra: list[tuple[str, bytes | str]] | None = None) -> bytes:
    members: list[tuple[str, bytes | str]] = [
        ("[Content_Types].xml", CONTENT_TYPES),
        ("_rels/.rels", RELS),
        ("docProps/core.xml", core if core is not None else core_xml()),
        ("docProps/app.xml", app),
        ("docProps/custom.xml", CUSTOM),
        ("word/document.xml", "<w:document xmlns:w='urn:w'/>"),
    ]
    return zip_bytes(members + (extra or []))


def odt_bytes(meta: str = META) -> bytes:
    return zip_bytes(
        [("mimetype", ODT), ("META-INF/manifest.xml", "<m/>"), ("meta.xml", meta), ("content.xml", "<c/>")],
        stored_first=True,
    )


def extract(data: bytes, mime: str = DOCX) -> Extraction:
    return OFFICE.extract(file_context(data, "doc.docx", mime=mime))


def ts(ex: Extraction) -> dict[str, Timestamp]:
    return {t.name: t for t in ex.timestamps}


def messages(ex: Extraction) -> str:
    return " | ".join(p.message for p in ex.problems)


# --------------------------------------------------------------------------------------
# good


def test_docx_core_app_custom() -> None:
    ex = extract(docx_bytes())
    assert ex.problems == (), messages(ex)
    t = ts(ex)
    assert t["CreateDate"].value == "2014-12-26T06:19:00+00:00"
    assert t["CreateDate"].utc == "2014-12-26T06:19:00Z"
    assert t["CreateDate"].raw == "2014-12-26T06:19:00Z"
    assert t["ModifyDate"].utc == "2014-12-26T06:24:00Z"
    assert t["LastPrinted"].utc == "2014-12-27T08:00:00Z"
    assert {x.source for x in ex.timestamps} == {"office"}
    tags = ex.tags
    assert tags["Format"] == "OOXML"
    assert tags["dc:creator"] == "Steve Canny"
    assert tags["cp:lastModifiedBy"] == "Jane Roe"
    assert tags["cp:revision"] == "3"
    assert tags["dc:title"] == "Quarterly report"
    assert tags["Application"] == "Microsoft Macintosh Word"
    assert tags["AppVersion"] == "14.0000"
    assert tags["Company"] == "Cisco Systems, Inc."
    assert tags["TotalTime"] == "3"
    assert tags["Template"] == "Normal.dotm"
    assert tags["HeadingPairs"] == ["Title", "1"]
    assert tags["custom:Case"] == "A-17"
    assert tags["MainContentType"].endswith("document.main+xml")
    assert "HasMacros" not in tags
    assert ex.device is not None and ex.device.software == "Microsoft Macintosh Word"
    assert ex.findings == ()


def test_docx_without_rels_uses_default_part_names_and_flags_macros() -> None:
    data = zip_bytes(
        [
            ("[Content_Types].xml", CONTENT_TYPES),
            ("docProps/core.xml", core_xml()),
            ("word/vbaProject.bin", b"\xd0\xcf\x11\xe0"),
        ]
    )
    ex = extract(data, "application/vnd.ms-word.document.macroEnabled.12")
    assert ts(ex)["CreateDate"].utc == "2014-12-26T06:19:00Z"
    assert ex.tags["HasMacros"] is True
    assert ex.device is None


def test_strict_ooxml_relationship_types() -> None:
    rels = (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="r1" Type="http://purl.oclc.org/ooxml/officeDocument/relationships/extendedProperties"'
        ' Target="props/app.xml"/>'
        '<Relationship Id="r2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
        'core-properties" Target="/props/core.xml"/></Relationships>'
    )
    strict_app = APP.replace(
        "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties",
        "http://purl.oclc.org/ooxml/officeDocument/extendedProperties",
    )
    data = zip_bytes(
        [
            ("[Content_Types].xml", CONTENT_TYPES),
            ("_rels/.rels", rels),
            ("props/core.xml", core_xml()),
            ("props/app.xml", strict_app),
        ]
    )
    ex = extract(data)
    assert ex.problems == (), messages(ex)
    assert ts(ex)["CreateDate"].utc == "2014-12-26T06:19:00Z"
    assert ex.device is not None and ex.device.software == "Microsoft Macintosh Word"


def test_odt_meta() -> None:
    ex = extract(odt_bytes(), ODT)
    assert ex.problems == (), messages(ex)
    t = ts(ex)
    assert t["CreateDate"].value == "2022-04-03T19:29:38.552950244"
    assert t["CreateDate"].utc is None and t["CreateDate"].offset_origin == "none"
    assert t["ModifyDate"].value == "2022-04-03T19:30:31.227585445"
    assert t["LastPrinted"].value == "2022-04-04T08:00:00"
    tags = ex.tags
    assert tags["Format"] == "OpenDocument"
    assert tags["mimetype"] == ODT
    assert tags["meta:initial-creator"] == "Alice"
    assert tags["dc:creator"] == "Bob"
    assert tags["meta:editing-cycles"] == "2"
    assert tags["meta:editing-duration"] == "PT52S"
    assert tags["meta:keyword"] == ["one", "two"]
    assert tags["meta:document-statistic"] == {"meta:page-count": "1", "meta:word-count": "100"}
    assert tags["meta:user-defined:Case"] == "A-17"
    assert ex.device is not None and ex.device.software.startswith("LibreOffice/6.4.7.2")


def test_generic_zip_mime_is_sniffed() -> None:
    ex = extract(docx_bytes(), "application/zip")
    assert ts(ex)["CreateDate"].utc == "2014-12-26T06:19:00Z"
    ex = extract(odt_bytes(), "application/octet-stream")
    assert ex.tags["Format"] == "OpenDocument"


def test_part_values_cannot_overwrite_derived_tags() -> None:
    app = APP.replace("<Template>", "<Format>forged</Format><Members>1</Members><Template>")
    ex = extract(docx_bytes(app=app))
    assert ex.tags["Format"] == "OOXML" and ex.tags["Members"] == 6
    assert ex.tags["part:Format"] == "forged" and ex.tags["part:Members"] == "1"


def test_created_after_modified_is_a_notice() -> None:
    ex = extract(docx_bytes(core_xml(created="2020-01-02T00:00:00Z", modified="2020-01-01T00:00:00Z")))
    (f,) = ex.findings
    assert (f.code, f.severity) == ("office-time-inconsistent", "notice")
    assert f.evidence == {"CreateDate": "2020-01-02T00:00:00Z", "ModifyDate": "2020-01-01T00:00:00Z"}


def test_read_from_file_when_not_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "a.docx"
    path.write_bytes(docx_bytes())
    ctx = FileContext(
        path=os.fsencode(path),
        rel_path="a.docx",
        stat=os.stat(path),
        file_type=FileType(DOCX, None, True),
        head=path.read_bytes()[:65536],
        content=None,
    )
    ex = OFFICE.extract(ctx)
    assert ts(ex)["ModifyDate"].utc == "2014-12-26T06:24:00Z"


def test_scan_record(tmp_path: Path) -> None:
    rec = scan_one(tmp_path, "report.docx", docx_bytes())
    # libmagic names OOXML only when word/ comes early in the zip; otherwise "data": read either way
    assert rec.mime in (DOCX, "application/octet-stream")
    assert rec.captured is not None and (rec.captured.name, rec.captured.source) == ("CreateDate", "office")
    assert rec.device.software == "Microsoft Macintosh Word"
    assert rec.metadata["office"]["dc:creator"] == "Steve Canny"
    assert [e for e in rec.errors if e.stage == "metadata:office"] == []


# --------------------------------------------------------------------------------------
# wrong type


def test_png_declared_as_docx_is_unsupported() -> None:
    with pytest.raises(UnsupportedFile):
        extract(png_bytes())


def test_plain_zip_declared_as_docx_is_unsupported() -> None:
    with pytest.raises(UnsupportedFile):
        extract(zip_bytes([("readme.txt", "hello")]))


def test_ordinary_zip_and_unknown_binary_are_left_alone() -> None:
    for data, mime in (
        (zip_bytes([("readme.txt", "hello")]), "application/zip"),
        (os.urandom(512), "application/octet-stream"),
    ):
        ex = extract(data, mime)
        assert (ex.tags, ex.problems, ex.timestamps) == ({}, (), ())


# --------------------------------------------------------------------------------------
# damaged and hostile


def test_truncated_package_walks_local_headers() -> None:
    data = zip_bytes(
        [("[Content_Types].xml", CONTENT_TYPES), ("docProps/core.xml", core_xml()), ("word/x.xml", "<x/>" * 5000)]
    )
    cut = data[: data.index(b"word/x.xml") + 200]  # the central directory is gone
    ex = extract(cut)
    assert ts(ex)["CreateDate"].utc == "2014-12-26T06:19:00Z"
    assert "walking local headers" in messages(ex)
    assert all(p.severity == "warning" for p in ex.problems)


def test_streamed_zip_with_data_descriptors_walks_when_directory_is_gone() -> None:
    buf = io.BytesIO()

    class Unseekable(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, b: bytes) -> int:  # type: ignore[override]
            return buf.write(b)

    with zipfile.ZipFile(Unseekable(), "w", zipfile.ZIP_DEFLATED) as z:  # type: ignore[arg-type]
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("docProps/core.xml", core_xml())
    data = buf.getvalue()
    ex = extract(data[: data.index(b"PK\x01\x02")])
    assert ts(ex)["ModifyDate"].utc == "2014-12-26T06:24:00Z"
    # cut inside the last data descriptor: still no crash, the damage is reported
    ex = extract(data[: data.index(b"PK\x01\x02") - 12])
    assert "walking local headers" in messages(ex)


def test_crc_mismatch_is_reported() -> None:
    data = bytearray(docx_bytes())
    # corrupt the stored CRC of core.xml in its central directory entry
    pos = 0
    while True:
        pos = data.index(b"PK\x01\x02", pos)
        nlen = struct.unpack_from("<H", data, pos + 28)[0]
        if data[pos + 46 : pos + 46 + nlen] == b"docProps/core.xml":
            data[pos + 16] ^= 0xFF
            break
        pos += 4
    ex = extract(bytes(data))
    assert "CRC mismatch" in messages(ex)
    assert "CreateDate" not in ts(ex)
    assert ex.tags["Application"] == "Microsoft Macintosh Word"  # other parts still read


def test_zip_bomb_is_refused_fast() -> None:
    bomb = core_xml(extra="<dc:description>" + "A" * (3 * 1024 * 1024) + "</dc:description>")
    ex = extract(docx_bytes(bomb))
    assert "zip bomb" in messages(ex)
    assert "CreateDate" not in ts(ex)
    assert ex.tags["Application"] == "Microsoft Macintosh Word"


def test_part_over_the_size_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(office_mod, "MAX_PART", 4096)
    big = core_xml(extra="<dc:description>" + os.urandom(6000).hex() + "</dc:description>")
    ex = extract(docx_bytes(big))
    assert "more than 4096 bytes" in messages(ex)


def test_forged_member_count_is_refused_before_reading() -> None:
    data = bytearray(docx_bytes())
    eocd = data.rindex(b"PK\x05\x06")
    struct.pack_into("<HH", data, eocd + 8, 0xFFFE, 0xFFFE)  # 65,534 members claimed
    ex = extract(bytes(data))
    assert [p.type for p in ex.problems] == ["LimitReached"]
    assert ex.timestamps == ()


def test_too_many_members(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(office_mod, "MAX_MEMBERS", 20)
    data = docx_bytes(extra=[(f"word/media/{i}.bin", b"x") for i in range(30)])
    ex = extract(data)
    assert "over 20" in messages(ex)


def test_xml_entity_attack_is_refused() -> None:
    lol = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>&lol2;</dc:title></cp:coreProperties>'
    )
    ex = extract(docx_bytes(lol))
    assert [p.type for p in ex.problems] == ["UnsafeXML"]
    assert "dc:title" not in ex.tags
    assert ex.tags["Application"] == "Microsoft Macintosh Word"


def test_malformed_xml_and_bad_date() -> None:
    ex = extract(docx_bytes("<cp:coreProperties"))
    assert [p.type for p in ex.problems] == ["BadXML"]
    ex = extract(docx_bytes(core_xml(created="last tuesday")))
    assert [p.type for p in ex.problems] == ["BadDate"]
    assert ex.tags["dcterms:created"] == "last tuesday"
    assert "ModifyDate" in ts(ex)


def test_duplicate_member_names_are_reported() -> None:
    with pytest.warns(UserWarning, match="Duplicate name"):
        data = zip_bytes(
            [
                ("[Content_Types].xml", CONTENT_TYPES),
                ("docProps/core.xml", core_xml()),
                ("docProps/core.xml", core_xml(created="1999-01-01T00:00:00Z")),
            ]
        )
    ex = extract(data)
    assert "stored twice" in messages(ex)
    assert ts(ex)["CreateDate"].utc == "2014-12-26T06:19:00Z"  # the first one


def test_encrypted_member_is_reported() -> None:
    data = bytearray(docx_bytes())
    pos = 0
    while True:  # set the "encrypted" flag of core.xml in the central directory
        pos = data.index(b"PK\x01\x02", pos)
        nlen = struct.unpack_from("<H", data, pos + 28)[0]
        if data[pos + 46 : pos + 46 + nlen] == b"docProps/core.xml":
            data[pos + 8] |= 0x01
            break
        pos += 4
    ex = extract(bytes(data))
    assert "encrypted" in messages(ex)


def test_odt_without_meta() -> None:
    data = zip_bytes([("mimetype", ODT), ("content.xml", "<c/>")], stored_first=True)
    ex = extract(data, ODT)
    assert [p.type for p in ex.problems] == ["NoMetadata"]
    assert ex.tags["Format"] == "OpenDocument"
