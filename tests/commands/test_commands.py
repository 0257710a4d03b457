from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.commands import (
    Activate,
    Cancel,
    Command,
    Deactivate,
    Extend,
    Greeting,
    Help,
    MyRoles,
    NotAvailable,
    Pending,
    Unknown,
    find_ticket,
    normalize_text,
    parse_command,
)

H = timedelta(hours=1)
M = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("activate Exchange Admin", Activate("Exchange Admin")),
        ("<at>pimbot</at> activate Exchange Admin", Activate("Exchange Admin")),
        ("<at>pim bot</at>&nbsp;activate   Exchange&nbsp;Admin ", Activate("Exchange Admin")),
        ("<p>activate Exchange &amp; Mail Admin</p>", Activate("Exchange & Mail Admin")),
        ("ACTIVATE exchange administrator", Activate("exchange administrator")),
        ("activate exchange administrator for 2h", Activate("exchange administrator", 2 * H)),
        (
            "activate Exchange Admin for 2h because INC-1234 mailbox restore",
            Activate("Exchange Admin", 2 * H, "INC-1234 mailbox restore", "INC-1234"),
        ),
        ("activate ga for 90m", Activate("ga", 90 * M)),
        ("activate ga for 1.5 hours", Activate("ga", 90 * M)),
        ("activate ga for 1h30m", Activate("ga", 90 * M)),
        ("activate ga for 2 hours", Activate("ga", 2 * H)),
        ("activate ga for PT2H", Activate("ga", 2 * H)),
        ("activate ga PT2H", Activate("ga", 2 * H)),
        ("activate ga 2 hours", Activate("ga", 2 * H)),
        ("activate ga for 2h to fix mail flow", Activate("ga", 2 * H, "fix mail flow")),
        ("activate ga reason: audit prep", Activate("ga", None, "audit prep")),
        ("activate ga for 1h - SR-77 outage", Activate("ga", H, "SR-77 outage", "SR-77")),
        (
            "activate ga because CHG0012345 patching",
            Activate("ga", None, "CHG0012345 patching", "CHG0012345"),
        ),
        ("activate ga because #4711", Activate("ga", None, "#4711", "#4711")),
        (
            "activate ga because ticket ABC-1 cleanup",
            Activate("ga", None, "ticket ABC-1 cleanup", "ABC-1"),
        ),
        ("activate ga because mail restore for 2h", Activate("ga", 2 * H, "mail restore")),
        ("activate ga INC-1234 for 2h", Activate("ga", 2 * H, None, "INC-1234")),
        (
            "activate ga for the mailbox restore",
            Activate("ga", None, "the mailbox restore"),
        ),
        ("activate", Activate("")),
        ("elevate ga", Activate("ga")),
        ("request ga", Activate("ga")),
        ("pim ga", Activate("ga")),
        ("pim activate ga", Activate("ga")),
        ("pim drop ga", Deactivate("ga")),
        ("deactivate ga", Deactivate("ga")),
        ("drop ga", Deactivate("ga")),
        ("End Exchange Admin", Deactivate("Exchange Admin")),
        ("deactivate", Deactivate("")),
        ("extend ga", Extend("ga")),
        ("extend ga by 1h", Extend("ga", H)),
        ("extend ga for 30 min because still migrating", Extend("ga", 30 * M, "still migrating")),
        ("roles", MyRoles()),
        ("my roles", MyRoles()),
        ("My  Roles", MyRoles()),
        ("list", MyRoles()),
        ("approvals", Pending()),
        ("pending", Pending()),
        ("my requests", Pending()),
        ("cancel", Cancel()),
        ("cancel 7f3a", Cancel("7f3a")),
        ("?", Help()),
        ("help", Help()),
        ("HELP me", Help()),
        ("", Help()),
        ("<at>pimbot</at>", Help()),
    ],
)
def test_parse_command_reads_every_documented_form(text: str, expected: Command) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "duration_text"),
    [
        ("activate ga for ever", "ever"),
        ("activate ga for a while", "a while"),
        ("activate ga for 2 fortnights", "2 fortnights"),
        ("activate ga for 5x", "5x"),
    ],
)
def test_a_nonsense_duration_is_kept_out_and_quoted_back(text: str, duration_text: str) -> None:
    command = parse_command(text)
    assert command == Activate("ga", duration=None, duration_text=duration_text)


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("actvate Exchange", "activate Exchange"),
        ("activte Exchange Admin for 2h", "activate Exchange Admin for 2h"),
        ("deactvate ga", "deactivate ga"),
        ("pendng", "pending"),
        ("hepl", "help"),
        ("my rolse", "my roles"),
        ("my reqests", "my requests"),
    ],
)
def test_a_near_miss_verb_gets_a_suggestion(text: str, suggestion: str) -> None:
    assert parse_command(text) == Unknown(text, suggestion)


@pytest.mark.parametrize(
    "text", ["the weather today", "and so on", "xyzzy", "42", "exchange admin"]
)
def test_anything_else_is_unknown_without_a_guess(text: str) -> None:
    assert parse_command(text) == Unknown(text, None)


@pytest.mark.parametrize(
    ("text", "ticket"),
    [
        ("INC-1234 mailbox", "INC-1234"),
        ("see inc-99", "INC-99"),
        ("CHG0012345", "CHG0012345"),
        ("ritm0001234 access", "RITM0001234"),
        ("SR-77", "SR-77"),
        ("#4711 broken", "#4711"),
        ("ticket ABC-1", "ABC-1"),
        ("ticket: 555", "555"),
        ("ticket #42", "42"),
        ("JIRA OPS-12 then INC-1", "OPS-12"),
        ("nothing here", None),
        ("windows-365 is not a ticket", None),
        ("x#12 is not one either", None),
    ],
)
def test_find_ticket(text: str, ticket: str | None) -> None:
    assert find_ticket(text) == ticket


def test_normalize_text_drops_mentions_tags_and_entities() -> None:
    text = '<at id="0">pimbot</at>\u00a0<b>activate</b>  Exchange&nbsp;Admin&#33;'
    assert normalize_text(text) == "activate Exchange Admin!"


def test_plain_at_mention_typed_as_text_is_dropped() -> None:
    assert parse_command("@pimbot my roles") == MyRoles()


def test_very_long_text_is_cut_before_parsing() -> None:
    command = parse_command("activate " + "x" * 100_000)
    assert isinstance(command, Activate)
    assert len(command.role_query) < 2_000


@given(st.text(max_size=300))
def test_parse_command_never_raises(text: str) -> None:
    assert isinstance(
        parse_command(text),
        Activate
        | Deactivate
        | Extend
        | MyRoles
        | Pending
        | Cancel
        | Help
        | Greeting
        | NotAvailable
        | Unknown,
    )


_WORDS = st.sampled_from(
    [
        "activate",
        "for",
        "2h",
        "because",
        "to",
        "-",
        "reason:",
        "INC-1",
        "#4",
        "ticket",
        "ga",
        "<at>x</at>",
        "&amp;",
        "by",
        "PT",
        "P1D",
        "1.5",
        "hours",
        "  ",
        "\u00a0",
        "my",
        "roles",
    ]
)


@given(st.lists(_WORDS, max_size=12).map(" ".join))
def test_parse_command_never_raises_on_command_like_noise(text: str) -> None:
    command = parse_command(text)
    if isinstance(command, Activate | Extend) and command.duration is not None:
        assert command.duration > timedelta(0)
