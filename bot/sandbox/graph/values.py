"""Wire formats of values: Graph's date-times, ISO-8601 durations and object ids."""

from __future__ import annotations

import base64
import functools
import uuid
from datetime import UTC, datetime, timedelta

from pydantic import TypeAdapter, ValidationError

from bot.sandbox.graph.errors import bad_request

_DURATION = TypeAdapter(timedelta)
_ID_NAMESPACE = uuid.UUID("b5d3f0a2-7c4e-4e1b-9a6d-2f8c1e0b7a35")


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_datetime(value: datetime | None) -> str | None:
    """`2024-04-10T09:05:41.853293Z` (or without fraction when it is zero), as Graph writes."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text + "Z"


def parse_datetime(text: object, field: str) -> datetime:
    """An ISO-8601 date-time; naive values are taken as UTC."""
    if not isinstance(text, str):
        raise bad_request(f"Invalid value for '{field}': expected a date-time string.")
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise bad_request(f"Invalid value for '{field}': '{text}' is not a date-time.") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_duration(text: object, field: str) -> timedelta:
    """An ISO-8601 duration such as `PT4H` or `P90D`."""
    if not isinstance(text, str) or not text.upper().startswith("P"):
        raise bad_request(f"Invalid value for '{field}': expected an ISO-8601 duration.")
    try:
        return _DURATION.validate_python(text.upper())
    except ValidationError:
        raise bad_request(f"Invalid value for '{field}': '{text}' is not a duration.") from None


def format_duration(value: timedelta) -> str:
    """`P1DT2H30M` style; `PT0S` for zero."""
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = "P" + (f"{days}D" if days else "")
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    clock += f"{secs}S" if secs else ""
    if clock:
        text += "T" + clock
    return text if text != "P" else "PT0S"


def stable_guid(*parts: str) -> str:
    """A GUID that is the same every run for the same parts (seeded objects, policies)."""
    return str(uuid.uuid5(_ID_NAMESPACE, "/".join(parts)))


def new_guid() -> str:
    return str(uuid.uuid4())


@functools.lru_cache(maxsize=65536)  # asked for once per item of every page listed
def role_assignment_id(role_definition_id: str, principal_id: str) -> str:
    """Graph's opaque id for a tenant-wide role assignment: base64url of the role's and the
    principal's GUID bytes, with a `-1` suffix: the
    form of the ids Graph returns for `roleAssignments`."""
    raw = uuid.UUID(role_definition_id).bytes_le + uuid.UUID(principal_id).bytes_le
    return base64.urlsafe_b64encode(raw).decode().rstrip("=") + "-1"


def eligibility_instance_id(role_definition_id: str, principal_id: str) -> str:
    return role_assignment_id(role_definition_id, principal_id) + "-e"
