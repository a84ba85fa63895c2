"""What the stand-alone benchmark scripts share: their work folder and the command they run."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def work_folder(path: Path) -> Path:
    """``path``, resolved and made; refused inside the repository (the tests scan it)."""
    work = path.resolve()
    if REPO in work.parents or work == REPO:
        raise SystemExit("--workdir must be outside the repository")
    work.mkdir(parents=True, exist_ok=True)
    return work


def evidence_command() -> list[str]:
    """The installed ``evidence`` beside this Python, else ``python -m evidence_cli``."""
    installed = Path(sys.executable).with_name("evidence")
    return [str(installed)] if installed.exists() else [sys.executable, "-m", "evidence_cli"]
