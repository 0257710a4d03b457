"""pimbot's own vocabulary: the types the workflow, the store, the cards and the Graph layer share.

Nothing here knows about Bot Framework activities or Graph wire shapes; `bot/channel/` and
`bot/graph/` translate to and from these types at the edges.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


# --- people and roles -------------------------------------------------------------------------


class Person(Frozen):
    """A user of the tenant, identified by their Entra object id (`aadObjectId` in Teams)."""

    id: str
    tenant_id: str
    display_name: str = ""
    upn: str = ""


class Role(Frozen):
    """A directory role definition. For built-in roles `id` is the template id, the same in
    every tenant."""

    id: str
    display_name: str
    description: str = ""


class EligibleRole(Frozen):
    role: Role
    end: datetime | None = None  # None: the eligibility never ends
    member_type: str = "Direct"  # Direct | Group | Inherited


class ActiveRole(Frozen):
    role: Role
    start: datetime | None
    end: datetime | None  # None: permanent
    assignment_type: Literal["Assigned", "Activated"] = "Activated"


# --- policy -----------------------------------------------------------------------------------


class ApproverKind(StrEnum):
    USER = "user"
    GROUP = "group"


class ApproverRef(Frozen):
    kind: ApproverKind
    id: str
    description: str = ""


class ActivationPolicy(Frozen):
    """What PIM's policy for one role demands of an end-user activation (the `*_EndUser_Assignment`
    rules), in our own terms."""

    role_id: str
    max_duration: timedelta = timedelta(hours=8)
    require_justification: bool = False
    require_ticket: bool = False
    require_mfa: bool = False
    require_approval: bool = False
    require_approval_for_extension: bool = False
    approver_justification_required: bool = False
    approvers: tuple[ApproverRef, ...] = ()
    approval_timeout: timedelta = timedelta(days=1)
    authentication_context: str | None = None  # ACRS claim value such as "c1", when enabled


# --- requests ---------------------------------------------------------------------------------


class RequestState(StrEnum):
    DRAFT = "draft"  # validated, waiting for the requester's sign-in (MFA, or the pim engine)
    SUBMITTED = "submitted"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    ACTIVATING = "activating"
    ACTIVE = "active"
    ENDED = "ended"
    DENIED = "denied"
    CANCELLED = "cancelled"
    EXPIRED_UNAPPROVED = "expired_unapproved"
    FAILED = "failed"


OPEN_STATES = frozenset(
    {
        RequestState.DRAFT,
        RequestState.SUBMITTED,
        RequestState.PENDING_APPROVAL,
        RequestState.APPROVED,
        RequestState.ACTIVATING,
    }
)

# Every allowed transition; the store refuses anything else.
TRANSITIONS: dict[RequestState, frozenset[RequestState]] = {
    RequestState.DRAFT: frozenset(
        {RequestState.SUBMITTED, RequestState.CANCELLED, RequestState.FAILED}
    ),
    RequestState.SUBMITTED: frozenset(
        {RequestState.PENDING_APPROVAL, RequestState.APPROVED, RequestState.FAILED}
    ),
    RequestState.PENDING_APPROVAL: frozenset(
        {
            RequestState.APPROVED,
            RequestState.DENIED,
            RequestState.CANCELLED,
            RequestState.EXPIRED_UNAPPROVED,
            RequestState.FAILED,
        }
    ),
    RequestState.APPROVED: frozenset({RequestState.ACTIVATING, RequestState.FAILED}),
    RequestState.ACTIVATING: frozenset(
        {RequestState.ACTIVE, RequestState.FAILED, RequestState.APPROVED}
    ),
    RequestState.ACTIVE: frozenset({RequestState.ENDED}),
    RequestState.FAILED: frozenset({RequestState.APPROVED}),  # "Retry" after a Graph failure
    RequestState.ENDED: frozenset(),
    RequestState.DENIED: frozenset(),
    RequestState.CANCELLED: frozenset(),
    RequestState.EXPIRED_UNAPPROVED: frozenset(),
}


class RequestKind(StrEnum):
    ACTIVATE = "activate"
    EXTEND = "extend"


class Ticket(Frozen):
    number: str
    system: str = ""


class ActivationRequest(BaseModel):
    """One request to activate (or extend) a role, as stored. The single source of truth for every
    decision: cards only carry its id."""

    id: str
    tenant_id: str
    requester: Person
    role: Role
    kind: RequestKind = RequestKind.ACTIVATE
    duration: timedelta
    justification: str = ""
    ticket: Ticket | None = None
    state: RequestState
    # Approvers as resolved (users and transitive group members) when the request was submitted.
    approver_ids: tuple[str, ...] = ()
    require_mfa: bool = False
    mfa_verified_at: datetime | None = None
    decided_by: Person | None = None
    decided_at: datetime | None = None
    decision_reason: str = ""
    graph_request_id: str | None = None
    start: datetime | None = None  # as Graph reported it
    end: datetime | None = None  # as Graph reported it
    failure: str = ""  # plain words for people, when state is failed
    created_at: datetime
    updated_at: datetime
    version: int = 1


# --- what the channel hands the workflow, and what it gets back -------------------------------


class Actor(Frozen):
    """Who sent an activity, as the channel authenticated it."""

    person: Person
    teams_id: str = ""  # the Teams MRI (29:...), needed for card refresh userIds
    timezone: str | None = None  # IANA name from activity.localTimezone, when Teams sends it


class CardMessage(Frozen):
    card: dict[str, object]
    summary: str = ""  # plain text for notifications and clients that show no cards


class TextMessage(Frozen):
    text: str


class SignInRequest(Frozen):
    """Ask the client for an SSO token (OAuth card with a token exchange resource)."""

    exchange_id: str  # echoed back in the signin/tokenExchange invoke
    text: str
    mfa_required: bool = True
    # A claims challenge (step-up) the sign-in must meet, as Graph sent it; "" for none.
    claims: str = ""


Message = CardMessage | TextMessage | SignInRequest


class CardSubject(Frozen):
    """The request a card shows, and its version when the card was drawn."""

    request_id: str
    version: int


class Outcome(BaseModel):
    """The workflow's answer to one inbound turn."""

    replies: list[Message] = Field(default_factory=list)
    # Replace the card that carried the action (invoke response, or PUT of Action.Submit's card).
    card_update: dict[str, object] | None = None
    # Short text for an Action.Execute invoke that keeps the card as it is.
    toast: str | None = None
    # What `card_update` shows: the card that carried the action is then recorded against that
    # request, so that it is updated with every later change like the cards pimbot sent.
    card_subject: CardSubject | None = None


class TokenExchangeOutcome(BaseModel):
    accepted: bool  # False → 412, so that Teams shows the sign-in card
    failure_detail: str = ""
    outcome: Outcome = Field(default_factory=Outcome)


class SentMessage(Frozen):
    """Where a message landed, so that it can be updated in place later."""

    person_id: str
    conversation_id: str
    activity_id: str
