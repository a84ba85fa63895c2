"""Shared fixtures: small evidence trees built in the test, never real evidence.

The property tests (hypothesis) draw the same examples on every run: a suite that
passes once passes again, on any machine, and CI never fails on an example no one has
seen before. Set ``HYPOTHESIS_PROFILE=explore`` to draw new ones (a fuzz, not the suite).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

REPO = Path(__file__).resolve().parent.parent

settings.register_profile("deterministic", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


@pytest.fixture
def repo_root() -> Path:
    return REPO
