"""docs/architecture.md stays true: every path it names exists, every name it gives a module is
defined there, and its table of boundaries has one row per import-linter contract."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")

PATH = re.compile(r"\b((?:bot|cards|tests|bench|infra)/[\w/]*(?:\.py|/))")
# `Name` (`path.py`) or `path.py` `Name`: a class or function the doc says lives in that file.
NAME_IN_FILE = re.compile(r"`(\w+)`,? \(?`((?:bot|cards)/[\w/]+\.py)`")


def test_every_path_it_names_exists() -> None:
    paths = set(PATH.findall(DOC))
    assert len(paths) > 20
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert not missing, f"docs/architecture.md names paths that do not exist: {missing}"


def test_every_name_it_places_in_a_file_is_defined_there() -> None:
    placed = NAME_IN_FILE.findall(DOC)
    assert placed
    wrong = []
    for name, path in placed:
        source = (ROOT / path).read_text(encoding="utf-8")
        if not re.search(rf"^\s*(?:async def|def|class) {name}\b|^{name}\b\s*[:=]", source, re.M):
            wrong.append(f"{name} in {path}")
    assert not wrong, f"docs/architecture.md places names where they are not defined: {wrong}"


def test_its_table_of_boundaries_has_a_row_per_contract() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    section = DOC.split("## The packages", 1)[1].split("## One request", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) - 1 == len(contracts)  # less the header row
