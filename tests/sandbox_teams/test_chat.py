"""The chat client: what a person at the terminal types, and what reaches the bot and the screen."""

from __future__ import annotations

import io

from bot.sandbox.chat import ChatSession, StdinLines


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
