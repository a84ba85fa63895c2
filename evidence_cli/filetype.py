"""Content type detection (libmagic) and the extension check.

libmagic is fed the first chunk of the hashing pass, never the file name. The
extension table below says which name endings fit a detected MIME type; a type
missing from it gives ``extension_ok = None`` (we cannot tell), never a guess.
"""

from __future__ import annotations

import threading
from typing import Any

from evidence_cli.models import FileType

#: MIME type (as libmagic reports it) -> extensions that fit it (lowercase, no dot).
EXTENSIONS: dict[str, frozenset[str]] = {
    k: frozenset(v.split())
    for k, v in {
        "image/jpeg": "jpg jpeg jpe jfif jif",
        "image/png": "png apng",
        "image/gif": "gif",
        "image/webp": "webp",
        "image/tiff": "tif tiff dng nef cr2 arw orf rw2 pef srw raf 3fr erf",
        "image/heic": "heic heif hif",
        "image/heif": "heif heic hif",
        "image/heic-sequence": "heics heic",
        "image/heif-sequence": "heifs heif",
        "image/avif": "avif",
        "image/bmp": "bmp dib",
        "image/x-ms-bmp": "bmp dib",
        "image/x-icon": "ico",
        "image/vnd.microsoft.icon": "ico",
        "image/svg+xml": "svg svgz",
        "image/x-canon-cr2": "cr2",
        "image/x-canon-cr3": "cr3",
        "image/jxl": "jxl",
        "image/x-tga": "tga",
        "image/wmf": "wmf",
        "image/x-wmf": "wmf",
        "video/mp4": "mp4 m4v m4a m4p mov 3gp",
        "video/quicktime": "mov qt mp4 m4v",
        "video/3gpp": "3gp 3gpp mp4",
        "video/3gpp2": "3g2 3gp2",
        "video/x-m4v": "m4v mp4",
        "video/x-msvideo": "avi",
        "video/x-matroska": "mkv mk3d mka webm",
        "video/webm": "webm",
        "video/mpeg": "mpg mpeg mpe m2v",
        "video/mp2t": "ts m2ts mts",
        "video/x-flv": "flv",
        "video/x-ms-asf": "wmv asf",
        "audio/mpeg": "mp3 mp2 mpga",
        "audio/x-wav": "wav",
        "audio/wav": "wav",
        "audio/x-m4a": "m4a mp4",
        "audio/mp4": "m4a mp4",
        "audio/ogg": "ogg oga opus",
        "audio/flac": "flac",
        "audio/x-flac": "flac",
        "audio/aac": "aac",
        "audio/amr": "amr",
        "application/pdf": "pdf",
        "application/zip": "zip docx xlsx pptx odt ods odp epub jar apk kmz",
        "application/x-7z-compressed": "7z",
        "application/x-rar": "rar",
        "application/vnd.rar": "rar",
        "application/gzip": "gz tgz",
        "application/x-gzip": "gz tgz",
        "application/x-bzip2": "bz2 tbz2",
        "application/x-xz": "xz txz",
        "application/x-tar": "tar",
        "application/msword": "doc dot",
        "application/vnd.ms-excel": "xls xlt",
        "application/vnd.ms-powerpoint": "ppt pot pps",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx docm dotx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx xlsm xltx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx pptm potx",
        "application/vnd.oasis.opendocument.text": "odt ott",
        "application/vnd.oasis.opendocument.spreadsheet": "ods ots",
        "application/vnd.oasis.opendocument.presentation": "odp otp",
        "application/rtf": "rtf",
        "text/rtf": "rtf",
        "application/json": "json geojson",
        "application/x-sqlite3": "sqlite sqlite3 db",
        "application/vnd.sqlite3": "sqlite sqlite3 db",
        "application/x-dosexec": "exe dll sys scr com",
        "application/epub+zip": "epub",
        "text/html": "html htm xhtml",
        "text/xml": "xml xmp svg plist kml gpx",
        "application/xml": "xml xmp svg plist kml gpx",
        "text/csv": "csv tsv txt",
        "text/x-python": "py",
        "text/x-shellscript": "sh bash",
    }.items()
}
#: Text files legitimately carry many extensions (logs, chat exports, sources ...).
TEXT_EXTENSIONS = frozenset(
    "txt text log csv tsv md markdown rst json xml html htm xmp ini cfg conf yaml yml "
    "srt vtt eml msg ics vcf rtf tex py js css c h sh".split()
)


def extension_of(name: str) -> str | None:
    """Lowercase extension without the dot, or None (no dot, dotfile, trailing dot)."""
    base = name.rsplit("/", 1)[-1]
    if "." not in base.lstrip("."):
        return None
    ext = base.rsplit(".", 1)[1].lower()
    return ext or None


def extension_fits(name: str, mime: str | None) -> bool | None:
    """Does the file name's extension fit the detected type? None when we cannot tell."""
    ext = extension_of(name)
    if mime is None or ext is None or mime in ("application/octet-stream", "inode/x-empty"):
        return None
    if mime.startswith("text/") and mime not in EXTENSIONS:
        return ext in TEXT_EXTENSIONS or None
    fits = EXTENSIONS.get(mime)
    if fits is None:
        return None
    if ext in fits:
        return True
    if mime.startswith("text/") and ext in TEXT_EXTENSIONS:
        return True
    return False


class MagicDetector:
    """libmagic through python-magic: one handle per thread (libmagic is not thread-safe)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def _handles(self) -> tuple[Any, Any]:
        h = getattr(self._local, "handles", None)
        if h is None:
            import magic  # imported lazily: the error names the missing system library

            h = (magic.Magic(mime=True), magic.Magic())
            self._local.handles = h
        return h

    def detect(self, head: bytes) -> tuple[str | None, str | None]:
        """(MIME, description) of a buffer; empty buffer gives inode/x-empty."""
        if not head:
            return "inode/x-empty", "empty"
        mime_h, desc_h = self._handles()
        return mime_h.from_buffer(head), desc_h.from_buffer(head)


_detector = MagicDetector()


def check_libmagic() -> str | None:
    """None when libmagic loads; else a message that says what to install."""
    try:
        _detector.detect(b"\x89PNG\r\n\x1a\n")
    except Exception as exc:  # noqa: BLE001 - ImportError, OSError from ctypes, magic.MagicException
        return (
            f"libmagic is not usable ({type(exc).__name__}: {exc}). Install the system library "
            "(Debian/Ubuntu: apt-get install libmagic1; macOS: brew install libmagic)."
        )
    return None


def detect_type(name: str, head: bytes) -> FileType:
    """Detect the content type of a file from its first bytes and check its name."""
    mime, desc = _detector.detect(head)
    return FileType(mime=mime, description=desc, extension_ok=extension_fits(name, mime), decided_by="libmagic")
