"""pimbot's resident memory with a large state: open requests and scheduled jobs.

    .venv/bin/python -m bench.memory [--requests 10000] [--jobs 100000] [--db sqlite postgresql]

Fills a fresh database with `--requests` requests waiting for approval (from 50 bench users,
Megan and Nestor their approvers) and `--jobs` scheduled expiry warnings and end checks (due over
the next day, none yet), starts `pimbot serve` on it against the twins, and reads its RSS after
start-up and after every bench user said `my roles` and `pending` and both approvers said
`pending` (whose card lists what waits for them).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from bench.stage import (
    BotProcess,
    bench_handle,
    bot_environment,
    clean_up_on_sigterm,
    crowd_tenant,
    fresh_database,
    load_average,
    pimbot_command,
    rss_megabytes,
)
from bot.domain import ActivationRequest, Person, RequestState, Role
from bot.sandbox.teams.client import SandboxClient
from bot.sandbox.tenant import DemoTenant
from bot.sandbox.twins import Twins
from bot.store import Database
from bot.store.jobs import JobStatus
from bot.store.schema import jobs

PEOPLE = 50
CHUNK = 2000
APPROVERS = ("megan", "nestor")


async def fill(db: Database, tenant: DemoTenant, requests: int, scheduled: int) -> None:
    now = datetime.now(UTC)
    role = next(r for r in tenant.roles if r.display_name == "Exchange Administrator")
    approver_ids = tuple(tenant.user(h).id for h in APPROVERS)
    for start in range(0, requests, CHUNK):
        async with db.transaction() as tx:
            for n in range(start, min(start + CHUNK, requests)):
                user = tenant.user(bench_handle(n % PEOPLE + 1))
                await tx.requests.insert(
                    ActivationRequest(
                        id=f"bench-request-{n}",
                        tenant_id=tenant.tenant_id,
                        requester=Person(
                            id=user.id, tenant_id=tenant.tenant_id, display_name=user.display_name
                        ),
                        role=Role(id=role.id, display_name=role.display_name),
                        duration=timedelta(hours=1),
                        justification=f"bench {n}",
                        state=RequestState.PENDING_APPROVAL,
                        approver_ids=approver_ids,
                        created_at=now,
                        updated_at=now,
                    )
                )
    for start in range(0, scheduled, CHUNK * 5):
        rows = [
            {
                "kind": "expiry_warning" if n % 2 else "expiry_check",
                "payload": {"request_id": f"bench-request-{n % max(requests, 1)}"},
                "due_at": now + timedelta(hours=1, seconds=n % 86400),
                "attempts": 0,
                "dedupe_key": f"bench:{n}",
                "status": JobStatus.PENDING.value,
                "last_error": "",
            }
            for n in range(start, min(start + CHUNK * 5, scheduled))
        ]
        async with db.engine.begin() as connection:
            await connection.execute(insert(jobs), rows)


async def run(kind: str, requests: int, scheduled: int, workdir: Path) -> None:
    tenant = crowd_tenant(PEOPLE)
    async with fresh_database(kind, workdir) as url:
        db = await Database.connect(url)
        try:
            await db.migrate()
            started = time.perf_counter()
            await fill(db, tenant, requests, scheduled)
            filled = time.perf_counter() - started
        finally:
            await db.close()
        twins = Twins(tenant, bot_url="http://127.0.0.1:9/api/messages")
        twins.start()
        bot = BotProcess(
            f"pimbot-memory-{kind}",
            pimbot_command(),
            bot_environment(twins, database_url=url),
            workdir,
        )
        try:
            await bot.start()
            twins.teams.bot_url = bot.url
            at_start = rss_megabytes(bot.pid)
            async with SandboxClient(twins.service_url) as client:
                people = [bench_handle(n) for n in range(1, PEOPLE + 1)]
                for handle in [*people, *APPROVERS]:
                    await client.install(handle)
                statuses = []
                for handle in people:
                    statuses.append((await client.say(handle, "my roles"))["status"])
                    statuses.append((await client.say(handle, "pending"))["status"])
                pending_started = time.perf_counter()
                for handle in APPROVERS:
                    statuses.append((await client.say(handle, "pending"))["status"])
                pending_seconds = (time.perf_counter() - pending_started) / len(APPROVERS)
            after = rss_megabytes(bot.pid)
            print(
                f"{kind}: {requests:,} open requests, {scheduled:,} scheduled jobs (filled in "
                f"{filled:.0f} s); pimbot RSS {at_start:.0f} MB after start-up, {after:.0f} MB "
                f"after {len(statuses)} turns (answers {sorted(set(statuses))}); an approver's "
                f"`pending` took {pending_seconds:.2f} s; load {load_average()[0]:.1f}",
                flush=True,
            )
        finally:
            await bot.stop()
            twins.stop()


async def main(args: argparse.Namespace) -> None:
    clean_up_on_sigterm()
    with tempfile.TemporaryDirectory(prefix="pimbot-bench-") as tmp:
        for kind in args.db:
            await run(kind, args.requests, args.jobs, Path(tmp))


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
