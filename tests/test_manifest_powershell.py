"""Lists made on Windows: PowerShell's ``Get-FileHash | Export-Csv`` (Windows PowerShell
5.1 and PowerShell 7), ``ConvertTo-Csv > file`` (UTF-16), hashdeep run on Windows, and
byte-order marks on any list."""

from __future__ import annotations

import codecs
import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from evidence_cli import manifest
from evidence_cli.cli import cli
from evidence_cli.errors import ManifestError
from evidence_cli.manifest import read_manifest
from evidence_cli.verify import verify


@pytest.fixture(autouse=True, params=["1-byte pieces", "7-byte pieces", "as in use"])
def pieces(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lists read in 1-byte and 7-byte pieces too: a byte-order mark, a UTF-16 character
    or a line cut between two reads must not matter."""
    if request.param != "as in use":
        monkeypatch.setattr(manifest, "_CHUNK", int(request.param.split("-")[0]))


FILES = {"a.txt": b"hello", "sub/B.jpg": b"\xff\xd8\xffx", "sub/deep/Chat 1.log": b"log\n"}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "copy"
    for rel, data in FILES.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


def rows(algorithm: str = "SHA256", folder: str = "C:\\Users\\Ann\\Evidence\\") -> list[tuple[str, str, str]]:
    new = {"SHA256": hashlib.sha256, "MD5": hashlib.md5, "SHA1": hashlib.sha1, "SHA512": hashlib.sha512}[algorithm]
    sep = "/" if folder.startswith("/") else "\\"
    return [(algorithm, new(data).hexdigest().upper(), folder + rel.replace("/", sep)) for rel, data in FILES.items()]


def ps51(lines: list[tuple[str, str, str]], type_name: str = "Microsoft.Powershell.Utility.FileHash") -> str:
    """Windows PowerShell 5.1's Export-Csv: a #TYPE line, every field quoted, CRLF."""
    out = f"#TYPE {type_name}\r\n" + '"Algorithm","Hash","Path"\r\n'
    return out + "".join(f'"{a}","{h}","{p}"\r\n' for a, h, p in lines)


def ps7(lines: list[tuple[str, str, str]]) -> str:
    """PowerShell 7's Export-Csv: no #TYPE line, every field quoted."""
    return '"Algorithm","Hash","Path"\n' + "".join(f'"{a}","{h}","{p}"\n' for a, h, p in lines)


def write(tmp_path: Path, data: str | bytes, name: str = "hashes.csv") -> Path:
    p = tmp_path / name
    p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return p


def all_ok(manifest_path: Path, root: Path, algorithm: str | None = None) -> None:
    m = read_manifest(str(manifest_path), algorithm=algorithm)
    results = list(verify(m, str(root)))
    assert {r.status for r in results} == {"ok"}, [(r.path, r.status) for r in results]
    assert sorted(r.path for r in results) == sorted(FILES)


def test_windows_powershell_51_export_is_read_relative_to_its_common_folder(tmp_path: Path, tree: Path) -> None:
    m = read_manifest(str(write(tmp_path, ps51(rows()))))
    assert m.format == "get-filehash"
    assert m.seal.status == "not-sealed"
    assert sorted(e.rel for e in m.entries) == sorted(k.encode() for k in FILES)
    assert all(set(e.hashes) == {"sha256"} and e.hashes["sha256"].islower() for e in m.entries)
    # Its folder is one of the machine that made it: nothing of this one is taken for it.
    assert m.base is None and m.foreign_base == "C:\\Users\\Ann\\Evidence"
    assert any("Windows paths under C:\\Users\\Ann\\Evidence" in n for n in m.notes)
    all_ok(write(tmp_path, ps51(rows())), tree)


@pytest.mark.parametrize("algorithm", ["MD5", "SHA1", "SHA512"])
def test_other_algorithms_of_get_filehash(tmp_path: Path, tree: Path, algorithm: str) -> None:
    p = write(tmp_path, ps7(rows(algorithm)))
    assert read_manifest(str(p)).algorithms() == (algorithm.lower(),)
    all_ok(p, tree)


@pytest.mark.parametrize(
    "encoding", ["utf-8-sig", "utf-16", "utf-16-le-bom", "utf-16-be-bom"], ids=["bom", "u16", "u16le", "u16be"]
)
def test_byte_order_marks_and_utf16(tmp_path: Path, tree: Path, encoding: str) -> None:
    """Export-Csv -Encoding UTF8 (5.1) writes a BOM; ``ConvertTo-Csv > file`` writes UTF-16."""
    text = ps51(rows())
    if encoding == "utf-16-le-bom":
        data = codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    elif encoding == "utf-16-be-bom":
        data = codecs.BOM_UTF16_BE + text.encode("utf-16-be")
    else:
        data = text.encode(encoding)
    all_ok(write(tmp_path, data), tree)


def test_a_sum_list_and_a_hashdeep_file_with_a_byte_order_mark_are_read(tmp_path: Path, tree: Path) -> None:
    """Notepad and ``Out-File -Encoding UTF8`` put a BOM first: it was read as part of the
    first line, and the list refused."""
    sums = "".join(f"{hashlib.sha256(d).hexdigest()}  {rel}\n" for rel, d in FILES.items())
    all_ok(write(tmp_path, sums.encode("utf-8-sig"), "SHA256SUMS"), tree)
    utf16 = codecs.BOM_UTF16_LE + sums.replace("\n", "\r\n").encode("utf-16-le")
    all_ok(write(tmp_path, utf16, "SHA256SUMS-16"), tree)
    deep = "%%%% HASHDEEP-1.0\n%%%% size,md5,filename\n## Invoked from: /x\n" + "".join(
        f"{len(d)},{hashlib.md5(d).hexdigest()},{rel}\n" for rel, d in FILES.items()
    )
    all_ok(write(tmp_path, deep.encode("utf-8-sig"), "list.hashdeep"), tree)


def test_a_json_export_in_utf16_is_refused(tmp_path: Path) -> None:
    p = write(tmp_path, '{"schema": "evidence-cli/scan/1"}'.encode("utf-16"), "m.json")
    with pytest.raises(ManifestError, match="UTF-16"):
        read_manifest(str(p))


def test_folders_are_compared_without_regard_to_case_as_windows_does(tmp_path: Path, tree: Path) -> None:
    lines = rows()
    lines[1] = (lines[1][0], lines[1][1], lines[1][2].replace("Users\\Ann\\Evidence", "users\\ANN\\evidence"))
    m = read_manifest(str(write(tmp_path, ps51(lines))))
    assert m.foreign_base == "C:\\Users\\Ann\\Evidence"
    all_ok(write(tmp_path, ps51(lines)), tree)


@pytest.mark.parametrize(
    ("folder", "shown"),
    [
        ("\\\\server\\share\\case 7\\", "\\\\server\\share\\case 7"),
        ("\\\\?\\D:\\Case\\", "D:\\Case"),
        ("\\\\?\\UNC\\nas\\cases\\", "\\\\nas\\cases"),
        ("d:/Case/", "D:\\Case"),
    ],
)
def test_shares_long_paths_and_forward_slashes(tmp_path: Path, tree: Path, folder: str, shown: str) -> None:
    p = write(tmp_path, ps7(rows(folder=folder)))
    assert read_manifest(str(p)).foreign_base == shown
    all_ok(p, tree)


def test_files_at_the_top_of_a_drive(tmp_path: Path, tree: Path) -> None:
    p = write(tmp_path, ps7(rows(folder="E:\\")))
    assert read_manifest(str(p)).foreign_base == "E:\\"
    all_ok(p, tree)


def test_powershell_on_linux_writes_posix_paths_whose_folder_is_the_root(tmp_path: Path, tree: Path) -> None:
    p = write(tmp_path, ps7(rows(folder=str(tree) + "/")))
    m = read_manifest(str(p))
    assert m.base == bytes(tree) and m.foreign_base is None
    results = list(verify(m, None))
    assert {r.status for r in results} == {"ok"}


def test_hash_and_path_alone_are_read_by_length_or_as_the_examiner_says(tmp_path: Path, tree: Path) -> None:
    """``Get-FileHash * | Select-Object Hash, Path | Export-Csv``: no Algorithm column."""
    text = '"Hash","Path"\n' + "".join(f'"{h}","{p}"\n' for _, h, p in rows("MD5"))
    p = write(tmp_path, text)
    m = read_manifest(str(p))
    assert m.algorithms() == ("md5",)
    assert any("read as md5, by their length" in n for n in m.notes)
    all_ok(p, tree)
    with pytest.raises(ManifestError, match="line 2: sha256 digest '5D41402ABC4B2A76B9719D911017C592' is not 64"):
        read_manifest(str(p), algorithm="sha256")
    blake = '"Hash","Path"\n' + "".join(
        f'"{hashlib.blake2b(d).hexdigest()}","C:\\E\\{rel}"\n' for rel, d in FILES.items()
    )
    p = write(tmp_path, blake, "b.csv")
    assert read_manifest(str(p), algorithm="blake2b").algorithms() == ("blake2b",)
    all_ok(p, tree, algorithm="blake2b")


def test_a_column_order_and_extra_columns_of_the_examiner(tmp_path: Path, tree: Path) -> None:
    text = "Path,Size,Hash,Algorithm\n" + "".join(f"{p},5,{h},{a}\n" for a, h, p in rows())
    all_ok(write(tmp_path, text), tree)


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_use_culture_and_other_delimiters(tmp_path: Path, tree: Path, delimiter: str) -> None:
    """``Export-Csv -UseCulture`` writes ``;`` in much of Europe; ``-Delimiter`` any other."""
    for text in (ps51(rows()), ps7(rows())):
        all_ok(write(tmp_path, text.replace('","', '"' + delimiter + '"')), tree)


def test_two_exports_joined_into_one_file(tmp_path: Path, tree: Path) -> None:
    """``type a.csv b.csv > all.csv``: the second header (and #TYPE line) is not a row."""
    lines = rows()
    all_ok(write(tmp_path, ps51(lines[:1]) + ps51(lines[1:])), tree)
    all_ok(write(tmp_path, ps7(lines[:2]) + ps7(lines[2:])), tree)


def test_a_huge_hash_field_is_not_echoed_whole(tmp_path: Path) -> None:
    p = write(tmp_path, '"Algorithm","Hash","Path"\n"SHA256","' + "Z" * 100_000 + '","C:\\x"\n')
    with pytest.raises(ManifestError, match=r"line 2: sha256 digest 'ZZZ+\.\.\. \(100000 long\) is not 64") as info:
        read_manifest(str(p))
    assert len(str(info.value)) < 300


def test_question_marks_say_the_list_lost_characters(tmp_path: Path) -> None:
    """Windows PowerShell 5.1's Export-Csv writes ASCII: a name with ``é`` becomes ``?``,
    which no Windows name can hold. The file then shows as missing; the note says why."""
    lines = rows()
    lines.append(("SHA256", "A" * 64, "C:\\Users\\Ann\\Evidence\\caf?.jpg"))
    m = read_manifest(str(write(tmp_path, ps51(lines))))
    assert any(n.startswith("1 of its names hold '?'") for n in m.notes)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (ps51(rows("SHA256")).replace('"SHA256"', '"SHA384"', 1), "line 3: SHA384 digests .* are not computed"),
        (ps7(rows()).replace('"SHA256"', '"CRC32"', 1), "line 2: 'CRC32' is not an algorithm of Get-FileHash"),
        (ps7(rows()[:1] + rows("MD5")[1:]), "line 3: an md5 digest in a list of sha256 digests"),
        (ps7(rows()[:1] + rows(folder="D:\\x\\")[1:]), r"more than one drive or share \(C:, D:\)"),
        (ps7(rows()[:1] + rows(folder="/mnt/x/")[1:]), "line 3: not a full Windows path"),
        (ps7(rows(folder="Evidence\\")), "line 2: 'Evidence\\\\\\\\a.txt' is not a full path"),
        (ps7(rows(folder="C:Evidence\\")), "is not a full path"),
        (ps7(rows(folder="C:\\..\\")), "climbs out of a folder"),
        (ps7(rows(folder="C:\\x\x1b[2J\\")), "holds a control character"),
        ('"Algorithm","Hash","Path"\n"SHA256","' + "0" * 64 + '","C:\\"\n', "names a drive or share"),
        ('"Algorithm","Hash","Path"\n"SHA256","' + "0" * 64 + '",""\n', "line 2: the Path is empty"),
        ('"Algorithm","Hash","Path"\n"SHA256","' + "0" * 63 + '","C:\\x"\n', "line 2: sha256 digest .* is not 64"),
        ('"Algorithm","Hash","Path"\n"SHA256","x"\n', "line 2: 2 fields, where the header names 3"),
        ('"Algorithm","Hash","Path"\n"SHA256","' + "0" * 64 + '","C:\\a\n', "line 2 is not a CSV line"),
        ("#TYPE Microsoft.Powershell.Utility.FileHash\nName,Length\nx,1\n", "names no Hash and Path columns"),
        ('"Algorithm","Hash","Path"\n', "holds no hash row"),
        ('"Hash","Path"\n"' + "0" * 40 + "0" * 7 + '","C:\\x"\n', "a digest of 47 characters is no digest"),
    ],
)
def test_what_is_refused_says_where_and_why(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        read_manifest(str(write(tmp_path, text)))


def test_bad_utf16_is_refused(tmp_path: Path) -> None:
    for data, message in [
        (codecs.BOM_UTF16_LE + "x".encode("utf-16-le") + b"\x00\xd8", "not UTF-16 text|lone surrogate"),
        (codecs.BOM_UTF16_LE + b"\x00\xd8\x41\x00" * 2, "not UTF-16|lone surrogate"),
        (codecs.BOM_UTF16_LE + b"a", r"not UTF-16 text \(byte 2\)"),
    ]:
        with pytest.raises(ManifestError, match=message):
            read_manifest(str(write(tmp_path, data)))


def test_a_sum_list_whose_names_hold_commas_is_still_a_sum_list(tmp_path: Path) -> None:
    p = write(tmp_path, hashlib.sha256(b"").hexdigest() + "  x,Hash,Path\n", "SHA256SUMS")
    m = read_manifest(str(p))
    assert m.format == "sha256sum" and m.entries[0].rel == b"x,Hash,Path"


def test_verify_and_export_from_the_command_line(tmp_path: Path, tree: Path) -> None:
    p = write(tmp_path, ps51(rows()))
    runner = CliRunner()
    r = runner.invoke(cli, ["verify", str(p)])
    assert r.exit_code == 2
    assert "names are under C:\\Users\\Ann\\Evidence, a folder of the machine that made it: give --root" in r.output
    report = tmp_path / "report.json"
    r = runner.invoke(cli, ["verify", str(p), "--root", str(tree), "--json", str(report)])
    assert r.exit_code == 0, r.output
    assert "Windows paths under C:\\Users\\Ann\\Evidence" in r.output
    doc = json.loads(report.read_text(encoding="utf-8"))
    assert doc["manifest"]["format"] == "get-filehash"
    assert any("Windows paths" in n for n in doc["manifest"]["notes"])
    (tree / "sub" / "B.jpg").write_bytes(b"changed")
    r = runner.invoke(cli, ["verify", str(p), "--root", str(tree)])
    assert r.exit_code == 1 and "MODIFIED" in r.output and "sub/B.jpg" in r.output
    out = tmp_path / "SHA256SUMS"
    r = runner.invoke(cli, ["export", str(p), "-f", "sha256sum", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_text(encoding="utf-8").splitlines()[0] == f"{hashlib.sha256(b'hello').hexdigest()}  a.txt"


def hashdeep_windows(invoked: str | None, folder: str) -> str:
    """hashdeep run on Windows: its folder and names in Windows form, CRLF."""
    out = "%%%% HASHDEEP-1.0\r\n%%%% size,md5,sha256,filename\r\n"
    if invoked is not None:
        out += f"## Invoked from: {invoked}\r\n## {invoked}> hashdeep -r .\r\n##\r\n"
    return out + "".join(
        f"{len(d)},{hashlib.md5(d).hexdigest()},{hashlib.sha256(d).hexdigest()},{folder}{rel.replace('/', chr(92))}\r\n"
        for rel, d in FILES.items()
    )


@pytest.mark.parametrize(
    ("invoked", "folder", "shown"),
    [
        ("C:\\Users\\Ann\\Evidence", "C:\\Users\\Ann\\Evidence\\", "C:\\Users\\Ann\\Evidence"),
        ("C:\\Users\\Ann", "C:\\Users\\Ann\\Evidence\\", "C:\\Users\\Ann"),  # its folder, as on Linux
        (None, "E:\\Evidence\\", "E:\\Evidence"),
        ("C:\\Users\\Ann\\Evidence", "", "C:\\Users\\Ann\\Evidence"),  # hashdeep -l: relative names
        ("C:\\Users\\Ann\\Evidence", ".\\", "C:\\Users\\Ann\\Evidence"),
        ("E:\\", "", "E:\\"),  # run at the top of a drive, -l
        ("\\\\nas\\case\\", "", "\\\\nas\\case"),
    ],
)
def test_hashdeep_run_on_windows(tmp_path: Path, tree: Path, invoked: str | None, folder: str, shown: str) -> None:
    p = write(tmp_path, hashdeep_windows(invoked, folder), "list.hashdeep")
    m = read_manifest(str(p))
    assert m.format == "hashdeep" and m.base is None and m.foreign_base == shown
    if shown == "C:\\Users\\Ann":
        (tree.parent / "above").mkdir()
        tree.rename(tree.parent / "above" / "Evidence")
        tree = tree.parent / "above"
        assert sorted(e.rel for e in m.entries)[0] == b"Evidence/a.txt"
    results = list(verify(m, str(tree)))
    assert {r.status for r in results} == {"ok"}, [(r.path, r.status) for r in results]


@pytest.mark.parametrize(
    ("invoked", "folder", "message"),
    [
        ("C:\\E", "\\Users\\", "neither a full Windows path nor a relative one"),
        ("C:\\E", "D:x\\", "holds ':' in a name"),
        ("C:\\E", "..\\", "climbs out of a folder"),
    ],
)
def test_what_hashdeep_on_windows_never_writes_is_refused(
    tmp_path: Path, invoked: str, folder: str, message: str
) -> None:
    with pytest.raises(ManifestError, match=message):
        read_manifest(str(write(tmp_path, hashdeep_windows(invoked, folder), "list.hashdeep")))


@pytest.mark.parametrize("style", ["md5deep", "gnu-escaped", "tag", "openssl"])
def test_a_sum_list_of_full_windows_paths_is_read_as_made_on_windows(tmp_path: Path, tree: Path, style: str) -> None:
    """``md5deep -r C:\\Case`` (``hash  C:\\Case\\x``), GNU md5sum there (backslashes escaped),
    ``--tag`` and ``openssl dgst`` lines: every name a full Windows path."""
    lines = []
    for rel, data in FILES.items():
        digest, name = hashlib.md5(data).hexdigest(), "C:\\Case\\" + rel.replace("/", "\\")
        lines.append(
            {
                "md5deep": f"{digest}  {name}",
                "gnu-escaped": "\\" + digest + "  " + name.replace("\\", "\\\\"),
                "tag": f"MD5 ({name}) = {digest}",
                "openssl": f"MD5({name})= {digest}",
            }[style]
        )
    p = write(tmp_path, "\r\n".join(lines) + "\r\n", "MD5SUMS")
    m = read_manifest(str(p))
    assert m.format == "md5sum" and m.base is None and m.foreign_base == "C:\\Case"
    assert not any("backslashes" in n for n in m.notes)
    all_ok(p, tree)


def test_relative_names_with_backslashes_stay_names(tmp_path: Path) -> None:
    """Only full Windows paths say where a list was made: a relative name may hold a
    backslash on Linux, and stays as it is (with the note that says so); so does a
    folder named ``C:`` (some tools export a drive so)."""
    p = write(tmp_path, f"{hashlib.md5(b'').hexdigest()}  sub\\a.txt\n", "MD5SUMS")
    m = read_manifest(str(p))
    assert m.entries[0].rel == b"sub\\a.txt" and m.foreign_base is None
    assert any("backslashes" in n for n in m.notes)
    p = write(tmp_path, f"{hashlib.md5(b'').hexdigest()}  C:/Users/a.txt\n", "MD5SUMS")
    m = read_manifest(str(p))
    assert m.entries[0].rel == b"C:/Users/a.txt" and m.foreign_base is None


def test_names_in_a_windows_code_page_are_noted(tmp_path: Path) -> None:
    p = write(tmp_path, hashlib.md5(b"").hexdigest().encode() + b"  C:\\Case\\caf\xe9.jpg\r\n", "MD5SUMS")
    m = read_manifest(str(p))
    assert m.entries[0].rel == b"caf\xe9.jpg"
    assert any(n.startswith("1 of its names are not UTF-8") for n in m.notes)
