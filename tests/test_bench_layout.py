"""bench/ stands on its own: it never imports the tests (issue 7)."""

from __future__ import annotations

import ast
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _imported_modules(path: Path) -> set[str]:
    """Every module a Python file imports, by its full dotted name."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def test_bench_never_imports_tests() -> None:
    offenders = {
        path.name: sorted(m for m in _imported_modules(path) if m == "tests" or m.startswith("tests."))
        for path in sorted(BENCH.glob("*.py"))
    }
    assert {name: found for name, found in offenders.items() if found} == {}

