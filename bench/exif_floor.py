#!/usr/bin/env python3
"""The least CPU a Python reader of a photo's EXIF can take, beside ExifRead (issue 6).

The camera target (evidence / hashdeep <= 0.70) needs an EXIF reader of our own that
takes about 150 µs of CPU a photo (bench/README.md, "Without libmagic"). Is that within
reach of Python? This walks each JPEG's EXIF block (the first APP1 ``Exif`` segment) as
a bare reader would: every IFD (IFD0, Exif, GPS, Interoperability, IFD1), every entry,
every value decoded with ``struct`` from the block in memory (rationals as pairs, ASCII
cut at its NUL, other types as numbers), tags by number, no names, no checks beyond
bounds. Then ExifRead (``details=False``, as evidence asks it) reads the same block. Both
are timed in CPU time (thread time), each photo read from memory, best of ``--repeat``.

It is a floor, not a reader: a real one also names the tags, keeps what ExifRead keeps
(printable forms, the raw values evidence exports), reports damage, and reads the maker
note's serial number.

    python bench/exif_floor.py /tmp/evidence-bench/corpora/camera
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import struct
import sys
import time
from pathlib import Path

import exifread

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from evidence_cli.formats import jpeg  # noqa: E402

#: Bytes of each TIFF field type (types 1-12), for the value's size.
_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}
_POINTERS = {0x8769, 0x8825, 0xA005}  # Exif, GPS, Interoperability IFDs
#: struct formats of the numeric types (1, 2, 5, 7 and 10 are read apart).
_FORMATS = {3: "H", 4: "I", 6: "b", 8: "h", 9: "i", 11: "f", 12: "d"}


def walk_ifds(block: bytes) -> int:
    """Decode every entry of every IFD in a TIFF block; the number of values decoded."""
    if len(block) < 8:
        return 0
    if block[:2] == b"II":
        e = "<"
    elif block[:2] == b"MM":
        e = ">"
    else:
        return 0
    h, i, hh = struct.Struct(e + "H"), struct.Struct(e + "I"), struct.Struct(e + "HHII")
    n = len(block)
    todo = [i.unpack_from(block, 4)[0]]
    seen: set[int] = set()
    decoded = 0
    while todo:
        at = todo.pop()
        if at in seen or at + 2 > n:
            continue
        seen.add(at)
        count = h.unpack_from(block, at)[0]
        end = at + 2 + 12 * count
        if end + 4 > n:
            continue
        for k in range(at + 2, end, 12):
            tag, typ, cnt, raw = hh.unpack_from(block, k)
            size = _SIZES.get(typ)
            if size is None or cnt > 1 << 16:
                continue
            where = k + 8 if size * cnt <= 4 else raw
            if where + size * cnt > n:
                continue
            if typ == 2:
                block[where : where + cnt].split(b"\0", 1)[0]
            elif typ in (1, 7):
                block[where : where + cnt]
            elif typ in (5, 10):
                struct.unpack_from(f"{e}{2 * cnt}{'I' if typ == 5 else 'i'}", block, where)
            else:
                struct.unpack_from(f"{e}{cnt}{_FORMATS[typ]}", block, where)
            decoded += 1
            if tag in _POINTERS:
                todo.append(raw)
        todo.append(i.unpack_from(block, end)[0])
    return decoded


def blocks(root: Path, limit: int) -> list[bytes]:
    out = []
    for dirpath, _, names in sorted(os.walk(root)):
        for name in sorted(names):
            data = (Path(dirpath) / name).read_bytes()
            if not jpeg.is_jpeg(data):
                continue
            found = jpeg.exif_tiff_offset(jpeg.walk(io.BytesIO(data)))
            if found is not None:
                out.append(data[found[0] : found[0] + found[1]])
            if len(out) >= limit:
                return out
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", type=Path)
    ap.add_argument("--limit", type=int, default=2000, help="Photos at most (default %(default)s)")
    ap.add_argument("--repeat", type=int, default=3, help="Passes over the photos; the best is kept")
    args = ap.parse_args(argv)
    logging.getLogger("exifread").setLevel(logging.CRITICAL)
    found = blocks(args.root, args.limit)
    if not found:
        print(f"no JPEG with an EXIF block under {args.root}")
        return 1
    best: dict[str, float] = {}
    values = 0
    for _ in range(args.repeat):
        t = time.thread_time()
        values = sum(walk_ifds(b) for b in found)
        best["bare"] = min(best.get("bare", 1e9), time.thread_time() - t)
        t = time.thread_time()
        tags = sum(len(exifread.process_file(io.BytesIO(b), details=False, extract_thumbnail=False)) for b in found)
        best["exifread"] = min(best.get("exifread", 1e9), time.thread_time() - t)
    n = len(found)
    print(f"{n} EXIF blocks from {args.root} (mean {sum(map(len, found)) / n:.0f} bytes)")
    print(f"bare IFD walk: {best['bare'] / n * 1e6:7.1f} µs CPU a photo ({values / n:.0f} values decoded a photo)")
    print(f"ExifRead:      {best['exifread'] / n * 1e6:7.1f} µs CPU a photo ({tags / n:.0f} tags a photo)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
