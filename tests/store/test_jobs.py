import asyncio
from datetime import timedelta

from bot.store import Database, Job
from tests.store.factories import T0

LEASE = timedelta(seconds=30)


async def _enqueue(
    db: Database, key: str, *, due_in: timedelta = timedelta(0), kind: str = "warn"
) -> bool:
    async with db.transaction() as tx:
        return await tx.jobs.enqueue(
            kind, {"request_id": key, "n": 1}, due_at=T0 + due_in, dedupe_key=key
        )


async def _claim(
    db: Database, worker: str, *, at: timedelta = timedelta(0), limit: int = 10
) -> list[Job]:
    async with db.transaction() as tx:
        return await tx.jobs.claim_due(now=T0 + at, limit=limit, lease=LEASE, worker=worker)


async def _pending(db: Database, kind: str | None = None) -> list[Job]:
    async with db.transaction() as tx:
        return await tx.jobs.pending(kind)


async def test_an_enqueued_job_round_trips(db: Database) -> None:
    assert await _enqueue(db, "expiry-warning:req-1", due_in=timedelta(minutes=5))

    [job] = await _pending(db)
    assert job.kind == "warn"
    assert job.payload == {"request_id": "expiry-warning:req-1", "n": 1}
    assert job.due_at == T0 + timedelta(minutes=5)
    assert (job.attempts, job.dedupe_key, job.last_error) == (0, "expiry-warning:req-1", "")


async def test_a_dedupe_key_is_enqueued_only_once(db: Database) -> None:
    assert await _enqueue(db, "k") is True
    assert await _enqueue(db, "k", due_in=timedelta(hours=1)) is False

    [job] = await _pending(db)
    assert job.due_at == T0


async def test_a_finished_jobs_dedupe_key_stays_taken(db: Database) -> None:
    await _enqueue(db, "k")
    [job] = await _claim(db, "w1")
    async with db.transaction() as tx:
        await tx.jobs.complete(job.id, "w1")

    assert await _enqueue(db, "k") is False
    assert await _pending(db) == []


async def test_claim_takes_only_due_jobs_oldest_first_and_counts_the_attempt(db: Database) -> None:
    await _enqueue(db, "later", due_in=timedelta(minutes=10))
    await _enqueue(db, "second", due_in=timedelta(seconds=-1))
    await _enqueue(db, "first", due_in=timedelta(seconds=-2))

    claimed = await _claim(db, "w1")

    assert [job.dedupe_key for job in claimed] == ["first", "second"]
    assert [job.attempts for job in claimed] == [1, 1]


async def test_claim_respects_the_limit(db: Database) -> None:
    for i in range(5):
        await _enqueue(db, f"k{i}", due_in=timedelta(seconds=-i))

    assert [job.dedupe_key for job in await _claim(db, "w1", limit=2)] == ["k4", "k3"]
    assert len(await _claim(db, "w2", limit=10)) == 3


async def test_a_leased_job_is_not_claimed_again_while_the_lease_holds(db: Database) -> None:
    await _enqueue(db, "k")
    assert len(await _claim(db, "w1")) == 1

    assert await _claim(db, "w2", at=LEASE - timedelta(microseconds=1)) == []


async def test_an_expired_lease_lets_another_worker_claim_the_job(db: Database) -> None:
    await _enqueue(db, "k")
    [first] = await _claim(db, "w1")

    [taken_over] = await _claim(db, "w2", at=LEASE)

    assert taken_over.id == first.id
    assert taken_over.attempts == 2


async def test_completion_by_a_worker_that_lost_its_lease_does_not_count(db: Database) -> None:
    await _enqueue(db, "k")
    [job] = await _claim(db, "w1")
    await _claim(db, "w2", at=LEASE)

    async with db.transaction() as tx:
        await tx.jobs.complete(job.id, "w1")
    assert [j.id for j in await _pending(db)] == [job.id]

    async with db.transaction() as tx:
        await tx.jobs.complete(job.id, "w2")
    assert await _pending(db) == []


async def test_two_workers_on_two_engines_never_claim_the_same_job(
    database_url: str, db: Database
) -> None:
    for i in range(60):
        await _enqueue(db, f"k{i}")
    other_engine = await Database.connect(database_url)

    async def drain(database: Database, worker: str) -> list[int]:
        taken: list[int] = []
        while batch := await _claim(database, worker, limit=3):
            taken.extend(job.id for job in batch)
        return taken

    try:
        results = await asyncio.gather(
            *(drain(db if i % 2 else other_engine, f"w{i}") for i in range(6))
        )
    finally:
        await other_engine.close()

    claimed = [job_id for worker_ids in results for job_id in worker_ids]
    assert len(claimed) == 60
    assert len(set(claimed)) == 60


async def test_retry_frees_the_lease_and_runs_later_with_the_error(db: Database) -> None:
    await _enqueue(db, "k")
    [job] = await _claim(db, "w1")

    async with db.transaction() as tx:
        await tx.jobs.retry(job.id, due_at=T0 + timedelta(seconds=5), error="Graph 429")

    assert await _claim(db, "w2", at=timedelta(seconds=4)) == []
    [again] = await _claim(db, "w2", at=timedelta(seconds=5))
    assert (again.attempts, again.last_error) == (2, "Graph 429")


async def test_give_up_finishes_the_job_for_good(db: Database) -> None:
    await _enqueue(db, "k")
    [job] = await _claim(db, "w1")

    async with db.transaction() as tx:
        await tx.jobs.give_up(job.id, "user deleted")

    assert await _pending(db) == []
    assert await _claim(db, "w2", at=timedelta(days=1)) == []


async def test_very_long_errors_are_truncated(db: Database) -> None:
    await _enqueue(db, "k")
    [job] = await _claim(db, "w1")
    async with db.transaction() as tx:
        await tx.jobs.retry(job.id, due_at=T0, error="x" * 10_000)
    [stored] = await _pending(db)
    assert len(stored.last_error) == 2000


async def test_reschedule_moves_an_unfinished_job(db: Database) -> None:
    await _enqueue(db, "expiry:req-1", due_in=timedelta(minutes=45))

    async with db.transaction() as tx:
        assert await tx.jobs.reschedule("expiry:req-1", T0 + timedelta(hours=2))
        assert not await tx.jobs.reschedule("unknown", T0)

    [job] = await _pending(db)
    assert job.due_at == T0 + timedelta(hours=2)


async def test_cancel_stops_an_unfinished_job_and_keeps_its_key_taken(db: Database) -> None:
    await _enqueue(db, "k")

    async with db.transaction() as tx:
        assert await tx.jobs.cancel("k") is True
        assert await tx.jobs.cancel("k") is False
        assert await tx.jobs.reschedule("k", T0) is False

    assert await _claim(db, "w1") == []
    assert await _enqueue(db, "k") is False


async def test_pending_filters_by_kind(db: Database) -> None:
    await _enqueue(db, "a", kind="warn")
    await _enqueue(db, "b", kind="ended")

    assert [job.dedupe_key for job in await _pending(db, "ended")] == ["b"]
    assert [job.dedupe_key for job in await _pending(db)] == ["a", "b"]


async def test_oldest_due_lag(db: Database) -> None:
    async with db.transaction() as tx:
        assert await tx.jobs.oldest_due_lag(T0) is None
    await _enqueue(db, "future", due_in=timedelta(minutes=1))
    await _enqueue(db, "overdue", due_in=timedelta(seconds=-90))

    async with db.transaction() as tx:
        assert await tx.jobs.oldest_due_lag(T0) == timedelta(seconds=90)


async def test_released_claims_can_be_claimed_at_once_with_their_attempt_given_back(
    db: Database,
) -> None:
    await _enqueue(db, "a")
    await _enqueue(db, "b")
    claimed = await _claim(db, "w1")
    async with db.transaction() as tx:
        assert await tx.jobs.release([job.id for job in claimed], "w2") == 0  # not w2's
        assert await tx.jobs.release([job.id for job in claimed], "w1") == 2

    again = await _claim(db, "w2")  # no lease to wait for

    assert [(job.dedupe_key, job.attempts) for job in again] == [("a", 1), ("b", 1)]


async def test_a_started_job_released_keeps_its_attempt(db: Database) -> None:
    await _enqueue(db, "a")
    [job] = await _claim(db, "w1")
    async with db.transaction() as tx:
        await tx.jobs.release([job.id], "w1", started=True)

    [again] = await _claim(db, "w2")
    assert again.attempts == 2
