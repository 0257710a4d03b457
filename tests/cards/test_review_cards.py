"""The access review cards: names from Graph are data on every card, a page of the reviewer's
card stays under Teams' 28 KB with the longest names Graph allows, a finished review shows its
outcome and no buttons, and buttons read back only as what they carry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import Person, Role
from bot.governance.domain import (
    Decision,
    Recommendation,
    ReviewCard,
    ReviewDefinitionInfo,
    ReviewInstance,
    ReviewItem,
    ReviewProgress,
)
from cards.actions import InvalidAction
from cards.governance.reviews import (
    PAGE_SIZE,
    TEAMS_CARD_LIMIT,
    ReviewDecide,
    parse_review_action,
    removed_notice_card,
    review_card,
    review_summary_card,
    reviews_list,
)
from cards.text import as_typed
from tests.cards.markdown import markup_in, rendered_texts
from tests.cards.test_user_text import HOSTILE

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
GUID = "0f3483b8-81ce-55e4-993a-e6b3ace0efa5"


def instance(name: str = "Exchange Administrator", status: str = "InProgress") -> ReviewInstance:
    return ReviewInstance(
        definition_id=GUID,
        instance_id=GUID,
        display_name=f"{name} access review",
        role=Role(id=GUID, display_name=name),
        start=NOW,
        end=NOW + timedelta(days=14),
        status=status,
    )


def item(name: str, n: int = 0, decision: Decision = Decision.NOT_REVIEWED) -> ReviewItem:
    return ReviewItem(
        item_id=f"{GUID[:-3]}{n:03d}",
        principal=Person(id=GUID, tenant_id="t", display_name=name, upn=f"{name}@contoso.example"),
        recommendation=Recommendation.APPROVE if n % 2 else Recommendation.DENY,
        decision=decision,
        reviewed_by=name if decision is not Decision.NOT_REVIEWED else None,
        reviewed_at=NOW if decision is not Decision.NOT_REVIEWED else None,
        last_sign_in=NOW - timedelta(days=3),
        last_activation=NOW - timedelta(days=40),
    )


def view(items: list[ReviewItem], **changes: object) -> ReviewCard:
    base = ReviewCard(
        instance=instance(),
        items=tuple(items),
        page=0,
        pages=3,
        total=25,
        decided=sum(i.decided for i in items),
        reviewer=Person(id=GUID, tenant_id="t", display_name="Megan Bowen"),
    )
    return base.model_copy(update=changes)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_names_from_graph_are_data_on_the_review_cards(hostile: str) -> None:
    rows = [item(hostile, 1), item(hostile, 2, Decision.DENY), item(hostile, 3, Decision.APPROVE)]
    review = view(rows, instance=instance(hostile))
    listing = reviews_list(
        [
            ReviewProgress(
                definition=ReviewDefinitionInfo(
                    definition_id=GUID, display_name=hostile, role_id=GUID, status="InProgress"
                ),
                instance=instance(hostile),
                total=3,
                kept=1,
                removed=1,
            )
        ]
    )
    removed = item(hostile, 2, Decision.DENY).model_copy(update={"justification": hostile})
    summary = review_summary_card(instance(hostile), rows)
    notice = removed_notice_card(instance(hostile), removed)
    for card in (review_card(review), listing, summary, notice):
        shown = rendered_texts(card)
        assert {text: markup_in(text) for text in shown if markup_in(text)} == {}
        first_line = hostile.split("\n")[0].replace("\u202e", "").replace("\u202c", "")[:60]
        assert any(first_line in as_typed(text) for text in shown)


def test_a_page_of_the_longest_names_stays_under_teams_card_limit() -> None:
    longest = "W" * 256  # Graph's longest displayName
    rows = [item(longest, n) for n in range(PAGE_SIZE)]
    size = len(json.dumps(review_card(view(rows))).encode())
    assert size < TEAMS_CARD_LIMIT, size


def test_a_finished_review_shows_its_outcome_and_no_buttons() -> None:
    card = review_card(
        view(
            [item("Adele", 1), item("Diego", 2, Decision.DENY)],
            instance=instance(status="Applied"),
            outcome="1 kept, 1 removed, 1 not reviewed.",
        )
    )
    text = json.dumps(card, ensure_ascii=False)
    assert "This review is over. 1 kept, 1 removed, 1 not reviewed." in text
    assert "Keep" not in [a.get("title") for a in card.get("actions", [])]
    assert '"review.decide"' not in text
    assert "Not reviewed" in text and "❌ Removed by Diego" in text


def test_buttons_read_back_as_what_they_carry_and_nothing_else() -> None:
    action = parse_review_action(
        {
            "verb": "review.decide",
            "definition": GUID,
            "instance": GUID,
            "item": GUID,
            "decision": "Deny",
            "reason": "  left  ",
            "page": "2",
        }
    )
    assert isinstance(action, ReviewDecide)
    assert (action.decision, action.reason, action.page_number) == ("Deny", "left", 2)
    for forged in (
        {"verb": "review.decide", "definition": GUID, "instance": GUID, "item": GUID},
        {
            "verb": "review.decide",
            "definition": "../x",
            "instance": GUID,
            "item": GUID,
            "decision": "Approve",
        },
        {
            "verb": "review.decide",
            "definition": GUID,
            "instance": GUID,
            "item": GUID,
            "decision": "Maybe",
        },
        {"verb": "review.page", "definition": GUID, "instance": GUID, "page": "-1"},
    ):
        with pytest.raises(InvalidAction):
            parse_review_action(forged)
