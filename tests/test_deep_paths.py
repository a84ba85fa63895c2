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
from evidence_cli import walker as walker_mod
from evidence_cli.manifest import read_manifest
from evidence_cli.scanner import ScanOptions, process_entry
from evidence_cli.walker import PATH_LIMIT, reachable, resolve_roots, walk
from tests.custody import write_manifest
from tests.deep import make_chain, remove_deep

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="reached through /proc/self/fd (Linux)")

FOLDER = b"d" * 200
DEPTH = 25  # 25 x 201 bytes: past PATH_MAX
CONTENT = b"hidden below PATH_MAX\n"


def deep_tree(
    root: Path, depth: int = DEPTH, content: bytes = CONTENT, folder: bytes = FOLDER, file_every: int = 0
) -> bytes:
    """root/ddd.../ddd.../.../leaf.txt (built through descriptors: no path is too long);
    with ``file_every`` N, also an x.txt in every Nth folder from the top."""
    root.mkdir()
    make_chain(root, depth, folder, (b"leaf.txt", content), file_every)
    return b"/".join([folder] * depth + [b"leaf.txt"])


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


@pytest.mark.parametrize("fresh", [True, False], ids=["fresh-process", "folders-already-reached"])
@pytest.mark.parametrize("swapped", [5, DEPTH - 2])
def test_a_folder_swapped_for_a_symlink_after_the_walk_is_not_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, swapped: int, fresh: bool
) -> None:
    """A folder replaced, after the walk, by a link to another tree with the same names
    and other content never gives the other tree's digests. Near the top, the file is no
    longer the one the walk saw (device and inode): an error. Past the limit, the folders
    are reached one by one with O_NOFOLLOW, as the walk never follows a symlink: an error
    in a process that reaches them for the first time. A process that already holds a
    folder on the way (see walker._Chain) gives the same error when the link lies below
    that folder, and otherwise reaches the very file the walk saw, moved with its folder
    (device and inode checked): its digests are that file's."""
    deep_tree(tmp_path / "ev")
    # What following the link would reach: the same names below it, other content.
    deep_tree(tmp_path / "decoy", depth=DEPTH - swapped, content=b"decoy\n")
    entries = list(walk(resolve_roots([str(tmp_path / "ev")])))
    with reachable(os.path.join(os.fsencode(tmp_path / "ev"), *[FOLDER] * (swapped - 1))) as parent:
        os.rename(os.path.join(parent, FOLDER), os.path.join(parent, b"moved"))
        os.symlink(os.fsencode(tmp_path / "decoy"), os.path.join(parent, FOLDER))
    if fresh:
        monkeypatch.setattr(walker_mod, "_deep", walker_mod._Chain())
    record = process_entry(entries[0], ScanOptions())
    assert record.hashes.get("sha256") != hashlib.sha256(b"decoy\n").hexdigest()
    if fresh:
        assert record.errors, "the file could not be reached without following the link"
    else:
        # An error (a folder on the way is now a link) or the walk's own file, by identity.
        genuine = record.errors == () and record.hashes["sha256"] == hashlib.sha256(CONTENT).hexdigest()
        assert record.errors or genuine


def test_a_very_deep_tree_costs_a_few_system_calls_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tree tens of thousands of folders deep (easily made by an archive, to stall the
    tools that examine it) is walked and scanned in time linear in its depth: each folder
    past the limit is reached from the last one reached, not from the top again (which
    took depth x depth / 2 system calls: minutes at 6,000 folders, hours at 20,000)."""
    depth = 800  # 12 kB of path: 530 folders past the limit
    root = tmp_path / "ev"
    deep_tree(root, depth, folder=b"f" * 14, file_every=40)  # files read on the way back up
    real_open, opened = os.open, [0]

    def counting(*args: object, **kwargs: object) -> int:
        opened[0] += 1
        return real_open(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", counting)
    records = [process_entry(e, ScanOptions(workers=0)) for e in walk(resolve_roots([str(root)]))]
    assert len(records) == depth // 40 + 1
    assert all(r.errors == () and r.hashes for r in records), [r.errors for r in records if r.errors][:3]
    assert records[0].path.count("/") == depth and records[0].path.endswith("leaf.txt")  # deepest first
    assert opened[0] < 10 * depth, f"{opened[0]} opens for {depth} folders"
    remove_deep(root)


def test_the_common_folder_of_two_paths() -> None:
    """walker._common_folder against a plain component-by-component answer."""
    import random

    head = b"/h"

    def plain(a: bytes, b: bytes) -> int:
        pa, pb = a[len(head) :].split(b"/")[1:], b[len(head) :].split(b"/")[1:]
        k = 0
        for x, y in zip(pa, pb):
            if x != y:
                break
            k += 1
        return len(head) + sum(len(x) + 1 for x in pa[:k])

    rnd = random.Random(7)

    def path() -> bytes:
        return head + b"".join(
            b"/" + bytes(rnd.choice(b"ab") for _ in range(rnd.randint(1, 2))) for _ in range(rnd.randint(0, 5))
        )

    for _ in range(5000):
        a, b = path(), path()
        assert walker_mod._common_folder(a, b, len(head)) == plain(a, b), (a, b)
