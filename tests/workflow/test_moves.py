"""move(): the one way a request changes state, with everything that follows every change."""

from __future__ import annotations

from bot.domain import RequestState
from bot.workflow.moves import Notice, move
from tests.store.factories import BOB, a_request
from tests.workflow.conftest import World


async def test_a_move_is_audited_refreshes_the_cards_tells_people_once_and_wakes_the_scheduler(
    world: World,
) -> None:
    deps = world.workflow.deps
    woken: list[str] = []
    deps.wake_scheduler = lambda: woken.append("woken")
    request = a_request(state=RequestState.ACTIVE)
    async with world.db.transaction() as tx:
        await tx.requests.insert(request)

    async with world.db.transaction() as tx:
        moved = await move(
            deps,
            tx,
            request,
            from_states=RequestState.ACTIVE,
            to=RequestState.ENDED,
            action="role.expired",
            actor=None,
            notice=Notice("It has ended.", key="ended", also=[BOB.id, request.requester.id]),
        )
        assert woken == []  # not before the commit: the scheduler would not see the jobs
    assert woken == ["woken"]

    assert moved is not None and moved.state is RequestState.ENDED
    async with world.db.transaction() as tx:
        entries = await tx.audit.entries(request_id=request.id)
        jobs = await tx.jobs.pending()
    assert [(e.action, e.details["state"]) for e in entries] == [("role.expired", "ended")]
    assert sorted(j.kind for j in jobs) == ["message", "message", "refresh_cards"]
    told = {(j.payload["person_id"], j.payload["text"]) for j in jobs if j.kind == "message"}
    assert told == {(request.requester.id, "It has ended."), (BOB.id, "It has ended.")}


async def test_a_move_that_lost_the_race_writes_nothing(world: World) -> None:
    deps = world.workflow.deps
    request = a_request(state=RequestState.CANCELLED)
    async with world.db.transaction() as tx:
        await tx.requests.insert(request)

    async with world.db.transaction() as tx:
        moved = await move(
            deps,
            tx,
            request.id,
            from_states=[RequestState.PENDING_APPROVAL],
            to=RequestState.APPROVED,
            action="request.approved",
            actor=BOB.id,
            notice=Notice("Approved.", key="decision"),
        )

    assert moved is None
    async with world.db.transaction() as tx:
        assert await tx.audit.entries(request_id=request.id) == []
        assert await tx.jobs.pending() == []
        unchanged = await tx.requests.get(request.id)
    assert unchanged is not None and unchanged.state is RequestState.CANCELLED
