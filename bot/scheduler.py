"""Runs due jobs from the durable queue: several replicas may run it at once (jobs are leased)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.store import Database, Job
from bot.workflow.jobs import JobRunner
from bot.workflow.outbox import RetryLater

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
BATCH = 20
MAX_ATTEMPTS = 12
# Backoff for unexpected failures (a connector that is down, a bug): 5 s, 10 s, 20 s … 10 min.
FAILURE_BACKOFF_CAP = timedelta(minutes=10)


class Scheduler:
    def __init__(
        self,
        db: Database,
        runner: JobRunner,
        *,
        now: Callable[[], datetime],
        interval: float = 1.0,
        worker: str | None = None,
    ) -> None:
        self.db = db
        self.runner = runner
        self.now = now
        self.interval = interval
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Run due jobs now rather than at the next tick (after a turn queued some)."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="pimbot-scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run_once(self) -> int:
        """Claim and run every job due now; returns how many ran. Jobs that become due while
        running (a notice queued by an activation) run in the same call."""
        total = 0
        while True:
            async with self.db.transaction() as tx:
                jobs = await tx.jobs.claim_due(
                    now=self.now(), limit=BATCH, lease=LEASE, worker=self.worker
                )
            if not jobs:
                return total
            for job in jobs:
                await self._run(job)
            total += len(jobs)

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("scheduler tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            self._wake.clear()

    async def _run(self, job: Job) -> None:
        try:
            await self.runner.run(job)
        except RetryLater as later:
            async with self.db.transaction() as tx:
                await tx.jobs.retry(job.id, due_at=self.now() + later.delay, error=str(later))
            return
        except Exception as exc:
            log.exception("job %s (%s) failed, attempt %d", job.id, job.kind, job.attempts)
            async with self.db.transaction() as tx:
                if job.attempts >= MAX_ATTEMPTS:
                    await tx.jobs.give_up(job.id, f"{type(exc).__name__}: {exc}")
                else:
                    delay = min(timedelta(seconds=5 * 2 ** (job.attempts - 1)), FAILURE_BACKOFF_CAP)
                    await tx.jobs.retry(
                        job.id, due_at=self.now() + delay, error=f"{type(exc).__name__}: {exc}"
                    )
            return
        async with self.db.transaction() as tx:
            await tx.jobs.complete(job.id, self.worker)
