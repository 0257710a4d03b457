"""The admin gate: who may use the admin commands and buttons.

pimbot's admins are the transitive members of the Entra group `PIMBOT_ADMIN_GROUP_ID`. Every
admin command and every press of an admin button goes through `AdminGate.admit` first, which asks
Graph at that moment (no cache: a removed admin is refused at once). A refusal is told in words
and audited (`admin.refused`), and nothing is read or written beyond the membership check.

Use:

    refused = await gate.admit(actor, "standing.list")
    if refused is not None:
        return refused.outcome()
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.domain import Actor, GraphError, Outcome, Person, TextMessage
from bot.governance.audit import audit_admin
from bot.governance.config import GovernanceConfig
from bot.governance.ports import AdminDirectory
from bot.store import Database

log = logging.getLogger(__name__)

REFUSED_ACTION = "admin.refused"
ADMINS_OFF_TEXT = (
    "The admin commands are off here: pimbot has no admin group. To turn them on, set "
    "`PIMBOT_ADMIN_GROUP_ID` to the object id of the Entra group whose members are pimbot's "
    "admins, and restart pimbot."
)
NOT_AN_ADMIN_TEXT = (
    "Sorry, that is for pimbot's admins, and you are not one of them. Nothing was read or "
    "changed. If you need it, ask to be added to the admin group."
)
OTHER_TENANT_TEXT = "Sorry, only admins of the organization I was set up for can do that."
CHECK_FAILED_TEXT = (
    "I could not check with Microsoft Entra that you are one of pimbot's admins ({why}), so "
    "nothing was done. Please try again shortly."
)


@dataclass(frozen=True)
class Refused:
    """An admin command or button refused; `text` tells the person why, in plain words."""

    text: str

    def outcome(self) -> Outcome:
        return Outcome(replies=[TextMessage(text=self.text)])


class AdminGate:
    def __init__(
        self,
        db: Database,
        directory: AdminDirectory,
        config: GovernanceConfig,
        now: Callable[[], datetime],
    ) -> None:
        self._db = db
        self._directory = directory
        self.config = config
        self._now = now

    @property
    def enabled(self) -> bool:
        """False without `PIMBOT_ADMIN_GROUP_ID`: every admin command is refused."""
        return self.config.enabled

    async def admit(
        self, actor: Actor, action: str, *, details: Mapping[str, object] | None = None
    ) -> Refused | None:
        """None when `actor` is an admin right now; else the refusal, already audited.
        `action` names what was asked (`standing.list`, `standing.convert`, ...) for the audit
        log; `details` adds what it was about (ids, never free text)."""
        person = actor.person
        if not self.enabled:
            return await self._refuse(actor, action, details, ADMINS_OFF_TEXT, "admins off")
        if person.tenant_id != self.config.tenant_id:
            return await self._refuse(actor, action, details, OTHER_TENANT_TEXT, "other tenant")
        try:
            member = await self._directory.is_transitive_member(
                person.id, self.config.admin_group_id
            )
        except GraphError as exc:
            log.warning("admin check for %s failed: %s", person.id, exc)
            why = f"Graph answered {exc.status}" if exc.status else "Graph did not answer"
            return await self._refuse(
                actor,
                action,
                details,
                CHECK_FAILED_TEXT.format(why=why),
                "membership check failed",
                outcome="error",
            )
        if not member:
            return await self._refuse(
                actor, action, details, NOT_AN_ADMIN_TEXT, "not in the admin group"
            )
        return None

    async def other_admins(self, actor: Actor) -> list[Person]:
        """Every admin but `actor`, as Entra has them now (for a second admin's decision)."""
        if not self.enabled:
            return []
        members = await self._directory.transitive_members(self.config.admin_group_id)
        return [p for p in members if p.id.lower() != actor.person.id.lower()]

    async def _refuse(
        self,
        actor: Actor,
        action: str,
        details: Mapping[str, object] | None,
        text: str,
        reason: str,
        *,
        outcome: str = "refused",
    ) -> Refused:
        async with self._db.transaction() as tx:
            await audit_admin(
                tx,
                self._now(),
                actor.person.id,
                REFUSED_ACTION,
                outcome=outcome,
                reason=reason,
                details={"command": action, **(details or {})},
            )
        return Refused(text)
