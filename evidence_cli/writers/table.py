"""The terminal table: a bounded view of the scan (the exports hold everything).

Evidence strings are escaped (:func:`~evidence_cli.console.safe_text`) and given to
rich as ``Text``, so markup like ``[red]`` and ANSI escapes are shown, never obeyed.
"""

from __future__ import annotations

import threading
from typing import Literal, NamedTuple

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions
from rich.segment import Segment, Segments
from rich.table import Column as RichColumn
from rich.table import Table
from rich.text import Text

from evidence_cli.console import evidence_text, safe_text
from evidence_cli.models import FileRecord, ScanInfo
from evidence_cli.summary import Summary

DEFAULT_LIMIT = 1000


def human_size(n: int | None) -> str:
    if n is None:
        return ""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{n} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


#: The archive reader's findings the table flags ``ARCH!``.
ARCHIVE_NOTICES = frozenset(
    {
        "archive-path-escape",
        "archive-name-mismatch",
        "archive-duplicate-name",
        "member-extension-mismatch",
        "archive-appended",
    }
)


def flags(r: FileRecord) -> str:
    out = []
    if r.kind == "symlink":
        out.append("LINK")
    elif r.kind != "file":
        out.append("SPECIAL" if r.kind == "other" else r.kind.upper())
    if r.extension_ok is False:
        out.append("EXT")
    codes = {f.code for f in r.findings}
    if "changed-during-scan" in codes:
        out.append("CHANGED")
    # What the file says of its own making, for triage (the record's findings say where):
    # C2PA Content Credentials (C2PA!: they fail validation); a declared generative-AI or
    # synthetic source (XMP or C2PA).
    if "c2pa-invalid" in codes:
        out.append("C2PA!")
    elif "c2pa-manifest" in codes:
        out.append("C2PA")
    if "ai-generated" in codes:
        out.append("AI")
    elif "synthetic-media" in codes:
        out.append("SYNTH")
    if "thumbnail-differs" in codes:  # (--pdq) the EXIF thumbnail shows another picture
        out.append("THUMB")
    if "name-date-conflict" in codes:  # the name's date and the capture time disagree
        out.append("NAME!")
    if codes & ARCHIVE_NOTICES:  # member names that escape, disagree or repeat; a hidden type
        out.append("ARCH!")
    if r.errors:
        sev = "ERR" if any(e.severity == "error" for e in r.errors) else "WARN"
        out.append(f"{sev}:{len(r.errors)}")
    return " ".join(out)


#: Longest evidence value the table shows whole (characters). Longer ones (a path past
#: PATH_MAX, a name made to flood the screen, a hostile 60 kB EXIF Make) are shown as their
#: start and their end around a count of what is left out: folded whole, one row took a
#: thousand lines and seconds to lay out. The exports hold every value whole.
CELL_MAX = 600
_CLIP_KEEP = 280


def clip(value: str) -> tuple[Text, bool]:
    """An evidence value as table text, cut in the middle if over CELL_MAX; (text, cut)."""
    if len(value) <= CELL_MAX:
        return evidence_text(value), False
    left_out = len(value) - 2 * _CLIP_KEEP
    head, tail = value[:_CLIP_KEEP], value[-_CLIP_KEEP:]
    return Text(safe_text(head) + f"…[{left_out:,} characters not shown]…" + safe_text(tail)), True


def row(r: FileRecord) -> list[Text]:
    return row_and_clip(r)[0]


def row_and_clip(r: FileRecord) -> tuple[list[Text], bool]:
    """The row's cells, and whether a value had to be cut (see CELL_MAX)."""
    cap = ""
    if r.captured:
        cap = r.captured.value.replace("T", " ")
        if r.captured.offset_origin == "gps-inferred" and r.captured.utc:
            cap += f" (UTC {r.captured.utc.replace('T', ' ')}, inferred)"
    gps = ""
    if r.gps:
        gps = f"{r.gps.latitude:.6f}, {r.gps.longitude:.6f}"
        if r.gps.altitude is not None:
            gps += f" {r.gps.altitude:.1f} m"
    dev = " ".join(x for x in (r.device.make, r.device.model) if x)
    if r.kind == "symlink":
        kind = "-> " + (r.link_target or "?")
    else:
        kind = r.mime or r.description or ""
    sha = r.hashes.get("sha256")
    (path, cut_path), (what, cut_kind), (device, cut_dev) = clip(r.path), clip(kind), clip(dev)
    cells = [
        path,
        what,
        Text(human_size(r.size)),
        Text(cap),
        Text(gps),
        device,
        # A short prefix, visibly marked as cut; the full digest is in the exports.
        Text(sha[:12] + "…" if sha else ""),
        Text(flags(r), style="bold yellow" if flags(r) else ""),
    ]
    return cells, cut_path or cut_kind or cut_dev


class Column(NamedTuple):
    name: str
    min_width: int
    """The narrowest it stays readable at (longer values fold onto more lines)."""
    max_width: int | None
    """What it may take before the path gets the rest (None: no limit)."""
    no_wrap: bool = False
    justify: Literal["left", "right"] = "left"


#: The table's columns in display order (the order of :func:`row`'s cells).
COLUMNS: tuple[Column, ...] = (
    Column("Path", 16, None),
    Column("Type", 10, 24),
    Column("Size", 10, 16, justify="right"),  # 1023.9 KiB; a sparse file may claim EiB
    Column("Captured", 10, 29),  # 2019-05-01 13:45:10.123+02:00
    Column("GPS", 10, 26),  # 48.858400, 2.294500 35.2 m
    Column("Device", 10, 24),
    Column("SHA-256", 13, 13, no_wrap=True),
    Column("Flags", 5, 20),  # SPECIAL ERR:1, EXT CHANGED WARN:2, C2PA AI
)
#: Which columns stay when the terminal is too narrow for all of them, most needed first:
#: the path always; then what flags trouble, what the file is, when, where, on which
#: device; the size and the digest prefix last (the exports hold both).
PRIORITY = ("Path", "Flags", "Type", "Captured", "GPS", "Device", "Size", "SHA-256")
#: What a column costs besides its text: a border and a space either side.
_COLUMN_FRAME = 3
#: The share of the room the path gets, at least, when the other columns would take it.
_PATH_SHARE = 0.4


#: Columns whose values are never cut inside a word: a time or a number folded across two
#: lines reads as another value ("20:01:02.0" over "42+01:00", "-116.81852" over "3").
#: Their minimum grows to their longest word (up to WORD_CAP).
WHOLE_WORDS = frozenset({"Size", "Captured", "GPS", "Flags"})
WORD_CAP = 24


def min_widths(rows: list[list[Text]]) -> list[int]:
    """Each column's minimum for these rows (see WHOLE_WORDS), in COLUMNS order."""
    out = []
    for i, col in enumerate(COLUMNS):
        least = col.min_width
        if col.name in WHOLE_WORDS:
            longest = max((len(w) for r in rows for w in r[i].plain.split()), default=0)
            least = max(least, min(WORD_CAP, longest))
        out.append(least)
    return out


def choose_columns(width: int, mins: list[int]) -> tuple[list[int], list[str]]:
    """(indexes of the columns shown, in display order; names of those left out).

    Columns are taken by PRIORITY while each still gets its minimum width (``mins``, see
    :func:`min_widths`), so a narrow terminal shows fewer columns, each readable,
    rather than every column squeezed to a few letters (at 40 columns the path itself
    used to vanish). The path is always shown.
    """
    by_name = {c.name: i for i, c in enumerate(COLUMNS)}
    used = 1  # the table's left border
    shown: list[int] = []
    for name in PRIORITY:
        cost = mins[by_name[name]] + _COLUMN_FRAME
        if not shown or used + cost <= width:
            shown.append(by_name[name])
            used += cost
    left_out = [name for name in PRIORITY if by_name[name] not in shown]
    return sorted(shown), left_out


def column_widths(width: int, shown: list[int], rows: list[list[Text]], mins: list[int]) -> list[int]:
    """The text width of each shown column (in ``shown``'s order) for a table at most
    ``width`` cells wide.

    Each column asks for its longest value (at least its minimum, ``mins``). When they do not
    all fit, each column but the path asks for no more than its ``max_width``; the path
    keeps at least ``_PATH_SHARE`` of the room (or all it needs, if less) and the other
    columns give up width down to their minimums, the widest first; the path then gets
    what is left, and room still left goes back to the columns that were capped. (rich's
    own layout shrinks the widest columns first, so a long path was cut to a sliver while
    short columns kept their width.)
    """
    cols = [COLUMNS[i] for i in shown]
    least = [mins[i] for i in shown]
    natural = [max([m, len(c.name)] + [r[i].cell_len for r in rows]) for i, c, m in zip(shown, cols, least)]
    room = width - 1 - _COLUMN_FRAME * len(cols)
    if sum(natural) <= room:
        return natural
    path = 0  # Path is always the first column shown (display order)
    others = range(1, len(cols))
    widths = [n if c.max_width is None else max(m, min(n, c.max_width)) for n, c, m in zip(natural, cols, least)]
    floor = sum(least[k] for k in others)
    keep = max(least[path], min(natural[path], int(room * _PATH_SHARE)))
    budget = max(floor, room - keep)
    # The widest of the other columns gives up one cell at a time, down to its minimum.
    while sum(widths[k] for k in others) > budget:
        k = max((k for k in others if widths[k] > least[k]), key=lambda k: (widths[k], -k), default=None)
        if k is None:
            break
        widths[k] -= 1
    widths[path] = max(least[path], min(natural[path], room - sum(widths[k] for k in others)))
    left = room - sum(widths)
    for k in others:
        extra = max(0, min(left, natural[k] - widths[k]))
        widths[k] += extra
        left -= extra
    return widths


class _Laid(NamedTuple):
    """The table laid out for a console width: its renderable and the columns left out."""

    width: int
    table: Table
    left_out: list[str]
    rows: list[list[Text]]
    """The cells shown, row by row (in the table's column order)."""
    widths: list[int]
    shown: list[int]
    """The indexes in COLUMNS of the columns shown."""


def _table(shown: list[int], widths: list[int], rows: list[list[Text]]) -> Table:
    """The table of these columns (indexes in COLUMNS), text widths and rows."""
    table = Table(title="Evidence scan", show_lines=False, header_style="bold")
    for i, w in zip(shown, widths):
        col = COLUMNS[i]
        table.add_column(col.name, width=w, no_wrap=col.no_wrap, overflow="fold", justify=col.justify)
    for cells in rows:
        table.add_row(*cells)
    return table


def render(console: Console, laid: _Laid, options: ConsoleOptions | None = None) -> list[Segment]:
    """The segments of the laid-out table, as ``console.render(laid.table)`` gives them.

    rich lays out each cell of each row through nested renderables (padding, wrapping,
    justifying, cropping, aligning): about 0.4 ms a row, 0.4 s of CPU for a table of
    1,000 rows in the main process of a scan, beside its workers. Here a row is put
    together directly from its cells' lines: a cell that fits its column is its text
    padded to the column's width, any other is wrapped by rich's own ``Text.wrap``, with
    the options rich's table gives it. rich still renders the title, the header, the
    bottom border and a few rows: the first, the first that takes more than one line and
    the first with a styled cell, in a table made as the laid-out one (:func:`_table`).
    Put together here, those rows must come out as rich's own, segment for segment (the
    same version, box characters and styles), else rich renders the whole table, as it
    does for cells this does not know (markup spans)."""
    options = console.options if options is None else options
    table, rows, widths = laid.table, laid.rows, laid.widths
    columns = table.columns

    def whole() -> list[Segment]:
        return list(console.render(table, options))

    if len(rows) < 2 or any(cell.spans or cell.end != "\n" for row in rows for cell in row):
        return whole()
    get_style = console.get_style

    def cell_lines(cell: Text, width: int, column: RichColumn) -> list[Segment] | None:
        """The cell's lines (its text, ``width`` cells each), as rich's table lays it out;
        None for one this does not know how to."""
        plain = cell.plain
        style = get_style(cell.style) if cell.style else None
        if column.justify not in ("left", "right"):
            return None
        if cell.justify is None and cell.overflow is None and cell.no_wrap is None and _fits(cell, width):
            if column.justify == "right":
                plain = plain.rstrip()
                return [Segment(" " * (width - cell_len(plain)) + plain, style)]
            return [Segment(plain + " " * (width - cell_len(plain)), style)]
        tab_size = console.tab_size if cell.tab_size is None else cell.tab_size
        wrapped = cell.wrap(
            console,
            width,
            justify=cell.justify or column.justify,
            overflow=cell.overflow or column.overflow or "fold",
            tab_size=tab_size or 8,
            no_wrap=cell.no_wrap if cell.no_wrap is not None else column.no_wrap,
        )
        out = [Segment(line.plain, style) for line in wrapped]
        return out if out and all(cell_len(seg.text) == width for seg in out) else None

    def row_lines(cells: list[list[Segment]], edges: tuple[Segment, Segment, Segment, Segment]) -> list[list[Segment]]:
        """A row's lines from its cells' (:func:`cell_lines`), between the borders
        (``edges``: left, padding, divider, right)."""
        left, pad, divider, right = edges
        out = []
        for k in range(max(len(c) for c in cells)):
            line = [left]
            for c, width in zip(cells, widths):
                # (a cell shorter than its row: blank below, borders' padding included)
                line += (pad, c[k], pad, divider) if k < len(c) else (Segment(" " * (width + 2), pad.style), divider)
            line[-1] = right
            out.append(line)
        return out

    laid_out: list[list[list[Segment]]] = []  # each row's cells' lines
    for row in rows:
        made = [cell_lines(cell, width, column) for cell, width, column in zip(row, widths, columns)]
        if any(c is None for c in made):
            return whole()
        laid_out.append([c for c in made if c is not None])
    # rich renders the title, the header, an empty row (its borders and padding) and the
    # rows to check against: the first, the first that does not fit on one line, the
    # first with a styled cell.
    tall = next((i for i, row in enumerate(rows) if any(not _fits(cell, w) for cell, w in zip(row, widths))), 0)
    styled = next((i for i, row in enumerate(rows) if any(cell.style for cell in row)), 0)
    sample = sorted({0, tall, styled})
    check = _table(laid.shown, widths, [[Text("") for _ in columns], *(rows[i] for i in sample)])
    lines = list(Segment.split_lines(console.render(check, options)))
    at = len(lines) - 2 - sum(max(len(c) for c in laid_out[i]) for i in sample)  # the empty row
    empty = lines[at] if at >= 0 else []
    if len(empty) != 1 + 4 * len(columns):  # left border, and per cell: padding, text, padding, divider
        return whole()
    edges = (empty[0], empty[1], empty[4], empty[-1])
    if lines[at + 1 : -1] != [line for i in sample for line in row_lines(laid_out[i], edges)]:
        return whole()
    new_line = Segment.line()
    out: list[Segment] = []
    for line in lines[:at]:
        out += line
        out.append(new_line)
    for cells in laid_out:
        for line in row_lines(cells, edges):
            out += line
            out.append(new_line)
    out += lines[-1]
    out.append(new_line)
    return out


def _fits(cell: Text, width: int) -> bool:
    """Is the cell one line of its column (its text fits the width, without line breaks)?"""
    plain = cell.plain
    return "\n" not in plain and "\t" not in plain and cell_len(plain) <= width


class _EarlyRender:
    """The table rendered in a thread as soon as its last row is in (the scan's
    ``limit``-th record), while the scan goes on. At 1,000 rows, rich took about 0.3 s of
    CPU to lay out the table; at the end of the scan, that was time added to every scan of
    more files than the table shows (a tenth of a scan of 2,000 photos on 2 cores). See
    :func:`render`: now a few times less, it still need not wait for the end."""

    def __init__(self, console: Console, laid: _Laid) -> None:
        self.console = console
        self.laid = laid
        self.options = console.options  # (read here, not in the thread)
        self.segments: list[Segment] | None = None
        self.thread = threading.Thread(target=self._run, name="table", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.segments = render(self.console, self.laid, self.options)
        except Exception:  # noqa: BLE001 - rendered again at the end, where an error is reported
            self.segments = None

    def result(self) -> list[Segment] | None:
        """The rendered table, or None (it failed, or the console's width changed since:
        a terminal resized during the scan gets the table for its new width)."""
        self.thread.join()
        return self.segments if self.console.width == self.laid.width else None


class TableWriter:
    def __init__(self, console: Console, *, limit: int | None = DEFAULT_LIMIT) -> None:
        self.console = console
        self.limit = DEFAULT_LIMIT if limit is None else limit
        self.rows: list[list[Text]] = []
        self.hidden = 0
        self.clipped = False
        self._early: _EarlyRender | None = None

    def begin(self, info: ScanInfo) -> None:
        pass

    def write(self, record: FileRecord) -> None:
        if self.limit and len(self.rows) >= self.limit:
            self.hidden += 1
            return
        cells, cut = row_and_clip(record)
        self.rows.append(cells)
        self.clipped = self.clipped or cut
        if self.limit and len(self.rows) == self.limit:
            # Its rows are all in (the rest of the scan is counted, not shown).
            self._early = _EarlyRender(self.console, self._lay_out())

    def _lay_out(self) -> _Laid:
        width = self.console.width
        mins = min_widths(self.rows)
        shown, left_out = choose_columns(width, mins)
        widths = column_widths(width, shown, self.rows, mins)
        rows = [[r[i] for i in shown] for r in self.rows]
        return _Laid(width, _table(shown, widths, rows), left_out, rows, widths, shown)

    def end(self, info: ScanInfo, summary: Summary) -> None:
        early = self._early
        if early is not None and (segments := early.result()) is not None:
            left_out = early.laid.left_out
            self.console.print(Segments(segments))  # (the same output as printing the table: tested)
        else:
            laid = self._lay_out()
            left_out = laid.left_out
            self.console.print(Segments(render(self.console, laid)))
        if self.hidden:
            self.console.print(
                Text(f"… {self.hidden} more entries not shown in the table; the --json/--jsonl/--csv exports hold all.")
            )
        if self.clipped:
            self.console.print(
                Text(
                    f"Values too long for the table (over {CELL_MAX:,} characters) are shown cut in the middle; "
                    "the exports hold them whole."
                )
            )
        if left_out:
            self.console.print(
                Text(
                    f"Columns left out at this width ({self.console.width}): {', '.join(left_out)}; "
                    "a wider terminal or --width shows them, the exports hold everything."
                )
            )
