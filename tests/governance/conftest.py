"""The admin front in front of a workflow wired to in-memory Graph and Teams, on a real database
(SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from bot.domain import Actor, Outcome, Person
from bot.governance.config import GovernanceConfig
from bot.governance.front import AdminFront
from bot.governance.gate import AdminGate
from bot.store import AuditEntry, Database
from tests.governance.fakes import FakeAdminDirectory
from tests.store.conftest import database_url, db  # noqa: F401
from tests.workflow.conftest import World, world  # noqa: F401
from tests.workflow.fakes import MEGAN, NESTOR, TENANT

ADMIN_GROUP = "admins-group"


@dataclass
class AdminWorld:
    world: World
    admins: FakeAdminDirectory
    front: AdminFront

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


def admin_front(base: World, admins: FakeAdminDirectory, *, group: str = ADMIN_GROUP) -> AdminFront:
    config = GovernanceConfig(tenant_id=TENANT, admin_group_id=group)
    gate = AdminGate(base.db, admins, config, base.clock)
    return AdminFront(base.workflow, gate)


@pytest.fixture
def admin_world(world: World) -> AdminWorld:  # noqa: F811
    admins = FakeAdminDirectory(groups={ADMIN_GROUP: [MEGAN, NESTOR]})
    return AdminWorld(world, admins, admin_front(world, admins))
