#!/usr/bin/env python3
"""What reading an archive in place costs, against extracting it and scanning the folder.

Generates (seeded: the same arguments give the same bytes) ``--photos`` camera-like JPEGs
(``camera.py``: maker notes, thumbnail, XMP, capture time, GPS) and a WhatsApp-like chat,
zipped with deflate as phones and zip tools do, and the same files extracted beside it.
Then, in alternated rounds (``--repeat``), times:

* ``evidence scan`` of the folder holding the zip (the archive reader lists, hashes and
  types every member, and reads the first 200 with the metadata readers);
* ``unzip`` of the archive into a fresh folder, then ``evidence scan`` of that folder
  (what an examiner does without the archive reader: every member becomes a file);
* ``hashdeep -r -c md5,sha1,sha256`` of the extracted folder, where installed.

It prints medians and the ratios, and checks that every member's digests in the
archive's record equal those of the same file scanned extracted. It asserts nothing
about speed and exits 0 (1 when the check fails).

    python bench/archive.py                      # 500 photos, 5 rounds
    python bench/archive.py --photos 200 --repeat 3 --workdir /tmp/ab
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from camera import make_camera_jpeg  # noqa: E402 - beside this file
from common import evidence_command, work_folder  # noqa: E402
from corpora import random_bytes  # noqa: E402


def make_archive(work: Path, photos: int, seed: int) -> tuple[Path, Path]:
    """The folder holding the zip, and the folder holding its members extracted."""
    zipped, extracted = work / "zipped", work / "extracted"
    stamp = work / f"archive-{photos}-{seed}.done"
    if stamp.exists():
        return zipped, extracted
    shutil.rmtree(zipped, ignore_errors=True)
    shutil.rmtree(extracted, ignore_errors=True)
    zipped.mkdir(parents=True)
    rng = random.Random(f"archive:{seed}")
    lines = []
    with zipfile.ZipFile(zipped / "WhatsApp Chat with Sam.zip", "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(photos):
            data, _ = make_camera_jpeg(rng, lambda r, n: random_bytes(r, n, seed))
            name = f"IMG-2019{(i // 28) % 12 + 1:02d}{i % 28 + 1:02d}-WA{i:04d}.jpg"
            info = zipfile.ZipInfo(name, date_time=(2019, (i // 28) % 12 + 1, i % 28 + 1, 12, i % 60, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
            day, month = i % 28 + 1, (i // 28) % 12 + 1
            lines.append(f"[{day:02d}/{month:02d}/2019, 12:{i % 60:02d}:00] Sam: <attached: {name}>")
        chat = ("\n".join(lines) + "\n").encode()
        z.writestr(zipfile.ZipInfo("_chat.txt", date_time=(2019, 12, 31, 23, 0, 0)), chat)
    with zipfile.ZipFile(zipped / "WhatsApp Chat with Sam.zip") as z:
        z.extractall(extracted)
    stamp.write_text("")
    return zipped, extracted


def timed(cmd: list[str], cwd: Path | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed with exit status {done.returncode}")
    return elapsed


def check(evidence: list[str], zipped: Path, extracted: Path, work: Path) -> int:
    """Members whose digests differ from the extracted file's (0 when all agree)."""
    a, b = work / "zipped.json", work / "extracted.json"
    for folder, out in ((zipped, a), (extracted, b)):
        out.unlink(missing_ok=True)
        subprocess.run([*evidence, "scan", str(folder), "--json", str(out)], stdout=subprocess.DEVNULL, check=False)
    (record,) = json.loads(a.read_text())["files"]
    files = {r["path"]: r["hashes"] for r in json.loads(b.read_text())["files"]}
    members = record["metadata"]["archive"]["members"]
    wrong = sum(1 for m in members if files.get(m["name"]) != {k: m.get(k) for k in ("md5", "sha1", "sha256")})
    read = sum(1 for m in members if "captured" in m)
    print(f"check: {len(members)} members, {len(members) - wrong} with the extracted file's digests; {read} read")
    return wrong


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=500, help="photos in the archive (default 500)")
    ap.add_argument("--repeat", type=int, default=5, help="alternated rounds (default 5)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "evidence-bench-archive")
    args = ap.parse_args()
    work = work_folder(args.workdir)
    evidence = evidence_command()
    zipped, extracted = make_archive(work, args.photos, args.seed)
    size = (zipped / "WhatsApp Chat with Sam.zip").stat().st_size
    unzip, hashdeep = shutil.which("unzip"), shutil.which("hashdeep")
    times: dict[str, list[float]] = {"scan the zip": [], "unzip, then scan the folder": [], "hashdeep the folder": []}
    for _ in range(args.repeat):
        times["scan the zip"].append(timed([*evidence, "scan", str(zipped), "--jsonl", os.devnull]))
        if unzip:
            out = work / "unzipped"
            shutil.rmtree(out, ignore_errors=True)
            start = time.perf_counter()
            subprocess.run([unzip, "-q", str(zipped / "WhatsApp Chat with Sam.zip"), "-d", str(out)], check=True)
            seconds = time.perf_counter() - start
            times["unzip, then scan the folder"].append(
                seconds + timed([*evidence, "scan", str(out), "--jsonl", os.devnull])
            )
        if hashdeep:
            times["hashdeep the folder"].append(timed([hashdeep, "-r", "-c", "md5,sha1,sha256", str(extracted)]))
    print(
        f"archive: {args.photos} camera photos and a chat, {size / 1e6:.0f} MB zipped (deflate); "
        f"{args.repeat} alternated rounds; {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}"
    )
    base = statistics.median(times["scan the zip"])
    for name, values in times.items():
        if values:
            median = statistics.median(values)
            print(f"{name:<30} {median:>7.2f} s   scan the zip / this: {base / median:.2f}")
    return 1 if check(evidence, zipped, extracted, work) else 0


if __name__ == "__main__":
    raise SystemExit(main())
