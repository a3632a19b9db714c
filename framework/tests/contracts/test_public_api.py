"""The public surface (as httpx's ``tests/test_exported_members.py``): each public module's
``__all__`` is sorted and is exactly its public namespace, and code outside the framework —
services, ``noxfile.py``, ``chaos/``, ``benchmarks/`` — imports only names a public module exports.
Implementation lives in private modules (``_api.py``, ``_base.py``, ...); a public ``__init__``
only re-exports.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[3]
PUBLIC = ["macaron", "macaron.auth", "macaron.clients", "macaron.deploy", "macaron.store", "macaron.tasks",
          "macaron.testing"]  # (and macaron.testing.plugin, which pytest loads by its entry point)
ALWAYS = {"annotations"}  # `from __future__ import annotations` binds this name in every module


def _public_names(module: ModuleType) -> list[str]:
    """Public names of the namespace; not its own subpackages (``macaron.auth`` is reached by import)
    nor what pytest's assertion rewriting adds (``@py_builtins``)."""
    return sorted(
        n for n, v in vars(module).items()
        if not n.startswith(("_", "@")) and n not in ALWAYS
        and not (isinstance(v, ModuleType) and v.__name__.startswith(module.__name__ + "."))
    )


@pytest.mark.parametrize("name", PUBLIC)
def test_all_is_sorted_and_is_the_whole_public_namespace(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(getattr(module, "__all__", []))
    assert exported == sorted(exported), f"{name}.__all__ is not sorted"
    extra = sorted(set(_public_names(module)) - set(exported))
    assert extra == [], f"{name} has public names outside __all__ (export them, or import them privately): {extra}"
    missing = [n for n in exported if not hasattr(module, n)]
    assert missing == [], f"{name}.__all__ names what it does not define: {missing}"


def test_internal_helpers_are_not_exported() -> None:
    """Helpers the framework uses internally leaked into __all__ once; they stay out."""
    leaked = {"macaron.tasks": "attach", "macaron.clients": "warm", "macaron.store": "open_store"}
    for name, helper in leaked.items():
        assert helper not in importlib.import_module(name).__all__


def _outside_files() -> list[Path]:
    files = [ROOT / "noxfile.py", *sorted((ROOT / "chaos").rglob("*.py")), *sorted((ROOT / "benchmarks").rglob("*.py"))]
    return files + sorted((ROOT / "services").rglob("*.py"))


def test_code_outside_the_framework_imports_only_exported_names() -> None:
    """``from macaron.x import y`` and ``x.y`` on a public module bound by an import alike."""
    wrong: list[str] = []
    for path in _outside_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        bound: dict[str, str] = {}  # local name -> public module (``from macaron import tasks``)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "macaron":
                bound.update({a.asname or a.name: f"macaron.{a.name}" for a in node.names
                              if f"macaron.{a.name}" in PUBLIC})
            elif isinstance(node, ast.Import):
                bound.update({a.asname: a.name for a in node.names if a.asname and a.name in PUBLIC})
        for node in ast.walk(tree):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound:
                module = bound[node.value.id]
                if node.attr not in importlib.import_module(module).__all__:
                    wrong.append(f"{where}: {module}.{node.attr} is not exported")
            if isinstance(node, ast.Import):
                wrong += [f"{where}: import {a.name}" for a in node.names
                          if a.name.startswith("macaron") and a.name not in PUBLIC]
            elif isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").startswith("macaron"):
                if node.module not in PUBLIC:
                    wrong.append(f"{where}: from {node.module} (not a public module)")
                    continue
                exported = set(importlib.import_module(node.module).__all__)
                wrong += [f"{where}: {node.module}.{a.name} is not exported" for a in node.names
                          if a.name not in exported and f"{node.module}.{a.name}" not in PUBLIC]
    assert wrong == [], "\n".join(wrong)
