"""Every card keeps to what Teams adds to the schema: at most 60 users refresh a user-specific
view, and every Action.Execute button falls back to an Action.Submit sending the same data."""

from __future__ import annotations

import copy
from typing import Any

import pytest

import cards
from tests.cards.samples import LAX, request
from tests.cards.test_cards import EVERY_CARD
from tests.cards_render.teams_rules import teams_rule_violations


@pytest.mark.parametrize("name", EVERY_CARD)
def test_every_card_keeps_to_the_teams_rules(name: str) -> None:
    assert teams_rule_violations(EVERY_CARD[name]()) == []


def test_cards_with_buttons_and_a_refresh_are_among_those_checked() -> None:
    built = [build() for build in EVERY_CARD.values()]
    assert any("refresh" in card for card in built)
    assert any(card.get("actions") for card in built)


def _approval_card(approvers: int = 3) -> dict[str, Any]:
    ids = [f"29:approver-{index}" for index in range(approvers)]
    return cards.approval_request(request(), policy=LAX, approver_teams_ids=ids)


def test_a_refresh_for_more_than_60_users_is_caught() -> None:
    card = copy.deepcopy(_approval_card())
    card["refresh"]["userIds"] = [f"29:user-{index}" for index in range(61)]
    assert teams_rule_violations(card) == ["refresh: 61 userIds, Teams takes 60"]


def test_a_button_without_fallback_is_caught() -> None:
    card = copy.deepcopy(_approval_card())
    del card["actions"][0]["fallback"]
    assert teams_rule_violations(card) == ["button 'Approve': no Action.Submit fallback"]


def test_a_fallback_sending_other_data_is_caught() -> None:
    card = copy.deepcopy(_approval_card())
    card["actions"][1]["fallback"]["data"] = {"verb": "other"}
    assert teams_rule_violations(card) == ["button 'Deny': the fallback's data differs"]
