"""Special entries: FIFOs, sockets, device nodes, symlink tricks, unreadable entries,
files that change while they are read. Each is a record; none blocks or derails the scan."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from evidence_cli import hashing, walker
from evidence_cli.models import FileRecord
from evidence_cli.scanner import ScanOptions, scan
from tests.hostile.run import evidence_cmd, load_json_export, run_evidence


def records_of(root: Path, **options: Any) -> dict[str, FileRecord]:
    return {r.path: r for r in scan([str(root)], ScanOptions(workers=0, **options))}


# --- FIFOs, sockets, devices ------------------------------------------------------------------


class FifoWatch:
    """A writer blocked on a FIFO until some reader opens it: if the scan opened the FIFO,
    ``opened`` becomes true."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.opened = threading.Event()
        self.thread = threading.Thread(target=self._write, daemon=True)
        self.thread.start()

    def _write(self) -> None:
        try:
            fd = os.open(self.path, os.O_WRONLY)  # blocks until a reader opens the FIFO
        except OSError:
            return
        self.opened.set()
        os.close(fd)

    def release(self) -> None:
        """Unblock the writer by opening the read end ourselves."""
        if not self.opened.is_set():
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
            self.thread.join(5)
            os.close(fd)


@pytest.fixture
def special_tree(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """fifo (with a writer waiting for a reader), socket, and when we may create them a
    character device (/dev/zero's numbers: reading it never ends) and a block device."""
    root = tmp_path / "evidence"
    root.mkdir()
    (root / "a-regular.txt").write_bytes(b"regular\n")
    expected = {"fifo": "FIFO", "fifo-no-writer": "FIFO", "socket": "socket"}
    os.mkfifo(root / "fifo")
    os.mkfifo(root / "fifo-no-writer")  # opening it to read without O_NONBLOCK would block for ever
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(root / "socket"))
    try:
        os.mknod(root / "chardev-zero", 0o600 | stat.S_IFCHR, os.makedev(1, 5))
        os.mknod(root / "blockdev", 0o600 | stat.S_IFBLK, os.makedev(7, 0))
        expected.update({"chardev-zero": "character device", "blockdev": "block device"})
    except OSError as exc:  # no CAP_MKNOD here: FIFO and socket still tested
        if exc.errno not in (errno.EPERM, errno.EACCES):
            raise
    watch = FifoWatch(root / "fifo")
    try:
        yield root, expected
        assert not watch.opened.is_set(), "the FIFO was opened by the scan"
    finally:
        watch.release()
        sock.close()


def test_special_files_are_recorded_never_opened_in_process(special_tree: tuple[Path, dict[str, str]]) -> None:
    root, expected = special_tree
    records = records_of(root)
    assert set(records) == {"a-regular.txt", *expected}
    for name, what in expected.items():
        r = records[name]
        assert r.kind == "other"
        assert r.description == what
        assert r.hashes == {} or not any(r.hashes.values())
        assert [(e.stage, e.type) for e in r.errors] == [("walk", "SpecialFile")]
    assert records["a-regular.txt"].errors == ()


def test_special_files_do_not_block_the_cli(special_tree: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    root, expected = special_tree
    out = tmp_path / "scan.json"
    run = run_evidence(["scan", root, "--json", out, "-f", "json"], timeout=60)
    assert run.returncode == 1, run.text()  # special files are errors: exit 1, the scan finished
    files = {r["path"]: r for r in load_json_export(out)["files"]}
    assert set(files) == {"a-regular.txt", *expected}
    for name in expected:
        assert files[name]["kind"] == "other"


# --- Symlinks ---------------------------------------------------------------------------------


def test_symlink_loops_and_escapes_are_recorded_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0")
    links = {
        "loop-a": "loop-b",
        "loop-b": "loop-a",
        "self": "self",
        "sub/up": "..",  # a directory link to an ancestor: following it never ends
        "sub/root": "/",  # the whole machine
        "passwd": "/etc/passwd",
        "outside-relative": "../../../../../../../etc/shadow",
        "dangling": "does/not/exist",
        "to-photo": "sub/photo.jpg",
    }
    for name, target in links.items():
        os.symlink(target, root / name)
    records = records_of(root)
    assert set(records) == {"sub/photo.jpg", *links}
    for name, target in links.items():
        r = records[name]
        assert r.kind == "symlink"
        assert r.link_target == target
        assert r.size == len(os.fsencode(target))
        assert not any(r.hashes.values()), f"{name} was read through"
        assert r.metadata == {}


def test_symlinked_root_file_is_not_read_through(tmp_path: Path) -> None:
    target = tmp_path / "outside.txt"
    target.write_bytes(b"outside the evidence")
    root = tmp_path / "evidence"
    root.mkdir()
    os.symlink(target, root / "link.txt")
    [r] = list(scan([str(root / "link.txt")], ScanOptions(workers=0)))
    assert r.kind == "symlink" and not any(r.hashes.values())


def _swap_for_link_when_listing(monkeypatch: pytest.MonkeyPatch, listing: Path, folder: Path, target: Path) -> None:
    """Just before the walk lists ``listing``, move ``folder`` (one of its ancestors inside
    the tree) aside and put a symlink to ``target`` in its place: a tree changed under a
    running scan by someone who can write to it."""
    real_list = walker._list

    def swapping(d: bytes, *args: Any) -> Any:
        if d == os.fsencode(listing) and not folder.is_symlink():
            folder.rename(folder.with_name(folder.name + ".moved"))
            os.symlink(target, folder)
        return real_list(d, *args)

    monkeypatch.setattr(walker, "_list", swapping)


def test_a_folder_swapped_for_a_symlink_during_the_walk_is_not_followed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The walk never reads outside the tree, even when the tree changes under it: a folder
    replaced by a symlink after its parent was listed gives an error record, and nothing
    behind the link is listed or read."""
    root = tmp_path / "evidence"
    (root / "a" / "inner").mkdir(parents=True)
    (root / "a" / "inner" / "note.txt").write_bytes(b"evidence")
    outside = tmp_path / "outside"
    (outside / "inner").mkdir(parents=True)
    (outside / "inner" / "secret.txt").write_bytes(b"not evidence")
    _swap_for_link_when_listing(monkeypatch, root / "a" / "inner", root / "a", outside)
    records = records_of(root)
    assert "a/inner/secret.txt" not in records
    assert not any(r.hashes.get("sha256") == hashlib.sha256(b"not evidence").hexdigest() for r in records.values())
    assert set(records) == {"a/inner"}
    [problem] = records["a/inner"].errors
    assert (problem.stage, problem.type) == ("walk", "FolderReplaced")
    assert "replaced" in problem.message


# --- Permission denied ----------------------------------------------------------------------


def test_unreadable_file_and_folder_are_records_with_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Simulated (the tests run as root, who reads everything): opening a file and listing
    a folder fail with EACCES."""
    root = tmp_path / "evidence"
    (root / "locked-dir").mkdir(parents=True)
    (root / "locked-dir" / "hidden.txt").write_bytes(b"x")
    (root / "locked.txt").write_bytes(b"secret")
    (root / "open.txt").write_bytes(b"fine")
    real_open, real_list = hashing.open_readonly, walker._list

    def deny_open(path: bytes | str) -> int:
        if os.fsencode(path).endswith(b"locked.txt"):
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_open(path)

    def deny_list(d: bytes, *args: Any) -> Any:
        if d.endswith(b"locked-dir"):
            raise PermissionError(errno.EACCES, "Permission denied", d)
        return real_list(d, *args)

    monkeypatch.setattr(hashing, "open_readonly", deny_open)
    monkeypatch.setattr(walker, "_list", deny_list)
    records = records_of(root)
    assert set(records) == {"locked-dir", "locked.txt", "open.txt"}
    assert records["locked-dir"].kind == "directory"
    assert [(e.stage, e.type) for e in records["locked-dir"].errors] == [("walk", "PermissionError")]
    assert [(e.stage, e.type) for e in records["locked.txt"].errors] == [("hash", "PermissionError")]
    assert records["locked.txt"].size == 6
    assert records["open.txt"].errors == ()


def _unprivileged_prefix() -> list[str] | None:
    """A command prefix that runs as ``nobody``, or None when that is not possible here."""
    if os.geteuid() != 0:
        return []  # already unprivileged
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    probe = subprocess.run([*prefix, sys.executable, "-c", "import evidence_cli"], capture_output=True, timeout=60)
    return prefix if probe.returncode == 0 else None


def test_unreadable_entries_for_a_real_unprivileged_user() -> None:
    prefix = _unprivileged_prefix()
    if prefix is None:
        pytest.skip("cannot run as an unprivileged user here (no setpriv, or nobody cannot run Python)")
    base = Path(tempfile.mkdtemp(prefix="evidence-perm-"))
    try:
        base.chmod(0o755)
        root = base / "evidence"
        (root / "locked-dir").mkdir(parents=True)
        (root / "locked-dir" / "inside.txt").write_bytes(b"x")
        (root / "locked.txt").write_bytes(b"secret")
        (root / "open.txt").write_bytes(b"fine")
        root.chmod(0o755)
        (root / "open.txt").chmod(0o644)
        (root / "locked.txt").chmod(0o000)
        (root / "locked-dir").chmod(0o000)
        proc = subprocess.run(
            [*prefix, *evidence_cmd("scan", root, "--workers", "0", "-f", "json")],
            capture_output=True,
            timeout=120,
            cwd=base,
        )
        assert proc.returncode == 1, proc.stderr.decode(errors="replace")
        import json

        files = {r["path"]: r for r in json.loads(proc.stdout)["files"]}
        assert set(files) == {"locked-dir", "locked.txt", "open.txt"}
        assert [(e["stage"], e["type"]) for e in files["locked.txt"]["errors"]] == [("hash", "PermissionError")]
        assert files["locked-dir"]["kind"] == "directory"
        assert [(e["stage"], e["type"]) for e in files["locked-dir"]["errors"]] == [("walk", "PermissionError")]
        assert files["open.txt"]["errors"] == [] and files["open.txt"]["hashes"]["sha256"]
    finally:
        for p in (base / "evidence" / "locked-dir", base / "evidence" / "locked.txt"):
            if p.exists():
                p.chmod(0o700)
        shutil.rmtree(base, ignore_errors=True)


# --- Files that change while they are read ---------------------------------------------------


def test_file_changed_while_hashed_is_flagged(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Deterministic: the file grows right after the read pass, before the second stat."""
    root = tmp_path / "evidence"
    root.mkdir()
    victim = root / "growing.log"
    victim.write_bytes(b"a" * 4096)
    (root / "steady.log").write_bytes(b"b" * 4096)
    real = hashing.hash_fd

    def hash_then_append(fd: int, *args: Any, **kwargs: Any) -> Any:
        result = real(fd, *args, **kwargs)
        if os.fstat(fd).st_ino == victim.stat().st_ino:
            with open(victim, "ab") as fh:
                fh.write(b"appended while read")
        return result

    monkeypatch.setattr(hashing, "hash_fd", hash_then_append)
    records = records_of(root)
    grown = records["growing.log"]
    assert "changed-during-scan" in [f.code for f in grown.findings]
    assert ("hash", "ChangedDuringScan") in [(e.stage, e.type) for e in grown.errors]
    assert grown.size == 4096, "the record says what was read"
    assert records["steady.log"].findings == () and records["steady.log"].errors == ()


def test_file_rewritten_in_place_with_its_time_put_back_is_flagged(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A writer that rewrites a file in place (same size) and then sets its modification time
    back, as sync clients and ``touch -r`` do, leaves size, mtime and inode as they were; the
    kernel's change time (ctime), which nobody can set back, says it was written."""
    root = tmp_path / "evidence"
    root.mkdir()
    victim = root / "chat.txt"
    victim.write_bytes(b"a" * 4096)
    (root / "steady.txt").write_bytes(b"b" * 4096)
    before = victim.stat()
    time.sleep(0.05)  # a ctime the file system can tell from the first one (clock ticks are 1-10 ms)
    real = hashing.hash_fd

    def hash_then_rewrite(fd: int, *args: Any, **kwargs: Any) -> Any:
        result = real(fd, *args, **kwargs)
        if os.fstat(fd).st_ino == before.st_ino:
            with open(victim, "r+b") as fh:
                fh.write(b"z" * 4096)
            os.utime(victim, ns=(before.st_atime_ns, before.st_mtime_ns))
        return result

    monkeypatch.setattr(hashing, "hash_fd", hash_then_rewrite)
    records = records_of(root)
    after = victim.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)
    assert after.st_ctime_ns != before.st_ctime_ns, "this file system did not record the rewrite's change time"
    rewritten = records["chat.txt"]
    assert "changed-during-scan" in [f.code for f in rewritten.findings]
    assert ("hash", "ChangedDuringScan") in [(e.stage, e.type) for e in rewritten.errors]
    assert records["steady.txt"].findings == () and records["steady.txt"].errors == ()


def test_file_written_during_a_cli_scan_is_flagged(tmp_path: Path) -> None:
    """Real concurrency: a writer appends to a 64 MiB file while the CLI reads it."""
    root = tmp_path / "evidence"
    root.mkdir()
    victim = root / "live.bin"
    victim.write_bytes(b"\x00" * (64 * 1024 * 1024))
    stop = threading.Event()

    def writer() -> None:
        with open(victim, "ab", buffering=0) as fh:
            while not stop.is_set():
                fh.write(b"x" * 1024)
                time.sleep(0.001)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    try:
        out = tmp_path / "scan.json"
        run = run_evidence(["scan", root, "--workers", "0", "--no-metadata", "--json", out, "-f", "json"], timeout=120)
    finally:
        stop.set()
        t.join(5)
    assert run.returncode == 1, run.text()
    [r] = load_json_export(out)["files"]
    assert "changed-during-scan" in [f["code"] for f in r["findings"]]
