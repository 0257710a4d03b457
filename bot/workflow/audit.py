"""One way to write to the audit log from the workflow, so every entry carries the same facts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain import ActivationRequest
from bot.store import Tx


async def audit(
    tx: Tx,
    at: datetime,
    actor_id: str | None,
    action: str,
    request: ActivationRequest | None,
    *,
    outcome: str = "ok",
    reason: str = "",
    graph_request_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    facts: dict[str, Any] = dict(details or {})
    if request is not None:
        facts.setdefault("role_id", request.role.id)
        facts.setdefault("role", request.role.display_name)
        facts.setdefault("requester_id", request.requester.id)
        facts.setdefault("state", str(request.state))
        facts.setdefault("duration_minutes", int(request.duration.total_seconds() // 60))
    await tx.audit.append(
        at=at,
        actor_id=actor_id,
        action=action,
        outcome=str(outcome),
        request_id=request.id if request else None,
        reason=reason,
        ticket=request.ticket.number if request and request.ticket else None,
        graph_request_id=graph_request_id or (request.graph_request_id if request else None),
        details=facts,
    )
