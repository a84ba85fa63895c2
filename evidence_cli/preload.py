"""What every worker process needs, imported once by the fork server that starts them
(see :data:`evidence_cli.mpstart.PRELOAD`): workers are forked with it all loaded, and
share those pages.

Importing this module is its purpose: it loads the extractors (which register
themselves) and python-magic (whose import runs ``ldconfig`` twice).
"""

from __future__ import annotations

from evidence_cli import engine, extractors, scanner  # noqa: F401  (the pipeline)

extractors.load()

try:
    import magic  # noqa: F401
except ImportError:  # reported by the scan itself, with what to install
    pass
