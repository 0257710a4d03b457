"""Durations and times as people write and read them.

Parsing is forgiving (`2h`, `90 min`, `1.5 hours`, `1h30m`, `PT2H`) and never raises; formatting is
short and unambiguous (`2 h 30 min`, `14:05 (Europe/Berlin)`), because it ends up in narrow Teams
cards where a misread end time means someone loses (or keeps) admin rights at the wrong moment.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.durations import format_duration as format_graph_duration
from bot.durations import parse_duration as parse_graph_duration

# Anything longer is not a role activation; it also keeps timedelta arithmetic far from overflow.
MAX_PARSED_DURATION = timedelta(days=366)

_UNIT_SECONDS = {
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
}
_UNITS = "|".join(sorted(_UNIT_SECONDS, key=len, reverse=True))
_PART = re.compile(
    rf"(\d{{1,5}}(?:[.,]\d{{1,3}})?)\s*({_UNITS})(?![a-z])\s*(?:and\s+)?", re.IGNORECASE
)
_WORD_AMOUNTS = {"an hour": "1 h", "one hour": "1 h", "half an hour": "30 min", "a day": "1 d"}


def parse_iso_duration(text: str) -> timedelta | None:
    """`PT2H30M`, `P1D`, `PT90M` → timedelta; None for anything else, for zero, or for more than
    `MAX_PARSED_DURATION`. The grammar is the Graph layer's, so cards and Graph agree."""
    try:
        duration = parse_graph_duration(text)
    except (ValueError, OverflowError):
        return None
    return duration if timedelta(0) < duration <= MAX_PARSED_DURATION else None


def iso_duration(duration: timedelta) -> str:
    """The ISO 8601 form Graph and our card inputs use: `PT2H30M`, `PT30M`, `P1DT4H`."""
    return format_graph_duration(max(duration, timedelta(0)))


def parse_human_duration(text: str) -> timedelta | None:
    """A duration as a person types it, or None when it is not one (or is zero, or absurd).

    A bare number is refused on purpose: "2" could mean hours or minutes.
    """
    cleaned = " ".join(text.strip().lower().split())[:64]
    if not cleaned:
        return None
    if cleaned[0] == "p":
        return parse_iso_duration(cleaned)
    cleaned = _WORD_AMOUNTS.get(cleaned, cleaned)
    total = 0.0
    position = 0
    for match in _PART.finditer(cleaned):
        if match.start() != position:
            return None
        amount = float(match.group(1).replace(",", "."))
        total += amount * _UNIT_SECONDS[match.group(2).lower()]
        position = match.end()
    if position != len(cleaned) or position == 0:
        return None
    duration = timedelta(minutes=round(total / 60))
    return duration if timedelta(0) < duration <= MAX_PARSED_DURATION else None


def format_duration(duration: timedelta) -> str:
    """`2 h 30 min`, `45 min`, `1 day 2 h`; rounded to the minute, never negative."""
    minutes_total = max(round(duration.total_seconds() / 60), 0)
    days, minutes_left = divmod(minutes_total, 24 * 60)
    hours, minutes = divmod(minutes_left, 60)
    parts = []
    if days:
        parts.append(f"{days} day" if days == 1 else f"{days} days")
    if hours:
        parts.append(f"{hours} h")
    if minutes or not parts:
        parts.append(f"{minutes} min")
    return " ".join(parts)


def zone_or_utc(tz: str | None) -> ZoneInfo:
    """The IANA zone Teams sent (`activity.localTimezone`), or UTC when there is none or it is
    unknown here."""
    if tz:
        try:
            return ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    return ZoneInfo("UTC")


def format_when(dt: datetime, tz: str | None, *, now: datetime | None = None) -> str:
    """`14:05 (Europe/Berlin)` today, `Tue 12 Mar 14:05 (Europe/Berlin)` on another day (with the
    year when not this year). In the hour that occurs twice when clocks go back, the UTC offset is
    added so the time is never ambiguous. A naive `dt` is taken as UTC."""
    zone = zone_or_utc(tz)
    aware = dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)
    local = aware.astimezone(zone)
    today = (now or datetime.now(UTC)).astimezone(zone).date()
    clock = local.strftime("%H:%M")
    if local.date() == today:
        stamp = clock
    elif local.year == today.year:
        stamp = f"{local:%a} {local.day} {local:%b} {clock}"
    else:
        stamp = f"{local:%a} {local.day} {local:%b} {local.year} {clock}"
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        offset = local.strftime("%z")
        return f"{stamp} ({zone.key}, UTC{offset[:3]}:{offset[3:]})"
    return f"{stamp} ({zone.key})"


def client_when(dt: datetime) -> str:
    """A time that the Teams client shows in the zone of whoever looks at it: Adaptive Cards'
    `{{DATE()}}` and `{{TIME()}}` (upper case, no spaces, RFC 3339 in UTC), for cards whose
    viewer's zone pimbot does not know: a card pushed to someone who never wrote to pimbot, or
    a copy in a channel that many people read. A naive `dt` is taken as UTC."""
    aware = dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)
    stamp = aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{{{{DATE({stamp}, SHORT)}}}} {{{{TIME({stamp})}}}}"


_CLIENT_TIME = re.compile(
    r"\{\{DATE\((?P<date>[0-9T:\-]+Z), SHORT\)\}\} \{\{TIME\((?P<time>[0-9T:\-]+Z)\)\}\}"
)


def expand_client_times(text: str, tz: str | None, *, now: datetime | None = None) -> str:
    """`client_when` stamps in `text` as `format_when` writes them in `tz`: what a client that
    renders Adaptive Cards' date functions shows, for places that render cards as text."""

    def local(match: re.Match[str]) -> str:
        stamp = datetime.strptime(match.group("date"), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        return format_when(stamp, tz, now=now)

    return _CLIENT_TIME.sub(local, text)


_LADDER = (
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
    timedelta(hours=8),
    timedelta(hours=12),
    timedelta(hours=24),
)


def duration_choices(maximum: timedelta) -> list[timedelta]:
    """The durations a person may pick: 30 min, 1 h, 2 h, 4 h, 8 h, 12 h, 1 day, then doubling,
    below `maximum`, and `maximum` itself last."""
    if maximum <= timedelta(0):
        return []
    choices = [step for step in _LADDER if step < maximum]
    step = _LADDER[-1] * 2
    while step < maximum:
        choices.append(step)
        step *= 2
    choices.append(maximum)
    return choices
