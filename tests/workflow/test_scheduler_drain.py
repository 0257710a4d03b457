"""Stopping the scheduler on SIGTERM: claim nothing more, let the running job finish, give back
what was claimed and never started."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.scheduler import BATCH, Scheduler
from bot.store import Database, Job
from tests.support.clock import FakeClock


class BlockingRunner:
    """Runs jobs in order; the first one waits until the test lets it finish."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.finished: list[str] = []
        self.first_started = asyncio.Event()
        self.let_finish = asyncio.Event()

    async def run(self, job: Job) -> None:
        self.started.append(job.dedupe_key)
        if len(self.started) == 1:
            self.first_started.set()
            await self.let_finish.wait()
        self.finished.append(job.dedupe_key)


async def _enqueue(db: Database, clock: FakeClock, count: int) -> None:
    async with db.transaction() as tx:
        for n in range(count):
            await tx.jobs.enqueue(
                "send", {"n": n}, due_at=clock() - timedelta(seconds=count - n), dedupe_key=f"j{n}"
            )


async def _pending(db: Database) -> list[Job]:
    async with db.transaction() as tx:
        return await tx.jobs.pending()


async def test_draining_lets_the_running_job_finish_and_gives_back_the_unstarted_claims(
    db: Database,
) -> None:
    clock = FakeClock()
    runner = BlockingRunner()
    scheduler = Scheduler(db, runner, now=clock, worker="w1")  # type: ignore[arg-type]
    await _enqueue(db, clock, 3)
    scheduler.start()
    await asyncio.wait_for(runner.first_started.wait(), 30)

    drained = asyncio.create_task(scheduler.drain(grace=60))
    while not scheduler.draining:
        await asyncio.sleep(0)
    runner.let_finish.set()
    await asyncio.wait_for(drained, 30)

    assert runner.started == runner.finished == ["j0"]  # finished, and nothing else started
    left = await _pending(db)
    assert [job.dedupe_key for job in left] == ["j1", "j2"]
    assert [job.attempts for job in left] == [0, 0]  # their claim did not count as a try
    async with db.transaction() as tx:  # claimable at once, by anyone
        again = await tx.jobs.claim_due(
            now=clock(), limit=BATCH, lease=timedelta(minutes=2), worker="w2"
        )
    assert [job.dedupe_key for job in again] == ["j1", "j2"]


async def test_a_job_still_running_when_the_grace_ends_is_cut_off_and_released(
    db: Database,
) -> None:
    clock = FakeClock()
    runner = BlockingRunner()
    scheduler = Scheduler(db, runner, now=clock, worker="w1")  # type: ignore[arg-type]
    await _enqueue(db, clock, 2)
    scheduler.start()
    await asyncio.wait_for(runner.first_started.wait(), 30)

    await asyncio.wait_for(scheduler.drain(grace=0.01), 30)  # the job never finishes

    assert runner.finished == []
    async with db.transaction() as tx:
        again = await tx.jobs.claim_due(
            now=clock(), limit=BATCH, lease=timedelta(minutes=2), worker="w2"
        )
    assert [(job.dedupe_key, job.attempts) for job in again] == [("j0", 2), ("j1", 1)]


async def test_a_drained_scheduler_claims_nothing_more(db: Database) -> None:
    clock = FakeClock()
    runner = BlockingRunner()
    scheduler = Scheduler(db, runner, now=clock, worker="w1")  # type: ignore[arg-type]
    await scheduler.drain(grace=1)
    await _enqueue(db, clock, 1)

    assert await scheduler.run_once() == 0
    assert runner.started == []
