"""Typed payloads of the `alerts` card's buttons: only what the person asked; the gate and the
journey re-read everything from Graph before answering."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from bot.governance.domain import AlertKind
from cards.actions import InvalidAction


class AlertsVerb(StrEnum):
    PAGE = "alerts.page"
    SUMMARY = "alerts.summary"
    FIX = "alerts.fix"  # asks for confirmation
    CONFIRM_FIX = "alerts.fix_confirm"
    SETTINGS = "alerts.settings"  # the card of PIM's alert configurations
    CONFIGURE = "alerts.configure"  # turn one alert on or off, or set its threshold


class AlertsPage(BaseModel):
    """One page of one alert's findings."""

    model_config = ConfigDict(frozen=True, extra="ignore", strict=True)

    verb: Literal[AlertsVerb.PAGE] = AlertsVerb.PAGE
    kind: Annotated[AlertKind, Field(strict=False)]
    page: Annotated[int, Field(ge=0, le=10_000, strict=False)] = 0


class AlertsSummary(BaseModel):
    """Back from one alert's pages to all five."""

    model_config = ConfigDict(frozen=True, extra="ignore", strict=True)

    verb: Literal[AlertsVerb.SUMMARY] = AlertsVerb.SUMMARY


class AlertsFix(BaseModel):
    """Fix one finding of one alert (`key` names it); confirmed with CONFIRM_FIX."""

    model_config = ConfigDict(frozen=True, extra="ignore", strict=True)

    verb: Literal[AlertsVerb.FIX, AlertsVerb.CONFIRM_FIX]
    kind: Annotated[AlertKind, Field(strict=False)]
    key: Annotated[str, Field(min_length=1, max_length=200)]


class AlertsSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", strict=True)

    verb: Literal[AlertsVerb.SETTINGS] = AlertsVerb.SETTINGS


class AlertsConfigure(BaseModel):
    """`enabled` "true"/"false" turns the alert on or off; else `threshold_<kind>` (the card's
    input) is the new threshold."""

    model_config = ConfigDict(frozen=True, extra="allow", strict=True)

    verb: Literal[AlertsVerb.CONFIGURE] = AlertsVerb.CONFIGURE
    kind: Annotated[AlertKind, Field(strict=False)]
    enabled: Literal["true", "false", ""] = ""

    @property
    def threshold(self) -> str:
        extra = self.model_extra or {}
        value = extra.get(f"threshold_{self.kind.value}")
        return value.strip()[:50] if isinstance(value, str) else ""


AlertsAction = Annotated[
    AlertsPage | AlertsSummary | AlertsFix | AlertsSettings | AlertsConfigure,
    Field(discriminator="verb"),
]
_ADAPTER: TypeAdapter[AlertsAction] = TypeAdapter(AlertsAction)


def parse_alerts_action(data: Mapping[str, Any]) -> AlertsAction:
    try:
        return _ADAPTER.validate_python(dict(data))
    except ValidationError:
        raise InvalidAction("That card is out of date. Type `alerts` for a new one.") from None
