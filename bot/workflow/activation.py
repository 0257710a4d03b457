"""approved → activating, and activating → active as Graph reported it, for both engines: the
expiry jobs, the cards, the requester told, and an extension taking over from the activation it
extends."""

from __future__ import annotations

from datetime import datetime

import cards
from bot.domain import ActivationRequest, ActivationResult, RequestKind, RequestState
from bot.store import Tx
from bot.timefmt import format_duration, format_when
from bot.workflow import live_cards, outbox
from bot.workflow.context import Deps
from bot.workflow.moves import Notice, move
from bot.workflow.people import timezone_of
from cards.text import plain


async def start_activating(
    deps: Deps, tx: Tx, request: ActivationRequest | str, now: datetime
) -> ActivationRequest | None:
    """approved → activating (the activation is being made, by pimbot or by PIM); None when the
    request is no longer approved (another run moved it first)."""
    return await move(
        deps,
        tx,
        request,
        from_states=RequestState.APPROVED,
        to=RequestState.ACTIVATING,
        action="activation.started",
        actor=None,
        refresh=False,  # the cards say "approved" until the role is active
        now=now,
    )


async def activated(deps: Deps, request: ActivationRequest, result: ActivationResult) -> None:
    """Record the activation Graph reported for a request being activated; nothing when it is
    no longer activating (an earlier run recorded it)."""
    now = deps.now()
    end = result.end or (now + request.duration)
    async with deps.db.transaction() as tx:
        tz = await timezone_of(tx, request.requester.id)
        # The live status card (when there is one) already shows it with its buttons; the
        # notice then only needs to notify.
        has_status_card = bool(await tx.cards.for_request(request.id, live_cards.STATUS))
        active = await move(
            deps,
            tx,
            request,
            from_states=RequestState.ACTIVATING,
            to=RequestState.ACTIVE,
            action="activation.succeeded",
            actor=None,
            changes={
                "start": result.start or now,
                "end": end,
                "graph_request_id": result.graph_request_id or None,
            },
            notice=Notice(
                _activated_text(request, end, tz),
                key="activated",
                card=None if has_status_card else lambda moved: cards.activated(moved, tz=tz),
            ),
            graph_request_id=result.graph_request_id,
            details={"graph_status": result.status, "end": end.isoformat()},
            now=now,
        )
        if active is None:
            return
        if active.kind is RequestKind.EXTEND:
            await _supersede(deps, tx, active, now)
        await outbox.expiry(tx, active, end=end, warning=deps.config.expiry_warning, now=now)


async def _supersede(deps: Deps, tx: Tx, extension: ActivationRequest, now: datetime) -> None:
    """An extension takes over from the activation it extends; the earlier one's cards now show
    the extension (the new end time, not the old one)."""
    # Only this person's activations of this role: every active request could be tens of
    # thousands of rows.
    for earlier in await tx.requests.all_active_for(extension.requester.id, extension.role.id):
        if earlier.id != extension.id:
            await move(
                deps,
                tx,
                earlier,
                from_states=RequestState.ACTIVE,
                to=RequestState.ENDED,
                action="request.superseded",
                actor=None,
                changes={"failure": live_cards.EXTENDED},
                details={"extension_id": extension.id},
                now=now,
            )


def _activated_text(request: ActivationRequest, end: datetime, tz: str | None) -> str:
    role = plain(request.role.display_name)
    if request.kind is RequestKind.EXTEND:
        added = format_duration(request.duration)
        return f"{role} is extended by {added}, now until {format_when(end, tz)}."
    return f"{role} is active until {format_when(end, tz)}."
