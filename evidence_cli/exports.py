"""Files written from a manifest or a verification: hash lists, CSV, verify reports.

Hash lists are written so that the real tools accept them as they are, run from the
evidence root:

``sha256sum`` / ``md5sum``
    ``<hex>  <name>`` a line, exactly as GNU coreutils writes it: a name holding a
    backslash, a newline or a carriage return is escaped (``\\\\``, ``\\n``, ``\\r``) and
    its line starts with ``\\``; every other byte of the name is written as is (names
    that are not UTF-8 stay raw bytes). Check with ``sha256sum -c FILE`` from the root.
``hashdeep``
    ``%%%% HASHDEEP-1.0``, the column line, comments, then ``size,<digests>,./<name>``.
    Audit with ``hashdeep -o f -l -r -a -k FILE .`` from the root: ``-l`` keeps names
    relative (so the audit works wherever the evidence now lies), ``-o f`` makes hashdeep
    read regular files only (it would otherwise follow symlinks and block on FIFOs).
    hashdeep cannot carry a newline in a name, nor a carriage return at its end: such
    an export is refused, naming the files.
``csv``
    The scan's CSV (one row a record, the columns of :mod:`evidence_cli.writers.csv_out`).

Only regular files with the needed digest are listed; symlinks and special files have
no content digest. A file the scan could not read (no digest) is left out and counted.
"""

from __future__ import annotations

import enum
import io
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO, Iterable, Mapping

from evidence_cli import __version__
from evidence_cli.errors import EvidenceError
from evidence_cli.hashing import ALGORITHMS
from evidence_cli.manifest import Manifest, ManifestEntry, Sealer, with_article
from evidence_cli.models import FileRecord, ScanInfo, VerifyEntry
from evidence_cli.writers.csv_out import BOM, CsvWriter, csv_line, neutralise
from evidence_cli.writers.json_out import dumps

#: Schema of the ``evidence verify --json`` report.
VERIFY_SCHEMA = "evidence-cli/verify/1"
#: Digests hashdeep knows that we compute, in hashdeep's column order.
HASHDEEP_DIGESTS = ("md5", "sha1", "sha256")


class ExportFormat(str, enum.Enum):
    SHA256SUM = "sha256sum"
    MD5SUM = "md5sum"
    HASHDEEP = "hashdeep"
    CSV = "csv"


class ExportRefused(EvidenceError):
    """The manifest cannot be written in the chosen format (nothing was written)."""


@dataclass
class ExportResult:
    written: int = 0
    """Entries written."""
    not_files: int = 0
    """Symlinks, special files and unreadable folders: no content digest to list."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(path, reason) of regular files left out (no digest in the manifest)."""


# --- hash lists -------------------------------------------------------------------------


def sum_line(digest: str, rel: bytes) -> bytes:
    """One GNU ``sha256sum``/``md5sum`` line (text-mode marker, GNU escaping)."""
    if b"\\" in rel or b"\n" in rel or b"\r" in rel:
        escaped = rel.replace(b"\\", b"\\\\").replace(b"\n", b"\\n").replace(b"\r", b"\\r")
        return b"\\" + digest.encode("ascii") + b"  " + escaped + b"\n"
    return digest.encode("ascii") + b"  " + rel + b"\n"


def hashdeep_unsafe(rel: bytes) -> bool:
    """True for a name hashdeep's file format cannot carry."""
    return b"\n" in rel or rel.endswith(b"\r")


def _shown(rel: bytes) -> str:
    return repr(rel.decode("utf-8", "backslashreplace"))


def _comment(text: str) -> bytes:
    return text.replace("\n", "\\n").replace("\r", "\\r").encode("utf-8", "backslashreplace")


def check_exportable(manifest: Manifest, fmt: ExportFormat) -> tuple[str, ...]:
    """The digest columns the export will use. Raises ExportRefused when it cannot be written."""
    files = [e for e in manifest.entries if e.kind == "file" and e.hashes]
    if fmt in (ExportFormat.SHA256SUM, ExportFormat.MD5SUM):
        alg = "sha256" if fmt is ExportFormat.SHA256SUM else "md5"
        if files and not any(alg in e.hashes for e in files):
            raise ExportRefused(
                f"the manifest holds no {alg} digest (it has {', '.join(manifest.algorithms())}): "
                f"{fmt.value} list cannot be written"
            )
        return (alg,)
    if fmt is ExportFormat.HASHDEEP:
        columns = tuple(a for a in HASHDEEP_DIGESTS if files and all(a in e.hashes for e in files))
        if files and not columns:
            raise ExportRefused(
                f"hashdeep needs md5, sha1 or sha256 digests; the manifest has {', '.join(manifest.algorithms())}"
            )
        if any(e.size is None for e in files):
            raise ExportRefused(f"hashdeep lists need file sizes; {with_article(manifest.format)} list records none")
        bad = [e.rel for e in files if hashdeep_unsafe(e.rel)]
        if bad:
            shown = ", ".join(_shown(r) for r in bad[:20]) + (f" and {len(bad) - 20} more" if len(bad) > 20 else "")
            have = "1 file has" if len(bad) == 1 else f"{len(bad)} files have"
            raise ExportRefused(
                f"hashdeep's format cannot carry a newline in a file name (or a carriage return at its end); "
                f"{have} one: {shown}. Export --format sha256sum or csv instead "
                "(they carry every name), or verify with `evidence verify`."
            )
        return columns
    return ()


def export_manifest(
    manifest: Manifest,
    fmt: ExportFormat,
    out: BinaryIO,
    *,
    neutralise_csv: bool = True,
    check_first: bool = True,
    csv_bom: bool = False,
) -> ExportResult:
    """Write the manifest in ``fmt`` to a binary stream (checked first: nothing is written on refusal).

    ``check_first=False``: a CSV export reads the records once, writing each as it is read,
    so a record this version cannot read is refused after part of the CSV was written. For
    a caller that removes its output on :class:`ExportRefused` (it saves one reading of the
    manifest); the other formats are always checked first.
    """
    columns = check_exportable(manifest, fmt)
    result = ExportResult()
    if fmt is ExportFormat.CSV:
        _export_csv(manifest, out, result, neutralise_csv, check_first, csv_bom)
        return result
    if fmt is ExportFormat.HASHDEEP:
        out.write(b"%%%% HASHDEEP-1.0\n")
        out.write(b"%%%% size," + ",".join(columns).encode("ascii") + b",filename\n")
        if manifest.base is not None and b"\n" not in manifest.base and b"\r" not in manifest.base:
            out.write(b"## Invoked from: " + manifest.base + b"\n")
        out.write(
            b"## "
            + _comment(f"evidence-cli {__version__}: export of {manifest.path} (sha256 {manifest.sha256}, ")
            + _comment(f"seal {manifest.seal.status})")
            + b"\n"
        )
        out.write(b"## Audit from the evidence root: hashdeep -o f -l -r -a -k THIS_FILE .\n")
        out.write(b"## \n")
    for e in manifest.entries:
        if e.kind != "file":
            result.not_files += 1
            continue
        if not all(a in e.hashes for a in columns):
            missing = ", ".join(a for a in columns if a not in e.hashes)
            result.skipped.append((e.display[0], f"no {missing} digest in the manifest (unreadable at scan time?)"))
            continue
        if fmt is ExportFormat.HASHDEEP:
            digests = ",".join(e.hashes[a] for a in columns).encode("ascii")
            out.write(str(e.size).encode("ascii") + b"," + digests + b",./" + e.rel + b"\n")
        else:
            out.write(sum_line(e.hashes[columns[0]], e.rel))
        result.written += 1
    out.flush()
    return result


def _export_csv(
    manifest: Manifest, out: BinaryIO, result: ExportResult, neutralise_csv: bool, check_first: bool, bom: bool
) -> None:
    # Unless the caller removes its output on failure (check_first=False), every record
    # is read before anything is written: a manifest whose records this version cannot
    # read (hand-edited, accepted with --allow-unsealed) gets no CSV at all. The records
    # are not kept (a million take gigabytes): each pass reads them from the manifest file.
    records: Iterable[FileRecord]
    if manifest.has_records:
        if check_first:
            for i, r in enumerate(manifest.iter_records()):
                _record_of_dict(i, r)
        records = (_record_of_dict(i, r) for i, r in enumerate(manifest.iter_records()))
    else:
        records = (_record_of(e) for e in manifest.entries)
    text = io.TextIOWrapper(out, encoding="utf-8", errors="backslashreplace", newline="", write_through=True)
    try:
        writer = CsvWriter(text, neutralise=neutralise_csv, bom=bom)
        info = _scan_info(manifest)
        writer.begin(info)
        for i, rec in enumerate(records):
            try:
                writer.write(rec)
            except (TypeError, ValueError, AttributeError, KeyError) as exc:  # a field of the wrong type
                raise _unreadable_record(i, exc) from None
            result.written += 1
        text.flush()
    finally:
        text.detach()


def _record_of_dict(i: int, r: Any) -> FileRecord:
    try:
        return FileRecord.from_dict(r)
    except Exception as exc:  # noqa: BLE001 - any malformed field: KeyError, TypeError, ValueError ...
        raise _unreadable_record(i, exc) from None


def _unreadable_record(i: int, exc: Exception) -> ExportRefused:
    return ExportRefused(f"record {i + 1} is not a record this version reads ({type(exc).__name__})")


def _scan_info(manifest: Manifest) -> ScanInfo:
    try:
        return ScanInfo.from_dict(manifest.header)
    except (KeyError, TypeError, AttributeError, ValueError):
        return ScanInfo(tool={}, case={}, roots=(), started_utc="", finished_utc=None, options={})


def _record_of(e: ManifestEntry) -> FileRecord:
    text, b64 = e.display
    return FileRecord(path=text, path_bytes=b64, kind=e.kind, size=e.size, hashes=dict(e.hashes))


# --- verify reports ----------------------------------------------------------------------


class VerifyReportJson:
    """The ``verify --json`` report, streamed and sealed like the scan manifest.

    ``{"schema", "tool", "case", "manifest", "entries": [...], "verify", "summary",
    "result", "seal"}``; the seal follows :mod:`evidence_cli.manifest` exactly.
    """

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.count = 0
        self.sealer: Sealer | None = None

    def begin(self, tool: Mapping[str, Any], case: Mapping[str, Any], manifest: Mapping[str, Any]) -> None:
        head = {"schema": VERIFY_SCHEMA, "tool": dict(tool), "case": dict(case), "manifest": dict(manifest)}
        self.sealer = Sealer(head, "entries")
        self.stream.write("{")
        for key, value in head.items():
            self.stream.write(f"\n  {dumps(key)}: {dumps(value)},")
        self.stream.write('\n  "entries": [')

    def write(self, entry: VerifyEntry) -> None:
        assert self.sealer is not None, "begin() first"
        text = dumps(entry.to_dict())
        self.stream.write(f"{',' if self.count else ''}\n    {text}")
        self.sealer.add_json(text)
        self.count += 1

    def end(self, verify: Mapping[str, Any], summary: Mapping[str, Any], result: Mapping[str, Any]) -> None:
        assert self.sealer is not None, "begin() first"
        tail = {"verify": dict(verify), "summary": dict(summary), "result": dict(result)}
        seal = self.sealer.finish(tail)
        self.stream.write("\n  ]")
        for key, value in (*tail.items(), ("seal", seal)):
            self.stream.write(f",\n  {dumps(key)}: {dumps(value)}")
        self.stream.write("\n}\n")
        self.stream.flush()


#: Columns of the ``verify --csv`` report, in order.
VERIFY_CSV_COLUMNS: tuple[str, ...] = (
    "status",
    "in_manifest",
    "path",
    "path_bytes",
    "kind",
    "moved_to",
    "moved_to_bytes",
    "changed",
    "expected_size",
    "actual_size",
    *(f"expected_{a}" for a in ALGORITHMS),
    *(f"actual_{a}" for a in ALGORITHMS),
    "expected_link_target",
    "actual_link_target",
    "expected_fs_modified",
    "actual_fs_modified",
    "problems",
    "note",
)
#: Cells whose text comes from evidence (neutralised against formula injection).
_FROM_EVIDENCE = {"path", "moved_to", "expected_link_target", "actual_link_target", "problems"}


class VerifyReportCsv:
    """The ``verify --csv`` report: one row an entry (see :data:`VERIFY_CSV_COLUMNS`)."""

    def __init__(self, stream: IO[str], *, neutralise_cells: bool = True, bom: bool = False) -> None:
        self.stream = stream
        self.neutralise = neutralise_cells
        self.bom = bom

    def begin(self) -> None:
        self.stream.write((BOM if self.bom else "") + csv_line(list(VERIFY_CSV_COLUMNS)))

    def row(self, e: VerifyEntry) -> list[str]:
        exp_h = e.expected.get("hashes") or {}
        act_h = e.actual.get("hashes") or {}
        values: dict[str, Any] = {
            "status": e.status,
            "in_manifest": "true" if e.in_manifest else "false",
            "path": e.path,
            "path_bytes": e.path_bytes,
            "kind": e.kind,
            "moved_to": e.moved_to,
            "moved_to_bytes": e.moved_to_bytes,
            "changed": ";".join(e.changed),
            "expected_size": e.expected.get("size"),
            "actual_size": e.actual.get("size"),
            "expected_link_target": e.expected.get("link_target"),
            "actual_link_target": e.actual.get("link_target"),
            "expected_fs_modified": e.expected.get("fs_modified"),
            "actual_fs_modified": e.actual.get("fs_modified"),
            "problems": "; ".join(f"{p.stage}: {p.message}" for p in e.problems),
            "note": e.note,
        }
        for a in ALGORITHMS:
            values[f"expected_{a}"] = exp_h.get(a)
            values[f"actual_{a}"] = act_h.get(a)
        out = []
        for col in VERIFY_CSV_COLUMNS:
            v = values.get(col)
            cell = "" if v is None else str(v)
            if self.neutralise and col in _FROM_EVIDENCE:
                cell = neutralise(cell)
            out.append(cell)
        return out

    def write(self, entry: VerifyEntry) -> None:
        self.stream.write(csv_line(self.row(entry)))

    def end(self) -> None:
        self.stream.flush()
