"""Actions waiting on a sign-in (pim engine): kept per exchange id and person, taken once,
forgotten when expired; an activation's lease is held by one exchange at a time."""

from datetime import timedelta

from bot.store import Database, SignInWait
from tests.store.factories import T0

LATER = T0 + timedelta(minutes=15)
DECIDE = SignInWait("pim-decide-1", "megan-id", "decide", "req-1", "deny", "use Security Reader")


async def test_a_waiting_decision_is_taken_once_by_its_person(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.sign_ins.add(DECIDE, now=T0, expires_at=LATER)
    async with db.transaction() as tx:
        assert await tx.sign_ins.get("pim-decide-1", now=T0) == DECIDE
        assert await tx.sign_ins.take("pim-decide-1", "nestor-id", now=T0) is None
        assert await tx.sign_ins.take("pim-decide-1", "megan-id", now=T0) == DECIDE
    async with db.transaction() as tx:
        assert await tx.sign_ins.take("pim-decide-1", "megan-id", now=T0) is None


async def test_an_expired_wait_is_neither_found_nor_taken_and_is_purged(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.sign_ins.add(DECIDE, now=T0, expires_at=LATER)
    async with db.transaction() as tx:
        assert await tx.sign_ins.get("pim-decide-1", now=LATER) is None
        assert await tx.sign_ins.take("pim-decide-1", "megan-id", now=LATER) is None
        assert await tx.sign_ins.purge(LATER) == 1


async def test_one_exchange_at_a_time_holds_an_activation(db: Database) -> None:
    until = T0 + timedelta(seconds=60)
    async with db.transaction() as tx:
        assert await tx.sign_ins.lease("req-1", "adele-id", now=T0, until=until)
    async with db.transaction() as tx:
        assert not await tx.sign_ins.lease("req-1", "adele-id", now=T0, until=until)
        await tx.sign_ins.release("req-1", keep_until=LATER)
    async with db.transaction() as tx:
        assert await tx.sign_ins.lease("req-1", "adele-id", now=T0, until=until)


async def test_a_lease_left_by_a_crashed_replica_runs_out(db: Database) -> None:
    async with db.transaction() as tx:
        assert await tx.sign_ins.lease(
            "req-1", "adele-id", now=T0, until=T0 + timedelta(seconds=60)
        )
    async with db.transaction() as tx:
        later = T0 + timedelta(seconds=61)
        assert await tx.sign_ins.lease("req-1", "adele-id", now=later, until=LATER)


async def test_a_claims_challenge_is_kept_for_the_next_sign_in_and_dropped(db: Database) -> None:
    async with db.transaction() as tx:
        assert await tx.sign_ins.challenge("req-1") == ""
        await tx.sign_ins.set_challenge("req-1", "adele-id", '{"c1"}', now=T0, until=LATER)
    async with db.transaction() as tx:
        assert await tx.sign_ins.challenge("req-1") == '{"c1"}'
        assert await tx.sign_ins.lease("req-1", "adele-id", now=T0, until=LATER)
        await tx.sign_ins.set_challenge("req-1", "adele-id", "", now=T0, until=LATER)
    async with db.transaction() as tx:
        assert await tx.sign_ins.challenge("req-1") == ""
        assert not await tx.sign_ins.lease("req-1", "adele-id", now=T0, until=LATER)
