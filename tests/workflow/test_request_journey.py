"""The core journey, told by the workflow: request → approve → activate → warn → end."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.domain import (
    CardMessage,
    GraphUnavailable,
    Outcome,
    Person,
    PolicyValidationFailed,
    RequestState,
    SignInRequest,
    TextMessage,
)
from bot.workflow import deciding
from tests.workflow.conftest import World
from tests.workflow.fakes import (
    ADELE,
    EXCHANGE,
    LIDIA,
    MALLORY,
    MEGAN,
    NESTOR,
    SECURITY,
    USER_ADMIN,
)


def texts(messages: list[object]) -> str:
    out = []
    for m in messages:
        if isinstance(m, TextMessage):
            out.append(m.text)
        elif isinstance(m, CardMessage):
            out.append(m.summary + " " + str(m.card))
    return "\n".join(out)


# --- asking ---------------------------------------------------------------------------------


async def test_a_role_without_approval_is_activated_at_once(world: World) -> None:
    outcome = await world.submit(ADELE, USER_ADMIN.id, duration="PT2H")
    request = await world.only_request(ADELE)
    assert request.state is RequestState.APPROVED
    assert outcome.card_update is not None

    await world.run_jobs()

    request = await world.request(request.id)
    assert request.state is RequestState.ACTIVE
    assert request.end == world.clock() + timedelta(hours=2)
    assert world.engine.calls == [("activate", ADELE.id, USER_ADMIN.id)]
    assert "User Administrator is active until" in texts(world.messenger.to(ADELE.id))


async def test_the_form_prefills_what_was_typed(world: World) -> None:
    outcome = await world.say(ADELE, "activate exch admin for 2h because INC-1234 mailbox restore")
    card = str(outcome.replies[0].card)  # type: ignore[union-attr]
    assert "Exchange Administrator" in card
    assert "INC-1234 mailbox restore" in card
    assert "PT2H" in card


async def test_a_duration_over_the_maximum_keeps_the_form_and_says_why(world: World) -> None:
    outcome = await world.submit(ADELE, EXCHANGE.id, duration="PT9H", justification="restore")
    assert outcome.card_update is not None
    assert "longer than this role allows" in str(outcome.card_update)
    assert "restore" in str(outcome.card_update)  # nothing typed is lost
    async with world.db.transaction() as tx:
        assert await tx.requests.open_for_requester(ADELE.id) == []


async def test_a_reason_over_the_limit_is_kept_on_the_form_and_refused_when_sent(
    world: World,
) -> None:
    typed = "restore the mailbox of the finance team " * 40  # 1,600 characters
    outcome = await world.say(ADELE, f"activate exch admin for 2h because {typed}")
    (card,) = [m.card for m in outcome.replies if isinstance(m, CardMessage)]
    shown = texts(outcome.replies)
    assert typed.strip() in shown  # nothing cut
    assert "Your reason is 1,599 characters; up to 500 fit" in shown

    from tests.workflow.conftest import _submit_data

    refused = await world.press(ADELE, _submit_data(card))
    assert "too long (at most 500 characters)" in texts(refused.replies)
    async with world.db.transaction() as tx:
        assert await tx.requests.open_for_requester(ADELE.id) == []


async def test_missing_justification_and_ticket_are_refused(world: World) -> None:
    outcome = await world.submit(
        ADELE, SECURITY.id, duration="PT1H", justification="", ticket_number=""
    )
    assert "needs a justification" in str(outcome.card_update)
    assert "needs a ticket number" in str(outcome.card_update)


async def test_a_card_submitted_twice_makes_one_request(world: World) -> None:
    form = await world.form_for(ADELE, USER_ADMIN.id)
    from tests.workflow.conftest import _submit_data

    data = _submit_data(form)
    first, second = await asyncio.gather(world.press(ADELE, data), world.press(ADELE, data))
    await world.run_jobs()
    assert world.engine.activations() == 1
    assert "already sent" in (str(first.toast) + str(second.toast))


async def test_someone_not_eligible_is_told_what_they_can_activate(world: World) -> None:
    outcome = await world.say(MALLORY, "activate Exchange Admin")
    assert "not eligible" in texts(outcome.replies).lower()


async def test_asking_for_an_active_role_says_until_when(world: World) -> None:
    await world.submit(ADELE, USER_ADMIN.id, duration="PT1H")
    await world.run_jobs()
    outcome = await world.say(ADELE, "activate user administrator")
    assert "You already have **User Administrator**: it is active until" in texts(outcome.replies)


async def test_a_permanent_holder_is_told_they_have_it_not_that_they_are_not_eligible(
    world: World,
) -> None:
    world.directory.active[(MALLORY.id, EXCHANGE.id)] = (world.clock(), None)
    outcome = await world.say(MALLORY, "activate exchange admin")
    said = texts(outcome.replies)
    assert "You already have **Exchange Administrator**: it is assigned to you permanently" in said
    assert "not eligible" not in said


async def test_the_not_eligible_card_offers_only_roles_not_active_now(world: World) -> None:
    await world.submit(ADELE, USER_ADMIN.id, duration="PT1H")
    await world.run_jobs()
    outcome = await world.say(ADELE, "activate global admin")
    (card,) = [m.card for m in outcome.replies if isinstance(m, CardMessage)]
    titles = [a["title"] for a in _buttons(card)]
    assert "Activate Exchange Administrator" in titles
    assert "Activate User Administrator" not in titles


def _buttons(card: dict[str, object]) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.Execute":
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    return found


async def test_deactivating_a_role_that_is_not_active_says_so_and_what_is(world: World) -> None:
    await world.submit(ADELE, USER_ADMIN.id, duration="PT1H")
    await world.run_jobs()
    world.clock.advance(minutes=10)
    outcome = await world.say(ADELE, "deactivate exchange admin")
    said = texts(outcome.replies)
    assert "**Exchange Administrator** isn't active for you. Active now: User Administrator" in said
    assert world.engine.calls == [("activate", ADELE.id, USER_ADMIN.id)]  # nothing deactivated


async def test_deactivating_when_nothing_is_active_names_the_role(world: World) -> None:
    outcome = await world.say(ADELE, "deactivate exchange admin")
    assert "**Exchange Administrator** isn't active for you, and nothing else is" in texts(
        outcome.replies
    )


async def test_extending_a_permanent_role_says_it_is_permanent(world: World) -> None:
    world.directory.active[(MALLORY.id, EXCHANGE.id)] = (world.clock(), None)
    outcome = await world.say(MALLORY, "extend exchange admin")
    assert "You have **Exchange Administrator** permanently" in texts(outcome.replies)


async def test_extending_a_role_that_is_not_active_says_so(world: World) -> None:
    await world.submit(ADELE, USER_ADMIN.id, duration="PT1H")
    await world.run_jobs()
    outcome = await world.say(ADELE, "extend exchange admin")
    said = texts(outcome.replies)
    assert "**Exchange Administrator** isn't active for you. Active now: User Administrator" in said
    assert not [m for m in outcome.replies if isinstance(m, CardMessage)]


# --- approval -------------------------------------------------------------------------------


async def _pending_exchange_request(world: World) -> str:
    await world.submit(ADELE, EXCHANGE.id, duration="PT2H", justification="mailbox restore")
    request = await world.only_request(ADELE)
    assert request.state is RequestState.PENDING_APPROVAL
    await world.run_jobs()
    return request.id


async def test_every_approver_gets_a_card_but_never_the_requester(world: World) -> None:
    request_id = await _pending_exchange_request(world)
    request = await world.request(request_id)
    # megan by name, nestor and lidia through the group; adele is in the group but asked herself
    assert set(request.approver_ids) == {MEGAN.id, NESTOR.id, LIDIA.id}
    for approver in (MEGAN, NESTOR, LIDIA):
        assert "approve or deny" in texts(world.messenger.to(approver.id))
    assert "approve or deny" not in texts(world.messenger.to(ADELE.id))
    assert world.engine.calls == []


async def test_first_decision_wins_and_every_copy_is_updated(world: World) -> None:
    request_id = await _pending_exchange_request(world)
    outcome = await world.press(MEGAN, {"verb": "request.approve", "request_id": request_id})
    assert "Approved" in str(outcome.card_update)
    await world.run_jobs()

    request = await world.request(request_id)
    assert request.state is RequestState.ACTIVE
    assert request.decided_by is not None and request.decided_by.id == MEGAN.id
    updated = {sent.person_id for sent, _ in world.messenger.updates}
    assert {MEGAN.id, NESTOR.id, LIDIA.id, ADELE.id} <= updated
    assert "Megan approved" in texts(world.messenger.to(ADELE.id))
    assert world.engine.activations() == 1

    late = await world.press(
        NESTOR, {"verb": "request.deny", "request_id": request_id, "reason": "no"}
    )
    assert late.toast is not None and "Already approved by Megan" in late.toast
    assert (await world.request(request_id)).state is RequestState.ACTIVE


async def test_concurrent_decisions_make_exactly_one(world: World) -> None:
    request_id = await _pending_exchange_request(world)
    taps = [
        world.press(who, {"verb": verb, "request_id": request_id, "reason": "r"})
        for who in (MEGAN, NESTOR, LIDIA) * 4
        for verb in ("request.approve", "request.deny")
    ]
    await asyncio.gather(*taps)
    await world.run_jobs()
    request = await world.request(request_id)
    assert request.state in (RequestState.ACTIVE, RequestState.DENIED)
    assert world.engine.activations() <= 1
    async with world.db.transaction() as tx:
        decisions = [
            e
            for e in await tx.audit.entries(request_id=request_id)
            if e.action in ("request.approved", "request.denied")
        ]
    assert len(decisions) == 1


async def test_a_requester_can_never_approve_their_own_request(world: World) -> None:
    request_id = await _pending_exchange_request(world)
    outcome = await world.press(ADELE, {"verb": "request.approve", "request_id": request_id})
    assert "can't approve or deny your own request" in texts(outcome.replies)
    assert (await world.request(request_id)).state is RequestState.PENDING_APPROVAL
    async with world.db.transaction() as tx:
        actions = [e.action for e in await tx.audit.entries(request_id=request_id)]
    assert "request.approve_refused" in actions


async def test_nobody_outside_the_approver_list_can_decide(world: World) -> None:
    request_id = await _pending_exchange_request(world)
    outcome = await world.press(MALLORY, {"verb": "request.approve", "request_id": request_id})
    assert "not an approver" in texts(outcome.replies)
    assert (await world.request(request_id)).state is RequestState.PENDING_APPROVAL


async def test_an_approver_removed_from_the_policy_can_no_longer_decide(world: World) -> None:
    request_id = await _pending_exchange_request(world)
    world.directory.groups["leads"] = []
    outcome = await world.press(NESTOR, {"verb": "request.approve", "request_id": request_id})
    assert "no longer an approver" in texts(outcome.replies)


async def test_a_card_pointing_at_an_unknown_request_is_refused(world: World) -> None:
    await _pending_exchange_request(world)
    outcome = await world.press(
        MEGAN, {"verb": "request.approve", "request_id": "00000000-0000-0000-0000-000000000000"}
    )
    assert "can't find that request" in texts(outcome.replies)


async def test_denying_needs_a_reason_and_tells_the_requester(world: World) -> None:
    request_id = await _pending_exchange_request(world)
    outcome = await world.press(MEGAN, {"verb": "request.deny", "request_id": request_id})
    assert "reason" in texts(outcome.replies)
    assert (await world.request(request_id)).state is RequestState.PENDING_APPROVAL

    await world.press(
        MEGAN, {"verb": "request.deny", "request_id": request_id, "reason": "use the helpdesk role"}
    )
    await world.run_jobs()
    assert (await world.request(request_id)).state is RequestState.DENIED
    assert "use the helpdesk role" in texts(world.messenger.to(ADELE.id))
    assert world.engine.calls == []


async def test_the_requester_can_cancel_while_pending(world: World) -> None:
    request_id = await _pending_exchange_request(world)
    outcome = await world.say(ADELE, "cancel")
    assert "Cancelled your request" in texts(outcome.replies)
    late = await world.press(MEGAN, {"verb": "request.approve", "request_id": request_id})
    assert "cancelled" in str(late.toast)
    assert world.engine.calls == []


async def test_an_unanswered_request_expires(world: World) -> None:
    request_id = await _pending_exchange_request(world)
    world.clock.advance(days=1, seconds=1)
    await world.run_jobs()
    assert (await world.request(request_id)).state is RequestState.EXPIRED_UNAPPROVED
    assert "expired" in texts(world.messenger.to(ADELE.id))


# --- Graph trouble --------------------------------------------------------------------------


async def test_a_graph_outage_keeps_the_request_and_retries(world: World) -> None:
    world.engine.failures = [GraphUnavailable(503, "serviceNotAvailable", "down")]
    await world.submit(ADELE, USER_ADMIN.id, duration="PT1H")
    await world.run_jobs()
    request = await world.only_request(ADELE)
    assert request.state is RequestState.APPROVED
    assert "isn't answering" in texts(world.messenger.to(ADELE.id))

    world.clock.advance(seconds=6)
    await world.run_jobs()
    assert (await world.request(request.id)).state is RequestState.ACTIVE


async def test_a_policy_refusal_fails_plainly_and_can_be_retried(world: World) -> None:
    world.engine.failures = [
        PolicyValidationFailed(
            400,
            "RoleAssignmentRequestPolicyValidationFailed",
            'The following policy rules failed: ["ExpirationRule"]',
        )
    ]
    await world.submit(ADELE, USER_ADMIN.id, duration="PT1H")
    await world.run_jobs()
    request = await world.only_request(ADELE)
    assert request.state is RequestState.FAILED
    assert "longer than the role allows" in texts(world.messenger.to(ADELE.id))

    await world.press(ADELE, {"verb": "request.retry", "request_id": request.id})
    await world.run_jobs()
    assert (await world.request(request.id)).state is RequestState.ACTIVE


async def test_a_redelivered_activation_does_not_activate_twice(world: World) -> None:
    await world.submit(ADELE, USER_ADMIN.id, duration="PT1H")
    request = await world.only_request(ADELE)
    # As if a first run reached Graph and died before recording it:
    world.directory.active[(ADELE.id, USER_ADMIN.id)] = (
        world.clock(),
        world.clock() + timedelta(hours=1),
    )
    await world.run_jobs()
    request = await world.request(request.id)
    assert request.state is RequestState.ACTIVE
    assert request.end == world.clock() + timedelta(hours=1)


# --- expiry ---------------------------------------------------------------------------------


async def test_warned_before_the_end_once_then_told_it_ended(world: World) -> None:
    await world.submit(ADELE, USER_ADMIN.id, duration="PT1H")
    await world.run_jobs()
    request = await world.only_request(ADELE)

    world.clock.advance(minutes=44)
    await world.run_jobs()
    assert "ends at" not in texts(world.messenger.to(ADELE.id))

    world.clock.advance(minutes=1, seconds=1)
    await world.run_jobs()
    await world.run_jobs()
    warnings = [m for m in world.messenger.to(ADELE.id) if "ends at" in texts([m])]
    assert len(warnings) == 1
    assert "role.extend" in str(warnings[0]) and "role.deactivate" in str(warnings[0])

    world.clock.advance(minutes=15, seconds=5)
    await world.run_jobs()
    assert (await world.request(request.id)).state is RequestState.ENDED
    assert "has ended" in texts(world.messenger.to(ADELE.id))


async def test_expiry_follows_graph_when_the_end_moves(world: World) -> None:
    await world.submit(ADELE, USER_ADMIN.id, duration="PT1H")
    await world.run_jobs()
    start, end = world.directory.active[(ADELE.id, USER_ADMIN.id)]
    world.directory.active[(ADELE.id, USER_ADMIN.id)] = (start, end + timedelta(hours=1))

    world.clock.advance(minutes=46)
    await world.run_jobs()
    assert "ends at" not in texts(world.messenger.to(ADELE.id))

    world.clock.advance(hours=1)
    await world.run_jobs()
    assert "ends at" in texts(world.messenger.to(ADELE.id))


async def test_a_short_activation_is_warned_at_once(world: World) -> None:
    await world.submit(ADELE, USER_ADMIN.id, duration="PT10M")
    await world.run_jobs()
    assert "ends at" in texts(world.messenger.to(ADELE.id))


async def test_deactivate_ends_the_role_early(world: World) -> None:
    await world.submit(ADELE, USER_ADMIN.id, duration="PT1H")
    await world.run_jobs()
    world.clock.advance(minutes=10)
    outcome = await world.say(ADELE, "deactivate user admin")
    assert "no longer active" in texts(outcome.replies)
    assert (await world.only_request(ADELE)).state is RequestState.ENDED


# --- MFA ------------------------------------------------------------------------------------


async def test_mfa_roles_need_a_sign_in_with_mfa(world: World) -> None:
    outcome = await world.submit(
        ADELE, SECURITY.id, duration="PT1H", justification="incident", ticket_number="INC-9"
    )
    sign_in = [m for m in outcome.replies if isinstance(m, SignInRequest)]
    assert sign_in
    request = await world.only_request(ADELE)
    assert request.state is RequestState.DRAFT

    actor = world.actor(ADELE)
    weak = await world.workflow.on_token_exchange(actor, request.id, f"{ADELE.id}:pwd")
    assert not weak.accepted and "multi-factor" in weak.failure_detail
    assert (await world.request(request.id)).state is RequestState.DRAFT

    stolen = await world.workflow.on_token_exchange(actor, request.id, f"{MEGAN.id}:mfa")
    assert not stolen.accepted

    strong = await world.workflow.on_token_exchange(actor, request.id, f"{ADELE.id}:mfa")
    assert strong.accepted
    await world.run_jobs()
    request = await world.request(request.id)
    assert request.state is RequestState.ACTIVE
    assert request.mfa_verified_at is not None


async def test_an_approval_needs_a_reason_when_the_policy_says_so(world: World) -> None:
    policy = world.directory.policies[EXCHANGE.id]
    world.directory.policies[EXCHANGE.id] = policy.model_copy(
        update={"approver_justification_required": True}
    )
    request_id = await _pending_exchange_request(world)
    outcome = await world.press(MEGAN, {"verb": "request.approve", "request_id": request_id})
    assert "asks approvers for a reason" in texts(outcome.replies)
    assert (await world.request(request_id)).state is RequestState.PENDING_APPROVAL

    await world.press(
        MEGAN,
        {"verb": "request.approve", "request_id": request_id, "reason": "restore is scheduled"},
    )
    assert (await world.request(request_id)).state is RequestState.APPROVED


async def test_eligibility_gone_between_approval_and_activation_stops_the_activation(
    world: World,
) -> None:
    """adminAssign is an admin action PIM does not check against eligibility: the activation
    job reads the requester's eligibility fresh and refuses when it is gone."""
    request_id = await _pending_exchange_request(world)
    await world.press(
        MEGAN, {"verb": "request.approve", "request_id": request_id, "reason": "restore"}
    )
    assert (await world.request(request_id)).state is RequestState.APPROVED

    # Meanwhile an administrator took Adele's eligibility away (or her group's).
    world.directory.eligible[ADELE.id] = [
        r for r in world.directory.eligible[ADELE.id] if r != EXCHANGE
    ]
    await world.run_jobs()

    request = await world.request(request_id)
    assert request.state is RequestState.FAILED
    assert "no longer eligible for Exchange Administrator" in request.failure
    assert world.engine.calls == []
    assert "no longer eligible" in texts(world.messenger.to(ADELE.id))
    async with world.db.transaction() as tx:
        failed = [
            e
            for e in await tx.audit.entries(request_id=request_id)
            if e.action == "activation.failed"
        ]
    assert len(failed) == 1
    assert "no longer eligible" in (failed[0].reason or "")


async def test_a_slow_graph_does_not_hold_the_approval_and_activation_rechecks(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Teams wants the tap answered at once: with Graph slow, the decision is taken on the stored
    approver list and the current policy is checked again before activating."""
    monkeypatch.setattr(deciding, "CURRENT_POLICY_BUDGET_SECONDS", 0.01)
    request_id = await _pending_exchange_request(world)
    world.directory.approvers_gate = asyncio.Event()
    outcome = await world.press(NESTOR, {"verb": "request.approve", "request_id": request_id})
    assert "Approved" in str(outcome.card_update)
    assert (await world.request(request_id)).state is RequestState.APPROVED

    # Meanwhile Nestor left the approver group; Graph answers again.
    world.directory.groups["leads"] = [LIDIA]
    world.directory.approvers_gate.set()
    await world.run_jobs()
    request = await world.request(request_id)
    assert request.state is RequestState.FAILED
    assert "no longer an approver" in request.failure
    assert world.engine.calls == []

    # Retry cannot get around it.
    await world.press(ADELE, {"verb": "request.retry", "request_id": request_id})
    await world.run_jobs()
    assert (await world.request(request_id)).state is RequestState.FAILED
    assert world.engine.calls == []


# --- extend ---------------------------------------------------------------------------------


async def _extend(world: World, who: Person, text: str, duration: str) -> Outcome:
    """Type `text` (`extend …`), then press Extend on the form with `duration`."""
    from tests.workflow.conftest import _submit_data

    form = await world.say(who, text)
    (card,) = [m.card for m in form.replies if isinstance(m, CardMessage)]
    return await world.press(who, {**_submit_data(card), "duration": duration})


async def test_extend_adds_to_the_current_end_not_to_now(world: World) -> None:
    await world.submit(ADELE, USER_ADMIN.id, duration="PT1H")
    await world.run_jobs()
    first_end = (await world.only_request(ADELE)).end
    assert first_end is not None
    world.clock.advance(minutes=45)

    await _extend(world, ADELE, "extend user admin", "PT30M")
    await world.run_jobs()

    async with world.db.transaction() as tx:
        active = await tx.requests.active_for(ADELE.id, USER_ADMIN.id)
    assert active is not None and active.end == first_end + timedelta(minutes=30)
    said = texts(world.messenger.to(ADELE.id))
    assert "User Administrator is extended by 30 min, now until" in said
    assert "Activating now" not in said


async def test_extend_adds_no_more_than_the_longest_activation_from_now(world: World) -> None:
    await world.submit(ADELE, USER_ADMIN.id, duration="PT8H")  # the role's longest
    await world.run_jobs()
    world.clock.advance(hours=2)

    form = await world.say(ADELE, "extend user admin")
    shown = texts(form.replies)
    assert "'title': 'Adds at most', 'value': '2 h'" in shown
    assert "'title': 'Active until'" in shown
    refused = await _extend(world, ADELE, "extend user admin", "PT3H")
    assert "longer than this role allows" in str(refused.card_update)
    assert [call[0] for call in world.engine.calls] == ["activate"]


async def test_extend_at_the_longest_says_so_instead_of_a_form(world: World) -> None:
    await world.submit(ADELE, USER_ADMIN.id, duration="PT8H")
    await world.run_jobs()
    outcome = await world.say(ADELE, "extend user admin")
    assert "already the longest this role allows" in texts(outcome.replies)


# --- user text is data ----------------------------------------------------------------------

PHISHING = "INC-8 see [runbook](http://evil.example/login) **urgent**"


async def test_user_text_in_messages_is_shown_as_typed_not_as_markdown(world: World) -> None:
    from cards.text import as_typed
    from tests.cards.markdown import markup_in

    request_id = await _pending_exchange_request(world)
    await world.press(MEGAN, {"verb": "request.deny", "request_id": request_id, "reason": PHISHING})
    await world.run_jobs()

    (told,) = [
        m.text
        for m in world.messenger.to(ADELE.id)
        if isinstance(m, TextMessage) and "denied" in m.text
    ]
    assert PHISHING in as_typed(told)
    # only pimbot's own bold role name is markup; the approver's reason is not
    assert markup_in(told) == ["<strong>", "</strong>"]
