"""What access reviews need from Graph, as protocols; `bot/graph/access_reviews.py` implements
them (wired by `bot/app.py`)."""

from __future__ import annotations

from typing import Protocol

from bot.domain import Person, Role
from bot.governance.domain import (
    Decision,
    NamedGroup,
    ReviewDefinitionInfo,
    ReviewInstance,
    ReviewItem,
    ReviewSpec,
)


class ReviewReads(Protocol):
    """Access reviews as Graph has them now (the app's AccessReview.Read.All)."""

    async def definitions(self) -> list[ReviewDefinitionInfo]: ...

    async def instances(self, definition_id: str) -> list[ReviewInstance]:
        """The definition's instances, oldest first."""
        ...

    async def instance(self, definition_id: str, instance_id: str) -> ReviewInstance | None: ...

    async def item(self, instance: ReviewInstance, item_id: str) -> ReviewItem | None: ...

    async def reviewers(self, instance: ReviewInstance) -> list[Person]:
        """Who Graph contacted to review the instance."""
        ...

    async def reviewer_of(self, instance: ReviewInstance) -> dict[str, tuple[str, ...]]:
        """Who reviews each principal's items (lower-case principal id → reviewer ids) when
        that differs per item (managers, and fallback reviewers for people without one);
        empty when every contacted reviewer reviews every item."""
        ...

    async def groups_named(self, ref: str) -> list[NamedGroup]:
        """Groups whose object id or display name is `ref`."""
        ...

    async def items(self, instance: ReviewInstance) -> list[ReviewItem]:
        """Every decision item of the instance, with Graph's recommendation, last sign-in
        (insights), the decision so far and who made it, and the last activation from PIM."""
        ...


class ReviewWrites(Protocol):
    """Writes with AccessReview.ReadWrite.All: the app's (bot engine) or, for `record`, the
    reviewer's own delegated token (pim engine)."""

    async def create(self, spec: ReviewSpec) -> ReviewDefinitionInfo: ...

    async def record(
        self,
        instance: ReviewInstance,
        item: ReviewItem,
        decision: Decision,
        justification: str,
    ) -> None:
        """Write one decision: a reviewer's PATCH of the item (delegated) or
        `batchRecordDecisions` for the item's principal (app-only)."""
        ...

    async def send_reminder(self, instance: ReviewInstance) -> None: ...

    async def stop(self, instance: ReviewInstance) -> None: ...

    async def apply(self, instance: ReviewInstance) -> None: ...


class ReviewDirectory(Protocol):
    """Roles and people by name, for the `review` command (`PimDirectory` has both)."""

    async def list_roles(self) -> list[Role]: ...

    async def get_person(self, user_id: str) -> Person | None:
        """A user by object id or user principal name; None when there is none."""
        ...
