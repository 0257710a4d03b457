"""A replica runs several jobs at a time: unrelated jobs side by side, jobs about one request
(or to one person) in the order they were claimed, and a drain still gives back what never
started."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from bot.scheduler import Scheduler
from bot.store import Database, Job
from tests.support.clock import FakeClock


class GatedRunner:
    """Records when each job starts and finishes; a job named in `gates` waits for its gate."""

    def __init__(self, *gated: str) -> None:
        self.events: list[str] = []
        self.gates = {name: asyncio.Event() for name in gated}
        self.started = {name: asyncio.Event() for name in gated}

    async def run(self, job: Job) -> None:
        self.events.append(f"start {job.dedupe_key}")
        if job.dedupe_key in self.gates:
            self.started[job.dedupe_key].set()
            await self.gates[job.dedupe_key].wait()
        self.events.append(f"end {job.dedupe_key}")

    def began(self, name: str) -> bool:
        return f"start {name}" in self.events


async def _enqueue(db: Database, clock: FakeClock, jobs: list[tuple[str, dict[str, Any]]]) -> None:
    """Jobs due one second apart, in this order."""
    async with db.transaction() as tx:
        for n, (key, payload) in enumerate(jobs):
            await tx.jobs.enqueue(
                "work", payload, due_at=clock() - timedelta(seconds=len(jobs) - n), dedupe_key=key
            )


async def _until(runner: GatedRunner, *names: str) -> None:
    await asyncio.wait_for(asyncio.gather(*(runner.started[n].wait() for n in names)), 30)


async def _settle(runner: GatedRunner, *names: str) -> None:
    """Until every named (ungated) job has finished."""

    async def done() -> None:
        while not all(f"end {n}" in runner.events for n in names):
            await asyncio.sleep(0.01)

    await asyncio.wait_for(done(), 30)


async def test_jobs_about_different_requests_run_side_by_side(db: Database) -> None:
    clock = FakeClock()
    runner = GatedRunner("a", "b")
    scheduler = Scheduler(db, runner, now=clock, worker="w1", concurrency=4)  # type: ignore[arg-type]
    await _enqueue(db, clock, [("a", {"request_id": "r1"}), ("b", {"request_id": "r2"})])

    running = asyncio.create_task(scheduler.run_once())
    await _until(runner, "a", "b")  # both started while neither has finished
    runner.gates["b"].set()
    runner.gates["a"].set()

    assert await asyncio.wait_for(running, 30) == 2
    assert runner.events[:2] == ["start a", "start b"]


async def test_a_job_about_a_request_waits_for_the_one_before_it(db: Database) -> None:
    clock = FakeClock()
    runner = GatedRunner("first")
    scheduler = Scheduler(db, runner, now=clock, worker="w1", concurrency=4)  # type: ignore[arg-type]
    await _enqueue(
        db,
        clock,
        [
            ("first", {"request_id": "r1"}),
            ("second", {"request_id": "r1"}),
            ("other", {"request_id": "r2"}),
        ],
    )

    running = asyncio.create_task(scheduler.run_once())
    await _until(runner, "first")
    await _settle(runner, "other")  # an unrelated job ran meanwhile
    assert not runner.began("second")
    runner.gates["first"].set()

    assert await asyncio.wait_for(running, 30) == 3
    assert runner.events.index("end first") < runner.events.index("start second")


async def test_cards_for_different_people_of_one_request_run_side_by_side(db: Database) -> None:
    clock = FakeClock()
    runner = GatedRunner("megan", "nestor")
    scheduler = Scheduler(db, runner, now=clock, worker="w1", concurrency=4)  # type: ignore[arg-type]
    await _enqueue(
        db,
        clock,
        [
            ("megan", {"request_id": "r1", "approver_id": "megan"}),
            ("nestor", {"request_id": "r1", "approver_id": "nestor"}),
            ("refresh", {"request_id": "r1"}),  # about the whole request: after both
            ("to megan", {"person_id": "megan"}),  # megan's chat: after her card
        ],
    )

    running = asyncio.create_task(scheduler.run_once())
    await _until(runner, "megan", "nestor")
    assert not runner.began("refresh")
    assert not runner.began("to megan")
    runner.gates["nestor"].set()
    await _settle(runner, "nestor")
    assert not runner.began("refresh")
    runner.gates["megan"].set()

    assert await asyncio.wait_for(running, 30) == 4
    assert runner.events.index("end megan") < runner.events.index("start refresh")
    assert runner.events.index("end megan") < runner.events.index("start to megan")


async def test_no_more_than_the_concurrency_run_at_once(db: Database) -> None:
    clock = FakeClock()
    runner = GatedRunner("j0", "j1", "j2")
    scheduler = Scheduler(db, runner, now=clock, worker="w1", concurrency=2)  # type: ignore[arg-type]
    await _enqueue(db, clock, [(f"j{n}", {"request_id": f"r{n}"}) for n in range(3)])

    running = asyncio.create_task(scheduler.run_once())
    await _until(runner, "j0", "j1")
    for _ in range(20):  # let the loop turn: the third still waits for a free slot
        await asyncio.sleep(0)
    assert not runner.began("j2")
    async with db.transaction() as tx:
        pending = {job.dedupe_key: job.attempts for job in await tx.jobs.pending()}
    assert pending == {"j0": 1, "j1": 1, "j2": 0}  # only what runs is claimed
    runner.gates["j0"].set()
    await _until(runner, "j2")
    runner.gates["j1"].set()
    runner.gates["j2"].set()

    assert await asyncio.wait_for(running, 30) == 3


async def test_draining_lets_running_jobs_finish_and_gives_back_the_ones_waiting(
    db: Database,
) -> None:
    clock = FakeClock()
    runner = GatedRunner("a", "b")
    scheduler = Scheduler(db, runner, now=clock, worker="w1", concurrency=4)  # type: ignore[arg-type]
    await _enqueue(
        db,
        clock,
        [("a", {"request_id": "r1"}), ("b", {"request_id": "r2"}), ("a2", {"request_id": "r1"})],
    )
    scheduler.start()
    await _until(runner, "a", "b")  # a2 waits for a

    drained = asyncio.create_task(scheduler.drain(grace=60))
    while not scheduler.draining:
        await asyncio.sleep(0)
    runner.gates["a"].set()
    runner.gates["b"].set()
    await asyncio.wait_for(drained, 30)

    assert not runner.began("a2")
    async with db.transaction() as tx:
        left = await tx.jobs.pending()
    assert [(job.dedupe_key, job.attempts) for job in left] == [("a2", 0)]
    async with db.transaction() as tx:  # given back: claimable at once by another replica
        again = await tx.jobs.claim_due(
            now=clock(), limit=5, lease=timedelta(minutes=2), worker="w2"
        )
    assert [job.dedupe_key for job in again] == ["a2"]


async def test_jobs_cut_off_by_the_grace_are_given_back_as_tried(db: Database) -> None:
    clock = FakeClock()
    runner = GatedRunner("a", "b")
    scheduler = Scheduler(db, runner, now=clock, worker="w1", concurrency=4)  # type: ignore[arg-type]
    await _enqueue(db, clock, [("a", {"request_id": "r1"}), ("b", {"request_id": "r2"})])
    scheduler.start()
    await _until(runner, "a", "b")

    await asyncio.wait_for(scheduler.drain(grace=0.01), 30)  # neither ever finishes

    async with db.transaction() as tx:
        again = await tx.jobs.claim_due(
            now=clock(), limit=5, lease=timedelta(minutes=2), worker="w2"
        )
    assert [(job.dedupe_key, job.attempts) for job in again] == [("a", 2), ("b", 2)]
