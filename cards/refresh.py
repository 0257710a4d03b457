"""Keeping a card current: Teams' `refresh` asks pimbot for the card as it is now whenever someone
looks at it (an Action.Execute with `trigger: automatic`), on top of the in-place updates pimbot
sends when a request changes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cards.actions import Verb
from cards.common import MAX_REFRESH_USERS, Card


def refresh_block(request_id: str, user_ids: Sequence[str] = ()) -> dict[str, Any]:
    """`refresh` for a card about `request_id`. Teams refreshes automatically for the listed
    Teams ids (at most 60); without any, for everyone in a chat of up to 60 members (a 1:1 chat
    with pimbot always is), which is what a person pimbot has not heard from yet needs. An empty
    list would mean "manual refresh only", so it is never sent."""
    block: dict[str, Any] = {
        "action": {
            "type": "Action.Execute",
            "verb": str(Verb.REFRESH),
            "data": {"verb": str(Verb.REFRESH), "request_id": request_id},
        }
    }
    ids = [user_id for user_id in dict.fromkeys(user_ids) if user_id][:MAX_REFRESH_USERS]
    if ids:
        block["userIds"] = ids
    return block


def with_refresh(card: Card, request_id: str, user_ids: Sequence[str] = ()) -> Card:
    """A copy of `card` that Teams refreshes from pimbot (see `refresh_block`)."""
    return {**card, "refresh": refresh_block(request_id, user_ids)}
