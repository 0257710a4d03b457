"""Every card about a request shows what is true now, on every copy.

Each card pimbot puts in a chat that shows a request is recorded against it (`CardStore`): the
approvers' cards, the requester's live status card, the notices that carry a card (active until,
ends soon, has ended) and the card a person pressed a button on, which the answer turned into a
status card. A state change queues `refresh_cards`, which queues one `update_card` job per
copy; each redraws its copy from the stored request and updates it in place (or, where that
copy cannot be updated, sends the current card as a new message). On top of that each card
carries Teams' `refresh`, so a client that shows it asks for the current card again.

A card is always drawn from stored state for the person who sees it; what a card says is never
acted on.
"""

from __future__ import annotations

import hashlib

import cards
from bot.domain import (
    ActivationRequest,
    Actor,
    CardSubject,
    Outcome,
    RequestState,
    SentMessage,
)
from bot.store import Tx
from bot.workflow.context import Deps
from bot.workflow.people import teams_ids_of
from cards.common import Card
from cards.refresh import with_refresh

APPROVAL = "approval"  # an approver's card (sent by the approval card job)
# The requester's live status card: the form they submitted (recorded with the request), or,
# when the channel did not name that message, one the status card job sends.
STATUS = "requester"

# `failure` of an activation an extension took over from (see `activation.py`).
EXTENDED = "extended"
# `CardSubject.version` of a card whose answer did not say which state it was drawn from.
UNKNOWN_VERSION = -1


def notice_purpose(key: str) -> str:
    """The purpose under which a notice card (queued once under `key`) is recorded."""
    return "notice:" + _digest(key)


def shown_purpose(activity_id: str) -> str:
    """The purpose under which a card someone pressed a button on is recorded."""
    return "shown:" + _digest(activity_id)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


async def requester_view(tx: Tx, request: ActivationRequest) -> ActivationRequest:
    """The request the requester's card shows: an activation that an extension took over from
    shows the extension (its end time, its buttons), not "ended"."""
    if request.state is RequestState.ENDED and request.failure == EXTENDED:
        successor = await tx.requests.newest_extension(request)
        if successor is not None:
            return successor
    return request


async def requester_card(
    tx: Tx, request: ActivationRequest, *, tz: str | None
) -> tuple[Card, ActivationRequest]:
    """The requester's card as it should look now, and the request it shows."""
    view = await requester_view(tx, request)
    teams_ids = await teams_ids_of(tx, [view.requester.id])
    return with_refresh(cards.request_status(view, tz=tz), view.id, teams_ids), view


async def card_for(
    deps: Deps, person_id: str, request: ActivationRequest, *, tz: str | None
) -> tuple[Card, ActivationRequest] | None:
    """The card about `request` as `person_id` should see it now (requester or approver), and
    the request it shows; None for anyone else."""
    if person_id == request.requester.id:
        async with deps.db.transaction() as tx:
            return await requester_card(tx, request, tz=tz)
    if person_id not in request.approver_ids:
        return None
    if request.state is RequestState.PENDING_APPROVAL:
        async with deps.db.transaction() as tx:
            teams_ids = await teams_ids_of(tx, request.approver_ids)
        policy = await deps.directory.activation_policy(request.role.id)
        card = cards.approval_request(request, policy=policy, approver_teams_ids=teams_ids, tz=tz)
        return card, request
    return cards.approval_decided(request, tz=tz), request


async def current_card(deps: Deps, actor: Actor, request_id: str | None) -> Outcome | None:
    """The card of `request_id` as it is now, for a button pressed on it: the answer to a stale
    card. None when there is no such request of this person's."""
    if request_id is None:
        return None
    async with deps.db.transaction() as tx:
        request = await tx.requests.get(request_id)
        if request is None or request.requester.id != actor.person.id:
            return None
        card, view = await requester_card(tx, request, tz=actor.timezone)
    return Outcome(
        card_update=card, card_subject=CardSubject(request_id=view.id, version=view.version)
    )


async def keep_current(deps: Deps, actor: Actor, pressed: SentMessage, outcome: Outcome) -> Outcome:
    """The card that carried an action now shows `outcome.card_subject`: record it against that
    request (once per message), so every later change updates it too, and give the requester's
    card Teams' `refresh`. When the request changed between drawing the card and recording it,
    the card is drawn again: the change's own update may have run before the record existed."""
    subject = outcome.card_subject
    if subject is None or outcome.card_update is None or not pressed.activity_id:
        return outcome
    async with deps.db.transaction() as tx:
        if await tx.requests.get(subject.request_id) is None:
            return outcome
        copies = await tx.cards.copies(subject.request_id)
        if not any(
            sent.activity_id == pressed.activity_id
            and sent.conversation_id == pressed.conversation_id
            for _, sent in copies
        ):
            await tx.cards.add(subject.request_id, shown_purpose(pressed.activity_id), pressed)
    async with deps.db.transaction() as tx:
        current = await tx.requests.get(subject.request_id)
    if current is None:
        return outcome
    if current.version != subject.version:
        drawn = await card_for(deps, actor.person.id, current, tz=actor.timezone)
        if drawn is not None:
            card, view = drawn
            return outcome.model_copy(
                update={
                    "card_update": card,
                    "card_subject": CardSubject(request_id=view.id, version=view.version),
                }
            )
    if actor.person.id == current.requester.id:
        card = with_refresh(outcome.card_update, subject.request_id, [actor.teams_id])
        return outcome.model_copy(update={"card_update": card})
    return outcome
