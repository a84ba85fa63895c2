"""`evidence show FILE`: every piece of metadata of one file, grouped, for a human."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from evidence_cli.cli.common import (
    CONTEXT,
    EXIT_OK,
    EXIT_PROBLEMS,
    Failure,
    cli,
    not_empty,
    refuse_closed_stdout,
    stdout_is_terminal,
)
from evidence_cli.console import evidence_text, make_consoles, safe_text, terminal_text
from evidence_cli.engine import pool_unavailable
from evidence_cli.errors import ScanError
from evidence_cli.filetype import check_libmagic
from evidence_cli.formats.pdq import numpy_missing
from evidence_cli.models import ARCHIVE_GROUP, FileRecord
from evidence_cli.scanner import ScanOptions, scan
from evidence_cli.walker import resolve_roots
from evidence_cli.writers.json_out import dumps

#: Long values (blobs, long text) are cut in the human view; --json has them whole.
MAX_VALUE = 300


def _value_text(value: Any) -> str:
    if isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False)
    if len(text) > MAX_VALUE:
        text = text[:MAX_VALUE] + f"… ({len(text)} characters; see --json)"
    return text


def _section(console: Console, title: str, rows: list[tuple[str, Any]]) -> None:
    if not rows:
        return
    table = Table(title=title, title_justify="left", show_header=False, box=None, pad_edge=False)
    table.add_column("key", style="bold", overflow="fold", max_width=48)
    table.add_column("value", overflow="fold")
    for k, v in rows:
        table.add_row(evidence_text(k), evidence_text(_value_text(v)))
    console.print(table)
    console.print()


def render(console: Console, rec: FileRecord) -> None:
    """Print one record, section by section; every evidence string escaped."""
    d = rec.to_dict()
    _section(
        console,
        "File",
        [
            (k, d[k])
            for k in ("path", "path_bytes", "kind", "size", "mime", "description", "extension_ok", "link_target")
            if d.get(k) is not None
        ]
        + [(f"hash {k}", v) for k, v in d["hashes"].items()]
        + [(f"filesystem {k}", v) for k, v in d["filesystem"].items() if v is not None],
    )
    _section(
        console,
        "Timestamps",
        [
            (
                f"{t['source']}:{t['name']}",
                f"{t['value']}"
                + (f"  (UTC {t['utc']}, offset {t['offset_origin']})" if t["utc"] else "  (no UTC offset recorded)")
                + f"  raw {t['raw']!r}",
            )
            for t in d["timestamps"]
        ]
        + ([("captured", f"{d['captured']['source']}:{d['captured']['name']}")] if d["captured"] else []),
    )
    if d["gps"]:
        g = d["gps"]
        _section(
            console,
            "GPS",
            [
                (k, g[k])
                for k in ("latitude", "longitude", "altitude", "timestamp_utc", "source")
                if g.get(k) is not None
            ],
        )
    _section(console, "Device", [(k, v) for k, v in d["device"].items() if v is not None])
    if d["image"]:
        _section(console, "Image", list(d["image"].items()))
    _section(console, "Findings", [(f["code"], f"{f['severity']}: {f['message']}") for f in d["findings"]])
    _section(console, "Errors", [(e["stage"], f"{e['severity']} {e['type']}: {e['message']}") for e in d["errors"]])
    for group, tags in d["metadata"].items():
        listed = tags.get("members") if group == ARCHIVE_GROUP else None
        if isinstance(listed, list):
            tags = {k: v for k, v in tags.items() if k != "members"}
        _section(console, f"Metadata: {group}", sorted(tags.items(), key=lambda kv: kv[0]))
        if isinstance(listed, list):
            _members(console, listed)


#: Archive members the human view lists (--json has them all).
MAX_MEMBERS_SHOWN = 500


def _members(console: Console, listed: list[Any]) -> None:
    """An archive's members, a row each: name, size, time, type, capture time, device,
    a digest, and a note: what is wrong, the time a name gives, the findings' codes."""
    members = [m for m in listed[:MAX_MEMBERS_SHOWN] if isinstance(m, dict)]
    alg = next((a for a in ("sha256", "sha512", "blake2b", "sha1", "md5") if any(a in m for m in members)), "sha256")
    table = Table(title=f"Archive members ({len(listed)})", title_justify="left", box=None, pad_edge=False)
    for head in ("Name", "Size", "Modified", "Type", "Captured", "Device", alg.upper(), "Note"):
        table.add_column(head, overflow="fold", min_width=64 if head == alg.upper() and console.width >= 140 else None)
    for m in members:
        digest = m.get(alg, "")
        note = "; ".join(
            str(m[k]) if not isinstance(m[k], bool) else k
            for k in ("not_hashed", "damaged", "local_name", "encrypted")
            if k in m
        )
        if m.get("extension_ok") is False:
            note = "; ".join(x for x in (note, "extension does not fit") if x)
        named = m.get("name_time")
        if isinstance(named, dict) and isinstance(named.get("value"), str):
            said = f"name says {named['value']} ({named.get('app')}" + (
                f", {named['folder_says']})" if named.get("folder_says") else ")"
            )
            note = "; ".join(x for x in (note, said) if x)
        if isinstance(m.get("findings"), list) and m["findings"]:
            note = "; ".join(x for x in (note, ", ".join(str(f) for f in m["findings"])) if x)
        captured: dict[str, Any] = m["captured"] if isinstance(m.get("captured"), dict) else {}
        device: dict[str, Any] = m["device"] if isinstance(m.get("device"), dict) else {}
        cells = (
            m.get("name"),
            m.get("size"),
            m.get("modified_utc") or m.get("modified"),
            m.get("mime"),
            captured.get("utc") or captured.get("value"),
            " ".join(str(device[k]) for k in ("make", "model") if device.get(k)),
            digest,
            note,
        )
        table.add_row(*(evidence_text(_value_text("" if c is None else c)) for c in cells))
    console.print(table)
    if len(listed) > MAX_MEMBERS_SHOWN:
        console.print(f"… {len(listed) - MAX_MEMBERS_SHOWN} more members; --json lists them all")
    console.print()


@cli.command("show", context_settings=CONTEXT)
@click.argument("path", type=click.Path(exists=False, path_type=str), callback=not_empty)
@click.option("--json", "as_json", is_flag=True, help="Print the full record as JSON instead.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="Seconds each extractor may spend on the file (0: no limit).",
)
@click.option("--pdq", is_flag=True, help="Also decode an image's pixels for its PDQ perceptual hash (as scan --pdq).")
@click.option("--width", type=click.IntRange(min=40), help="Terminal width.")
def show_cmd(path: str, as_json: bool, timeout: float, pdq: bool, width: int | None) -> None:
    """Show every piece of metadata of one file, grouped, for a human.

    Reads the file exactly as `evidence scan` does (read-only, one hashing pass,
    in a worker process with its memory limit: a file that crashes a parser gets
    an error, and keeps its hashes) and prints its identity, all timestamps with
    their sources and offsets, GPS, device, findings, errors and every raw tag of
    every extractor. Control characters and markup in the file's strings are
    shown escaped.

    \b
    Example:
      evidence show samples/IMG_0001.jpg
      evidence show suspicious.pdf --json > suspicious.json
    """
    refuse_closed_stdout("Run it with stdout open.")  # what it shows is all it does
    out, err = make_consoles(width)
    problem = check_libmagic()
    if problem:
        raise Failure(problem)
    if pdq and (missing := numpy_missing()):
        raise Failure(missing)
    if os.path.isdir(path) and not os.path.islink(path):
        raise Failure(f"{path!r} is a folder: `evidence show` takes one file (use `evidence scan` for folders)")
    try:
        roots = resolve_roots([path])
    except ScanError as exc:
        raise Failure(str(exc)) from None
    # In a worker process, as a scan reads: `show` is what an examiner runs on the one
    # suspicious file, and a crash in a C library or a memory bomb there must cost an
    # error on the record (its hashes kept: see engine._isolated), not the command.
    why = pool_unavailable()
    if why is not None:
        err.print(
            Text(
                safe_text(
                    f"Warning: worker processes cannot start here ({why}); reading the file in this "
                    "process instead: a file that crashes a C library would end this command."
                ),
                style="bold yellow",
            )
        )
    records = list(scan(roots, ScanOptions(workers=0 if why else 1, timeout=timeout or None, pdq=pdq)))
    rec = records[0]
    if as_json:
        text = dumps(rec.to_dict(), indent=2)
        # On a terminal, as JSON escapes (see TerminalText); exact when redirected.
        click.echo(terminal_text(text, json=True) if stdout_is_terminal() else text)
    else:
        render(out, rec)
    sys.exit(EXIT_PROBLEMS if rec.errors else EXIT_OK)
