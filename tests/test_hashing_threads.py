"""Large files: digests spread over threads give exactly the one-thread digests."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from evidence_cli.hashing import ALGORITHMS, digest_groups, hash_fd


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

    monkeypatch.setattr(hashing, "_cores", lambda: cores)
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

    monkeypatch.setattr(hashing, "_cores", lambda: 2)
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
