"""The README keeps up with the CLI: every command is documented, the scan --help block is real."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from evidence_cli.cli import cli

README = Path(__file__).resolve().parent.parent / "README.md"


def readme() -> str:
    return README.read_text(encoding="utf-8")


def commands() -> list[str]:
    assert isinstance(cli, click.Group)
    return sorted(cli.commands)


def real_help(*args: str) -> str:
    # As a user sees it in an 80-column terminal (Click wraps help at the width less 2).
    r = CliRunner().invoke(cli, [*args, "--help"], prog_name="evidence", terminal_width=78)
    assert r.exit_code == 0, r.output
    return r.stdout


def fenced_block_after(text: str, marker: str) -> str | None:
    """The first fenced code block after the first line that contains ``marker``."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if marker in line), None)
    if start is None:
        return None
    opening = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("```")), None)
    if opening is None:
        return None
    fence = lines[opening].lstrip()[:3]
    closing = next((i for i in range(opening + 1, len(lines)) if lines[i].strip() == fence), None)
    if closing is None:
        return None
    return "\n".join(lines[opening + 1 : closing])


@pytest.mark.parametrize("name", commands())
def test_every_command_appears_in_the_readme(name: str) -> None:
    assert f"evidence {name}" in readme(), f"README.md does not mention `evidence {name}`"


def test_readme_scan_help_block_is_the_real_one() -> None:
    block = fenced_block_after(readme(), "evidence scan --help")
    expected = real_help("scan").rstrip("\n")
    paste = f"\n\nPaste this after the `evidence scan --help` heading of README.md:\n\n```text\n{expected}\n```\n"
    assert block is not None, "README.md has no fenced block after a line with `evidence scan --help`" + paste
    got = "\n".join(line.rstrip() for line in block.splitlines())
    want = "\n".join(line.rstrip() for line in expected.splitlines())
    assert got == want, "README's `evidence scan --help` block is out of date" + paste


def test_fenced_block_finder() -> None:
    text = "intro\n## `evidence scan --help`\n\nsome words\n```text\nUsage: x\n  a\n```\nafter\n```\nother\n```\n"
    assert fenced_block_after(text, "evidence scan --help") == "Usage: x\n  a"
    assert fenced_block_after(text, "missing marker") is None
    assert fenced_block_after("marker\nno block", "marker") is None


def test_readme_test_command_is_what_ci_runs() -> None:
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)\n```", readme(), flags=re.S)
    test_cmd = next((b for b in blocks if "pytest" in b), None)
    assert test_cmd is not None, "README gives the test command"
    checks = test_cmd.split("pip install -e '.[test]' && ", 1)[-1]
    assert checks in ci, f".ci/run should run the README's test command: {checks}"
