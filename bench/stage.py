"""What the benchmarks stand on: a tenant with many people, bots as real processes, and a fresh
database of either kind."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.sandbox.tenant import DEFAULT_TENANT_PATH, DemoTenant
from bot.sandbox.twins import Twins

REPO = Path(__file__).resolve().parents[1]
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
STARTUP_SECONDS = 90.0
# What each bench user may activate: adele's roles in the demo tenant.
BENCH_ROLES = (
    "Exchange Administrator",
    "User Administrator",
    "Security Administrator",
    "Security Reader",
    "Application Administrator",
    "Global Administrator",
)


def bench_handle(n: int) -> str:
    return f"bench{n:03d}"


def crowd_tenant(people: int, *, roles: Sequence[str] = BENCH_ROLES) -> DemoTenant:
    """The demo tenant plus `people` users `bench001`…, each eligible for `roles` and member of
    the Identity Team group, as Adele is."""
    data = yaml.safe_load(DEFAULT_TENANT_PATH.read_text(encoding="utf-8"))
    team = next(g for g in data["groups"] if g["display_name"] == "Identity Team")
    for n in range(1, people + 1):
        handle = bench_handle(n)
        data["users"].append(
            {
                "handle": handle,
                "id": f"00000000-0000-4000-9000-{n:012d}",
                "display_name": f"Bench User {n:03d}",
                "timezone": "Europe/London",
            }
        )
        team["members"].append(handle)
        for role in roles:
            data["eligibilities"].append({"user": handle, "role": role})
    return DemoTenant.model_validate(data)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def bot_environment(twins: Twins, *, database_url: str) -> dict[str, str]:
    """`pimbot serve`'s settings against the twins (the echo bot reads the same ones)."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return {
        **keep,
        **twins.bot_environment(),
        "PIMBOT_DATABASE_URL": database_url,
        "PIMBOT_HOST": "127.0.0.1",
        "PIMBOT_METRICS_PORT": "0",
        "PIMBOT_LOG_LEVEL": "INFO",
    }


def clean_up_on_sigterm() -> None:
    """Make SIGTERM (`kill`, a job's timeout) cancel the running task, as Ctrl-C does, so that
    its clean-up runs: the bot processes it started stop and its database is dropped. Python's
    default for SIGTERM exits at once and leaves the replicas running against a dropped bench."""
    task = asyncio.current_task()
    assert task is not None, "call it from the bench's main task"
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)


@dataclass
class BotProcess:
    """A bot as its own operating-system process on a loopback port, its output in a log."""

    name: str
    command: list[str]
    env: dict[str, str]
    workdir: Path
    port: int = field(default_factory=free_port)
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/messages"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    async def start(self) -> None:
        env = {**self.env, "PORT": str(self.port), "PYTHONPATH": str(REPO)}
        with self.log_path.open("a", encoding="utf-8") as log:
            self.process = await asyncio.create_subprocess_exec(
                *self.command, cwd=self.workdir, env=env, stdout=log, stderr=log
            )
        await self._until_healthy()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def stop(self) -> None:
        if self.process is None:
            return
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 60)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        self.process = None

    async def _until_healthy(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STARTUP_SECONDS
        health = f"http://127.0.0.1:{self.port}/healthz"
        async with httpx.AsyncClient(timeout=2.0) as http:
            while loop.time() < deadline:
                if self.process is None or self.process.returncode is not None:
                    break
                try:
                    if (await http.get(health)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        tail = self.log_path.read_text(encoding="utf-8")[-3000:]
        raise RuntimeError(f"{self.name} did not become healthy:\n{tail}")


def pimbot_command(profile: Path | None = None) -> list[str]:
    """`pimbot serve`, under pyinstrument when `profile` names the HTML report to write."""
    if profile is None:
        return [sys.executable, "-m", "bot", "serve"]
    return [
        sys.executable,
        "-m",
        "pyinstrument",
        "--renderer",
        "html",
        "--outfile",
        str(profile),
        "-m",
        "bot",
        "serve",
    ]


def echo_command() -> list[str]:
    return [sys.executable, "-m", "bench.echo_bot"]


def postgres_admin_url() -> str:
    return (
        os.environ.get("PIMBOT_BENCH_POSTGRES_URL")
        or os.environ.get("PIMBOT_TEST_POSTGRES_URL")
        or DEFAULT_POSTGRES_URL
    )


@asynccontextmanager
async def fresh_database(kind: str, workdir: Path) -> AsyncIterator[str]:
    """The URL of an empty database: a SQLite file in `workdir`, or a new PostgreSQL database
    next to `postgres_admin_url()`'s, dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / f'pimbot-{uuid.uuid4().hex[:8]}.db'}"
        return
    admin = make_url(postgres_admin_url())
    name = f"pimbot_bench_{uuid.uuid4().hex[:12]}"
    engine = create_async_engine(
        admin.set(drivername="postgresql+asyncpg"), isolation_level="AUTOCOMMIT"
    )
    try:
        async with engine.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield admin.set(database=name).render_as_string(hide_password=False)
        finally:
            async with engine.connect() as connection:
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await engine.dispose()


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_megabytes(pid: int) -> float:
    """Resident set size of the process now (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
