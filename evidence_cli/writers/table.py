"""The terminal table: a bounded view of the scan (the exports hold everything).

Evidence strings are escaped (:func:`~evidence_cli.console.safe_text`) and given to
rich as ``Text``, so markup like ``[red]`` and ANSI escapes are shown, never obeyed.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from evidence_cli.console import evidence_text
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


def flags(r: FileRecord) -> str:
    out = []
    if r.kind == "symlink":
        out.append("LINK")
    elif r.kind != "file":
        out.append("SPECIAL" if r.kind == "other" else r.kind.upper())
    if r.extension_ok is False:
        out.append("EXT")
    if any(f.code == "changed-during-scan" for f in r.findings):
        out.append("CHANGED")
    if r.errors:
        sev = "ERR" if any(e.severity == "error" for e in r.errors) else "WARN"
        out.append(f"{sev}:{len(r.errors)}")
    return " ".join(out)


def row(r: FileRecord) -> list[Text]:
    cap = ""
    if r.captured:
        cap = r.captured.value.replace("T", " ")
        if r.captured.offset_origin == "gps-inferred" and r.captured.utc:
            cap += f" (UTC {r.captured.utc}, inferred)"
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
    return [
        evidence_text(r.path),
        evidence_text(kind),
        Text(human_size(r.size)),
        Text(cap),
        Text(gps),
        evidence_text(dev),
        # A short prefix, visibly marked as cut; the full digest is in the exports.
        Text(sha[:12] + "…" if sha else ""),
        Text(flags(r), style="bold yellow" if flags(r) else ""),
    ]


class TableWriter:
    def __init__(self, console: Console, *, limit: int | None = DEFAULT_LIMIT) -> None:
        self.console = console
        self.limit = DEFAULT_LIMIT if limit is None else limit
        self.rows: list[list[Text]] = []
        self.hidden = 0

    def begin(self, info: ScanInfo) -> None:
        pass

    def write(self, record: FileRecord) -> None:
        if self.limit and len(self.rows) >= self.limit:
            self.hidden += 1
            return
        self.rows.append(row(record))

    def end(self, info: ScanInfo, summary: Summary) -> None:
        table = Table(title="Evidence scan", show_lines=False, header_style="bold")
        for name, kw in (
            ("Path", {"overflow": "fold", "ratio": 3}),
            ("Type", {"overflow": "fold", "ratio": 2}),
            ("Size", {"justify": "right", "no_wrap": True}),
            ("Captured", {"overflow": "fold"}),
            ("GPS", {"overflow": "fold"}),
            ("Device", {"overflow": "fold"}),
            ("SHA-256", {"no_wrap": True}),
            ("Flags", {"overflow": "fold"}),
        ):
            table.add_column(name, **kw)  # type: ignore[arg-type]
        for r in self.rows:
            table.add_row(*r)
        self.console.print(table)
        if self.hidden:
            self.console.print(
                Text(f"… {self.hidden} more entries not shown in the table; the --json/--jsonl/--csv exports hold all.")
            )
