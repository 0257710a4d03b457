"""Reading a `unifiedRoleAssignmentScheduleRequest` body as Graph does: case-insensitive enum
values in, validated fields, the requested schedule resolved against the clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.sandbox.graph.errors import GraphHttpError, bad_request
from bot.sandbox.graph.schedules import ROOT_SCOPE
from bot.sandbox.graph.values import parse_datetime, parse_duration

ACTIONS = (
    "adminAssign",
    "adminUpdate",
    "adminRemove",
    "selfActivate",
    "selfDeactivate",
    "adminExtend",
    "adminRenew",
    "selfExtend",
    "selfRenew",
    "unknownFutureValue",
)
EXPIRATION_TYPES = ("notSpecified", "noExpiration", "afterDateTime", "afterDuration")


def canonical(value: object, allowed: tuple[str, ...], field: str) -> str:
    """The camelCase spelling of an enum value given in any case."""
    if isinstance(value, str):
        for candidate in allowed:
            if candidate.lower() == value.lower():
                return candidate
    raise bad_request(
        f"Invalid value '{value}' for '{field}'. Expected one of: {', '.join(allowed)}."
    )


@dataclass(frozen=True)
class RequestedTimes:
    """`scheduleInfo` as sent: the start may be absent; the end is derived when possible."""

    start: datetime | None
    expiration_type: str
    end: datetime | None
    duration: timedelta | None

    def resolved_start(self, default: datetime) -> datetime:
        """Graph starts a request whose start lies in the past when it processes it."""
        return max(self.start, default) if self.start else default

    def end_from(self, start: datetime) -> datetime | None:
        if self.expiration_type == "afterDuration" and self.duration is not None:
            return start + self.duration
        if self.expiration_type == "afterDateTime":
            return self.end
        return None


@dataclass(frozen=True)
class ParsedRequest:
    action: str
    principal_id: str
    role_id: str
    justification: str | None
    ticket_number: str | None
    ticket_system: str | None
    times: RequestedTimes | None
    is_validation_only: bool

    @property
    def has_ticket(self) -> bool:
        return bool(self.ticket_number and self.ticket_number.strip())

    @property
    def has_justification(self) -> bool:
        return bool(self.justification and self.justification.strip())


def _optional_str(body: dict[str, object], field: str) -> str | None:
    value = body.get(field)
    if value is None or isinstance(value, str):
        return value
    raise bad_request(f"Invalid value for '{field}': expected a string.")


def _required_str(body: dict[str, object], field: str) -> str:
    value = _optional_str(body, field)
    if not value:
        raise bad_request(f"The property '{field}' is required.")
    return value


def _times(raw: object) -> RequestedTimes | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise bad_request("Invalid value for 'scheduleInfo': expected an object.")
    if raw.get("recurrence"):
        raise bad_request("Recurrence is not supported for role assignment schedules.")
    start = raw.get("startDateTime")
    parsed_start = parse_datetime(start, "startDateTime") if start is not None else None
    expiration = raw.get("expiration") or {}
    if not isinstance(expiration, dict):
        raise bad_request("Invalid value for 'expiration': expected an object.")
    kind = canonical(expiration.get("type", "notSpecified"), EXPIRATION_TYPES, "expiration.type")
    end = duration = None
    if kind == "afterDuration":
        duration = parse_duration(expiration.get("duration"), "expiration.duration")
        if duration <= timedelta(0):
            raise bad_request("expiration.duration must be positive.")
    elif kind == "afterDateTime":
        end = parse_datetime(expiration.get("endDateTime"), "expiration.endDateTime")
        if parsed_start and end <= parsed_start:
            raise bad_request("expiration.endDateTime must be later than startDateTime.")
    return RequestedTimes(parsed_start, kind, end, duration)


def parse_request(body: object) -> ParsedRequest:
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    action = canonical(body.get("action"), ACTIONS, "action")
    scope = _optional_str(body, "directoryScopeId")
    app_scope = _optional_str(body, "appScopeId")
    if scope is None and app_scope is None:
        raise bad_request("Either directoryScopeId or appScopeId is required.")
    if app_scope is not None or scope != ROOT_SCOPE:
        raise bad_request("The sandbox Graph supports only the tenant-wide directory scope '/'.")
    ticket = body.get("ticketInfo") or {}
    if not isinstance(ticket, dict):
        raise bad_request("Invalid value for 'ticketInfo': expected an object.")
    validation_only = body.get("isValidationOnly", False)
    if not isinstance(validation_only, bool):
        raise bad_request("Invalid value for 'isValidationOnly': expected a boolean.")
    return ParsedRequest(
        action=action,
        principal_id=_required_str(body, "principalId"),
        role_id=_required_str(body, "roleDefinitionId"),
        justification=_optional_str(body, "justification"),
        ticket_number=_optional_str(ticket, "ticketNumber"),
        ticket_system=_optional_str(ticket, "ticketSystem"),
        times=_times(body.get("scheduleInfo")),
        is_validation_only=validation_only,
    )


def expiration_failure(
    times: RequestedTimes | None, start: datetime, *, required: bool, maximum: timedelta
) -> bool:
    """Does the requested schedule break an expiration rule (no end where one is required, or
    longer than the maximum)?"""
    end = times.end_from(start) if times else None
    if end is None:
        return required
    return end - start > maximum


def not_supported(action: str) -> GraphHttpError:
    return bad_request(f"The action '{action}' is not supported by the sandbox Graph.")
