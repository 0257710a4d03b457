from __future__ import annotations

from pathlib import Path

import pytest

from tests.cards.test_cards import EVERY_CARD
from tests.cards_render.rendering import Rendered, render

PICTURES = Path(__file__).resolve().parents[2] / "docs" / "cards"


@pytest.fixture(scope="session")
def rendered_cards() -> dict[str, Rendered]:
    """Every card pimbot sends, rendered once per run; the pictures land in docs/cards/."""
    return render({name: build() for name, build in EVERY_CARD.items()}, PICTURES)
