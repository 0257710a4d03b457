"""The bot engine: pimbot is the approval gate. It enforces the role's PIM policy itself
(MFA from the SSO token's `amr`, approvers' cards, the first decision wins), then activates with
its own app permissions (`adminAssign`, `adminExtend`, `adminRemove`) in a job
(`bot_jobs.py`). pimbot's database is the record; Graph is told."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Literal

import cards
from bot.domain import (
    ActivationPolicy,
    ActivationRequest,
    Actor,
    Outcome,
    RequestKind,
    RequestState,
    TextMessage,
    TokenExchangeOutcome,
)
from bot.sso import InvalidSsoToken
from bot.store import Tx
from bot.workflow import outbox
from bot.workflow.active_roles import ActiveRoles
from bot.workflow.audit import audit
from bot.workflow.context import Deps
from bot.workflow.deciding import already_decided, audit_refusal, too_late
from bot.workflow.engines.bot_jobs import BotJobs
from bot.workflow.moves import Notice, move, route_submitted, submit_draft
from bot.workflow.outbox import JobHandler
from bot.workflow.ports import Engine
from bot.workflow.requesting import Requesting
from cards.text import plain

Verdict = Literal["approve", "deny"]


class BotFlow:
    """`WorkflowEngine` (engines/protocol.py) of the bot engine."""

    def __init__(self, deps: Deps, graph: Engine) -> None:
        """`graph`: pimbot's app-only writes (`adminAssign`, `adminExtend`, `adminRemove`)."""
        self.deps = deps
        self.requesting = Requesting(deps, self)
        self.roles = ActiveRoles(deps, self.requesting, graph)
        self._jobs = BotJobs(deps, graph)

    async def start(self) -> None:
        """Nothing to start: the jobs follow from the requests."""

    def jobs(self) -> Mapping[str, JobHandler]:
        return self._jobs.handlers()

    # --- submitting ---------------------------------------------------------------------------

    def waits_for_sign_in(self, policy: ActivationPolicy) -> bool:
        return policy.require_mfa

    def sign_in_text(self, role_name: str) -> str:
        return f"{role_name} needs multi-factor authentication. Sign in to confirm it's you."

    async def recorded(
        self, tx: Tx, request: ActivationRequest, policy: ActivationPolicy
    ) -> ActivationRequest:
        """A submitted request is routed at once; a draft waits for the MFA proof."""
        if request.state is not RequestState.SUBMITTED:
            return request
        routed = await route_submitted(
            self.deps, tx, request, needs_approval=bool(request.approver_ids)
        )
        await self._next_job(tx, routed, policy.approval_timeout)
        return routed

    async def _next_job(
        self, tx: Tx, routed: ActivationRequest, approval_timeout: timedelta
    ) -> None:
        """A request pending approval expires unless decided within `approval_timeout`; an
        approved one is activated now."""
        now = self.deps.now()
        if routed.state is RequestState.PENDING_APPROVAL:
            await outbox.approval_timeout(tx, routed, now + approval_timeout)
        else:
            await outbox.activation(tx, routed, now)

    async def on_token_exchange(
        self, actor: Actor, exchange_id: str, token: str
    ) -> TokenExchangeOutcome:
        """The requester's proof of MFA for a draft: a Teams SSO token whose `amr` says MFA."""
        deps = self.deps
        async with deps.db.transaction() as tx:
            request = await tx.requests.get(exchange_id)
        if request is None or request.requester.id != actor.person.id:
            return TokenExchangeOutcome(accepted=False, failure_detail="unknown sign-in request")
        if request.state is not RequestState.DRAFT:
            return TokenExchangeOutcome(accepted=True)  # already done: a retried invoke
        try:
            claims = await deps.sso.validate(token)
        except InvalidSsoToken as exc:
            async with deps.db.transaction() as tx:
                await audit(
                    tx, deps.now(), actor.person.id, "mfa.rejected", request, reason=str(exc)
                )
            return TokenExchangeOutcome(
                accepted=False,
                failure_detail=str(exc),
                outcome=_text("I couldn't verify your sign-in. Please sign in again."),
            )
        if claims.object_id != actor.person.id:
            async with deps.db.transaction() as tx:
                await audit(
                    tx,
                    deps.now(),
                    actor.person.id,
                    "mfa.rejected",
                    request,
                    reason="token belongs to someone else",
                )
            return TokenExchangeOutcome(
                accepted=False,
                failure_detail="token is for another user",
                outcome=_text("That sign-in was for a different account."),
            )
        if not claims.has_mfa:
            async with deps.db.transaction() as tx:
                await audit(
                    tx,
                    deps.now(),
                    actor.person.id,
                    "mfa.missing",
                    request,
                    reason="sign-in without MFA",
                )
            return TokenExchangeOutcome(
                accepted=False,
                failure_detail="multi-factor authentication required",
                outcome=_text(
                    f"**{plain(request.role.display_name)}** "
                    "needs multi-factor authentication, and your "
                    "current sign-in didn't use it. Sign in again with MFA to continue."
                ),
            )
        now = deps.now()
        # Read before the transaction: no Graph call while holding it.
        timeout = timedelta(0)
        if request.approver_ids:
            timeout = (await deps.directory.activation_policy(request.role.id)).approval_timeout
        async with deps.db.transaction() as tx:
            moved = await submit_draft(
                deps,
                tx,
                request,
                needs_approval=bool(request.approver_ids),
                action="mfa.verified",
                actor=actor.person.id,
                changes={"mfa_verified_at": now},
                now=now,
            )
            if moved is None:
                return TokenExchangeOutcome(accepted=True)
            await self._next_job(tx, moved, timeout)
        return TokenExchangeOutcome(
            accepted=True,
            outcome=Outcome(replies=[TextMessage(text=_after_mfa_text(moved))]),
        )

    # --- deciding -----------------------------------------------------------------------------

    async def decide(
        self, actor: Actor, request: ActivationRequest, verdict: Verdict, reason: str
    ) -> Outcome:
        """pimbot is the approval gate: the first decision wins by a conditional write
        (`… WHERE state = 'pending_approval'`); a later one is told the outcome."""
        deps, now = self.deps, self.deps.now()
        approved = verdict == "approve"
        who = plain(actor.person.display_name or "An approver")
        role = plain(request.role.display_name)
        doing = "Extending" if request.kind is RequestKind.EXTEND else "Activating"
        async with deps.db.transaction() as tx:
            decided = await move(
                deps,
                tx,
                request,
                from_states=RequestState.PENDING_APPROVAL,
                to=RequestState.APPROVED if approved else RequestState.DENIED,
                action="request.approved" if approved else "request.denied",
                actor=actor.person.id,
                changes={"decided_by": actor.person, "decided_at": now, "decision_reason": reason},
                notice=Notice(
                    f"✅ {who} approved your request for **{role}**. {doing} now…"
                    if approved
                    else f"❌ {who} denied your request for **{role}**: {plain(reason)}",
                    key="decision",
                ),
                reason=reason,
                now=now,
            )
            if decided is None:
                current = await tx.requests.get(request.id)
                assert current is not None
                await audit_refusal(tx, now, actor, verdict, current, too_late(current))
                return already_decided(actor, current)
            if approved:
                await outbox.activation(tx, decided, now)
        return Outcome(card_update=cards.approval_decided(decided, tz=actor.timezone))

    async def retry(self, actor: Actor, request_id: str) -> Outcome:
        """Try a failed activation again. Only the requester, and only for a request that was
        approved (or needed no approval) and then failed in Graph."""
        deps, now = self.deps, self.deps.now()
        async with deps.db.transaction() as tx:
            request = await tx.requests.get(request_id)
            if request is None or request.requester.id != actor.person.id:
                await audit(
                    tx,
                    now,
                    actor.person.id,
                    "request.retry_refused",
                    request,
                    outcome="refused",
                    reason="not the requester",
                )
                return _text("Only the person who asked can retry a request.")
            was_approved = request.decided_by is not None or not request.approver_ids
            if request.state is not RequestState.FAILED or not was_approved:
                return Outcome(
                    card_update=cards.request_status(request, tz=actor.timezone),
                    toast="There is nothing to retry for this request.",
                )
            moved = await move(
                deps,
                tx,
                request,
                from_states=RequestState.FAILED,
                to=RequestState.APPROVED,
                action="request.retried",
                actor=actor.person.id,
                changes={"failure": ""},
                now=now,
            )
            if moved is None:
                return Outcome(toast="Already retrying.")
            await outbox.activation(tx, moved, now)
        return Outcome(
            card_update=cards.request_status(moved, tz=actor.timezone), toast="Trying again…"
        )

    # --- what differs only in name ------------------------------------------------------------

    async def cancel(self, actor: Actor, request_id: str) -> Outcome:
        return await self.requesting.cancel(actor, request_id)

    async def cancel_named(self, actor: Actor, ref: str | None) -> Outcome:
        return await self.requesting.cancel_named(actor, ref)

    async def extend(self, actor: Actor, role_id: str) -> Outcome:
        return await self.roles.extend(actor, role_id)

    async def extend_by_name(self, actor: Actor, query: str) -> Outcome:
        return await self.roles.extend_by_name(actor, query)

    async def deactivate(self, actor: Actor, role_id: str) -> Outcome:
        return await self.roles.deactivate(actor, role_id)

    async def deactivate_by_name(self, actor: Actor, query: str) -> Outcome:
        return await self.roles.deactivate_by_name(actor, query)

    async def pending(self, actor: Actor) -> Outcome:
        return await self.roles.pending(actor)


def _text(text: str) -> Outcome:
    return Outcome(replies=[TextMessage(text=text)])


def _after_mfa_text(request: ActivationRequest) -> str:
    if request.state is RequestState.PENDING_APPROVAL:
        return "Thanks, MFA confirmed. Your request is waiting for approval."
    if request.kind is RequestKind.EXTEND:
        return "Thanks, MFA confirmed. Extending now…"
    return "Thanks, MFA confirmed. Activating now…"
