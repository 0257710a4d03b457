"""Cards of the four-eyes rule: a second admin's Approve / Deny, and the card once decided."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.governance.domain import AdminChange, ChangeState
from cards.actions import MAX_REASON_LENGTH
from cards.common import (
    MAX_REFRESH_USERS,
    Card,
    Element,
    TextColor,
    card,
    execute,
    facts,
    heading,
    paragraph,
    person_name,
    text_input,
    when,
)
from cards.governance.actions import AdminVerb
from cards.text import plain


def change_refresh(change_id: str, user_ids: Sequence[str] = ()) -> dict[str, Any]:
    """`refresh` for a four-eyes card: Teams asks pimbot for it as it is now whenever one of the
    admins looks at it, so a decision taken by another admin shows (see `cards.refresh`)."""
    block: dict[str, Any] = {
        "action": {
            "type": "Action.Execute",
            "verb": str(AdminVerb.REFRESH_CHANGE),
            "data": {"verb": str(AdminVerb.REFRESH_CHANGE), "change_id": change_id},
        }
    }
    ids = [user_id for user_id in dict.fromkeys(user_ids) if user_id][:MAX_REFRESH_USERS]
    if ids:
        block["userIds"] = ids
    return block


def second_admin_request(
    change: AdminChange, *, tz: str | None = None, refresh_user_ids: Sequence[str] = ()
) -> Card:
    """What a second admin needs to decide a change another admin asked for; kept current by
    Teams' refresh for `refresh_user_ids` (the admins' Teams ids)."""
    asker = person_name(change.proposer)
    body: list[Element] = [
        heading(f"{asker} asks a second admin to approve"),
        paragraph(plain(change.title), bold=True),
        facts([(plain(k), plain(v)) for k, v in change.facts]),
        paragraph(
            f"Changes to Global Administrator and Privileged Role Administrator need two admins. "
            f"Asked {when(change.created_at, tz)}. The first admin to decide settles it.",
            subtle=True,
        ),
        text_input(
            "reason",
            "Your reason",
            placeholder=f"Shown to {asker} (up to {MAX_REASON_LENGTH} characters)",
            max_length=MAX_REASON_LENGTH,
            multiline=True,
        ),
    ]
    ids = {"change_id": change.id}
    actions = [
        execute("Approve", AdminVerb.APPROVE_CHANGE, ids, style="positive", send_inputs=True),
        execute("Deny", AdminVerb.DENY_CHANGE, ids, style="destructive", send_inputs=True),
    ]
    return card(
        body,
        actions,
        fallback_text=f"{asker} asks: {plain(change.title)}",
        refresh=change_refresh(change.id, refresh_user_ids),
    )


def change_status(
    change: AdminChange, *, tz: str | None = None, refresh_user_ids: Sequence[str] = ()
) -> Card:
    """A change as it stands: waiting, approved, carried out, denied or failed; no buttons."""
    outcome, color = _outcome(change)
    body: list[Element] = [
        heading(outcome, color=color),
        paragraph(plain(change.title), bold=True),
        facts(
            [
                *((plain(k), plain(v)) for k, v in change.facts),
                ("Asked by", person_name(change.proposer)),
                ("Decided by", person_name(change.decided_by)),
                ("Decided", when(change.decided_at, tz)),
                ("Reason", plain(change.decision_reason)),
            ]
        ),
    ]
    if change.failure:
        body.append(paragraph(plain(change.failure), color="attention"))
    refresh = None
    if change.state not in (ChangeState.DONE, ChangeState.DENIED, ChangeState.FAILED):
        refresh = change_refresh(change.id, refresh_user_ids)  # still to change: keep it current
    return card(body, fallback_text=f"{outcome}: {plain(change.title)}", refresh=refresh)


def _outcome(change: AdminChange) -> tuple[str, TextColor]:
    match change.state:
        case ChangeState.AWAITING_SECOND:
            return "Waiting for a second admin", "default"
        case ChangeState.APPROVED | ChangeState.IN_PROGRESS:
            return "Approved, being carried out", "good"
        case ChangeState.DONE:
            return "Done", "good"
        case ChangeState.DENIED:
            return "Denied", "attention"
        case ChangeState.FAILED:
            return "Failed", "attention"
    return str(change.state), "default"
