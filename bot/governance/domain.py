"""The admin side's vocabulary: the types governance, its store and its cards share.

`cards/governance/` may import this module (and `bot.domain`), nothing else of `bot/`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from bot.domain import Frozen, Person, Role

# Built-in role template ids, the same in every tenant.
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
PRIVILEGED_ROLE_ADMINISTRATOR = "e8611ab8-c189-46e8-94e1-60213ab1f814"
# A change to either needs a second admin (four-eyes).
NEEDS_SECOND_ADMIN = frozenset({GLOBAL_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR})
# Best practice: at most this many permanent Global Administrators (the break-glass accounts).
MAX_PERMANENT_GLOBAL_ADMINS = 2


# --- changes an admin asked for ----------------------------------------------------------------


class ChangeState(StrEnum):
    AWAITING_SECOND = "awaiting_second"  # a second admin has to approve it first
    APPROVED = "approved"  # to be carried out (a job does it)
    IN_PROGRESS = "in_progress"  # the first step is done in Graph; the rest follows
    DONE = "done"
    DENIED = "denied"  # by the second admin
    FAILED = "failed"  # Graph refused; nothing half done

    @property
    def is_open(self) -> bool:
        return self in OPEN_CHANGE_STATES


OPEN_CHANGE_STATES = frozenset(
    {ChangeState.AWAITING_SECOND, ChangeState.APPROVED, ChangeState.IN_PROGRESS}
)

CHANGE_TRANSITIONS: dict[ChangeState, frozenset[ChangeState]] = {
    ChangeState.AWAITING_SECOND: frozenset({ChangeState.APPROVED, ChangeState.DENIED}),
    ChangeState.APPROVED: frozenset(
        {ChangeState.IN_PROGRESS, ChangeState.DONE, ChangeState.FAILED}
    ),
    ChangeState.IN_PROGRESS: frozenset({ChangeState.DONE, ChangeState.FAILED}),
    ChangeState.DONE: frozenset(),
    ChangeState.DENIED: frozenset(),
    ChangeState.FAILED: frozenset(),
}


class AdminChange(BaseModel):
    """One change an admin asked for, as stored: the single source of truth for the second
    admin's decision and for carrying it out (cards only carry its id)."""

    id: str
    tenant_id: str
    kind: str  # which journey carries it out, e.g. "standing.convert"
    target_key: str  # what it changes (at most one open change per target)
    role_id: str  # the role it touches (Global / Privileged Role Administrator: four-eyes)
    title: str  # "Convert Grady Archie's Exchange Administrator to eligible"
    facts: list[tuple[str, str]] = Field(default_factory=list)  # shown on cards, as is
    payload: dict[str, Any] = Field(default_factory=dict)  # what the journey needs to do it
    proposer: Person
    needs_second: bool
    state: ChangeState
    decided_by: Person | None = None
    decided_at: datetime | None = None
    decision_reason: str = ""
    failure: str = ""  # plain words, when failed
    created_at: datetime
    updated_at: datetime
    version: int = 1


# --- standing access ---------------------------------------------------------------------------


class StandingAssignment(Frozen):
    """An active role assignment with no end (or an end far away): standing access."""

    principal: Person
    principal_type: Literal["user", "group", "servicePrincipal", "unknown"] = "user"
    role: Role
    assignment_id: str  # the roleAssignment's id
    origin: Literal["pim", "direct"]  # made through PIM, or directly outside it
    since: datetime | None = None
    end: datetime | None = None  # None: permanent
    last_sign_in: datetime | None = None
    last_activation: datetime | None = None
    break_glass: bool = False


class StandingSnapshot(Frozen):
    """What Graph told of standing access at one moment."""

    assignments: tuple[StandingAssignment, ...]
    # Parts Graph would not tell (e.g. sign-in activity without AuditLog.Read.All), in words.
    unknown: tuple[str, ...] = ()


class EligibilityLimit(Frozen):
    """The role policy's `Expiration_Admin_Eligibility` rule."""

    maximum: timedelta | None = None  # None: no maximum
    expiration_required: bool = False


class StandingReport(Frozen):
    """Every standing assignment, riskiest role first, and what the audit table says of them."""

    assignments: tuple[StandingAssignment, ...]
    permanent_global_admins: int
    taken_at: datetime
    unknown: tuple[str, ...] = ()  # what Graph would not tell, in words

    @property
    def too_many_global_admins(self) -> bool:
        return self.permanent_global_admins > MAX_PERMANENT_GLOBAL_ADMINS


# The seed's audit table, riskiest first: what to do with standing access to each role.
ROLE_RISK: tuple[tuple[str, str], ...] = (
    (GLOBAL_ADMINISTRATOR, "convert; keep at most 2 break-glass accounts"),
    (PRIVILEGED_ROLE_ADMINISTRATOR, "convert all"),
    ("194ae4cb-b126-40b2-bd5b-6091b380977d", "convert all"),  # Security Administrator
    ("29232cdf-9323-42fd-ade2-1d097af3e4de", "convert all"),  # Exchange Administrator
    ("fe930be7-5e62-47db-91af-98c3a49a38b1", "convert all"),  # User Administrator
    ("9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", "convert all"),  # Application Administrator
)
STANDING_HORIZON = timedelta(days=365)  # an end further away than this counts as no end


def risk_rank(role_id: str) -> int:
    """Lower is riskier: the audit table's order, every other role after it."""
    for rank, (known, _) in enumerate(ROLE_RISK):
        if known == role_id:
            return rank
    return len(ROLE_RISK)


def advice_for(role_id: str) -> str:
    return next((advice for known, advice in ROLE_RISK if known == role_id), "convert")


# --- access reviews ----------------------------------------------------------------------------
# Decisions use Graph's words: Approve (pimbot's "Keep"), Deny ("Remove"), NotReviewed, DontKnow.
class Decision(StrEnum):
    APPROVE = "Approve"
    DENY = "Deny"
    NOT_REVIEWED = "NotReviewed"
    DONT_KNOW = "DontKnow"


class Recommendation(StrEnum):
    APPROVE = "Approve"
    DENY = "Deny"
    NO_INFO = "NoInfoAvailable"


def decision_of(value: str | None) -> Decision:
    try:
        return Decision(value or "NotReviewed")
    except ValueError:
        return Decision.NOT_REVIEWED


def recommendation_of(value: str | None) -> Recommendation:
    try:
        return Recommendation(value or "NoInfoAvailable")
    except ValueError:
        return Recommendation.NO_INFO


class ReviewSpec(Frozen):
    """What an admin asked for: a recurring review of one role's eligible and active
    assignments. Reviewers are named users, or one group's members."""

    role: Role
    every_days: int
    duration_days: int
    reviewer_ids: tuple[str, ...] = ()
    reviewer_group_id: str | None = None
    default_decision: Decision | None = None  # taken by what nobody answered; None: none
    auto_apply: bool = True
    recommendations: bool = True


class ReviewInstance(Frozen):
    """One run of a review: its decisions are taken between `start` and `end`."""

    definition_id: str
    instance_id: str
    display_name: str
    role: Role
    start: datetime
    end: datetime
    status: str  # Graph's: InProgress, Completed, Applied, ...

    @property
    def is_open(self) -> bool:
        return self.status == "InProgress"

    @property
    def key(self) -> str:
        return f"{self.definition_id}/{self.instance_id}"


class ReviewItem(Frozen):
    """One person's access to the reviewed role, and what has been decided about it."""

    item_id: str
    principal: Person
    recommendation: Recommendation
    decision: Decision
    reviewed_by: str | None = None  # display name, as Graph or pimbot's audit has it
    reviewed_by_id: str | None = None
    reviewed_at: datetime | None = None
    justification: str = ""
    last_sign_in: datetime | None = None
    last_activation: datetime | None = None
    reviewer_ids: tuple[str, ...] = ()  # who may decide it; empty when Graph did not say
    applied: str = "New"  # Graph's applyResult

    @property
    def decided(self) -> bool:
        return self.decision in (Decision.APPROVE, Decision.DENY)


class ReviewDefinitionInfo(Frozen):
    definition_id: str
    display_name: str
    role_id: str | None
    status: str


class ReviewProgress(Frozen):
    """A line of `reviews`: one running (or last) instance and how far it got."""

    definition: ReviewDefinitionInfo
    instance: ReviewInstance | None
    total: int = 0
    kept: int = 0
    removed: int = 0

    @property
    def undecided(self) -> int:
        return self.total - self.kept - self.removed


class ReviewCard(Frozen):
    """What one page of a reviewer's card shows."""

    instance: ReviewInstance
    items: tuple[ReviewItem, ...]  # this page's rows
    page: int
    pages: int
    total: int
    decided: int
    reviewer: Person
    outcome: str = ""  # when the review is over: what came of it


class ReviewRun(Frozen):
    """What pimbot knows and has done about one instance (stored whole, `review_runs`)."""

    tenant_id: str
    instance: ReviewInstance
    reviewers: tuple[Person, ...]  # contacted by Graph when pimbot first saw the instance
    reminded: bool = False
    escalated: bool = False
    finished: bool = False
    outcome: str = ""  # plain words, once finished: kept, removed, not reviewed
    digest: str = ""  # of the items last shown on the cards

    @property
    def key(self) -> str:
        return self.instance.key

    def is_reviewer(self, person_id: str) -> bool:
        return any(r.id.lower() == person_id.lower() for r in self.reviewers)


class RecordedDecision(Frozen):
    """A decision taken in Teams: recorded once (first tap wins), then written to Graph once."""

    instance_key: str
    item_id: str
    principal_id: str
    decision: Decision
    justification: str
    reviewer: Person
    decided_at: datetime
    written_at: datetime | None = None
