"""Cards that tell the truth, through HTTP on loopback: every copy a person has of a request's
card is updated in the Teams twin when the request moves on."""

from __future__ import annotations

import json

from tests.e2e.conftest import Sandbox


async def test_no_extend_or_deactivate_is_left_once_the_role_has_ended(sandboxed: Sandbox) -> None:
    adele = sandboxed.person("adele")
    await sandboxed.client.install("adele")
    await adele.say("activate user admin for 1h")
    await adele.press("Activate")
    await sandboxed.run_jobs()
    sandboxed.clock.advance(minutes=46)
    await sandboxed.run_jobs()
    assert {"Extend", "Deactivate now"} <= set(await adele.buttons())

    sandboxed.clock.advance(minutes=15)
    await sandboxed.run_jobs()
    await sandboxed.run_jobs()

    assert "User Administrator has ended" in await adele.chat_text()
    assert not {"Extend", "Deactivate now"} & set(await adele.buttons())


async def test_deactivate_now_on_the_card_turns_every_copy_into_ended(sandboxed: Sandbox) -> None:
    adele = sandboxed.person("adele")
    await sandboxed.client.install("adele")
    await adele.say("activate user admin for 1h")
    await adele.press("Activate")
    await sandboxed.run_jobs()
    sandboxed.clock.advance(minutes=6)

    await adele.press("Deactivate now")
    await sandboxed.run_jobs()

    assert "no longer active" in await adele.chat_text()
    assert not {"Extend", "Deactivate now"} & set(await adele.buttons())


async def test_the_confirm_it_is_you_card_moves_on_after_the_sign_in(sandboxed: Sandbox) -> None:
    adele = sandboxed.person("adele")
    await sandboxed.client.install("adele")
    await adele.say("activate global admin for 1h because INC-42 tenant lockout")
    await adele.press("Ask for approval")
    await sandboxed.client.wait_for("adele", "signin_required")
    assert "Confirm it is you" in await adele.chat_text()

    signed = await sandboxed.client.sign_in("adele", mfa=True)
    assert signed["exchanged"]
    await sandboxed.run_jobs()
    await sandboxed.run_jobs()

    assert "Confirm it is you" not in await adele.chat_text()
    assert "Waiting for approval" in await adele.chat_text()


async def test_an_approver_sees_times_in_their_own_zone_on_every_card(sandboxed: Sandbox) -> None:
    adele, megan = sandboxed.person("adele"), sandboxed.person("megan")  # megan: Europe/London
    await sandboxed.client.install("adele")
    await adele.say("activate Exchange Admin for 2h because INC-1234 mailbox restore")
    await adele.press("Ask for approval")
    await sandboxed.run_jobs()

    # Megan never wrote to pimbot: her first card leaves the time to her Teams client.
    first = await megan.chat_text()
    assert "{{TIME(" in first
    assert "(UTC)" not in first

    await megan.say("pending")
    assert "(Europe/London)" in json.dumps((await megan.messages())[-1]["cards"])
    await megan.press("Review")
    await megan.press("Approve", {"reason": "ok"})
    await sandboxed.run_jobs()
    assert "(UTC)" not in await megan.chat_text()
