"""Our own signature check fills libmagic's blind spots, and says it decided."""

from __future__ import annotations

import struct

import pytest

from evidence_cli.filetype import detect_type, signature


def ftyp(brand: bytes, compat: bytes = b"isom") -> bytes:
    body = brand + b"\0\0\0\0" + compat
    return struct.pack(">I", 8 + len(body)) + b"ftyp" + body + struct.pack(">I", 8) + b"free"


@pytest.mark.parametrize(
    ("brand", "mime"),
    [
        (b"heic", "image/heic"),
        (b"mif1", "image/heif"),
        (b"avif", "image/avif"),
        (b"qt  ", "video/quicktime"),
        (b"3gp5", "video/3gpp"),
        (b"M4V ", "video/x-m4v"),
        (b"\x8a\x99zz", "video/mp4"),  # unknown brand: still ISO media
    ],
)
def test_iso_media_brands(brand: bytes, mime: str) -> None:
    sig = signature(ftyp(brand))
    assert sig is not None and sig[0] == mime


def test_unknown_brand_fills_libmagic_octet_stream() -> None:
    t = detect_type("clip.mp4", ftyp(b"    ") + bytes(64))
    assert t.mime == "video/mp4"
    assert t.decided_by == "signature"
    assert t.extension_ok is True


def test_bigtiff_is_not_plain_tiff() -> None:
    head = b"II+\x00\x08\x00\x00\x00" + struct.pack("<Q", 16) + bytes(64)
    t = detect_type("scan.tif", head)
    assert (t.mime, t.decided_by) == ("image/x-tiff-big", "signature")
    assert t.extension_ok is True


def test_xmp_sidecar() -> None:
    head = b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>\n<x:xmpmeta xmlns:x="adobe:ns:meta/"/>'
    t = detect_type("IMG_1.xmp", head)
    assert (t.mime, t.decided_by) == ("application/rdf+xml", "signature")


def test_libmagic_answer_kept_when_it_knows() -> None:
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(100)
    t = detect_type("a.jpg", jpeg)
    assert (t.mime, t.decided_by) == ("image/jpeg", "libmagic")
    plain = detect_type("notes.txt", b"just some words\n" * 10)
    assert (plain.mime, plain.decided_by) == ("text/plain", "libmagic")
    assert signature(b"just some words") is None
