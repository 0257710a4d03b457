"""Four-eyes: a change to Global Administrator or Privileged Role Administrator needs a second
admin; the first decision wins, exactly once; the admin who asked cannot decide."""

from __future__ import annotations

import asyncio

import pytest

from bot.domain import CardMessage, Outcome, TextMessage
from bot.governance.domain import GLOBAL_ADMINISTRATOR, AdminChange, ChangeState
from bot.governance.four_eyes import Proposal
from bot.governance.gate import NOT_AN_ADMIN_TEXT
from tests.governance.conftest import AdminWorld
from tests.workflow.fakes import ADELE, EXCHANGE, LIDIA, MEGAN, NESTOR

KIND = "test.change"


def _texts(outcome: Outcome) -> list[str]:
    return [m.text for m in outcome.replies if isinstance(m, TextMessage)]


def _proposal(role_id: str = GLOBAL_ADMINISTRATOR, target: str = "grady:ga") -> Proposal:
    return Proposal(
        kind=KIND,
        target_key=target,
        role_id=role_id,
        title="Convert Grady's Global Administrator to eligible",
        facts=[("Person", "Grady Archie")],
        payload={"principal_id": "grady"},
    )


class CarryOut:
    def __init__(self) -> None:
        self.done: list[str] = []

    async def __call__(self, change: AdminChange, token: str | None) -> None:
        self.done.append(change.id)


@pytest.fixture
def carried(admin_world: AdminWorld) -> CarryOut:
    carry_out = CarryOut()
    admin_world.governance.four_eyes.register(KIND, carry_out)
    return carry_out


async def _only_change(admin_world: AdminWorld) -> AdminChange:
    async with admin_world.db.transaction() as tx:
        found = await tx.admin_changes.for_target("grady:ga")
    assert len(found) == 1, found
    return found[0]


async def _propose(admin_world: AdminWorld, proposal: Proposal | None = None) -> Outcome:
    actor = admin_world.actor(MEGAN)
    return await admin_world.governance.four_eyes.propose(actor, proposal or _proposal())


def _decision(change: AdminChange, verb: str, reason: str = "") -> dict[str, str]:
    return {"verb": verb, "change_id": change.id, "reason": reason}


async def test_a_global_admin_change_asks_every_other_admin_and_waits(
    admin_world: AdminWorld, carried: CarryOut
) -> None:
    outcome = await _propose(admin_world)
    assert "asked 2 other admins" in _texts(outcome)[0]
    await admin_world.world.run_jobs()
    change = await _only_change(admin_world)
    assert change.state is ChangeState.AWAITING_SECOND
    messenger = admin_world.world.messenger
    for admin in (NESTOR, LIDIA):
        [card] = [m for m in messenger.to(admin.id) if isinstance(m, CardMessage)]
        verbs = [a["data"]["verb"] for a in card.card["actions"]]  # type: ignore[index]
        assert verbs == ["admin.approve", "admin.deny"]
    assert messenger.to(MEGAN.id) == []
    assert carried.done == []


async def test_the_second_admin_approves_and_the_change_is_carried_out_once(
    admin_world: AdminWorld, carried: CarryOut
) -> None:
    await _propose(admin_world)
    change = await _only_change(admin_world)
    decided = await admin_world.press(NESTOR, _decision(change, "admin.approve", "ok"))
    assert decided.card_update is not None
    await admin_world.world.run_jobs()
    assert carried.done == [change.id]
    late = await admin_world.press(LIDIA, _decision(change, "admin.approve"))
    assert late.toast == "Already approved by Nestor."
    await admin_world.world.run_jobs()
    assert carried.done == [change.id]
    told = [m.text for m in admin_world.world.messenger.to(MEGAN.id) if isinstance(m, TextMessage)]
    assert any("Nestor approved" in text for text in told)
    actions = [(e.actor_id, e.action, e.outcome) for e in await admin_world.audit()]
    assert (MEGAN.id, "test.change.asked", "ok") in actions
    assert (NESTOR.id, "test.change.approved", "ok") in actions
    assert (LIDIA.id, "admin.approve_refused", "refused") in actions


async def test_two_admins_deciding_at_once_make_one_decision(
    admin_world: AdminWorld, carried: CarryOut
) -> None:
    await _propose(admin_world)
    change = await _only_change(admin_world)
    outcomes = await asyncio.gather(
        admin_world.press(NESTOR, _decision(change, "admin.approve")),
        admin_world.press(LIDIA, _decision(change, "admin.deny", "not now")),
    )
    assert sum(1 for o in outcomes if o.toast is None) == 1
    await admin_world.world.run_jobs()
    final = await _only_change(admin_world)
    assert final.state in (ChangeState.DONE, ChangeState.APPROVED, ChangeState.DENIED)
    assert carried.done == ([change.id] if final.state is ChangeState.APPROVED else [])


async def test_the_admin_who_asked_cannot_decide(
    admin_world: AdminWorld, carried: CarryOut
) -> None:
    await _propose(admin_world)
    change = await _only_change(admin_world)
    outcome = await admin_world.press(MEGAN, _decision(change, "admin.approve"))
    assert "another admin has to approve" in _texts(outcome)[0]
    assert (await _only_change(admin_world)).state is ChangeState.AWAITING_SECOND
    entries = await admin_world.audit()
    assert entries[-1].action == "admin.approve_refused"
    assert entries[-1].actor_id == MEGAN.id


async def test_a_non_admin_cannot_decide(admin_world: AdminWorld, carried: CarryOut) -> None:
    await _propose(admin_world)
    change = await _only_change(admin_world)
    outcome = await admin_world.press(ADELE, _decision(change, "admin.approve"))
    assert _texts(outcome) == [NOT_AN_ADMIN_TEXT]
    assert (await _only_change(admin_world)).state is ChangeState.AWAITING_SECOND


async def test_a_forged_change_id_is_refused_and_audited(
    admin_world: AdminWorld, carried: CarryOut
) -> None:
    outcome = await admin_world.press(NESTOR, {"verb": "admin.approve", "change_id": "chg-nope"})
    assert "can't find that change" in _texts(outcome)[0]
    entries = await admin_world.audit()
    assert (entries[-1].action, entries[-1].details["change_id"]) == (
        "admin.approve_refused",
        "chg-nope",
    )


async def test_a_garbled_decision_is_answered_in_words(
    admin_world: AdminWorld, carried: CarryOut
) -> None:
    outcome = await admin_world.press(NESTOR, {"verb": "admin.approve", "change_id": "../x y"})
    assert "out of date or incomplete" in _texts(outcome)[0]


async def test_a_denial_needs_a_reason_and_tells_the_admin_who_asked(
    admin_world: AdminWorld, carried: CarryOut
) -> None:
    await _propose(admin_world)
    change = await _only_change(admin_world)
    no_reason = await admin_world.press(NESTOR, _decision(change, "admin.deny"))
    assert "type a reason" in _texts(no_reason)[0]
    await admin_world.press(NESTOR, _decision(change, "admin.deny", "ask on Monday"))
    await admin_world.world.run_jobs()
    assert (await _only_change(admin_world)).state is ChangeState.DENIED
    assert carried.done == []
    told = [m.text for m in admin_world.world.messenger.to(MEGAN.id) if isinstance(m, TextMessage)]
    assert any("denied" in text and "ask on Monday" in text for text in told)


async def test_other_roles_need_no_second_admin(admin_world: AdminWorld, carried: CarryOut) -> None:
    outcome = await _propose(admin_world, _proposal(role_id=EXCHANGE.id))
    assert "on its way" in _texts(outcome)[0]
    await admin_world.world.run_jobs()
    change = await _only_change(admin_world)
    assert carried.done == [change.id]
    assert admin_world.world.messenger.to(NESTOR.id) == []


async def test_asking_twice_for_the_same_change_records_it_once(
    admin_world: AdminWorld, carried: CarryOut
) -> None:
    first, second = await asyncio.gather(_propose(admin_world), _propose(admin_world))
    texts = _texts(first) + _texts(second)
    assert sum("already asked for" in text for text in texts) == 1
    await _only_change(admin_world)


async def test_without_another_admin_a_four_eyes_change_is_refused(
    admin_world: AdminWorld, carried: CarryOut
) -> None:
    admin_world.admins.groups["admins-group"] = [MEGAN]
    outcome = await _propose(admin_world)
    assert "no other member of the admin group" in _texts(outcome)[0]
    async with admin_world.db.transaction() as tx:
        assert await tx.admin_changes.for_target("grady:ga") == []


def _verbs(card: dict[str, object] | None) -> list[str]:
    assert card is not None
    actions = card.get("actions") or []
    return [a["data"]["verb"] for a in actions]  # type: ignore[index,union-attr]


async def test_every_admins_card_refreshes_to_the_decision(
    admin_world: AdminWorld, carried: CarryOut
) -> None:
    await _propose(admin_world)
    await admin_world.world.run_jobs()
    change = await _only_change(admin_world)
    [sent] = [m for m in admin_world.world.messenger.to(LIDIA.id) if isinstance(m, CardMessage)]
    refresh = sent.card["refresh"]["action"]["data"]  # type: ignore[index]
    assert refresh == {"verb": "admin.refresh", "change_id": change.id}
    waiting = await admin_world.press(LIDIA, dict(refresh))
    assert _verbs(waiting.card_update) == ["admin.approve", "admin.deny"]
    asker_sees = await admin_world.press(MEGAN, dict(refresh))
    assert _verbs(asker_sees.card_update) == []  # the admin who asked cannot decide
    await admin_world.press(NESTOR, _decision(change, "admin.approve"))
    decided = await admin_world.press(LIDIA, dict(refresh))
    assert _verbs(decided.card_update) == []
    assert "Approved, being carried out" in str(decided.card_update)
