#!/usr/bin/env python3
"""What libmagic's flags, parameters and buffer size cost and change (issue 6).

For the files under the given folders, reads the head the scanner gives libmagic
(the first 64 KiB) and asks libmagic for the MIME type and the description under a
baseline (the scanner's two calls today: flags 0 and MAGIC_MIME_TYPE) and under each
variant. Prints, for each variant, the CPU time per call by kind of file, and how many
answers (MIME, description) differ from the baseline, with examples.

    python bench/magic_flags.py /tmp/evidence-bench/corpora/small /work/shared/corpus --limit 3000

CPU time (thread time) is measured rather than wall time, so a loaded machine
disturbs the figures less.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# libmagic 5.44 <magic.h> values (python-magic's MAGIC_NO_CHECK_FORTRAN/TROFF are stale).
MAGIC_MIME_TYPE = 0x10
NO_CHECK = {
    "COMPRESS": 0x0001000,
    "TAR": 0x0002000,
    "SOFT": 0x0004000,
    "APPTYPE": 0x0008000,
    "ELF": 0x0010000,
    "TEXT": 0x0020000,
    "CDF": 0x0040000,
    "CSV": 0x0080000,
    "TOKENS": 0x0100000,
    "ENCODING": 0x0200000,
    "JSON": 0x0400000,
}
PARAM = {"REGEX_MAX": 5, "BYTES_MAX": 6, "ENCODING_MAX": 7}
HEAD = 64 * 1024


class Magic:
    """One libmagic handle with given flags and parameters (through ctypes)."""

    def __init__(self, flags: int, params: dict[str, int] | None = None) -> None:
        name = ctypes.util.find_library("magic") or "libmagic.so.1"
        self.lib = ctypes.CDLL(name)
        self.lib.magic_open.restype = ctypes.c_void_p
        self.lib.magic_open.argtypes = [ctypes.c_int]
        self.lib.magic_load.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        self.lib.magic_buffer.restype = ctypes.c_char_p
        self.lib.magic_buffer.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
        self.lib.magic_setparam.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
        self.lib.magic_error.restype = ctypes.c_char_p
        self.lib.magic_error.argtypes = [ctypes.c_void_p]
        self.cookie = self.lib.magic_open(flags)
        if self.lib.magic_load(self.cookie, None) != 0:
            raise OSError(f"magic_load failed: {self.lib.magic_error(self.cookie)!r}")
        for k, v in (params or {}).items():
            val = ctypes.c_size_t(v)
            if self.lib.magic_setparam(self.cookie, PARAM[k], ctypes.byref(val)) != 0:
                raise OSError(f"magic_setparam({k}) failed")

    def __call__(self, buf: bytes) -> str:
        r = self.lib.magic_buffer(self.cookie, buf, len(buf))
        if r is None:
            return "ERROR: " + (self.lib.magic_error(self.cookie) or b"?").decode("utf-8", "replace")
        return r.decode("utf-8", "replace")


@dataclass
class Variant:
    label: str
    flags: int = 0
    params: dict[str, int] = field(default_factory=dict)
    head: int = HEAD


def variants() -> list[Variant]:
    out = [Variant("baseline (flags 0, 64 KiB head)")]
    out += [Variant(f"NO_CHECK_{k}", v) for k, v in NO_CHECK.items()]
    safe = NO_CHECK["COMPRESS"] | NO_CHECK["TAR"] | NO_CHECK["CDF"] | NO_CHECK["ELF"] | NO_CHECK["APPTYPE"]
    out.append(Variant("NO_CHECK_COMPRESS|TAR|CDF|ELF|APPTYPE", safe))
    out.append(Variant("... |CSV|JSON", safe | NO_CHECK["CSV"] | NO_CHECK["JSON"]))
    out += [Variant(f"head {n // 1024} KiB", head=n) for n in (16384, 8192, 4096, 1024)]
    out += [Variant(f"ENCODING_MAX {n}", params={"ENCODING_MAX": n}) for n in (16384, 4096)]
    out += [Variant(f"REGEX_MAX {n}", params={"REGEX_MAX": n}) for n in (1024, 256)]
    return out


def klass(mime: str) -> str:
    if mime.startswith("text/") or mime in ("application/json", "application/csv"):
        return "text"
    if mime.startswith("image/"):
        return "image"
    if mime == "application/octet-stream":
        return "unknown binary"
    return "other"


def collect(dirs: list[Path], limit: int, seed: int) -> list[tuple[str, bytes]]:
    files: list[tuple[str, bytes]] = []
    for d in dirs:
        paths = sorted(
            os.path.join(dp, f) for dp, _dn, fs in os.walk(d) for f in fs if os.path.isfile(os.path.join(dp, f))
        )
        if limit and len(paths) > limit:
            paths = sorted(random.Random(seed).sample(paths, limit))
        for p in paths:
            if os.path.islink(p):
                continue
            with open(p, "rb") as fh:
                head = fh.read(HEAD)
            if head:
                files.append((p, head))
    return files


def cpu_ns() -> int:
    return time.thread_time_ns()


def run_all(
    vs: list[Variant], files: list[tuple[str, bytes]]
) -> list[tuple[list[str], list[str], list[int], list[int]]]:
    """Every variant on every file, interleaved file by file (a load that drifts during the
    run then weighs on every variant alike)."""
    handles = [(Magic(v.flags | MAGIC_MIME_TYPE, v.params), Magic(v.flags, v.params)) for v in vs]
    out: list[tuple[list[str], list[str], list[int], list[int]]] = [([], [], [], []) for _ in vs]
    for _p, head in files:
        for v, (mime_h, desc_h), (mimes, descs, t_mime, t_desc) in zip(vs, handles, out):
            buf = head[: v.head]
            t0 = cpu_ns()
            m = mime_h(buf)
            t1 = cpu_ns()
            d = desc_h(buf)
            t2 = cpu_ns()
            mimes.append(m)
            descs.append(d)
            t_mime.append(t1 - t0)
            t_desc.append(t2 - t1)
    return out


def compare_evidence(files: list[tuple[str, bytes]], examples: int) -> int:
    """evidence_cli.filetype.detect_type as the scanner calls it vs with exact=True."""
    import inspect

    from evidence_cli import filetype

    if "exact" not in inspect.signature(filetype.detect_type).parameters:
        print("this evidence_cli has no fast path (detect_type has no 'exact' parameter)")
        return 0
    fast_t: dict[str, list[int]] = {}
    exact_t: dict[str, list[int]] = {}
    diffs: dict[str, list[str]] = {}
    by: dict[str, int] = {}
    for i, (path, head) in enumerate(files):
        name = os.path.basename(path)
        # Alternate which goes first (the second call finds warmer caches).
        order = (False, True) if i % 2 == 0 else (True, False)
        got: dict[bool, Any] = {}
        took: dict[bool, int] = {}
        for exact_flag in order:
            t0 = cpu_ns()
            got[exact_flag] = filetype.detect_type(name, head, exact=exact_flag)
            took[exact_flag] = cpu_ns() - t0
        fast, exact = got[False], got[True]
        key = f"{exact.mime} ({fast.decided_by})"
        by[key] = by.get(key, 0) + 1
        fast_t.setdefault(key, []).append(took[False])
        exact_t.setdefault(key, []).append(took[True])
        for what in ("mime", "description", "extension_ok"):
            a, b = getattr(fast, what), getattr(exact, what)
            if a != b:
                diffs.setdefault(what, []).append(f"{name}: {str(b)[:60]!r} -> {str(a)[:60]!r}")
    print(f"{len(files)} files: detect_type (default) vs detect_type(exact=True)")
    print(f"{'exact MIME (decided by, default path)':<60} {'files':>6} {'default µs':>11} {'exact µs':>9}")
    for key, n in sorted(by.items(), key=lambda kv: -kv[1]):
        f = statistics.fmean(fast_t[key]) / 1000
        e = statistics.fmean(exact_t[key]) / 1000
        print(f"{key[:60]:<60} {n:>6} {f:>11.1f} {e:>9.1f}")
    tf = sum(sum(v) for v in fast_t.values()) / len(files) / 1000
    te = sum(sum(v) for v in exact_t.values()) / len(files) / 1000
    print(f"mean per file: default {tf:.1f} µs, exact {te:.1f} µs")
    for what in ("mime", "description", "extension_ok"):
        d = diffs.get(what, [])
        print(f"{what} differs on {len(d)} files" + (":" if d else ""))
        for line in d[:examples]:
            print(f"    {line}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("--limit", type=int, default=3000, help="Files sampled per folder (seeded; 0: all)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--examples", type=int, default=3)
    ap.add_argument(
        "--evidence",
        action="store_true",
        help="Instead: compare evidence_cli's detect_type (fast paths) with exact=True (full libmagic)",
    )
    args = ap.parse_args(argv)
    files = collect(args.dirs, args.limit, args.seed)
    if args.evidence:
        return compare_evidence(files, args.examples)
    print(f"{len(files)} files from {', '.join(map(str, args.dirs))}; libmagic CPU time per call (µs, median/mean)")
    vs = variants()
    results = run_all(vs, files)
    base_m, base_d, bt_m, bt_d = results[0]
    classes = [klass(m) for m in base_m]
    names = sorted(set(classes))
    counts = {c: classes.count(c) for c in names}
    print("classes: " + ", ".join(f"{c} {n}" for c, n in counts.items()))
    hdr = f"{'variant':<40} {'mime µs':>8} {'desc µs':>8} " + " ".join(f"{c[:12]:>13}" for c in names)
    print(hdr + f" {'mime≠':>6} {'desc≠':>6}")
    print(f"{'':<40} {'(mean)':>8} {'(mean)':>8} " + " ".join(f"{'both, mean':>13}" for _ in names))
    print("-" * (len(hdr) + 14))
    for v, (mimes, descs, t_m, t_d) in zip(vs, results):
        per = []
        for c in names:
            both = [(a + b) / 1000 for a, b, k in zip(t_m, t_d, classes) if k == c]
            per.append(statistics.fmean(both) if both else 0.0)
        dm = [i for i in range(len(files)) if mimes[i] != base_m[i]]
        dd = [i for i in range(len(files)) if descs[i] != base_d[i]]
        print(
            f"{v.label:<40} {statistics.fmean(t_m) / 1000:>8.1f} {statistics.fmean(t_d) / 1000:>8.1f} "
            + " ".join(f"{x:>13.1f}" for x in per)
            + f" {len(dm):>6} {len(dd):>6}"
        )
        for i in dm[: args.examples]:
            print(f"{'':<6}mime  {Path(files[i][0]).name}: {base_m[i]!r} -> {mimes[i]!r}")
        for i in [i for i in dd if i not in dm][: args.examples]:
            print(f"{'':<6}desc  {Path(files[i][0]).name}: {base_d[i][:70]!r} -> {descs[i][:70]!r}")
    print()
    print("baseline by MIME type (files, mean CPU µs of the MIME call, of the description call):")
    by: dict[str, list[int]] = {}
    for i, m in enumerate(base_m):
        by.setdefault(m, []).append(i)
    for m, idx in sorted(by.items(), key=lambda kv: -len(kv[1])):
        tm = statistics.fmean(bt_m[i] for i in idx) / 1000
        td = statistics.fmean(bt_d[i] for i in idx) / 1000
        print(f"  {m:<48} {len(idx):>6} {tm:>9.1f} {td:>9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
