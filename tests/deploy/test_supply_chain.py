"""What pimbot is made of is written down and checked: hashed locks that agree with
pyproject.toml, every imported distribution declared (and every declared one used), and a wheel
that carries what `pimbot manifest build` needs."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
LOCKS = ROOT / "requirements"
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s\\]+)((?:\s*\\\n\s+--hash=sha256:[0-9a-f]{64})+)", re.M)

# Declared but never imported: the database drivers SQLAlchemy loads by URL scheme
# (bot/store/url.py: sqlite+aiosqlite, postgresql+asyncpg).
LOADED_BY_NAME = {"aiosqlite", "asyncpg"}


def locked(name: str) -> dict[str, str]:
    """Name -> version of a lock; fails if any requirement lacks a pin or a hash."""
    text = (LOCKS / name).read_text(encoding="utf-8")
    requirements = [
        line for line in text.splitlines() if line and not line[0].isspace() and line[0] != "#"
    ]
    pins = {canonicalize_name(m.group(1)): m.group(2) for m in PIN.finditer(text)}
    assert len(pins) == len(requirements), f"{name}: a requirement without ==pin and hashes"
    return pins


def declared(extra: str | None = None) -> set[str]:
    specs = (
        PYPROJECT["project"]["optional-dependencies"][extra]
        if extra
        else PYPROJECT["project"]["dependencies"]
    )
    return {canonicalize_name(Requirement(spec).name) for spec in specs}


def test_every_lock_pins_every_package_with_hashes() -> None:
    for lock in ("runtime.lock", "dev.lock", "build.lock", "tools.lock"):
        assert locked(lock), lock


def test_the_locks_agree_with_pyproject_and_with_each_other() -> None:
    runtime, dev = locked("runtime.lock"), locked("dev.lock")
    assert declared() <= set(runtime), "a runtime dependency is missing from runtime.lock"
    assert declared("dev") <= set(dev), "a dev dependency is missing from dev.lock"
    assert not declared("dev") & set(runtime), "a dev dependency in runtime.lock"
    differ = {n: (v, dev[n]) for n, v in runtime.items() if dev.get(n) != v}
    assert not differ, f"runtime.lock and dev.lock disagree: {differ}"
    # The build tools go into the same virtualenvs after the dev or runtime lock.
    build = locked("build.lock")
    clash = {n: (v, dev[n]) for n, v in build.items() if n in dev and dev[n] != v}
    assert not clash, f"build.lock would change packages of dev.lock: {clash}"
    for spec in PYPROJECT["project"]["dependencies"]:
        requirement = Requirement(spec)
        version = runtime[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(version), f"{version} does not satisfy {spec}"


def third_party_imports() -> set[str]:
    """Modules imported anywhere in bot/ and cards/, minus the standard library and pimbot."""
    modules: set[str] = set()
    for package in ("bot", "cards"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    modules |= {alias.name for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    modules.add(node.module)
    skip = set(sys.stdlib_module_names) | {"bot", "cards", "__future__"}
    return {m for m in modules if m.split(".")[0] not in skip}


def distribution_of(module: str, owners: dict[Path, str]) -> str:
    """The installed distribution whose files hold `module` (namespace packages such as
    botbuilder.* are shared by several distributions, so the top-level name is not enough)."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, f"{module} is not installed"
    owner = owners.get(Path(spec.origin).resolve())
    assert owner, f"no installed distribution holds {module} ({spec.origin})"
    return owner


def test_every_imported_distribution_is_declared_and_every_declared_one_is_used() -> None:
    owners = {
        Path(str(distribution.locate_file(file))).resolve(): canonicalize_name(
            distribution.metadata["Name"]
        )
        for distribution in importlib.metadata.distributions()
        for file in distribution.files or ()
        if str(file).endswith(".py") or ".so" in str(file)
    }
    imported = {distribution_of(module, owners) for module in third_party_imports()}
    missing = imported - declared()
    assert not missing, f"imported by bot/ or cards/ but not declared: {sorted(missing)}"
    unused = declared() - imported - LOADED_BY_NAME
    assert not unused, f"declared but never imported: {sorted(unused)}"
    url_module = (ROOT / "bot" / "store" / "url.py").read_text(encoding="utf-8")
    assert all(driver in url_module for driver in LOADED_BY_NAME)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("pimbot-*.whl")
    return built


def test_the_wheel_carries_the_teams_manifest_template_and_icons(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("manifest.template.json", "color.png", "outline.png"):
        assert f"bot/teams_app/{name}" in names


def test_pimbot_manifest_build_works_from_the_installed_wheel(wheel: Path, tmp_path: Path) -> None:
    """The wheel alone (no checkout on the path), as `pip install pimbot-*.whl` leaves it."""
    installed = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(installed)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = elsewhere / "pimbot.zip"
    script = (
        "import sys, bot; assert bot.__file__.startswith(sys.argv[1]), bot.__file__; "
        "from bot.cli import main; sys.exit(main(['manifest', 'build', '--out', sys.argv[2]]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(installed), str(out)],
        cwd=elsewhere,
        env={
            **os.environ,
            "PYTHONPATH": str(installed),
            "MicrosoftAppId": "3c5a2d1e-9f8b-4a7c-b6d5-e4f3a2b1c0d9",
            "PIMBOT_PUBLIC_HOSTNAME": "pimbot.contoso.example",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert set(zipfile.ZipFile(out).namelist()) == {"manifest.json", "color.png", "outline.png"}
