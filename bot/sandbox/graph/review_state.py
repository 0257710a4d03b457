"""What the Graph twin remembers of access reviews: schedule definitions, their instances and
each instance's decision items. Saved with the rest of the twin's state (`TwinState`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class ReviewIdentity(BaseModel):
    """A `userIdentity` as access reviews report reviewers and appliers (an app has no upn)."""

    id: str
    display_name: str | None = None
    user_principal_name: str | None = None


class ReviewDecision(BaseModel):
    """One `accessReviewInstanceDecisionItem`: one principal's access to the reviewed role."""

    id: str
    principal_id: str
    reviewer_ids: list[str]
    recommendation: str  # Approve | Deny | NoInfoAvailable
    last_sign_in: datetime | None = None
    decision: str = "NotReviewed"  # Approve | Deny | NotReviewed | DontKnow
    justification: str = ""
    reviewed_by: ReviewIdentity | None = None
    reviewed_at: datetime | None = None
    applied_by: ReviewIdentity | None = None
    applied_at: datetime | None = None
    apply_result: str = "New"


class ReviewInstance(BaseModel):
    id: str
    definition_id: str
    start: datetime
    end: datetime
    status: str = "InProgress"
    reviewer_ids: list[str] = Field(default_factory=list)
    decisions: list[ReviewDecision] = Field(default_factory=list)
    reminders_sent: int = 0


class ReviewDefinition(BaseModel):
    id: str
    display_name: str
    description_for_admins: str = ""
    description_for_reviewers: str = ""
    created_by: ReviewIdentity | None = None
    created: datetime
    modified: datetime
    status: str = "InProgress"
    role_id: str
    scope: dict[str, Any]
    reviewers: list[dict[str, Any]]
    fallback_reviewers: list[dict[str, Any]] = Field(default_factory=list)
    settings: dict[str, Any]
    instances: list[ReviewInstance] = Field(default_factory=list)
    seeded_from: str | None = None  # the demo tenant's review this was made from

    def instance(self, instance_id: str) -> ReviewInstance | None:
        return next((i for i in self.instances if i.id.lower() == instance_id.lower()), None)
