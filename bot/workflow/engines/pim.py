"""The pim engine (Zero Trust mode): every write to PIM is made with the delegated token of the
person who acts, and PIM enforces its own policy and approvals.

The shared workflow does the rest (parsing, role resolution, forms, the request record, cards,
notices, expiry). This class is the engine (`WorkflowEngine`, engines/protocol.py): the token
exchange that follows a submitted form, an approver's tap, retry, cancel, deactivate, extend,
pending, and the jobs that follow PIM (`pim_follow.py`).
Actions that wait for a sign-in are kept in the database under the sign-in's exchange id, with
the person who asked (never their token): the exchange may reach another replica, or this one
after a restart. They are answered only for that person.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Literal

import cards
from bot.domain import (
    AcrsValidationFailed,
    ActivationPolicy,
    ActivationRequest,
    Actor,
    ApprovalStepStatus,
    CardMessage,
    ConsentRequired,
    GraphError,
    Outcome,
    PendingRoleAssignmentRequest,
    PimRequestStatus,
    PolicyValidationFailed,
    RequestState,
    RoleAssignmentExists,
    SignInRequest,
    SignInRequired,
    TextMessage,
    TokenExchangeOutcome,
)
from bot.sso import InvalidSsoToken
from bot.store import SignInWait, Tx, WaitKind
from bot.workflow.active_roles import ActiveRoles
from bot.workflow.audit import audit
from bot.workflow.context import Deps
from bot.workflow.engines.pim_follow import PimFollower, follow, start_watching
from bot.workflow.engines.ports import PimAsPerson, PimReads, UserTokens
from bot.workflow.errors import graph_trouble
from bot.workflow.moves import move, submit_draft
from bot.workflow.outbox import JobHandler
from bot.workflow.requesting import Requesting
from cards.text import plain

log = logging.getLogger(__name__)

Verdict = Literal["approve", "deny"]
PENDING_TTL = timedelta(minutes=15)
# How long one token exchange may hold an activation: Teams retries an exchange it had no answer
# to, and the retry must not call PIM a second time while the first call is still out.
ACTIVATION_LEASE = timedelta(seconds=60)
LEASE_POLL_SECONDS = 0.1
SIGN_IN_UNAVAILABLE = (
    "PIM acts in your name, so this needs your sign-in, and this pimbot runs without an app "
    "registration (anonymous mode): I cannot ask you to sign in. It works in Teams once pimbot "
    "has its app registration (MicrosoftAppId)."
)
FIXABLE_RULES = {"JustificationRule", "TicketingRule", "ExpirationRule"}


class PimFlow:
    """`WorkflowEngine` (engines/protocol.py) of the pim engine."""

    def __init__(
        self, deps: Deps, *, tokens: UserTokens, as_person: PimAsPerson, reads: PimReads
    ) -> None:
        self.deps = deps
        self.tokens = tokens
        self.pim = as_person
        self.follower = PimFollower(deps, reads)
        self.requesting = Requesting(deps, self)
        self.roles = ActiveRoles(deps, self.requesting, _SelfDeactivation(tokens, as_person))

    async def start(self) -> None:
        """Start watching PIM for activations made outside Teams."""
        async with self.deps.db.transaction() as tx:
            await start_watching(tx, self.deps.now())

    def jobs(self) -> Mapping[str, JobHandler]:
        return self.follower.handlers()

    # --- submitting ---------------------------------------------------------------------------

    def waits_for_sign_in(self, policy: ActivationPolicy) -> bool:
        """Always: PIM is asked with the requester's own token, MFA or not."""
        return True

    def sign_in_text(self, role_name: str) -> str:
        return f"Sign in so that I can ask PIM to activate {role_name} as you."

    async def recorded(
        self, tx: Tx, request: ActivationRequest, policy: ActivationPolicy
    ) -> ActivationRequest:
        """Nothing yet: the draft goes to PIM with the requester's sign-in
        (`on_token_exchange`)."""
        return request

    # --- sign-in ------------------------------------------------------------------------------

    async def _ask_sign_in(
        self,
        actor: Actor,
        kind: WaitKind,
        text: str,
        toast: str,
        *,
        target: str = "",
        verdict: Verdict | None = None,
        reason: str = "",
    ) -> Outcome:
        """Send a sign-in card; the action waits in the database for the token exchange."""
        if not self.deps.config.sign_in_available:
            return Outcome(replies=[TextMessage(text=SIGN_IN_UNAVAILABLE)])
        now = self.deps.now()
        exchange_id = f"pim-{kind}-{uuid.uuid4().hex}"
        waiting = SignInWait(exchange_id, actor.person.id, kind, target, verdict or "", reason)
        async with self.deps.db.transaction() as tx:
            await tx.sign_ins.purge(now)
            await tx.sign_ins.add(waiting, now=now, expires_at=now + PENDING_TTL)
        return Outcome(
            replies=[SignInRequest(exchange_id=exchange_id, text=text, mfa_required=False)],
            toast=toast,
        )

    async def on_token_exchange(
        self, actor: Actor, exchange_id: str, sso_token: str
    ) -> TokenExchangeOutcome:
        now = self.deps.now()
        async with self.deps.db.transaction() as tx:
            waiting = await tx.sign_ins.get(exchange_id, now=now)
            if waiting is not None and waiting.kind == "activate":
                waiting = None  # an activation's sign-in: its request says what waits
            request = None if waiting else await tx.requests.get(exchange_id)
            challenge = await tx.sign_ins.challenge(request.id) if request else ""
        if waiting is None:
            if request is None:
                return TokenExchangeOutcome(accepted=False, failure_detail="unknown sign-in")
            if request.requester.id != actor.person.id:
                return TokenExchangeOutcome(accepted=False, failure_detail="not your sign-in")
            if request.state is not RequestState.DRAFT:
                return TokenExchangeOutcome(accepted=True)  # a retried invoke
        elif waiting.person_id != actor.person.id:
            return TokenExchangeOutcome(accepted=False, failure_detail="not your sign-in")
        try:
            claims = await self.deps.sso.validate(sso_token)
        except InvalidSsoToken as exc:
            return _refuse(str(exc), "I couldn't verify your sign-in. Please sign in again.")
        if claims.object_id != actor.person.id:
            return _refuse("token is for another user", "That sign-in was for another account.")
        try:
            token = await self.tokens.exchange(actor.person.id, sso_token, challenge or None)
        except SignInRequired as exc:
            if request is not None and exc.claims and not challenge:
                await self._set_challenge(actor, request.id, exc.claims)
            return _refuse(
                str(exc),
                "Please complete the sign-in (with the extra check) so that I can continue.",
            )
        except ConsentRequired as exc:
            await self._audit(actor, "pim.consent_missing", request, str(exc))
            return _refuse("consent required", ConsentRequired.words)
        except GraphError as exc:
            return TokenExchangeOutcome(
                accepted=True, outcome=_text(graph_trouble(exc, "sign you in to Graph"))
            )
        if request is not None:
            return await self._activate_once(
                actor, request.id, token, mfa=claims.has_mfa, challenged=bool(challenge)
            )
        assert waiting is not None
        async with self.deps.db.transaction() as tx:
            taken = await tx.sign_ins.take(exchange_id, actor.person.id, now=self.deps.now())
        if taken is None:
            return TokenExchangeOutcome(accepted=True)  # a retried invoke
        outcome = await self._resume(actor, taken, token)
        # A sign-in turn has no card to replace: the refresh updates every copy; say the rest.
        if outcome.toast:
            outcome.replies.append(TextMessage(text=outcome.toast))
        return TokenExchangeOutcome(accepted=True, outcome=outcome)

    async def _activate_once(
        self, actor: Actor, request_id: str, token: str, *, mfa: bool, challenged: bool
    ) -> TokenExchangeOutcome:
        """One attempt at a time per request, across replicas: Teams may retry an exchange
        while the first is still with PIM. A second exchange waits for the first (at most its
        lease), so that it answers once the activation is recorded."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ACTIVATION_LEASE.total_seconds()
        while True:
            now = self.deps.now()
            async with self.deps.db.transaction() as tx:
                leased = await tx.sign_ins.lease(
                    request_id, actor.person.id, now=now, until=now + ACTIVATION_LEASE
                )
                current = await tx.requests.get(request_id)
            if current is None or current.state is not RequestState.DRAFT:
                if leased:
                    await self._release(request_id)
                return TokenExchangeOutcome(accepted=True)
            if leased:
                break
            if loop.time() > deadline:
                return TokenExchangeOutcome(accepted=True)  # the holder's answer tells the rest
            await asyncio.sleep(LEASE_POLL_SECONDS)
        try:
            return await self._activate(actor, current, token, mfa=mfa, challenged=challenged)
        finally:
            await self._release(request_id)

    async def _release(self, request_id: str) -> None:
        now = self.deps.now()
        async with self.deps.db.transaction() as tx:
            await tx.sign_ins.release(request_id, keep_until=now + PENDING_TTL)

    async def _set_challenge(self, actor: Actor, request_id: str, claims: str) -> None:
        """Keep (or with '' drop) PIM's claims challenge for the next sign-in of an activation."""
        now = self.deps.now()
        async with self.deps.db.transaction() as tx:
            await tx.sign_ins.set_challenge(
                request_id, actor.person.id, claims, now=now, until=now + PENDING_TTL
            )

    async def _resume(self, actor: Actor, waiting: SignInWait, token: str) -> Outcome:
        match waiting.kind:
            case "decide":
                verdict: Verdict = "deny" if waiting.verdict == "deny" else "approve"
                return await self._decide(actor, waiting.target, token, verdict, waiting.reason)
            case "cancel":
                return await self._cancel(actor, waiting.target, token)
            case "deactivate":
                return await self.roles.deactivate(actor, waiting.target)
            case "pending":
                return await self._pending(actor, token)
            case "activate":  # an activation resumes through its request, never here
                return Outcome()

    # --- activation as the person -------------------------------------------------------------

    async def _activate(
        self, actor: Actor, request: ActivationRequest, token: str, *, mfa: bool, challenged: bool
    ) -> TokenExchangeOutcome:
        """`challenged`: this sign-in already answered PIM's claims challenge (one retry only)."""
        deps, now = self.deps, self.deps.now()
        role = plain(request.role.display_name)
        try:
            state = await self.pim.self_activate(token, request)
        except PolicyValidationFailed as exc:
            if "MfaRule" in exc.rules:
                self.tokens.forget(actor.person.id)
                await self._audit(actor, "mfa.missing", request, "PIM: MfaRule")
                return _refuse(
                    "multi-factor authentication required",
                    f"PIM requires multi-factor authentication for **{role}**, and your "
                    "current sign-in didn't use it. Sign in again with MFA to continue.",
                )
            return await self._refused_by_policy(actor, request, exc)
        except AcrsValidationFailed as exc:
            self.tokens.forget(actor.person.id)
            if challenged or not exc.claims:
                await self._set_challenge(actor, request.id, "")
                return await self._fail(
                    actor,
                    request,
                    exc,
                    f"PIM asked for an extra sign-in check for **{role}** and it still isn't "
                    "met, so I stopped. Ask your admin which check the role needs.",
                )
            await self._set_challenge(actor, request.id, exc.claims)
            await self._audit(actor, "pim.step_up", request, "authentication context required")
            sign_in = SignInRequest(
                exchange_id=request.id,
                text=f"{role} needs an extra sign-in check. Sign in again and I'll retry.",
                claims=exc.claims,
            )
            return TokenExchangeOutcome(
                accepted=False,
                failure_detail="authentication context required",
                outcome=Outcome(replies=[sign_in]),
            )
        except RoleAssignmentExists as exc:
            return await self._fail(actor, request, exc, f"**{role}** is already active for you.")
        except PendingRoleAssignmentRequest as exc:
            return await self._fail(
                actor,
                request,
                exc,
                f"PIM already has a pending request of yours for **{role}** (perhaps from the "
                "portal). Wait for it, or cancel it in the portal, then ask again.",
            )
        except GraphError as exc:
            return await self._fail(actor, request, exc, graph_trouble(exc, f"activate {role}"))
        async with deps.db.transaction() as tx:
            await tx.sign_ins.set_challenge(
                request.id, actor.person.id, "", now=now, until=now + PENDING_TTL
            )
            needs_approval = state.status is PimRequestStatus.AWAITING_APPROVAL
            pending = await submit_draft(
                deps,
                tx,
                request,
                needs_approval=needs_approval,
                action="pim.submitted",
                actor=actor.person.id,
                changes={
                    "graph_request_id": state.id or None,
                    **({"mfa_verified_at": now} if mfa else {}),
                },
                graph_request_id=state.id,
                details={"graph_status": state.graph_status},
                now=now,
            )
            if pending is None:
                return TokenExchangeOutcome(accepted=True)
            words = (
                f"PIM needs approval for **{role}**; I've asked the approvers."
                if needs_approval
                else f"PIM accepted your request for **{role}**. Activating now…"
            )
            await follow(tx, pending, now)
        if pending.state is RequestState.APPROVED:
            synced = await self.follower.sync(pending)
            if synced.state is RequestState.ACTIVE:
                words = ""  # the activation notice says it all
        return TokenExchangeOutcome(
            accepted=True, outcome=Outcome(replies=[TextMessage(text=words)] if words else [])
        )

    async def _refused_by_policy(
        self, actor: Actor, request: ActivationRequest, exc: PolicyValidationFailed
    ) -> TokenExchangeOutcome:
        """PIM refused under its policy: say why, and where the person can fix it, a form
        asking for what was missing."""
        words = graph_trouble(exc, f"activate {plain(request.role.display_name)}")
        outcome = await self._fail(actor, request, exc, words)
        fixable = FIXABLE_RULES & set(exc.rules)
        if not fixable:
            return outcome
        policy = await self.deps.directory.activation_policy(request.role.id)
        policy = policy.model_copy(
            update={
                "require_justification": policy.require_justification
                or "JustificationRule" in fixable,
                "require_ticket": policy.require_ticket or "TicketingRule" in fixable,
            }
        )
        duration = None if "ExpirationRule" in fixable else request.duration
        form = cards.activation_form(
            request.role,
            policy,
            form_id=uuid.uuid4().hex,
            duration=duration,
            justification=request.justification,
            ticket=request.ticket.number if request.ticket else "",
            notice=words + " Fix it below and send again.",
        )
        outcome.outcome.replies.append(
            CardMessage(card=form, summary=f"Activate {plain(request.role.display_name)}")
        )
        return outcome

    async def _fail(
        self, actor: Actor, request: ActivationRequest, exc: GraphError, words: str
    ) -> TokenExchangeOutcome:
        async with self.deps.db.transaction() as tx:
            await move(
                self.deps,
                tx,
                request,
                from_states=RequestState.DRAFT,
                to=RequestState.FAILED,
                action="activation.refused",
                actor=actor.person.id,
                changes={"failure": words},
                outcome="refused",
                reason=f"{exc.code}: {exc.message}"[:500],
                graph_request_id=exc.request_id,
            )
        return TokenExchangeOutcome(accepted=True, outcome=_text(words))

    # --- approvals ----------------------------------------------------------------------------

    async def decide(
        self, actor: Actor, request: ActivationRequest, verdict: Verdict, reason: str
    ) -> Outcome:
        """An approver's tap, already checked by the shared rules; PIM decides with their token."""
        token = self.tokens.cached(actor.person.id)
        if token is None:
            return await self._ask_sign_in(
                actor,
                "decide",
                "Sign in to confirm your decision: PIM records it in your name.",
                "Sign in to confirm your decision.",
                target=request.id,
                verdict=verdict,
                reason=reason,
            )
        return await self._decide(actor, request.id, token, verdict, reason)

    async def _decide(
        self, actor: Actor, request_id: str, token: str, verdict: Verdict, reason: str
    ) -> Outcome:
        async with self.deps.db.transaction() as tx:
            request = await tx.requests.get(request_id)
        if request is None or not request.graph_request_id:
            return _text("I can't find that request in PIM.")
        status = await self.follower.reads.read_request(request.graph_request_id)
        toast = "Decision recorded in PIM."
        decided_by, decided_reason = None, ""
        try:
            approval = await self.pim.read_approval(token, status.approval_id or "")
            mine = [s for s in approval.steps if s.assigned_to_me]
            # The stage in progress, else the latest one: deciding a finished stage is how PIM
            # says (409) that someone else was first.
            step = next(
                (s for s in mine if s.status is ApprovalStepStatus.IN_PROGRESS),
                mine[-1] if mine else None,
            )
            if step is None:
                toast = "PIM has no decision waiting for you on this request."
            else:
                await self.pim.decide_step(token, approval.id, step.id, verdict, reason)
                await self._audit(actor, f"request.{verdict}d", request, reason)
                decided_by, decided_reason = actor.person, reason
        except GraphError as exc:
            if exc.status == 409:
                toast = "Someone else decided first; this is PIM's outcome."
            elif exc.status == 403:
                toast = "PIM says you can't decide this request (not an approver of this stage)."
            else:
                return _text(graph_trouble(exc, "record your decision"))
        decided = await self.follower.sync(request, decided_by=decided_by, reason=decided_reason)
        if decided.state is RequestState.PENDING_APPROVAL and toast == "Decision recorded in PIM.":
            toast = "Your approval is recorded; PIM waits for the next stage."
        async with self.deps.db.transaction() as tx:
            await follow(tx, decided, self.deps.now(), poke=f"{actor.person.id}:{decided.version}")
        self.deps.wake_scheduler()
        return Outcome(card_update=cards.approval_decided(decided, tz=actor.timezone), toast=toast)

    # --- self-service -------------------------------------------------------------------------

    async def cancel(self, actor: Actor, request_id: str) -> Outcome:
        async with self.deps.db.transaction() as tx:
            request = await tx.requests.get(request_id)
        if (
            request is None
            or request.requester.id != actor.person.id
            or request.state is not RequestState.PENDING_APPROVAL
            or not request.graph_request_id
        ):
            return await self.requesting.cancel(actor, request_id)
        token = self.tokens.cached(actor.person.id)
        if token is None:
            return await self._ask_sign_in(
                actor,
                "cancel",
                "Sign in to cancel your request in PIM.",
                "Sign in to cancel.",
                target=request_id,
            )
        return await self._cancel(actor, request_id, token)

    async def cancel_named(self, actor: Actor, ref: str | None) -> Outcome:
        """`cancel [role]`: the request it names, cancelled in PIM when PIM holds it."""
        chosen = await self.requesting.choose_to_cancel(actor, ref)
        if isinstance(chosen, Outcome):
            return chosen
        if chosen.state is not RequestState.PENDING_APPROVAL:
            return await self.requesting.cancel_chosen(actor, chosen)
        outcome = await self.cancel(actor, chosen.id)
        # A typed turn has no card to replace: say what happened in words.
        if outcome.toast:
            async with self.deps.db.transaction() as tx:
                current = await tx.requests.get(chosen.id)
            cancelled = current is not None and current.state is RequestState.CANCELLED
            words = f"Cancelled your request for **{chosen.role.display_name}**."
            outcome.replies.append(TextMessage(text=words if cancelled else outcome.toast))
        return outcome

    async def _cancel(self, actor: Actor, request_id: str, token: str) -> Outcome:
        async with self.deps.db.transaction() as tx:
            request = await tx.requests.get(request_id)
        assert request is not None and request.graph_request_id
        try:
            await self.pim.cancel(token, request.graph_request_id)
        except GraphError as exc:
            current = await self.follower.sync(request)
            words = (
                f"PIM can't cancel it any more; it is {current.state.value.replace('_', ' ')}."
                if exc.status == 400
                else graph_trouble(exc, "cancel the request")
            )
            return Outcome(
                card_update=cards.request_status(current, tz=actor.timezone),
                replies=[TextMessage(text=words)],
            )
        return await self.requesting.cancel(actor, request_id)

    async def deactivate(self, actor: Actor, role_id: str) -> Outcome:
        if self.tokens.cached(actor.person.id) is not None:
            return await self.roles.deactivate(actor, role_id)
        return await self._ask_sign_in(
            actor,
            "deactivate",
            "Sign in so that I can deactivate the role as you.",
            "Sign in to deactivate.",
            target=role_id,
        )

    async def deactivate_by_name(self, actor: Actor, query: str) -> Outcome:
        active = [
            a for a in await self.deps.directory.active_roles(actor.person.id) if a.end is not None
        ]
        match = [a for a in active if query.strip().lower() in a.role.display_name.lower()]
        chosen = match if query.strip() else active
        if len(chosen) == 1:
            return await self.deactivate(actor, chosen[0].role.id)
        return await self.roles.deactivate_by_name(actor, query)

    async def retry(self, actor: Actor, request_id: str) -> Outcome:
        """Retry after a refusal: a fresh form for the same role (PIM checks everything again)."""
        async with self.deps.db.transaction() as tx:
            request = await tx.requests.get(request_id)
        if request is None or request.requester.id != actor.person.id:
            return _text("Only the person who asked can retry a request.")
        return await self.requesting.form(
            actor,
            request.role,
            duration=request.duration,
            justification=request.justification,
            ticket=request.ticket.number if request.ticket else "",
        )

    async def extend(self, actor: Actor, role_id: str) -> Outcome:
        return await self.extend_by_name(actor, "")

    async def extend_by_name(self, actor: Actor, query: str) -> Outcome:
        return _text(
            "PIM doesn't extend an activation. When it ends, activate the role again, "
            "or deactivate it now and activate it again for longer."
        )

    async def pending(self, actor: Actor) -> Outcome:
        token = self.tokens.cached(actor.person.id)
        if token is None:
            return await self._ask_sign_in(
                actor,
                "pending",
                "Sign in so that I can ask PIM what waits for you.",
                "Sign in to see pending.",
            )
        return await self._pending(actor, token)

    async def _pending(self, actor: Actor, token: str) -> Outcome:
        outcome = await self.roles.pending(actor)
        try:
            waiting = await self.pim.waiting_for_me(token)
        except GraphError as exc:
            outcome.replies.append(TextMessage(text=graph_trouble(exc, "ask PIM")))
            return outcome
        async with self.deps.db.transaction() as tx:
            known = {
                r.graph_request_id for r in await tx.requests.pending_for_approver(actor.person.id)
            }
        others = [w for w in waiting if w.graph_request_id not in known]
        if others:
            lines = [
                f"- {plain(w.requester_name or 'someone')} asks for "
                f"{plain(w.role_name or 'a role')}"
                for w in others
            ]
            outcome.replies.append(
                TextMessage(
                    text="Also waiting for you in PIM (asked outside Teams; decide in the portal):"
                    + "\n"
                    + "\n".join(lines)
                )
            )
        return outcome

    async def _audit(
        self, actor: Actor, action: str, request: ActivationRequest | None, reason: str
    ) -> None:
        async with self.deps.db.transaction() as tx:
            await audit(tx, self.deps.now(), actor.person.id, action, request, reason=reason)


class _SelfDeactivation:
    """`selfDeactivate` with the person's own token (the caller made sure there is one)."""

    def __init__(self, tokens: UserTokens, as_person: PimAsPerson) -> None:
        self._tokens = tokens
        self._as_person = as_person

    async def deactivate(self, principal_id: str, role_id: str) -> None:
        token = self._tokens.cached(principal_id)
        if token is None:
            raise GraphError(401, "SignInRequired", "no delegated token for this person")
        await self._as_person.self_deactivate(token, principal_id, role_id)


def _text(text: str) -> Outcome:
    return Outcome(replies=[TextMessage(text=text)])


def _refuse(detail: str, words: str) -> TokenExchangeOutcome:
    """412 to the token exchange, so Teams shows the sign-in card, and what to do."""
    return TokenExchangeOutcome(accepted=False, failure_detail=detail, outcome=_text(words))
