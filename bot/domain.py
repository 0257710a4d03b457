"""pimbot's own vocabulary: the types the workflow, the store, the cards and the Graph layer share.

Nothing here knows about Bot Framework activities or Graph wire shapes; `bot/channel/` and
`bot/graph/` translate to and from these types at the edges. That includes what PIM reports
(request statuses, approvals, activations) and the errors Graph answers with: `bot/graph/` maps
Graph's status strings and error codes onto them, and the workflow acts on them alone.
"""

from __future__ import annotations

import json
import re
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


# --- PIM's side of a request, as the Graph layer reports it -----------------------------------


class ActivationResult(Frozen):
    """What Graph answered to an activation or extension pimbot made (the bot engine)."""

    graph_request_id: str
    status: str  # Graph's request status as it wrote it ("Provisioned", "Granted"), for the log
    start: datetime | None
    end: datetime | None


class PimRequestStatus(StrEnum):
    """Where PIM has a schedule request, in pimbot's terms."""

    AWAITING_APPROVAL = "awaiting_approval"  # PendingApproval
    AWAITING_ADMIN = "awaiting_admin"  # PendingAdminDecision
    GRANTED = "granted"  # granted, its schedule being provisioned (may start later)
    PROVISIONED = "provisioned"  # the role is active
    DENIED = "denied"
    CANCELED = "canceled"
    FAILED = "failed"  # failed, revoked, or a status pimbot does not know: nothing granted

    @property
    def is_pending(self) -> bool:
        return self in (PimRequestStatus.AWAITING_APPROVAL, PimRequestStatus.AWAITING_ADMIN)


class PimRequest(Frozen):
    """A PIM schedule request as pimbot follows it."""

    id: str
    status: PimRequestStatus
    graph_status: str  # as Graph wrote it, for the audit log and the people told of a failure
    approval_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None


class ApprovalStepStatus(StrEnum):
    NOT_STARTED = "not_started"  # a later stage, not yet reached
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    EXPIRED = "expired"  # nobody decided in time
    UNKNOWN = "unknown"  # a status pimbot does not know


class ReviewResult(StrEnum):
    NOT_REVIEWED = "not_reviewed"
    APPROVED = "approved"
    DENIED = "denied"


class ApprovalStep(Frozen):
    """One stage of a PIM approval."""

    id: str
    status: ApprovalStepStatus
    review_result: ReviewResult = ReviewResult.NOT_REVIEWED
    assigned_to_me: bool = False
    justification: str = ""
    reviewed_by: str = ""  # display name of whoever decided


class Approval(Frozen):
    """A PIM approval (its stages), as the person or app reading it may see it."""

    id: str
    steps: tuple[ApprovalStep, ...] = ()

    @property
    def timed_out(self) -> bool:
        return any(s.status is ApprovalStepStatus.EXPIRED for s in self.steps)

    @property
    def decided(self) -> ApprovalStep | None:
        """The step that settled the outcome (the last one reviewed)."""
        reviewed = [s for s in self.steps if s.review_result is not ReviewResult.NOT_REVIEWED]
        return reviewed[-1] if reviewed else None


class Activation(Frozen):
    """An activated (not permanently assigned) role as PIM lists it."""

    principal_id: str
    role_id: str
    start: datetime | None
    end: datetime | None


class AwaitingDecision(Frozen):
    """A request PIM holds for an approver's decision."""

    graph_request_id: str
    requester_name: str = ""
    role_name: str = ""


# --- what can go wrong with Graph, as the workflow acts on it ---------------------------------

# The one delegated permission the pim engine asks for on a person's behalf: self activation and
# deactivation, cancel, filterByCurrentUser and approval decisions all take it.
PIM_DELEGATED_SCOPE = "RoleAssignmentSchedule.ReadWrite.Directory"


class GraphError(Exception):
    """Graph answered with an error status (after any retries)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.retry_after = retry_after


class PolicyValidationFailed(GraphError):
    """`RoleAssignmentRequestPolicyValidationFailed`: the request broke PIM policy rules."""

    @property
    def rules(self) -> list[str]:
        """Rule names from `The following policy rules failed: ["MfaRule"]`."""
        match = re.search(r"\[.*?\]", self.message)
        if not match:
            return []
        try:
            parsed = json.loads(match.group(0))
        except ValueError:
            return []
        return [str(rule) for rule in parsed] if isinstance(parsed, list) else []


class AcrsValidationFailed(GraphError):
    """`RoleAssignmentRequestAcrsValidationFailed`: an authentication context is needed."""

    @property
    def claims(self) -> str | None:
        match = re.search(r"claims=(\{.*\})", self.message)
        return match.group(1) if match else None


class RoleAssignmentExists(GraphError):
    """The role is already active (or the assignment already exists)."""


class RoleAssignmentDoesNotExist(GraphError):
    """Nothing to deactivate, extend or remove."""


class ActiveDurationTooShort(GraphError):
    """Deactivation within five minutes of activation."""


class PendingRoleAssignmentRequest(GraphError):
    """A pending request already exists for this principal, role and scope."""


class Throttled(GraphError):
    """429 that outlasted the retry budget."""


class GraphUnavailable(GraphError):
    """5xx, timeouts or connection failures that outlasted the retry budget."""


class AuthenticationFailed(GraphError):
    """No token could be obtained for Graph (bad client secret, unreachable authority...)."""


class DelegatedTokenError(Exception):
    """No delegated token could be had for the person; `words` tell them what to do."""

    words = "I couldn't act on your behalf. Please sign in again."


class SignInRequired(DelegatedTokenError):
    """No usable token: the person must sign in (again), meeting `claims` when given."""

    words = "Please sign in so that I can act on your behalf."

    def __init__(self, detail: str, claims: str | None = None) -> None:
        super().__init__(detail)
        self.claims = claims


class ConsentRequired(DelegatedTokenError):
    words = (
        "pimbot may not act on your behalf yet: an administrator has to grant it consent for "
        f"the delegated Graph permission {PIM_DELEGATED_SCOPE}. Please tell your PIM admin."
    )
