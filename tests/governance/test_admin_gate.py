"""The admin gate: only transitive members of `PIMBOT_ADMIN_GROUP_ID` reach an admin command or
button; everyone else is refused in words, audited, and nothing else is read or written."""

from __future__ import annotations

import json
from datetime import datetime

from bot.domain import Actor, CardMessage, Outcome, TextMessage, TokenExchangeOutcome
from bot.governance.gate import ADMINS_OFF_TEXT, NOT_AN_ADMIN_TEXT
from bot.graph.errors import GraphError
from bot.workflow.ports import LATEST_SIGN_IN
from tests.governance.conftest import AdminWorld, admin_front
from tests.governance.fakes import FakeAdminDirectory
from tests.workflow.conftest import World
from tests.workflow.fakes import ADELE, MEGAN, TENANT


def _texts(outcome: Outcome) -> list[str]:
    return [m.text for m in outcome.replies if isinstance(m, TextMessage)]


class Recorder:
    """An admin journey that remembers who reached it."""

    def __init__(self) -> None:
        self.reached: list[str] = []

    async def command(self, actor: Actor, text: str) -> Outcome:
        self.reached.append(f"{actor.person.id}:{text}")
        return Outcome(replies=[TextMessage(text="standing list")])

    async def action(self, actor: Actor, data: object) -> Outcome:
        self.reached.append(f"{actor.person.id}:button")
        return Outcome(replies=[TextMessage(text="converted")])


def _recording(admin_world: AdminWorld) -> Recorder:
    journey = Recorder()
    admin_world.front.add_command("standing", journey.command)
    admin_world.front.add_actions(("standing.convert",), journey.action)
    return journey


async def test_an_admin_reaches_the_admin_command(admin_world: AdminWorld) -> None:
    journey = _recording(admin_world)
    outcome = await admin_world.say(MEGAN, "standing access")
    assert _texts(outcome) == ["standing list"]
    assert journey.reached == [f"{MEGAN.id}:standing access"]
    assert admin_world.admins.calls == [("is_transitive_member", MEGAN.id)]


async def test_a_non_admin_is_refused_in_words_audited_and_nothing_else_is_read(
    admin_world: AdminWorld,
) -> None:
    journey = _recording(admin_world)
    outcome = await admin_world.say(ADELE, "audit standing")
    assert _texts(outcome) == [NOT_AN_ADMIN_TEXT]
    assert journey.reached == []
    assert admin_world.admins.calls == [("is_transitive_member", ADELE.id)]
    [entry] = await admin_world.audit()
    assert (entry.actor_id, entry.action, entry.outcome) == (ADELE.id, "admin.refused", "refused")
    assert entry.details["command"] == "standing"


async def test_a_non_admin_pressing_an_admin_button_is_refused_and_audited(
    admin_world: AdminWorld,
) -> None:
    journey = _recording(admin_world)
    outcome = await admin_world.press(
        ADELE, {"verb": "standing.convert", "principal_id": "p-1", "role_id": "r-1", "x": "y"}
    )
    assert _texts(outcome) == [NOT_AN_ADMIN_TEXT]
    assert journey.reached == []
    [entry] = await admin_world.audit()
    assert entry.action == "admin.refused"
    assert entry.details == {"command": "standing.convert", "principal_id": "p-1", "role_id": "r-1"}


async def test_an_admin_removed_from_the_group_is_refused_at_once(
    admin_world: AdminWorld,
) -> None:
    journey = _recording(admin_world)
    await admin_world.say(MEGAN, "standing")
    admin_world.admins.groups["admins-group"] = []
    outcome = await admin_world.say(MEGAN, "standing")
    assert _texts(outcome) == [NOT_AN_ADMIN_TEXT]
    assert len(journey.reached) == 1


async def test_someone_of_another_tenant_is_refused_without_asking_graph(
    admin_world: AdminWorld,
) -> None:
    _recording(admin_world)
    stranger = MEGAN.model_copy(update={"tenant_id": "other-tenant"})
    outcome = await admin_world.say(stranger, "standing")
    assert "only admins of the organization" in _texts(outcome)[0]
    assert admin_world.admins.calls == []


async def test_when_graph_cannot_tell_the_command_is_refused_and_the_error_audited(
    admin_world: AdminWorld,
) -> None:
    journey = _recording(admin_world)
    admin_world.admins.fail_with = GraphError(503, "ServiceUnavailable", "busy")
    outcome = await admin_world.say(MEGAN, "standing")
    assert "could not check" in _texts(outcome)[0]
    assert "nothing was done" in _texts(outcome)[0]
    assert journey.reached == []
    [entry] = await admin_world.audit()
    assert (entry.action, entry.outcome) == ("admin.refused", "error")


async def test_without_an_admin_group_admin_commands_are_off_and_help_says_how_to_turn_them_on(
    world: World,
) -> None:
    admins = FakeAdminDirectory()
    front = admin_front(world, admins, group="")
    journey = Recorder()
    front.add_command("standing", journey.command)
    refused = await front.on_text(world.actor(MEGAN), "standing")
    assert _texts(refused) == [ADMINS_OFF_TEXT]
    assert "PIMBOT_ADMIN_GROUP_ID" in ADMINS_OFF_TEXT
    helped = await front.on_text(world.actor(MEGAN), "help")
    [card] = [m.card for m in helped.replies if isinstance(m, CardMessage)]
    assert "What I can do" in json.dumps(card)
    assert "set PIMBOT_ADMIN_GROUP_ID" in json.dumps(card)
    assert admins.calls == [] and journey.reached == []


async def test_with_an_admin_group_help_names_the_admin_commands(admin_world: AdminWorld) -> None:
    _recording(admin_world)
    helped = await admin_world.say(MEGAN, "help")
    [card] = [m.card for m in helped.replies if isinstance(m, CardMessage)]
    assert "For pimbot's admins: `standing`." in json.dumps(card)
    assert admin_world.admins.calls == []


async def test_everything_else_goes_to_the_workflow_untouched(admin_world: AdminWorld) -> None:
    _recording(admin_world)
    outcome = await admin_world.say(ADELE, "my roles")
    assert outcome.replies
    assert admin_world.admins.calls == []
    assert await admin_world.audit() == []


async def test_other_admins_leaves_out_the_one_asking(admin_world: AdminWorld) -> None:
    others = await admin_world.front.gate.other_admins(admin_world.actor(MEGAN))
    assert [p.id for p in others] == [p.id for p in admin_world.admins.groups["admins-group"][1:]]
    assert TENANT


class SignIns:
    """An admin-side sign-in source: one sign-in waiting for Megan, since `since`."""

    def __init__(self, since: datetime | None) -> None:
        self.since = since
        self.exchanged: list[str] = []

    async def newest(self, actor: Actor) -> tuple[datetime, str] | None:
        if self.since is None or actor.person.id != MEGAN.id:
            return None
        return self.since, "test-42"

    async def exchange(self, actor: Actor, exchange_id: str, token: str) -> TokenExchangeOutcome:
        self.exchanged.append(exchange_id)
        return TokenExchangeOutcome(accepted=True)


async def test_a_sign_in_that_does_not_say_which_goes_to_the_admin_sides_when_it_is_newest(
    admin_world: AdminWorld,
) -> None:
    """The card's Sign in button reaches the bot without an exchange id (LATEST_SIGN_IN): the
    newest sign-in waiting for the person gets it, the admin side's or the workflow's."""
    source = SignIns(since=admin_world.world.clock())
    admin_world.front.add_sign_in("test-", source.exchange, source.newest)
    answer = await admin_world.front.on_token_exchange(
        admin_world.actor(MEGAN), LATEST_SIGN_IN, "sso"
    )
    assert answer.accepted and source.exchanged == ["test-42"]
    nothing = await admin_world.front.on_token_exchange(
        admin_world.actor(ADELE), LATEST_SIGN_IN, "sso"
    )
    assert not nothing.accepted and source.exchanged == ["test-42"]  # the workflow's answer
