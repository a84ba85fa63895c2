"""Per-file time limit, per-worker memory limit and crash isolation: a misbehaving
extractor costs one record an error entry; the scan goes on."""

from __future__ import annotations

import hashlib
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Iterator

import pytest

from evidence_cli import engine, threadlimit, walker
from evidence_cli.extractors import base
from evidence_cli.models import FileRecord
from evidence_cli.scanner import ScanOptions, scan
from evidence_cli.timeparse import from_stat_ns
from tests.hostile import crashers

REPO = Path(__file__).resolve().parents[2]


def make_tree(root: Path, names: list[str]) -> None:
    root.mkdir(parents=True)
    for n in names:
        (root / n).write_bytes(b"text for " + n.encode() + b"\n")


def errors_of(r: FileRecord) -> list[tuple[str, str]]:
    return [(e.stage, e.type) for e in r.errors]


@pytest.fixture
def test_extractors(monkeypatch: pytest.MonkeyPatch) -> None:
    """The misbehaving extractors, registered in this process for this test only."""
    for ex in crashers.TEST_EXTRACTORS:
        monkeypatch.setitem(base._REGISTRY, ex.name, ex)


def test_time_limit_stops_a_hanging_extractor_in_process(test_extractors: None, tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    make_tree(root, ["a.txt", "slow-sleep.txt", "slow-spin.txt", "z.txt"])
    start = time.monotonic()
    records = {r.path: r for r in scan([str(root)], ScanOptions(workers=0, timeout=0.5))}
    elapsed = time.monotonic() - start
    assert elapsed < 60, "the limit did not stop the extractor"
    assert set(records) == {"a.txt", "slow-sleep.txt", "slow-spin.txt", "z.txt"}
    for name in ("slow-sleep.txt", "slow-spin.txt"):
        r = records[name]
        assert errors_of(r) == [("metadata:test-sleeper", "TimeLimitExceeded")]
        assert r.hashes["sha256"] and r.metadata["filesystem"], "the rest of the record is kept"
    for name in ("a.txt", "z.txt"):
        assert records[name].errors == ()
        assert records[name].metadata["test-sleeper"] == {"ran": True}


@pytest.mark.parametrize("seconds", [float("inf"), 1e10, 1e308])
def test_a_limit_beyond_the_timer_is_no_limit_not_an_error(tmp_path: Path, seconds: float) -> None:
    """The timer (setitimer) takes at most about 2**31 seconds: a longer limit, or an
    infinite one, raised OverflowError in every extractor of every file, and each record
    lost its metadata to an error. Beyond a day it is the same as a day."""
    root = tmp_path / "evidence"
    make_tree(root, ["a.txt", "b.txt"])
    records = list(scan([str(root)], ScanOptions(workers=0, timeout=seconds)))
    assert [r.errors for r in records] == [(), ()]
    assert all(r.metadata["filesystem"] for r in records)


def test_memory_bomb_in_process_is_an_error_when_the_allocation_fails(test_extractors: None, tmp_path: Path) -> None:
    """A failed allocation (MemoryError) inside an extractor is an error on that record.
    (16 GiB is more than this machine lets one allocation have only under a limit: run
    the real check in a worker below; here the allocation is replaced by MemoryError.)"""
    root = tmp_path / "evidence"
    make_tree(root, ["hog.txt", "ok.txt"])

    class FailingHog(crashers.Hog):
        def extract(self, ctx: base.FileContext) -> object:  # type: ignore[override]
            if "hog" in ctx.rel_path:
                raise MemoryError()
            return super().extract(ctx)

    base._REGISTRY["test-hog"] = FailingHog()  # undone by the fixture's monkeypatch
    records = {r.path: r for r in scan([str(root)], ScanOptions(workers=0))}
    assert errors_of(records["hog.txt"]) == [("metadata:test-hog", "MemoryError")]
    assert records["ok.txt"].errors == ()


@pytest.fixture
def worker_extractors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Workers run batch_with_test_extractors, which registers the misbehaving extractors there.
    (Workers drop the working folder from their import path: work from elsewhere than the repo.)"""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(REPO))
    monkeypatch.setattr(engine, "process_batch", crashers.batch_with_test_extractors)


def test_worker_crashes_hangs_and_memory_bombs_cost_one_record_each(worker_extractors: None, tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    names = [f"file-{i:02d}.txt" for i in range(8)] + [
        "crash-exit.txt",
        "crash-segv.txt",
        "hog.txt",
        "slow-spin.txt",
    ]
    make_tree(root, names)
    options = ScanOptions(workers=2, timeout=1.0, memory_limit=1024**3)
    start = time.monotonic()
    records = {r.path: r for r in scan([str(root)], options)}
    assert time.monotonic() - start < 120
    assert sorted(records) == sorted(names), "one record per entry, in order, nothing lost"
    assert errors_of(records["crash-exit.txt"]) == [("worker", "WorkerCrashed")]
    assert errors_of(records["crash-segv.txt"]) == [("worker", "WorkerCrashed")]
    for name, how in (("crash-exit.txt", "exit status 3"), ("crash-segv.txt", "signal SIGSEGV")):
        # The file that kills a parser keeps its identity: read again without the
        # metadata readers, it has its hashes, its type and its times; and the record
        # says how its reader died.
        _check_identity(records[name], root / name, "text/plain", "libmagic-text")
        assert records[name].errors[0].message == (
            f"the worker process died ({how}) while reading this entry: a crash, or its memory limit; "
            "read again for its type, hashes and times alone, without the metadata readers"
        )
        assert "test-crasher" not in records[name].metadata
    assert errors_of(records["hog.txt"]) == [("metadata:test-hog", "MemoryError")]
    assert errors_of(records["slow-spin.txt"]) == [("metadata:test-sleeper", "TimeLimitExceeded")]
    for name in names:
        if name.startswith("file-"):
            r = records[name]
            assert r.errors == (), name
            assert r.metadata["test-crasher"] == {"ran": True}, "the test extractors ran in the worker"
            assert r.hashes["sha256"]


def _check_identity(r: FileRecord, path: Path, mime: str | None, decided_by: str) -> None:
    data = path.read_bytes()
    assert r.size == len(data)
    assert r.hashes == {
        "md5": hashlib.md5(data).hexdigest(),
        "sha1": hashlib.sha1(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    assert (r.mime, r.type_decided_by) == (mime, decided_by)
    assert r.filesystem["modified"] == from_stat_ns(path.stat().st_mtime_ns)


def test_a_file_that_crashes_libmagic_or_every_read_keeps_what_can_be_read(
    worker_extractors: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A worker killed in libmagic's stage: read again with it, the file kills the worker
    once more; then read without it, the record keeps its hashes, and its type where our
    own signature check knows the format. A file whose every read kills its worker gets
    a record without hashes (it has its size and an error), and the scan goes on."""
    monkeypatch.setattr(engine, "process_batch", crashers.batch_with_crashing_stages)
    monkeypatch.setattr(engine, "salvage_batch", crashers.salvage_with_crashing_stages)
    root = tmp_path / "evidence"
    root.mkdir()
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    (root / "a-crash-magic.png").write_bytes(png)
    (root / "b-crash-magic.txt").write_bytes(b"no signature of ours\n")
    (root / "c-crash-read.txt").write_bytes(b"never read to the end\n")
    (root / "d.txt").write_bytes(b"a control\n")
    records = {r.path: r for r in scan([str(root)], ScanOptions(workers=2))}
    assert sorted(records) == ["a-crash-magic.png", "b-crash-magic.txt", "c-crash-read.txt", "d.txt"]
    without = "read again for its hashes and times (type by signature only, without libmagic) alone"
    _check_identity(records["a-crash-magic.png"], root / "a-crash-magic.png", "image/png", "signature")
    assert records["a-crash-magic.png"].extension_ok is True
    _check_identity(records["b-crash-magic.txt"], root / "b-crash-magic.txt", None, "none")
    for name in ("a-crash-magic.png", "b-crash-magic.txt"):
        assert errors_of(records[name]) == [("worker", "WorkerCrashed")]
        assert records[name].errors[0].message == f"{engine.died(3)}; {without}, without the metadata readers"
    crashed = records["c-crash-read.txt"]
    assert (crashed.size, crashed.hashes, crashed.mime) == (len(b"never read to the end\n"), {}, None)
    assert [e.message for e in crashed.errors] == [engine.died(3)]
    assert records["d.txt"].errors == () and records["d.txt"].hashes


def test_a_reader_stuck_in_c_code_ends_its_worker_and_the_file_keeps_its_hashes(
    worker_extractors: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """SIGALRM's exception reaches Python code only: a reader stuck in C code on a crafted
    file (libmagic, which had no limit at all, or an extractor's C library) held its
    worker, and the scan, for ever. Past its limit (and a grace, here 0.3 s) it now ends
    its worker; the file is read again without that reader and keeps its hashes."""
    monkeypatch.setattr(engine, "process_batch", crashers.batch_with_crashing_stages)
    monkeypatch.setattr(engine, "salvage_batch", crashers.salvage_with_crashing_stages)
    root = tmp_path / "evidence"
    root.mkdir()
    (root / "a.txt").write_bytes(b"a control\n")
    (root / "b-stuck-c.txt").write_bytes(b"an extractor never returns\n")
    (root / "c-stuck-magic.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (root / "d.txt").write_bytes(b"another control\n")
    start = time.monotonic()
    records = {r.path: r for r in scan([str(root)], ScanOptions(workers=2, timeout=0.3))}
    assert time.monotonic() - start < 60
    assert sorted(records) == ["a.txt", "b-stuck-c.txt", "c-stuck-magic.png", "d.txt"]
    ended = engine.died(threadlimit.KILL_CODE)
    assert ended.startswith("the worker process ended itself while reading this entry: a reader")
    _check_identity(records["b-stuck-c.txt"], root / "b-stuck-c.txt", "text/plain", "libmagic-text")
    assert [e.message for e in records["b-stuck-c.txt"].errors] == [
        f"{ended}; read again for its type, hashes and times alone, without the metadata readers"
    ]
    _check_identity(records["c-stuck-magic.png"], root / "c-stuck-magic.png", "image/png", "signature")
    assert [e.message for e in records["c-stuck-magic.png"].errors] == [
        f"{ended}; read again for its hashes and times (type by signature only, without libmagic) alone, "
        "without the metadata readers"
    ]
    for name in ("a.txt", "d.txt"):
        assert records[name].errors == () and records[name].metadata["test-sleeper"] == {"ran": True}


def test_no_backstop_in_the_scans_own_process() -> None:
    """A kill there would end the scan itself (`--workers 0`, `show` without workers)."""
    assert threadlimit.thread_backstop() is None


@pytest.mark.parametrize(
    ("exitcode", "said"),
    [
        (-11, " (signal SIGSEGV)"),
        (-9, " (signal SIGKILL)"),
        (-200, " (signal 200)"),
        (3, " (exit status 3)"),
        (None, ""),
    ],
)
def test_how_a_worker_died_is_named(exitcode: int | None, said: str) -> None:
    want = f"the worker process died{said} while reading this entry: a crash, or its memory limit"
    assert engine.died(exitcode) == want


def test_records_come_back_in_walk_order_after_a_crash(worker_extractors: None, tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    names = [f"{i:03d}.txt" for i in range(40)]
    names[17] = "017-crash-exit.txt"
    make_tree(root, names)
    paths = [r.path for r in scan([str(root)], ScanOptions(workers=2))]
    assert paths == sorted(names)


def _slow_after(entries: list[walker.Entry], at: int, seconds: float) -> Iterator[walker.Entry]:
    """The entries, with a pause before entry ``at``: the walk of a slow disk."""
    for i, e in enumerate(entries):
        if i == at:
            time.sleep(seconds)
        yield e


def _names_with_a_crash(root: Path, at: int) -> tuple[list[str], list[walker.Entry]]:
    names = [f"{i:02d}.txt" for i in range(24)]
    names[at] = f"{at:02d}-crash-exit.txt"
    make_tree(root, names)
    return names, [e for e in walker.walk(walker.resolve_roots([str(root)])) if e.kind == "file"]


def _check_one_crashed_record(records: list[FileRecord], names: list[str]) -> None:
    assert [r.path for r in records] == sorted(names), "one record per entry, in order, nothing lost"
    assert [r.path for r in records if errors_of(r) == [("worker", "WorkerCrashed")]] == [
        n for n in sorted(names) if "crash" in n
    ]
    assert all(r.errors == () for r in records if "crash" not in r.path)


def test_a_pool_broken_before_the_next_batch_is_sent_costs_one_record(
    worker_extractors: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The walk is slow after a crash: the pool is already marked broken when the next batch
    # is sent, and refuses it (BrokenProcessPool from submit). Raised outside the handling
    # of a batch's result, that stopped the whole scan ("the scan could not run").
    monkeypatch.setattr(engine, "BATCH_FIRST", 1)
    monkeypatch.setattr(engine, "BATCH_ENTRIES", 1)
    names, entries = _names_with_a_crash(tmp_path / "evidence", 2)
    records = list(engine.run_pool(_slow_after(entries, 10, 1.5), ScanOptions(workers=2), 2))
    _check_one_crashed_record(records, names)


def test_a_rerun_pool_broken_while_entries_are_sent_costs_one_record(
    worker_extractors: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # After a crash the pending entries are sent, one task each, to a fresh pool; one of
    # them may kill its worker before the rest are all sent. Stand-in: the re-run pool
    # refuses every entry after its third, as a broken pool does. The refusal escaped, and
    # stopping the first pool a second time on the way out raised AttributeError (its
    # processes are gone), which hid it: that AttributeError ended one full run on 3.10.
    real_new_pool = engine._new_pool
    made: list[Any] = []

    class BreaksAfterThree:
        def __init__(self, pool: Any) -> None:
            self.pool = pool
            self.sent = 0

        def submit(self, *args: Any, **kwargs: Any) -> Any:
            self.sent += 1
            if self.sent > 3:
                raise BrokenProcessPool("a worker died")
            return self.pool.submit(*args, **kwargs)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.pool, name)

    def new_pool(workers: int, options: ScanOptions, *, mapped: bool = False) -> Any:
        made.append(real_new_pool(workers, options, mapped=mapped))
        return BreaksAfterThree(made[-1]) if len(made) == 2 else made[-1]

    monkeypatch.setattr(engine, "_new_pool", new_pool)
    monkeypatch.setattr(engine, "BATCH_FIRST", 1)
    monkeypatch.setattr(engine, "BATCH_ENTRIES", 1)
    names, entries = _names_with_a_crash(tmp_path / "evidence", 5)
    records = list(engine.run_pool(entries, ScanOptions(workers=2), 2))
    _check_one_crashed_record(records, names)
    assert len(made) >= 3, "the re-run pool was the one that refused"


def test_stopping_a_stopped_pool_does_nothing() -> None:
    pool = engine._new_pool(1, ScanOptions(workers=1))
    pool.submit(sum, [1, 2]).result()
    engine._stop_pool(pool)
    engine._stop_pool(pool)  # raised AttributeError: its processes are dropped by shutdown
