"""Rules Teams adds to the Adaptive Card schema for Universal Actions."""

from __future__ import annotations

from typing import Any

from tests.cards.samples import buttons

MAX_REFRESH_USERS = 60  # Teams refreshes a user-specific view for at most 60 listed users


def teams_rule_violations(card: dict[str, Any]) -> list[str]:
    """What Teams would not do as the card means: a refresh list over 60 users or without an
    Action.Execute, or a button without the Action.Submit fallback that clients without
    Universal Actions need to send the same data."""
    problems: list[str] = []
    refresh = card.get("refresh")
    if refresh is not None:
        if refresh.get("action", {}).get("type") != "Action.Execute":
            problems.append("refresh: the action must be an Action.Execute")
        user_ids = refresh.get("userIds", [])
        if len(user_ids) > MAX_REFRESH_USERS:
            problems.append(f"refresh: {len(user_ids)} userIds, Teams takes {MAX_REFRESH_USERS}")
        if len(set(user_ids)) != len(user_ids):
            problems.append("refresh: userIds repeat")
    for button in buttons(card):
        title = button.get("title")
        fallback = button.get("fallback")
        if not isinstance(fallback, dict) or fallback.get("type") != "Action.Submit":
            problems.append(f"button {title!r}: no Action.Submit fallback")
            continue
        for key in ("title", "data", "associatedInputs"):
            if fallback.get(key) != button.get(key):
                problems.append(f"button {title!r}: the fallback's {key} differs")
    return problems
