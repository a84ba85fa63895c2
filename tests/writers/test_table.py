"""The terminal table: a bounded view, and every OutputFormat has a writer."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from evidence_cli.models import Device, FileRecord, Finding, GeoPoint, Problem, ScanInfo, Timestamp
from evidence_cli.summary import Summary
from evidence_cli.writers import OutputFormat, make_writer
from evidence_cli.writers import table as table_mod
from evidence_cli.writers.table import (
    COLUMNS,
    DEFAULT_LIMIT,
    TableWriter,
    choose_columns,
    column_widths,
    flags,
    human_size,
    min_widths,
    row,
    row_and_clip,
)

INFO = ScanInfo(
    tool={"name": "evidence-cli", "version": "0"},
    case={"case": None, "examiner": None, "evidence_id": None},
    roots=("/x",),
    started_utc="2020-01-01T00:00:00Z",
    finished_utc="2020-01-01T00:00:01Z",
    options={},
)


def console() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, width=160, markup=False, highlight=False, emoji=False, color_system=None), buf


def rec(path: str, **kw: object) -> FileRecord:
    return FileRecord(path=path, path_bytes=None, kind=kw.pop("kind", "file"), size=kw.pop("size", 1), **kw)  # type: ignore[arg-type]


def render(records: list[FileRecord], limit: int | None) -> str:
    c, buf = console()
    w = make_writer(OutputFormat.TABLE, io.StringIO(), console=c, table_limit=limit)
    w.begin(INFO)
    summary = Summary()
    for r in records:
        summary.add(r)
        w.write(r)
    w.end(INFO, summary)
    return buf.getvalue()


def test_table_is_bounded_with_a_more_entries_line() -> None:
    text = render([rec(f"file-{i:03d}.txt") for i in range(7)], limit=3)
    assert [f"file-{i:03d}.txt" in text for i in range(7)] == [True] * 3 + [False] * 4
    assert "… 4 more entries not shown in the table; the --json/--jsonl/--csv exports hold all." in text


def test_limit_zero_shows_everything() -> None:
    text = render([rec(f"file-{i:03d}.txt") for i in range(7)], limit=0)
    assert all(f"file-{i:03d}.txt" in text for i in range(7))
    assert "more entries" not in text


def test_exactly_the_limit_needs_no_more_line() -> None:
    text = render([rec(f"f{i}") for i in range(3)], limit=3)
    assert "more entries" not in text


def test_default_limit() -> None:
    c, _ = console()
    assert TableWriter(c, limit=None).limit == DEFAULT_LIMIT == 1000


def test_row_contents() -> None:
    r = rec(
        "DCIM/IMG_1.jpg",
        size=2048,
        mime="image/jpeg",
        extension_ok=False,
        hashes={"sha256": "0123456789ab" + "f" * 52},
        captured=Timestamp(
            "DateTimeOriginal", "exif", "2019-05-01T13:45:10", "2019-05-01T11:45:10Z", "r", "gps-inferred"
        ),
        gps=GeoPoint(-22.9519, -43.2105, -3.5, None, "exif"),
        findings=(Finding("changed-during-scan", "warning", "x"),),
        errors=(Problem("metadata:exif", "warning", "Damaged", "x"),),
    )
    cells = [t.plain for t in row(r)]
    assert cells == [
        "DCIM/IMG_1.jpg",
        "image/jpeg",
        "2.0 KiB",
        "2019-05-01 13:45:10 (UTC 2019-05-01 11:45:10Z, inferred)",
        "-22.951900, -43.210500 -3.5 m",
        "",
        "0123456789ab…",
        "EXT CHANGED WARN:1",
    ]
    text = render([r], limit=0)
    for short in ("DCIM/IMG_1.jpg", "image/jpeg", "2.0 KiB", "0123456789ab…", "EXT CHANGED WARN:1"):
        assert short in text, short


def test_flags() -> None:
    assert flags(rec("l", kind="symlink")) == "LINK"
    assert flags(rec("o", kind="other")) == "SPECIAL"
    assert (
        flags(rec("d", kind="directory", errors=(Problem("walk", "error", "PermissionError", "x"),)))
        == "DIRECTORY ERR:1"
    )
    assert flags(rec("f")) == ""


def test_flags_for_content_credentials_and_declared_ai() -> None:
    def finding(code: str) -> Finding:
        return Finding(code, "notice", "m")

    c2pa_ai = rec("a", findings=(finding("c2pa-manifest"), finding("ai-generated"), finding("synthetic-media")))
    assert flags(c2pa_ai) == "C2PA AI"
    assert flags(rec("x", findings=(finding("synthetic-media"),))) == "SYNTH"
    assert flags(rec("c", findings=(finding("c2pa-manifest"),), extension_ok=False)) == "EXT C2PA"
    failing = rec("i", findings=(finding("c2pa-manifest"), finding("c2pa-invalid"), finding("ai-generated")))
    assert flags(failing) == "C2PA! AI"


@pytest.mark.parametrize(
    ("codes", "shown"),
    [
        (("archive-path-escape",), "ARCH!"),
        (("archive-name-mismatch", "archive-duplicate-name"), "ARCH!"),
        (("member-extension-mismatch",), "ARCH!"),
        (("archive-extra-data", "archive-encrypted"), ""),
    ],
)
def test_flags_for_archives_whose_members_need_a_look(codes: tuple[str, ...], shown: str) -> None:
    assert flags(rec("z.zip", findings=tuple(Finding(c, "notice", "m") for c in codes))) == shown


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (None, ""),
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (5 * 1024**4, "5.0 TiB"),
        (2**60, "1048576.0 TiB"),
    ],
)
def test_human_size(n: int | None, text: str) -> None:
    assert human_size(n) == text


def test_symlink_row_shows_its_target() -> None:
    assert "-> ../target" in render([rec("l", kind="symlink", link_target="../target")], limit=0)


# --- exhaustiveness -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(OutputFormat))
def test_every_output_format_has_a_working_writer(fmt: OutputFormat) -> None:
    c, shown = console()
    stream = io.StringIO()
    w = make_writer(fmt, stream, console=c, table_limit=10, csv_neutralise=True)
    for method in ("begin", "write", "end"):
        assert callable(getattr(w, method))
    w.begin(INFO)
    w.write(rec("only-entry.txt"))
    w.end(INFO, Summary())
    assert "only-entry.txt" in stream.getvalue() + shown.getvalue()


# --- narrow and wide terminals ------------------------------------------------------------


def render_at(records: list[FileRecord], width: int) -> str:
    buf = io.StringIO()
    c = Console(file=buf, width=width, markup=False, highlight=False, emoji=False, color_system=None)
    w = TableWriter(c, limit=0)
    for r in records:
        w.write(r)
    w.end(INFO, Summary())
    return buf.getvalue()


def first_column(text: str) -> str:
    """The text of the table's first column, its folded lines joined."""
    body = [line for line in text.splitlines() if line.startswith("│")]
    return "".join(line.split("│")[1].strip() for line in body)


LONG = "collected/2026-041/suspect phone/DCIM/Camera/IMG_20260101_120000_HDR.jpg"


def full_record(path: str = LONG, **kw: object) -> FileRecord:
    return rec(
        path,
        size=kw.pop("size", 2_345_678),
        mime="image/jpeg",
        extension_ok=False,
        hashes={"sha256": "ab" * 32},
        captured=kw.pop("captured", Timestamp("DateTimeOriginal", "exif", "2019-05-01T13:45:10.123+02:00", None, "r")),
        gps=kw.pop("gps", GeoPoint(48.8584, 2.2945, 35.2, None, "exif")),
        device=Device(make="Canon", model="Canon EOS 5D Mark IV", source="exif"),
        errors=(Problem("metadata:exif", "warning", "Damaged", "x"),),
        **kw,
    )


@pytest.mark.parametrize("width", [40, 50, 60, 80, 100, 120, 160, 240])
def test_every_width_keeps_the_whole_path_and_fits(width: int) -> None:
    text = render_at([full_record(), rec("b.txt", mime="text/plain")], width)
    table = [line for line in text.splitlines() if line[:1] in "┏┃┡│└"]
    assert max(len(line) for line in table) <= width
    # rich wraps at a space and drops it: compare without spaces.
    assert first_column(text).replace(" ", "") == (LONG + "b.txt").replace(" ", "")


@pytest.mark.parametrize(
    ("width", "left_out"),
    [
        (40, ["Type", "Captured", "GPS", "Device", "Size", "SHA-256"]),
        (80, ["Device", "Size", "SHA-256"]),
        (100, ["Size", "SHA-256"]),
        (120, []),
    ],
)
def test_narrow_terminal_leaves_out_the_least_needed_columns_and_says_so(width: int, left_out: list[str]) -> None:
    shown, out = choose_columns(width, min_widths([row(full_record())]))
    assert out == left_out
    assert [COLUMNS[i].name for i in shown] == [c.name for c in COLUMNS if c.name not in left_out]
    text = " ".join(render_at([full_record()], width).split())
    if left_out:
        assert f"Columns left out at this width ({width}): {', '.join(left_out)};" in text
    else:
        assert "left out" not in text


def test_the_path_is_shown_even_on_a_terminal_narrower_than_its_minimum() -> None:
    shown, out = choose_columns(10, min_widths([]))
    assert [COLUMNS[i].name for i in shown] == ["Path"]
    assert "Flags" in out


@pytest.mark.parametrize("width", [120, 160, 200, 240])
def test_the_path_keeps_its_share_when_the_other_columns_want_the_room(width: int) -> None:
    rows, mins = [row(full_record("p" * 300))], min_widths([])  # each column's own minimum
    shown, _ = choose_columns(width, mins)
    widths = column_widths(width, shown, rows, mins)
    room = width - 1 - 3 * len(shown)
    others_least = sum(COLUMNS[i].min_width for i in shown[1:])
    assert sum(widths) == room
    assert all(w >= COLUMNS[i].min_width for i, w in zip(shown, widths))
    # The path gets what the others leave: 40 % of the room at least, unless the other
    # columns at their narrowest leave less.
    assert widths[0] >= min(int(room * 0.4), room - others_least)


def test_a_short_table_takes_only_the_room_it_needs() -> None:
    rows = [row(rec("a", mime="text/plain"))]
    shown, _ = choose_columns(240, min_widths(rows))
    widths = column_widths(240, shown, rows, min_widths(rows))
    assert widths == [max(c.min_width, len(c.name)) for c in COLUMNS]


def test_a_size_wider_than_its_column_is_never_cut() -> None:
    # A sparse file may claim exabytes; the figure must show whole, on every width.
    for width in (120, 130, 200):
        text = render_at([full_record(size=2**62)], width)
        header = next(line for line in text.splitlines() if line.startswith("┃") and "Size" in line)
        column = [cell.strip() for cell in header.split("┃")].index("Size")
        cells = [line.split("│")[column].strip() for line in text.splitlines() if line.startswith("│")]
        assert "".join(cells).replace(" ", "") == "4194304.0TiB", width


def test_room_the_path_does_not_need_goes_back_to_a_capped_column() -> None:
    long_device = rec("a", device=Device(make="Make" * 8, model="Model" * 6, source="exif"))
    rows = [row(long_device)]
    shown, _ = choose_columns(130, min_widths(rows))
    widths = column_widths(130, shown, rows, min_widths(rows))
    device = [COLUMNS[i].name for i in shown].index("Device")
    assert widths[0] == 16  # all "a" needs
    assert sum(widths) == 130 - 1 - 3 * len(shown)
    assert widths[device] > 24  # past its cap: nobody else wanted the room


def test_a_wide_terminal_shows_long_values_on_one_line() -> None:
    text = render_at([rec("a", device=Device(make="Make" * 8, model="Model" * 6, source="exif"))], 400)
    assert "Make" * 8 + " " + "Model" * 6 in text


@pytest.mark.parametrize("width", [40, 60, 80, 100, 160])
def test_a_time_or_a_coordinate_is_never_cut_inside_a_word(width: int) -> None:
    # "20:01:02.0" over "42+01:00" reads as another time; "-116.81852" over "3" as another
    # place. Folded at spaces only, every word of these cells shows whole on one line.
    r = full_record(
        captured=Timestamp("DateTimeOriginal", "exif", "2021-07-04T06:30:00.042+01:00", "2021-07-04T05:30Z", "r"),
        gps=GeoPoint(-33.856812, -116.818523, -85.5, None, "exif"),
    )
    text = render_at([r], width)
    header = next(line for line in text.splitlines() if line.startswith("┃") and "Path" in line)
    names = [cell.strip() for cell in header.split("┃")]
    for column, value in (("Captured", row(r)[3].plain), ("GPS", row(r)[4].plain), ("Flags", row(r)[7].plain)):
        if column not in names:
            continue
        k = names.index(column)
        lines = [line.split("│")[k].strip() for line in text.splitlines() if line.startswith("│")]
        words = [w for line in lines for w in line.split()]
        assert words == value.split(), (column, lines)


def test_a_huge_value_is_shown_cut_in_the_middle() -> None:
    """A path tens of thousands of characters long (a tree past PATH_MAX, or a name made to
    flood the screen), or a device name of 60 kB from a hostile EXIF tag, folded whole took
    a thousand lines a row, and rich took seconds to fold it. The table shows its start and
    its end around a count of what is left out, and says so; the exports hold it whole."""
    path = "/".join(["d" * 40] * 1500) + "/the-file.jpg"  # 61,512 characters
    make = "M" * 60_000
    text = render([rec(path, device=Device(make=make, model="X1")), rec("short.txt")], limit=None)
    assert len(text.splitlines()) < 80, len(text.splitlines())
    cells, cut = row_and_clip(rec(path, device=Device(make=make, model="X1")))
    assert cut
    assert cells[0].plain == path[:280] + "…[60,952 characters not shown]…" + path[-280:]
    device = make + " X1"
    assert cells[5].plain == device[:280] + "…[59,443 characters not shown]…" + device[-280:]
    assert row_and_clip(rec("short.txt"))[1] is False
    assert "short.txt" in text
    assert "too long for the table" in text
    # Short values are untouched, and no note is printed for them.
    assert "too long for the table" not in render([rec("short.txt")], limit=None)


def _hostile_rows(n: int) -> list[FileRecord]:
    """Rows that make the layout work: wide and right-to-left characters, escapes, a value
    cut in the middle, a path that folds, GPS and times."""
    out = []
    for i in range(n):
        out.append(
            rec(
                f"d{i % 3}/日本語の名前-{i}\u202egpj.exe\x1b[2J-" + "x" * (i % 7) * 11,
                mime="image/jpeg",
                description="JPEG image data, Exif standard" if i % 4 else "y" * 900,
                device=Device(make="Canon", model=f"EOS {i}"),
                gps=GeoPoint(latitude=48.8584 + i, longitude=-2.2945, altitude=None, timestamp_utc=None, source="exif")
                if i % 2
                else None,
                errors=(Problem("metadata:exif", "warning", "X", "damaged"),) if i % 5 == 0 else (),
            )
        )
    return out


@pytest.mark.parametrize("terminal", [False, True])
@pytest.mark.parametrize("width", [40, 80, 160])
def test_a_full_table_is_rendered_while_the_scan_goes_on_and_prints_the_same(
    terminal: bool, width: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the table's last row is in (the limit-th record), a thread renders it while
    the scan goes on; the end of the scan prints what it rendered, the same bytes as laying
    the table out there."""
    records = _hostile_rows(12)

    def output() -> tuple[str, TableWriter]:
        buf = io.StringIO()
        c = Console(
            file=buf, width=width, markup=False, highlight=False, emoji=False, force_terminal=terminal,
            color_system="truecolor" if terminal else None,
        )  # fmt: skip
        w = TableWriter(c, limit=9)
        summary = Summary()
        for r in records:
            summary.add(r)
            w.write(r)
        w.end(INFO, summary)
        return buf.getvalue(), w

    early, writer = output()
    assert writer._early is not None and writer._early.segments is not None  # (rendered in the thread)
    monkeypatch.setattr(table_mod, "_EarlyRender", lambda console, laid: _NotRendered())
    at_the_end, writer = output()
    assert early == at_the_end
    assert "… 3 more entries not shown" in " ".join(early.split())  # (a narrow console folds it)


class _NotRendered:
    """An early render that failed: the table is laid out at the end."""

    def result(self) -> None:
        return None


def test_a_terminal_resized_during_the_scan_gets_the_table_for_its_new_width() -> None:
    buf = io.StringIO()
    c = Console(file=buf, width=160, markup=False, highlight=False, emoji=False, color_system=None)
    w = TableWriter(c, limit=3)
    for r in _hostile_rows(5):
        w.write(r)
    assert w._early is not None
    c.width = 60  # after the early render started
    w.end(INFO, Summary())
    text = buf.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 60
    assert "Columns left out at this width (60)" in text


# --- Rows put together without rich's per-cell layout (table.render) ------------------------

_TEXT = st.lists(
    st.sampled_from(list("ab yz-./:_0129") + ["日", "本", "é", "e\u0301", "\u202e", "\x1b", "\t", "😀", "\u200b"]),
    max_size=70,
).map("".join)


def _laid(records: list[FileRecord], c: Console) -> table_mod._Laid:
    w = TableWriter(c, limit=None)
    for r in records:
        w.write(r)
    return w._lay_out()


def _rich_render(c: Console, laid: table_mod._Laid) -> list[Segment]:
    return list(c.render(laid.table, c.options))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.builds(
            lambda path, mime, size, make, model, ext, errors, link: rec(
                path,
                kind="symlink" if link else "file",
                link_target=path[::-1] if link else None,
                mime=mime,
                size=size,
                device=Device(make=make or None, model=model or None),
                extension_ok=ext,
                errors=(Problem("hash", "error", "X", "e"),) if errors else (),
                captured=Timestamp("DateTimeOriginal", "exif", "2015-07-03T21:59:53.488+10:00", None, "raw"),
            ),
            _TEXT,
            _TEXT,
            st.none() | st.integers(0, 2**62),
            _TEXT,
            _TEXT,
            st.none() | st.booleans(),
            st.booleans(),
            st.booleans(),
        ),
        min_size=2,
        max_size=12,
    ),
    st.integers(20, 260),
    st.booleans(),
)
def test_rows_put_together_are_rich_s_own_segment_for_segment(
    records: list[FileRecord], width: int, terminal: bool
) -> None:
    c = Console(
        file=io.StringIO(), width=width, markup=False, highlight=False, emoji=False, force_terminal=terminal,
        color_system="truecolor" if terminal else None,
    )  # fmt: skip
    laid = _laid(records, c)
    assert table_mod.render(c, laid) == _rich_render(c, laid)


@pytest.mark.parametrize("width", [30, 40, 60, 80, 100, 120, 160, 240])
@pytest.mark.parametrize("safe_box", [False, True])
def test_hostile_rows_put_together_are_rich_s_own_and_rich_lays_out_only_a_few(
    width: int, safe_box: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = Console(
        file=io.StringIO(), width=width, markup=False, highlight=False, emoji=False, force_terminal=True,
        color_system="truecolor", safe_box=safe_box, legacy_windows=safe_box,
    )  # fmt: skip
    laid = _laid(_hostile_rows(40), c)
    expected = _rich_render(c, laid)
    tables: list[int] = []
    real = Table._render

    def counted(self: Table, *args: Any) -> Any:
        tables.append(len(self.rows))
        return real(self, *args)

    monkeypatch.setattr(Table, "_render", counted)
    assert table_mod.render(c, laid) == expected
    assert len(tables) == 1 and tables[0] <= 4  # the check's rows, never the 40


def test_cells_with_markup_spans_are_laid_out_by_rich() -> None:
    # Evidence never has spans (it is escaped text); a table that had them is rich's alone.
    c = Console(file=io.StringIO(), width=80, force_terminal=True, color_system="truecolor")
    laid = _laid([rec("a.txt"), rec("b.txt")], c)
    laid.rows[1][0] = Text.from_markup("[bold]b[/bold].txt")
    laid.table.columns[0]._cells[1] = laid.rows[1][0]
    assert table_mod.render(c, laid) == _rich_render(c, laid)
