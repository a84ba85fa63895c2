"""Archive reader on TAR archives (plain, gzip, bzip2, xz) and single compressed files,
built in the test with tarfile, gzip, bz2 and lzma, or byte by byte for the damage and
the bombs: members listed, dated, typed and hashed; links that escape; damaged and
hostile headers; bounds."""

from __future__ import annotations

import bz2
import dataclasses
import gzip
import hashlib
import io
import lzma
import tarfile
from pathlib import Path
from typing import Any

import pytest

from evidence_cli.extractors import archive as archive_mod
from evidence_cli.extractors.archive import ArchiveExtractor, climbs_out
from evidence_cli.extractors.base import ARCHIVE_BYTES
from evidence_cli.filetype import detect_type
from evidence_cli.models import Extraction
from tests.builders import exif_tiff, file_context, jpeg_bytes, scan_one

ARCHIVE = ArchiveExtractor()
WHEN = 1556711400  # 2019-05-01T11:50:00Z


def tar_of(members: list[tarfile.TarInfo | tuple[str, bytes]], mode: str = "w", fmt: int = tarfile.PAX_FORMAT) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode, format=fmt) as t:  # type: ignore[call-overload]
        for m in members:
            if isinstance(m, tarfile.TarInfo):
                t.addfile(m)
                continue
            name, data = m
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), WHEN, 0o640
            info.uid, info.gid, info.uname, info.gname = 501, 20, "sam", "staff"
            t.addfile(info, io.BytesIO(data))
    return out.getvalue()


def link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mtime = kind, target, WHEN
    return info


def folder(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mtime = tarfile.DIRTYPE, WHEN - 3600
    return info


def run(data: bytes, name: str = "evidence.tar.gz", *, budget: int | None = ARCHIVE_BYTES) -> Extraction:
    return ARCHIVE.extract(dataclasses.replace(file_context(data, name), archive_bytes=budget))


def members(ex: Extraction) -> list[dict[str, Any]]:
    listed = ex.tags["members"]
    assert isinstance(listed, list)
    return listed


def test_a_gzipped_tar_lists_hashes_types_and_dates_every_member() -> None:
    photo = jpeg_bytes(exif_tiff(make="Canon", model="EOS R5", date_original="2023:06:01 14:15:16"))
    text = b"takeout notes\n"
    data = tar_of([folder("Takeout/"), ("Takeout/Photos/IMG_0001.jpg", photo), ("Takeout/notes.txt", text)], "w:gz")
    ex = run(data)
    assert ex.tags["format"] == "TAR" and ex.tags["compression"] == "gzip"
    assert (ex.tags["member_count"], ex.tags["files"], ex.tags["hashed"]) == (3, 2, 2)
    top, jpg, txt = members(ex)
    assert top["type"] == "directory" and "sha256" not in top
    for entry, content, name in ((jpg, photo, "IMG_0001.jpg"), (txt, text, "notes.txt")):
        assert entry["size"] == len(content)
        assert entry["sha256"] == hashlib.sha256(content).hexdigest()
        assert entry["md5"] == hashlib.md5(content).hexdigest()
        typed = detect_type(name, content[: 64 * 1024])
        assert (entry["mime"], entry["description"]) == (typed.mime, typed.description)
        assert (entry["mode"], entry["uid"], entry["gid"], entry["user"], entry["group"]) == (
            "0640",
            501,
            20,
            "sam",
            "staff",
        )
        assert entry["modified"] == entry["modified_utc"] == "2019-05-01T11:50:00Z"
        assert "type" not in entry
    assert jpg["device"]["model"] == "EOS R5" and jpg["captured"]["value"] == "2023-06-01T14:15:16"
    first, last = ex.timestamps
    assert (first.name, first.value, first.utc, first.offset_origin) == (
        "MemberFirstModified",
        "2019-05-01T11:50:00+00:00",
        "2019-05-01T11:50:00Z",
        "utc-by-spec",
    )
    assert first.raw == f"member 1: mtime {WHEN}" and last.name == "MemberLastModified"
    assert ex.problems == () and ex.findings == ()


@pytest.mark.parametrize(
    ("mode", "kind", "name"), [("w", None, "e.tar"), ("w:bz2", "bzip2", "e.tbz"), ("w:xz", "xz", "e.txz")]
)
def test_plain_bzip2_and_xz_tars(mode: str, kind: str | None, name: str) -> None:
    ex = run(tar_of([("a.txt", b"alpha"), ("b/c.txt", b"gamma")], mode), name)
    assert ex.tags.get("compression") == kind
    assert [m["sha256"] for m in members(ex)] == [
        hashlib.sha256(b"alpha").hexdigest(),
        hashlib.sha256(b"gamma").hexdigest(),
    ]


def test_old_gnu_and_ustar_headers_and_long_names() -> None:
    long = "deep/" * 40 + "file.txt"
    for fmt in (tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT, tarfile.PAX_FORMAT):
        if fmt == tarfile.USTAR_FORMAT:
            names = ["short.txt"]
        else:
            names = ["short.txt", long]
        ex = run(tar_of([(n, n.encode()) for n in names], "w", fmt), "e.tar")
        assert [m["name"] for m in members(ex)] == names


def test_links_that_lead_outside_are_a_finding() -> None:
    data = tar_of(
        [
            ("a/b/file.txt", b"x"),
            link("a/b/up", "../file2"),  # a/file2: inside
            link("a/out", "../../etc/passwd"),  # outside
            link("a/abs", "/etc/shadow"),  # outside
            link("a/hard", "a/b/file.txt", tarfile.LNKTYPE),  # from the root: inside
            link("a/hardout", "../x", tarfile.LNKTYPE),  # outside
        ]
    )
    ex = run(data, "e.tar")
    listed = members(ex)
    assert [(m["name"], m.get("type"), m.get("link")) for m in listed[1:]] == [
        ("a/b/up", "symlink", "../file2"),
        ("a/out", "symlink", "../../etc/passwd"),
        ("a/abs", "symlink", "/etc/shadow"),
        ("a/hard", "hardlink", "a/b/file.txt"),
        ("a/hardout", "hardlink", "../x"),
    ]
    assert all("sha256" not in m for m in listed[1:])
    (finding,) = [f for f in ex.findings if f.code == "archive-path-escape"]
    assert finding.evidence["names"] == ["a/out -> ../../etc/passwd", "a/abs -> /etc/shadow", "a/hardout -> ../x"]


@pytest.mark.parametrize(
    ("where", "target", "out"),
    [
        ("a/b", "../c", False),
        ("a/b", "../../c", False),
        ("a/b", "../../../c", True),
        ("", "../c", True),
        ("a", "./x/../../y", False),
        ("a", "/etc", True),
        ("a", "C:\\\\Windows", True),
        ("a", "..\\\\..\\\\x", True),
    ],
)
def test_climbs_out(where: str, target: str, out: bool) -> None:
    assert climbs_out(where, target) is out


def test_names_not_utf8_escaping_and_repeated_ones() -> None:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT, encoding="latin-1") as t:
        for name in ("caf\xe9.txt", "../up.txt", "same.txt", "same.txt"):
            info = tarfile.TarInfo(name)
            info.size = 1
            t.addfile(info, io.BytesIO(b"x"))
    ex = run(out.getvalue(), "e.tar")
    assert [m["name"] for m in members(ex)] == ["caf\\xe9.txt", "../up.txt", "same.txt", "same.txt"]
    codes = {f.code for f in ex.findings}
    assert {"archive-path-escape", "archive-duplicate-name"} <= codes


def test_a_damaged_header_midway_is_said_not_taken_for_the_end() -> None:
    data = bytearray(tar_of([("a.txt", b"a" * 600), ("b.txt", b"b" * 600), ("c.txt", b"c")], fmt=tarfile.GNU_FORMAT))
    second = 512 + 1024  # after a.txt's header and its two blocks of data
    data[second + 10] ^= 0x41  # its name: the checksum no longer holds
    ex = run(bytes(data), "e.tar")
    assert [m["name"] for m in members(ex)] == ["a.txt"]
    (damage,) = ex.problems
    assert damage.type == "ArchiveDamage" and "a damaged header at byte 1536" in damage.message
    assert "the rest is not read" in damage.message


def test_a_cut_archive_keeps_what_was_read() -> None:
    data = tar_of([("a.txt", b"a" * 600), ("b.txt", b"b" * 2000)], fmt=tarfile.GNU_FORMAT)
    cut = data[: 512 + 1024 + 512 + 700]  # inside b.txt's data
    ex = run(cut, "e.tar")
    a, b = members(ex)
    assert a["sha256"] == hashlib.sha256(b"a" * 600).hexdigest()
    assert b["not_hashed"].startswith("damaged or cut short") and "sha256" not in b
    ends = tar_of([("a.txt", b"a" * 600)], fmt=tarfile.GNU_FORMAT)[: 512 + 1024]  # no end blocks
    ex = run(ends, "e.tar")
    assert len(members(ex)) == 1 and "without its end blocks" in ex.problems[0].message


def test_a_header_asking_for_gigabytes_is_refused_not_read() -> None:
    data = bytearray(tar_of([("a" * 200, b"z")]))  # PAX: an extended header first
    data[124:136] = b"77777777777\x00"  # its size: 8 GiB
    data[148:156] = b" " * 8
    data[148:156] = f"{sum(data[:512]):06o}\x00 ".encode()
    ex = run(bytes(data), "e.tar")
    (damage,) = ex.problems
    assert "asks to read 8589934592 bytes at once" in damage.message
    assert members(ex) == []


def test_a_compressed_tar_is_read_so_far_then_said(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive_mod, "READ_LIMIT", 20_000)
    data = tar_of([(f"f{i}.bin", bytes([i]) * 4000) for i in range(10)], "w:gz")
    ex = run(data, budget=5000)  # read for max(READ_LIMIT, twice the budget)
    assert 0 < len(members(ex)) < 10
    assert any(p.type == "LimitReached" and "past the 20000 bytes read of it" in p.message for p in ex.problems)


def test_more_members_than_the_bound_are_said(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive_mod, "MAX_TAR_MEMBERS", 2)
    ex = run(tar_of([(f"f{i}", b"x") for i in range(3)]), "e.tar")
    assert len(members(ex)) == 2
    assert [p.type for p in ex.problems] == ["LimitReached"]


def test_members_past_the_hashing_budget_are_listed() -> None:
    ex = run(tar_of([("a", b"a" * 1000), ("b", b"b" * 1000), ("c", b"c" * 100)]), "e.tar", budget=1500)
    a, b, c = members(ex)
    assert "sha256" in a and "sha256" in c and b["not_hashed"].startswith("over the")


def test_an_empty_member_is_typed_and_hashed_as_an_empty_file(tmp_path: Path) -> None:
    (entry,) = members(run(tar_of([("empty.log", b"")]), "e.tar"))
    record = scan_one(tmp_path / "alone", "empty.log", b"")
    assert (entry["mime"], entry["description"]) == (record.mime, record.description)
    assert {a: entry[a] for a in ("md5", "sha1", "sha256")} == dict(record.hashes)


def test_a_gzipped_file_that_is_no_tar_is_one_member_named_from_its_header() -> None:
    chat = b"[13/05/2019, 21:03:11] Sam: hello\n[13/05/2019, 21:04:00] Alex: hi\n"
    out = io.BytesIO()
    with gzip.GzipFile(filename="_chat.txt", mode="wb", fileobj=out, mtime=WHEN) as g:
        g.write(chat)
    ex = run(out.getvalue(), "upload.bin.gz")
    (entry,) = members(ex)
    assert ex.tags["format"] == "gzip"
    assert entry["name"] == "_chat.txt" and entry["size"] == len(chat) and "name_from" not in entry
    assert entry["sha256"] == hashlib.sha256(chat).hexdigest()
    assert entry["chat"]["messages"] == 2  # read as the chat it is
    unnamed = run(bz2.compress(b"plain words\n"), "notes.txt.bz2")
    (entry,) = members(unnamed)
    assert (entry["name"], entry["name_from"]) == ("notes.txt", "the archive's name")
    assert entry["mime"] == "text/plain"


def test_a_compressed_bomb_is_hashed_as_far_as_the_budget() -> None:
    ex = run(lzma.compress(b"A" * (8 << 20)), "letters.xz", budget=1 << 20)
    (entry,) = members(ex)
    assert entry["not_hashed"] == "over the 1 MiB hashed per archive" and "sha256" not in entry


@pytest.mark.parametrize(
    "data",
    [b"", b"\x1f\x8b", gzip.compress(b"x" * 5000)[:30], b"BZh9" + b"\x00" * 50, b"\xfd7zXZ\x00" + b"\x01" * 40],
)
def test_damaged_compression_gives_problems_never_an_exception(data: bytes) -> None:
    ex = ARCHIVE.extract(file_context(data, "e.tar.gz", mime="application/gzip"))
    assert all(p.stage == "metadata:archive" for p in ex.problems)


def test_a_file_typed_tar_that_is_none_says_so() -> None:
    ex = ARCHIVE.extract(file_context(b"not a tar" * 100, "e.tar", mime="application/x-tar"))
    assert [p.message for p in ex.problems] == ["not a TAR archive"]


def test_a_scan_of_a_takeout_tgz_puts_its_members_in_the_record(tmp_path: Path) -> None:
    data = tar_of([("Takeout/a.txt", b"alpha")], "w:gz")
    record = scan_one(tmp_path / "ev", "takeout-001.tgz", data)
    assert record.mime == "application/gzip"
    assert record.metadata["archive"]["members"][0]["sha256"] == hashlib.sha256(b"alpha").hexdigest()
    assert {t.name for t in record.timestamps} >= {"MemberFirstModified", "MemberLastModified"}


def test_the_headers_read_are_not_kept() -> None:
    from evidence_cli.formats import tar as tarfmt

    tar = tarfmt.open_tar(io.BytesIO(tar_of([(f"f{i}", b"x") for i in range(50)])), None)
    assert tar is not None
    held = [len(tar.members) for _ in tarfmt.members(tar, 100)]
    assert len(held) == 50 and max(held) == 0
