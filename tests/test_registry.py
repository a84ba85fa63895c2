"""Every extractor module is imported and registers exactly one extractor; names are unique."""

from __future__ import annotations

import ast
import collections
import pkgutil
from pathlib import Path
from typing import Any

import pytest

import evidence_cli.extractors as extractors_pkg
from evidence_cli.extractors import base, for_type, registered

PKG_DIR = Path(extractors_pkg.__file__).parent
NOT_EXTRACTORS = {"base", "__init__"}


def extractor_modules() -> set[str]:
    return {m.name for m in pkgutil.iter_modules([str(PKG_DIR)])} - NOT_EXTRACTORS


def imported_by_init() -> list[str]:
    tree = ast.parse((PKG_DIR / "__init__.py").read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "evidence_cli.extractors":
            names.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("evidence_cli.extractors."):
            mod = node.module.rsplit(".", 1)[1]
            if mod not in NOT_EXTRACTORS:
                names.append(mod)
    return names


def test_there_are_extractor_modules() -> None:
    assert {"filesystem", "image", "exif"} <= extractor_modules()


def test_every_module_is_imported_by_the_package() -> None:
    imported = imported_by_init()
    missing = extractor_modules() - set(imported)
    assert not missing, f"add to evidence_cli/extractors/__init__.py: {sorted(missing)}"
    assert len(imported) == len(set(imported)), "each module imported once"
    assert imported[0] == "filesystem", "the template stays first"


def test_every_module_registers_exactly_one_extractor() -> None:
    per_module = collections.Counter(type(e).__module__.rsplit(".", 1)[1] for e in registered())
    for mod in sorted(extractor_modules()):
        assert per_module[mod] == 1, f"{mod} registers {per_module[mod]} extractors"
    assert set(per_module) <= extractor_modules(), "no extractor from elsewhere is registered"


def test_names_and_descriptions() -> None:
    names = [e.name for e in registered()]
    assert len(names) == len(set(names))
    for e in registered():
        assert e.name == e.name.lower() and e.name.strip() == e.name and e.name, e.name
        assert all(c.isalnum() or c in "_-" for c in e.name), e.name
        assert e.description and "\n" not in e.description, e.name
        assert isinstance(e.mime_types, frozenset), e.name
        for m in e.mime_types:
            # Spelled as libmagic reports it (which keeps IANA's "macroEnabled").
            assert m.count("/") == 1 and m == m.strip() and " " not in m, (e.name, m)
        assert callable(e.extract)


def test_registration_order_is_the_import_order() -> None:
    order = [type(e).__module__.rsplit(".", 1)[1] for e in registered()]
    imported = [m for m in imported_by_init() if m in order]
    assert order == imported


def make_class(name: Any) -> type:
    return type(
        "Fake", (), {"name": name, "description": "fake", "mime_types": frozenset(), "extract": lambda s, c: None}
    )


@pytest.mark.parametrize("name", ["exif", "filesystem"])
def test_duplicate_names_fail(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))
    before = dict(base._REGISTRY)
    with pytest.raises(TypeError, match="duplicate"):
        base.register(make_class(name))
    assert base._REGISTRY == before


@pytest.mark.parametrize("name", ["EXIF", "Mine", "", None])
def test_names_must_be_lowercase_and_present(name: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))
    with pytest.raises(TypeError, match="lowercase"):
        base.register(make_class(name))


def test_a_new_name_registers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))
    cls = make_class("brand-new")
    assert base.register(cls) is cls
    assert [e.name for e in registered()][-1] == "brand-new"


def test_for_type() -> None:
    universal = {e.name for e in registered() if not e.mime_types}
    assert "filesystem" in universal
    assert {e.name for e in for_type(None)} == universal
    assert {e.name for e in for_type("application/x-nothing-reads-this")} == universal
    jpeg = {e.name for e in for_type("image/jpeg")}
    assert {"exif", "image", "filesystem"} <= jpeg
    assert [e.name for e in for_type("image/jpeg")] == [e.name for e in registered() if e.name in jpeg]
