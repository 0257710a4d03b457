"""The container image, as far as it can be checked without a Docker engine: it runs the command
the tests run, as an unprivileged user, with only runtime dependencies, and its HEALTHCHECK
really asks pimbot's /healthz."""

from __future__ import annotations

import asyncio
import fnmatch
import os
import re
import sys
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.settings import Settings
from tests.deploy.dockerfile import Stage, parse

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse(DOCKERFILE)


@pytest.fixture(scope="module")
def runtime(stages: list[Stage]) -> Stage:
    return stages[-1]


def test_the_image_runs_pimbot_serve_the_console_script_the_tests_run(runtime: Stage) -> None:
    cmd = runtime.last("CMD")
    assert cmd is not None and runtime.last("ENTRYPOINT") is None
    assert cmd.exec_form() == ["pimbot", "serve"]
    assert PYPROJECT["project"]["scripts"]["pimbot"] == "bot.cli:main"


def test_the_image_runs_as_an_unprivileged_user_it_creates(runtime: Stage) -> None:
    user = runtime.last("USER")
    assert user is not None
    uid = user.arguments.split(":")[0]
    assert uid not in ("root", "0")
    created = " ".join(run.arguments for run in runtime.all("RUN"))
    assert re.search(rf"useradd\b.*--uid {uid}\b", created), "the USER is not created in the image"
    # Nothing after USER switches back.
    after = runtime.instructions[runtime.instructions.index(user) + 1 :]
    assert not [i for i in after if i.keyword == "USER"]


def test_the_healthcheck_asks_healthz_on_the_port_pimbot_listens_on(runtime: Stage) -> None:
    check = runtime.last("HEALTHCHECK")
    assert check is not None
    command = " ".join(check.exec_form())
    assert "/healthz" in command and "127.0.0.1" in command
    default_port = str(Settings.model_fields["port"].default)
    env = " ".join(i.arguments for i in runtime.all("ENV"))
    assert f"PORT={default_port}" in env
    assert [e.arguments for e in runtime.all("EXPOSE")] == [default_port]


def test_only_locked_runtime_dependencies_are_installed(stages: list[Stage]) -> None:
    """pimbot's venv gets the hashed runtime lock, the locked build tools (removed again) and
    the project itself without dependencies: nothing unlocked, no `dev` extra, no editable."""
    installs = [
        run.arguments
        for stage in stages
        for run in stage.all("RUN")
        if "/opt/pimbot/bin/pip install" in run.arguments
    ]
    assert installs, "the Dockerfile installs nothing into /opt/pimbot"
    commands = [
        part.strip()
        for command in installs
        for part in command.split("&&")
        if "/opt/pimbot/bin/pip install" in part
    ]
    locks, projects = [], []
    for command in commands:
        pip_args = command.split("pip install", 1)[1].split()
        if "-r" in pip_args:
            assert "--require-hashes" in pip_args, f"a lock without hash checking: {command}"
            locks.append(pip_args[pip_args.index("-r") + 1])
        else:
            targets = [a for a in pip_args if not a.startswith("-")]
            assert targets == ["."], f"install only the project itself, without extras: {command}"
            assert "--no-deps" in pip_args, (
                f"the project's dependencies come from the lock: {command}"
            )
            assert "-e" not in pip_args and "--editable" not in pip_args
            projects.append(command)
    assert locks == ["requirements/runtime.lock", "requirements/build.lock"] and len(projects) == 1
    dev = {
        re.split(r"[<>=\[ ]", spec)[0].lower()
        for spec in PYPROJECT["project"]["optional-dependencies"]["dev"]
    }
    runtime_lock = (ROOT / "requirements" / "runtime.lock").read_text(encoding="utf-8")
    pinned = set(re.findall(r"^([a-z0-9._-]+)==", runtime_lock, re.MULTILINE))
    assert not dev & pinned, f"dev packages in the runtime lock: {sorted(dev & pinned)}"


def test_the_build_tools_leave_the_image_again(stages: list[Stage]) -> None:
    build_lock = (ROOT / "requirements" / "build.lock").read_text(encoding="utf-8")
    runtime_lock = (ROOT / "requirements" / "runtime.lock").read_text(encoding="utf-8")
    names = re.compile(r"^([a-z0-9._-]+)==", re.MULTILINE)
    only_for_building = set(names.findall(build_lock)) - set(names.findall(runtime_lock))
    uninstalled = {
        word
        for stage in stages
        for run in stage.all("RUN")
        for part in run.arguments.split("&&")
        if "/opt/pimbot/bin/pip uninstall" in part
        for word in part.split("uninstall", 1)[1].split()
        if not word.startswith("-")
    }
    assert only_for_building | {"pip"} <= uninstalled
    assert not uninstalled & set(names.findall(runtime_lock)), "a runtime package is removed"


def test_every_base_image_is_pinned_by_digest(stages: list[Stage]) -> None:
    for stage in stages:
        assert re.fullmatch(r"[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}", stage.base), stage.base
    assert len({stage.base for stage in stages}) == 1, "build and runtime on different bases"


def test_the_image_carries_a_cyclonedx_sbom_of_its_own_virtualenv(stages: list[Stage]) -> None:
    runs = " ".join(run.arguments for stage in stages[:-1] for run in stage.all("RUN"))
    sbom = re.search(
        r"cyclonedx-py environment .*-o (/opt/pimbot/\S+\.cdx\.json) /opt/pimbot/bin/python", runs
    )
    assert sbom, "no SBOM of /opt/pimbot is made in the build"
    assert "--require-hashes -r requirements/tools.lock" in runs
    # It lies in /opt/pimbot, which the runtime stage copies whole.
    assert sbom.group(1).startswith("/opt/pimbot/")


def test_the_runtime_stage_takes_only_the_virtualenv_from_the_build(
    stages: list[Stage], runtime: Stage
) -> None:
    copies = runtime.all("COPY")
    assert copies, "the runtime stage copies nothing"
    build_names = {s.name for s in stages[:-1]}
    for copy in copies:
        assert copy.options().get("from") in build_names, f"source files in the image: {copy}"
        assert copy.arguments.split()[-2:] == ["/opt/pimbot", "/opt/pimbot"]


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; a pattern also matches what is under it."""
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        glob = pattern.lstrip("!").rstrip("/")
        if any(fnmatch.fnmatch(c, glob) for c in candidates):
            ignored = not negate
    return ignored


def test_the_build_context_has_what_the_build_copies_and_no_secrets_or_tests(
    stages: list[Stage],
) -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for stage in stages:
        for copy in stage.all("COPY"):
            if "from" in copy.options():
                continue
            for source in copy.arguments.split()[:-1]:
                assert (ROOT / source).exists(), f"COPY {source}: no such file"
                assert not _ignored(source, patterns), f"COPY {source}: .dockerignore drops it"
    for private in (
        ".env",
        ".venv/bin/python",
        "var/pimbot.db",
        "tests/e2e/conftest.py",
        ".git/HEAD",
    ):
        assert _ignored(private, patterns), f"{private} would be sent to the builder"
    assert not _ignored("bot/app.py", patterns)


@pytest.fixture
async def pimbot_serve(tmp_path: Path) -> AsyncIterator[int]:
    """`pimbot serve` as the image runs it, on a free loopback port; yields the port."""
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "PORT": "0",
        "PIMBOT_HOST": "127.0.0.1",
        "PIMBOT_METRICS_PORT": "0",
        "PIMBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'pimbot.db'}",
        "PIMBOT_TENANT_ID": "00000000-0000-0000-0000-0000000000aa",
        # Nothing listens there: the bot must still be healthy (readiness is /readyz's job).
        "PIMBOT_LOGIN_URL": "http://127.0.0.1:9",
        "PIMBOT_GRAPH_URL": "http://127.0.0.1:9",
        "MicrosoftAppId": "",
        "PIMBOT_ALLOW_ANONYMOUS": "true",  # Graph above is a stand-in, so this is allowed
    }
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "pimbot"),
        "serve",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    try:
        port = None
        while port is None:
            line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
            assert line, "pimbot serve exited before it listened"
            match = re.search(rb"Running on http://127\.0\.0\.1:(\d+)", line)
            port = int(match.group(1)) if match else None
        yield port
    finally:
        process.terminate()
        await process.wait()


async def _healthcheck(command: list[str], port: int) -> int:
    python, *args = command
    assert python == "python"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        env={**os.environ, "PORT": str(port)},
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await process.wait()


async def test_the_healthcheck_passes_against_pimbot_serve(
    runtime: Stage, pimbot_serve: int
) -> None:
    check = runtime.last("HEALTHCHECK")
    assert check is not None
    assert await _healthcheck(check.exec_form(), pimbot_serve) == 0


async def test_the_healthcheck_fails_when_nothing_answers(runtime: Stage, tmp_path: Path) -> None:
    check = runtime.last("HEALTHCHECK")
    assert check is not None
    # Port 9 (discard) on loopback: nothing listens there.
    assert await _healthcheck(check.exec_form(), 9) != 0
