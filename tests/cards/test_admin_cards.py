"""How the admin side's cards lay out what they show, as Teams draws them (docs/cards/)."""

from __future__ import annotations

from datetime import timedelta

from cards.governance.alerts import alerts_card
from cards.governance.standing import standing_list
from cards.text import as_typed
from tests.cards.admin_samples import ALERTS, STANDING
from tests.cards.samples import elements


def test_each_alerts_button_sits_under_its_alert_not_in_one_cut_short_row() -> None:
    card = alerts_card(ALERTS)
    assert not card.get("actions")  # five titles side by side are cut short ("Too m…")
    body = card["body"]
    for index, block in enumerate(body):
        if block["type"] != "ActionSet":
            continue
        [button] = block["actions"]
        title = button["title"].rsplit(" (", 1)[0]
        headings = [b["text"] for b in body[:index] if b.get("weight") == "Bolder"]
        assert title in headings[-1]  # the nearest alert above is the button's own
    assert len(elements(card, "ActionSet")) == len(ALERTS.active)


def test_standing_rows_are_bold_by_weight_without_markdown_of_their_own() -> None:
    card = standing_list(STANDING, page=0, window=timedelta(days=180))
    texts = [block["text"] for block in elements(card, "TextBlock")]
    assert not any("**" in text for text in texts)
    grady = next(b for b in elements(card, "TextBlock") if as_typed(b["text"]).startswith("Grady"))
    assert as_typed(grady["text"]) == "Grady Archie (grady@contoso.example)"
    assert grady["weight"] == "Bolder"
