"""What stdout shows on the terminal that also shows the progress line.

Before, `evidence verify` on a terminal wrote its listed entries to stdout while the
progress line stood on the same screen: each one was glued to the end of that line's text
(``⠹ 0 entries 44.0 MiB read 0:00:00 big.binMODIFIED    f1500.txt ...``), the entries an
examiner most needs to read. `scan -f jsonl` on a terminal did the same to its first record.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from rich.console import Console
from rich.progress import Progress

from evidence_cli.cli import common
from evidence_cli.cli.common import AboveProgress, GuardedOutput, LineRoute, ProgressLine, lines_above
from evidence_cli.console import same_terminal
from evidence_cli.errors import OutputFailed
from tests.hostile.run import evidence_cmd, run_in_terminal

pytestmark = pytest.mark.skipif(not hasattr(os, "openpty"), reason="no pseudo-terminals here")

#: The progress line's text (entries done, bytes read).
_PROGRESS = re.compile(r"\d+ (of \d+ )?entries [\d.]+ [KMGT]?i?B (read|of)")
_SEQUENCE = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])")


def _screen(raw: bytes) -> list[str]:
    """The lines a terminal shows after ``raw``: carriage return, line feed, cursor up and
    line erasing as a terminal does them (rich's progress display uses no others), colours
    ignored; lines never wrap."""
    lines: list[list[str]] = [[]]
    row = col = 0
    chars = raw.decode("utf-8", "replace")
    i = 0
    while i < len(chars):
        c = chars[i]
        if c == "\x1b":
            m = _SEQUENCE.match(chars, i)
            assert m is not None, f"a sequence the test does not know: {chars[i : i + 12]!r}"
            params, op = m.group(1), m.group(2)
            if op == "A":
                row = max(0, row - int(params or 1))
            elif op == "K":
                line = lines[row]
                del line[0 if params == "2" else col :]
            elif op not in "mhl":
                raise AssertionError(f"a sequence the test does not know: {m.group(0)!r}")
            i = m.end()
            continue
        if c == "\r":
            col = 0
        elif c == "\n":
            row += 1
            while len(lines) <= row:
                lines.append([])
        else:
            line = lines[row]
            while len(line) < col:
                line.append(" ")
            if col < len(line):
                line[col] = c
            else:
                line.append(c)
            col += 1
        i += 1
    shown = ["".join(line).rstrip() for line in lines]
    while shown and not shown[-1]:
        shown.pop()
    return shown


def _in_a_terminal(cmd: list[str], cwd: Path) -> tuple[int, bytes]:
    """Run ``cmd`` with one pseudo-terminal for stdin, stdout and stderr: its exit status
    and what the terminal got."""
    return run_in_terminal(cmd, cwd)


def _scanned_tree(tmp_path: Path, count: int = 300) -> Path:
    root = tmp_path / "t"
    root.mkdir()
    for i in range(count):
        (root / f"f{i:04d}.txt").write_text(f"note {i}\n")
    status = subprocess.run(
        evidence_cmd("scan", root, "--json", tmp_path / "m.json", "-f", "jsonl"), capture_output=True
    ).returncode
    assert status == 0
    return root


def test_verify_lists_each_entry_on_a_line_of_its_own_above_the_progress_line(tmp_path: Path) -> None:
    root = _scanned_tree(tmp_path)
    changed = ["f0003.txt", "f0150.txt", "f0299.txt"]
    for name in changed:
        (root / name).write_text("changed\n")
    status, raw = _in_a_terminal(evidence_cmd("verify", tmp_path / "m.json"), tmp_path)
    assert status == 1
    assert b"entries" in raw  # the progress line was drawn
    screen = _screen(raw)
    listed = [line for line in screen if "MODIFIED" in line]
    assert [line.split()[:2] for line in listed] == [["MODIFIED", name] for name in changed], screen
    assert screen[-1].startswith("Result: FAILED")
    assert not any(_PROGRESS.search(line) for line in screen)  # (the line went away)


def test_verify_all_lists_every_entry_once_and_in_order_on_a_terminal(tmp_path: Path) -> None:
    _scanned_tree(tmp_path, 2000)
    status, raw = _in_a_terminal(evidence_cmd("verify", tmp_path / "m.json", "--all"), tmp_path)
    assert status == 0
    listed = [line for line in _screen(raw) if line.startswith("OK")]
    assert [line.split()[1] for line in listed] == [f"f{i:04d}.txt" for i in range(2000)]


def test_verify_listing_is_plain_stdout_where_stdout_is_not_that_terminal(tmp_path: Path) -> None:
    root = _scanned_tree(tmp_path, 20)
    (root / "f0005.txt").write_text("changed\n")
    os.utime(root / "f0005.txt", ns=(0, 1_700_000_000_000_000_000))
    out = tmp_path / "listing.txt"
    cmd = " ".join(f"'{a}'" for a in evidence_cmd("verify", tmp_path / "m.json")) + f" > '{out}'"
    status, raw = _in_a_terminal(["sh", "-c", cmd], tmp_path)
    assert status == 1
    [line] = out.read_text().splitlines()
    assert re.fullmatch(
        r"MODIFIED    f0005\.txt  \(changed: md5, sha1, sha256, size; size 7 -> 8; "
        r"mtime 20\d\d-\d\d-\d\dT[0-9:.]+Z -> 2023-11-14T22:13:20Z\)",
        line,
    ), line
    assert b"MODIFIED" not in raw  # not on the terminal as well


@pytest.mark.parametrize("how", [["-f", "jsonl"], ["-f", "csv"], ["--jsonl", "-"], ["-f", "json"], ["--json", "-"]])
def test_scan_records_on_the_terminal_are_printed_above_the_progress_line(tmp_path: Path, how: list[str]) -> None:
    """Each record on a line of its own, the document whole (a JSON export still parses from
    the screen), and the progress line drawn meanwhile (a large file's bytes go on moving)."""
    root = tmp_path / "t"
    root.mkdir()
    (root / "big.bin").write_bytes(os.urandom(8 * 2**20))
    for i in range(50):
        (root / f"f{i:02d}.txt").write_text(f"note {i}\n")
    status, raw = _in_a_terminal(evidence_cmd("scan", root, *how), tmp_path)
    assert status == 0, raw[-2000:]
    assert _PROGRESS.search(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", raw.decode("utf-8", "replace")))
    screen = _screen(raw)
    assert not any(_PROGRESS.search(line) for line in screen), screen[:3]  # (gone at the end)
    names = ["big.bin"] + [f"f{i:02d}.txt" for i in range(50)]
    if how[-1] == "csv":
        assert screen[0].startswith("path,")
        assert [line.split(",")[0] for line in screen[1:52]] == names
    elif how in (["-f", "json"], ["--json", "-"]):
        end = screen.index("}")
        document = json.loads("\n".join(screen[: end + 1]))
        assert [r["path"] for r in document["files"]] == names
    else:
        records = [json.loads(line) for line in screen if line.startswith("{")]
        assert [r["path"] for r in records if "path" in r] == names
        assert "schema" in records[0] and "summary" in records[-1]


def test_a_scan_whose_records_go_elsewhere_still_shows_its_progress(tmp_path: Path) -> None:
    root = tmp_path / "t"
    root.mkdir()
    (root / "a.txt").write_text("hello\n")
    status, raw = _in_a_terminal(evidence_cmd("scan", root, "--jsonl", tmp_path / "r.jsonl"), tmp_path)
    assert status == 0
    assert b"1 entry" in raw


def test_same_terminal_compares_the_devices() -> None:
    try:
        master, slave = os.openpty()
        master2, slave2 = os.openpty()
    except OSError as exc:
        pytest.skip(f"no pseudo-terminal: {exc}")
    read_end, write_end = os.pipe()
    try:
        with open(slave, "w", closefd=False) as a, open(os.dup(slave), "w") as b, open(slave2, "w", closefd=False) as c:
            assert same_terminal(a, b)
            assert not same_terminal(a, c)
            with open(write_end, "w", closefd=False) as pipe:
                assert not same_terminal(pipe, pipe)  # one stream, but not a terminal
            assert not same_terminal(a, io.StringIO())  # no descriptor (a test runner's stream)
    finally:
        for fd in (master, slave, master2, slave2, read_end, write_end):
            os.close(fd)


def _console() -> tuple[Console, io.StringIO]:
    sink = io.StringIO()
    return Console(file=sink, width=20, markup=False, highlight=False, emoji=False), sink


def test_lines_above_the_progress_are_gathered_and_printed_whole() -> None:
    console, sink = _console()
    with AboveProgress(console, GuardedOutput(io.StringIO(), "-"), every=3600) as above:
        above.write("MODIFIED    a long name that is wider than the console")
        above.write("[bold]not markup[/bold] :smile:")
        assert sink.getvalue() == ""  # gathered
    assert sink.getvalue().splitlines() == [  # printed as the context ends, whole, as they are
        "MODIFIED    a long name that is wider than the console",
        "[bold]not markup[/bold] :smile:",
    ]


def test_a_line_above_the_progress_is_not_held_back_while_the_run_waits() -> None:
    """The last line before a long wait (a disk image re-hashed for minutes) is printed
    in its turn, not when the next line comes."""
    console, sink = _console()
    with AboveProgress(console, GuardedOutput(io.StringIO(), "-"), every=0.01) as above:
        above.write("MISSING     before the wait")
        deadline = time.monotonic() + 30
        while "before the wait" not in sink.getvalue():
            assert time.monotonic() < deadline, "the line was held back"
            time.sleep(0.01)


class _Full(io.StringIO):
    def write(self, s: str) -> int:
        raise OSError(28, "No space left on device")


def test_a_print_above_the_progress_that_fails_is_stdouts_failure() -> None:
    listing = GuardedOutput(io.StringIO(), "-")
    with (
        pytest.raises(OutputFailed, match="stdout"),
        AboveProgress(Console(file=_Full()), listing, every=3600) as above,
    ):
        above.write("MODIFIED    a")
    assert listing.failed is not None


def test_a_failure_met_by_the_printing_thread_is_raised_by_the_next_line() -> None:
    listing = GuardedOutput(io.StringIO(), "-")
    with AboveProgress(Console(file=_Full()), listing, every=0.01) as above:
        above.write("MODIFIED    a")
        deadline = time.monotonic() + 30
        while listing.failed is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        with pytest.raises(OutputFailed, match="stdout"):
            above.write("MODIFIED    b")
        above.write("MODIFIED    c")  # dropped, not raised again


def test_a_line_route_reprints_the_line_the_progress_line_erases_and_keeps_the_last() -> None:
    class Lines:
        def __init__(self) -> None:
            self.got: list[str] = []

        def write(self, line: str) -> None:
            self.got.append(line)

        def __enter__(self) -> None:
            pass

        def __exit__(self, *exc: object) -> None:
            pass

    sink, lines = io.StringIO(), Lines()
    route = LineRoute(sink)
    route.write('{\n  "files": [')  # unfinished as the progress line comes, which erases it
    with route.above(lines):  # type: ignore[arg-type]
        route.write('\n    {"a": 1},')
        route.write('\n    {"b": 2}\r\n{"c"')
    route.write(": 3}\n")
    assert lines.got == ['  "files": [', '    {"a": 1},', '    {"b": 2}']
    assert sink.getvalue() == '{\n  "files": [{"c": 3}\n'


@pytest.mark.parametrize("how", [["--csv", "-"], ["--json", "-"]])
def test_verify_reports_on_the_terminal_are_printed_above_the_progress_line(tmp_path: Path, how: list[str]) -> None:
    root = _scanned_tree(tmp_path, 40)
    (root / "f0007.txt").write_text("changed\n")
    status, raw = _in_a_terminal(evidence_cmd("verify", tmp_path / "m.json", *how), tmp_path)
    assert status == 1
    assert _PROGRESS.search(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", raw.decode("utf-8", "replace")))
    screen = _screen(raw)
    names = [f"f{i:04d}.txt" for i in range(40)]
    if how[0] == "--csv":
        rows = [line.split(",") for line in screen if line.startswith(("ok,", "modified,"))]
        assert [r[2] for r in rows] == names
    else:
        document = json.loads("\n".join(screen[: screen.index("}") + 1]))
        assert [e["path"] for e in document["entries"]] == names
        assert document["result"]["exit_code"] == 1


def test_no_line_is_printed_above_the_progress_line_while_it_goes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each print above the progress line draws that line again: a print that rich wrote
    after the display had erased the line (the threads write in turn) left the line on the
    screen for good, with the next output glued to its end (the scan test above failed so
    about once in 25 runs on a loaded machine). The printing thread ends first now."""
    stream = io.StringIO()
    listing = GuardedOutput(stream, "-")
    listing.route = LineRoute(stream)
    console = Console(file=io.StringIO(), force_terminal=True, width=80)
    progress = ProgressLine(console=console, transient=True)
    monkeypatch.setattr(common, "same_terminal", lambda a, b: True)
    printing: list[bool] = []
    stop = Progress.stop

    def stopping(self: Progress) -> None:
        above = listing.route._above if listing.route is not None else None
        printing.append(above is not None and above._thread.is_alive())
        stop(self)

    monkeypatch.setattr(Progress, "stop", stopping)
    with lines_above(progress, [listing]), progress:
        for i in range(300):
            listing.route.write(f"record {i}\n")
            time.sleep(0.0005)
    assert printing == [False]  # (the thread had ended)
    assert [f"record {i}" for i in range(300)] == [
        x.strip() for x in _screen(console.file.getvalue().encode()) if x.strip()
    ]
