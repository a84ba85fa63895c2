"""``python -m evidence_cli``."""

from __future__ import annotations

import os
import sys

# `python -m` puts the working folder first on the import path. The examiner may be
# standing inside the evidence (`cd case && python -m evidence_cli scan .`): an import
# that searched it would list the folder and change its access time. Never import
# from there (the package itself was found before this line runs).
_cwd: str | None
try:
    _cwd = os.getcwd()
except OSError:
    _cwd = None
sys.path[:] = [p for p in sys.path if p not in ("", ".", _cwd)]

from evidence_cli.entry import main  # noqa: E402

# The guard matters: worker processes (forkserver/spawn) import the main module again.
if __name__ == "__main__":
    main()
