"""Trees deeper than PATH_MAX in tests: made through descriptors, one open at a time (a
descriptor held per level would pass the 1,024 an ordinary user may hold), and removed
with ``rm -rf``, which walks any depth with few descriptors (shutil.rmtree, and so
pytest's clean-up of its temporary folders, recurses once a level and fails)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def make_chain(base: bytes, levels: int, name: bytes = b"d", leaf: tuple[bytes, bytes] | None = None) -> None:
    """``base/name/name/.../name`` (``levels`` folders), with the file ``leaf`` (name,
    content) in the last one."""
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(levels):
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        if leaf is not None:
            out = os.open(leaf[0], os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
            os.write(out, leaf[1])
            os.close(out)
    finally:
        os.close(fd)


def remove_deep(root: Path | bytes) -> None:
    """Remove everything inside ``root``, however deep."""
    for entry in os.scandir(root):
        subprocess.run(["rm", "-rf", "--", entry.path], check=True)
