"""Typed payloads of the admin side's buttons.

Like `cards.actions`, a payload is only what the person asked: the admin gate and the journey
re-check everything (who may act, the change's stored state, Graph as it is now) before acting.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

from cards.actions import Id, InvalidAction, OptionalIsoDuration, Reason


class AdminVerb(StrEnum):
    APPROVE_CHANGE = "admin.approve"
    DENY_CHANGE = "admin.deny"
    REFRESH_CHANGE = "admin.refresh"  # Teams asks for the card as it is now
    STANDING_PAGE = "standing.page"
    STANDING_CONVERT = "standing.convert"


class _Action(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", strict=True)


class ApproveChange(_Action):
    """A second admin approves a change another admin asked for."""

    verb: Literal[AdminVerb.APPROVE_CHANGE] = AdminVerb.APPROVE_CHANGE
    change_id: Id
    reason: Reason = ""


class DenyChange(_Action):
    verb: Literal[AdminVerb.DENY_CHANGE] = AdminVerb.DENY_CHANGE
    change_id: Id
    reason: Reason = ""


class RefreshChange(_Action):
    """Teams asks for a four-eyes card as it is now (`refresh`, `trigger: automatic`)."""

    verb: Literal[AdminVerb.REFRESH_CHANGE] = AdminVerb.REFRESH_CHANGE
    change_id: Id


class StandingPage(_Action):
    """Another page of the `standing` list."""

    verb: Literal[AdminVerb.STANDING_PAGE] = AdminVerb.STANDING_PAGE
    page: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,5}$")] = "0"

    @property
    def number(self) -> int:
        return int(self.page)


class StandingConvert(_Action):
    """Convert one person's standing assignment of one role to an eligibility."""

    verb: Literal[AdminVerb.STANDING_CONVERT] = AdminVerb.STANDING_CONVERT
    principal_id: Id
    role_id: Id
    window: OptionalIsoDuration = ""  # from the card's window input; "" for the default


AdminAction = Annotated[
    ApproveChange | DenyChange | RefreshChange | StandingPage | StandingConvert,
    Field(discriminator="verb"),
]
_ADAPTER: TypeAdapter[AdminAction] = TypeAdapter(AdminAction)


def parse_admin_action(data: Mapping[str, Any]) -> AdminAction:
    """The typed admin action in Teams' merged action dict; `InvalidAction` for anything else
    (a forged or garbled payload), said without echoing what was sent."""
    try:
        return _ADAPTER.validate_python(dict(data))
    except ValidationError as error:
        first = error.errors(include_input=False, include_url=False)[0]
        field = str(first["loc"][-1]) if first["loc"] else ""
        if field == "window":
            raise InvalidAction(
                "Please give the eligibility window as an ISO 8601 duration, e.g. P180D."
            ) from None
        if first["type"] == "string_too_long":
            raise InvalidAction("The reason is too long (at most 500 characters).") from None
        raise InvalidAction(
            "That card is out of date or incomplete. Type `standing` for a new one."
        ) from None
