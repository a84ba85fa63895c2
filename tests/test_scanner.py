"""The pipeline: change detection, swapped entries, isolated extractors, precedence, read-only."""

from __future__ import annotations

import io
import os
import signal
import stat
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from evidence_cli import hashing, scanner
from evidence_cli.errors import UnsupportedFile
from evidence_cli.extractors import base
from evidence_cli.extractors.base import FileContext
from evidence_cli.hashing import hash_bytes
from evidence_cli.models import Device, Extraction, FileRecord, GeoPoint, Timestamp
from evidence_cli.scanner import (
    CAPTURE_PRECEDENCE,
    SOURCE_PRECEDENCE,
    ScanOptions,
    merge_device,
    merge_gps,
    pick_captured,
    process_entries,
    process_entry,
    scan,
)
from evidence_cli.walker import resolve_roots, walk
from tests.blocking import run_with_timeout


def one(path: Path, **opts: Any) -> FileRecord:
    recs = run_with_timeout(lambda: list(scan([str(path)], ScanOptions(**opts))))
    assert len(recs) == 1
    return recs[0]


def jpeg_with_exif() -> bytes:
    img = Image.new("RGB", (8, 8), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "TestMake"
    exif[0x0110] = "TestModel"
    exif.get_ifd(0x8769)[0x9003] = "2019:05:01 13:45:10"
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif.tobytes())
    return buf.getvalue()


# --- a file that changes while it is read ----------------------------------------------


def test_file_growing_during_the_read_is_flagged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "growing.log"
    f.write_bytes(b"line 1\n")
    real = hashing.hash_fd

    def hash_while_appending(fd: int, *a: Any, **kw: Any) -> Any:
        with open(f, "ab") as fh:  # someone writes while we read
            fh.write(b"line 2\n")
        return real(fd, *a, **kw)

    monkeypatch.setattr(hashing, "hash_fd", hash_while_appending)
    r = one(f)
    assert [(e.stage, e.severity, e.type) for e in r.errors] == [("hash", "error", "ChangedDuringScan")]
    assert [(x.code, x.severity) for x in r.findings] == [("changed-during-scan", "warning")]
    assert r.size == 14, "the record tells what was actually read"
    assert r.hashes == hash_bytes(b"line 1\nline 2\n")


def test_file_touched_during_the_read_is_flagged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "touched.txt"
    f.write_bytes(b"same size")
    real = hashing.hash_fd

    def hash_then_touch(fd: int, *a: Any, **kw: Any) -> Any:
        result = real(fd, *a, **kw)
        st = os.stat(f)
        os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
        return result

    monkeypatch.setattr(hashing, "hash_fd", hash_then_touch)
    r = one(f)
    assert "ChangedDuringScan" in [e.type for e in r.errors]
    assert "changed-during-scan" in [x.code for x in r.findings]


def test_unchanged_file_is_not_flagged(tmp_path: Path) -> None:
    f = tmp_path / "still.txt"
    f.write_bytes(b"still")
    r = one(f)
    assert r.errors == () and r.findings == ()
    assert r.hashes == hash_bytes(b"still")


# --- an entry swapped between the walk and the read -------------------------------------


def walked(tmp_path: Path, name: str) -> Any:
    entries = [e for e in walk(resolve_roots([str(tmp_path)])) if e.rel == name.encode()]
    assert len(entries) == 1
    return entries[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_file_replaced_by_a_fifo_is_an_error_not_a_hang(tmp_path: Path) -> None:
    f = tmp_path / "swap"
    f.write_bytes(b"original")
    entry = walked(tmp_path, "swap")
    f.unlink()
    os.mkfifo(f)
    r = run_with_timeout(lambda: process_entry(entry, ScanOptions()))
    assert r.kind == "file" and r.hashes == {}
    assert [(e.stage, e.severity, e.type) for e in r.errors] == [("hash", "error", "ChangedDuringScan")]
    assert "replaced" in r.errors[0].message


def test_file_replaced_by_a_symlink_is_not_followed(tmp_path: Path) -> None:
    f = tmp_path / "swap"
    f.write_bytes(b"original")
    (tmp_path / "other").write_bytes(b"other content")
    entry = walked(tmp_path, "swap")
    f.unlink()
    f.symlink_to("other")
    r = process_entry(entry, ScanOptions())
    assert r.hashes == {}
    assert [(e.stage, e.severity) for e in r.errors] == [("hash", "error")]


def test_file_replaced_by_another_file_is_an_error(tmp_path: Path) -> None:
    f = tmp_path / "swap"
    f.write_bytes(b"original")
    entry = walked(tmp_path, "swap")
    (tmp_path / "new").write_bytes(b"impostor")
    os.replace(tmp_path / "new", f)
    r = process_entry(entry, ScanOptions())
    assert r.hashes == {}
    assert [e.type for e in r.errors] == ["ChangedDuringScan"]


def test_file_deleted_before_the_read(tmp_path: Path) -> None:
    f = tmp_path / "gone"
    f.write_bytes(b"x")
    entry = walked(tmp_path, "gone")
    f.unlink()
    r = process_entry(entry, ScanOptions())
    assert [(e.stage, e.type) for e in r.errors] == [("hash", "FileNotFoundError")]


# --- extractors are isolated ----------------------------------------------------------


class Boom:
    name = "boom"
    description = "raises whatever it is told to"
    mime_types: frozenset[str] = frozenset()

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
        self.calls = 0

    def extract(self, ctx: FileContext) -> Extraction:
        self.calls += 1
        raise self.exc


@pytest.mark.parametrize(
    ("exc", "severity", "type_name"),
    [
        (RuntimeError("kaput"), "error", "RuntimeError"),
        (ValueError("bad value"), "error", "ValueError"),
        (RecursionError("too deep"), "error", "RecursionError"),
        (MemoryError("too big"), "error", "MemoryError"),
        (UnsupportedFile("not mine"), "warning", "UnsupportedFile"),
    ],
)
def test_an_extractor_that_raises_becomes_an_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exc: BaseException, severity: str, type_name: str
) -> None:
    boom = Boom(exc)
    monkeypatch.setitem(base._REGISTRY, "boom", boom)
    (tmp_path / "a.txt").write_text("first")
    (tmp_path / "b.txt").write_text("second")
    recs = run_with_timeout(lambda: list(scan([str(tmp_path)])))
    assert [r.path for r in recs] == ["a.txt", "b.txt"], "the scan went on"
    assert boom.calls == 2
    for r in recs:
        mine = [e for e in r.errors if e.stage == "metadata:boom"]
        assert [(e.severity, e.type) for e in mine] == [(severity, type_name)]
        assert str(exc) in mine[0].message
        assert "filesystem" in r.metadata, "the other extractors still ran"
        assert r.hashes


def test_no_metadata_runs_no_extractor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    boom = Boom(RuntimeError("must not run"))
    monkeypatch.setitem(base._REGISTRY, "boom", boom)
    (tmp_path / "a.txt").write_text("plain text, long enough for libmagic\n")
    r = one(tmp_path / "a.txt", metadata=False)
    assert boom.calls == 0 and r.metadata == {} and r.errors == ()
    assert r.mime == "text/plain" and r.hashes


def test_metadata_from_a_real_jpeg(tmp_path: Path) -> None:
    f = tmp_path / "photo.jpg"
    f.write_bytes(jpeg_with_exif())
    r = one(f)
    assert r.mime == "image/jpeg" and r.extension_ok is True
    assert (r.device.make, r.device.model, r.device.source) == ("TestMake", "TestModel", "exif")
    assert r.captured is not None
    assert (r.captured.source, r.captured.name, r.captured.value) == ("exif", "DateTimeOriginal", "2019-05-01T13:45:10")
    assert r.image is not None and (r.image["width"], r.image["height"]) == (8, 8)
    assert not [e for e in r.errors if e.severity == "error"]


def test_extension_mismatch_is_a_finding(tmp_path: Path) -> None:
    f = tmp_path / "holiday.png"
    f.write_bytes(jpeg_with_exif())
    r = one(f)
    assert r.extension_ok is False
    finding = [x for x in r.findings if x.code == "extension-mismatch"]
    assert len(finding) == 1
    assert finding[0].evidence == {"extension": "png", "mime": "image/jpeg"}


def test_empty_file(tmp_path: Path) -> None:
    f = tmp_path / "empty.jpg"
    f.write_bytes(b"")
    r = one(f)
    assert (r.size, r.mime, r.extension_ok) == (0, "inode/x-empty", None)
    assert r.hashes == hash_bytes(b"")
    assert r.errors == () and r.metadata == {}


# --- precedence ------------------------------------------------------------------------


def t(source: str, name: str, value: str = "2019-05-01T13:45:10") -> Timestamp:
    return Timestamp(name=name, source=source, value=value, utc=None, raw=value)


@pytest.mark.parametrize(
    ("stamps", "expected"),
    [
        ([t("xmp", "DateTimeOriginal"), t("exif", "CreateDate"), t("exif", "DateTimeOriginal")], 2),
        ([t("exif", "CreateDate"), t("xmp", "DateTimeOriginal")], 1),
        ([t("quicktime", "CreateDate"), t("quicktime", "CreationDate")], 1),
        ([t("pdf", "CreationDate"), t("png", "CreationTime")], 1),
        ([t("exif", "ModifyDate"), t("filesystem", "FileModifyDate"), t("xmp", "ModifyDate")], None),
        ([t("exif", "GPSDateTime")], None),
        ([t("XMP", "DateTimeOriginal")], None),  # sources are exact, lowercase
        ([], None),
    ],
)
def test_pick_captured(stamps: list[Timestamp], expected: int | None) -> None:
    got = pick_captured(stamps)
    assert got is (None if expected is None else stamps[expected])


def test_pick_captured_takes_the_first_of_equal_rank() -> None:
    a, b = t("exif", "DateTimeOriginal", "2019-01-01T00:00:00"), t("exif", "DateTimeOriginal", "2020-01-01T00:00:00")
    assert pick_captured([a, b]) is a


def test_capture_precedence_is_sane() -> None:
    assert len(set(CAPTURE_PRECEDENCE)) == len(CAPTURE_PRECEDENCE)
    assert CAPTURE_PRECEDENCE[0] == ("exif", "DateTimeOriginal")
    assert not [p for p in CAPTURE_PRECEDENCE if "Modif" in p[1] or p[0] == "filesystem"], "never a modification time"
    assert len(set(SOURCE_PRECEDENCE)) == len(SOURCE_PRECEDENCE)


def test_merge_device_field_by_field() -> None:
    exif = Device(make="Canon", model=None, serial="123", source="exif")
    xmp = Device(make="Adobe", model="EOS 5D", software="Lightroom", source="xmp")
    other = Device(make="Other", lens="50mm", source="unknown-source")
    for order in ([exif, xmp, other], [other, xmp, exif], [xmp, other, exif]):
        d = merge_device(order)
        assert (d.make, d.model, d.serial, d.software, d.lens, d.source) == (
            "Canon",
            "EOS 5D",
            "123",
            "Lightroom",
            "50mm",
            "exif",
        )


def test_merge_device_skips_empty_values_and_devices() -> None:
    d = merge_device([Device(make="", source="exif"), Device(make="Nikon", source="xmp")])
    assert (d.make, d.source) == ("Nikon", "xmp")
    assert merge_device([Device(source="exif")]) == Device()


def test_merge_gps_by_source() -> None:
    exif = GeoPoint(1.0, 2.0, None, None, "exif")
    xmp = GeoPoint(3.0, 4.0, None, None, "xmp")
    odd = GeoPoint(5.0, 6.0, None, None, "odd")
    assert merge_gps([xmp, odd, exif]) is exif
    assert merge_gps([odd, xmp]) is xmp
    assert merge_gps([odd]) is odd
    assert merge_gps([]) is None


# --- the evidence is never changed -------------------------------------------------------


def snapshot(root: Path) -> dict[str, tuple[Any, ...]]:
    out: dict[str, tuple[Any, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames, "."]:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            is_link = stat.S_ISLNK(st.st_mode)
            out[os.path.relpath(p, root)] = (
                st.st_mode,
                st.st_size,
                st.st_ino,
                st.st_mtime_ns,
                st.st_ctime_ns,
                # Reading a link's target updates its access time in the kernel (readlink
                # has no O_NOATIME); every other access time must stay.
                None if is_link else st.st_atime_ns,
            )
    return out


def contents(root: Path) -> dict[str, bytes]:
    out = {}
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            p = os.path.join(dirpath, name)
            if stat.S_ISREG(os.lstat(p).st_mode):
                with open(p, "rb") as fh:
                    out[os.path.relpath(p, root)] = fh.read()
    return out


@pytest.mark.skipif(not getattr(os, "O_NOATIME", 0), reason="access times are only kept with O_NOATIME")
def test_the_evidence_tree_is_unchanged_after_a_scan(tmp_path: Path) -> None:
    tree = tmp_path / "evidence"
    (tree / "DCIM" / "sub").mkdir(parents=True)
    (tree / "DCIM" / "IMG_0001.jpg").write_bytes(jpeg_with_exif())
    Image.new("RGB", (4, 4)).save(tree / "DCIM" / "sub" / "shot.png")
    (tree / "chat.txt").write_text("hello\n")
    (tree / "empty").write_bytes(b"")
    (tree / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    (tree / "link").symlink_to("chat.txt")
    # Access times older than modification times: a plain read would update them,
    # even on a relatime mount; folders too (listing one reads it).
    for dirpath, dirnames, filenames in os.walk(tree):
        for name in [*dirnames, *filenames, "."]:
            p = os.path.join(dirpath, name)
            if not os.path.islink(p):
                os.utime(p, ns=(1_000_000_000, 2_000_000_000))
    before_bytes = contents(tree)
    for dirpath, _, filenames in os.walk(tree):  # reading them above moved their atimes
        for name in [*filenames, "."]:
            p = os.path.join(dirpath, name)
            if not os.path.islink(p):
                os.utime(p, ns=(1_000_000_000, 2_000_000_000))
    before = snapshot(tree)

    recs = run_with_timeout(lambda: list(scan([str(tree)], ScanOptions(keep_limit=1024 * 1024))))

    assert snapshot(tree) == before, "no time, size, mode or entry of the evidence changed"
    assert contents(tree) == before_bytes
    assert {r.path for r in recs} == {"DCIM/IMG_0001.jpg", "DCIM/sub/shot.png", "big.bin", "chat.txt", "empty", "link"}
    big = next(r for r in recs if r.path == "big.bin")
    assert big.hashes == hash_bytes(before_bytes["big.bin"])


def _batch_tree(root: Path) -> list[Any]:
    """Entries of every kind a batch may hold: seeds of each format (hostile metadata
    text), cut-short copies, an empty file, a symlink, a FIFO, and a file past PATH_MAX."""
    from tests.deep import make_chain
    from tests.hostile.corpus import TEXT_PAYLOADS, seed_files

    root.mkdir()
    for name, data in seed_files(TEXT_PAYLOADS["formula"]).items():
        (root / name).write_bytes(data)
        (root / f"cut-{name}").write_bytes(data[: len(data) // 3])
    (root / "empty.txt").write_bytes(b"")
    (root / "link").symlink_to("seed.jpg")
    os.mkfifo(root / "pipe")
    if os.path.isdir("/proc/self/fd"):  # (how a path past PATH_MAX is reached: Linux)
        (root / "deep").mkdir()
        make_chain(root / "deep", 25, b"d" * 200, (b"leaf.txt", b"deep below PATH_MAX\n"), 0)
    return list(walk(resolve_roots([root])))


def _same(records: list[FileRecord]) -> list[dict[str, Any]]:
    out = []
    for r in records:
        d = r.to_dict()
        d["filesystem"].pop("accessed", None)  # (reading a symlink's target sets its access time)
        out.append(d)
    return out


def test_entries_processed_together_get_the_records_made_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entries = _batch_tree(tmp_path / "ev")
    assert {e.kind for e in entries} == {"file", "symlink", "other"}
    assert any(len(e.path) > 4096 for e in entries) or not os.path.isdir("/proc/self/fd")
    options = ScanOptions()
    one_by_one = _same([process_entry(e, options) for e in entries])
    assert _same(process_entries(entries, options)) == one_by_one
    monkeypatch.setattr(scanner, "GROUP_BYTES", 1)  # a group a file
    assert _same(process_entries(entries, options)) == one_by_one


def test_entries_processed_together_are_read_then_typed_then_described(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """libmagic answers for a group of files in a row (its database stays in the caches)."""
    root = tmp_path / "ev"
    root.mkdir()
    for i in range(5):
        (root / f"n{i}.txt").write_text(f"note {i}\n")
    entries = list(walk(resolve_roots([root])))
    steps: list[str] = []

    def noting(step: str, real: Any) -> Any:
        return lambda *a, **k: steps.append(step) or real(*a, **k)

    for name, step in (("hash_entry", "read"), ("_libmagic_type", "type"), ("run_extractors", "metadata")):
        monkeypatch.setattr(scanner, name, noting(step, getattr(scanner, name)))
    records = process_entries(entries, ScanOptions())
    assert steps == ["read"] * 5 + ["type"] * 5 + ["metadata"] * 5
    assert [r.mime for r in records] == ["text/plain"] * 5
    steps.clear()
    monkeypatch.setattr(scanner, "GROUP_BYTES", 1)  # past the bound: each file on its own
    process_entries(entries, ScanOptions())
    assert steps == ["read", "type", "metadata"] * 5


def test_a_group_of_files_shares_one_timer_yet_each_reader_gets_its_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """process_entries times a group's readers with one timer, not one a file. Each reader
    still gets the whole limit: one that runs out of time is stopped on its own file alone,
    and the timer is off afterwards."""
    root = tmp_path / "ev"
    root.mkdir()
    for name in ("a", "b", "c", "d"):
        (root / f"{name}.txt").write_text(f"note {name}\n")
    ran: list[str] = []
    naps = {"a.txt": 0.6, "b.txt": 0.6, "c.txt": 5.0}  # b: past the limit if timed from a's start

    class Sleepy:
        name = "sleepy"
        description = "takes its time"
        mime_types: frozenset[str] = frozenset()

        def extract(self, ctx: Any) -> Extraction:
            ran.append(ctx.rel_path)
            time.sleep(naps.get(ctx.rel_path, 0))
            return Extraction(extractor=self.name, group=self.name, tags={"seen": ctx.rel_path})

    real = scanner.extractors.for_type
    monkeypatch.setattr(scanner.extractors, "for_type", lambda mime: (*real(mime), Sleepy()))
    entries = list(walk(resolve_roots([root])))
    records = process_entries(entries, ScanOptions(timeout=1.0))  # (in the main thread: SIGALRM)
    assert ran == ["a.txt", "b.txt", "c.txt", "d.txt"]
    late = {r.path: [(e.stage, e.type) for e in r.errors] for r in records}
    assert late == {"a.txt": [], "b.txt": [], "c.txt": [("metadata:sleepy", "TimeLimitExceeded")], "d.txt": []}
    seen = [r.metadata.get("sleepy") for r in records]
    assert seen == [{"seen": "a.txt"}, {"seen": "b.txt"}, None, {"seen": "d.txt"}]
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
