"""An output is never an input and never another output: `verify m.json --json m.json`
and `export m.json -o m.json` emptied the manifest (the chain of custody's record) to
write the report over it; two exports to one file interleaved their lines."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from evidence_cli.cli import cli
from tests.custody import make_tree, write_manifest


@pytest.fixture
def case(tmp_path: Path) -> tuple[Path, Path, bytes]:
    tree = make_tree(tmp_path / "evidence", specials=False)
    manifest = tmp_path / "manifest.json"
    write_manifest(tree, manifest)
    return tree, manifest, manifest.read_bytes()


def run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


def _links(manifest: Path) -> dict[str, Path]:
    sym = manifest.with_name("via-symlink.json")
    sym.symlink_to(manifest)
    hard = manifest.with_name("via-hardlink.json")
    os.link(manifest, hard)
    return {"same path": manifest, "symlink": sym, "hard link": hard}


@pytest.mark.parametrize("how", ["same path", "symlink", "hard link"])
@pytest.mark.parametrize("option", ["--json", "--csv"])
def test_verify_never_writes_its_report_over_the_manifest(
    case: tuple[Path, Path, bytes], how: str, option: str
) -> None:
    _, manifest, original = case
    target = _links(manifest)[how]
    code, output = run(["verify", manifest, option, target])
    assert code == 2
    assert "it is the input" in output
    assert manifest.read_bytes() == original


@pytest.mark.parametrize("how", ["same path", "symlink", "hard link"])
def test_export_never_writes_over_the_manifest(case: tuple[Path, Path, bytes], how: str) -> None:
    _, manifest, original = case
    target = _links(manifest)[how]
    code, output = run(["export", manifest, "--format", "sha256sum", "-o", target])
    assert code == 2
    assert "it is the input" in output
    assert manifest.read_bytes() == original


def test_two_exports_of_a_scan_are_never_one_file(case: tuple[Path, Path, bytes], tmp_path: Path) -> None:
    tree, _, _ = case
    out = tmp_path / "out" / "scan.json"
    out.parent.mkdir()
    code, output = run(["scan", tree, "--workers", "0", "--json", out, "--csv", out.parent / "." / "scan.json"])
    assert code == 2
    assert "it is another output" in output
    assert not out.exists()
    # Devices may repeat: two exports thrown away in /dev/null are fine.
    if os.path.exists(os.devnull):
        code, _ = run(["scan", tree, "--workers", "0", "--json", os.devnull, "--csv", os.devnull, "-f", "json"])
        assert code in (0, 1)


# --- empty paths ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["scan", ""],
        ["scan", "{tree}", ""],
        ["scan", "{tree}", "--json", ""],
        ["scan", "{tree}", "--jsonl", ""],
        ["scan", "{tree}", "--csv", ""],
        ["scan", "{tree}", "--scheduler", ""],
        ["show", ""],
        ["verify", ""],
        ["verify", "{manifest}", "--root", ""],
        ["verify", "{manifest}", "--json", ""],
        ["verify", "{manifest}", "--csv", ""],
        ["export", "", "-f", "sha256sum"],
        ["export", "{manifest}", "-f", "sha256sum", "-o", ""],
    ],
)
def test_an_empty_path_is_refused(
    case: tuple[Path, Path, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    """``--json "$OUT"`` with OUT unset wrote no manifest, without a word (exit 0); ``scan
    ""`` scanned the working folder, ``show ""`` showed a file of it, and ``verify --root
    ""`` checked the working folder instead of the evidence."""
    tree, manifest, _ = case
    monkeypatch.chdir(tree)  # what an empty path used to name
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out = run([a.format(tree=tree, manifest=manifest) for a in args])
    assert code == 2, out
    assert "is empty (an unset shell variable?)" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "nothing written"
