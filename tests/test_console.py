"""Evidence strings never act on the terminal: escapes, controls, bidi, markup."""

from __future__ import annotations

import io
import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from evidence_cli.cli.common import Totals
from evidence_cli.console import counted, evidence_text, make_consoles, safe_text
from evidence_cli.models import Device, FileRecord, ScanInfo
from evidence_cli.summary import Summary
from evidence_cli.writers.table import TableWriter


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),  # ANSI colour
        ("\x1b]8;;http://evil/\x1b\\link\x1b]8;;\x1b\\", "\\x1b]8;;http://evil/\\x1b\\link\\x1b]8;;\\x1b\\"),  # OSC 8
        ("\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H"),  # clear screen
        ("a\x07b", "a\\x07b"),  # bell
        ("a\x00b", "a\\x00b"),
        ("a\rb", "a\\rb"),  # carriage return: would overwrite the line
        ("a\nb\tc", "a\\nb\\tc"),
        ("a\x08b", "a\\x08b"),  # backspace
        ("a\x7fb", "a\\x7fb"),  # DEL
        ("\x9b2J", "\\x9b2J"),  # C1 CSI
        ("a\x85b", "a\\x85b"),  # C1 NEL
        ("invoice\u202egpj.exe", "invoice\\u202egpj.exe"),  # right-to-left override
        ("\u2066x\u2069", "\\u2066x\\u2069"),  # isolates
        ("a\u200bb", "a\\u200bb"),  # zero-width space
        ("a\u200db", "a\\u200db"),  # zero-width joiner
        ("a\u2060b", "a\\u2060b"),  # word joiner
        ("\ufeffbom", "\\ufeffbom"),
        ("a\u00adb", "a\\xadb"),  # soft hyphen
        ("line\u2028sep", "line\\u2028sep"),
        ("café 日本語 ñ Ω", "café 日本語 ñ Ω"),  # ordinary text untouched
        ("[red]x[/red]", "[red]x[/red]"),  # markup is left as text (rich gets a Text)
    ],
)
def test_safe_text(raw: str, shown: str) -> None:
    assert safe_text(raw) == shown


def test_safe_text_of_non_strings() -> None:
    assert safe_text(42) == "42"
    assert safe_text(None) == "None"


@given(st.text())
def test_safe_text_leaves_no_control_or_format_character(s: str) -> None:
    out = safe_text(s)
    assert not [c for c in out if unicodedata.category(c) in ("Cc", "Cf", "Cs")]
    assert "\x1b" not in out


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp"))))
def test_safe_text_keeps_printable_text(s: str) -> None:
    assert safe_text(s) == s


def test_evidence_text_is_never_markup() -> None:
    t = evidence_text("[bold red]alarm[/]")
    assert t.plain == "[bold red]alarm[/]"
    assert not t.spans


HOSTILE_NAMES = [
    "[red]x[/red].jpg",
    "[link=http://evil.example/]click[/link].png",
    "\x1b[2J\x1b[31mwiped.txt",
    ":smile: :warning:.txt",
    "invoice\u202egpj.exe",
    "[bold]\x9b31m.txt",
]


def record(path: str, **kw: object) -> FileRecord:
    return FileRecord(path=path, path_bytes=None, kind="file", size=10, **kw)  # type: ignore[arg-type]


def info() -> ScanInfo:
    return ScanInfo(
        tool={"name": "evidence-cli", "version": "0"},
        case={"case": None, "examiner": None, "evidence_id": None},
        roots=("/x",),
        started_utc="2020-01-01T00:00:00Z",
        finished_utc=None,
        options={},
    )


def render(records: list[FileRecord], console: Console) -> None:
    w = TableWriter(console, limit=0)
    w.begin(info())
    for r in records:
        w.write(r)
    w.end(info(), Summary())


def hostile_records() -> list[FileRecord]:
    return [
        record(
            name,
            mime="[blink]image/jpeg",
            device=Device(make="[red]Canon\x1b[5m", model="[link=file:///etc/passwd]M[/link]", source="exif"),
        )
        for name in HOSTILE_NAMES
    ]


def test_table_shows_markup_literally_and_no_escape_reaches_the_screen(capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = make_consoles(width=400)
    render(hostile_records(), out)
    text = capsys.readouterr().out
    assert "\x1b" not in text and "\x9b" not in text
    assert "[red]x[/red].jpg" in text
    assert "[link=http://evil.example/]click[/link].png" in text
    assert "\\x1b[2J\\x1b[31mwiped.txt" in text
    assert ":smile: :warning:.txt" in text, "no emoji substitution"
    assert "invoice\\u202egpj.exe" in text
    assert "\\x9b31m" in text
    assert "[blink]image/jpeg" in text
    assert "[red]Canon\\x1b[5m [link=file:///etc/passwd]M[/link]" in text


def test_colour_terminal_keeps_evidence_inert() -> None:
    buf = io.StringIO()
    console = Console(file=buf, width=400, force_terminal=True, color_system="truecolor", markup=False, emoji=False)
    render(hostile_records(), console)
    text = buf.getvalue()
    # Our own styling uses escapes here, but none that came from the evidence.
    assert "\x1b[2J" not in text and "\x1b[5m" not in text and "\x9b" not in text
    assert "\x1b]8;" not in text, "no hyperlink was made from a [link=...] name"
    assert "[red]x[/red].jpg" in text


def test_table_cells_do_not_cut_digests(capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = make_consoles(width=200)
    render([record("a", hashes={"sha256": "ab" * 32})], out)
    text = capsys.readouterr().out
    assert "abababababab…" in text, "a shortened digest is visibly marked"


@pytest.mark.parametrize("being_read", [False, True])
@pytest.mark.parametrize("command", ["scan", "verify"])
def test_progress_line_shows_a_markup_file_name_as_it_is(command: str, being_read: bool) -> None:
    """The progress display shows the current file name: rich's TextColumn parses markup
    by default (whatever the console says), which turned a file named ``[link=...]`` into a
    terminal hyperlink (OSC 8) and ``[red]`` into colour. Found by CI: the hostile scan shows
    that name only when the display happens to refresh on it, so this renders it directly:
    as the last entry done, and as the large file being read."""
    from evidence_cli.cli import scan, verify

    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, color_system="truecolor", width=200, markup=False)
    raw = b"[red]x[/red] [link=file:///etc/passwd]y[/link]\x1b]0;title\x07"
    module = scan if command == "scan" else verify
    progress = module._progress(console, lambda: 0, lambda: raw if being_read else None, Totals(2, 100))
    assert progress is not None
    name = safe_text(raw.decode())
    progress.add_task("scanning", total=None, path="" if being_read else name)
    console.print(progress.get_renderable())
    out = buf.getvalue()
    assert "\x1b]" not in out  # no hyperlink, no window title
    assert "\x1b[31" not in out  # no red from the name's [red]
    plain = re.sub(r"\x1b\[[0-9;?]*[mAKGhlJ]", "", out)
    assert (name[-60:] if being_read else name) in plain  # (as the last entry done: its last 60)


@pytest.mark.parametrize(
    ("n", "one", "many", "text"),
    [
        (0, "file", None, "0 files"),
        (1, "file", None, "1 file"),
        (2, "file", None, "2 files"),
        (1, "entry", "entries", "1 entry"),
        (100_000, "entry", "entries", "100000 entries"),
        (1, "manifest entry", "manifest entries", "1 manifest entry"),
    ],
)
def test_counted_gives_the_noun_in_the_right_number(n: int, one: str, many: str | None, text: str) -> None:
    assert counted(n, one, many) == text
