"""What every worker process needs, imported once by the fork server that starts them
(see :data:`evidence_cli.mpstart.PRELOAD`): workers are forked with it all loaded, and
share those pages.

Importing this module is its purpose: it loads the extractors (which register
themselves), python-magic (whose import runs ``ldconfig`` twice) and libmagic's database
(what :mod:`evidence_cli.formats.magicdb` proves from it is left to each worker: see
``MagicDetector.warm``).
"""

from __future__ import annotations

from evidence_cli import engine, extractors, gcsettings, scanner  # noqa: F401  (the pipeline)

extractors.load()

try:
    from evidence_cli.filetype import _detector

    _detector.warm()
except Exception:  # noqa: BLE001 - libmagic missing or broken: the scan itself reports it, with what to install
    pass

# What the workers are forked with is kept out of their collections (see gcsettings).
gcsettings.settle()
