"""The ``evidence`` command's entry point.

It starts the worker processes' fork server first (see :mod:`evidence_cli.mpstart`),
so that its imports overlap this process's, and for a scan the reading of the versions
its header records (:mod:`evidence_cli.components`), then runs the command line, with
the garbage collector settled (:mod:`evidence_cli.gcsettings`).
"""

from __future__ import annotations

import sys


def main() -> None:
    from evidence_cli import mpstart

    mpstart.prestart(sys.argv[1:])
    if mpstart.is_scan(sys.argv[1:]):
        from evidence_cli import components

        components.start()
    from evidence_cli import gcsettings
    from evidence_cli.cli import main as cli_main

    gcsettings.settle()
    cli_main()
