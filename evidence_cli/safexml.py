"""A hardened XML parser for metadata from evidence (XMP, Office XML, ODF, ...).

Built directly on expat with our own tree builder, so nothing in the document can
make it fetch, expand or recurse: a document type declaration (DTD) is refused
outright — no internal or external entities, hence no "billion laughs" and no XXE —
and input size, nesting depth and element count are bounded. Metadata formats never
need a DTD, so refusing one loses nothing real; the refusal is reported to the caller.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any, NoReturn
from xml.parsers import expat

MAX_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 200
MAX_ELEMENTS = 200_000


class UnsafeXMLError(ValueError):
    """The document tries something we refuse (DTD, entities) or exceeds a bound."""


class XMLSyntaxError(ValueError):
    """The document is not well-formed XML."""


def _qname(name: str) -> str:
    # expat with namespace_separator="}" gives "uri}local"; ElementTree wants "{uri}local".
    return "{" + name if "}" in name else name


def parse(
    data: bytes | str,
    *,
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
    max_elements: int = MAX_ELEMENTS,
) -> ET.Element:
    """Parse one XML document into an ElementTree element, safely.

    Raises:
        UnsafeXMLError: DTD/entity declarations, external entities, or a bound exceeded.
        XMLSyntaxError: malformed XML.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > max_bytes:
        raise UnsafeXMLError(f"XML document of {len(data)} bytes exceeds the {max_bytes}-byte limit")
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    depth = 0
    count = 0

    def refuse(*_: Any) -> NoReturn:
        raise UnsafeXMLError("document type declarations and entities are refused")

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal depth, count
        depth += 1
        count += 1
        if depth > max_depth:
            raise UnsafeXMLError(f"XML nesting deeper than {max_depth}")
        if count > max_elements:
            raise UnsafeXMLError(f"more than {max_elements} XML elements")
        builder.start(_qname(name), {_qname(k): v for k, v in attrs.items()})

    def end(name: str) -> None:
        nonlocal depth
        depth -= 1
        builder.end(_qname(name))

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise XMLSyntaxError(f"malformed XML: {exc}") from None
    except RecursionError:
        raise UnsafeXMLError("XML too deeply nested") from None
    except (UnsafeXMLError, XMLSyntaxError):
        raise  # (ours, raised by the handlers above; both are ValueErrors)
    except (LookupError, ValueError) as exc:
        # The declaration names an encoding Python does not know ("UTTF-8"), a codec that is
        # not a text encoding ("rot13"), or a multi-byte one pyexpat cannot use (Shift_JIS):
        # LookupError, ValueError or UnicodeError, raised through the parser.
        raise XMLSyntaxError(f"XML in an encoding that cannot be read: {str(exc)[:120]}") from None
    root = builder.close()
    return root
