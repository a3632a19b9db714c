"""The framework's layer rule, read from the source with ``ast`` (no module is imported).

``_core`` ← ``store`` ← ``auth`` ← ``clients`` ← ``tasks`` ← ``_server`` ← ``_local`` ←
``testing`` ← ``deploy`` ← ``_cli``: a package imports only packages to its left (and itself).
The root package ``macaron`` (its ``__init__``, ``__main__`` and the rq-job shim ``_taskrun``)
is the facade over all of them, and nothing inside imports it. An import made inside a function
is allowed only where the dependency is optional or heavy, with a comment saying which.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import macaron

SRC = Path(macaron.__file__).parent
LAYERS = ["_core", "store", "auth", "clients", "tasks", "_server", "_local", "testing", "deploy", "_cli"]
FACADE = {"macaron", "macaron.__main__", "macaron._taskrun"}
DEFERRED_SHARE = 0.05  # at most 5% of internal imports are made inside functions


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    deferred: bool
    reason: str  # the comment on the import's line, or the line above it


def _module(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _edges() -> list[Edge]:
    modules = {_module(p): p for p in SRC.rglob("*.py")}
    out: list[Edge] = []
    for name, path in modules.items():
        text = path.read_text()
        lines = text.splitlines()
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]

        def visit(
            node: ast.AST, deferred: bool, name: str = name, package: str = package, lines: list[str] = lines
        ) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.ImportFrom):
                    base = child.module or ""
                    if child.level:
                        parts = package.split(".")
                        base = ".".join(parts[: len(parts) - child.level + 1] + ([base] if base else []))
                    if base == "macaron" or base.startswith("macaron."):
                        for alias in child.names:
                            full = f"{base}.{alias.name}"
                            target = full if full in modules else base
                            comment = " ".join(
                                line.partition("#")[2] for line in lines[child.lineno - 2 : child.lineno] if "#" in line
                            )
                            out.append(Edge(name, target, child.lineno, deferred, comment.strip()))
                elif isinstance(child, ast.Import):
                    for alias in child.names:
                        if alias.name.startswith("macaron"):
                            out.append(Edge(name, alias.name, child.lineno, deferred, ""))
                visit(child, deferred or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef))

        visit(ast.parse(text), False)
    return out


def _layer(module: str) -> int:
    if module in FACADE:
        return len(LAYERS)
    top = module.split(".")[1]
    assert top in LAYERS, f"{module}: every module lives in one of the layers {LAYERS} (or is the facade)"
    return LAYERS.index(top)


def test_every_module_is_in_a_layer() -> None:
    for path in SRC.rglob("*.py"):
        _layer(_module(path))


def test_imports_point_down_the_layers() -> None:
    wrong = [
        f"{e.source}:{e.line} imports {e.target}"
        for e in _edges()
        if e.target not in FACADE and _layer(e.target) > _layer(e.source)
    ]
    assert wrong == [], "a lower layer imports a higher one:\n" + "\n".join(wrong)


def test_nothing_inside_imports_the_facade() -> None:
    wrong = [f"{e.source}:{e.line}" for e in _edges() if e.target in FACADE and e.source not in FACADE]
    assert wrong == [], "the root package is the facade; import the module that defines the name:\n" + "\n".join(wrong)


def test_no_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = {}
    for e in _edges():
        a, b = (".".join(m.split(".")[:2]) for m in (e.source, e.target))
        if a != b:
            graph.setdefault(a, set()).add(b)
    seen: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def walk(node: str, path: list[str]) -> None:
        seen[node] = 1
        for nxt in sorted(graph.get(node, ())):
            assert seen.get(nxt) != 1, "package cycle: " + " -> ".join([*path, node, nxt])
            if nxt not in seen:
                walk(nxt, [*path, node])
        seen[node] = 2

    for node in sorted(graph):
        if node not in seen:
            walk(node, [])


def test_imports_inside_functions_are_few_and_say_why() -> None:
    edges = _edges()
    deferred = [e for e in edges if e.deferred]
    unexplained = [f"{e.source}:{e.line} ({e.target})" for e in deferred if not e.reason]
    assert unexplained == [], "an import inside a function needs a comment saying why (optional or heavy):\n" + (
        "\n".join(unexplained)
    )
    assert len(deferred) <= DEFERRED_SHARE * len(edges), f"{len(deferred)} of {len(edges)} imports are deferred"
