"""Building blocks every pimbot card is made of: the card envelope, text, facts, inputs, buttons.

Cards are plain dicts (Adaptive Card 1.5, what Teams renders). Each builder returns a fresh dict,
so callers may change what they get without touching anyone else's card.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from bot.domain import ActivationRequest, Person, Role
from bot.timefmt import client_when, format_duration, format_when
from cards.actions import Verb
from cards.text import plain

Card = dict[str, Any]
Element = dict[str, Any]
Action = dict[str, Any]

SCHEMA_URL = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.5"
MAX_REFRESH_USERS = 60  # Teams refreshes user-specific views for at most 60 users
MAX_LISTED = 15  # rows in a list card; keeps it readable and far below Teams' 28 KB

ButtonStyle = Literal["default", "positive", "destructive"]
TextColor = Literal["default", "good", "warning", "attention", "accent"]


def card(
    body: Sequence[Element],
    actions: Sequence[Action] = (),
    *,
    fallback_text: str = "",
    refresh: Mapping[str, Any] | None = None,
) -> Card:
    """The Adaptive Card envelope. `fallback_text` is what clients that cannot render cards show."""
    result: Card = {
        "type": "AdaptiveCard",
        "$schema": SCHEMA_URL,
        "version": CARD_VERSION,
        "body": list(body),
    }
    if actions:
        result["actions"] = list(actions)
    if fallback_text:
        result["fallbackText"] = fallback_text
    if refresh is not None:
        result["refresh"] = dict(refresh)
    return result


def heading(text: str, *, color: TextColor = "default") -> Element:
    return {
        "type": "TextBlock",
        "text": text,
        "size": "Medium",
        "weight": "Bolder",
        "wrap": True,
        "style": "heading",
        "color": color,
    }


def paragraph(
    text: str, *, subtle: bool = False, color: TextColor = "default", bold: bool = False
) -> Element:
    block: Element = {"type": "TextBlock", "text": text, "wrap": True}
    if subtle:
        block["isSubtle"] = True
    if color != "default":
        block["color"] = color
    if bold:
        block["weight"] = "Bolder"
    return block


def facts(pairs: Iterable[tuple[str, str]]) -> Element:
    """A FactSet of the pairs whose value is not empty."""
    return {
        "type": "FactSet",
        "facts": [{"title": title, "value": value} for title, value in pairs if value],
    }


def execute(
    title: str,
    verb: Verb | str,
    data: Mapping[str, str] | None = None,
    *,
    style: ButtonStyle = "default",
    send_inputs: bool = False,
) -> Action:
    """A button. Action.Execute with the verb repeated in `data`, falling back to an Action.Submit
    carrying the same data for clients without Universal Actions, so both arrive as the same dict.
    Inputs are sent only by buttons that need them (`send_inputs`)."""
    payload = {**(data or {}), "verb": str(verb)}
    associated = "auto" if send_inputs else "none"
    button: Action = {
        "type": "Action.Execute",
        "title": title,
        "verb": str(verb),
        "data": payload,
        "associatedInputs": associated,
        "fallback": {
            "type": "Action.Submit",
            "title": title,
            "data": dict(payload),
            "associatedInputs": associated,
        },
    }
    if style != "default":
        button["style"] = style
        button["fallback"]["style"] = style
    return button


def button_row(*buttons: Action) -> Element:
    """Buttons inside the body, under the item they belong to."""
    return {"type": "ActionSet", "actions": list(buttons)}


def text_input(
    input_id: str,
    label: str,
    *,
    value: str = "",
    placeholder: str = "",
    required: bool = False,
    error_message: str = "",
    max_length: int | None = None,
    multiline: bool = False,
) -> Element:
    element: Element = {"type": "Input.Text", "id": input_id, "label": label}
    if value:
        element["value"] = value
    if placeholder:
        element["placeholder"] = placeholder
    if required:
        element["isRequired"] = True
        element["errorMessage"] = error_message or f"Please fill in: {label}"
    if max_length is not None:
        element["maxLength"] = max_length
    if multiline:
        element["isMultiline"] = True
    return element


def choice_input(
    input_id: str, label: str, choices: Sequence[tuple[str, str]], *, value: str
) -> Element:
    """A compact drop-down of (title, value) pairs with `value` pre-selected."""
    return {
        "type": "Input.ChoiceSet",
        "id": input_id,
        "label": label,
        "style": "compact",
        "isRequired": True,
        "errorMessage": f"Please choose: {label}",
        "value": value,
        "choices": [{"title": title, "value": choice} for title, choice in choices],
    }


def shorten(text: str, limit: int) -> str:
    """`text` cut to `limit` characters with an ellipsis, for list rows."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def person_name(person: Person | None) -> str:
    """The person's name, safe to show (see `cards.text`)."""
    if person is None:
        return ""
    return plain(person.display_name or person.upn or "someone")


def role_name(role: Role) -> str:
    """The role's display name (from Graph, so editable by tenant admins), safe to show."""
    return plain(role.display_name)


def when(dt: datetime | None, tz: str | None) -> str:
    """`dt` in the viewer's zone `tz`; when pimbot does not know it (`None`: a person who never
    wrote to pimbot, or a copy many people read), the Teams client renders it in the zone of
    whoever looks at the card."""
    if dt is None:
        return ""
    return format_when(dt, tz) if tz else client_when(dt)


def decided_by(request: ActivationRequest, tz: str | None) -> str:
    """`Alice Admin, 14:05 (UTC)`: who decided and when, as far as known."""
    parts = [person_name(request.decided_by), when(request.decided_at, tz)]
    return ", ".join(part for part in parts if part)


def ticket_text(request: ActivationRequest) -> str:
    if request.ticket is None:
        return ""
    if request.ticket.system:
        return f"{plain(request.ticket.number)} ({plain(request.ticket.system)})"
    return plain(request.ticket.number)


def request_facts(request: ActivationRequest, *, tz: str | None) -> Element:
    """Who asked for which role, for how long and why: the core of every card about a request."""
    return facts(
        [
            ("Requested by", person_name(request.requester)),
            ("Role", role_name(request.role)),
            ("Duration", format_duration(request.duration)),
            ("Reason", plain(request.justification)),
            ("Ticket", ticket_text(request)),
            ("Requested", when(request.created_at, tz)),
        ]
    )


def overflow_note(shown: int, total: int, hint: str = "") -> list[Element]:
    """ "…and 7 more" under a list cut at `shown` rows."""
    if total <= shown:
        return []
    return [paragraph(f"…and {total - shown} more. {hint}".strip(), subtle=True)]
