"""Dependencies point one way: api → models, rules → engine; nothing imports upwards."""

from __future__ import annotations

import ast
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
