"""Cards for approvers: the request to decide, and the same card once it has been decided."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain import ActivationPolicy, ActivationRequest, RequestState
from cards.actions import MAX_REASON_LENGTH, Verb
from cards.common import (
    Card,
    Element,
    TextColor,
    card,
    decided_by,
    execute,
    heading,
    paragraph,
    person_name,
    request_facts,
    role_name,
    text_input,
    when,
)
from cards.refresh import refresh_block
from cards.text import plain


def approval_request(
    request: ActivationRequest,
    *,
    policy: ActivationPolicy,
    approver_teams_ids: Sequence[str],
    tz: str | None = None,
) -> Card:
    """What an approver needs to decide, with Approve / Deny.

    Teams refreshes the card for the approvers (`card.refresh`), so each sees the current state
    even when another approver decided first.
    """
    requester = person_name(request.requester)
    what = "extend" if request.kind == "extend" else "activate"
    reason_rule = (
        "A reason is required to approve or deny."
        if policy.approver_justification_required
        else "A reason is needed to deny."
    )
    body: list[Element] = [
        heading(f"{requester} asks to {what} {role_name(request.role)}"),
        request_facts(request, tz=tz),
    ]
    if request.require_mfa and request.mfa_verified_at is not None:
        confirmed = when(request.mfa_verified_at, tz)
        body.append(paragraph(f"{requester} confirmed with MFA at {confirmed}.", subtle=True))
    elif request.require_mfa:
        body.append(paragraph("The requester has not confirmed with MFA yet.", subtle=True))
    body.append(paragraph(reason_rule, subtle=True))
    body.append(
        text_input(
            "reason",
            "Your reason",
            placeholder=f"Shown to the requester (up to {MAX_REASON_LENGTH} characters)",
            required=policy.approver_justification_required,
            error_message="Please give a reason.",
            max_length=MAX_REASON_LENGTH,
            multiline=True,
        )
    )
    ids = {"request_id": request.id}
    actions = [
        execute("Approve", Verb.APPROVE, ids, style="positive", send_inputs=True),
        execute("Deny", Verb.DENY, ids, style="destructive", send_inputs=True),
    ]
    refresh = refresh_block(request.id, approver_teams_ids)
    return card(
        body,
        actions,
        fallback_text=f"{requester} asks to {what} {role_name(request.role)}",
        refresh=refresh,
    )


def approval_decided(request: ActivationRequest, *, tz: str | None = None) -> Card:
    """The approval card once decided: the outcome, who and when, the reason; no buttons."""
    outcome, color = _outcome(request)
    body: list[Element] = [heading(outcome, color=color), request_facts(request, tz=tz)]
    decision = decided_by(request, tz)
    if decision:
        body.append(paragraph(f"By {decision}"))
    if request.decision_reason:
        body.append(paragraph(f"Reason: {plain(request.decision_reason)}"))
    return card(body, fallback_text=outcome)


def _outcome(request: ActivationRequest) -> tuple[str, TextColor]:
    role = role_name(request.role)
    state = request.state
    if state in {
        RequestState.APPROVED,
        RequestState.ACTIVATING,
        RequestState.ACTIVE,
        RequestState.ENDED,
    }:
        return f"Approved: {role}", "good"
    if state is RequestState.DENIED:
        return f"Denied: {role}", "attention"
    if state is RequestState.CANCELLED:
        return f"Cancelled by the requester: {role}", "default"
    if state is RequestState.EXPIRED_UNAPPROVED:
        return f"Expired, nobody decided in time: {role}", "warning"
    if state is RequestState.FAILED:
        prefix = "Approved, but activation failed" if request.decided_by else "Failed"
        return f"{prefix}: {role}", "attention"
    return f"Waiting for a decision: {role}", "default"
