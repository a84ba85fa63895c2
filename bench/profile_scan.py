#!/usr/bin/env python3
"""Where the per-file time of `evidence scan` goes, stage by stage (issue 6).

Runs the scan pipeline in this process (``--workers 0``: no pool) with timers
wrapped around its stages: the walk, filesystem times, opening, the hashing pass,
type detection (each libmagic call separately, and our own checks), each extractor,
the record building that remains, the JSON Lines and CSV writers, the summary, and
what sending batches to a worker and back would cost (pickling both ways). Each
stage's CPU time (thread time: a loaded machine disturbs it less than wall time) is
split into *self* (excluding the timed stages it calls) and *inclusive*.

    python bench/profile_scan.py /tmp/evidence-bench/corpora/small
    python bench/profile_scan.py /tmp/evidence-bench/corpora/photos --limit 500

Nothing is changed in evidence_cli: the timers are installed by wrapping module
attributes at run time. Each timer costs about a microsecond (printed as the
calibration); the figures include it.
"""

from __future__ import annotations

import argparse
import functools
import os
import pickle
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Iterator

_now = time.thread_time_ns
_wall = time.perf_counter_ns


class Timers:
    """Nested timers: inclusive and self CPU time by stage, and call counts."""

    def __init__(self) -> None:
        self.incl: dict[str, int] = defaultdict(int)
        self.self_: dict[str, int] = defaultdict(int)
        self.wall: dict[str, int] = defaultdict(int)
        self.calls: dict[str, int] = defaultdict(int)
        self.stack: list[list[int]] = []  # [child time] per open frame
        self.by_kind: dict[tuple[str, str], list[int]] = defaultdict(list)

    def enter(self) -> tuple[int, int]:
        self.stack.append([0])
        return _now(), _wall()

    def leave(self, name: str, start: tuple[int, int]) -> int:
        t = _now() - start[0]
        w = _wall() - start[1]
        children = self.stack.pop()[0]
        self.incl[name] += t
        self.self_[name] += t - children
        self.wall[name] += w
        self.calls[name] += 1
        if self.stack:
            self.stack[-1][0] += t
        return t

    def wrap(self, name: str | Callable[..., str], fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*a: Any, **k: Any) -> Any:
            start = self.enter()
            try:
                return fn(*a, **k)
            finally:
                self.leave(name(*a, **k) if callable(name) else name, start)

        return timed


def install(t: Timers) -> None:
    """Wrap the stages of the pipeline (whatever of them this version of evidence_cli has)."""
    import magic

    from evidence_cli import filetype, scanner
    from evidence_cli.extractors import base

    for mod, attr, name in (
        (scanner, "process_entry", "process_entry (rest: stat checks, record building)"),
        (scanner, "fs_times", "filesystem times (statx birth time)"),
        (scanner, "open_readonly", "open"),
        (scanner, "hash_fd", "hash pass (read + 3 digests)"),
        (scanner, "detect_type", "type detection (rest)"),
        (scanner, "run_extractors", "extractors (dispatch, time limit)"),
        (filetype, "is_plain_text", "type: is_plain_text"),
        (filetype, "signature", "type: own signature check"),
        (filetype, "extension_fits", "type: extension check"),
        (filetype, "_database_reduction", "type: make libmagic's smaller databases"),
        (filetype, "_load_database", "type: load a smaller database"),
        (filetype.MagicDetector, "_pattern_handles", "type: choose a smaller database"),
    ):
        if hasattr(mod, attr):
            setattr(mod, attr, t.wrap(name, getattr(mod, attr)))

    # Each libmagic call, named by its handle's flags (as libmagic holds them: the
    # scanner may change them with magic_setflags after python-magic opened the handle).
    orig_from_buffer = magic.Magic.from_buffer
    getflags = None
    try:
        import ctypes

        getflags = ctypes.CDLL(magic.libmagic._name).magic_getflags
        getflags.argtypes = [ctypes.c_void_p]
        getflags.restype = ctypes.c_int
    except (AttributeError, OSError):
        pass

    def label(self: Any, buf: bytes) -> str:
        flags = getflags(self.cookie) if getflags is not None else getattr(self, "flags", 0)
        what = "MIME" if flags & magic.MAGIC_MIME_TYPE else "description"
        soft = ", no soft magic" if flags & magic.MAGIC_NO_CHECK_SOFT else ""
        return f"libmagic {what}{soft}"

    magic.Magic.from_buffer = t.wrap(label, orig_from_buffer)  # type: ignore[method-assign]

    # Every extractor's extract(), by name.
    for ex in list(base.registered()):
        try:
            object.__setattr__(ex, "extract", t.wrap(f"extractor {ex.name}", ex.extract))
        except (AttributeError, TypeError):
            pass


def timed_walk(t: Timers, walk: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    """A walk whose own time (between the consumer's requests) is timed."""

    def gen(*a: Any, **k: Any) -> Iterator[Any]:
        it = walk(*a, **k)
        while True:
            start = t.enter()
            try:
                e = next(it)
            except StopIteration:
                t.leave("walk (scandir, sort, lstat)", start)
                return
            t.leave("walk (scandir, sort, lstat)", start)
            yield e

    return gen


def calibrate(t: Timers, n: int = 20000) -> float:
    """CPU ns one timer adds (an empty wrapped call minus an empty call)."""
    probe = Timers()
    f = probe.wrap("x", lambda: None)
    a = _now()
    for _ in range(n):
        f()
    b = _now()
    g = lambda: None  # noqa: E731
    for _ in range(n):
        g()
    c = _now()
    return ((b - a) - (c - b)) / n


def hash_breakdown(paths: list[bytes]) -> dict[str, float]:
    """Per file (CPU µs): open+read+close alone, the three digests of those bytes alone."""
    import hashlib

    read_t: list[int] = []
    dig_t: list[int] = []
    new_t: list[int] = []
    for p in paths:
        a = _now()
        fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            size = os.fstat(fd).st_size
            data = os.read(fd, size + 1)
        finally:
            os.close(fd)
        b = _now()
        hs = [hashlib.md5(), hashlib.sha1(), hashlib.sha256()]
        c = _now()
        for h in hs:
            h.update(data)
        for h in hs:
            h.hexdigest()
        d = _now()
        read_t.append(b - a)
        new_t.append(c - b)
        dig_t.append(d - c)
    return {
        "open+fstat+read+close µs": statistics.fmean(read_t) / 1000,
        "3 hasher objects µs": statistics.fmean(new_t) / 1000,
        "3 digests update+hexdigest µs": statistics.fmean(dig_t) / 1000,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+", help="Folders or files to scan")
    ap.add_argument("--limit", type=int, default=0, help="Stop after this many entries (0: all)")
    ap.add_argument("--batch", type=int, default=32, help="Batch size for the IPC (pickling) estimate")
    args = ap.parse_args(argv)

    from evidence_cli import scanner
    from evidence_cli.scanner import ScanOptions
    from evidence_cli.summary import Summary
    from evidence_cli.writers.csv_out import CsvWriter
    from evidence_cli.writers.json_out import JsonLinesWriter

    t = Timers()
    install(t)
    scanner.walk = timed_walk(t, scanner.walk)  # type: ignore[assignment]

    outdir = Path(tempfile.mkdtemp(prefix="evidence-profile-"))
    jl = open(outdir / "p.jsonl", "w", encoding="utf-8")
    cs = open(outdir / "p.csv", "w", encoding="utf-8", newline="")
    jw, cw = JsonLinesWriter(jl), CsvWriter(cs)
    jw_write = t.wrap("write JSON Lines", jw.write)
    cw_write = t.wrap("write CSV", cw.write)
    summary = Summary()
    s_add = t.wrap("summary", summary.add)

    from evidence_cli.models import ScanInfo

    info = ScanInfo(
        tool={"name": "evidence-cli", "version": "profile"},
        case={"case": None, "examiner": None, "evidence_id": None},
        roots=tuple(args.paths),
        started_utc="1970-01-01T00:00:00Z",
        finished_utc=None,
        options={},
        host="profile",
    )
    jw.begin(info)
    cw.begin(info)

    per_mime: dict[str, list[int]] = defaultdict(list)
    batch: list[Any] = []
    ipc: list[int] = []
    ipc_bytes: list[int] = []
    paths_seen: list[bytes] = []
    base = scanner.resolve_roots(args.paths).base
    n = 0
    w0, c0 = _wall(), time.process_time_ns()
    entries_iter = scanner.scan(args.paths, ScanOptions(workers=0))
    # process_entry runs inside scan(): attribute its time per MIME through the record.
    while True:
        start = _now()
        try:
            rec = next(entries_iter)
        except StopIteration:
            break
        per_mime[rec.mime or rec.kind].append(_now() - start)
        s_add(rec)
        jw_write(rec)
        cw_write(rec)
        batch.append(rec)
        if len(batch) >= args.batch:
            a = _now()
            blob = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.loads(blob)
            ipc.append(_now() - a)
            ipc_bytes.append(len(blob))
            batch = []
        n += 1
        if rec.kind == "file" and len(paths_seen) < 3000:
            paths_seen.append(os.path.join(base, os.fsencode(rec.path)))
        if args.limit and n >= args.limit:
            break
    total_wall, total_cpu = _wall() - w0, time.process_time_ns() - c0
    jl.close()
    cs.close()

    cal = calibrate(t)
    print(f"{n} entries from {', '.join(args.paths)}; in-process (--workers 0), CPU time (thread time)")
    print(
        f"total: CPU {total_cpu / 1e9:.2f} s = {total_cpu / n / 1000:.0f} µs/entry; wall {total_wall / 1e9:.2f} s; "
        f"timer overhead ~{cal / 1000:.1f} µs per timed call (included below)"
    )
    print()
    print(f"{'stage':<52} {'calls':>7} {'self µs/entry':>14} {'% CPU':>6} {'incl µs/entry':>14} {'µs/call':>8}")
    print("-" * 106)
    for name in sorted(t.self_, key=lambda k: -t.self_[k]):
        print(
            f"{name:<52} {t.calls[name]:>7} {t.self_[name] / n / 1000:>14.1f} {100 * t.self_[name] / total_cpu:>6.1f} "
            f"{t.incl[name] / n / 1000:>14.1f} {t.incl[name] / t.calls[name] / 1000:>8.1f}"
        )
    rest = total_cpu - sum(t.self_.values())
    label = "(untimed: scan() generator, loop, profiler)"
    print(f"{label:<52} {'':>7} {rest / n / 1000:>14.1f} {100 * rest / total_cpu:>6.1f}")
    print()
    print("per detected type (CPU µs per entry for the scan step, walk to record, excluding writers):")
    for m, v in sorted(per_mime.items(), key=lambda kv: -sum(kv[1])):
        print(f"  {m:<50} {len(v):>7} files {statistics.fmean(v) / 1000:>9.1f} µs mean {sum(v) / 1e9:>7.2f} s total")
    if ipc:
        print()
        per_batch = statistics.fmean(ipc) / 1000
        size = statistics.fmean(ipc_bytes) / args.batch
        print(
            f"IPC estimate: pickle.dumps+loads of a batch of {args.batch} records: {per_batch:.0f} µs "
            f"({per_batch / args.batch:.1f} µs/record, {size:.0f} bytes/record); a real pool also pickles "
            "the entries and the options, and wakes a process per batch."
        )
    if paths_seen:
        print()
        hb = hash_breakdown(paths_seen)
        print(
            "hash pass pieces on up to 3000 of these files (CPU µs/file): "
            + ", ".join(f"{k} {v:.1f}" for k, v in hb.items())
        )
    shutil.rmtree(outdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
