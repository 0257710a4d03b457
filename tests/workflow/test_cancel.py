"""`cancel …` typed in the chat cancels the request it names, asks which when that could be
several, and says so when nothing open matches."""

from __future__ import annotations

from datetime import timedelta

from bot.domain import (
    ActivationPolicy,
    ApproverKind,
    ApproverRef,
    CardMessage,
    Outcome,
    RequestState,
    TextMessage,
)
from tests.workflow.conftest import World
from tests.workflow.fakes import ADELE, EXCHANGE, GLOBAL, MEGAN


async def two_pending_requests(world: World) -> dict[str, str]:
    """Adele waits for approval of Exchange Administrator (asked first) and of Global
    Administrator (asked last): role id → request id."""
    world.directory.eligible[ADELE.id] = [*world.directory.eligible[ADELE.id], GLOBAL]
    world.directory.policies[GLOBAL.id] = ActivationPolicy(
        role_id=GLOBAL.id,
        max_duration=timedelta(hours=2),
        require_approval=True,
        approvers=(ApproverRef(kind=ApproverKind.USER, id=MEGAN.id),),
    )
    await world.submit(ADELE, EXCHANGE.id, duration="PT2H", justification="mailbox restore")
    world.clock.advance(seconds=30)
    await world.submit(ADELE, GLOBAL.id, duration="PT1H")
    await world.run_jobs()
    async with world.db.transaction() as tx:
        mine = await tx.requests.open_for_requester(ADELE.id)
    assert {r.state for r in mine} == {RequestState.PENDING_APPROVAL}
    return {r.role.id: r.id for r in mine}


async def state_of(world: World, request_id: str) -> RequestState:
    return (await world.request(request_id)).state


def the_text(outcome: Outcome) -> str:
    replies = outcome.replies
    assert len(replies) == 1 and isinstance(replies[0], TextMessage), replies
    return str(replies[0].text)


def the_card(outcome: Outcome) -> str:
    replies = outcome.replies
    assert len(replies) == 1 and isinstance(replies[0], CardMessage), replies
    return str(replies[0].card)


async def test_cancel_with_a_role_cancels_that_request_not_the_newest(world: World) -> None:
    requests = await two_pending_requests(world)
    outcome = await world.say(ADELE, "cancel exchange admin")
    assert the_text(outcome) == "Cancelled your request for **Exchange Administrator**."
    assert await state_of(world, requests[EXCHANGE.id]) is RequestState.CANCELLED
    assert await state_of(world, requests[GLOBAL.id]) is RequestState.PENDING_APPROVAL


async def test_cancel_my_request_for_a_role_reads_the_role(world: World) -> None:
    requests = await two_pending_requests(world)
    await world.say(ADELE, "please cancel my request for global admin")
    assert await state_of(world, requests[GLOBAL.id]) is RequestState.CANCELLED
    assert await state_of(world, requests[EXCHANGE.id]) is RequestState.PENDING_APPROVAL


async def test_a_bare_cancel_with_several_open_asks_which_with_a_button_each(
    world: World,
) -> None:
    requests = await two_pending_requests(world)
    card = the_card(await world.say(ADELE, "cancel"))
    assert "Which request should I cancel?" in card and "You have 2 open requests." in card
    assert "Exchange Administrator" in card and "Global Administrator" in card
    for request_id in requests.values():
        assert request_id in card
        assert await state_of(world, request_id) is RequestState.PENDING_APPROVAL


async def test_a_role_with_no_open_request_is_said_and_the_open_ones_listed(world: World) -> None:
    requests = await two_pending_requests(world)
    card = the_card(await world.say(ADELE, "cancel user admin"))
    assert "You have no open request for “user admin”. These are open:" in card
    for request_id in requests.values():
        assert await state_of(world, request_id) is RequestState.PENDING_APPROVAL


async def test_an_ambiguous_name_asks_among_the_matching_requests(world: World) -> None:
    await two_pending_requests(world)
    card = the_card(await world.say(ADELE, "cancel admin"))
    assert "Several of your open requests match “admin”." in card


async def test_cancel_with_nothing_open_says_so(world: World) -> None:
    words = the_text(await world.say(ADELE, "cancel exchange admin"))
    assert words == "You have no request waiting for approval, so there is nothing to cancel."


async def test_the_chosen_request_is_cancelled_by_its_button(world: World) -> None:
    requests = await two_pending_requests(world)
    await world.say(ADELE, "cancel")
    await world.press(ADELE, {"verb": "request.cancel", "request_id": requests[GLOBAL.id]})
    assert await state_of(world, requests[GLOBAL.id]) is RequestState.CANCELLED
