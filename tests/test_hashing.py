"""One-pass hashing and read-only opening."""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence_cli import hashing
from evidence_cli.hashing import (
    ALGORITHMS,
    DEFAULT_ALGORITHMS,
    hash_bytes,
    hash_fd,
    normalise_algorithms,
    open_readonly,
)
from tests.blocking import run_with_timeout

# Published known answers (RFC 1321, FIPS 180-2 examples, RFC 7693 for BLAKE2b-512).
KNOWN = {
    "md5": {
        b"": "d41d8cd98f00b204e9800998ecf8427e",
        b"abc": "900150983cd24fb0d6963f7d28e17f72",
    },
    "sha1": {
        b"": "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        b"abc": "a9993e364706816aba3e25717850c26c9cd0d89d",
    },
    "sha256": {
        b"": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        b"abc": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    },
    "sha512": {
        b"": "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
        "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
        b"abc": "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
        "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
    },
    "blake2b": {
        b"": "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419"
        "d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce",
        b"abc": "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
        "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923",
    },
}


def test_known_answers_cover_every_algorithm() -> None:
    assert set(KNOWN) == set(ALGORITHMS)


@pytest.mark.parametrize("algorithm", sorted(KNOWN))
@pytest.mark.parametrize("data", [b"", b"abc"])
def test_known_answer_digests(tmp_path: Path, algorithm: str, data: bytes) -> None:
    expected = KNOWN[algorithm][data]
    assert hash_bytes(data, [algorithm]) == {algorithm: expected}
    f = tmp_path / "f"
    f.write_bytes(data)
    fd = open_readonly(str(f))
    try:
        result = hash_fd(fd, [algorithm], chunk_size=1)
    finally:
        os.close(fd)
    assert result.digests == {algorithm: expected}
    assert result.size == len(data)


def test_every_digest_from_one_pass(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"abc")
    fd = open_readonly(str(f))
    try:
        result = hash_fd(fd, list(ALGORITHMS))
    finally:
        os.close(fd)
    assert result.digests == {a: KNOWN[a][b"abc"] for a in ALGORITHMS}
    assert list(result.digests) == list(ALGORITHMS), "digests keep the order asked for"


def test_default_algorithms() -> None:
    assert DEFAULT_ALGORITHMS == ("md5", "sha1", "sha256")
    assert set(hash_bytes(b"abc")) == {"md5", "sha1", "sha256"}


def _hash_data(data: bytes, **kw: Any) -> hashing.HashResult:
    with tempfile.TemporaryFile() as fh:
        fh.write(data)
        fh.flush()
        fh.seek(0)
        return hash_fd(fh.fileno(), list(ALGORITHMS), **kw)


@settings(max_examples=150, deadline=None)
@given(
    data=st.binary(max_size=20_000),
    chunk_size=st.integers(min_value=1, max_value=8192),
    head_size=st.integers(min_value=0, max_value=30_000),
    keep_limit=st.integers(min_value=0, max_value=30_000),
)
def test_chunked_hashing_equals_one_shot(data: bytes, chunk_size: int, head_size: int, keep_limit: int) -> None:
    result = _hash_data(data, chunk_size=chunk_size, head_size=head_size, keep_limit=keep_limit)
    assert result.digests == {a: ALGORITHMS[a](data).hexdigest() for a in ALGORITHMS}
    assert result.size == len(data)
    assert result.head == data[:head_size]
    if keep_limit > 0 and len(data) <= keep_limit:
        assert result.content == data
    else:
        assert result.content is None


@settings(max_examples=150, deadline=None)
@given(
    data=st.binary(max_size=20_000),
    expected_size=st.integers(min_value=0, max_value=25_000),
    chunk_size=st.integers(min_value=1, max_value=8192),
    keep_limit=st.integers(min_value=0, max_value=30_000),
)
def test_a_wrong_expected_size_never_changes_the_digests(
    data: bytes, expected_size: int, chunk_size: int, keep_limit: int
) -> None:
    """``expected_size`` (from stat) only chooses the reads: a file that grew or shrank
    since is still hashed to its end, through the first read and the reused buffer after it."""
    result = _hash_data(data, chunk_size=chunk_size, keep_limit=keep_limit, expected_size=expected_size)
    assert result.digests == {a: ALGORITHMS[a](data).hexdigest() for a in ALGORITHMS}
    assert result.size == len(data)
    assert result.head == data[: 64 * 1024]
    fits = len(data) <= keep_limit and expected_size <= keep_limit
    assert result.content == (data if keep_limit > 0 and fits else None)


@pytest.mark.parametrize("threaded", [False, True])
def test_no_data_for_now_is_an_error_not_the_end(threaded: bool) -> None:
    """A non-blocking descriptor with nothing to read now (a pipe whose writer is still
    open) must raise, never give the digests of what came before as if it were all."""
    r, w = os.pipe()
    try:
        os.set_blocking(r, False)
        os.write(w, b"x" * 5000)
        with pytest.raises(BlockingIOError):
            hash_fd(r, ("md5", "sha1", "sha256"), chunk_size=1024, threaded=threaded)
    finally:
        os.close(r)
        os.close(w)


def test_a_file_stat_says_is_too_large_to_keep_is_not_copied(tmp_path: Path) -> None:
    """Its pieces were copied up to the limit and then dropped: 64 MiB of copies a large
    file in a scan. Only reads of the usual size are held now; a file that shrank below
    the limit while read is read as the large file stat said it was."""
    limit = 6 * 1024 * 1024
    data = os.urandom(8 * 1024 * 1024)
    p = tmp_path / "large.bin"
    p.write_bytes(data)
    fd = os.open(p, os.O_RDONLY)
    tracemalloc.start()
    try:
        result = hash_fd(fd, ("md5", "sha1", "sha256"), keep_limit=limit, expected_size=len(data), threaded=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        os.close(fd)
    assert result.digests == {a: ALGORITHMS[a](data).hexdigest() for a in ("md5", "sha1", "sha256")}
    assert result.content is None
    assert peak < 2 * 1024 * 1024, peak
    shrunk = _hash_data(b"z" * 100, keep_limit=1000, expected_size=5000)
    assert shrunk.content is None and shrunk.size == 100
    grew = _hash_data(b"z" * 900, keep_limit=1000, expected_size=500)
    assert grew.content == b"z" * 900


def test_keep_limit_boundaries() -> None:
    data = b"x" * 1000
    assert _hash_data(data, keep_limit=1000, chunk_size=7).content == data
    assert _hash_data(data, keep_limit=999, chunk_size=7).content is None
    assert _hash_data(data, keep_limit=0).content is None, "0 means never keep"
    assert _hash_data(b"", keep_limit=10).content == b""


def test_head_is_the_first_bytes_across_chunks() -> None:
    data = bytes(range(256)) * 10
    result = _hash_data(data, chunk_size=100, head_size=1000)
    assert result.head == data[:1000]
    assert _hash_data(data, chunk_size=100_000, head_size=10).head == data[:10]


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["SHA-256"], ("sha256",)),
        ([" md5 ", "MD5", "sha1"], ("md5", "sha1")),
        (["blake2b", "sha-512"], ("blake2b", "sha512")),
    ],
)
def test_normalise_algorithms(names: list[str], expected: tuple[str, ...]) -> None:
    assert normalise_algorithms(names) == expected


@pytest.mark.parametrize("names", [["md4"], ["sha256", "crc32"], [], [""]])
def test_normalise_algorithms_refuses(names: list[str]) -> None:
    with pytest.raises(ValueError):
        normalise_algorithms(names)


# --- open_readonly -------------------------------------------------------------------


def test_open_readonly_does_not_follow_a_final_symlink(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"secret")
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(OSError) as info:
        open_readonly(str(link))
    assert info.value.errno == errno.ELOOP
    # A dangling link is not followed either (nothing is created).
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(OSError):
        open_readonly(bytes(dangling))
    assert not (tmp_path / "nowhere").exists()


def test_open_readonly_is_read_only(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"abc")
    fd = open_readonly(str(f))
    try:
        with pytest.raises(OSError) as info:
            os.write(fd, b"x")
        assert info.value.errno == errno.EBADF
    finally:
        os.close(fd)
    assert f.read_bytes() == b"abc"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_open_readonly_does_not_block_on_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def open_and_read() -> bytes:
        fd = open_readonly(str(fifo))
        try:
            return hash_fd(fd, ["sha256"]).head
        finally:
            os.close(fd)

    # No writer: a blocking open would wait forever; ours returns and reads nothing.
    assert run_with_timeout(open_and_read) == b""


@pytest.mark.skipif(not getattr(os, "O_NOATIME", 0), reason="no O_NOATIME on this OS")
def test_hashing_keeps_the_access_time(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"evidence" * 1000)
    # An access time older than the modification time: even a relatime mount would
    # update it on a plain read.
    old_atime, mtime = 1_000_000_123, 2_000_000_456
    os.utime(f, ns=(old_atime, mtime))
    fd = open_readonly(str(f))
    try:
        hash_fd(fd, list(ALGORITHMS), chunk_size=100)
    finally:
        os.close(fd)
    st = os.stat(f)
    assert (st.st_atime_ns, st.st_mtime_ns) == (old_atime, mtime)


@pytest.mark.skipif(not getattr(os, "O_NOATIME", 0), reason="no O_NOATIME on this OS")
def test_noatime_refused_falls_back_to_plain_read_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not the owner (and not root): the kernel refuses O_NOATIME with EPERM."""
    f = tmp_path / "f"
    f.write_bytes(b"abc")
    real_open = os.open
    seen: list[int] = []

    def fake_open(path: Any, flags: int, *args: Any, **kw: Any) -> int:
        seen.append(flags)
        if flags & getattr(os, "O_NOATIME", 0):
            raise PermissionError(errno.EPERM, "Operation not permitted")
        return real_open(path, flags, *args, **kw)

    monkeypatch.setattr(hashing.os, "open", fake_open)
    fd = open_readonly(str(f))
    try:
        assert hash_fd(fd, ["md5"]).digests == {"md5": KNOWN["md5"][b"abc"]}
    finally:
        os.close(fd)
    assert len(seen) == 2 and not seen[1] & os.O_NOATIME
    assert all(s & os.O_NOFOLLOW and s & os.O_NONBLOCK for s in seen)


def test_other_open_errors_are_not_swallowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_open(path: Any, flags: int, *args: Any, **kw: Any) -> int:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(hashing.os, "open", fake_open)
    with pytest.raises(PermissionError):
        open_readonly(str(tmp_path / "f"))


def test_hash_bytes_matches_hashlib() -> None:
    data = os.urandom(5000)
    assert hash_bytes(data, ["sha256", "md5"]) == {
        "sha256": hashlib.sha256(data).hexdigest(),
        "md5": hashlib.md5(data).hexdigest(),
    }
