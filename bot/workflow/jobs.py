"""The work the scheduler does: sending cards, activating in Graph, approval timeouts (expiry
warnings and notices are in `expiry.py`).

Every handler is safe to run twice (a crash after the side effect and before `complete` makes the
scheduler run it again): it re-reads the request and acts only from the state it finds.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

import cards
from bot.domain import (
    ActivationRequest,
    CardMessage,
    Person,
    RequestKind,
    RequestState,
    SentMessage,
    TextMessage,
)
from bot.graph.errors import GraphError, RoleAssignmentExists
from bot.store import Job, Tx
from bot.timefmt import format_duration, format_when
from bot.workflow import live_cards, outbox
from bot.workflow.audit import audit
from bot.workflow.context import Deps
from bot.workflow.deciding import still_an_approver
from bot.workflow.errors import TRANSIENT, graph_trouble
from bot.workflow.expiry import ExpiryJobs, load_request
from bot.workflow.moves import Notice, move
from bot.workflow.outbox import JobHandler, JobKind, RetryLater
from bot.workflow.people import teams_ids_of, timezone_of
from bot.workflow.ports import ActivationResult
from cards.refresh import with_refresh
from cards.text import plain

log = logging.getLogger(__name__)


SENT_WITHOUT_ID = "card.sent_without_id"


async def record_copy(
    tx: Tx, request: ActivationRequest, purpose: str, sent: SentMessage, now: datetime
) -> None:
    """Remember a sent copy of a request's card, to update it later. The channel may accept a
    message without naming it (Microsoft 365 Agents Playground answers some sends 202 with no
    id): such a copy cannot be updated in place, so it is recorded in the audit log instead,
    and each later state is sent to that person as a new message."""
    if sent.activity_id:
        await tx.cards.add(request.id, purpose, sent)
        return
    await audit(
        tx,
        now,
        None,
        SENT_WITHOUT_ID,
        request,
        details={"person_id": sent.person_id, "purpose": purpose},
    )


async def copies_of(tx: Tx, request_id: str) -> list[tuple[str, str]]:
    """(person, purpose) of every copy of the request's card that was sent, in sending order."""
    copies = [(sent.person_id, purpose) for purpose, sent in await tx.cards.copies(request_id)]
    for entry in await tx.audit.entries(request_id=request_id):
        if entry.action != SENT_WITHOUT_ID:
            continue
        copy = (str(entry.details["person_id"]), str(entry.details["purpose"]))
        if copy not in copies:
            copies.append(copy)
    return copies


# While Graph is down, try again at these intervals (then keep the last one).
GRAPH_BACKOFF = (5, 15, 30, 60, 120, 300)


class JobRunner:
    def __init__(self, deps: Deps, extra_handlers: Mapping[str, JobHandler] | None = None) -> None:
        """`extra_handlers`: job kinds an engine adds (the pim engine's follow and watch)."""
        self.deps = deps
        expiry = ExpiryJobs(deps)
        self._handlers: dict[str, JobHandler] = {
            JobKind.SEND_APPROVAL_CARD: self.send_approval_card,
            JobKind.SEND_STATUS_CARD: self.send_status_card,
            JobKind.REFRESH_CARDS: self.refresh_cards,
            JobKind.UPDATE_CARD: self.update_card,
            JobKind.MESSAGE: self.message,
            JobKind.ACTIVATE: self.activate,
            JobKind.EXPIRY_WARNING: expiry.warning,
            JobKind.EXPIRY_CHECK: expiry.check,
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
            teams_ids = await teams_ids_of(tx, request.approver_ids)
            tz = await timezone_of(tx, approver_id)
        if already:
            return
        policy = await self.deps.directory.activation_policy(request.role.id)
        card = cards.approval_request(request, policy=policy, approver_teams_ids=teams_ids, tz=tz)
        summary = (
            f"{plain(request.requester.display_name)} asks for {plain(request.role.display_name)}"
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
            await record_copy(tx, request, live_cards.APPROVAL, sent, now)
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
            tz = await timezone_of(tx, request.requester.id)
            teams_ids = await teams_ids_of(tx, [request.requester.id])
        card = with_refresh(cards.request_status(request, tz=tz), request.id, teams_ids)
        sent = await self.deps.messenger.send(
            request.requester, CardMessage(card=card, summary="Your request")
        )
        if sent is not None:
            async with self.deps.db.transaction() as tx:
                await record_copy(tx, request, live_cards.STATUS, sent, self.deps.now())

    async def refresh_cards(self, job: Job) -> None:
        """Update every copy (each approver's card, the requester's status card, the notices
        with a card and the cards people pressed buttons on). A copy that fails gets an
        `update_card` job of its own, so a broken conversation never holds up another card."""
        request = await self._request(job)
        if request is None:
            return
        async with self.deps.db.transaction() as tx:
            copies = await copies_of(tx, request.id)
        failed = []
        for person_id, purpose in copies:
            try:
                await self._update_copy(request, person_id, purpose)
            except Exception as error:  # this copy is retried on its own, below
                log.warning("card of %s for %s: %s", request.id, person_id, error)
                failed.append((person_id, purpose))
        if failed:
            now = self.deps.now()
            async with self.deps.db.transaction() as tx:
                for person_id, purpose in failed:
                    await outbox.update_card(tx, request, person_id, purpose, now)
            self.deps.wake_scheduler()

    async def update_card(self, job: Job) -> None:
        """One copy whose update failed during `refresh_cards`, retried on its own."""
        request = await self._request(job)
        if request is None:
            return
        await self._update_copy(request, str(job.payload["person_id"]), str(job.payload["purpose"]))

    async def _update_copy(self, request: ActivationRequest, person_id: str, purpose: str) -> None:
        """Show the request's current state on one person's copy: in place where the copy can
        be updated, else (no id, or the update refused) as a new message, once per state."""
        async with self.deps.db.transaction() as tx:
            sent = next(
                (
                    s
                    for p, s in await tx.cards.copies(request.id)
                    if p == purpose and s.person_id == person_id
                ),
                None,
            )
            tz = await timezone_of(tx, person_id)
        drawn = await live_cards.card_for(self.deps, person_id, request, tz=tz)
        if drawn is None:
            return
        card = drawn[0]
        if sent is not None and await self.deps.messenger.update(sent, CardMessage(card=card)):
            return
        person = Person(id=person_id, tenant_id=request.tenant_id)
        state = request.state.value.replace("_", " ")
        summary = f"{plain(request.role.display_name)}: the request is now {state}"
        resent = await self.deps.messenger.send(person, CardMessage(card=card, summary=summary))
        now = self.deps.now()
        async with self.deps.db.transaction() as tx:
            if resent is None:
                log.warning("could not reach %s to show request %s", person_id, request.id)
                return
            if resent.activity_id:
                await tx.cards.replace(request.id, purpose, resent)
            elif sent is not None:
                await tx.cards.remove(request.id, person_id, purpose)
                await record_copy(tx, request, purpose, resent, now)
            await audit(
                tx,
                now,
                None,
                "card.resent",
                request,
                details={"person_id": person_id, "purpose": purpose},
            )

    async def message(self, job: Job) -> None:
        person = Person(id=str(job.payload["person_id"]), tenant_id=str(job.payload["tenant_id"]))
        card = job.payload.get("card")
        text = str(job.payload.get("text") or "")
        msg = (
            CardMessage(card=card, summary=text)
            if isinstance(card, dict)
            else TextMessage(text=text)
        )
        if isinstance(card, dict) and job.payload.get("request_id"):
            await self._notice_card(job, person, CardMessage(card=card, summary=text))
            return
        sent = await self.deps.messenger.send(person, msg)
        if sent is None:
            log.warning("could not reach %s for job %s", person.id, job.id)

    async def _notice_card(self, job: Job, person: Person, msg: CardMessage) -> None:
        """A notice whose card shows a request: drawn again when the request changed since it
        was queued, recorded once sent, and updated at once when the request changed while it
        was on its way (that change's update did not know about it yet)."""
        request_id = str(job.payload["request_id"])
        drawn_version = int(job.payload.get("version", -1))
        async with self.deps.db.transaction() as tx:
            request = await tx.requests.get(request_id)
            tz = await timezone_of(tx, person.id)
        if request is None:
            return
        if request.version != drawn_version:
            drawn = await live_cards.card_for(self.deps, person.id, request, tz=tz)
            if drawn is not None:
                msg = CardMessage(card=drawn[0], summary=msg.summary)
                drawn_version = request.version
        sent = await self.deps.messenger.send(person, msg)
        if sent is None:
            log.warning("could not reach %s for job %s", person.id, job.id)
            return
        async with self.deps.db.transaction() as tx:
            stored = await tx.requests.get(request_id)
            if stored is not None:
                purpose = str(job.payload.get("purpose") or "notice")
                await record_copy(tx, stored, purpose, sent, self.deps.now())
        async with self.deps.db.transaction() as tx:
            current = await tx.requests.get(request_id)
        if current is not None and current.version != drawn_version:
            drawn = await live_cards.card_for(self.deps, person.id, current, tz=tz)
            if drawn is not None:
                await self.deps.messenger.update(sent, CardMessage(card=drawn[0]))

    # --- activation ---------------------------------------------------------------------------

    async def activate(self, job: Job) -> None:
        deps = self.deps
        request_id = str(job.payload["request_id"])
        now = deps.now()
        async with deps.db.transaction() as tx:
            request = await move(
                deps,
                tx,
                request_id,
                from_states=RequestState.APPROVED,
                to=RequestState.ACTIVATING,
                action="activation.started",
                actor=None,
                refresh=False,  # the cards say "approved" until the role is active
                now=now,
            )
            if request is None:
                request = await tx.requests.get(request_id)
                # ACTIVATING here means an earlier run died mid-call: carry on, Graph decides.
                if request is None or request.state is not RequestState.ACTIVATING:
                    return
        try:
            if request.decided_by is not None and not await still_an_approver(
                deps, request.decided_by.id, request
            ):
                await self._fail(
                    request,
                    f"{plain(request.decided_by.display_name or 'The approver')} "
                    "is no longer an approver "
                    f"of {plain(request.role.display_name)}, so their approval no longer counts. "
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
                request, graph_trouble(exc, f"activate {plain(request.role.display_name)}"), exc
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
            tz = await timezone_of(tx, request.requester.id)
            # The live status card (when there is one) already shows it with its buttons; the
            # notice then only needs to notify.
            has_status_card = bool(await tx.cards.for_request(request.id, live_cards.STATUS))
            active = await move(
                deps,
                tx,
                request,
                from_states=RequestState.ACTIVATING,
                to=RequestState.ACTIVE,
                action="activation.succeeded",
                actor=None,
                changes={
                    "start": result.start or now,
                    "end": end,
                    "graph_request_id": result.graph_request_id or None,
                },
                notice=Notice(
                    _activated_text(request, end, tz),
                    key="activated",
                    card=None if has_status_card else lambda moved: cards.activated(moved, tz=tz),
                ),
                graph_request_id=result.graph_request_id,
                details={"graph_status": result.status, "end": end.isoformat()},
                now=now,
            )
            if active is None:
                return
            if active.kind is RequestKind.EXTEND:
                await self._supersede(tx, active, now)
            await outbox.expiry(tx, active, end=end, warning=deps.config.expiry_warning, now=now)

    async def _supersede(self, tx: Tx, extension: ActivationRequest, now: datetime) -> None:
        """An extension takes over from the activation it extends; the earlier one's cards now
        show the extension (the new end time, not the old one)."""
        for earlier in await tx.requests.list_in_states([RequestState.ACTIVE]):
            if (
                earlier.id != extension.id
                and earlier.requester.id == extension.requester.id
                and earlier.role.id == extension.role.id
            ):
                await move(
                    self.deps,
                    tx,
                    earlier,
                    from_states=RequestState.ACTIVE,
                    to=RequestState.ENDED,
                    action="request.superseded",
                    actor=None,
                    changes={"failure": live_cards.EXTENDED},
                    details={"extension_id": extension.id},
                    now=now,
                )

    async def _graph_delayed(self, request: ActivationRequest, exc: GraphError, job: Job) -> None:
        deps, now = self.deps, self.deps.now()
        waited = now - (request.decided_at or request.created_at)
        if waited > deps.config.activation_retry_budget:
            await self._fail(
                request,
                graph_trouble(exc, f"activate {plain(request.role.display_name)}")
                + " I gave up after trying for a while; press Retry to try again.",
                exc,
            )
            return
        text = (
            graph_trouble(exc, f"activate {plain(request.role.display_name)}")
            + " Your request is safe; I'll keep trying and tell you when it's done."
        )
        async with deps.db.transaction() as tx:
            await move(
                deps,
                tx,
                request,
                from_states=RequestState.ACTIVATING,
                to=RequestState.APPROVED,
                action="activation.delayed",
                actor=None,
                refresh=False,
                notice=Notice(
                    text,
                    key="graph-delay",
                    also=[request.decided_by.id] if request.decided_by else [],
                ),
                outcome="retrying",
                reason=exc.code,
                graph_request_id=exc.request_id,
                now=now,
            )
        delay = exc.retry_after or GRAPH_BACKOFF[min(job.attempts, len(GRAPH_BACKOFF)) - 1]
        raise RetryLater(timedelta(seconds=delay), f"Graph: {exc.code}")

    async def _fail(self, request: ActivationRequest, words: str, exc: GraphError | None) -> None:
        async with self.deps.db.transaction() as tx:
            await move(
                self.deps,
                tx,
                request,
                from_states=RequestState.ACTIVATING,
                to=RequestState.FAILED,
                action="activation.failed",
                actor=None,
                changes={"failure": words},
                notice=Notice(
                    f"⚠️ {words}", key="failed", also=request.approver_ids, each_change=True
                ),
                outcome="failed",
                reason=f"{exc.code}: {exc.message}" if exc else words,
                graph_request_id=exc.request_id if exc else None,
            )

    # --- approval timeout ---------------------------------------------------------------------

    async def approval_timeout(self, job: Job) -> None:
        async with self.deps.db.transaction() as tx:
            request = await tx.requests.get(str(job.payload["request_id"]))
            if request is None:
                return
            await move(
                self.deps,
                tx,
                request,
                from_states=RequestState.PENDING_APPROVAL,
                to=RequestState.EXPIRED_UNAPPROVED,
                action="request.expired_unapproved",
                actor=None,
                notice=Notice(
                    f"Nobody decided on your request for **{plain(request.role.display_name)}** "
                    "in time, so it has expired. You can ask again.",
                    key="timeout",
                ),
            )

    # --- helpers ------------------------------------------------------------------------------

    async def _request(self, job: Job) -> ActivationRequest | None:
        return await load_request(self.deps, job)


def _activated_text(request: ActivationRequest, end: datetime, tz: str | None) -> str:
    role = plain(request.role.display_name)
    if request.kind is RequestKind.EXTEND:
        added = format_duration(request.duration)
        return f"{role} is extended by {added}, now until {format_when(end, tz)}."
    return f"{role} is active until {format_when(end, tz)}."
