#!/usr/bin/env python3
"""Check our libmagic answers against libmagic's own two answers on its whole database.

Two shortcuts are checked: the one-walk answer for unidentified data, and the smaller
copies of the database a buffer may be typed with (``magicdb.Reduction``).

The scanner asks libmagic for a MIME type separately only when it cannot prove, from the
compiled database libmagic loaded (``evidence_cli.formats.magicdb``), that the answer is
``application/octet-stream``. The unit tests check that on random and crafted buffers;
this tool checks it on real files and on damaged copies of them (the first bytes
replaced, a piece cut off the front, bytes flipped, junk put in front: most of these
become "data" for libmagic while keeping real structure further in). Run it after a
libmagic upgrade:

    python bench/magic_data_check.py /usr/lib /usr/share /work/shared/corpus --limit 20000

It prints how many buffers libmagic described as "data", which MIME types it gave them,
whether the database was proven (and its guards), and every difference (there must be
none). Exit status 1 if any buffer differs.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from collections import Counter
from pathlib import Path


def files_under(roots: list[Path]) -> list[Path]:
    out: list[Path] = []
    for root in roots:
        for d, _, names in os.walk(root):
            for n in names:
                p = Path(d, n)
                if p.is_file() and not p.is_symlink():
                    out.append(p)
    return out


def damaged(head: bytes, rng: random.Random) -> bytes:
    buf = bytearray(head)
    kind = rng.randrange(4)
    if kind == 0:
        buf[0 : rng.randint(1, 8)] = rng.randbytes(rng.randint(1, 8))
    elif kind == 1:
        buf = buf[rng.randint(1, 64) :]
    elif kind == 2:
        for _ in range(rng.randint(1, 20)):
            if buf:
                buf[rng.randrange(len(buf))] = rng.randrange(256)
    else:
        buf = bytearray(rng.randbytes(rng.randint(0, 40))) + buf
    return bytes(buf)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("roots", nargs="+", type=Path)
    ap.add_argument("--limit", type=int, default=20000, help="files to read (default %(default)s)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    import magic

    from evidence_cli import filetype
    from evidence_cli.formats import magicdb

    guards = magicdb.databases_guards(filetype._default_databases())
    if guards is None:
        print("this libmagic database gives no proof: every file gets both walks (nothing to check)")
        return 0
    print(f"database proven; {len(guards.pairs)} guards: {sorted({g for _, g in guards.pairs})}")
    full_mime, full_desc = magic.Magic(mime=True), magic.Magic()
    rng = random.Random(args.seed)
    paths = files_under(args.roots)
    rng.shuffle(paths)
    reduction = filetype._database_reduction(filetype._default_databases())
    print(
        "no smaller database: every buffer walks the whole one"
        if reduction is None
        else f"smaller database: {reduction.left_out} blocks a buffer may do without"
    )
    buffers = data = shortcut_used = diffs = smaller = 0
    mimes: Counter[str] = Counter()
    for p in paths[: args.limit]:
        try:
            with open(p, "rb") as fh:
                head = fh.read(64 * 1024)
        except OSError:
            continue
        for buf in (head, damaged(head, rng)):
            if not buf:
                continue
            buffers += 1
            got = filetype._detector.detect(buf)
            smaller += reduction is not None and reduction.hits(buf) is not None
            want = (full_mime.from_buffer(buf), full_desc.from_buffer(buf))
            if want[1] == "data":
                data += 1
                mimes[want[0]] += 1
                shortcut_used += not guards.hit(buf)
            if got != want:
                diffs += 1
                print(f"DIFFERENT {p}: ours {got}, libmagic {want}")
    print(
        f"{buffers} buffers ({min(len(paths), args.limit)} files and a damaged copy of each); "
        f"{data} described as data, one walk for {shortcut_used}; libmagic's MIME for them: {dict(mimes)}; "
        f"{smaller} could use a smaller database; "
        f"{diffs} differences"
    )
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
