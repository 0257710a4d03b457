"""The phishing reason from the report, drawn by Microsoft's Adaptive Cards renderer in Chromium
with Markdown processed as Teams does: on the approver's card it is text, not a link."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import cards
from tests.cards.markdown import rendered_texts, to_html
from tests.cards.samples import STRICT, request
from tests.cards_render.rendering import Rendered, render

PHISHING = "INC-8 see [runbook](http://evil.example/login) **urgent**"


def _raw(text: str) -> dict[str, Any]:
    """A card that puts the text in as it was typed: what pimbot did before."""
    return {
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": [{"type": "TextBlock", "text": text, "wrap": True}],
    }


@pytest.fixture(scope="module")
def drawn(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Rendered]:
    approval = cards.approval_request(
        request(justification=PHISHING), policy=STRICT, approver_teams_ids=["29:b"]
    )
    shown = {"approval card": approval, "text as typed": _raw(PHISHING)}
    markdown = {text: to_html(text) for card in shown.values() for text in rendered_texts(card)}
    out: Path = tmp_path_factory.mktemp("user-text")
    return render(shown, out, markdown=markdown)


def test_the_reason_on_the_approval_card_is_no_link(drawn: dict[str, Rendered]) -> None:
    card = drawn["approval card"]
    assert card.events == []
    assert card.links == []
    assert "runbook" in card.text and "urgent" in card.text


def test_the_same_text_put_in_as_typed_would_be_a_link(drawn: dict[str, Rendered]) -> None:
    assert drawn["text as typed"].links == ["http://evil.example/login"]
