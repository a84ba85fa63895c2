"""`evidence verify` and `evidence export` as a user runs them: CliRunner and the installed entry point."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from evidence_cli.cli import cli
from evidence_cli.manifest import check_seal
from tests.custody import AWKWARD, AWKWARD_NEWLINE, flip_one_byte, make_tree

N_ENTRIES = len(AWKWARD) + len(AWKWARD_NEWLINE) + 3  # + two symlinks and a FIFO


def invoke(args: list[str], expect: int) -> Result:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == expect, result.output
    return result


@pytest.fixture
def case(tmp_path: Path) -> dict[str, Path]:
    """An evidence tree, its manifest written by the real `evidence scan`, a work folder."""
    tree = make_tree(tmp_path / "evidence")
    case_dir = tmp_path / "case"
    case_dir.mkdir()
    manifest = case_dir / "manifest.json"
    # Exit 1: the FIFO is recorded with a warning (never opened).
    scanned = invoke(["scan", str(tree), "--json", str(manifest), "--workers", "0", "--no-metadata", "-f", "json"], 1)
    (case_dir / "stdout.json").write_text(scanned.stdout, encoding="utf-8")
    return {"tree": tree, "manifest": manifest, "case": case_dir, "tmp": tmp_path}


def verify(case: dict[str, Path], *extra: str, expect: int, report: bool = True) -> tuple[Result, dict[str, Any]]:
    args = ["verify", str(case["manifest"]), *extra]
    out = case["case"] / "report.json"
    if report:
        args += ["--json", str(out), "--case", "2026-041", "--examiner", "J. Doe"]
    result = invoke(args, expect)
    doc = json.loads(out.read_text(encoding="utf-8")) if report else {}
    if doc:
        assert doc["result"]["exit_code"] == expect
        assert check_seal(doc).status == "valid"
        assert doc["case"] == {"case": "2026-041", "examiner": "J. Doe", "evidence_id": None}
    return result, doc


def statuses(doc: dict[str, Any]) -> dict[str, str]:
    return {e["path"]: e["status"] for e in doc["entries"] if e["status"] != "ok"}


def test_the_scan_export_is_a_sealed_manifest(case: dict[str, Path]) -> None:
    doc = json.loads(case["manifest"].read_text(encoding="utf-8"))
    assert check_seal(doc).status == "valid"
    assert len(doc["files"]) == N_ENTRIES
    # The same export on stdout (-f json) is sealed too.
    out = json.loads((case["case"] / "stdout.json").read_text(encoding="utf-8"))
    assert check_seal(out).status == "valid" and len(out["files"]) == N_ENTRIES


def test_untouched_evidence_verifies_from_another_folder(case: dict[str, Path], monkeypatch: Any) -> None:
    monkeypatch.chdir(case["tmp"])
    result, doc = verify(case, expect=0)
    assert result.stdout == ""  # nothing to list
    assert "Seal: valid" in result.stderr and "Result: PASSED" in result.stderr
    assert doc["result"]["outcome"] == "all-ok"
    assert doc["summary"]["by_status"]["ok"] == doc["summary"]["manifest_entries"] == N_ENTRIES
    assert doc["summary"]["all_ok"] is True
    m = doc["manifest"]
    assert m["path"] == str(case["manifest"]) and m["seal"]["status"] == "valid"
    assert m["sha256"] == __import__("hashlib").sha256(case["manifest"].read_bytes()).hexdigest()
    assert doc["verify"]["root"] == str(case["tree"]) and doc["verify"]["root_origin"] == "manifest"
    assert doc["verify"]["finished_utc"].endswith("Z") and doc["verify"]["host"]


def test_all_lists_ok_entries_too(case: dict[str, Path]) -> None:
    result, _ = verify(case, "--all", expect=0, report=False)
    lines = result.stdout.splitlines()
    assert len(lines) == N_ENTRIES and all(x.startswith("OK") for x in lines)
    assert "OK          new\\nline.txt" in lines  # escaped for the terminal


def test_moved_evidence_needs_root(case: dict[str, Path]) -> None:
    moved = case["tmp"] / "moved"
    os.rename(case["tree"], moved)
    result = invoke(["verify", str(case["manifest"])], 2)
    assert "--root" in result.stderr
    _, doc = verify(case, "--root", str(moved), expect=0)
    assert doc["verify"]["root_origin"] == "--root" and doc["verify"]["root"] == str(moved)


def test_one_byte_changed_size_and_mtime_restored(case: dict[str, Path]) -> None:
    name = "unicode-été-☃-📷.txt"
    flip_one_byte(case["tree"] / name)
    result, doc = verify(case, expect=1)
    assert statuses(doc) == {name: "modified"}
    entry = next(e for e in doc["entries"] if e["path"] == name)
    assert entry["changed"] == ["md5", "sha1", "sha256"]
    assert entry["expected"]["size"] == entry["actual"]["size"]
    size = entry["expected"]["size"]
    assert result.stdout == f"MODIFIED    {name}  (changed: md5, sha1, sha256; size {size} -> {size})\n"
    assert doc["summary"]["manifest_entries_by_status"]["modified"] == 1
    assert doc["result"]["outcome"] == "differences"


def test_a_touched_file_passes_and_is_listed_with_both_mtimes(case: dict[str, Path]) -> None:
    """Same bytes, another modification time: integrity holds (exit 0), the handling shows."""
    os.utime(case["tree"] / "plain.txt", ns=(0, 1_600_000_000_000_000_000))
    csv_path = case["case"] / "r.csv"
    result, doc = verify(case, "--csv", str(csv_path), expect=0)
    [line] = result.stdout.splitlines()
    entry = next(e for e in doc["entries"] if e["path"] == "plain.txt")
    recorded = entry["expected"]["fs_modified"]
    assert line == f"OK          plain.txt  (content unchanged; mtime {recorded} -> 2020-09-13T12:26:40Z)"
    assert entry["status"] == "ok" and entry["actual"]["fs_modified"] == "2020-09-13T12:26:40Z"
    assert "content unchanged" in entry["note"]
    assert f"{N_ENTRIES} ok (1 with another mtime), 0 modified" in result.stderr
    assert "Result: PASSED" in result.stderr and "1 file has the recorded content but not" in result.stderr
    assert doc["summary"]["ok_with_other_fs_modified"] == 1 and doc["summary"]["all_ok"] is True
    assert doc["result"]["outcome"] == "all-ok"
    with open(csv_path, encoding="utf-8", newline="") as fh:
        rows = {r["path"]: r for r in csv.DictReader(fh)}
    assert rows["plain.txt"]["expected_fs_modified"] == recorded
    assert rows["plain.txt"]["actual_fs_modified"] == "2020-09-13T12:26:40Z"
    assert rows["empty"]["expected_fs_modified"] == rows["empty"]["actual_fs_modified"] != ""


def test_deleted_file_is_missing(case: dict[str, Path]) -> None:
    os.remove(case["tree"] / "-leading-dash.txt")
    result, doc = verify(case, expect=1)
    assert statuses(doc) == {"-leading-dash.txt": "missing"}
    assert result.stdout == "MISSING     -leading-dash.txt\n"


def test_added_file_is_new(case: dict[str, Path]) -> None:
    (case["tree"] / "photos" / "IMG_9999.jpg").write_bytes(b"added later")
    result, doc = verify(case, expect=1)
    assert statuses(doc) == {"photos/IMG_9999.jpg": "new"}
    assert doc["summary"]["not_in_manifest"] == 1
    assert result.stdout == "NEW         photos/IMG_9999.jpg\n"


def test_renamed_file_is_moved(case: dict[str, Path]) -> None:
    tree = os.fsencode(case["tree"])
    os.rename(os.path.join(tree, b"back\\slash.txt"), os.path.join(tree, b"photos/renamed.txt"))
    result, doc = verify(case, expect=1)
    assert statuses(doc) == {"back\\slash.txt": "moved"}
    assert result.stdout == "MOVED       back\\slash.txt  ->  photos/renamed.txt\n"
    assert doc["summary"]["by_status"]["new"] == 0


def test_identical_copy_elsewhere_plus_deletion_is_still_missing(case: dict[str, Path]) -> None:
    os.remove(case["tree"] / "dup" / "a.txt")  # dup/b.txt has the same content and is in the manifest
    _, doc = verify(case, expect=1)
    assert statuses(doc) == {"dup/a.txt": "missing"}


def test_edited_manifest_hash_is_tampered(case: dict[str, Path]) -> None:
    text = case["manifest"].read_text(encoding="utf-8")
    doc = json.loads(text)
    old = next(r for r in doc["files"] if r["path"] == "plain.txt")["hashes"]["sha256"]
    new = ("0" if old[0] != "0" else "1") + old[1:]
    case["manifest"].write_text(text.replace(old, new), encoding="utf-8")
    result, report = verify(case, expect=2)
    assert "TAMPERED MANIFEST" in result.stderr and "Nothing was re-hashed" in result.stderr
    assert report["result"]["outcome"] == "tampered-manifest"
    assert report["manifest"]["seal"]["status"] == "invalid"
    assert report["entries"] == [] and report["summary"]["by_status"]["ok"] == 0


def test_no_report_inside_the_tree_of_a_tampered_manifest(case: dict[str, Path]) -> None:
    doc = json.loads(case["manifest"].read_text(encoding="utf-8"))
    doc["files"].pop()
    case["manifest"].write_text(json.dumps(doc), encoding="utf-8")
    result = invoke(["verify", str(case["manifest"]), "--json", str(case["tree"] / "r.json")], 2)
    assert "refusing to write" in result.stderr and not (case["tree"] / "r.json").exists()


def test_unreadable_manifest_is_exit_2_with_a_report(case: dict[str, Path]) -> None:
    case["manifest"].write_text("{not json", encoding="utf-8")
    result, report = verify(case, expect=2)
    assert "not valid JSON" in result.stderr
    assert report["result"]["outcome"] == "unreadable-manifest"
    assert "not valid JSON" in report["manifest"]["error"]


def test_reports_are_never_written_inside_the_evidence(case: dict[str, Path]) -> None:
    before = sorted(os.listdir(case["tree"]))
    result = invoke(["verify", str(case["manifest"]), "--csv", str(case["tree"] / "r.csv")], 2)
    assert "refusing to write" in result.stderr
    inside = str(case["tree"] / "r")
    result = invoke(["verify", str(case["manifest"]), "--root", str(case["tree"]), "--json", inside], 2)
    assert sorted(os.listdir(case["tree"])) == before


def test_json_report_to_stdout_and_csv_report(case: dict[str, Path]) -> None:
    os.remove(case["tree"] / "empty")
    csv_path = case["case"] / "r.csv"
    result = invoke(["verify", str(case["manifest"]), "--json", "-", "--csv", str(csv_path)], 1)
    doc = json.loads(result.stdout)
    assert statuses(doc) == {"empty": "missing"}
    with open(csv_path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == 1 + N_ENTRIES and rows[0][:3] == ["status", "in_manifest", "path"]
    assert ["missing", "true", "empty"] == next(r[:3] for r in rows if r[2] == "empty")


def test_a_sha256sum_list_as_manifest(case: dict[str, Path]) -> None:
    lst = case["case"] / "SHA256SUMS"
    invoke(["export", str(case["manifest"]), "--format", "sha256sum", "-o", str(lst)], 0)
    result = invoke(["verify", str(lst)], 2)
    assert "give --root DIR" in result.stderr
    result = invoke(["verify", str(lst), "--root", str(case["tree"]), "--json", str(case["case"] / "r.json")], 1)
    assert "Seal: not sealed (a sha256sum list has no seal)" in result.stderr
    doc = json.loads((case["case"] / "r.json").read_text(encoding="utf-8"))
    assert doc["manifest"]["seal"]["status"] == "not-sealed"
    assert statuses(doc) == {"a-fifo": "new", "link-outside": "new", "link-to-plain": "new"}


def test_a_list_of_names_from_all_over_the_system_asks_for_a_root(case: dict[str, Path]) -> None:
    """Absolute names whose only common folder is '/': verify walked and hashed the whole
    file system; it now asks for --root (exit 2) and reads nothing."""
    plain = case["tree"] / "plain.txt"
    digest = hashlib.sha256(plain.read_bytes()).hexdigest()
    lst = case["case"] / "SHA256SUMS"
    lst.write_text(f"{digest}  {plain}\n{digest}  /evidence-cli-nowhere/x\n", encoding="utf-8")
    result = invoke(["verify", str(lst)], 2)
    assert "share no folder but '/'" in result.stderr and "--root" in result.stderr


def test_a_list_of_another_algorithm_is_said_to_be_possible(case: dict[str, Path]) -> None:
    """A sum list only says how long its digests are: a b2sum -l 256 list read as SHA-256
    makes every file 'modified'. The result says the list may be of another algorithm;
    not when some file matches (then the others really differ)."""
    names = ["plain.txt", "empty", "dup/a.txt"]
    lst = case["case"] / "B2SUMS"

    def write(digest: Any) -> None:
        lst.write_text("".join(f"{digest((case['tree'] / n).read_bytes())}  {n}\n" for n in names), encoding="utf-8")

    write(lambda data: hashlib.blake2b(data, digest_size=32).hexdigest())
    report = case["case"] / "r.json"
    result = invoke(["verify", str(lst), "--root", str(case["tree"]), "--json", str(report)], 1)
    hint = "if the list was not made with sha256sum (digests of that length also come from b2sum -l 256"
    assert hint in result.stderr
    assert hint in json.loads(report.read_text(encoding="utf-8"))["result"]["message"]
    write(lambda data: hashlib.sha256(data if data != b"" else b"changed").hexdigest())  # one differs
    result = invoke(["verify", str(lst), "--root", str(case["tree"])], 1)
    assert "2 ok, 1 modified" in result.stderr and "not one listed file" not in result.stderr


def test_an_untagged_b2sum_list_is_verified_with_its_algorithm_named(case: dict[str, Path]) -> None:
    """b2sum writes its digests without naming them, as long as sha512sum's: read by their
    length, every file is 'modified', and the result says to give --algorithm blake2b.
    With it, the list is verified as BLAKE2b, and the report keeps that the examiner named
    the algorithm. A list made by b2sum itself when it is installed."""
    names = ["plain.txt", "empty", "dup/a.txt"]
    lst = case["case"] / "B2SUMS"
    if shutil.which("b2sum"):
        made = subprocess.run(["b2sum", *names], cwd=case["tree"], capture_output=True, check=True)
        lst.write_bytes(made.stdout)
    else:
        lst.write_text(
            "".join(f"{hashlib.blake2b((case['tree'] / n).read_bytes()).hexdigest()}  {n}\n" for n in names),
            encoding="utf-8",
        )
    result = invoke(["verify", str(lst), "--root", str(case["tree"])], 1)
    assert "3 manifest entries: 0 ok, 3 modified" in result.stderr
    assert "for a b2sum list, give --algorithm blake2b" in result.stderr
    report = case["case"] / "r.json"
    result = invoke(
        ["verify", str(lst), "--root", str(case["tree"]), "--algorithm", "blake2b", "--json", str(report)], 1
    )  # 1: the tree holds files the list does not name
    doc = json.loads(report.read_text(encoding="utf-8"))
    assert {e["path"]: e["status"] for e in doc["entries"] if e["path"] in names} == dict.fromkeys(names, "ok")
    assert doc["manifest"]["format"] == "b2sum"
    said = "their digests are read as blake2b, as the examiner said"
    assert said in result.stderr and any(said in n for n in doc["manifest"]["notes"])
    # A digest of another length, or a JSON export, is refused (exit 2), naming why.
    result = invoke(["verify", str(lst), "--root", str(case["tree"]), "--algorithm", "sha256"], 2)
    assert "line 1: a digest of 128 hex digits, where sha256 digests have 64" in result.stderr
    result = invoke(["verify", str(case["manifest"]), "--algorithm", "blake2b"], 2)
    assert "an algorithm is given only for a sum list" in result.stderr


# --- export ------------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_a_list_made_by_openssl_dgst_is_verified(case: dict[str, Path]) -> None:
    """`openssl dgst -sha256 FILES > list`, as examiners often make one: read and verified."""
    names = ["plain.txt", "empty", "dup/a.txt"]
    made = subprocess.run(["openssl", "dgst", "-sha256", *names], cwd=case["tree"], capture_output=True, check=True)
    lst = case["case"] / "list.openssl"
    lst.write_bytes(made.stdout)
    result = invoke(["verify", str(lst), "--root", str(case["tree"])], 1)  # 1: the tree holds other files
    assert "3 manifest entries: 3 ok, 0 modified" in result.stderr


def test_export_of_a_sum_list_states_its_algorithm(case: dict[str, Path]) -> None:
    """Exported to CSV, an untagged b2sum list's digests went into the sha512 column without
    a word: export now prints what it assumed (the algorithm read from the digests'
    length), and --algorithm blake2b puts them in the blake2b column."""
    blake = hashlib.blake2b((case["tree"] / "plain.txt").read_bytes()).hexdigest()
    lst = case["case"] / "B2SUMS"
    lst.write_text(f"{blake}  plain.txt\n", encoding="utf-8")

    def column(result: Result) -> str:
        rows = list(csv.DictReader(result.stdout.splitlines()))
        assert len(rows) == 1 and rows[0]["path"] == "plain.txt"
        return next(k for k, v in rows[0].items() if v == blake)

    result = invoke(["export", str(lst), "-f", "csv"], 0)
    assert column(result) == "sha512"
    assert "Note: its lines do not name their algorithm: their digests are read as sha512, by their length" in (
        result.stderr
    )
    result = invoke(["export", str(lst), "-f", "csv", "--algorithm", "blake2b"], 0)
    assert column(result) == "blake2b"
    assert "their digests are read as blake2b, as the examiner said" in result.stderr
    result = invoke(["export", str(case["manifest"]), "-f", "csv", "--algorithm", "md5"], 2)
    assert "an algorithm is given only for a sum list" in result.stderr


def test_export_to_stdout_and_file(case: dict[str, Path]) -> None:
    result = invoke(["export", str(case["manifest"]), "-f", "md5sum"], 0)
    assert result.stdout_bytes.count(b"\n") == len(AWKWARD) + len(AWKWARD_NEWLINE)
    line = next(x for x in result.stdout_bytes.split(b"\n") if x.endswith(b"  new\\nline.txt"))
    assert line.startswith(b"\\")  # GNU: an escaped name marks its line with a leading backslash
    out = case["case"] / "list.sha256"
    result = invoke(["export", str(case["manifest"]), "--format", "sha256sum", "-o", str(out)], 0)
    assert f"Wrote {len(AWKWARD) + len(AWKWARD_NEWLINE)} entries (sha256sum)" in result.stderr
    assert f"cd {case['tree']} && sha256sum -c {out}" in result.stderr


def test_export_hashdeep_refuses_newline_names(case: dict[str, Path]) -> None:
    out = case["case"] / "known.hashdeep"
    result = invoke(["export", str(case["manifest"]), "--format", "hashdeep", "-o", str(out)], 2)
    assert "cannot carry a newline" in result.stderr and "'new\\nline.txt'" in result.stderr
    assert not out.exists()


def test_export_csv_of_an_unreadable_record_leaves_no_csv(case: dict[str, Path]) -> None:
    # To a file, the records are read once and written as they come: the file is removed
    # when record 3 cannot be read. To stdout, they are all checked before anything is written.
    doc = json.loads(case["manifest"].read_text(encoding="utf-8"))
    doc.pop("seal")
    doc["files"][2]["timestamps"] = ["2020"]
    case["manifest"].write_text(json.dumps(doc), encoding="utf-8")
    out = case["case"] / "x.csv"
    result = invoke(["export", str(case["manifest"]), "-f", "csv", "--allow-unsealed", "-o", str(out)], 2)
    assert "record 3 is not a record this version reads" in result.stderr
    assert "the incomplete file was removed" in result.stderr and not out.exists()
    result = invoke(["export", str(case["manifest"]), "-f", "csv", "--allow-unsealed"], 2)
    assert "record 3 is not a record this version reads" in result.stderr and result.stdout_bytes == b""
    del doc["files"][2]["timestamps"]
    case["manifest"].write_text(json.dumps(doc), encoding="utf-8")
    invoke(["export", str(case["manifest"]), "-f", "csv", "--allow-unsealed", "-o", str(out)], 0)
    rows = list(csv.DictReader(out.open(encoding="utf-8", newline="")))
    assert len(rows) == len(doc["files"])


def test_export_refuses_a_tampered_manifest_and_the_evidence_folder(case: dict[str, Path]) -> None:
    result = invoke(["export", str(case["manifest"]), "-f", "csv", "-o", str(case["tree"] / "x.csv")], 2)
    assert "refusing to write" in result.stderr
    doc = json.loads(case["manifest"].read_text(encoding="utf-8"))
    doc["files"].pop()
    case["manifest"].write_text(json.dumps(doc), encoding="utf-8")
    result = invoke(["export", str(case["manifest"]), "-f", "sha256sum"], 2)
    assert "tampered" in result.stderr and result.stdout_bytes == b""


def test_help_texts_have_examples() -> None:
    for cmd in ("verify", "export"):
        text = invoke([cmd, "--help"], 0).stdout
        assert "Example:" in text and f"evidence {cmd} manifest.json" in text
    top = invoke(["--help"], 0).stdout
    assert "verify" in top and "export" in top


# --- the installed entry point -------------------------------------------------------------------


def _entry_point() -> list[str]:
    exe = shutil.which("evidence") or str(Path(sys.executable).with_name("evidence"))
    if not os.path.exists(exe):
        pytest.skip("the `evidence` entry point is not installed (pip install -e .)")
    return [exe]


def test_installed_entry_point_end_to_end(tmp_path: Path) -> None:
    evidence = _entry_point()
    tree = make_tree(tmp_path / "evidence")
    work = tmp_path / "work"
    work.mkdir()
    manifest = work / "m.json"

    def run(*args: str, cwd: Path = work) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([*evidence, *args], cwd=cwd, capture_output=True, timeout=120, check=False)

    scanned = run("scan", str(tree), "--json", "m.json", "--workers", "0", "--no-metadata", "-f", "json")
    assert scanned.returncode == 1, scanned.stderr  # 1: the FIFO, recorded with a warning
    ok = run("verify", str(manifest), cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert b"Result: PASSED" in ok.stderr
    moved = tmp_path / "moved"
    os.rename(tree, moved)
    (moved / "dup" / "new.txt").write_bytes(b"new")
    changed = run("verify", "m.json", "--root", str(moved))
    assert changed.returncode == 1 and changed.stdout == b"NEW         dup/new.txt\n", changed.stderr
    manifest.write_text(manifest.read_text(encoding="utf-8").replace('"size": 6', '"size": 7', 1), encoding="utf-8")
    tampered = run("verify", "m.json", "--root", str(moved))
    assert tampered.returncode == 2 and b"TAMPERED MANIFEST" in tampered.stderr


def test_a_csv_report_given_for_a_manifest_is_refused_with_what_to_give(case: dict[str, Path]) -> None:
    """`evidence verify report.csv` (the scan's or verify's own CSV): a clear refusal that
    names the JSON export, not "line 1 is not a hash-list line"."""
    scan_csv = case["case"] / "report.csv"
    invoke(["scan", str(case["tree"]), "--csv", str(scan_csv), "--workers", "0", "--no-metadata", "-f", "json"], 1)
    verify_csv = case["case"] / "verify.csv"
    invoke(["verify", str(case["manifest"]), "--csv", str(verify_csv)], 0)
    for report, what in ((scan_csv, "the CSV report of `evidence scan`"), (verify_csv, "of `evidence verify`")):
        result = invoke(["verify", str(report)], 2)
        assert what in result.output and "verify the scan's JSON export" in result.output, result.output
