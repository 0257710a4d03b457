"""Access reviews' vocabulary: what governance, its store, its Graph port and its cards share.

`cards/governance/reviews.py` imports this module (and `bot.domain`), nothing else of `bot/`.
Decisions use Graph's words: Approve (pimbot's "Keep"), Deny ("Remove"), NotReviewed, DontKnow.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from bot.domain import Frozen, Person, Role


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
