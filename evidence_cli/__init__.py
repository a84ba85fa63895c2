"""evidence-cli: identify, hash and extract metadata from digital evidence, read-only."""

from __future__ import annotations

__version__ = "0.1.0"

from evidence_cli.models import SCHEMA_VERSION, FileRecord, ScanInfo  # noqa: E402
from evidence_cli.scanner import ScanOptions, scan  # noqa: E402

__all__ = ["SCHEMA_VERSION", "FileRecord", "ScanInfo", "ScanOptions", "scan", "__version__"]
