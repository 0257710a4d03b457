"""`pimbot sandbox --port P` puts its twins next to P, so two sandboxes run side by side; `pimbot
chat --port P` finds that sandbox; a busy port is named in words, with ports that are free."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.sandbox.runner import free_sandbox_port, sandbox_ports, teams_twin_url
from bot.sandbox.twins import TwinPorts

STARTUP = 120.0  # seconds; generous on a loaded machine


def test_the_default_sandbox_keeps_its_documented_ports() -> None:
    assert sandbox_ports(3978) == TwinPorts(graph=4980, login=4981, teams=4982)
    assert teams_twin_url(3978) == "http://127.0.0.1:4982"


def test_another_port_moves_every_twin() -> None:
    assert sandbox_ports(5000) == TwinPorts(graph=6002, login=6003, teams=6004)


async def pimbot(*args: str, cwd: Path, stdin: bytes | None = None) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIMBOT_")}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


@asynccontextmanager
async def running_sandbox(port: int, cwd: Path) -> AsyncIterator[str]:
    """`pimbot sandbox --port port`, until its banner is printed; yields the banner."""
    process = await pimbot("sandbox", "--port", str(port), "--state", "state", cwd=cwd)
    assert process.stdout is not None
    try:
        lines: list[str] = []
        while not lines or not lines[-1].startswith("Press Ctrl-C"):
            line = await asyncio.wait_for(process.stdout.readline(), STARTUP)
            assert line, "the sandbox stopped: " + (await process.stderr.read()).decode()  # type: ignore[union-attr]
            lines.append(line.decode().rstrip("\n"))
        yield "\n".join(lines)
    finally:
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), STARTUP)


async def test_two_sandboxes_run_side_by_side_and_chat_finds_each(tmp_path: Path) -> None:
    first = free_sandbox_port(21000)
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    async with running_sandbox(first, tmp_path / "one") as banner:
        second = free_sandbox_port(first + 10)
        async with running_sandbox(second, tmp_path / "two") as second_banner:
            twins = sandbox_ports(second)
            assert f"Teams twin     http://127.0.0.1:{twins.teams}" in second_banner
            assert f"pimbot chat --as adele --port {second}" in second_banner
            chat = await pimbot(
                "chat", "--as", "adele", "--port", str(second), cwd=tmp_path, stdin=b""
            )
            out, err = await asyncio.wait_for(chat.communicate(b"/who\n/quit\n"), STARTUP)
            assert chat.returncode == 0, err.decode()
            assert f"talking to pimbot at http://127.0.0.1:{twins.teams}" in out.decode()
        assert f"Teams twin     http://127.0.0.1:{sandbox_ports(first).teams}" in banner


async def test_a_busy_twin_port_is_named_in_words_without_a_traceback(tmp_path: Path) -> None:
    port = free_sandbox_port(23000)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", sandbox_ports(port).teams))
        squatter.listen()
        process = await pimbot("sandbox", "--port", str(port), "--state", "s", cwd=tmp_path)
        _, err = await asyncio.wait_for(process.communicate(), STARTUP)
    words = err.decode()
    assert process.returncode == 1
    assert "Traceback" not in words
    assert f"port {sandbox_ports(port).teams} (the Teams twin) is already in use" in words
    assert "choose other ports: `pimbot sandbox --port " in words
    assert "`pimbot chat --as adele --port " in words


async def test_a_busy_bot_port_is_named_too(tmp_path: Path) -> None:
    port = free_sandbox_port(24000)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        process = await pimbot("sandbox", "--port", str(port), "--state", "s", cwd=tmp_path)
        _, err = await asyncio.wait_for(process.communicate(), STARTUP)
    assert process.returncode == 1
    assert f"port {port} (the bot) is already in use" in err.decode()
    assert "Traceback" not in err.decode()


async def test_chat_without_a_sandbox_says_so_in_words(tmp_path: Path) -> None:
    port = free_sandbox_port(26000)
    chat = await pimbot("chat", "--as", "adele", "--port", str(port), cwd=tmp_path, stdin=b"")
    out, err = await asyncio.wait_for(chat.communicate(b""), STARTUP)
    assert "Traceback" not in err.decode()
    assert f"No pimbot sandbox answers at {teams_twin_url(port)}." in out.decode()
