"""Content type detection (libmagic) and the extension check.

libmagic is fed the first chunk of the hashing pass, never the file name. The
extension table below says which name endings fit a detected MIME type; a type
missing from it gives ``extension_ok = None`` (we cannot tell), never a guess.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any, NamedTuple

from evidence_cli.formats import magicdb
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
        "image/x-tiff-big": "tif tiff btf tf8 bigtiff",
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
        "audio/ogg": "ogg oga opus spx",
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
        "application/rdf+xml": "xmp rdf xml",
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


_CODE_WORDS = (
    "import from def class package use require include function var let const sub my our "
    "if for while echo set export begin end module program procedure subroutine return local "
    "public private static void int char struct typedef union enum extern namespace template "
    "using select insert create update delete alter drop declare interface implements extends "
    "print printf puts say fn func lambda elif else then fi do done case esac goto call rem "
    "msgid msgstr define ifdef ifndef endif pragma cflags ldflags all clean install"
).split()


def _word_trie(words: list[str]) -> str:
    """A regex alternation matching exactly the given words, factored by common prefixes
    (``d(?:e(?:clare|f(?:ine)?|lete)|o(?:ne)?|rop)``): the engine tries a letter once per
    line instead of every keyword in turn (a third of the time of a flat alternation)."""
    root: dict[str, Any] = {}
    for w in words:
        node = root
        for ch in w.lower():
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        alts = [re.escape(ch) + emit(node[ch]) for ch in sorted(node) if ch]
        if not alts:
            return ""
        if "" not in node:
            return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return "(?:" + "|".join(alts) + ")?"

    return emit(root)


#: How a line of text starts when libmagic's pattern database might classify it (a
#: script, markup, configuration, source code, mail, troff, a diff ...): punctuation that
#: starts comments or directives, or a keyword of some language. Such text always gets
#: the full libmagic treatment.
_SUSPECT = (
    rb"[ \t]*(?:[#%@\\;!$`\"'=]|\.[A-Za-z\\]|//|/\*|\*/|\[[A-Za-z]|\([A-Za-z]|---|\+\+\+|\*\*\*|(?i:"
    + _word_trie(_CODE_WORDS).encode("ascii")
    + rb")\b)"
)
_SUSPECT_FIRST_LINE = re.compile(_SUSPECT)
# Starting with a literal newline lets the regex engine jump from line to line.
_SUSPECT_LINE = re.compile(b"\n" + _SUSPECT)


def is_plain_text(head: bytes) -> bool:
    """True for UTF-8 prose, chat exports, logs and CSV that no pattern of libmagic's
    database would claim — so libmagic's text classifier alone gives its exact answer.

    Conservative by design: anything that could be markup, code, a script, mail or
    configuration returns False and goes through full libmagic. Measured on this
    machine against full libmagic over 3,991 such files (system text, generated chat
    logs, application logs, CSV): the MIME type differed for one (a text that libmagic
    takes for HP-GL plotter commands), the description for 5 more (Adobe font metrics,
    a file starting with ``BC``). ``--exact-magic`` turns this path off.
    """
    # The byte checks first (they turn away markup and JSON without decoding); ASCII
    # is UTF-8 without a decode.
    if not head or b"\x00" in head or b"<" in head or b"{" in head or b"\x1b" in head:
        return False
    if not head.isascii():
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A multi-byte character cut by the end of the buffer is still text.
            if exc.start < len(head) - 3:
                return False
    return _SUSPECT_FIRST_LINE.match(head) is None and _SUSPECT_LINE.search(head) is None


#: Descriptions libmagic's text classifier gives plain text (its encoding, then "text",
#: then details such as ", with very long lines (812)").
_PLAIN_TEXT_DESCRIPTION = re.compile(
    r"(?:ASCII|ISO-8859|Non-ISO extended-ASCII|Unicode text, UTF-8(?: \(with BOM\))?) text(?:, with |$)"
)


class MagicDetector:
    """libmagic through python-magic: one set of handles per thread (libmagic is not
    thread-safe). The ``text`` handles skip libmagic's pattern database ("soft magic"),
    which costs about a millisecond per text file and cannot change the answer for
    text that :func:`is_plain_text` accepts."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._data_guards: magicdb.GuardSet | None = None
        self._guards_read = False
        self._databases: list[bytes] | None = None
        self._databases_read = False
        self._reduction: magicdb.Reduction | None = None
        self._reduction_read = False
        self._whole_walks = 0
        self._data_buffers = 0
        self._named: Any = None  # the named blocks every copy shares (see Reduction.named_set)

    def _handles(self) -> tuple[Any, Any, Any, Any]:
        h = getattr(self._local, "handles", None)
        if h is None:
            import magic  # imported lazily: the error names the missing system library

            text_mime, text_desc = magic.Magic(mime=True), magic.Magic()
            for m in (text_mime, text_desc):
                magic.magic_setflags(m.cookie, m.flags | magic.MAGIC_NO_CHECK_SOFT)
            h = (magic.Magic(mime=True), magic.Magic(), text_mime, text_desc)
            self._local.handles = h
        return h

    def detect(
        self, head: bytes, *, exact: bool = False, stopped: list[str] | None = None
    ) -> tuple[str | None, str | None]:
        """(MIME, description) of a buffer with full libmagic; empty gives inode/x-empty.

        libmagic can give up on a hostile file (e.g. "name use count (64) exceeded" on a
        JPEG with many segments): the MIME is then None (our signature check takes over)
        and the description is what libmagic said, marked as cut short.

        When libmagic describes the buffer as ``data``, its pattern database provably
        prints no MIME type for it (:mod:`evidence_cli.formats.magicdb`, checked on the
        database libmagic loaded), so its MIME type is what it says without that database:
        one pattern walk instead of two. ``exact`` asks for both walks every time.
        """
        if not head:
            return "inode/x-empty", "empty"
        mime_h, desc_h, text_mime, _ = self._handles()
        whole = True
        if not exact:
            pattern_mime_h, desc_h = self._pattern_handles(head, mime_h, desc_h)
            whole = pattern_mime_h is mime_h
            mime_h = pattern_mime_h
        desc = _guarded(desc_h, head, mime=False, stopped=stopped)
        mime: str | None = None
        if desc == "data" and not exact and self._no_pattern_mime(head):
            mime = _guarded(text_mime, head, mime=True, stopped=stopped)
            if mime != "application/octet-stream":
                mime = None
        if mime is None:
            mime = _guarded(mime_h, head, mime=True, stopped=stopped)
        if whole and not exact and not self._reduction_read and (desc == "data" or (mime or "").startswith("text/")):
            # Unidentified data and markup walked the whole database: after enough of
            # them, make the smaller copies (about 0.3 s here, once per process; a scan of
            # photos or of a few large files never pays it).
            self._whole_walks += 1
            if self._whole_walks >= REDUCE_AFTER:
                self._reduction_read = True
                try:
                    self._reduction = _database_reduction(self._database_files())
                except Exception:  # noqa: BLE001 - (MemoryError under --memory-limit): the whole database, as before
                    self._reduction = None
        return mime, desc

    def warm(self) -> None:
        """Open this thread's libmagic handles, and read the database files they loaded (the
        fork server does, so that every worker starts with them and shares those pages).

        What is proved from the database is left to the workers, where it pays: the guards
        of the "data" proof (about 70 ms here) once a worker has met
        :data:`GUARDS_AFTER` buffers described as data, which a scan of photos, videos or
        a few large files never does (computed in the fork server, they held up the start
        of every scan, before its workers could begin); the smaller copies later still
        (see detect)."""
        self._handles()
        self._database_files()

    def _pattern_handles(self, head: bytes, mime_h: Any, desc_h: Any) -> tuple[Any, Any]:
        """The (MIME, description) handles to ask about this buffer: loaded with a smaller
        copy of libmagic's database that answers for it exactly as the whole one (see
        :class:`magicdb.Reduction`), else the given ones (the whole database).

        The copy without any of the blocks a buffer may do without is loaded once. A copy
        that keeps some of them (each holds about 3 MB, and takes about 5 ms to make) is
        made only for the blocks buffers need most often: after :data:`REDUCED_AFTER`
        buffers needed it, at most :data:`REDUCED_KEEP` at a time, one that was needed
        twice as often replacing the least used, and :data:`REDUCED_BUILDS` in all."""
        reduction = self._reduction
        if reduction is None:
            return mime_h, desc_h
        hits = reduction.hits(head)
        if hits is None:
            return mime_h, desc_h
        state: _Copies | None = getattr(self._local, "copies", None)
        if state is None:
            state = self._local.copies = _Copies()
        found = state.loaded.get(hits)
        if found is not None:
            state.uses[hits] += 1
            return found.mime, found.desc
        victim: frozenset[int] | None = None
        if hits:
            wanted = state.wanted
            if len(wanted) > 4096:  # buffers that pass many different guards (hostile ones)
                wanted.clear()
            need = wanted[hits] = wanted.get(hits, 0) + 1
            if need < REDUCED_AFTER or state.builds >= REDUCED_BUILDS:
                return mime_h, desc_h
            if len(state.loaded) > REDUCED_KEEP:  # (the smallest copy is one of them)
                victim = min((k for k in state.loaded if k), key=state.uses.__getitem__)
                if need < 2 * state.uses[victim]:
                    return mime_h, desc_h
        try:
            if self._named is None:
                self._named = _buffer(reduction.named_set())
            found = _load_database(reduction.first_set(hits), self._named)
        except MemoryError:  # (--memory-limit): the whole database serves this buffer
            return mime_h, desc_h
        except Exception:  # noqa: BLE001 - python-magic or libmagic failed: as below
            found = None
        if found is None:  # this libmagic does not load it: the whole database from now on
            self._reduction = None
            return mime_h, desc_h
        if victim is not None:
            _close(state.loaded.pop(victim))
            del state.uses[victim]
        state.builds += bool(hits)
        state.loaded[hits] = found
        state.uses[hits] = state.wanted.pop(hits, 0)
        return found.mime, found.desc

    def _no_pattern_mime(self, head: bytes) -> bool:
        """True when no entry of libmagic's pattern database that could print a MIME type
        for a buffer described as ``data`` can match this one (see :mod:`magicdb`).

        False (both walks) for the first :data:`GUARDS_AFTER` such buffers of a process:
        the proof takes about 70 ms, the second walk it spares a fraction of a
        millisecond, and a scan of a few large files meets one such buffer a file."""
        if not self._guards_read:
            self._data_buffers += 1
            if self._data_buffers <= GUARDS_AFTER:
                return False
            self._guards_read = True  # once: a failure is not retried for every buffer
            try:
                self._data_guards = magicdb.databases_guards(self._database_files())
            except Exception:  # noqa: BLE001 - (MemoryError under --memory-limit): both walks, as --exact-magic
                self._data_guards = None
        guards = self._data_guards
        return guards is not None and not guards.hit(head)

    def _database_files(self) -> list[bytes] | None:
        """The compiled databases libmagic loads, read once, beside its handles: the proof
        and the smaller copies are of the database the handles use, even if the file is
        replaced later in the scan (and a worker shares the fork server's copy)."""
        if not self._databases_read:
            self._databases = _default_databases()
            self._databases_read = True
        return self._databases

    def detect_text(self, head: bytes) -> tuple[str | None, str | None]:
        """(MIME, description) from libmagic's text classifier alone (see is_plain_text).

        Without the pattern database, libmagic's MIME type for text follows from its
        description (its text classifier prints one or the other from the same finding):
        ``CSV text`` is text/csv, a plain text description is text/plain. Any other
        description costs the second call, which answers as libmagic does.
        """
        _, _, mime_h, desc_h = self._handles()
        desc = desc_h.from_buffer(head)
        if desc.startswith("CSV text"):
            return "text/csv", desc
        if _PLAIN_TEXT_DESCRIPTION.match(desc):
            return "text/plain", desc
        return mime_h.from_buffer(head), desc


#: Buffers described as data that get both of libmagic's walks, in a process, before it
#: proves the guards that spare the second (see MagicDetector._no_pattern_mime).
GUARDS_AFTER = 64
#: Buffers described as data or typed text/* by a walk of the whole database, in a
#: process, before it makes the smaller copies (see MagicDetector.detect).
REDUCE_AFTER = 400
#: Smaller copies of libmagic's database that keep some left-out blocks: how many
#: buffers must have needed one before it is made, how many a thread keeps besides the
#: smallest, and makes in all (see MagicDetector._pattern_handles).
REDUCED_AFTER = 16
REDUCED_KEEP = 3
REDUCED_BUILDS = 24


class _Copies:
    """One thread's smaller copies of libmagic's database, by the left-out blocks they keep."""

    def __init__(self) -> None:
        self.loaded: dict[frozenset[int], _Loaded] = {}
        self.uses: dict[frozenset[int], int] = {}
        self.wanted: dict[frozenset[int], int] = {}  # copies not made yet: buffers that needed them
        self.builds = 0


class _Loaded(NamedTuple):
    """A database loaded from memory: libmagic reads its entries in place, so the buffers
    live as long as the two handles."""

    buffer: Any
    named: Any
    mime: Any
    desc: Any


def _search_path() -> str | None:
    """The databases libmagic loads by default (python-magic's handles load its default
    search path: $MAGIC, else the compiled-in list), or None."""
    import ctypes

    import magic

    try:
        getpath = magic.libmagic.magic_getpath
        getpath.restype = ctypes.c_char_p
        getpath.argtypes = [ctypes.c_char_p, ctypes.c_int]
        search_path = getpath(None, 0)
    except (AttributeError, OSError):
        return None
    return os.fsdecode(search_path) if search_path else None


def _default_databases() -> list[bytes] | None:
    """The compiled databases libmagic loads by default, read now, or None (one we do not
    read: see magicdb.database_files)."""
    search_path = _search_path()
    return magicdb.database_files(search_path) if search_path else None


def _database_reduction(databases: list[bytes] | None) -> magicdb.Reduction | None:
    """The reduction of these databases when they are one compiled database, or None
    (several databases, one in source form, or one we do not understand)."""
    if databases is None or len(databases) != 1:
        return None
    return magicdb.reduce(databases[0])


def _buffer(pieces: list[bytes | memoryview]) -> Any:
    """The pieces joined, once, in a buffer libmagic can read."""
    import ctypes

    buffer = ctypes.create_string_buffer(sum(len(p) for p in pieces))
    view = memoryview(buffer).cast("B")
    at = 0
    for piece in pieces:
        view[at : at + len(piece)] = piece
        at += len(piece)
    view.release()
    return buffer


def _load_database(first: list[bytes | memoryview], named: Any) -> _Loaded | None:
    """A MIME and a description handle, as the default ones (python-magic's flags and
    limits), loaded with the first set these pieces make and the named blocks in
    ``named`` (a buffer from :func:`_buffer`); None if libmagic refuses them."""
    import ctypes

    import magic

    try:
        load = magic.libmagic.magic_load_buffers
    except AttributeError:  # libmagic before 5.22
        return None
    load.restype = ctypes.c_int
    load.argtypes = [
        ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_void_p),
        ctypes.POINTER(ctypes.c_size_t),
        ctypes.c_size_t,
    ]
    buffer = _buffer(first)
    handles = []
    for mime in (True, False):
        handle = magic.Magic(mime=mime)
        handles.append(handle)
        pointers = (ctypes.c_void_p * 2)(ctypes.addressof(buffer), ctypes.addressof(named))
        sizes = (ctypes.c_size_t * 2)(ctypes.sizeof(buffer), ctypes.sizeof(named))
        if load(handle.cookie, pointers, sizes, 2) != 0:
            for h in handles:
                _close_handle(h)
            return None
    return _Loaded(buffer, named, handles[0], handles[1])


def _close_handle(handle: Any) -> None:
    import magic

    if handle.cookie:
        magic.magic_close(handle.cookie)
        handle.cookie = None


def _close(loaded: _Loaded) -> None:
    """Close the handles before their database's buffer can go."""
    _close_handle(loaded.mime)
    _close_handle(loaded.desc)


def _guarded(handle: Any, head: bytes, *, mime: bool, stopped: list[str] | None = None) -> str | None:
    """libmagic's answer; when it gives up, None for a MIME type, its message (marked) for a
    description, and the message added to ``stopped`` (the record says it, as a warning)."""
    import magic

    try:
        return str(handle.from_buffer(head))
    except magic.MagicException as exc:
        said = exc.message.decode("utf-8", "replace") if isinstance(exc.message, bytes) else str(exc.message)
        if stopped is not None:
            stopped.append(said)
        if mime:
            return None
        return f"{said} (libmagic stopped early)"


_detector = MagicDetector()


def check_libmagic() -> str | None:
    """None when libmagic loads; else a message that says what to install."""
    try:
        _detector.detect(b"\x89PNG\r\n\x1a\n", exact=True)  # (not the smaller databases: a scan's workers load them)
    except Exception as exc:  # noqa: BLE001 - ImportError, OSError from ctypes, magic.MagicException
        return (
            f"libmagic is not usable ({type(exc).__name__}: {exc}). Install the system library "
            "(Debian/Ubuntu: apt-get install libmagic1; macOS: brew install libmagic)."
        )
    return None


#: ISO base media ``ftyp`` major brands -> MIME type. An unknown brand is still ISO
#: media: ``video/mp4``, the family's generic type (as ExifTool reports it).
FTYP_BRANDS: dict[bytes, str] = {
    **{b: "image/heic" for b in (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis")},
    **{b: "image/heic-sequence" for b in (b"hevm", b"hevs")},
    **{b: "image/heif" for b in (b"mif1", b"mif2")},
    b"msf1": "image/heif-sequence",
    b"avif": "image/avif",
    b"avis": "image/avif",
    b"qt  ": "video/quicktime",
    b"M4V ": "video/x-m4v",
    b"M4VH": "video/x-m4v",
    b"M4VP": "video/x-m4v",
    b"M4A ": "audio/x-m4a",
    b"M4B ": "audio/mp4",
    b"crx ": "image/x-canon-cr3",
    b"jp2 ": "image/jp2",
}


def signature(head: bytes) -> tuple[str, str] | None:
    """Our own check for formats libmagic misses or misnames: (MIME, description) or None.

    Covers ISO base media files whose brand libmagic does not know (it answers
    ``application/octet-stream``), BigTIFF (libmagic says plain ``image/tiff``; most TIFF
    readers cannot read it) and XMP sidecars (libmagic says ``text/plain``).
    """
    if head[:1] not in _SIGNATURE_FIRST_BYTES and head[4:8] != b"ftyp":
        return None  # most text: no signature below can start with its first byte
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
    # Common formats, for when libmagic itself gave up on a (hostile) file.
    for magic_bytes, mime, desc in _COMMON:
        if head.startswith(magic_bytes):
            return mime, desc
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "RIFF (little-endian) data, Web/P image"
    return None


#: Every first byte a signature above can start with: BigTIFF (I, M), an XMP packet
#: after a UTF-8 BOM or white space (<, BOM bytes, space, tab, CR, LF), the common
#: formats and RIFF/WebP. Only ISO media (``ftyp`` at offset 4) starts with anything.
_SIGNATURE_FIRST_BYTES = b"IM<\xef\xbb\xbf \t\r\n\xff\x89G%R"
_COMMON: tuple[tuple[bytes, str, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg", "JPEG image data"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "PNG image data"),
    (b"GIF87a", "image/gif", "GIF image data, version 87a"),
    (b"GIF89a", "image/gif", "GIF image data, version 89a"),
    (b"%PDF-", "application/pdf", "PDF document"),
    (b"II*\x00", "image/tiff", "TIFF image data, little-endian"),
    (b"MM\x00*", "image/tiff", "TIFF image data, big-endian"),
)


#: libmagic answers that our signature check may replace.
_REPLACEABLE = {None, "application/octet-stream", "image/tiff", "text/plain", "text/xml", "application/xml"}


def signature_type(name: str, head: bytes) -> FileType:
    """The type from our own signature check alone (no libmagic): for a file read again
    after its worker died, when libmagic itself may have been what killed it."""
    sig = signature(head)
    if sig is None:
        return FileType(mime=None, description=None, extension_ok=None, decided_by="none")
    return FileType(mime=sig[0], description=sig[1], extension_ok=extension_fits(name, sig[0]), decided_by="signature")


def detect_type(name: str, head: bytes, *, exact: bool = False) -> FileType:
    """Detect the content type of a file from its first bytes and check its name.

    libmagic decides, except where it is known to be blind (see :func:`signature`).
    Plain text (see :func:`is_plain_text`) is classified by libmagic's text classifier
    without its pattern database, unless ``exact`` asks for full libmagic every time.
    ``decided_by`` says which answered: ``libmagic``, ``libmagic-text`` or ``signature``.
    """
    mime: str | None = None
    stopped: list[str] = []  # what libmagic said when it gave up, if it did
    if not exact and is_plain_text(head):
        mime, desc = _detector.detect_text(head)
        decided_by = "libmagic-text"
        if not (mime or "").startswith("text/"):
            mime = None  # not what we expected: ask full libmagic
    if mime is None:
        mime, desc = _detector.detect(head, exact=exact, stopped=stopped)
        decided_by = "libmagic"
    if mime in _REPLACEABLE:
        sig = signature(head)
        if sig is not None:
            mime, desc = sig
            decided_by = "signature"
    return FileType(
        mime=mime,
        description=desc,
        extension_ok=extension_fits(name, mime),
        decided_by=decided_by,
        problem=f"libmagic gave up: {stopped[0]}" if stopped else None,
    )
