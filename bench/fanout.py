"""Approval fan-out: one request whose approvers are a group of 50 people; how long after the
requester pressed "Ask for approval" each approver has their card.

    .venv/bin/python -m bench.fanout [--approvers 50] [--rounds 3] [--replicas 2]
        [--db postgresql sqlite] [--profile DIR]

pimbot runs as `--replicas` real processes (the shared-clock `pimbot serve`) behind the router,
twins in this process. Every approver has installed the bot beforehand (so it has their chat).
A card counts as delivered when its send job finished: the bot commits that right after the Teams
connector accepted the card. Each round is a new request by another requester (the approvers'
group stays the same); the transcripts are checked for exactly one card per approver.
`--profile DIR` runs each replica under pyinstrument and writes DIR/<db>/pimbot-<n>.pyisession
(`.venv/bin/pyinstrument --load FILE -r html -o FILE.html` renders one).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import yaml
from sqlalchemy import select

from bench.expiry_scale import install_all, memory_line, percentile
from bench.scale_seed import cpu_seconds, load_average
from bench.stage import clean_up_on_sigterm, fresh_database
from bot.sandbox.cluster import Cluster, cluster
from bot.sandbox.tenant import DEFAULT_TENANT_PATH, DemoTenant
from bot.store.jobs import JobStatus
from bot.store.schema import jobs
from bot.workflow.outbox import JobKind

ROLE = "SharePoint Administrator"
GROUP = "Fan-out Approvers"


def approver(n: int) -> str:
    return f"appr{n:03d}"


def requester(n: int) -> str:
    return f"asker{n:02d}"


def tenant(approvers: int, requesters: int) -> DemoTenant:
    data = yaml.safe_load(DEFAULT_TENANT_PATH.read_text(encoding="utf-8"))
    members = []
    for n in range(1, approvers + 1):
        members.append(approver(n))
        data["users"].append(
            {
                "handle": approver(n),
                "id": f"00000000-0000-4000-b000-{n:012d}",
                "display_name": f"Approver {n:03d}",
            }
        )
    for n in range(1, requesters + 1):
        data["users"].append(
            {
                "handle": requester(n),
                "id": f"00000000-0000-4000-c000-{n:012d}",
                "display_name": f"Asker {n:02d}",
            }
        )
        data["eligibilities"].append({"user": requester(n), "role": ROLE})
    data["groups"].append(
        {"id": "5f1c0a7e-0000-4000-8000-00000000fa50", "display_name": GROUP, "members": members}
    )
    data["policies"].append(
        {
            "role": ROLE,
            "max_duration": "PT4H",
            "require_mfa": False,
            "require_justification": True,
            "approval": {"groups": [GROUP]},
        }
    )
    return DemoTenant.model_validate(data)


def bots_cpu_seconds(c: Cluster) -> float:
    return sum(cpu_seconds(bot.process.pid) for bot in c.bots if bot.process is not None)


async def card_times(c: Cluster, request_id: str) -> list[datetime]:
    async with c.db.engine.connect() as connection:
        rows = await connection.execute(
            select(jobs.c.payload, jobs.c.finished_at).where(
                jobs.c.kind == str(JobKind.SEND_APPROVAL_CARD),
                jobs.c.status == JobStatus.DONE.value,
            )
        )
        return [finished for payload, finished in rows if payload["request_id"] == request_id]


async def one_round(c: Cluster, n: int, approvers: int) -> list[float]:
    person = c.person(requester(n))
    await person.say(f"activate sharepoint administrator for 1h because INC-{n} fan-out")
    pressed = datetime.now(UTC)
    await person.press("Ask for approval")
    request = await c.request_of(requester(n))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 120
    while len(times := await card_times(c, request.id)) < approvers:
        if loop.time() > deadline:
            raise AssertionError(f"only {len(times)} of {approvers} cards after 120 s")
        await asyncio.sleep(0.05)
    names = [approver(k) for k in range(1, approvers + 1)]
    counts = [await c.approval_cards(name, request.id) for name in names]
    assert counts == [1] * approvers, counts
    return sorted((t - pressed).total_seconds() for t in times)


async def run(args: argparse.Namespace, kind: str, workdir: Path) -> None:
    twin_tenant = tenant(args.approvers, args.rounds)
    profile: Path | None = None
    if args.profile is not None:
        profile = args.profile.resolve() / kind
        profile.mkdir(parents=True, exist_ok=True)
    async with (
        fresh_database(kind, workdir) as url,
        cluster(
            workdir,
            database_url=url,
            replicas=args.replicas,
            tenant=twin_tenant,
            profile=profile,
        ) as c,
    ):
        handles = [approver(k) for k in range(1, args.approvers + 1)]
        handles += [requester(k) for k in range(1, args.rounds + 1)]
        await install_all(c, handles)
        await c.settled()
        for n in range(1, args.rounds + 1):
            started = time.perf_counter()
            bots_cpu = bots_cpu_seconds(c)
            own_cpu = cpu_seconds(os.getpid())
            times = await one_round(c, n, args.approvers)
            await c.settled()
            bots_cpu = bots_cpu_seconds(c) - bots_cpu
            own_cpu = cpu_seconds(os.getpid()) - own_cpu
            print(
                f"{kind}, {args.replicas} replicas, round {n}: {args.approvers} cards, "
                f"first {times[0]:.2f} s, median {statistics.median(times):.2f} s, "
                f"p99 {percentile(times, 0.99):.2f} s, last {times[-1]:.2f} s after the "
                f"press (round {time.perf_counter() - started:.1f} s; CPU: pimbot "
                f"{bots_cpu:.1f} s, twins and bench {own_cpu:.1f} s); {load_average()}",
                flush=True,
            )
        print(f"  {memory_line(c)}")


async def main(args: argparse.Namespace) -> None:
    clean_up_on_sigterm()
    with tempfile.TemporaryDirectory(prefix="pimbot-fanout-") as tmp:
        for kind in args.db:
            await run(args, kind, Path(tmp))


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--approvers", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--db", nargs="+", default=["postgresql", "sqlite"])
    parser.add_argument("--profile", type=Path, help="run pimbot under pyinstrument, into DIR")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
    sys.exit(0)
