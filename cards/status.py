"""The requester's cards: where their request stands, the role is active, ends soon, has ended."""

from __future__ import annotations

from datetime import timedelta

from bot.domain import ActivationRequest, RequestKind, RequestState
from bot.timefmt import format_duration
from cards.actions import Verb
from cards.common import (
    Action,
    Card,
    Element,
    TextColor,
    card,
    decided_by,
    execute,
    facts,
    heading,
    paragraph,
    person_name,
    role_name,
    ticket_text,
    when,
)
from cards.text import plain


def request_status(request: ActivationRequest, *, tz: str | None = None) -> Card:
    """The requester's card for any state of their request."""
    role = role_name(request.role)
    extending = request.kind is RequestKind.EXTEND
    state = request.state
    if state is RequestState.ACTIVE:
        return activated(request, tz=tz)
    if state is RequestState.ENDED:
        return ended(request, tz=tz)
    if state is RequestState.DRAFT:
        return _status(
            request,
            tz,
            f"Confirm it is you: {role}",
            "This role needs MFA. Sign in when Teams asks, and the request goes on."
            if request.require_mfa
            else "Sign in when Teams asks (pimbot acts with your own sign-in), and the request "
            "goes on.",
            actions=[_cancel(request)],
        )
    if state is RequestState.SUBMITTED:
        return _status(request, tz, f"Request sent: {role}", "Checking the role's rules…")
    if state is RequestState.PENDING_APPROVAL:
        return _status(
            request,
            tz,
            f"Waiting for approval: {role}",
            "The approvers have been asked. You will hear here as soon as one decides.",
            actions=[_cancel(request)],
        )
    if state in {RequestState.APPROVED, RequestState.ACTIVATING}:
        decider = person_name(request.decided_by)
        approval = f"Approved by {decider}." if decider else "No approval needed."
        title = f"Extending {role}" if extending else f"Activating {role}"
        doing = "Adding the time now…" if extending else "Turning it on now…"
        return _status(request, tz, title, f"{approval} {doing}", "good")
    if state is RequestState.DENIED:
        return _status(
            request, tz, f"Denied: {role}", _decision_line("Denied", request, tz), "attention"
        )
    if state is RequestState.CANCELLED:
        return _status(request, tz, f"Cancelled: {role}", "You cancelled this request.")
    if state is RequestState.EXPIRED_UNAPPROVED:
        return _status(
            request,
            tz,
            f"Expired: {role}",
            "No approver decided in time. Ask again if you still need it.",
            "warning",
            actions=[_ask_again(request)],
        )
    failure = plain(request.failure) or "Something went wrong while turning the role on."
    return _status(
        request,
        tz,
        f"Could not {'extend' if extending else 'activate'} {role}",
        failure,
        "attention",
        actions=[execute("Retry", Verb.RETRY_REQUEST, {"request_id": request.id})],
    )


def activated(request: ActivationRequest, *, tz: str | None = None) -> Card:
    role = role_name(request.role)
    until = when(request.end, tz)
    text = f"You have it until {until}." if until else "You have it now."
    return _status(request, tz, f"{role} is active", text, "good", actions=_extend_or_end(request))


def expiry_warning(request: ActivationRequest, *, minutes_left: int, tz: str | None = None) -> Card:
    role = role_name(request.role)
    left = format_duration(timedelta(minutes=max(minutes_left, 0)))
    until = when(request.end, tz)
    text = f"It ends at {until}. Extend it if you need more time." if until else ""
    return _status(
        request,
        tz,
        f"{role} ends in {left}",
        text or "Extend it if you need more time.",
        "warning",
        actions=_extend_or_end(request),
    )


def ended(request: ActivationRequest, *, tz: str | None = None) -> Card:
    role = role_name(request.role)
    at = when(request.end, tz)
    text = f"It ended at {at}." if at else "It is no longer active."
    return _status(request, tz, f"{role} has ended", text, actions=[_ask_again(request)])


def _status(
    request: ActivationRequest,
    tz: str | None,
    title: str,
    text: str,
    color: TextColor = "default",
    *,
    actions: list[Action] | None = None,
) -> Card:
    body: list[Element] = [heading(title, color=color), paragraph(text), _own_facts(request, tz)]
    return card(body, actions or [], fallback_text=f"{title}. {text}")


def _own_facts(request: ActivationRequest, tz: str | None) -> Element:
    return facts(
        [
            ("Role", role_name(request.role)),
            ("Duration", format_duration(request.duration)),
            ("Until", when(request.end, tz)),
            ("Reason", plain(request.justification)),
            ("Ticket", ticket_text(request)),
        ]
    )


def _decision_line(verdict: str, request: ActivationRequest, tz: str | None) -> str:
    decision = decided_by(request, tz)
    line = f"{verdict} by {decision}" if decision else verdict
    if request.decision_reason:
        line += f". Reason: {plain(request.decision_reason)}"
    return line


def _cancel(request: ActivationRequest) -> Action:
    return execute("Cancel request", Verb.CANCEL_REQUEST, {"request_id": request.id})


def _ask_again(request: ActivationRequest) -> Action:
    return execute("Activate again", Verb.PICK_ROLE, {"role_id": request.role.id})


def _extend_or_end(request: ActivationRequest) -> list[Action]:
    role = {"role_id": request.role.id, "request_id": request.id}
    return [
        execute("Extend", Verb.EXTEND_ROLE, role, style="positive"),
        execute("Deactivate now", Verb.DEACTIVATE_ROLE, role, style="destructive"),
    ]
