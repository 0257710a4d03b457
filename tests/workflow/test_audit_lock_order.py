"""Appending to the audit log locks the chain's head until the transaction ends, and every
audited change of every replica waits for that lock: so in a change's transaction the entry is
written last, with nothing but the commit after it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from bot.domain import RequestState
from tests.workflow.conftest import World
from tests.workflow.fakes import ADELE, USER_ADMIN


async def _transactions_of_jobs(world: World) -> list[list[str]]:
    """The statements of each transaction the scheduler's jobs committed."""
    done: list[list[str]] = []
    current: list[str] = []

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        words = " ".join(sql.split())
        if not words.startswith("BEGIN"):
            current.append(words)

    def committed(_conn: Any) -> None:
        done.append(list(current))
        current.clear()

    engine = world.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", committed)
    try:
        await world.run_jobs()
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", committed)
    return done


def _after_head_lock(transaction: list[str]) -> list[str]:
    locked = next(n for n, s in enumerate(transaction) if s.startswith("SELECT audit_head.last_id"))
    return [s.split(" (")[0].split(" SET")[0] for s in transaction[locked + 1 :]]


async def test_the_audit_entry_is_the_last_write_of_the_warning_and_of_the_end(
    world: World,
) -> None:
    await world.submit(ADELE, USER_ADMIN.id, duration="PT1H")
    await world.run_jobs()

    world.clock.advance(minutes=45, seconds=1)
    warned = [t for t in await _transactions_of_jobs(world) if any("audit_head" in s for s in t)]
    world.directory.active.pop((ADELE.id, USER_ADMIN.id))
    world.clock.advance(minutes=16)
    ended = [t for t in await _transactions_of_jobs(world) if any("audit_head" in s for s in t)]

    assert (await world.only_request(ADELE)).state is RequestState.ENDED
    assert len(warned) == 1 and len(ended) == 1
    for transaction in (*warned, *ended):
        assert _after_head_lock(transaction) == ["INSERT INTO audit_log", "UPDATE audit_head"]
