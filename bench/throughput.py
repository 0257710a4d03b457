"""Messages per second and latency of pimbot against a bare echo bot, in the same run.

    make bench                                   # both databases, concurrency 1, 10 and 50
    .venv/bin/python -m bench.throughput --quick # fewer messages, a first look in a minute or two
    .venv/bin/python -m bench.throughput --db sqlite --concurrency 50 --profile var/bench

One Graph twin, Entra twin and Teams twin (in this process, on their own thread) serve both
bots; each bot is its own process: `pimbot serve` on a fresh database and `bench.echo_bot`
(botbuilder's CloudAdapter echoing every message, same authentication, no database, no Graph).
Users `bench001`… (eligible for six roles, as Adele is) say a command in their 1:1 chat through
the Teams twin's client API, `concurrency` people at once, each waiting for the answer before
saying the next: latency is from the Teams client posting the message to the bot's HTTP answer,
by which time the bot's reply has gone through the twin's Bot Connector (both bots reply within
the turn). Both bots are driven in the same run, interleaved echo, pimbot, pimbot, echo for each
command and concurrency, so the machine's load (shared, noisy) falls on both alike; the figures
that count are the ratios. The load average is printed next to them.

Before measuring, every user installs the app (pimbot records their chat) and says each command
once to each bot: the caches of roles and policies are warm, as in a running deployment.
`--profile DIR` runs pimbot under pyinstrument and writes DIR/pimbot-<db>.html.

Graph is counted on the Graph twin, per pimbot message: round trips (HTTP requests pimbot sent;
a JSON `$batch` is one) and, in brackets, the requests Graph carried out (a batch's sub-requests
each count, as they do for Graph's throttling).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.stage import (
    BotProcess,
    bench_handle,
    bot_environment,
    clean_up_on_sigterm,
    cpu_seconds,
    crowd_tenant,
    echo_command,
    fresh_database,
    load_average,
    pimbot_command,
    rss_megabytes,
)
from bot.sandbox.teams.client import SandboxClient
from bot.sandbox.twins import Twins

COMMANDS = ("help", "my roles")
CONCURRENCY = (1, 10, 50)
BOTS = ("echo", "pimbot")
# What the issue asks of pimbot at 50 concurrent people, per command: the throughput ratio
# (pimbot / echo) at least, the p99 ratio (pimbot / echo) at most.
GOALS = {"help": (0.8, 1.5), "my roles": (0.6, 2.0)}


@dataclass
class Sample:
    """What one bot did in one (command, concurrency) cell, over its interleaved halves."""

    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    failures: int = 0
    graph_requests: int = 0  # what Graph carried out, alone or inside a `$batch`
    graph_round_trips: int = 0  # HTTP requests to Graph (a `$batch` is one)
    replies: int = 0
    cpu: float = 0.0  # CPU seconds the bot's process used
    twins_cpu: float = 0.0  # CPU seconds of this process: the twins and the driver
    rss: float = 0.0  # MB, the most seen after a half

    @property
    def cpu_per_message(self) -> float:
        return self.cpu / len(self.latencies) if self.latencies else 0.0

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, max(0, round(p * len(ordered)) - 1))]

    @property
    def p99(self) -> float:
        return self.percentile(0.99)

    @property
    def median(self) -> float:
        return statistics.median(self.latencies) if self.latencies else 0.0


@dataclass
class Cell:
    command: str
    concurrency: int
    samples: dict[str, Sample] = field(default_factory=lambda: {b: Sample() for b in BOTS})
    load: list[float] = field(default_factory=list)  # 1-minute load average at each half

    @property
    def throughput_ratio(self) -> float:
        echo = self.samples["echo"].throughput
        return self.samples["pimbot"].throughput / echo if echo else 0.0

    @property
    def p99_ratio(self) -> float:
        echo = self.samples["echo"].p99
        return self.samples["pimbot"].p99 / echo if echo else 0.0


class Bench:
    def __init__(self, twins: Twins, client: SandboxClient, bots: dict[str, BotProcess]) -> None:
        self.twins = twins
        self.client = client
        self.bots = bots

    def point_at(self, bot: str) -> None:
        """Send the Teams twin's activities to `bot` from now on."""
        self.twins.teams.bot_url = self.bots[bot].url

    async def drive(
        self, bot: str, command: str, users: Sequence[str], messages: int, sample: Sample
    ) -> None:
        """`messages` messages from `users` at once (each waits for its answer), into `sample`."""
        self.point_at(bot)
        remaining = messages
        graph_before = len(self.twins.graph.calls)
        replies_before = len(self.twins.teams.calls)
        pid = self.bots[bot].pid
        cpu_before = cpu_seconds(pid)
        twins_before = time.process_time()

        async def person(handle: str) -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                answer = await self.client.say(handle, command)
                sample.latencies.append(time.perf_counter() - started)
                if answer["status"] not in (200, 201):  # botbuilder answers 201
                    sample.failures += 1

        started = time.perf_counter()
        await asyncio.gather(*(person(handle) for handle in users))
        sample.seconds += time.perf_counter() - started
        calls = self.twins.graph.calls[graph_before:]
        sample.graph_requests += sum(1 for c in calls if not c.path.endswith("/$batch"))
        sample.graph_round_trips += sum(1 for c in calls if not c.batch_request_id)
        sample.replies += len(self.twins.teams.calls) - replies_before
        sample.cpu += cpu_seconds(pid) - cpu_before
        sample.twins_cpu += time.process_time() - twins_before
        sample.rss = max(sample.rss, rss_megabytes(pid))

    async def warm(self, users: Sequence[str]) -> None:
        """Install for everyone (through pimbot), then each command once per user and bot."""
        self.point_at("pimbot")
        for handle in users:
            await self.client.install(handle)
        for bot in BOTS:
            for command in COMMANDS:
                await self.drive(bot, command, users, len(users), Sample())

    async def cell(self, command: str, concurrency: int, messages: int) -> Cell:
        cell = Cell(command, concurrency)
        users = [bench_handle(n) for n in range(1, concurrency + 1)]
        half = max(1, messages // 2)
        for bot in ("echo", "pimbot", "pimbot", "echo"):
            cell.load.append(load_average()[0])
            await self.drive(bot, command, users, half, cell.samples[bot])
        return cell


async def run_database(
    kind: str,
    *,
    workdir: Path,
    concurrency: Sequence[int],
    messages: int,
    profile: Path | None,
    commands: Sequence[str] = COMMANDS,
) -> list[Cell]:
    people = max(concurrency)
    tenant = crowd_tenant(people)
    async with fresh_database(kind, workdir) as database_url:
        twins = Twins(tenant, bot_url="http://127.0.0.1:9/api/messages")
        twins.start()
        bots: dict[str, BotProcess] = {}
        try:
            env = bot_environment(twins, database_url=database_url)
            report = profile / f"pimbot-{kind}.html" if profile else None
            bots["pimbot"] = BotProcess(f"pimbot-{kind}", pimbot_command(report), env, workdir)
            bots["echo"] = BotProcess(f"echo-{kind}", echo_command(), env, workdir)
            for bot in bots.values():
                await bot.start()
            async with SandboxClient(twins.service_url) as client:
                bench = Bench(twins, client, bots)
                await bench.warm([bench_handle(n) for n in range(1, people + 1)])
                cells = []
                for c in concurrency:
                    for command in commands:
                        cell = await bench.cell(command, c, messages)
                        print(row(kind, cell), flush=True)
                        cells.append(cell)
                return cells
        finally:
            for bot in bots.values():
                await bot.stop()
            twins.stop()


HEADER = (
    "| db | command | users | echo msg/s | pimbot msg/s | ratio | echo p99 | pimbot p99 (max) "
    "| ratio | pimbot p50 | CPU ms/msg echo, pimbot (twins+driver) "
    "| Graph round trips (requests)/msg "
    "| pimbot RSS | failures | load (1 min) |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def row(kind: str, cell: Cell) -> str:
    echo, pimbot = cell.samples["echo"], cell.samples["pimbot"]
    goal_throughput, goal_p99 = GOALS[cell.command]
    at_goal = cell.concurrency == max(CONCURRENCY)
    throughput_mark = _mark(cell.throughput_ratio >= goal_throughput) if at_goal else ""
    p99_mark = _mark(cell.p99_ratio <= goal_p99) if at_goal else ""
    messages = len(pimbot.latencies) or 1
    trips, requests = pimbot.graph_round_trips / messages, pimbot.graph_requests / messages
    load = f"{min(cell.load):.1f}-{max(cell.load):.1f}"
    return (
        f"| {kind} | `{cell.command}` | {cell.concurrency} | {echo.throughput:.0f} | "
        f"{pimbot.throughput:.0f} | {cell.throughput_ratio:.2f}{throughput_mark} | "
        f"{echo.p99:.2f} s | {pimbot.p99:.2f} s ({max(pimbot.latencies):.2f} s) | "
        f"{cell.p99_ratio:.1f}x{p99_mark} | {pimbot.median * 1000:.0f} ms | "
        f"{echo.cpu_per_message * 1000:.1f} ({_per_message(echo.twins_cpu, echo)}), "
        f"{pimbot.cpu_per_message * 1000:.1f} ({_per_message(pimbot.twins_cpu, pimbot)}) | "
        f"{trips:.2f} ({requests:.2f}) | "
        f"{pimbot.rss:.0f} MB | {echo.failures + pimbot.failures} | {load} |"
    )


def _per_message(seconds: float, sample: Sample) -> str:
    return f"{seconds / len(sample.latencies) * 1000:.1f}" if sample.latencies else "-"


def _mark(ok: bool) -> str:
    return " ✓" if ok else " ✗"


async def main(args: argparse.Namespace) -> int:
    clean_up_on_sigterm()
    print(
        f"bench.throughput: {args.messages} messages per bot and cell, concurrency "
        f"{', '.join(map(str, args.concurrency))}, databases {', '.join(args.db)}; "
        f"load average at start {' '.join(f'{x:.2f}' for x in load_average())}; "
        f"goals at {max(CONCURRENCY)} users: help ratio ≥ 0.8 and p99 ≤ 1.5x, "
        "my roles ratio ≥ 0.6 and p99 ≤ 2x",
        flush=True,
    )
    print(HEADER, flush=True)
    failures = 0
    with tempfile.TemporaryDirectory(prefix="pimbot-bench-") as tmp:
        workdir = Path(tmp)
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
        for kind in args.db:
            cells = await run_database(
                kind,
                workdir=workdir,
                concurrency=args.concurrency,
                messages=args.messages,
                profile=args.profile.resolve() if args.profile else None,
                commands=args.commands,
            )
            failures += sum(c.samples[b].failures for c in cells for b in BOTS)
            replies = [
                c.samples["pimbot"].replies / len(c.samples["pimbot"].latencies) for c in cells
            ]
            if min(replies) < 1:
                print(f"pimbot sent fewer replies than messages on {kind}: {replies}")
                failures += 1
    print(f"load average at end {' '.join(f'{x:.2f}' for x in load_average())}", flush=True)
    return 1 if failures else 0


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", nargs="+", choices=["sqlite", "postgresql"])
    parser.add_argument("--commands", nargs="+", choices=COMMANDS, default=list(COMMANDS))
    parser.add_argument("--concurrency", type=int, nargs="+", default=list(CONCURRENCY))
    parser.add_argument("--messages", type=int, help="per bot and cell (default 1000)")
    parser.add_argument(
        "--quick", action="store_true", help="200 messages per bot and cell, unless --messages"
    )
    parser.add_argument("--profile", type=Path, help="run pimbot under pyinstrument, into DIR")
    args = parser.parse_args(argv)
    args.db = args.db or ["sqlite", "postgresql"]
    args.messages = args.messages or (200 if args.quick else 1000)
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
