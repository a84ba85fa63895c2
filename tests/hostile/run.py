"""Running ``evidence`` the way a user does, in a subprocess, with its time and memory measured."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import stat as stat_mod
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

#: Runs argv[2:] as a child, then writes the peak RSS (KiB) of its process tree to argv[1].
#: ``RUSAGE_CHILDREN`` of this wrapper covers the CLI and every descendant it waited for.
_WRAPPER = (
    "import resource, subprocess, sys\n"
    "rc = subprocess.call(sys.argv[2:])\n"
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.exit(rc)\n"
)


@dataclass
class Run:
    returncode: int
    stdout: bytes
    stderr: bytes
    seconds: float
    max_rss_mib: float

    def text(self) -> str:
        return (self.stdout + b"\n--- stderr ---\n" + self.stderr).decode("utf-8", "backslashreplace")


def evidence_cmd(*args: str | os.PathLike[str], script: bool = False) -> list[str]:
    """``python -m evidence_cli ARGS``, or with ``script`` the installed ``evidence`` script
    (beside this interpreter) as a user types it."""
    if script:
        exe = Path(sys.executable).with_name("evidence")
        return [str(exe), *(os.fspath(a) for a in args)]
    return [sys.executable, "-m", "evidence_cli", *(os.fspath(a) for a in args)]


def stdout_env(unbuffered: bool) -> dict[str, str]:
    """This environment, with Python told not to buffer stdout (``PYTHONUNBUFFERED=1``,
    as many container images set) or not told so."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    return env


def run_evidence(
    args: Sequence[str | os.PathLike[str]],
    *,
    timeout: float = 180,
    env: dict[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    script: bool = False,
) -> Run:
    """Run ``python -m evidence_cli ARGS``; fail the test if it outlives ``timeout`` seconds."""
    with tempfile.TemporaryDirectory(prefix="evidence-rss-") as tmp:
        rss_file = Path(tmp) / "rss"
        # -I: the wrapper must not import from the working folder (it may be the evidence).
        cmd = [sys.executable, "-I", "-c", _WRAPPER, str(rss_file), *evidence_cmd(*args, script=script)]
        start = time.monotonic()
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})},
            cwd=cwd or tmp,
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            raise AssertionError(
                f"evidence {' '.join(map(str, args))} did not finish within {timeout} s\n"
                + err.decode("utf-8", "backslashreplace")[-3000:]
            ) from None
        seconds = time.monotonic() - start
        rss = int(rss_file.read_text()) / 1024 if rss_file.exists() else float("nan")
    # An error Python could not raise (a stream failing as it is finalised, a thread's
    # exception at exit) is printed raw on the terminal: never, whatever the test.
    if b"Exception ignored" in err:
        raise AssertionError(
            f"evidence {' '.join(map(str, args))} printed an unraisable error\n"
            + err.decode("utf-8", "backslashreplace")[-3000:]
        )
    return Run(proc.returncode, out, err, seconds, rss)


def load_json_export(path: Path) -> dict[str, Any]:
    """A JSON export, decoded as strict UTF-8 (a stray byte fails the test)."""
    return json.loads(path.read_bytes().decode("utf-8", "strict"))  # type: ignore[no-any-return]


def load_jsonl_export(path: Path) -> list[dict[str, Any]]:
    # Split on LF only: a record may hold U+2028 or U+0085 raw (valid JSON), where
    # str.splitlines() would cut it.
    return [json.loads(line) for line in path.read_bytes().decode("utf-8", "strict").split("\n") if line]


def record_bytes(record: dict[str, Any]) -> bytes:
    """The exact relative path bytes of an exported record."""
    import base64

    if record.get("path_bytes"):
        return base64.b64decode(record["path_bytes"])
    return str(record["path"]).encode("utf-8")


def _listdir_noatime(d: bytes) -> list[bytes]:
    """Names in a folder, listed through an ``O_NOATIME`` descriptor (``os.scandir(path)``
    would update the folder's access time: the check must not alter what it checks)."""
    flags = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_NOATIME", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(d, flags)
    try:
        return sorted(os.fsencode(n) for n in os.listdir(fd))
    finally:
        os.close(fd)


def walk_noatime(root: Path) -> list[tuple[bytes, os.stat_result]]:
    """Every entry under ``root`` (hidden ones too; symlinks not followed, not read), with its lstat."""
    out: list[tuple[bytes, os.stat_result]] = []
    stack = [os.fsencode(root)]
    while stack:
        d = stack.pop()
        for name in _listdir_noatime(d):
            p = os.path.join(d, name)
            st = os.lstat(p)
            out.append((p, st))
            if stat_mod.S_ISDIR(st.st_mode):
                stack.append(p)
    return out


def tree_listing(root: Path) -> dict[bytes, tuple[int, int, int, int, int]]:
    """Every entry under ``root``: relative path bytes -> (mode, size, mtime_ns, atime_ns,
    ctime_ns), by ``lstat`` only. Touches no access time (no read, no readlink)."""
    base = os.fsencode(root)
    return {
        os.path.relpath(p, base): (st.st_mode, st.st_size, st.st_mtime_ns, st.st_atime_ns, st.st_ctime_ns)
        for p, st in walk_noatime(root)
    }


def tree_digests(root: Path) -> dict[bytes, str]:
    """SHA-256 of every regular file under ``root``, read with O_NOATIME (we run as owner or root)."""
    out: dict[bytes, str] = {}
    base = os.fsencode(root)
    for p, st in walk_noatime(root):
        if not stat_mod.S_ISREG(st.st_mode):
            continue
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NOATIME", 0) | os.O_NOFOLLOW)
        h = hashlib.sha256()
        try:
            while chunk := os.read(fd, 1 << 20):
                h.update(chunk)
        finally:
            os.close(fd)
        out[os.path.relpath(p, base)] = h.hexdigest()
    return out


def fork_in_terminal(child: Any) -> tuple[int, int]:
    """Fork with a new pseudo-terminal as the child's controlling terminal, stdin, stdout
    and stderr; the child runs ``child()`` (which should exec) and exits. (pid, the
    terminal's descriptor) in the parent; the test is skipped when no terminal is left."""
    import pty

    import pytest

    try:
        pid, fd = pty.fork()
    except OSError as exc:  # no pseudo-terminal left on this machine
        pytest.skip(f"no pseudo-terminal: {exc}")
    if pid == 0:  # pragma: no cover - the child execs at once
        try:
            child()
        finally:
            os._exit(127)
    return pid, fd


def run_in_terminal(
    cmd: list[str], cwd: str | os.PathLike[str] | None = None, *, stderr_too: bool = True
) -> tuple[int, bytes]:
    """Run ``cmd`` with a pseudo-terminal for stdin and stdout, and for stderr too unless
    ``stderr_too`` is False (then stderr goes nowhere); its exit status and every byte the
    terminal got. (Started by subprocess, not a fork of this process, which may have threads
    by now.) The test is skipped when no pseudo-terminal is left."""
    import pytest

    try:
        master, slave = os.openpty()
    except OSError as exc:  # no pseudo-terminal left on this machine
        pytest.skip(f"no pseudo-terminal: {exc}")
    try:
        child = subprocess.Popen(
            cmd,
            stdin=slave,
            stdout=slave,
            stderr=slave if stderr_too else subprocess.DEVNULL,
            cwd=cwd,
            start_new_session=True,
        )
    finally:
        os.close(slave)
    out = b""
    try:
        while True:
            try:
                got = os.read(master, 65536)
            except OSError:  # the child ended: the terminal is gone
                break
            if not got:
                break
            out += got
    finally:
        os.close(master)
        status = child.wait(timeout=120)
    return status, out
