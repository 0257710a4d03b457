"""Every card pimbot sends renders in Chromium with Microsoft's Adaptive Cards renderer and a
Teams-like host config: no parse or validation complaints, and all its text on screen."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.cards.test_cards import EVERY_CARD
from tests.cards_render.rendering import PICTURES, Rendered, missing_texts, render, slug

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("name", EVERY_CARD)
def test_every_card_renders_without_complaints(
    name: str, rendered_cards: dict[str, Rendered]
) -> None:
    assert rendered_cards[name].events == []


@pytest.mark.parametrize("name", EVERY_CARD)
def test_every_card_shows_all_its_text(name: str, rendered_cards: dict[str, Rendered]) -> None:
    assert missing_texts(EVERY_CARD[name](), rendered_cards[name].text) == []


@pytest.mark.parametrize("name", EVERY_CARD)
def test_every_card_has_a_picture_in_docs(name: str, rendered_cards: dict[str, Rendered]) -> None:
    png = rendered_cards[name].png
    assert png.name == f"{slug(name)}.png"
    with png.open("rb") as picture:
        header = picture.read(24)
    assert header.startswith(PNG_SIGNATURE)
    width, height = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
    assert width >= 400
    assert height >= 40


# --- the checks themselves can fail -------------------------------------------------------------


def _card(*body: dict[str, Any]) -> dict[str, Any]:
    return {"type": "AdaptiveCard", "version": "1.5", "body": list(body)}


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Rendered]:
    out: Path = tmp_path_factory.mktemp("broken")
    return render(
        {
            "unknown element": _card({"type": "Blink", "text": "hi"}),
            "input without id": _card({"type": "Input.Text", "label": "Reason"}),
            "hidden text": _card(
                {"type": "TextBlock", "text": "shown", "wrap": True},
                {"type": "TextBlock", "text": "never shown", "wrap": True, "isVisible": False},
            ),
        },
        out,
    )


def test_the_renderer_reports_an_unknown_element(broken: dict[str, Rendered]) -> None:
    assert any("Blink" in event for event in broken["unknown element"].events)


def test_the_renderer_reports_an_input_without_id(broken: dict[str, Rendered]) -> None:
    assert any("Id" in event for event in broken["input without id"].events)


def test_text_that_is_not_rendered_counts_as_missing(broken: dict[str, Rendered]) -> None:
    card = _card(
        {"type": "TextBlock", "text": "shown", "wrap": True},
        {"type": "TextBlock", "text": "never shown", "wrap": True, "isVisible": False},
    )
    assert missing_texts(card, broken["hidden text"].text) == ["never shown"]


def test_the_card_gallery_shows_only_pictures_the_run_draws() -> None:
    gallery = PICTURES / "README.md"
    shown = re.findall(r"\]\(([^)]+\.png)\)", gallery.read_text("utf-8"))
    drawn = {f"{slug(name)}.png" for name in EVERY_CARD}
    assert shown
    assert set(shown) <= drawn
