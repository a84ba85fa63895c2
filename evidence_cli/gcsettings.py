"""The garbage collector's settings for this program's processes (see :func:`settle`).

A scan allocates and frees a few dozen containers per file (records, their dicts and
lists, stat results). Reference counting frees nearly all of them: the cyclic collector
finds almost nothing, but with Python's default settings it runs a young collection every
700 net allocations, and every few dozen of those a full one that walks every object
alive, the tens of thousands the program imported (click, rich, the extractors, the
magic database's tables) included.

Measured on 50,000 small files (2-core Xeon, ``--jsonl --csv -f jsonl``): the main
process spent 70-80 ms of its 2.0-2.1 s of CPU in the collector, a worker about 1.7 µs a
file (2 % of its time), over half of it walking the imported objects again.
"""

from __future__ import annotations

import gc

#: Net allocations of containers between two young collections (Python's default: 700).
#: With 5,000 or 20,000 the collector took 7-10 ms of the main process's CPU on that scan.
#: Only cyclic garbage (rare here: reference counting frees the records) waits longer to
#: be freed, for up to 10,000 allocations in the young generation instead of 700.
YOUNG_THRESHOLD = 10_000


def settle() -> None:
    """Called once the process has imported what it runs: the objects alive now are kept
    out of every later collection (``gc.freeze``), and young collections come less often.

    In the fork server that starts the workers, it also keeps the imported objects' pages
    shared with the workers forked from it: a collection writes to the header of every
    object it walks, which copies that object's page into the worker (on 100,000 files the
    scan's processes together took 132-133 MB of PSS against 137-143 MB before).
    """
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
