"""Expiry: the warning before an activation ends and the notice once it has, both following the
end time Graph reports (re-read before acting), both sent once per end time."""

from __future__ import annotations

from datetime import datetime, timedelta

import cards
from bot.domain import ActivationRequest, RequestState
from bot.store import Job
from bot.timefmt import format_when
from bot.workflow import outbox
from bot.workflow.audit import audit
from bot.workflow.context import Deps
from bot.workflow.moves import Notice, move
from bot.workflow.outbox import RetryLater
from bot.workflow.people import timezone_of
from cards.text import plain

# Graph has not removed an ended activation yet: look again after this long.
EXPIRY_RECHECK = timedelta(seconds=30)


async def load_request(deps: Deps, job: Job) -> ActivationRequest | None:
    async with deps.db.transaction() as tx:
        return await tx.requests.get(str(job.payload["request_id"]))


class ExpiryJobs:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def warning(self, job: Job) -> None:
        """Before the end: a card with Extend and Deactivate, once per end time."""
        request = await load_request(self.deps, job)
        if request is None or request.state is not RequestState.ACTIVE:
            return
        end = await self._graph_end(request)
        if end is None:
            return  # already gone in Graph; the end check tells the person
        if await self._moved(request, end):
            return
        # Sent through the outbox like every notice: the audit entry and the message job commit
        # together, and the message job is the only place that talks to Teams.
        now = self.deps.now()
        minutes_left = max(0, int((end - now).total_seconds() // 60))
        async with self.deps.db.transaction() as tx:
            tz = await timezone_of(tx, request.requester.id)
            await outbox.message(
                tx,
                request.requester.id,
                request.tenant_id,
                key=f"warning:{request.id}:{end.isoformat()}",
                now=now,
                text=f"{plain(request.role.display_name)} ends at {format_when(end, tz)}",
                card=cards.expiry_warning(request, minutes_left=minutes_left, tz=tz),
                about=request,
            )
            # Last, as in `move`: the audit head stays locked until the commit.
            await audit(
                tx,
                now,
                None,
                "expiry.warned",
                request,
                details={"end": end.isoformat(), "minutes_left": minutes_left},
            )
        self.deps.wake_scheduler()

    async def check(self, job: Job) -> None:
        """At the end: once Graph no longer lists the activation, tell the person."""
        request = await load_request(self.deps, job)
        if request is None or request.state is not RequestState.ACTIVE:
            return
        end = await self._graph_end(request)
        now = self.deps.now()
        if end is not None:
            if await self._moved(request, end):
                return
            if end > now - timedelta(minutes=5):
                # Graph still lists it; PIM removes ended activations within seconds.
                raise RetryLater(EXPIRY_RECHECK, "still active in Graph")
        async with self.deps.db.transaction() as tx:
            tz = await timezone_of(tx, request.requester.id)
            await move(
                self.deps,
                tx,
                request,
                from_states=RequestState.ACTIVE,
                to=RequestState.ENDED,
                action="role.expired",
                actor=None,
                notice=Notice(
                    f"{plain(request.role.display_name)} has ended.",
                    key="ended",
                    card=lambda ended: cards.ended(ended, tz=tz),
                ),
                now=now,
            )

    async def _graph_end(self, request: ActivationRequest) -> datetime | None:
        """The end time of the person's activation of this role as Graph has it now, or None
        when Graph lists none."""
        for active in await self.deps.directory.active_roles(request.requester.id):
            if active.role.id == request.role.id and active.end is not None:
                return active.end
        return None

    async def _moved(self, request: ActivationRequest, end: datetime) -> bool:
        """If Graph's end differs from ours (extended elsewhere, shortened by an admin), follow
        Graph: store the new end and schedule new notices."""
        if request.end is not None and abs((end - request.end).total_seconds()) < 1:
            return False
        now = self.deps.now()
        async with self.deps.db.transaction() as tx:
            updated = await tx.requests.update(request.id, now=now, end=end)
            await outbox.expiry(
                tx, updated, end=end, warning=self.deps.config.expiry_warning, now=now
            )
            await audit(
                tx, now, None, "expiry.rescheduled", updated, details={"end": end.isoformat()}
            )
        self.deps.wake_scheduler()
        return True
