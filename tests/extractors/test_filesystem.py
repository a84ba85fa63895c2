"""Filesystem extractor: identity and ownership from the pre-read stat, never a new one."""

from __future__ import annotations

import json
import os
import stat as stat_mod
from pathlib import Path

import pytest

from evidence_cli.extractors import for_type
from evidence_cli.extractors.base import FileContext
from evidence_cli.extractors.filesystem import FilesystemExtractor
from evidence_cli.models import FileType
from tests.builders import file_context, jpeg_bytes, scan_one, truncate

FS = FilesystemExtractor()


def real_context(path: Path) -> FileContext:
    st = os.lstat(path)
    data = path.read_bytes()
    return FileContext(
        path=os.fsencode(path),
        rel_path=path.name,
        stat=st,
        file_type=FileType(mime="application/octet-stream", description=None, extension_ok=None),
        head=data[:65536],
        content=data,
    )


def fake_stat(
    mode: int, *, ino: int = 7, dev: int = 9, nlink: int = 1, uid: int = 1000, gid: int = 100
) -> os.stat_result:
    """A stat result with chosen identity fields (size and times 0)."""
    return os.stat_result((mode, ino, dev, nlink, uid, gid, 0, 0, 0, 0))


def _ctx(st: os.stat_result, data: bytes = b"data", name: str = "x.bin") -> FileContext:
    """A FileContext over in-memory bytes with the given stat."""
    base = file_context(data, name)
    return FileContext(
        path=base.path, rel_path=base.rel_path, stat=st, file_type=base.file_type, head=base.head, content=base.content
    )


def test_good_file(tmp_path: Path) -> None:
    p = tmp_path / "photo.jpg"
    p.write_bytes(jpeg_bytes())
    p.chmod(0o640)
    st = os.lstat(p)
    ex = FS.extract(real_context(p))
    assert ex.extractor == ex.group == "filesystem"
    assert dict(ex.tags) == {
        "mode": "0640",
        "mode_text": "-rw-r-----",
        "uid": st.st_uid,
        "gid": st.st_gid,
        "inode": st.st_ino,
        "device": st.st_dev,
        "links": 1,
    }
    assert (ex.timestamps, ex.gps, ex.device, ex.problems) == ((), None, None, ())
    json.dumps(dict(ex.tags))  # JSON-safe


def test_hard_links_are_counted(tmp_path: Path) -> None:
    p = tmp_path / "a.txt"
    p.write_bytes(b"x")
    os.link(p, tmp_path / "b.txt")
    assert FS.extract(real_context(p)).tags["links"] == 2


@pytest.mark.parametrize(
    ("mode", "octal", "text"),
    [
        (stat_mod.S_IFREG | 0o4755, "4755", "-rwsr-xr-x"),
        (stat_mod.S_IFREG | 0o2750, "2750", "-rwxr-s---"),
        (stat_mod.S_IFREG | 0o1777, "1777", "-rwxrwxrwt"),
        (stat_mod.S_IFREG | 0o000, "0000", "----------"),
    ],
)
def test_special_permission_bits(mode: int, octal: str, text: str) -> None:
    ex = FS.extract(_ctx(fake_stat(mode)))
    assert (ex.tags["mode"], ex.tags["mode_text"]) == (octal, text)


def test_uses_the_given_stat_and_never_the_disk(tmp_path: Path) -> None:
    # The path does not exist: the extractor must not stat or open it.
    missing = tmp_path / "gone.jpg"
    st = fake_stat(stat_mod.S_IFREG | 0o600, ino=123456789, dev=42, nlink=3, uid=501, gid=20)
    ctx = FileContext(
        path=os.fsencode(missing),
        rel_path="gone.jpg",
        stat=st,
        file_type=FileType(mime="image/jpeg", description=None, extension_ok=True),
        head=b"",
    )
    ex = FS.extract(ctx)
    assert dict(ex.tags) == {
        "mode": "0600",
        "mode_text": "-rw-------",
        "uid": 501,
        "gid": 20,
        "inode": 123456789,
        "device": 42,
        "links": 3,
    }
    assert ex.problems == ()


# --- wrong type: runs for every regular file, whatever its content ----------------------


@pytest.mark.parametrize("mime", [None, "text/plain", "application/octet-stream", "image/jpeg", "video/mp4"])
def test_runs_for_every_type(mime: str | None) -> None:
    assert "filesystem" in [e.name for e in for_type(mime)]


def test_content_type_does_not_matter() -> None:
    st = fake_stat(stat_mod.S_IFREG | 0o644)
    as_text = FS.extract(_ctx(st, b"plain text\n", "notes.txt"))
    as_image = FS.extract(_ctx(st, jpeg_bytes(), "photo.jpg"))
    assert as_text.tags == as_image.tags
    assert as_text.problems == as_image.problems == ()


# --- damaged: content damage is not the filesystem's business ---------------------------


@pytest.mark.parametrize("data", [truncate(jpeg_bytes(), 7), b"\x00" * 3, bytes(range(256)) * 4])
def test_damaged_content_gives_the_same_identity(data: bytes) -> None:
    st = fake_stat(stat_mod.S_IFREG | 0o644, ino=5)
    ex = FS.extract(_ctx(st, data, "broken.jpg"))
    assert ex.problems == ()
    assert (ex.tags["mode"], ex.tags["inode"]) == ("0644", 5)


def test_extreme_stat_values_stay_exact() -> None:
    st = fake_stat(stat_mod.S_IFREG | 0o644, ino=2**64 - 1, dev=2**63, nlink=0, uid=2**32 - 2, gid=2**32 - 2)
    ex = FS.extract(_ctx(st))
    assert (ex.tags["inode"], ex.tags["device"], ex.tags["links"], ex.tags["uid"]) == (2**64 - 1, 2**63, 0, 2**32 - 2)
    assert ex.problems == ()


def test_through_the_scanner(tmp_path: Path) -> None:
    rec = scan_one(tmp_path, "evidence.bin", b"\x00\x01garbage")
    st = os.lstat(tmp_path / "evidence.bin")
    assert rec.metadata["filesystem"]["inode"] == st.st_ino
    assert rec.metadata["filesystem"]["mode"] == f"{stat_mod.S_IMODE(st.st_mode):04o}"
    assert not [e for e in rec.errors if e.stage == "metadata:filesystem"]
