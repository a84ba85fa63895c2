"""Extractors: one module per format, each registered on import.

The modules are imported on first use (:func:`load`, called by :func:`for_type` and
:func:`registered`), not when this package is imported: the main process of a scan
with worker processes never runs an extractor, and the fork server that starts the
workers loads them once for all (:mod:`evidence_cli.preload`).

Import order is run order (it only decides the order of groups under ``metadata``;
which source wins for capture time, GPS and device is data in ``scanner.py``).
A test fails if a module in this folder is not imported here.
"""

from __future__ import annotations

from evidence_cli.extractors.base import Extractor, FileContext, register
from evidence_cli.extractors.base import for_type as _for_type
from evidence_cli.extractors.base import registered as _registered
from evidence_cli.extractors.base import reorder as _reorder

__all__ = ["FileContext", "for_type", "load", "register", "registered"]

_loaded = False


def load() -> None:
    """Import (and so register) every extractor module, once."""
    global _loaded
    if _loaded:
        return
    # ruff: noqa: I001  (the order of these imports is the run order, not alphabetical)
    from evidence_cli.extractors import filesystem  # (keep first: the template)
    from evidence_cli.extractors import filename
    from evidence_cli.extractors import image
    from evidence_cli.extractors import exif
    from evidence_cli.extractors import quicktime
    from evidence_cli.extractors import pdf
    from evidence_cli.extractors import office
    from evidence_cli.extractors import archive
    from evidence_cli.extractors import xmp
    from evidence_cli.extractors import iptc
    from evidence_cli.extractors import png
    from evidence_cli.extractors import id3
    from evidence_cli.extractors import wav
    from evidence_cli.extractors import ogg
    from evidence_cli.extractors import flac
    from evidence_cli.extractors import chat
    from evidence_cli.extractors import takeout
    from evidence_cli.extractors import c2pa
    from evidence_cli.extractors import pdq

    modules = (
        filesystem,
        filename,
        image,
        exif,
        quicktime,
        pdf,
        office,
        archive,
        xmp,
        iptc,
        png,
        id3,
        wav,
        ogg,
        flac,
        chat,
        takeout,
        c2pa,
        pdq,
    )
    _reorder([m.__name__ for m in modules])
    _loaded = True


def for_type(mime: str | None) -> tuple[Extractor, ...]:
    """Extractors that accept a file of this detected MIME type (see base.for_type)."""
    if not _loaded:
        load()
    return _for_type(mime)


def registered() -> tuple[Extractor, ...]:
    """All registered extractors, in registration order (see base.registered)."""
    if not _loaded:
        load()
    return _registered()
