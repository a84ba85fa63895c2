"""A tree deeper than PATH_MAX (4,096 bytes on Linux): every system call refuses such a
path (ENAMETOOLONG), by accident (an extracted archive) or on purpose (to hide a file from
tools). The scan recorded the first entry past the limit as a special file with an error
and never hashed what lay below; the walk, the scan and verify now reach it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from evidence_cli import verify as verify_mod
from evidence_cli.manifest import read_manifest
from evidence_cli.scanner import ScanOptions, process_entry
from evidence_cli.walker import PATH_LIMIT, reachable, resolve_roots, walk
from tests.custody import write_manifest

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="reached through /proc/self/fd (Linux)")

FOLDER = b"d" * 200
DEPTH = 25  # 25 x 201 bytes: past PATH_MAX
CONTENT = b"hidden below PATH_MAX\n"


def deep_tree(root: Path, depth: int = DEPTH, content: bytes = CONTENT) -> bytes:
    """root/ddd.../ddd.../.../leaf.txt (built through descriptors: no path is too long)."""
    root.mkdir()
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir(FOLDER, dir_fd=fd)
            inner = os.open(FOLDER, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        leaf = os.open("leaf.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(leaf, content)
        os.close(leaf)
    finally:
        os.close(fd)
    return b"/".join([FOLDER] * depth + [b"leaf.txt"])


def test_the_walk_and_the_scan_reach_a_file_past_path_max(tmp_path: Path) -> None:
    rel = deep_tree(tmp_path / "ev")
    assert len(os.fsencode(tmp_path / "ev")) + 1 + len(rel) > 4096
    entries = list(walk(resolve_roots([str(tmp_path / "ev")])))
    assert [(e.rel, e.kind, e.problem) for e in entries] == [(rel, "file", None)]
    record = process_entry(entries[0], ScanOptions())
    assert record.errors == ()
    assert record.hashes["sha256"] == hashlib.sha256(CONTENT).hexdigest()
    assert record.size == len(CONTENT) and record.mime == "text/plain"
    assert record.path == rel.decode()


def test_verify_checks_a_file_past_path_max(tmp_path: Path) -> None:
    rel = deep_tree(tmp_path / "ev")
    manifest = tmp_path / "m.json"
    write_manifest(tmp_path / "ev", manifest)
    result = list(verify_mod.verify(read_manifest(str(manifest))))
    assert [(e.path, e.status) for e in result] == [(rel.decode(), "ok")]
    with reachable(os.path.join(os.fsencode(tmp_path / "ev"), rel)) as short:
        assert len(short) < PATH_LIMIT
        with open(short, "r+b") as fh:
            fh.write(b"H")
    result = list(verify_mod.verify(read_manifest(str(manifest))))
    assert [(e.path, e.status) for e in result] == [(rel.decode(), "modified")]


@pytest.mark.parametrize("swapped", [5, DEPTH - 2])
def test_a_folder_swapped_for_a_symlink_after_the_walk_is_not_followed(tmp_path: Path, swapped: int) -> None:
    """A folder replaced, after the walk, by a link to another tree with the same names
    and other content gives an error, never the other tree's digests: near the top the
    file is no longer the one the walk saw (device and inode); past the limit, the short
    path is built folder by folder with O_NOFOLLOW, as the walk never follows a symlink."""
    deep_tree(tmp_path / "ev")
    # What following the link would reach: the same names below it, other content.
    deep_tree(tmp_path / "decoy", depth=DEPTH - swapped, content=b"decoy\n")
    entries = list(walk(resolve_roots([str(tmp_path / "ev")])))
    with reachable(os.path.join(os.fsencode(tmp_path / "ev"), *[FOLDER] * (swapped - 1))) as parent:
        os.rename(os.path.join(parent, FOLDER), os.path.join(parent, b"moved"))
        os.symlink(os.fsencode(tmp_path / "decoy"), os.path.join(parent, FOLDER))
    record = process_entry(entries[0], ScanOptions())
    assert record.hashes.get("sha256") != hashlib.sha256(b"decoy\n").hexdigest()
    assert record.errors, "the file could not be reached without following the link"
