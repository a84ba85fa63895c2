"""birth_time_ns: the reused per-thread statx buffer gives each file its own answer."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from evidence_cli import walker


def test_birth_time_is_per_file_and_consistent(tmp_path: Path) -> None:
    paths = []
    for i in range(20):
        p = tmp_path / f"f{i}"
        p.write_bytes(b"x" * i)
        paths.append(os.fsencode(p))
    first = [walker.birth_time_ns(p, os.lstat(p)) for p in paths]
    assert [walker.birth_time_ns(p, os.lstat(p)) for p in paths] == first
    if walker._statx is not None and first[0] is not None:
        # Where the filesystem records it, the birth time is at most the modification time.
        assert all(b is not None and b <= os.lstat(p).st_mtime_ns for p, b in zip(paths, first))


def test_missing_file_gives_none(tmp_path: Path) -> None:
    assert walker.birth_time_ns(os.fsencode(tmp_path / "gone")) is None


def test_threads_do_not_share_a_buffer(tmp_path: Path) -> None:
    paths = []
    for i in range(8):
        p = tmp_path / f"t{i}"
        p.write_bytes(b"")
        paths.append(os.fsencode(p))
    expected = {p: walker.birth_time_ns(p) for p in paths}
    errors: list[bytes] = []

    def run(p: bytes) -> None:
        for _ in range(300):
            if walker.birth_time_ns(p) != expected[p]:
                errors.append(p)

    threads = [threading.Thread(target=run, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(expected) == 8
