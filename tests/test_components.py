"""The versions a scan header records: each read from the library that decides the answers,
the database hash one anyone can check with sha256sum."""

from __future__ import annotations

import hashlib
import os
import platform
from pathlib import Path

import exifread
import magic
import PIL
import pytest

from evidence_cli import components
from evidence_cli.filetype import _search_path


def test_every_component_is_the_running_ones() -> None:
    found = components.current()
    assert list(found) == list(components.NAMES)
    number = magic.version()
    assert found["python"] == f"{platform.python_implementation()} {platform.python_version()}"
    assert found["libmagic"] == f"{number // 100}.{number % 100:02d}"
    assert found["exifread"] == exifread.__version__
    assert found["pillow"] == PIL.__version__
    assert found["magic_database"] == _search_path()


def test_the_code_hash_follows_its_documented_recipe_and_sees_any_change(tmp_path: Path) -> None:
    """Version 0.1.0 names every state of the code before a release: the hash tells them apart."""
    package = components.PACKAGE
    files = sorted(
        (p.relative_to(package).as_posix(), p)
        for p in package.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    assert any(rel == "schema/scan-record.schema.json" for rel, _ in files)
    expected = hashlib.sha256()
    for rel, p in files:
        data = p.read_bytes()
        expected.update(f"{len(rel)}:{rel}:{len(data)}:".encode() + data)
    assert components.current()["code_sha256"] == components.code_sha256() == expected.hexdigest()

    import shutil

    copy = tmp_path / "evidence_cli"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert components.code_sha256(copy) == expected.hexdigest()
    (copy / "__pycache__").mkdir(exist_ok=True)
    (copy / "__pycache__" / "x.pyc").write_bytes(b"compiled")
    assert components.code_sha256(copy) == expected.hexdigest(), "compiled files are not the code"
    with open(copy / "timeparse.py", "a") as fh:
        fh.write("# one more line\n")
    assert components.code_sha256(copy) != expected.hexdigest()
    (copy / "timeparse.py").chmod(0)
    if not os.access(copy / "timeparse.py", os.R_OK):  # (root reads it anyway)
        assert components.code_sha256(copy) is None


def test_the_database_hash_is_sha256sum_of_the_compiled_file_libmagic_loads() -> None:
    search_path = _search_path()
    assert search_path
    compiled = [Path(n if n.endswith(".mgc") else n + ".mgc") for n in search_path.split(":") if n]
    present = [p for p in compiled if p.is_file()]
    if len(present) != 1:
        pytest.skip(f"this libmagic loads {len(present)} compiled databases")
    assert components.current()["magic_database_sha256"] == hashlib.sha256(present[0].read_bytes()).hexdigest()


def test_a_database_in_source_form_is_named_but_not_hashed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """libmagic would read its patterns; the hash would not say what it loaded."""
    (tmp_path / "patterns").write_text("0 string ABC my format\n")
    monkeypatch.setattr("evidence_cli.filetype._search_path", lambda: str(tmp_path / "patterns"))
    assert components._database() == (str(tmp_path / "patterns"), None)


def test_the_hash_covers_every_compiled_file_in_search_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.mgc").write_bytes(b"first")
    (tmp_path / "b.mgc").write_bytes(b"second")
    (tmp_path / "c").write_text("# only a comment\n\n")  # adds nothing: libmagic reads no pattern
    search = f"{tmp_path / 'b'}:{tmp_path / 'a.mgc'}:{tmp_path / 'c'}"
    monkeypatch.setattr("evidence_cli.filetype._search_path", lambda: search)
    assert components._database() == (search, hashlib.sha256(b"secondfirst").hexdigest())


def test_a_missing_or_silent_library_is_unknown_not_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> int:
        raise NotImplementedError("magic_version is not in this libmagic")

    monkeypatch.setattr(magic, "version", refuse)
    assert components._libmagic_version() is None
    assert components._module_version("no_such_module_here") is None
    monkeypatch.setattr("evidence_cli.filetype._search_path", lambda: None)
    assert components._database() == (None, None)


def test_start_computes_once_on_a_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def compute() -> components.Components:
        calls.append(1)
        return {"python": "P"}

    monkeypatch.setattr(components, "_compute", compute)
    monkeypatch.setattr(components, "_result", None)
    monkeypatch.setattr(components, "_thread", None)
    components.start()
    components.start()
    assert components.current() == {"python": "P"}
    found = components.current()
    found["python"] = "changed by a caller"
    assert components.current() == {"python": "P"}
    assert calls == [1]


def test_without_start_current_computes_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(components, "_compute", lambda: {"python": "Q"})
    monkeypatch.setattr(components, "_result", None)
    monkeypatch.setattr(components, "_thread", None)
    assert components.current() == {"python": "Q"}


def test_differences_name_each_one_recorded_first_in_order() -> None:
    here = {"python": "CPython 3.11.7", "libmagic": "5.44", "pillow": "13.0.0"}
    recorded = {"pillow": "12.0.0", "libmagic": "5.41", "python": "CPython 3.11.7", "zz": "1"}
    assert components.differences(recorded, here) == [
        "libmagic '5.41', not '5.44'",
        "pillow '12.0.0', not '13.0.0'",
        "zz '1', not None",
    ]
    assert components.differences(here, dict(here)) == []


def test_differences_cut_what_a_file_may_hold() -> None:
    said = components.differences({"n" * 1000: "v" * 10_000}, {})
    assert said == ["n" * 40 + " '" + "v" * 76 + "..., not None"]
