"""The work the scheduler does: sending cards, activating in Graph, expiry warnings and notices.

Every handler is safe to run twice (a crash after the side effect and before `complete` makes the
scheduler run it again): it re-reads the request and acts only from the state it finds.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import cards
from bot.domain import (
    ActivationRequest,
    CardMessage,
    Person,
    RequestKind,
    RequestState,
    TextMessage,
)
from bot.graph.errors import GraphError, RoleAssignmentExists
from bot.store import Job, Tx
from bot.timefmt import format_when
from bot.workflow import outbox
from bot.workflow.announce import announce_change
from bot.workflow.audit import audit
from bot.workflow.context import Deps
from bot.workflow.deciding import still_an_approver
from bot.workflow.errors import TRANSIENT, graph_trouble
from bot.workflow.outbox import JobKind
from bot.workflow.ports import ActivationResult

log = logging.getLogger(__name__)


class RetryLater(Exception):
    """Run this job again after `delay`."""

    def __init__(self, delay: timedelta, reason: str) -> None:
        super().__init__(reason)
        self.delay = delay


# While Graph is down, try again at these intervals (then keep the last one).
GRAPH_BACKOFF = (5, 15, 30, 60, 120, 300)
# Graph has not removed an ended activation yet: look again after this long.
EXPIRY_RECHECK = timedelta(seconds=30)


JobHandler = Callable[[Job], Awaitable[None]]


class JobRunner:
    def __init__(self, deps: Deps, extra_handlers: Mapping[str, JobHandler] | None = None) -> None:
        """`extra_handlers`: job kinds an engine adds (the pim engine's follow and watch)."""
        self.deps = deps
        self._handlers: dict[str, JobHandler] = {
            JobKind.SEND_APPROVAL_CARD: self.send_approval_card,
            JobKind.SEND_STATUS_CARD: self.send_status_card,
            JobKind.REFRESH_CARDS: self.refresh_cards,
            JobKind.MESSAGE: self.message,
            JobKind.ACTIVATE: self.activate,
            JobKind.EXPIRY_WARNING: self.expiry_warning,
            JobKind.EXPIRY_CHECK: self.expiry_check,
            JobKind.APPROVAL_TIMEOUT: self.approval_timeout,
        }
        self._handlers.update(extra_handlers or {})

    def add_handlers(self, handlers: Mapping[str, JobHandler]) -> None:
        self._handlers.update(handlers)

    async def run(self, job: Job) -> None:
        handler = self._handlers.get(job.kind)
        if handler is None:
            raise ValueError(f"unknown job kind {job.kind!r}")
        await handler(job)

    # --- cards and messages -------------------------------------------------------------------

    async def send_approval_card(self, job: Job) -> None:
        request = await self._request(job)
        approver_id = str(job.payload["approver_id"])
        if request is None or request.state is not RequestState.PENDING_APPROVAL:
            return
        async with self.deps.db.transaction() as tx:
            already = [
                s
                for s in await tx.cards.for_request(request.id, "approval")
                if s.person_id == approver_id
            ]
            teams_ids = await self._teams_ids(tx, request.approver_ids)
            tz = await self._timezone(tx, approver_id)
        if already:
            return
        policy = await self.deps.directory.activation_policy(request.role.id)
        card = cards.approval_request(request, policy=policy, approver_teams_ids=teams_ids, tz=tz)
        summary = (
            f"{request.requester.display_name} asks for {request.role.display_name}"
            f" — approve or deny"
        )
        approver = Person(id=approver_id, tenant_id=request.tenant_id)
        sent = await self.deps.messenger.send(approver, CardMessage(card=card, summary=summary))
        now = self.deps.now()
        async with self.deps.db.transaction() as tx:
            if sent is None:
                await audit(
                    tx,
                    now,
                    None,
                    "approval.unreachable",
                    request,
                    outcome="failed",
                    details={"approver_id": approver_id},
                )
                return
            await tx.cards.add(request.id, "approval", sent)
            await audit(
                tx, now, None, "approval.card_sent", request, details={"approver_id": approver_id}
            )

    async def send_status_card(self, job: Job) -> None:
        request = await self._request(job)
        if request is None:
            return
        async with self.deps.db.transaction() as tx:
            if await tx.cards.for_request(request.id, "requester"):
                return
            tz = await self._timezone(tx, request.requester.id)
        card = cards.request_status(request, tz=tz)
        sent = await self.deps.messenger.send(
            request.requester, CardMessage(card=card, summary="Your request")
        )
        if sent is not None:
            async with self.deps.db.transaction() as tx:
                await tx.cards.add(request.id, "requester", sent)

    async def refresh_cards(self, job: Job) -> None:
        """Update every copy: each approver's card and the requester's status card."""
        request = await self._request(job)
        if request is None:
            return
        async with self.deps.db.transaction() as tx:
            approvals = await tx.cards.for_request(request.id, "approval")
            statuses = await tx.cards.for_request(request.id, "requester")
            teams_ids = await self._teams_ids(tx, request.approver_ids)
            zones = {
                s.person_id: await self._timezone(tx, s.person_id) for s in [*approvals, *statuses]
            }
        if request.state is RequestState.PENDING_APPROVAL:
            policy = await self.deps.directory.activation_policy(request.role.id)
        for sent in approvals:
            if request.state is RequestState.PENDING_APPROVAL:
                card = cards.approval_request(
                    request,
                    policy=policy,
                    approver_teams_ids=teams_ids,
                    tz=zones.get(sent.person_id),
                )
            else:
                card = cards.approval_decided(request, tz=zones.get(sent.person_id))
            await self.deps.messenger.update(sent, CardMessage(card=card))
        for sent in statuses:
            card = cards.request_status(request, tz=zones.get(sent.person_id))
            await self.deps.messenger.update(sent, CardMessage(card=card))

    async def message(self, job: Job) -> None:
        person = Person(id=str(job.payload["person_id"]), tenant_id=str(job.payload["tenant_id"]))
        card = job.payload.get("card")
        text = str(job.payload.get("text") or "")
        msg = (
            CardMessage(card=card, summary=text)
            if isinstance(card, dict)
            else TextMessage(text=text)
        )
        sent = await self.deps.messenger.send(person, msg)
        if sent is None:
            log.warning("could not reach %s for job %s", person.id, job.id)

    # --- activation ---------------------------------------------------------------------------

    async def activate(self, job: Job) -> None:
        deps = self.deps
        request_id = str(job.payload["request_id"])
        now = deps.now()
        async with deps.db.transaction() as tx:
            request = await tx.requests.transition(
                request_id, from_states=[RequestState.APPROVED], to=RequestState.ACTIVATING, now=now
            )
            if request is None:
                request = await tx.requests.get(request_id)
                # ACTIVATING here means an earlier run died mid-call: carry on, Graph decides.
                if request is None or request.state is not RequestState.ACTIVATING:
                    return
            else:
                await audit(tx, now, None, "activation.started", request)
        try:
            if request.decided_by is not None and not await still_an_approver(
                deps, request.decided_by.id, request
            ):
                await self._fail(
                    request,
                    f"{request.decided_by.display_name or 'The approver'} is no longer an approver "
                    f"of {request.role.display_name}, so their approval no longer counts. "
                    "Ask again.",
                    None,
                )
                return
            result = await self._call_engine(request)
        except TRANSIENT as exc:
            await self._graph_delayed(request, exc, job)
            return
        except GraphError as exc:
            await self._fail(
                request, graph_trouble(exc, f"activate {request.role.display_name}"), exc
            )
            return
        await self.activated(request, result)

    async def _call_engine(self, request: ActivationRequest) -> ActivationResult:
        if request.kind is RequestKind.EXTEND:
            return await self.deps.engine.extend(request)
        try:
            return await self.deps.engine.activate(request)
        except RoleAssignmentExists:
            # Either an earlier run of this job got through before a crash, or the role was
            # activated elsewhere. Graph's schedule says what is true now.
            for active in await self.deps.directory.active_roles(request.requester.id):
                if active.role.id == request.role.id and active.end is not None:
                    return ActivationResult(
                        graph_request_id=request.graph_request_id or "",
                        status="Provisioned",
                        start=active.start,
                        end=active.end,
                    )
            raise

    async def activated(self, request: ActivationRequest, result: ActivationResult) -> None:
        """activating → active as Graph reported it: expiry jobs, cards, the requester told."""
        deps, now = self.deps, self.deps.now()
        end = result.end or (now + request.duration)
        async with deps.db.transaction() as tx:
            active = await tx.requests.transition(
                request.id,
                from_states=[RequestState.ACTIVATING],
                to=RequestState.ACTIVE,
                now=now,
                start=result.start or now,
                end=end,
                graph_request_id=result.graph_request_id or None,
            )
            if active is None:
                return
            await audit(
                tx,
                now,
                None,
                "activation.succeeded",
                active,
                graph_request_id=result.graph_request_id,
                details={"graph_status": result.status, "end": end.isoformat()},
            )
            if active.kind is RequestKind.EXTEND:
                await self._supersede(tx, active, now)
            await outbox.expiry(tx, active, end=end, warning=deps.config.expiry_warning, now=now)
            await outbox.refresh_cards(tx, active, now)
            tz = await self._timezone(tx, active.requester.id)
            has_status_card = bool(await tx.cards.for_request(active.id, "requester"))
            await outbox.message(
                tx,
                active.requester.id,
                active.tenant_id,
                key=f"activated:{active.id}",
                now=now,
                text=f"{active.role.display_name} is active until {format_when(end, tz)}.",
                # The live status card (when there is one) already shows it with its buttons;
                # the notice then only needs to notify.
                card=None if has_status_card else cards.activated(active, tz=tz),
            )
        deps.wake_scheduler()

    async def _supersede(self, tx: Tx, extension: ActivationRequest, now: datetime) -> None:
        """An extension takes over from the activation it extends."""
        for earlier in await tx.requests.list_in_states([RequestState.ACTIVE]):
            if (
                earlier.id != extension.id
                and earlier.requester.id == extension.requester.id
                and earlier.role.id == extension.role.id
            ):
                await tx.requests.transition(
                    earlier.id,
                    from_states=[RequestState.ACTIVE],
                    to=RequestState.ENDED,
                    now=now,
                    failure="extended",
                )

    async def _graph_delayed(self, request: ActivationRequest, exc: GraphError, job: Job) -> None:
        deps, now = self.deps, self.deps.now()
        waited = now - (request.decided_at or request.created_at)
        if waited > deps.config.activation_retry_budget:
            await self._fail(
                request,
                graph_trouble(exc, f"activate {request.role.display_name}")
                + " I gave up after trying for a while; press Retry to try again.",
                exc,
            )
            return
        async with deps.db.transaction() as tx:
            await tx.requests.transition(
                request.id,
                from_states=[RequestState.ACTIVATING],
                to=RequestState.APPROVED,
                now=now,
            )
            await audit(
                tx,
                now,
                None,
                "activation.delayed",
                request,
                outcome="retrying",
                reason=exc.code,
                graph_request_id=exc.request_id,
            )
            text = (
                graph_trouble(exc, f"activate **{request.role.display_name}**")
                + " Your request is safe; I'll keep trying and tell you when it's done."
            )
            for person_id in (
                request.requester.id,
                *([request.decided_by.id] if request.decided_by else []),
            ):
                await outbox.message(
                    tx,
                    person_id,
                    request.tenant_id,
                    key=f"graph-delay:{request.id}",
                    now=now,
                    text=text,
                )
        deps.wake_scheduler()
        delay = exc.retry_after or GRAPH_BACKOFF[min(job.attempts, len(GRAPH_BACKOFF)) - 1]
        raise RetryLater(timedelta(seconds=delay), f"Graph: {exc.code}")

    async def _fail(self, request: ActivationRequest, words: str, exc: GraphError | None) -> None:
        deps, now = self.deps, self.deps.now()
        async with deps.db.transaction() as tx:
            failed = await tx.requests.transition(
                request.id,
                from_states=[RequestState.ACTIVATING],
                to=RequestState.FAILED,
                now=now,
                failure=words,
            )
            if failed is None:
                return
            await audit(
                tx,
                now,
                None,
                "activation.failed",
                failed,
                outcome="failed",
                reason=f"{exc.code}: {exc.message}" if exc else words,
                graph_request_id=exc.request_id if exc else None,
            )
            await outbox.refresh_cards(tx, failed, now)
            for person_id in {failed.requester.id, *failed.approver_ids}:
                await outbox.message(
                    tx,
                    person_id,
                    failed.tenant_id,
                    key=f"failed:{failed.id}:{failed.version}",
                    now=now,
                    text=f"⚠️ {words}",
                )
        deps.wake_scheduler()

    # --- expiry -------------------------------------------------------------------------------

    async def expiry_warning(self, job: Job) -> None:
        request = await self._request(job)
        if request is None or request.state is not RequestState.ACTIVE:
            return
        end = await self._graph_end(request)
        if end is None:
            return  # already gone in Graph; the end check tells the person
        if await self._moved(request, end):
            return
        now = self.deps.now()
        async with self.deps.db.transaction() as tx:
            tz = await self._timezone(tx, request.requester.id)
        minutes_left = max(0, int((end - now).total_seconds() // 60))
        card = cards.expiry_warning(request, minutes_left=minutes_left, tz=tz)
        summary = f"{request.role.display_name} ends at {format_when(end, tz)}"
        await self.deps.messenger.send(request.requester, CardMessage(card=card, summary=summary))
        async with self.deps.db.transaction() as tx:
            await audit(
                tx,
                now,
                None,
                "expiry.warned",
                request,
                details={"end": end.isoformat(), "minutes_left": minutes_left},
            )

    async def expiry_check(self, job: Job) -> None:
        request = await self._request(job)
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
            ended = await tx.requests.transition(
                request.id,
                from_states=[RequestState.ACTIVE],
                to=RequestState.ENDED,
                now=now,
            )
            if ended is None:
                return
            tz = await self._timezone(tx, ended.requester.id)
            await announce_change(
                tx,
                ended,
                now=now,
                action="role.expired",
                notice=f"{ended.role.display_name} has ended.",
                notice_key="ended",
                card=cards.ended(ended, tz=tz),
            )
        self.deps.wake_scheduler()

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
            await audit(
                tx, now, None, "expiry.rescheduled", updated, details={"end": end.isoformat()}
            )
            await outbox.expiry(
                tx, updated, end=end, warning=self.deps.config.expiry_warning, now=now
            )
        self.deps.wake_scheduler()
        return True

    # --- approval timeout ---------------------------------------------------------------------

    async def approval_timeout(self, job: Job) -> None:
        now = self.deps.now()
        async with self.deps.db.transaction() as tx:
            expired = await tx.requests.transition(
                str(job.payload["request_id"]),
                from_states=[RequestState.PENDING_APPROVAL],
                to=RequestState.EXPIRED_UNAPPROVED,
                now=now,
            )
            if expired is None:
                return
            await announce_change(
                tx,
                expired,
                now=now,
                action="request.expired_unapproved",
                notice=f"Nobody decided on your request for **{expired.role.display_name}** in "
                "time, so it has expired. You can ask again.",
                notice_key="timeout",
            )
        self.deps.wake_scheduler()

    # --- helpers ------------------------------------------------------------------------------

    async def _request(self, job: Job) -> ActivationRequest | None:
        async with self.deps.db.transaction() as tx:
            return await tx.requests.get(str(job.payload["request_id"]))

    @staticmethod
    async def timezone(tx: Tx, person_id: str) -> str | None:
        return await JobRunner._timezone(tx, person_id)

    @staticmethod
    async def _timezone(tx: Tx, person_id: str) -> str | None:
        record = await tx.conversations.get(person_id)
        return record.timezone if record else None

    @staticmethod
    async def _teams_ids(tx: Tx, person_ids: Any) -> list[str]:
        ids = []
        for person_id in person_ids:
            record = await tx.conversations.get(person_id)
            if record and record.teams_id:
                ids.append(record.teams_id)
        return ids
