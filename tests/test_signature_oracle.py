"""signature() must answer exactly as its first version (kept here as the oracle): the
faster one only returns None early for a first byte no signature can start with."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from evidence_cli.filetype import _COMMON, FTYP_BRANDS, signature


def old_signature(head: bytes) -> tuple[str, str] | None:
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand[:3] == b"3gp":
            return "video/3gpp", "ISO Media, 3GPP"
        if brand[:3] == b"3g2":
            return "video/3gpp2", "ISO Media, 3GPP2"
        mime = FTYP_BRANDS.get(brand, "video/mp4")
        shown = brand.decode("latin-1")
        return mime, f"ISO Media, major brand {shown!r}"
    if head[:4] in (b"II+\x00", b"MM\x00+"):
        order = "little-endian" if head[:2] == b"II" else "big-endian"
        return "image/x-tiff-big", f"BigTIFF image data, {order}"
    text = head[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith((b"<?xpacket", b"<x:xmpmeta", b"<x:xapmeta")):
        return "application/rdf+xml", "XMP metadata (RDF/XML)"
    for magic_bytes, mime, desc in _COMMON:
        if head.startswith(magic_bytes):
            return mime, desc
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "RIFF (little-endian) data, Web/P image"
    return None


_STARTS = [m for m, _, _ in _COMMON] + [
    b"II+\x00",
    b"MM\x00+",
    b"RIFF\x00\x00\x00\x00WEBP",
    b"\x00\x00\x00\x18ftypheic",
    b"\x00\x00\x00\x18ftyp3gp5",
    b"<?xpacket",
    b"<x:xmpmeta",
    b"<x:xapmeta",
    b"\xef\xbb\xbf",
    b" \t\r\n",
]


@settings(max_examples=3000, deadline=None)
@given(
    st.lists(st.sampled_from(_STARTS), max_size=3).map(b"".join),
    st.binary(max_size=40),
    st.sampled_from([b"", b"<?xpacket begin", b"ftyp", b"WEBP"]),
)
def test_same_answer_as_the_first_version(prefix: bytes, middle: bytes, tail: bytes) -> None:
    for head in (prefix + middle + tail, middle + prefix + tail, middle[:4] + b"ftyp" + middle[4:]):
        assert signature(head) == old_signature(head)


def test_known_answers() -> None:
    assert signature(b"\x00\x00\x00\x18ftypheic") == ("image/heic", "ISO Media, major brand 'heic'")
    assert signature(b"\xef\xbb\xbf \n<?xpacket begin=''?>") == ("application/rdf+xml", "XMP metadata (RDF/XML)")
    assert signature(b"hello world") is None
    assert signature(b"") is None
