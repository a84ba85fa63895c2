"""Trees deeper than PATH_MAX in tests: made through descriptors, one open at a time (a
descriptor held per level would pass the 1,024 an ordinary user may hold), and removed
with ``rm -rf``, which walks any depth with few descriptors (shutil.rmtree, and so
pytest's clean-up of its temporary folders, recurses once a level and fails)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def make_chain(
    base: bytes | Path,
    levels: int,
    name: bytes = b"d",
    leaf: tuple[bytes, bytes] | None = None,
    file_every: int = 0,
) -> None:
    """``base/name/name/.../name`` (``levels`` folders), with the file ``leaf`` (name,
    content) in the last one; with ``file_every`` N, also an x.txt in every Nth folder
    from the top (holding its level)."""
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for level in range(levels):
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
            if file_every and level % file_every == 0:
                _write(fd, b"x.txt", b"%d\n" % level)
        if leaf is not None:
            _write(fd, *leaf)
    finally:
        os.close(fd)


def _write(folder: int, name: bytes, content: bytes) -> None:
    out = os.open(name, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=folder)
    try:
        os.write(out, content)
    finally:
        os.close(out)


def remove_deep(root: Path | bytes) -> None:
    """Remove everything inside ``root``, however deep."""
    for entry in os.scandir(root):
        subprocess.run(["rm", "-rf", "--", entry.path], check=True)
