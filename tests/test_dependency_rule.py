"""The README's dependency rule, checked on every import statement of the tree (so the arrows stay forward)."""

from __future__ import annotations

import ast
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    """Every module a file of this tree imports."""
    return imported_modules_at(path, root=ROOT)


def imported_modules_at(path: Path, *, root: Path) -> set[str]:
    """Every module a file imports (absolute names; relative imports resolved against its package)."""
    # Parsed in a thread of its own: CPython 3.11's AST validator can miscount its recursion depth on a
    # thread whose depth bookkeeping earlier tests disturbed (a full run failed with "AST constructor
    # recursion depth mismatch" on a file that parses fine on its own); a fresh thread starts clean.
    with ThreadPoolExecutor(1) as fresh:
        tree = fresh.submit(ast.parse, path.read_text(encoding="utf-8")).result()
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                found.add(".".join([*base, node.module or ""]).rstrip("."))
            elif node.module:
                found.add(node.module)
    return found


def files_of(top: str) -> list[Path]:
    """The Python files of one top-level package."""
    return sorted((ROOT / top).rglob("*.py"))


def first_party(module: str) -> str:
    """The top-level package (or `ews.<stage>`) a module belongs to."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "ews" and len(parts) > 1 else parts[0]


FORBIDDEN = {
    # rules/ is pure: it may import only ews.core.models (and libraries).
    "rules": lambda m: (m.startswith(("ews", "ingest", "notifiers")) and m != "ews.core.models"),
    # The edges never import each other or the pure decisions.
    "ingest": lambda m: m.split(".")[0] in ("notifiers", "rules"),
    "notifiers": lambda m: m.split(".")[0] in ("ingest", "rules"),
}


@pytest.mark.parametrize("top", sorted(FORBIDDEN))
def test_each_package_imports_only_what_the_dependency_rule_allows(top: str) -> None:
    broken = [f"{path.relative_to(ROOT)} imports {module}"
              for path in files_of(top) for module in sorted(imported_modules(path)) if FORBIDDEN[top](module)]
    assert not broken, "\n".join(broken)


KNOWN_EXCEPTIONS: set[tuple[str, str]] = set()  # none left: the engine decides, the repositories only write


def test_repositories_import_no_renderers_and_no_decisions() -> None:
    broken = [f"{path.relative_to(ROOT)} imports {module}"
              for path in files_of("ews/db") for module in sorted(imported_modules(path))
              if (module.split(".")[0] in ("rules", "notifiers", "ingest")
                  or first_party(module) in ("ews.alerting", "ews.engine", "ews.web", "ews.intake"))
              and (str(path.relative_to(ROOT)), module) not in KNOWN_EXCEPTIONS]
    assert not broken, "\n".join(broken)


def test_the_check_reads_imports_as_python_does(tmp_path: Path) -> None:
    sample = ROOT / "rules" / "sample_for_test.py"
    sample_text = "import ews.db.pool\nfrom ews.core import models\nfrom . import vocabulary\nfrom .x import y\n"
    path = tmp_path / "rules" / "deep" / "m.py"
    path.parent.mkdir(parents=True)
    path.write_text(sample_text)
    assert not sample.exists()
    found = imported_modules_at(path, root=tmp_path)
    assert found == {"ews.db.pool", "ews.core", "rules.deep", "rules.deep.x"}
    assert FORBIDDEN["rules"]("ews.db.pool") and not FORBIDDEN["rules"]("ews.core.models")
    assert FORBIDDEN["ingest"]("rules.gazetteer") and not FORBIDDEN["ingest"]("ews.core.models")
