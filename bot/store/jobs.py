"""JobQueue: the durable outbox and scheduler queue.

A job is written in the same transaction as the state change that calls for it, so a crash
cannot lose it. Workers lease due jobs for a while; a job whose worker died becomes claimable
again when the lease runs out, so handlers must be idempotent (the dedupe key helps).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Row, Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.dialect import upsert_insert
from bot.store.schema import jobs
from bot.store.types import as_utc

log = logging.getLogger(__name__)

MAX_ERROR_LENGTH = 2000


class JobStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"  # given up
    CANCELLED = "cancelled"


class Job(BaseModel):
    id: int
    kind: str
    payload: dict[str, Any]
    due_at: datetime
    attempts: int  # including the current one, once claimed
    dedupe_key: str
    last_error: str


class JobQueue:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def enqueue(
        self, kind: str, payload: dict[str, Any], *, due_at: datetime, dedupe_key: str
    ) -> bool:
        """Add a job unless one with `dedupe_key` was ever enqueued (even if it has finished or
        was cancelled). True if this call added it."""
        statement = (
            upsert_insert(self._connection, jobs)
            .values(
                kind=kind,
                payload=payload,
                due_at=as_utc(due_at),
                attempts=0,
                dedupe_key=dedupe_key,
                status=JobStatus.PENDING.value,
                last_error="",
            )
            .on_conflict_do_nothing(index_elements=[jobs.c.dedupe_key])
            .returning(jobs.c.id)
        )
        return (await self._connection.execute(statement)).first() is not None

    async def claim_due(
        self, *, now: datetime, limit: int, lease: timedelta, worker: str
    ) -> list[Job]:
        """Lease up to `limit` due jobs to `worker` until `now + lease`, oldest due first.

        PostgreSQL skips rows another transaction is claiming (`FOR UPDATE SKIP LOCKED`); SQLite
        runs the single UPDATE under its database write lock. Either way no two workers hold
        the same job while its lease lasts.
        """
        now = as_utc(now)
        statement = (
            update(jobs)
            .where(jobs.c.id.in_(claimable(now, limit)))
            .values(locked_by=worker, locked_until=now + lease, attempts=jobs.c.attempts + 1)
            .returning(*jobs.c)
        )
        rows = (await self._connection.execute(statement)).all()
        return sorted((_decode(row) for row in rows), key=lambda job: (job.due_at, job.id))

    async def complete(self, job_id: int, worker: str) -> None:
        """Mark the job done, if `worker` still holds it. When its lease ran out and another
        worker took the job over, that worker's outcome counts instead."""
        result = await self._connection.execute(
            update(jobs)
            .where(
                jobs.c.id == job_id,
                jobs.c.locked_by == worker,
                jobs.c.status == JobStatus.PENDING.value,
            )
            .values(
                status=JobStatus.DONE.value,
                locked_by=None,
                locked_until=None,
                finished_at=_wall_clock(),
            )
            .returning(jobs.c.id)
        )
        if result.first() is None:
            log.warning("job %s finished by %s, which no longer held its lease", job_id, worker)

    async def release(self, job_ids: list[int], worker: str, *, started: bool = False) -> int:
        """Give back leases `worker` holds, so the jobs can be claimed at once (by another
        replica, or this one after a restart) rather than when the lease runs out. A job that
        never `started` gets its claim's attempt back. Returns how many were released."""
        if not job_ids:
            return 0
        values: dict[str, Any] = {"locked_by": None, "locked_until": None}
        if not started:
            values["attempts"] = jobs.c.attempts - 1
        result = await self._connection.execute(
            update(jobs)
            .where(
                jobs.c.id.in_(job_ids),
                jobs.c.locked_by == worker,
                jobs.c.status == JobStatus.PENDING.value,
            )
            .values(**values)
            .returning(jobs.c.id)
        )
        return len(result.all())

    async def retry(self, job_id: int, *, due_at: datetime, error: str) -> None:
        """Free the lease and run the job again at `due_at`."""
        await self._connection.execute(
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.status == JobStatus.PENDING.value)
            .values(
                due_at=as_utc(due_at),
                last_error=_truncate(error),
                locked_by=None,
                locked_until=None,
            )
        )

    async def give_up(self, job_id: int, error: str) -> None:
        """Finish the job as failed; it will not run again."""
        await self._connection.execute(
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.status == JobStatus.PENDING.value)
            .values(
                status=JobStatus.FAILED.value,
                last_error=_truncate(error),
                locked_by=None,
                locked_until=None,
                finished_at=_wall_clock(),
            )
        )

    async def reschedule(self, dedupe_key: str, due_at: datetime) -> bool:
        """Move an unfinished job to `due_at`. False if there is none with that key."""
        result = await self._connection.execute(
            update(jobs)
            .where(jobs.c.dedupe_key == dedupe_key, jobs.c.status == JobStatus.PENDING.value)
            .values(due_at=as_utc(due_at))
            .returning(jobs.c.id)
        )
        return result.first() is not None

    async def cancel(self, dedupe_key: str) -> bool:
        """Cancel an unfinished job. Its dedupe key stays taken. False if there is none."""
        result = await self._connection.execute(
            update(jobs)
            .where(jobs.c.dedupe_key == dedupe_key, jobs.c.status == JobStatus.PENDING.value)
            .values(
                status=JobStatus.CANCELLED.value,
                locked_by=None,
                locked_until=None,
                finished_at=_wall_clock(),
            )
            .returning(jobs.c.id)
        )
        return result.first() is not None

    async def pending(self, kind: str | None = None) -> list[Job]:
        """Unfinished jobs (leased or not), soonest due first."""
        statement = select(jobs).where(jobs.c.status == JobStatus.PENDING.value)
        if kind is not None:
            statement = statement.where(jobs.c.kind == kind)
        rows = await self._connection.execute(statement.order_by(jobs.c.due_at, jobs.c.id))
        return [_decode(row) for row in rows]

    async def oldest_due_lag(self, now: datetime) -> timedelta | None:
        """How long the longest-waiting due, unfinished job has been due; None if none is."""
        now = as_utc(now)
        oldest: datetime | None = (
            await self._connection.execute(
                select(func.min(jobs.c.due_at)).where(
                    jobs.c.status == JobStatus.PENDING.value, jobs.c.due_at <= now
                )
            )
        ).scalar_one()
        return None if oldest is None else now - oldest


def claimable(now: datetime, limit: int) -> Select[tuple[int]]:
    """The ids `claim_due` leases: due, unleased pending jobs, oldest due first.

    Its order is the index `ix_jobs_status_due_id` (status, due_at, id), so a claim reads `limit`
    index entries however many jobs are pending or share a due time.
    """
    return (
        select(jobs.c.id)
        .where(
            jobs.c.status == JobStatus.PENDING.value,
            jobs.c.due_at <= as_utc(now),
            or_(jobs.c.locked_until.is_(None), jobs.c.locked_until <= as_utc(now)),
        )
        .order_by(jobs.c.due_at, jobs.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


def _decode(row: Row[Any]) -> Job:
    return Job(
        id=row.id,
        kind=row.kind,
        payload=row.payload,
        due_at=row.due_at,
        attempts=row.attempts,
        dedupe_key=row.dedupe_key,
        last_error=row.last_error,
    )


def _truncate(error: str) -> str:
    return error if len(error) <= MAX_ERROR_LENGTH else error[: MAX_ERROR_LENGTH - 1] + "…"


def _wall_clock() -> datetime:
    """For bookkeeping columns only; every decision uses the caller's `now`."""
    return datetime.now(UTC)
