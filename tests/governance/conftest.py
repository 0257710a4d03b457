"""The admin front in front of a workflow wired to in-memory Graph and Teams, on a real database
(SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from bot.domain import Actor, Outcome, Person
from bot.governance.config import GovernanceConfig
from bot.governance.front import AdminFront
from bot.governance.wiring import Governance, build_governance
from bot.store import AuditEntry, Database
from tests.governance.fakes import FakeAdminDirectory, FakeStanding
from tests.store.conftest import database_url, db  # noqa: F401
from tests.workflow.conftest import World, world  # noqa: F401
from tests.workflow.fakes import LIDIA, MEGAN, NESTOR, TENANT

ADMIN_GROUP = "admins-group"
BREAK_GLASS = frozenset({"breakglass-1", "breakglass-2"})


@dataclass
class AdminWorld:
    world: World
    admins: FakeAdminDirectory
    governance: Governance
    standing: FakeStanding

    @property
    def front(self) -> AdminFront:
        return self.governance.front

    @property
    def db(self) -> Database:
        return self.world.db

    def actor(self, who: Person) -> Actor:
        return self.world.actor(who)

    async def say(self, who: Person, text: str) -> Outcome:
        return await self.front.on_text(self.actor(who), text)

    async def press(self, who: Person, data: dict[str, Any]) -> Outcome:
        return await self.front.on_action(self.actor(who), data)

    async def audit(self) -> list[AuditEntry]:
        async with self.db.transaction() as tx:
            return await tx.audit.entries()


def governance(
    base: World,
    admins: FakeAdminDirectory,
    *,
    group: str = ADMIN_GROUP,
    standing: FakeStanding | None = None,
    break_glass: frozenset[str] = frozenset(),
) -> Governance:
    config = GovernanceConfig(tenant_id=TENANT, admin_group_id=group, break_glass_ids=break_glass)
    reads = standing or FakeStanding()
    return build_governance(
        config,
        base.db,
        base.workflow,
        admins=admins,
        standing_reads=reads,
        standing_writes=reads,
        runner=base.scheduler.runner,
        now=base.clock,
    )


def admin_front(base: World, admins: FakeAdminDirectory, *, group: str = ADMIN_GROUP) -> AdminFront:
    return governance(base, admins, group=group).front


@pytest.fixture
def admin_world(world: World) -> AdminWorld:  # noqa: F811
    admins = FakeAdminDirectory(groups={ADMIN_GROUP: [MEGAN, NESTOR, LIDIA]})
    standing = FakeStanding()
    built = governance(world, admins, standing=standing, break_glass=BREAK_GLASS)
    return AdminWorld(world, admins, built, standing)
