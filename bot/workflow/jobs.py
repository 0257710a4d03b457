"""The work the scheduler does in every deployment: sending and updating cards, messages (expiry
warnings and notices are in `expiry.py`). Each engine adds the jobs of its own
(`WorkflowEngine.jobs`: the bot engine's activation and approval timeout, the pim engine's
following of PIM).

Every handler is safe to run twice (a crash after the side effect and before `complete` makes the
scheduler run it again): it re-reads the request and acts only from the state it finds.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

import cards
from bot.domain import (
    ActivationRequest,
    CardMessage,
    Person,
    RequestState,
    SentMessage,
    TextMessage,
)
from bot.store import Job, Tx
from bot.workflow import live_cards, outbox
from bot.workflow.audit import audit
from bot.workflow.context import Deps
from bot.workflow.expiry import ExpiryJobs, load_request
from bot.workflow.outbox import JobHandler, JobKind
from bot.workflow.people import teams_ids_and_timezone, teams_ids_of, timezone_of
from cards.common import Card
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


class JobRunner:
    """Runs the jobs every deployment has (cards, messages, expiry); the engine adds its own
    (`WorkflowEngine.jobs`) with `add_handlers`."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        expiry = ExpiryJobs(deps)
        self._handlers: dict[str, JobHandler] = {
            JobKind.SEND_APPROVAL_CARD: self.send_approval_card,
            JobKind.SEND_STATUS_CARD: self.send_status_card,
            JobKind.REFRESH_CARDS: self.refresh_cards,
            JobKind.UPDATE_CARD: self.update_card,
            JobKind.MESSAGE: self.message,
            JobKind.EXPIRY_WARNING: expiry.warning,
            JobKind.EXPIRY_CHECK: expiry.check,
        }

    def add_handlers(self, handlers: Mapping[str, JobHandler]) -> None:
        """Run these job kinds too. A kind has one handler: a second one is refused."""
        taken = sorted(set(handlers) & set(self._handlers))
        if taken:
            raise ValueError(f"job kinds already handled: {', '.join(taken)}")
        self._handlers.update(handlers)

    async def run(self, job: Job) -> None:
        handler = self._handlers.get(job.kind)
        if handler is None:
            raise ValueError(f"unknown job kind {job.kind!r}")
        await handler(job)

    # --- cards and messages -------------------------------------------------------------------

    async def send_approval_card(self, job: Job) -> None:
        approver_id = str(job.payload["approver_id"])
        # One transaction for everything the card is drawn from: a fan-out runs this once per
        # approver, and each transaction is a round trip to the database.
        async with self.deps.db.transaction() as tx:
            request = await tx.requests.get(str(job.payload["request_id"]))
            if request is None or request.state is not RequestState.PENDING_APPROVAL:
                return
            if await tx.cards.for_request(request.id, live_cards.APPROVAL, person_id=approver_id):
                return
            teams_ids, tz = await teams_ids_and_timezone(
                tx, request.approver_ids, viewer=approver_id
            )
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
            if await tx.cards.for_request(request.id, live_cards.STATUS):
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
        was on its way (that change's update did not know about it yet).

        The request is read whole only when it changed: otherwise its version is all this needs.
        The copy is recorded in a transaction that holds the request's row, so a change either
        committed before it (this sees the new version and updates the copy) or commits after
        it (and that change's refresh finds the copy)."""
        request_id = str(job.payload["request_id"])
        purpose = str(job.payload.get("purpose") or "notice")
        drawn_version = int(job.payload.get("version", -1))
        async with self.deps.db.transaction() as tx:
            version = await tx.requests.version(request_id)
        if version is None:
            return
        if version != drawn_version:
            drawn = await self._redraw(person.id, request_id)
            if drawn is not None:
                msg = CardMessage(card=drawn[0], summary=msg.summary)
                drawn_version = drawn[1].version
        sent = await self.deps.messenger.send(person, msg)
        if sent is None:
            log.warning("could not reach %s for job %s", person.id, job.id)
            return
        async with self.deps.db.transaction() as tx:
            version = await tx.requests.version(request_id, hold=True)
            if version is not None:
                if sent.activity_id:
                    await tx.cards.add(request_id, purpose, sent)
                else:
                    stored = await tx.requests.get(request_id)
                    if stored is not None:  # it is: held since the version was read
                        await record_copy(tx, stored, purpose, sent, self.deps.now())
        if version is not None and version != drawn_version:
            drawn = await self._redraw(person.id, request_id)
            if drawn is not None:
                await self.deps.messenger.update(sent, CardMessage(card=drawn[0]))

    async def _redraw(
        self, person_id: str, request_id: str
    ) -> tuple[Card, ActivationRequest] | None:
        """The card about the request as `person_id` should see it now."""
        async with self.deps.db.transaction() as tx:
            request = await tx.requests.get(request_id)
            tz = await timezone_of(tx, person_id)
        if request is None:
            return None
        return await live_cards.card_for(self.deps, person_id, request, tz=tz)

    # --- helpers ------------------------------------------------------------------------------

    async def _request(self, job: Job) -> ActivationRequest | None:
        return await load_request(self.deps, job)
