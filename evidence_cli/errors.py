"""Exception hierarchy: every error the library raises on purpose derives from EvidenceError."""

from __future__ import annotations


class EvidenceError(Exception):
    """Root of the library's own errors; the CLI turns these into clear messages."""


class UnsupportedFile(EvidenceError):
    """An extractor was given content that is not its format (not damage: wrong type)."""


class ScanError(EvidenceError):
    """A scan cannot start or go on (bad root, output inside the scanned tree, ...)."""


class ManifestError(EvidenceError):
    """A manifest cannot be read, has an unknown schema, or its seal does not match."""


class OutputFailed(EvidenceError):
    """Writing an export or report failed (disk full, I/O error): that file is incomplete."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        what = "what reached stdout" if path == "stdout" else "that file"
        super().__init__(f"cannot write {path!r}: {reason}; {what} is incomplete")
