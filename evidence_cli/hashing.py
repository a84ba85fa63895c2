"""Read-only opening and one-pass multi-digest hashing.

Every digest is updated from the same buffer, so the file is read once. hashlib
releases the GIL for large updates, so hashing overlaps other threads' work.
"""

from __future__ import annotations

import errno
import hashlib
import os
from dataclasses import dataclass
from typing import Any, Callable, Iterable

ALGORITHMS: dict[str, Callable[..., Any]] = {
    "md5": hashlib.md5,
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha512": hashlib.sha512,
    "blake2b": hashlib.blake2b,
}
DEFAULT_ALGORITHMS: tuple[str, ...] = ("md5", "sha1", "sha256")
CHUNK = 1024 * 1024

_O_NOATIME = getattr(os, "O_NOATIME", 0)
_noatime_allowed = True


def open_readonly(path: bytes | str) -> int:
    """Open a file read-only without following a final symlink, without blocking on a
    FIFO, and with ``O_NOATIME`` where the OS permits it (owner or CAP_FOWNER).

    Returns the raw file descriptor; the caller closes it.
    """
    global _noatime_allowed
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_BINARY", 0)
    if _O_NOATIME and _noatime_allowed:
        try:
            return os.open(path, flags | _O_NOATIME)
        except OSError as exc:
            if exc.errno != errno.EPERM:
                raise
            # Not the owner: the kernel refuses O_NOATIME. Plain read-only it is.
    return os.open(path, flags)


def normalise_algorithms(names: Iterable[str]) -> tuple[str, ...]:
    """Validate and de-duplicate digest names, keeping a stable order."""
    out: list[str] = []
    for raw in names:
        n = raw.strip().lower().replace("-", "")
        if n not in ALGORITHMS:
            raise ValueError(f"unknown digest {raw!r}; choose from {', '.join(ALGORITHMS)}")
        if n not in out:
            out.append(n)
    if not out:
        raise ValueError("at least one digest is needed")
    return tuple(out)


@dataclass(frozen=True)
class HashResult:
    """Digests of one read pass, plus what the pass saw."""

    digests: dict[str, str]
    size: int
    """Bytes actually read."""
    head: bytes
    """The first bytes (up to ``head_size``) for type detection."""
    content: bytes | None
    """The whole content if it was no larger than ``keep_limit``; else None."""


def hash_fd(
    fd: int,
    algorithms: Iterable[str] = DEFAULT_ALGORITHMS,
    *,
    chunk_size: int = CHUNK,
    head_size: int = 64 * 1024,
    keep_limit: int = 0,
) -> HashResult:
    """Hash everything readable from ``fd`` in one pass (does not close it)."""
    hashers = [ALGORITHMS[a]() for a in algorithms]
    names = list(algorithms)
    head = bytearray()
    kept: list[bytes] | None = [] if keep_limit > 0 else None
    total = 0
    while True:
        buf = os.read(fd, chunk_size)
        if not buf:
            break
        total += len(buf)
        for h in hashers:
            h.update(buf)
        if len(head) < head_size:
            head += buf[: head_size - len(head)]
        if kept is not None:
            if total <= keep_limit:
                kept.append(buf)
            else:
                kept = None
    content = b"".join(kept) if kept is not None else None
    return HashResult(
        digests={n: h.hexdigest() for n, h in zip(names, hashers)},
        size=total,
        head=bytes(head),
        content=content,
    )


def hash_bytes(data: bytes, algorithms: Iterable[str] = DEFAULT_ALGORITHMS) -> dict[str, str]:
    """Digests of an in-memory buffer (for tests and small helpers)."""
    return {a: ALGORITHMS[a](data).hexdigest() for a in algorithms}
