"""Help and error cards.

Placeholders are written in capitals (`activate ROLE`), never as tags (`<role>`): clients that
render card text as HTML or Markdown drop unknown tags, placeholder and all.
"""

from __future__ import annotations

from cards.common import Card, card, facts, heading, paragraph

_COMMANDS = (
    ("activate ROLE", "Turn on a role you are eligible for, e.g. `activate Exchange Admin`"),
    ("… for 2h", "For how long (up to the role's maximum)"),
    ("… because REASON", "Your reason; a ticket such as INC-1234 is picked up"),
    ("my roles", "What you have now and what you can activate"),
    ("extend ROLE", "More time for an active role"),
    ("deactivate ROLE", "Turn a role off before it ends"),
    ("pending", "Requests waiting for you, and your own"),
    ("cancel", "Withdraw a request that waits for approval"),
)


def help_card() -> Card:
    body = [
        heading("What I can do"),
        paragraph("I turn on admin roles for a limited time, with approval when a role needs it."),
        facts(_COMMANDS),
        paragraph(
            "Example: activate Exchange Admin for 2h because INC-1234 mailbox restore",
            subtle=True,
        ),
    ]
    return card(body, fallback_text="Type: activate ROLE, my roles, pending, help")


def error_card(title: str, text: str) -> Card:
    """Something went wrong; `text` says what the person can do about it."""
    return card(
        [heading(title, color="attention"), paragraph(text)], fallback_text=f"{title}. {text}"
    )
