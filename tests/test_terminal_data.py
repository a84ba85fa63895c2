"""Data printed on a terminal never acts on it.

Before, `evidence export manifest.json --format sha256sum` (stdout is its default output),
`evidence scan DIR -f csv` or `--csv -` on a terminal wrote file names from the evidence
as they are: a name holding ``ESC [ 2 K`` or a carriage return erased or overwrote what
was shown (a listed file hidden from the examiner), ``ESC ] 52`` wrote the clipboard on
terminals that allow it, a bidi override showed ``b<RLO>gpj.exe`` as ``bexe.jpg``. The table
and every message escaped them; the data streams did not. Redirected to a file or a pipe,
the data is still written exactly.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from evidence_cli import console
from evidence_cli.console import TerminalBytes, TerminalText, terminal_text
from tests.hostile.run import evidence_cmd, run_in_terminal

#: Names an attacker gives the files of a seized device.
HOSTILE = {
    b"a\x1b[2K\rOK clean.txt": b"x",  # erase the line, start over: "OK clean.txt"
    b"b\x1b]52;c;ZXZpbA==\x07.txt": b"y",  # OSC 52: write the examiner's clipboard
    b"c\xe2\x80\xaegpj.exe": b"z",  # U+202E: shown as "cexe.jpg"
    b"d\xc2\x9b31m.txt": b"w",  # C1 CSI
    b"e\x7f\x08.txt": b"v",  # DEL, backspace
}
#: What must never reach the terminal raw from stdout.
RAW = (b"\x1b", b"\xc2\x9b", b"\xe2\x80\xae", b"\x07", b"\x08", b"\x7f")


def test_control_and_invisible_characters_are_escaped_and_the_layout_kept() -> None:
    text = 'a\x1b[31m\rb\u202ec\x9b\x7f\t"x"\r\n{"k": 1}\n\u2028'
    assert terminal_text(text) == 'a\\x1b[31m\\rb\\u202ec\\x9b\\x7f\t"x"\r\n{"k": 1}\n\\u2028'


def test_json_on_a_terminal_is_still_json_of_the_same_values() -> None:
    value = {"path": "b\u202egpj\x9b\x7f\U000e0041\u2028.exe", "n": 1}
    raw = json.dumps(value, ensure_ascii=False)
    shown = terminal_text(raw, json=True)
    assert not any(ord(c) >= 0x7F and not c.isprintable() for c in shown)
    assert "\u202e" not in shown and "\U000e0041" not in shown
    assert json.loads(shown) == value


def test_every_invisible_character_of_this_python_is_escaped() -> None:
    """The pattern is written out (building it at start-up costs 0.2 s); this checks it
    against the Unicode of the running Python."""
    missed = [
        f"U+{cp:04X}"
        for cp in range(0x110000)
        if unicodedata.category(chr(cp)) in ("Cf", "Cc", "Cs") and not console._UNSAFE.match(chr(cp))
    ]
    assert missed == []
    # A terminal's data keeps its own layout: line feeds, tabs, a CR that ends a line.
    assert [console._TERMINAL_UNSAFE.match(s) for s in ("\n", "\t", "\r\n")] == [None, None, None]
    assert console._TERMINAL_UNSAFE.match("\rx") and console._TERMINAL_UNSAFE.match("\x1b")


def test_a_carriage_return_ending_one_write_waits_for_the_next() -> None:
    sink = io.StringIO()
    stream = TerminalText(sink)
    stream.write("row,1\r")
    stream.write("\nname\r")
    stream.write("x\r")
    stream.close = lambda: None  # type: ignore[method-assign]  (StringIO: keep it readable)
    stream._release()
    assert sink.getvalue() == "row,1\r\nname\\rx\\r"


def test_bytes_on_a_terminal_are_shown_as_utf8_with_escapes() -> None:
    sink = io.BytesIO()
    shown = TerminalBytes(sink)
    shown.write(b"ok  caf\xc3")  # a character split across two writes
    shown.write(b"\xa9 \xff\x1b[2K\r")
    shown.write(b"\n")
    shown.close()
    assert sink.getvalue() == "ok  café \\xff\\x1b[2K\r\n".encode()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("terminal") / "t"
    root.mkdir()
    for name, data in HOSTILE.items():
        with open(os.path.join(os.fsencode(root), name), "wb") as f:
            f.write(data)
    manifest = root.parent / "m.json"
    proc = subprocess.run(evidence_cmd("scan", root, "--workers", "0", "--json", manifest), capture_output=True)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    return root, manifest


def _stdout_on_a_terminal(cmd: list[str]) -> tuple[int, bytes]:
    """Run ``cmd`` with stdout on a pseudo-terminal (stderr elsewhere: rich's own colours
    are not in question); what the terminal got."""
    return run_in_terminal(cmd, stderr_too=False)


def _commands(root: Path, manifest: Path) -> list[list[str]]:
    return [
        ["scan", str(root), "--workers", "0", "-f", "csv"],
        ["scan", str(root), "--workers", "0", "-f", "jsonl"],
        ["scan", str(root), "--workers", "0", "-f", "json"],
        ["scan", str(root), "--workers", "0", "--csv", "-"],
        ["verify", str(manifest), "--csv", "-"],
        ["verify", str(manifest), "--json", "-"],
        ["verify", str(manifest), "--all"],
        ["export", str(manifest), "--format", "sha256sum"],
        ["export", str(manifest), "--format", "hashdeep"],
        ["export", str(manifest), "--format", "csv"],
        ["show", str(root / "c\u202egpj.exe")],
        ["show", str(root / "c\u202egpj.exe"), "--json"],
    ]


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="no pseudo-terminals here")
def test_no_command_writes_evidence_characters_raw_on_a_terminal(hostile: tuple[Path, Path]) -> None:
    root, manifest = hostile
    for args in _commands(root, manifest):
        status, out = _stdout_on_a_terminal(evidence_cmd(*args))
        assert status in (0, 1), (args, out[-2000:])
        if args[0] == "show":
            out = re.sub(rb"\x1b\[[0-9;]*m", b"", out)  # (its own styles; no name here holds one)
        assert [r for r in RAW if r in out] == [], (args, out[-3000:])
        # Each file is still there, its name escaped.
        assert out.count(b"gpj.exe") >= 1, (args, out[-3000:])
        text = out.decode("utf-8").replace("\r\n", "\n")  # (the terminal's own line ends)
        if args[-2:] in (["-f", "json"], ["--json", "-"]) or args[-1] == "--json":
            assert json.loads(text)  # still valid JSON
        elif args[-1] == "jsonl":
            assert all(json.loads(line) for line in text.splitlines())


def test_redirected_data_is_written_exactly(hostile: tuple[Path, Path]) -> None:
    root, manifest = hostile
    csv_out = subprocess.run(evidence_cmd("scan", root, "--workers", "0", "-f", "csv"), capture_output=True)
    assert b"a\x1b[2K\rOK clean.txt" in csv_out.stdout
    listed = subprocess.run(evidence_cmd("export", manifest, "--format", "hashdeep"), capture_output=True)
    assert b"./c\xe2\x80\xaegpj.exe\n" in listed.stdout
    records = subprocess.run(evidence_cmd("scan", root, "--workers", "0", "-f", "jsonl"), capture_output=True)
    assert "c\u202egpj.exe" in records.stdout.decode("utf-8")


def test_the_escaped_json_shown_on_a_terminal_reads_as_the_exported_json(hostile: tuple[Path, Path]) -> None:
    if not hasattr(os, "openpty"):
        pytest.skip("no pseudo-terminals here")
    root, _ = hostile
    _, shown = _stdout_on_a_terminal(evidence_cmd("scan", root, "--workers", "0", "-f", "jsonl", "--no-metadata"))
    piped = subprocess.run(
        evidence_cmd("scan", root, "--workers", "0", "-f", "jsonl", "--no-metadata"), capture_output=True
    ).stdout

    def paths(raw: bytes) -> list[str]:
        lines = raw.decode("utf-8").replace("\r\n", "\n").splitlines()
        return sorted(json.loads(line)["path"] for line in lines if line.startswith('{"path"'))

    assert paths(shown) == paths(piped) == sorted(os.fsdecode(n) for n in HOSTILE)
    assert sys.platform != "win32"
