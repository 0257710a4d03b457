"""How long a scheduler's claim takes with a large job table, and the plan the database uses.

    .venv/bin/python -m bench.job_claim [--jobs 100000] [--finished 100000] [--db sqlite postgresql]

Fills a fresh database with `--jobs` pending expiry warnings and end checks (due over the next
24 hours, a few already due) and `--finished` done ones, then times the scheduler's claim
(`JobQueue.claim_due`, 5 jobs with a 2-minute lease, as `bot.scheduler` claims) and the queue
lag query, each in its own transaction, and prints the query plans (EXPLAIN ANALYZE on
PostgreSQL, EXPLAIN QUERY PLAN on SQLite).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite

from bench.stage import fresh_database, load_average
from bot.scheduler import BATCH, LEASE
from bot.store import Database
from bot.store.jobs import JobStatus
from bot.store.schema import jobs

CHUNK = 5000
DUE_NOW = 50  # jobs already due when the claims run


def job_rows(count: int, finished: int, now: datetime) -> list[dict[str, Any]]:
    rows = []
    for n in range(count + finished):
        done = n >= count
        due = (
            now - timedelta(seconds=n % 600) if n < DUE_NOW else now + timedelta(seconds=n % 86400)
        )
        rows.append(
            {
                "kind": "expiry_warning" if n % 2 else "expiry_check",
                "payload": {"request_id": f"r-{n}"},
                "due_at": now - timedelta(days=1) if done else due,
                "attempts": 1 if done else 0,
                "dedupe_key": f"bench:{n}",
                "status": JobStatus.DONE.value if done else JobStatus.PENDING.value,
                "last_error": "",
                "finished_at": now - timedelta(hours=1) if done else None,
            }
        )
    return rows


async def fill(db: Database, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        async with db.transaction() as tx:
            await tx.jobs._connection.execute(insert(jobs), rows[start : start + CHUNK])


def claim_select(now: datetime) -> Any:
    """The SELECT inside `claim_due`, for EXPLAIN."""
    return (
        select(jobs.c.id)
        .where(
            jobs.c.status == JobStatus.PENDING.value,
            jobs.c.due_at <= now,
            or_(jobs.c.locked_until.is_(None), jobs.c.locked_until <= now),
        )
        .order_by(jobs.c.due_at, jobs.c.id)
        .limit(BATCH)
    )


async def explain(db: Database, now: datetime) -> str:
    dialect = postgresql.dialect() if db.dialect == "postgresql" else sqlite.dialect()
    compiled = claim_select(now).compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    prefix = "EXPLAIN ANALYZE" if db.dialect == "postgresql" else "EXPLAIN QUERY PLAN"
    async with db.engine.connect() as connection:
        rows = (await connection.execute(text(f"{prefix} {compiled}"))).all()
    return "\n".join("    " + " ".join(str(c) for c in row) for row in rows)


async def timed_claims(db: Database, now: datetime, rounds: int) -> tuple[list[float], int]:
    times, claimed = [], 0
    for n in range(rounds):
        started = time.perf_counter()
        async with db.transaction() as tx:
            got = await tx.jobs.claim_due(now=now, limit=BATCH, lease=LEASE, worker=f"bench-{n}")
        times.append(time.perf_counter() - started)
        claimed += len(got)
    return times, claimed


async def timed_lag(db: Database, now: datetime, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        async with db.transaction() as tx:
            await tx.jobs.oldest_due_lag(now)
        times.append(time.perf_counter() - started)
    return times


async def run(kind: str, count: int, finished: int, workdir: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    async with fresh_database(kind, workdir) as url:
        db = await Database.connect(url)
        try:
            await db.migrate()
            started = time.perf_counter()
            await fill(db, job_rows(count, finished, now))
            filled = time.perf_counter() - started
            if db.dialect == "postgresql":
                async with db.engine.connect() as connection:
                    await connection.execute(text("ANALYZE jobs"))
            else:
                async with db.engine.begin() as connection:
                    await connection.execute(text("ANALYZE"))
            claims, claimed = await timed_claims(db, now, DUE_NOW // BATCH + 10)
            lags = await timed_lag(db, now, 20)
            print(
                f"{kind}: {count:,} pending + {finished:,} done jobs (filled in {filled:.0f} s); "
                f"claim of {BATCH}: median {statistics.median(claims) * 1000:.1f} ms, "
                f"max {max(claims) * 1000:.1f} ms over {len(claims)} claims ({claimed} jobs, "
                f"the last ones finding nothing due); queue lag query: median "
                f"{statistics.median(lags) * 1000:.1f} ms; load {load_average()[0]:.1f}"
            )
            print(f"  plan of the claim's SELECT:\n{await explain(db, now)}", flush=True)
        finally:
            await db.close()


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="pimbot-bench-") as tmp:
        for kind in args.db:
            await run(kind, args.jobs, args.finished, Path(tmp))


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--finished", type=int, default=100_000)
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
    sys.exit(0)
