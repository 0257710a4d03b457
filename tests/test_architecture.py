"""The package boundaries (pyproject.toml's [tool.importlinter] contracts) hold, and each of them
breaks when the import it forbids is written: a contract that cannot fail holds nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

# The modules of bot/ that a card may import: the domain and how it is written.
DOMAIN = {"bot.domain", "bot.timefmt", "bot.durations"}


def contracts() -> list[dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return list(config["tool"]["importlinter"]["contracts"])


def contract(contract_id: str) -> dict[str, object]:
    return next(c for c in contracts() if c["id"] == contract_id)


def lint_imports(root: Path, *contract_ids: str) -> subprocess.CompletedProcess[str]:
    args = [str(LINT_IMPORTS), "--no-cache"]
    for contract_id in contract_ids:
        args += ["--contract", contract_id]
    return subprocess.run(
        args, cwd=root, env={"PYTHONPATH": str(root)}, capture_output=True, text=True, timeout=300
    )


def test_every_contract_is_kept_on_this_tree() -> None:
    run = lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"Contracts: {len(contracts())} kept, 0 broken" in run.stdout


def test_every_other_module_of_bot_is_forbidden_to_cards() -> None:
    """A new top-level module of bot/ is not a card's business until someone says so here."""
    top_level = {
        f"bot.{path.stem}"
        for path in (ROOT / "bot").iterdir()
        if (path.suffix == ".py" and path.stem not in {"__init__", "__main__"})
        or (path.is_dir() and (path / "__init__.py").exists())
    }
    forbidden = set(contract("cards-see-the-domain")["forbidden_modules"])  # type: ignore[arg-type]
    assert top_level - DOMAIN == forbidden


# One import per contract that it must refuse: (contract id, file it is written into, the import).
PLANTED = [
    ("botbuilder-in-channel", "bot/workflow/service.py", "import botbuilder.core"),
    ("graph-shapes-in-graph", "bot/app.py", "import bot.graph.models"),
    ("cards-see-the-domain", "cards/common.py", "import bot.store"),
    ("no-sandbox-in-product", "bot/app.py", "import bot.sandbox.twins"),
    ("workflow-not-graph", "bot/workflow/service.py", "import bot.graph.http"),
    ("governance-not-graph", "bot/governance/front.py", "import bot.graph.http"),
    # The admin side's cards see its domain, not the rest of it.
    ("cards-see-the-domain", "cards/governance/standing.py", "import bot.governance.gate"),
]


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("tree")
    skip = shutil.ignore_patterns("__pycache__")
    for package in ("bot", "cards"):
        shutil.copytree(ROOT / package, copy / package, ignore=skip)
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


@pytest.mark.parametrize(
    ("contract_id", "path", "line"), PLANTED, ids=[f"{p[0]}:{p[1]}" for p in PLANTED]
)
def test_each_contract_refuses_the_import_it_forbids(
    tree_copy: Path, contract_id: str, path: str, line: str
) -> None:
    assert {c["id"] for c in contracts()} == {p[0] for p in PLANTED}
    target = tree_copy / path
    original = target.read_text()
    target.write_text(f"{original}\n{line}  # planted\n")
    try:
        run = lint_imports(tree_copy, contract_id)
    finally:
        target.write_text(original)
    assert run.returncode != 0, run.stdout
    assert "BROKEN" in run.stdout
