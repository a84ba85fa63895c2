"""Read-only opening and one-pass multi-digest hashing.

Every digest is updated from the same buffer, so the file is read once. hashlib
releases the GIL for large updates, so hashing overlaps other threads' work.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat as stat_mod
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

ALGORITHMS: dict[str, Callable[..., Any]] = {
    "md5": hashlib.md5,
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha512": hashlib.sha512,
    "blake2b": hashlib.blake2b,
}
DEFAULT_ALGORITHMS: tuple[str, ...] = ("md5", "sha1", "sha256")
#: Read size: a small file's first read, and the chunks of a large file's digest threads.
#: Small enough that a chunk is still in the cache when the digests read it (the reading
#: thread's own digests on its core, MD5 on the other); the 8 MiB chunks large files had
#: until dc9fe78 made every digest read memory: one 4 GiB file, a thread per digest, on a
#: 2-core Xeon with SHA extensions: 503 MB/s with 8 MiB, 580 with 4, 682-729 with 1 or 2
#: (one thread doing all three: 396). Smaller gains nothing more here.
CHUNK = 1024 * 1024
#: Counts the bytes every read pass reads, for the progress display (see
#: :mod:`evidence_cli.meter`); None: not counted. Anything with ``add(n)``.
meter: Any = None

_O_NOATIME = getattr(os, "O_NOATIME", 0)
#: Every open of evidence: read-only, no final symlink followed, no blocking on a FIFO,
#: not inherited by a child process, binary where the OS has the flag (computed once:
#: five lookups a file were a third of a small file's open).
_READ_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
_LIST_FLAGS = _READ_FLAGS | getattr(os, "O_DIRECTORY", 0)


def open_readonly(path: bytes | str, *, directory: bool = False) -> int:
    """Open a file read-only without following a final symlink, without blocking on a
    FIFO, and with ``O_NOATIME`` where the OS permits it (owner or CAP_FOWNER).
    ``directory=True`` opens a folder to list it (``os.scandir(fd)``), refusing anything else.

    Returns the raw file descriptor; the caller closes it.
    """
    flags = _LIST_FLAGS if directory else _READ_FLAGS
    if _O_NOATIME:
        try:
            return os.open(path, flags | _O_NOATIME)
        except OSError as exc:
            if exc.errno != errno.EPERM:
                raise
            # Not the owner: the kernel refuses O_NOATIME. Plain read-only it is.
    return os.open(path, flags)


def normalise_algorithms(names: Iterable[str]) -> tuple[str, ...]:
    """Validate and de-duplicate digest names, keeping a stable order."""
    out: list[str] = []
    for raw in names:
        n = raw.strip().lower().replace("-", "")
        if n not in ALGORITHMS:
            raise ValueError(f"unknown digest {raw!r}; choose from {', '.join(ALGORITHMS)}")
        if n not in out:
            out.append(n)
    if not out:
        raise ValueError("at least one digest is needed")
    return tuple(out)


@dataclass(frozen=True)
class HashResult:
    """Digests of one read pass, plus what the pass saw."""

    digests: dict[str, str]
    size: int
    """Bytes actually read."""
    head: bytes
    """The first bytes (up to ``head_size``) for type detection."""
    content: bytes | None
    """The whole content if it was no larger than ``keep_limit`` and ``stat`` said it would
    fit (``expected_size``); else None."""


#: Files at least this large get one thread per digest (hashlib releases the GIL on
#: large updates), so a single huge file uses every core.
THREADED_MIN = 64 * 1024 * 1024


def hash_fd(
    fd: int,
    algorithms: Iterable[str] = DEFAULT_ALGORITHMS,
    *,
    chunk_size: int = CHUNK,
    head_size: int = 64 * 1024,
    keep_limit: int = 0,
    expected_size: int | None = None,
    threaded: bool | None = None,
) -> HashResult:
    """Hash everything readable from ``fd`` in one pass (does not close it).

    Args:
        fd: an open file descriptor, positioned at the start.
        algorithms: digest names from ``ALGORITHMS``.
        chunk_size: read size (see CHUNK).
        head_size: how many leading bytes to return for type detection.
        keep_limit: keep the whole content in memory when it is at most this size (and
            ``expected_size``, when given, is too: a file that ``stat`` says is larger is
            never copied, even if it shrinks while read).
        expected_size: the size from ``stat`` (chooses the strategy; never trusted for reads).
        threaded: force (True) or forbid (False) one thread per digest; None decides by size.
    """
    names = list(algorithms)
    hashers = [ALGORITHMS[a]() for a in names]
    big = expected_size is not None and expected_size >= THREADED_MIN
    threads = 1
    counted = False
    if threaded is None and big and len(hashers) > 1:
        threads = big_file_threads()
        counted = True
    elif threaded:
        threads = usable_cores()
    head = bytearray()
    # A file larger than keep_limit is not copied piece by piece only to drop the copies
    # at the limit (64 MiB of copies per large file, about 35 ms here).
    fits = expected_size is None or expected_size <= keep_limit
    kept: list[bytes] | None = [] if keep_limit > 0 and fits else None
    total = 0

    def consume(buf: bytes | memoryview) -> None:
        # Copies only what is kept: the head, and the content while it fits keep_limit.
        nonlocal total, kept
        total += len(buf)
        if meter is not None:
            meter.add(len(buf))
        if len(head) < head_size:
            head.extend(buf[: head_size - len(head)])
        if kept is not None:
            if total <= keep_limit:
                kept.append(bytes(buf))
            else:
                kept = None

    try:
        _read_and_hash(fd, hashers, names, chunk_size, consume, threads, expected_size, keep_limit, counted)
    finally:
        if counted:
            big_file_done()
    content = b"".join(kept) if kept is not None else None
    return HashResult(
        digests={n: h.hexdigest() for n, h in zip(names, hashers)},
        size=total,
        head=bytes(head),
        content=content,
    )


def _read_and_hash(
    fd: int,
    hashers: list[Any],
    names: list[str],
    chunk_size: int,
    consume: Callable[[bytes | memoryview], None],
    threads: int,
    expected_size: int | None,
    keep_limit: int,
    may_grow: bool = False,
) -> None:
    """The read loop; ``may_grow``: a large file that started on one thread moves to the
    threaded pipeline once cores have stayed free for ``GROW_AFTER_S`` (another worker's
    large file ended)."""
    if threads > 1:
        _hash_threaded(fd, hashers, names, chunk_size, consume, threads)
        return
    if mapped_reads and expected_size is not None and expected_size >= THREADED_MIN and expected_size > keep_limit:
        done, spare = _hash_mapped(fd, hashers, consume, may_grow)
        if done:
            # The rest (a file that grew, or a window that could not be mapped) is read as
            # usual from where the maps stopped, to the end of the file.
            os.lseek(fd, done, os.SEEK_SET)
            if spare:
                _hash_threaded(fd, hashers, names, chunk_size, consume, 1 + spare)
            else:
                _stream_rest(fd, hashers, names, chunk_size, consume, may_grow)
            return
        # Nothing could be mapped: ordinary reads from the start.
    # For a file whose size we know, ask for one byte more than that size: a short
    # read of exactly the expected size is the end of the file, which spares small
    # files a second system call and a 1 MiB buffer. (Growth after that read is
    # still caught: the scanner compares the size before and after.)
    # A file that will be kept in memory anyway is read in one call (no joining of
    # chunks: one copy fewer for every photo).
    if expected_size is not None and expected_size >= 0:
        want = expected_size + 1 if expected_size < keep_limit else min(chunk_size, expected_size + 1)
    else:
        want = chunk_size
    buf = os.read(fd, want)
    for h in hashers:
        h.update(buf)
    consume(buf)
    if not buf or (len(buf) == expected_size and len(buf) < want):
        return
    _stream_rest(fd, hashers, names, chunk_size, consume, may_grow)


#: Read size of the single-thread loop after its first read, and the piece of a memory map
#: the digests take in turn. One buffer is read into again and again: a fresh ``bytes`` per
#: read costs page faults and zeroing. The first digest brings a piece from memory into the
#: cache, the others read it there only if it fits the core's own cache: two processes
#: hashing 4 GiB of cached files through maps got 791-795 MB/s with 256 KiB pieces, 754-764
#: with 1 MiB, 632 with 8 MiB (2-core Xeon; reads into a reused buffer: 783-786 MB/s for
#: 256 KiB and 1 MiB alike, 770 for 8 MiB; on the AMD EPYC of earlier runs 1 MiB reused
#: gave 392-400 MB/s a core, 8 MiB ``os.read`` 371-387).
STREAM_CHUNK = 256 * 1024


def _stream_rest(
    fd: int,
    hashers: list[Any],
    names: list[str],
    chunk_size: int,
    consume: Callable[[bytes | memoryview], None],
    may_grow: bool,
) -> None:
    """The rest of a file on one thread, to its end (``consume`` copies what it keeps)."""
    size = min(chunk_size, STREAM_CHUNK)
    stream = bytearray(size)
    view = memoryview(stream)
    grow = _GrowCheck(gate) if may_grow and gate is not None else None
    with open(fd, "rb", buffering=0, closefd=False) as raw:
        while True:
            n = _read_into(raw, stream)
            if not n:
                break
            cur = view[:n] if n < size else view
            for h in hashers:
                h.update(cur)
            consume(cur)
            if grow is not None and (spare := grow()):
                _hash_threaded(fd, hashers, names, chunk_size, consume, 1 + spare)
                break


class _GrowCheck:
    """Called after each chunk of a large file on one thread: the number of spare cores
    once some have stayed spare for ``GROW_AFTER_S`` (another worker's large file ended;
    see BigFileGate), else 0."""

    def __init__(self, gate: BigFileGate) -> None:
        self.gate = gate
        self.free_since: float | None = None

    def __call__(self) -> int:
        spare = self.gate.spare()
        if spare <= 0:
            self.free_since = None
            return 0
        now = time.monotonic()
        if self.free_since is None:
            self.free_since = now
        return spare if now - self.free_since >= GROW_AFTER_S else 0


#: Large files are read through read-only memory maps in the worker processes of a scan
#: (the engine sets this in each worker it starts for the first pass, and nowhere else):
#: the digests then read the page cache itself instead of a copy of each chunk (measured
#: here on 1 GiB files with two workers: a bare loop 4-10 % faster warm and no slower
#: cold; a whole scan of the benchmark's ``large`` corpus about 3 % less time). A file
#: truncated (or a disk failing) under a map kills the process with SIGBUS instead of
#: raising an error, so only a process whose death the engine survives maps: it then
#: reads that worker's entries again in processes that leave this False (ordinary reads,
#: the same digests, the truncation reported as a change). ``--workers 0``, Dask
#: workers and ``verify`` never map.
mapped_reads = False
#: Bytes mapped at a time (a multiple of every platform's allocation granularity), so a
#: map stays far below ``--memory-limit``.
MAP_WINDOW = 16 * 1024 * 1024


def _map_window(fd: int, length: int, offset: int) -> Any:
    """A read-only map of ``length`` bytes of ``fd`` at ``offset``, read ahead in order."""
    import mmap

    m = mmap.mmap(fd, length, access=mmap.ACCESS_READ, offset=offset)
    advise = getattr(m, "madvise", None)
    sequential = getattr(mmap, "MADV_SEQUENTIAL", None)
    if advise is not None and sequential is not None:
        try:
            advise(sequential)
        except OSError:  # only a hint
            pass
    return m


def _hash_mapped(
    fd: int, hashers: list[Any], consume: Callable[[bytes | memoryview], None], may_grow: bool
) -> tuple[int, int]:
    """Hash a regular file from its start through read-only maps of ``MAP_WINDOW`` bytes.

    Each window ends at most at the size the file has when it is mapped (``fstat`` before
    each map), so a file that shrank before a window is never mapped past its end. Stops
    at that size, or at a window that cannot be mapped (a filesystem without maps, the
    address-space limit): returns the bytes hashed, from which the caller reads on, and
    the spare cores the file should now use (0: stay on this thread; see _GrowCheck).
    """
    done = 0
    grow = _GrowCheck(gate) if may_grow and gate is not None else None
    while True:
        try:
            st = os.fstat(fd)
        except OSError:
            break
        length = min(MAP_WINDOW, st.st_size - done)
        if not stat_mod.S_ISREG(st.st_mode) or length <= 0:
            break
        try:
            window = _map_window(fd, length, done)
        except (OSError, ValueError, OverflowError):
            break
        with window, memoryview(window) as view:
            for start in range(0, length, STREAM_CHUNK):
                with view[start : start + STREAM_CHUNK] as piece:
                    for h in hashers:
                        h.update(piece)
                    consume(piece)
        done += length
        if grow is not None and (spare := grow()):
            return done, spare
    return done, 0


def _read_into(raw: Any, buf: bytearray) -> int:
    """``raw.readinto(buf)``, where "no data now" is an error, as ``os.read`` makes it:
    ``FileIO.readinto`` returns None for it (a descriptor in non-blocking mode with nothing
    to read), which taken for the end would give the digests of part of the file."""
    n = raw.readinto(buf)
    if n is None:
        raise BlockingIOError(errno.EAGAIN, "no data to read now (non-blocking descriptor)")
    return int(n)


#: A worker's large file takes free cores only once they have stayed free this long: two
#: workers that start large files at the same moment (or one between two files) would
#: otherwise each see a free core, and three threads would share two cores.
GROW_AFTER_S = 0.1


#: Relative CPU cost of each digest per byte (OpenSSL on x86-64 with SHA extensions;
#: used only to spread digests over threads, so rough is fine).
DIGEST_COST = {"md5": 1.0, "sha1": 0.4, "sha256": 0.42, "sha512": 0.7, "blake2b": 0.6}


def digest_groups(names: list[str], threads: int) -> list[list[int]]:
    """Indexes of ``names`` spread over ``threads`` groups, costliest first into the
    least loaded group (with 2 cores: MD5 alone, SHA-1 + SHA-256 together)."""
    threads = max(1, min(threads, len(names)))
    groups: list[list[int]] = [[] for _ in range(threads)]
    load = [0.0] * threads
    for i in sorted(range(len(names)), key=lambda i: -DIGEST_COST.get(names[i], 1.0)):
        g = load.index(min(load))
        groups[g].append(i)
        load[g] += DIGEST_COST.get(names[i], 1.0)
    return [g for g in groups if g]


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class BigFileGate:
    """Shares the cores among worker processes that hash large files at the same time.

    Each worker's large file is counted while it is hashed (a count shared by the workers).
    It starts on one thread and takes one thread per spare core (the cores minus the
    large files being hashed) once cores have stayed spare for ``GROW_AFTER_S``: one huge
    file alone uses every core; four large files on two workers get one thread each
    instead of four threads fighting over two cores, and the last one takes both cores
    when the others are done. Only speed depends on this, never a digest.
    """

    def __init__(self, counter: Any) -> None:
        self.counter = counter  # a multiprocessing.Value("i") shared by the workers

    def enter(self) -> None:
        with self.counter.get_lock():
            self.counter.value += 1

    def spare(self) -> int:
        """Cores no large file holds right now (a snapshot: it may change at once; only speed depends on it)."""
        return usable_cores() - int(self.counter.value)

    def leave(self) -> None:
        with self.counter.get_lock():
            self.counter.value -= 1


#: Set in each worker process by the engine; None: this process is alone (all cores).
gate: BigFileGate | None = None


def big_file_threads() -> int:
    """Threads for a large file that starts now; pair with big_file_done(). Alone in its
    process (no gate): every core. In a worker: one, until cores stay free (see BigFileGate)."""
    if gate is None:
        return usable_cores()
    gate.enter()
    return 1


def big_file_done() -> None:
    if gate is not None:
        gate.leave()


#: Read buffers in the threaded pipeline: the reader may run this many chunks ahead of
#: the slowest digest thread (absorbs uneven scheduling without a barrier per chunk).
RING = 4


def _hash_threaded(
    fd: int,
    hashers: list[Any],
    names: list[str],
    chunk_size: int,
    consume: Callable[[bytes | memoryview], None],
    threads: int,
) -> None:
    """Digests spread over one thread per core, with no barrier between chunks.

    The calling thread reads each chunk and also runs the lightest digest group (with 2
    cores: it reads and does SHA-1 + SHA-256 while a second thread does MD5, the two loads
    about equal); every other group has its own thread fed through a queue. A buffer of
    the ring is read into again only once every group has hashed it, so each digest sees
    every byte exactly once, in order, and the slowest digest never waits for a slow read.
    """
    import queue
    import threading

    groups = [[hashers[i] for i in g] for g in digest_groups(names, threads)]
    own, others = groups[-1], groups[:-1]
    bufs = [bytearray(chunk_size) for _ in range(RING if others else 1)]
    views = [memoryview(b) for b in bufs]
    free: queue.SimpleQueue[int] = queue.SimpleQueue()
    for i in range(len(bufs)):
        free.put(i)
    feeds: list[queue.SimpleQueue[tuple[int, int] | None]] = [queue.SimpleQueue() for _ in others]
    users = [0] * len(bufs)
    lock = threading.Lock()
    failures: list[BaseException] = []

    def release(i: int) -> None:
        with lock:
            users[i] -= 1
            last = users[i] == 0
        if last:
            free.put(i)

    def digest_thread(feed: queue.SimpleQueue[tuple[int, int] | None], group: list[Any]) -> None:
        while (item := feed.get()) is not None:
            i, n = item
            try:
                if not failures:
                    for h in group:
                        h.update(views[i][:n])
            except BaseException as exc:  # noqa: BLE001 - re-raised by the reading thread
                failures.append(exc)
            finally:
                release(i)

    helpers = [
        threading.Thread(target=digest_thread, args=(feed, g), name="digest", daemon=True)
        for feed, g in zip(feeds, others)
    ]
    for t in helpers:
        t.start()
    try:
        with open(fd, "rb", buffering=0, closefd=False) as raw:
            while not failures:
                i = free.get()
                n = _read_into(raw, bufs[i])
                if not n:
                    break
                cur = views[i][:n]
                users[i] = len(others)
                for feed in feeds:
                    feed.put((i, n))
                for h in own:
                    h.update(cur)
                consume(cur)
                if not others:
                    free.put(i)
    finally:
        for feed in feeds:
            feed.put(None)
        for t in helpers:
            t.join()
    if failures:
        raise failures[0]


class EntryReplaced(Exception):
    """The path no longer names the regular file the walk saw (swapped for a FIFO, a
    link or another file between the walk and the open)."""


def hash_entry(
    path: bytes,
    st: os.stat_result,
    algorithms: Iterable[str],
    *,
    keep_limit: int = 0,
    head_size: int = 64 * 1024,
) -> HashResult:
    """Open a walked regular file read-only (no symlink, no blocking), check it is still
    the file whose ``lstat`` is ``st``, and hash it in one pass.

    Raises:
        OSError: it cannot be opened or read.
        EntryReplaced: it is no longer that regular file.
    """
    fd = open_readonly(path)
    try:
        fst = os.fstat(fd)
        if not stat_mod.S_ISREG(fst.st_mode) or (fst.st_dev, fst.st_ino) != (st.st_dev, st.st_ino):
            raise EntryReplaced("the entry was replaced before it was read")
        return hash_fd(fd, algorithms, keep_limit=keep_limit, head_size=head_size, expected_size=st.st_size)
    finally:
        os.close(fd)


def changed_while_read(path: bytes, st: os.stat_result, result: HashResult) -> bool:
    """True when the file's size, modification time, change time or inode differ from ``st``
    after the read, or the read did not see ``st.st_size`` bytes: its digests may not be its
    content. The change time (ctime) catches a file rewritten in place whose modification
    time was then set back (sync clients, ``touch -r``): the kernel sets it on every write
    and nobody can set it back. Reading never changes it; a metadata change during the read
    (chmod, a new hard link) does, and is flagged too, as the safe side."""
    try:
        after = os.lstat(path)
    except OSError:
        return True
    return (
        after.st_size != st.st_size
        or after.st_mtime_ns != st.st_mtime_ns
        or after.st_ctime_ns != st.st_ctime_ns
        or after.st_ino != st.st_ino
        or result.size != st.st_size
    )


def hash_bytes(data: bytes, algorithms: Iterable[str] = DEFAULT_ALGORITHMS) -> dict[str, str]:
    """Digests of an in-memory buffer (for tests and small helpers)."""
    return {a: ALGORITHMS[a](data).hexdigest() for a in algorithms}
