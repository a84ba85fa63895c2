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
    assert (plain.mime, plain.decided_by) == ("text/plain", "libmagic-text")
    assert signature(b"just some words") is None


CHAT = "".join(f"[12:{i:02d}] Bob: see you at the station, ok? 😂\n" for i in range(40)).encode()
LOG = "".join(f"2023-05-01 10:00:{i:02d},123 INFO [main] user=bob status=200 done\n" for i in range(40)).encode()


@pytest.mark.parametrize("text", [CHAT, LOG, b"a,b,c\n1,2,3\n4,5,6\n", b"Just a note.\nSecond line.\n"])
def test_plain_text_fast_path_agrees_with_full_libmagic(text: bytes) -> None:
    from evidence_cli.filetype import is_plain_text

    assert is_plain_text(text)
    fast = detect_type("x.txt", text)
    exact = detect_type("x.txt", text, exact=True)
    assert fast.decided_by == "libmagic-text"
    assert exact.decided_by == "libmagic"
    assert (fast.mime, fast.description) == (exact.mime, exact.description)


@pytest.mark.parametrize(
    "text",
    [
        b"#!/bin/sh\necho hi\n",
        b'<?xml version="1.0"?><a/>',
        b"<html><body>hi</body></html>",
        b'{"a": 1}',
        b"import os\nprint(os.getcwd())\n",
        b'.\\" troff comment\n.TH TITLE 1\n',
        b"--- a/x\n+++ b/x\n@@ -1 +1 @@\n",
        b"\x1b[31mred\x1b[0m\n",
        b"bin\x00ary",
    ],
)
def test_anything_that_could_be_code_or_markup_goes_to_full_libmagic(text: bytes) -> None:
    from evidence_cli.filetype import is_plain_text

    assert not is_plain_text(text)
    assert detect_type("x.txt", text).decided_by in ("libmagic", "signature")
