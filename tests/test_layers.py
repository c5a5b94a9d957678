"""Dependencies point one way: api → models, rules → engine; nothing imports upwards; and no
module imports itself back through others (no import circle inside or across packages)."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What each package may import of the others (at run time or for type checking).
ALLOWED = {
    "engine": set(),
    "rules": {"engine"},
    "models": {"engine"},
    "api": {"engine", "rules", "models"},
}


def _imports(file: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_layers_below(package: str) -> None:
    others = set(ALLOWED) - {package}
    wrong = {
        str(file.relative_to(ROOT)): sorted((_imports(file) & others) - ALLOWED[package])
        for file in sorted((ROOT / package).rglob("*.py"))
    }
    assert {f: w for f, w in wrong.items() if w} == {}


def _modules() -> dict[str, Path]:
    """Every module of the four packages by dotted name (a package by its own name)."""
    found: dict[str, Path] = {}
    for package in ALLOWED:
        for file in (ROOT / package).rglob("*.py"):
            parts = file.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = file
    return found


class _Runtime(ast.NodeVisitor):
    """The imports a module executes: module level and inside functions, not those under
    ``if TYPE_CHECKING:`` (they never run)."""

    def __init__(self) -> None:
        self.nodes: list[ast.Import | ast.ImportFrom] = []

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
        ):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.nodes.append(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.nodes.append(node)


def _module_imports(name: str, file: Path, modules: Mapping[str, Path]) -> set[str]:
    """The project modules ``name`` imports when it runs, each with the packages the import
    passes through (importing ``a.b.c`` runs ``a`` and ``a.b`` first)."""
    package = name if file.name == "__init__.py" else name.rpartition(".")[0]
    runtime = _Runtime()
    runtime.visit(ast.parse(file.read_text(encoding="utf-8")))
    named: set[str] = set()
    for node in runtime.nodes:
        if isinstance(node, ast.Import):
            named |= {alias.name for alias in node.names}
            continue
        base = node.module or ""
        if node.level:
            parts = package.split(".")
            base = ".".join([*parts[: len(parts) - node.level + 1], *filter(None, [node.module])])
        named |= {f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names}
    passed = {".".join(m.split(".")[:k]) for m in named for k in range(1, m.count(".") + 2)}
    # a module's own package is running already when the module runs
    return {m for m in passed if m in modules and m != name and not name.startswith(m + ".")}


def _circles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The groups of modules that import one another round (strongly connected, size > 1)."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def walk(node: str) -> None:  # Tarjan's algorithm
        order[node] = low[node] = len(order)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in order:
                walk(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], order[nxt])
        if low[node] == order[node]:
            group = stack[stack.index(node) :]
            del stack[stack.index(node) :]
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in order:
            walk(node)
    return found


def test_no_import_circle() -> None:
    modules = _modules()
    graph = {name: _module_imports(name, file, modules) for name, file in modules.items()}
    # the reading sees imports at all levels (a graph it could not read has no circle either)
    assert {"engine.formats", "engine._canonical"} <= graph["engine.ingest"]
    assert "engine" in graph["rules._backtest"]  # the package an import passes through
    assert "engine.ingest" in graph["engine.prepare"]
    assert "engine.prepare" in graph["models.cli"]  # an import inside a function
    assert _circles(graph) == []


def test_a_circle_is_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert _circles(graph) == [["a", "b", "c"]]
