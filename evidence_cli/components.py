"""What decides a scan's answers, and their versions.

evidence-cli's own code (its version string stays the same between releases, so its files
are hashed); libmagic and its database give every ``mime`` and ``description``; ExifRead
and Pillow read metadata; the C2PA SDK (c2pa-python) validates Content Credentials;
Python's own parsers read dates. Their releases change edge-case
answers (libmagic's descriptions change between releases; see the README's dependency
floors), so a scan header records them (``tool.components``), a resumed scan refuses to
mix records made with other ones, and every Dask worker must run the same ones as the
machine that starts the scan.

Computing them reads and hashes libmagic's compiled database (8 MB here: about 20 ms)
and evidence-cli's files (0.9 MB), and imports ExifRead and Pillow: :func:`start` begins
that on a thread, so the CLI's own start-up hides it, and :func:`current` waits for it.
"""

from __future__ import annotations

import hashlib
import platform
import threading
from pathlib import Path
from typing import Mapping

from evidence_cli.formats import c2pa_validation

Components = dict[str, "str | None"]

#: The names, in the order a header lists them.
NAMES = (
    "code_sha256",
    "python",
    "libmagic",
    "magic_database",
    "magic_database_sha256",
    "exifread",
    "pillow",
    "c2pa_python",
)

#: The package's folder, whose files make :func:`code_sha256`.
PACKAGE = Path(__file__).resolve().parent

_lock = threading.Lock()
_result: Components | None = None
_thread: threading.Thread | None = None


def _libmagic_version() -> str | None:
    try:
        import magic

        number = int(magic.version())
    except Exception:  # noqa: BLE001 - libmagic missing, or too old to say (magic_version)
        return None
    return f"{number // 100}.{number % 100:02d}"


def _database() -> tuple[str | None, str | None]:
    """libmagic's search path and the SHA-256 of the compiled files it loads from it, in
    order (None when it also reads patterns in source form, which we do not hash)."""
    try:
        from evidence_cli.filetype import _search_path
        from evidence_cli.formats import magicdb

        search_path = _search_path()
        files = magicdb.database_files(search_path) if search_path else None
    except Exception:  # noqa: BLE001 - libmagic missing: the scan itself reports it
        return None, None
    if files is None:
        return search_path, None
    digest = hashlib.sha256()
    for data in files:
        digest.update(data)
    return search_path, digest.hexdigest()


def code_sha256(package: Path = PACKAGE) -> str | None:
    """SHA-256 of evidence-cli's own files (all but ``__pycache__``), in the order of their
    paths relative to the package folder: for each, ``LEN:PATH:LEN:`` then its bytes (the
    lengths in decimal ASCII, the path with ``/``). An installed release and its source
    tree give the same; None when a file cannot be read."""
    digest = hashlib.sha256()
    try:
        files = sorted(
            (p.relative_to(package).as_posix().encode(), p)
            for p in package.rglob("*")
            if p.is_file() and "__pycache__" not in p.relative_to(package).parts
        )
        for rel, path in files:
            data = path.read_bytes()
            digest.update(b"%d:%s:%d:" % (len(rel), rel, len(data)))
            digest.update(data)
    except OSError:
        return None
    return digest.hexdigest()


def _module_version(name: str) -> str | None:
    try:
        module = __import__(name)
    except Exception:  # noqa: BLE001 - not installed or broken: the scan reports what it needs
        return None
    version = getattr(module, "__version__", None)
    return version if isinstance(version, str) else None


def _compute() -> Components:
    search_path, sha256 = _database()
    return {
        "code_sha256": code_sha256(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "libmagic": _libmagic_version(),
        "magic_database": search_path,
        "magic_database_sha256": sha256,
        "exifread": _module_version("exifread"),
        "pillow": _module_version("PIL"),
        # (Its package metadata, not an import: the SDK's 50 MB library loads only in the
        # workers that meet a manifest. Each c2pa-python release bundles one c2pa-rs.)
        "c2pa_python": c2pa_validation.installed_version(),
    }


def _run() -> None:
    global _result
    value = _compute()
    with _lock:
        if _result is None:
            _result = value


def start() -> None:
    """Begin computing the components on a thread (idempotent)."""
    global _thread
    with _lock:
        if _result is not None or _thread is not None:
            return
        _thread = threading.Thread(target=_run, name="evidence-components", daemon=True)
        _thread.start()


def current() -> Components:
    """This process's components (computed once; a copy)."""
    thread = _thread
    if thread is not None:
        thread.join()
    if _result is None:
        _run()
    assert _result is not None
    return dict(_result)


def shown(value: object, limit: int = 80) -> str:
    """A value for a message (it may come from a file: cut short)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def differences(recorded: Mapping[str, object], here: Mapping[str, object]) -> list[str]:
    """What differs between two sets of components, as ``name A, not B`` (recorded first),
    in :data:`NAMES` order, then any other name."""
    extra = sorted(str(n) for n in (set(recorded) | set(here)) - set(NAMES))
    return [
        f"{name[:40]} {shown(recorded.get(name))}, not {shown(here.get(name))}"
        for name in [*NAMES, *extra]
        if recorded.get(name) != here.get(name)
    ]
