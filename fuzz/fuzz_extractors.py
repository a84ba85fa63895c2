#!/usr/bin/env python3
"""Fuzz every registered extractor with mutated real files.

Each input goes to every registered extractor — to those libmagic picks for it, and to
every other one under one of its own MIME types, so a mutation that fools libmagic still
reaches each parser — and, now and then, through the whole per-file pipeline
(``scanner.process_entry``) from a file on disk with nothing kept in memory, so the
extractors' streaming reads are exercised too. An input fails when:

* an exception other than ``UnsupportedFile`` escapes an extractor (damage must be a
  ``Problem``; the scanner would survive, but the record would lose everything that
  extractor read and say only "ValueError");
* an extractor runs past the per-input time limit (``--timeout``, SIGALRM), or the
  process hangs in C code or dies (a supervisor process notices and keeps the input);
* a result does not serialise to strict UTF-8 JSON (NaN, bytes, lone surrogates ...).

Seeds are the valid files of ``tests/hostile/corpus.py`` (every supported format), plus
any folders given with ``--seeds`` (e.g. a corpus of real files). Mutations: bit flips,
interesting integers (0, 1, 2**31, 2**32-1, the file size ...) in either byte order,
chunk deletion/duplication/insertion, truncation, splicing two seeds, format tokens
(``<!DOCTYPE``, ``obj``, ``moov`` ...), and, for zip-based documents, mutating one
member's content and re-zipping. With ``--engine atheris`` (``pip install atheris``)
libFuzzer's coverage-guided mutation is used instead.

Usage::

    python fuzz/fuzz_extractors.py --minutes 30 --seeds /path/to/corpus --jobs 2
    python fuzz/fuzz_extractors.py --replay fuzz/regressions/*      # re-check inputs
    python fuzz/fuzz_extractors.py --minimise FILE                  # shrink a failing input

Failures are written to ``--out`` (default: a folder in the system temp dir), one
``.bin`` + ``.txt`` (traceback) per distinct failure, minimised when ``--minimise-found``
is on (the default). Small minimised inputs belong in ``fuzz/regressions/``, which
``tests/test_fuzz_short.py`` replays on every test run.
"""

from __future__ import annotations

import argparse
import faulthandler
import hashlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Literal, Sequence

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from evidence_cli import extractors  # noqa: E402
from evidence_cli.errors import UnsupportedFile  # noqa: E402
from evidence_cli.extractors import base  # noqa: E402
from evidence_cli.filetype import detect_type  # noqa: E402
from evidence_cli.formats.pdq import numpy_missing  # noqa: E402
from evidence_cli.models import Extraction, FileType  # noqa: E402
from evidence_cli.scanner import ScanOptions, TimeLimitExceeded, process_entry, time_limit  # noqa: E402
from evidence_cli.walker import Entry  # noqa: E402

HEAD = 64 * 1024
#: Seeds larger than this are not loaded from --seeds folders (mutation works in memory).
MAX_SEED = 8 * 1024 * 1024
#: Seeds up to this size are picked four times out of five.
SMALL_SEED = 256 * 1024
#: Exit code of a child that reached its deadline normally.
CHILD_DONE = 0
#: Exit status faulthandler gives a hung child (any other death is a crash).
HANG_EXIT = 1

INTERESTING = (
    0,
    1,
    2,
    7,
    8,
    16,
    0x7F,
    0x80,
    0xFF,
    0x100,
    0x7FFF,
    0x8000,
    0xFFFF,
    0x10000,
    0x7FFFFFFF,
    0x80000000,
    0xFFFFFFFE,
    0xFFFFFFFF,
    2**63 - 1,
    2**64 - 1,
)
TOKENS = (
    b"<!DOCTYPE x [<!ENTITY a SYSTEM 'file:///etc/passwd'>]>",
    b"&a;",
    b"<![CDATA[",
    b"]]>",
    b"<?xml version='1.0'?>",
    b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>",
    b"<rdf:li>",
    b"</rdf:Seq>",
    b"xml:lang",
    b"\x00",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"\xed\xa0\x80",
    b"obj",
    b"endobj",
    b" 0 R",
    b"stream\n",
    b"endstream",
    b"/Length 999999999",
    b"/Filter /FlateDecode",
    b"/Prev 0",
    b"trailer<<>>",
    b"xref\n0 1\n",
    b"startxref\n0\n%%EOF",
    b"(\\",
    b"<FEFF",
    b"moov",
    b"meta",
    b"udta",
    b"ilst",
    b"keys",
    b"iloc",
    b"iinf",
    b"\x00\x00\x00\x01mdat",
    b"\x00\x00\x00\x00",
    b"Exif\x00\x00",
    b"II*\x00\x08\x00\x00\x00",
    b"MM\x00*\x00\x00\x00\x08",
    b"\xff\xe1",
    b"\xff\xd8\xff",
    b"IHDR",
    b"iTXt",
    b"zTXt",
    b"eXIf",
    b"RIFF",
    b"VP8X",
    b"PK\x03\x04",
    b"PK\x01\x02",
    b"PK\x05\x06",
    b"\x1b[31m",
    "\u202e".encode(),
    b"=cmd|' /C calc'!A0",
    b"9999:99:99 99:99:99",
    b"0000:00:00 00:00:00",
    b"-00:00",
    b"+99:99",
    b"NaN",
    b"1e400",
)


# --- Mutation ---------------------------------------------------------------------------------

#: An operation: (kind, position, argument); positions and arguments are taken modulo
#: what fits, so any triple is valid for any input (hypothesis draws them freely).
Op = tuple[int, int, int]
N_OPS = 12


def _pos(data: bytearray | bytes, p: int, head_bias: bool = True) -> int:
    n = len(data)
    if n == 0:
        return 0
    # Half of the positions fall in the first 4 KiB, where headers and tables are.
    if head_bias and p & 1:
        return (p >> 1) % min(n, 4096)
    return (p >> 1) % n


def apply_op(data: bytes, op: Op, others: Sequence[bytes] = ()) -> bytes:
    """Apply one mutation operation (deterministic in its arguments)."""
    kind, p, a = op[0] % N_OPS, abs(op[1]), abs(op[2])
    out = bytearray(data)
    n = len(out)
    if kind == 0 and n:  # flip one bit
        out[_pos(out, p)] ^= 1 << (a % 8)
    elif kind == 1 and n:  # set a byte to an interesting value
        out[_pos(out, p)] = (0, 1, 0x7F, 0x80, 0xFF, 0x20, 0x3C, 0x2F)[a % 8]
    elif kind == 2 and n:  # overwrite an integer field, 2/4/8 bytes, either order
        value = INTERESTING[a % len(INTERESTING)]
        if a // len(INTERESTING) % 5 == 4:
            value = n - (a % 17)  # the file size, give or take
        width = (2, 4, 8)[(a // 7) % 3]
        order: Literal["big", "little"] = "big" if (a // 3) % 2 else "little"
        i = _pos(out, p)
        raw = (value % (1 << (8 * width))).to_bytes(width, order)
        out[i : i + width] = raw
    elif kind == 3 and n:  # delete a chunk
        i = _pos(out, p)
        del out[i : i + 1 + a % max(1, min(n, 1 << (a % 14)))]
    elif kind == 4 and n:  # duplicate a chunk somewhere
        i = _pos(out, p)
        chunk = bytes(out[i : i + 1 + a % 256])
        j = _pos(out, a, head_bias=False)
        out[j:j] = chunk * (1 + (a >> 8) % 4)
    elif kind == 5:  # truncate
        if n:
            del out[_pos(out, p, head_bias=False) :]
    elif kind == 6:  # insert a format token
        tok = TOKENS[a % len(TOKENS)]
        i = _pos(out, p)
        out[i:i] = tok
    elif kind == 7 and others:  # splice: our head, another seed's tail
        other = others[a % len(others)]
        if other:
            i = _pos(out, p, head_bias=False)
            j = _pos(other, a >> 4, head_bias=False)
            out = out[:i] + other[j:]
    elif kind == 8:  # insert random bytes
        rng = random.Random(p ^ (a << 20))
        i = _pos(out, p)
        out[i:i] = rng.randbytes(1 + a % 64)
    elif kind == 9 and n:  # repeat a byte many times (runs, huge varints, fill bytes)
        i = _pos(out, p)
        out[i:i] = bytes([out[i % n]]) * (1 + a % 4096)
    elif kind == 10 and n:  # swap two chunks
        i, j = sorted((_pos(out, p), _pos(out, a, head_bias=False)))
        size = 1 + a % 64
        if i + size <= j:
            out[i : i + size], out[j : j + size] = out[j : j + size], out[i : i + size]
    elif kind == 11:  # zip-aware: mutate one member's content and re-zip
        return mutate_zip_member(bytes(out), p, a, others)
    return bytes(out)


def mutate_zip_member(data: bytes, p: int, a: int, others: Sequence[bytes]) -> bytes:
    """Mutate the content of one member of a zip (Office/ODF documents) and re-zip it."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zin:
            infos = zin.infolist()[:64]
            if not infos or sum(i.file_size for i in infos) > 4 * 1024 * 1024:
                return data
            members = [(i.filename, zin.read(i)) for i in infos]
    except Exception:  # noqa: BLE001 - not a (readable) zip: leave it to the byte mutators
        return data
    k = p % len(members)
    name, content = members[k]
    for i in range(1 + a % 3):
        content = apply_op(content, ((a >> (4 * i)) % 11, p * (i + 7), a + i), others)
    members[k] = (name, content)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for n, c in members:
            zout.writestr(n, c)
    return out.getvalue()


def random_ops(rng: random.Random) -> list[Op]:
    """A short random list of operations (mostly 1-4, sometimes up to 16)."""
    count = 1 + int(rng.expovariate(0.5)) % 16
    return [(rng.randrange(N_OPS), rng.getrandbits(40), rng.getrandbits(32)) for _ in range(count)]


def mutate(data: bytes, ops: Iterable[Op], others: Sequence[bytes] = ()) -> bytes:
    for op in ops:
        data = apply_op(data, op, others)
        if len(data) > MAX_SEED * 2:
            data = data[: MAX_SEED * 2]
    return data


# --- Checking one input -----------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """One way an input broke the contract."""

    extractor: str
    kind: str
    """``exception``, ``timeout``, ``not-json``, ``crash`` or ``hang``."""
    type: str
    message: str
    where: str
    """The innermost frame in evidence_cli (file:line), for de-duplication."""
    trace: str = ""
    pipeline: bool = False
    """Seen through the whole pipeline from disk (then re-checked that way to minimise)."""

    @property
    def signature(self) -> str:
        return f"{self.extractor}|{self.kind}|{self.type}|{self.where}"


def _where(tb: Any) -> str:
    frames = traceback.extract_tb(tb)
    ours = [f for f in frames if "evidence_cli" in f.filename]
    chosen = ours or list(frames)
    if not chosen:
        return "?"
    f = chosen[-1]
    return f"{Path(f.filename).name}:{f.lineno}"


def _fake_stat(size: int) -> os.stat_result:
    return os.stat_result((0o100644, 1, 1, 1, 0, 0, size, 0, 0, 0))


def json_check(obj: Any) -> str | None:
    """None when ``obj`` serialises to strict UTF-8 JSON, else the reason."""
    try:
        json.dumps(obj, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError, RecursionError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def extraction_dict(e: Extraction) -> dict[str, Any]:
    return {
        "tags": e.tags,
        "timestamps": [t.to_dict() for t in e.timestamps],
        "gps": e.gps.to_dict() if e.gps is not None else None,
        "device": e.device.to_dict() if e.device is not None else None,
        "image": e.image,
        "findings": [f.to_dict() for f in e.findings],
        "problems": [p.to_dict() for p in e.problems],
    }


def targets(data: bytes, name: str) -> list[tuple[Any, FileType]]:
    """(extractor, file type) pairs: the detected type's extractors, then every other
    extractor under the first of its own MIME types."""
    try:
        detected = detect_type(name, data[:HEAD])
    except Exception:  # noqa: BLE001 - reported by the caller through process_entry
        detected = FileType(mime=None, description=None, extension_ok=None, decided_by="none")
    out: list[tuple[Any, FileType]] = [(ex, detected) for ex in extractors.for_type(detected.mime)]
    seen = {ex.name for ex, _ in out}
    for ex in extractors.registered():
        if ex.name in seen or not ex.mime_types:
            continue
        mime = sorted(ex.mime_types)[hash_name(data) % len(ex.mime_types)]
        out.append((ex, FileType(mime=mime, description=None, extension_ok=None, decided_by="fuzz")))
    return out


#: The PDQ reader decodes pixels only when asked (--pdq): ask, wherever NumPy is there.
PDQ = numpy_missing() is None


def hash_name(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=4).digest(), "big")


def check_extractors(data: bytes, name: str = "fuzz.bin", timeout: float = 5.0) -> list[Failure]:
    """Call every extractor on ``data`` in memory; the contract violations found."""
    failures: list[Failure] = []
    for ex, ftype in targets(data, name):
        ctx = base.FileContext(
            path=name.encode(),
            rel_path=name,
            stat=_fake_stat(len(data)),
            file_type=ftype,
            head=data[:HEAD],
            content=data,
            pdq=PDQ,
            timeout=timeout,  # (as a scan gives it: what an archive's members decode is sized to it)
        )
        try:
            with time_limit(timeout):
                result = ex.extract(ctx)
        except UnsupportedFile:
            continue
        except TimeLimitExceeded as exc:
            failures.append(
                Failure(ex.name, "timeout", "TimeLimitExceeded", f"> {timeout} s", _where(exc.__traceback__))
            )
            continue
        except Exception as exc:  # noqa: BLE001 - that is what we are looking for
            failures.append(
                Failure(
                    ex.name,
                    "exception",
                    type(exc).__name__,
                    str(exc)[:300],
                    _where(exc.__traceback__),
                    traceback.format_exc(),
                )
            )
            continue
        reason = json_check(extraction_dict(result)) if isinstance(result, Extraction) else "not an Extraction"
        if reason:
            failures.append(Failure(ex.name, "not-json", "Serialisation", reason, ex.name))
    return failures


class _Recorder:
    """Wraps a registered extractor: records exceptions that escape it, then re-raises."""

    def __init__(self, inner: Any, sink: list[Failure]) -> None:
        self.inner = inner
        self.sink = sink
        self.name = inner.name
        self.description = inner.description
        self.mime_types = inner.mime_types

    def extract(self, ctx: base.FileContext) -> Extraction:
        try:
            return self.inner.extract(ctx)  # type: ignore[no-any-return]
        except (UnsupportedFile, TimeLimitExceeded):
            raise
        except Exception as exc:
            self.sink.append(
                Failure(
                    self.name,
                    "exception",
                    type(exc).__name__,
                    str(exc)[:300],
                    _where(exc.__traceback__),
                    traceback.format_exc(),
                )
            )
            raise


def check_pipeline(data: bytes, name: str, folder: Path, timeout: float = 5.0, keep_limit: int = 0) -> list[Failure]:
    """Write ``data`` to ``folder/name`` and run ``process_entry`` on it (streaming reads
    when ``keep_limit`` is 0); violations found."""
    path = folder / name
    path.write_bytes(data)
    sink: list[Failure] = []
    saved = dict(base._REGISTRY)
    try:
        for key, ex in saved.items():
            base._REGISTRY[key] = _Recorder(ex, sink)  # type: ignore[assignment]
        st = os.lstat(path)
        entry = Entry(path=bytes(path), rel=name.encode(), kind="file", stat=st)
        options = ScanOptions(workers=0, timeout=timeout, keep_limit=keep_limit, pdq=PDQ)
        try:
            record = process_entry(entry, options)
        except Exception as exc:  # noqa: BLE001 - process_entry must never raise
            return [
                Failure(
                    "process_entry",
                    "exception",
                    type(exc).__name__,
                    str(exc)[:300],
                    _where(exc.__traceback__),
                    traceback.format_exc(),
                    pipeline=True,
                )
            ]
        for e in record.errors:
            if e.type == "TimeLimitExceeded":
                sink.append(Failure(e.stage.split(":", 1)[-1], "timeout", e.type, e.message, e.stage))
        reason = json_check(record.to_dict())
        if reason:
            sink.append(Failure("record", "not-json", "Serialisation", reason, "record"))
        return [replace(f, pipeline=True) for f in sink]
    finally:
        base._REGISTRY.clear()
        base._REGISTRY.update(saved)
        try:
            path.unlink()
        except OSError:
            pass


def check_input(data: bytes, name: str = "fuzz.bin", timeout: float = 5.0, folder: Path | None = None) -> list[Failure]:
    """Every check: in memory (all extractors), and through the pipeline when ``folder`` is given."""
    failures = check_extractors(data, name, timeout)
    if folder is not None:
        failures += check_pipeline(data, name, folder, timeout)
    return failures


# --- Seeds ---------------------------------------------------------------------------------


def builtin_seeds() -> dict[str, bytes]:
    from tests.hostile import corpus

    seeds = dict(corpus.seed_files())
    seeds.update({f"hostile-{k}": v for k, v in corpus.seed_files(corpus.TEXT_PAYLOADS["ansi"] + "=1").items()})
    return seeds


def folder_seeds(folders: Sequence[str], max_size: int = MAX_SEED) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for folder in folders:
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            for f in sorted(files):
                p = os.path.join(root, f)
                try:
                    if os.path.islink(p) or not os.path.isfile(p) or os.path.getsize(p) > max_size:
                        continue
                    with open(p, "rb") as fh:
                        out[os.path.relpath(p, folder)] = fh.read(max_size)
                except OSError:
                    continue
    return out


def seed_name(name: str) -> str:
    """A file name keeping the seed's extension (libmagic ignores it; the extension check does not)."""
    ext = name.rsplit(".", 1)[-1] if "." in name.rsplit("/", 1)[-1] else "bin"
    return f"fuzz.{ext[:8]}"


# --- Minimising ----------------------------------------------------------------------------


def minimise(data: bytes, still_fails: Callable[[bytes], bool], budget_s: float = 120.0) -> bytes:
    """Shrink ``data`` while ``still_fails`` holds: drop chunks (halves down to single bytes),
    then cut the tail. Stops after ``budget_s`` seconds."""
    deadline = time.monotonic() + budget_s
    best = data
    chunk = max(1, len(best) // 2)
    while chunk >= 1 and time.monotonic() < deadline:
        i = 0
        progressed = False
        while i < len(best) and time.monotonic() < deadline:
            candidate = best[:i] + best[i + chunk :]
            if candidate and still_fails(candidate):
                best = candidate
                progressed = True
            else:
                i += chunk
        if not progressed:
            chunk //= 2
    return best


def same_failure(signature: str, name: str, timeout: float, pipeline: bool = False) -> Callable[[bytes], bool]:
    """Does an input still fail this way? Checked as the failure was seen: in memory, or
    through the pipeline from disk (a failure seen only there never shrank before)."""

    def check(data: bytes) -> bool:
        if not pipeline:
            return any(f.signature == signature for f in check_extractors(data, name, timeout))
        with tempfile.TemporaryDirectory(prefix="evidence-fuzz-minimise-") as tmp:
            return any(f.signature == signature for f in check_pipeline(data, name, Path(tmp), timeout))

    return check


# --- The fuzzing loop -----------------------------------------------------------------------


def save_failure(out: Path, data: bytes, name: str, failure: Failure, minimise_found: bool, timeout: float) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(failure.signature.encode()).hexdigest()[:12]
    target = out / f"{failure.extractor}-{failure.kind}-{failure.type}-{key}.{name.rsplit('.', 1)[-1]}"
    if target.exists():
        return target
    if minimise_found and failure.kind in ("exception", "not-json"):
        data = minimise(data, same_failure(failure.signature, name, timeout, failure.pipeline), budget_s=60)
    target.write_bytes(data)
    target.with_suffix(target.suffix + ".txt").write_text(
        f"{failure.signature}\n{failure.message}\n\n{failure.trace}", encoding="utf-8", errors="backslashreplace"
    )
    return target


def child_loop(args: argparse.Namespace) -> int:
    """One fuzzing process: mutate seeds until the deadline; record failures."""
    rng = random.Random(args.rng_seed)
    seeds = builtin_seeds()
    seeds.update(folder_seeds(args.seeds))
    names = sorted(seeds)
    values = [seeds[n] for n in names]
    # Small seeds mutate and parse fastest: most inputs come from them, some from any seed.
    small = [i for i, v in enumerate(values) if len(v) <= SMALL_SEED] or list(range(len(values)))
    out = Path(args.out)
    current = Path(args.current)
    deadline = time.time() + args.minutes * 60
    tmp = Path(tempfile.mkdtemp(prefix="evidence-fuzz-"))
    limit_memory(args.memory_mb)
    count = 0
    found: set[str] = set()
    with open(str(current) + ".trace", "w") as trace:
        while time.time() < deadline:
            k = rng.choice(small) if rng.random() < 0.8 else rng.randrange(len(names))
            name = seed_name(names[k])
            data = mutate(values[k], random_ops(rng), values)
            current.write_bytes(name.encode() + b"\n" + data)
            faulthandler.dump_traceback_later(args.timeout * 6 + 30, exit=True, file=trace)
            pipeline = count % args.pipeline_every == 0
            failures = check_input(data, name, args.timeout, tmp if pipeline else None)
            faulthandler.cancel_dump_traceback_later()
            count += 1
            for f in failures:
                if f.signature not in found:
                    found.add(f.signature)
                    path = save_failure(out, data, name, f, args.minimise_found, args.timeout)
                    print(f"FAIL {f.signature} -> {path}", flush=True)
            if count % 2000 == 0:
                print(f"[{os.getpid()}] {count} inputs, {len(found)} distinct failures", flush=True)
    print(f"[{os.getpid()}] done: {count} inputs, {len(found)} distinct failures", flush=True)
    return CHILD_DONE


def limit_memory(mb: int) -> None:
    if mb <= 0:
        return
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (mb * 1024 * 1024, resource.RLIM_INFINITY))
    except (ImportError, ValueError, OSError):
        pass


def supervise(args: argparse.Namespace) -> int:
    """Run ``--jobs`` children until the deadline; a child that dies or hangs leaves its
    current input, which is saved as a crash, and a new child takes its place."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    deadline = time.time() + args.minutes * 60
    state = Path(tempfile.mkdtemp(prefix="evidence-fuzz-state-"))
    procs: dict[int, tuple[subprocess.Popen[bytes], Path]] = {}
    generation = 0
    crashes = 0

    def start(slot: int) -> None:
        nonlocal generation
        generation += 1
        current = state / f"current-{slot}"
        remaining = max(0.05, (deadline - time.time()) / 60)
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            "--minutes",
            f"{remaining:.3f}",
            "--out",
            str(out),
            "--current",
            str(current),
            "--timeout",
            str(args.timeout),
            "--memory-mb",
            str(args.memory_mb),
            "--rng-seed",
            str(args.rng_seed * 1000 + generation),
            "--pipeline-every",
            str(args.pipeline_every),
        ]
        if not args.minimise_found:
            cmd.append("--no-minimise")
        for s in args.seeds:
            cmd += ["--seeds", s]
        procs[slot] = (subprocess.Popen(cmd), current)

    def _stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt()

    signal.signal(signal.SIGTERM, _stop)
    for slot in range(args.jobs):
        start(slot)
    try:
        while procs:
            time.sleep(0.5)
            for slot, (proc, current) in list(procs.items()):
                rc = proc.poll()
                if rc is None:
                    continue
                del procs[slot]
                if rc != CHILD_DONE and current.exists():
                    crashes += 1
                    raw = current.read_bytes()
                    name, _, data = raw.partition(b"\n")
                    kind = "hang" if rc == HANG_EXIT else "crash"
                    sig = f"process|{kind}|rc{rc}|{hashlib.sha256(data).hexdigest()[:12]}"
                    trace_file = Path(str(current) + ".trace")
                    trace = trace_file.read_text(errors="replace") if trace_file.exists() else ""
                    failure = Failure("process", kind, f"rc{rc}", sig, sig, trace)
                    path = save_failure(out, data, name.decode(), failure, False, args.timeout)
                    print(f"FAIL child died (rc={rc}) -> {path}", flush=True)
                if time.time() < deadline - 2:
                    start(slot)
    except KeyboardInterrupt:
        for proc, _ in procs.values():
            proc.terminate()
        for proc, _ in procs.values():
            proc.wait(30)
    found = sorted(p.name for p in out.glob("*") if not p.name.endswith(".txt"))
    print(f"finished: {len(found)} failing inputs in {out} ({crashes} from dead children)")
    for f in found:
        print("  ", f)
    return 1 if found else 0


def atheris_main(args: argparse.Namespace) -> int:  # pragma: no cover - optional engine
    """Coverage-guided fuzzing with atheris/libFuzzer; the seeds are its starting corpus."""
    import atheris

    corpus = Path(tempfile.mkdtemp(prefix="evidence-fuzz-corpus-"))
    seeds = builtin_seeds()
    seeds.update(folder_seeds(args.seeds))
    for i, (n, data) in enumerate(sorted(seeds.items())):
        (corpus / f"{i:05d}-{seed_name(n)}").write_bytes(data)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # Our modules are already imported: instrument every loaded function for coverage.
    atheris.instrument_all()

    # Instrumented code runs several times slower: a slow input is kept (slow-*), not a crash.
    def one(data: bytes) -> None:
        failures = check_extractors(data, "fuzz.bin", args.timeout * 4)
        for f in failures:
            if f.kind == "timeout":
                (out / f"slow-{f.extractor}-{hashlib.sha256(data).hexdigest()[:12]}").write_bytes(data)
        hard = [f for f in failures if f.kind != "timeout"]
        if hard:
            raise AssertionError("; ".join(f"{f.signature}: {f.message}" for f in hard))

    libfuzzer = [
        sys.argv[0],
        str(corpus),
        f"-max_total_time={int(args.minutes * 60)}",
        f"-timeout={int(args.timeout * 24 + 60)}",
        f"-rss_limit_mb={args.memory_mb or 2048}",
        f"-artifact_prefix={out}/",
        f"-max_len={MAX_SEED}",
    ]
    if args.jobs > 1:  # libFuzzer re-runs argv[0] (this executable script) in each job
        libfuzzer += [f"-fork={args.jobs}", "-ignore_crashes=1", "-ignore_timeouts=1", "-ignore_ooms=1"]
    atheris.Setup(libfuzzer, one)
    atheris.Fuzz()
    return 0


def replay(paths: Sequence[str], timeout: float) -> int:
    bad = 0
    with tempfile.TemporaryDirectory(prefix="evidence-fuzz-replay-") as tmp:
        for p in paths:
            data = Path(p).read_bytes()
            name = seed_name(p)
            failures = check_input(data, name, timeout, Path(tmp))
            status = "ok" if not failures else "FAIL"
            print(f"{status} {p}")
            for f in failures:
                bad += 1
                print(f"   {f.signature}: {f.message}\n{f.trace}")
    return 1 if bad else 0


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10.0, help="how long to fuzz (default 10)")
    ap.add_argument("--seeds", action="append", default=[], metavar="DIR", help="more seed files (repeatable)")
    ap.add_argument("--jobs", type=int, default=1, help="fuzzing processes (default 1)")
    ap.add_argument("--engine", choices=("auto", "mutate", "atheris"), default="mutate")
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds one extractor may take on one input")
    ap.add_argument("--memory-mb", type=int, default=3072, help="address-space limit of a fuzzing process")
    ap.add_argument("--out", default=os.path.join(tempfile.gettempdir(), "evidence-fuzz-findings"))
    ap.add_argument("--rng-seed", type=int, default=1, help="random seed (a run is reproducible from it)")
    ap.add_argument("--pipeline-every", type=int, default=10, help="run process_entry from disk every N inputs")
    ap.add_argument("--no-minimise", dest="minimise_found", action="store_false", help="keep failing inputs as found")
    ap.add_argument("--replay", nargs="+", metavar="FILE", help="check these inputs and exit (1 if any fails)")
    ap.add_argument("--minimise", metavar="FILE", help="shrink a failing input (writes FILE.min)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--current", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.replay:
        return replay(args.replay, args.timeout)
    if args.minimise:
        data = Path(args.minimise).read_bytes()
        name = seed_name(args.minimise)
        with tempfile.TemporaryDirectory(prefix="evidence-fuzz-minimise-") as tmp:
            failures = check_input(data, name, args.timeout, Path(tmp))  # in memory, then from disk
        if not failures:
            print("this input does not fail")
            return 0
        first = failures[0]
        small = minimise(data, same_failure(first.signature, name, args.timeout, first.pipeline), budget_s=300)
        Path(args.minimise + ".min").write_bytes(small)
        print(f"{first.signature}: {len(data)} -> {len(small)} bytes in {args.minimise}.min")
        return 1
    if args.child:
        return child_loop(args)
    engine = args.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401

            engine = "atheris"
        except ImportError:
            engine = "mutate"
    if engine == "atheris":
        return atheris_main(args)
    print(f"fuzzing for {args.minutes:g} min with {args.jobs} process(es); findings in {args.out}", flush=True)
    return supervise(args)


if __name__ == "__main__":
    sys.exit(main())
