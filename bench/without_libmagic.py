#!/usr/bin/env python3
"""`evidence`, with every file's type from our own signature check alone: no libmagic.

Not a mode of the tool (its records then lack the type of most files: text, unknown
data and every format our short signature list does not know, with ``type_decided_by``
"none"). It measures what the product decision asked for in issue 6 could gain at most:
the scan as it is, minus libmagic's cost, whatever our own type descriptions would cost
on top. ``bench/run.py --without-libmagic`` runs it beside the real scan and the other
tools, on the same corpora, in the same alternated rounds.

    python bench/without_libmagic.py scan /tmp/evidence-bench/corpora/small -f jsonl > /dev/null

The replacement is made when this file is imported: in this process, and in every
worker process, which runs the main script again as it starts (multiprocessing's
fork server does so for the script that started the scan).

``EVIDENCE_BENCH_WITHOUT=exif`` (a comma list of extractor names, ``evidence
extractors`` lists them) also leaves those metadata readers out: with ``exif``, what an
EXIF reader of our own could gain at most, besides (``bench/run.py --without-exif``).
"""

from __future__ import annotations

import os
from typing import Any

from evidence_cli import extractors, filetype, scanner
from evidence_cli.extractors import base


def _signature_only(name: str, head: bytes, options: Any) -> Any:
    """scanner._libmagic_type without libmagic: our signature check, or no type."""
    return filetype.signature_type(name, head)


scanner._libmagic_type = _signature_only  # type: ignore[assignment]

_left_out = [n for n in os.environ.get("EVIDENCE_BENCH_WITHOUT", "").split(",") if n]
if _left_out:
    extractors.load()
    for _name in _left_out:
        if _name not in base._REGISTRY:
            raise SystemExit(f"EVIDENCE_BENCH_WITHOUT: no extractor {_name!r}")
        del base._REGISTRY[_name]


if __name__ == "__main__":
    from evidence_cli.entry import main

    main()
