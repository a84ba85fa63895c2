"""Large files read through memory maps (worker processes of a scan): the same digests,
size and head as ordinary reads, whatever the file does meanwhile; and only where a
crash is survived."""

from __future__ import annotations

import hashlib
import os
import resource
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import evidence_cli.hashing as hashing
from evidence_cli import engine
from evidence_cli.hashing import HashResult, hash_fd
from evidence_cli.scanner import ScanOptions, scan

THREE = ("md5", "sha1", "sha256")
WINDOW = 64 * 1024
REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="maps and /proc as on Linux")


@pytest.fixture
def maps(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Mapped reads on, with 1 KiB files counted large and 64 KiB windows; returns the
    (offset, length) of every window mapped."""
    monkeypatch.setattr(hashing, "mapped_reads", True)
    monkeypatch.setattr(hashing, "THREADED_MIN", 1024)
    monkeypatch.setattr(hashing, "MAP_WINDOW", WINDOW)
    monkeypatch.setattr(hashing, "STREAM_CHUNK", 16 * 1024)  # several pieces a window
    seen: list[tuple[int, int]] = []
    real = hashing._map_window

    def spy(fd: int, length: int, offset: int) -> Any:
        seen.append((offset, length))
        return real(fd, length, offset)

    monkeypatch.setattr(hashing, "_map_window", spy)
    return seen


def _hash(path: Path, *, expected: int | None = None, keep_limit: int = 0) -> HashResult:
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size if expected is None else expected
        return hash_fd(fd, THREE, expected_size=size, keep_limit=keep_limit, threaded=False)
    finally:
        os.close(fd)


def _digests(data: bytes) -> dict[str, str]:
    return {a: hashlib.new(a, data).hexdigest() for a in THREE}


@pytest.mark.parametrize("size", [1024, 4095, 4097, WINDOW - 1, WINDOW, WINDOW + 1, 3 * WINDOW + 4097, 5 * WINDOW])
def test_mapped_reads_give_the_digests_size_and_head_of_ordinary_reads(
    tmp_path: Path, maps: list[tuple[int, int]], size: int
) -> None:
    data = os.urandom(size)
    p = tmp_path / "big.bin"
    p.write_bytes(data)
    mapped = _hash(p)
    windows = -(-size // WINDOW)
    assert maps == [(i * WINDOW, min(WINDOW, size - i * WINDOW)) for i in range(windows)], "every byte was mapped"
    hashing.mapped_reads = False
    read = _hash(p)
    assert len(maps) == windows, "ordinary reads map nothing"
    assert mapped == read
    assert mapped.digests == _digests(data) and mapped.size == size
    assert mapped.head == data[: 64 * 1024] and mapped.content is None


def test_only_large_files_are_mapped_and_never_one_kept_in_memory(tmp_path: Path, maps: list[tuple[int, int]]) -> None:
    small, kept = tmp_path / "small.bin", tmp_path / "kept.bin"
    small.write_bytes(b"x" * 1023)
    kept.write_bytes(b"y" * 5000)
    assert _hash(small).digests == _digests(b"x" * 1023)
    r = _hash(kept, keep_limit=8192)
    assert r.content == b"y" * 5000
    assert maps == []


def test_a_file_that_grows_while_mapped_is_hashed_to_its_end(tmp_path: Path, maps: list[tuple[int, int]]) -> None:
    data = os.urandom(2 * WINDOW + 100)
    extra = os.urandom(3 * WINDOW + 5)
    p = tmp_path / "grows.bin"
    p.write_bytes(data)
    real = hashing._map_window

    def map_then_grow(fd: int, length: int, offset: int) -> Any:
        if offset == 0:
            with open(p, "ab") as fh:
                fh.write(extra)
        return real(fd, length, offset)

    hashing._map_window = map_then_grow  # undone by the fixture's monkeypatch
    r = _hash(p, expected=len(data))
    assert r.digests == _digests(data + extra) and r.size == len(data) + len(extra)


def test_a_file_that_shrinks_is_never_mapped_past_its_end(tmp_path: Path, maps: list[tuple[int, int]]) -> None:
    """Cut to the end of the window being hashed: the next window is not mapped (a map
    past the end would kill the process at its first read), and what is left is hashed."""
    data = os.urandom(4 * WINDOW)
    p = tmp_path / "shrinks.bin"
    p.write_bytes(data)
    real = hashing._map_window

    def map_then_cut(fd: int, length: int, offset: int) -> Any:
        window = real(fd, length, offset)
        if offset == WINDOW:
            os.truncate(p, 2 * WINDOW)
        return window

    hashing._map_window = map_then_cut
    r = _hash(p)
    assert [o for o, _ in maps] == [0, WINDOW]
    assert r.digests == _digests(data[: 2 * WINDOW]) and r.size == 2 * WINDOW


@pytest.mark.parametrize("fails_at", [0, 1, 3])
def test_a_window_that_cannot_be_mapped_is_read_instead(
    tmp_path: Path, maps: list[tuple[int, int]], fails_at: int
) -> None:
    """A filesystem without maps, or the address-space limit: reads take over where the
    maps stopped (from the start when none worked)."""
    data = os.urandom(4 * WINDOW + 7)
    p = tmp_path / "big.bin"
    p.write_bytes(data)
    real = hashing._map_window

    def refuse(fd: int, length: int, offset: int) -> Any:
        if offset == fails_at * WINDOW:
            raise OSError(19, "No such device")
        return real(fd, length, offset)

    hashing._map_window = refuse
    r = _hash(p)
    assert r.digests == _digests(data) and r.size == len(data) and r.head == data[: 64 * 1024]


def test_a_mapped_file_takes_cores_that_fall_free(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As with ordinary reads: once another worker's large file is done, the rest of this
    one goes to the threaded pipeline, from where the maps stopped."""
    import multiprocessing

    monkeypatch.setattr(hashing, "mapped_reads", True)
    monkeypatch.setattr(hashing, "THREADED_MIN", 1024)
    monkeypatch.setattr(hashing, "MAP_WINDOW", WINDOW)
    monkeypatch.setattr(hashing, "GROW_AFTER_S", 0.0)
    monkeypatch.setattr(hashing, "usable_cores", lambda: 2)
    gate = hashing.BigFileGate(multiprocessing.get_context("spawn").Value("i", 1))
    monkeypatch.setattr(hashing, "gate", gate)
    checks: list[int] = []
    real_spare = gate.spare

    def spare() -> int:
        checks.append(1)
        if len(checks) == 2:
            gate.counter.value -= 1  # the other worker's large file is done
        return real_spare()

    monkeypatch.setattr(gate, "spare", spare)
    threaded: list[int] = []
    real = hashing._hash_threaded
    monkeypatch.setattr(hashing, "_hash_threaded", lambda *a: (threaded.append(a[-1]), real(*a))[1])
    data = os.urandom(6 * WINDOW + 11)
    p = tmp_path / "big.bin"
    p.write_bytes(data)
    fd = os.open(p, os.O_RDONLY)
    try:
        r = hash_fd(fd, THREE, expected_size=len(data), chunk_size=WINDOW)
    finally:
        os.close(fd)
    assert len(checks) == 2 and threaded == [2], "two threads after the second window"
    assert r.digests == _digests(data) and r.size == len(data)
    assert gate.counter.value == 0


def test_a_file_truncated_under_a_map_kills_the_process(tmp_path: Path) -> None:
    """Why only a scan's worker processes map: the kernel answers a read of a page past the
    new end with SIGBUS, not an error Python could catch."""
    p = tmp_path / "shrinks.bin"
    p.write_bytes(os.urandom(4 * WINDOW))
    code = textwrap.dedent(
        f"""
        import os, resource, sys
        resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))
        from evidence_cli import hashing
        hashing.mapped_reads, hashing.THREADED_MIN, hashing.MAP_WINDOW = True, 1024, {WINDOW}
        real = hashing._map_window
        def cut(fd, length, offset):
            window = real(fd, length, offset)
            os.truncate({str(p)!r}, 0)
            return window
        hashing._map_window = cut
        fd = os.open({str(p)!r}, os.O_RDONLY)
        hashing.hash_fd(fd, expected_size={4 * WINDOW}, threaded=False)
        print("survived")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGBUS, (proc.returncode, proc.stdout, proc.stderr)
    assert "survived" not in proc.stdout


def test_ordinary_reads_unless_a_worker_of_a_first_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """This process (``--workers 0``, verify) never maps; nor do the pools that re-run a
    broken pool's entries; a first-pass pool's workers do. No worker leaves a core dump."""
    assert hashing.mapped_reads is False
    monkeypatch.chdir(tmp_path)  # workers import _state from here (not from the working folder)
    monkeypatch.syspath_prepend(str(REPO))

    def worker_state(mapped: bool) -> tuple[bool, int]:
        pool = engine._new_pool(1, ScanOptions(workers=1), mapped=mapped)
        try:
            return pool.submit(_state).result(timeout=60)
        finally:
            engine._stop_pool(pool)

    assert worker_state(True) == (True, 0)
    assert worker_state(False) == (False, 0)


def _state() -> tuple[bool, int]:
    return hashing.mapped_reads, resource.getrlimit(resource.RLIMIT_CORE)[0]


def test_a_worker_killed_by_a_truncation_under_a_map_costs_no_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The truncated file's batch is read again with ordinary reads: every record is
    complete, the truncated file's describes what it holds now, nothing says "crashed"."""
    from tests.hostile import crashers

    monkeypatch.chdir(tmp_path)  # workers drop the working folder from their import path
    monkeypatch.syspath_prepend(str(REPO))
    monkeypatch.setattr(engine, "process_batch", crashers.batch_truncating_under_map)
    root = tmp_path / "evidence"
    root.mkdir()
    contents = {f"{i:02d}.bin": os.urandom(3 * WINDOW + i) for i in range(6)}
    contents["03-shrinks.bin"] = os.urandom(3 * WINDOW)
    for name, data in contents.items():
        (root / name).write_bytes(data)
    # Files over 1 KiB not kept in memory for the extractors: read as large ones.
    records = {r.path: r for r in scan([str(root)], ScanOptions(workers=2, keep_limit=1024))}
    assert sorted(records) == sorted(contents)
    assert all(e.type != "WorkerCrashed" for r in records.values() for e in r.errors)
    assert (root / "03-shrinks.bin").stat().st_size == 0, "the worker truncated it, and died of that"
    shrunk = records["03-shrinks.bin"]
    assert shrunk.hashes == {} or shrunk.hashes == _digests(b""), shrunk
    # Each batch a worker ran: whether it mapped, its process, its entries.
    batches = [line.split(" ", 2) for line in (tmp_path / "batches.log").read_text().splitlines()]
    dead = batches[0]
    assert dead[0] == "True" and "03-shrinks.bin" in dead[2].split(), batches
    again = batches[1 : 1 + len(dead[2].split())]
    assert sorted(b[2] for b in again) == sorted(dead[2].split()), "the dead batch was re-run entry by entry"
    assert all(b[0] == "False" and b[1] != dead[1] for b in again), "in other processes, without maps"
    for name, data in contents.items():
        if name != "03-shrinks.bin":
            assert records[name].hashes == _digests(data) and not records[name].errors, name
