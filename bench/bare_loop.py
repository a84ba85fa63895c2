#!/usr/bin/env python3
"""The least a Python scan can spend per file: a bare loop over a tree (issue 6).

For every regular file: lstat, open, one read, MD5+SHA-1+SHA-256, close, and the type
answer evidence gives (``filetype.detect_type``: libmagic where it is needed), then one
JSON line; nothing else (no records, no extractors, no filesystem times, no workers, no
CSV). Prints the CPU time per file of the whole loop and of its type detection alone,
and the loop spread perfectly over the cores: a lower bound for ``evidence scan`` on that
tree in Python with libmagic, to set beside hashdeep's time on the same tree
(``bench/run.py`` runs it on the small corpus).

With ``--exif``, the loop also hands every JPEG to ExifRead (``details=False``, no
thumbnail: the least evidence asks of it) and nothing more: the lower bound on photos
with the EXIF library evidence uses (``bench/run.py`` runs it on the camera corpus).

    python bench/bare_loop.py /tmp/evidence-bench/corpora/small
    python bench/bare_loop.py /tmp/evidence-bench/corpora/camera --exif
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import os
import time
from typing import Any


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def measure(root: str, limit: int = 0, exif: bool = False) -> dict[str, Any]:
    """CPU time of the bare loop over the regular files under ``root`` (and of ExifRead on
    every JPEG when ``exif``)."""
    from evidence_cli.filetype import detect_type

    if exif:
        import exifread

        logging.getLogger("exifread").setLevel(logging.CRITICAL)  # damaged EXIF says nothing

    paths: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        paths.extend(os.path.join(folder, f) for f in sorted(files))
    if limit:
        paths = paths[:limit]
    detect_type("x.png", b"\x89PNG\r\n\x1a\n")  # libmagic loaded before timing
    type_ns = exif_ns = 0
    with open(os.devnull, "w", encoding="utf-8") as out:
        t0 = time.process_time_ns()
        for p in paths:
            st = os.lstat(p)
            fd = os.open(p, os.O_RDONLY)
            try:
                data = os.read(fd, st.st_size + 1)
            finally:
                os.close(fd)
            digests = [h(data).hexdigest() for h in (hashlib.md5, hashlib.sha1, hashlib.sha256)]
            t1 = time.process_time_ns()
            ft = detect_type(os.path.basename(p), data[: 64 * 1024])
            t2 = time.process_time_ns()
            type_ns += t2 - t1
            if exif and ft.mime == "image/jpeg":
                exifread.process_file(io.BytesIO(data), details=False, extract_thumbnail=False)
                exif_ns += time.process_time_ns() - t2
            out.write(json.dumps({"path": p, "size": st.st_size, "mime": ft.mime, "hashes": digests}) + "\n")
        total = time.process_time_ns() - t0
    return {
        "files": len(paths),
        "cpu_s": total / 1e9,
        "type_cpu_s": type_ns / 1e9,
        "exif_cpu_s": exif_ns / 1e9,
        "cores": cores(),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root")
    ap.add_argument("--limit", type=int, default=0, help="stop after this many files (0: all)")
    ap.add_argument("--exif", action="store_true", help="also read every JPEG's EXIF with ExifRead")
    args = ap.parse_args()
    m = measure(args.root, args.limit, args.exif)
    n = max(1, m["files"])
    print(f"{m['files']} files under {args.root}")
    print(f"bare loop: {m['cpu_s']:.2f} CPU-s, {m['cpu_s'] / n * 1e6:.0f} µs per file")
    print(f"  of which type detection: {m['type_cpu_s']:.2f} CPU-s, {m['type_cpu_s'] / n * 1e6:.0f} µs per file")
    if args.exif:
        print(f"  of which ExifRead: {m['exif_cpu_s']:.2f} CPU-s, {m['exif_cpu_s'] / n * 1e6:.0f} µs per file")
    print(f"  without type detection: {(m['cpu_s'] - m['type_cpu_s']) / n * 1e6:.0f} µs per file")
    print(f"spread perfectly over {m['cores']} cores: {m['cpu_s'] / m['cores']:.2f} s wall at best")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
