"""The one way a request changes state.

`move` makes the conditional write (`… WHERE state IN from`, so of two racing writers exactly one
wins) and, in the same transaction, everything that follows every change: its audit entry, every
sent copy of the request's cards brought up to date, the notice people should hear (once), and
the scheduler woken once the transaction has committed. A new state or notice is one call; what
follows only some changes (the activation job, expiry jobs, following PIM) is the caller's, in
the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain import ActivationRequest, RequestState
from bot.store import Tx
from bot.workflow import outbox
from bot.workflow.audit import audit
from bot.workflow.context import Deps
from cards.common import Card


@dataclass(frozen=True)
class Notice:
    """A message about the change to the requester (and to the people in `also`), queued once
    per person under `key` and the request (and its new version with `each_change`, for a
    notice that may be said again after a retry). `card`, drawn from the moved request, is
    kept up to date like every card of it."""

    text: str
    key: str
    card: Callable[[ActivationRequest], Card | None] | None = None
    also: Collection[str] = ()
    each_change: bool = False


async def move(
    deps: Deps,
    tx: Tx,
    request: ActivationRequest | str,
    *,
    from_states: RequestState | Collection[RequestState],
    to: RequestState,
    action: str,
    actor: str | None,
    changes: Mapping[str, Any] | None = None,
    notice: Notice | None = None,
    refresh: bool = True,
    reason: str = "",
    outcome: str = "ok",
    graph_request_id: str | None = None,
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> ActivationRequest | None:
    """Move `request` (or the request of that id) to `to` if it is still in `from_states`;
    None, with nothing written, when it is not (someone else moved it first). `action` and
    `actor` (a person's id, None for pimbot itself) name the audit entry; `refresh=False` leaves
    the cards as they are (a passing state nobody needs to see)."""
    now = now or deps.now()
    request_id = request if isinstance(request, str) else request.id
    sources = [from_states] if isinstance(from_states, RequestState) else list(from_states)
    moved = await tx.requests.transition(
        request_id, from_states=sources, to=to, now=now, **dict(changes or {})
    )
    if moved is None:
        return None
    if refresh:
        await outbox.refresh_cards(tx, moved, now)
    if notice is not None:
        await _tell(tx, moved, notice, now)
    # Last: appending locks the audit chain's head until the transaction ends, and every
    # audited change of every replica waits for that lock.
    await audit(
        tx,
        now,
        actor,
        action,
        moved,
        outcome=outcome,
        reason=reason,
        graph_request_id=graph_request_id,
        details=details,
    )
    tx.after_commit(deps.wake_scheduler)
    return moved


async def _tell(tx: Tx, moved: ActivationRequest, notice: Notice, now: datetime) -> None:
    key = f"{notice.key}:{moved.id}" + (f":{moved.version}" if notice.each_change else "")
    card = notice.card(moved) if notice.card is not None else None
    for person_id in dict.fromkeys([moved.requester.id, *notice.also]):
        await outbox.message(
            tx,
            person_id,
            moved.tenant_id,
            key=key,
            now=now,
            text=notice.text,
            card=card,
            about=moved,
        )


async def route_submitted(
    deps: Deps,
    tx: Tx,
    request: ActivationRequest,
    *,
    needs_approval: bool,
    now: datetime | None = None,
) -> ActivationRequest:
    """submitted → pending_approval (with the approvers' cards and the requester's live status
    card) or approved. What follows approval differs by engine and is the caller's."""
    now = now or deps.now()
    to = RequestState.PENDING_APPROVAL if needs_approval else RequestState.APPROVED
    moved = await move(
        deps,
        tx,
        request,
        from_states=RequestState.SUBMITTED,
        to=to,
        action="request.submitted",
        actor=request.requester.id,
        outcome=to,
        # Cards already show it (the "confirm it is you" card of a request that waited for a
        # sign-in): they move on with it.
        refresh=bool(await tx.cards.copies(request.id)),
        now=now,
    )
    if moved is None:
        raise RuntimeError(f"request {request.id} left 'submitted' inside its own transaction")
    if needs_approval:
        await outbox.ask_approvers(tx, moved, now)
    return moved


async def submit_draft(
    deps: Deps,
    tx: Tx,
    draft: ActivationRequest,
    *,
    needs_approval: bool,
    action: str,
    actor: str,
    changes: Mapping[str, Any] | None = None,
    graph_request_id: str | None = None,
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> ActivationRequest | None:
    """draft → submitted once the requester has signed in (`action` says how: the MFA proof,
    or PIM taking the request made with their token), then routed (`route_submitted`). None
    when it is no longer a draft (a retried sign-in)."""
    now = now or deps.now()
    submitted = await move(
        deps,
        tx,
        draft,
        from_states=RequestState.DRAFT,
        to=RequestState.SUBMITTED,
        action=action,
        actor=actor,
        changes=changes,
        refresh=False,  # routing brings the cards up to date
        graph_request_id=graph_request_id,
        details=details,
        now=now,
    )
    if submitted is None:
        return None
    return await route_submitted(deps, tx, submitted, needs_approval=needs_approval, now=now)
