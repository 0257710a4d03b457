"""The audit chain is anchored outside the database: every few minutes
(`PIMBOT_AUDIT_ANCHOR_MINUTES`) the head's id and hash go to the log and to `/metrics`, where
`pimbot audit verify --anchor HASH` can later take them from."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.audit_anchor import AuditAnchor
from bot.metrics import Metrics
from bot.settings import Settings
from bot.store import Database
from tests.e2e.conftest import Sandbox


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.connect(f"sqlite:///{tmp_path / 'pimbot.db'}")
    await database.migrate()
    yield database
    await database.close()


async def append(db: Database, count: int) -> str:
    last = ""
    for n in range(count):
        async with db.transaction() as tx:
            entry = await tx.audit.append(
                at=datetime(2030, 1, 1, tzinfo=UTC), actor_id="a", action="x", outcome=str(n)
            )
            last = entry.hash
    return last


def published(metrics: Metrics) -> dict[str, str] | None:
    for family in metrics.registry.collect():
        if family.name == "pimbot_audit_anchor":
            for sample in family.samples:
                return dict(sample.labels)
    return None


async def test_the_head_goes_to_the_log_and_the_metrics(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    head_hash = await append(db, 3)
    metrics = Metrics()
    anchor = AuditAnchor(db, metrics, interval_seconds=300)

    with caplog.at_level(logging.INFO, logger="bot.audit_anchor"):
        await anchor.publish_once()

    assert f"audit anchor: entry 3 hash {head_hash}" in caplog.text
    assert published(metrics) == {"id": "3", "hash": head_hash}


async def test_an_empty_log_publishes_nothing(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = Metrics()

    with caplog.at_level(logging.INFO, logger="bot.audit_anchor"):
        await AuditAnchor(db, metrics, interval_seconds=300).publish_once()

    assert "audit anchor" not in caplog.text
    assert not published(metrics)


async def test_it_publishes_when_started_and_stops_cleanly(db: Database) -> None:
    head_hash = await append(db, 2)
    metrics = Metrics()
    anchor = AuditAnchor(db, metrics, interval_seconds=300)

    anchor.start()
    try:
        for _ in range(2000):
            if published(metrics):
                break
            await asyncio.sleep(0.01)
    finally:
        await anchor.stop()

    assert published(metrics) == {"id": "2", "hash": head_hash}


def test_the_interval_is_a_setting_of_a_few_minutes() -> None:
    assert Settings(_env_file=None).audit_anchor_minutes == 5


async def test_the_running_bot_anchors_its_audit_log(sandboxed: Sandbox) -> None:
    services = sandboxed.running.services
    assert services.audit_anchor is not None
    assert services.audit_anchor.interval_seconds == 5 * 60
