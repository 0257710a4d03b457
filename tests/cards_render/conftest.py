from __future__ import annotations

import pytest

from tests.cards.test_cards import EVERY_CARD
from tests.cards_render.rendering import PICTURES, Rendered, render, slug


@pytest.fixture(scope="session")
def rendered_cards() -> dict[str, Rendered]:
    """Every card pimbot sends, rendered once per run; the pictures land in docs/cards/, where
    pictures of cards no longer sent are removed."""
    current = {f"{slug(name)}.png" for name in EVERY_CARD}
    for stale in PICTURES.glob("*.png"):
        if stale.name not in current:
            stale.unlink()
    return render({name: build() for name, build in EVERY_CARD.items()}, PICTURES)
