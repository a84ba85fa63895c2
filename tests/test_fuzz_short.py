"""A short fuzzing run inside the suite, and the replay of every input the long runs found.

The harness is ``fuzz/fuzz_extractors.py`` (see its docstring and the README for long
runs). Here hypothesis draws mutation operations over the valid seed files of every
format, derandomized so the suite is deterministic; each mutated input goes to every
registered extractor (and, for some, through the whole per-file pipeline from disk). An
exception escaping an extractor, a hang past the time limit or a result that is not
strict JSON fails the test with the input and the traceback.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parent.parent
REGRESSIONS = REPO / "fuzz" / "regressions"


def _load_harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_extractors", REPO / "fuzz" / "fuzz_extractors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("fuzz_extractors", module)
    spec.loader.exec_module(module)
    return module


fz = _load_harness()
SEEDS: dict[str, bytes] = fz.builtin_seeds()
NAMES = sorted(SEEDS)
VALUES = [SEEDS[n] for n in NAMES]
TIMEOUT = 10.0

ops = st.lists(
    st.tuples(st.integers(0, fz.N_OPS - 1), st.integers(0, 2**40), st.integers(0, 2**32)),
    min_size=1,
    max_size=8,
)
FUZZ = dict(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def report(failures: list, data: bytes) -> str:  # type: ignore[type-arg]
    lines = [f"{len(data)} bytes: {data[:64]!r}..."]
    for f in failures:
        lines.append(f"{f.signature}: {f.message}\n{f.trace}")
    return "\n".join(lines)


def test_every_format_has_a_seed_every_extractor_a_target() -> None:
    exts = {n.rsplit(".", 1)[1] for n in NAMES}
    assert {"jpg", "tif", "png", "webp", "gif", "heic", "mp4", "mov", "pdf", "docx", "odt", "xmp"} <= exts
    reached = {ex.name for data, n in zip(VALUES, NAMES) for ex, _ in fz.targets(data, fz.seed_name(n))}
    from evidence_cli.extractors import registered

    assert reached == {ex.name for ex in registered()}


def test_seeds_themselves_pass() -> None:
    for name, data in SEEDS.items():
        failures = fz.check_extractors(data, fz.seed_name(name), TIMEOUT)
        assert not failures, (name, report(failures, data))


@settings(max_examples=1200, **FUZZ)
@given(k=st.integers(0, len(NAMES) - 1), operations=ops)
def test_mutated_seeds_break_no_extractor(k: int, operations: list[tuple[int, int, int]]) -> None:
    name = NAMES[k]
    data = fz.mutate(VALUES[k], operations, VALUES)
    failures = fz.check_extractors(data, fz.seed_name(name), TIMEOUT)
    assert not failures, report(failures, data)


@settings(max_examples=250, **FUZZ)
@given(k=st.integers(0, len(NAMES) - 1), operations=ops)
def test_mutated_seeds_through_the_pipeline_from_disk(k: int, operations: list[tuple[int, int, int]]) -> None:
    """process_entry with nothing kept in memory: the extractors' streaming reads."""
    name = NAMES[k]
    data = fz.mutate(VALUES[k], operations, VALUES)
    with tempfile.TemporaryDirectory(prefix="evidence-fuzz-") as tmp:
        failures = fz.check_pipeline(data, fz.seed_name(name), Path(tmp), TIMEOUT)
    assert not failures, report(failures, data)


@settings(max_examples=200, **FUZZ)
@given(data=st.binary(max_size=300), operations=ops)
def test_mutation_operations_accept_any_input(data: bytes, operations: list[tuple[int, int, int]]) -> None:
    out = fz.mutate(data, operations, [data, b"", b"PK\x03\x04"])
    assert isinstance(out, bytes)
    assert fz.mutate(data, operations, [data]) == fz.mutate(data, operations, [data]), "deterministic"


def test_minimise_keeps_the_failure_and_shrinks() -> None:
    data = b"A" * 500 + b"BUG" + b"C" * 500
    small = fz.minimise(data, lambda d: b"BUG" in d, budget_s=20)
    assert small == b"BUG"


def test_a_failure_seen_only_through_the_pipeline_is_minimised_through_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It was re-checked in memory only, where it never fails: kept whole."""

    def process_entry(entry: object, options: object) -> object:
        if b"BOOM" in Path(entry.path.decode()).read_bytes():  # type: ignore[attr-defined]
            raise ValueError("boom")
        return real(entry, options)

    real = fz.process_entry
    monkeypatch.setattr(fz, "process_entry", process_entry)
    data = b"A" * 300 + b"BOOM" + b"C" * 300
    [failure] = fz.check_input(data, "fuzz.bin", TIMEOUT, tmp_path)
    assert (failure.extractor, failure.type, failure.pipeline) == ("process_entry", "ValueError", True)
    assert fz.check_extractors(data, "fuzz.bin", TIMEOUT) == []
    saved = fz.save_failure(tmp_path / "out", data, "fuzz.bin", failure, True, TIMEOUT)
    assert saved.read_bytes() == b"BOOM"
    # The same from the command line (it said "this input does not fail").
    found = tmp_path / "found.bin"
    found.write_bytes(data)
    assert fz.main(["--minimise", str(found), "--timeout", str(TIMEOUT)]) == 1
    assert (tmp_path / "found.bin.min").read_bytes() == b"BOOM"


REGRESSION_FILES = sorted(p for p in REGRESSIONS.glob("*") if p.is_file() and p.suffix not in (".md", ".txt"))


@pytest.mark.parametrize("path", REGRESSION_FILES, ids=[p.name for p in REGRESSION_FILES])
def test_regression_input_is_handled(path: Path, tmp_path: Path) -> None:
    """Inputs that once broke an extractor (found by the fuzzer, minimised)."""
    data = path.read_bytes()
    assert len(data) <= 64 * 1024, "keep regression inputs tiny"
    failures = fz.check_input(data, fz.seed_name(path.name), TIMEOUT, tmp_path)
    assert not failures, report(failures, data)
