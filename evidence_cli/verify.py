"""Verify evidence against a manifest: re-hash what it lists, report what changed.

:func:`verify` checks the manifest's seal *before* anything is re-hashed (a tampered
manifest raises :class:`~evidence_cli.manifest.TamperedManifest`), then walks the root
with the scanner's own walker (sorted, symlinks never followed, special files never
opened) and gives every path exactly one status:

``ok``          the entry is as the manifest says (files: every recorded digest and the
                size match; symlinks: same target; special files: same type, never opened).
                A file whose content matches but whose modification time is not the one the
                scan recorded stays ``ok``, with a note (see :func:`other_mtime`)
``modified``    it differs; ``changed`` names what: digest names, ``size``, ``kind``,
                ``link_target``, ``type``
``missing``     listed, not found, and its content is not found at a new path
``moved``       listed, not found at its path, and a file that is *not in the manifest*
                has exactly its content (every recorded digest and the size): ``moved_to``.
                A copy that is itself in the manifest never counts, so an identical
                copy elsewhere never hides a missing file
``new``         on disk, not in the manifest (and not the target of a move)
``unreadable``  it could not be checked (open/read error, a folder that cannot be
                listed, a file that changed while it was read, or no digest recorded)

A file's ``expected`` and ``actual`` also give its modification time (``fs_modified``)
where known: the manifest's (JSON exports only) and the one on disk now.

Every manifest entry gets exactly one status (``in_manifest`` is true); each path found
only on disk is reported once more (``new``, or ``unreadable`` for a folder that cannot
be listed). So ``sum(by_status) == manifest_entries + not_in_manifest``, and the summary
also gives the two groups apart (``manifest_entries_by_status``, ``not_in_manifest_by_status``).

Order: entries found on disk come in walk order as they are checked; then, once the walk
is over, ``moved``/``missing`` entries in manifest order, then ``new`` ones in walk order.
Memory grows with the manifest (its index) and the number of new paths, not with bytes.
"""

from __future__ import annotations

import os
import stat as stat_mod
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping

from evidence_cli import hashing
from evidence_cli.console import safe_text
from evidence_cli.errors import ManifestError
from evidence_cli.hashing import ALGORITHMS, THREADED_MIN, EntryReplaced, changed_while_read, hash_entry
from evidence_cli.manifest import NO_COMMON_FOLDER, Digests, Manifest, ManifestEntry, require_trusted
from evidence_cli.meter import waiting
from evidence_cli.models import Kind, Problem, VerifyEntry, VerifyStatus
from evidence_cli.timeparse import from_stat_ns
from evidence_cli.walker import PATH_LIMIT, Entry, Roots, display_path, reachable, reachable_entry, special_name, walk

STATUSES: tuple[VerifyStatus, ...] = ("ok", "modified", "missing", "moved", "new", "unreadable")
#: Statuses a manifest entry can get, and those of a path found only on disk.
MANIFEST_STATUSES: tuple[VerifyStatus, ...] = ("ok", "modified", "missing", "moved", "unreadable")
DISK_ONLY_STATUSES: tuple[VerifyStatus, ...] = ("new", "unreadable")


def other_mtime(entry: VerifyEntry) -> bool:
    """True for an ``ok`` file whose modification time is not the one the manifest recorded.

    Its bytes are the ones collected: it was written again with the same content,
    touched, restored, or copied without its times (``cp`` without ``-p``, a download).
    The content's integrity holds; the file's handling since the scan shows, and its
    modification time is no longer the one the scan saw.
    """
    if entry.status != "ok" or entry.kind != "file":
        return False
    recorded = entry.expected.get("fs_modified")
    return recorded is not None and recorded != entry.actual.get("fs_modified")


def verification_roots(manifest: Manifest, root: str | bytes | None = None) -> Roots:
    """Where to verify: ``root`` if given (the evidence moved), else the manifest's root.

    Raises:
        ManifestError: no root is known, or it is not a folder.
    """
    if root is not None:
        base = os.path.abspath(os.fsencode(root))
        origin = "given root"
    elif manifest.base is not None:
        base = manifest.base
        origin = "root recorded in the manifest"
    elif manifest.foreign_base is not None:
        raise ManifestError(
            f"the {manifest.format} list's names are under {safe_text(manifest.foreign_base)}, a folder of the "
            "machine that made it: give --root DIR, the folder that holds a copy of it here"
        )
    elif NO_COMMON_FOLDER in manifest.notes:
        raise ManifestError(
            f"the {manifest.format} list's absolute names share no folder but '/', and verifying from '/' "
            "would walk and hash the whole file system: give --root DIR, the folder its names are relative "
            "to once the leading '/' is dropped (--root / to check the whole system)"
        )
    else:
        raise ManifestError(
            f"the {manifest.format} list records no root (its names are relative): "
            "give --root DIR, the folder its names are relative to"
        )
    if os.path.islink(base):
        base = os.path.realpath(base)
    if not os.path.isdir(base):
        hint = "" if root is not None else "; if the evidence has moved, give its new place with --root DIR"
        what = "is not a folder" if os.path.lexists(base) else "does not exist"
        raise ManifestError(f"the {origin} {base.decode('utf-8', 'backslashreplace')!r} {what}{hint}")
    roots = tuple(
        p for p in (base if rel == b"." else os.path.join(base, rel) for rel in manifest.roots) if os.path.lexists(p)
    )
    return Roots(base=base, roots=roots)


def verify(
    manifest: Manifest,
    root: str | bytes | None = None,
    *,
    allow_unsealed: bool = False,
    exclude: Iterable[tuple[int, int]] = (),
) -> Iterator[VerifyEntry]:
    """Check the evidence under the root against the manifest, entry by entry.

    The seal and the root are checked when this is called (before any hashing); the
    returned iterator then walks and re-hashes.

    Args:
        manifest: from :func:`~evidence_cli.manifest.read_manifest`.
        root: the folder the manifest's paths are relative to, when not the recorded one.
        allow_unsealed: accept a JSON manifest whose seal is missing.
        exclude: ``(st_dev, st_ino)`` of files never reported (e.g. the manifest itself
            when it lies inside the root).

    Raises:
        TamperedManifest: the seal does not match.
        ManifestError: the seal is missing (and not allowed), or no usable root.
    """
    require_trusted(manifest, allow_unsealed=allow_unsealed)
    roots = verification_roots(manifest, root)
    return _Verifier(manifest, roots, frozenset(exclude)).run()


@dataclass
class VerifySummary:
    """Counts of a verification, added entry by entry."""

    manifest_entries: int
    by_status: Counter[str] = field(default_factory=Counter)
    """Every reported entry, by status."""
    manifest_by_status: Counter[str] = field(default_factory=Counter)
    """Manifest entries (each exactly once), by status."""
    disk_only_by_status: Counter[str] = field(default_factory=Counter)
    """Paths found only on disk, by status (``new``, ``unreadable``)."""
    bytes_hashed: int = 0
    ok_other_mtime: int = 0
    """``ok`` files whose modification time is not the recorded one (:func:`other_mtime`)."""

    @property
    def in_manifest(self) -> int:
        return sum(self.manifest_by_status.values())

    @property
    def not_in_manifest(self) -> int:
        return sum(self.disk_only_by_status.values())

    def add(self, entry: VerifyEntry) -> None:
        self.by_status[entry.status] += 1
        if entry.in_manifest:
            self.manifest_by_status[entry.status] += 1
        else:
            self.disk_only_by_status[entry.status] += 1
        if entry.actual.get("hashes") and isinstance(entry.actual.get("size"), int):
            self.bytes_hashed += entry.actual["size"]
        if other_mtime(entry):
            self.ok_other_mtime += 1

    @property
    def all_ok(self) -> bool:
        """True when every manifest entry is ``ok`` and nothing else was found."""
        return self.by_status["ok"] == self.manifest_entries == sum(self.by_status.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "manifest_entries": self.manifest_entries,
            "by_status": {s: self.by_status[s] for s in STATUSES},
            "manifest_entries_by_status": {s: self.manifest_by_status[s] for s in MANIFEST_STATUSES},
            "not_in_manifest": self.not_in_manifest,
            "not_in_manifest_by_status": {s: self.disk_only_by_status[s] for s in DISK_ONLY_STATUSES},
            "bytes_hashed": self.bytes_hashed,
            "ok_with_other_fs_modified": self.ok_other_mtime,
            "all_ok": self.all_ok,
        }


# --- the walk -------------------------------------------------------------------------


@dataclass
class _Found:
    """A path on disk that is not in the manifest (held until the walk ends)."""

    rel: bytes
    kind: Kind
    actual: dict[str, Any]
    problems: tuple[Problem, ...] = ()
    used: bool = False


def _names(rel: bytes) -> dict[str, Any]:
    text, b64 = display_path(rel)
    return {"path": text, "path_bytes": b64}


def _expected(m: ManifestEntry) -> dict[str, Any]:
    d: dict[str, Any] = {"kind": m.kind, "size": m.size}
    if m.kind == "file":
        d["hashes"] = _hex_digests(m.hashes)
        if m.modified_ns is not None:
            d["fs_modified"] = from_stat_ns(m.modified_ns)
    elif m.kind == "symlink":
        d["link_target"] = m.link_target
    elif m.kind == "other":
        d["type"] = m.description
    return d


def _problem(exc: OSError, stage: str = "hash") -> Problem:
    return Problem(stage, "error", type(exc).__name__, exc.strerror or str(exc))


def _is_under(rel: bytes, folder: bytes) -> bool:
    return folder == b"." or rel == folder or rel.startswith(folder + b"/")


class _Verifier:
    def __init__(self, manifest: Manifest, roots: Roots, exclude: frozenset[tuple[int, int]]) -> None:
        self.manifest = manifest
        self.roots = roots
        self.exclude = exclude
        self.index = {e.rel: e for e in manifest.entries}
        self.algorithms = manifest.algorithms()
        self.seen: set[bytes] = set()  # manifest paths met on disk
        self.found: list[_Found] = []  # entries on disk only, kept for after the walk
        self.unlistable: list[bytes] = []  # folders that could not be listed

    def run(self) -> Iterator[VerifyEntry]:
        """Walk, hashing files ahead of the report on one thread per core (reads and
        hashlib release the GIL), and report in walk order."""
        threads = hashing.usable_cores()
        window = threads * AHEAD_PER_THREAD
        with ThreadPoolExecutor(threads, thread_name_prefix="verify-hash") as pool:
            ahead: deque[tuple[Entry, Future[_Hashed] | None]] = deque()
            try:
                for entry in walk(self.roots):
                    ahead.append((entry, self._hash_ahead(pool, entry) if threads > 1 else None))
                    while len(ahead) > window:
                        got = self._reported(*ahead.popleft())
                        if got is not None:
                            yield got
                while ahead:
                    got = self._reported(*ahead.popleft())
                    if got is not None:
                        yield got
            finally:
                for _, fut in ahead:  # stopped early (an error, Ctrl-C): nothing more is read
                    if fut is not None:
                        fut.cancel()
        yield from self._after_walk(self.seen, self.found, self.unlistable)

    def _algorithms_for(self, entry: Entry) -> tuple[str, ...]:
        """The digests a walked regular file is checked with: its manifest entry's (none if
        that entry is not a file), or every algorithm of the manifest for a file not in it."""
        m = self.index.get(entry.rel)
        if m is None:
            return self.algorithms
        return _recorded_algorithms(m) if m.kind == "file" else ()

    def _hash_ahead(self, pool: ThreadPoolExecutor, entry: Entry) -> Future[_Hashed] | None:
        """Start hashing a file the report will need, unless it is small (threads would
        spend more time taking turns at the interpreter than hashing), large (it uses
        every core itself when its turn comes) or deeper than a path can reach."""
        st = entry.stat
        if (
            entry.kind != "file"
            or entry.problem is not None
            or st is None
            or not AHEAD_MIN <= st.st_size < THREADED_MIN
            or len(entry.path) >= PATH_LIMIT
            or (st.st_dev, st.st_ino) in self.exclude
        ):
            return None
        algs = self._algorithms_for(entry)
        return pool.submit(_hash, entry.path, st, algs) if algs else None

    def _reported(self, entry: Entry, ahead: Future[_Hashed] | None) -> VerifyEntry | None:
        """:meth:`_one`, the entry noted as the one the report waits for (a progress
        display names it: see meter.waiting)."""
        with waiting([entry]):
            return self._one(entry, ahead)

    def _one(self, entry: Entry, ahead: Future[_Hashed] | None) -> VerifyEntry | None:
        if len(entry.path) < PATH_LIMIT:
            return self._entry(entry, ahead)
        with reachable_entry(entry) as reached:  # deeper than PATH_MAX: see reachable
            return self._entry(reached, ahead)

    def _entry(self, entry: Entry, ahead: Future[_Hashed] | None) -> VerifyEntry | None:
        """What one walked entry says, if anything yet (entries on disk only are kept in
        ``self.found`` for after the walk)."""
        st = entry.stat
        if st is not None and (st.st_dev, st.st_ino) in self.exclude and entry.kind == "file":
            return None
        if entry.kind == "directory" and entry.problem is not None:
            self.unlistable.append(entry.rel)
        m = self.index.get(entry.rel)
        if m is None:
            if entry.kind == "directory":
                return VerifyEntry(
                    **_names(entry.rel),
                    status="unreadable",
                    in_manifest=False,
                    kind="directory",
                    problems=(entry.problem,) if entry.problem else (),
                    note="a folder that cannot be listed: what it holds is not checked",
                )
            self.found.append(self._found(entry, ahead))
            return None
        self.seen.add(entry.rel)
        return self._compare(m, entry, ahead)

    # -- entries on disk and in the manifest --

    def _compare(self, m: ManifestEntry, entry: Entry, ahead: Future[_Hashed] | None = None) -> VerifyEntry:
        names = _names(m.rel)
        expected = _expected(m)

        def result(status: VerifyStatus, actual: dict[str, Any] | None = None, **kw: Any) -> VerifyEntry:
            return VerifyEntry(
                **names, status=status, in_manifest=True, kind=m.kind, expected=expected, actual=actual or {}, **kw
            )

        st = entry.stat
        if entry.problem is not None or st is None:
            problem = entry.problem or Problem("walk", "error", "StatError", "entry could not be examined")
            note = "it was unreadable at scan time too" if m.kind == "directory" else None
            return result("unreadable", problems=(problem,), note=note)
        if entry.kind != m.kind:
            return result("modified", {"kind": entry.kind, "size": st.st_size}, changed=("kind",))
        if m.kind == "file":
            algs = _recorded_algorithms(m)
            if not algs:
                return result(
                    "unreadable",
                    {"kind": "file", "size": st.st_size},
                    note="the manifest holds no digest for this file (it could not be read at scan time)",
                )
            digests, size, hash_problem = _hashed(ahead, entry.path, st, algs)
            if hash_problem is not None:
                return result("unreadable", {"kind": "file", "size": st.st_size}, problems=(hash_problem,))
            assert digests is not None
            recorded_hashes = expected["hashes"]
            changed = [a for a in algs if digests[a] != recorded_hashes[a]]
            if m.size is not None and size != m.size:
                changed.append("size")
            recorded_time = expected.get("fs_modified")
            same_time = m.modified_ns == st.st_mtime_ns
            now = recorded_time if same_time else from_stat_ns(st.st_mtime_ns)
            actual = {"kind": "file", "size": size, "hashes": digests, "fs_modified": now}
            if changed:
                return result("modified", actual, changed=tuple(changed))
            if recorded_time is not None and not same_time:
                return result(
                    "ok",
                    actual,
                    note=f"content unchanged, but its modification time is {now or 'out of range'} where the "
                    f"manifest recorded {recorded_time}: written again with the same bytes, touched, or copied "
                    "without its times",
                )
            return result("ok", actual)
        if m.kind == "symlink":
            try:
                target = display_path(os.readlink(entry.path))[0]
            except OSError as exc:
                return result("unreadable", problems=(_problem(exc, "walk"),))
            actual = {"kind": "symlink", "size": st.st_size, "link_target": target}
            if m.link_target is None:
                return result("unreadable", actual, note="the manifest holds no link target (unreadable at scan time)")
            link_changed = ("link_target",) if target != m.link_target else ()
            return result("modified" if link_changed else "ok", actual, changed=link_changed)
        # A special file (FIFO, socket, device): its type is checked, it is never opened.
        what = special_name(st)
        actual = {"kind": "other", "size": st.st_size, "type": what}
        if m.description is not None and m.description != what:
            return result("modified", actual, changed=("type",))
        return result("ok", actual, note=f"{what}: type checked, never opened")

    # -- entries on disk only --

    def _found(self, entry: Entry, ahead: Future[_Hashed] | None = None) -> _Found:
        st = entry.stat
        if entry.problem is not None or st is None:
            problem = entry.problem or Problem("walk", "error", "StatError", "entry could not be examined")
            return _Found(entry.rel, entry.kind, {"kind": entry.kind}, (problem,))
        actual: dict[str, Any] = {"kind": entry.kind, "size": st.st_size}
        if entry.kind == "file" and self.algorithms:
            digests, size, hash_problem = _hashed(ahead, entry.path, st, self.algorithms)
            if hash_problem is not None:
                return _Found(entry.rel, entry.kind, actual, (hash_problem,))
            actual.update(size=size, hashes=digests, fs_modified=from_stat_ns(st.st_mtime_ns))
        elif entry.kind == "symlink":
            try:
                actual["link_target"] = display_path(os.readlink(entry.path))[0]
            except OSError as exc:
                return _Found(entry.rel, entry.kind, actual, (_problem(exc, "walk"),))
        elif entry.kind == "other":
            actual["type"] = special_name(st)
        return _Found(entry.rel, entry.kind, actual)

    # -- after the walk: missing, moved, new --

    def _after_walk(self, seen: set[bytes], found: list[_Found], unlistable: list[bytes]) -> Iterator[VerifyEntry]:
        by_digest: dict[tuple[str, str], list[_Found]] = {}
        for f in found:
            for alg, value in (f.actual.get("hashes") or {}).items():
                by_digest.setdefault((alg, value), []).append(f)
        for same in by_digest.values():
            same.reverse()  # walk order from the end: used files are popped as they are met
        for m in self.manifest.entries:
            if m.rel in seen:
                continue
            yield self._unseen(m, by_digest, unlistable)
        for f in found:
            if not f.used:
                yield VerifyEntry(
                    **_names(f.rel),
                    status="new",
                    in_manifest=False,
                    kind=f.kind,
                    actual=f.actual,
                    problems=f.problems,
                )

    def _unseen(
        self, m: ManifestEntry, by_digest: dict[tuple[str, str], list[_Found]], unlistable: list[bytes]
    ) -> VerifyEntry:
        names = _names(m.rel)
        expected = _expected(m)
        folder = next((d for d in unlistable if _is_under(m.rel, d)), None)
        if folder is not None:
            return VerifyEntry(
                **names,
                status="unreadable",
                in_manifest=True,
                kind=m.kind,
                expected=expected,
                note=f"its folder {display_path(folder)[0]!r} cannot be listed",
            )
        path = os.path.join(self.roots.base, m.rel)
        try:
            with reachable(path) as short:
                st = os.lstat(short)
        except OSError:
            st = None
        if st is not None:
            # Present but not walked: a folder now stands where the entry was (or it
            # was an unreadable folder at scan time and can be listed now).
            kind: Kind = "directory" if stat_mod.S_ISDIR(st.st_mode) else "other"
            if m.kind == "directory":
                return VerifyEntry(
                    **names,
                    status="unreadable",
                    in_manifest=True,
                    kind=m.kind,
                    expected=expected,
                    actual={"kind": kind},
                    note="it was unreadable at scan time: what it holds was never recorded",
                )
            return VerifyEntry(
                **names,
                status="modified",
                in_manifest=True,
                kind=m.kind,
                expected=expected,
                actual={"kind": kind},
                changed=("kind",),
            )
        target = self._move_target(m, by_digest)
        if target is not None:
            new_text, new_b64 = display_path(target.rel)
            return VerifyEntry(
                **names,
                status="moved",
                in_manifest=True,
                kind=m.kind,
                expected=expected,
                actual=target.actual,
                moved_to=new_text,
                moved_to_bytes=new_b64,
            )
        return VerifyEntry(**names, status="missing", in_manifest=True, kind=m.kind, expected=expected)

    @staticmethod
    def _move_target(m: ManifestEntry, by_digest: dict[tuple[str, str], list[_Found]]) -> _Found | None:
        """A not-yet-used new file with exactly this entry's content (every digest, size)."""
        if m.kind != "file" or not m.hashes:
            return None
        alg = next(a for a in ALGORITHMS if a in m.hashes)
        # The candidates in walk order, last first. Used ones at the end are dropped: with
        # thousands of files of one content (empty files, a sticker sent a thousand times)
        # moved, skipping the used ones again for every entry took time squared.
        same = by_digest.get((alg, m.hashes[alg]), [])
        while same and same[-1].used:
            same.pop()
        for f in reversed(same):
            got = f.actual.get("hashes") or {}
            if f.used or any(got.get(a) != v for a, v in m.hashes.items()):
                continue
            if m.size is not None and f.actual.get("size") != m.size:
                continue
            f.used = True
            return f
        return None


#: (digests, bytes read, problem) of one file; see _hash.
_Hashed = tuple[dict[str, str] | None, int, Problem | None]
#: Files hashed ahead of the one reported, per thread: enough to keep every core busy
#: while the report waits for a slow file, few enough to stay close to the walk.
AHEAD_PER_THREAD = 8
#: Smaller files are hashed when reported: their digests take less time than the Python
#: around them, and threads doing that take turns (measured here: 50,000 files of
#: 100 B-8 KB verified in 8.5 s on two threads, 4.0 s on one).
AHEAD_MIN = 256 * 1024


def _recorded_algorithms(m: ManifestEntry) -> tuple[str, ...]:
    """The digests a manifest entry holds, in ``ALGORITHMS`` order: what its file is checked with."""
    if isinstance(m.hashes, Digests):
        return m.hashes.names
    return tuple(a for a in ALGORITHMS if a in m.hashes)


def _hex_digests(hashes: Mapping[str, str]) -> dict[str, str]:
    """A manifest entry's digests as a new dict (made in one pass from what it holds)."""
    return hashes.as_dict() if isinstance(hashes, Digests) else dict(hashes)


def _hashed(ahead: Future[_Hashed] | None, path: bytes, st: os.stat_result, algorithms: tuple[str, ...]) -> _Hashed:
    """The result hashed ahead, or the file hashed now."""
    return ahead.result() if ahead is not None else _hash(path, st, algorithms)


def _hash(path: bytes, st: os.stat_result, algorithms: tuple[str, ...]) -> _Hashed:
    """Hash one regular file read-only: (digests, bytes read, problem).

    The file is opened without following a symlink and without blocking; it must still
    be the regular file the walk saw, and must not change while it is read.
    """
    try:
        result = hash_entry(path, st, algorithms, head_size=0)
    except EntryReplaced as exc:
        return None, 0, Problem("hash", "error", "ChangedDuringVerify", str(exc))
    except OSError as exc:
        return None, 0, _problem(exc)
    if changed_while_read(path, st, result):
        return (
            None,
            result.size,
            Problem(
                "hash",
                "error",
                "ChangedDuringVerify",
                "the file changed while it was read (its size, mtime or ctime)",
            ),
        )
    return result.digests, result.size, None
