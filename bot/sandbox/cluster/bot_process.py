"""pimbot as real operating-system processes: started, SIGKILLed and restarted by the tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[3]
PIMBOT = REPO / ".venv" / "bin" / "pimbot"
STARTUP_SECONDS = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class BotProcess:
    """One `pimbot serve` (or its clocked twin, `serve_clocked`) on a fixed loopback port, so a
    restart answers at the same address."""

    name: str
    env: dict[str, str]
    workdir: Path
    clocked: bool = True
    # Run under pyinstrument, writing this report on exit (its format from the extension:
    # .html, .pyisession, ...).
    profile: Path | None = None
    port: int = field(default_factory=free_port)
    process: asyncio.subprocess.Process | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    async def start(self) -> None:
        command = (
            [sys.executable, "-m", "bot.sandbox.cluster.serve_clocked"]
            if self.clocked
            else [str(PIMBOT), "serve"]
        )
        if self.profile is not None:
            module = ["bot.sandbox.cluster.serve_clocked"] if self.clocked else ["bot", "serve"]
            command = [sys.executable, "-m", "pyinstrument", "--outfile", str(self.profile)]
            command += ["-m", *module]
        env = {**self.env, "PORT": str(self.port), "PYTHONPATH": str(REPO)}
        self.starts += 1
        with self.log_path.open("a", encoding="utf-8") as log:
            log.write(f"--- start {self.starts}\n")
            log.flush()
            self.process = await asyncio.create_subprocess_exec(
                *command, cwd=self.workdir, env=env, stdout=log, stderr=log
            )
        await self._until_healthy()

    def kill(self) -> None:
        """SIGKILL: no cleanup, no flush, no goodbye."""
        if self.process is not None and self.process.returncode is None:
            os.kill(self.process.pid, signal.SIGKILL)

    async def killed(self) -> None:
        self.kill()
        if self.process is not None:
            await self.process.wait()
            self.process = None

    def terminate(self) -> None:
        """SIGTERM, as Container Apps sends on a deploy or scale-in."""
        if self.process is not None and self.process.returncode is None:
            os.kill(self.process.pid, signal.SIGTERM)

    async def exited(self, within: float = 60.0) -> int:
        """Wait for the process to end by itself; its exit code."""
        assert self.process is not None
        code = await asyncio.wait_for(self.process.wait(), within)
        self.process = None
        return code

    async def stop(self) -> None:
        if self.process is None:
            return
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                await self.killed()
        self.process = None

    async def restart(self) -> None:
        await self.killed()
        await self.start()

    async def _until_healthy(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STARTUP_SECONDS
        async with httpx.AsyncClient(timeout=2.0) as http:
            while loop.time() < deadline:
                if self.process is None or self.process.returncode is not None:
                    break
                try:
                    if (await http.get(f"{self.url}/healthz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        tail = self.log_path.read_text(encoding="utf-8")[-3000:]
        raise RuntimeError(f"{self.name} did not become healthy:\n{tail}")
