"""One way to write governance's audit entries, so every entry carries the same facts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.store import Database, Tx

MAX_DETAIL_LENGTH = 200


async def audit_admin(
    tx: Tx,
    at: datetime,
    actor_id: str | None,
    action: str,
    *,
    outcome: str = "ok",
    reason: str = "",
    graph_request_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """`action` is governance's own name (`admin.refused`, `standing.converted`, ...); string
    details are cut to a bounded length, since some come from a card."""
    facts = {
        key: value[:MAX_DETAIL_LENGTH] if isinstance(value, str) else value
        for key, value in (details or {}).items()
    }
    await tx.audit.append(
        at=at,
        actor_id=actor_id,
        action=action,
        outcome=outcome,
        reason=reason,
        graph_request_id=graph_request_id,
        details=facts,
    )


async def audit_refusal(
    db: Database,
    at: datetime,
    actor_id: str,
    action: str,
    *,
    reason: str,
    details: Mapping[str, Any] | None = None,
) -> None:
    """A refused admin action, in a transaction of its own: a refusal writes nothing else."""
    async with db.transaction() as tx:
        await audit_admin(
            tx, at, actor_id, action, outcome="refused", reason=reason, details=details
        )
