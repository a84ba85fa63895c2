#!/usr/bin/env python3
"""Benchmark of `evidence scan` against hashdeep, ExifTool and sha256sum (issue 6).

Generates its corpora (seeded, see corpora.py) under a work directory outside the
repository, then times each installed tool on each corpus in alternated rounds
(A B C, A B C, ...), and prints medians, throughput, ratios, CPU time and peak
memory, the machine's OpenSSL floor, the single-file threading comparison, the
memory check (10 % vs 100 % of the `many` corpus), `evidence verify` against hashdeep's
audit of the photos, and whether every evidence record on the photo corpora is
complete. Figures, not asserts: the exit status is 0.

    python bench/run.py --scale 0.05 --repeat 3          # quick (~1-2 minutes)
    python bench/run.py                                  # full (~20 minutes on 2 cores)
    python bench/run.py --only photos,small --json-out /tmp/bench.json

See bench/README.md for what each corpus and column means.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bare_loop  # noqa: E402
import corpora  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
MB = 1_000_000
MiB = 1024 * 1024
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

#: Which tools run on which corpus by default (each only when installed).
#: ExifTool only reads metadata: it runs where metadata is the point (photos, camera, mixed).
DEFAULT_TOOLS = {
    "photos": ("evidence", "hashdeep", "exiftool", "sha256sum"),
    "camera": ("evidence", "hashdeep", "exiftool", "sha256sum"),
    "mixed": ("evidence", "hashdeep", "exiftool", "sha256sum"),
    "small": ("evidence", "hashdeep", "sha256sum"),
    "large": ("evidence", "hashdeep", "sha256sum"),
    "single": ("evidence", "hashdeep", "sha256sum"),
}
#: Both hold JPEGs only: every record must have capture time, device and EXIF tags.
PHOTO_CORPORA = ("photos", "camera")
ALL_SELECTIONS = ("photos", "camera", "large", "single", "small", "mixed", "memory", "verify")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --- measuring one command ----------------------------------------------------------------


def cpu_busy_jiffies() -> tuple[int, int]:
    """(busy, steal) jiffies of the whole machine, from /proc/stat."""
    try:
        with open("/proc/stat") as fh:
            f = [int(x) for x in fh.readline().split()[1:]]
    except OSError:
        return 0, 0
    user, nice, system, _idle, _iowait, irq, softirq = f[:7]
    steal = f[7] if len(f) > 7 else 0
    return user + nice + system + irq + softirq, steal


class TreeSampler(threading.Thread):
    """Polls every process of a process group (the command and all its descendants:
    workers, forkserver, xargs ...): the peak of their RSS and PSS summed, and each
    one's own high-water RSS (VmHWM, which starts afresh at exec).

    Reading ``smaps_rollup`` (for PSS) walks a process's page tables: on 2 cores, doing it
    for five processes every 0.1 s took about 4 % of the machine from the command being
    timed (the large corpus: 5.80 s without the sampler, 6.05 s with it). ``pss_every``
    reads it on every n-th sample only; CPU time and VmHWM (a high-water mark kept by the
    kernel, exact whatever the interval) are read on every sample.
    """

    def __init__(self, pgid: int, interval: float = 0.1, pss_every: int = 1) -> None:
        super().__init__(daemon=True)
        self.pgid = pgid
        self.interval = interval
        self.pss_every = max(1, pss_every)
        self._n = 0
        self.peak_rss = 0
        self.peak_pss = 0
        self.hwm: dict[int, int] = {}
        self.cpu: dict[int, float] = {}
        """CPU seconds of each process at its last sample (the main process is ``pgid``)."""
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()

    @property
    def largest(self) -> int:
        return max(self.hwm.values(), default=0)

    def sample(self) -> None:
        rss = pss = 0
        with_pss = self._n % self.pss_every == 0
        self._n += 1
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat", "rb") as fh:
                    stat = fh.read()
                fields = stat[stat.rindex(b")") + 2 :].split()
                if int(fields[2]) != self.pgid:
                    continue
                self.cpu[int(name)] = (int(fields[11]) + int(fields[12])) / CLK_TCK
                with open(f"/proc/{name}/status", "rb") as fh:
                    for line in fh:
                        if line.startswith(b"VmHWM:"):
                            pid = int(name)
                            self.hwm[pid] = max(self.hwm.get(pid, 0), int(line.split()[1]) * 1024)
                            break
                if not with_pss:
                    continue
                with open(f"/proc/{name}/smaps_rollup", "rb") as fh:
                    for line in fh:
                        if line.startswith(b"Rss:"):
                            rss += int(line.split()[1]) * 1024
                        elif line.startswith(b"Pss:"):
                            pss += int(line.split()[1]) * 1024
                            break
            except (OSError, ValueError, IndexError):
                continue
        if with_pss:
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_pss = max(self.peak_pss, pss)


def become_subreaper() -> bool:
    """Adopt orphaned descendants (e.g. multiprocessing's forkserver outliving the
    command's main process), so their CPU time is reaped and counted here."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


@dataclass
class Run:
    corpus: str
    tool: str
    round: int
    wall_s: float
    cpu_s: float
    max_rss: int
    """Largest single process's own peak RSS (sampled VmHWM), bytes."""
    tree_rss: int
    """Sampled peak of the RSS summed over the process group, bytes."""
    tree_pss: int
    """Sampled peak of the PSS summed over the process group, bytes."""
    exit_code: int
    other_load: float
    """CPU used by other processes during the run, as a fraction of all cores."""
    steal: float
    cache: str
    main_cpu_s: float = 0.0
    """CPU of the command's main process alone (sampled; the rest ran in its children)."""


def drop_caches() -> str | None:
    """Drop the page cache; None when done, else why not."""
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as fh:
            fh.write("3\n")
        return None
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"


def run_command(
    argv: list[str] | str,
    stdout_path: str,
    *,
    corpus: str,
    tool: str,
    rnd: int,
    cache: str,
    stderr_path: str | None = None,
    pss_every: int = 5,
) -> Run:
    """Run one command (a shell string runs under sh -c), measuring wall, CPU and memory.
    Its standard error goes to ``stderr_path`` (default: discarded). PSS is read every
    ``pss_every`` samples (see TreeSampler; the memory runs read it every 0.1 s)."""
    ncpu = os.cpu_count() or 1
    cmd = ["sh", "-c", argv] if isinstance(argv, str) else argv
    with open(stdout_path, "wb") as out, open(stderr_path or os.devnull, "wb") as err:
        busy0, steal0 = cpu_busy_jiffies()
        self0 = os.times()
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        sampler = TreeSampler(proc.pid, pss_every=pss_every)
        sampler.start()
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        cpu = ru.ru_utime + ru.ru_stime
        # Descendants that outlived the command (adopted: we are a subreaper) still count.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                pid, _st, ru2 = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid:
                cpu += ru2.ru_utime + ru2.ru_stime
            elif not group_alive(proc.pid):
                break
            else:
                time.sleep(0.02)
        sampler.stop()
        self1 = os.times()
        busy1, steal1 = cpu_busy_jiffies()
    proc.returncode = os.waitstatus_to_exitcode(status)
    own = (self1.user - self0.user) + (self1.system - self0.system)
    machine = (busy1 - busy0) / CLK_TCK
    other = max(0.0, machine - cpu - own) / (wall * ncpu) if wall > 0 else 0.0
    return Run(
        corpus=corpus,
        tool=tool,
        round=rnd,
        wall_s=wall,
        cpu_s=cpu,
        max_rss=sampler.largest,
        tree_rss=sampler.peak_rss,
        tree_pss=sampler.peak_pss,
        exit_code=proc.returncode,
        other_load=other,
        steal=((steal1 - steal0) / CLK_TCK) / (wall * ncpu) if wall > 0 else 0.0,
        cache=cache,
        main_cpu_s=sampler.cpu.get(proc.pid, 0.0),
    )


# --- the tools ------------------------------------------------------------------------------


def byte_compile_evidence() -> str:
    """Compile evidence_cli's modules to bytecode, as ``pip install .`` does at install time.

    An editable checkout run with PYTHONDONTWRITEBYTECODE=1 (set on some machines, this
    one included) would otherwise compile every module from source in each process of
    every run (about 0.1 CPU-s of start-up each): a cost no installed copy pays."""
    import compileall

    try:
        import evidence_cli
    except ImportError:
        return "evidence_cli not importable here: not compiled"
    pkg = Path(evidence_cli.__file__).parent
    ok = compileall.compile_dir(str(pkg), quiet=1)
    return f"{pkg} byte-compiled{'' if ok else ' (some modules failed to compile)'}"


def evidence_argv() -> list[str]:
    exe = Path(sys.executable).parent / "evidence"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "evidence_cli"]


@dataclass
class Tool:
    name: str
    version: str
    command: Callable[[list[Path], Path], list[str] | str]
    """(roots, output folder) -> argv (or a shell command)."""
    stdout_name: str


def manifest_memory(roots: list[Path], out: Path, cache: str, log: Callable[[str], None]) -> dict[str, Any]:
    """Peak memory of the commands that read a manifest of these roots: ``verify``, ``export``.

    The manifest is written by a scan without metadata (not measured); then ``evidence
    verify`` (re-hashing every file) and ``evidence export --format csv`` (reading the
    records again) run with the memory sampler, as the scan did.
    """
    ev = evidence_argv()
    manifest = out / "manifest.json"
    scan = [*ev, "scan", *map(str, roots), "--json", str(manifest), "--no-metadata", "--overwrite"]
    subprocess.run(scan, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    result: dict[str, Any] = {"manifest_bytes": manifest.stat().st_size if manifest.exists() else None}
    commands = {
        "verify": [*ev, "verify", str(manifest), "--json", str(out / "verify.json"), "--overwrite"],
        "export-csv": [*ev, "export", str(manifest), "--format", "csv", "-o", str(out / "export.csv"), "--overwrite"],
    }
    for name, argv in commands.items():
        log(f"memory: evidence {name} of that manifest ...")
        r = run_command(
            argv,
            os.devnull,
            corpus="many",
            tool=f"evidence {name}",
            rnd=0,
            cache=cache,
            stderr_path=str(out / f"{name}.stderr"),
            pss_every=1,
        )
        result[name] = {"wall_s": r.wall_s, "max_rss": r.max_rss, "tree_pss": r.tree_pss, "exit_code": r.exit_code}
    return result


def verify_compare(root: Path, out: Path, repeat: int, cache: str, log: Callable[[str], None]) -> dict[str, Any]:
    """``evidence verify`` of a manifest against hashdeep's audit of its own list of the
    same files (``-a -k``: the same job), in alternated rounds; medians.

    The manifest (a scan without metadata) and hashdeep's list are made first, untimed.
    hashdeep runs from inside the tree with relative names (``-l``) and regular files only
    (``-o f``), as our hashdeep export tells examiners to."""
    ev = evidence_argv()
    manifest = out / "manifest.json"
    known = out / "known.hashdeep"
    subprocess.run(
        [*ev, "scan", str(root), "--json", str(manifest), "--no-metadata", "--overwrite"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    with open(known, "wb") as fh:
        subprocess.run(
            ["hashdeep", "-c", "md5,sha1,sha256", "-r", "-l", "-o", "f", "."], cwd=root, stdout=fh, check=False
        )
    commands: dict[str, list[str] | str] = {
        "evidence verify": [*ev, "verify", str(manifest)],
        "hashdeep audit": (
            f"cd {shlex.quote(str(root))} && hashdeep -c md5,sha1,sha256 -r -l -o f -a -k {shlex.quote(str(known))} ."
        ),
    }
    runs: dict[str, list[Run]] = {name: [] for name in commands}
    for rnd in range(repeat):
        for name, argv in commands.items():
            r = run_command(argv, os.devnull, corpus="verify", tool=name, rnd=rnd, cache=cache)
            runs[name].append(r)
            log(f"  round {rnd + 1}/{repeat} {name:<16} {r.wall_s:8.2f} s  exit {r.exit_code}")
    result: dict[str, Any] = {}
    for name, rs in runs.items():
        result[name] = {
            "median_wall_s": statistics.median(r.wall_s for r in rs),
            "median_cpu_s": statistics.median(r.cpu_s for r in rs),
            "exit_codes": sorted({r.exit_code for r in rs}),
        }
    hd = result["hashdeep audit"]["median_wall_s"]
    result["ratio"] = result["evidence verify"]["median_wall_s"] / hd if hd else None
    return result


#: The scan without libmagic (``--without-libmagic``), and without the EXIF reader too
#: (``--without-exif``, photo corpora only), run after the real one.
NO_LIBMAGIC = "evidence-no-libmagic"
NO_LIBMAGIC_EXIF = "evidence-no-libmagic-exif"


def find_tools(
    evidence_extra: list[str], *, without_libmagic: bool = False, without_exif: bool = False
) -> dict[str, Tool]:
    tools: dict[str, Tool] = {}
    ev = evidence_argv()
    try:
        ver = subprocess.run([*ev, "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        ver = "?"
    tools["evidence"] = Tool(
        "evidence",
        f"{ver} ({git_describe()})",
        lambda roots, out: [
            *ev,
            "scan",
            *map(str, roots),
            "--jsonl",
            str(out / "evidence.jsonl"),
            "--csv",
            str(out / "evidence.csv"),
            "--overwrite",  # the same output files every round
            "-f",
            "jsonl",
            *evidence_extra,
        ],
        os.devnull,
    )
    wrapper = [sys.executable, str(Path(__file__).resolve().parent / "without_libmagic.py")]

    def scan_without(name: str, left_out: str) -> Callable[[list[Path], Path], str]:
        def command(roots: list[Path], out: Path) -> str:
            argv = [*wrapper, "scan", *map(str, roots), "--jsonl", str(out / f"{name}.jsonl")]
            argv += ["--csv", str(out / f"{name}.csv"), "--overwrite", "-f", "jsonl", *evidence_extra]
            return f"EVIDENCE_BENCH_WITHOUT={left_out} exec " + shlex.join(argv)

        return command

    if without_libmagic:
        tools[NO_LIBMAGIC] = Tool(
            NO_LIBMAGIC, "the same, types from our signature check alone", scan_without(NO_LIBMAGIC, ""), os.devnull
        )
    if without_exif:
        tools[NO_LIBMAGIC_EXIF] = Tool(
            NO_LIBMAGIC_EXIF,
            "the same, types from our signature check alone, no EXIF reader",
            scan_without(NO_LIBMAGIC_EXIF, "exif"),
            os.devnull,
        )
    if shutil.which("hashdeep"):
        v = _version(["hashdeep", "-V"])
        tools["hashdeep"] = Tool(
            "hashdeep",
            v,
            lambda roots, out: ["hashdeep", "-r", "-c", "md5,sha1,sha256", *map(str, roots)],
            "hashdeep.txt",
        )
    if shutil.which("exiftool"):
        v = _version(["exiftool", "-ver"])
        tools["exiftool"] = Tool(
            "exiftool", v, lambda roots, out: ["exiftool", "-r", "-json", *map(str, roots)], "exiftool.json"
        )
    if shutil.which("sha256sum") and shutil.which("xargs"):
        v = _version(["sha256sum", "--version"])
        tools["sha256sum"] = Tool(
            "sha256sum",
            v,
            lambda roots, out: (
                "find " + " ".join(shlex.quote(str(r)) for r in roots) + " -type f -print0 | xargs -0 sha256sum"
            ),
            "sha256sum.txt",
        )
    return tools


def _version(argv: list[str]) -> str:
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "?"
    return ((r.stdout or r.stderr).strip().splitlines() or ["?"])[0]


def git_describe() -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no", "--", "evidence_cli"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "no git"
    return f"git {head}{' + uncommitted changes in evidence_cli/' if dirty else ''}"


def library_versions() -> dict[str, str]:
    import ssl
    from importlib import metadata

    out = {"python": platform.python_version(), "openssl": ssl.OPENSSL_VERSION}
    for dist in ("python-magic", "ExifRead", "pillow"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    try:
        import magic

        v = int(magic.version())
        out["libmagic"] = f"{v // 100}.{v % 100:02d}"
    except (ImportError, AttributeError, OSError, ValueError, TypeError):
        pass
    return out


# --- OpenSSL floor and hashing ---------------------------------------------------------------


def openssl_floor(
    total: int = 512 * MiB, chunk: int = 1 * MiB, repeat: int = 3, triple_only: bool = False
) -> dict[str, float]:
    """MB/s of each digest and of md5+sha1+sha256 together (only that with ``triple_only``),
    one core, in-memory buffer.

    Measured in CPU time of this (single-threaded) loop, so that other work on the
    machine does not lower the floor (it only lengthens the wall time)."""
    buf = corpora.pool(7)[:chunk]
    n = total // chunk

    def speed(names: tuple[str, ...]) -> float:
        times = []
        for _ in range(repeat):
            hs = [hashlib.new(a) for a in names]
            t0 = time.thread_time()
            for _ in range(n):
                for h in hs:
                    h.update(buf)
            for h in hs:
                h.digest()
            times.append(time.thread_time() - t0)
        return n * chunk / statistics.median(times) / MB

    out = {} if triple_only else {a: speed((a,)) for a in ("md5", "sha1", "sha256")}
    out["md5+sha1+sha256"] = speed(("md5", "sha1", "sha256"))
    return out


def threaded_best(floor: dict[str, float], cores: int) -> float:
    """The best possible (threaded / one thread) wall ratio for one file with a thread
    per digest: the slowest digest cannot be split, and all three share the cores."""
    per_mb = {a: 1 / floor[a] for a in ("md5", "sha1", "sha256")}
    total = sum(per_mb.values())
    return max(max(per_mb.values()), total / cores) / total


def _floor_worker(total: int) -> float:
    buf = corpora.pool(7)[:MiB]
    hs = [hashlib.md5(), hashlib.sha1(), hashlib.sha256()]
    for _ in range(total // MiB):
        for h in hs:
            h.update(buf)
    return 0.0


def openssl_floor_parallel(procs: int, total: int = 256 * MiB) -> float:
    """Aggregate MB/s (wall time) of ``procs`` processes each hashing md5+sha1+sha256 at once."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=procs) as ex:
        list(ex.map(_floor_worker, [MiB] * procs))  # start the workers first
        t0 = time.perf_counter()
        list(ex.map(_floor_worker, [total] * procs))
        return procs * total / (time.perf_counter() - t0) / MB


def hash_fd_compare(path: Path, repeat: int) -> dict[str, Any]:
    """hash_fd on one file: one thread for all digests vs one thread per digest (alternated)."""
    from evidence_cli.hashing import hash_fd, open_readonly

    size = path.stat().st_size
    res: dict[str, list[tuple[float, float]]] = {"single-thread": [], "threaded": []}
    digests: dict[str, dict[str, str]] = {}
    for _ in range(repeat):
        for label, threaded in (("single-thread", False), ("threaded", True)):
            fd = open_readonly(str(path))
            try:
                c0 = time.process_time()
                t0 = time.perf_counter()
                r = hash_fd(fd, expected_size=size, threaded=threaded)
                wall = time.perf_counter() - t0
                cpu = time.process_time() - c0
            finally:
                os.close(fd)
            res[label].append((wall, cpu))
            digests[label] = r.digests
    med = {k: statistics.median(w for w, _ in v) for k, v in res.items()}
    return {
        "file_bytes": size,
        "runs": {k: [{"wall_s": w, "cpu_s": c} for w, c in v] for k, v in res.items()},
        "median_wall_s": med,
        "median_mb_s": {k: size / v / MB for k, v in med.items()},
        "threaded_over_single": med["threaded"] / med["single-thread"],
        "same_digests": digests["single-thread"] == digests["threaded"],
    }


# --- checks on the outputs ------------------------------------------------------------------


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i == 0:
                continue  # the scan header
            line = line.strip()
            if line:
                out.append(json.loads(line))
    return out


def check_records(records: list[dict[str, Any]], photos: bool, gps: bool = True) -> dict[str, Any]:
    """Count records missing hashes, type, and (photos) capture time, device, and GPS
    (unless ``gps`` is False: only some of the camera corpus's photos carry GPS)."""
    lengths = {"md5": 32, "sha1": 40, "sha256": 64}
    missing: dict[str, list[str]] = {}

    def miss(what: str, rec: dict[str, Any]) -> None:
        missing.setdefault(what, []).append(rec.get("path", "?"))

    files = [r for r in records if r.get("kind") == "file"]
    for r in files:
        hs = r.get("hashes") or {}
        if any(len(hs.get(a) or "") != n for a, n in lengths.items()):
            miss("hashes", r)
        if not r.get("mime"):
            miss("mime", r)
        if not r.get("description"):
            miss("description", r)
        if r.get("errors"):
            miss("errors (non-empty)", r)
        if photos:
            if r.get("mime") != "image/jpeg":
                miss("mime=image/jpeg", r)
            if not r.get("captured"):
                miss("captured", r)
            point = r.get("gps") or {}
            if gps and (point.get("latitude") is None or point.get("longitude") is None):
                miss("gps", r)
            dev = r.get("device") or {}
            if not dev.get("make") or not dev.get("model"):
                miss("device make/model", r)
            if not (r.get("metadata") or {}).get("exif"):
                miss("metadata.exif", r)
    return {
        "records": len(records),
        "files": len(files),
        "incomplete": {k: len(v) for k, v in missing.items()},
        "examples": {k: v[:3] for k, v in missing.items()},
        "complete": not missing,
    }


def cross_check(out: Path, root: Path, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Do our digests equal hashdeep's and sha256sum's for every file they listed?"""
    ours = {r["path"]: r.get("hashes") or {} for r in records if r.get("kind") == "file"}
    result: dict[str, Any] = {}
    hd = out / "hashdeep.txt"
    if hd.exists():
        theirs: dict[str, dict[str, str]] = {}
        for line in hd.read_text(errors="replace").splitlines():
            if not line or line.startswith(("%", "#")):
                continue
            parts = line.split(",", 4)
            if len(parts) == 5:
                theirs[os.path.relpath(parts[4], root)] = {"md5": parts[1], "sha1": parts[2], "sha256": parts[3]}
        diff = [p for p, h in theirs.items() if {a: ours.get(p, {}).get(a) for a in h} != h]
        result["hashdeep"] = {"files": len(theirs), "mismatches": len(diff), "examples": diff[:3]}
    ss = out / "sha256sum.txt"
    if ss.exists():
        theirs2: dict[str, str] = {}
        for line in ss.read_text(errors="replace").splitlines():
            if len(line) > 66 and line[64:66] == "  ":
                theirs2[os.path.relpath(line[66:], root)] = line[:64]
        diff = [p for p, h in theirs2.items() if ours.get(p, {}).get("sha256") != h]
        result["sha256sum"] = {"files": len(theirs2), "mismatches": len(diff), "examples": diff[:3]}
    return result


# --- the report -----------------------------------------------------------------------------


@dataclass
class Summary:
    corpus: str
    tool: str
    runs: list[Run] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return statistics.median(r.wall_s for r in self.runs)

    def median(self, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in self.runs)

    def peak(self, attr: str) -> int:
        return max(getattr(r, attr) for r in self.runs)


def fmt_ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def print_table(summaries: list[Summary], sizes: dict[str, tuple[int, int]]) -> list[dict[str, Any]]:
    tw = max([10, *(len(s.tool) for s in summaries)])  # the tool column's width
    head = (
        f"{'corpus':<8} {'tool':<{tw}} {'runs':>4} {'median s':>9} {'min s':>8} {'MB/s':>8} {'files/s':>9} "
        f"{'/hashdeep':>9} {'/exiftool':>9} {'CPU s':>7} {'CPU/hd':>6} {'maxRSS MB':>9} {'treePSS MB':>10} "
        f"{'other%':>6} {'exit':>4}"
    )
    print(head)
    print("-" * len(head))
    rows = []
    by = {(s.corpus, s.tool): s for s in summaries}
    for s in summaries:
        nfiles, nbytes = sizes[s.corpus]
        hd = by.get((s.corpus, "hashdeep"))
        ex = by.get((s.corpus, "exiftool"))
        row: dict[str, Any] = {
            "corpus": s.corpus,
            "tool": s.tool,
            "runs": len(s.runs),
            "median_wall_s": s.wall,
            "min_wall_s": min(r.wall_s for r in s.runs),
            "walls": [r.wall_s for r in sorted(s.runs, key=lambda r: r.round)],
            "bytes": nbytes,
            "mb_s": nbytes / s.wall / MB,
            "files_s": nfiles / s.wall,
            "vs_hashdeep": s.wall / hd.wall if hd else None,
            "vs_exiftool": s.wall / ex.wall if ex else None,
            "median_cpu_s": s.median("cpu_s"),
            "median_main_cpu_s": s.median("main_cpu_s"),
            "cpu_vs_hashdeep": s.median("cpu_s") / hd.median("cpu_s") if hd and hd.median("cpu_s") > 0 else None,
            "cpu_vs_exiftool": s.median("cpu_s") / ex.median("cpu_s") if ex and ex.median("cpu_s") > 0 else None,
            "peak_max_rss": s.peak("max_rss"),
            "peak_tree_rss": s.peak("tree_rss"),
            "peak_tree_pss": s.peak("tree_pss"),
            "median_other_load": s.median("other_load"),
            "exit_codes": sorted({r.exit_code for r in s.runs}),
        }
        rows.append(row)
        print(
            f"{s.corpus:<8} {s.tool:<{tw}} {row['runs']:>4} {row['median_wall_s']:>9.2f} {row['min_wall_s']:>8.2f} "
            f"{row['mb_s']:>8.1f} {row['files_s']:>9.0f} {fmt_ratio(row['vs_hashdeep']):>9} "
            f"{fmt_ratio(row['vs_exiftool']):>9} {row['median_cpu_s']:>7.2f} {fmt_ratio(row['cpu_vs_hashdeep']):>6} "
            f"{row['peak_max_rss'] / MB:>9.1f} "
            f"{row['peak_tree_pss'] / MB:>10.1f} {100 * row['median_other_load']:>6.0f} "
            f"{','.join(map(str, row['exit_codes'])):>4}"
        )
    return rows


def _same_round_floor_pct(floors: list[dict[str, Any]] | None, ev: dict[str, Any] | None, ncpu: int) -> float | None:
    """Median over the rounds of evidence's MB/s in a round as % of floor x cores measured
    right after it (the floor drifts with the machine as the runs do)."""
    if not floors or not ev or not ev.get("walls"):
        return None
    pcts = [
        100 * ev["bytes"] / MB / wall / (f["md5+sha1+sha256"] * ncpu)
        for wall, f in zip(ev["walls"], floors)
        if wall > 0 and f["md5+sha1+sha256"] > 0
    ]
    return statistics.median(pcts) if pcts else None


def target_lines(rows: list[dict[str, Any]], extra: dict[str, Any], ncpu: int) -> list[str]:
    """The issue's targets next to the measured figures (information, not a verdict)."""
    get = {(r["corpus"], r["tool"]): r for r in rows}
    lines = []

    def line(
        what: str, value: float | None, limit: float, lower_is_better: bool = True, unit: str = "", note: str = ""
    ) -> None:
        if value is None:
            lines.append(f"  {what:<66} {'not measured':>12}")
            return
        ok = value <= limit if lower_is_better else value >= limit
        rel = "<=" if lower_is_better else ">="
        # A value that rounds to the limit is shown with one more digit ("0.403 NOT met",
        # not "0.40 NOT met").
        shown = f"{value:.2f}" if round(value, 2) != limit else f"{value:.3f}"
        lines.append(
            f"  {what:<66} {shown:>10}{unit:<2} target {rel} {limit:g}{unit}  {'met' if ok else 'NOT met'}{note}"
        )

    def ratio(corpus: str, key: str) -> float | None:
        r = get.get((corpus, "evidence"))
        return None if r is None else r.get(key)

    def cpu(corpus: str, key: str) -> str:
        v = ratio(corpus, key)
        return "" if v is None else f"  (CPU-time ratio {v:.2f})"

    line("large: evidence / hashdeep (wall)", ratio("large", "vs_hashdeep"), 0.40, note=cpu("large", "cpu_vs_hashdeep"))
    floor = extra.get("openssl_floor", {}).get("md5+sha1+sha256")
    ev = get.get(("large", "evidence"))
    if floor and ev:
        line(
            f"large: evidence MB/s as % of floor x {ncpu} cores ({floor * ncpu:.0f} MB/s)",
            100 * ev["mb_s"] / (floor * ncpu),
            85,
            lower_is_better=False,
            unit="%",
        )
    per_round = _same_round_floor_pct(extra.get("large_round_floor"), ev, ncpu)
    if per_round is not None:
        line(
            f"large: as % of floor x {ncpu}, the floor re-measured each round",
            per_round,
            85,
            lower_is_better=False,
            unit="%",
        )
    if floor and ev and ev.get("median_cpu_s"):
        line(
            "large: evidence MB per CPU-second as % of the floor (load-proof)",
            100 * ev["mb_s"] * ev["median_wall_s"] / ev["median_cpu_s"] / floor,
            85,
            lower_is_better=False,
            unit="%",
        )
    for corpus in PHOTO_CORPORA:
        line(
            f"{corpus}: evidence / exiftool (wall)",
            ratio(corpus, "vs_exiftool"),
            0.25,
            note=cpu(corpus, "cpu_vs_exiftool"),
        )
        pev, pex = get.get((corpus, "evidence")), get.get((corpus, "exiftool"))
        if floor and pev and pex and pex.get("median_wall_s"):
            # ExifTool reads the metadata only; every evidence record also carries three digests
            # of the whole file, which cannot take less than the corpus over the floor x cores.
            hash_s = pev["mb_s"] * pev["median_wall_s"] / (floor * ncpu)
            what = f"{corpus}: lower bound of evidence / exiftool from hashing alone"
            lines.append(
                f"  {what:<66} {hash_s / pex['median_wall_s']:>10.2f}"
                f"    (the corpus's digests at the floor x {ncpu} cores take {hash_s:.2f} s; ExifTool does not hash)"
            )
        line(
            f"{corpus}: evidence / hashdeep (wall)",
            ratio(corpus, "vs_hashdeep"),
            0.70,
            note=cpu(corpus, "cpu_vs_hashdeep"),
        )
        bare, chd = extra.get(f"{corpus}_bare_loop"), get.get((corpus, "hashdeep"))
        if bare and chd and chd.get("median_wall_s"):
            # Digests, libmagic's answer and ExifRead's tags, nothing else, over all the cores.
            best = bare["cpu_s"] / bare["cores"]
            what = f"{corpus}: lower bound of evidence / hashdeep (bare loop + ExifRead)"
            n = max(1, bare["files"])
            lines.append(
                f"  {what:<66} {best / chd['median_wall_s']:>10.2f}"
                f"    ({bare['cpu_s'] / n * 1e6:.0f} µs CPU a file: type {bare['type_cpu_s'] / n * 1e6:.0f},"
                f" ExifRead {bare['exif_cpu_s'] / n * 1e6:.0f}; {best:.2f} s on {bare['cores']} cores)"
            )
        comp = extra.get("checks", {}).get(corpus, {}).get("records")
        if comp is not None:
            what = f"{corpus}: every record complete (hashes, type, metadata)"
            lines.append(f"  {what:<66} {'yes' if comp['complete'] else 'NO ' + json.dumps(comp['incomplete']):>12}")
    line("small: evidence / hashdeep (wall)", ratio("small", "vs_hashdeep"), 2.0, note=cpu("small", "cpu_vs_hashdeep"))
    bare, shd = extra.get("small_bare_loop"), get.get(("small", "hashdeep"))
    if bare and shd and shd.get("median_wall_s"):
        # Only reading, digests, the type and a JSON line, spread perfectly over the cores.
        best = bare["cpu_s"] / bare["cores"]
        what = "small: lower bound of evidence / hashdeep from a bare Python loop"
        n = max(1, bare["files"])
        lines.append(
            f"  {what:<66} {best / shd['median_wall_s']:>10.2f}"
            f"    ({bare['cpu_s'] / n * 1e6:.0f} µs CPU a file, {bare['type_cpu_s'] / n * 1e6:.0f} of it the type;"
            f" {best:.2f} s on {bare['cores']} cores)"
        )
    for corpus in ("photos", "camera", "small", "mixed"):
        # The scan with libmagic taken out (--without-libmagic): the most our own type
        # descriptions could gain, before what they would cost themselves.
        for tool, without in ((NO_LIBMAGIC, "libmagic"), (NO_LIBMAGIC_EXIF, "libmagic and EXIF")):
            nl = get.get((corpus, tool))
            if nl is None or nl.get("vs_hashdeep") is None:
                continue
            what = f"{corpus}: the scan without {without} / hashdeep (wall)"
            more = f", / exiftool {nl['vs_exiftool']:.2f}" if nl.get("vs_exiftool") is not None else ""
            cpu_nl = fmt_ratio(nl.get("cpu_vs_hashdeep"))
            lines.append(f"  {what:<66} {nl['vs_hashdeep']:>10.2f}    (CPU-time ratio {cpu_nl}{more}; left out)")
    hf = extra.get("single_hash_fd")
    best = ""
    if floor:
        tb = threaded_best(extra["openssl_floor"], ncpu)
        best = f"  (best possible with a thread per digest on {ncpu} cores: {tb:.2f})"
    line("single: hash_fd threaded / single-thread (wall)", hf["threaded_over_single"] if hf else None, 0.60, note=best)
    mem = extra.get("memory", {}).get("runs", {})
    full = mem.get("100%")
    if full:
        line(
            f"memory: evidence peak tree PSS, {full['files']} files, --jsonl --csv",
            full["tree_pss"] / MB,
            200,
            unit="MB",
        )
    return lines


# --- main -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "evidence-bench",
        help="Where corpora and outputs go (must be outside the repository). Default: %(default)s",
    )
    ap.add_argument("--only", default=",".join(ALL_SELECTIONS), help="Comma list of: " + ", ".join(ALL_SELECTIONS))
    ap.add_argument("--scale", type=float, default=1.0, help="Multiplies file counts and big-file sizes (0.05: quick)")
    ap.add_argument("--repeat", type=int, default=5, help="Alternated rounds per corpus (default %(default)s)")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--large-count", type=int, default=4)
    ap.add_argument("--large-size", type=int, default=1024, help="MiB per large file before --scale (default 1024)")
    ap.add_argument("--single-size", type=int, default=4096, help="MiB of the single file before --scale")
    ap.add_argument("--tools", default="", help="Comma list restricting the tools (default: all installed)")
    ap.add_argument(
        "--evidence-args", default="", help="Extra arguments for evidence scan, e.g. '--workers 1' (one string)"
    )
    ap.add_argument(
        "--drop-caches",
        action="store_true",
        help="Drop the page cache before every timed run (root; affects everyone on the machine). Default: warm cache",
    )
    ap.add_argument(
        "--without-libmagic",
        action="store_true",
        help="Also time the scan with every type from our signature check alone (bench/without_libmagic.py): "
        "what issue 6's 'own type descriptions' could gain at most",
    )
    ap.add_argument(
        "--without-exif",
        action="store_true",
        help="On photos and camera, also time the scan without libmagic and without the EXIF reader "
        "(ExifRead and ours): what our own EXIF reader could gain at most, besides",
    )
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="Processes generating the corpora")
    ap.add_argument("--json-out", type=Path, help="Save every figure here as JSON")
    ap.add_argument("--generate-only", action="store_true", help="Generate the selected corpora, then stop")
    args = ap.parse_args(argv)
    wd = args.workdir.resolve()
    if wd == REPO or REPO in wd.parents:
        ap.error(f"--workdir {wd} is inside the repository; choose a folder outside it")
    sel = [s.strip() for s in args.only.split(",") if s.strip()]
    bad = [s for s in sel if s not in ALL_SELECTIONS]
    if bad:
        ap.error(f"unknown corpus {bad}; choose from {', '.join(ALL_SELECTIONS)}")
    args.only = sel
    args.workdir = wd
    return args


def warm(root: Path) -> None:
    """Read every file once so that every tool starts from a warm page cache."""
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            with open(os.path.join(dirpath, f), "rb", buffering=0) as fh:
                while fh.read(8 * MiB):
                    pass


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ncpu = os.cpu_count() or 1
    become_subreaper()
    params = corpora.Params(
        seed=args.seed,
        scale=args.scale,
        large_count=args.large_count,
        large_size=args.large_size * MiB,
        single_size=args.single_size * MiB,
    )
    compiled = byte_compile_evidence()
    tools = find_tools(
        shlex.split(args.evidence_args), without_libmagic=args.without_libmagic, without_exif=args.without_exif
    )
    if args.tools:
        keep = {t.strip() for t in args.tools.split(",")}
        tools = {k: v for k, v in tools.items() if k in keep}
    cache = "cold (page cache dropped before each run)" if args.drop_caches else "warm (corpus read once before timing)"
    if args.drop_caches:
        why = drop_caches()
        if why:
            log(f"cannot drop the page cache ({why}): measuring with a warm cache")
            args.drop_caches = False
            cache = "warm (dropping the cache was refused)"
    try:
        affinity = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        affinity = ncpu
    machine: dict[str, Any] = {
        "cores": ncpu,
        "usable_cores": affinity,
        "cpu": _cpu_model(),
        "memory_gb": round(os.sysconf("SC_PHYS_PAGES") * PAGE / 1e9, 1),
        "load_before": os.getloadavg(),
        "platform": platform.platform(),
    }
    versions = {name: t.version for name, t in tools.items()} | library_versions()
    missing = [t for t in ("hashdeep", "exiftool", "sha256sum") if t not in tools]
    print(f"machine: {machine['cores']} cores ({affinity} usable), {machine['cpu']}, {machine['memory_gb']} GB RAM")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in machine['load_before'])}; cache: {cache}")
    print(f"bytecode: {compiled}")
    for k, v in versions.items():
        print(f"  {k}: {v}")
    if missing:
        hint = "Debian: apt-get install -y hashdeep libimage-exiftool-perl"
        print(f"  not installed (skipped): {', '.join(missing)} ({hint})")
    print(f"scale {args.scale}, {args.repeat} alternated rounds, seed {args.seed}, work dir {args.workdir}")
    print()

    if args.generate_only:
        for c in args.only:
            corpus = {"memory": "many", "verify": "photos"}.get(c, c)
            root = corpora.ensure(corpus, args.workdir, params, args.jobs, log)
            n, size = corpora.tree_stats(root)
            print(f"{c}: {root}: {n} files, {size / MB:.0f} MB")
        return 0

    extra: dict[str, Any] = {"checks": {}}
    log("OpenSSL floor (md5, sha1, sha256 over an in-memory buffer, one core) ...")
    extra["openssl_floor"] = openssl_floor()
    extra["openssl_floor_parallel"] = {"processes": ncpu, "mb_s": openssl_floor_parallel(ncpu)}

    all_runs: list[Run] = []
    summaries: list[Summary] = []
    sizes: dict[str, tuple[int, int]] = {}
    out_root = args.workdir / "out"
    for corpus in [c for c in ALL_SELECTIONS if c in args.only and c not in ("memory", "verify")]:
        root = corpora.ensure(corpus, args.workdir, params, args.jobs, log)
        sizes[corpus] = corpora.tree_stats(root)
        ours = (NO_LIBMAGIC, NO_LIBMAGIC_EXIF) if corpus in PHOTO_CORPORA else (NO_LIBMAGIC,)
        names = [t for t in (*DEFAULT_TOOLS[corpus][:1], *ours, *DEFAULT_TOOLS[corpus][1:]) if t in tools]
        out = out_root / corpus
        out.mkdir(parents=True, exist_ok=True)
        if not args.drop_caches:
            warm(root)
        log(f"{corpus}: {sizes[corpus][0]} files, {sizes[corpus][1] / MB:.0f} MB; tools {', '.join(names)}")
        sums = {t: Summary(corpus, t) for t in names}
        for rnd in range(args.repeat):
            for t in names:
                if args.drop_caches:
                    drop_caches()
                tool = tools[t]
                stdout = tool.stdout_name if tool.stdout_name == os.devnull else str(out / tool.stdout_name)
                r = run_command(
                    tool.command([root], out),
                    stdout,
                    corpus=corpus,
                    tool=t,
                    rnd=rnd,
                    cache=cache,
                    stderr_path=str(out / f"{t}.stderr"),
                )
                sums[t].runs.append(r)
                all_runs.append(r)
                log(f"  round {rnd + 1}/{args.repeat} {t:<10} {r.wall_s:8.2f} s  exit {r.exit_code}")
            if corpus == "large":
                # The machine's speed drifts (other guests on the host slow every core):
                # the floor is measured again in every round, beside the runs it judges.
                extra.setdefault("large_round_floor", []).append(
                    {
                        "round": rnd,
                        "md5+sha1+sha256": openssl_floor(total=256 * MiB, repeat=1, triple_only=True)[
                            "md5+sha1+sha256"
                        ],
                        "parallel_mb_s": openssl_floor_parallel(ncpu),
                    }
                )
        summaries.extend(sums.values())
        if "evidence" in tools and (out / "evidence.jsonl").exists():
            records = read_jsonl(out / "evidence.jsonl")
            extra["checks"][corpus] = {
                "records": check_records(records, photos=corpus in PHOTO_CORPORA, gps=corpus == "photos"),
                "digests_vs_other_tools": cross_check(out, root, records),
            }
        if corpus == "small":
            log("small: the bare Python loop (read, three digests, type, a JSON line) ...")
            extra["small_bare_loop"] = bare_loop.measure(str(root))
        if corpus == "camera":
            log("camera: the bare Python loop with ExifRead (read, three digests, type, EXIF, a JSON line) ...")
            extra["camera_bare_loop"] = bare_loop.measure(str(root), exif=True)
        if corpus == "single":
            log("single: hash_fd single-thread vs threaded ...")
            f = next(p for p in root.iterdir() if p.is_file())
            extra["single_hash_fd"] = hash_fd_compare(f, args.repeat)

    if "memory" in args.only and "evidence" in tools:
        root = corpora.ensure("many", args.workdir, params, args.jobs, log)
        folders = sorted(p for p in root.iterdir() if p.is_dir())
        out = out_root / "memory"
        out.mkdir(parents=True, exist_ok=True)
        mem: dict[str, Any] = {"runs": {}}
        for label, roots in (("10%", folders[: max(1, len(folders) // 10)]), ("100%", [root])):
            nfiles = sum(corpora.tree_stats(p)[0] for p in roots)
            if not args.drop_caches:
                for p in roots:
                    warm(p)
            log(f"memory: evidence on {nfiles} files ({label}) ...")
            r = run_command(
                tools["evidence"].command(roots, out),
                os.devnull,
                corpus="many",
                tool="evidence",
                rnd=0,
                cache=cache,
                stderr_path=str(out / "evidence.stderr"),
                pss_every=1,  # the memory target: PSS on every sample
            )
            recs = sum(1 for _ in open(out / "evidence.jsonl", encoding="utf-8")) - 1
            mem["runs"][label] = {
                "files": nfiles,
                "records": recs,
                "wall_s": r.wall_s,
                "cpu_s": r.cpu_s,
                "max_rss": r.max_rss,
                "tree_rss": r.tree_rss,
                "tree_pss": r.tree_pss,
                "exit_code": r.exit_code,
                "other_load": r.other_load,
            }
            mem["runs"][label]["manifest"] = manifest_memory(roots, out, cache, log)
        extra["memory"] = mem

    if "verify" in args.only and not ("evidence" in tools and "hashdeep" in tools):
        log("verify: skipped (it compares evidence with hashdeep: both must be installed and selected)")
    elif "verify" in args.only:
        root = corpora.ensure("photos", args.workdir, params, args.jobs, log)
        nfiles, nbytes = corpora.tree_stats(root)
        out = out_root / "verify"
        out.mkdir(parents=True, exist_ok=True)
        if not args.drop_caches:
            warm(root)
        log(f"verify: the photos corpus ({nfiles} files), evidence verify vs hashdeep's audit ...")
        extra["verify"] = {"files": nfiles, "bytes": nbytes} | verify_compare(root, out, args.repeat, cache, log)

    # --- report ---
    print(f"Benchmark ({ncpu} cores; medians of {args.repeat} alternated rounds; {cache})")
    rows = print_table(summaries, sizes) if summaries else []
    print(
        "  MB/s and files/s = corpus size / median wall; /hashdeep, /exiftool = median wall over theirs "
        "(lower is better);\n  CPU s = user+system of the command and all its processes; CPU/hd = CPU time over "
        "hashdeep's (steadier than wall under load);\n  maxRSS = the largest process's own peak RSS (VmHWM); "
        "treePSS = peak PSS summed over all the command's processes\n  (both sampled every 0.1 s); other% = CPU "
        "used by other processes during the runs, as % of all cores."
    )
    print()
    fl = extra["openssl_floor"]
    print(
        "OpenSSL floor, one core, in memory, CPU time: "
        + ", ".join(f"{k} {v:.0f} MB/s" for k, v in fl.items())
        + f"; {ncpu} processes at once: {extra['openssl_floor_parallel']['mb_s']:.0f} MB/s in all (wall time)"
    )
    rf = extra.get("large_round_floor")
    if rf:
        print(
            "OpenSSL floor again after each round on large (the machine drifts): md5+sha1+sha256 "
            + ", ".join(f"{f['md5+sha1+sha256']:.0f}" for f in rf)
            + f" MB/s on one core; {ncpu} processes at once "
            + ", ".join(f"{f['parallel_mb_s']:.0f}" for f in rf)
            + " MB/s"
        )
    hf = extra.get("single_hash_fd")
    if hf:
        m = hf["median_wall_s"]
        print(
            f"single file ({hf['file_bytes'] / MB:.0f} MB), hash_fd: one thread {m['single-thread']:.2f} s "
            f"({hf['median_mb_s']['single-thread']:.0f} MB/s), a thread per digest {m['threaded']:.2f} s "
            f"({hf['median_mb_s']['threaded']:.0f} MB/s): ratio {hf['threaded_over_single']:.2f}; "
            f"same digests: {hf['same_digests']}"
        )
    mem_out = extra.get("memory")
    if mem_out:
        for label, m in mem_out["runs"].items():
            print(
                f"memory ({label}): evidence on {m['files']} files ({m['records']} records) --jsonl --csv: "
                f"{m['wall_s']:.1f} s, max RSS {m['max_rss'] / MB:.0f} MB, tree RSS {m['tree_rss'] / MB:.0f} MB, "
                f"tree PSS {m['tree_pss'] / MB:.0f} MB, exit {m['exit_code']}"
            )
            man = m.get("manifest") or {}
            for name in ("verify", "export-csv"):
                v = man.get(name)
                if v:
                    size = (man["manifest_bytes"] or 0) / MB
                    print(
                        f"memory ({label}): evidence {name} of its manifest ({size:.0f} MB): {v['wall_s']:.1f} s, "
                        f"max RSS {v['max_rss'] / MB:.0f} MB, tree PSS {v['tree_pss'] / MB:.0f} MB, "
                        f"exit {v['exit_code']}"
                    )
    vf = extra.get("verify")
    if vf:
        e, h = vf["evidence verify"], vf["hashdeep audit"]
        print(
            f"verify ({vf['files']} photos, {vf['bytes'] / MB:.0f} MB): evidence verify {e['median_wall_s']:.2f} s "
            f"(CPU {e['median_cpu_s']:.2f} s, exit {e['exit_codes']}), hashdeep -a -k {h['median_wall_s']:.2f} s "
            f"(CPU {h['median_cpu_s']:.2f} s, exit {h['exit_codes']}): evidence/hashdeep {fmt_ratio(vf['ratio'])}"
        )
    for corpus, ch in extra["checks"].items():
        rec = ch["records"]
        inc = ", ".join(f"{k} {v}" for k, v in rec["incomplete"].items()) or "none"
        digest = "; ".join(
            f"{k}: {v['mismatches']} mismatches over {v['files']} files"
            for k, v in ch["digests_vs_other_tools"].items()
        )
        print(f"check {corpus}: {rec['files']} file records; incomplete: {inc}; digests {digest or 'not compared'}")
    print()
    print("Targets of issue 6 (figures, not asserts):")
    for ln in target_lines(rows, extra, ncpu):
        print(ln)
    load_after = os.getloadavg()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in load_after)}")
    if args.json_out:
        doc = {
            "machine": machine | {"load_after": load_after},
            "versions": versions,
            "settings": {
                "scale": args.scale,
                "repeat": args.repeat,
                "seed": args.seed,
                "cache": cache,
                "evidence_args": args.evidence_args,
                "params": params.__dict__,
            },
            "corpora": {k: {"files": v[0], "bytes": v[1]} for k, v in sizes.items()},
            "table": rows,
            "runs": [r.__dict__ for r in all_runs],
            **extra,
        }
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(doc, indent=1, default=str))
        print(f"figures saved to {args.json_out}")
    return 0


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


if __name__ == "__main__":
    sys.exit(main())
