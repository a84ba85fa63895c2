"""Large files: digests spread over threads give exactly the one-thread digests."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from evidence_cli.hashing import ALGORITHMS, HashResult, digest_groups, hash_fd

THREE = ("md5", "sha1", "sha256")


def _two_core_gate(monkeypatch: pytest.MonkeyPatch, count: int, grow_after_s: float) -> Any:
    """A worker's view on 2 cores: a shared count of large files (``count`` already), small
    thresholds so a test file is large and read in 64 KiB chunks. Returns the gate."""
    import multiprocessing

    import evidence_cli.hashing as hashing

    monkeypatch.setattr(hashing, "usable_cores", lambda: 2)
    gate = hashing.BigFileGate(multiprocessing.get_context("spawn").Value("i", count))
    monkeypatch.setattr(hashing, "gate", gate)
    monkeypatch.setattr(hashing, "THREADED_MIN", 1024)
    monkeypatch.setattr(hashing, "GROW_AFTER_S", grow_after_s)
    return gate


def _hash_file(path: Path, data: bytes) -> HashResult:
    """Write ``data`` and hash it as a large file of known size, in 64 KiB chunks."""
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        return hash_fd(fd, THREE, expected_size=len(data), chunk_size=64 * 1024)
    finally:
        os.close(fd)


def test_groups_balance_md5_against_the_sha_family() -> None:
    assert digest_groups(["md5", "sha1", "sha256"], 2) == [[0], [2, 1]]
    assert digest_groups(["md5", "sha1", "sha256"], 8) == [[0], [2], [1]]
    assert digest_groups(["sha256"], 4) == [[0]]
    groups = digest_groups(list(ALGORITHMS), 2)
    assert sorted(i for g in groups for i in g) == list(range(len(ALGORITHMS)))


@pytest.mark.parametrize("algorithms", [("md5", "sha1", "sha256"), tuple(ALGORITHMS), ("sha256",)])
def test_threaded_equals_single_thread(tmp_path: Path, algorithms: tuple[str, ...]) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    p = tmp_path / "big.bin"
    p.write_bytes(data)
    results = []
    for threaded in (False, True):
        fd = os.open(p, os.O_RDONLY)
        try:
            results.append(hash_fd(fd, algorithms, threaded=threaded, chunk_size=256 * 1024, keep_limit=1 << 30))
        finally:
            os.close(fd)
    single, threaded_r = results
    assert single.digests == threaded_r.digests == {a: hashlib.new(a, data).hexdigest() for a in algorithms}
    assert threaded_r.size == len(data) and threaded_r.head == data[: len(threaded_r.head)]
    assert threaded_r.content == data


@pytest.mark.parametrize("cores", [1, 2, 3, 8])
def test_pipeline_gives_exact_digests_for_any_core_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cores: int
) -> None:
    # Many more chunks than ring buffers: buffers are reused only after every group hashed them.
    import evidence_cli.hashing as hashing

    monkeypatch.setattr(hashing, "usable_cores", lambda: cores)
    data = os.urandom(2 * 1024 * 1024 + 5)
    p = tmp_path / "big.bin"
    p.write_bytes(data)
    algorithms = tuple(ALGORITHMS)
    fd = os.open(p, os.O_RDONLY)
    try:
        r = hash_fd(fd, algorithms, threaded=True, chunk_size=64 * 1024)
    finally:
        os.close(fd)
    assert r.digests == {a: hashlib.new(a, data).hexdigest() for a in algorithms}
    assert r.size == len(data) and r.head == data[: len(r.head)] and r.content is None


def test_a_digest_thread_failure_is_raised_not_hung(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    import evidence_cli.hashing as hashing

    class Broken:
        def update(self, data: object) -> None:
            if threading.current_thread() is not threading.main_thread():
                raise MemoryError("digest thread out of memory")

        def hexdigest(self) -> str:
            return ""

    monkeypatch.setattr(hashing, "usable_cores", lambda: 2)
    monkeypatch.setitem(hashing.ALGORITHMS, "md5", Broken)
    p = tmp_path / "big.bin"
    p.write_bytes(os.urandom(1024 * 1024))
    fd = os.open(p, os.O_RDONLY)
    try:
        with pytest.raises(MemoryError, match="digest thread"):
            hash_fd(fd, ("md5", "sha1", "sha256"), threaded=True, chunk_size=64 * 1024)
    finally:
        os.close(fd)
    assert not [t for t in threading.enumerate() if t.name == "digest"]


def test_large_files_hashed_at_once_share_the_cores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import evidence_cli.hashing as hashing

    gate = _two_core_gate(monkeypatch, 0, grow_after_s=0.0)
    counter = gate.counter
    gate.enter()
    assert gate.spare() == 1  # alone: a core to spare
    gate.enter()
    assert gate.spare() == 0  # a second large file at the same time: one thread each
    gate.leave()
    gate.leave()
    assert counter.value == 0

    # hash_fd counts a large file while it is hashed, and releases it even on failure.
    data = os.urandom(300 * 1024)
    seen: list[int] = []
    real = hashing._hash_threaded

    def spy(*args: object) -> None:
        seen.append(counter.value)
        real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(hashing, "_hash_threaded", spy)
    r = _hash_file(tmp_path / "big.bin", data)
    counter.value = 1  # another worker is hashing a large file: this one stays on one thread
    r1 = _hash_file(tmp_path / "big.bin", data)
    assert seen == [1], "threaded only while alone, and counted while it ran"
    assert r.digests == r1.digests == {a: hashlib.new(a, data).hexdigest() for a in THREE}
    assert counter.value == 1, "each large file left the count as it found it"


def test_a_large_file_on_one_thread_takes_cores_that_fall_free(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import evidence_cli.hashing as hashing

    gate = _two_core_gate(monkeypatch, 1, grow_after_s=0.0)  # another worker's large file
    counter = gate.counter
    calls: list[int] = []
    real_spare = gate.spare

    def spare() -> int:
        calls.append(1)
        if len(calls) == 3:
            counter.value -= 1  # the other large file is done
        return real_spare()

    monkeypatch.setattr(gate, "spare", spare)
    threaded: list[int] = []
    real = hashing._hash_threaded
    monkeypatch.setattr(hashing, "_hash_threaded", lambda *a: (threaded.append(a[-1]), real(*a))[1])
    data = os.urandom(1024 * 1024 + 3)
    r = _hash_file(tmp_path / "big.bin", data)
    assert len(calls) == 3 and threaded == [2], "moved to two threads after the third chunk"
    assert r.digests == {a: hashlib.new(a, data).hexdigest() for a in THREE}
    assert r.size == len(data) and counter.value == 0


def test_a_large_file_takes_a_core_only_once_it_stays_free(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workers starting large files together each see a spare core for a moment; a
    file that grew on that glimpse would put three threads on two cores."""
    import evidence_cli.hashing as hashing

    gate = _two_core_gate(monkeypatch, 0, grow_after_s=1.0)
    counter = gate.counter
    clock = [0.0]
    monkeypatch.setattr(hashing.time, "monotonic", lambda: clock[0])
    checks: list[int] = []
    real_spare = gate.spare

    def spare() -> int:
        # Each chunk takes 0.3 s on this clock; the other worker's large file holds the
        # second core except on checks 2 and 4, so the core is never free for 1 s until
        # it is released for good from check 6 on.
        checks.append(1)
        clock[0] += 0.3
        n = len(checks)
        counter.value = 1 + (n < 6 and n not in (2, 4))
        return real_spare()

    monkeypatch.setattr(gate, "spare", spare)
    threaded: list[tuple[int, int]] = []
    real = hashing._hash_threaded
    monkeypatch.setattr(hashing, "_hash_threaded", lambda *a: (threaded.append((len(checks), a[-1])), real(*a))[1])
    data = os.urandom(20 * 64 * 1024 + 5)
    r = _hash_file(tmp_path / "big.bin", data)
    # Free from check 6 (t=1.8 s) on: 1 s later is check 10 (t=3.0 s).
    assert threaded == [(10, 2)], "grew only after the core stayed free for GROW_AFTER_S"
    assert r.digests == {a: hashlib.new(a, data).hexdigest() for a in THREE}
    assert r.size == len(data)
