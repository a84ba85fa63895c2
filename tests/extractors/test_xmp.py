"""XMP: packet parsing (parse_packet), container location, hostile packets."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest

from evidence_cli.extractors import xmp
from evidence_cli.extractors.xmp import XmpExtractor, parse_packet
from tests.builders import exif_tiff, file_context, jpeg_bytes, png_bytes, scan_one, tiff_image_bytes

NS = (
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    'xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
    'xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/" '
    'xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    'xmlns:exifEX="http://cipa.jp/exif/1.0/" '
    'xmlns:tiff="http://ns.adobe.com/tiff/1.0/" '
    'xmlns:aux="http://ns.adobe.com/exif/1.0/aux/" '
    'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" '
    'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
    'xmlns:my="http://example.org/my-ns/" '
)


def packet(attrs: str = "", body: str = "", *, ns: str = NS, pad: int = 0) -> bytes:
    """An XMP packet with one rdf:Description carrying ``attrs`` and child ``body``."""
    text = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" {ns} {attrs}>{body}</rdf:Description>'
        "</rdf:RDF></x:xmpmeta>" + " " * pad + '<?xpacket end="w"?>'
    )
    return text.encode("utf-8")


FULL_BODY = """
<xmp:CreateDate>2019-05-01T13:45:10+02:00</xmp:CreateDate>
<xmp:ModifyDate>2019-05-02T08:00</xmp:ModifyDate>
<xmp:MetadataDate>2019-05-02</xmp:MetadataDate>
<photoshop:DateCreated>2019-05-01</photoshop:DateCreated>
<exif:DateTimeOriginal>2019-05-01T13:45:10.25+02:00</exif:DateTimeOriginal>
<exif:GPSLatitude>48,51.5N</exif:GPSLatitude>
<exif:GPSLongitude>2,17,40.2W</exif:GPSLongitude>
<exif:GPSAltitude>3520/100</exif:GPSAltitude>
<exif:GPSAltitudeRef>1</exif:GPSAltitudeRef>
<tiff:Make>Canon</tiff:Make>
<tiff:Model>Canon EOS R5</tiff:Model>
<aux:SerialNumber>012345678901</aux:SerialNumber>
<aux:Lens>RF24-105mm F4 L IS USM</aux:Lens>
<xmp:CreatorTool>Adobe Photoshop 24.0 (Macintosh)</xmp:CreatorTool>
<xmpMM:DocumentID>xmp.did:1234</xmpMM:DocumentID>
<xmpMM:History><rdf:Seq>
  <rdf:li rdf:parseType="Resource"><stEvt:action>created</stEvt:action>
    <stEvt:when>2019-05-01T13:45:10+02:00</stEvt:when></rdf:li>
  <rdf:li stEvt:action="saved" stEvt:softwareAgent="Adobe Photoshop 24.0" stEvt:when="2019-05-02T08:00+02:00"/>
</rdf:Seq></xmpMM:History>
<dc:creator><rdf:Seq><rdf:li>Jane Doe</rdf:li><rdf:li>John Roe</rdf:li></rdf:Seq></dc:creator>
<dc:subject><rdf:Bag><rdf:li>a</rdf:li><rdf:li>b</rdf:li></rdf:Bag></dc:subject>
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Title</rdf:li></rdf:Alt></dc:title>
<my:thing rdf:resource="http://example.org/r"/>
"""


def test_parse_packet_reads_dates_gps_device_and_structures() -> None:
    ex = parse_packet(packet('xmpMM:InstanceID="xmp.iid:abcd"', FULL_BODY))
    assert ex.group == "xmp" and ex.problems == ()
    t = ex.tags
    assert t["xmpMM:InstanceID"] == "xmp.iid:abcd"
    assert t["dc:creator"] == ["Jane Doe", "John Roe"]
    assert t["dc:subject"] == ["a", "b"]
    assert t["dc:title"] == ["Title"]
    assert t["my:thing"] == "http://example.org/r"  # unknown namespace: the document's prefix
    assert t["xmpMM:History"] == [
        {"stEvt:action": "created", "stEvt:when": "2019-05-01T13:45:10+02:00"},
        {
            "stEvt:action": "saved",
            "stEvt:softwareAgent": "Adobe Photoshop 24.0",
            "stEvt:when": "2019-05-02T08:00+02:00",
        },
    ]
    ts = {x.name: x for x in ex.timestamps}
    assert set(ts) == {"CreateDate", "ModifyDate", "MetadataDate", "DateCreated", "DateTimeOriginal"}
    assert all(x.source == "xmp" for x in ts.values())
    assert ts["CreateDate"].value == "2019-05-01T13:45:10+02:00"
    assert ts["CreateDate"].utc == "2019-05-01T11:45:10Z"
    assert ts["DateTimeOriginal"].utc == "2019-05-01T11:45:10.25Z"
    # Precision kept: minutes stay minutes, a date stays a date; no offset, no UTC.
    assert (ts["ModifyDate"].value, ts["ModifyDate"].utc) == ("2019-05-02T08:00", None)
    assert (ts["DateCreated"].value, ts["DateCreated"].utc) == ("2019-05-01", None)
    assert ex.gps is not None
    assert abs(ex.gps.latitude - (48 + 51.5 / 60)) < 1e-7
    assert abs(ex.gps.longitude + (2 + 17 / 60 + 40.2 / 3600)) < 1e-7
    assert ex.gps.altitude == -35.2
    d = ex.device
    assert d is not None
    assert (d.make, d.model, d.serial, d.lens, d.software) == (
        "Canon",
        "Canon EOS R5",
        "012345678901",
        "RF24-105mm F4 L IS USM",
        "Adobe Photoshop 24.0 (Macintosh)",
    )
    assert ex.findings == ()


def test_known_namespace_gets_its_conventional_prefix() -> None:
    # Old Adobe software writes "xap:" for the xmp namespace.
    ns = 'xmlns:xap="http://ns.adobe.com/xap/1.0/"'
    ex = parse_packet(packet('xap:CreateDate="2005-09-07T15:07:40-07:00"', ns=ns))
    assert ex.tags == {"xmp:CreateDate": "2005-09-07T15:07:40-07:00"}
    assert ex.timestamps[0].utc == "2005-09-07T22:07:40Z"


def test_ai_generated_source_type_is_a_finding() -> None:
    body = (
        "<Iptc4xmpExt:DigitalSourceType>"
        "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
        "</Iptc4xmpExt:DigitalSourceType>"
    )
    ex = parse_packet(packet(body=body))
    assert [f.code for f in ex.findings] == ["ai-generated"]
    assert ex.findings[0].severity == "notice"
    composite = body.replace("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia")
    assert [f.code for f in parse_packet(packet(body=composite)).findings] == ["ai-generated"]
    camera = body.replace("trainedAlgorithmicMedia", "digitalCapture")
    assert parse_packet(packet(body=camera)).findings == ()


def test_entity_expansion_is_refused_with_a_problem() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        + packet(body="<dc:format>&lol3;</dc:format>")
    )
    ex = parse_packet(bomb)
    assert ex.tags == {} and ex.timestamps == ()
    assert len(ex.problems) == 1
    assert "refused" in ex.problems[0].message


def test_external_entity_is_refused_with_a_problem(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xxe = f'<!DOCTYPE x [<!ENTITY e SYSTEM "file://{secret}">]>'.encode() + packet(body="<dc:format>&e;</dc:format>")
    ex = parse_packet(xxe)
    assert ex.tags == {}
    assert len(ex.problems) == 1 and "refused" in ex.problems[0].message
    assert "TOP-SECRET" not in repr(ex)


def test_malformed_packet_is_one_problem() -> None:
    ex = parse_packet(packet(body="<xmp:CreateDate>2019</xmp:ModifyDate>"))
    assert ex.tags == {} and len(ex.problems) == 1
    assert "not well-formed" in ex.problems[0].message


def test_bad_date_and_gps_are_problems_the_rest_is_kept() -> None:
    body = (
        "<xmp:CreateDate>yesterday</xmp:CreateDate><xmp:ModifyDate>2019-02-30</xmp:ModifyDate>"
        "<exif:GPSLatitude>95,0N</exif:GPSLatitude><exif:GPSLongitude>2,0E</exif:GPSLongitude>"
        "<tiff:Make>Nikon</tiff:Make>"
    )
    ex = parse_packet(packet(body=body))
    assert ex.timestamps == () and ex.gps is None
    assert len(ex.problems) == 3
    assert ex.device is not None and ex.device.make == "Nikon"
    assert ex.tags["xmp:CreateDate"] == "yesterday"


@pytest.mark.parametrize(
    "coordinate",
    [
        "2" + "1" * 5000 + "E",  # a degree of 5,001 digits (found by fuzz/)
        "2," + "1" * 5000 + "E",  # minutes
        "2,0,0." + "1" * 5000 + "E",  # a fraction of seconds
        "2." + "1" * 31 + "E",  # past the 30 digits a coordinate number may have
    ],
)
def test_a_coordinate_of_thousands_of_digits_is_a_problem_the_rest_is_kept(coordinate: str) -> None:
    # Python will not make an int of over 4,300 digits: Fraction() raised ValueError out
    # of the extractor, and every XMP tag of the file was lost.
    body = f"<exif:GPSLatitude>4,0N</exif:GPSLatitude><exif:GPSLongitude>{coordinate}</exif:GPSLongitude>"
    ex = parse_packet(packet(body=body + "<tiff:Make>Nikon</tiff:Make>"))
    assert ex.gps is None
    assert [p.type for p in ex.problems] == ["Damaged"]
    assert "GPSLongitude: not a coordinate" in ex.problems[0].message
    assert len(ex.problems[0].message) < 200, "the message quotes the value shortened"
    assert ex.device is not None and ex.device.make == "Nikon"


def test_a_coordinate_of_thirty_digit_numbers_is_still_read() -> None:
    ex = parse_packet(
        packet(
            body="<exif:GPSLatitude>48,51." + "5" * 30 + "N</exif:GPSLatitude>"
            "<exif:GPSLongitude>2,17,40.2W</exif:GPSLongitude>"
        )
    )
    assert ex.gps is not None and round(ex.gps.latitude, 4) == 48.8593


def test_values_are_bounded() -> None:
    long_text = "x" * (xmp.MAX_TEXT + 1)
    items = "".join(f"<rdf:li>{i}</rdf:li>" for i in range(xmp.MAX_ITEMS + 5))
    body = f"<dc:format>{long_text}</dc:format><dc:subject><rdf:Bag>{items}</rdf:Bag></dc:subject>"
    ex = parse_packet(packet(body=body))
    v = ex.tags["dc:format"]
    assert isinstance(v, dict) and v["truncated"] and v["length"] == len(long_text) and len(v["text"]) < 1000
    assert len(ex.tags["dc:subject"]) == xmp.MAX_ITEMS
    # The cut value says so itself (no problem); dropped list items are a problem.
    assert len(ex.problems) == 1 and ex.problems[0].type == "Truncated"
    assert "items" in ex.problems[0].message


def test_deep_nesting_is_bounded() -> None:
    inner = "<my:v>deep</my:v>"
    for _ in range(xmp.MAX_DEPTH + 3):
        inner = f'<my:s rdf:parseType="Resource">{inner}</my:s>'
    ex = parse_packet(packet(body=inner))
    assert "my:s" in ex.tags
    assert any("nested deeper" in p.message for p in ex.problems)


# --- containers ------------------------------------------------------------------------


def _app(marker: int, payload: bytes) -> bytes:
    return b"\xff" + bytes([marker]) + struct.pack(">H", len(payload) + 2) + payload


def _insert_after_soi(jpeg: bytes, *segments: bytes) -> bytes:
    return jpeg[:2] + b"".join(segments) + jpeg[2:]


def test_jpeg_app1_packet() -> None:
    data = _insert_after_soi(jpeg_bytes(), _app(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + packet(body=FULL_BODY)))
    ex = XmpExtractor().extract(file_context(data, "a.jpg"))
    assert ex.problems == ()
    assert ex.tags["tiff:Make"] == "Canon"
    assert {t.name for t in ex.timestamps} >= {"CreateDate", "DateTimeOriginal"}


def test_jpeg_extended_xmp_is_reassembled() -> None:
    guid = "0123456789ABCDEF0123456789ABCDEF"
    main = packet(f'xmlns:xmpNote="http://ns.adobe.com/xmp/note/" xmpNote:HasExtendedXMP="{guid}"')
    ext = packet(body="<photoshop:DateCreated>2020-01-02T03:04:05Z</photoshop:DateCreated>", pad=300)
    half = len(ext) // 2
    segs = [
        _app(0xE1, b"http://ns.adobe.com/xmp/extension/\x00" + guid.encode() + struct.pack(">II", len(ext), off) + part)
        for off, part in ((half, ext[half:]), (0, ext[:half]))  # out of order, as allowed
    ]
    data = _insert_after_soi(jpeg_bytes(), _app(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + main), *segs)
    ex = XmpExtractor().extract(file_context(data, "a.jpg"))
    assert ex.problems == ()
    assert ex.tags["xmpNote:HasExtendedXMP"] == guid
    assert ex.tags["photoshop:DateCreated"] == "2020-01-02T03:04:05Z"
    assert [t.name for t in ex.timestamps] == ["DateCreated"]


def test_jpeg_incomplete_extended_xmp_is_a_problem() -> None:
    guid = "0123456789ABCDEF0123456789ABCDEF"
    main = packet(f'xmlns:xmpNote="http://ns.adobe.com/xmp/note/" xmpNote:HasExtendedXMP="{guid}"')
    ext = packet(body="<dc:format>x</dc:format>")
    head = b"http://ns.adobe.com/xmp/extension/\x00" + guid.encode() + struct.pack(">II", len(ext), 0)
    seg = _app(0xE1, head + ext[:10])
    data = _insert_after_soi(jpeg_bytes(), _app(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + main), seg)
    ex = XmpExtractor().extract(file_context(data, "a.jpg"))
    assert ex.tags["xmpNote:HasExtendedXMP"] == guid
    assert any("incomplete" in p.message for p in ex.problems)


def test_png_itxt_packet() -> None:
    itxt = b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + packet(body=FULL_BODY)
    data = png_bytes(chunks=[(b"iTXt", itxt)])
    ex = XmpExtractor().extract(file_context(data, "a.png"))
    assert ex.tags["tiff:Model"] == "Canon EOS R5" and ex.problems == ()


def test_webp_xmp_chunk() -> None:
    pkt = packet(body=FULL_BODY)
    body = b"WEBP" + b"VP8X" + struct.pack("<I", 10) + bytes(10) + b"XMP " + struct.pack("<I", len(pkt)) + pkt
    body += b"\x00" * (len(pkt) & 1)
    data = b"RIFF" + struct.pack("<I", len(body)) + body
    ex = XmpExtractor().extract(file_context(data, "a.webp", mime="image/webp"))
    assert ex.tags["aux:SerialNumber"] == "012345678901"


def test_tiff_tag_700() -> None:
    from tests.builders import UNDEFINED, Field

    data = tiff_image_bytes(ifd0=[Field(700, UNDEFINED, packet(body=FULL_BODY))])
    ex = XmpExtractor().extract(file_context(data, "a.tif"))
    assert ex.tags["tiff:Make"] == "Canon" and ex.problems == ()


def test_gif_application_extension() -> None:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("P", (4, 4)).save(buf, "GIF")
    gif = buf.getvalue()
    ext = b"\x21\xff\x0bXMP DataXMP" + packet(body=FULL_BODY) + b"\x01" + bytes(range(255, -1, -1)) + b"\x00"
    data = gif[:-1] + ext + gif[-1:]  # before the trailer
    ex = XmpExtractor().extract(file_context(data, "a.gif"))
    assert ex.tags["tiff:Make"] == "Canon" and ex.problems == ()


def test_sidecar_xmp_file() -> None:
    side = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    side += f'<rdf:Description {NS} tiff:Make="Medion AG" xmp:CreateDate="2014-04-27T12:42:47"/>'.encode()
    side += b"</rdf:RDF></x:xmpmeta>\n"
    ex = XmpExtractor().extract(file_context(side, "IMG_1.xmp"))
    assert ex.tags == {"tiff:Make": "Medion AG", "xmp:CreateDate": "2014-04-27T12:42:47"}
    assert ex.timestamps[0].value == "2014-04-27T12:42:47"


def test_fallback_scan_finds_a_packet_in_another_format() -> None:
    data = b"%!PS-Adobe-3.0\n%%Creator: test\n" + b"x" * 1000 + packet(body=FULL_BODY) + b"\nshowpage\n"
    ex = XmpExtractor().extract(file_context(data, "a.eps", mime="application/postscript"))
    assert ex.tags["tiff:Make"] == "Canon"


def test_fallback_scan_is_bounded_and_skips_types_read_elsewhere() -> None:
    far = b"\x00" * (xmp.SCAN_LIMIT + 10) + packet(body=FULL_BODY)
    assert XmpExtractor().extract(file_context(far, "a.bin", mime="application/octet-stream")).tags == {}
    near = b"%PDF-1.7\n" + packet(body=FULL_BODY)
    assert XmpExtractor().extract(file_context(near, "a.pdf", mime="application/pdf")).tags == {}


def test_no_packet_is_no_problem() -> None:
    for data, name in ((jpeg_bytes(exif_tiff(make="X")), "a.jpg"), (png_bytes(), "a.png"), (b"hello\n", "a.txt")):
        ex = XmpExtractor().extract(file_context(data, name))
        assert ex.tags == {} and ex.problems == () and ex.timestamps == ()


def test_damaged_jpeg_packet_is_a_problem_not_a_crash() -> None:
    broken = packet(body=FULL_BODY)[:-200]
    data = _insert_after_soi(jpeg_bytes(), _app(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + broken))
    ex = XmpExtractor().extract(file_context(data, "a.jpg"))
    assert ex.tags == {} and len(ex.problems) == 1 and ex.problems[0].type == "BadXMP"


def test_scan_record_has_xmp_group_and_finding(tmp_path: Path) -> None:
    body = (
        "<tiff:Make>Canon</tiff:Make><xmp:CreateDate>2019-05-01T13:45:10+02:00</xmp:CreateDate>"
        "<Iptc4xmpExt:DigitalSourceType>http://cv.iptc.org/newscodes/digitalsourcetype/"
        "compositeWithTrainedAlgorithmicMedia</Iptc4xmpExt:DigitalSourceType>"
    )
    data = _insert_after_soi(jpeg_bytes(), _app(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + packet(body=body)))
    rec = scan_one(tmp_path, "gen.jpg", data)
    assert rec.metadata["xmp"]["tiff:Make"] == "Canon"
    assert rec.device.make == "Canon"
    assert [f.code for f in rec.findings] == ["ai-generated"]
    assert rec.captured is not None and rec.captured.name == "CreateDate" and rec.captured.source == "xmp"
    assert [p for p in rec.errors if p.stage == "metadata:xmp"] == []
