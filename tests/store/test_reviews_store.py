"""ReviewStore: a decision taken in Teams is recorded once, whoever taps first (taps, replicas
racing in separate transactions), and a run's flags are set once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from bot.domain import Person, Role
from bot.governance.domain import Decision, RecordedDecision, ReviewInstance, ReviewRun
from bot.store import Database

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
MEGAN = Person(id="megan-id", tenant_id="t", display_name="Megan Bowen")
NESTOR = Person(id="nestor-id", tenant_id="t", display_name="Nestor Wilke")


def run() -> ReviewRun:
    instance = ReviewInstance(
        definition_id="d1",
        instance_id="i1",
        display_name="Exchange Administrator access review",
        role=Role(id="r", display_name="Exchange Administrator"),
        start=NOW,
        end=NOW.replace(day=20),
        status="InProgress",
    )
    return ReviewRun(tenant_id="t", instance=instance, reviewers=(MEGAN, NESTOR))


def decision(by: Person, value: Decision) -> RecordedDecision:
    return RecordedDecision(
        instance_key="d1/i1",
        item_id="item-1",
        principal_id="diego-id",
        decision=value,
        justification="",
        reviewer=by,
        decided_at=NOW,
    )


async def test_of_two_racing_reviewers_exactly_one_decision_is_recorded(db: Database) -> None:
    async def tap(by: Person, value: Decision) -> bool:
        async with db.transaction() as tx:
            return await tx.reviews.record(decision(by, value))

    results = await asyncio.gather(tap(MEGAN, Decision.DENY), tap(NESTOR, Decision.APPROVE))
    assert sorted(results) == [False, True]
    async with db.transaction() as tx:
        [stored] = (await tx.reviews.decisions("d1/i1", "t")).values()
    winner = MEGAN if results[0] else NESTOR
    assert stored.reviewer.id == winner.id
    async with db.transaction() as tx:
        assert await tx.reviews.written("d1/i1", "item-1", NOW)
        assert not await tx.reviews.written("d1/i1", "item-1", NOW)


async def test_a_run_starts_once_and_each_flag_is_set_once(db: Database) -> None:
    async with db.transaction() as tx:
        assert await tx.reviews.start_run(run(), NOW)
        assert not await tx.reviews.start_run(run(), NOW)

    async def mark() -> ReviewRun | None:
        async with db.transaction() as tx:
            return await tx.reviews.mark("d1/i1", "escalated", NOW)

    marked = await asyncio.gather(mark(), mark())
    assert sum(m is not None for m in marked) == 1
    async with db.transaction() as tx:
        stored = await tx.reviews.run("d1/i1")
        assert stored is not None and stored.escalated and not stored.finished
        assert [r.key for r in await tx.reviews.open_runs()] == ["d1/i1"]
        await tx.reviews.mark("d1/i1", "finished", NOW)
        assert await tx.reviews.open_runs() == []
