"""Every card about a request shows what is true now, on every copy: the notices with buttons,
the card a person pressed, and the answer to a button on a stale card."""

from __future__ import annotations

from typing import Any

from bot.domain import CardMessage, Message, RequestState, SentMessage
from bot.workflow import live_cards
from cards.actions import parse_action
from tests.workflow.conftest import World, _submit_data
from tests.workflow.fakes import ADELE, EXCHANGE, MEGAN, SECURITY, USER_ADMIN


def buttons(card: dict[str, Any]) -> list[str]:
    """The verbs of every button on the card."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("type") == "Action.Execute":
                found.append(str(value.get("verb")))
            for child in value.values():
                walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)

    walk({"body": card.get("body", []), "actions": card.get("actions", [])})
    return found


def card_of(message: Message) -> dict[str, Any]:
    assert isinstance(message, CardMessage), message
    return message.card


def sent_card(world: World, person_id: str, words: str) -> tuple[str, dict[str, Any]]:
    """(activity id, card) of the one card sent to the person that mentions `words`."""
    found = [
        (d.activity_id, card_of(d.message))
        for d in world.messenger.sent
        if d.person_id == person_id and isinstance(d.message, CardMessage) and words in str(d)
    ]
    assert len(found) == 1, [str(d.message)[:200] for d in world.messenger.sent]
    return found[0]


def latest_update(world: World, activity_id: str) -> dict[str, Any]:
    updates = [m for sent, m in world.messenger.updates if sent.activity_id == activity_id]
    assert updates, f"{activity_id} was never updated"
    return card_of(updates[-1])


def pressed(world: World, person_id: str, activity_id: str) -> SentMessage:
    return SentMessage(
        person_id=person_id, conversation_id=f"conv-{person_id}", activity_id=activity_id
    )


async def test_the_active_card_and_the_warning_lose_their_buttons_when_the_role_ends(
    world: World,
) -> None:
    await world.submit(ADELE, USER_ADMIN.id, duration="PT1H")
    await world.run_jobs()
    active_id, active_card = sent_card(world, ADELE.id, "is active until")
    assert "role.deactivate" in buttons(active_card)
    world.clock.advance(minutes=45, seconds=1)
    await world.run_jobs()
    warning_id, warning_card = sent_card(world, ADELE.id, "ends at")
    assert "role.extend" in buttons(warning_card)

    world.clock.advance(minutes=15, seconds=5)
    await world.run_jobs()

    for activity_id in (active_id, warning_id):
        now_shows = latest_update(world, activity_id)
        assert "has ended" in str(now_shows)
        assert "role.extend" not in buttons(now_shows)
        assert "role.deactivate" not in buttons(now_shows)


async def test_deactivating_from_the_card_updates_it_and_every_other_copy(world: World) -> None:
    await world.submit(ADELE, USER_ADMIN.id, duration="PT1H")
    await world.run_jobs()
    active_id, active_card = sent_card(world, ADELE.id, "is active until")
    world.clock.advance(minutes=10)
    deactivate = next(
        a["data"]
        for a in active_card["actions"]
        if a.get("verb") == "role.deactivate" and "data" in a
    )

    outcome = await world.workflow.on_action(
        world.actor(ADELE), deactivate, card=pressed(world, ADELE.id, active_id)
    )
    assert outcome.card_update is not None
    assert "has ended" in str(outcome.card_update)
    assert "role.deactivate" not in buttons(outcome.card_update)
    await world.run_jobs()
    assert "role.deactivate" not in buttons(latest_update(world, active_id))


async def test_a_button_on_a_stale_card_is_answered_with_the_card_as_it_is_now(
    world: World,
) -> None:
    await world.submit(ADELE, USER_ADMIN.id, duration="PT1H")
    await world.run_jobs()
    active_id, active_card = sent_card(world, ADELE.id, "is active until")
    world.clock.advance(minutes=61)
    await world.run_jobs()
    assert (await world.only_request(ADELE)).state is RequestState.ENDED

    for verb in ("role.extend", "role.deactivate"):
        data = next(a["data"] for a in active_card["actions"] if a.get("verb") == verb)
        outcome = await world.workflow.on_action(
            world.actor(ADELE), data, card=pressed(world, ADELE.id, active_id)
        )
        assert outcome.card_update is not None, verb
        assert "has ended" in str(outcome.card_update)
        assert not {"role.extend", "role.deactivate"} & set(buttons(outcome.card_update))
    assert ("deactivate", ADELE.id, USER_ADMIN.id) not in world.engine.calls


async def test_the_old_until_card_shows_the_new_end_after_an_extension(world: World) -> None:
    await world.submit(ADELE, USER_ADMIN.id, duration="PT1H")
    await world.run_jobs()
    first = await world.only_request(ADELE)
    active_id, _ = sent_card(world, ADELE.id, "is active until")
    world.clock.advance(minutes=30)

    form = await world.press(ADELE, {"verb": "role.extend", "role_id": USER_ADMIN.id})
    assert isinstance(form.replies[0], CardMessage)
    await world.press(ADELE, {**_submit_data(form.replies[0].card), "duration": "PT2H"})
    await world.run_jobs()

    assert (await world.request(first.id)).state is RequestState.ENDED
    new_end = world.directory.active[(ADELE.id, USER_ADMIN.id)][1]
    now_shows = latest_update(world, active_id)
    assert "is active" in str(now_shows)
    assert new_end.strftime("%H:%M") in str(now_shows)
    assert "role.deactivate" in buttons(now_shows)

    # Teams' refresh of that old card shows the same.
    refreshed = await world.press(ADELE, {"verb": "card.refresh", "request_id": first.id})
    assert refreshed.card_update is not None
    assert new_end.strftime("%H:%M") in str(refreshed.card_update)


async def test_the_confirm_it_is_you_card_moves_on_once_mfa_is_done(world: World) -> None:
    form = await world.form_for(ADELE, SECURITY.id)
    data = {
        **_submit_data(form),
        "duration": "PT1H",
        "justification": "incident",
        "ticket_number": "INC-9",
    }
    form_message = pressed(world, ADELE.id, "form-activity-1")
    outcome = await world.workflow.on_action(world.actor(ADELE), data, card=form_message)
    assert outcome.card_update is not None
    assert "request.cancel" in buttons(outcome.card_update)
    assert outcome.card_update.get("refresh"), "the requester's card refreshes itself"
    request = await world.only_request(ADELE)
    assert request.state is RequestState.DRAFT

    strong = await world.workflow.on_token_exchange(
        world.actor(ADELE), request.id, f"{ADELE.id}:mfa"
    )
    assert strong.accepted
    await world.run_jobs()

    now_shows = latest_update(world, "form-activity-1")
    assert "Confirm it is you" not in str(now_shows)
    assert "request.cancel" not in buttons(now_shows)
    assert "is active" in str(now_shows)


async def test_the_submitted_form_is_the_requesters_one_live_card(world: World) -> None:
    """The form Adele sent turns into her request's status card (Cancel while it waits) and
    follows it to the end; no second card about the request is sent to her."""
    form = await world.form_for(ADELE, EXCHANGE.id)
    data = {**_submit_data(form), "duration": "PT1H", "justification": "INC-1"}
    form_message = pressed(world, ADELE.id, "form-activity-1")
    outcome = await world.workflow.on_action(world.actor(ADELE), data, card=form_message)
    assert outcome.card_update is not None
    assert "Waiting for approval" in str(outcome.card_update)
    assert "request.cancel" in buttons(outcome.card_update)
    await world.run_jobs()
    request = await world.only_request(ADELE)

    await world.press(MEGAN, {"verb": "request.approve", "request_id": request.id})
    await world.run_jobs()

    now_shows = latest_update(world, "form-activity-1")
    assert "is active" in str(now_shows)
    assert "role.deactivate" in buttons(now_shows)
    cards_to_adele = [
        str(d.message)[:120]
        for d in world.messenger.sent
        if d.person_id == ADELE.id and isinstance(d.message, CardMessage)
    ]
    assert cards_to_adele == []


async def test_a_card_pressed_twice_is_recorded_once(world: World) -> None:
    request_id = await _pending(world)
    card = pressed(world, ADELE.id, "status-activity")
    for _ in range(2):
        await world.workflow.on_action(
            world.actor(ADELE), {"verb": "card.refresh", "request_id": request_id}, card=card
        )
    async with world.db.transaction() as tx:
        copies = [
            s for _, s in await tx.cards.copies(request_id) if s.activity_id == card.activity_id
        ]
    assert len(copies) == 1


async def test_an_approver_refresh_keeps_the_refresh_for_every_approver_and_their_zone(
    world: World,
) -> None:
    request_id = await _pending(world)
    outcome = await world.workflow.on_action(
        world.actor(MEGAN, tz="Asia/Tokyo"), {"verb": "card.refresh", "request_id": request_id}
    )
    card = outcome.card_update
    assert card is not None
    assert "request.approve" in buttons(card)
    assert f"29:{MEGAN.id}" in card["refresh"].get("userIds", [f"29:{MEGAN.id}"])
    assert card["refresh"].get("userIds") != []
    assert "Asia/Tokyo" in str(card) or "{{TIME(" in str(card)


async def _pending(world: World) -> str:
    await world.submit(ADELE, EXCHANGE.id, duration="PT1H", justification="INC-1")
    await world.run_jobs()
    return (await world.only_request(ADELE)).id


async def test_a_card_drawn_before_a_change_it_missed_is_drawn_again_when_recorded(
    world: World,
) -> None:
    # The submit answers "Activating…"; the activation job (woken by the same turn) finishes
    # and refreshes the request's cards before the pressed form is recorded as one of them.
    form = await world.form_for(ADELE, USER_ADMIN.id)
    outcome = await world.workflow._action(
        world.actor(ADELE), parse_action({**_submit_data(form), "duration": "PT1H"}), None
    )
    assert "Activating" in str(outcome.card_update)
    await world.run_jobs()
    assert (await world.only_request(ADELE)).state is RequestState.ACTIVE

    kept = await live_cards.keep_current(
        world.workflow.deps, world.actor(ADELE), pressed(world, ADELE.id, "form-1"), outcome
    )
    assert kept.card_update is not None
    assert "is active" in str(kept.card_update)
    assert "role.deactivate" in buttons(kept.card_update)
