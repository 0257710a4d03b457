"""Changes an admin asks for, and the four-eyes rule: a change to Global Administrator or to
Privileged Role Administrator needs a second admin.

`propose` records the change. When it needs a second admin, every other admin gets an Approve /
Deny card; the first decision wins, exactly once (a conditional update of the stored change, as
for activation approvals); the one who asked cannot decide. An approved change (at once, when no
second admin is needed) is carried out by a job (`admin_change`), written in the same transaction,
so a crash loses nothing and the scheduler's lease runs it on one replica at a time.

Every card about a change shows what is true now, on every copy: each admin asked to decide and
the admin who asked get a card (a job per card, recorded once sent); every state change (the
decision, carried out, done, failed) queues, in its own transaction, a job that redraws each
recorded copy from the stored change for the person who sees it and updates it in place (or,
where that copy cannot be updated, sends it again). A tap on a stale copy is answered with the
card as it is now. The journey that owns a kind of change registers how it is carried out:

    four_eyes.register("standing.convert", converter.carry_out)  # (AdminChange) -> None

and proposes with `await four_eyes.propose(actor, Proposal(...))`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from bot.domain import (
    Actor,
    CardMessage,
    DelegatedTokenError,
    Outcome,
    Person,
    SentMessage,
    SignInRequest,
    TextMessage,
    TokenExchangeOutcome,
)
from bot.governance.audit import audit_admin, audit_refusal
from bot.governance.domain import (
    CHANGE_CARDS_JOB,
    NEEDS_SECOND_ADMIN,
    OPEN_CHANGE_STATES,
    AdminChange,
    ChangeState,
)
from bot.governance.gate import AdminGate
from bot.governance.ports import AdminTokens, SendMessages, SignInChecker
from bot.sso import InvalidSsoToken
from bot.store import Database, Job, Tx
from bot.workflow import outbox
from bot.workflow.outbox import RetryLater
from bot.workflow.people import teams_ids_of, timezone_of
from bot.workflow.ports import Messenger
from cards.actions import InvalidAction
from cards.common import Card
from cards.governance.actions import (
    AdminVerb,
    ApproveChange,
    DenyChange,
    RefreshChange,
    parse_admin_action,
)
from cards.governance.four_eyes import change_status, second_admin_request
from cards.text import plain

log = logging.getLogger(__name__)

CHANGE_JOB = "admin_change"  # {change_id}
CARD_JOB = "admin_change_card"  # {change_id, person_id, purpose}: send one card, record it
CARD_UPDATE_JOB = "admin_change_card_update"  # {change_id, person_id, purpose}: one copy, again
SECOND = "second"  # the card of an admin asked to decide
ASKER = "asker"  # the card of the admin who asked
DECISION_VERBS = (
    AdminVerb.APPROVE_CHANGE.value,
    AdminVerb.DENY_CHANGE.value,
    AdminVerb.REFRESH_CHANGE.value,
)
MAX_REASON = 500

SIGN_IN_PREFIX = "admchg-"  # exchange ids of the admins' sign-ins (pim engine)
# How long after an admin's sign-in (pim engine) pimbot takes the process that holds their token
# for dead, if the change is not finished by then, and asks them to sign in again. Within the
# minute of clock skew pimbot allows an SSO token. A carry-out still running then is not run twice
# in its own process (the job waits); on another replica the admin is asked again, and since each
# step looks at Graph before it writes, the second run writes nothing the first one wrote.
RESUME_AFTER = timedelta(seconds=45)

# How a kind of change is carried out; `token` is the deciding admin's delegated Graph token on
# the pim engine, None on the bot engine (the app's own permissions).
CarryOut = Callable[[AdminChange, str | None], Awaitable[None]]


@dataclass(frozen=True)
class AsAdmin:
    """The pim engine: a change is carried out with the deciding admin's own delegated token
    (PIM records that admin as the actor); pimbot asks them to sign in when it has none."""

    tokens: AdminTokens
    sso: SignInChecker
    sender: SendMessages


@dataclass(frozen=True)
class Proposal:
    """What an admin asks for. `target_key` names what it changes: at most one open change per
    target, however many admins, replicas or taps."""

    kind: str
    target_key: str
    role_id: str
    title: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    payload: Mapping[str, Any] = field(default_factory=dict)


class FourEyes:
    def __init__(
        self,
        db: Database,
        gate: AdminGate,
        now: Callable[[], datetime],
        wake_scheduler: Callable[[], None] = lambda: None,
        as_admin: AsAdmin | None = None,
        messenger: Callable[[], Messenger] | None = None,
    ) -> None:
        """`messenger`: sends and updates the cards (asked for each time: the channel's exists
        only once the channel is built); without one, no cards are sent or kept current."""
        self._messenger = messenger
        self._as_admin = as_admin
        self._db = db
        self._gate = gate
        self._now = now
        self.wake_scheduler = wake_scheduler
        self._carry_out: dict[str, CarryOut] = {}
        self._carrying: set[str] = set()  # changes carried out by a sign-in in this process

    def register(self, kind: str, carry_out: CarryOut) -> None:
        self._carry_out[kind] = carry_out

    def job_handlers(self) -> dict[str, Callable[[Job], Awaitable[None]]]:
        return {
            CHANGE_JOB: self._run_job,
            CARD_JOB: self._send_card,
            CHANGE_CARDS_JOB: self._refresh_cards,
            CARD_UPDATE_JOB: self._update_card,
        }

    # --- asking -------------------------------------------------------------------------------

    async def propose(self, actor: Actor, proposal: Proposal) -> Outcome:
        """Record the change and start it: cards to the other admins when it needs a second
        one, else the job that carries it out. An open change on the same target is answered
        with its state instead of a second change."""
        now = self._now()
        needs_second = proposal.role_id in NEEDS_SECOND_ADMIN
        others = await self._gate.other_admins(actor) if needs_second else []
        if needs_second and not others:
            await audit_refusal(
                self._db,
                now,
                actor.person.id,
                f"{proposal.kind}.refused",
                reason="no second admin",
                details={"target": proposal.target_key},
            )
            return _text(
                "This change needs a second admin, and there is no other member of the admin "
                "group to ask. Nothing was changed."
            )
        async with self._db.transaction() as tx:
            earlier = await tx.admin_changes.for_target(proposal.target_key)
            still_open = next((c for c in earlier if c.state in OPEN_CHANGE_STATES), None)
            if still_open is not None:
                return _already_underway(still_open)
            change = AdminChange(
                id=_change_id(proposal.target_key, len(earlier)),
                tenant_id=actor.person.tenant_id,
                kind=proposal.kind,
                target_key=proposal.target_key,
                role_id=proposal.role_id,
                title=proposal.title,
                facts=list(proposal.facts),
                payload=dict(proposal.payload),
                proposer=actor.person,
                needs_second=needs_second,
                state=ChangeState.AWAITING_SECOND if needs_second else ChangeState.APPROVED,
                created_at=now,
                updated_at=now,
            )
            if not await tx.admin_changes.insert(change):
                # Another replica or tap recorded the same change a moment ago.
                current = await tx.admin_changes.get(change.id)
                return _already_underway(current or change)
            await audit_admin(
                tx,
                now,
                actor.person.id,
                f"{proposal.kind}.asked",
                details=_audit_facts(change),
            )
            if needs_second:
                for admin in others:
                    await _enqueue_card(tx, change, admin.id, SECOND, now)
                await _enqueue_card(tx, change, change.proposer.id, ASKER, now)
            else:
                await _enqueue_carry_out(tx, change, now)
        self.wake_scheduler()
        if needs_second:
            return Outcome(
                replies=[
                    TextMessage(
                        text=f"{plain(change.title)}: this needs a second admin. I asked "
                        f"{len(others)} other admin{'s' if len(others) != 1 else ''}; the first "
                        "to decide settles it, and I will tell you."
                    )
                ]
            )
        return _text(f"{plain(change.title)}: on its way. I will tell you when it is done.")

    # --- the second admin ---------------------------------------------------------------------

    async def decide(
        self,
        actor: Actor,
        change_id: str,
        verdict: Literal["approve", "deny"],
        reason: str,
    ) -> Outcome:
        """A second admin's decision, checked against the stored change (the gate has already
        checked that they are an admin now)."""
        now = self._now()
        reason = reason.strip()
        async with self._db.transaction() as tx:
            change = await tx.admin_changes.get(change_id)
        refusal = _refusal(actor, change)
        if refusal:
            await audit_refusal(
                self._db,
                now,
                actor.person.id,
                f"admin.{verdict}_refused",
                reason=refusal,
                details={"change_id": change_id},
            )
            return _text(refusal)
        assert change is not None
        if change.state is not ChangeState.AWAITING_SECOND:
            await audit_refusal(
                self._db,
                now,
                actor.person.id,
                f"admin.{verdict}_refused",
                reason=f"already {change.state.value}",
                details={"change_id": change_id},
            )
            return _already_decided(change, actor)
        if verdict == "deny" and not reason:
            return _text("Please type a reason in the card when you deny a change.")
        if len(reason) > MAX_REASON:
            return _text(f"Keep the reason under {MAX_REASON} characters.")
        to = ChangeState.APPROVED if verdict == "approve" else ChangeState.DENIED
        async with self._db.transaction() as tx:
            decided = await tx.admin_changes.transition(
                change_id,
                from_states=[ChangeState.AWAITING_SECOND],
                to=to,
                now=now,
                decided_by=actor.person,
                decided_at=now,
                decision_reason=reason,
            )
            if decided is None:
                current = await tx.admin_changes.get(change_id)
                assert current is not None
                await audit_admin(
                    tx,
                    now,
                    actor.person.id,
                    f"admin.{verdict}_refused",
                    outcome="refused",
                    reason=f"already {current.state.value}",
                    details={"change_id": change_id},
                )
                return _already_decided(current, actor)
            await audit_admin(
                tx,
                now,
                actor.person.id,
                f"{decided.kind}.{'approved' if to is ChangeState.APPROVED else 'denied'}",
                reason=reason,
                details=_audit_facts(decided),
            )
            who = plain(actor.person.display_name or "A second admin")
            if to is ChangeState.APPROVED:
                await _enqueue_carry_out(tx, decided, now)
                text = f"✅ {who} approved: {plain(decided.title)}. Carrying it out now…"
            else:
                text = f"❌ {who} denied: {plain(decided.title)}. Reason: {plain(reason)}"
            await outbox.message(
                tx,
                decided.proposer.id,
                decided.tenant_id,
                key=f"admin_decision:{decided.id}",
                now=now,
                text=text,
            )
        self.wake_scheduler()
        ids = [actor.teams_id] if actor.teams_id else []
        return Outcome(card_update=change_status(decided, tz=actor.timezone, refresh_user_ids=ids))

    async def on_action(self, actor: Actor, data: Mapping[str, Any]) -> Outcome:
        """`admin.approve` / `admin.deny` pressed on a second admin's card."""
        try:
            action = parse_admin_action(data)
        except InvalidAction as exc:
            return _text(exc.friendly_message)
        match action:
            case ApproveChange():
                return await self.decide(actor, action.change_id, "approve", action.reason)
            case DenyChange():
                return await self.decide(actor, action.change_id, "deny", action.reason)
            case RefreshChange():
                return await self.refresh(actor, action.change_id)
        return _text("That button is not one I know (the card may be out of date).")

    async def refresh(self, actor: Actor, change_id: str) -> Outcome:
        """The four-eyes card as this admin should see it now: Approve / Deny while it waits
        (for anyone but the admin who asked), else its outcome."""
        async with self._db.transaction() as tx:
            change = await tx.admin_changes.get(change_id)
        if change is None or change.tenant_id != actor.person.tenant_id:
            return Outcome()
        ids = [actor.teams_id] if actor.teams_id else []
        return Outcome(card_update=card_for(change, actor.person.id, tz=actor.timezone, ids=ids))

    # --- every copy of the cards --------------------------------------------------------------

    async def _send_card(self, job: Job) -> None:
        """One person's card about a change: sent once, recorded, and brought up to date at once
        when the change moved on while it was on its way (that move's update did not know of
        this copy yet)."""
        change_id, person_id = str(job.payload["change_id"]), str(job.payload["person_id"])
        purpose = str(job.payload["purpose"])
        async with self._db.transaction() as tx:
            change = await tx.admin_changes.get(change_id)
            if change is None:
                return
            already = any(
                p == purpose and sent.person_id == person_id
                for p, sent in await tx.admin_changes.cards(change_id)
            )
            tz = await timezone_of(tx, person_id)
            ids = await teams_ids_of(tx, [person_id])
        if already or self._messenger is None:
            return
        if purpose == SECOND and change.state is not ChangeState.AWAITING_SECOND:
            return  # decided before this card went out: nothing is left for this admin to do
        card = card_for(change, person_id, tz=tz, ids=ids)
        if purpose == SECOND:
            summary = f"{plain(change.proposer.display_name)} asks: {plain(change.title)}"
        else:
            summary = f"{plain(change.title)}: waiting for a second admin"
        person = Person(id=person_id, tenant_id=change.tenant_id)
        sent = await self._messenger().send(person, CardMessage(card=card, summary=summary))
        now = self._now()
        async with self._db.transaction() as tx:
            if sent is None:
                await audit_admin(
                    tx,
                    now,
                    None,
                    "admin_change.unreachable",
                    outcome="failed",
                    details={"change_id": change_id, "person_id": person_id, "purpose": purpose},
                )
                return
            if not sent.activity_id:
                # Accepted without an id: this copy cannot be updated in place; its `refresh`
                # still shows the change as it is whenever it is looked at.
                await audit_admin(
                    tx,
                    now,
                    None,
                    "admin_change.card_sent_without_id",
                    details={"change_id": change_id, "person_id": person_id, "purpose": purpose},
                )
                return
            await tx.admin_changes.add_card(change_id, purpose, sent)
            current = await tx.admin_changes.get(change_id)
        if current is not None and current.version != change.version:
            await self._update_copy(current, purpose, sent)

    async def _refresh_cards(self, job: Job) -> None:
        """Bring every recorded copy of the change's cards up to date. A copy that fails gets a
        job of its own, so one broken conversation never holds up another admin's card."""
        change_id = str(job.payload["change_id"])
        async with self._db.transaction() as tx:
            change = await tx.admin_changes.get(change_id)
            copies = await tx.admin_changes.cards(change_id)
        if change is None or self._messenger is None:
            return
        failed: list[tuple[str, str]] = []
        for purpose, sent in copies:
            try:
                await self._update_copy(change, purpose, sent)
            except Exception as error:  # this copy is retried on its own, below
                log.warning("card of change %s for %s: %s", change_id, sent.person_id, error)
                failed.append((purpose, sent.person_id))
        if failed:
            now = self._now()
            async with self._db.transaction() as tx:
                for purpose, person_id in failed:
                    await tx.jobs.enqueue(
                        CARD_UPDATE_JOB,
                        {"change_id": change_id, "person_id": person_id, "purpose": purpose},
                        due_at=now,
                        dedupe_key=f"{CARD_UPDATE_JOB}:{change_id}:{change.version}:"
                        f"{purpose}:{person_id}",
                    )
            self.wake_scheduler()

    async def _update_card(self, job: Job) -> None:
        """One copy whose update failed during the refresh, retried on its own."""
        change_id, person_id = str(job.payload["change_id"]), str(job.payload["person_id"])
        purpose = str(job.payload["purpose"])
        async with self._db.transaction() as tx:
            change = await tx.admin_changes.get(change_id)
            copies = await tx.admin_changes.cards(change_id)
        sent = next(
            (s for p, s in copies if p == purpose and s.person_id == person_id),
            None,
        )
        if change is None or sent is None or self._messenger is None:
            return
        await self._update_copy(change, purpose, sent)

    async def _update_copy(self, change: AdminChange, purpose: str, sent: SentMessage) -> None:
        """Show the change as it is on one copy: in place, or (the update refused) as a new
        message that stands in for it from now on."""
        assert self._messenger is not None
        async with self._db.transaction() as tx:
            tz = await timezone_of(tx, sent.person_id)
            ids = await teams_ids_of(tx, [sent.person_id])
        card = card_for(change, sent.person_id, tz=tz, ids=ids)
        if await self._messenger().update(sent, CardMessage(card=card)):
            return
        person = Person(id=sent.person_id, tenant_id=change.tenant_id)
        summary = f"{plain(change.title)}: {change.state.value.replace('_', ' ')}"
        resent = await self._messenger().send(person, CardMessage(card=card, summary=summary))
        now = self._now()
        async with self._db.transaction() as tx:
            if resent is None:
                log.warning("could not reach %s to show change %s", sent.person_id, change.id)
                return
            if resent.activity_id:
                await tx.admin_changes.replace_card(change.id, purpose, resent)
            await audit_admin(
                tx,
                now,
                None,
                "admin_change.card_resent",
                details={"change_id": change.id, "person_id": sent.person_id, "purpose": purpose},
            )

    # --- carrying it out ----------------------------------------------------------------------

    async def _run_job(self, job: Job) -> None:
        change_id = str(job.payload["change_id"])
        async with self._db.transaction() as tx:
            change = await tx.admin_changes.get(change_id)
        if change is None or change.state not in (ChangeState.APPROVED, ChangeState.IN_PROGRESS):
            return  # already carried out (a replayed job), or never approved
        carry_out = self._carry_out.get(change.kind)
        if carry_out is None:
            raise ValueError(f"no journey carries out admin changes of kind {change.kind!r}")
        if self._as_admin is None:
            await carry_out(change, None)
            return
        if change.id in self._carrying:
            # The admin's sign-in is carrying it out in this process right now.
            raise RetryLater(RESUME_AFTER, "being carried out with the admin's sign-in")
        admin = executor_of(change)
        token = self._as_admin.tokens.cached(admin.id)
        if token is None:
            await self._ask_sign_in(change, admin)
            return
        await carry_out(change, token)

    async def _ask_sign_in(self, change: AdminChange, admin: Person) -> None:
        assert self._as_admin is not None
        now = self._now()
        async with self._db.transaction() as tx:
            await audit_admin(
                tx, now, admin.id, "admin_change.sign_in_asked", details=_audit_facts(change)
            )
        await self._as_admin.sender.send(
            admin,
            SignInRequest(
                exchange_id=f"{SIGN_IN_PREFIX}{change.id}",
                text=f"Sign in so that I can carry this out as you (PIM records you as the "
                f"admin who made it): {plain(change.title)}",
            ),
        )

    async def newest_sign_in(self, actor: Actor) -> tuple[datetime, str] | None:
        """Since when, and the exchange id of, the newest change waiting for this admin's
        sign-in (pim engine): approved, theirs to carry out, and no token of theirs in hand."""
        as_admin = self._as_admin
        if as_admin is None or as_admin.tokens.cached(actor.person.id) is not None:
            return None
        async with self._db.transaction() as tx:
            waiting = await tx.admin_changes.in_states(
                [ChangeState.APPROVED, ChangeState.IN_PROGRESS]
            )
        mine = [c for c in waiting if executor_of(c).id == actor.person.id]
        if not mine:
            return None
        newest = max(mine, key=lambda c: c.updated_at)
        return newest.updated_at, f"{SIGN_IN_PREFIX}{newest.id}"

    async def on_sign_in(
        self, actor: Actor, exchange_id: str, sso_token: str
    ) -> TokenExchangeOutcome:
        """The deciding admin signed in (pim engine): carry the change out with their token."""
        as_admin = self._as_admin
        change_id = exchange_id.removeprefix(SIGN_IN_PREFIX)
        async with self._db.transaction() as tx:
            change = await tx.admin_changes.get(change_id)
        if as_admin is None or change is None:
            return TokenExchangeOutcome(accepted=False, failure_detail="unknown sign-in")
        if executor_of(change).id != actor.person.id:
            return TokenExchangeOutcome(accepted=False, failure_detail="not your sign-in")
        if change.state not in (ChangeState.APPROVED, ChangeState.IN_PROGRESS):
            return TokenExchangeOutcome(accepted=True)  # done already: a retried invoke
        refused = await self._gate.admit(actor, "admin.sign_in", details={"change_id": change.id})
        if refused is not None:
            return TokenExchangeOutcome(accepted=True, outcome=refused.outcome())
        try:
            claims = await as_admin.sso.validate(sso_token)
            if claims.object_id != actor.person.id:
                return TokenExchangeOutcome(accepted=False, failure_detail="another account")
            token = await as_admin.tokens.exchange(actor.person.id, sso_token)
        except InvalidSsoToken as exc:
            return TokenExchangeOutcome(accepted=False, failure_detail=str(exc))
        except DelegatedTokenError as exc:
            return TokenExchangeOutcome(
                accepted=False, failure_detail=str(exc), outcome=_text(exc.words)
            )
        carry_out = self._carry_out[change.kind]
        # The token lives in this process only. Should it die before the change is finished, the
        # job queued here (in the database, before the first write) runs on whichever replica is
        # up and asks the admin to sign in again; once the change is finished it finds nothing
        # to do and is cancelled.
        resume = f"{CHANGE_JOB}:{change.id}:sign-in:{self._now().isoformat()}"
        async with self._db.transaction() as tx:
            await tx.jobs.enqueue(
                CHANGE_JOB,
                {"change_id": change.id},
                due_at=self._now() + RESUME_AFTER,
                dedupe_key=resume,
            )
        self._carrying.add(change.id)
        try:
            await carry_out(change, token)
        except RetryLater as later:
            async with self._db.transaction() as tx:
                await tx.jobs.reschedule(resume, self._now() + later.delay)
            return TokenExchangeOutcome(
                accepted=True,
                outcome=_text(f"{plain(change.title)}: Graph is busy; I will go on shortly."),
            )
        finally:
            self._carrying.discard(change.id)
        async with self._db.transaction() as tx:
            after = await tx.admin_changes.get(change.id)
            if after is not None and not after.state.is_open:
                await tx.jobs.cancel(resume)
        if after is not None and after.state is ChangeState.DONE:
            words = f"✅ Done as you: {plain(change.title)}."
        elif after is not None and after.state is ChangeState.FAILED:
            words = f"❌ Not done: {plain(change.title)}. {plain(after.failure)}"
        else:
            words = f"{plain(change.title)}: carrying it out…"
        return TokenExchangeOutcome(accepted=True, outcome=_text(words))


def card_for(change: AdminChange, person_id: str, *, tz: str | None, ids: list[str]) -> Card:
    """The card about `change` as `person_id` should see it now: Approve / Deny while it waits
    for a second admin (for anyone but the admin who asked), else where it stands (who decided,
    the outcome)."""
    if change.state is ChangeState.AWAITING_SECOND and person_id != change.proposer.id:
        return second_admin_request(change, tz=tz, refresh_user_ids=ids)
    return change_status(change, tz=tz, refresh_user_ids=ids)


async def _enqueue_card(
    tx: Tx, change: AdminChange, person_id: str, purpose: str, now: datetime
) -> None:
    await tx.jobs.enqueue(
        CARD_JOB,
        {"change_id": change.id, "person_id": person_id, "purpose": purpose},
        due_at=now,
        dedupe_key=f"{CARD_JOB}:{change.id}:{purpose}:{person_id}",
    )


def executor_of(change: AdminChange) -> Person:
    """Whose rights carry the change out: the second admin who approved it, else the asker."""
    return change.decided_by if change.decided_by is not None else change.proposer


async def _enqueue_carry_out(tx: Tx, change: AdminChange, now: datetime) -> None:
    await tx.jobs.enqueue(
        CHANGE_JOB, {"change_id": change.id}, due_at=now, dedupe_key=f"{CHANGE_JOB}:{change.id}"
    )


def _change_id(target_key: str, earlier: int) -> str:
    """The same for every replica and tap that asks for the same change of the same target at
    the same moment: the second insert loses, so the change is recorded once."""
    digest = hashlib.sha256(f"{target_key}#{earlier}".encode()).hexdigest()[:32]
    return f"chg-{digest}"


def _refusal(actor: Actor, change: AdminChange | None) -> str:
    if change is None:
        return "I can't find that change. It may have been removed."
    if actor.person.tenant_id != change.tenant_id:
        return "This change belongs to another organization."
    if actor.person.id == change.proposer.id:
        return "You asked for this change yourself: another admin has to approve or deny it."
    return ""


def _already_underway(change: AdminChange) -> Outcome:
    what = {
        ChangeState.AWAITING_SECOND: "waits for a second admin",
        ChangeState.APPROVED: "is being carried out",
        ChangeState.IN_PROGRESS: "is being carried out",
    }.get(change.state, f"is {change.state.value}")
    return _text(f"{plain(change.title)}: already asked for, and it {what}. Nothing new was done.")


def _already_decided(change: AdminChange, actor: Actor) -> Outcome:
    if change.decided_by is not None:
        who = plain(change.decided_by.display_name or change.decided_by.id)
        verb = "denied" if change.state is ChangeState.DENIED else "approved"
        toast = f"Already {verb} by {who}."
    else:
        toast = f"This change is already {change.state.value.replace('_', ' ')}."
    return Outcome(card_update=change_status(change, tz=actor.timezone), toast=toast)


def _audit_facts(change: AdminChange) -> dict[str, Any]:
    return {
        "change_id": change.id,
        "kind": change.kind,
        "role_id": change.role_id,
        "target": change.target_key,
        "four_eyes": change.needs_second,
        "proposer_id": change.proposer.id,
    }


def _text(text: str) -> Outcome:
    return Outcome(replies=[TextMessage(text=text)])
