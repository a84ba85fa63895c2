"""find_packets' shortcuts for text: a first byte no container starts with goes straight
to the scan, and data without any ``<`` has no marker."""

from __future__ import annotations

from evidence_cli.extractors import xmp
from evidence_cli.extractors.xmp import find_packets
from tests.builders import file_context, jpeg_bytes, png_bytes, tiff_image_bytes, webp_bytes

RDF = b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description/></rdf:RDF>'
META = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">' + RDF + b"</x:xmpmeta>"


def test_every_container_signature_starts_with_a_listed_byte() -> None:
    heads = [jpeg_bytes(), png_bytes(), webp_bytes(), tiff_image_bytes(), b"8BPS\x00\x01", b"GIF89a", b"GIF87a"]
    heads += [b"MM\x00*\x00\x00\x00\x08", b"II+\x00", b"MM\x00+"]
    assert all(h[:1] in xmp._CONTAINER_FIRST_BYTES for h in heads)
    assert sorted(set(xmp._CONTAINER_FIRST_BYTES)) == sorted({h[0] for h in heads})


def test_text_packet_found_whatever_its_first_byte() -> None:
    for lead in (b"Notes\n", b"Images\n", b"Go\n", b"8 lines\n", b"Random\n", b"hello\n"):
        main, ext, notes = find_packets(file_context(lead + META + b"\n", "notes.txt", mime="text/plain"))
        assert main is not None and main.startswith(b"<x:xmpmeta") and ext is None and notes == []


def test_sidecar_rdf_only_still_found() -> None:
    main, _, _ = find_packets(file_context(b"Made by hand\n" + RDF, "IMG_2.XMP", mime="text/xml"))
    assert main == RDF
    assert find_packets(file_context(b"Made by hand\n" + RDF, "a.txt", mime="text/xml"))[0] is None


def test_text_without_marker_has_no_packet() -> None:
    for data in (b"plain words, no angle bracket\n" * 50, b"a < b and c > d\n", b"{}", b"I"):
        assert find_packets(file_context(data, "a.txt", mime="text/plain")) == (None, None, [])
