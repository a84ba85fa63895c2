"""Records on stdout go out in blocks even when Python was told not to buffer it
(``python -u``, ``PYTHONUNBUFFERED=1``, set by many container images): one system call a
record otherwise. The same bytes reach the reader either way, and a terminal keeps its
unbuffered stdout. A reader that goes away (``| head``) stops the command, whose other
outputs are closed validly, marked partial."""

from __future__ import annotations

import gc
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from evidence_cli.cli import _buffered_stdout
from evidence_cli.cli.common import EXIT_PROBLEMS, GuardedOutput
from tests.hostile.run import evidence_cmd, stdout_env


def _unbuffered(fd: int) -> io.TextIOWrapper:
    """A stdout as ``python -u`` makes it: text written straight through to the descriptor."""
    return io.TextIOWrapper(io.FileIO(fd, "w", closefd=False), encoding="utf-8", write_through=True)


@pytest.fixture
def stdout(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Gives ``install(stream)``: that stream becomes sys.stdout for the test."""

    def install(stream: Any) -> None:
        monkeypatch.setattr(sys, "stdout", stream)

    yield install


def test_an_unbuffered_stdout_is_written_in_blocks(stdout: Any, tmp_path: Path) -> None:
    target = tmp_path / "out"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        original = _unbuffered(fd)
        stdout(original)
        original.write("before\n")  # (what an unbuffered stream wrote is already there)
        _buffered_stdout()
        assert sys.stdout is not original
        assert isinstance(sys.stdout.buffer, io.BufferedWriter)
        assert sys.stdout.encoding == "utf-8"
        sys.stdout.write('{"path": "a"}\n')
        assert target.read_bytes() == b"before\n", "a record was written on its own"
        sys.stdout.flush()
        assert target.read_bytes() == b'before\n{"path": "a"}\n'
        # The new stream never closes the descriptor, nor the interpreter's own stdout.
        sys.stdout = original
        gc.collect()
        original.write("after\n")
        assert target.read_bytes().endswith(b"after\n")
    finally:
        os.close(fd)


def test_a_terminal_and_a_buffered_stdout_are_left_as_they_are(stdout: Any) -> None:
    main, other = os.openpty()
    try:
        terminal = _unbuffered(other)
        stdout(terminal)
        _buffered_stdout()
        assert sys.stdout is terminal
    finally:
        os.close(main)
        os.close(other)
    buffered = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    stdout(buffered)
    _buffered_stdout()
    assert sys.stdout is buffered
    closed = _unbuffered(os.open(os.devnull, os.O_WRONLY))
    os.close(closed.fileno())
    closed.buffer.close()
    stdout(closed)
    _buffered_stdout()  # no descriptor left: as it is, no error
    assert sys.stdout is closed


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """More of every output than a pipe holds (64 KiB: 1,500 lines of a sha256sum list),
    so that a reader that goes away early leaves the command writing."""
    root = tmp_path_factory.mktemp("stdout") / "evidence"
    root.mkdir()
    for i in range(1500):
        (root / f"note-{i:04d}.txt").write_text(f"note {i}\n")
    return root


def _records(out: bytes) -> list[dict[str, Any]]:
    """The JSON Lines records, without the values that differ between two scans."""
    rows = [json.loads(line) for line in out.decode("utf-8").splitlines()]
    for r in rows:
        r.pop("scan", None)
        if "filesystem" in r:
            r["filesystem"].pop("accessed", None)
    return rows


def test_the_same_records_reach_a_pipe_either_way(tree: Path) -> None:
    outs = []
    for unbuffered in (True, False):
        argv = evidence_cmd("scan", tree, "--workers", "0", "--no-metadata", "-f", "jsonl")
        proc = subprocess.run(argv, capture_output=True, env=stdout_env(unbuffered), timeout=180)
        assert proc.returncode == 0, proc.stderr.decode()[-2000:]
        outs.append(_records(proc.stdout))
    assert len(outs[0]) == 1502  # the header, one record a file, the trailer
    assert outs[0] == outs[1]


@pytest.fixture(scope="module")
def manifest(tree: Path) -> Path:
    out = tree.parent / "scan.json"
    argv = evidence_cmd("scan", tree, "--workers", "0", "--no-metadata", "--json", out, "-f", "csv")
    subprocess.run(argv, capture_output=True, check=True, timeout=180)
    return out


@pytest.mark.parametrize("unbuffered", [True, False], ids=["PYTHONUNBUFFERED", "default"])
@pytest.mark.parametrize("command", ["scan", "verify-report", "verify-listing", "export"])
def test_a_reader_that_goes_away_stops_the_command_and_leaves_valid_exports(
    tree: Path, manifest: Path, tmp_path: Path, command: str, unbuffered: bool
) -> None:
    """`| head -1`: exit status 1, no traceback and no error Python could not raise (3.13
    reported each stream still holding records as an ignored BrokenPipeError when it was
    finalised); the scan's export and verify's report are valid, and say they are partial.
    (verify's JSON report was left cut short, invalid JSON.)"""
    out = tmp_path / "out.json"
    args = {
        "scan": ["scan", tree, "--workers", "0", "--no-metadata", "--json", out, "-f", "jsonl"],
        "verify-report": ["verify", manifest, "--csv", "-", "--json", out],
        "verify-listing": ["verify", manifest, "--all", "--json", out],
        "export": ["export", manifest, "--format", "sha256sum", "-o", "-"],
    }[command]
    proc = subprocess.Popen(
        evidence_cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=stdout_env(unbuffered)
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # `| head -1`
    err = proc.stderr.read().decode("utf-8", "replace")
    assert proc.wait(timeout=180) == EXIT_PROBLEMS, err[-3000:]
    assert first.strip()
    assert "Traceback" not in err and "Exception ignored" not in err, err[-3000:]
    said = " ".join(err.split())  # (the console wraps its lines off a terminal)
    if command == "scan":
        export = json.loads(out.read_text(encoding="utf-8"))
        assert export["scan"]["complete"] is False
        assert 0 < len(export["files"]) < 1500
        assert "Scan stopped: the reader of stdout went away after" in said
    elif command.startswith("verify"):
        report = json.loads(out.read_text(encoding="utf-8"))
        assert report["result"]["outcome"] == "interrupted"
        assert "the reader of stdout went away" in report["result"]["message"]
        assert "stopped because the reader of stdout went away" in said


def test_a_stream_whose_reader_went_away_is_released_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    """What stdout's stream still holds when its reader has gone goes to the null device as
    it is detached, instead of failing again (an unraisable error at exit on 3.13)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        text = io.TextIOWrapper(
            io.BufferedWriter(io.FileIO(write_end, "w", closefd=False)), encoding="utf-8", write_through=True
        )
        monkeypatch.setattr(sys, "stdout", text)  # (the descriptor drop_stdout redirects)
        out = GuardedOutput(text, "-")
        with pytest.raises(BrokenPipeError):
            for _ in range(1000):
                out.write("x" * 100)
        assert out.write("dropped") == len("dropped")  # the command is closing its outputs
        out.flush()
        out.detach()
        with pytest.raises(ValueError, match="detached"):
            text.write("x")  # detached: nothing is left to fail when it is finalised
        assert out.failed is None  # a reader that went away is not a failed export
    finally:
        os.close(write_end)
