"""The admin part of the help card: the admin commands, or how to turn them on."""

from __future__ import annotations

from collections.abc import Sequence

from cards.common import Card, paragraph


def with_admin_help(help_card: Card, *, commands: Sequence[str], enabled: bool) -> Card:
    """`help_card` with a line about the admin commands at the end of its body."""
    if enabled:
        names = ", ".join(f"`{name}`" for name in commands) or "none yet"
        line = f"For pimbot's admins: {names}."
    else:
        line = (
            "Admin commands are off: set PIMBOT_ADMIN_GROUP_ID to the object id of the Entra "
            "group of pimbot's admins to turn them on."
        )
    body = [*help_card.get("body", []), paragraph(line, subtle=True)]
    return {**help_card, "body": body}
