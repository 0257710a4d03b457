from datetime import timedelta

import pytest

from bot.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT8H", timedelta(hours=8)),
        ("PT1H45M", timedelta(hours=1, minutes=45)),
        ("P365D", timedelta(days=365)),
        ("P1DT2H", timedelta(days=1, hours=2)),
        ("PT30S", timedelta(seconds=30)),
        ("PT0.5S", timedelta(milliseconds=500)),
        ("P2W", timedelta(weeks=2)),
        ("pt5h", timedelta(hours=5)),
    ],
)
def test_parse_duration_reads_graph_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "P", "PT", "P1DT", "P1Y", "P1M", "PT-1H", "8 hours", "1H"])
def test_parse_duration_refuses_what_is_not_a_fixed_length_duration(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (timedelta(hours=1, minutes=45), "PT1H45M"),
        (timedelta(days=1, hours=2), "P1DT2H"),
        (timedelta(days=90), "P90D"),
        (timedelta(hours=8), "PT8H"),
        (timedelta(seconds=90), "PT1M30S"),
        (timedelta(milliseconds=1500), "PT1.5S"),
        (timedelta(0), "PT0S"),
    ],
)
def test_format_duration_writes_the_shortest_iso_form(value: timedelta, expected: str) -> None:
    assert format_duration(value) == expected


def test_format_duration_refuses_negative_durations() -> None:
    with pytest.raises(ValueError):
        format_duration(timedelta(minutes=-1))


@pytest.mark.parametrize(
    "value",
    [timedelta(minutes=5), timedelta(days=3, seconds=7), timedelta(hours=25), timedelta(0)],
)
def test_format_and_parse_round_trip(value: timedelta) -> None:
    assert parse_duration(format_duration(value)) == value
