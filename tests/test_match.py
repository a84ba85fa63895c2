"""`evidence match`: hash sets of known files read in every format, matched strictly."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from evidence_cli import hashsets
from evidence_cli.cli import cli
from evidence_cli.hashsets import HashSetError, Known, read_hashset

CONTENTS = {
    "photo.jpg": b"\xff\xd8\xff\xe0 not really a photo " * 40,
    "=notes.txt": b"chat log\n",
    "video.mp4": b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8,
    "empty.bin": b"",
}


def run(*args: Any) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], terminal_width=100, prog_name="evidence")


def digests(data: bytes) -> dict[str, str]:
    return {a: hashlib.new(a, data).hexdigest() for a in ("md5", "sha1", "sha256", "sha512", "blake2b")}


@pytest.fixture
def case(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "case"
    folder.mkdir()
    for name, data in CONTENTS.items():
        (folder / name).write_bytes(data)
    manifest = tmp_path / "case.json"
    done = run("scan", folder, "--workers", "0", "--no-metadata", "--json", manifest)
    assert done.exit_code == 0, done.output
    return folder, manifest


def rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open(encoding="utf-8", newline="")))


def entries(path: Path) -> tuple[hashsets.HashSet, list[Known]]:
    found, known = read_hashset(str(path))
    return found, list(known)


# --- reading the formats -------------------------------------------------------------------


def test_digest_lists_in_every_sum_form(tmp_path: Path) -> None:
    d = digests(b"x")
    lines = [
        "\ufeff# made by hand",
        "",
        f"{d['md5']}  plain name.jpg",
        f"{d['md5']}\ttabbed.jpg",
        f"{d['sha1'].upper()} *binary.jpg",
        f"SHA256 (tagged.jpg) = {d['sha256']}",
        f"BLAKE2b-512 (b2.jpg) = {d['blake2b']}",
        f"{d['sha512']}",
        "not a digest",
        f"{d['md5'][:-1]}  short.jpg",
    ]
    path = tmp_path / "set.txt"
    path.write_bytes("\r\n".join(lines).encode())
    found, known = entries(path)
    assert found.format == "digest list"
    assert [(k.digests, k.name, k.where) for k in known] == [
        (((("md5",), d["md5"]),), "plain name.jpg", "line 3"),
        (((("md5",), d["md5"]),), "tabbed.jpg", "line 4"),
        (((("sha1",), d["sha1"]),), "binary.jpg", "line 5"),
        (((("sha256",), d["sha256"]),), "tagged.jpg", "line 6"),
        (((("blake2b",), d["blake2b"]),), "b2.jpg", "line 7"),
        # 128 digits and no name of the algorithm: either.
        (((("sha512", "blake2b"), d["sha512"]),), None, "line 8"),
    ]
    assert found.bad_count == 2 and [b.split(":")[0] for b in found.bad] == ["line 9", "line 10"]
    assert found.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert found.size == path.stat().st_size and found.entries == 6


def test_a_line_longer_than_the_limit_is_a_bad_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hashsets, "MAX_LINE", 100)
    d = digests(b"x")["md5"]
    path = tmp_path / "set.txt"
    path.write_text(f"{d}  {'n' * 500}\n{d}  ok\n")
    found, known = entries(path)
    assert [k.where for k in known] == ["line 2"] and found.bad == ["line 1: longer than 100 bytes"]
    assert found.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_hashdeep_files(tmp_path: Path) -> None:
    d = digests(b"x")
    path = tmp_path / "known.hashdeep"
    path.write_text(
        "%%%% HASHDEEP-1.0\n%%%% size,md5,sha-256,filename\n## Invoked from: /cases\n## \n"
        f"1,{d['md5']},{d['sha256']},/cases/a, with comma.jpg\n"
        f"x,{d['md5']},{d['sha256']},/cases/bad size\n"
        f"1,{d['md5']},{d['sha256'][:10]},/cases/bad digest\n"
    )
    found, known = entries(path)
    assert found.format == "hashdeep"
    assert [(k.digests, k.size, k.name) for k in known] == [
        (((("md5",), d["md5"]), (("sha256",), d["sha256"])), 1, "/cases/a, with comma.jpg")
    ]
    assert found.bad == ["line 6: size is not a whole number", "line 7: sha256 is not 64 hexadecimal digits"]


def test_nsrl_rds2_csv_and_generic_csv(tmp_path: Path) -> None:
    d = digests(b"x")
    path = tmp_path / "NSRLFile.txt"
    path.write_text(
        '"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode","OpSystemCode","SpecialCode"\n'
        f'"{d["sha1"].upper()}","{d["md5"].upper()}","8CDC1683","setup.exe",1,11950,"362",""\n'
        '"ZZZ","","","broken",1,1,"1",""\n'
    )
    found, known = entries(path)
    assert found.format == "NSRL RDS 2 (NSRLFile.txt)"
    assert [(k.digests, k.name, k.size, k.detail, k.where) for k in known] == [
        (
            ((("md5",), d["md5"]), (("sha1",), d["sha1"])),
            "setup.exe",
            1,
            "productcode 11950, opsystemcode 362",
            "line 2",
        )
    ]
    assert found.bad == ["line 3: sha1 is not 40 hexadecimal digits"]
    generic = tmp_path / "hotline.csv"
    generic.write_text(f"\n\nName;SHA256;Category\nreport 7;{d['sha256']};A1\n")
    found, known = entries(generic)
    assert found.format == "CSV"
    assert [(k.name, k.label, k.where) for k in known] == [("report 7", "A1", "line 4")]


VICS2 = {
    "@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media",
    "value": [
        {"MediaID": 1, "Category": 1, "MD5": "%(md5)s", "SHA1": "%(sha1)s", "MediaSize": 1, "IsPrecategorized": "true"},
        {"MediaID": 2, "Category": 3, "MD5": "not hex"},
        {"MediaID": 3, "Category": 0, "MediaSize": 5},
    ],
}


def test_vics_json_read_item_by_item(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = digests(b"x")
    text = json.dumps(VICS2, indent=1) % d
    # Pieces of 7 characters: every value is cut somewhere, numbers too.
    monkeypatch.setattr(hashsets, "_CHUNK", 7)
    path = tmp_path / "vics.json"
    path.write_text(text)
    found, known = entries(path)
    assert found.format == "VICS JSON (Project VIC / CAID)"
    assert [(k.digests, k.size, k.label, k.detail, k.where) for k in known] == [
        (((("md5",), d["md5"]), (("sha1",), d["sha1"])), 1, "category 1", "MediaID 1", "item 1")
    ]
    assert found.bad == ["item 2: MD5 is not 32 hexadecimal digits", "item 3: no MD5, SHA1 or SHA256"]
    assert found.sha256 == hashlib.sha256(text.encode()).hexdigest()
    # VICS 1: cases, each with its media.
    v1 = {"odata.metadata": "x", "value": [{"CaseNumber": "7", "Media": [{"MD5": d["md5"], "Category": 2}]}]}
    path.write_text(json.dumps(v1))
    found, known = entries(path)
    assert [(k.label, k.where) for k in known] == [("category 2", "item 1, media 1")]


@pytest.mark.parametrize(
    "text, says",
    [
        ('{"odata.metadata": "x", "value": [{"MD5": "a"}', "Expecting ',' delimiter: line 1 column 47"),
        ('{"odata.metadata": "x"}', "no 'value' list"),
        ('{"odata.metadata": "x", "value": []} trailing', "Extra data"),
        ('{"odata.metadata": "x", "value": [{"MD5": "\\ud800"]}', "not VICS JSON"),
        ('{"odata.metadata": "x", "value": [' + "[" * 100_000 + "]" * 100_000 + "]}", "nested too deeply"),
    ],
)
def test_broken_vics_json_is_refused_whole(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "vics.json"
    path.write_text(text)
    with pytest.raises(HashSetError, match=says):
        entries(path)


def test_a_vics_item_too_long_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hashsets, "MAX_ITEM", 1000)
    monkeypatch.setattr(hashsets, "_CHUNK", 100)  # the item arrives in pieces
    path = tmp_path / "vics.json"
    path.write_text('{"odata.metadata": "x", "value": [{"Name": "' + "a" * 5000 + '"}]}')
    with pytest.raises(HashSetError, match="A value longer than 1000 characters"):
        entries(path)


#: The RDS 3 schema's tables and FILE view, as NIST publishes them (columns this test uses).
RDS3_SCHEMA = """
CREATE TABLE PACKAGE_OBJECT (package_object_id INTEGER UNIQUE NOT NULL, package_id INTEGER NOT NULL,
    object_id INTEGER UNIQUE NOT NULL);
CREATE TABLE METADATA (metadata_id NUMERIC UNIQUE NOT NULL, object_id INTEGER, file_name VARCHAR NOT NULL,
    extension VARCHAR DEFAULT '' NOT NULL, bytes INTEGER NOT NULL, crc32 VARCHAR NOT NULL, md5 VARCHAR NOT NULL,
    sha1 VARCHAR NOT NULL, sha256 VARCHAR NOT NULL);
CREATE VIEW FILE AS
    SELECT UPPER(md.sha256) AS sha256, UPPER(md.sha1) AS sha1, UPPER(md.md5) AS md5,
        CASE md.extension WHEN '' THEN md.file_name ELSE md.file_name||'.'||md.extension END AS file_name,
        md.bytes AS file_size, po.package_id
    FROM METADATA AS md, PACKAGE_OBJECT AS po WHERE md.object_id = po.object_id;
"""


def rds3(path: Path, files: list[tuple[str, bytes]]) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(RDS3_SCHEMA)
    for n, (name, data) in enumerate(files, start=1):
        d = digests(data)
        stem, _, ext = name.partition(".")
        conn.execute("INSERT INTO PACKAGE_OBJECT VALUES (?, ?, ?)", (n, 1000 + n, n))
        conn.execute(
            "INSERT INTO METADATA VALUES (?, ?, ?, ?, ?, '0', ?, ?, ?)",
            (n, n, stem, ext, len(data), d["md5"], d["sha1"], d["sha256"]),
        )
    conn.commit()
    conn.close()


def test_nsrl_rds3_sqlite_read_only(tmp_path: Path) -> None:
    path = tmp_path / "RDS_2024.12.1_modern_minimal.db"
    rds3(path, [("kernel32.dll", b"x"), ("readme", b"y")])
    before = (path.read_bytes(), os.stat(path).st_mtime_ns)
    found, known = entries(path)
    assert found.format == "NSRL RDS 3 (SQLite)"
    d = digests(b"x")
    assert [(k.digests, k.name, k.size, k.detail) for k in known][0] == (
        ((("sha256",), d["sha256"]), (("sha1",), d["sha1"]), (("md5",), d["md5"])),
        "kernel32.dll",
        1,
        "package_id 1001",
    )
    assert [k.name for k in known] == ["kernel32.dll", "readme"]
    assert found.sha256 == hashlib.sha256(before[0]).hexdigest()
    # Opened read-only and immutable: not a byte, nor the time, changed; no journal left.
    assert (path.read_bytes(), os.stat(path).st_mtime_ns) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


@pytest.mark.parametrize(
    "sql, says",
    [
        ("CREATE TABLE OTHER (md5 TEXT)", "without the NSRL RDS 3 FILE view"),
        ("CREATE TABLE FILE (name TEXT)", "no sha256, sha1 or md5 column"),
        # A hostile view that would build a 2 GB value: SQLite's length limit stops it.
        ("CREATE VIEW FILE AS SELECT hex(zeroblob(1000000000)) AS md5", "SQLite failed reading it"),
    ],
)
def test_sqlite_that_is_no_rds_is_refused(tmp_path: Path, sql: str, says: str) -> None:
    path = tmp_path / "x.db"
    conn = sqlite3.connect(path)
    conn.executescript(sql)
    conn.close()
    with pytest.raises(HashSetError, match=says):
        entries(path)


# --- matching, through the command -----------------------------------------------------------


def test_match_reports_every_pair_with_the_set_identity(case: tuple[Path, Path], tmp_path: Path) -> None:
    _, manifest = case
    d = {name: digests(data) for name, data in CONTENTS.items()}
    known = tmp_path / "known.md5"
    known.write_text(f"{d['photo.jpg']['md5']}  IMG_0001.JPG\n{d['=notes.txt']['md5']}  =HYPERLINK()\n")
    out = tmp_path / "matches.csv"
    done = run("match", manifest, "--hashset", known, "-o", out)
    assert done.exit_code == 0, done.output
    got = rows(out)
    set_sha = hashlib.sha256(known.read_bytes()).hexdigest()
    # Manifest order; cells from the evidence or the set that start like a formula neutralised.
    assert [(r["path"], r["result"], r["matched_on"], r["known_name"], r["location"]) for r in got] == [
        ("'=notes.txt", "match", "md5", "'=HYPERLINK()", "line 2"),
        ("photo.jpg", "match", "md5", "IMG_0001.JPG", "line 1"),
    ]
    assert {r["hashset_sha256"] for r in got} == {set_sha}
    assert got[1]["sha256"] == d["photo.jpg"]["sha256"] and got[1]["size"] == str(len(CONTENTS["photo.jpg"]))
    text = done.output.replace("\n", " ")
    assert f"digest list, 2 entries, {known.stat().st_size} bytes, SHA-256 {set_sha}" in text
    assert "2 files of 4 in case.json match a hash set (2 matching entries)" in text


def test_a_shared_digest_with_another_that_differs_is_a_conflict(case: tuple[Path, Path], tmp_path: Path) -> None:
    _, manifest = case
    d = digests(CONTENTS["photo.jpg"])
    other = digests(b"another file")
    known = tmp_path / "set.hashdeep"
    size = len(CONTENTS["photo.jpg"])
    known.write_text(
        "%%%% HASHDEEP-1.0\n%%%% size,md5,sha256,filename\n"
        f"{size},{d['md5']},{other['sha256']},collision\n"
        f"{size + 1},{d['md5']},{d['sha256']},wrong size\n"
        f"{size},{d['md5']},{d['sha256']},right\n"
    )
    out = tmp_path / "m.csv"
    done = run("match", manifest, "--hashset", known, "-o", out)
    assert done.exit_code == 1, done.output
    got = [(r["known_name"], r["result"], r["matched_on"], r["differs"]) for r in rows(out)]
    assert got == [
        ("collision", "conflict", "md5", "sha256"),
        ("wrong size", "conflict", "md5+sha256", "size"),
        ("right", "match", "md5+sha256", ""),
    ]
    assert "Warning: 1 file with a digest equal to a set entry's while another digest or the size differs " in (
        done.output
    )
    assert "(2 conflicts): a collision or a broken set" in done.output
    # --unmatched: the photo matched (line 5), so it is set aside; the rest are listed.
    left = tmp_path / "left.csv"
    done = run("match", manifest, "--hashset", known, "--unmatched", "-o", left)
    assert done.exit_code == 1
    listed = rows(left)
    assert [r["path"] for r in listed] == ["'=notes.txt", "empty.bin", "video.mp4"]
    assert list(listed[0]) == ["path", "member", "size", "md5", "sha1", "sha256", "note"]
    assert listed[2]["sha256"] == digests(CONTENTS["video.mp4"])["sha256"]


def test_unmatched_notes_a_conflict(case: tuple[Path, Path], tmp_path: Path) -> None:
    _, manifest = case
    d = digests(CONTENTS["video.mp4"])
    known = tmp_path / "set.csv"
    known.write_text(f"md5,sha1\n{d['md5']},{'0' * 40}\n")
    left = tmp_path / "left.csv"
    done = run("match", manifest, "--hashset", known, "--unmatched", "-o", left)
    assert done.exit_code == 1
    notes = {r["path"]: r["note"] for r in rows(left)}
    assert notes["video.mp4"] == "conflict with a set entry (see the matches)"
    assert len(notes) == 4


def test_a_set_sharing_no_digest_with_the_manifest_is_reported(case: tuple[Path, Path], tmp_path: Path) -> None:
    _, manifest = case
    known = tmp_path / "set.sha512"
    known.write_text(digests(CONTENTS["photo.jpg"])["sha512"] + "  photo\n")
    out = tmp_path / "m.csv"
    done = run("match", manifest, "--hashset", known, "-o", out)
    assert done.exit_code == 1
    assert "set.sha512: 1 entry not compared: no digest the manifest has (md5, sha1, sha256)." in done.output
    assert rows(out) == []


def test_another_scan_and_an_export_as_hash_sets(case: tuple[Path, Path], tmp_path: Path) -> None:
    folder, manifest = case
    other = tmp_path / "other"
    other.mkdir()
    (other / "copy of photo.jpg").write_bytes(CONTENTS["photo.jpg"])
    (other / "unrelated").write_bytes(b"nothing alike")
    theirs = tmp_path / "other.json"
    assert run("scan", other, "--workers", "0", "--no-metadata", "--json", theirs).exit_code == 0
    theirs_csv = tmp_path / "other.csv"
    assert run("scan", other, "--workers", "0", "--no-metadata", "--csv", theirs_csv).exit_code == 0
    hashdeep = tmp_path / "other.hashdeep"
    assert run("export", theirs, "-f", "hashdeep", "-o", hashdeep).exit_code == 0
    for known, where in ((theirs, "entry 1"), (theirs_csv, "line 2"), (hashdeep, "line 7")):
        out = tmp_path / f"m-{known.name}.csv"
        done = run("match", manifest, "--hashset", known, "-o", out)
        assert done.exit_code == 0, done.output
        got = rows(out)
        assert [(r["path"], r["result"], r["location"]) for r in got] == [("photo.jpg", "match", where)], known
        assert got[0]["matched_on"] == "md5+sha1+sha256"
    # A tampered manifest is no hash set.
    tampered = tmp_path / "tampered.json"
    tampered.write_text(theirs.read_text().replace("unrelated", "unrelates"))
    done = run("match", manifest, "--hashset", tampered, "-o", tmp_path / "t.csv")
    assert done.exit_code == 2 and "tampered" in done.output and not (tmp_path / "t.csv").exists()


def test_match_against_rds3_and_vics_together(case: tuple[Path, Path], tmp_path: Path) -> None:
    _, manifest = case
    rds = tmp_path / "rds.db"
    rds3(rds, [("empty.", b""), ("setup.exe", b"not in the case")])
    vics = tmp_path / "vics.json"
    d = digests(CONTENTS["video.mp4"])
    vics.write_text(json.dumps({"@odata.context": "x", "value": [{"MediaID": 9, "Category": 1, "MD5": d["md5"]}]}))
    out = tmp_path / "m.csv"
    done = run("match", manifest, "--hashset", rds, "--hashset", vics, "-o", out)
    assert done.exit_code == 0, done.output
    got = [(r["path"], r["hashset"], r["label"], r["detail"], r["matched_on"]) for r in rows(out)]
    assert got == [
        ("empty.bin", str(rds), "", "package_id 1001", "sha256+sha1+md5"),
        ("video.mp4", str(vics), "category 1", "MediaID 9", "md5"),
    ]


def test_match_refusals(case: tuple[Path, Path], tmp_path: Path) -> None:
    folder, manifest = case
    junk = folder / "photo.jpg"
    out = tmp_path / "m.csv"
    done = run("match", manifest, "--hashset", junk, "-o", out)
    assert done.exit_code == 2 and "is not a hash set this tool reads: read as a digest list, line 1" in done.output
    assert not out.exists()
    done = run("match", manifest, "--hashset", tmp_path / "missing.txt")
    assert done.exit_code == 2 and "cannot read hash set" in done.output
    done = run("match", manifest, "--hashset", tmp_path)
    assert done.exit_code == 2
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # never opened for a read that would block
    done = run("match", manifest, "--hashset", fifo)
    assert done.exit_code == 2 and "is not a regular file" in done.output
    known = tmp_path / "set.md5"
    known.write_text(digests(b"x")["md5"] + "\n")
    done = run("match", manifest, "--hashset", known, "-o", known)
    assert done.exit_code == 2 and known.read_text().strip() == digests(b"x")["md5"]
    # A link to a set is followed: a set is no evidence.
    link = tmp_path / "current.md5"
    link.symlink_to(known)
    assert run("match", manifest, "--hashset", link, "-o", tmp_path / "l.csv").exit_code == 0
    done = run("match", manifest)
    assert done.exit_code == 2 and "--hashset" in done.output


def test_an_rds3_database_whose_schema_is_not_utf8_is_refused(tmp_path: Path) -> None:
    """Found by tests/test_hashsets_fuzz.py: Python decodes SQLite's error message, which
    quotes the damaged schema, and raised UnicodeDecodeError."""
    path = tmp_path / "rds.db"
    rds3(path, [("a.dll", b"x")])
    data = path.read_bytes()
    at = data.index(b"CREATE VIEW FILE") + len(b"CREATE VIEW FILE AS") + 10
    path.write_bytes(data[:at] + b"\x80" + data[at + 1 :])
    with pytest.raises(HashSetError, match="SQLite failed reading it"):
        entries(path)


def test_a_file_the_scan_could_not_read_is_reported_and_left_for_examination(
    case: tuple[Path, Path], tmp_path: Path
) -> None:
    from evidence_cli.manifest import seal_value

    _, manifest = case
    doc = json.loads(manifest.read_text())
    record = next(r for r in doc["files"] if r["path"] == "video.mp4")
    record["hashes"] = {}  # as a scan records a file it could not read
    doc["seal"]["value"] = seal_value(doc)
    unread = tmp_path / "unread.json"
    unread.write_text(json.dumps(doc))
    known = tmp_path / "set.md5"
    known.write_text(digests(CONTENTS["video.mp4"])["md5"] + "\n")
    out = tmp_path / "m.csv"
    done = run("match", unread, "--hashset", known, "-o", out)
    assert done.exit_code == 1, done.output
    assert rows(out) == []
    assert "Warning: 1 file without a digest in the manifest (not readable at scan time): not compared." in (
        done.output
    )
    left = tmp_path / "left.csv"
    assert run("match", unread, "--hashset", known, "--unmatched", "-o", left).exit_code == 1
    notes = {r["path"]: r["note"] for r in rows(left)}
    assert notes["video.mp4"] == "no digest in the manifest: not compared"


def test_the_report_shows_the_known_files(case: tuple[Path, Path], tmp_path: Path) -> None:
    _, manifest = case
    d = digests(CONTENTS["photo.jpg"])
    known = tmp_path / "hotline.csv"
    known.write_text(
        f"name,md5,sha1,label\n<script>alert(1)</script>,{d['md5']},,A1\nclash,{d['md5']},{'0' * 40},B\nbad,zz,,C\n"
    )
    out = tmp_path / "report.html"
    done = run("report", manifest, "--hashset", known, "-o", out)
    assert done.exit_code == 1, done.output  # one line of the set could not be read
    page = out.read_text()
    section = page[page.index("<h2>Known files (1 file in 1 hash set)</h2>") : page.index("<h2>Timeline")]
    assert hashlib.sha256(known.read_bytes()).hexdigest() in section
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in section and "<script>" not in page
    assert section.count("<tr><td class=mono>photo.jpg</td>") == 2
    assert '<span class="bad">conflict</span>' in section and "A1" in section
    assert "hotline.csv: 1 entry could not be read: line 4: md5 is not 32 hexadecimal digits." in section
    assert "Warning: " in done.output and "1 entry could not be read" in done.output
    # Without --hashset, no such section.
    plain = tmp_path / "plain.html"
    assert run("report", manifest, "-o", plain).exit_code == 0
    assert "Known files" not in plain.read_text()


# --- archive members ------------------------------------------------------------------------


def archive_case(tmp_path: Path) -> tuple[Path, bytes, bytes]:
    """A scanned folder holding an export zip: a known photo, an unknown note (its name a
    formula), a folder, and an encrypted member; the manifest, and the two contents."""
    import io
    import struct
    import zipfile

    photo, note = CONTENTS["photo.jpg"], b"unknown text\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("media/", b"")
        z.writestr("media/IMG-0001.jpg", photo)
        z.writestr("=cmd|' /C calc'!A0.txt", note)
        z.writestr("secret.bin", b"hidden")
    data = bytearray(buf.getvalue())
    # Mark secret.bin encrypted in both its headers (flag bit 0).
    local = data.index(b"PK\x03\x04", data.index(b"secret.bin") - 40)
    struct.pack_into("<H", data, local + 6, 1)
    central = data.rindex(b"secret.bin") - 46
    struct.pack_into("<H", data, central + 8, 1)
    folder = tmp_path / "zipped"
    folder.mkdir()
    (folder / "export.zip").write_bytes(bytes(data))
    (folder / "loose.jpg").write_bytes(photo)
    manifest = tmp_path / "zipped.json"
    done = run("scan", folder, "--workers", "0", "--json", manifest)
    assert done.exit_code == 1, done.output  # (warnings: the "photo" is no real JPEG, a member is encrypted)
    return manifest, photo, note


def test_the_members_of_a_scanned_archive_are_matched_too(tmp_path: Path) -> None:
    manifest, photo, note = archive_case(tmp_path)
    known = tmp_path / "known.md5"
    known.write_text(f"{digests(photo)['md5']}  hotline-0042.jpg\n")
    out = tmp_path / "m.csv"
    done = run("match", manifest, "--hashset", known, "-o", out)
    got = [(r["path"], r["member"], r["result"], r["sha256"], r["size"]) for r in rows(out)]
    sha = digests(photo)["sha256"]
    assert got == [
        ("loose.jpg", "", "match", sha, str(len(photo))),
        ("export.zip", "media/IMG-0001.jpg", "match", sha, str(len(photo))),
    ]
    text = done.output.replace("\n", " ")
    assert "1 file of 2 and 1 of 2 archive members in zipped.json match a hash set (2 matching entries)" in text
    # The encrypted member could not be compared: said, and exit status 1.
    assert done.exit_code == 1
    assert "Warning: 1 archive member listed by the scan without a digest (encrypted" in text
    # What is left to examine: the note inside the archive, its name neutralised.
    left = tmp_path / "left.csv"
    assert run("match", manifest, "--hashset", known, "--unmatched", "-o", left).exit_code == 1
    listed = [(r["path"], r["member"], r["sha256"]) for r in rows(left)]
    assert listed == [
        ("export.zip", "", digests((tmp_path / "zipped" / "export.zip").read_bytes())["sha256"]),
        ("export.zip", "'=cmd|' /C calc'!A0.txt", digests(note)["sha256"]),
    ]
    # The report names the member under its archive.
    page_path = tmp_path / "r.html"
    assert run("report", manifest, "--hashset", known, "-o", page_path).exit_code == 1
    page = page_path.read_text()
    assert "<tr><td class=mono>export.zip<br>member <span class=mono>media/IMG-0001.jpg</span></td>" in page
    # ... and its timeline lists each member's time, naming it.
    assert "<td>MemberModified</td><td>archive</td><td class=mono>export.zip<br>member media/IMG-0001.jpg</td>" in page


def test_a_manifest_without_archives_is_not_read_again(
    case: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evidence_cli.manifest import Manifest

    _, manifest = case

    def refuse(self: Manifest) -> Any:
        raise AssertionError("read again")

    monkeypatch.setattr(Manifest, "iter_records", refuse)
    known = tmp_path / "k.md5"
    known.write_text(digests(CONTENTS["photo.jpg"])["md5"] + "\n")
    done = run("match", manifest, "--hashset", known, "-o", tmp_path / "m.csv")
    assert done.exit_code == 0, done.output


def test_a_member_with_a_malformed_digest_refuses_the_manifest(tmp_path: Path) -> None:
    from evidence_cli.manifest import seal_value

    manifest, photo, _ = archive_case(tmp_path)
    doc = json.loads(manifest.read_text())
    record = next(r for r in doc["files"] if r["path"] == "export.zip")
    record["metadata"]["archive"]["members"][1]["md5"] = "not hex"
    doc["seal"]["value"] = seal_value(doc)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    known = tmp_path / "k.md5"
    known.write_text(digests(photo)["md5"] + "\n")
    done = run("match", bad, "--hashset", known, "-o", tmp_path / "m.csv")
    assert done.exit_code == 2
    assert "export.zip: member 2: md5 digest 'not hex' is not 32 hex digits" in done.output
    assert not (tmp_path / "m.csv").exists()


def test_the_progress_line_reads_the_set_as_it_is_read() -> None:
    from rich.console import Console

    from evidence_cli.cli.match import _SetColumn, set_progress

    column = _SetColumn()
    column.current = hashsets.HashSet(path="/sets/NSRL\x1bFile.txt", total=4 * 2**20, read=2**20, entries=12345)
    shown = column.render(None).plain  # type: ignore[arg-type]
    assert shown == "Hash set NSRL\\x1bFile.txt: 25% of 4.0 MiB, 12,345 entries"
    column.current.read, column.current.bad_count = 4 * 2**20, 2
    assert column.render(None).plain == "Hash set NSRL\\x1bFile.txt: 12,345 entries, 2 not read"  # type: ignore[arg-type]
    # Not on a terminal: no display, no callback.
    with set_progress(Console(file=io.StringIO(), force_terminal=False)) as reading:
        assert reading is None


def test_powershell_get_filehash_lists_utf16_too(tmp_path: Path) -> None:
    d = digests(b"x")
    text = (
        "#TYPE Microsoft.PowerShell.Commands.FileHashInfo\r\n"
        '"Algorithm","Hash","Path"\r\n'
        f'"SHA256","{d["sha256"].upper()}","C:\\Cases\\a.jpg"\r\n'
        f'"SHA384","{"0" * 96}","C:\\Cases\\b.jpg"\r\n'
        '"Algorithm","Hash","Path"\r\n'  # a second list joined to the first
        f'"MD5","{d["md5"]}","C:\\Cases\\c.jpg"\r\n'
    )
    for encoding, fmt in (("utf-8", "CSV"), ("utf-16", "CSV, UTF-16")):
        path = tmp_path / f"hashes-{encoding}.csv"
        path.write_bytes(text.encode(encoding))  # Python's utf-16 writes a byte-order mark
        found, known = entries(path)
        assert found.format == fmt
        assert [(k.digests, k.name, k.where) for k in known] == [
            (((("sha256",), d["sha256"]),), "C:\\Cases\\a.jpg", "line 3"),
            (((("md5",), d["md5"]),), "C:\\Cases\\c.jpg", "line 6"),
        ]
        assert found.bad == ["line 4: 'SHA384' is not an algorithm this tool computes"]
        assert found.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    # `Get-FileHash * | Select-Object Hash, Path`: no Algorithm column, told by length.
    path = tmp_path / "no-algorithm.csv"
    path.write_text(f'"Hash","Path"\n"{d["sha1"]}","a"\n"ABC","b"\n')
    found, known = entries(path)
    assert [k.digests for k in known] == [((("sha1",), d["sha1"]),)]
    assert found.bad == ["line 3: Hash is not a digest of 32, 40, 64 or 128 hexadecimal digits"]
    # sha256sum's output redirected by Windows PowerShell (``>``): UTF-16.
    path = tmp_path / "sums.txt"
    path.write_bytes(f"{d['sha256']}  a.jpg\r\n".encode("utf-16"))
    found, known = entries(path)
    assert found.format == "digest list, UTF-16" and [k.name for k in known] == ["a.jpg"]


def test_match_names_the_archive_readers_group_without_importing_it() -> None:
    from evidence_cli import match
    from evidence_cli.extractors import archive

    assert match.ARCHIVE_GROUP == archive.NAME and match.ARCHIVE_TYPES < archive.MIME_TYPES


def test_a_member_of_a_scanned_tgz_is_matched(tmp_path: Path) -> None:
    import io
    import tarfile

    photo = CONTENTS["photo.jpg"]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        info = tarfile.TarInfo("Takeout/Photos/IMG_0042.jpg")
        info.size = len(photo)
        t.addfile(info, io.BytesIO(photo))
    folder = tmp_path / "takeout"
    folder.mkdir()
    (folder / "takeout-001.tgz").write_bytes(buf.getvalue())
    manifest = tmp_path / "t.json"
    assert run("scan", folder, "--workers", "0", "--json", manifest).exit_code in (0, 1)
    known = tmp_path / "known.sha256"
    known.write_text(f"{digests(photo)['sha256']}  hotline.jpg\n")
    out = tmp_path / "m.csv"
    done = run("match", manifest, "--hashset", known, "-o", out)
    assert done.exit_code == 0, done.output
    assert [(r["path"], r["member"], r["result"]) for r in rows(out)] == [
        ("takeout-001.tgz", "Takeout/Photos/IMG_0042.jpg", "match")
    ]


def test_a_zip_hidden_in_a_photo_is_matched_and_counted_in_the_summary(tmp_path: Path) -> None:
    import io
    import zipfile

    from tests.builders import jpeg_bytes

    photo = CONTENTS["photo.jpg"]
    hidden = io.BytesIO()
    with zipfile.ZipFile(hidden, "w") as z:
        z.writestr("secret.jpg", photo)
    folder = tmp_path / "case"
    folder.mkdir()
    (folder / "holiday.jpg").write_bytes(jpeg_bytes() + hidden.getvalue())
    manifest = tmp_path / "case.json"
    assert run("scan", folder, "--workers", "0", "--json", manifest).exit_code in (0, 1)
    assert json.loads(manifest.read_text())["summary"]["entries_with_archive_members"] == 1
    known = tmp_path / "k.md5"
    known.write_text(digests(photo)["md5"] + "\n")
    out = tmp_path / "m.csv"
    assert run("match", manifest, "--hashset", known, "-o", out).exit_code == 0
    assert [(r["path"], r["member"]) for r in rows(out)] == [("holiday.jpg", "secret.jpg")]
