#!/usr/bin/env python3
"""How fast `evidence match` reads hash sets, and in how much memory.

Generates (seeded, so the same arguments give the same bytes) a folder of small files and
its sealed manifest, then hash sets of ``--entries`` entries in four formats: a digest
list, NSRL RDS 2's CSV, VICS JSON and an NSRL RDS 3 SQLite database with NIST's tables and
``FILE`` view. One entry in a thousand is a file of the folder, so matches are found and
written. Each format is timed in alternated rounds (``--repeat``) and the medians printed
with entries a second and peak memory (the child's maximum resident set, from
``wait4``). It asserts nothing and exits 0.

    python bench/match.py                       # 2,000,000 entries a set, 3 rounds
    python bench/match.py --entries 200000 --repeat 5 --workdir /tmp/mb
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import evidence_command, work_folder  # noqa: E402 - beside this file


def digests(data: bytes) -> tuple[str, str, str]:
    return hashlib.md5(data).hexdigest(), hashlib.sha1(data).hexdigest(), hashlib.sha256(data).hexdigest()


def make_case(folder: Path, files: int, rng: random.Random) -> list[tuple[int, tuple[str, str, str]]]:
    """``files`` small files; their (size, digests)."""
    out = []
    for i in range(files):
        data = rng.randbytes(rng.randint(1, 4096))
        sub = folder / f"d{i % 100:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i:06d}.bin").write_bytes(data)
        out.append((len(data), digests(data)))
    return out


def entries(n: int, case: list[tuple[int, tuple[str, str, str]]], rng: random.Random):  # type: ignore[no-untyped-def]
    """(size, md5, sha1, sha256) of ``n`` entries, one in a thousand a file of the case."""
    for i in range(n):
        if i % 1000 == 0:
            size, d = case[(i // 1000) % len(case)]
        else:
            size, d = rng.randint(1, 10**7), digests(i.to_bytes(8, "little"))
        yield size, *d


RDS3 = """
CREATE TABLE PACKAGE_OBJECT (package_object_id INTEGER, package_id INTEGER, object_id INTEGER);
CREATE TABLE METADATA (metadata_id NUMERIC, object_id INTEGER, file_name VARCHAR, extension VARCHAR,
    bytes INTEGER, crc32 VARCHAR, md5 VARCHAR, sha1 VARCHAR, sha256 VARCHAR);
CREATE VIEW FILE AS SELECT UPPER(md.sha256) AS sha256, UPPER(md.sha1) AS sha1, UPPER(md.md5) AS md5,
    CASE md.extension WHEN '' THEN md.file_name ELSE md.file_name||'.'||md.extension END AS file_name,
    md.bytes AS file_size, po.package_id FROM METADATA AS md, PACKAGE_OBJECT AS po
    WHERE md.object_id = po.object_id;
"""


def write_sets(work: Path, n: int, case: list[tuple[int, tuple[str, str, str]]], seed: int) -> dict[str, Path]:
    sets = {
        "digest list": work / "set.md5",
        "NSRL RDS 2 CSV": work / "NSRLFile.txt",
        "VICS JSON": work / "vics.json",
        "NSRL RDS 3 SQLite": work / "rds.db",
    }
    stamp = work / f"sets-{n}-{len(case)}-{seed}.done"
    if stamp.exists():
        return sets
    with open(sets["digest list"], "w") as lst, open(sets["NSRL RDS 2 CSV"], "w") as nsrl:
        nsrl.write('"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode","OpSystemCode","SpecialCode"\n')
        for i, (size, md5, sha1, _) in enumerate(entries(n, case, random.Random(seed))):
            lst.write(f"{md5}  file{i}\n")
            nsrl.write(f'"{sha1.upper()}","{md5.upper()}","00000000","file{i}.dll",{size},{i % 5000},"362",""\n')
    with open(sets["VICS JSON"], "w") as vics:
        vics.write('{"odata.metadata": "bench", "value": [\n')
        for i, (size, md5, sha1, _) in enumerate(entries(n, case, random.Random(seed))):
            item = {"MediaID": i, "Category": i % 4, "MD5": md5.upper(), "SHA1": sha1.upper(), "MediaSize": size}
            vics.write(("," if i else "") + json.dumps(item) + "\n")
        vics.write("]}\n")
    sets["NSRL RDS 3 SQLite"].unlink(missing_ok=True)
    db = sqlite3.connect(sets["NSRL RDS 3 SQLite"])
    db.executescript(RDS3)
    rows = (
        (i, i, f"file{i}", "dll", size, "0", md5, sha1, sha256)
        for i, (size, md5, sha1, sha256) in enumerate(entries(n, case, random.Random(seed)))
    )
    db.executemany("INSERT INTO METADATA VALUES (?,?,?,?,?,?,?,?,?)", rows)
    db.executemany("INSERT INTO PACKAGE_OBJECT VALUES (?,?,?)", ((i, i % 777, i) for i in range(n)))
    db.commit()
    db.close()
    stamp.write_text("")
    return sets


def timed(cmd: list[str]) -> tuple[float, int]:
    """(seconds, peak resident KiB) of one run of ``cmd``."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed with exit status {code}")
    return elapsed, usage.ru_maxrss


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", type=int, default=2_000_000, help="entries a set (default 2,000,000)")
    ap.add_argument("--files", type=int, default=20_000, help="files in the scanned folder (default 20,000)")
    ap.add_argument("--repeat", type=int, default=3, help="alternated rounds (default 3)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "evidence-bench-match")
    args = ap.parse_args()
    work = work_folder(args.workdir)
    evidence = evidence_command()
    case_dir, manifest = work / "case", work / "case.json"
    case_stamp = work / f"case-{args.files}-{args.seed}.done"
    rng = random.Random(args.seed)
    if not case_stamp.exists():
        subprocess.run(["rm", "-rf", str(case_dir), str(manifest)], check=True)
        case = make_case(case_dir, args.files, rng)
        subprocess.run(
            [*evidence, "scan", str(case_dir), "--no-metadata", "--json", str(manifest)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        (work / "case.digests.json").write_text(json.dumps(case))
        case_stamp.write_text("")
    case = [(size, tuple(d)) for size, d in json.loads((work / "case.digests.json").read_text())]
    sets = write_sets(work, args.entries, case, args.seed)  # type: ignore[arg-type]
    times: dict[str, list[float]] = {name: [] for name in sets}
    peaks: dict[str, int] = {name: 0 for name in sets}
    for _ in range(args.repeat):
        for name, path in sets.items():
            seconds, peak = timed([*evidence, "match", str(manifest), "--hashset", str(path), "-o", os.devnull])
            times[name].append(seconds)
            peaks[name] = max(peaks[name], peak)
    cores = os.cpu_count()
    print(
        f"evidence match: {args.files:,} scanned files against sets of {args.entries:,} entries; "
        f"{args.repeat} alternated rounds; {cores} cores; load {os.getloadavg()[0]:.2f}"
    )
    print(f"{'set':<20} {'size':>10} {'median':>9} {'entries/s':>12} {'peak memory':>12}")
    for name, path in sets.items():
        median = statistics.median(times[name])
        size = path.stat().st_size
        print(
            f"{name:<20} {size / 1e6:>8.0f} MB {median:>8.2f}s {args.entries / median:>12,.0f} "
            f"{peaks[name] / 1024:>9.0f} MB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
