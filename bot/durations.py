"""ISO-8601 durations as Graph writes them (`PT8H`, `P365D`, `PT1H45M`, `P1DT2H`).

Years and months are refused: their length depends on the calendar, and PIM never uses them.
"""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> timedelta:
    """`"PT1H45M"` → `timedelta(hours=1, minutes=45)`. Raises ValueError for anything else."""
    normalized = text.strip().upper()
    match = _DURATION.fullmatch(normalized)
    if not match or not any(match.groupdict().values()) or normalized.endswith("T"):
        raise ValueError(f"not an ISO-8601 duration without years or months: {text!r}")
    parts = {name: float(value) for name, value in match.groupdict().items() if value}
    return timedelta(
        weeks=parts.get("weeks", 0),
        days=parts.get("days", 0),
        hours=parts.get("hours", 0),
        minutes=parts.get("minutes", 0),
        seconds=parts.get("seconds", 0),
    )


def format_duration(value: timedelta) -> str:
    """`timedelta(days=1, hours=2)` → `"P1DT2H"`; zero is `"PT0S"`."""
    if value < timedelta(0):
        raise ValueError(f"negative durations have no ISO-8601 form here: {value!r}")
    days = value.days
    seconds = value.seconds
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    date_part = f"{days}D" if days else ""
    time_part = ""
    if hours:
        time_part += f"{hours}H"
    if minutes:
        time_part += f"{minutes}M"
    if seconds or value.microseconds:
        whole = (
            f"{seconds}.{value.microseconds:06d}".rstrip("0")
            if value.microseconds
            else str(seconds)
        )
        time_part += f"{whole}S"
    if not date_part and not time_part:
        return "PT0S"
    return "P" + date_part + ("T" + time_part if time_part else "")
