"""What pimbot answers to text that is not a role request: greetings, admin commands that are not
built yet, and anything it does not understand. Always words that say what it can do."""

from __future__ import annotations

import pytest

from bot.domain import CardMessage, TextMessage
from tests.workflow.conftest import World
from tests.workflow.fakes import ADELE


def only_text(replies: list[object]) -> str:
    assert len(replies) == 1 and isinstance(replies[0], TextMessage), replies
    return replies[0].text


@pytest.mark.parametrize("text", ["hi", "Hello!", "good morning pimbot", "\uff48\uff49"])
async def test_a_greeting_is_greeted_with_what_pimbot_can_do(world: World, text: str) -> None:
    words = only_text((await world.say(ADELE, text)).replies)
    assert words.startswith("Hi Adele! I'm pimbot. I can:")
    assert "`activate Exchange Admin" in words and "`my roles`" in words


@pytest.mark.parametrize("text", ["the weather today", "xyzzy", "exchange admin"])
async def test_unknown_text_lists_what_pimbot_can_do_without_an_apology(
    world: World, text: str
) -> None:
    words = only_text((await world.say(ADELE, text)).replies)
    assert "Sorry" not in words and "didn't get that" not in words
    assert "I can:" in words and "`pending`" in words and "`cancel`" in words


async def test_a_near_miss_is_offered_its_likely_meaning(world: World) -> None:
    words = only_text((await world.say(ADELE, "actvate exchange admin")).replies)
    assert words.startswith("Did you mean `activate exchange admin`?")


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("pim settings", "settings"),
        ("settings", "settings"),
        ("alerts", "alerts"),
        ("standing", "standing"),
        ("reviews", "reviews"),
        ("list admins", "admins"),
    ],
)
async def test_an_admin_command_that_reaches_the_workflow_is_not_read_as_a_role(
    world: World, text: str, command: str
) -> None:
    # The workflow alone, without the admin front that answers the admin commands it has.
    outcome = await world.say(ADELE, text)
    words = only_text(outcome.replies)
    assert words.startswith(f"`{command}` (")
    assert "is not available in this pimbot" in words and "Privileged Identity Management" in words
    assert not any(isinstance(m, CardMessage) for m in outcome.replies)


async def test_please_give_me_a_role_starts_the_request(world: World) -> None:
    outcome = await world.say(ADELE, "please give me exchange admin")
    cards = [m for m in outcome.replies if isinstance(m, CardMessage)]
    assert cards and "Exchange Administrator" in str(cards[0].card)


async def test_a_full_width_role_name_is_found(world: World) -> None:
    full_width_user_admin = "\uff35\uff33\uff25\uff32 \uff21\uff24\uff2d\uff29\uff2e"
    outcome = await world.say(ADELE, f"activate {full_width_user_admin} for 1h")
    assert "User Administrator" in str(outcome)


async def test_a_message_too_long_to_read_is_refused_with_its_length_not_cut(world: World) -> None:
    """The parser reads up to 2,000 characters; a longer message (a 6.8 KB reason typed inline)
    is never cut silently into a form: pimbot says how long it was and what fits."""
    reason = "mailbox restore " * 425  # 6,800 characters
    said = await world.say(ADELE, f"activate exchange admin for 2h because {reason}")
    words = only_text(said.replies)
    assert "6,839 characters" in words and "2,000" in words and "500" in words
