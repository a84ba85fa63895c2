"""Running the per-entry work: in-process, across worker processes, or on a Dask cluster.

Whatever runs the work, records come back in walk order (sorted paths), so the output
is identical for any number of workers. With many workers (see :func:`workers_convert`)
they also convert each record to the text of the scan's exports
(``ScanOptions.prerender``): the main process, which walks the folders and writes every
record, then only writes it.

Entries are sent in batches (16 entries, then twice as many each time up to 128: few
hand-offs for many small files, and work for every worker early; a large file travels
alone) with a bounded number of batches in flight, so memory stays flat however many
files there are.

Worker processes isolate the scan from crashes in C libraries (libmagic, Pillow,
zlib): if a worker dies, the batches it held are re-run one entry at a time in a fresh
pool, and an entry that kills a worker again gets a record with an error — the scan
goes on. Workers ignore SIGINT (the parent decides how to stop) and may run under an
address-space limit so a memory bomb raises MemoryError inside the worker instead of
exhausting the machine.
"""

from __future__ import annotations

import hashlib
import logging
import os
import select
import signal
import stat
import sys
import threading
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

from evidence_cli import __version__, components, meter, mpstart, threadlimit
from evidence_cli.meter import waiting
from evidence_cli.models import FileRecord, Problem
from evidence_cli.walker import Entry, display_path, folder_names

if TYPE_CHECKING:
    from evidence_cli.scanner import ScanOptions

log = logging.getLogger(__name__)

#: The first batch holds this many entries, and each next one twice as many ...
BATCH_FIRST = 16
#: ... up to this many (fewer hand-offs for many small files: on 50,000 of them, 128
#: took 3-8 % less time than 32, and 9 % less CPU in the main process; the small first
#: ones give every worker work early) ...
BATCH_ENTRIES = 128
#: ... and at most this many bytes of regular files (a bigger file travels alone).
BATCH_BYTES = 32 * 1024 * 1024
#: Batches in flight per worker.
WINDOW_PER_WORKER = 4


#: The smallest --memory-limit (MiB) besides 0. A worker's own address space reaches about
#: 240 MB here (Python, libmagic and its database, Pillow, its threads' stacks): with 150
#: MiB workers died inside multiprocessing itself, receiving tasks or sending records back,
#: with tracebacks on the terminal (200 and 256 got through the benchmark's corpora); more
#: threads, and their memory arenas, need more on larger machines.
MIN_MEMORY_LIMIT = 512


#: Local worker processes from which they convert the records to the exports' text
#: (see workers_convert).
CONVERT_FROM = 4


def workers_convert(workers: int, scheduler: Any = None) -> bool:
    """Do the workers convert the records to the exports' text (``writers.prerender``), or
    the main process? It depends on which of them limits the scan.

    Measured on 50,000 small files (2-core Xeon, 4 alternated pairs): the main process
    spends about 54 µs of CPU a file (the walk, the hand-offs, converting and writing), 30
    when it only writes; a worker about 130 µs a file, and about 30 more when it converts
    (its text then also crosses a pipe). Converting in the workers costs a little more CPU
    in all, so it pays only where the main process is the limit: one that converts keeps
    about 130 / 54 = 2.4 workers busy, one that only writes about 160 / 30 = 5.3 (a worker
    takes longer over a photo: more). On 2 workers, converting in them took as long (4.81 -
    5.39 s against 4.79 - 5.11 s); before the workers typed their files together, it made
    the scan 11 % slower. Dask workers always convert: a cluster is many workers, one main
    process."""
    return scheduler is not None or workers >= CONVERT_FROM


def default_workers() -> int:
    """All the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def max_workers() -> int:
    """The most worker processes a scan may start: 8 per core, at least 32. More only
    compete for the cores (I/O waits included) while each takes tens of MB."""
    return max(32, 8 * default_workers())


def batches(entries: Iterable[Entry]) -> Iterator[list[Entry]]:
    """Group consecutive entries by count and bytes, keeping their order."""
    batch: list[Entry] = []
    size = 0
    limit = min(BATCH_FIRST, BATCH_ENTRIES)
    for e in entries:
        esize = e.stat.st_size if (e.stat is not None and e.kind == "file") else 0
        if batch and (len(batch) >= limit or size + esize > BATCH_BYTES):
            yield batch
            batch, size = [], 0
            limit = min(2 * limit, BATCH_ENTRIES)
        batch.append(e)
        size += esize
    if batch:
        yield batch


def process_batch(batch: list[Entry], options: ScanOptions) -> list[FileRecord]:
    """The work of one batch (runs in a worker): the records, converted to the text of the
    scan's exports (``options.prerender``: the main process then only writes them)."""
    from evidence_cli.scanner import process_entries
    from evidence_cli.writers import prerender

    return [prerender(r, options.prerender) for r in process_entries(batch, options)]


def _init_worker(
    memory_limit: int | None,
    big_files: Any = None,
    scan_pid: int | None = None,
    mapped: bool = False,
    meter: Any = None,
) -> None:
    # The parent handles Ctrl-C, SIGTERM and a terminal hang-up, and then stops the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    if scan_pid is not None:
        threading.Thread(target=_exit_with, args=(scan_pid,), name="exit-with-scan", daemon=True).start()
    # What libraries log about damaged files is collected into problems by the
    # extractors; nothing may reach the shared terminal raw via Python's last resort.
    logging.getLogger().addHandler(logging.NullHandler())
    # The working folder may be evidence (`cd case && evidence scan .`): an import that
    # searched it would list it and change its access time. Never import from there.
    cwd = mpstart.current_dir()
    sys.path[:] = [p for p in sys.path if p not in ("", ".", cwd)]
    _no_core_dumps()
    if memory_limit:
        try:
            import resource

            soft, hard = resource.getrlimit(resource.RLIMIT_AS)
            limit = memory_limit if hard == resource.RLIM_INFINITY else min(memory_limit, hard)
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
        except (ImportError, ValueError, OSError):  # not on this platform: run without
            pass
    from evidence_cli import hashing

    # Large files hashed at the same time by this pool's workers share the cores.
    if big_files is not None:
        hashing.gate = hashing.BigFileGate(big_files)
    # A reader stuck in C code past its time limit ends this worker (threadlimit.backstop).
    threadlimit.backstops = True
    # Large files through memory maps: only in a first-pass pool, whose crashes are
    # re-run with ordinary reads (see run_pool and hashing.mapped_reads).
    hashing.mapped_reads = mapped
    # What this worker reads counts on the scan's progress display (meter.WorkerMeter).
    hashing.meter = meter
    # The extractors, before the first task (already there when the fork server preloaded them).
    from evidence_cli import extractors, gcsettings

    extractors.load()
    gcsettings.settle()  # (again: a worker not forked by the preloaded fork server)


def _no_core_dumps() -> None:
    """A worker that crashes (a C library, a file truncated under a map) leaves no core
    dump: it would hold evidence read into memory, written wherever the system puts
    dumps (a crash reporter may even send it away)."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))
    except (ImportError, ValueError, OSError):  # not on this platform
        pass


def _exit_with(scan_pid: int) -> None:
    """End this worker when the scan process is gone (killed with SIGKILL, by the
    out-of-memory killer ...), which no signal tells a worker of the fork server.

    Without this the workers waited for ever: each holds the write end of its own task
    queue (multiprocessing passes both ends), so the queue never reports the end; and the
    fork server and resource tracker stayed with them (each worker holds the descriptor
    whose closing tells the fork server its client is gone). A pidfd says when the scan
    process has ended; where there is none, its pid is checked every second.
    """
    try:
        fd = os.pidfd_open(scan_pid)  # type: ignore[attr-defined,unused-ignore]
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):
        while True:
            time.sleep(1.0)
            try:
                os.kill(scan_pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except OSError:  # not ours to signal: it is still there
                pass
    select.select([fd], [], [])
    os._exit(1)


def crashed_record(entry: Entry, reason: str) -> FileRecord:
    """The record of an entry whose worker died while processing it."""
    text, b64 = display_path(entry.rel)
    return FileRecord(
        path=text,
        path_bytes=b64,
        kind=entry.kind,
        size=entry.stat.st_size if entry.stat is not None else None,
        errors=(Problem("worker", "error", "WorkerCrashed", reason),),
    )


def _send(pool: ProcessPoolExecutor, batch: list[Entry], options: ScanOptions) -> Future[list[FileRecord]]:
    """Send a batch to ``pool``. A pool that a worker's death has already broken refuses
    it (BrokenProcessPool from ``submit``): the batch then gets a future holding that
    error, as a batch the pool had taken does, so that it is re-run like theirs. (Raised
    here, it stopped the whole scan, when a crash came between two batches sent.)"""
    try:
        return pool.submit(process_batch, batch, options)
    except BrokenProcessPool as exc:
        refused: Future[list[FileRecord]] = Future()
        refused.set_exception(exc)
        return refused


def _top_up(
    inflight: deque[tuple[list[Entry], Any]],
    source: Iterator[list[Entry]],
    window: int,
    submit: Callable[[list[Entry]], Any],
) -> bool:
    """Submit batches until ``window`` are in flight; False once ``source`` is exhausted."""
    while len(inflight) < window:
        b = next(source, None)
        if b is None:
            return False
        inflight.append((b, submit(b)))
    return True


def run_inline(entries: Iterable[Entry], options: ScanOptions) -> Iterator[FileRecord]:
    from evidence_cli.scanner import process_entry

    for e in entries:
        with waiting([e]):
            record = process_entry(e, options)
        yield record


def _mp_context() -> Any:
    return mpstart.context()


def pool_unavailable() -> str | None:
    """None when worker processes can be started here; else why not. Their queues and
    shared counter need POSIX semaphores, which live in /dev/shm: some containers and
    sandboxes have none, or a read-only one."""
    try:
        _mp_context().Lock()
    except (OSError, ImportError, NotImplementedError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def run_pool(entries: Iterable[Entry], options: ScanOptions, workers: int) -> Iterator[FileRecord]:
    """Process entries in ``workers`` processes; yield records in input order."""
    window = max(2, workers * WINDOW_PER_WORKER)
    pool = _new_pool(workers, options, mapped=True)
    inflight: deque[tuple[list[Entry], Future[list[FileRecord]]]] = deque()
    source = batches(entries)

    def submit(batch: list[Entry]) -> Future[list[FileRecord]]:
        return _send(pool, batch, options)  # the current pool, after a restart too

    try:
        more = True
        while True:
            if more:
                more = _top_up(inflight, source, window, submit)
            if not inflight:
                break
            b, fut = inflight.popleft()
            try:
                with waiting(b):
                    records = fut.result()
            except BrokenProcessPool:
                # A worker died (crash in a C library, out of memory, killed, a file
                # truncated under a map). Redo the affected batches entry by entry, with
                # ordinary reads; an entry that kills its worker again is recorded with
                # the error.
                pending = [e for pb in [b] + [pb for pb, _ in inflight] for e in pb]
                inflight.clear()
                _stop_pool(pool)
                yield from _rerun(pending, options, workers)
                pool = _new_pool(workers, options, mapped=True)
                continue
            yield from records
    finally:
        # (The batches still in flight are cancelled by _stop_pool's shutdown, in the
        # pool's own thread: a future cancelled here could break that thread; see there.)
        _stop_pool(pool)


def _new_pool(workers: int, options: ScanOptions, *, mapped: bool = False) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes; ``mapped``: they read large files through memory
    maps (only for a pass whose broken pool is re-run without them)."""
    ctx = _mp_context()
    # A new count with every pool: a worker killed while hashing cannot leave it wrong.
    big_files = ctx.Value("i", 0)
    setup = _worker_setup(options, big_files, mapped)
    return _Pool(setup[-1], max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=setup)


class _Pool(ProcessPoolExecutor):
    """A pool of the scan's workers, and the counter of bytes read they were handed (see
    meter.ReadMeter.for_workers; let go by _stop_pool)."""

    def __init__(self, counter: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.counter = counter


def _worker_setup(options: ScanOptions, big_files: Any = None, mapped: bool = False) -> tuple[Any, ...]:
    """The arguments of :func:`_init_worker` for a worker of this scan (counting what it
    reads on the scan's meter, when the scan counts: see meter.counting)."""
    return (options.memory_limit, big_files, os.getpid(), mapped, meter.shared_counter(_mp_context()))


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Stop ``pool`` at once: its waiting tasks cancelled, its busy workers terminated.

    Tasks must be cancelled only here (``cancel_futures``), never with ``Future.cancel``
    by the caller: the pool's manager thread, finding the pool broken (a worker gone)
    before it has seen the shutdown, sets an exception on every task it still holds, and
    one already cancelled makes it raise (``InvalidStateError``, Python 3.11). The thread
    then dies with a traceback on the terminal, before it closes its end of the task
    pipe; the thread feeding that pipe stays blocked in a write no worker will read, and
    the interpreter waits for it at exit: an interrupted scan that never ended (with
    batches of 128 entries: 6 of 150 interrupts here, 3 scans at once on 2 cores)."""
    # Terminate workers that are still busy (an interrupt must not wait for a huge file).
    # (A pool already stopped has no processes left: shutdown drops them.)
    procs = list((getattr(pool, "_processes", None) or {}).values())
    results = getattr(pool, "_result_queue", None)  # shutdown() drops it (see below)
    tasks = getattr(pool, "_call_queue", None)
    manager = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    # Whatever the manager thread does, the process need not wait at exit for the thread
    # that writes tasks to a stopped pool (a daemon thread: it ends with the process).
    cancel_join = getattr(tasks, "cancel_join_thread", None)
    if cancel_join is not None:
        cancel_join()
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=5)
    # A worker stopped while it was sending a result leaves part of a message in the result
    # pipe. The pool's manager thread then waits for the rest forever, and the interpreter
    # waits for that thread when it exits: an interrupted scan wrote its exports but never
    # ended (seen here about once in 15 interrupts under load). Once every worker is gone,
    # this process holds the pipe's last write end: closing it turns that wait into an end
    # of file, and the thread marks the pool broken and ends. (ProcessPoolExecutor has no
    # public way to do this; without the attribute, nothing changes.)
    if procs and not any(p.is_alive() for p in procs):
        writer = getattr(results, "_writer", None)
        if writer is not None:
            writer.close()
    # Let the manager thread finish here, not while the interpreter exits: there, its
    # closing of the pool's wake-up pipe races with the wake-up the interpreter sends it
    # ("OSError: Bad file descriptor" printed at exit, seen once in 120 interrupts).
    if manager is not None and manager is not threading.current_thread():
        manager.join(timeout=5)
        if manager.is_alive() and procs and not any(p.is_alive() for p in procs):
            _drain_tasks(tasks, manager)
    meter.retire(getattr(pool, "counter", None))


def _drain_tasks(tasks: Any, manager: threading.Thread, limit_s: float = 10.0) -> None:
    """Read and drop what the task pipe of a stopped pool holds, until its manager thread ends.

    A manager thread that found the pool broken waits for the thread writing tasks, and
    that thread may be blocked in a write no worker will read (the pipe full, the workers
    gone). Python 3.11.4+ closes the pipe's read end there (cpython issue 94777); 3.11.2
    (Debian 12's) does not, and the interpreter waited for the manager at exit forever.
    Only then, with both threads blocked, is the read end left alone by them: it is read
    through a descriptor of its own (closing the pipe's own could close it twice, racing
    the writing thread, which closes it at its end), and the tasks go nowhere: every
    worker is gone."""
    reader = getattr(tasks, "_reader", None)
    if reader is None or reader.closed:
        return
    try:
        fd = os.dup(reader.fileno())
    except OSError:
        return
    try:
        deadline = time.monotonic() + limit_s
        while manager.is_alive() and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.05)[0] and not os.read(fd, 1 << 16):
                break  # every write end is closed: nothing more can come
    except OSError:
        pass
    finally:
        os.close(fd)


def _rerun(entries: list[Entry], options: ScanOptions, workers: int) -> Iterator[FileRecord]:
    """Re-run entries one per task in a fresh pool, in order. When the pool breaks again,
    the first entry without a result is run alone (it gets an error record if it kills
    that worker too) and the rest continue in another fresh pool: each crash costs one
    pool start, not one per entry."""
    rest = list(entries)
    while rest:
        pool = _new_pool(workers, options)
        futures = [_send(pool, [e], options) for e in rest]
        done = 0
        try:
            for fut in futures:
                with waiting(rest[done : done + 1]):
                    record = fut.result()[0]
                yield record
                done += 1
        except BrokenProcessPool:
            pass
        finally:
            _stop_pool(pool)  # (cancels the rest: see there)
        if done == len(rest):
            return
        with waiting(rest[done : done + 1]):
            record = _isolated(rest[done], options)
        yield record
        rest = rest[done + 1 :]


def salvage_batch(batch: list[Entry], options: ScanOptions, reason: str, libmagic: bool) -> list[FileRecord]:
    """The entries of a batch that killed its worker, read again for their identity alone
    (runs in a worker; see :func:`evidence_cli.scanner.salvage_entry`)."""
    from evidence_cli.scanner import salvage_entry
    from evidence_cli.writers import prerender

    return [prerender(salvage_entry(e, options, reason, libmagic=libmagic), options.prerender) for e in batch]


def died(exitcode: int | None) -> str:
    """What a local entry's record says of the single-use worker it killed: the signal
    (SIGSEGV: a crash in a C library; SIGKILL: often the system, short of memory) or the
    exit status, as the examiner may need it to tell an attack on a parser from a bug."""
    if exitcode == threadlimit.KILL_CODE:
        return (
            "the worker process ended itself while reading this entry: a reader (libmagic or a "
            "metadata reader) was stuck in C code past its time limit (--timeout)"
        )
    if exitcode is not None and exitcode < 0:
        try:
            how = f" (signal {signal.Signals(-exitcode).name})"
        except ValueError:
            how = f" (signal {-exitcode})"
    elif exitcode is not None:
        how = f" (exit status {exitcode})"
    else:
        how = ""
    return f"the worker process died{how} while reading this entry: a crash, or its memory limit"


def _isolated(entry: Entry, options: ScanOptions) -> FileRecord:
    """Process one entry in a single-use worker. When it kills that worker too, its
    identity is read again in another, without the metadata readers (where crashes in C
    libraries and memory bombs come from), then if need be without libmagic: the record
    keeps the file's hashes. Only an entry that kills even the last gets a record without
    them. The record names how the first of them died."""
    record, exitcode = _alone(process_batch, entry, options)
    if record is not None:
        return record
    reason = died(exitcode)
    return _salvaged(entry, reason, lambda libmagic: _alone(salvage_batch, entry, options, reason, libmagic)[0])


def _salvaged(entry: Entry, reason: str, read_again: Callable[[bool], FileRecord | None]) -> FileRecord:
    """The record of an entry that killed its worker, from ``read_again(libmagic)``: its
    identity without the metadata readers, then also without libmagic; None from both
    (the entry killed those workers too) gives a record with ``reason`` and no hashes."""
    for libmagic in (True, False):
        record = read_again(libmagic)
        if record is not None:
            return record
    return crashed_record(entry, reason)


def _alone(
    work: Callable[..., list[FileRecord]], entry: Entry, options: ScanOptions, *extra: Any
) -> tuple[FileRecord | None, int | None]:
    """``work`` for one entry in a process of its own, set up as a pool's worker: its
    record, or None and the process's exit code when it died first. (A process, not a
    one-worker pool: a pool tells only that a worker died, not how.)"""
    ctx = _mp_context()
    reader, writer = ctx.Pipe(duplex=False)
    setup = _worker_setup(options)
    process = ctx.Process(target=_run_alone, args=(writer, setup, work, [entry], options, extra), daemon=True)
    process.start()
    writer.close()  # (only the worker's copy is left: its death ends the read below)
    try:
        try:
            records = reader.recv()
        except EOFError:
            records = None
        process.join()
        return (records[0] if records else None), process.exitcode
    finally:
        reader.close()
        if process.is_alive():  # interrupted (Ctrl-C, a stop signal)
            process.kill()
            process.join()
        meter.retire(setup[-1])


def _run_alone(writer: Any, setup: tuple[Any, ...], work: Any, batch: list[Entry], options: Any, extra: Any) -> None:
    """The body of :func:`_alone`'s process."""
    _init_worker(*setup)
    writer.send(work(batch, options, *extra))
    writer.close()


def run_dask(
    entries: Iterable[Entry], options: ScanOptions, scheduler: Any, roots: Sequence[bytes] = ()
) -> Iterator[FileRecord]:
    """Process batches on a Dask cluster (workers must see the same paths).

    ``scheduler`` is an address (``tcp://host:8786``) or a ``distributed.Client``.
    Records come back in input order. A batch whose task fails (its worker died) is run
    again an entry a task. Every worker must run the components this process runs
    (:mod:`evidence_cli.components`): the scan does not start when one differs, and a
    worker that joins later with other ones fails its tasks (records with an error). Every
    worker must also see the ``roots`` as this process does (see :func:`root_views`).
    """
    try:
        from distributed import Client, wait
    except ImportError as exc:  # pragma: no cover - depends on the optional extra
        raise RuntimeError("Dask is not installed: pip install 'evidence-cli[dask]'") from exc
    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    own = client is not scheduler
    try:
        expected = components.current()
        _check_workers(client.run(_worker_components), expected)
        _check_views(client.run(_worker_root_views, list(roots)), root_views(list(roots)))
        n = max(1, sum(client.nthreads().values()))
        window = max(2, n * WINDOW_PER_WORKER)
        inflight: deque[tuple[list[Entry], Any]] = deque()
        source = batches(entries)
        more = True
        while True:
            if more:
                more = _top_up(
                    inflight, source, window, lambda b: client.submit(_dask_batch, b, options, expected, pure=False)
                )
            if not inflight:
                break
            b, fut = inflight.popleft()
            records: Iterable[FileRecord]
            try:
                records = fut.result()
            except Exception:  # noqa: BLE001 - a lost worker must not stop the scan
                # The batches still out finish first, so that the entries, run again alone,
                # share no worker with them (see _dask_alone).
                wait([f for _, f in inflight])
                records = _dask_alone(client, b, options, expected)
            yield from records
    finally:
        if own:
            client.close()


def _dask_alone(
    client: Any, batch: list[Entry], options: ScanOptions, expected: dict[str, str | None]
) -> Iterator[FileRecord]:
    """A failed batch again, one task an entry, as :func:`_rerun` does for worker
    processes: a file that kills its worker (a crash in a C library, the memory limit) gets
    a record with an error, and the other entries of its batch their full records.

    One task at a time: when a worker dies, Dask counts it against every task it was
    running or holding, and fails a task after ``distributed.scheduler.allowed-failures``
    deaths (3); the file that kills its worker at every try must not take the others
    with it.
    """
    for entry in batch:
        task = client.submit(_dask_batch, [entry], options, expected, pure=False)
        try:
            records = task.result()
        except Exception as exc:  # noqa: BLE001 - as for a batch, for this entry alone
            records = [_dask_salvage(client, entry, options, expected, f"the Dask task failed: {_shown(exc)}")]
        yield from records


def _dask_salvage(
    client: Any, entry: Entry, options: ScanOptions, expected: dict[str, str | None], reason: str
) -> FileRecord:
    """An entry whose task failed alone, read again for its identity, as
    :func:`_isolated` does: without the metadata readers (an extractor stuck in C code,
    which ends its worker, is one of them), then without libmagic."""

    def read_again(libmagic: bool) -> FileRecord | None:
        task = client.submit(_dask_batch, [entry], options, expected, salvage_batch, (reason, libmagic), pure=False)
        try:
            return task.result()[0]
        except Exception:  # noqa: BLE001 - as for the entry's own task
            return None

    return _salvaged(entry, reason, read_again)


def _shown(exc: BaseException) -> str:
    """A failed task's exception, for the record. Dask's KilledWorker names a random task
    key and the worker's port: the same file would get another record at every scan."""
    if type(exc).__name__ == "KilledWorker":
        return "KilledWorker: every Dask worker that ran this entry died (see the workers' logs)"
    return f"{type(exc).__name__}: {exc}"


class ComponentsDiffer(RuntimeError):
    """A Dask worker runs other components than the machine that started the scan."""


class ViewDiffers(RuntimeError):
    """A Dask worker does not see the scan roots as the machine that started the scan."""


def root_views(roots: list[bytes]) -> list[str]:
    """What each root is here: missing, a file of its size, a folder of its entries (their
    count and a hash of their sorted names; listed as the walk lists, keeping its access
    time), or other. Run on each Dask worker too: a share that is not mounted there leaves
    an empty folder, or none, at the same path, and every file read there would fail."""
    views = []
    for root in roots:
        try:
            st = os.lstat(root)
        except OSError:
            views.append("missing")
            continue
        if stat.S_ISDIR(st.st_mode):
            try:
                names = folder_names(root)
            except OSError as exc:
                views.append(f"folder that cannot be listed ({exc.strerror})")
                continue
            digest = hashlib.sha256(b"\0".join(names)).hexdigest()
            views.append(f"folder of {len(names)} entries {digest[:16]}")
        elif stat.S_ISREG(st.st_mode):
            views.append(f"file of {st.st_size} bytes")
        else:
            views.append("other")
    return views


def _worker_root_views(roots: list[bytes]) -> list[str]:
    """Run on each Dask worker (sent by reference: the worker's own modules answer)."""
    return root_views(roots)


def _check_views(found: dict[str, Any], here: list[str]) -> None:
    for address, theirs in sorted(found.items()):
        if theirs == here:
            continue
        pairs = zip(theirs, here) if isinstance(theirs, list) and len(theirs) == len(here) else []
        said = [f"{i + 1}: {a}, not {b}" for i, (a, b) in enumerate(pairs) if a != b] or ["unknown"]
        raise ViewDiffers(
            f"Dask worker {address} does not see the scan roots as this machine does (root {'; '.join(said)}): "
            "mount the evidence at the same path on every worker"
        )


def _with_version(found: dict[str, str | None]) -> dict[str, str | None]:
    """Components, with the evidence-cli version beside them (compared too)."""
    return {"evidence-cli": __version__, **found}


def _worker_components() -> dict[str, str | None]:
    """Run on each Dask worker (sent by reference: the worker's own modules answer)."""
    return _with_version(components.current())


def _check_workers(found: dict[str, Any], expected: dict[str, str | None]) -> None:
    want = _with_version(expected)
    for address, theirs in sorted(found.items()):
        differ = components.differences(theirs if isinstance(theirs, dict) else {}, want)
        if differ:
            raise ComponentsDiffer(
                f"Dask worker {address} runs other components than this machine ({'; '.join(differ)}): "
                "its records would differ; install the same versions on every worker"
            )


def _dask_batch(
    batch: list[Entry],
    options: ScanOptions,
    expected: dict[str, str | None],
    work: Callable[..., list[FileRecord]] | None = None,
    extra: tuple[Any, ...] = (),
) -> list[FileRecord]:
    """process_batch (or ``work``, given ``extra`` arguments) on a Dask worker, once its
    components are checked (a worker may join after the scan started), with each
    extractor's time limit."""
    differ = components.differences(_worker_components(), _with_version(expected))
    if differ:
        raise ComponentsDiffer(f"this worker runs other components ({'; '.join(differ)})")
    from evidence_cli import scanner

    # Tasks run in worker threads, which SIGALRM does not reach: the watchdog limits each
    # extractor, and ends this worker if one is stuck in C code (see threadlimit).
    with threadlimit.watched(scanner.TimeLimitExceeded, kill=True):
        return (work or process_batch)(batch, options, *extra)
