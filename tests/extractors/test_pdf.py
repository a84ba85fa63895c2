"""PDF extractor and reader: PDFs assembled as bytes here (classic xref, xref streams with
object streams, incremental updates, linearized, encrypted, broken, truncated, hostile)."""

from __future__ import annotations

import functools
import hashlib
import os
import struct
import zlib
from pathlib import Path

import pytest

from evidence_cli.errors import UnsupportedFile
from evidence_cli.extractors.base import FileContext
from evidence_cli.extractors.pdf import PdfExtractor, pdf_timestamp
from evidence_cli.formats import pdf as fmt
from evidence_cli.formats import pdfcrypt
from evidence_cli.models import Extraction, FileType, Timestamp
from evidence_cli.timeparse import TimeParseError
from tests.builders import file_context, scan_one

PDF = PdfExtractor()

INFO = (
    b"<< /Producer (Acme PDF Library 2.1) /Creator (Writer) /Author (J. Doe)"
    b" /Title (Report \\(draft\\) \\\\ 100%) /CreationDate (D:20190501134510+02'00')"
    b" /ModDate (D:20190502091500Z) >>"
)
CATALOG = b"<< /Type /Catalog /Pages 3 0 R >>"
PAGES = b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>"
PAGE = b"<< /Type /Page /Parent 3 0 R /MediaBox [0 0 612 792] >>"


# --------------------------------------------------------------------------------------
# builders


def obj(num: int, body: bytes) -> bytes:
    return b"%d 0 obj\n" % num + body + b"\nendobj\n"


def stream_obj(num: int, data: bytes, extra: bytes = b"", *, flate: bool = False) -> bytes:
    if flate:
        data = zlib.compress(data)
        extra += b" /Filter /FlateDecode"
    return obj(num, b"<< /Length %d%s >>\nstream\n" % (len(data), extra) + data + b"\nendstream")


def xref_table(offsets: dict[int, int], size: int | None = None) -> bytes:
    """A classic xref table with one subsection per run of consecutive numbers."""
    nums = sorted(offsets)
    out = b"xref\n"
    if not nums or nums[0] != 0:
        out += b"0 1\n0000000000 65535 f \n"
    run: list[int] = []
    for n in nums + [-1]:
        if run and n != run[-1] + 1:
            out += b"%d %d\n" % (run[0], len(run))
            for k in run:
                out += b"%010d 00000 n \n" % offsets[k]
            run = []
        if n >= 0:
            run.append(n)
    return out


def classic_pdf(
    objects: list[tuple[int, bytes]],
    trailer: bytes = b"/Root 1 0 R /Info 2 0 R",
    *,
    header: bytes = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n",
    eol: bytes = b"\n",
) -> bytes:
    out = bytearray(header)
    offsets: dict[int, int] = {}
    for num, body in objects:
        offsets[num] = len(out)
        out += body if body.startswith(b"%d 0 obj" % num) else obj(num, body)
    xref_at = len(out)
    size = max(offsets) + 1
    out += xref_table(offsets)
    out += b"trailer\n<< /Size %d %s >>\nstartxref\n%d\n%%%%EOF\n" % (size, trailer, xref_at)
    return bytes(out).replace(b"\n", eol) if eol != b"\n" else bytes(out)


def standard_pdf(info: bytes = INFO, **kw: object) -> bytes:
    return classic_pdf([(1, CATALOG), (2, info), (3, PAGES), (4, PAGE)], **kw)  # type: ignore[arg-type]


def append_update(base: bytes, objects: list[tuple[int, bytes]], trailer: bytes) -> bytes:
    """An incremental update: new objects, an xref section for them, a trailer with /Prev."""
    prev = int(base.rsplit(b"startxref", 1)[1].split()[0])
    out = bytearray(base)
    offsets: dict[int, int] = {}
    for num, body in objects:
        offsets[num] = len(out)
        out += obj(num, body)
    xref_at = len(out)
    out += b"xref\n"
    for num in sorted(offsets):
        out += b"%d 1\n%010d 00000 n \n" % (num, offsets[num])
    out += b"trailer\n<< /Size 10 %s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (trailer, prev, xref_at)
    return bytes(out)


def xref_stream_pdf(*, predictor: bool = True, info_in_objstm: bool = True) -> bytes:
    """PDF 1.5: catalog and Info inside an object stream, found through an xref stream."""
    header = b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n"
    inner = [(1, CATALOG), (2, INFO if info_in_objstm else b"null")]
    head_parts = []
    body = b""
    for num, o in inner:
        head_parts.append(b"%d %d" % (num, len(body)))
        body += o + b"\n"
    head = b" ".join(head_parts) + b"\n"
    objstm_data = head + body
    out = bytearray(header)
    offsets: dict[int, int] = {}
    offsets[3] = len(out)
    out += obj(3, PAGES)
    offsets[4] = len(out)
    out += obj(4, PAGE)
    offsets[5] = len(out)
    out += stream_obj(5, objstm_data, b" /Type /ObjStm /N 2 /First %d" % len(head), flate=True)
    if not info_in_objstm:
        offsets[6] = len(out)
        out += obj(6, INFO)
    xref_at = len(out)
    size = 8
    rows = []
    for n in range(size):
        if n in (1, 2) and (n == 1 or info_in_objstm):
            rows.append(bytes([2]) + (5).to_bytes(4, "big") + (n - 1).to_bytes(2, "big"))
        elif n in offsets:
            rows.append(bytes([1]) + offsets[n].to_bytes(4, "big") + (0).to_bytes(2, "big"))
        elif n == 7:
            rows.append(bytes([1]) + xref_at.to_bytes(4, "big") + (0).to_bytes(2, "big"))
        else:
            rows.append(bytes([0]) + (0).to_bytes(4, "big") + (0xFFFF).to_bytes(2, "big"))
    if predictor:  # PNG "Up" rows, as Acrobat writes them
        raw = b""
        prev = bytes(7)
        for r in rows:
            raw += b"\x02" + bytes((a - b) & 0xFF for a, b in zip(r, prev))
            prev = r
        parms = b" /DecodeParms << /Columns 7 /Predictor 12 >>"
    else:
        raw = b"".join(rows)
        parms = b""
    info_ref = b"2 0 R" if info_in_objstm else b"6 0 R"
    dict_extra = b" /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Info %s%s" % (size, info_ref, parms)
    out += stream_obj(7, raw, dict_extra, flate=True)
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


def extract(data: bytes, mime: str = "application/pdf") -> Extraction:
    return PDF.extract(file_context(data, "doc.pdf", mime=mime))


def ts(ex: Extraction, source: str = "pdf") -> dict[str, Timestamp]:
    return {t.name: t for t in ex.timestamps if t.source == source}


def messages(ex: Extraction) -> str:
    return " | ".join(p.message for p in ex.problems)


# --------------------------------------------------------------------------------------
# good files


def test_classic_xref_info_dates_device_and_pages() -> None:
    ex = extract(standard_pdf())
    assert ex.problems == ()
    assert ex.tags["Producer"] == "Acme PDF Library 2.1"
    assert ex.tags["Title"] == "Report (draft) \\ 100%"
    assert ex.tags["Author"] == "J. Doe"
    assert ex.tags["PDFVersion"] == "1.4"
    assert ex.tags["PageCount"] == 1
    assert ex.tags["Linearized"] is False
    assert ex.tags["IncrementalUpdates"] == 0
    t = ts(ex)
    assert t["CreationDate"].value == "2019-05-01T13:45:10+02:00"
    assert t["CreationDate"].utc == "2019-05-01T11:45:10Z"
    assert t["CreationDate"].raw == "D:20190501134510+02'00'"
    assert t["CreationDate"].offset_origin == "stored"
    assert t["ModDate"].utc == "2019-05-02T09:15:00Z"
    assert ex.device is not None and ex.device.software == "Acme PDF Library 2.1"
    assert ex.findings == ()


@pytest.mark.parametrize("eol", [b"\r\n", b"\r"])
def test_crlf_and_cr_line_ends(eol: bytes) -> None:
    ex = extract(standard_pdf(eol=eol))
    assert ex.tags["Producer"] == "Acme PDF Library 2.1"
    assert ts(ex)["CreationDate"].utc == "2019-05-01T11:45:10Z"
    assert ex.tags["PageCount"] == 1


@pytest.mark.parametrize("predictor", [True, False])
def test_xref_stream_with_object_stream(predictor: bool) -> None:
    ex = extract(xref_stream_pdf(predictor=predictor))
    assert ex.problems == (), messages(ex)
    assert ex.tags["PDFVersion"] == "1.5"
    assert ex.tags["Producer"] == "Acme PDF Library 2.1"
    assert ex.tags["PageCount"] == 1
    assert ts(ex)["ModDate"].value == "2019-05-02T09:15:00+00:00"


def test_hex_utf16_and_pdfdoc_strings() -> None:
    title = "Caf\u00e9 \u2013 \u65e5\u672c"
    hex_title = ("<FEFF" + title.encode("utf-16-be").hex().upper() + ">").encode()
    # octal escapes, balanced parentheses, a line continuation, PDFDocEncoding 0x80 (bullet)
    subject = b"(\\101B\\103 (nested (twice)) con\\\ntinued \\200)"
    info = b"<< /Title " + hex_title + b" /Subject " + subject + b" /Keywords <41 42 4>  >>"
    ex = extract(standard_pdf(info))
    assert ex.tags["Title"] == title
    assert ex.tags["Subject"] == "ABC (nested (twice)) continued \u2022"
    assert ex.tags["Keywords"] == "AB@"  # odd hex digit count: a final 0 is implied


def test_name_escapes_and_non_string_values() -> None:
    info = b"<< /Trapped /False /My#20Key (x) /Count 3 /Ratio 0.5 /Flag true /Nothing null >>"
    ex = extract(standard_pdf(info))
    assert ex.tags["Trapped"] == "False"
    assert ex.tags["My Key"] == "x"
    assert (ex.tags["Count"], ex.tags["Ratio"], ex.tags["Flag"], ex.tags["Nothing"]) == (3, 0.5, True, None)


def test_info_key_colliding_with_derived_tag_is_kept_apart() -> None:
    ex = extract(standard_pdf(b"<< /PageCount (999) /EOFMarkers (0) /xmp:dc:title (fake) /Producer (P) >>"))
    assert ex.tags["PageCount"] == 1 and ex.tags["EOFMarkers"] == 1
    assert ex.tags["Info:PageCount"] == "999" and ex.tags["Info:EOFMarkers"] == "0"
    assert ex.tags["Info:xmp:dc:title"] == "fake" and "xmp:dc:title" not in ex.tags


def test_incremental_update_newest_info_wins_and_is_reported() -> None:
    base = standard_pdf()
    newer = b"<< /Producer (Editor 9) /CreationDate (D:20190501134510+02'00') /ModDate (D:20200101120000-05'00') >>"
    data = append_update(base, [(2, newer)], b"/Root 1 0 R /Info 2 0 R")
    data = append_update(data, [(5, b"<< /Foo 1 >>")], b"/Root 1 0 R /Info 2 0 R")
    ex = extract(data)
    assert ex.problems == (), messages(ex)
    assert ex.tags["Producer"] == "Editor 9"
    assert ts(ex)["ModDate"].utc == "2020-01-01T17:00:00Z"
    assert ex.tags["XRefSections"] == 3 and ex.tags["EOFMarkers"] == 3
    assert ex.tags["IncrementalUpdates"] == 2
    (finding,) = ex.findings
    assert finding.code == "pdf-incremental-update" and finding.severity == "info"
    assert finding.evidence["incremental_updates"] == 2


def test_linearized_file_is_not_an_update_until_edited() -> None:
    # First-page section near the start (as linearizers write it), main section at the end.
    header = b"%PDF-1.4\n"
    lin = obj(9, b"<< /Linearized 1 /L 0 /N 1 >>")
    out = bytearray(header)
    offs: dict[int, int] = {9: len(out)}
    out += lin
    first_xref_pos = len(out)
    placeholder_len = 200
    out += b" " * placeholder_len
    main_offsets: dict[int, int] = {}
    for num, body in [(1, CATALOG), (2, INFO), (3, PAGES), (4, PAGE)]:
        main_offsets[num] = len(out)
        out += obj(num, body)
    main_xref = len(out)
    out += xref_table(main_offsets)
    out += b"trailer\n<< /Size 10 >>\nstartxref\n0\n%%EOF\n"
    first = b"xref\n9 1\n%010d 00000 n \ntrailer\n<< /Size 10 /Root 1 0 R /Info 2 0 R /Prev %d >>\n%%%%EOF\n" % (
        offs[9],
        main_xref,
    )
    out[first_xref_pos : first_xref_pos + len(first)] = first
    out += b"startxref\n%d\n%%%%EOF\n" % first_xref_pos
    data = bytes(out).replace(b"startxref\n0\n%%EOF\nstartxref", b"startxref", 1)
    ex = extract(data)
    assert ex.tags["Linearized"] is True
    assert ex.tags["XRefSections"] == 2
    assert ex.tags["IncrementalUpdates"] == 0, ex.tags
    assert ex.findings == ()
    edited = append_update(data, [(5, b"<< /Foo 1 >>")], b"/Root 1 0 R /Info 2 0 R")
    ex2 = extract(edited)
    assert ex2.tags["IncrementalUpdates"] == 1
    assert [f.code for f in ex2.findings] == ["pdf-incremental-update"]


def test_xmp_metadata_stream_is_parsed() -> None:
    packet = (
        b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"'
        b' xmp:CreateDate="2019-05-01T13:45:10+02:00" xmp:CreatorTool="Word 16"/>'
        b'</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )
    catalog = b"<< /Type /Catalog /Pages 3 0 R /Metadata 5 0 R >>"
    objs = [(1, catalog), (2, b"<< /Title (t) >>"), (3, PAGES), (4, PAGE)]
    objs.append((5, stream_obj(5, packet, b" /Type /Metadata /Subtype /XML", flate=True)))
    ex = extract(classic_pdf(objs))
    assert ex.problems == (), messages(ex)
    x = ts(ex, "xmp")
    assert x["CreateDate"].utc == "2019-05-01T11:45:10Z"
    assert ex.tags["xmp:xmp:CreatorTool"] == "Word 16"
    # no Producer/Creator in Info: the XMP creator tool is the software
    assert ex.device is not None and ex.device.software == "Word 16"


def _xmp_pdf(info: bytes, create: str, modify: str) -> bytes:
    packet = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"'
        b' xmp:CreateDate="%s" xmp:ModifyDate="%s"/></rdf:RDF></x:xmpmeta>' % (create.encode(), modify.encode())
    )
    catalog = b"<< /Type /Catalog /Pages 3 0 R /Metadata 5 0 R /Lang (en-GB) >>"
    objs = [(1, catalog), (2, info), (3, PAGES), (4, PAGE), (5, stream_obj(5, packet, b" /Type /Metadata"))]
    return classic_pdf(objs)


def test_info_and_xmp_dates_that_disagree_are_reported() -> None:
    # Info ModDate 2019-05-02 09:15 UTC; XMP says the same creation, a later modification
    ex = extract(_xmp_pdf(INFO, "2019-05-01T13:45:10+02:00", "2021-01-01T10:00:00Z"))
    assert ex.tags["Lang"] == "en-GB"
    (f,) = ex.findings
    assert (f.code, f.severity) == ("pdf-info-xmp-mismatch", "info")
    assert f.evidence == {"ModDate": {"info": "D:20190502091500Z", "xmp": "2021-01-01T10:00:00Z"}}
    # the same instants written with other offsets or a fraction agree; a date alone proves nothing
    same = extract(_xmp_pdf(INFO, "2019-05-01T11:45:10.40Z", "2019-05-02"))
    assert same.findings == ()


def test_junk_before_header_sniffed_from_octet_stream() -> None:
    junk = b"\x00JUNK" * 20
    pdf = standard_pdf()
    # offsets counted from the start of the file (junk included)...
    shifted = junk + pdf
    delta = len(junk)
    xref_at = int(pdf.rsplit(b"startxref", 1)[1].split()[0])
    table_start = pdf.index(b"xref\n")
    table_end = pdf.index(b"trailer")
    table = pdf[table_start:table_end]
    fixed = bytearray()
    for line in table.split(b"\n"):
        parts = line.split()
        if len(parts) == 3 and parts[2] == b"n":
            line = b"%010d %s %s " % (int(parts[0]) + delta, parts[1], parts[2])
        fixed += line + b"\n"
    abs_offsets = junk + pdf[:table_start] + bytes(fixed[:-1]) + pdf[table_end:]
    abs_offsets = abs_offsets.replace(b"startxref\n%d" % xref_at, b"startxref\n%d" % (xref_at + delta))
    for data in (shifted, abs_offsets):  # ...and counted from %PDF- (both exist in the wild)
        ex = extract(data, mime="application/octet-stream")
        assert ex.problems == (), messages(ex)
        assert ex.tags["Producer"] == "Acme PDF Library 2.1"
        assert ex.tags["HeaderOffset"] == delta
        assert ts(ex)["CreationDate"].utc == "2019-05-01T11:45:10Z"
        assert [(f.code, f.evidence) for f in ex.findings] == [("pdf-data-before-header", {"bytes": delta})]


def test_data_appended_after_eof_is_a_notice() -> None:
    ex = extract(standard_pdf() + b"PK\x03\x04hidden zip here")
    assert ex.tags["BytesAfterEOF"] == 20
    assert [(f.code, f.severity) for f in ex.findings] == [("pdf-data-after-eof", "notice")]
    assert extract(standard_pdf() + b"\r\n  \n").tags["BytesAfterEOF"] == 0


def test_unreadable_newest_startxref_is_reported() -> None:
    data = append_update(standard_pdf(), [(2, b"<< /Producer (Newer) >>")], b"/Root 1 0 R /Info 2 0 R")
    head, tail = data.rsplit(b"startxref", 1)
    ex = extract(head + b"startxrex" + tail)
    assert "older one was used" in messages(ex)
    assert ex.tags["Producer"] == "Acme PDF Library 2.1"
    assert ex.tags["IncrementalUpdates"] == 1  # still counted from the %%EOF markers


def test_hybrid_file_reads_objects_listed_only_in_xrefstm() -> None:
    """PDF 1.5 "hybrid": a classic table for old readers plus /XRefStm for objects in an ObjStm."""
    header = b"%PDF-1.5\n"
    out = bytearray(header)
    offsets: dict[int, int] = {}
    for num, body in [(1, CATALOG), (3, PAGES), (4, PAGE)]:
        offsets[num] = len(out)
        out += obj(num, body)
    head = b"2 0\n"
    offsets[5] = len(out)
    out += stream_obj(5, head + INFO, b" /Type /ObjStm /N 1 /First %d" % len(head), flate=True)
    xs_at = len(out)
    rows = b"".join([bytes([0, 0, 0, 0, 0]), bytes([1]) + offsets[1].to_bytes(4, "big"), bytes([2, 0, 0, 0, 5])])
    out += stream_obj(6, rows, b" /Type /XRef /Size 7 /W [1 4 0] /Index [0 3]")
    table_at = len(out)
    out += xref_table({k: v for k, v in offsets.items()})
    out += b"trailer\n<< /Size 7 /Root 1 0 R /Info 2 0 R /XRefStm %d >>\nstartxref\n%d\n%%%%EOF\n" % (
        xs_at,
        table_at,
    )
    ex = extract(bytes(out))
    assert ex.problems == (), messages(ex)
    assert ex.tags["Producer"] == "Acme PDF Library 2.1"
    assert ex.tags["XRefSections"] == 1


def test_large_table_with_many_subsections() -> None:
    objs = [(1, CATALOG), (3, PAGES), (4, PAGE)] + [(n, b"<< /N %d >>" % n) for n in range(10, 3000, 2)]
    objs.append((2999, INFO))
    ex = extract(classic_pdf(objs, b"/Root 1 0 R /Info 2999 0 R"))
    assert ex.problems == (), messages(ex)
    assert ex.tags["Producer"] == "Acme PDF Library 2.1"


def test_read_from_file_when_not_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.pdf"
    path.write_bytes(standard_pdf())
    st = os.stat(path)
    ctx = FileContext(
        path=os.fsencode(path),
        rel_path="big.pdf",
        stat=st,
        file_type=FileType("application/pdf", None, True),
        head=path.read_bytes()[:65536],
        content=None,
    )
    ex = PDF.extract(ctx)
    assert ex.tags["Producer"] == "Acme PDF Library 2.1"
    assert ts(ex)["CreationDate"].utc == "2019-05-01T11:45:10Z"


def test_scan_record_captured_device_and_finding(tmp_path: Path) -> None:
    data = append_update(standard_pdf(), [(5, b"<< >>")], b"/Root 1 0 R /Info 2 0 R")
    rec = scan_one(tmp_path, "report.pdf", data)
    assert rec.mime == "application/pdf"
    assert rec.captured is not None and rec.captured.name == "CreationDate" and rec.captured.source == "pdf"
    assert rec.device.software == "Acme PDF Library 2.1"
    assert "pdf-incremental-update" in [f.code for f in rec.findings]
    assert [e for e in rec.errors if e.stage == "metadata:pdf"] == []
    assert rec.metadata["pdf"]["Producer"] == "Acme PDF Library 2.1"


# --------------------------------------------------------------------------------------
# wrong type


def test_not_a_pdf_declared_as_pdf_is_unsupported() -> None:
    with pytest.raises(UnsupportedFile):
        extract(b"GIF89a" + bytes(2000))


def test_unknown_binary_is_left_alone() -> None:
    ex = extract(os.urandom(4096).replace(b"%PDF-", b"xxxxx"), mime="application/octet-stream")
    assert ex.tags == {} and ex.problems == () and ex.timestamps == ()


# --------------------------------------------------------------------------------------
# damaged and hostile files


def test_unsupported_security_handler_hides_strings() -> None:
    enc = b"<< /Filter /Adobe.PubSec /SubFilter /adbe.pkcs7.s5 /V 4 /Length 128 /P -1340 >>"
    info = b"<< /Producer <8A3F00E1> /CreationDate <D3A1B2C3D4E5F60718293A4B5C6D7E8F> /Count 4 >>"
    objs = [(1, CATALOG), (2, info), (3, PAGES), (4, PAGE), (5, enc)]
    ex = extract(classic_pdf(objs, b"/Root 1 0 R /Info 2 0 R /Encrypt 5 0 R"))
    assert [(p.severity, p.type) for p in ex.problems] == [("warning", "Encrypted")]
    assert "encrypted: Info strings unreadable" in messages(ex) and "Adobe.PubSec" in messages(ex)
    assert ex.timestamps == ()  # ciphertext is never a date
    assert "Producer" not in ex.tags and ex.device is None
    assert ex.tags["InfoEncryptedKeys"] == ["Producer", "CreationDate"]
    assert ex.tags["Count"] == 4
    assert ex.tags["Encryption"] == {
        "Filter": "Adobe.PubSec",
        "SubFilter": "adbe.pkcs7.s5",
        "V": 4,
        "Length": 128,
        "P": -1340,
    }
    assert ex.tags["PageCount"] == 1


ID0 = bytes.fromhex("00112233445566778899aabbccddeeff")
SECRET_INFO = b"<< /Producer (Secret Producer 1.0) /CreationDate (D:20190501134510+02'00') /Count 4 >>"


def _rc4_key(o: bytes, p: int) -> bytes:
    """ISO 32000 algorithm 2, revision 3, 128-bit, empty user password."""
    digest = hashlib.md5(pdfcrypt.PAD + o + struct.pack("<I", p & 0xFFFFFFFF) + ID0).digest()
    for _ in range(50):
        digest = hashlib.md5(digest).digest()
    return digest


def rc4_encrypted_pdf(*, empty_user_password: bool = True, signed_p: bool = True) -> bytes:
    o, p = bytes(range(32)), -3904
    key = _rc4_key(o, p)
    u = pdfcrypt.rc4(key, hashlib.md5(pdfcrypt.PAD + ID0).digest())  # algorithm 5
    for i in range(1, 20):
        u = pdfcrypt.rc4(bytes(b ^ i for b in key), u)
    u = u + bytes(16) if empty_user_password else bytes(32)

    def enc(num: int, text: bytes) -> bytes:
        okey = hashlib.md5(key + num.to_bytes(3, "little") + b"\x00\x00").digest()
        return b"<" + pdfcrypt.rc4(okey, text).hex().encode() + b">"

    info = b"<< /Producer %s /CreationDate %s /Count 4 >>" % (
        enc(2, b"Secret Producer 1.0"),
        enc(2, b"D:20190501134510+02'00'"),
    )
    p_text = b"%d" % (p if signed_p else p & 0xFFFFFFFF)
    encrypt = b"<< /Filter /Standard /V 2 /R 3 /Length 128 /P %s /O <%s> /U <%s> >>" % (
        p_text,
        o.hex().encode(),
        u.hex().encode(),
    )
    objs = [(1, CATALOG), (2, info), (3, PAGES), (4, PAGE), (5, encrypt)]
    ids = b"/ID [<%s> <%s>]" % (ID0.hex().encode(), ID0.hex().encode())
    return classic_pdf(objs, b"/Root 1 0 R /Info 2 0 R /Encrypt 5 0 R " + ids)


@functools.lru_cache(maxsize=1)
def aes256_encrypted_pdf() -> bytes:
    """Revision 6 (PDF 2.0): AES-256 strings and streams, file key wrapped in /UE."""
    file_key = bytes(range(100, 132))
    vsalt, ksalt = b"vsalt123", b"ksalt456"
    probe = pdfcrypt.StandardSecurity({"Filter": fmt.Name("Standard"), "V": 5, "R": 6}, b"")
    u = probe._hash_r6(b"", vsalt, b"") + vsalt + ksalt
    ue = pdfcrypt.aes_cbc_encrypt(probe._hash_r6(b"", ksalt, b""), bytes(16), file_key)

    def enc(data: bytes) -> bytes:
        pad = 16 - len(data) % 16
        iv = bytes(range(16))
        return iv + pdfcrypt.aes_cbc_encrypt(file_key, iv, data + bytes([pad]) * pad)

    packet = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"'
        b' xmp:CreateDate="2019-05-01T13:45:10+02:00"/></rdf:RDF></x:xmpmeta>'
    )
    info = b"<< /Producer <%s> /CreationDate <%s> >>" % (
        enc(b"AES Producer").hex().encode(),
        enc(b"D:20190501134510+02'00'").hex().encode(),
    )
    cf = b"/CF << /StdCF << /CFM /AESV3 /Length 32 >> >> /StmF /StdCF /StrF /StdCF"
    encrypt = b"<< /Filter /Standard /V 5 /R 6 /Length 256 /P -4 %s /O <%s> /U <%s> /OE <%s> /UE <%s> >>" % (
        cf,
        bytes(48).hex().encode(),
        u.hex().encode(),
        bytes(32).hex().encode(),
        ue.hex().encode(),
    )
    catalog = b"<< /Type /Catalog /Pages 3 0 R /Metadata 6 0 R /Lang <%s> >>" % enc(b"de-DE").hex().encode()
    objs = [(1, catalog), (2, info), (3, PAGES), (4, PAGE), (5, encrypt)]
    objs.append((6, stream_obj(6, enc(packet), b" /Type /Metadata /Subtype /XML")))
    return classic_pdf(objs, b"/Root 1 0 R /Info 2 0 R /Encrypt 5 0 R")


@pytest.mark.parametrize("signed_p", [True, False])
def test_rc4_encryption_with_empty_user_password_is_read(signed_p: bool) -> None:
    ex = extract(rc4_encrypted_pdf(signed_p=signed_p))
    assert ex.problems == (), messages(ex)
    assert ex.tags["Producer"] == "Secret Producer 1.0"
    assert ts(ex)["CreationDate"].utc == "2019-05-01T11:45:10Z"
    assert ex.tags["Encrypted"] is True and ex.tags["EncryptionAccess"] == "empty-user-password"
    assert ex.tags["Encryption"]["R"] == 3


def test_aes256_encryption_with_empty_user_password_is_read() -> None:
    ex = extract(aes256_encrypted_pdf())
    assert ex.problems == (), messages(ex)
    assert ex.tags["Producer"] == "AES Producer"
    assert ex.tags["Lang"] == "de-DE"
    assert ts(ex)["CreationDate"].utc == "2019-05-01T11:45:10Z"
    assert ts(ex, "xmp")["CreateDate"].utc == "2019-05-01T11:45:10Z"  # the Metadata stream was decrypted


def test_encryption_with_a_user_password_stays_locked() -> None:
    ex = extract(rc4_encrypted_pdf(empty_user_password=False))
    assert [(p.severity, p.type) for p in ex.problems] == [("warning", "Encrypted")]
    assert "encrypted: Info strings unreadable (a user password is required)" in messages(ex)
    assert ex.timestamps == () and "Producer" not in ex.tags and ex.device is None
    assert ex.tags["InfoEncryptedKeys"] == ["Producer", "CreationDate"]
    assert ex.tags["Count"] == 4  # numbers are not encrypted
    assert ex.tags["EncryptionAccess"] == "locked"


def test_aes_and_rc4_known_answers() -> None:
    plain = bytes.fromhex("00112233445566778899aabbccddeeff")
    for key_len, expected in ((16, "69c4e0d86a7b0430d8cdb78070b4c55a"), (32, "8ea2b7ca516745bfeafc49904b496089")):
        key = bytes(range(key_len))  # FIPS-197 appendix C
        assert pdfcrypt.aes_cbc_encrypt(key, bytes(16), plain).hex() == expected
        assert pdfcrypt.aes_cbc_decrypt(key, bytes(16), bytes.fromhex(expected)) == plain
    assert pdfcrypt.rc4(b"Key", b"Plaintext").hex() == "bbf316e8d940af0ad3"
    data = bytes(range(256)) * 2
    assert pdfcrypt.aes_cbc_decrypt(b"k" * 32, b"i" * 16, pdfcrypt.aes_cbc_encrypt(b"k" * 32, b"i" * 16, data)) == data


def test_broken_startxref_falls_back_to_scanning() -> None:
    data = standard_pdf()
    head, tail = data.rsplit(b"startxref", 1)
    data = head + b"startxref\n999999\n%%EOF\n"
    ex = extract(data)
    assert all(p.severity == "warning" for p in ex.problems)
    assert "cross-reference" in messages(ex)
    assert ex.tags["Producer"] == "Acme PDF Library 2.1"
    assert ts(ex)["CreationDate"].utc == "2019-05-01T11:45:10Z"


def test_no_xref_no_trailer_info_found_by_scanning() -> None:
    data = standard_pdf()
    data = data[: data.index(b"xref\n")]
    ex = extract(data)
    assert ex.tags["Producer"] == "Acme PDF Library 2.1"
    assert ex.tags["PageCount"] == 1
    assert "found by scanning" in messages(ex)
    assert len(ex.problems) >= 2


def test_wrong_xref_offsets_are_repaired_by_scanning() -> None:
    data = standard_pdf()
    # shift every object by inserting bytes after the header: the table now lies
    data = data.replace(b"%PDF-1.4\n", b"%PDF-1.4\n" + b"%" + b"x" * 37 + b"\n", 1)
    data = data.replace(b"startxref\n", b"startxref\n", 1)
    xref_at = data.rindex(b"xref\n", 0, data.rindex(b"startxref"))
    data = data[: data.rindex(b"startxref")] + b"startxref\n%d\n%%%%EOF\n" % xref_at
    ex = extract(data)
    assert ex.tags["Producer"] == "Acme PDF Library 2.1"
    assert "wrong" in messages(ex)


def test_truncated_file_gives_problems_not_a_crash() -> None:
    full = xref_stream_pdf()
    for cut in (len(full) // 4, len(full) // 2, len(full) - 30):
        ex = extract(full[:cut])
        assert ex.problems, cut
        assert all(p.severity == "warning" for p in ex.problems)


def test_prev_loop_is_detected() -> None:
    base = standard_pdf()
    xref_at = int(base.rsplit(b"startxref", 1)[1].split()[0])
    looped = base.replace(b"/Info 2 0 R >>", b"/Info 2 0 R /Prev %d >>" % xref_at)
    ex = extract(looped)
    assert "loop" in messages(ex)
    assert ex.tags["Producer"] == "Acme PDF Library 2.1"


def test_deep_nesting_is_refused() -> None:
    deep = b"[" * 5000 + b"]" * 5000
    info = b"<< /Producer (P) /Deep " + deep + b" >>"
    ex = extract(standard_pdf(info))
    assert "nested deeper" in messages(ex)
    assert "Producer" not in ex.tags


def test_stream_with_wrong_length_uses_endstream() -> None:
    packet = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></x:xmpmeta>'
    body = b"<< /Length 99999 /Type /Metadata >>\nstream\n" + packet + b"\nendstream"
    catalog = b"<< /Type /Catalog /Pages 3 0 R /Metadata 5 0 R >>"
    ex = extract(classic_pdf([(1, catalog), (2, INFO), (3, PAGES), (4, PAGE), (5, body)]))
    assert "endstream" in messages(ex)


def test_flate_bomb_in_metadata_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fmt, "MAX_DECODED", 64 * 1024)
    catalog = b"<< /Type /Catalog /Pages 3 0 R /Metadata 5 0 R >>"
    bomb = stream_obj(5, b"\x00" * (4 * 1024 * 1024), b" /Type /Metadata", flate=True)
    ex = extract(classic_pdf([(1, catalog), (2, INFO), (3, PAGES), (4, PAGE), (5, bomb)]))
    assert "larger than" in messages(ex)
    assert ex.tags["Producer"] == "Acme PDF Library 2.1"


def test_bad_dates_are_problems() -> None:
    info = b"<< /Producer (P) /CreationDate (yesterday) /ModDate (D:20191399000000) >>"
    ex = extract(standard_pdf(info))
    assert ex.timestamps == ()
    assert [p.type for p in ex.problems] == ["BadDate", "BadDate"]
    assert ex.tags["CreationDate"] == "yesterday"  # the stored text is still reported


def test_self_referencing_length_does_not_loop() -> None:
    body = b"<< /Length 5 0 R >>\nstream\nabc\nendstream"
    catalog = b"<< /Type /Catalog /Pages 3 0 R /Metadata 5 0 R >>"
    ex = extract(classic_pdf([(1, catalog), (2, INFO), (3, PAGES), (4, PAGE), (5, body)]))
    assert ex.tags["Producer"] == "Acme PDF Library 2.1"
    assert ex.problems  # the broken stream is reported


def test_created_after_modified_is_a_notice() -> None:
    info = b"<< /CreationDate (D:20200101000000Z) /ModDate (D:20190101000000Z) >>"
    ex = extract(standard_pdf(info))
    assert [(f.code, f.severity) for f in ex.findings] == [("pdf-time-inconsistent", "notice")]


# --------------------------------------------------------------------------------------
# dates


@pytest.mark.parametrize(
    ("raw", "value", "utc"),
    [
        ("D:20190501134510+02'00'", "2019-05-01T13:45:10+02:00", "2019-05-01T11:45:10Z"),
        ("D:20190501134510+02'00", "2019-05-01T13:45:10+02:00", "2019-05-01T11:45:10Z"),
        ("D:20190501134510+0200", "2019-05-01T13:45:10+02:00", "2019-05-01T11:45:10Z"),
        ("D:20190501134510-05'30'", "2019-05-01T13:45:10-05:30", "2019-05-01T19:15:10Z"),
        ("D:20190501134510Z", "2019-05-01T13:45:10+00:00", "2019-05-01T13:45:10Z"),
        ("D:20190501134510Z00'00'", "2019-05-01T13:45:10+00:00", "2019-05-01T13:45:10Z"),
        ("D:20230410074654Z07'46'", "2023-04-10T07:46:54+00:00", "2023-04-10T07:46:54Z"),
        ("D:20190501134510", "2019-05-01T13:45:10", None),
        ("20190501134510+02'00'", "2019-05-01T13:45:10+02:00", "2019-05-01T11:45:10Z"),
        ("D:201905011345", "2019-05-01T13:45", None),
        ("D:201905011345+01'00'", "2019-05-01T13:45+01:00", "2019-05-01T12:45Z"),
        ("D:20190501", "2019-05-01", None),
        ("D:201905", "2019-05", None),
        ("D:2019", "2019", None),
        ("D:20190501134510.25+02'00'", "2019-05-01T13:45:10.25+02:00", "2019-05-01T11:45:10.25Z"),
        ("2019-05-01T13:45:10+02:00", "2019-05-01T13:45:10+02:00", "2019-05-01T11:45:10Z"),
        ("D:2019-05-01 13:45:10", "2019-05-01T13:45:10", None),
        ("D:2019:05:01 13:45:10+02:00", "2019-05-01T13:45:10+02:00", "2019-05-01T11:45:10Z"),
        # Years before 1000 keep four digits (strftime's %Y does not pad them).
        ("D:00990101120000+01'00'", "0099-01-01T12:00:00+01:00", "0099-01-01T11:00:00Z"),
        ("D:009901011200+01'00'", "0099-01-01T12:00+01:00", "0099-01-01T11:00Z"),
        ("D:09990101", "0999-01-01", None),
    ],
)
def test_pdf_date_variants(raw: str, value: str, utc: str | None) -> None:
    t = pdf_timestamp("CreationDate", raw)
    assert t is not None
    assert (t.value, t.utc, t.raw, t.source) == (value, utc, raw, "pdf")
    assert t.offset_origin == ("stored" if utc else "none")


@pytest.mark.parametrize("raw", ["", "   ", "D:", "D:00000000000000"])
def test_blank_pdf_dates_are_absent(raw: str) -> None:
    assert pdf_timestamp("ModDate", raw) is None


@pytest.mark.parametrize(
    "raw", ["D:20191301000000", "D:20190230", "D:20190501250000", "D:2019050113451+02'00'", "junk"]
)
def test_impossible_pdf_dates_raise(raw: str) -> None:
    with pytest.raises(TimeParseError):
        pdf_timestamp("CreationDate", raw)


# --------------------------------------------------------------------------------------
# reader internals


def test_parser_values() -> None:
    p = fmt.Parser(b"<< /A [1 -2 +3.5 .5 4 0 R (s) <6869> /N#41 true null] /B << /C /D >> >>")
    v = p.parse()
    assert v["A"] == [1, -2, 3.5, 0.5, fmt.Ref(4, 0), b"s", b"hi", "NA", True, None]
    assert isinstance(v["A"][7], fmt.Name)
    assert v["B"] == {"C": "D"}


def test_parser_truncated_and_deep() -> None:
    with pytest.raises(fmt.PdfSyntaxError):
        fmt.Parser(b"<< /A (unterminated").parse()
    with pytest.raises(fmt.PdfSyntaxError):
        fmt.Parser(b"[" * 100 + b"]" * 100).parse()


def test_decode_text_encodings() -> None:
    assert fmt.decode_text(b"\xfe\xff\x00A\x00\xe9") == "A\u00e9"
    assert fmt.decode_text(b"\xef\xbb\xbfcaf\xc3\xa9") == "caf\u00e9"
    assert fmt.decode_text(b"\x80\x84\xa0e") == "\u2022\u2014\u20ace"


def _reference_unpredict(data: bytes, rowlen: int) -> bytes:
    """PNG row filters undone the slow, obvious way (1 byte per pixel)."""
    out = bytearray()
    prev = bytearray(rowlen)
    for s in range(0, len(data), rowlen + 1):
        f = data[s]
        row = bytearray(data[s + 1 : s + 1 + rowlen])
        row.extend(bytes(rowlen - len(row)))
        for i in range(rowlen):
            a = row[i - 1] if i else 0
            b = prev[i]
            c = prev[i - 1] if i else 0
            if f == 1:
                row[i] = (row[i] + a) & 0xFF
            elif f == 2:
                row[i] = (row[i] + b) & 0xFF
            elif f == 3:
                row[i] = (row[i] + ((a + b) >> 1)) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[i] = (row[i] + (a if pa <= pb and pa <= pc else (b if pb <= pc else c))) & 0xFF
        out += row
        prev = row
    return bytes(out)


@pytest.mark.parametrize("seed", range(40))
def test_png_predictor_matches_reference(seed: int) -> None:
    import random

    rnd = random.Random(seed)
    rowlen = rnd.randint(1, 9)
    only_up = seed % 2 == 0  # the bulk path (every row "Up") and the mixed path
    rows = [bytes([2 if only_up else rnd.randint(0, 4)]) + rnd.randbytes(rowlen) for _ in range(rnd.randint(0, 60))]
    data = b"".join(rows)
    if rows and seed % 3 == 0:
        data = data[: -rnd.randint(1, rowlen)]  # a short last row is padded with zeros
    assert fmt.predict(data, {"Predictor": 12, "Columns": rowlen}, 1 << 20) == _reference_unpredict(data, rowlen)


def test_png_predictor_paeth_and_sub() -> None:
    rows = [bytes([1, 2, 3]), bytes([4, 6, 9])]
    # Sub on row 1, Paeth on row 2 (encoded by hand)
    sub = bytes([1, 1, 1])
    paeth = bytes([4 - 1, (6 - 4) & 0xFF, (9 - 6) & 0xFF])
    enc = b"\x01" + sub + b"\x04" + paeth
    assert fmt.predict(enc, {"Predictor": 12, "Columns": 3}, 1 << 20) == b"".join(rows)


def test_open_pdf_reports_eof_count_and_sections() -> None:
    data = append_update(standard_pdf(), [(5, b"<< >>")], b"/Root 1 0 R /Info 2 0 R")
    doc = fmt.open_pdf(fmt.Source(data))
    assert (doc.eof_markers, len(doc.sections), doc.xref_broken) == (2, 2, False)
    assert doc.notes == []
