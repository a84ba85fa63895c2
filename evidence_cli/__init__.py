"""evidence-cli: identify, hash and extract metadata from digital evidence, read-only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["SCHEMA_VERSION", "FileRecord", "ScanInfo", "ScanOptions", "scan", "__version__"]

if TYPE_CHECKING:
    from evidence_cli.models import SCHEMA_VERSION, FileRecord, ScanInfo
    from evidence_cli.scanner import ScanOptions, scan

_LAZY = {
    "SCHEMA_VERSION": "evidence_cli.models",
    "FileRecord": "evidence_cli.models",
    "ScanInfo": "evidence_cli.models",
    "ScanOptions": "evidence_cli.scanner",
    "scan": "evidence_cli.scanner",
}


def __getattr__(name: str) -> Any:
    # Imported on first use: the `evidence` command starts its worker helper before it
    # loads the (heavier) scanner, so importing the package must not load it.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'evidence_cli' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
