"""The shipped code and the benchmarks stand on their own: nothing in bot/, cards/ or bench/
imports tests/ (the image has no tests/, and bench/ measures what ships; shared sandbox helpers
live in bot/sandbox/)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module)
    return modules


@pytest.mark.parametrize("package", ["bot", "cards", "bench"])
def test_nothing_outside_tests_imports_tests(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            m for m in imported_modules(path) if m.split(".")[0] == "tests"
        )
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert {path: found for path, found in offenders.items() if found} == {}
