"""PIM is the truth: follow each request's status in Graph and reflect it in pimbot's record,
cards and notices; notice activations made outside Teams.

There are no change notifications for role assignments, so pimbot polls: each open request with
a Graph request id has a follow job that backs off while PIM keeps it pending, and one watch job
lists activations to find those made in the portal or with PowerShell.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

import cards
from bot.domain import (
    ActivationRequest,
    ActivationResult,
    GraphError,
    Person,
    PimRequestStatus,
    RequestKind,
    RequestState,
)
from bot.store import Job, Tx
from bot.timefmt import format_when
from bot.workflow import outbox
from bot.workflow.activation import activated, start_activating
from bot.workflow.audit import audit
from bot.workflow.context import Deps
from bot.workflow.engines.ports import PimReads
from bot.workflow.moves import Notice, move
from bot.workflow.outbox import JobHandler, RetryLater
from bot.workflow.people import timezone_of
from cards.text import plain

log = logging.getLogger(__name__)

FOLLOW = "pim_follow"  # {request_id}
WATCH = "pim_watch"  # {}
# While PIM keeps a request pending, look again after these many seconds (then the last).
FOLLOW_BACKOFF = (5, 10, 20, 40, 60, 120, 300)
WATCH_INTERVAL = timedelta(seconds=60)
FOLLOWED_STATES = (RequestState.PENDING_APPROVAL, RequestState.APPROVED, RequestState.ACTIVATING)
_UNDECIDED = (RequestState.PENDING_APPROVAL,)
OUTSIDE_NAMESPACE = uuid.UUID("0c6f8a52-3e1d-4b7a-9f2c-8d5e4a3b2c10")


async def follow(tx: Tx, request: ActivationRequest, now: datetime, *, poke: str = "") -> None:
    """Queue a follow job for the request (`poke` makes an extra, immediate one)."""
    key = f"{FOLLOW}:{request.id}" + (f":{poke}" if poke else "")
    await tx.jobs.enqueue(FOLLOW, {"request_id": request.id}, due_at=now, dedupe_key=key)


async def start_watching(tx: Tx, now: datetime) -> None:
    await tx.jobs.enqueue(WATCH, {}, due_at=now, dedupe_key=WATCH)


class PimFollower:
    """Applies PIM's status to pimbot's record. `sync` is also used inline, right after an
    approver's decision, so the card they see is PIM's outcome."""

    def __init__(self, deps: Deps, reads: PimReads) -> None:
        self.deps = deps
        self.reads = reads

    def handlers(self) -> dict[str, JobHandler]:
        return {FOLLOW: self.follow_job, WATCH: self.watch_job}

    # --- following one request ----------------------------------------------------------------

    async def follow_job(self, job: Job) -> None:
        async with self.deps.db.transaction() as tx:
            request = await tx.requests.get(str(job.payload["request_id"]))
        if request is None:
            return
        try:
            request = await self.sync(request)
        except GraphError as exc:
            log.warning("could not read PIM request of %s: %s", request.id, exc.code)
            raise RetryLater(self._backoff(job), f"Graph: {exc.code}") from None
        if request.state in FOLLOWED_STATES:
            raise RetryLater(self._backoff(job), f"PIM still has it {request.state.value}")

    @staticmethod
    def _backoff(job: Job) -> timedelta:
        return timedelta(seconds=FOLLOW_BACKOFF[min(job.attempts, len(FOLLOW_BACKOFF)) - 1])

    async def sync(
        self, request: ActivationRequest, *, decided_by: Person | None = None, reason: str = ""
    ) -> ActivationRequest:
        """Read the request's status in PIM once and move pimbot's record to match."""
        if request.state not in FOLLOWED_STATES or not request.graph_request_id:
            return request
        status = await self.reads.read_request(request.graph_request_id)
        now = self.deps.now()
        if status.status.is_pending:
            return request
        if status.status is PimRequestStatus.PROVISIONED or (
            status.status is PimRequestStatus.GRANTED
            and (status.start is None or status.start <= now)
        ):
            return await self._granted(request, decided_by, reason, provisioned=True)
        if status.status is PimRequestStatus.GRANTED:
            return await self._granted(request, decided_by, reason, provisioned=False)
        if status.status is PimRequestStatus.DENIED:
            approval = (
                await self.reads.read_approval(status.approval_id) if status.approval_id else None
            )
            if approval is not None and approval.timed_out:
                return await self._close(request, RequestState.EXPIRED_UNAPPROVED, "timeout")
            if decided_by is None and approval is not None and approval.decided is not None:
                step = approval.decided
                decided_by = Person(
                    id="", tenant_id=request.tenant_id, display_name=step.reviewed_by
                )
                reason = reason or step.justification
            return await self._close(request, RequestState.DENIED, "denied", decided_by, reason)
        if status.status is PimRequestStatus.CANCELED:
            return await self._close(request, RequestState.CANCELLED, "cancelled")
        return await self._close(request, RequestState.FAILED, "failed", reason=status.graph_status)

    async def _granted(
        self,
        request: ActivationRequest,
        decided_by: Person | None,
        reason: str,
        *,
        provisioned: bool,
    ) -> ActivationRequest:
        deps, now = self.deps, self.deps.now()
        async with deps.db.transaction() as tx:
            current = await tx.requests.get(request.id)
            assert current is not None
            if current.state is RequestState.PENDING_APPROVAL:
                who = plain(decided_by.display_name) if decided_by else ""
                approved = await move(
                    deps,
                    tx,
                    current,
                    from_states=RequestState.PENDING_APPROVAL,
                    to=RequestState.APPROVED,
                    action="request.approved",
                    actor=decided_by.id if decided_by else None,
                    changes={
                        "decided_by": decided_by,
                        "decided_at": now,
                        "decision_reason": reason,
                    },
                    notice=Notice(
                        f"✅ {who or 'An approver'} approved your request for "
                        f"**{plain(current.role.display_name)}** in PIM. Activating now…",
                        key="decision",
                    ),
                    now=now,
                )
                current = approved or current
            if current.state is RequestState.APPROVED:
                moving = await start_activating(deps, tx, current, now)
                current = moving or current
        if not provisioned or current.state is not RequestState.ACTIVATING:
            return current
        start, end = await self._window(current)
        await activated(
            deps,
            current,
            ActivationResult(
                graph_request_id=current.graph_request_id or "",
                status="Provisioned",
                start=start,
                end=end,
            ),
        )
        async with deps.db.transaction() as tx:
            done = await tx.requests.get(current.id)
        assert done is not None
        return done

    async def _window(self, request: ActivationRequest) -> tuple[datetime | None, datetime | None]:
        for active in await self.deps.directory.active_roles(request.requester.id):
            if active.role.id == request.role.id and active.end is not None:
                return active.start, active.end
        return None, None

    async def _close(
        self,
        request: ActivationRequest,
        to: RequestState,
        why: str,
        decided_by: Person | None = None,
        reason: str = "",
    ) -> ActivationRequest:
        deps, now = self.deps, self.deps.now()
        role = plain(request.role.display_name)
        changes: dict[str, object] = {}
        if to is RequestState.DENIED:
            changes = {"decided_by": decided_by, "decided_at": now, "decision_reason": reason}
        if to is RequestState.FAILED:
            changes = {"failure": f"PIM ended the request as {reason}."}
        who = plain(decided_by.display_name) if decided_by and decided_by.display_name else ""
        text = {
            "timeout": f"Nobody decided on your request for **{role}** in time, so PIM "
            "denied it when the approval stage timed out. You can ask again.",
            "denied": f"❌ {who or 'An approver'} denied your request for **{role}** in PIM"
            + (f": {plain(reason)}" if reason else "."),
            "cancelled": f"Your request for **{role}** was cancelled in PIM.",
            "failed": f"⚠️ PIM could not activate **{role}** ({plain(reason)}).",
        }[why]
        async with deps.db.transaction() as tx:
            closed = await move(
                deps,
                tx,
                request,
                from_states=FOLLOWED_STATES if to is RequestState.FAILED else _UNDECIDED,
                to=to,
                action=f"pim.{why}",
                actor=decided_by.id if decided_by and decided_by.id else None,
                changes=changes,
                notice=Notice(text, key=f"pim-{why}"),
                reason=reason,
                now=now,
            )
            if closed is None:
                current = await tx.requests.get(request.id)
                assert current is not None
                return current
        return closed

    # --- activations made outside Teams -------------------------------------------------------

    async def watch_job(self, job: Job) -> None:
        try:
            await self.notice_outside_activations()
        except GraphError as exc:
            log.warning("could not list activations: %s", exc.code)
        raise RetryLater(WATCH_INTERVAL, "watching")

    async def notice_outside_activations(self) -> int:
        """Record activations pimbot did not make, for people it can reach, so that they get
        the same warnings and notices; end those deactivated elsewhere. Returns how many
        changes were noticed."""
        deps, found = self.deps, 0
        activations = await self.reads.activations()
        found += await self._notice_outside_deactivations(
            {(a.principal_id, a.role_id) for a in activations}
        )
        for activation in activations:
            if activation.end is None:
                continue
            async with deps.db.transaction() as tx:
                if await tx.requests.active_for(activation.principal_id, activation.role_id):
                    continue
                if await tx.conversations.get(activation.principal_id) is None:
                    continue  # not someone pimbot talks to
            if await self._record_outside(
                activation.principal_id, activation.role_id, activation.start, activation.end
            ):
                found += 1
        return found

    async def _notice_outside_deactivations(self, live: set[tuple[str, str]]) -> int:
        deps, now, ended = self.deps, self.deps.now(), 0
        async with deps.db.transaction() as tx:
            active = await tx.requests.list_in_states([RequestState.ACTIVE])
        for request in active:
            key = (request.requester.id, request.role.id)
            if key in live or request.end is None or request.end <= now:
                continue  # still there, or ended on time (the expiry check says so)
            async with deps.db.transaction() as tx:
                gone = await move(
                    deps,
                    tx,
                    request,
                    from_states=RequestState.ACTIVE,
                    to=RequestState.ENDED,
                    action="role.deactivated_outside",
                    actor=None,
                    changes={"end": now},
                    notice=Notice(
                        f"{plain(request.role.display_name)} was deactivated outside Teams and "
                        "is no longer active.",
                        key="outside-end",
                    ),
                    now=now,
                )
            if gone is None:
                continue
            ended += 1
        return ended

    async def _record_outside(
        self, principal_id: str, role_id: str, start: datetime | None, end: datetime
    ) -> bool:
        deps, now = self.deps, self.deps.now()
        roles = {r.id: r for r in await deps.directory.list_roles()}
        person = await deps.directory.get_person(principal_id)
        role = roles.get(role_id)
        if person is None or role is None:
            return False
        stamp = (start or end).isoformat()
        record = ActivationRequest(
            id=str(uuid.uuid5(OUTSIDE_NAMESPACE, f"{principal_id}:{role_id}:{stamp}")),
            tenant_id=person.tenant_id,
            requester=person,
            role=role,
            kind=RequestKind.ACTIVATE,
            duration=end - (start or now),
            justification="Activated outside Teams",
            state=RequestState.ACTIVE,
            start=start,
            end=end,
            created_at=now,
            updated_at=now,
        )
        async with deps.db.transaction() as tx:
            if not await tx.requests.insert(record):
                return False
            await audit(tx, now, None, "role.activated_outside", record)
            await outbox.expiry(tx, record, end=end, warning=deps.config.expiry_warning, now=now)
            tz = await timezone_of(tx, principal_id)
            # Without the person's zone (they never wrote to pimbot) the end time is on the card
            # only, where Teams shows it in their own zone.
            until = f" and is active until {format_when(end, tz)}" if tz else ""
            await outbox.message(
                tx,
                principal_id,
                record.tenant_id,
                key=f"outside:{record.id}",
                now=now,
                text=f"{plain(role.display_name)} was activated for you outside Teams (in the "
                f"portal or with PowerShell){until}. I'll warn you before it ends.",
                card=cards.activated(record, tz=tz),
                about=record,
            )
        deps.wake_scheduler()
        return True
