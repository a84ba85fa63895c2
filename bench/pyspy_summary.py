#!/usr/bin/env python3
"""Summarise a py-spy profile of a real (multi-process) `evidence scan` by process and stage.

    pip install py-spy        # (in any environment; it is a standalone binary)
    py-spy record --subprocesses --format raw --rate 250 -o /tmp/scan.txt -- \\
        evidence scan DIR --jsonl /tmp/o.jsonl --csv /tmp/o.csv -f jsonl --overwrite > /dev/null
    python bench/pyspy_summary.py /tmp/scan.txt

py-spy samples running (not idle) threads only, so sample counts are proportional
to CPU time. Each sample is put in the stage of its innermost frame that matches a
stage below; the process is the main one, the forkserver, or a worker.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter, defaultdict

#: (stage, regex on one frame "function (file:line)"), tried innermost frame first.
STAGES: list[tuple[str, str]] = [
    ("import / start-up", r"^<module> \("),
    ("libmagic", r"^(from_buffer|magic_buffer|_handle509Bug|coerce_filename) \(magic/"),
    ("import / start-up", r"_find_and_load|_call_with_frames_removed|exec_module|_fixup_main_from_path"),
    ("hash pass", r"^(hash_fd|_hash_threaded|consume) \("),
    ("filesystem times", r"^(fs_times|birth_time_ns|from_stat_ns) \("),
    ("open", r"^open_readonly \("),
    ("walk", r"^(walk|_walk_dir|_list|_entry|_rel|resolve_roots) \(evidence_cli/walker"),
    ("type: own checks", r"^(is_plain_text|signature|extension_fits|extension_of) \("),
    ("type: libmagic's smaller databases", r"^(_pattern_handles|_load_database|_database_reduction) \("),
    ("type: libmagic's smaller databases", r"^(hits|first_set|named_set|_reduce|_trie|emit) \(.*magicdb"),
    ("type detection (rest)", r"^(detect_type|detect|detect_text|_handles) \("),
    ("extractor {0}", r"^extract \(evidence_cli/extractors/(\w+)\.py"),
    ("extractor dispatch, time limit", r"^(run_extractors|time_limit|for_type|_expired) \("),
    ("write JSON Lines", r"\(evidence_cli/writers/json_out"),
    ("write CSV", r"\(evidence_cli/writers/csv_out"),
    ("record to_dict", r"to_dict \(evidence_cli/models"),
    ("summary", r"^add \(evidence_cli/summary"),
    ("progress / console", r"rich/"),
    ("record building (process_entry rest)", r"^(_?process_entr(y|ies)|_begin|_\w+_file|process_batch) \("),
    ("IPC (pickle, pipes, queues)", r"multiprocessing/(connection|queues|reduction)|_pickle|loads|dumps"),
    ("pool management", r"concurrent/futures|multiprocessing/"),
]
# A frame may name a method with its class ("JsonLinesWriter.write (...)").
_COMPILED = [(name, re.compile(r"^(?:[\w<>]+\.)?" + rx[1:] if rx.startswith("^") else rx)) for name, rx in STAGES]
_PROC = re.compile(r'process (\d+):"([^"]*)"(?:;|$)')


def stage_of(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, rx in _COMPILED:
            m = rx.search(frame)
            if m:
                return name.format(*m.groups()) if "{0}" in name else name
    if not frames:
        return "(no Python frame: interpreter start-up, exit, C code)"
    return "other: " + re.sub(r":\d+\)$", ")", frames[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("profile", help="py-spy --format raw output")
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args(argv)
    by_proc: Counter[str] = Counter()
    by_stage: dict[str, Counter[str]] = defaultdict(Counter)
    total = 0
    with open(args.profile, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if not line:
                continue
            stack, _, count_s = line.rpartition(" ")
            try:
                count = int(count_s)
            except ValueError:
                continue
            procs = []
            while True:
                m = _PROC.match(stack)
                if not m:
                    break
                procs.append(m.group(2))
                stack = stack[m.end() :]
            frames = [p for p in stack.split(";") if p and not p.startswith("thread ")]
            cmd = procs[-1] if procs else ""
            if len(procs) <= 1:
                role = "main process"
            elif "forkserver" in cmd and len(procs) == 2:
                role = "forkserver"
            else:
                role = "workers"
            st = stage_of(frames)
            by_proc[role] += count
            by_stage[role][st] += count
            total += count
    print(f"{total} samples (running threads only: proportional to CPU time)")
    for role, n in by_proc.most_common():
        print(f"\n{role}: {n} samples, {100 * n / total:.1f} % of all")
        for st, k in by_stage[role].most_common(args.top):
            print(f"  {st[:78]:<78} {k:>7} {100 * k / n:>6.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
