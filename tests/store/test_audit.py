import asyncio
import csv
import hashlib
import io
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.store import AuditEntry, Database
from bot.store.audit import GENESIS_HASH, canonical_json, chain_hash
from bot.store.url import resolve_database_url
from tests.store.factories import T0


@pytest.fixture
async def behind_its_back(database_url: str, db: Database) -> AsyncIterator[AsyncEngine]:
    """A raw engine on the same database, for tampering the way an intruder would."""
    engine = create_async_engine(resolve_database_url(database_url).url)
    yield engine
    await engine.dispose()


async def _tamper(engine: AsyncEngine, sql: str, **params: Any) -> None:
    async with engine.begin() as connection:
        await connection.execute(text(sql), params)


async def _append(db: Database, n: int, **overrides: Any) -> AuditEntry:
    fields: dict[str, Any] = {
        "at": T0 + timedelta(minutes=n),
        "actor_id": "bob-id",
        "action": "approve",
        "outcome": "ok",
        "request_id": f"req-{n % 2}",
        "reason": f"entry {n}",
    }
    fields.update(overrides)
    async with db.transaction() as tx:
        return await tx.audit.append(**fields)


async def _fill(db: Database, count: int) -> list[AuditEntry]:
    return [await _append(db, n) for n in range(1, count + 1)]


async def _verify(db: Database) -> tuple[bool, int, int | None]:
    async with db.transaction() as tx:
        result = await tx.audit.verify()
    return result.ok, result.checked, result.first_bad_id


async def test_entries_chain_from_the_genesis_hash(db: Database) -> None:
    first = await _append(
        db,
        1,
        ticket="CHG-1",
        graph_request_id="g-1",
        details={"role": "Exchange Administrator", "minutes": 120, "approvers": ["bob", "carol"]},
    )
    second = await _append(db, 2, actor_id=None)

    assert (first.id, second.id) == (1, 2)
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    expected_body = canonical_json(
        {
            "id": 1,
            "at": "2025-03-30T00:31:15.123456+00:00",
            "actor_id": "bob-id",
            "action": "approve",
            "outcome": "ok",
            "request_id": "req-1",
            "reason": "entry 1",
            "ticket": "CHG-1",
            "graph_request_id": "g-1",
            "details": {
                "approvers": ["bob", "carol"],
                "minutes": 120,
                "role": "Exchange Administrator",
            },
        }
    )
    assert first.hash == hashlib.sha256((GENESIS_HASH + expected_body).encode()).hexdigest()


async def test_stored_entries_read_back_as_appended(db: Database) -> None:
    appended = await _fill(db, 3)
    async with db.transaction() as tx:
        assert await tx.audit.entries() == appended
        assert await tx.audit.entries(request_id="req-1") == [appended[0], appended[2]]
        assert await tx.audit.entries(since=T0 + timedelta(minutes=2)) == appended[1:]


async def test_an_empty_log_verifies(db: Database) -> None:
    assert await _verify(db) == (True, 0, None)


async def test_an_untouched_log_verifies(db: Database) -> None:
    await _fill(db, 5)
    assert await _verify(db) == (True, 5, None)


async def test_concurrent_appends_from_two_engines_never_fork_the_chain(
    database_url: str, db: Database
) -> None:
    other_engine = await Database.connect(database_url)
    try:
        await asyncio.gather(*(_append(db if n % 2 else other_engine, n) for n in range(30)))
    finally:
        await other_engine.close()

    assert await _verify(db) == (True, 30, None)


async def test_an_edited_entry_is_detected(db: Database, behind_its_back: AsyncEngine) -> None:
    await _fill(db, 5)
    await _tamper(behind_its_back, "UPDATE audit_log SET reason = 'nothing to see' WHERE id = 3")

    assert await _verify(db) == (False, 2, 3)


async def test_edited_details_are_detected(db: Database, behind_its_back: AsyncEngine) -> None:
    await _append(db, 1, details={"minutes": 60})
    await _tamper(behind_its_back, "UPDATE audit_log SET details = :d", d='{"minutes":480}')

    assert await _verify(db) == (False, 0, 1)


async def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(
    db: Database, behind_its_back: AsyncEngine
) -> None:
    entries = await _fill(db, 4)
    forged = entries[1].model_copy(update={"outcome": "denied"})
    body = canonical_json(
        {
            **forged.model_dump(exclude={"prev_hash", "hash"}),
            "at": forged.at.isoformat(timespec="microseconds"),
        }
    )
    forged_hash = hashlib.sha256((forged.prev_hash + body).encode()).hexdigest()
    await _tamper(
        behind_its_back,
        "UPDATE audit_log SET outcome = 'denied', hash = :hash WHERE id = 2",
        hash=forged_hash,
    )

    assert await _verify(db) == (False, 2, 3)


async def test_a_deleted_entry_is_detected(db: Database, behind_its_back: AsyncEngine) -> None:
    await _fill(db, 5)
    await _tamper(behind_its_back, "DELETE FROM audit_log WHERE id = 3")

    assert await _verify(db) == (False, 2, 4)


async def test_deleting_the_newest_entries_is_detected(
    db: Database, behind_its_back: AsyncEngine
) -> None:
    await _fill(db, 5)
    await _tamper(behind_its_back, "DELETE FROM audit_log WHERE id >= 4")

    ok, checked, first_bad = await _verify(db)
    assert (ok, checked, first_bad) == (False, 3, 4)


async def test_an_inserted_entry_is_detected(db: Database, behind_its_back: AsyncEngine) -> None:
    entries = await _fill(db, 3)
    await _tamper(behind_its_back, "UPDATE audit_log SET id = id + 1 WHERE id = 3")
    await _tamper(
        behind_its_back,
        "INSERT INTO audit_log (id, at, actor_id, action, outcome, request_id, reason, ticket,"
        " graph_request_id, details, prev_hash, hash) SELECT 3, at, actor_id, action, outcome,"
        " request_id, 'inserted', ticket, graph_request_id, details, prev_hash, hash"
        " FROM audit_log WHERE id = 2",
    )

    ok, checked, first_bad = await _verify(db)
    assert (ok, checked, first_bad) == (False, 2, 3)
    assert entries[2].id == 3


async def test_an_entry_appended_behind_its_back_is_detected(
    db: Database, behind_its_back: AsyncEngine
) -> None:
    last = (await _fill(db, 2))[-1]
    await _tamper(
        behind_its_back,
        "INSERT INTO audit_log (id, at, actor_id, action, outcome, request_id, reason, ticket,"
        " graph_request_id, details, prev_hash, hash) SELECT 3, at, actor_id, action, outcome,"
        " request_id, reason, ticket, graph_request_id, details, :prev, hash"
        " FROM audit_log WHERE id = 2",
        prev=last.hash,
    )

    ok, _checked, first_bad = await _verify(db)
    assert (ok, first_bad) == (False, 3)


async def test_csv_export_has_a_header_and_every_entry(db: Database) -> None:
    entries = await _fill(db, 3)
    out = io.StringIO()
    async with db.transaction() as tx:
        written = await tx.audit.export("csv", out, since=T0 + timedelta(minutes=2))

    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert written == 2
    assert [row["id"] for row in rows] == ["2", "3"]
    assert rows[0]["at"] == "2025-03-30T00:32:15.123456+00:00"
    assert rows[0]["hash"] == entries[1].hash
    assert rows[0]["ticket"] == ""
    assert json.loads(rows[0]["details"]) == {}


async def test_json_export_writes_one_object_per_line(db: Database) -> None:
    entries = await _fill(db, 2)
    await _append(db, 3, details={"note": "zwölf €"}, ticket="INC-9")
    out = io.StringIO()
    async with db.transaction() as tx:
        assert await tx.audit.export("json", out) == 3

    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["hash"] for line in lines[:2]] == [e.hash for e in entries]
    assert lines[2]["details"] == {"note": "zwölf €"}
    assert lines[2]["ticket"] == "INC-9"
    assert lines[0]["ticket"] is None
    assert lines[0]["at"] == "2025-03-30T00:31:15.123456+00:00"


async def test_unknown_export_format_is_refused(db: Database) -> None:
    async with db.transaction() as tx:
        with pytest.raises(ValueError, match="format"):
            await tx.audit.export("xml", io.StringIO())  # type: ignore[arg-type]


async def test_a_missing_head_record_is_reported_not_raised(
    db: Database, behind_its_back: AsyncEngine
) -> None:
    await _fill(db, 3)
    await _tamper(behind_its_back, "DELETE FROM audit_head")

    async with db.transaction() as tx:
        result = await tx.audit.verify()

    assert not result.ok
    assert "head record" in result.problem and "missing" in result.problem


async def test_the_head_is_the_newest_entry(db: Database) -> None:
    async with db.transaction() as tx:
        assert await tx.audit.head() is None
    entries = await _fill(db, 3)

    async with db.transaction() as tx:
        head = await tx.audit.head()

    assert head is not None and (head.id, head.hash) == (3, entries[-1].hash)


async def test_an_anchor_proves_the_entries_up_to_it_are_as_they_were(db: Database) -> None:
    entries = await _fill(db, 5)

    async with db.transaction() as tx:
        result = await tx.audit.verify(anchor=entries[2].hash)

    assert result.ok and result.anchor_id == 3


async def test_a_rewritten_chain_that_verifies_fails_against_an_earlier_anchor(
    db: Database, behind_its_back: AsyncEngine
) -> None:
    """Someone who rewrites an entry, every hash after it and the head makes the chain consistent
    again; only the anchor kept outside the database shows it."""
    entries = await _fill(db, 4)
    anchor = entries[3].hash
    await _tamper(behind_its_back, "UPDATE audit_log SET reason = 'rewritten' WHERE id = 2")
    prev = entries[0].hash
    async with db.transaction() as tx:
        stored = await tx.audit.entries()
    for entry in stored[1:]:
        fields = entry.model_dump(exclude={"details", "prev_hash", "hash"})
        new_hash = chain_hash(prev, fields, canonical_json(entry.details))
        await _tamper(
            behind_its_back,
            "UPDATE audit_log SET prev_hash = :prev, hash = :hash WHERE id = :id",
            prev=prev,
            hash=new_hash,
            id=entry.id,
        )
        prev = new_hash
    await _tamper(behind_its_back, "UPDATE audit_head SET last_hash = :hash", hash=prev)

    async with db.transaction() as tx:
        plain = await tx.audit.verify()
        anchored = await tx.audit.verify(anchor=anchor)

    assert plain.ok  # the forgery is consistent in itself
    assert not anchored.ok and anchored.anchor_id is None
    assert "anchor" in anchored.problem


async def test_an_anchor_past_a_cut_off_tail_fails(
    db: Database, behind_its_back: AsyncEngine
) -> None:
    entries = await _fill(db, 4)
    await _tamper(behind_its_back, "DELETE FROM audit_log WHERE id = 4")
    await _tamper(
        behind_its_back, "UPDATE audit_head SET last_id = 3, last_hash = :h", h=entries[2].hash
    )

    async with db.transaction() as tx:
        result = await tx.audit.verify(anchor=entries[3].hash)

    assert not result.ok and "anchor" in result.problem
