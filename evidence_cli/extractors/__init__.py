"""Extractors: one module per format, each registered on import (order = run order)."""

from evidence_cli.extractors import exif, filesystem, image  # noqa: F401
from evidence_cli.extractors.base import FileContext, for_type, register, registered

__all__ = ["FileContext", "for_type", "register", "registered"]
