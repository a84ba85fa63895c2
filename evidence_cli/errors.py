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
