"""The access review cards with data shaped like the sandbox's demo tenant: its review of
Exchange Administrator (Megan Bowen reviews; Alex Wilber already kept), as a reviewer, an admin
typing `reviews`, the admins at the end and the person removed see them. They join every card
the card tests check and draw (`tests/cards/test_cards.py`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.domain import Person
from bot.governance.domain import (
    Decision,
    Recommendation,
    ReviewCard,
    ReviewDefinitionInfo,
    ReviewInstance,
    ReviewItem,
    ReviewProgress,
)
from cards.governance.reviews import (
    PAGE_SIZE,
    page_count,
    removed_notice_card,
    review_card,
    review_outcome,
    review_summary_card,
    reviews_list,
)
from tests.cards.admin_samples import (
    ADELE,
    ALEX,
    EXCHANGE,
    GRADY,
    ISAIAH,
    JONI,
    LEE,
    LYNNE,
    MEGAN,
    NOW,
    SECURITY,
    _person,
)

DEFINITION = "5d1f6c2e-8b0a-5e3f-9c71-2a4b6d8e0f13"
INSTANCE = "7e2a9b40-1c3d-5f6e-8a9b-0c1d2e3f4a5b"
DIEGO = _person("fede8cef-03b8-521d-b8ad-136c5f4ecdc2", "Diego Siciliani", "diego@contoso.example")
NESTOR = _person("bcea9347-7696-5c37-b4f4-2d97cc861f93", "Nestor Wilke", "nestor@contoso.example")
JOHANNA = _person(
    "2fac5fbf-71b3-58ba-b5d6-f0e8b47a1e07", "Johanna Lorenz", "johanna@contoso.example"
)
PATTI = _person("3f1b2c4d-5e6f-5a7b-8c9d-0e1f2a3b4c5d", "Patti Fernandez", "patti@contoso.example")
STARTED = NOW - timedelta(days=2)


def _instance(status: str = "InProgress") -> ReviewInstance:
    return ReviewInstance(
        definition_id=DEFINITION,
        instance_id=INSTANCE,
        display_name="Exchange Administrator access review",
        role=EXCHANGE,
        start=STARTED,
        end=STARTED + timedelta(days=14),
        status=status,
    )


def _at(days_ago: float) -> datetime:
    return NOW - timedelta(days=days_ago)


def _item(
    n: int,
    who: Person,
    recommendation: Recommendation,
    *,
    signed_in: float | None,
    activated: float | None,
    decision: Decision = Decision.NOT_REVIEWED,
    by: Person | None = None,
    reason: str = "",
) -> ReviewItem:
    decided = decision is not Decision.NOT_REVIEWED
    return ReviewItem(
        item_id=f"{INSTANCE[:-3]}{n:03d}",
        principal=who,
        recommendation=recommendation,
        decision=decision,
        reviewed_by=by.display_name if by and decided else None,
        reviewed_by_id=by.id if by and decided else None,
        reviewed_at=_at(1) if decided else None,
        justification=reason,
        last_sign_in=_at(signed_in) if signed_in is not None else None,
        last_activation=_at(activated) if activated is not None else None,
    )


KEEP, REMOVE, NO_INFO = Recommendation.APPROVE, Recommendation.DENY, Recommendation.NO_INFO
# The review's people, sorted by name as the card lists them: twelve, so two pages.
ITEMS = (
    _item(1, ADELE, KEEP, signed_in=1, activated=6),
    _item(2, ALEX, KEEP, signed_in=3, activated=20, decision=Decision.APPROVE, by=MEGAN),
    _item(3, DIEGO, REMOVE, signed_in=400, activated=None),
    _item(4, GRADY, KEEP, signed_in=6, activated=None),
    _item(5, ISAIAH, REMOVE, signed_in=82, activated=300),
    _item(6, JOHANNA, KEEP, signed_in=2, activated=2),
    _item(7, JONI, KEEP, signed_in=5, activated=45),
    _item(12, LEE, KEEP, signed_in=9, activated=None),
    _item(8, LYNNE, NO_INFO, signed_in=None, activated=None),
    _item(9, MEGAN, KEEP, signed_in=0.5, activated=1),
    _item(10, NESTOR, KEEP, signed_in=4, activated=90),
    _item(11, PATTI, REMOVE, signed_in=200, activated=None),
)
# At the end: Megan kept most, removed Diego and Patti; nobody answered for Lynne.
ENDED_ITEMS = tuple(
    i
    if i.decided or i.principal.id == LYNNE.id
    else i.model_copy(
        update={
            "decision": Decision.DENY if i.principal in (DIEGO, PATTI) else Decision.APPROVE,
            "reviewed_by": MEGAN.display_name,
            "reviewed_by_id": MEGAN.id,
            "reviewed_at": _at(1),
            "justification": "moved to sales" if i.principal == DIEGO else "",
        }
    )
    for i in ITEMS
)


def _view(items: tuple[ReviewItem, ...], page: int, instance: ReviewInstance) -> ReviewCard:
    return ReviewCard(
        instance=instance,
        items=items[page * PAGE_SIZE : (page + 1) * PAGE_SIZE],
        page=page,
        pages=page_count(len(items)),
        total=len(items),
        decided=sum(i.decided for i in items),
        reviewer=MEGAN,
        outcome="" if instance.is_open else review_outcome(items),
    )


def _progress() -> list[ReviewProgress]:
    exchange = ReviewProgress(
        definition=ReviewDefinitionInfo(
            definition_id=DEFINITION,
            display_name="Exchange Administrator access review",
            role_id=EXCHANGE.id,
            status="InProgress",
        ),
        instance=_instance(),
        total=len(ITEMS),
        kept=1,
        removed=0,
    )
    security = ReviewProgress(
        definition=ReviewDefinitionInfo(
            definition_id=INSTANCE,
            display_name="Security Administrator access review",
            role_id=SECURITY.id,
            status="NotStarted",
        ),
        instance=None,
    )
    return [exchange, security]


DIEGO_REMOVED = next(i for i in ENDED_ITEMS if i.principal == DIEGO)

REVIEW_CARDS: dict[str, Callable[[], dict[str, Any]]] = {
    "review": lambda: review_card(_view(ITEMS, 0, _instance()), tz="Europe/London"),
    "review page 2": lambda: review_card(_view(ITEMS, 1, _instance()), tz="Europe/London"),
    "review over": lambda: review_card(
        _view(ENDED_ITEMS, 0, _instance("Applied")), tz="Europe/London"
    ),
    "reviews": lambda: reviews_list(_progress(), tz="Europe/London"),
    "reviews none": lambda: reviews_list([], tz="Europe/London"),
    "review summary": lambda: review_summary_card(_instance("Applied"), ENDED_ITEMS),
    "review removed notice": lambda: removed_notice_card(_instance("Applied"), DIEGO_REMOVED),
}
