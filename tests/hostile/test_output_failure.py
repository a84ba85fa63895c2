"""An export or report that cannot be written (a full disk, an I/O error) is named in a
clear error, never a traceback; the other outputs are still closed validly, and an
`evidence export` list cut short is never left behind. /dev/full fails every write with
ENOSPC, as a full disk does."""

from __future__ import annotations

import csv
import errno
import io
import os
import signal
import subprocess
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from click.testing import CliRunner

from evidence_cli.cli import cli
from evidence_cli.cli.common import GuardedOutput
from evidence_cli.errors import OutputFailed
from tests.hostile import corpus
from tests.hostile.run import evidence_cmd, load_json_export, load_jsonl_export, run_evidence, stdout_env

FULL = "/dev/full"
needs_dev_full = pytest.mark.skipif(not os.path.exists(FULL), reason="no /dev/full on this system")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough files that the exports' first buffer (8 KiB) fills during the scan."""
    root = tmp_path_factory.mktemp("full") / "evidence"
    root.mkdir()
    for i, (name, data) in enumerate(list(corpus.seed_files().items()) * 8):
        (root / f"{i:04d}-{name}").write_bytes(data + i.to_bytes(4, "big"))
    return root


@pytest.fixture(scope="module")
def manifest(tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("manifest") / "manifest.json"
    run = run_evidence(["scan", tree, "--workers", "0", "--no-metadata", "--json", out, "-f", "json"])
    assert run.returncode in (0, 1), run.text()[-2000:]
    return out


class _Failing(io.StringIO):
    def __init__(self, exc: OSError) -> None:
        super().__init__()
        self.exc = exc
        self.writes = 0

    def write(self, s: str) -> int:
        self.writes += 1
        if self.writes > 1:
            raise self.exc
        return super().write(s)

    def flush(self) -> None:
        if self.writes > 1:
            raise self.exc

    def close(self) -> None:
        if self.writes > 1:
            raise self.exc
        super().close()

    def __del__(self) -> None:
        # io's finaliser closes the stream, and a failing one raised there: Python 3.13
        # reports that as an unraisable exception (a warning in the test run).
        pass


def test_guarded_output_names_the_file_once_then_drops_what_follows() -> None:
    inner = _Failing(OSError(errno.ENOSPC, "No space left on device"))
    out = GuardedOutput(inner, "/cases/scan.json")
    out.write("first")
    with pytest.raises(OutputFailed, match=r"cannot write '/cases/scan.json': No space left on device; .*incomplete"):
        out.write("second")
    assert out.failed is not None and out.failed.path == "/cases/scan.json"
    assert out.write("third") == len("third")  # dropped, no second error
    out.flush()
    out.close()  # closing fails again underneath: already said
    assert inner.getvalue() == "first"


def test_guarded_output_leaves_a_broken_pipe_to_click() -> None:
    out = GuardedOutput(_Failing(BrokenPipeError(errno.EPIPE, "Broken pipe")), "-")
    out.write("first")
    with pytest.raises(BrokenPipeError):
        out.write("second")
    assert out.failed is None


def _no_traceback(stderr: bytes) -> str:
    text = stderr.decode("utf-8", "replace")
    assert "Traceback" not in text, text[-3000:]
    return " ".join(text.split())  # (the console wraps its lines at 80 columns off a terminal)


def run_to_full_stdout(
    args: list[Any], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """The command with its stdout on /dev/full (every write fails with ENOSPC)."""
    with open(FULL, "wb") as full:
        return subprocess.run(
            evidence_cmd(*args),
            stdin=subprocess.DEVNULL,
            stdout=full,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=env,
            timeout=180,
        )


@needs_dev_full
def test_scan_names_the_export_it_cannot_write_and_closes_the_others(tree: Path, tmp_path: Path) -> None:
    good = tmp_path / "scan.jsonl"
    run = run_evidence(["scan", tree, "--workers", "0", "--json", FULL, "--jsonl", good, "-f", "csv"])
    assert run.returncode == 1, run.text()[-3000:]
    err = _no_traceback(run.stderr)
    assert f"cannot write '{FULL}': No space left on device" in err
    assert "the other exports are valid but partial" in err
    lines = load_jsonl_export(good)  # valid JSON Lines, closed
    assert lines[-1]["scan"]["complete"] is False
    records = [x for x in lines if "path" in x]
    assert 0 < len(records) < len(list(tree.iterdir()))
    rows = list(csv.reader(io.StringIO(run.stdout.decode("utf-8"), newline="")))
    assert len(rows) - 1 == len(records), "stdout's CSV holds the same records"


@needs_dev_full
@pytest.mark.parametrize("unbuffered", [True, False], ids=["PYTHONUNBUFFERED", "default"])
def test_scan_to_a_full_stdout(tree: Path, tmp_path: Path, unbuffered: bool) -> None:
    """Also when Python was told not to buffer stdout (the scan buffers it itself then)."""
    good = tmp_path / "scan.json"
    env = stdout_env(unbuffered)
    proc = run_to_full_stdout(["scan", tree, "--workers", "0", "--json", good, "-f", "jsonl"], tmp_path, env)
    assert proc.returncode == 1
    err = _no_traceback(proc.stderr)
    assert "cannot write 'stdout': No space left on device" in err
    assert load_json_export(good)["scan"]["complete"] is False


@needs_dev_full
def test_verify_names_the_report_it_cannot_write_and_closes_the_other(manifest: Path, tmp_path: Path) -> None:
    rows_path = tmp_path / "verify.csv"
    run = run_evidence(["verify", manifest, "--json", FULL, "--csv", rows_path])
    assert run.returncode == 1, run.text()[-3000:]
    err = _no_traceback(run.stderr)
    assert f"cannot write '{FULL}': No space left on device" in err
    assert "stopped because a report could not be written" in err
    rows = list(csv.reader(io.StringIO(rows_path.read_bytes().decode("utf-8"), newline="")))
    assert all(len(r) == len(rows[0]) for r in rows) and len(rows) > 1

    report = tmp_path / "verify.json"
    run = run_evidence(["verify", manifest, "--json", report, "--csv", FULL])
    assert run.returncode == 1, run.text()[-3000:]
    _no_traceback(run.stderr)
    export = load_json_export(report)
    assert export["result"]["outcome"] == "interrupted"
    assert "could not be written" in export["result"]["message"]


@needs_dev_full
@pytest.mark.parametrize("unbuffered", [True, False], ids=["PYTHONUNBUFFERED", "default"])
def test_verify_listing_to_a_full_stdout_leaves_a_valid_report(
    manifest: Path, tmp_path: Path, unbuffered: bool
) -> None:
    """The entries listed on stdout (--all) cannot be written: the JSON report is still
    closed validly (it was left cut short), and its exit code is the command's."""
    report = tmp_path / "verify.json"
    env = stdout_env(unbuffered)
    proc = run_to_full_stdout(["verify", manifest, "--all", "--json", report], tmp_path, env)
    assert proc.returncode == 1
    err = _no_traceback(proc.stderr)
    assert "cannot write 'stdout': No space left on device" in err
    result = load_json_export(report)["result"]
    assert result["exit_code"] == proc.returncode
    assert result["outcome"] in ("interrupted", "all-ok")  # (stdout failed during the run, or at its end)


@needs_dev_full
def test_a_report_lost_at_its_end_gives_the_json_report_the_commands_exit_code(tmp_path: Path) -> None:
    """A CSV report of two rows fails only as it is finished (its first write is then):
    every entry was checked, and the JSON report, closed after it, says exit code 1 as
    the command does (it said 0)."""
    tree = tmp_path / "two"
    tree.mkdir()
    for name in ("a.txt", "b.txt"):
        (tree / name).write_text(name)
    manifest = tmp_path / "m.json"
    scan = run_evidence(["scan", tree, "--workers", "0", "--no-metadata", "--json", manifest, "-f", "csv"])
    assert scan.returncode == 0, scan.text()[-2000:]
    report = tmp_path / "verify.json"
    run = run_evidence(["verify", manifest, "--json", report, "--csv", FULL])
    assert run.returncode == 1, run.text()[-3000:]
    assert f"cannot write '{FULL}': No space left on device" in _no_traceback(run.stderr)
    result = load_json_export(report)["result"]
    assert result["outcome"] == "all-ok"  # every entry was checked
    assert result["exit_code"] == 1


def test_verify_listing_comes_before_the_summary_in_one_file(manifest: Path, tmp_path: Path) -> None:
    """`2>&1`: the listing is written in blocks, and all of it before the summary."""
    both = tmp_path / "both.txt"
    with open(both, "wb") as out:
        proc = subprocess.run(
            evidence_cmd("verify", manifest, "--all"), stdout=out, stderr=subprocess.STDOUT, timeout=180
        )
    assert proc.returncode == 0
    lines = both.read_text(encoding="utf-8").splitlines()
    listed = [i for i, line in enumerate(lines) if line.startswith("OK ")]
    assert len(listed) == len(list(load_json_export(manifest)["files"]))
    assert max(listed) < next(i for i, line in enumerate(lines) if line.startswith("Result: "))


@needs_dev_full
def test_export_to_a_full_disk_is_a_clear_error(manifest: Path) -> None:
    run = run_evidence(["export", manifest, "--format", "sha256sum", "-o", FULL])
    assert run.returncode == 2
    err = _no_traceback(run.stderr)
    assert f"cannot write '{FULL}': No space left on device" in err


@pytest.mark.parametrize("how", ["disk full", "SIGTERM", "SIGINT"])
def test_an_export_cut_short_is_never_left_behind(
    manifest: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """A sha256sum list cut short would check OK for the files it still names and say
    nothing of the others: the incomplete file is removed. The failure comes after part
    of the list is on disk (the signal is sent by the process itself)."""
    from evidence_cli.cli import export as export_cli

    real = export_cli.export_manifest

    def cut_short(m: Any, fmt: Any, stream: BinaryIO, **kwargs: Any) -> Any:
        real(m, fmt, stream, **kwargs)
        stream.flush()
        if how == "disk full":
            raise OSError(errno.ENOSPC, "No space left on device")
        os.kill(os.getpid(), signal.SIGTERM if how == "SIGTERM" else signal.SIGINT)
        for _ in range(1000):
            pass
        pytest.fail("the signal did not stop the export")

    def not_handled(signum: int, frame: Any) -> None:
        pytest.fail("the signal reached the handler export found, not its own")

    previous = {s: signal.signal(s, not_handled) for s in (signal.SIGINT, signal.SIGTERM)}
    monkeypatch.setattr(export_cli, "export_manifest", cut_short)
    out = tmp_path / "evidence.sha256"
    try:
        result = CliRunner().invoke(
            cli, ["export", str(manifest), "--format", "sha256sum", "-o", str(out)], catch_exceptions=False
        )
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
    assert result.exit_code == 2, result.output
    reason = "No space left on device" if how == "disk full" else "interrupted"
    assert f"{reason}; the incomplete file was removed" in result.output
    assert not out.exists()


@needs_dev_full
@pytest.mark.parametrize(
    "args",
    [["scan", "TREE"], ["show", "TREE/0000-FILE"], ["extractors"], ["verify", "MANIFEST", "--all"], ["--help"]],
)
def test_a_full_stdout_is_a_clear_error(tree: Path, manifest: Path, tmp_path: Path, args: list[str]) -> None:
    """The table, `show`, a listing or --help on a stdout that cannot take it: was a
    traceback, or Python's "Exception ignored" and status 120 when the failure came only
    as the interpreter flushed stdout at exit."""
    first = sorted(tree.iterdir())[0].name
    argv = [a.replace("TREE/0000-FILE", str(tree / first)).replace("TREE", str(tree)) for a in args]
    argv = [str(manifest) if a == "MANIFEST" else a for a in argv]
    proc = run_to_full_stdout(argv, tmp_path)
    err = _no_traceback(proc.stderr)
    assert "Exception ignored" not in err
    if args[0] == "verify":  # (its listing is named like stdout's report: see the test above)
        assert "cannot write 'stdout': No space left on device; what reached stdout is incomplete" in err
    else:
        assert "cannot write the output: No space left on device" in err
    assert proc.returncode == 1


@needs_dev_full
def test_a_full_stdout_for_the_table_still_closes_the_exports(tree: Path, tmp_path: Path) -> None:
    good = tmp_path / "scan.jsonl"
    proc = run_to_full_stdout(["scan", tree, "--workers", "0", "--jsonl", good], tmp_path)
    assert proc.returncode == 1
    _no_traceback(proc.stderr)
    lines = load_jsonl_export(good)
    assert lines[-1]["scan"]["complete"] is True  # the scan itself ran to its end
    assert len([x for x in lines if "path" in x]) == len(list(tree.iterdir()))


def _with_stderr(cmd: list[str], stderr: Any, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=stderr, env=env, timeout=180)


@needs_dev_full
@pytest.mark.parametrize("unbuffered", [True, False], ids=["PYTHONUNBUFFERED", "default"])
def test_a_full_stderr_leaves_the_exit_status_to_the_run(
    manifest: Path, tree: Path, tmp_path: Path, unbuffered: bool
) -> None:
    """stderr carries the summary and the messages, for a person. One that cannot be written
    (a full disk) made a run that did everything exit 1, while its JSON report said exit 0
    and all-ok; the status is now the run's, and the report agrees with it."""
    env = stdout_env(unbuffered)
    report = tmp_path / "verify.json"
    with open(FULL, "wb") as full:
        run = _with_stderr(evidence_cmd("verify", manifest, "--json", report), full, env)
        assert run.returncode == 0
        assert load_json_export(report)["result"] == {
            "outcome": "all-ok",
            "exit_code": 0,
            "message": "every entry matches the manifest and nothing was added",
        }
        out = tmp_path / "scan.json"
        run = _with_stderr(evidence_cmd("scan", tree, "--workers", "0", "--json", out, "-f", "csv"), full, env)
        scanned = load_json_export(out)
        assert scanned["scan"]["complete"] is True
        assert run.returncode == (1 if scanned["summary"]["entries_with_errors"] else 0)
        assert run.stdout.count(b"\n") == len(scanned["files"]) + 1  # (the header)
        # What the run found still decides: a changed entry, a usage error.
        changed = tmp_path / "changed"
        changed.mkdir()
        (changed / "a.txt").write_text("a")
        small = tmp_path / "small.json"
        assert _with_stderr(evidence_cmd("scan", changed, "--json", small), full, env).returncode == 0
        (changed / "a.txt").write_text("b")
        assert _with_stderr(evidence_cmd("verify", small, "--json", report, "--overwrite"), full, env).returncode == 1
        assert load_json_export(report)["result"]["exit_code"] == 1
        assert _with_stderr(evidence_cmd("scan", tmp_path / "nowhere"), full, env).returncode == 2


def test_a_stderr_whose_reader_went_away_leaves_the_exit_status_to_the_run(manifest: Path, tmp_path: Path) -> None:
    """`evidence verify m.json 2>&1 >/dev/null | head -1`: the summary's later lines meet a
    closed pipe; the verification itself was complete."""
    report = tmp_path / "verify.json"
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        run = _with_stderr(evidence_cmd("verify", manifest, "--json", report), write_end, dict(os.environ))
    finally:
        os.close(write_end)
    assert run.returncode == 0
    assert load_json_export(report)["result"]["exit_code"] == 0
