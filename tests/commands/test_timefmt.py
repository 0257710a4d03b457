from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.timefmt import (
    MAX_PARSED_DURATION,
    client_when,
    duration_choices,
    expand_client_times,
    format_duration,
    format_when,
    iso_duration,
    parse_human_duration,
    parse_iso_duration,
)

H = timedelta(hours=1)
M = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", 2 * H),
        ("90m", 90 * M),
        ("1.5 hours", 90 * M),
        ("1,5h", 90 * M),
        ("1h30m", 90 * M),
        ("1 h 30 min", 90 * M),
        ("2 hours", 2 * H),
        ("2 hours and 30 minutes", 150 * M),
        ("45 mins", 45 * M),
        ("1 hr", H),
        ("an hour", H),
        ("half an hour", 30 * M),
        ("1 day", 24 * H),
        ("PT2H", 2 * H),
        ("pt90m", 90 * M),
        ("PT1H30M", 90 * M),
        ("P1D", 24 * H),
        ("  2H  ", 2 * H),
    ],
)
def test_parse_human_duration_reads_what_people_type(text: str, expected: timedelta) -> None:
    assert parse_human_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2",
        "ever",
        "a while",
        "2 fortnights",
        "0h",
        "0 minutes",
        "PT",
        "P",
        "P1DT",
        "h2",
        "2h of fun",
        "100000h",
        "-2h",
        "2h30",
        "P99999999999999D",
        "P400D",
    ],
)
def test_parse_human_duration_refuses_what_is_not_a_usable_duration(text: str) -> None:
    assert parse_human_duration(text) is None


@pytest.mark.parametrize(
    ("duration", "expected"),
    [
        (timedelta(hours=2, minutes=30), "2 h 30 min"),
        (timedelta(hours=2), "2 h"),
        (timedelta(minutes=45), "45 min"),
        (timedelta(days=1, hours=2), "1 day 2 h"),
        (timedelta(days=3), "3 days"),
        (timedelta(0), "0 min"),
        (timedelta(seconds=-30), "0 min"),
        (timedelta(minutes=59, seconds=40), "1 h"),
    ],
)
def test_format_duration_is_short_and_rounded_to_minutes(
    duration: timedelta, expected: str
) -> None:
    assert format_duration(duration) == expected


@pytest.mark.parametrize(
    ("duration", "iso"),
    [
        (2 * H, "PT2H"),
        (150 * M, "PT2H30M"),
        (30 * M, "PT30M"),
        (28 * H, "P1DT4H"),
        (24 * H, "P1D"),
        (timedelta(0), "PT0S"),
    ],
)
def test_iso_duration_round_trips(duration: timedelta, iso: str) -> None:
    assert iso_duration(duration) == iso
    if duration:
        assert parse_iso_duration(iso) == duration


NOW = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)


def test_format_when_today_shows_only_the_clock_and_the_zone() -> None:
    assert format_when(datetime(2025, 3, 12, 13, 5, tzinfo=UTC), "Europe/Berlin", now=NOW) == (
        "14:05 (Europe/Berlin)"
    )


def test_format_when_another_day_shows_the_date() -> None:
    assert format_when(datetime(2025, 3, 13, 13, 5, tzinfo=UTC), "Europe/Berlin", now=NOW) == (
        "Thu 13 Mar 14:05 (Europe/Berlin)"
    )


def test_format_when_another_year_shows_the_year() -> None:
    assert format_when(datetime(2026, 1, 2, 8, 0, tzinfo=UTC), None, now=NOW) == (
        "Fri 2 Jan 2026 08:00 (UTC)"
    )


def test_format_when_today_is_the_persons_today_not_utcs() -> None:
    late_evening_utc = datetime(2025, 3, 12, 23, 30, tzinfo=UTC)
    # 23:30 UTC on the 12th is already the 13th in Tokyo.
    assert format_when(late_evening_utc, "Asia/Tokyo", now=NOW) == "Thu 13 Mar 08:30 (Asia/Tokyo)"


@pytest.mark.parametrize("zone", [None, "", "Mars/Olympus_Mons", "../../etc/passwd", "Europe"])
def test_format_when_falls_back_to_utc_without_a_known_zone(zone: str | None) -> None:
    assert format_when(datetime(2025, 3, 12, 13, 5, tzinfo=UTC), zone, now=NOW) == "13:05 (UTC)"


def test_format_when_takes_a_naive_datetime_as_utc() -> None:
    assert format_when(datetime(2025, 3, 12, 13, 5), None, now=NOW) == "13:05 (UTC)"


def test_format_when_follows_daylight_saving_time() -> None:
    before = datetime(2025, 3, 29, 12, 0, tzinfo=UTC)  # CET, UTC+1
    after = datetime(2025, 3, 31, 12, 0, tzinfo=UTC)  # CEST, UTC+2
    assert format_when(before, "Europe/Berlin", now=before) == "13:00 (Europe/Berlin)"
    assert format_when(after, "Europe/Berlin", now=after) == "14:00 (Europe/Berlin)"


def test_format_when_names_the_offset_in_the_hour_that_happens_twice() -> None:
    day = datetime(2025, 10, 26, tzinfo=UTC)
    first = format_when(datetime(2025, 10, 26, 0, 30, tzinfo=UTC), "Europe/Berlin", now=day)
    second = format_when(datetime(2025, 10, 26, 1, 30, tzinfo=UTC), "Europe/Berlin", now=day)
    assert first == "02:30 (Europe/Berlin, UTC+02:00)"
    assert second == "02:30 (Europe/Berlin, UTC+01:00)"


@pytest.mark.parametrize(
    ("maximum", "expected"),
    [
        (8 * H, [30 * M, H, 2 * H, 4 * H, 8 * H]),
        (3 * H, [30 * M, H, 2 * H, 3 * H]),
        (H, [30 * M, H]),
        (15 * M, [15 * M]),
        (24 * H, [30 * M, H, 2 * H, 4 * H, 8 * H, 12 * H, 24 * H]),
        (72 * H, [30 * M, H, 2 * H, 4 * H, 8 * H, 12 * H, 24 * H, 48 * H, 72 * H]),
        (timedelta(0), []),
    ],
)
def test_duration_choices_climb_to_the_policy_maximum_itself(
    maximum: timedelta, expected: list[timedelta]
) -> None:
    assert duration_choices(maximum) == expected


@given(st.text(max_size=60))
def test_parse_human_duration_never_raises_and_never_returns_nonsense(text: str) -> None:
    duration = parse_human_duration(text)
    assert duration is None or timedelta(0) < duration <= MAX_PARSED_DURATION


@given(st.text(max_size=40))
def test_format_when_never_raises_whatever_zone_the_client_sends(zone: str) -> None:
    assert format_when(NOW, zone, now=NOW).endswith(")")


def test_client_when_leaves_the_zone_to_the_teams_client() -> None:
    # Adaptive Cards' date functions: upper case, no spaces inside the braces, RFC 3339 in UTC.
    berlin = datetime(2025, 3, 12, 11, 5, tzinfo=UTC).astimezone(ZoneInfo("Europe/Berlin"))
    assert client_when(berlin) == (
        "{{DATE(2025-03-12T11:05:00Z, SHORT)}} {{TIME(2025-03-12T11:05:00Z)}}"
    )


def test_client_times_read_as_the_viewers_own_zone_where_cards_are_shown_as_text() -> None:
    at = datetime(2025, 3, 12, 10, 5, tzinfo=UTC)
    text = f"Until {client_when(at)}."
    assert expand_client_times(text, "Europe/Berlin", now=at) == "Until 11:05 (Europe/Berlin)."
    assert expand_client_times(text, None, now=at) == "Until 10:05 (UTC)."
