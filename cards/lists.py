"""Overview cards: `my roles` and `pending`."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain import ActivationRequest, ActiveRole, EligibleRole, RequestState
from bot.timefmt import format_duration
from cards.actions import Verb
from cards.common import (
    MAX_LISTED,
    Card,
    Element,
    button_row,
    card,
    execute,
    heading,
    overflow_note,
    paragraph,
    person_name,
    role_name,
    shorten,
    when,
)
from cards.text import plain

_JUSTIFICATION_IN_LIST = 120


def my_roles(
    eligible: Sequence[EligibleRole], active: Sequence[ActiveRole], *, tz: str | None = None
) -> Card:
    """Active roles (until when, with Extend / Deactivate), then the eligible ones not active now
    (with Activate)."""
    active_ids = {item.role.id for item in active}
    idle = [item for item in eligible if item.role.id not in active_ids]
    body: list[Element] = [heading("Your roles")]
    if not active and not idle:
        body.append(paragraph("You have no active or eligible roles.", subtle=True))
    if active:
        body.append(paragraph("Active now", bold=True))
        body.extend(_active_rows(active[:MAX_LISTED], tz))
        body.extend(overflow_note(min(len(active), MAX_LISTED), len(active)))
    if idle:
        shown = idle[: max(MAX_LISTED - len(active), 3)]
        body.append(paragraph("You can activate", bold=True))
        for item in shown:
            body.append(paragraph(role_name(item.role)))
            if item.end is not None:
                body.append(paragraph(f"Eligible until {when(item.end, tz)}", subtle=True))
            body.append(button_row(execute("Activate", Verb.PICK_ROLE, {"role_id": item.role.id})))
        body.extend(
            overflow_note(len(shown), len(idle), "Type `activate` and the role name for others.")
        )
    return card(body, fallback_text="Your roles")


def _active_rows(active: Sequence[ActiveRole], tz: str | None) -> list[Element]:
    rows: list[Element] = []
    for item in active:
        rows.append(paragraph(role_name(item.role)))
        if item.end is None:
            # Permanent: nothing to extend, and not pimbot's to end. (A time-bound assignment,
            # which is how the bot engine activates, reads "Assigned" too and is handled below.)
            rows.append(paragraph("Assigned permanently, not through pimbot", subtle=True))
            continue
        rows.append(paragraph(f"Until {when(item.end, tz)}", subtle=True))
        role = {"role_id": item.role.id}
        rows.append(
            button_row(
                execute("Extend", Verb.EXTEND_ROLE, role),
                execute("Deactivate", Verb.DEACTIVATE_ROLE, role, style="destructive"),
            )
        )
    return rows


def pending_list(
    mine: Sequence[ActivationRequest],
    waiting_for_me: Sequence[ActivationRequest],
    *,
    tz: str | None = None,
    waiting_total: int | None = None,
) -> Card:
    """What waits for the person's decision (each opens its approval card), and their own open
    requests (with Cancel while an approver has not decided). `waiting_total` counts what waits
    when `waiting_for_me` holds only the newest of them."""
    body: list[Element] = [heading("Pending requests")]
    if not mine and not waiting_for_me:
        body.append(paragraph("Nothing is waiting.", subtle=True))
    if waiting_for_me:
        shown = waiting_for_me[:MAX_LISTED]
        body.append(paragraph("Waiting for your decision", bold=True))
        for request in shown:
            body.append(paragraph(_summary(request, with_requester=True)))
            body.append(paragraph(f"Asked {when(request.created_at, tz)}", subtle=True))
            body.append(button_row(execute("Review", Verb.REFRESH, {"request_id": request.id})))
        total = len(waiting_for_me) if waiting_total is None else waiting_total
        body.extend(overflow_note(len(shown), max(total, len(waiting_for_me))))
    if mine:
        shown = mine[:MAX_LISTED]
        body.append(paragraph("Your requests", bold=True))
        for request in shown:
            body.append(paragraph(_summary(request, with_requester=False)))
            body.append(paragraph(_STATE_WORDS[request.state], subtle=True))
            if request.state in {RequestState.DRAFT, RequestState.PENDING_APPROVAL}:
                body.append(
                    button_row(
                        execute("Cancel request", Verb.CANCEL_REQUEST, {"request_id": request.id})
                    )
                )
        body.extend(overflow_note(len(shown), len(mine)))
    return card(body, fallback_text="Pending requests")


def _summary(request: ActivationRequest, *, with_requester: bool) -> str:
    text = f"{role_name(request.role)}, {format_duration(request.duration)}"
    if with_requester:
        text = f"{person_name(request.requester)}: {text}"
    if request.justification:
        text += f". {plain(shorten(request.justification, _JUSTIFICATION_IN_LIST))}"
    return text


_STATE_WORDS = {
    RequestState.DRAFT: "Waiting for you to confirm with MFA",
    RequestState.SUBMITTED: "Sent",
    RequestState.PENDING_APPROVAL: "Waiting for approval",
    RequestState.APPROVED: "Approved, activating",
    RequestState.ACTIVATING: "Activating",
    RequestState.ACTIVE: "Active",
    RequestState.ENDED: "Ended",
    RequestState.DENIED: "Denied",
    RequestState.CANCELLED: "Cancelled",
    RequestState.EXPIRED_UNAPPROVED: "Expired without a decision",
    RequestState.FAILED: "Failed",
}
