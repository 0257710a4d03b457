"""The scheduler's claim stays an index range read as the job table grows.

No timing here: the database's own query plan says whether a claim reads a handful of index
entries or reads and sorts every pending job. `bench/expiry_scale.py` has the figures.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.scheduler import BATCH
from bot.store import Database
from bot.store.jobs import JobStatus, claimable
from bot.store.schema import jobs
from tests.store.factories import T0

# Enough rows that the planners weigh the table as large; one insert statement per chunk.
SAME_INSTANT = 4000  # queued in one transaction: an approver group's cards, a backlog
LATER = 4000
FINISHED = 4000


def _rows() -> list[dict[str, Any]]:
    rows = []
    for n in range(SAME_INSTANT + LATER + FINISHED):
        finished = n >= SAME_INSTANT + LATER
        rows.append(
            {
                "kind": "send_approval_card",
                "payload": {"request_id": f"r-{n}"},
                "due_at": T0 if n < SAME_INSTANT else T0 + timedelta(seconds=n),
                "attempts": 1 if finished else 0,
                "dedupe_key": f"plan:{n}",
                "status": JobStatus.DONE.value if finished else JobStatus.PENDING.value,
                "last_error": "",
            }
        )
    return rows


async def _fill(db: Database) -> None:
    rows = _rows()
    async with db.engine.begin() as connection:
        for start in range(0, len(rows), 1000):
            await connection.execute(insert(jobs), rows[start : start + 1000])
        await connection.execute(text("ANALYZE"))


async def _plan(connection: AsyncConnection, prefix: str) -> list[Any]:
    query = claimable(T0 + timedelta(minutes=1), BATCH).compile(
        dialect=connection.dialect, compile_kwargs={"literal_binds": True}
    )
    return list((await connection.execute(text(f"{prefix} {query}"))).all())


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(node for child in plan.get("Plans", []) for node in _nodes(child))]


async def test_a_claim_reads_the_job_index_in_order_without_sorting(db: Database) -> None:
    await _fill(db)

    async with db.engine.connect() as connection:
        if db.dialect == "postgresql":
            [[document]] = await _plan(connection, "EXPLAIN (FORMAT JSON)")
            plan = (json.loads(document) if isinstance(document, str) else document)[0]["Plan"]
            nodes = _nodes(plan)
            kinds = [node["Node Type"] for node in nodes]
            scans = [node for node in nodes if "Scan" in node["Node Type"]]
            assert [(s["Node Type"], s.get("Index Name")) for s in scans] == [
                ("Index Scan", "ix_jobs_status_due_id")
            ], kinds
            assert not {"Sort", "Incremental Sort", "Seq Scan"} & set(kinds), kinds
        else:
            steps = [str(row[-1]) for row in await _plan(connection, "EXPLAIN QUERY PLAN")]
            assert any("USING INDEX ix_jobs_status_due_id" in step for step in steps), steps
            assert not any("TEMP B-TREE" in step for step in steps), steps


async def test_the_claim_query_is_the_one_the_queue_runs(db: Database) -> None:
    """The plan above is of `claimable`; `claim_due` leases exactly what it selects."""
    await _fill(db)
    now = T0 + timedelta(minutes=1)

    async with db.engine.connect() as connection:
        expected = [row.id for row in await connection.execute(claimable(now, BATCH))]
    async with db.transaction() as tx:
        claimed = await tx.jobs.claim_due(
            now=now, limit=BATCH, lease=timedelta(minutes=2), worker="w"
        )

    assert [job.id for job in claimed] == expected
    assert len(expected) == BATCH
