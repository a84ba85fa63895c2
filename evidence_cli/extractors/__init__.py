"""Extractors: one module per format, each registered on import.

Import order is run order (it only decides the order of groups under ``metadata``;
which source wins for capture time, GPS and device is data in ``scanner.py``).
A test fails if a module in this folder is not imported here.
"""

# ruff: noqa: I001  (the order of these imports is the run order, not alphabetical)
from evidence_cli.extractors import filesystem  # noqa: F401  (keep first: the template)
from evidence_cli.extractors import image  # noqa: F401
from evidence_cli.extractors import exif  # noqa: F401
from evidence_cli.extractors import quicktime  # noqa: F401
from evidence_cli.extractors import pdf  # noqa: F401
from evidence_cli.extractors import office  # noqa: F401
from evidence_cli.extractors import xmp  # noqa: F401
from evidence_cli.extractors import iptc  # noqa: F401
from evidence_cli.extractors import png  # noqa: F401
from evidence_cli.extractors.base import FileContext, for_type, register, registered

__all__ = ["FileContext", "for_type", "register", "registered"]
