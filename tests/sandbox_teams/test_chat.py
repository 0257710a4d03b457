"""The chat client: what a person at the terminal types, and what reaches the bot and the screen."""

from __future__ import annotations

import io

import pytest

from bot.sandbox.chat import ChatSession, ChatView, StdinLines, Style
from bot.sandbox.runner import sandbox
from bot.sandbox.teams.client import SandboxClient
from tests.sandbox_teams import echo_bot
from tests.sandbox_teams.echo_bot import CARD


async def session_for(world, typed: str = "") -> tuple[ChatSession, list[str]]:
    printed: list[str] = []
    lines = StdinLines(io.StringIO(typed))
    session = ChatSession(world.client, "adele", lines, out=printed.append)
    await session.start()
    return session, printed


async def test_first_start_installs_the_app_for_the_user(world):
    _, printed = await session_for(world)
    assert world.bot.received[0]["type"] == "installationUpdate"
    assert "Installed pimbot" in printed[-1]


async def test_typed_text_goes_to_the_bot_and_the_reply_is_printed(world):
    session, printed = await session_for(world)
    await session.handle("hello")
    await session.catch_up()
    assert world.bot.received[-1]["text"] == "hello"
    assert printed[-1] == "pimbot #1\necho: hello"


async def test_pressing_an_action_asks_for_each_input_and_keeps_defaults(world):
    # Enter keeps the reason's default ("ok"); the ticket is typed.
    session, printed = await session_for(world, typed="\nINC-9\n")
    await session.handle("card")
    await session.catch_up()
    assert "[1] Approve" in printed[-1]

    await session.handle("/1")
    await session.catch_up()

    data = world.bot.received[-1]["value"]["action"]["data"]
    assert data == {"rid": "r1", "reason": "ok", "ticket": "INC-9"}
    assert "(your view)" in printed[-1] and "Approved" in printed[-1]


async def test_an_older_card_is_pressed_with_at_number(world):
    session, _ = await session_for(world, typed="\nINC-1\n")
    await session.handle("card")
    await session.handle("plain text")
    await session.catch_up()
    await session.handle("/4 @1")
    assert world.bot.received[-1]["value"] == {"rid": "r1", "reason": "ok", "ticket": "INC-1"}


async def test_an_action_number_beyond_the_card_is_explained(world):
    session, printed = await session_for(world)
    await session.handle("card")
    await session.catch_up()
    await session.handle("/9")
    assert printed[-1] == "That card has actions 1 to 4."


async def test_signin_command_completes_the_step_up(world):
    session, printed = await session_for(world)
    await session.handle("signin")
    await world.client.wait_for("adele", "signin_required")
    await session.catch_up()
    assert "type /signin" in printed[-1]

    await session.handle("/signin")
    await session.catch_up()
    assert printed[-1] == "✓ signed in"


async def test_quit_ends_the_session_and_help_explains_commands(world):
    session, printed = await session_for(world)
    assert await session.handle("/help") is True
    assert "/signin" in printed[-1]
    assert await session.handle("/quit") is False


# --- what the screen shows ----------------------------------------------------------------------

DURATION_CARD = {
    "type": "AdaptiveCard",
    "version": "1.5",
    "body": [
        {"type": "TextBlock", "text": "Activate Exchange Administrator"},
        {
            "type": "Input.ChoiceSet",
            "id": "duration",
            "label": "For how long?",
            "value": "PT2H",
            "choices": [{"title": "1 h", "value": "PT1H"}, {"title": "2 h", "value": "PT2H"}],
        },
    ],
    "actions": [{"type": "Action.Execute", "title": "Ask", "verb": "ask", "data": {}}],
}


async def test_a_duration_prompt_shows_the_choice_a_person_reads_not_its_value(
    world, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(echo_bot, "CARD", DURATION_CARD)
    prompts: list[str] = []
    lines = StdinLines(io.StringIO("\n"))
    session = ChatSession(world.client, "adele", lines, out=lambda _: None, ask=prompts.append)
    await session.start()
    await session.handle("card")
    await session.catch_up()
    await session.handle("/1")
    assert prompts == ["  ✎ For how long? [2 h]: "]
    assert world.bot.received[-1]["value"]["action"]["data"] == {"duration": "PT2H"}


def test_bold_markdown_is_rendered_bold_on_a_terminal_and_plain_otherwise() -> None:
    event = {"kind": "message", "activityId": "a", "text": "Cancelled **Exchange Admin**."}
    assert ChatView(Style(enabled=False)).show(event) == "pimbot #1\nCancelled Exchange Admin."
    coloured = ChatView(Style(enabled=True)).show(event)
    assert coloured is not None and "Cancelled \x1b[1mExchange Admin\x1b[0m." in coloured


def test_a_card_heading_sent_as_the_message_text_too_is_shown_once() -> None:
    card = {"type": "AdaptiveCard", "body": [{"type": "TextBlock", "text": "What I can do"}]}
    event = {"kind": "message", "activityId": "a", "text": "What I can do", "cards": [card]}
    shown = ChatView(Style(enabled=False)).show(event)
    assert shown == "pimbot #1\n  │ What I can do"


def test_an_update_that_changes_nothing_is_not_printed_again() -> None:
    view = ChatView(Style(enabled=False))
    card = {"type": "AdaptiveCard", "body": [{"type": "TextBlock", "text": "Approved"}]}
    assert view.show({"kind": "message", "activityId": "a", "cards": [card]})
    assert view.show({"kind": "update", "activityId": "a", "cards": [card]}) is None


async def test_pressing_a_decided_card_says_it_has_no_buttons_left(world) -> None:
    session, printed = await session_for(world)
    decided = {"type": "AdaptiveCard", "body": [{"type": "TextBlock", "text": "Approved"}]}
    session.view.show({"kind": "message", "activityId": "x", "cards": [CARD]})
    session.view.show({"kind": "update", "activityId": "x", "cards": [decided]})
    await session.handle("/1 @1")
    assert printed[-1] == "Message #1 has no buttons left: it was updated (see above)."


async def test_pressing_a_message_without_a_card_names_the_cards(world) -> None:
    session, printed = await session_for(world)
    session.view.show({"kind": "message", "activityId": "t", "text": "hello"})
    session.view.show({"kind": "message", "activityId": "c", "cards": [CARD]})
    await session.handle("/1 @1")
    assert printed[-1] == "Message #1 has no card; cards: #2."
    await session.handle("/1 @7")
    assert printed[-1] == "There is no message #7; cards: #2."


async def test_help_shows_its_heading_once(tmp_path) -> None:
    async with (
        sandbox(database_url=f"sqlite:///{tmp_path / 'pimbot.db'}", state_dir=tmp_path) as running,
        SandboxClient(running.twins.service_url) as client,
    ):
        printed: list[str] = []
        session = ChatSession(client, "adele", StdinLines(io.StringIO()), out=printed.append)
        await session.start()
        await session.handle("help")
        await session.catch_up()
    label, heading, *_ = printed[-1].splitlines()
    assert (label, heading) == ("pimbot #3", "  │ What I can do")
    assert printed[-1].count("What I can do") == 1


def test_times_left_to_the_client_show_in_the_persons_zone_as_teams_shows_them() -> None:
    stamp = "2026-01-14T12:40:00Z"
    card = {
        "type": "AdaptiveCard",
        "body": [
            {
                "type": "TextBlock",
                "text": f"Until {{{{DATE({stamp}, SHORT)}}}} {{{{TIME({stamp})}}}}",
            }
        ],
    }
    shown = ChatView(Style(enabled=False), tz="Asia/Tokyo").show(
        {"kind": "message", "activityId": "a", "cards": [card]}
    )
    assert shown is not None and "21:40 (Asia/Tokyo)" in shown
