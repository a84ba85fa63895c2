"""`evidence scan` as an examiner uses it: exports, exit codes, usage errors, never a traceback."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from jsonschema import Draft202012Validator

from evidence_cli import __version__, components, engine
from evidence_cli.cli import cli
from evidence_cli.hashing import hash_bytes
from evidence_cli.manifest import check_seal
from evidence_cli.models import FileRecord
from evidence_cli.schema import definition_schema, load_schema
from evidence_cli.writers.csv_out import COLUMN_NAMES

EXPORT = Draft202012Validator(load_schema())
RECORD = Draft202012Validator(definition_schema("file_record"))
HEADER = Draft202012Validator(definition_schema("jsonl_header"))
CLOSING = Draft202012Validator(definition_schema("jsonl_closing"))
FAST = ["--workers", "0"]  # in-process: the same pipeline without worker start-up


def run(*args: Any, ok: bool = True) -> Result:
    """Invoke the CLI; when success is expected, let exceptions through."""
    return CliRunner().invoke(
        cli, [str(a) for a in args], catch_exceptions=not ok, terminal_width=100, prog_name="evidence"
    )


def expect(result: Result, code: int) -> None:
    assert result.exit_code == code, f"exit {result.exit_code}, wanted {code}\n{result.output}"
    assert "Traceback" not in result.output, result.output


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    t = tmp_path / "evidence"
    (t / "sub").mkdir(parents=True)
    (t / "a.txt").write_text("hello evidence\n")
    (t / "sub" / "b.txt").write_text("second file, in a folder\n")
    (t / "link").symlink_to("a.txt")
    return t


def errors(v: Draft202012Validator, doc: Any) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in v.iter_errors(doc)]


# --- exports -------------------------------------------------------------------------


def test_json_export_to_a_file(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    r = run("scan", tree, "--json", out, *FAST)
    expect(r, 0)
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert errors(EXPORT, doc) == []
    assert [f["path"] for f in doc["files"]] == ["a.txt", "link", "sub/b.txt"]
    assert doc["files"][0]["hashes"] == hash_bytes(b"hello evidence\n")
    assert "Evidence scan" in r.stdout, "the table still goes to stdout"
    assert "3 entries" in r.stderr, "the summary goes to stderr"


def test_default_run_with_worker_processes(tree: Path) -> None:
    r = run("scan", tree, "-f", "json")
    expect(r, 0)
    doc = json.loads(r.stdout)
    assert errors(EXPORT, doc) == []
    assert [f["path"] for f in doc["files"]] == ["a.txt", "link", "sub/b.txt"]


@pytest.mark.parametrize("option", ["--json", "--jsonl", "--csv"])
def test_each_export_to_stdout(tree: Path, option: str) -> None:
    r = run("scan", tree, option, "-", *FAST)
    expect(r, 0)
    assert "Evidence scan" not in r.stdout, "stdout holds only the export"
    if option == "--json":
        doc = json.loads(r.stdout)
        assert errors(EXPORT, doc) == [] and len(doc["files"]) == 3
    elif option == "--jsonl":
        rows = [json.loads(line) for line in r.stdout.splitlines()]
        assert errors(HEADER, rows[0]) == [] and errors(CLOSING, rows[-1]) == []
        assert [errors(RECORD, x) for x in rows[1:-1]] == [[], [], []]
    else:
        rows = list(csv.reader(io.StringIO(r.stdout, newline="")))
        assert rows[0] == COLUMN_NAMES and len(rows) == 4


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv"])
def test_format_option_prints_an_export(tree: Path, fmt: str) -> None:
    r = run("scan", tree, "-f", fmt, *FAST)
    expect(r, 0)
    assert "a.txt" in r.stdout and "Evidence scan" not in r.stdout


def test_all_exports_in_one_run_agree(tree: Path, tmp_path: Path) -> None:
    j, jl, c = tmp_path / "o.json", tmp_path / "o.jsonl", tmp_path / "o.csv"
    expect(run("scan", tree, "--json", j, "--jsonl", jl, "--csv", c, *FAST), 0)
    doc = json.loads(j.read_text(encoding="utf-8"))
    rows = [json.loads(line) for line in jl.read_text(encoding="utf-8").splitlines()]
    assert doc["files"] == rows[1:-1]
    table = list(csv.DictReader(io.StringIO(c.read_text(encoding="utf-8"), newline="")))
    assert [x["path"] for x in table] == [f["path"] for f in doc["files"]]
    assert [x["sha256"] for x in table] == [f["hashes"].get("sha256", "") for f in doc["files"]]


def test_hash_choice(tree: Path) -> None:
    r = run("scan", tree / "a.txt", "--hash", "sha512,blake2b", "-f", "json", *FAST)
    expect(r, 0)
    (f,) = json.loads(r.stdout)["files"]
    assert f["hashes"] == hash_bytes(b"hello evidence\n", ["sha512", "blake2b"])
    r2 = run("scan", tree / "a.txt", "--hash", "SHA-256", "--hash", "md5", "-f", "json", *FAST)
    expect(r2, 0)
    assert list(json.loads(r2.stdout)["files"][0]["hashes"]) == ["sha256", "md5"]


def test_case_fields_in_the_header(tree: Path) -> None:
    r = run("scan", tree, "-f", "jsonl", "--case", "2026-041", "--examiner", "J. Doe", "--evidence-id", "EV-7", *FAST)
    expect(r, 0)
    header = json.loads(r.stdout.splitlines()[0])
    assert header["case"] == {"case": "2026-041", "examiner": "J. Doe", "evidence_id": "EV-7"}
    assert header["tool"] == {"name": "evidence-cli", "version": __version__, "components": components.current()}
    assert header["scan"]["roots"] == [str(tree)]


def test_no_metadata(tree: Path) -> None:
    r = run("scan", tree / "a.txt", "--no-metadata", "-f", "json", *FAST)
    expect(r, 0)
    (f,) = json.loads(r.stdout)["files"]
    assert f["metadata"] == {} and f["hashes"] and f["mime"] == "text/plain"


def test_csv_raw_turns_neutralisation_off(tmp_path: Path) -> None:
    t = tmp_path / "t"
    t.mkdir()
    (t / "=1+1.txt").write_text("formula-looking name\n")
    safe = run("scan", t, "--csv", "-", *FAST)
    expect(safe, 0)
    raw = run("scan", t, "--csv", "-", "--csv-raw", *FAST)
    expect(raw, 0)
    assert list(csv.DictReader(io.StringIO(safe.stdout)))[0]["path"] == "'=1+1.txt"
    assert list(csv.DictReader(io.StringIO(raw.stdout)))[0]["path"] == "=1+1.txt"


def test_table_limit(tmp_path: Path) -> None:
    t = tmp_path / "t"
    t.mkdir()
    for i in range(5):
        (t / f"f{i}.txt").write_text(f"file number {i}\n")
    r = run("scan", t, "--table-limit", "2", "--width", "200", *FAST)
    expect(r, 0)
    assert "f1.txt" in r.stdout and "f2.txt" not in r.stdout
    assert "3 more entries" in r.stdout


# --- exit codes ------------------------------------------------------------------------


def test_exit_1_when_a_record_has_errors(tree: Path) -> None:
    os.mkfifo(tree / "pipe")  # recorded with a warning, never opened
    r = run("scan", tree, "-f", "json", *FAST)
    expect(r, 1)
    doc = json.loads(r.stdout)
    assert doc["summary"]["entries_with_errors"] == 1
    assert [f["path"] for f in doc["files"] if f["errors"]] == ["pipe"]


def test_summary_line_counts_warnings_apart_from_errors(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The terminal's summary says how many entries hold an error and how many only
    warnings (the table's ERR:n and WARN:n); the JSON summary and the exit status count
    both, as before."""
    os.mkfifo(tree / "pipe")  # a warning only: recorded, not opened
    r = run("scan", tree, "--width", "200", *FAST)
    expect(r, 1)
    assert "0 with errors, 1 with warnings only, 0 with findings" in " ".join(r.stderr.split())

    from evidence_cli.extractors.filesystem import FilesystemExtractor

    def broken(self: Any, ctx: Any) -> Any:
        if ctx.rel_path.endswith("a.txt"):
            raise RuntimeError("reader failed")
        return real(self, ctx)

    real = FilesystemExtractor.extract
    monkeypatch.setattr(FilesystemExtractor, "extract", broken)
    r = run("scan", tree, "-f", "json", *FAST)
    expect(r, 1)
    doc = json.loads(r.stdout)
    assert doc["summary"]["entries_with_errors"] == 2
    assert [(f["path"], [e["severity"] for e in f["errors"]]) for f in doc["files"] if f["errors"]] == [
        ("a.txt", ["error"]),
        ("pipe", ["warning"]),
    ]
    assert "1 with errors, 1 with warnings only, 0 with findings" in " ".join(r.stderr.split())


def test_exit_1_for_an_unreadable_file(tree: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads everything; the walker tests simulate this")
    os.chmod(tree / "a.txt", 0)
    try:
        expect(run("scan", tree, "-f", "json", *FAST), 1)
    finally:
        os.chmod(tree / "a.txt", 0o644)


def usage_error(*args: Any) -> Result:
    r = run(*args, ok=False)
    assert r.exit_code == 2, f"exit {r.exit_code}\n{r.output}"
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output
    assert "Error" in r.stderr, r.stderr
    return r


def test_exit_2_for_a_missing_path(tmp_path: Path) -> None:
    r = usage_error("scan", tmp_path / "nope")
    assert "does not exist" in r.stderr


def test_exit_2_without_a_path() -> None:
    usage_error("scan")


@pytest.mark.parametrize("algos", ["md4", "sha256,crc32", ","])
def test_exit_2_for_a_bad_hash(tree: Path, algos: str) -> None:
    r = usage_error("scan", tree, "--hash", algos)
    assert "--hash" in r.stderr


def test_exit_2_for_two_exports_to_stdout(tree: Path) -> None:
    r = usage_error("scan", tree, "--json", "-", "--csv", "-")
    assert "stdout" in r.stderr


@pytest.mark.parametrize("option", ["--json", "--jsonl", "--csv"])
def test_exit_2_for_an_output_inside_the_tree(tree: Path, option: str) -> None:
    before = sorted(p.name for p in tree.rglob("*"))
    r = usage_error("scan", tree, option, tree / "sub" / "report.out")
    assert "inside the scanned tree" in r.stderr
    assert sorted(p.name for p in tree.rglob("*")) == before, "nothing was written"


def test_exit_2_for_an_output_through_a_symlinked_folder(tree: Path, tmp_path: Path) -> None:
    (tmp_path / "innocent").symlink_to(tree / "sub")
    r = usage_error("scan", tree, "--json", tmp_path / "innocent" / "out.json")
    assert "inside the scanned tree" in r.stderr
    assert not (tree / "sub" / "out.json").exists()


def test_exit_2_for_an_output_that_is_a_symlink_into_the_tree(tree: Path, tmp_path: Path) -> None:
    (tmp_path / "out.json").symlink_to(tree / "planted.json")  # dangling: open() would create it
    usage_error("scan", tree, "--json", tmp_path / "out.json")
    assert not (tree / "planted.json").exists()


def test_exit_2_for_an_output_over_a_scanned_file(tree: Path) -> None:
    before = (tree / "a.txt").read_bytes()
    usage_error("scan", tree / "a.txt", "--csv", tree / "a.txt")
    assert (tree / "a.txt").read_bytes() == before


def test_exit_2_for_an_output_relative_to_the_working_folder(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree / "sub")
    usage_error("scan", "..", "--json", "../out.json")
    assert not (tree / "out.json").exists()


def test_output_beside_the_tree_is_fine(tree: Path, tmp_path: Path) -> None:
    # A sibling whose name starts like the tree's is not inside it.
    out = tmp_path / (tree.name + "-report.json")
    expect(run("scan", tree, "--json", out, *FAST), 0)
    assert out.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["scan", "--format", "xml", "."],
        ["scan", "--table-limit", "-1", "."],
        ["scan", "--width", "10", "."],
        ["scan", "--no-such-option", "."],
        ["no-such-command"],
    ],
)
def test_bad_options_are_usage_errors(args: list[str]) -> None:
    usage_error(*args)


# --- help and version ------------------------------------------------------------------


def test_version() -> None:
    r = run("--version")
    expect(r, 0)
    assert __version__ in r.stdout and "evidence" in r.stdout


def all_commands() -> list[tuple[str, click.Command]]:
    assert isinstance(cli, click.Group)
    return sorted(cli.commands.items())


def test_there_are_commands() -> None:
    assert {"scan", "extractors"} <= {name for name, _ in all_commands()}


@pytest.mark.parametrize("name", [""] + [name for name, _ in all_commands()])
def test_every_help_has_an_example(name: str) -> None:
    for flag in ("--help", "-h"):
        r = run(*([name] if name else []), flag)
        expect(r, 0)
        assert "Example:" in r.stdout, f"evidence {name} {flag} has no Example: block"
        assert "Usage: evidence" in r.stdout


def test_extractors_command_lists_the_registry() -> None:
    from evidence_cli.extractors import registered

    r = run("extractors")
    expect(r, 0)
    for e in registered():
        assert f"{e.name}: " in r.stdout


# --- the installed console script --------------------------------------------------------


def evidence_script() -> str:
    beside = Path(sys.executable).parent / "evidence"
    found = str(beside) if beside.exists() else shutil.which("evidence")
    if not found:
        pytest.fail("the `evidence` console script is not installed (pip install -e .)")
    return found


def test_installed_script_scans(tree: Path) -> None:
    p = subprocess.run(
        [evidence_script(), "scan", str(tree), "-f", "json"], capture_output=True, text=True, timeout=120, check=False
    )
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert errors(EXPORT, doc) == [] and len(doc["files"]) == 3
    assert "3 entries" in p.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["scan", "/no/such/path"],
        ["scan", "--hash", "md4", "."],
        ["scan", ".", "--json", "-", "--csv", "-"],
        ["scan"],
        ["bogus"],
    ],
)
def test_installed_script_usage_errors_have_no_traceback(args: list[str], tmp_path: Path) -> None:
    p = subprocess.run(
        [evidence_script(), *args], capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path
    )
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr and "Error" in p.stderr
    assert p.stdout == ""


def test_python_dash_m(tree: Path) -> None:
    p = subprocess.run(
        [sys.executable, "-m", "evidence_cli", "scan", str(tree / "a.txt"), "-f", "jsonl"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert p.returncode == 0, p.stderr
    assert len(p.stdout.splitlines()) == 3


def test_a_linked_root_is_recorded_with_a_warning_that_says_how_to_scan_its_folder(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "note.txt").write_text("hello\n")
    (tmp_path / "link").symlink_to("real")
    r = run("scan", tmp_path / "link", "-f", "csv", *FAST)
    expect(r, 0)
    assert [row.split(",")[:3] for row in r.stdout.splitlines()[1:]] == [["link", "", "symlink"]]
    said = " ".join(r.stderr.split())
    assert f"Warning: {tmp_path / 'link'} is a symbolic link to {tmp_path / 'real'}: recorded as a link" in said
    assert f"give {tmp_path / 'link'}/ or {tmp_path / 'real'}" in said


def test_link_slash_scans_the_folder_and_the_manifest_names_its_real_path(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "note.txt").write_text("hello\n")
    (tmp_path / "link").symlink_to("real")
    out = tmp_path / "out"
    out.mkdir()
    r = run("scan", f"{tmp_path / 'link'}/", "--json", out / "m.json", "-f", "csv", *FAST)
    expect(r, 0)
    assert [row.split(",")[:3] for row in r.stdout.splitlines()[1:]] == [["note.txt", "", "file"]]
    assert "scanning it as " + str(tmp_path / "real") in " ".join(r.stderr.split())
    manifest = json.loads((out / "m.json").read_text())
    assert manifest["scan"]["roots"] == [str(tmp_path / "real")]
    assert manifest["scan"]["root"] == str(tmp_path / "real")
    v = CliRunner().invoke(cli, ["verify", str(out / "m.json")], prog_name="evidence")
    assert v.exit_code == 0, v.output
    # Writing into the folder through the link is writing into the evidence: refused.
    refused = run("scan", f"{tmp_path / 'link'}/", "--json", tmp_path / "link" / "m.json", *FAST, ok=False)
    expect(refused, 2)
    assert "inside the scanned tree" in refused.stderr
    assert not (tmp_path / "real" / "m.json").exists()


def test_the_root_link_warning_escapes_a_hostile_name(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "evil\x1b[2J\x07").symlink_to("real")
    r = run("scan", tmp_path / "evil\x1b[2J\x07", *FAST)
    expect(r, 0)
    assert "\x1b" not in r.stderr and "\x07" not in r.stderr
    assert "evil\\x1b[2J\\x07 is a symbolic link" in " ".join(r.stderr.split())


@pytest.mark.parametrize("encoding", ["latin-1", "ascii", "cp1252"])
@pytest.mark.parametrize("command", ["scan", "show", "verify"])
def test_a_terminal_that_cannot_show_a_name(tmp_path: Path, encoding: str, command: str) -> None:
    """A console whose encoding cannot represent a file name (a legacy locale, a Windows
    code page) made the table end in a UnicodeEncodeError traceback: the name is written
    with Python's backslash escapes instead, and the command does its work."""
    from tests.hostile.run import run_evidence

    ev = tmp_path / "ev"
    ev.mkdir()
    (ev / "日本語の写真.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a photo")
    manifest = tmp_path / "m.json"
    scanned = run_evidence(["scan", str(ev), "--json", str(manifest)], env={"PYTHONIOENCODING": encoding})
    if command == "scan":
        run = scanned
    elif command == "show":
        run = run_evidence(["show", str(ev / "日本語の写真.jpg")], env={"PYTHONIOENCODING": encoding})
    else:
        run = run_evidence(["verify", str(manifest)], env={"PYTHONIOENCODING": encoding})
    assert "Traceback" not in run.text() and "UnicodeEncodeError" not in run.text(), run.text()
    assert run.returncode in (0, 1), run.text()
    if command != "verify":  # verify lists only what did not match
        assert "\\u65e5\\u672c\\u8a9e" in run.stdout.decode(encoding), run.text()
    assert json.loads(manifest.read_text(encoding="utf-8"))["files"][0]["path"] == "日本語の写真.jpg"


@pytest.mark.parametrize("closed", ["stdout", "stderr", "both"])
def test_a_scan_started_with_its_output_closed(tmp_path: Path, closed: str) -> None:
    """Started with stdout (or stderr) closed, as ``>&-`` and some service managers do,
    Python sets it to None: the final flush raised AttributeError after the scan. The
    scan now runs, and its exports are complete."""
    ev = tmp_path / "ev"
    ev.mkdir()
    (ev / "a.txt").write_text("a")
    out = tmp_path / "out.jsonl"
    redirect = {"stdout": ">&-", "stderr": "2>&-", "both": ">&- 2>&-"}[closed]
    exe = str(Path(sys.executable).with_name("evidence"))
    # The redirection closes the command's output only; the shell reports its status.
    done = subprocess.run(
        ["sh", "-c", f'"$0" scan "$1" --jsonl "$2" {redirect}; echo "status $?"', exe, str(ev), str(out)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
    )
    report = done.stdout.decode() + done.stderr.decode()
    assert "Traceback" not in report and "status 0" in report, report
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and json.loads(lines[1])["path"] == "a.txt"


@pytest.mark.parametrize(
    "args",
    [
        ["scan", "{ev}", "-f", "jsonl"],
        ["scan", "{ev}", "--json", "-"],
        ["scan", "{ev}", "--csv", "-", "--jsonl", "{tmp}/x.jsonl"],
        ["verify", "{manifest}", "--json", "-"],
        ["verify", "{manifest}", "--csv", "-"],
        ["export", "{manifest}", "-f", "sha256sum"],
        ["show", "{ev}/a.txt"],
        ["show", "{ev}/a.txt", "--json"],
    ],
)
def test_data_asked_for_on_a_closed_stdout_is_refused(tmp_path: Path, args: list[str]) -> None:
    """Records, a report or a hash list asked for on stdout, with stdout closed (``>&-``),
    went nowhere: the scan exited 0, export said "Wrote 6 entries (sha256sum) to stdout".
    Refused before any work, with exit 2, as ``sha256sum >&-`` fails; the table still goes
    nowhere (the test above), and no export file is begun."""
    ev = tmp_path / "ev"
    ev.mkdir()
    (ev / "a.txt").write_text("a")
    manifest = tmp_path / "m.json"
    assert run_evidence_in(tmp_path, ["scan", str(ev), "--json", str(manifest)]).returncode == 0
    exe = str(Path(sys.executable).with_name("evidence"))
    argv = [a.format(ev=ev, manifest=manifest, tmp=tmp_path) for a in args]
    done = subprocess.run(
        ["sh", "-c", '"$0" "$@" >&-; echo "status $?"', exe, *argv],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
    )
    report = done.stdout.decode() + done.stderr.decode()
    assert "Traceback" not in report and "status 2" in report, report
    assert "stdout is closed" in report, report
    assert not (tmp_path / "x.jsonl").exists()


@pytest.mark.parametrize("command", ["scan", "verify", "export", "show", "extractors"])
def test_a_working_folder_that_no_longer_exists(tmp_path: Path, command: str) -> None:
    """Run from a folder deleted meanwhile (in another terminal), the scan ended in "the
    scan could not run: FileNotFoundError" after it had started (the worker processes need
    the working folder), or said "cannot write the output" for a relative path. Relative
    paths cannot be resolved there, and resolving them against another folder would scan
    the wrong evidence: every command says what is wrong, before doing anything."""
    ev = tmp_path / "ev"
    ev.mkdir()
    (ev / "a.txt").write_text("a")
    manifest = tmp_path / "m.json"
    assert run_evidence_in(tmp_path, ["scan", str(ev), "--json", str(manifest)]).returncode == 0
    gone = tmp_path / "gone"
    gone.mkdir()
    args = {
        "scan": ["scan", str(ev), "--jsonl", str(tmp_path / "x.jsonl")],
        "verify": ["verify", str(manifest)],
        "export": ["export", str(manifest), "-f", "sha256sum"],
        "show": ["show", str(ev / "a.txt")],
        "extractors": ["extractors"],
    }[command]
    done = run_evidence_in(gone, args, remove_cwd=True)
    report = done.stdout.decode() + done.stderr.decode()
    assert "Traceback" not in report, report
    if command == "extractors":  # needs no path
        assert done.returncode == 0, report
        return
    assert done.returncode == 2, report
    assert "the working folder no longer exists" in report, report
    assert not (tmp_path / "x.jsonl").exists()


def run_evidence_in(cwd: Path, args: list[str], *, remove_cwd: bool = False) -> subprocess.CompletedProcess[bytes]:
    """The installed ``evidence`` run in ``cwd``; with ``remove_cwd`` that folder is removed
    first (by the shell that then runs the command from it)."""
    exe = str(Path(sys.executable).with_name("evidence"))
    script = 'cd "$1" && rmdir "$1" && shift && exec "$0" "$@"' if remove_cwd else 'cd "$1" && shift && exec "$0" "$@"'
    return subprocess.run(
        ["sh", "-c", script, exe, str(cwd), *args], stdin=subprocess.DEVNULL, capture_output=True, timeout=120
    )


def test_a_machine_where_worker_processes_cannot_start(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a writable /dev/shm (some containers and sandboxes) worker processes cannot
    have their locks, and the whole scan stopped with "the scan could not run: OSError:
    Read-only file system". It now says so and scans in this process (as --workers 0):
    the records are the same."""
    from evidence_cli import engine

    class NoLocks:
        def Lock(self) -> None:  # noqa: N802 - multiprocessing's name
            raise OSError(30, "Read-only file system", "/dev/shm/pym-1-x")

    expected = run("scan", tree, "-f", "jsonl", *FAST)
    monkeypatch.setattr(engine, "_mp_context", lambda: NoLocks())
    result = run("scan", tree, "-f", "jsonl", "--workers", "2")
    expect(result, 0)
    said = " ".join(result.output.split())  # the console folds long lines
    assert "worker processes cannot start here" in said and "Read-only file system" in said

    def records(r: Result) -> list[dict[str, Any]]:
        out = [json.loads(x) for x in r.stdout.splitlines()[1:-1]]
        for rec in out:  # reading a symlink's target sets the link's access time (README)
            rec["filesystem"].pop("accessed")
        return out

    assert records(result) == records(expected)


def test_an_absurd_number_of_workers_is_refused(tree: Path) -> None:
    """--workers 100000 (a typo, a script's bad variable) started that many processes of
    tens of MB each: the machine ran out of memory. Past 8 per core (at least 32), it is a
    usage error, before anything starts."""
    from evidence_cli.engine import max_workers

    result = run("scan", tree, "--workers", "100000", ok=False)
    expect(result, 2)
    assert f"at most {max_workers()}" in " ".join(result.output.split())
    expect(run("scan", tree, "--workers", str(max_workers())), 0)


@pytest.mark.parametrize("limit", ["1", "150", "511"])
def test_a_memory_limit_too_small_for_a_worker_is_refused(tree: Path, limit: str) -> None:
    """--memory-limit 150 left a worker no room for itself (its own address space is about
    240 MB): workers died receiving their tasks or sending their records back, the terminal
    filled with tracebacks, and the scan stopped with an error (or, before 18fd14f, went on
    with "munmap_chunk(): invalid pointer"). Below 512 MiB it is a usage error, before
    anything starts; 0 (no limit) and 512 are taken."""
    result = run("scan", tree, "--memory-limit", limit, ok=False)
    expect(result, 2)
    said = " ".join(result.output.split())
    assert "--memory-limit" in said and "at least 512" in said and "Traceback" not in said
    expect(run("scan", tree, "--memory-limit", "512"), 0)
    expect(run("scan", tree, "--memory-limit", "0", "--workers", "1"), 0)


@pytest.mark.parametrize("seconds", ["inf", "nan", "1e10", "86401"])
def test_a_timeout_that_is_not_a_number_of_seconds_up_to_a_day_is_refused(tree: Path, seconds: str) -> None:
    """--timeout inf or 1e10 made every extractor of every file fail (OverflowError from
    the timer), and --timeout nan was taken and written as the scan's "timeout_s". A
    limit is a finite number of seconds, at most a day (86400), or 0 for none."""
    result = run("scan", tree, "--timeout", seconds, ok=False)
    expect(result, 2)
    said = " ".join(result.output.split())
    assert "--timeout" in said and "86400" in said and "Traceback" not in said
    expect(run("scan", tree, "--timeout", "86400", *FAST), 0)


@pytest.mark.parametrize("command", ["scan", "verify", "export"])
def test_an_existing_export_or_report_is_not_replaced(tree: Path, tmp_path: Path, command: str) -> None:
    """A scan run again with the same command line replaced the earlier sealed manifest
    without a word (the acquisition's record of the evidence); so did verify its report and
    export its list. An output file that exists and holds something is refused (exit 2,
    untouched) unless --overwrite; an empty one, a device and --resume are fine."""
    manifest = tmp_path / "manifest.json"
    expect(run("scan", tree, "--json", manifest, *FAST), 0)
    out = tmp_path / "earlier-output"
    out.write_bytes(b"an earlier record\n")
    args = {
        "scan": ["scan", tree, "--json", out, *FAST],
        "verify": ["verify", manifest, "--json", out],
        "export": ["export", manifest, "-f", "sha256sum", "-o", out],
    }[command]
    refused = run(*args, ok=False)
    expect(refused, 2)
    said = " ".join(refused.output.split())
    assert "exists already" in said and "--overwrite" in said, said
    assert out.read_bytes() == b"an earlier record\n"
    expect(run(*args, "--overwrite"), 0)
    assert out.read_bytes() != b"an earlier record\n"
    out.write_bytes(b"")  # empty (mktemp): fine
    expect(run(*args), 0)
    expect(run(*["/dev/null" if a == out else a for a in args]), 0)  # a device


def test_a_resumed_scan_continues_its_own_exports(tree: Path, tmp_path: Path) -> None:
    jsonl, csv_out = tmp_path / "s.jsonl", tmp_path / "s.csv"
    expect(run("scan", tree, "--jsonl", jsonl, "--csv", csv_out, *FAST), 0)
    expect(run("scan", tree, "--jsonl", jsonl, "--csv", csv_out, "--resume", *FAST), 0)


def _edit_header(jsonl: Path, edit: Any) -> None:
    header, rest = jsonl.read_bytes().split(b"\n", 1)
    obj = json.loads(header)
    edit(obj["tool"])
    jsonl.write_bytes(json.dumps(obj).encode() + b"\n" + rest)


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        (lambda t: t["components"].update(libmagic="5.41"), "libmagic '5.41', not '"),
        (lambda t: t["components"].update(code_sha256="1" * 64), "code_sha256 '111"),
        (lambda t: t["components"].update(magic_database_sha256="0" * 64), "magic_database_sha256 '000"),
        (lambda t: t["components"].pop("exifread"), "exifread None, not '"),
        (lambda t: t.update(version="0.0.9"), "written by evidence-cli '0.0.9', this is '"),
        (lambda t: t.update(components=["x"]), "tool components are not an object"),
    ],
)
def test_a_scan_made_with_other_components_is_not_resumed(tree: Path, tmp_path: Path, edit: Any, said: str) -> None:
    """Resuming appended this machine's records to records another libmagic (database,
    ExifRead, Pillow, Python, evidence-cli) made: one export with two versions' answers,
    under a header naming one of them."""
    jsonl = tmp_path / "s.jsonl"
    expect(run("scan", tree, "--jsonl", jsonl, *FAST), 0)
    _edit_header(jsonl, edit)
    before = jsonl.read_bytes()
    refused = run("scan", tree, "--jsonl", jsonl, "--resume", *FAST, ok=False)
    expect(refused, 2)
    text = " ".join(refused.output.split())
    assert "cannot resume" in text and said in text, text
    assert jsonl.read_bytes() == before


def test_a_scan_from_before_components_were_recorded_is_resumed(tree: Path, tmp_path: Path) -> None:
    """Its header names none (only the version can be compared): it resumes, and keeps
    its header as it was."""
    jsonl = tmp_path / "s.jsonl"
    expect(run("scan", tree, "--jsonl", jsonl, *FAST), 0)
    _edit_header(jsonl, lambda t: t.pop("components"))
    expect(run("scan", tree, "--jsonl", jsonl, "--resume", *FAST), 0)
    assert "components" not in json.loads(jsonl.read_bytes().split(b"\n", 1)[0])["tool"]


def test_an_existing_json_lines_export_names_resume(tree: Path, tmp_path: Path) -> None:
    """An interrupted scan's JSON Lines export, given again without --resume, is not
    replaced; the message says --resume continues it."""
    jsonl = tmp_path / "s.jsonl"
    expect(run("scan", tree, "--jsonl", jsonl, *FAST), 0)
    refused = run("scan", tree, "--jsonl", jsonl, *FAST, ok=False)
    expect(refused, 2)
    said = " ".join(refused.output.split())
    assert "--resume to continue the scan it records" in said and "--overwrite" in said, said


def test_every_export_is_the_same_bytes_whatever_the_number_of_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 6: byte for byte, export by export (the header's times and its seal apart).
    With 4 workers or more, the records come converted to the exports' text by the workers
    (writers.prerender); with fewer, the writers convert them: hostile names and
    metadata text, damaged files and formula cells go through both ways.
    (No symbolic link here: reading its target sets its access time, see the README.)"""
    from tests.hostile.corpus import TEXT_PAYLOADS, name_payloads, seed_files

    root = tmp_path / "evidence"
    root.mkdir()
    payloads = list(TEXT_PAYLOADS.values())
    for i, name in enumerate(name_payloads()):
        # Every hostile text in the metadata of some seed, and a name starting like a
        # formula at the top (a spreadsheet's cell starts with the path).
        folder = os.fsencode(root / f"d{i % 3}") if i % 4 else os.fsencode(root)
        os.makedirs(folder, exist_ok=True)
        kind, data = sorted(seed_files(payloads[i % len(payloads)]).items())[i % 12]
        with open(os.path.join(folder, name + b"." + kind.encode()), "wb") as fh:
            fh.write(data[: len(data) - (i % 5) * 7])  # some of them cut short
    (root / "empty.dat").write_bytes(b"")
    os.mkfifo(root / "pipe")

    def exports(workers: str) -> dict[str, bytes]:
        out = tmp_path / f"out{workers}"
        out.mkdir()
        first = run(
            "scan", root, "--json", out / "a.json", "--jsonl", out / "a.jsonl", "--csv", out / "a.csv",
            "-f", "csv", "--workers", workers,
        )  # fmt: skip
        second = run("scan", root, "--csv", out / "b.csv", "--csv-raw", "-f", "jsonl", "--workers", workers)
        expect(first, 1)  # (the damaged files)
        expect(second, 1)
        whole = (out / "a.json").read_bytes()
        assert check_seal(json.loads(whole)).status == "valid"  # (with workers: sealed from their forms)
        return {
            "json": whole[whole.index(b'\n  "files": [') : whole.index(b'\n  ],\n  "scan": ')],
            "jsonl": b"\n".join((out / "a.jsonl").read_bytes().split(b"\n")[1:-2]),
            "csv": (out / "a.csv").read_bytes(),
            "csv-raw": (out / "b.csv").read_bytes(),
            "stdout csv": first.stdout_bytes,
            "stdout jsonl": b"\n".join(second.stdout_bytes.split(b"\n")[1:-2]),
        }

    # Which records this process converted (the workers' conversions are not seen here).
    converted: list[str] = []
    to_dict = FileRecord.to_dict

    def counted(record: FileRecord) -> dict[str, Any]:
        converted.append(record.path)
        return to_dict(record)

    monkeypatch.setattr(FileRecord, "to_dict", counted)
    inline = exports("0")
    assert len(converted) == 2 * (len(name_payloads()) + 2)  # each record, in each of the two runs
    converted.clear()
    two = exports("2")
    assert len(converted) == 2 * (len(name_payloads()) + 2)  # (two workers: this process converts)
    converted.clear()
    many = exports(str(engine.CONVERT_FROM))
    assert converted == []  # every record came converted from its worker
    for name, data in inline.items():
        assert data == two[name] == many[name], name
    assert inline["csv"] == inline["stdout csv"] and inline["csv"] != inline["csv-raw"]
    assert inline["jsonl"].count(b"\n") + 1 == len(name_payloads()) + 2 == inline["stdout jsonl"].count(b"\n") + 1


def test_one_file_is_summed_up_in_the_singular_by_scan_verify_and_export(tmp_path: Path) -> None:
    """Summaries are quoted in reports: '1 entries: 1 files' read as a fault."""
    root = tmp_path / "one"
    root.mkdir()
    (root / "a.txt").write_text("hi\n")
    os.symlink("a.txt", root / "link")
    manifest = tmp_path / "m.json"
    r = run("scan", root, *FAST, "--json", manifest)
    expect(r, 0)
    assert "2 entries: 1 file (3 B), 1 symlink, 0 special, 0 unreadable folders;" in r.stderr
    os.remove(root / "link")
    v = run("verify", manifest, ok=False)
    expect(v, 1)
    assert "(evidence-json, 2 entries, sha256 " in v.stderr
    (root / "link").symlink_to("a.txt")
    one = tmp_path / "one.sha256"
    e = run("export", manifest, "-f", "sha256sum", "-o", one)
    expect(e, 0)
    assert "Wrote 1 entry (sha256sum) to " in e.stderr
    assert "1 symlink, special file or unreadable folder is not listed (no content)." in e.stderr
    v = run("verify", one, "--root", root, ok=False)
    expect(v, 1)  # the symlink is new to a sum list
    assert "(sha256sum, 1 entry, sha256 " in v.stderr and "1 manifest entry: 1 ok," in v.stderr
