"""Chain-of-custody test helpers: an evidence tree with awkward names, and its manifest.

Shared by ``test_manifest.py``, ``test_verify.py``, ``test_exports.py`` and
``cli/test_verify_cli.py`` (``from tests.custody import ...``). Everything is built in
the test's own temporary folder.
"""

from __future__ import annotations

import io
import json
import os
import socket
from pathlib import Path
from typing import Any

from evidence_cli.models import ScanInfo
from evidence_cli.scanner import ScanOptions, scan
from evidence_cli.summary import Summary
from evidence_cli.walker import display_path, resolve_roots
from evidence_cli.writers.json_out import JsonWriter

#: name (bytes, relative) -> content. Names every export format must carry (but the
#: newline one, which hashdeep cannot: see AWKWARD_NEWLINE).
AWKWARD: dict[bytes, bytes] = {
    b"plain.txt": b"plain content\n",
    b"bad-\xff\xfe-latin1.bin": b"not utf-8 name\n",
    b"tab\there.txt": b"tab\n",
    b"back\\slash.txt": b"backslash\n",
    b"-leading-dash.txt": b"dash\n",
    b" leading and trailing space ": b"spaces\n",
    b"unicode-\xc3\xa9t\xc3\xa9-\xe2\x98\x83-\xf0\x9f\x93\xb7.txt": "unicode ✓\n".encode(),
    b"carriage\rreturn.txt": b"cr\n",
    b"comma,name.txt": b"comma\n",
    b"=formula.txt": b"formula-looking name\n",
    b"empty": b"",
    b"photos/IMG_0001.jpg": b"\xff\xd8\xff\xe0 fake jpeg one\n",
    b"photos/IMG_0002.jpg": b"\xff\xd8\xff\xe0 fake jpeg two\n",
    b"photos/deep/er/note.txt": b"deep\n",
    b"dup/a.txt": b"identical content\n",
    b"dup/b.txt": b"identical content\n",
}
AWKWARD_NEWLINE: dict[bytes, bytes] = {b"new\nline.txt": b"newline in the name\n"}


def make_tree(root: Path, *, newline: bool = True, specials: bool = True) -> Path:
    """Write the awkward tree under ``root`` (a symlink and a FIFO too when ``specials``)."""
    broot = os.fsencode(root)
    files = {**AWKWARD, **(AWKWARD_NEWLINE if newline else {})}
    for rel, data in files.items():
        p = os.path.join(broot, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as fh:
            fh.write(data)
    if specials:
        os.symlink(b"plain.txt", os.path.join(broot, b"link-to-plain"))
        os.symlink(b"/etc/passwd", os.path.join(broot, b"link-outside"))
        os.mkfifo(os.path.join(broot, b"a-fifo"))
    return root


def write_manifest(
    tree: Path,
    out: Path,
    *,
    algorithms: tuple[str, ...] = ("md5", "sha1", "sha256"),
    paths: list[Path] | None = None,
) -> dict[str, Any]:
    """Scan ``tree`` (or ``paths``) in-process, write the sealed JSON export to ``out``; return it parsed."""
    roots = resolve_roots([str(x) for x in (paths or [tree])])
    options = ScanOptions(algorithms=algorithms, metadata=False, workers=0)
    root_text, root_b64 = display_path(roots.base)
    info = ScanInfo(
        tool={"name": "evidence-cli", "version": "test"},
        case={"case": "T-1", "examiner": "tester", "evidence_id": None},
        roots=tuple(display_path(r)[0] for r in roots.roots),
        started_utc="2026-01-02T03:04:05Z",
        finished_utc=None,
        options={**options.to_dict(), "base": root_text},
        host=socket.gethostname(),
        root=root_text,
        root_bytes=root_b64,
    )
    buf = io.StringIO()
    writer = JsonWriter(buf)
    summary = Summary()
    writer.begin(info)
    for rec in scan(roots, options):
        summary.add(rec)
        writer.write(rec)
    writer.end(info, summary)
    out.write_text(buf.getvalue(), encoding="utf-8")
    return json.loads(buf.getvalue())


def touch_like(path: bytes | str, st: os.stat_result) -> None:
    """Give ``path`` back the access and modification times of ``st`` (to the nanosecond)."""
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def flip_one_byte(path: bytes | str, offset: int = 0) -> None:
    """Change one byte in place, keeping the size and the modification time."""
    st = os.stat(path)
    with open(path, "r+b") as fh:
        fh.seek(offset)
        b = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([b[0] ^ 0x01]))
    touch_like(path, st)
