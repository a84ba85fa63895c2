"""Type detection (libmagic on the first bytes, never the name) and the extension check."""

from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from evidence_cli.filetype import EXTENSIONS, TEXT_EXTENSIONS, check_libmagic, detect_type, extension_fits, extension_of


@pytest.mark.parametrize(
    ("name", "mime", "expected"),
    [
        ("photo.jpg", "image/jpeg", True),
        ("photo.JPG", "image/jpeg", True),
        ("photo.Jpeg", "image/jpeg", True),
        ("photo.png", "image/jpeg", False),  # a JPEG dressed as a PNG
        ("photo.jpg", "image/png", False),
        ("photo", "image/jpeg", None),  # no extension: cannot tell
        (".jpg", "image/jpeg", None),  # a dotfile has no extension
        ("photo.", "image/jpeg", None),
        ("dir.d/photo", "image/jpeg", None),
        ("server.log", "text/plain", True),
        ("notes.TXT", "text/plain", True),
        ("chat.json", "text/plain", True),
        ("binary.exe", "text/plain", None),  # unknown text type: we cannot tell
        ("page.txt", "text/html", True),  # text types accept text extensions
        ("page.jpg", "text/html", False),
        ("thing.xyz", "application/x-unknown-thing", None),  # unknown MIME
        ("thing.jpg", "application/octet-stream", None),
        ("thing.jpg", "inode/x-empty", None),
        ("thing.jpg", None, None),
        ("report.docx", "application/zip", True),
        ("report.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", True),
        ("report.pdf", "application/zip", False),
        ("clip.MOV", "video/quicktime", True),
        ("clip.mp4", "video/quicktime", True),
        ("IMG_0001.HEIC", "image/heic", True),
        ("scan.tif", "image/tiff", True),
        ("raw.dng", "image/tiff", True),
    ],
)
def test_extension_fits(name: str, mime: str | None, expected: bool | None) -> None:
    assert extension_fits(name, mime) is expected


@pytest.mark.parametrize(
    ("name", "ext"),
    [
        ("a.JPG", "jpg"),
        ("a.tar.gz", "gz"),
        ("dir.with.dots/file", None),
        (".bashrc", None),
        ("..", None),
        ("a.", None),
        ("noext", None),
        ("..hidden.txt", "txt"),
    ],
)
def test_extension_of(name: str, ext: str | None) -> None:
    assert extension_of(name) == ext


def test_extension_table_is_lowercase_without_dots() -> None:
    for mime, exts in EXTENSIONS.items():
        assert mime == mime.lower() and "/" in mime
        assert exts, mime
        for e in exts:
            assert e == e.lower() and "." not in e and e.isalnum(), (mime, e)
    for e in TEXT_EXTENSIONS:
        assert e == e.lower() and "." not in e


def test_libmagic_is_usable() -> None:
    assert check_libmagic() is None


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (2, 2)).save(buf, "PNG")
    return buf.getvalue()


def jpeg_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (2, 2)).save(buf, "JPEG")
    return buf.getvalue()


def zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.txt", "hello")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "mime", "ok"),
    [
        ("a.png", png_bytes(), "image/png", True),
        ("a.jpg", jpeg_bytes(), "image/jpeg", True),
        ("a.png", jpeg_bytes(), "image/jpeg", False),
        ("a.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "application/pdf", True),
        ("a.zip", zip_bytes(), "application/zip", True),
        ("a.log", b"2019-05-01 13:45:10 user logged in\nanother line of text\n", "text/plain", True),
        ("a.jpg", b"", "inode/x-empty", None),
    ],
)
def test_detect_type_reads_content_not_names(name: str, data: bytes, mime: str, ok: bool | None) -> None:
    ft = detect_type(name, data)
    assert ft.mime == mime
    assert ft.extension_ok is ok
    assert ft.description
    assert ft.decided_by in ("libmagic", "libmagic-text")


def test_detection_ignores_the_name() -> None:
    data = jpeg_bytes()
    assert detect_type("x.png", data).mime == detect_type("x.txt", data).mime == "image/jpeg"


def test_detect_type_survives_junk() -> None:
    for junk in (b"\x00" * 100, bytes(range(256)) * 4, b"\xff\xd8\xff" + b"\x00" * 10, b"PK\x03\x04"):
        ft = detect_type("junk.bin", junk)
        assert isinstance(ft.mime, str) and ft.mime


_TEXT_SAMPLES = [
    b"hello world\n",
    b"plain prose without a newline",
    "caf\u00e9 cr\u00e8me br\u00fbl\u00e9e, na\u00efve r\u00e9sum\u00e9\n".encode(),
    b"\xef\xbb\xbfwith a byte order mark\n",
    b"windows lines\r\nsecond line\r\n",
    b"x" * 5000 + b"\n",
    b"name,age,city\nalice,30,paris\nbob,41,rome\ncarol,25,oslo\n",
    "\u4e2d\u6587\u6587\u672c\u3002\n\u7b2c\u4e8c\u884c\n".encode(),
    b"2024-01-01 12:00:00 INFO started\n2024-01-01 12:00:01 WARN slow\n",
    b"a\n",
    b"ab",
]


@pytest.mark.parametrize("head", _TEXT_SAMPLES)
def test_text_mime_from_the_description_equals_libmagics_own_answer(head: bytes) -> None:
    from evidence_cli.filetype import _detector

    _, _, mime_h, desc_h = _detector._handles()
    assert _detector.detect_text(head) == (mime_h.from_buffer(head), desc_h.from_buffer(head))


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=300))
def test_text_mime_from_the_description_equals_libmagics_own_answer_for_any_text(text: str) -> None:
    from evidence_cli.filetype import _detector

    head = text.encode("utf-8")
    _, _, mime_h, desc_h = _detector._handles()
    assert _detector.detect_text(head) == (mime_h.from_buffer(head), desc_h.from_buffer(head))


@pytest.mark.parametrize("which", ["description", "mime"])
def test_libmagic_giving_up_is_a_warning_on_the_record(monkeypatch: pytest.MonkeyPatch, which: str) -> None:
    """libmagic gives up on some content ("name use count (64) exceeded" on a JPEG with many
    segments; "cannot allocate" under --memory-limit): the type then came from our signature
    check or is unknown, and the record said so only inside the description, with no error
    entry. It is now a warning (stage type) naming what libmagic said."""
    import magic

    from evidence_cli import filetype
    from evidence_cli.scanner import ScanOptions, scan

    real = filetype._detector._handles()

    class GivesUp:
        def __init__(self, handle: object) -> None:
            self.handle = handle

        def from_buffer(self, head: bytes) -> str:
            raise magic.MagicException(b"name use count (64) exceeded")

    mime_h, desc_h, text_mime, text_desc = real
    if which == "description":
        desc_h = GivesUp(desc_h)
    else:
        mime_h, text_mime = GivesUp(mime_h), GivesUp(text_mime)
    monkeypatch.setattr(filetype._detector, "_handles", lambda: (mime_h, desc_h, text_mime, text_desc))
    jpeg = io.BytesIO()
    Image.new("RGB", (8, 8)).save(jpeg, "JPEG")
    ft = detect_type("x.jpg", jpeg.getvalue())
    assert ft.problem == "libmagic gave up: name use count (64) exceeded"
    assert ft.mime == "image/jpeg"  # from libmagic's MIME walk, or (when that gave up) our signature check
    assert ft.decided_by == ("signature" if which == "mime" else "libmagic")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        with open(f"{tmp}/x.jpg", "wb") as fh:
            fh.write(jpeg.getvalue())
        [record] = list(scan([tmp], ScanOptions(workers=0, metadata=False)))
    assert [(p.stage, p.severity, p.type) for p in record.errors] == [("type", "warning", "LibmagicGaveUp")]
    assert record.mime == "image/jpeg"
