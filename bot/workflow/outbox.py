"""Side effects, written as jobs in the same transaction as the state change that causes them.

A crash after the commit loses nothing (the scheduler picks the jobs up), a crash before it leaves
no trace, and the dedupe key of each job makes sure a notice is queued once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.domain import ActivationRequest
from bot.store import Job, Tx
from bot.workflow.live_cards import notice_purpose
from bot.workflow.people import teams_ids_of
from cards.refresh import with_refresh

JobHandler = Callable[[Job], Awaitable[None]]


class RetryLater(Exception):
    """Raised by a job handler: run this job again after `delay`."""

    def __init__(self, delay: timedelta, reason: str) -> None:
        super().__init__(reason)
        self.delay = delay


class JobKind(StrEnum):
    SEND_APPROVAL_CARD = "send_approval_card"  # {request_id, approver_id}
    SEND_STATUS_CARD = "send_status_card"  # {request_id}
    REFRESH_CARDS = "refresh_cards"  # {request_id}
    UPDATE_CARD = "update_card"  # {request_id, person_id, purpose}: one copy, from refresh_cards
    MESSAGE = "message"  # {person_id, tenant_id, text?, card?, request_id?, version?, purpose?}
    ACTIVATE = "activate"  # {request_id}
    EXPIRY_WARNING = "expiry_warning"  # {request_id}
    EXPIRY_CHECK = "expiry_check"  # {request_id}
    APPROVAL_TIMEOUT = "approval_timeout"  # {request_id}


# How long after Graph's end time pimbot checks that the role is gone (PIM removes it "within
# seconds").
EXPIRY_CHECK_GRACE = timedelta(seconds=2)


async def enqueue(
    tx: Tx, kind: JobKind, payload: dict[str, Any], *, due_at: datetime, key: str
) -> bool:
    return await tx.jobs.enqueue(str(kind), payload, due_at=due_at, dedupe_key=f"{kind}:{key}")


async def message(
    tx: Tx,
    person_id: str,
    tenant_id: str,
    *,
    key: str,
    now: datetime,
    text: str = "",
    card: dict[str, Any] | None = None,
    about: ActivationRequest | None = None,
) -> None:
    """Queue a message to one person; `key` makes it once-only. A `card` that shows the request
    `about` is recorded against it once sent and kept up to date like every card of it."""
    payload: dict[str, Any] = {"person_id": person_id, "tenant_id": tenant_id, "text": text}
    if card is not None and about is not None:
        card = with_refresh(card, about.id, await teams_ids_of(tx, [person_id]))
        payload["request_id"] = about.id
        payload["version"] = about.version
        payload["purpose"] = notice_purpose(key)
    if card is not None:
        payload["card"] = card
    await enqueue(tx, JobKind.MESSAGE, payload, due_at=now, key=f"{person_id}:{key}")


async def refresh_cards(tx: Tx, request: ActivationRequest, now: datetime) -> None:
    """Bring every sent copy of the request's cards (approvers' and requester's) up to date."""
    await enqueue(
        tx,
        JobKind.REFRESH_CARDS,
        {"request_id": request.id},
        due_at=now,
        key=f"{request.id}:{request.version}",
    )


async def update_card(
    tx: Tx, request: ActivationRequest, person_id: str, purpose: str, now: datetime
) -> None:
    """Bring one person's copy up to date: a job per copy, so that a conversation that fails
    never holds up another person's card."""
    await enqueue(
        tx,
        JobKind.UPDATE_CARD,
        {"request_id": request.id, "person_id": person_id, "purpose": purpose},
        due_at=now,
        key=f"{request.id}:{request.version}:{purpose}:{person_id}",
    )


async def approval_cards(tx: Tx, request: ActivationRequest, now: datetime) -> None:
    for approver_id in request.approver_ids:
        await enqueue(
            tx,
            JobKind.SEND_APPROVAL_CARD,
            {"request_id": request.id, "approver_id": approver_id},
            due_at=now,
            key=f"{request.id}:{approver_id}",
        )


async def ask_approvers(tx: Tx, request: ActivationRequest, now: datetime) -> None:
    """For a request now pending approval: a card to each approver, and the requester's live
    status card (the job sends none when the submitted form already is that card)."""
    await approval_cards(tx, request, now)
    await status_card(tx, request, now)


async def status_card(tx: Tx, request: ActivationRequest, now: datetime) -> None:
    await enqueue(
        tx, JobKind.SEND_STATUS_CARD, {"request_id": request.id}, due_at=now, key=request.id
    )


async def activation(tx: Tx, request: ActivationRequest, now: datetime) -> None:
    await enqueue(
        tx,
        JobKind.ACTIVATE,
        {"request_id": request.id},
        due_at=now,
        key=f"{request.id}:{request.version}",
    )


async def approval_timeout(tx: Tx, request: ActivationRequest, due_at: datetime) -> None:
    await enqueue(
        tx, JobKind.APPROVAL_TIMEOUT, {"request_id": request.id}, due_at=due_at, key=request.id
    )


async def expiry(
    tx: Tx, request: ActivationRequest, *, end: datetime, warning: timedelta, now: datetime
) -> None:
    """Schedule the warning and the end check for the end time Graph reported. Keys carry the end
    time, so an extension schedules new ones and the old ones find nothing to do."""
    stamp = end.isoformat()
    await enqueue(
        tx,
        JobKind.EXPIRY_WARNING,
        {"request_id": request.id, "end": stamp},
        due_at=max(now, end - warning),
        key=f"{request.id}:{stamp}",
    )
    await enqueue(
        tx,
        JobKind.EXPIRY_CHECK,
        {"request_id": request.id, "end": stamp},
        due_at=end + EXPIRY_CHECK_GRACE,
        key=f"{request.id}:{stamp}",
    )
