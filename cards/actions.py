"""Typed payloads of the buttons on pimbot's cards.

Teams sends one merged dict per press: `action.data` of an Action.Execute (or `value` of an
Action.Submit) with the card's input values merged in. Every button's data repeats its `verb`, so
the same dict arrives either way and `parse_action` reads both.

A payload is only *what the person asked*. It comes from a client and may be forged or stale: the
workflow re-validates everything (who may act, the request's current state, the role's policy)
against stored state before acting on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

from bot.timefmt import parse_iso_duration


class Verb(StrEnum):
    SUBMIT_REQUEST = "request.submit"
    APPROVE = "request.approve"
    DENY = "request.deny"
    CANCEL_REQUEST = "request.cancel"
    RETRY_REQUEST = "request.retry"
    PICK_ROLE = "role.pick"
    EXTEND_ROLE = "role.extend"
    DEACTIVATE_ROLE = "role.deactivate"
    REFRESH = "card.refresh"


MAX_JUSTIFICATION_LENGTH = 500
MAX_REASON_LENGTH = 500
MAX_TICKET_LENGTH = 100

# Entra object ids and role template ids are GUIDs; our request and form ids are URL-safe tokens.
Id = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
]
IsoDuration = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"(?i)^P[0-9DTHMS]{1,30}$"),
]
OptionalIsoDuration = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"(?i)^(P[0-9DTHMS]{1,30})?$")
]
Justification = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=MAX_JUSTIFICATION_LENGTH)
]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_REASON_LENGTH)]
TicketText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_TICKET_LENGTH)]


class _Action(BaseModel):
    # Teams adds keys of its own (and every input on the card): ignore what we do not read.
    model_config = ConfigDict(frozen=True, extra="ignore", strict=True)


class SubmitRequest(_Action):
    """The activation (or extension) form was sent."""

    verb: Literal[Verb.SUBMIT_REQUEST] = Verb.SUBMIT_REQUEST
    form_id: Id
    role_id: Id
    kind: Literal["activate", "extend"]
    duration: IsoDuration  # from the duration ChoiceSet
    justification: Justification = ""
    ticket_number: TicketText = ""
    ticket_system: TicketText = ""

    @property
    def requested_duration(self) -> timedelta | None:
        """None when the text is not a usable duration; the workflow then asks again."""
        return parse_iso_duration(self.duration)


class Approve(_Action):
    verb: Literal[Verb.APPROVE] = Verb.APPROVE
    request_id: Id
    reason: Reason = ""


class Deny(_Action):
    verb: Literal[Verb.DENY] = Verb.DENY
    request_id: Id
    reason: Reason = ""


class CancelRequest(_Action):
    verb: Literal[Verb.CANCEL_REQUEST] = Verb.CANCEL_REQUEST
    request_id: Id


class RetryRequest(_Action):
    verb: Literal[Verb.RETRY_REQUEST] = Verb.RETRY_REQUEST
    request_id: Id


class PickRole(_Action):
    """A role chosen from a list; carries what the person had typed so the form is pre-filled."""

    verb: Literal[Verb.PICK_ROLE] = Verb.PICK_ROLE
    role_id: Id
    duration: OptionalIsoDuration = ""
    justification: Justification = ""
    ticket: TicketText = ""

    @property
    def requested_duration(self) -> timedelta | None:
        return parse_iso_duration(self.duration) if self.duration else None


class ExtendRole(_Action):
    verb: Literal[Verb.EXTEND_ROLE] = Verb.EXTEND_ROLE
    role_id: Id
    # The request whose card carried the button; a stale card is answered with its current
    # state. Buttons under `my roles` carry none.
    request_id: Id | None = None


class DeactivateRole(_Action):
    verb: Literal[Verb.DEACTIVATE_ROLE] = Verb.DEACTIVATE_ROLE
    role_id: Id
    # The request whose card carried the button; a stale card is answered with its current
    # state. Buttons under `my roles` carry none.
    request_id: Id | None = None


class Refresh(_Action):
    """Teams asks for the up-to-date card (refresh, `trigger: automatic`)."""

    verb: Literal[Verb.REFRESH] = Verb.REFRESH
    request_id: Id


CardAction = Annotated[
    SubmitRequest
    | Approve
    | Deny
    | CancelRequest
    | RetryRequest
    | PickRole
    | ExtendRole
    | DeactivateRole
    | Refresh,
    Field(discriminator="verb"),
]

_ADAPTER: TypeAdapter[CardAction] = TypeAdapter(CardAction)

_FIELD_NAMES = {
    "justification": "justification",
    "reason": "reason",
    "ticket_number": "ticket number",
    "ticket_system": "ticket system",
    "ticket": "ticket",
    "duration": "duration",
}


class InvalidAction(ValueError):
    """A button press pimbot cannot read. `friendly_message` can be shown to the person as is."""

    def __init__(self, friendly_message: str) -> None:
        super().__init__(friendly_message)
        self.friendly_message = friendly_message

    @property
    def message(self) -> str:
        return self.friendly_message


def parse_action(data: Mapping[str, Any]) -> CardAction:
    """The typed action in Teams' merged action dict; `InvalidAction` for anything else."""
    if not isinstance(data, Mapping):
        raise InvalidAction("That button sent nothing I can read. Please try again.")
    try:
        return _ADAPTER.validate_python(dict(data))
    except ValidationError as error:
        raise InvalidAction(_friendly(error)) from None


def _friendly(error: ValidationError) -> str:
    """One sentence about the first problem, without echoing what was sent."""
    first = error.errors(include_input=False, include_url=False)[0]
    kind = first["type"]
    field = str(first["loc"][-1]) if first["loc"] else ""
    if kind in {"union_tag_invalid", "union_tag_not_found"}:
        return "That button is not one I know (the card may be out of date). Type `help`."
    if kind == "string_too_long":
        limit = first.get("ctx", {}).get("max_length")
        return f"The {_FIELD_NAMES.get(field, field)} is too long (at most {limit} characters)."
    if field == "duration" and kind == "string_pattern_mismatch":
        return "Please pick a duration from the list."
    return "That card is out of date or incomplete. Please start again, or type `help`."
