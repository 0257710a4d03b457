"""Builds the admin side from settings and the Graph adapters `bot/app.py` hands in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from bot.governance.config import GovernanceConfig
from bot.governance.front import AdminFront
from bot.governance.gate import AdminGate
from bot.governance.ports import AdminDirectory
from bot.settings import Settings
from bot.store import Database
from bot.timefmt import parse_iso_duration
from bot.workflow.ports import TurnHandler


def governance_config(settings: Settings) -> GovernanceConfig:
    return GovernanceConfig(
        tenant_id=settings.graph_tenant_id,
        admin_group_id=settings.admin_group_id.strip(),
        break_glass_ids=settings.break_glass,
        eligible_window=parse_iso_duration(settings.eligible_window) or timedelta(days=180),
    )


def build_admin_front(
    settings: Settings,
    db: Database,
    workflow: TurnHandler,
    *,
    admins: AdminDirectory,
    now: Callable[[], datetime],
) -> AdminFront:
    """The turn handler the channel gets: admin commands through the gate, the rest to
    `workflow`."""
    gate = AdminGate(db, admins, governance_config(settings), now)
    return AdminFront(workflow, gate)
