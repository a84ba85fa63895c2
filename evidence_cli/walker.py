"""Sorted, read-only walk of the scan roots. Symlinks are recorded, never followed.

Paths are handled as bytes throughout, so names that are not valid UTF-8 are walked
and reported exactly. Directories are not records themselves, except when they
cannot be listed (then the record carries the error: nothing is skipped silently).
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import errno
import os
import stat as stat_mod
import threading
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Iterator, Sequence

from evidence_cli.errors import ScanError
from evidence_cli.hashing import open_readonly
from evidence_cli.models import Kind, Problem


@dataclass(frozen=True)
class Entry:
    """One entry of the walk."""

    path: bytes
    """Path to open (as given root + relative part)."""
    rel: bytes
    """Path relative to the scan base, with ``/`` separators."""
    kind: Kind
    stat: os.stat_result | None
    """``lstat`` of the entry, taken by the walk before anything reads it."""
    problem: Problem | None = None


def display_path(rel: bytes) -> tuple[str, str | None]:
    """(text for the record, base64 of the bytes or None when the text is exact)."""
    try:
        return rel.decode("utf-8"), None
    except UnicodeDecodeError:
        return rel.decode("utf-8", "backslashreplace"), base64.b64encode(rel).decode("ascii")


def kind_of(st: os.stat_result) -> Kind:
    if stat_mod.S_ISREG(st.st_mode):
        return "file"
    if stat_mod.S_ISLNK(st.st_mode):
        return "symlink"
    if stat_mod.S_ISDIR(st.st_mode):
        return "directory"
    return "other"


def special_name(st: os.stat_result) -> str:
    m = st.st_mode
    for test, name in (
        (stat_mod.S_ISFIFO, "FIFO"),
        (stat_mod.S_ISSOCK, "socket"),
        (stat_mod.S_ISCHR, "character device"),
        (stat_mod.S_ISBLK, "block device"),
    ):
        if test(m):
            return name
    return "special file"


@dataclass(frozen=True)
class Roots:
    """The resolved scan roots and the base directory record paths are relative to."""

    base: bytes
    """Absolute directory every record path is relative to."""
    roots: tuple[bytes, ...]
    """Absolute, normalised roots (directories or single files), nested ones removed."""
    links: tuple[RootLink, ...] = ()
    """Roots given as symbolic links, in the order given (see resolve_roots)."""


@dataclass(frozen=True)
class RootLink:
    """A root given on the command line that is a symbolic link."""

    given: bytes
    """The path as given."""
    target: bytes | None
    """Where it leads (realpath), or None when it leads nowhere (dangling, a loop)."""
    followed: bool
    """True when the path as written names the folder (``link/``: the folder is scanned);
    False when it names the link itself (the link is recorded, not followed)."""


def resolve_roots(paths: Sequence[str | bytes]) -> Roots:
    """Check and normalise the roots; the base is the deepest common directory.

    A root that is a symbolic link is recorded as a link, like any link in a tree — but
    a root written with a final slash (``link/``) names the folder the link leads to (as
    it does for ``ls``, ``find`` and every system call), so that folder, by its real path,
    is scanned. Either way the link is listed in ``links`` for the command to say so:
    scanning a link to the evidence, and getting one link record and exit status 0, must
    not pass unnoticed.

    Raises ScanError for a path that does not exist.
    """
    if not paths:
        raise ScanError("no path to scan")
    roots: list[bytes] = []
    links: list[RootLink] = []
    for p in paths:
        b = os.fsencode(p)
        ab = os.path.abspath(b)
        try:
            st = os.lstat(ab)
        except FileNotFoundError:
            raise ScanError(f"{os.fsdecode(b)!r} does not exist") from None
        except OSError as exc:
            raise ScanError(f"cannot access {os.fsdecode(b)!r}: {exc.strerror}") from None
        if stat_mod.S_ISLNK(st.st_mode):
            target = os.path.realpath(ab)
            leads = target != ab and os.path.lexists(target) and not os.path.islink(target)
            # The kernel decides what the path as written names: "link/" and "link/."
            # resolve the link (abspath would drop that), "link" names the link itself.
            try:
                names_folder = stat_mod.S_ISDIR(os.lstat(b).st_mode)
            except OSError:
                names_folder = False
            followed = leads and names_folder and os.path.isdir(target)
            links.append(RootLink(given=b, target=target if leads else None, followed=followed))
            if followed:
                ab = target
        roots.append(ab)
    uniq = outermost(roots)
    dirs = [r if os.path.isdir(r) and not os.path.islink(r) else os.path.dirname(r) for r in uniq]
    base = os.path.commonpath(dirs) if len(dirs) > 1 else dirs[0]
    return Roots(base=base, roots=tuple(uniq), links=tuple(links))


def outermost(roots: Sequence[bytes]) -> list[bytes]:
    """The absolute paths ``roots``, sorted, without repeats and without those inside another
    one (they would be walked twice). Each path's folders are looked up in a set: checking
    every path against every other took 35 s for 20,000 files given on the command line
    (``evidence scan $(find ...)``), before the scan started."""
    kept: list[bytes] = []
    folders: set[bytes] = set()
    for r in sorted(set(roots)):
        if b"/" in folders and r != b"/":
            continue
        cut, inside = len(r), False
        while (cut := r.rfind(b"/", 0, cut)) > 0:
            if r[:cut] in folders:
                inside = True
                break
        if not inside:
            kept.append(r)
            folders.add(r.rstrip(b"/") or b"/")
    return kept


def _rel(base: bytes, path: bytes) -> bytes:
    # Every walked path is base + separator + rest (the walk joins names onto it): a
    # slice, much cheaper than os.path.relpath for every entry.
    prefix = base if base.endswith(b"/") else base + b"/"
    if path.startswith(prefix):
        rel = path[len(prefix) :]
    else:
        rel = os.path.relpath(path, base)
    return rel.replace(os.sep.encode(), b"/") if os.sep != "/" else rel


class TooDeep(Exception):
    """Raised by a walk told to stay short (``walk(roots, shallow=True)``) at a folder whose
    path is too long for a system call."""


def walk(roots: Roots, *, shallow: bool = False) -> Iterator[Entry]:
    """Yield every entry under the roots in sorted order (by path bytes).

    ``shallow`` raises :class:`TooDeep` instead of listing a folder whose path is
    :data:`PATH_LIMIT` bytes or more: such folders are reached through descriptors that the
    walks of this process share (:class:`_Chain`), and a second walk (the progress line's
    count) taking turns with the scan's own would undo its way down at every turn."""
    for root in roots.roots:
        if shallow and len(root) >= PATH_LIMIT:
            raise TooDeep(root)
        try:
            with reachable(root) as short:
                st = os.lstat(short)
        except OSError as exc:
            yield Entry(root, _rel(roots.base, root), "other", None, _walk_problem(exc))
            continue
        if stat_mod.S_ISDIR(st.st_mode):
            # The root is what its path opens (lstat does not trigger an automount: a
            # root that is one, such as a NAS share mounted on first use, would look
            # replaced); the folders below are checked against their parent's listing.
            yield from _walk_dir(roots.base, root, shallow=shallow)
        else:
            yield Entry(root, _rel(roots.base, root), kind_of(st), st)


#: Linux refuses a path of PATH_MAX (4,096) bytes or more in a system call (ENAMETOOLONG),
#: yet a tree can be deeper than that, by accident (an extracted archive) or to hide a
#: file from tools. A path this long is reached through its parent folder's descriptor.
PATH_LIMIT = 4000
#: The longest name of one folder entry (Linux, and every file system it mounts for evidence).
NAME_MAX = 255
_PROC_FD = os.path.isdir("/proc/self/fd")
_FOLDER_FLAGS = (getattr(os, "O_PATH", 0) or os.O_RDONLY) | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)


@contextmanager
def reachable(path: bytes, extra: int = 0) -> Iterator[bytes]:
    """``path`` itself; or, when it (plus ``extra`` bytes to be joined onto it) is too long
    for a system call, the same file as ``/proc/self/fd/N/NAME``, N its parent folder opened
    component by component without following a symlink (as the walk never does). Linux
    only; elsewhere, or when a folder on the way cannot be opened, the path is used as it
    is, and the system call's own error (ENAMETOOLONG ...) is what gets reported."""
    if len(path) + extra < PATH_LIMIT or not _PROC_FD:
        yield path
        return
    parent, name = os.path.split(path)
    try:
        fd = _open_folder_chain(parent)
    except OSError:
        yield path
        return
    try:
        yield b"/proc/self/fd/%d/%s" % (fd, name)
    finally:
        os.close(fd)


@contextmanager
def reachable_entry(entry: Entry) -> Iterator[Entry]:
    """The entry, its ``path`` replaced by one every system call takes (see reachable)."""
    with reachable(entry.path) as short:
        yield entry if short is entry.path else replace(entry, path=short)


class _Chain:
    """The last folder this process reached past :data:`PATH_LIMIT`: its path, the short
    head it was reached from, an ``O_PATH`` descriptor of it, and the (device, inode) of
    the head and of every folder after it. The next folder is reached from it: down
    through the components it lacks, up through ``..`` checked against those identities.
    A walk, and the files it hands out in sorted order, move a few folders at a time, so a
    tree any number of folders deep costs a few system calls a folder; from the head each
    time, it cost depth x depth / 2 (hours for 20,000 folders, a tree any archive can
    hold)."""

    def __init__(self) -> None:
        self.path = b""
        self.head = b""
        self.ids: list[tuple[int, int]] = []
        self.fd = -1


_deep = _Chain()
_deep_lock = threading.Lock()
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _open_folder_chain(folder: bytes) -> int:
    """A new descriptor of ``folder`` (the caller closes it), however long its path: the
    longest prefix short enough is opened as usual, each further component relative to the
    one before, never through a symlink (see :class:`_Chain`)."""
    folder = folder.rstrip(b"/") or folder
    cut = folder.rfind(b"/", 0, PATH_LIMIT)
    head = folder[:cut] if cut > 0 else (b"/" if cut == 0 else b".")
    with _deep_lock:
        c = _deep
        if c.fd >= 0 and c.head == head:
            # Only the paths' tails are looked at: the walk moves a few folders at a time.
            common = _common_folder(c.path, folder, len(head))
            up = c.path.count(b"/", common)
            down = folder[common + 1 :].split(b"/") if len(folder) > common else []
            if up + len(down) < (len(c.ids) - 1 - up) + len(down):  # than from the head
                try:
                    _move_chain(c, folder, up, down)
                    return os.dup(c.fd)
                except (OSError, _ChainStale):
                    _set_chain(c, b"", b"", [], -1)  # reached from the head below
        rest = folder[cut + 1 :]
        fd = os.open(head, _FOLDER_FLAGS)
        try:
            ids = [_identity(fd)]
            for part in rest.split(b"/") if rest else []:
                inner = os.open(part, _FOLDER_FLAGS | _NOFOLLOW, dir_fd=fd)
                os.close(fd)
                fd = inner
                ids.append(_identity(fd))
        except BaseException:
            os.close(fd)
            raise
        _set_chain(c, folder, head, ids, fd)
        return os.dup(fd)


def _common_folder(a: bytes, b: bytes, start: int) -> int:
    """Length of the longest folder path both ``a`` and ``b`` are in (or are), at least
    ``start`` (their common head). The walk's moves are tried first (into a sub-folder,
    to a folder beside one above); otherwise compared by slices, in halves."""
    if b.startswith(a) and b[len(a) : len(a) + 1] in (b"", b"/"):
        return len(a)  # b is a or below it
    if a.startswith(b) and a[len(b) : len(b) + 1] == b"/":
        return len(b)  # b is above a
    parent = b.rfind(b"/", start)
    if parent >= start and a.startswith(b[:parent]) and a[parent : parent + 1] in (b"", b"/"):
        return parent  # b is beside a folder on a's way (or above a)
    lo, hi = start, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[start:mid] == b[start:mid]:
            lo = mid
        else:
            hi = mid - 1
    if (lo == len(a) or a[lo : lo + 1] == b"/") and (lo == len(b) or b[lo : lo + 1] == b"/"):
        return lo
    return max(start, a.rfind(b"/", start, lo))


class _ChainStale(Exception):
    """A folder reached through ``..`` is not the one the chain went down through."""


def _identity(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return st.st_dev, st.st_ino


def _move_chain(c: _Chain, folder: bytes, up: int, down: list[bytes]) -> None:
    """Move the chain to ``folder`` (same head): ``up`` folders up, then down through
    ``down``. On failure the chain is left in pieces: the caller drops it."""
    cur, owned = c.fd, False
    ids = c.ids  # changed in place: copying it would cost the tree's depth on every move
    try:
        for _ in range(up):
            parent = os.open(b"..", _FOLDER_FLAGS | _NOFOLLOW, dir_fd=cur)
            if owned:
                os.close(cur)
            cur, owned = parent, True
            ids.pop()
            if _identity(cur) != ids[-1]:
                raise _ChainStale()
        for part in down:
            inner = os.open(part, _FOLDER_FLAGS | _NOFOLLOW, dir_fd=cur)
            if owned:
                os.close(cur)
            cur, owned = inner, True
            ids.append(_identity(cur))
    except BaseException:
        if owned:
            os.close(cur)
        raise
    if not owned:
        cur = os.dup(cur)
    _set_chain(c, folder, c.head, ids, cur)


def _set_chain(c: _Chain, path: bytes, head: bytes, ids: list[tuple[int, int]], fd: int) -> None:
    old = c.fd
    c.path, c.head, c.ids, c.fd = path, head, ids, fd
    if old >= 0 and old != fd:
        os.close(old)


def _walk_problem(exc: OSError) -> Problem:
    return Problem(stage="walk", severity="error", type=type(exc).__name__, message=exc.strerror or str(exc))


class FolderReplaced(OSError):
    """A folder is no longer the one its parent's listing named: it was replaced (by a
    symlink, or another folder moved in) while the scan ran. It is not listed."""


#: Children are examined relative to their folder's open descriptor (``fstatat``), so that
#: what the walk records is what that folder holds, whatever happens to the path above it.
_AT_CALLS = os.scandir in os.supports_fd and os.stat in os.supports_dir_fd and os.stat in os.supports_follow_symlinks


Child = tuple[bytes, os.stat_result | None, OSError | None]

#: Children of a folder examined per opening of it. A folder can hold millions of files
#: (a phone's cache, an archive extracted by a hostile party): their names must all be
#: read to sort them, but the lstat results and paths (ten times the names' size) are
#: made a chunk at a time, as the walk reaches them.
STAT_CHUNK = 1024


def _list(d: bytes, expected: os.stat_result | None = None) -> Iterator[Child]:
    """Children of ``d`` sorted by name bytes, each with its lstat (or the error).

    ``expected`` is the lstat of ``d`` the walk took from its parent's descriptor: the
    folder opened must be that one (same device and inode), else :class:`FolderReplaced`.
    The folder is opened by its path, and a path goes through every folder above it; one
    of those swapped for a symlink while the scan runs would otherwise make the walk list
    a folder outside the tree, and record files from there as evidence.

    The first :data:`STAT_CHUNK` children are examined before this returns (an error
    opening the folder is raised here); the others as they are reached, the folder opened
    again and checked the same way for each chunk.
    """
    # Listed through a descriptor opened like a file (no final symlink followed,
    # O_NOATIME): listing a folder by path would update its access time.
    if not _AT_CALLS:  # pragma: no cover - not on Linux/macOS
        return iter(_lstat_children(d, _names(d)))
    fd, opened = _open_folder(d, expected)
    try:
        names = _names(fd)
        first = _stat_children(d, fd, opened.st_dev, names[:STAT_CHUNK])
    finally:
        os.close(fd)
    if len(names) <= STAT_CHUNK:
        return iter(first)
    return _first_then(first, _later_children(d, opened, names))


def _names(folder: int | bytes) -> list[bytes]:
    """The names in a folder (a descriptor or a path), sorted."""
    with os.scandir(folder) as it:
        return sorted(os.fsencode(e.name) for e in it)


def folder_names(d: bytes) -> list[bytes]:
    """The names in folder ``d``, sorted, listed as the walk lists them (its access time
    is kept where the walk keeps it)."""
    if not _AT_CALLS:  # pragma: no cover - not on Linux/macOS
        return _names(d)
    fd, _ = _open_folder(d, None)
    try:
        return _names(fd)
    finally:
        os.close(fd)


def _first_then(first: list[Child], rest: Iterator[Child]) -> Iterator[Child]:
    yield from first
    del first[:]  # (not kept while the rest is walked)
    yield from rest


def _later_children(d: bytes, expected: os.stat_result, names: list[bytes]) -> Iterator[Child]:
    for at in range(STAT_CHUNK, len(names), STAT_CHUNK):
        chunk = names[at : at + STAT_CHUNK]
        try:
            fd, _ = _open_folder(d, expected)
        except OSError as exc:
            # Named by the listing, not examined: records with the error, never dropped.
            for n in names[at:]:
                yield os.path.join(d, n), None, exc
            return
        try:
            children = _stat_children(d, fd, expected.st_dev, chunk)
        finally:
            os.close(fd)
        yield from children
        del children  # (not kept while the next chunk is examined)


def _open_folder(d: bytes, expected: os.stat_result | None) -> tuple[int, os.stat_result]:
    """A descriptor of folder ``d`` and its fstat, checked to be the folder ``expected``
    describes (when given)."""
    try:
        with reachable(d) as short:
            fd = open_readonly(short, directory=True)
    except OSError as exc:
        if expected is not None and exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise _replaced() from None
        raise
    try:
        got = os.fstat(fd)
    except BaseException:
        os.close(fd)
        raise
    if expected is not None and (got.st_dev, got.st_ino) != (expected.st_dev, expected.st_ino):
        os.close(fd)
        raise _replaced()
    return fd, got


def _stat_children(d: bytes, fd: int, here: int, names: list[bytes]) -> list[Child]:
    """The lstat of each name in folder ``fd`` (on device ``here``), or the error."""
    out: list[Child] = []
    for n in names:
        p = os.path.join(d, n)
        try:
            st = os.stat(n, dir_fd=fd, follow_symlinks=False)
            if stat_mod.S_ISDIR(st.st_mode) and st.st_dev != here:
                st = _mounted(fd, n, st)
            out.append((p, st, None))
        except OSError as exc:
            out.append((p, None, exc))
    return out


def _mounted(fd: int, name: bytes, st: os.stat_result) -> os.stat_result:
    """The identity of the folder mounted on ``name`` (a child of folder ``fd`` on another
    device). lstat does not trigger an automount (a NAS share mounted on first use): it
    describes the mount point, while opening the folder mounts the share and opens its
    root, which would then look like a replaced folder. Opened here, relative to its
    parent and without following a symlink, it is the folder the walk will list."""
    try:
        inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0), dir_fd=fd)
    except OSError:
        return st  # listing it will fail the same way, and say why
    try:
        return os.fstat(inner)
    finally:
        os.close(inner)


def _replaced() -> FolderReplaced:
    return FolderReplaced(errno.ESTALE, "the folder was replaced while the scan ran; not listed")


def _lstat_children(d: bytes, names: list[bytes]) -> list[Child]:
    out: list[Child] = []
    with reachable(d, extra=NAME_MAX + 1) as short:  # (room for any child's name)
        for n in names:
            p = os.path.join(d, n)
            try:
                out.append((p, os.lstat(os.path.join(short, n)), None))
            except OSError as exc:
                out.append((p, None, exc))
    return out


def _walk_dir(
    base: bytes, top: bytes, top_stat: os.stat_result | None = None, *, shallow: bool = False
) -> Iterator[Entry]:
    # An explicit stack of iterators (no recursion, so any depth is fine); a
    # sub-directory's entries come exactly where its name sorts among its siblings.
    try:
        first = _list(top, top_stat)
    except OSError as exc:
        yield Entry(top, _rel(base, top), "directory", _safe_lstat(top), _walk_problem(exc))
        return
    stack = [iter(first)]
    while stack:
        item = next(stack[-1], None)
        if item is None:
            stack.pop()
            continue
        p, st, err = item
        if st is not None and stat_mod.S_ISDIR(st.st_mode):
            if shallow and len(p) >= PATH_LIMIT:
                raise TooDeep(p)
            try:
                stack.append(iter(_list(p, st)))
            except OSError as exc:
                yield Entry(p, _rel(base, p), "directory", st, _walk_problem(exc))
            continue
        yield _entry(base, p, st, err)


def _safe_lstat(p: bytes) -> os.stat_result | None:
    try:
        with reachable(p) as short:
            return os.lstat(short)
    except OSError:
        return None


def _entry(base: bytes, p: bytes, st: os.stat_result | None, err: OSError | None) -> Entry:
    if st is None:
        assert err is not None
        return Entry(p, _rel(base, p), "other", None, _walk_problem(err))
    return Entry(p, _rel(base, p), kind_of(st), st)


# --- birth time (Linux statx) -------------------------------------------------------

_AT_FDCWD = -100
_AT_SYMLINK_NOFOLLOW = 0x100
_STATX_BTIME = 0x800


class _StatxTimestamp(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_int64), ("tv_nsec", ctypes.c_uint32), ("__reserved", ctypes.c_int32)]


class _Statx(ctypes.Structure):
    _fields_ = [
        ("stx_mask", ctypes.c_uint32),
        ("stx_blksize", ctypes.c_uint32),
        ("stx_attributes", ctypes.c_uint64),
        ("stx_nlink", ctypes.c_uint32),
        ("stx_uid", ctypes.c_uint32),
        ("stx_gid", ctypes.c_uint32),
        ("stx_mode", ctypes.c_uint16),
        ("__spare0", ctypes.c_uint16),
        ("stx_ino", ctypes.c_uint64),
        ("stx_size", ctypes.c_uint64),
        ("stx_blocks", ctypes.c_uint64),
        ("stx_attributes_mask", ctypes.c_uint64),
        ("stx_atime", _StatxTimestamp),
        ("stx_btime", _StatxTimestamp),
        ("stx_ctime", _StatxTimestamp),
        ("stx_mtime", _StatxTimestamp),
        ("stx_rdev_major", ctypes.c_uint32),
        ("stx_rdev_minor", ctypes.c_uint32),
        ("stx_dev_major", ctypes.c_uint32),
        ("stx_dev_minor", ctypes.c_uint32),
        # The kernel's struct is 256 bytes and may grow; keep generous room.
        ("__spare2", ctypes.c_uint64 * 46),
    ]


def _load_statx() -> object | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.statx
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.POINTER(_Statx)]
    fn.restype = ctypes.c_int
    return fn


_statx = _load_statx()
#: Does this platform's stat carry the birth time (macOS/BSD/Windows 3.12+)? On Linux
#: it never does: statx is asked straight away.
_STAT_HAS_BIRTH = hasattr(os.stat_result, "st_birthtime_ns") or hasattr(os.stat_result, "st_birthtime")


class _StatxBuffer(threading.local):
    """One statx buffer per thread, reused for every file (a new ctypes structure and its
    pointer per file cost more than the system call)."""

    def __init__(self) -> None:
        self.buf = _Statx()
        self.ref = ctypes.byref(self.buf)


_statx_buffer = _StatxBuffer()


def birth_time_ns(path: bytes, st: os.stat_result | None = None) -> int | None:
    """Creation (birth) time in ns where the OS and filesystem give it, else None."""
    if st is not None and _STAT_HAS_BIRTH:
        # macOS/BSD/Windows (3.12+) put it in stat itself.
        ns = getattr(st, "st_birthtime_ns", None)
        if ns is not None:
            return int(ns)
        secs = getattr(st, "st_birthtime", None)
        if secs is not None:
            return int(secs * 1e9)
    if _statx is None:
        return None
    local = _statx_buffer
    rc = _statx(_AT_FDCWD, path, _AT_SYMLINK_NOFOLLOW, _STATX_BTIME, local.ref)  # type: ignore[operator]
    buf = local.buf
    if rc != 0 or not (buf.stx_mask & _STATX_BTIME):
        return None
    btime = buf.stx_btime
    return btime.tv_sec * 1_000_000_000 + btime.tv_nsec
