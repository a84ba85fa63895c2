"""The walk: sorted, read-only, symlinks and special files recorded but never followed or opened."""

from __future__ import annotations

import base64
import errno
import os
import socket
import stat
from pathlib import Path
from typing import Any

import pytest

from evidence_cli import hashing
from evidence_cli import walker as walker_mod
from evidence_cli.errors import ScanError
from evidence_cli.models import FileRecord
from evidence_cli.scanner import ScanOptions, scan
from evidence_cli.walker import display_path, resolve_roots, walk
from tests.blocking import run_with_timeout
from tests.deep import make_chain, remove_deep

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def records(root: Path | bytes, **opts: Any) -> list[FileRecord]:
    return run_with_timeout(lambda: list(scan([root], ScanOptions(**opts))))


def by_path(recs: list[FileRecord]) -> dict[str, FileRecord]:
    return {r.path: r for r in recs}


def exact_bytes(r: FileRecord) -> bytes:
    return base64.b64decode(r.path_bytes) if r.path_bytes else r.path.encode("utf-8")


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every path the process opens through os.open during the test."""
    seen: list[bytes] = []
    real = os.open

    def spy(path: Any, flags: int, *a: Any, **kw: Any) -> int:
        if not isinstance(path, int):
            seen.append(os.fsencode(path))
        return real(path, flags, *a, **kw)

    monkeypatch.setattr(os, "open", spy)
    return seen


# --- order ---------------------------------------------------------------------------


def test_sorted_order_with_subdirectories_where_their_name_sorts(tmp_path: Path) -> None:
    for rel in ["b.txt", "a/z", "a/y", "a.txt", "A", "c/x/1", "c/x/0", "c/w", "a-b", "_"]:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(rel)
    paths = [r.path for r in records(tmp_path)]
    # Per folder by name bytes; a folder's entries come where the folder's name sorts
    # ("a" < "a-b" < "a.txt"), not by the full path string.
    assert paths == ["A", "_", "a/y", "a/z", "a-b", "a.txt", "b.txt", "c/w", "c/x/0", "c/x/1"]


def test_same_tree_same_records(tmp_path: Path) -> None:
    for i in range(20):
        (tmp_path / f"f{i:02d}").write_bytes(os.urandom(i))
    first = [r.to_dict() for r in records(tmp_path)]
    second = [r.to_dict() for r in records(tmp_path)]
    for d in first + second:
        d["filesystem"].pop("accessed")
    assert first == second


def test_empty_folders_give_no_record(tmp_path: Path) -> None:
    (tmp_path / "empty" / "deeper").mkdir(parents=True)
    assert records(tmp_path) == []


# --- symlinks ------------------------------------------------------------------------


def test_symlinks_are_recorded_never_followed(tmp_path: Path, opened: list[bytes]) -> None:
    tree = tmp_path / "tree"
    (tree / "dir").mkdir(parents=True)
    (tree / "dir" / "inner.txt").write_text("inner")
    (tree / "file.txt").write_text("file")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    links = {
        "to_file": "file.txt",
        "to_dir": "dir",
        "to_outside": str(outside),
        "to_outside_file": "../outside/secret.txt",
        "dangling": "does/not/exist",
        "loop_a": "loop_b",
        "loop_b": "loop_a",
        "self": "self",
        "dir/up": "..",
    }
    for name, target in links.items():
        (tree / name).symlink_to(target)
    recs = by_path(records(tree))
    assert set(recs) == {"dir/inner.txt", "file.txt", *links}, "nothing reached through a link"
    for name, target in links.items():
        r = recs[name]
        assert r.kind == "symlink"
        assert r.link_target == target
        assert r.hashes == {} and r.mime is None and r.metadata == {}
        assert r.errors == ()
        assert r.size == len(os.fsencode(target)), "lstat size of a link is its target's length"
    # The walk never opened a link nor anything outside the tree.
    assert not [p for p in opened if os.fsencode(outside) in p]
    assert not [p for p in opened if os.path.basename(p) in {n.encode() for n in links}]


def test_symlinked_root_is_a_link(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "f").write_text("x")
    (tmp_path / "link").symlink_to("real")
    recs = records(tmp_path / "link")
    assert [(r.path, r.kind, r.link_target) for r in recs] == [("link", "symlink", "real")]


def _linked(tmp_path: Path) -> Path:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "f").write_text("x")
    (tmp_path / "link").symlink_to("real")
    (tmp_path / "flink").symlink_to("real/f")
    (tmp_path / "dangling").symlink_to("nowhere")
    (tmp_path / "loop1").symlink_to("loop2")
    (tmp_path / "loop2").symlink_to("loop1")
    return tmp_path


@pytest.mark.parametrize("suffix", ["/", "/.", "//"])
def test_a_root_written_as_the_folder_a_link_leads_to_is_that_folder(tmp_path: Path, suffix: str) -> None:
    # "link/" names the folder, for the kernel as for ls and find: abspath() dropped the
    # slash, and an examiner scanning a linked evidence folder got one link record.
    base = _linked(tmp_path)
    roots = resolve_roots([str(base / "link") + suffix])
    real = os.fsencode(base / "real")
    assert roots.roots == (real,) and roots.base == real
    assert [(lk.target, lk.followed) for lk in roots.links] == [(real, True)]
    recs = records(str(base / "link") + suffix)
    assert [(r.path, r.kind) for r in recs] == [("f", "file")]


@pytest.mark.parametrize(
    ("name", "target"),
    [("link", "real"), ("flink", "real/f"), ("flink/", "real/f"), ("dangling", None), ("loop1", None)],
)
def test_a_root_that_is_a_link_is_recorded_and_listed_for_a_warning(
    tmp_path: Path, name: str, target: str | None
) -> None:
    base = _linked(tmp_path)
    given = str(base / name)
    roots = resolve_roots([given])
    assert roots.roots == (os.path.abspath(os.fsencode(given)),)
    want = os.fsencode(base / target) if target else None
    assert [(lk.given, lk.target, lk.followed) for lk in roots.links] == [(os.fsencode(given), want, False)]
    assert [r.kind for r in records(given)] == ["symlink"]


def test_links_inside_a_followed_root_are_still_not_followed(tmp_path: Path) -> None:
    base = _linked(tmp_path)
    (base / "real" / "inner").symlink_to("../flink")
    recs = records(str(base / "link") + "/")
    assert [(r.path, r.kind, r.link_target) for r in recs] == [("f", "file", None), ("inner", "symlink", "../flink")]


# --- special files -------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_is_recorded_not_opened(tmp_path: Path, opened: list[bytes]) -> None:
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "z.txt").write_text("after the pipe")
    recs = by_path(records(tmp_path))
    r = recs["pipe"]
    assert (r.kind, r.description, r.hashes) == ("other", "FIFO", {})
    assert [(e.stage, e.severity, e.type) for e in r.errors] == [("walk", "warning", "SpecialFile")]
    assert recs["z.txt"].hashes, "the scan went on after the FIFO"
    assert os.fsencode(tmp_path / "pipe") not in opened


def test_unix_socket_is_recorded_not_opened(tmp_path: Path, opened: list[bytes]) -> None:
    d = tmp_path / "s"
    d.mkdir()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(d / "sock"))
        recs = records(d)
    finally:
        sock.close()
    assert [(r.path, r.kind, r.description) for r in recs] == [("sock", "other", "socket")]
    assert recs[0].errors[0].type == "SpecialFile"
    assert os.fsencode(d / "sock") not in opened


@pytest.mark.skipif(not IS_ROOT, reason="creating a device node needs root")
def test_character_device_is_recorded_not_opened(tmp_path: Path, opened: list[bytes]) -> None:
    dev = tmp_path / "null"
    try:
        os.mknod(dev, stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("this container refuses mknod")
    recs = records(tmp_path)
    assert [(r.path, r.kind, r.description) for r in recs] == [("null", "other", "character device")]
    assert recs[0].hashes == {}
    assert os.fsencode(dev) not in opened


# --- names ---------------------------------------------------------------------------


def test_non_utf8_names_round_trip(tmp_path: Path) -> None:
    base = os.fsencode(tmp_path)
    names = [b"bad\xff.txt", b"dir\xfe/inner\x80", b"latin-1 caf\xe9", b"ok-caf\xc3\xa9", b"bad\\xff.txt", b"new\nline"]
    for n in names:
        p = os.path.join(base, n)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as fh:
            fh.write(n)
    recs = records(base)
    got = {exact_bytes(r): r for r in recs}
    assert set(got) == set(names), "every name maps back to its exact bytes"
    assert got[b"bad\xff.txt"].path == "bad\\xff.txt"
    assert got[b"bad\xff.txt"].path_bytes == base64.b64encode(b"bad\xff.txt").decode()
    assert got[b"dir\xfe/inner\x80"].path == "dir\\xfe/inner\\x80"
    assert got[b"ok-caf\xc3\xa9"].path == "ok-café" and got[b"ok-caf\xc3\xa9"].path_bytes is None
    # A valid name that merely looks like an escape has no path_bytes, so the two stay apart.
    assert got[b"bad\\xff.txt"].path == "bad\\xff.txt" and got[b"bad\\xff.txt"].path_bytes is None
    for n, r in got.items():
        assert r.hashes["sha256"] == hashing.hash_bytes(n, ["sha256"])["sha256"], "the right file was read"


def test_display_path() -> None:
    assert display_path(b"a/b") == ("a/b", None)
    assert display_path(b"\xff") == ("\\xff", "/w==")


# --- depth ---------------------------------------------------------------------------


def test_a_very_deep_tree_needs_no_recursion(tmp_path: Path) -> None:
    base = os.fsencode(tmp_path)
    # As deep as the path length limit allows with one-letter folders, well past
    # Python's recursion limit (about 1,000).
    levels = min(2000, (4000 - len(base)) // 2)
    assert levels > 1200
    try:
        make_chain(base, levels, leaf=(b"f", b"deep"))
        recs = records(base)
        assert len(recs) == 1
        assert recs[0].path == "d/" * levels + "f"
        assert recs[0].errors == ()
        assert recs[0].hashes["md5"] == hashing.hash_bytes(b"deep", ["md5"])["md5"]
    finally:
        remove_deep(base)


# --- unreadable entries ---------------------------------------------------------------


def deny(monkeypatch: pytest.MonkeyPatch, name: str, target: Path) -> None:
    """Make os.<name> raise PermissionError for one path (root ignores permission bits)."""
    real = getattr(os, name)
    denied = os.fsencode(target)

    def fake(path: Any, *a: Any, **kw: Any) -> Any:
        if not isinstance(path, int) and os.fsencode(path) == denied:
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real(path, *a, **kw)

    monkeypatch.setattr(os, name, fake)


def test_unreadable_folder_is_a_record_with_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "hidden.txt").write_text("x")
    (tmp_path / "open.txt").write_text("y")
    deny(monkeypatch, "open", tmp_path / "locked")
    deny(monkeypatch, "scandir", tmp_path / "locked")
    recs = by_path(records(tmp_path))
    assert set(recs) == {"locked", "open.txt"}
    r = recs["locked"]
    assert r.kind == "directory"
    assert [(e.stage, e.severity, e.type) for e in r.errors] == [("walk", "error", "PermissionError")]
    assert r.filesystem["modified"] is not None, "its stat is still reported"
    assert recs["open.txt"].errors == ()


def test_unreadable_root_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deny(monkeypatch, "open", tmp_path)
    deny(monkeypatch, "scandir", tmp_path)
    recs = records(tmp_path)
    assert [(r.path, r.kind, r.errors[0].type) for r in recs] == [(".", "directory", "PermissionError")]


def test_unreadable_file_is_a_record_with_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "b.txt").write_text("b")
    deny(monkeypatch, "open", tmp_path / "a.txt")
    recs = by_path(records(tmp_path))
    r = recs["a.txt"]
    assert (r.kind, r.size, r.hashes) == ("file", 1, {})
    assert [(e.stage, e.severity, e.type) for e in r.errors] == [("hash", "error", "PermissionError")]
    assert recs["b.txt"].hashes and recs["b.txt"].errors == ()


def test_entry_that_cannot_be_stat_ed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "gone").write_text("x")
    # The walk examines a child relative to its folder's descriptor (fstatat).
    real_stat = os.stat

    def fake(path: Any, *a: Any, **kw: Any) -> Any:
        if kw.get("dir_fd") is not None and os.fsencode(path) == b"gone":
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_stat(path, *a, **kw)

    monkeypatch.setattr(os, "stat", fake)
    recs = records(tmp_path)
    assert [(r.path, r.kind, r.filesystem, r.errors[0].stage) for r in recs] == [("gone", "other", {}, "walk")]


def test_folder_swapped_for_a_symlink_during_the_walk_is_not_followed(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "b").mkdir(parents=True)
    (tree / "a").write_text("a")
    (tree / "b" / "inside").write_text("b")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("s")
    entries = walk(resolve_roots([str(tree)]))
    first = next(entries)
    assert first.rel == b"a"
    # The parent was listed (b is a folder); now b becomes a link to outside the tree.
    os.rename(tree / "b", tmp_path / "b-moved")
    (tree / "b").symlink_to(outside)
    rest = list(entries)
    assert [(e.rel, e.kind) for e in rest] == [(b"b", "directory")]
    assert rest[0].problem is not None and rest[0].problem.stage == "walk"


@pytest.mark.skipif(IS_ROOT, reason="root ignores permission bits")
def test_really_unreadable_entries(tmp_path: Path) -> None:
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "x").write_text("x")
    (tmp_path / "secret.txt").write_text("s")
    os.chmod(tmp_path / "secret.txt", 0)
    os.chmod(tmp_path / "locked", 0)
    try:
        recs = by_path(records(tmp_path))
    finally:
        os.chmod(tmp_path / "locked", 0o755)
        os.chmod(tmp_path / "secret.txt", 0o644)
    assert recs["locked"].kind == "directory" and recs["locked"].errors[0].type == "PermissionError"
    assert recs["secret.txt"].errors[0].type == "PermissionError" and recs["secret.txt"].hashes == {}


# --- roots ---------------------------------------------------------------------------


def test_missing_root_is_a_scan_error(tmp_path: Path) -> None:
    with pytest.raises(ScanError, match="does not exist"):
        resolve_roots([str(tmp_path / "nope")])
    with pytest.raises(ScanError):
        resolve_roots([])


def test_nested_and_repeated_roots_are_walked_once(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "f").write_text("f")
    (tmp_path / "a" / "g").write_text("g")
    roots = resolve_roots([str(tmp_path / "a" / "b"), str(tmp_path / "a"), str(tmp_path / "a")])
    assert roots.roots == (os.fsencode(tmp_path / "a"),)
    assert [e.rel for e in walk(roots)] == [b"b/f", b"g"]


def test_several_roots_are_relative_to_their_common_folder(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    (tmp_path / "x" / "1").write_text("1")
    (tmp_path / "y" / "2").write_text("2")
    (tmp_path / "single").write_text("s")
    roots = resolve_roots([str(tmp_path / "y"), str(tmp_path / "single"), str(tmp_path / "x")])
    assert roots.base == os.fsencode(tmp_path)
    assert [e.rel for e in walk(roots)] == [b"single", b"x/1", b"y/2"]
    assert [e.rel for e in walk(resolve_roots([str(tmp_path / "single")]))] == [b"single"]


# --- one huge folder -------------------------------------------------------------------


def test_a_folder_of_many_files_is_walked_in_little_memory(tmp_path: Path) -> None:
    """A phone's cache folder, or an archive extracted by a hostile party, can hold millions
    of files in one folder. The walk must sort their names, but keeps no more than a chunk
    of their lstat results at a time: memory stays near the names' own size."""
    import tracemalloc

    n = 20_000
    names = [f"cache-{i:07d}-{'x' * 40}.bin" for i in range(n)]
    for name in names:
        (tmp_path / name).touch()
    tracemalloc.start()
    try:
        seen = 0
        for entry in walk(resolve_roots([str(tmp_path)])):
            assert entry.kind == "file" and entry.stat is not None
            seen += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == n
    # The names alone take about 90 bytes each (1.8 MB here); an lstat result and a path
    # kept for every file took over 800 bytes each (17 MB).
    assert peak < 8_000_000, f"{peak / 1e6:.1f} MB for {n} files in one folder"


def test_a_folder_replaced_between_chunks_of_its_listing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The children of a big folder are examined a chunk at a time, the folder re-opened and
    checked for each chunk: if it was replaced meanwhile, the children not yet examined are
    records with the error, never files from elsewhere."""
    monkeypatch.setattr(walker_mod, "STAT_CHUNK", 5)
    tree = tmp_path / "tree"
    (tree / "d").mkdir(parents=True)
    for i in range(10):
        (tree / "d" / f"f{i}").write_text("in")
    outside = tmp_path / "outside"
    outside.mkdir()
    for i in range(10):
        (outside / f"f{i}").write_text("out")
    entries = walk(resolve_roots([str(tree)]))
    first = [next(entries) for _ in range(5)]
    assert [e.rel for e in first] == [b"d/f0", b"d/f1", b"d/f2", b"d/f3", b"d/f4"]
    os.rename(tree / "d", tmp_path / "d-moved")
    (tree / "d").symlink_to(outside)
    rest = list(entries)
    assert [e.rel for e in rest] == [b"d/f5", b"d/f6", b"d/f7", b"d/f8", b"d/f9"]
    assert [e.stat for e in rest] == [None] * 5
    assert {(e.problem.stage, e.problem.type) for e in rest if e.problem} == {("walk", "FolderReplaced")}
    assert all(e.problem is not None for e in rest)


def test_outermost_roots_against_every_pair() -> None:
    """walker.outermost against the plain check of every root against every other."""
    import random

    from evidence_cli.walker import outermost

    def plain(roots: list[bytes]) -> list[bytes]:
        uniq: list[bytes] = []
        for r in sorted(set(roots)):
            if not any(r == u or r.startswith(u.rstrip(b"/") + b"/") for u in uniq):
                uniq.append(r)
        return uniq

    rnd = random.Random(11)
    names = [b"a", b"b", b"a b", b"a-b", b"ab"]
    for _ in range(3000):
        roots = [
            b"/" + b"/".join(rnd.choice(names) for _ in range(rnd.randint(0, 4))) for _ in range(rnd.randint(1, 8))
        ]
        assert outermost(roots) == plain(roots), roots
    many = [b"/ev/%d/f%d" % (i % 97, i) for i in range(20_000)] + [b"/ev/5"]
    assert outermost(many) == sorted(r for r in many if not r.startswith(b"/ev/5/"))


class _Automount:
    """lstat's view of an automount point not yet mounted (autofs): a folder on its own
    device, other than the folder that opening it mounts and opens."""

    def __init__(self, real: os.stat_result) -> None:
        self.st_mode, self.st_dev, self.st_ino = real.st_mode, real.st_dev + 1000, real.st_ino + 1000


def test_a_folder_mounted_on_first_use_is_walked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A NAS share mounted on first use (autofs, systemd automount) is, to lstat, a mount
    point on its own device; opening it mounts the share and opens its root. Checked
    against the lstat, that folder looked replaced and was not listed."""
    (tmp_path / "share" / "inner").mkdir(parents=True)
    (tmp_path / "share" / "inner" / "f.txt").write_text("on the share")
    real_stat = os.stat

    def autofs_view(path: Any, *a: Any, **kw: Any) -> Any:
        st = real_stat(path, *a, **kw)
        if kw.get("dir_fd") is not None and os.fsencode(path) == b"share":
            return _Automount(st)
        return st

    monkeypatch.setattr(os, "stat", autofs_view)
    recs = by_path(records(tmp_path))
    assert set(recs) == {"share/inner/f.txt"}
    assert recs["share/inner/f.txt"].errors == ()


def test_a_root_that_is_mounted_on_first_use_is_walked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same for a root given on the command line (`evidence scan /mnt/nas/case`)."""
    (tmp_path / "f.txt").write_text("on the share")
    real_lstat, root = os.lstat, os.fsencode(tmp_path)

    def autofs_view(path: Any, *a: Any, **kw: Any) -> Any:
        st = real_lstat(path, *a, **kw)
        return _Automount(st) if os.fsencode(path) == root else st

    monkeypatch.setattr(os, "lstat", autofs_view)
    assert [e.rel for e in walk(resolve_roots([str(tmp_path)]))] == [b"f.txt"]
