"""Four-eyes: a change to Global Administrator or Privileged Role Administrator needs a second
admin; the first decision wins, exactly once; the admin who asked cannot decide."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.domain import CardMessage, Message, Outcome, Person, SentMessage, TextMessage
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
    [asker_card] = [m for m in messenger.to(MEGAN.id) if isinstance(m, CardMessage)]
    assert _verbs(asker_card.card) == []  # the admin who asked sees where it stands, no buttons
    assert "Waiting for a second admin" in str(asker_card.card)
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


# --- every copy of the card is updated at once --------------------------------------------------


class Finish:
    """Carries a change out the way a journey does: moves it to `to` (done or failed)."""

    def __init__(self, admin_world: AdminWorld, to: ChangeState) -> None:
        self._world = admin_world
        self._to = to

    async def __call__(self, change: AdminChange, token: str | None) -> None:
        extra = {"failure": "Graph refused it. Nothing was changed."}
        async with self._world.db.transaction() as tx:
            await tx.admin_changes.transition(
                change.id,
                from_states=[ChangeState.APPROVED],
                to=self._to,
                now=self._world.world.clock(),
                **(extra if self._to is ChangeState.FAILED else {}),
            )


async def _settle(admin_world: AdminWorld) -> None:
    while await admin_world.world.run_jobs():
        pass


def _copies(admin_world: AdminWorld) -> dict[str, list[str]]:
    """Each four-eyes card sent, by activity id: what it shows now (sent, then each update)."""
    shown: dict[str, list[str]] = {}
    for delivered in admin_world.world.messenger.sent:
        if isinstance(delivered.message, CardMessage) and "change_id" in str(delivered.message):
            shown[delivered.activity_id] = [json.dumps(delivered.message.card)]
    for sent, message in admin_world.world.messenger.updates:
        assert isinstance(message, CardMessage)
        shown[sent.activity_id].append(json.dumps(message.card))
    return shown


def _card_of(admin_world: AdminWorld, who: str) -> str:
    """What `who`'s (only) four-eyes card shows now."""
    sent = [
        d.activity_id
        for d in admin_world.world.messenger.sent
        if d.person_id == who and isinstance(d.message, CardMessage)
    ]
    assert len(sent) == 1, sent
    return _copies(admin_world)[sent[0]][-1]


@pytest.mark.parametrize("outcome", [ChangeState.DONE, ChangeState.FAILED])
async def test_a_decision_and_the_outcome_update_every_copy_at_once(
    admin_world: AdminWorld, outcome: ChangeState
) -> None:
    admin_world.governance.four_eyes.register(KIND, Finish(admin_world, outcome))
    await _propose(admin_world)
    await _settle(admin_world)
    change = await _only_change(admin_world)
    assert admin_world.world.messenger.updates == []

    await admin_world.press(NESTOR, _decision(change, "admin.approve", "fine by me"))
    await _settle(admin_world)

    heading = "Done" if outcome is ChangeState.DONE else "Failed"
    for who in (MEGAN, NESTOR, LIDIA):  # the asker, the decider, the admin who did not decide
        shows = _card_of(admin_world, who.id)
        assert f'"text": "{heading}"' in shows, (who.display_name, shows)
        assert "Nestor" in shows and "fine by me" in shows
        assert "admin.approve" not in shows
    if outcome is ChangeState.FAILED:
        assert "Graph refused it" in _card_of(admin_world, LIDIA.id)


async def test_a_denial_updates_every_copy_with_who_denied_and_why(
    admin_world: AdminWorld, carried: CarryOut
) -> None:
    await _propose(admin_world)
    await _settle(admin_world)
    change = await _only_change(admin_world)
    await admin_world.press(LIDIA, _decision(change, "admin.deny", "ask on Monday"))
    await _settle(admin_world)
    for who in (MEGAN, NESTOR, LIDIA):
        shows = _card_of(admin_world, who.id)
        assert '"text": "Denied"' in shows and "Lidia" in shows and "ask on Monday" in shows
        assert "admin.deny" not in shows
    assert carried.done == []


async def test_each_state_updates_each_copy_once(
    admin_world: AdminWorld,
) -> None:
    admin_world.governance.four_eyes.register(KIND, Finish(admin_world, ChangeState.DONE))
    await _propose(admin_world)
    await _settle(admin_world)
    change = await _only_change(admin_world)
    await admin_world.press(NESTOR, _decision(change, "admin.approve"))
    await _settle(admin_world)
    await _settle(admin_world)  # nothing left to do: no second update
    # Approved, then done: two states after the card went out, so two updates of every copy.
    assert sorted(len(shown) - 1 for shown in _copies(admin_world).values()) == [2, 2, 2]


async def test_a_stale_copy_tapped_gets_the_current_card(
    admin_world: AdminWorld, carried: CarryOut
) -> None:
    await _propose(admin_world)
    await _settle(admin_world)
    change = await _only_change(admin_world)
    await admin_world.press(NESTOR, _decision(change, "admin.approve"))
    stale = await admin_world.press(LIDIA, _decision(change, "admin.deny", "no"))
    assert stale.toast == "Already approved by Nestor."
    assert _verbs(stale.card_update) == []
    assert "Approved, being carried out" in json.dumps(stale.card_update)


class UpdatesRefused:
    """A channel that cannot update one person's copies in place (the message was deleted)."""

    def __init__(self, admin_world: AdminWorld, person_id: str) -> None:
        self.messenger = admin_world.world.messenger
        self.person_id = person_id
        self._update = self.messenger.update

    async def update(self, sent: SentMessage, message: Message) -> bool:
        if sent.person_id == self.person_id:
            return False
        return await self._update(sent, message)


async def test_a_copy_that_cannot_be_updated_is_sent_again_and_replaced(
    admin_world: AdminWorld, carried: CarryOut, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _propose(admin_world)
    await _settle(admin_world)
    change = await _only_change(admin_world)
    refusing = UpdatesRefused(admin_world, LIDIA.id)
    monkeypatch.setattr(admin_world.world.messenger, "update", refusing.update)
    await admin_world.press(NESTOR, _decision(change, "admin.approve"))
    await _settle(admin_world)
    to_lidia = [m for m in admin_world.world.messenger.to(LIDIA.id) if isinstance(m, CardMessage)]
    assert len(to_lidia) == 2
    assert "Approved, being carried out" in json.dumps(to_lidia[-1].card)
    async with admin_world.db.transaction() as tx:
        lidias = [s for _, s in await tx.admin_changes.cards(change.id) if s.person_id == LIDIA.id]
    assert [s.activity_id for s in lidias] == [
        d.activity_id for d in admin_world.world.messenger.sent if d.message is to_lidia[-1]
    ]
    actions = [e.action for e in await admin_world.audit()]
    assert actions.count("admin_change.card_resent") == 1


async def test_a_card_sent_while_the_change_moved_on_is_updated_at_once(
    admin_world: AdminWorld, carried: CarryOut, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The decision lands while the asker's card is on its way: the decision's update does not
    know of that copy yet, so the copy is brought up to date as soon as it is recorded."""
    await _propose(admin_world)
    messenger = admin_world.world.messenger
    send = messenger.send
    change = await _only_change(admin_world)

    async def decided_meanwhile(person: Person, message: Message) -> SentMessage | None:
        sent = await send(person, message)
        if person.id == MEGAN.id:
            await admin_world.press(NESTOR, _decision(change, "admin.approve"))
            await admin_world.world.run_jobs()  # the decision's update, before this copy is known
        return sent

    monkeypatch.setattr(messenger, "send", decided_meanwhile)
    await _settle(admin_world)
    assert "Approved, being carried out" in _card_of(admin_world, MEGAN.id)
