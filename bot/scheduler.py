"""Runs due jobs from the durable queue: several replicas may run it at once (jobs are leased),
and each replica runs up to `concurrency` jobs at a time.

Jobs that touch the same thing keep the order they were claimed in (oldest due first): a job
about a request waits for the jobs about that request that started before it, except that jobs
for different people of one request (each approver's card, each copy's update) run side by
side; and the messages to one person go out one after another. Unrelated jobs run in parallel.

Shutting down (`drain`) stops claiming, lets the jobs that are running finish (within a grace
period), and gives back the leases of claimed jobs that never started, so that nothing waits for
a dead worker's lease and no side effect is cut off between doing it and recording it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.logging_setup import new_correlation_id, reset_correlation_id, set_correlation_id
from bot.store import Database, Job
from bot.telemetry import count_job, mark_failed, work_span
from bot.workflow.jobs import JobRunner
from bot.workflow.outbox import RetryLater
from bot.workflow.ports import DeliveryDelayed, DeliveryRefused

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
# Jobs claimed at once when running one at a time. With `concurrency` above 1 a claim takes as
# many as there are free slots, so that every claimed job starts at once: a claimed job that
# has not started holds a lease another replica could be running it under, and a worker that
# dies without draining strands fewer jobs until their leases run out.
BATCH = 5
MAX_ATTEMPTS = 12
# Backoff for unexpected failures (a connector that is down, a bug): 5 s, 10 s, 20 s … 10 min.
FAILURE_BACKOFF_CAP = timedelta(minutes=10)


@dataclass(frozen=True)
class _Scope:
    """What a job touches: a request (all of it, or one person's part of it: `person` set) and
    a person's chat."""

    request: str | None
    person: str | None

    @classmethod
    def of(cls, job: Job) -> _Scope:
        request = job.payload.get("request_id")
        person = job.payload.get("approver_id") or job.payload.get("person_id")
        return cls(
            str(request) if request is not None else None,
            str(person) if person is not None else None,
        )

    def conflicts(self, other: _Scope) -> bool:
        """Whether the two must not run at the same time (the later one waits)."""
        if self.request is not None and self.request == other.request:
            return self.person is None or other.person is None or self.person == other.person
        return self.person is not None and self.person == other.person


class Scheduler:
    def __init__(
        self,
        db: Database,
        runner: JobRunner,
        *,
        now: Callable[[], datetime],
        interval: float = 1.0,
        worker: str | None = None,
        concurrency: int = 1,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.db = db
        self.runner = runner
        self.now = now
        self.interval = interval
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self.concurrency = concurrency
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._draining = False
        self._unstarted: dict[int, Job] = {}  # claimed by this worker, not yet run
        self._running: dict[int, Job] = {}

    @property
    def draining(self) -> bool:
        return self._draining

    def wake(self) -> None:
        """Run due jobs now rather than at the next tick (after a turn queued some)."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="pimbot-scheduler")

    async def stop(self) -> None:
        """Stop at once: running jobs are cut off (see `drain` for a graceful stop)."""
        await self.drain(grace=0.0)

    async def drain(self, grace: float) -> None:
        """Claim nothing more; give the running jobs up to `grace` seconds to finish; then give
        back the leases of claimed jobs that did not start (and of jobs cut off by the grace
        running out, whose outcome is unknown: they run again, like after a crash)."""
        self._draining = True
        self._wake.set()
        task, self._task = self._task, None
        cut_off: list[Job] = []
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=grace)
            except TimeoutError:
                cut_off = list(self._running.values())
                for job in cut_off:
                    log.warning(
                        "job %s (%s) still running after the %.1f s shutdown grace; cut off",
                        job.id,
                        job.kind,
                        grace,
                    )
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._release_claims(cut_off)

    async def run_once(self) -> int:
        """Claim and run every job due now, up to `concurrency` at a time; returns how many ran.
        Jobs that become due while running (a notice queued by an activation) run in the same
        call. While draining, it claims nothing and starts nothing more (running jobs finish)."""
        total = 0
        flights: dict[asyncio.Task[bool], _Scope] = {}
        try:
            while not self._draining:
                free = self.concurrency - len(flights)
                jobs: list[Job] = []
                if free > 0:
                    async with self.db.transaction() as tx:
                        jobs = await tx.jobs.claim_due(
                            now=self.now(),
                            limit=BATCH if self.concurrency == 1 else free,
                            lease=LEASE,
                            worker=self.worker,
                        )
                if not jobs and not flights:
                    return total
                if self.concurrency == 1:
                    # One at a time, in claim order.
                    self._unstarted.update((job.id, job) for job in jobs)
                    for job in jobs:
                        if await self._start(job, []):
                            total += 1
                    continue
                for job in jobs:
                    scope = _Scope.of(job)
                    before = [t for t, other in flights.items() if scope.conflicts(other)]
                    self._unstarted[job.id] = job
                    flights[asyncio.create_task(self._start(job, before))] = scope
                if jobs and len(jobs) == free:
                    continue  # as many as there were free slots: more may be due
                # Nothing more is due now: wait for a job to finish (it may queue more).
                done, _ = await asyncio.wait(flights, return_when=asyncio.FIRST_COMPLETED)
                for finished in done:
                    del flights[finished]
                    total += finished.result()
            if flights:  # draining: let what runs finish, start nothing more
                results = await asyncio.gather(*flights)
                flights.clear()
                total += sum(results)
            return total
        finally:
            for flight in flights:
                flight.cancel()
            if flights:
                await asyncio.gather(*flights, return_exceptions=True)

    async def _start(self, job: Job, before: list[asyncio.Task[bool]]) -> bool:
        """Run `job` once the jobs it must follow are done, unless draining by then. True if it
        ran."""
        if before:
            await asyncio.wait(before)
        if self._draining:
            return False
        del self._unstarted[job.id]
        self._running[job.id] = job
        try:
            await self._run(job)
        except Exception:
            if self.concurrency == 1:
                raise
            # Its outcome could not be recorded (the database went away): its lease runs out
            # and it runs again, as after a crash; the jobs beside it carry on.
            log.exception("job %s (%s): recording its outcome failed", job.id, job.kind)
        finally:
            del self._running[job.id]
        return True

    async def _release_claims(self, cut_off: list[Job]) -> None:
        unstarted, self._unstarted = list(self._unstarted), {}
        if not unstarted and not cut_off:
            return
        try:
            async with self.db.transaction() as tx:
                released = await tx.jobs.release(unstarted, self.worker)
                released += await tx.jobs.release(
                    [job.id for job in cut_off], self.worker, started=True
                )
        except Exception:
            log.exception("could not give back the leases of %d claimed jobs", len(unstarted))
            return
        log.info("gave back %d claimed jobs that had not run", released)

    async def _loop(self) -> None:
        while not self._draining:
            try:
                await self.run_once()
            except Exception:
                log.exception("scheduler tick failed")
            if self._draining:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            self._wake.clear()

    async def _run(self, job: Job) -> None:
        """One job, with a correlation id of its own (its log lines carry it) and a span."""
        token = set_correlation_id(new_correlation_id())
        attributes: dict[str, str | int] = {
            "pimbot.job.kind": job.kind,
            "pimbot.job.id": job.id,
            "pimbot.job.attempt": job.attempts,
        }
        try:
            with work_span("pimbot.job", attributes) as span:
                outcome = await self._run_recorded(job)
                span.set_attribute("pimbot.job.outcome", outcome)
                if outcome == "failed":
                    mark_failed(span, "the job failed")
            count_job(job.kind, outcome)
        finally:
            reset_correlation_id(token)

    async def _run_recorded(self, job: Job) -> str:
        """Run the job and record how it went; returns that outcome (`done`, `retry`,
        `refused`, `delayed`, `failed`)."""
        try:
            await self.runner.run(job)
        except RetryLater as later:
            async with self.db.transaction() as tx:
                await tx.jobs.retry(job.id, due_at=self.now() + later.delay, error=str(later))
            return "retry"
        except DeliveryRefused as refused:
            # An expected refusal (the channel said no to this message): no traceback, no retry.
            log.warning("job %s (%s): Teams refused it: %s", job.id, job.kind, refused)
            async with self.db.transaction() as tx:
                await tx.jobs.give_up(job.id, f"refused: {refused}")
            return "refused"
        except DeliveryDelayed as delayed:
            log.warning(
                "job %s (%s), attempt %d: Teams asks to try later: %s",
                job.id,
                job.kind,
                job.attempts,
                delayed,
            )
            async with self.db.transaction() as tx:
                if job.attempts >= MAX_ATTEMPTS:
                    await tx.jobs.give_up(job.id, f"delayed: {delayed}")
                else:
                    delay = max(
                        _failure_backoff(job.attempts),
                        timedelta(seconds=delayed.retry_after or 0),
                    )
                    await tx.jobs.retry(
                        job.id, due_at=self.now() + delay, error=f"delayed: {delayed}"
                    )
            return "delayed"
        except Exception as exc:
            log.exception("job %s (%s) failed, attempt %d", job.id, job.kind, job.attempts)
            async with self.db.transaction() as tx:
                if job.attempts >= MAX_ATTEMPTS:
                    await tx.jobs.give_up(job.id, f"{type(exc).__name__}: {exc}")
                else:
                    delay = _failure_backoff(job.attempts)
                    await tx.jobs.retry(
                        job.id, due_at=self.now() + delay, error=f"{type(exc).__name__}: {exc}"
                    )
            return "failed"
        async with self.db.transaction() as tx:
            await tx.jobs.complete(job.id, self.worker)
        return "done"


def _failure_backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=5 * 2 ** (attempts - 1)), FAILURE_BACKOFF_CAP)
