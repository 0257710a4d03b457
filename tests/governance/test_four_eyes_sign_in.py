"""pim engine: a change carried out with the deciding admin's own token, which lives only in the
memory of the process that received their sign-in. Should that process die half way, the job
recorded with the sign-in asks the admin to sign in again; while the process is alive and still
carrying it out, the job waits."""

from __future__ import annotations

import asyncio

import pytest

from bot.domain import SignInRequest
from bot.governance.domain import AdminChange, ChangeState
from bot.governance.four_eyes import (
    CHANGE_JOB,
    RESUME_AFTER,
    SIGN_IN_PREFIX,
    AsAdmin,
    FourEyes,
    Proposal,
)
from bot.store import Job
from bot.workflow.outbox import RetryLater
from tests.governance.conftest import AdminWorld
from tests.workflow.fakes import EXCHANGE, MEGAN, FakeSso

KIND = "test.change"
TOKEN = f"{MEGAN.id}:mfa"  # Megan's Teams SSO token, as the fake verifier reads it


class Tokens:
    """Delegated tokens held in one process's memory (`bot.graph.delegated.DelegatedTokens`)."""

    def __init__(self) -> None:
        self._held: dict[str, str] = {}

    def cached(self, person_id: str) -> str | None:
        return self._held.get(person_id)

    async def exchange(self, person_id: str, sso_token: str, claims: str | None = None) -> str:
        self._held[person_id] = f"graph-token-of-{person_id}"
        return self._held[person_id]


class Hangs:
    """A carry-out that has made its first write and waits on Graph for the second; any later
    run alongside it is counted (and returns)."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.runs = 0

    async def __call__(self, change: AdminChange, token: str | None) -> None:
        self.runs += 1
        if self.runs == 1:
            self.started.set()
            await asyncio.Event().wait()


class Finishes:
    def __init__(self, admin_world: AdminWorld) -> None:
        self._world = admin_world
        self.tokens: list[str | None] = []

    async def __call__(self, change: AdminChange, token: str | None) -> None:
        self.tokens.append(token)
        async with self._world.db.transaction() as tx:
            await tx.admin_changes.transition(
                change.id,
                from_states=[ChangeState.APPROVED],
                to=ChangeState.DONE,
                now=self._world.world.clock(),
            )


def process(admin_world: AdminWorld, carry_out: Hangs | Finishes) -> FourEyes:
    """One pimbot process's four-eyes on the pim engine: its own memory, the shared database."""
    four_eyes = FourEyes(
        admin_world.db,
        admin_world.governance.gate,
        admin_world.world.clock,
        as_admin=AsAdmin(Tokens(), FakeSso(), admin_world.world.messenger),
    )
    four_eyes.register(KIND, carry_out)
    return four_eyes


async def due_change_jobs(admin_world: AdminWorld) -> list[Job]:
    now = admin_world.world.clock()
    async with admin_world.db.transaction() as tx:
        return [j for j in await tx.jobs.pending(CHANGE_JOB) if j.due_at <= now]


async def run_change_jobs(admin_world: AdminWorld, four_eyes: FourEyes) -> None:
    """Run the due `admin_change` jobs in `four_eyes`'s process, as its scheduler would."""
    now, worker = admin_world.world.clock(), "this-process"
    async with admin_world.db.transaction() as tx:
        claimed = await tx.jobs.claim_due(now=now, limit=100, lease=RESUME_AFTER, worker=worker)
        await tx.jobs.release([j.id for j in claimed if j.kind != CHANGE_JOB], worker)
    for job in (j for j in claimed if j.kind == CHANGE_JOB):
        await four_eyes.job_handlers()[CHANGE_JOB](job)
        async with admin_world.db.transaction() as tx:
            await tx.jobs.complete(job.id, worker)


def sign_ins_asked(admin_world: AdminWorld) -> list[SignInRequest]:
    return [m for m in admin_world.world.messenger.to(MEGAN.id) if isinstance(m, SignInRequest)]


async def signed_in_and_cut_off(admin_world: AdminWorld, four_eyes: FourEyes) -> AdminChange:
    """Megan asks for a change (no second admin needed), is asked to sign in, signs in, and the
    carry-out starts (and hangs) in `four_eyes`'s process."""
    actor = admin_world.actor(MEGAN)
    proposal = Proposal(kind=KIND, target_key="grady:exchange", role_id=EXCHANGE.id, title="T")
    await four_eyes.propose(actor, proposal)
    await run_change_jobs(admin_world, four_eyes)  # no token yet: asks her to sign in
    async with admin_world.db.transaction() as tx:
        (change,) = await tx.admin_changes.for_target("grady:exchange")
    assert len(sign_ins_asked(admin_world)) == 1
    return change


async def test_a_sign_in_whose_process_dies_is_asked_for_again_and_finished(
    admin_world: AdminWorld,
) -> None:
    hangs = Hangs()
    first = process(admin_world, hangs)
    change = await signed_in_and_cut_off(admin_world, first)
    exchange_id = f"{SIGN_IN_PREFIX}{change.id}"
    signing_in = asyncio.create_task(first.on_sign_in(admin_world.actor(MEGAN), exchange_id, TOKEN))
    await hangs.started.wait()
    signing_in.cancel()  # the process dies, and Megan's token with it
    with pytest.raises(asyncio.CancelledError):
        await signing_in

    finishes = Finishes(admin_world)
    restarted = process(admin_world, finishes)
    assert await due_change_jobs(admin_world) == []  # the dead process may still be at it
    admin_world.world.clock.advance(RESUME_AFTER)
    await run_change_jobs(admin_world, restarted)
    assert [s.exchange_id for s in sign_ins_asked(admin_world)] == [exchange_id, exchange_id]

    answer = await restarted.on_sign_in(admin_world.actor(MEGAN), exchange_id, TOKEN)
    assert answer.accepted
    assert finishes.tokens == [f"graph-token-of-{MEGAN.id}"]
    async with admin_world.db.transaction() as tx:
        done = await tx.admin_changes.get(change.id)
    assert done is not None and done.state is ChangeState.DONE
    admin_world.world.clock.advance(RESUME_AFTER)
    assert await due_change_jobs(admin_world) == []  # finished: nothing asks her again


async def test_while_its_process_is_still_carrying_it_out_the_job_waits(
    admin_world: AdminWorld,
) -> None:
    hangs = Hangs()
    four_eyes = process(admin_world, hangs)
    change = await signed_in_and_cut_off(admin_world, four_eyes)
    exchange_id = f"{SIGN_IN_PREFIX}{change.id}"
    signing_in = asyncio.create_task(
        four_eyes.on_sign_in(admin_world.actor(MEGAN), exchange_id, TOKEN)
    )
    await hangs.started.wait()
    admin_world.world.clock.advance(RESUME_AFTER)
    (job,) = await due_change_jobs(admin_world)
    with pytest.raises(RetryLater):
        await four_eyes.job_handlers()[CHANGE_JOB](job)
    assert hangs.runs == 1  # not run a second time alongside
    assert len(sign_ins_asked(admin_world)) == 1  # nor asked for again
    signing_in.cancel()
    with pytest.raises(asyncio.CancelledError):
        await signing_in
