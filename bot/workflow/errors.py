"""Graph errors in plain words for the people in the chat."""

from __future__ import annotations

from bot.domain import (
    AuthenticationFailed,
    GraphError,
    GraphUnavailable,
    PendingRoleAssignmentRequest,
    PolicyValidationFailed,
    RoleAssignmentExists,
    Throttled,
)
from cards.text import plain

RULE_WORDS = {
    "MfaRule": "multi-factor authentication is required",
    "JustificationRule": "a justification is required",
    "TicketingRule": "a ticket number is required",
    "ExpirationRule": "the duration is longer than the role allows",
    "EligibilityRule": "you are not eligible for this role",
    "ApprovalRule": "the role needs approval",
    "ActivationDayRule": "the role can't be activated today",
    "AdminRequestRule": "the request isn't allowed for administrators",
}

# Errors worth trying again later; the rest will fail the same way every time.
TRANSIENT = (Throttled, GraphUnavailable, AuthenticationFailed)


def graph_trouble(exc: GraphError, doing: str) -> str:
    """A sentence saying why `doing` ("activate Exchange Administrator") did not work."""
    if isinstance(exc, PolicyValidationFailed):
        reasons = [RULE_WORDS.get(rule, rule) for rule in exc.rules] or [exc.message]
        return f"Entra refused to {doing}: {'; '.join(reasons)}."
    if isinstance(exc, RoleAssignmentExists):
        return f"Couldn't {doing}: the role is already active."
    if isinstance(exc, PendingRoleAssignmentRequest):
        return f"Couldn't {doing}: Entra already has a pending request for this role."
    if isinstance(exc, Throttled):
        return f"Microsoft Graph is busy, so I couldn't {doing} yet."
    if isinstance(exc, GraphUnavailable):
        return f"Microsoft Graph isn't answering, so I couldn't {doing} yet."
    if isinstance(exc, AuthenticationFailed):
        return (
            f"pimbot couldn't sign in to Microsoft Graph, so I couldn't {doing}. Tell your admin."
        )
    if exc.status == 403:
        return f"pimbot isn't allowed to {doing} (missing Graph permission). Tell your admin."
    suffix = f" (Graph request id {exc.request_id})" if exc.request_id else ""
    return f"Entra refused to {doing}: {plain(exc.message or exc.code)}{suffix}."
