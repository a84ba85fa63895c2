"""Running totals of a scan, for the summary on screen and in exports."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from evidence_cli.models import FileRecord, archive_members


@dataclass
class Summary:
    """Counts accumulated record by record (constant memory in the number of files)."""

    entries: int = 0
    files: int = 0
    symlinks: int = 0
    directories: int = 0
    other: int = 0
    bytes: int = 0
    #: Entries with any problem (an ``errors`` item of either severity): what the exit
    #: status and ``entries_with_errors`` count ...
    with_errors: int = 0
    #: ... and those of them whose every problem is a warning (damaged but read, a special
    #: file recorded, not opened), for the terminal's summary line.
    with_warnings_only: int = 0
    with_findings: int = 0
    #: Files whose record lists the members of an archive (``metadata.archive``): what
    #: `evidence match` needs to know before it reads the records again.
    with_archive_members: int = 0
    by_type: Counter[str] = field(default_factory=Counter)

    def add(self, rec: FileRecord) -> None:
        self.entries += 1
        if rec.kind == "file":
            self.files += 1
            self.bytes += rec.size or 0
            self.by_type[rec.mime or "unknown"] += 1
        elif rec.kind == "symlink":
            self.symlinks += 1
        elif rec.kind == "directory":
            self.directories += 1
        else:
            self.other += 1
        if rec.errors:
            self.with_errors += 1
            if all(p.severity == "warning" for p in rec.errors):
                self.with_warnings_only += 1
        if rec.findings:
            self.with_findings += 1
        if next(archive_members(rec.metadata), None) is not None:
            self.with_archive_members += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "entries": self.entries,
            "files": self.files,
            "symlinks": self.symlinks,
            "directories_unreadable": self.directories,
            "other": self.other,
            "bytes": self.bytes,
            "entries_with_errors": self.with_errors,
            "entries_with_findings": self.with_findings,
            "entries_with_archive_members": self.with_archive_members,
            "by_type": dict(sorted(self.by_type.items(), key=lambda kv: (-kv[1], kv[0]))),
        }
