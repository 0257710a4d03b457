import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import StatementError

from bot.domain import (
    OPEN_STATES,
    TRANSITIONS,
    ActivationRequest,
    RequestState,
    Ticket,
)
from bot.store import Database, RequestNotFound
from tests.store.factories import (
    ALICE,
    BOB,
    CAROL,
    EXCHANGE_ADMIN,
    SECURITY_ADMIN,
    T0,
    a_request,
    a_request_with_every_field,
)

S = RequestState
LATER = T0 + timedelta(minutes=5)


async def _insert(db: Database, *requests: ActivationRequest) -> None:
    async with db.transaction() as tx:
        for request in requests:
            await tx.requests.insert(request)


async def _get(db: Database, request_id: str) -> ActivationRequest | None:
    async with db.transaction() as tx:
        return await tx.requests.get(request_id)


async def test_every_field_round_trips(db: Database) -> None:
    request = a_request_with_every_field()
    await _insert(db, request)

    assert await _get(db, request.id) == request


async def test_defaults_round_trip(db: Database) -> None:
    request = a_request()
    await _insert(db, request)

    assert await _get(db, request.id) == request


async def test_times_in_other_zones_come_back_as_the_same_instant_in_utc(db: Database) -> None:
    tokyo = timezone(timedelta(hours=9))
    request = a_request(created_at=T0.astimezone(tokyo), updated_at=T0.astimezone(tokyo))
    await _insert(db, request)

    stored = await _get(db, request.id)
    assert stored is not None
    assert stored.created_at == T0
    assert stored.created_at.utcoffset() == timedelta(0)


async def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        await _insert(db, a_request(created_at=datetime(2025, 1, 1)))


async def test_an_unknown_request_is_none(db: Database) -> None:
    assert await _get(db, "nope") is None


async def test_inserting_the_same_id_twice_writes_once(db: Database) -> None:
    request = a_request(approver_ids=("bob-id",))
    async with db.transaction() as tx:
        assert await tx.requests.insert(request) is True
    changed = request.model_copy(update={"justification": "second"})
    async with db.transaction() as tx:
        assert await tx.requests.insert(changed) is False
        stored = await tx.requests.get(request.id)
    assert stored is not None and stored.justification == request.justification


async def test_transition_moves_state_applies_changes_and_bumps_version(db: Database) -> None:
    request = a_request(state=S.PENDING_APPROVAL, approver_ids=("bob-id",))
    await _insert(db, request)

    async with db.transaction() as tx:
        approved = await tx.requests.transition(
            request.id,
            from_states={S.PENDING_APPROVAL},
            to=S.APPROVED,
            now=LATER,
            decided_by=BOB,
            decided_at=LATER,
            decision_reason="ok",
        )

    assert approved is not None
    assert approved.state is S.APPROVED
    assert approved.decided_by == BOB
    assert approved.decision_reason == "ok"
    assert approved.updated_at == LATER
    assert approved.version == request.version + 1
    assert await _get(db, request.id) == approved


async def test_second_decision_loses_and_changes_nothing(db: Database) -> None:
    request = a_request(state=S.PENDING_APPROVAL, approver_ids=("bob-id", "carol-id"))
    await _insert(db, request)

    async with db.transaction() as tx:
        first = await tx.requests.transition(
            request.id, from_states={S.PENDING_APPROVAL}, to=S.APPROVED, now=LATER, decided_by=BOB
        )
    async with db.transaction() as tx:
        second = await tx.requests.transition(
            request.id, from_states={S.PENDING_APPROVAL}, to=S.DENIED, now=LATER, decided_by=CAROL
        )

    assert first is not None
    assert second is None
    stored = await _get(db, request.id)
    assert stored is not None
    assert (stored.state, stored.decided_by, stored.version) == (S.APPROVED, BOB, 2)


async def test_transition_of_an_unknown_request_is_none(db: Database) -> None:
    async with db.transaction() as tx:
        assert (
            await tx.requests.transition("nope", from_states={S.DRAFT}, to=S.SUBMITTED, now=LATER)
            is None
        )


async def test_fifty_concurrent_decisions_from_two_engines_have_exactly_one_winner(
    database_url: str, db: Database
) -> None:
    request = a_request(state=S.PENDING_APPROVAL, approver_ids=("bob-id", "carol-id"))
    await _insert(db, request)
    other_engine = await Database.connect(database_url)

    async def decide(database: Database, attempt: int) -> ActivationRequest | None:
        async with database.transaction() as tx:
            return await tx.requests.transition(
                request.id,
                from_states={S.PENDING_APPROVAL},
                to=S.APPROVED if attempt % 2 else S.DENIED,
                now=LATER,
                decision_reason=f"attempt {attempt}",
            )

    try:
        results = await asyncio.gather(
            *(decide(db if i % 2 else other_engine, i) for i in range(50))
        )
    finally:
        await other_engine.close()

    winners = [result for result in results if result is not None]
    assert len(winners) == 1
    assert await _get(db, request.id) == winners[0]
    assert winners[0].version == 2


@pytest.mark.parametrize(
    ("from_state", "to"),
    [(S.DRAFT, S.ACTIVE), (S.ENDED, S.ACTIVE), (S.DENIED, S.APPROVED), (S.ACTIVE, S.FAILED)],
)
async def test_a_transition_not_in_the_state_machine_is_refused(
    db: Database, from_state: RequestState, to: RequestState
) -> None:
    assert to not in TRANSITIONS[from_state]
    request = a_request(state=from_state)
    await _insert(db, request)

    with pytest.raises(ValueError, match="not allowed"):
        async with db.transaction() as tx:
            await tx.requests.transition(request.id, from_states={from_state}, to=to, now=LATER)
    assert await _get(db, request.id) == request


async def test_one_illegal_source_state_spoils_the_whole_transition(db: Database) -> None:
    with pytest.raises(ValueError, match="draft -> approved"):
        async with db.transaction() as tx:
            await tx.requests.transition(
                "any", from_states={S.PENDING_APPROVAL, S.DRAFT}, to=S.APPROVED, now=LATER
            )


async def test_transition_from_any_of_several_states(db: Database) -> None:
    request = a_request(state=S.ACTIVATING)
    await _insert(db, request)

    async with db.transaction() as tx:
        failed = await tx.requests.transition(
            request.id,
            from_states={S.APPROVED, S.ACTIVATING},
            to=S.FAILED,
            now=LATER,
            failure="Graph said no",
        )

    assert failed is not None
    assert (failed.state, failed.failure) == (S.FAILED, "Graph said no")


@pytest.mark.parametrize("field", ["id", "state", "version", "updated_at"])
async def test_changes_may_not_touch_what_the_store_manages(db: Database, field: str) -> None:
    request = a_request()
    await _insert(db, request)
    with pytest.raises(ValueError, match="manages"):
        async with db.transaction() as tx:
            await tx.requests.update(request.id, now=LATER, **{field: getattr(request, field)})


async def test_changes_to_unknown_fields_are_refused(db: Database) -> None:
    with pytest.raises(ValueError, match="no field"):
        async with db.transaction() as tx:
            await tx.requests.update("any", now=LATER, colour="blue")


async def test_changes_are_validated_like_the_model(db: Database) -> None:
    request = a_request()
    await _insert(db, request)
    with pytest.raises(ValueError, match="duration"):
        async with db.transaction() as tx:
            await tx.requests.update(request.id, now=LATER, duration="not a duration")


async def test_update_changes_fields_but_not_state(db: Database) -> None:
    request = a_request(require_mfa=True)
    await _insert(db, request)

    async with db.transaction() as tx:
        updated = await tx.requests.update(
            request.id,
            now=LATER,
            mfa_verified_at=LATER,
            ticket=Ticket(number="INC-1"),
            approver_ids=["carol-id", "bob-id"],
        )

    assert updated.state is S.DRAFT
    assert updated.mfa_verified_at == LATER
    assert updated.ticket == Ticket(number="INC-1")
    assert updated.approver_ids == ("carol-id", "bob-id")
    assert updated.version == 2
    assert await _get(db, request.id) == updated


async def test_fields_can_be_cleared_again(db: Database) -> None:
    request = a_request_with_every_field(state=S.FAILED)
    await _insert(db, request)

    async with db.transaction() as tx:
        retried = await tx.requests.transition(
            request.id,
            from_states={S.FAILED},
            to=S.APPROVED,
            now=LATER,
            failure="",
            ticket=None,
            decided_by=None,
            graph_request_id=None,
            approver_ids=(),
        )

    assert retried is not None
    assert (retried.ticket, retried.decided_by, retried.graph_request_id) == (None, None, None)
    assert retried.approver_ids == ()
    assert await _get(db, request.id) == retried


async def test_update_of_an_unknown_request_raises(db: Database) -> None:
    with pytest.raises(RequestNotFound):
        async with db.transaction() as tx:
            await tx.requests.update("nope", now=LATER, justification="x")


async def test_open_requests_of_a_requester_newest_first(db: Database) -> None:
    older = a_request(state=S.PENDING_APPROVAL, created_at=T0)
    newer = a_request(state=S.DRAFT, role=SECURITY_ADMIN, created_at=T0 + timedelta(seconds=1))
    closed = [a_request(state=state) for state in set(RequestState) - OPEN_STATES]
    someone_elses = a_request(requester=BOB)
    await _insert(db, older, newer, someone_elses, *closed)

    async with db.transaction() as tx:
        assert await tx.requests.open_for_requester(ALICE.id) == [newer, older]
        assert await tx.requests.open_for_requester(CAROL.id) == []


async def test_open_request_for_a_role(db: Database) -> None:
    ended = a_request(state=S.ENDED)
    open_one = a_request(state=S.SUBMITTED, created_at=T0 + timedelta(seconds=1))
    other_role = a_request(state=S.SUBMITTED, role=SECURITY_ADMIN)
    await _insert(db, ended, open_one, other_role)

    async with db.transaction() as tx:
        assert await tx.requests.open_for_role(ALICE.id, EXCHANGE_ADMIN.id) == open_one
        assert await tx.requests.open_for_role(BOB.id, EXCHANGE_ADMIN.id) is None


async def test_pending_for_approver_lists_only_pending_requests_naming_them(db: Database) -> None:
    for_bob = a_request(state=S.PENDING_APPROVAL, approver_ids=("bob-id", "carol-id"))
    for_carol = a_request(state=S.PENDING_APPROVAL, approver_ids=("carol-id",))
    decided = a_request(state=S.APPROVED, approver_ids=("bob-id",))
    await _insert(db, for_bob, for_carol, decided)

    async with db.transaction() as tx:
        assert await tx.requests.pending_for_approver(BOB.id) == [for_bob]
        assert {r.id for r in await tx.requests.pending_for_approver(CAROL.id)} == {
            for_bob.id,
            for_carol.id,
        }
        assert await tx.requests.pending_for_approver(ALICE.id) == []


async def test_all_active_for_reads_only_the_persons_activations_of_the_role(db: Database) -> None:
    activation = a_request(state=S.ACTIVE, end=T0 + timedelta(hours=2))
    extension = a_request(state=S.ACTIVE, created_at=T0 + timedelta(hours=1))
    other_role = a_request(state=S.ACTIVE, role=SECURITY_ADMIN)
    other_person = a_request(state=S.ACTIVE, requester=BOB)
    ended = a_request(state=S.ENDED)
    await _insert(db, activation, extension, other_role, other_person, ended)

    async with db.transaction() as tx:
        found = await tx.requests.all_active_for(ALICE.id, EXCHANGE_ADMIN.id)

    assert found == [extension, activation]


async def test_an_approvers_queue_reads_the_newest_few_and_counts_them_all(db: Database) -> None:
    waiting = [
        a_request(
            state=S.PENDING_APPROVAL,
            approver_ids=("bob-id",),
            created_at=T0 + timedelta(seconds=n),
        )
        for n in range(5)
    ]
    decided = a_request(state=S.APPROVED, approver_ids=("bob-id",))
    not_bobs = a_request(state=S.PENDING_APPROVAL, approver_ids=("carol-id",))
    await _insert(db, *waiting, decided, not_bobs)

    async with db.transaction() as tx:
        assert await tx.requests.pending_for_approver(BOB.id, limit=2) == [waiting[4], waiting[3]]
        assert await tx.requests.count_pending_for_approver(BOB.id) == 5
        assert await tx.requests.count_pending_for_approver(ALICE.id) == 0


async def test_a_decided_request_leaves_the_approvers_queue(db: Database) -> None:
    request = a_request(state=S.PENDING_APPROVAL, approver_ids=("bob-id",))
    await _insert(db, request)

    async with db.transaction() as tx:
        await tx.requests.transition(
            request.id, from_states={S.PENDING_APPROVAL}, to=S.DENIED, now=LATER
        )
        assert await tx.requests.pending_for_approver(BOB.id) == []


async def test_active_for_finds_the_active_request_of_a_person_and_role(db: Database) -> None:
    active = a_request(state=S.ACTIVE, end=T0 + timedelta(hours=2))
    ended = a_request(state=S.ENDED)
    await _insert(db, active, ended)

    async with db.transaction() as tx:
        assert await tx.requests.active_for(ALICE.id, EXCHANGE_ADMIN.id) == active
        assert await tx.requests.active_for(ALICE.id, SECURITY_ADMIN.id) is None
        assert await tx.requests.active_for(BOB.id, EXCHANGE_ADMIN.id) is None


async def test_list_in_states(db: Database) -> None:
    activating = a_request(state=S.ACTIVATING)
    approved = a_request(state=S.APPROVED)
    active = a_request(state=S.ACTIVE)
    await _insert(db, activating, approved, active)

    async with db.transaction() as tx:
        found = await tx.requests.list_in_states({S.APPROVED, S.ACTIVATING})
        assert {r.id for r in found} == {activating.id, approved.id}
        assert await tx.requests.list_in_states(set()) == []
