"""One self-contained HTML report of a scan: the ``evidence report`` command.

It is written from the sealed manifest (never from a new look at the disk, but for the
thumbnails, which are opt-in): the case and the scan, the manifest's identity and seal,
the summary, the findings, the problems, a map of the GPS positions, the pictures shown
by more than one file (a scan with --pdq), the timeline of the metadata times and the
table of files, each section bounded by ``limit`` rows and saying
how many it leaves out.

Every string from the evidence is made visible (control and bidi characters escaped, as
on the terminal) and then HTML-escaped; the page carries no script and a Content Security
Policy that forbids any script, frame or outside load, so a hostile file name or tag can
neither run nor fetch anything in the reader's browser. The map is an SVG drawn here
(no tiles are fetched); each position links to OpenStreetMap for the reader who chooses
to go online.

Thumbnails (``thumbnails=True``) are of the files as they are now, and only when their
digest still matches the manifest's (the strongest it holds: :data:`CHECK_WITH`); images
are decoded only by the Pillow decoder of their type, within its decompression-bomb limit,
at most :data:`THUMB_MAX_BYTES` read per file, and re-encoded as small JPEGs without
metadata. They show the evidence's content: in sexual-exploitation
cases, leave them out of reports that travel.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import itertools
import math
import os
import warnings
from dataclasses import dataclass, field
from typing import IO, Any, Iterator, Mapping

from evidence_cli import __version__
from evidence_cli.console import counted, safe_text
from evidence_cli.errors import EvidenceError
from evidence_cli.hashing import ALGORITHMS, open_readonly
from evidence_cli.manifest import Manifest, ManifestError, record_path
from evidence_cli.match import Matched
from evidence_cli.models import FileRecord, archive_members
from evidence_cli.timeline import events_of, ordered
from evidence_cli.timeparse import TimeParseError, parse_iso
from evidence_cli.writers.table import flags, human_size

DEFAULT_LIMIT = 10_000
THUMB_SIZE = 160
#: Files larger than this get no thumbnail (a photo is a few MB; a RAW tens).
THUMB_MAX_BYTES = 64 * 1024 * 1024
#: The image types given thumbnails, and the only Pillow decoder each may use.
THUMB_TYPES = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
    "image/bmp": "BMP",
    "image/tiff": "TIFF",
}
#: The digest a thumbnail's file is checked with: the strongest the manifest holds.
CHECK_WITH = ("sha512", "blake2b", "sha256", "sha1", "md5")
DIGEST_NAMES = {"sha512": "SHA-512", "blake2b": "BLAKE2b", "sha256": "SHA-256", "sha1": "SHA-1", "md5": "MD5"}
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#111}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #999}
table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #bbb;padding:2px 6px;vertical-align:top;text-align:left}
th{background:#eee}.mono{font-family:ui-monospace,monospace;font-size:12px;word-break:break-all}
.flag{font-weight:bold;color:#8a5a00}.warn{background:#fff3cd;padding:.5em;border:1px solid #c90}
.bad{background:#f8d7da;padding:.5em;border:1px solid #c00}.more{font-style:italic;color:#555}
svg{border:1px solid #999;background:#eef4fb}
"""


class ReportRefused(EvidenceError):
    """The manifest cannot give a report (nothing useful was written)."""


def h(value: Any) -> str:
    """An evidence value as HTML text: a backslash doubled and control and format characters
    made visible (``\\n``, ``\\x1b``, ``\\u202e``), so no two values look alike, then escaped."""
    text = "" if value is None else value if isinstance(value, str) else str(value)
    return html.escape(safe_text(text.replace("\\", "\\\\")), quote=True)


@dataclass
class ReportResult:
    records: int = 0
    thumbnails: int = 0
    no_thumbnail: list[tuple[str, str]] = field(default_factory=list)
    """(path, why) of image files that got no thumbnail."""
    left_out: dict[str, int] = field(default_factory=dict)
    """Section -> rows beyond the limit."""


def _records(manifest: Manifest) -> Iterator[tuple[int, Mapping[str, Any], FileRecord]]:
    for i, raw in enumerate(manifest.iter_records()):
        try:
            r = FileRecord.from_dict(raw)
        except Exception as exc:  # noqa: BLE001 - any malformed field: KeyError, TypeError, ValueError ...
            raise ReportRefused(f"record {i + 1} is not a record this version reads ({type(exc).__name__})") from None
        wrong = _wrong_field(r)
        if wrong is not None:
            raise ReportRefused(f"record {i + 1} is not a record this version reads ({wrong})")
        yield i, raw, r


def _wrong_field(r: FileRecord) -> str | None:
    """The first field of a record (from a hand-made manifest) whose type the report cannot
    show, or None. ``FileRecord.from_dict`` takes what the JSON holds as it is."""

    def text(value: Any) -> bool:
        return value is None or isinstance(value, str)

    def number(value: Any, limit: float = 1e12) -> bool:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return False
        try:
            return math.isfinite(float(value)) and abs(value) <= limit
        except OverflowError:  # an integer past a double's range
            return False

    texts = {
        "path": r.path,
        "kind": r.kind,
        "mime": r.mime,
        "description": r.description,
        "link_target": r.link_target,
        **{f"device.{k}": getattr(r.device, k) for k in ("make", "model", "serial", "software", "lens", "source")},
    }
    for name, value in texts.items():
        if not text(value):
            return f"{name} is not text"
    if r.size is not None and not (isinstance(r.size, int) and number(r.size, 2**63)):
        return "size is not a whole number of bytes"
    if not isinstance(r.hashes, Mapping) or not all(isinstance(v, str) for v in r.hashes.values()):
        return "hashes are not text"
    if r.gps is not None:
        if not (number(r.gps.latitude, 90) and number(r.gps.longitude, 180)):
            return "gps position is not a latitude and a longitude"
        if not (r.gps.altitude is None or number(r.gps.altitude)) or not text(r.gps.source):
            return "gps altitude or source"
    if r.captured is not None and not all(
        text(getattr(r.captured, k)) for k in ("name", "source", "value", "utc", "offset_origin")
    ):
        return "captured time is not text"
    for f in r.findings:
        if not all(isinstance(getattr(f, k), str) for k in ("code", "severity", "message")):
            return "a finding is not text"
    for p in r.errors:
        if not all(isinstance(getattr(p, k), str) for k in ("stage", "severity", "type", "message")):
            return "a problem is not text"
    return None


def _listed_roots(scan: Mapping[str, Any]) -> list[Any]:
    roots = scan.get("roots")
    return roots if isinstance(roots, list) else []


def _gps(r: FileRecord) -> str:
    if not r.gps:
        return ""
    out = f"{r.gps.latitude:.6f}, {r.gps.longitude:.6f}"
    return out + (f" {r.gps.altitude:.1f} m" if r.gps.altitude is not None else "")


def _captured(r: FileRecord) -> str:
    if not r.captured:
        return ""
    out = f"{r.captured.value} ({r.captured.source} {r.captured.name})"
    if r.captured.offset_origin == "gps-inferred" and r.captured.utc:
        out += f", UTC {r.captured.utc} inferred from GPS"
    return out


def _digest(r: FileRecord) -> str:
    """The file's SHA-256; from a manifest made without it, the strongest digest it holds, named."""
    if isinstance(r.hashes.get("sha256"), str):
        return r.hashes["sha256"]
    alg = next((a for a in CHECK_WITH if isinstance(r.hashes.get(a), str)), None)
    return f"{DIGEST_NAMES[alg]} {r.hashes[alg]}" if alg else ""


def _osm(lat: float, lon: float) -> str:
    return f"https://www.openstreetmap.org/?mlat={lat:.6f}&amp;mlon={lon:.6f}#map=16/{lat:.6f}/{lon:.6f}"


def _kv_table(rows: list[tuple[str, Any]]) -> str:
    return "<table>" + "".join(f"<tr><th>{h(k)}</th><td>{h(v)}</td></tr>" for k, v in rows) + "</table>\n"


def _more(n: int, what: str) -> str:
    said = f"{counted(n, what)} more not shown here (limit reached): the manifest and its CSV hold them."
    return f'<p class="more">{said}</p>\n'


def write_report(
    manifest: Manifest,
    out: IO[str],
    *,
    generated_utc: str,
    title: str | None = None,
    limit: int = DEFAULT_LIMIT,
    thumbnails: bool = False,
    known: Matched | None = None,
) -> ReportResult:
    """Write the report of ``manifest`` to ``out`` (text). Reads its records three times
    from the manifest file (never held whole), four when it lists Google Photos' metadata
    files (to find the photos they describe). ``known``: the manifest matched against
    hash sets (``evidence report --hashset``), shown as a section."""
    result = ReportResult()
    header = manifest.header
    case = header.get("case") if isinstance(header.get("case"), Mapping) else {}
    scan = header.get("scan") if isinstance(header.get("scan"), Mapping) else {}
    summary = header.get("summary") if isinstance(header.get("summary"), Mapping) else {}
    tool = header.get("tool") if isinstance(header.get("tool"), Mapping) else {}
    assert isinstance(case, Mapping) and isinstance(scan, Mapping) and isinstance(summary, Mapping)
    assert isinstance(tool, Mapping)
    heading = title or (f"Evidence report: case {case.get('case')}" if case.get("case") else "Evidence report")

    w = out.write
    w('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n')
    w(f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n')
    w('<meta name="referrer" content="no-referrer">\n')
    w(f"<title>{h(heading)}</title><style>{STYLE}</style></head><body>\n")
    w(f"<h1>{h(heading)}</h1>\n")
    if manifest.seal.status != "valid":
        w(
            f'<p class="bad">The manifest is not sealed ({h(manifest.seal.status)}): edits made after the scan '
            "cannot be ruled out.</p>\n"
        )
    if not manifest.complete:
        w('<p class="bad">The scan was interrupted: the manifest lists only part of the evidence.</p>\n')

    w("<h2>Case and scan</h2>\n")
    w(
        _kv_table(
            [
                ("Case", case.get("case")),
                ("Examiner", case.get("examiner")),
                ("Evidence ID", case.get("evidence_id")),
                ("Scanned", ", ".join(str(x) for x in _listed_roots(scan)) or scan.get("root")),
                ("Started (UTC)", scan.get("started_utc")),
                ("Finished (UTC)", scan.get("finished_utc")),
                ("Host", scan.get("host")),
                ("Complete", "yes" if scan.get("complete") else "no"),
                ("Scanned with", f"{tool.get('name', '?')} {tool.get('version', '?')}"),
                ("Manifest", manifest.path),
                ("Manifest SHA-256", manifest.sha256),
                ("Manifest size", f"{manifest.size} bytes"),
                ("Seal", f"{manifest.seal.status}: {manifest.seal.message}"),
                ("Report made (UTC)", generated_utc),
                ("Report made with", f"evidence-cli {__version__}"),
            ]
        )
    )
    for note in manifest.notes:
        w(f'<p class="warn">Note: {h(note)}</p>\n')

    w("<h2>Summary</h2>\n")
    w(
        _kv_table(
            [(k.replace("_", " ").capitalize(), v) for k, v in summary.items() if k != "by_type"]
            + [("Bytes (readable)", human_size(summary.get("bytes")) if isinstance(summary.get("bytes"), int) else "")]
        )
    )
    by_type = summary.get("by_type")
    if isinstance(by_type, Mapping) and by_type:
        w("<table><tr><th>Type</th><th>Entries</th></tr>")
        w("".join(f"<tr><td>{h(k)}</td><td>{h(v)}</td></tr>" for k, v in by_type.items()))
        w("</table>\n")

    # Pass 1: findings, problems and GPS positions (bounded lists).
    findings: list[str] = []
    problems: list[str] = []
    points: list[_Point] = []  # the positions of files, and of archive members
    chats: list[tuple[Mapping[str, Any], FileRecord, Mapping[str, Any]]] = []  # WhatsApp exports
    zipped: list[str] = []  # rows of the archive members
    google: list[tuple[FileRecord, Mapping[str, Any]]] = []  # Google Photos' metadata files (Takeout)
    n_findings = n_problems = n_points = n_chats = n_archives = n_zipped = n_google = 0
    for _i, _raw, r in _records(manifest):
        for f in r.findings:
            n_findings += 1
            if len(findings) < limit:
                findings.append(
                    f"<tr><td class=mono>{h(r.path)}</td><td>{h(f.severity)}</td><td>{h(f.code)}</td>"
                    f"<td>{h(f.message)}</td></tr>"
                )
        for p in r.errors:
            n_problems += 1
            if len(problems) < limit:
                problems.append(
                    f"<tr><td class=mono>{h(r.path)}</td><td>{h(p.severity)}</td><td>{h(p.stage)}</td>"
                    f"<td>{h(p.type)}</td><td>{h(p.message)}</td></tr>"
                )
        if r.gps is not None:
            n_points += 1
            if len(points) < limit:
                points.append(_Point(r.path, r.gps.latitude, r.gps.longitude, r.gps.altitude, r.gps.source))
        takeout = r.metadata.get("takeout")
        if isinstance(takeout, Mapping):
            n_google += 1
            if len(google) < limit:
                google.append((r, takeout))
        chat = r.metadata.get("chat")
        if isinstance(chat, Mapping):
            n_chats += 1
            if len(chats) < limit:
                chats.append((_raw, r, chat))
        members = list(archive_members(r.metadata))
        n_archives += bool(members)
        for m in members:
            n_zipped += 1
            if len(zipped) < limit:
                zipped.append(_member_row(r, m))
            point = _member_point(r, m)
            if point is not None:
                n_points += 1
                if len(points) < limit:
                    points.append(point)
            if isinstance(m.get("chat"), Mapping):
                n_chats += 1
                if len(chats) < limit:
                    chats.append((_raw, r, {**m["chat"], "_member": m}))
    w(
        _listed(
            f"Findings ({n_findings})", ("Path", "Severity", "Code", "What"), findings, n_findings, "finding", result
        )
    )
    heads = ("Path", "Severity", "Stage", "Type", "What")
    w(_listed(f"Problems reading the evidence ({n_problems})", heads, problems, n_problems, "problem", result))

    w(f"<h2>Map ({n_points} {'position' if n_points == 1 else 'positions'})</h2>\n")
    if points:
        w(_map(points))
        w(
            "<table><tr><th>#</th><th>Path</th><th>Latitude</th><th>Longitude</th><th>Altitude</th>"
            "<th>Source</th><th>OpenStreetMap (online)</th></tr>\n"
        )
        for n, pt in enumerate(points, 1):
            lat, lon = pt.latitude, pt.longitude
            alt = f"{pt.altitude:.1f} m" if pt.altitude is not None else ""
            w(
                f"<tr><td>{n}</td><td class=mono>{h(pt.path)}</td><td>{lat:.6f}</td><td>{lon:.6f}</td>"
                f"<td>{alt}</td><td>{h(pt.source)}</td>"
                f'<td><a href="{_osm(lat, lon)}" rel="noreferrer">open</a></td></tr>\n'
            )
        w("</table>\n")
    else:
        w("<p>No file holds a GPS position.</p>\n")
    if n_points > len(points):
        result.left_out["positions"] = n_points - len(points)
        w(_more(n_points - len(points), "position"))
    options = scan.get("options")
    if isinstance(options, Mapping) and options.get("pdq") is True:
        w(_similar(manifest, limit, result))
    if known is not None:
        w(_known(manifest, known, limit, result))
    if n_chats:
        w(_chats(manifest, chats, n_chats, result))
    if n_google:
        beside = _photos_beside(manifest, google)
        intro = (
            "<p>What Google Photos keeps of a photo beside it in a Google Takeout (or a warrant return in the same "
            "form), one metadata file a photo or album: the photo it describes (<em>Title</em>), when it was "
            "taken as Google holds it (from its EXIF, or as the account's user set it) and uploaded, in UTC; "
            "its place (the photo's own, else the one Google holds: <em>Google's place</em> is given when it "
            "differs, set by the user or estimated by Google); who the user tagged; where it came from. "
            "<em>The photo beside it</em> compares Google's time and place with those of the file the scan found "
            "beside the metadata file under its title, if any: a time or place that differs was changed in Google "
            "Photos, or the file was.</p>\n"
        )
        google_heads = (
            "Path",
            "Title",
            "Taken (UTC)",
            "Uploaded (UTC)",
            "Place",
            "Google's place",
            "People",
            "Origin",
            "The photo beside it",
        )
        w(
            _listed(
                f"Google Photos (Takeout) ({n_google})",
                google_heads,
                [_takeout_row(r, takeout, beside) for r, takeout in google],
                n_google,
                "Google Photos file",
                result,
                intro=intro,
            )
        )
    if n_archives:
        intro = (
            f"<p>What {'the archive' if n_archives == 1 else f'the {n_archives} archives'} of the scan "
            f"{'holds' if n_archives == 1 else 'hold'}, read without unzipping: each member's "
            "digest, type, capture time, position and device, as the scan gives them for a file (the first "
            "members only: see the record's problems for what was not read). <em>Modified</em> is the zipping "
            "computer's clock, with the UTC time when the member records it. The digests are compared by "
            "<code>evidence match</code>.</p>\n"
        )
        columns = ("Archive", "Member", "Size", "Modified", "Type", "Captured", "GPS", "Device", "SHA-256", "Notes")
        w(_listed(f"Archive members ({n_zipped})", columns, zipped, n_zipped, "archive member", result, intro=intro))

    # Pass 2: the metadata times, in order (file-system times are in `evidence timeline`).
    w("<h2>Timeline of metadata times</h2>\n")
    w(
        "<p>Times a file's metadata holds (EXIF, XMP, QuickTime, PDF, ...), oldest first; a time without an "
        "offset is placed by its clock reading as if it were UTC and marked <em>local, offset unknown</em>. "
        "File-system times and the CSV: <code>evidence timeline</code>.</p>\n"
    )
    events = ordered(e for i, raw, _ in _records(manifest) for e in events_of(i, raw) if e.source != "filesystem")
    shown = total = 0
    w("<table><tr><th>Time</th><th>Clock</th><th>Stored</th><th>Event</th><th>Source</th><th>Path</th></tr>\n")
    for e in events:
        total += 1
        if shown < limit:
            shown += 1
            w(
                f"<tr><td class=mono>{h(e.shown_time())}</td><td>{h(e.clock)}</td><td class=mono>{h(e.value)}</td>"
                f"<td>{h(e.event)}</td><td>{h(e.source)}</td><td class=mono>{h(e.path)}"
                + (f"<br>member {h(e.member)}" if e.member else "")
                + "</td></tr>\n"
            )
    w("</table>\n")
    if total > shown:
        result.left_out["times"] = total - shown
        w(_more(total - shown, "time"))

    # Pass 3: the files.
    w(
        "<h2>Files</h2>\n<table><tr><th>#</th><th>Path</th><th>Type</th><th>Size</th><th>Captured</th>"
        "<th>GPS</th><th>Device</th><th>SHA-256</th><th>Flags</th>"
        + ("<th>Thumbnail</th>" if thumbnails else "")
        + "</tr>\n"
    )
    rows = 0
    for i, raw, r in _records(manifest):
        result.records += 1
        if rows >= limit:
            continue
        rows += 1
        kind = ("-> " + (r.link_target or "?")) if r.kind == "symlink" else (r.mime or r.description or "")
        device = " ".join(x for x in (r.device.make, r.device.model) if x)
        if r.device.software:
            device += f" ({r.device.software})"
        w(
            f"<tr><td>{i + 1}</td><td class=mono>{h(r.path)}</td><td>{h(kind)}</td><td>{h(human_size(r.size))}</td>"
            f"<td>{h(_captured(r))}</td><td>{h(_gps(r))}</td><td>{h(device)}</td>"
            f"<td class=mono>{h(_digest(r))}</td><td class=flag>{h(flags(r))}</td>"
        )
        if thumbnails:
            w(f"<td>{_thumbnail(manifest, i, raw, r, result)}</td>")
        w("</tr>\n")
    w("</table>\n")
    if result.records > rows:
        result.left_out["files"] = result.records - rows
        w(_more(result.records - rows, "file"))
    w(f'<p class="more">End of report: {counted(result.records, "record")} in the manifest.</p>\n</body></html>\n')
    return result


def _similar(manifest: Manifest, limit: int, result: ReportResult) -> str:
    """The section of pictures shown by more than one file (``evidence similar`` with its
    defaults), for a scan made with --pdq."""
    from evidence_cli import similar
    from evidence_cli.formats.pdq import numpy_missing

    intro = (
        "<p>Files whose PDQ hashes, as they are or turned or mirrored, differ in at most "
        f"{similar.DEFAULT_DISTANCE} bits (quality {similar.DEFAULT_MIN_QUALITY} or more): copies of one picture, "
        "re-encoded, resized or turned. Distance and turn are from each group's first file. "
        "A lead to look at, not a proof. The CSV: <code>evidence similar</code>.</p>\n"
    )
    if numpy_missing():
        return "<h2>Similar pictures</h2>\n<p>Not computed: this installation lacks NumPy (evidence-cli[pdq]).</p>\n"
    tally = similar.Tally()
    members = list(similar.scan_members(manifest.iter_records(), tally, similar.DEFAULT_MIN_QUALITY))
    found = similar.groups(members, similar.DEFAULT_DISTANCE, tally)
    members_shown = (
        (g, n, m, bits, turn) for g, group in enumerate(found, 1) for n, (m, bits, turn) in enumerate(group, 1)
    )
    rows = [
        f"<tr><td>{g}</td><td>{n}</td><td class=mono>{h(m.path)}"
        + (f"<br>member <span class=mono>{h(m.archive_member)}</span>" if m.archive_member else "")
        + f"</td><td>{bits}</td><td>{h(turn)}</td>"
        f"<td class=mono>{h((m.sha256 or '')[:16])}</td></tr>"
        for g, n, m, bits, turn in itertools.islice(members_shown, limit)
    ]
    total = sum(len(group) for group in found)
    title = f"Similar pictures ({counted(tally.groups, 'group')} of {counted(tally.grouped_files, 'file')})"
    heads = ("Group", "Member", "Path", "Bits from the first", "Turn", "SHA-256 (start)")
    return _listed(title, heads, rows, total, "similar file", result, intro=intro)


def _known(manifest: Manifest, known: Matched, limit: int, result: ReportResult) -> str:
    """The section of files found in hash sets of known files (``evidence match``)."""
    sets = "".join(
        f"<tr><td class=mono>{h(s.path)}</td><td>{h(s.format)}</td><td>{s.entries}</td><td>{s.bad_count}</td>"
        f"<td class=mono>{h(s.sha256)}</td></tr>\n"
        for s in known.sets
    )
    intro = (
        "<p>Files whose digests equal those of an entry of a hash set of known files. A <em>conflict</em> is a "
        "file with one digest equal to an entry's while another digest or the size differs: a collision or a "
        "broken set, never counted as a match. The CSV: <code>evidence match</code>.</p>\n"
        "<table><tr><th>Hash set</th><th>Format</th><th>Entries</th><th>Not read</th><th>SHA-256</th></tr>\n"
        f"{sets}</table>\n" + "".join(f'<p class="bad">{h(p)}</p>\n' for p in known.problems())
    )
    rows = []
    for hit in known.hits[:limit]:
        path, member = known.index.path(hit.entry)
        k = hit.known
        where = h(path) + (f"<br>member <span class=mono>{h(member)}</span>" if member else "")
        result_cell = "match" if hit.is_match else '<span class="bad">conflict</span>'
        rows.append(
            f"<tr><td class=mono>{where}</td><td>{result_cell}</td><td>{h('+'.join(hit.equal))}</td>"
            f"<td>{h('+'.join(hit.differs))}</td><td class=mono>{h(os.path.basename(known.sets[hit.set_no].path))}"
            f"</td><td>{h(k.where)}</td><td class=mono>{h(k.name or '')}</td><td>{h(k.label or '')}</td>"
            f"<td>{h(k.detail or '')}</td></tr>"
        )
    matched = len(known.tally.matched_files)
    title = f"Known files ({counted(matched, 'file')} in {counted(len(known.sets), 'hash set')})"
    heads = ("Path", "Result", "Matched on", "Differs", "Hash set", "Where in it", "Name in it", "Label", "Detail")
    return _listed(title, heads, rows, len(known.hits), "known-file match", result, intro=intro)


def _beside(r: FileRecord, takeout: Mapping[str, Any]) -> str | None:
    """The path of the file a Google Photos metadata file describes, if the scan holds it where
    Takeout puts it: beside it, named by its title."""
    title = takeout.get("title")
    if not isinstance(title, str) or not title or "/" in title or title in (".", ".."):
        return None
    folder = r.path.rpartition("/")[0]
    return f"{folder}/{title}" if folder else title


def _photos_beside(
    manifest: Manifest, google: list[tuple[FileRecord, Mapping[str, Any]]]
) -> dict[str, Mapping[str, Any]]:
    """The records of the files the listed metadata files describe, by path (one more pass
    over the manifest, keeping only those)."""
    wanted = {p for r, takeout in google if (p := _beside(r, takeout)) is not None}
    found: dict[str, Mapping[str, Any]] = {}
    if wanted:
        for raw in manifest.iter_records():
            path = raw.get("path") if isinstance(raw, Mapping) else None
            if isinstance(path, str) and path in wanted:
                found[path] = raw
    return found


#: Seconds Google's taken time and the photo's own may differ and still agree (Google keeps
#: whole seconds); metres two places may be apart and still be one.
SAME_SECONDS = 60
SAME_METRES = 50.0


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Distance along the Earth's surface (a sphere of 6,371 km)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6_371_000 * math.asin(min(1.0, math.sqrt(a)))


def _against_photo(r: FileRecord, takeout: Mapping[str, Any], photo: Mapping[str, Any] | None) -> str:
    """What the photo the scan found beside a metadata file says against Google's time and place."""
    if photo is None:
        return "not scanned beside it"
    said: list[str] = []
    google = next((t.utc for t in r.timestamps if t.source == "takeout" and t.name == "PhotoTakenTime"), None)
    own = photo.get("captured") if isinstance(photo.get("captured"), Mapping) else None
    if google is not None:
        said.append(_against_time(google, own))
    gps = photo.get("gps") if isinstance(photo.get("gps"), Mapping) else None
    held = takeout.get("geo_data")
    if isinstance(held, Mapping) and isinstance(gps, Mapping):
        try:
            apart = _metres(
                float(gps["latitude"]), float(gps["longitude"]), float(held["latitude"]), float(held["longitude"])
            )
        except (KeyError, TypeError, ValueError):
            apart = None
        if apart is not None:
            said.append(
                "its own place agrees"
                if apart <= SAME_METRES
                else f"its own place is {apart / 1000:.1f} km from the place Google holds"
            )
    elif isinstance(held, Mapping):
        said.append("it has no place of its own")
    return "; ".join(said) or "nothing to compare"


def _against_time(google: str, own: Mapping[str, Any] | None) -> str:
    """Google's taken time (UTC) against the photo's own capture time."""
    if own is None or not isinstance(own.get("value"), str):
        return "it has no capture time of its own"
    utc = own.get("utc") if isinstance(own.get("utc"), str) and own.get("utc") else None
    try:
        at = parse_iso(google).replace(tzinfo=None)
        mine = parse_iso(utc or own["value"]).replace(tzinfo=None)
    except (ValueError, TimeParseError):
        return f"its own capture time ({own['value']}) cannot be read"
    hours = abs((mine - at).total_seconds()) / 3600
    if utc is not None:
        if hours * 3600 <= SAME_SECONDS:
            return "its own capture time agrees"
        return f"its own capture time ({utc}) is {hours:.1f} hours from Google's"
    # A clock reading without its offset: it may be 14 hours either side of UTC.
    fits = "fits Google's" if hours <= 14 else f"is {hours:.1f} hours from Google's"
    return f"its own capture time ({own['value']}, offset unknown) {fits}"


def _takeout_row(r: FileRecord, takeout: Mapping[str, Any], beside: Mapping[str, Mapping[str, Any]]) -> str:
    """A row of the Google Photos (Takeout) section."""

    def when(name: str) -> str:
        return next((t.utc or t.value for t in r.timestamps if t.source == "takeout" and t.name == name), "")

    def place(point: Any) -> str:
        if not isinstance(point, Mapping):
            return ""
        lat, lon = point.get("latitude"), point.get("longitude")
        if not isinstance(lat, (int, float)) or not isinstance(lon, (int, float)):
            return ""
        return f'<a href="{_osm(lat, lon)}">{h(f"{lat:.6f}, {lon:.6f}")}</a>'

    differs = next((f for f in r.findings if f.code == "takeout-place-differs"), None)
    people = takeout.get("people")
    origin = [
        str(takeout[k]) for k in ("device_type", "device_folder", "app_package") if isinstance(takeout.get(k), str)
    ] + [k for k in ("archived", "trashed", "favorited") if takeout.get(k) is True]
    here = place({"latitude": r.gps.latitude, "longitude": r.gps.longitude}) if r.gps is not None else ""
    return (
        f"<tr><td class=mono>{h(r.path)}</td><td class=mono>{h(takeout.get('title') or '')}</td>"
        f"<td>{h(when('PhotoTakenTime') or when('AlbumDate'))}</td><td>{h(when('CreationTime'))}</td>"
        f"<td>{here}</td><td>{place(takeout.get('geo_data')) if differs is not None else ''}</td>"
        f"<td>{h(', '.join(str(p) for p in people) if isinstance(people, list) else '')}</td>"
        f"<td>{h(', '.join(origin))}</td>"
        f"<td>{h(_against_photo(r, takeout, beside.get(_beside(r, takeout) or '')))}</td></tr>"
    )


def _member_row(r: FileRecord, m: Mapping[str, Any]) -> str:
    """A row of the archive members' table."""

    def text(value: Any) -> str:
        return "" if value is None else h(value)

    captured = m.get("captured") if isinstance(m.get("captured"), Mapping) else {}
    gps = m.get("gps") if isinstance(m.get("gps"), Mapping) else {}
    device = m.get("device") if isinstance(m.get("device"), Mapping) else {}
    assert isinstance(captured, Mapping) and isinstance(gps, Mapping) and isinstance(device, Mapping)
    lat, lon = gps.get("latitude"), gps.get("longitude")
    place = ""
    if isinstance(lat, (int, float)) and isinstance(lon, (int, float)) and -90 <= lat <= 90 and -180 <= lon <= 180:
        place = f'{lat:.6f}, {lon:.6f} <a href="{_osm(lat, lon)}" rel="noreferrer">open</a>'
    when = captured.get("value")
    if when is not None and captured.get("utc"):
        when = f"{when} (UTC {captured['utc']})"
    modified = m.get("modified")
    if modified is not None and m.get("modified_utc"):
        modified = f"{modified} (UTC {m['modified_utc']})"
    notes = [str(m[k]) for k in ("not_hashed", "damaged") if m.get(k)]
    if m.get("encrypted") is True:
        notes.append("encrypted")
    if m.get("extension_ok") is False:
        notes.append("extension does not fit the type")
    if isinstance(m.get("findings"), list):
        notes.extend(str(code) for code in m["findings"])
    if isinstance(m.get("chat"), Mapping):
        notes.append("chat export (see Chat exports)")
    return (
        f"<tr><td class=mono>{h(r.path)}</td><td class=mono>{h(m['name'])}</td><td>{text(m.get('size'))}</td>"
        f"<td class=mono>{text(modified)}</td><td>{text(m.get('mime'))}</td>"
        f"<td class=mono>{text(when)}</td><td>{place}</td>"
        f"<td>{h(' '.join(str(device[k]) for k in ('make', 'model') if device.get(k)))}</td>"
        f"<td class=mono>{text(m.get('sha256'))}</td><td>{h('; '.join(notes))}</td></tr>"
    )


def _chats(
    manifest: Manifest,
    chats: list[tuple[Mapping[str, Any], FileRecord, Mapping[str, Any]]],
    total: int,
    result: ReportResult,
) -> str:
    """The section of chat exports: who wrote, from when to when, and which of the
    attachments each names were scanned (the rest: to find, or to ask for)."""
    present = {e.rel for e in manifest.entries if e.kind == "file"}
    rows = []
    for raw, r, chat in chats:
        member = chat.get("_member")
        if isinstance(member, Mapping):  # a chat inside an archive: looked for in it by the scan
            rows.append(_zipped_chat(r, member, chat))
            continue
        try:
            folder: bytes | None = record_path(raw, r.path).rpartition(b"/")[0]
        except ManifestError:
            folder = None
        names = chat.get("attachment_names")
        names = [n for n in names if isinstance(n, str)] if isinstance(names, list) else []
        # Only a relative name is looked for (a name that climbs out with .. is not).
        plain = [n for n in names if n and "\\" not in n and not n.startswith("/") and ".." not in n.split("/")]
        found = {n for n in plain if folder is not None and _attachment_scanned(folder, n, present)}
        missing = [n for n in plain if n not in found]
        count = chat.get("attachments")
        named = count if isinstance(count, int) and not isinstance(count, bool) else len(names)
        unchecked = max(0, named - len(plain))
        when, who = _chat_when_who(chat)
        shown_missing = ", ".join(missing[:20]) + (f" and {len(missing) - 20} more" if len(missing) > 20 else "")
        if unchecked:
            shown_missing += f" ({unchecked} not looked for)"
        rows.append(
            f"<tr><td class=mono>{h(r.path)}</td><td>{h(chat.get('layout'))}</td><td>{h(chat.get('messages'))}</td>"
            f"<td>{h(who)}</td><td>{h(when)}</td><td>{named}</td>"
            f"<td>{len(plain) - len(missing)}</td><td class=mono>{h(shown_missing)}</td></tr>"
        )
    intro = (
        "<p>Chat exports. WhatsApp's times are the exporting phone's clock readings, its time zone unknown; "
        "Telegram's and Meta's are UTC. An attachment is <em>in the scan</em> when a file of that name was "
        "scanned in the export's folder (or, for a path, under it or a folder above it); for a chat inside an "
        "archive, when the archive holds it under the chat's folder. The others are to be found, or asked for "
        "(an export made without media names none).</p>\n"
    )
    heads = (
        "Path",
        "Layout",
        "Messages",
        "Participants (messages)",
        "From, to",
        "Attachments named",
        "In the scan",
        "Not in the scan",
    )
    return _listed(f"Chat exports ({total})", heads, rows, total, "chat export", result, intro=intro)


def _chat_when_who(chat: Mapping[str, Any]) -> tuple[str, str]:
    """A chat's span of time and its participants with their message counts, as shown."""
    when = (
        f"{chat.get('first_message')} to {chat.get('last_message')}"
        if chat.get("first_message")
        else f"{chat.get('first_line_time')} to {chat.get('last_line_time')} (day and month order not known)"
    )
    participants = chat.get("participants")
    who = ", ".join(f"{k} ({v})" for k, v in participants.items()) if isinstance(participants, Mapping) else ""
    return when, who


def _zipped_chat(r: FileRecord, member: Mapping[str, Any], chat: Mapping[str, Any]) -> str:
    """A row of the chat exports' table for a chat inside an archive."""
    when, who = _chat_when_who(chat)
    missing = member.get("chat_attachments_missing")
    missing = [str(n) for n in missing] if isinstance(missing, list) else []
    found = member.get("chat_attachments_in_archive")
    count = chat.get("attachments")
    shown = ", ".join(missing[:20]) + (f" and {len(missing) - 20} more" if len(missing) > 20 else "")
    return (
        f"<tr><td class=mono>{h(r.path)}<br>member {h(member['name'])}</td><td>{h(chat.get('layout'))}</td>"
        f"<td>{h(chat.get('messages'))}</td><td>{h(who)}</td><td>{h(when)}</td>"
        f"<td>{h(count if isinstance(count, int) else '')}</td><td>{h(found if isinstance(found, int) else 0)}</td>"
        f"<td class=mono>{h(shown)}</td></tr>"
    )


def _attachment_scanned(folder: bytes, name: str, present: set[bytes]) -> bool:
    """Was ``name`` scanned in the export's folder or under one of its parents? WhatsApp
    names a file beside the export, Telegram a path under its folder (``photos/...``), and
    Meta a path from its download's top folder (``your_activity/messages/...``)."""
    rel = name.encode("utf-8", "surrogateescape")
    while True:
        if (folder + b"/" + rel if folder else rel) in present:
            return True
        if not folder or folder == b".":
            return False
        folder = folder.rpartition(b"/")[0]


def _listed(
    title: str, heads: tuple[str, ...], rows: list[str], total: int, what: str, result: ReportResult, intro: str = ""
) -> str:
    """A section: its title, ``intro``, its table of ``rows`` (or "None."), and what the limit left out."""
    out = f"<h2>{title}</h2>\n{intro}"
    if rows:
        out += "<table><tr>" + "".join(f"<th>{x}</th>" for x in heads) + "</tr>\n" + "\n".join(rows) + "</table>\n"
    else:
        out += "<p>None.</p>\n"
    if total > len(rows):
        result.left_out[what + "s"] = total - len(rows)
        out += _more(total - len(rows), what)
    return out


@dataclass(frozen=True)
class _Point:
    """A position the map and its table show."""

    path: str
    """The file's path, or an archive's with ``[member NAME]``."""
    latitude: float
    longitude: float
    altitude: float | None
    source: str | None


def _member_point(r: FileRecord, m: Mapping[str, Any]) -> _Point | None:
    """The position an archive member's readers found, when it is one (the manifest's own
    numbers, checked again: a hand-made manifest may hold anything)."""
    gps = m.get("gps")
    if not isinstance(gps, Mapping):
        return None
    lat, lon, alt = gps.get("latitude"), gps.get("longitude"), gps.get("altitude")
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lat, lon))
    if not numbers or not (-90 <= lat <= 90 and -180 <= lon <= 180):  # type: ignore[operator]
        return None
    altitude = float(alt) if isinstance(alt, (int, float)) and not isinstance(alt, bool) else None
    source = gps.get("source")
    return _Point(
        f"{r.path} [member {m['name']}]", float(lat), float(lon), altitude,  # type: ignore[arg-type]
        f"archive/{source}" if isinstance(source, str) else "archive",
    )  # fmt: skip


def _map(points: list[_Point]) -> str:
    """An equirectangular SVG of the positions with a 30° graticule (no tiles, no outlines)."""
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="720" height="360" viewBox="0 0 720 360">']
    for meridian in range(-180, 181, 30):
        gx = (meridian + 180) * 2
        width = 2 if meridian == 0 else 1
        parts.append(f'<line x1="{gx}" y1="0" x2="{gx}" y2="360" stroke="#bcd" stroke-width="{width}"/>')
    for parallel in range(-90, 91, 30):
        gy = (90 - parallel) * 2
        width = 2 if parallel == 0 else 1
        parts.append(f'<line x1="0" y1="{gy}" x2="720" y2="{gy}" stroke="#bcd" stroke-width="{width}"/>')
    for n, pt in enumerate(points, 1):
        lat, lon = pt.latitude, pt.longitude
        x, y = (lon + 180) * 2, (90 - lat) * 2
        parts.append(
            f'<circle cx="{x:.2f}" cy="{y:.2f}" r="4" fill="#c00" stroke="#fff"><title>{n}: {h(pt.path)} '
            f"({lat:.6f}, {lon:.6f})</title></circle>"
            f'<text x="{x + 5:.2f}" y="{y - 5:.2f}" font-size="11" fill="#600">{n}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _thumbnail(manifest: Manifest, i: int, raw: Mapping[str, Any], r: FileRecord, result: ReportResult) -> str:
    """A data-URI <img> of the file as it is now, when its digest still matches; else why not."""
    if r.kind != "file" or r.mime not in THUMB_TYPES:
        return ""

    def none(why: str) -> str:
        result.no_thumbnail.append((r.path, why))
        return f'<span class="more">{h(why)}</span>'

    if manifest.base is None:
        return none("no thumbnail: the manifest does not say where the evidence is")
    if r.size is None or r.size > THUMB_MAX_BYTES:
        return none("no thumbnail: larger than 64 MiB")
    try:
        rel = record_path(raw, f"record {i + 1}")
    except ManifestError as exc:
        return none(f"no thumbnail: {exc}")
    try:
        fd = open_readonly(os.path.join(manifest.base, rel))
        try:
            with os.fdopen(os.dup(fd), "rb") as fh:
                data = fh.read(THUMB_MAX_BYTES + 1)
        finally:
            os.close(fd)
    except OSError as exc:
        return none(f"no thumbnail: cannot read it now ({exc.strerror})")
    alg = next((a for a in CHECK_WITH if isinstance(r.hashes.get(a), str)), None)
    if alg is None:
        return none("no thumbnail: the manifest holds no digest of it to check it against")
    hasher = ALGORITHMS[alg]()
    hasher.update(data)
    if hasher.hexdigest() != r.hashes[alg]:
        return none(f"no thumbnail: the file is not the one scanned (its {DIGEST_NAMES[alg]} differs)")
    try:
        picture = _small_jpeg(data, THUMB_TYPES[r.mime])
    except Exception as exc:  # noqa: BLE001 - any decoder failure on hostile data is "no thumbnail"
        return none(f"no thumbnail: {type(exc).__name__}")
    result.thumbnails += 1
    b64 = base64.b64encode(picture).decode("ascii")
    img = f'<img alt="thumbnail of record {i + 1}" src="data:image/jpeg;base64,{b64}">'
    if any(f.code == "thumbnail-differs" for f in r.findings):
        img += _exif_thumbnail(data, r, i)
    return img


def _exif_thumbnail(data: bytes, r: FileRecord, i: int) -> str:
    """For a file whose EXIF thumbnail shows another picture (``thumbnail-differs``), that
    thumbnail too, when its SHA-256 is still the one the scan recorded: it may show what the
    picture was before it was cropped or edited."""
    from evidence_cli.extractors.pdq import exif_thumbnail
    from evidence_cli.formats import jpeg

    pdq = r.metadata.get("pdq")
    recorded = pdq.get("thumbnail") if isinstance(pdq, Mapping) else None
    want = recorded.get("sha256") if isinstance(recorded, Mapping) else None
    try:
        stream = io.BytesIO(data)
        thumb, _ = exif_thumbnail(stream, jpeg.walk(stream))
        if thumb is None or hashlib.sha256(thumb).hexdigest() != want:
            return '<br><span class="more">EXIF thumbnail: not the one the scan recorded</span>'
        small = _small_jpeg(thumb, "JPEG")
    except Exception as exc:  # noqa: BLE001 - any decoder failure on hostile data
        return f'<br><span class="more">EXIF thumbnail: {h(type(exc).__name__)}</span>'
    b64 = base64.b64encode(small).decode("ascii")
    return (
        '<br><span class="more">its EXIF thumbnail (thumbnail-differs):</span><br>'
        f'<img alt="EXIF thumbnail of record {i + 1}" src="data:image/jpeg;base64,{b64}">'
    )


def _small_jpeg(data: bytes, decoder: str) -> bytes:
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's advice on palettes and the like: not for stderr
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(data), formats=[decoder]) as img:
            img.draft("RGB", (THUMB_SIZE, THUMB_SIZE))
            img.thumbnail((THUMB_SIZE, THUMB_SIZE))
            small = img.convert("RGB")
    buf = io.BytesIO()
    small.save(buf, "JPEG", quality=70)
    return buf.getvalue()
