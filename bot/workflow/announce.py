"""What follows a state change that people should hear about, in the same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain import ActivationRequest
from bot.store import Tx
from bot.workflow import outbox
from bot.workflow.audit import audit


async def announce_change(
    tx: Tx,
    changed: ActivationRequest,
    *,
    now: datetime,
    action: str,
    actor_id: str | None = None,
    reason: str = "",
    notice: str = "",
    notice_key: str = "",
    card: dict[str, Any] | None = None,
) -> None:
    """The audit entry, every sent copy of the request's cards brought up to date, and (with
    `notice`) a once-only message to the requester keyed by `notice_key`."""
    await audit(tx, now, actor_id, action, changed, reason=reason)
    await outbox.refresh_cards(tx, changed, now)
    if notice:
        await outbox.message(
            tx,
            changed.requester.id,
            changed.tenant_id,
            key=f"{notice_key or action}:{changed.id}",
            now=now,
            text=notice,
            card=card,
            about=changed,
        )
