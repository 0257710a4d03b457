"""From "activate Exchange Admin" to a submitted request: role resolution, the form, the checks,
the MFA proof, and the first state change."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Protocol

import cards
from bot.domain import (
    ActivationPolicy,
    ActivationRequest,
    ActiveRole,
    Actor,
    CardMessage,
    CardSubject,
    EligibleRole,
    GraphError,
    Outcome,
    RequestKind,
    RequestState,
    Role,
    SentMessage,
    SignInRequest,
    TextMessage,
)
from bot.durations import parse_duration
from bot.store import Tx
from bot.timefmt import format_duration, format_when
from bot.workflow.audit import audit
from bot.workflow.context import Deps
from bot.workflow.live_cards import STATUS
from bot.workflow.moves import move
from bot.workflow.roles import Ambiguous, Exact, resolve_role
from bot.workflow.validation import MIN_DURATION, InvalidSubmission, validate_submission
from cards.text import plain

_CANCELLABLE = (RequestState.DRAFT, RequestState.PENDING_APPROVAL)

# Requests are keyed by (person, form), so a card submitted twice makes one request, and a form id
# copied from someone else's card can never touch their request.
REQUEST_NAMESPACE = uuid.UUID("5b0d9c3e-8f1a-4d2b-9c7e-6a5f4e3d2c1b")


def request_id_for(person_id: str, form_id: str) -> str:
    return str(uuid.uuid5(REQUEST_NAMESPACE, f"{person_id}:{form_id}"))


class Submission(Protocol):
    """Where the engines differ in submitting (see `engines/protocol.py`)."""

    def waits_for_sign_in(self, policy: ActivationPolicy) -> bool:
        """Whether a request for a role with this policy waits for the requester's sign-in
        (as a draft) before it is submitted."""
        ...

    def sign_in_text(self, role_name: str) -> str:
        """What the sign-in card of a draft says (`role_name` is already escaped)."""
        ...

    async def recorded(
        self, tx: Tx, request: ActivationRequest, policy: ActivationPolicy
    ) -> ActivationRequest:
        """A request was just recorded (in `tx`): what follows in the same transaction."""
        ...


class Requesting:
    def __init__(self, deps: Deps, submission: Submission) -> None:
        self.deps = deps
        self.submission = submission

    # --- asking -------------------------------------------------------------------------------

    async def start(
        self,
        actor: Actor,
        query: str,
        *,
        duration: timedelta | None = None,
        justification: str = "",
        ticket: str = "",
        duration_text: str | None = None,
    ) -> Outcome:
        """Resolve the role among the person's eligible roles and answer with the form."""
        if not query.strip():
            return _text(
                "Which role? For example: `activate Exchange Administrator`. "
                "Type `my roles` to see the roles you can activate."
            )
        # Eligible and active roles in one round trip: the form needs the active ones too.
        eligible, held = await self.deps.directory.held_roles(actor.person.id)
        match = resolve_role(query, [e.role for e in eligible])
        if isinstance(match, Exact):
            return await self.form(
                actor,
                match.role,
                duration=duration,
                justification=justification,
                ticket=ticket,
                duration_text=duration_text,
                held=held,
            )
        if isinstance(match, Ambiguous):
            card = cards.role_choices(
                query,
                match.candidates,
                duration=duration,
                justification=justification,
                ticket=ticket,
            )
            return Outcome(replies=[CardMessage(card=card, summary="Which role did you mean?")])
        holding = resolve_role(query, [a.role for a in held])
        if isinstance(holding, Exact):
            # Assigned permanently (or active through PIM without being eligible any more).
            current = next(a for a in held if a.role.id == holding.role.id)
            return _text(_already_has_text(current, actor.timezone))
        known = resolve_role(query, await self.deps.directory.list_roles())
        role = known.role if isinstance(known, Exact) else None
        await self._audit_refusal(actor, "activation.not_eligible", f"asked for {query!r}")
        card = cards.not_eligible(query, role, _not_held(eligible, held))
        return Outcome(replies=[CardMessage(card=card, summary=_not_eligible_text(query, role))])

    async def pick(
        self, actor: Actor, role_id: str, *, duration: str, justification: str, ticket: str
    ) -> Outcome:
        """A role chosen from the list of candidates: check eligibility again, then the form."""
        eligible = await self._eligible(actor, role_id)
        if eligible is None:
            return await self._not_eligible_for_id(actor, role_id)
        parsed = _parse_iso(duration)
        return await self.form(
            actor, eligible.role, duration=parsed, justification=justification, ticket=ticket
        )

    async def form(
        self,
        actor: Actor,
        role: Role,
        *,
        kind: RequestKind = RequestKind.ACTIVATE,
        duration: timedelta | None = None,
        justification: str = "",
        ticket: str = "",
        duration_text: str | None = None,
        held: list[ActiveRole] | None = None,
    ) -> Outcome:
        """`held`: the person's active roles when the caller has just read them."""
        person_id = actor.person.id
        if kind is RequestKind.ACTIVATE:
            if held is None:
                active = await self._active(person_id, role.id)
            else:
                active = next((a for a in held if a.role.id == role.id), None)
            if active is not None:
                return _text(_already_has_text(active, actor.timezone))
        async with self.deps.db.transaction() as tx:
            pending = await tx.requests.open_for_role(person_id, role.id)
        if pending is not None:
            return Outcome(
                replies=[
                    TextMessage(
                        text=f"You already have an open request for **{plain(role.display_name)}**."
                    ),
                    CardMessage(card=cards.request_status(pending, tz=actor.timezone)),
                ]
            )
        policy = await self.deps.directory.activation_policy(role.id)
        if refusal := await self._refuse_without_sign_in(actor, role, policy):
            return refusal
        active_until = ""
        if kind is RequestKind.EXTEND:
            current = await self._active(person_id, role.id)
            if current is None or current.end is None:
                return _text(
                    f"**{plain(role.display_name)}** isn't active for you any more. "
                    "Type `activate` to ask again."
                )
            allowance = extension_allowance(policy, current.end, self.deps.now())
            if allowance < MIN_DURATION:
                return _text(
                    f"**{plain(role.display_name)}** is active until "
                    f"{format_when(current.end, actor.timezone)}, already the longest this role "
                    f"allows ({format_duration(policy.max_duration)} from now). Ask again when "
                    "it has ended."
                )
            policy = policy.model_copy(update={"max_duration": allowance})
            active_until = format_when(current.end, actor.timezone)
        notice = ""
        if duration_text:
            notice = f"I didn't understand the duration {duration_text!r}; pick one below."
        if duration is not None and duration > policy.max_duration:
            notice = (
                f"You asked for {format_duration(duration)}, but this role allows at most "
                f"{format_duration(policy.max_duration)}. Pick a shorter time."
            )
            duration = None
        approver_names = await self._approver_names(policy, actor, kind)
        card = cards.activation_form(
            role,
            policy,
            form_id=uuid.uuid4().hex,
            kind=kind.value,
            duration=duration,
            justification=justification,
            ticket=ticket,
            approver_names=approver_names,
            notice=notice,
            active_until=active_until,
        )
        verb = "Extend" if kind is RequestKind.EXTEND else "Activate"
        return Outcome(
            replies=[CardMessage(card=card, summary=f"{verb} {plain(role.display_name)}")]
        )

    # --- submitting ---------------------------------------------------------------------------

    async def submit(
        self,
        actor: Actor,
        *,
        form_id: str,
        role_id: str,
        kind: RequestKind,
        duration: str,
        justification: str,
        ticket_number: str,
        ticket_system: str,
        form: SentMessage | None = None,
    ) -> Outcome:
        """Re-validate everything on the server, then create the request.

        `form` is the message of the submitted form (when the channel names it): it becomes the
        requester's live status card, recorded with the request in one transaction, so that no
        second status card is sent and every later change updates this one."""
        deps, person = self.deps, actor.person
        request_id = request_id_for(person.id, form_id)
        async with deps.db.transaction() as tx:
            existing = await tx.requests.get(request_id)
        if existing is not None:
            return Outcome(
                card_update=cards.request_status(existing, tz=actor.timezone),
                toast="You already sent this request.",
                card_subject=_subject(existing),
            )
        current_end: datetime | None = None  # of the role being extended
        if kind is RequestKind.ACTIVATE:
            eligible_roles, held = await deps.directory.held_roles(person.id)
            eligible = next((e for e in eligible_roles if e.role.id == role_id), None)
            if eligible is None:
                return await self._not_eligible_for_id(actor, role_id, eligible_roles, held)
            role = eligible.role
            if any(a.role.id == role_id for a in held):
                return _text(f"**{plain(role.display_name)}** is already active for you.")
        else:
            active = await self._active(person.id, role_id)
            if active is None or active.end is None:
                return _text(
                    "That role is not active for you any more, so there is nothing to extend."
                )
            role, current_end = active.role, active.end
        policy = await deps.directory.activation_policy(role.id)
        if refusal := await self._refuse_without_sign_in(actor, role, policy):
            return refusal
        if current_end is not None:
            allowance = extension_allowance(policy, current_end, deps.now())
            policy = policy.model_copy(update={"max_duration": allowance})
        checked = validate_submission(
            policy,
            duration=duration,
            justification=justification,
            ticket_number=ticket_number,
            ticket_system=ticket_system,
        )
        if isinstance(checked, InvalidSubmission):
            await self._audit_refusal(actor, "request.invalid", "; ".join(checked.problems))
            card = cards.activation_form(
                role,
                policy,
                form_id=form_id,
                kind=kind.value,
                duration=_parse_iso(duration),
                justification=justification,
                ticket=ticket_number,
                approver_names=await self._approver_names(policy, actor, kind),
                notice=" ".join(checked.problems),
            )
            return Outcome(card_update=card)
        needs_approval = policy.require_approval or (
            kind is RequestKind.EXTEND and policy.require_approval_for_extension
        )
        approver_ids: tuple[str, ...] = ()
        if needs_approval:
            approvers = await deps.directory.resolve_approvers(policy.approvers)
            approver_ids = tuple(p.id for p in approvers if p.id != person.id)
            if not approver_ids:
                await self._audit_refusal(actor, "request.no_approvers", role.display_name)
                return _text(
                    f"**{plain(role.display_name)}** needs approval, but nobody other than you can "
                    "approve it. Ask your PIM administrator to add approvers to the role's "
                    "settings."
                )
        now = deps.now()
        request = ActivationRequest(
            id=request_id,
            tenant_id=person.tenant_id,
            requester=person,
            role=role,
            kind=kind,
            duration=checked.duration,
            justification=checked.justification,
            ticket=checked.ticket,
            state=RequestState.DRAFT
            if self.submission.waits_for_sign_in(policy)
            else RequestState.SUBMITTED,
            approver_ids=approver_ids,
            require_mfa=policy.require_mfa,
            created_at=now,
            updated_at=now,
        )
        async with deps.db.transaction() as tx:
            # Each statement sees what has committed by then (read committed), so a twin
            # submission of this very card may show up in either check.
            open_request = await tx.requests.open_for_role(person.id, role.id)
            if open_request is not None and open_request.id == request_id:
                return Outcome(toast="You already sent this request.")
            if open_request is not None:
                return _text(
                    f"You already have an open request for **{plain(role.display_name)}**."
                )
            if not await tx.requests.insert(request):
                return Outcome(toast="You already sent this request.")
            await audit(tx, now, actor.person.id, "request.created", request, outcome=request.state)
            if form is not None and form.activity_id:
                await tx.cards.add(request.id, STATUS, form)
            request = await self.submission.recorded(tx, request, policy)
            tx.after_commit(deps.wake_scheduler)
        if request.state is RequestState.DRAFT:
            text = self.submission.sign_in_text(plain(role.display_name))
            return Outcome(
                card_update=cards.request_status(request, tz=actor.timezone),
                card_subject=_subject(request),
                replies=[
                    SignInRequest(
                        exchange_id=request.id, text=text, mfa_required=policy.require_mfa
                    )
                ],
            )
        return Outcome(
            card_update=cards.request_status(request, tz=actor.timezone),
            card_subject=_subject(request),
        )

    async def cancel(self, actor: Actor, request_id: str) -> Outcome:
        """The Cancel button on the requester's card."""
        request, refusal = await self._cancel(actor, request_id)
        if request is None:
            return _text(refusal)
        card = cards.request_status(request, tz=actor.timezone)
        return Outcome(card_update=card, toast=refusal or "Request cancelled.")

    async def cancel_named(self, actor: Actor, ref: str | None) -> Outcome:
        """`cancel` or `cancel exchange admin` typed in the chat."""
        chosen = await self.choose_to_cancel(actor, ref)
        if isinstance(chosen, Outcome):
            return chosen
        return await self.cancel_chosen(actor, chosen)

    async def cancel_chosen(self, actor: Actor, chosen: ActivationRequest) -> Outcome:
        request, refusal = await self._cancel(actor, chosen.id)
        if request is None or refusal:
            return _text(refusal)
        return _text(f"Cancelled your request for **{plain(request.role.display_name)}**.")

    async def choose_to_cancel(self, actor: Actor, ref: str | None) -> ActivationRequest | Outcome:
        """The one open request `ref` names (a role, or the start of a request id); without `ref`,
        the only open one. Otherwise the answer to send: nothing open, nothing matching, or a
        card that asks which."""
        async with self.deps.db.transaction() as tx:
            mine = await tx.requests.open_for_requester(actor.person.id)
        waiting = [r for r in mine if r.state in _CANCELLABLE]
        if not waiting:
            return _text("You have no request waiting for approval, so there is nothing to cancel.")
        if not ref:
            if len(waiting) == 1:
                return waiting[0]
            return _ask_which(f"You have {len(waiting)} open requests.", waiting)
        by_id = [r for r in waiting if len(ref) >= 4 and r.id.lower().startswith(ref.lower())]
        if len(by_id) == 1:
            return by_id[0]
        match = resolve_role(ref, [r.role for r in waiting])
        if isinstance(match, Exact):
            named = [r for r in waiting if r.role.id == match.role.id]
        elif isinstance(match, Ambiguous):
            ids = {role.id for role in match.candidates}
            named = [r for r in waiting if r.role.id in ids]
        else:
            named = []
        if len(named) == 1:
            return named[0]
        if named:
            return _ask_which(f"Several of your open requests match “{plain(ref)}”.", named)
        return _ask_which(f"You have no open request for “{plain(ref)}”. These are open:", waiting)

    async def _cancel(self, actor: Actor, request_id: str) -> tuple[ActivationRequest | None, str]:
        """(the request as it is now, why it was not cancelled or "")."""
        deps, now = self.deps, self.deps.now()
        async with deps.db.transaction() as tx:
            request = await tx.requests.get(request_id)
            if request is None or request.requester.id != actor.person.id:
                await audit(
                    tx,
                    now,
                    actor.person.id,
                    "request.cancel_refused",
                    request,
                    outcome="refused",
                    reason="not the requester",
                )
                return None, "You can only cancel your own requests."
            moved = await move(
                deps,
                tx,
                request,
                from_states=_CANCELLABLE,
                to=RequestState.CANCELLED,
                action="request.cancelled",
                actor=actor.person.id,
                now=now,
            )
            if moved is None:
                state = request.state.value.replace("_", " ")
                return request, f"This request is already {state}."
        return moved, ""

    # --- helpers ------------------------------------------------------------------------------

    async def _eligible(self, actor: Actor, role_id: str) -> EligibleRole | None:
        eligible = await self.deps.directory.eligible_roles(actor.person.id)
        return next((e for e in eligible if e.role.id == role_id), None)

    async def _active(self, person_id: str, role_id: str) -> ActiveRole | None:
        """The person's active assignment of the role, permanent or time-bound, if any."""
        for active in await self.deps.directory.active_roles(person_id):
            if active.role.id == role_id:
                return active
        return None

    async def _not_eligible_for_id(
        self,
        actor: Actor,
        role_id: str,
        eligible: list[EligibleRole] | None = None,
        held: list[ActiveRole] | None = None,
    ) -> Outcome:
        """`eligible` and `held`: the person's roles, when the caller has just read them."""
        if eligible is None or held is None:
            eligible, held = await self.deps.directory.held_roles(actor.person.id)
        roles = {r.id: r for r in await self.deps.directory.list_roles()}
        role = roles.get(role_id)
        await self._audit_refusal(actor, "activation.not_eligible", role_id)
        name = role.display_name if role else "that role"
        return Outcome(
            replies=[
                CardMessage(
                    card=cards.not_eligible(name, role, _not_held(eligible, held)),
                    summary=_not_eligible_text(name, role),
                )
            ]
        )

    async def _approver_names(
        self, policy: ActivationPolicy, actor: Actor, kind: RequestKind
    ) -> list[str]:
        needs = policy.require_approval or (
            kind is RequestKind.EXTEND and policy.require_approval_for_extension
        )
        if not needs:
            return []
        try:
            people = await self.deps.directory.resolve_approvers(policy.approvers)
        except GraphError:
            return []
        return [p.display_name or p.upn for p in people if p.id != actor.person.id]

    async def _refuse_without_sign_in(
        self, actor: Actor, role: Role, policy: ActivationPolicy
    ) -> Outcome | None:
        """Said before the form is filled in: a request that would wait for a sign-in that this
        deployment cannot ask for (no app registration) is never started."""
        if self.deps.config.sign_in_available:
            return None
        if not self.submission.waits_for_sign_in(policy):
            return None
        await self._audit_refusal(actor, "request.sign_in_unavailable", role.display_name)
        return _text(sign_in_unavailable_text(plain(role.display_name), mfa=policy.require_mfa))

    async def _audit_refusal(self, actor: Actor, action: str, reason: str) -> None:
        async with self.deps.db.transaction() as tx:
            await audit(
                tx, self.deps.now(), actor.person.id, action, None, outcome="refused", reason=reason
            )


def sign_in_unavailable_text(role_name: str, *, mfa: bool) -> str:
    need = (
        f"{role_name} needs multi-factor authentication"
        if mfa
        else f"To activate {role_name} I act with your own sign-in"
    )
    return (
        f"{need}, and this pimbot runs without an app registration (anonymous mode), so I "
        "cannot ask you to sign in. Roles that need a sign-in can't be activated here; they "
        "can be in Teams once pimbot has its app registration (MicrosoftAppId)."
    )


def extension_allowance(policy: ActivationPolicy, end: datetime, now: datetime) -> timedelta:
    """How much time an extension may add to a role active until `end`: the extended schedule
    runs from now to its new end, and that span may not exceed the policy's longest activation.
    Whole minutes, so that the choices read well."""
    left = policy.max_duration - max(end - now, timedelta(0))
    return timedelta(minutes=max(left // timedelta(minutes=1), 0))


def _ask_which(question: str, requests: list[ActivationRequest]) -> Outcome:
    return Outcome(
        replies=[
            CardMessage(
                card=cards.which_to_cancel(question, requests),
                summary="Which request should I cancel?",
            )
        ]
    )


def _text(text: str) -> Outcome:
    return Outcome(replies=[TextMessage(text=text)])


def _subject(request: ActivationRequest) -> CardSubject:
    """The request as the card in the answer was drawn from it (kept current from then on)."""
    return CardSubject(request_id=request.id, version=request.version)


def _already_has_text(active: ActiveRole, tz: str | None) -> str:
    name = plain(active.role.display_name)
    if active.end is None:
        return f"You already have **{name}**: it is assigned to you permanently."
    return (
        f"You already have **{name}**: it is active until {format_when(active.end, tz)}. "
        "Type `my roles` to extend or deactivate it."
    )


def _not_held(eligible: list[EligibleRole], held: list[ActiveRole]) -> list[EligibleRole]:
    """The eligible roles the person does not have now: the ones worth offering to activate."""
    held_ids = {a.role.id for a in held}
    return [e for e in eligible if e.role.id not in held_ids]


def _not_eligible_text(query: str, role: Role | None) -> str:
    if role is None:
        return f"I don't know a role called “{plain(query)}”."
    return f"You are not eligible for {plain(role.display_name)}."


def _parse_iso(value: str) -> timedelta | None:
    try:
        return parse_duration(value) if value else None
    except ValueError:
        return None
