"""verify(): every status on an awkward tree, seal before hashing, never follow, never open FIFOs."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from evidence_cli import hashing
from evidence_cli import verify as verify_mod
from evidence_cli.errors import ManifestError
from evidence_cli.exports import ExportFormat, export_manifest
from evidence_cli.manifest import TamperedManifest, read_manifest, seal_value
from evidence_cli.models import VerifyEntry
from evidence_cli.verify import VerifySummary, verify
from tests.custody import AWKWARD, flip_one_byte, make_tree, write_manifest


@pytest.fixture
def case(tmp_path: Path) -> tuple[Path, Path]:
    """(evidence tree, its sealed manifest), the manifest outside the tree."""
    tree = make_tree(tmp_path / "evidence")
    manifest = tmp_path / "case" / "manifest.json"
    manifest.parent.mkdir()
    write_manifest(tree, manifest)
    return tree, manifest


def run(manifest: Path, root: Path | None = None, **kw: Any) -> tuple[list[VerifyEntry], VerifySummary]:
    m = read_manifest(str(manifest))
    summary = VerifySummary(len(m.entries))
    entries = []
    for e in verify(m, str(root) if root else None, **kw):
        summary.add(e)
        entries.append(e)
    # Unambiguous counts: each manifest entry once, each disk-only path once.
    assert summary.in_manifest == summary.manifest_entries
    assert sum(summary.by_status.values()) == summary.manifest_entries + summary.not_in_manifest
    return entries, summary


def not_ok(entries: list[VerifyEntry]) -> dict[str, VerifyEntry]:
    return {e.path: e for e in entries if e.status != "ok"}


def p(tree: Path, rel: bytes) -> bytes:
    return os.path.join(os.fsencode(tree), rel)


def test_untouched_evidence_is_all_ok_from_any_folder(
    case: tuple[Path, Path], tmp_path: Path, monkeypatch: Any
) -> None:
    tree, manifest = case
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    entries, summary = run(manifest)
    assert summary.all_ok, not_ok(entries)
    assert summary.by_status["ok"] == summary.manifest_entries == len(AWKWARD) + 4
    statuses = {e.path: (e.status, e.note) for e in entries}
    assert statuses["a-fifo"] == ("ok", "FIFO: type checked, never opened")
    assert statuses["link-outside"][0] == "ok"
    assert summary.to_dict()["by_status"] == {
        "ok": summary.manifest_entries,
        "modified": 0,
        "missing": 0,
        "moved": 0,
        "new": 0,
        "unreadable": 0,
    }


def test_moved_evidence_verifies_with_root(case: tuple[Path, Path], tmp_path: Path) -> None:
    tree, manifest = case
    moved = tmp_path / "copy-on-another-disk"
    os.rename(tree, moved)
    m = read_manifest(str(manifest))
    with pytest.raises(ManifestError, match="--root"):
        verify(m)
    entries, summary = run(manifest, moved)
    assert summary.all_ok, not_ok(entries)


def test_one_byte_changed_with_size_and_mtime_restored_is_modified(case: tuple[Path, Path]) -> None:
    tree, manifest = case
    target = p(tree, b"bad-\xff\xfe-latin1.bin")
    before = os.stat(target)
    flip_one_byte(target, 3)
    after = os.stat(target)
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    entries, summary = run(manifest)
    bad = not_ok(entries)
    assert list(bad) == ["bad-\\xff\\xfe-latin1.bin"]
    e = bad["bad-\\xff\\xfe-latin1.bin"]
    assert e.status == "modified" and e.in_manifest
    assert e.path_bytes == "YmFkLf/+LWxhdGluMS5iaW4="
    assert e.changed == ("md5", "sha1", "sha256")
    assert e.expected["size"] == e.actual["size"] == before.st_size
    assert e.expected["hashes"] != e.actual["hashes"]
    assert not summary.all_ok and summary.by_status["modified"] == 1


def test_deleted_is_missing(case: tuple[Path, Path]) -> None:
    tree, manifest = case
    os.remove(p(tree, b"new\nline.txt"))
    entries, summary = run(manifest)
    assert {k: v.status for k, v in not_ok(entries).items()} == {"new\nline.txt": "missing"}
    assert summary.to_dict()["manifest_entries_by_status"]["missing"] == 1


def test_added_is_new_with_its_digests(case: tuple[Path, Path]) -> None:
    tree, manifest = case
    (tree / "photos" / "planted.jpg").write_bytes(b"planted")
    entries, summary = run(manifest)
    bad = not_ok(entries)
    assert {k: v.status for k, v in bad.items()} == {"photos/planted.jpg": "new"}
    e = bad["photos/planted.jpg"]
    assert not e.in_manifest and e.kind == "file"
    assert e.actual["size"] == 7 and len(e.actual["hashes"]["sha256"]) == 64
    assert summary.not_in_manifest == 1 and summary.to_dict()["not_in_manifest_by_status"] == {
        "new": 1,
        "unreadable": 0,
    }


def test_renamed_is_moved_not_missing_plus_new(case: tuple[Path, Path]) -> None:
    tree, manifest = case
    os.rename(p(tree, b"tab\there.txt"), p(tree, b"photos/deep/tab moved.txt"))
    entries, summary = run(manifest)
    bad = not_ok(entries)
    assert list(bad) == ["tab\there.txt"]
    e = bad["tab\there.txt"]
    assert (e.status, e.moved_to, e.in_manifest) == ("moved", "photos/deep/tab moved.txt", True)
    assert summary.by_status["new"] == 0 and summary.by_status["moved"] == 1


def test_an_identical_copy_already_in_the_manifest_never_hides_a_missing_file(case: tuple[Path, Path]) -> None:
    tree, manifest = case
    os.remove(p(tree, b"dup/a.txt"))  # dup/b.txt, identical, is still there and in the manifest
    entries, _ = run(manifest)
    assert {k: v.status for k, v in not_ok(entries).items()} == {"dup/a.txt": "missing"}


def test_two_missing_identical_files_and_one_new_copy(case: tuple[Path, Path]) -> None:
    tree, manifest = case
    os.rename(p(tree, b"dup/a.txt"), p(tree, b"dup/c.txt"))
    os.remove(p(tree, b"dup/b.txt"))
    entries, summary = run(manifest)
    assert {k: (v.status, v.moved_to) for k, v in not_ok(entries).items()} == {
        "dup/a.txt": ("moved", "dup/c.txt"),
        "dup/b.txt": ("missing", None),
    }
    assert summary.by_status["new"] == 0


def test_a_renamed_and_changed_file_is_missing_plus_new(case: tuple[Path, Path]) -> None:
    tree, manifest = case
    os.rename(p(tree, b"plain.txt"), p(tree, b"plain2.txt"))
    flip_one_byte(p(tree, b"plain2.txt"))
    entries, _ = run(manifest)
    assert {k: v.status for k, v in not_ok(entries).items()} == {"plain.txt": "missing", "plain2.txt": "new"}


def test_tampered_manifest_stops_before_anything_is_hashed(
    case: tuple[Path, Path], tmp_path: Path, monkeypatch: Any
) -> None:
    _, manifest = case
    doc = json.loads(manifest.read_text(encoding="utf-8"))
    rec = next(r for r in doc["files"] if r["path"] == "plain.txt")
    rec["hashes"]["sha256"] = "0" * 64
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(doc), encoding="utf-8")

    def no_hashing(*a: Any, **k: Any) -> None:
        raise AssertionError("nothing may be hashed for a tampered manifest")

    monkeypatch.setattr(hashing, "hash_fd", no_hashing)
    monkeypatch.setattr(verify_mod, "walk", no_hashing)
    with pytest.raises(TamperedManifest):
        verify(read_manifest(str(tampered)))


def test_unreadable_file(case: tuple[Path, Path], monkeypatch: Any) -> None:
    tree, manifest = case
    real_open = hashing.open_readonly
    target = p(tree, b"photos/IMG_0001.jpg")

    def refusing(path: bytes | str) -> int:
        if os.fsencode(path) == target:
            raise PermissionError(13, "Permission denied")
        return real_open(path)

    monkeypatch.setattr(hashing, "open_readonly", refusing)
    entries, summary = run(manifest)
    bad = not_ok(entries)
    assert list(bad) == ["photos/IMG_0001.jpg"]
    e = bad["photos/IMG_0001.jpg"]
    assert e.status == "unreadable" and e.problems[0].type == "PermissionError"
    assert summary.to_dict()["manifest_entries_by_status"]["unreadable"] == 1


def test_a_folder_that_cannot_be_listed(case: tuple[Path, Path], monkeypatch: Any) -> None:
    tree, manifest = case
    from evidence_cli import walker

    real_list = walker._list
    locked = p(tree, b"photos")

    def refusing(d: bytes, *args: Any) -> Any:
        if d == locked:
            raise PermissionError(13, "Permission denied")
        return real_list(d, *args)

    monkeypatch.setattr(walker, "_list", refusing)
    entries, summary = run(manifest)
    bad = not_ok(entries)
    assert (bad["photos"].status, bad["photos"].in_manifest) == ("unreadable", False)
    for inside in ("photos/IMG_0001.jpg", "photos/IMG_0002.jpg", "photos/deep/er/note.txt"):
        assert (bad[inside].status, bad[inside].in_manifest) == ("unreadable", True)
        assert "cannot be listed" in (bad[inside].note or "")
    assert len(bad) == 4
    assert summary.to_dict()["not_in_manifest_by_status"]["unreadable"] == 1
    assert summary.to_dict()["manifest_entries_by_status"]["unreadable"] == 3


def test_never_follows_symlinks_and_never_opens_fifos(case: tuple[Path, Path], monkeypatch: Any) -> None:
    tree, manifest = case
    opened: list[bytes] = []
    real_open = hashing.open_readonly

    def recording(path: bytes | str) -> int:
        opened.append(os.fsencode(path))
        return real_open(path)

    monkeypatch.setattr(hashing, "open_readonly", recording)
    # A symlink retargeted, and a new one pointing out of the tree.
    os.remove(p(tree, b"link-to-plain"))
    os.symlink(b"dup/a.txt", p(tree, b"link-to-plain"))
    os.symlink(b"/etc", p(tree, b"link-to-etc"))
    entries, _ = run(manifest)
    bad = not_ok(entries)
    assert bad["link-to-plain"].status == "modified" and bad["link-to-plain"].changed == ("link_target",)
    assert bad["link-to-plain"].actual["link_target"] == "dup/a.txt"
    assert bad["link-to-etc"].status == "new" and bad["link-to-etc"].kind == "symlink"
    names = {os.path.basename(o) for o in opened}
    assert b"a-fifo" not in names and b"link-to-plain" not in names and b"link-to-etc" not in names
    assert all(not o.startswith(b"/etc") for o in opened)


def test_a_file_replaced_by_a_folder_or_a_fifo_is_modified(case: tuple[Path, Path]) -> None:
    tree, manifest = case
    os.remove(p(tree, b"plain.txt"))
    os.mkdir(p(tree, b"plain.txt"))
    os.remove(p(tree, b"empty"))
    os.mkfifo(p(tree, b"empty"))
    entries, _ = run(manifest)
    bad = not_ok(entries)
    assert (bad["plain.txt"].status, bad["plain.txt"].changed, bad["plain.txt"].actual["kind"]) == (
        "modified",
        ("kind",),
        "directory",
    )
    assert (bad["empty"].status, bad["empty"].actual["kind"]) == ("modified", "other")


def test_a_file_that_changes_while_it_is_read_is_unreadable(case: tuple[Path, Path], monkeypatch: Any) -> None:
    tree, manifest = case
    target = p(tree, b"plain.txt")
    real_hash = hashing.hash_fd

    def growing(fd: int, *a: Any, **k: Any) -> Any:
        result = real_hash(fd, *a, **k)
        if os.fstat(fd).st_ino == os.lstat(target).st_ino:
            with open(target, "ab") as fh:
                fh.write(b"more")
        return result

    monkeypatch.setattr(hashing, "hash_fd", growing)
    entries, _ = run(manifest)
    e = not_ok(entries)["plain.txt"]
    assert e.status == "unreadable" and e.problems[0].type == "ChangedDuringVerify"


def test_unsealed_manifest_needs_allow_unsealed(case: tuple[Path, Path], tmp_path: Path) -> None:
    _, manifest = case
    doc = json.loads(manifest.read_text(encoding="utf-8"))
    del doc["seal"]
    unsealed = tmp_path / "unsealed.json"
    unsealed.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ManifestError, match="no seal"):
        verify(read_manifest(str(unsealed)))
    entries, summary = run(unsealed, allow_unsealed=True)
    assert summary.all_ok


def test_a_file_unreadable_at_scan_time_cannot_be_verified(case: tuple[Path, Path], tmp_path: Path) -> None:
    _, manifest = case
    doc = json.loads(manifest.read_text(encoding="utf-8"))
    rec = next(r for r in doc["files"] if r["path"] == "plain.txt")
    rec["hashes"] = {}
    doc["seal"]["value"] = seal_value(doc)
    resealed = tmp_path / "m2.json"
    resealed.write_text(json.dumps(doc), encoding="utf-8")
    entries, _ = run(resealed)
    e = not_ok(entries)["plain.txt"]
    assert e.status == "unreadable" and "no digest" in (e.note or "")


def test_multi_root_scan_walks_only_what_was_scanned(tmp_path: Path) -> None:
    base = tmp_path / "base"
    (base / "a").mkdir(parents=True)
    (base / "b").mkdir()
    (base / "not-scanned").mkdir()
    (base / "a" / "x").write_bytes(b"x")
    (base / "b" / "y").write_bytes(b"y")
    (base / "not-scanned" / "z").write_bytes(b"z")
    manifest = tmp_path / "m.json"
    doc = write_manifest(base, manifest, paths=[base / "b", base / "a"])
    assert doc["scan"]["root"] == str(base) and len(doc["files"]) == 2
    m = read_manifest(str(manifest))
    assert m.roots == (b"a", b"b")
    entries, summary = run(manifest)
    assert summary.all_ok, not_ok(entries)
    shutil.rmtree(base / "b")
    entries, _ = run(manifest)
    assert {k: v.status for k, v in not_ok(entries).items()} == {"b/y": "missing"}


# --- plain hash lists as manifests -------------------------------------------------------


def _export(manifest: Path, fmt: ExportFormat, out: Path) -> Path:
    with open(out, "wb") as fh:
        export_manifest(read_manifest(str(manifest)), fmt, fh)
    return out


def test_a_sha256sum_list_needs_a_root_and_is_not_sealed(case: tuple[Path, Path], tmp_path: Path) -> None:
    tree, manifest = case
    lst = _export(manifest, ExportFormat.SHA256SUM, tmp_path / "SHA256SUMS")
    m = read_manifest(str(lst))
    assert m.seal.status == "not-sealed"
    with pytest.raises(ManifestError, match="--root"):
        verify(m)
    entries, summary = run(lst, tree)
    # Symlinks and the FIFO are not in a hash list: on disk only, so new.
    assert {k: v.status for k, v in not_ok(entries).items()} == {
        "a-fifo": "new",
        "link-outside": "new",
        "link-to-plain": "new",
    }
    assert summary.by_status["ok"] == summary.manifest_entries == len(AWKWARD) + 1


def test_a_hashdeep_file_knows_its_root(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "ev", newline=False, specials=False)
    manifest = tmp_path / "m.json"
    write_manifest(tree, manifest)
    hd = _export(manifest, ExportFormat.HASHDEEP, tmp_path / "known.hashdeep")
    entries, summary = run(hd)
    assert summary.all_ok, not_ok(entries)
    flip_one_byte(p(tree, b"comma,name.txt"))
    entries, _ = run(hd)
    assert {k: (v.status, v.changed) for k, v in not_ok(entries).items()} == {
        "comma,name.txt": ("modified", ("md5", "sha1", "sha256"))
    }


def test_a_hash_list_inside_the_root_is_not_reported_as_new(case: tuple[Path, Path], tmp_path: Path) -> None:
    tree, manifest = case
    for special in (b"a-fifo", b"link-outside", b"link-to-plain"):
        os.remove(p(tree, special))
    lst = _export(manifest, ExportFormat.MD5SUM, tree / "MD5SUMS")
    st = os.stat(lst)
    entries, summary = run(lst, tree, exclude=[(st.st_dev, st.st_ino)])
    assert summary.all_ok, not_ok(entries)


def test_thousands_of_identical_files_moved(tmp_path: Path) -> None:
    """Many files of one content (empty files, a sticker saved a thousand times) moved:
    each manifest entry is paired with a new file in order, each new file used once.
    Skipping the files already paired, again for every entry, took time squared (15 s
    for 20,000 empty files)."""
    tree = tmp_path / "ev"
    tree.mkdir()
    n = 3000
    for i in range(n):
        (tree / f"e{i:05d}.dat").write_bytes(b"")
    (tree / "other.txt").write_text("different")
    manifest = tmp_path / "m.json"
    write_manifest(tree, manifest)
    for i in range(n):
        (tree / f"e{i:05d}.dat").rename(tree / f"r{i:05d}.dat")
    entries, summary = run(manifest)
    moved = [e for e in entries if e.status == "moved"]
    assert [(e.path, e.moved_to) for e in moved] == [(f"e{i:05d}.dat", f"r{i:05d}.dat") for i in range(n)]
    assert summary.to_dict()["manifest_entries_by_status"] == {
        "ok": 1,
        "modified": 0,
        "missing": 0,
        "moved": n,
        "unreadable": 0,
    }
    assert not any(e.status == "new" for e in entries)


# --- modification times: content the same, handling shown -------------------------------


def test_untouched_files_carry_their_recorded_and_current_mtime(case: tuple[Path, Path]) -> None:
    tree, manifest = case
    entries, summary = run(manifest)
    plain = next(e for e in entries if e.path == "plain.txt")
    recorded = json.loads(manifest.read_text(encoding="utf-8"))
    rec = next(r for r in recorded["files"] if r["path"] == "plain.txt")
    assert plain.expected["fs_modified"] == plain.actual["fs_modified"] == rec["filesystem"]["modified"]
    assert plain.note is None and not verify_mod.other_mtime(plain)
    assert summary.ok_other_mtime == 0 and summary.to_dict()["ok_with_other_fs_modified"] == 0


def test_a_touched_file_stays_ok_with_its_two_mtimes_said(case: tuple[Path, Path]) -> None:
    tree, manifest = case
    os.utime(tree / "plain.txt", ns=(1_000_000_000, 1_600_000_000_123_000_000))
    entries, summary = run(manifest)
    e = next(e for e in entries if e.path == "plain.txt")
    assert e.status == "ok" and e.changed == ()
    assert e.actual["fs_modified"] == "2020-09-13T12:26:40.123Z"
    assert e.expected["fs_modified"] != e.actual["fs_modified"]
    assert verify_mod.other_mtime(e)
    assert e.note is not None and "content unchanged" in e.note and "2020-09-13T12:26:40.123Z" in e.note
    # The content's integrity holds: the verification passes, the count says what was seen.
    assert summary.all_ok
    assert summary.ok_other_mtime == 1 and summary.to_dict()["ok_with_other_fs_modified"] == 1
    others = [x.path for x in entries if verify_mod.other_mtime(x)]
    assert others == ["plain.txt"]


def test_a_modified_or_new_file_gives_its_mtime_now(case: tuple[Path, Path]) -> None:
    tree, manifest = case
    (tree / "plain.txt").write_bytes(b"rewritten\n")
    os.utime(tree / "plain.txt", ns=(0, 1_700_000_000_000_000_000))
    (tree / "added.txt").write_bytes(b"new\n")
    os.utime(tree / "added.txt", ns=(0, 1_700_000_001_000_000_000))
    entries, summary = run(manifest)
    bad = not_ok(entries)
    assert bad["plain.txt"].status == "modified" and bad["plain.txt"].actual["fs_modified"] == "2023-11-14T22:13:20Z"
    assert bad["added.txt"].status == "new" and bad["added.txt"].actual["fs_modified"] == "2023-11-14T22:13:21Z"
    assert not any(verify_mod.other_mtime(e) for e in entries)  # only ok files count as such
    assert summary.ok_other_mtime == 0


def test_lists_without_times_compare_content_only(case: tuple[Path, Path], tmp_path: Path) -> None:
    tree, manifest = case
    lst = _export(manifest, ExportFormat.SHA256SUM, tmp_path / "SHA256SUMS")
    os.utime(tree / "plain.txt", ns=(0, 1_600_000_000_000_000_000))
    entries, summary = run(lst, tree)
    plain = next(e for e in entries if e.path == "plain.txt")
    assert plain.status == "ok" and "fs_modified" not in plain.expected and plain.note is None
    assert summary.ok_other_mtime == 0


@pytest.mark.parametrize(
    "value",
    ["\x1b[31m2020-01-01T00:00:00Z", "2020-01-01 00:00:00", "2020-01-01T00:00:00+00:00", 1600000000, None, "9" * 5000],
)
def test_a_recorded_mtime_not_in_this_tools_form_is_not_compared(
    case: tuple[Path, Path], tmp_path: Path, value: object
) -> None:
    """A hand-made or hostile manifest's time is never echoed nor taken for a change."""
    tree, manifest = case
    doc = json.loads(manifest.read_text(encoding="utf-8"))
    rec = next(r for r in doc["files"] if r["path"] == "plain.txt")
    rec["filesystem"]["modified"] = value
    doc["seal"]["value"] = seal_value(doc)
    resealed = tmp_path / "m2.json"
    resealed.write_text(json.dumps(doc), encoding="utf-8")
    entries, summary = run(resealed)
    plain = next(e for e in entries if e.path == "plain.txt")
    assert plain.status == "ok" and "fs_modified" not in plain.expected and plain.note is None
    assert summary.all_ok and summary.ok_other_mtime == 0
