"""Ctrl-C, SIGTERM and a terminal hang-up (SIGHUP) stop a running scan cleanly: exit 1,
every export valid and marked partial; ``--resume`` finishes a JSON Lines scan without
reading recorded files again."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.hostile import corpus
from tests.hostile.run import (
    evidence_cmd,
    fork_in_terminal,
    load_json_export,
    load_jsonl_export,
    record_bytes,
    run_evidence,
)

N_FILES = 1200


@pytest.fixture(scope="module")
def big_tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """Enough small files of every format that a scan takes several seconds."""
    root = tmp_path_factory.mktemp("interrupt") / "evidence"
    seeds = list(corpus.seed_files().items())
    names = []
    for i in range(N_FILES):
        name, data = seeds[i % len(seeds)]
        n = f"d{i // 300}/{i:05d}-{name}"
        p = root / n
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data + i.to_bytes(4, "big"))  # all different
        names.append(n)
    return root, sorted(names)


def _default_sigint() -> None:
    # A child started from a shell's background job inherits SIGINT ignored; a user's Ctrl-C
    # reaches a scan that did not ignore it. (And under nohup the tests inherit SIGHUP
    # ignored: a command typed at a terminal has it at its default.)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


@pytest.fixture
def terminal_signals() -> Any:
    """The signal handlers of a command typed at a terminal, whatever this test process
    inherited (run from a script's background job, SIGINT comes in ignored); put back after."""
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def start_scan(root: Path, out: Path, workers: str, sigint: Any = signal.SIG_DFL) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        evidence_cmd(
            "scan",
            root,
            "--workers",
            workers,
            "--json",
            out / "scan.json",
            "--jsonl",
            out / "scan.jsonl",
            "--csv",
            out / "scan.csv",
        ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_default_sigint if sigint == signal.SIG_DFL else _ignore_sigint,
        cwd=out,
    )


def wait_for_records(path: Path, n: int, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().count(b"\n") > n:
            return
        if proc.poll() is not None:
            pytest.fail("the scan ended before it could be interrupted: " + proc.stderr.read().decode()[-2000:])  # type: ignore[union-attr]
        time.sleep(0.05)
    pytest.fail("the scan produced no records")


def interrupt(root: Path, out: Path, sig: int, workers: str) -> tuple[int, bytes, bytes]:
    proc = start_scan(root, out, workers)
    try:
        wait_for_records(out / "scan.jsonl", 50, proc)
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=60)
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return proc.returncode, stdout, stderr


def check_partial_exports(out: Path, names: list[str]) -> list[dict[str, Any]]:
    """Every export parses and says it is partial; the records are a prefix of the walk."""
    export = load_json_export(out / "scan.json")
    assert export["scan"]["complete"] is False
    records = export["files"]
    assert 0 < len(records) < len(names)
    assert [r["path"] for r in records] == names[: len(records)], "records are the start of the sorted walk"
    # (The summary may count the record being written when the signal came: see below.)
    assert export["summary"]["entries"] - len(records) in (0, 1)
    lines = load_jsonl_export(out / "scan.jsonl")
    assert lines[0]["schema"] and "path" not in lines[0]
    assert lines[-1]["scan"]["complete"] is False
    rows = list(csv.reader(io.StringIO((out / "scan.csv").read_bytes().decode("utf-8"), newline="")))
    assert all(len(r) == len(rows[0]) for r in rows)
    # Each export holds the same start of the walk. They may differ by the one record that
    # was being written to them in turn when the signal came (reported: the writers should
    # finish the record before stopping).
    jsonl_records = lines[1:-1]
    csv_paths = [r[0] for r in rows[1:]]
    for count in (len(jsonl_records), len(csv_paths)):
        assert abs(count - len(records)) <= 1
    common = min(len(records), len(jsonl_records), len(csv_paths))
    assert jsonl_records[:common] == records[:common]
    assert csv_paths[:common] == [r["path"] for r in records[:common]]
    return records


@pytest.mark.parametrize(
    ("sig", "workers"), [(signal.SIGINT, "0"), (signal.SIGTERM, "2"), (signal.SIGINT, "2"), (signal.SIGHUP, "2")]
)
def test_signal_stops_the_scan_with_valid_partial_exports(
    big_tree: tuple[Path, list[str]], tmp_path: Path, sig: int, workers: str
) -> None:
    root, names = big_tree
    rc, _, stderr = interrupt(root, tmp_path, sig, workers)
    assert rc == 1, stderr.decode(errors="replace")[-2000:]
    assert b"partial" in stderr
    check_partial_exports(tmp_path, names)


def _scan_in_a_terminal(root: Path, out: Path) -> None:
    # (In the forked child: a new session whose controlling terminal is the pty.)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.chdir(out)
    cmd = evidence_cmd("scan", root, "--workers", "2", "--json", out / "scan.json", "--jsonl", out / "scan.jsonl")
    cmd += ["--csv", str(out / "scan.csv")]
    os.execv(cmd[0], cmd)


@pytest.mark.skipif(not hasattr(os, "forkpty"), reason="no pseudo-terminals here")
def test_the_terminal_going_away_stops_the_scan_with_valid_partial_exports(
    big_tree: tuple[Path, list[str]], tmp_path: Path
) -> None:
    """An SSH connection that drops, a terminal window closed: the kernel sends SIGHUP,
    whose default killed the scan mid-record (a JSON manifest that did not parse, no seal,
    the workers left running)."""
    root, names = big_tree
    pid, fd = fork_in_terminal(lambda: _scan_in_a_terminal(root, tmp_path))
    try:
        deadline = time.monotonic() + 120
        jsonl = tmp_path / "scan.jsonl"
        while not (jsonl.exists() and jsonl.read_bytes().count(b"\n") > 50):
            assert time.monotonic() < deadline, "the scan produced no records"
            try:
                os.read(fd, 65536)  # what a terminal shows (the progress line)
            except OSError:
                pytest.fail("the scan ended before the terminal went away")
    finally:
        os.close(fd)  # the terminal goes away
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 1
    check_partial_exports(tmp_path, names)


def _children(pid: int) -> list[int]:
    """The pids whose parent is ``pid`` (from /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_workers_do_not_outlive_a_killed_scan(big_tree: tuple[Path, list[str]], tmp_path: Path) -> None:
    """SIGKILL (or the out-of-memory killer) gives the scan no chance to stop its pool.
    The workers, the fork server and the resource tracker used to stay for ever, waiting
    on each other."""
    root, _ = big_tree
    proc = start_scan(root, tmp_path, "2")
    try:
        wait_for_records(tmp_path / "scan.jsonl", 50, proc)
        helpers = _children(proc.pid)
        workers = [w for h in helpers for w in _children(h)]
        assert len(workers) >= 2, (helpers, workers)
        proc.kill()
        proc.communicate(timeout=60)
        deadline = time.monotonic() + 30
        while any(_alive(p) for p in helpers + workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in helpers + workers if _alive(p)], "processes left behind by the killed scan"
    finally:
        try:  # whatever is left of the scan's process group (a failed test)
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_resume_finishes_without_reading_recorded_files_again(big_tree: tuple[Path, list[str]], tmp_path: Path) -> None:
    root, names = big_tree
    rc, _, stderr = interrupt(root, tmp_path, signal.SIGINT, "0")
    assert rc == 1, stderr.decode(errors="replace")
    first = check_partial_exports(tmp_path, names)
    first_lines = (tmp_path / "scan.jsonl").read_bytes().split(b"\n")
    kept = sum(1 for x in first_lines if x.startswith(b'{"path"'))  # records the JSONL holds
    # Proof that recorded files are not read again: change one already recorded (same size).
    # A resumed scan keeps its first digest; a fresh scan sees the new content.
    victim = root / first[0]["path"]
    original = victim.read_bytes()
    victim.write_bytes(bytes(b ^ 0xFF for b in original))
    try:
        run = run_evidence(
            ["scan", root, "--workers", "0", "--jsonl", tmp_path / "scan.jsonl", "--resume", "-f", "json"],
            cwd=tmp_path,
        )
        fresh = run_evidence(["scan", root, "--workers", "0", "-f", "json"], cwd=tmp_path)
    finally:
        victim.write_bytes(original)
    assert run.returncode in (0, 1), run.text()[-2000:]
    assert b"interrupted" not in run.stderr
    lines = (tmp_path / "scan.jsonl").read_bytes().split(b"\n")
    # The header and every record of the first run are kept byte for byte.
    assert kept > 0
    assert lines[: 1 + kept] == first_lines[: 1 + kept]
    resumed = [json.loads(x) for x in lines[1:] if x.startswith(b'{"path"')]
    assert [r["path"] for r in resumed] == names, "every entry exactly once, in walk order"
    assert json.loads(lines[-2])["scan"]["complete"] is True
    assert resumed[0]["hashes"] == first[0]["hashes"], "the recorded file was not hashed again"
    fresh_records = json.loads(fresh.stdout)["files"]
    assert fresh_records[0]["hashes"] != first[0]["hashes"], "a fresh scan does see the change"
    # Apart from that file, the resumed scan says what a fresh scan says.
    assert len(fresh_records) == len(resumed)
    assert [record_bytes(r) for r in fresh_records] == [record_bytes(r) for r in resumed]
    assert [r["hashes"] for r in fresh_records[1:]] == [r["hashes"] for r in resumed[1:]]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_a_record_is_written_waits_until_it_is_written(sig: int, terminal_signals: None) -> None:
    from evidence_cli.cli.stopping import StopSignals

    written = []
    with StopSignals() as stops:
        with pytest.raises(KeyboardInterrupt):
            with stops.held():
                os.kill(os.getpid(), sig)
                written.append("summary")  # the handler ran already: nothing was raised here
                written.append("exports")
        assert written == ["summary", "exports"]
    with StopSignals():
        with pytest.raises(KeyboardInterrupt):  # outside a write: stops at once
            os.kill(os.getpid(), sig)
            for _ in range(1000):
                pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_second_signal_does_not_cut_the_stop_short(sig: int, terminal_signals: None) -> None:
    """The first signal stops the scan; one more while it stops (a second Ctrl-C) must not
    interrupt the stopping itself: ending the workers, then closing the exports."""
    from evidence_cli.cli.stopping import StopSignals

    stopped = []
    with StopSignals() as stops:
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), sig)
            for _ in range(1000):
                pass
        # What the scan does while it stops must not be interrupted.
        try:
            os.kill(os.getpid(), sig)
            for _ in range(1000):
                pass
            stopped.append("workers ended")
            os.kill(os.getpid(), sig)
            for _ in range(1000):
                pass
            stopped.append("exports closed")
        except KeyboardInterrupt:
            pytest.fail("a second signal interrupted the stopping")
        assert stops.pending
    assert stopped == ["workers ended", "exports closed"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_dropped_inside_a_finaliser_stops_at_the_next_record(
    sig: int, capsys: pytest.CaptureFixture[str], terminal_signals: None
) -> None:
    """The handler's KeyboardInterrupt raised while a finaliser runs (a weakref callback of
    logging, a __del__) is dropped by Python ("Exception ignored in ..."): seen under load,
    a scan then ignored the Ctrl-C and ran to its end. The stop must hold at the next
    record, with no traceback on the terminal."""
    import gc

    from evidence_cli.cli.stopping import StopSignals

    class Finalised:
        def __del__(self) -> None:
            os.kill(os.getpid(), sig)
            for _ in range(1000):
                pass

    written = []
    with StopSignals() as stops:
        obj = Finalised()
        del obj  # the stop is raised inside __del__, and dropped there
        gc.collect()
        assert stops.stopping
        with pytest.raises(KeyboardInterrupt):
            with stops.held():
                written.append("record")  # the record in hand is written, then the scan stops
    assert written == ["record"]
    assert "Exception ignored" not in capsys.readouterr().err


def test_after_a_stop_the_command_ignores_signals_until_it_exits(terminal_signals: None) -> None:
    """The scan command's summary and exit come after the stop: a late second Ctrl-C there
    would end the process by the signal (status 130, not 1) with the summary half printed."""
    from evidence_cli.cli.stopping import StopSignals

    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with StopSignals(ignore_after_stop=True):
            with pytest.raises(KeyboardInterrupt):
                os.kill(os.getpid(), signal.SIGINT)
                for _ in range(1000):
                    pass
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
        with StopSignals(ignore_after_stop=True):
            pass  # no stop: the previous handlers come back
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # (what was there before)
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
    with StopSignals(ignore_after_stop=True):
        pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_signal_ignored_when_the_scan_begins_stays_ignored(terminal_signals: None) -> None:
    """A shell starts a script's background job with SIGINT ignored, so that a Ctrl-C meant
    for the script's foreground command does not reach it; Python keeps that, and so must
    the scan. SIGTERM, not ignored, still stops it."""
    from evidence_cli.cli.stopping import StopSignals

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with StopSignals(ignore_after_stop=True) as stops:
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        with stops.held():
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):
                pass
        assert not stops.stopping and not stops.pending
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):
                pass
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_a_scan_started_with_sigint_ignored_runs_to_its_end(big_tree: tuple[Path, list[str]], tmp_path: Path) -> None:
    root, names = big_tree
    proc = start_scan(root, tmp_path, "2", sigint=signal.SIG_IGN)
    try:
        wait_for_records(tmp_path / "scan.jsonl", 50, proc)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    assert proc.returncode in (0, 1), stderr.decode(errors="replace")[-2000:]
    assert b"partial" not in stderr
    export = load_json_export(tmp_path / "scan.json")
    assert export["scan"]["complete"] is True
    assert [r["path"] for r in export["files"]] == names


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_verify_stops_on_a_signal_with_valid_reports(
    big_tree: tuple[Path, list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sig: int,
    terminal_signals: None,
) -> None:
    """SIGTERM killed `evidence verify` outright and left its JSON report cut in the middle
    of an entry. Like a scan, it now stops between two entries: exit 1, both reports valid,
    the same entries in each, and the result says the verification was interrupted. The
    signal is sent by the process itself after the 50th entry, so the test does not depend
    on how fast the machine verifies."""
    from click.testing import CliRunner

    from evidence_cli.cli import cli
    from evidence_cli.cli import verify as verify_cli

    root, names = big_tree
    manifest = tmp_path / "manifest.json"
    made = run_evidence(["scan", root, "--workers", "0", "--no-metadata", "--json", manifest, "-f", "json"])
    assert made.returncode in (0, 1), made.text()[-2000:]
    real_verify = verify_cli.verify

    def signalled(*args: Any, **kwargs: Any) -> Any:
        for n, entry in enumerate(real_verify(*args, **kwargs), 1):
            yield entry
            if n == 50:
                os.kill(os.getpid(), sig)

    monkeypatch.setattr(verify_cli, "verify", signalled)

    def not_handled(signum: int, frame: Any) -> None:
        pytest.fail("the signal reached the handler verify found, not its own")  # (not a killed test run)

    signal.signal(sig, not_handled)
    report, rows_path = tmp_path / "verify.json", tmp_path / "verify.csv"
    result = CliRunner().invoke(
        cli, ["verify", str(manifest), "--json", str(report), "--csv", str(rows_path)], catch_exceptions=False
    )
    assert result.exit_code == 1, result.output[-2000:]
    export = load_json_export(report)
    assert export["result"]["outcome"] == "interrupted"
    entries = export["entries"]
    assert 50 <= len(entries) < len(names)
    assert {e["status"] for e in entries} == {"ok"}
    rows = list(csv.reader(io.StringIO(rows_path.read_bytes().decode("utf-8"), newline="")))
    assert all(len(r) == len(rows[0]) for r in rows)
    assert len(rows) - 1 == len(entries), "both reports hold the same entries"
