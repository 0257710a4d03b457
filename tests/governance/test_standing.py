"""`standing`: standing access listed riskiest first, and converted to eligible: eligibility first,
then removal, exactly once, checked against Graph at each step, finished after a crash."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from bot.domain import CardMessage, Outcome, Person, Role, TextMessage
from bot.governance.domain import (
    GLOBAL_ADMINISTRATOR,
    PRIVILEGED_ROLE_ADMINISTRATOR,
    AdminChange,
    ChangeState,
    EligibilityLimit,
)
from bot.graph.errors import GraphError, GraphUnavailable, Throttled
from cards.governance.standing import PAGE_SIZE
from tests.governance.conftest import AdminWorld
from tests.governance.fakes import SimulatedCrash
from tests.workflow.fakes import ADELE, EXCHANGE, LIDIA, MEGAN, NESTOR, TENANT, USER_ADMIN

GLOBAL = Role(id=GLOBAL_ADMINISTRATOR, display_name="Global Administrator")
PRIVILEGED = Role(id=PRIVILEGED_ROLE_ADMINISTRATOR, display_name="Privileged Role Administrator")
GRADY = Person(id="grady", tenant_id=TENANT, display_name="Grady Archie", upn="grady@contoso")
BREAK_GLASS_1 = Person(id="breakglass-1", tenant_id=TENANT, display_name="Break Glass 1")
BREAK_GLASS_2 = Person(id="breakglass-2", tenant_id=TENANT, display_name="Break Glass 2")
MAX_CARD_BYTES = 28 * 1024  # Teams' limit for a message with a card


def _texts(outcome: Outcome) -> list[str]:
    return [m.text for m in outcome.replies if isinstance(m, TextMessage)]


def _card(outcome: Outcome) -> dict[str, Any]:
    if outcome.card_update is not None:
        return outcome.card_update
    [card] = [m.card for m in outcome.replies if isinstance(m, CardMessage)]
    return card


def _text_of(card: dict[str, Any]) -> str:
    return json.dumps(card, ensure_ascii=False)


def _buttons(card: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.Execute":
                found.append(node["data"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return found


def _convert(principal: Person, role: Role, window: str = "") -> dict[str, str]:
    data = {"verb": "standing.convert", "principal_id": principal.id, "role_id": role.id}
    if window:
        data["window"] = window
    return data


async def _changes(admin_world: AdminWorld, principal: Person, role: Role) -> list[AdminChange]:
    async with admin_world.db.transaction() as tx:
        return await tx.admin_changes.for_target(f"standing.convert:{principal.id}:{role.id}")


@pytest.fixture
def tenant(admin_world: AdminWorld) -> AdminWorld:
    """Break-glass accounts and Nestor permanently Global Administrator, Grady permanently
    Exchange Administrator (directly, outside PIM), Adele User Administrator until far away."""
    s = admin_world.standing
    now = admin_world.world.clock()
    s.hold(BREAK_GLASS_1, GLOBAL)
    s.hold(BREAK_GLASS_2, GLOBAL)
    s.hold(NESTOR, GLOBAL)
    s.hold(GRADY, EXCHANGE, origin="direct", since=now - timedelta(days=700))
    s.hold(ADELE, USER_ADMIN, end=now + timedelta(days=3 * 365))
    s.hold(LIDIA, USER_ADMIN, end=now + timedelta(days=30))  # time-bound: not standing
    return admin_world


async def test_the_list_is_riskiest_first_and_counts_permanent_global_admins(
    tenant: AdminWorld,
) -> None:
    card = _card(await tenant.say(MEGAN, "standing"))
    text = _text_of(card)
    assert "Standing access: 5 assignments" in text
    assert "3 permanent Global Administrators: more than 2" in text
    order = [text.index(name) for name in ("Nestor", "Grady Archie", "Adele")]
    assert order == sorted(order)
    assert "Lidia" not in text
    assert "assigned directly, outside PIM" in text
    assert text.count("Kept: a break-glass account") == 2
    converts = [b for b in _buttons(card) if b["verb"] == "standing.convert"]
    assert {b["principal_id"] for b in converts} == {NESTOR.id, GRADY.id, ADELE.id}


async def test_the_list_pages_and_every_page_fits_in_a_teams_message(
    admin_world: AdminWorld,
) -> None:
    for n in range(3 * PAGE_SIZE + 1):
        person = Person(id=f"user-{n:03}", tenant_id=TENANT, display_name="W" * 200, upn="u" * 200)
        admin_world.standing.hold(person, EXCHANGE)
    first = _card(await admin_world.say(MEGAN, "standing"))
    pages = [first]
    while (following := [b for b in _buttons(pages[-1]) if b["verb"] == "standing.page"]) and (
        len(pages) < 10
    ):
        nexts = [b for b in following if int(b["page"]) == len(pages)]
        if not nexts:
            break
        pages.append(_card(await admin_world.press(MEGAN, nexts[0])))
    assert len(pages) == 4
    seen = {b["principal_id"] for p in pages for b in _buttons(p) if "principal_id" in b}
    assert len(seen) == 3 * PAGE_SIZE + 1
    assert max(len(json.dumps(p).encode()) for p in pages) < MAX_CARD_BYTES


async def test_converting_makes_the_eligibility_first_then_removes_the_assignment_and_tells_them(
    tenant: AdminWorld,
) -> None:
    outcome = await tenant.press(MEGAN, _convert(GRADY, EXCHANGE, "P90D"))
    assert "on its way" in _texts(outcome)[0]
    await tenant.world.run_jobs()
    assert tenant.standing.writes == [
        ("make_eligible", GRADY.id, EXCHANGE.id),
        ("remove_assignment", GRADY.id, EXCHANGE.id),
    ]
    start, end = tenant.standing.eligible[(GRADY.id, EXCHANGE.id)]
    assert end - start == timedelta(days=90)
    [change] = await _changes(tenant, GRADY, EXCHANGE)
    assert change.state is ChangeState.DONE
    told = [m.text for m in tenant.world.messenger.to(GRADY.id) if isinstance(m, TextMessage)]
    assert any("activate Exchange Administrator" in t and "eligible" in t for t in told)
    mine = [m.text for m in tenant.world.messenger.to(MEGAN.id) if isinstance(m, TextMessage)]
    assert any(t.startswith("✅ Done") for t in mine)
    actions = [e.action for e in await tenant.audit()]
    assert actions[-3:] == [
        "standing.convert.asked",
        "standing.convert.eligible",
        "standing.convert.done",
    ]


async def test_a_crash_between_the_two_steps_is_finished_when_the_job_runs_again(
    tenant: AdminWorld,
) -> None:
    tenant.standing.crash_after.add("make_eligible")
    await tenant.press(MEGAN, _convert(GRADY, EXCHANGE))
    with pytest.raises(SimulatedCrash):
        await tenant.world.run_jobs()
    assert (GRADY.id, EXCHANGE.id) in tenant.standing.eligible
    assert (GRADY.id, EXCHANGE.id) in tenant.standing.assignments  # never neither
    tenant.world.clock.advance(minutes=10)  # the dead worker's lease runs out
    await tenant.world.run_jobs()
    assert tenant.standing.writes == [
        ("make_eligible", GRADY.id, EXCHANGE.id),
        ("remove_assignment", GRADY.id, EXCHANGE.id),
    ]
    [change] = await _changes(tenant, GRADY, EXCHANGE)
    assert change.state is ChangeState.DONE


async def test_a_global_admin_conversion_waits_for_a_second_admin(tenant: AdminWorld) -> None:
    tenant.standing.hold(MEGAN, GLOBAL)
    outcome = await tenant.press(MEGAN, _convert(NESTOR, GLOBAL))
    assert "needs a second admin" in _texts(outcome)[0]
    await tenant.world.run_jobs()
    assert tenant.standing.writes == []
    [change] = await _changes(tenant, NESTOR, GLOBAL)
    await tenant.press(LIDIA, {"verb": "admin.approve", "change_id": change.id})
    await tenant.world.run_jobs()
    assert [w[0] for w in tenant.standing.writes] == ["make_eligible", "remove_assignment"]


async def test_the_last_active_global_admin_besides_break_glass_is_not_converted(
    tenant: AdminWorld,
) -> None:
    outcome = await tenant.press(MEGAN, _convert(NESTOR, GLOBAL))
    assert (
        "only active Global Administrators would be the break-glass accounts"
        in (_texts(outcome)[0])
    )
    assert await _changes(tenant, NESTOR, GLOBAL) == []
    entries = await tenant.audit()
    assert (entries[-1].action, entries[-1].outcome) == ("standing.convert_refused", "refused")


async def test_the_global_admin_rule_is_checked_again_when_the_change_is_carried_out(
    tenant: AdminWorld,
) -> None:
    tenant.standing.hold(MEGAN, GLOBAL)
    await tenant.press(MEGAN, _convert(NESTOR, GLOBAL))
    [change] = await _changes(tenant, NESTOR, GLOBAL)
    del tenant.standing.assignments[(MEGAN.id, GLOBAL.id)]  # meanwhile Megan lost hers
    await tenant.press(LIDIA, {"verb": "admin.approve", "change_id": change.id})
    await tenant.world.run_jobs()
    assert tenant.standing.writes == []
    [failed] = await _changes(tenant, NESTOR, GLOBAL)
    assert failed.state is ChangeState.FAILED
    assert "break-glass" in failed.failure


async def test_break_glass_accounts_are_never_converted(tenant: AdminWorld) -> None:
    outcome = await tenant.press(MEGAN, _convert(BREAK_GLASS_1, GLOBAL))
    assert "break-glass" in _texts(outcome)[0]
    assert tenant.standing.writes == []


async def test_someone_who_no_longer_has_the_assignment_is_not_converted(
    tenant: AdminWorld,
) -> None:
    del tenant.standing.assignments[(GRADY.id, EXCHANGE.id)]
    outcome = await tenant.press(MEGAN, _convert(GRADY, EXCHANGE))
    assert "no longer has a standing assignment" in _texts(outcome)[0]
    assert await _changes(tenant, GRADY, EXCHANGE) == []


async def test_a_window_beyond_the_role_policy_is_refused(tenant: AdminWorld) -> None:
    tenant.standing.limits[EXCHANGE.id] = EligibilityLimit(maximum=timedelta(days=90))
    outcome = await tenant.press(MEGAN, _convert(GRADY, EXCHANGE, "P180D"))
    assert "at most 90 days" in _texts(outcome)[0]
    assert await _changes(tenant, GRADY, EXCHANGE) == []


async def test_a_non_admin_cannot_convert(tenant: AdminWorld) -> None:
    outcome = await tenant.press(ADELE, _convert(GRADY, EXCHANGE))
    assert "not one of them" in _texts(outcome)[0]
    assert await _changes(tenant, GRADY, EXCHANGE) == []


async def test_tapping_convert_twice_converts_once(tenant: AdminWorld) -> None:
    await tenant.press(MEGAN, _convert(GRADY, EXCHANGE))
    again = await tenant.press(NESTOR, _convert(GRADY, EXCHANGE))
    assert "already asked for" in _texts(again)[0]
    await tenant.world.run_jobs()
    replay = await tenant.press(MEGAN, _convert(GRADY, EXCHANGE))
    assert "no longer has a standing assignment" in _texts(replay)[0]
    assert len(tenant.standing.writes) == 2


async def test_a_second_change_that_finds_the_work_done_does_not_tell_the_person_again(
    tenant: AdminWorld,
) -> None:
    """Two admins press Convert at once; Nestor's press was checked against Graph before
    Megan's change removed the assignment, and his change is recorded after hers is done. It
    finds nothing left to do: Grady was told once, by the change that converted him."""
    await tenant.press(MEGAN, _convert(GRADY, EXCHANGE))
    await tenant.world.run_jobs()
    now = tenant.world.clock()
    tenant.standing.hold(GRADY, EXCHANGE, origin="direct", since=now - timedelta(days=700))
    late = await tenant.press(NESTOR, _convert(GRADY, EXCHANGE))  # what Nestor's check saw
    assert "on its way" in _texts(late)[0]
    del tenant.standing.assignments[(GRADY.id, EXCHANGE.id)]  # what his change finds
    await tenant.world.run_jobs()

    first, second = await _changes(tenant, GRADY, EXCHANGE)
    assert first.state is second.state is ChangeState.DONE
    told = [m.text for m in tenant.world.messenger.to(GRADY.id) if isinstance(m, TextMessage)]
    assert sum("activate Exchange Administrator" in t for t in told) == 1
    nestors = [m.text for m in tenant.world.messenger.to(NESTOR.id) if isinstance(m, TextMessage)]
    assert any("already" in t for t in nestors), nestors
    assert len(tenant.standing.writes) == 2


@pytest.mark.parametrize(
    "busy",
    [
        Throttled(429, "TooManyRequests", "slow down", retry_after=5),
        GraphUnavailable(503, "ServiceUnavailable", "try later", retry_after=5),
        GraphError(500, "InternalServerError", "oops", retry_after=5),
    ],
)
async def test_graph_busy_or_failing_is_retried_and_nothing_is_done_twice(
    tenant: AdminWorld, busy: GraphError
) -> None:
    tenant.standing.fail_on["remove_assignment"] = [busy]
    await tenant.press(MEGAN, _convert(GRADY, EXCHANGE))
    await tenant.world.run_jobs()
    [change] = await _changes(tenant, GRADY, EXCHANGE)
    assert change.state is ChangeState.IN_PROGRESS
    tenant.world.clock.advance(seconds=6)
    await tenant.world.run_jobs()
    assert [w[0] for w in tenant.standing.writes] == ["make_eligible", "remove_assignment"]
    [done] = await _changes(tenant, GRADY, EXCHANGE)
    assert done.state is ChangeState.DONE


@pytest.mark.parametrize(
    ("status", "code"), [(403, "Authorization_RequestDenied"), (409, "Conflict")]
)
async def test_graph_refusing_the_eligibility_changes_nothing_and_says_so(
    tenant: AdminWorld, status: int, code: str
) -> None:
    tenant.standing.fail_on["make_eligible"] = [GraphError(status, code, "refused")]
    await tenant.press(MEGAN, _convert(GRADY, EXCHANGE))
    await tenant.world.run_jobs()
    [change] = await _changes(tenant, GRADY, EXCHANGE)
    assert change.state is ChangeState.FAILED
    assert "Nothing was changed" in change.failure
    assert (GRADY.id, EXCHANGE.id) in tenant.standing.assignments
    told = [m.text for m in tenant.world.messenger.to(MEGAN.id) if isinstance(m, TextMessage)]
    assert any(t.startswith("❌ Not done") for t in told)
    entries = await tenant.audit()
    assert ("standing.convert.failed", "failed") in [(e.action, e.outcome) for e in entries]


async def test_graph_refusing_the_removal_leaves_the_person_with_both_and_says_so(
    tenant: AdminWorld,
) -> None:
    tenant.standing.fail_on["remove_assignment"] = [
        GraphError(403, "Authorization_RequestDenied", "no")
    ]
    await tenant.press(MEGAN, _convert(GRADY, EXCHANGE))
    await tenant.world.run_jobs()
    [change] = await _changes(tenant, GRADY, EXCHANGE)
    assert change.state is ChangeState.FAILED
    assert "nobody lost access" in change.failure
    assert (GRADY.id, EXCHANGE.id) in tenant.standing.eligible
    assert (GRADY.id, EXCHANGE.id) in tenant.standing.assignments


async def test_a_garbled_window_is_answered_in_words(tenant: AdminWorld) -> None:
    outcome = await tenant.press(MEGAN, _convert(GRADY, EXCHANGE, "forever"))
    assert "ISO 8601" in _texts(outcome)[0]


async def test_a_privileged_role_admin_conversion_also_needs_a_second_admin(
    tenant: AdminWorld,
) -> None:
    tenant.standing.hold(GRADY, PRIVILEGED)
    outcome = await tenant.press(MEGAN, _convert(GRADY, PRIVILEGED))
    assert "needs a second admin" in _texts(outcome)[0]


async def test_another_worker_doing_a_step_at_the_same_moment_is_not_a_failure(
    tenant: AdminWorld,
) -> None:
    """A replica whose lease ran out while Graph was slow may do a step just before this one:
    Graph then answers RoleAssignmentExists / RoleAssignmentDoesNotExist, and the conversion
    carries on instead of failing."""
    s = tenant.standing
    s.before["make_eligible"] = lambda: s.eligible.setdefault(
        (GRADY.id, EXCHANGE.id), (tenant.world.clock(), tenant.world.clock())
    )
    s.before["remove_assignment"] = lambda: s.assignments.pop((GRADY.id, EXCHANGE.id))
    await tenant.press(MEGAN, _convert(GRADY, EXCHANGE))
    await tenant.world.run_jobs()
    [change] = await _changes(tenant, GRADY, EXCHANGE)
    assert change.state is ChangeState.DONE, change.failure
    assert (GRADY.id, EXCHANGE.id) in s.eligible
    assert (GRADY.id, EXCHANGE.id) not in s.assignments
    assert s.writes == []  # both steps were the other worker's


HR_SYNC = Person(id="sp-hr-sync", tenant_id=TENANT, display_name="Contoso HR Sync")


async def test_an_app_is_listed_with_the_rest_by_risk_marked_as_an_app_and_never_converted(
    tenant: AdminWorld,
) -> None:
    """Graph grants service principals active assignments only: an app's row has no Convert and
    says why, and a Convert forged for it is refused in words, audited, and writes nothing."""
    now = tenant.world.clock()
    tenant.standing.hold(HR_SYNC, GLOBAL, principal_type="servicePrincipal")
    tenant.standing.assignments[(HR_SYNC.id, GLOBAL.id)] = tenant.standing.assignments[
        (HR_SYNC.id, GLOBAL.id)
    ].model_copy(update={"last_sign_in": now - timedelta(days=2)})
    card = _card(await tenant.say(MEGAN, "standing"))
    text = _text_of(card)
    assert "Contoso HR Sync (app)" in text
    assert "4 permanent Global Administrators" in text  # an app holding it permanently counts
    assert text.index("Contoso HR Sync") < text.index("Grady Archie")  # Global Admin first
    assert f"last sign-in {(now - timedelta(days=2)):%Y-%m-%d}" in text
    assert "an app cannot be made eligible in PIM" in text
    converts = [b for b in _buttons(card) if b["verb"] == "standing.convert"]
    assert HR_SYNC.id not in {b["principal_id"] for b in converts}

    outcome = await tenant.press(MEGAN, _convert(HR_SYNC, GLOBAL))
    [said] = _texts(outcome)
    assert "Contoso HR Sync is an app (a service principal): PIM cannot make an app eligible" in (
        said
    )
    assert "Nothing was changed" in said
    entries = await tenant.audit()
    assert (entries[-1].action, entries[-1].outcome) == ("standing.convert_refused", "refused")
    assert await _changes(tenant, HR_SYNC, GLOBAL) == []
    assert tenant.standing.writes == []
