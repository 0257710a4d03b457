"""Access review cards: the reviewer's card (a row per person and role, Keep / Remove, "Keep all
recommended", a page at a time), the `reviews` list, and at the end the admins' summary and the
notice to each person removed.

Buttons carry only ids and what was asked; pimbot checks the reviewer, the item and the review
against its store and Graph before anything is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, TypeAdapter, ValidationError

from bot.governance.domain import (
    Decision,
    Recommendation,
    ReviewCard,
    ReviewInstance,
    ReviewItem,
    ReviewProgress,
)
from cards.actions import Id, InvalidAction, Reason
from cards.common import (
    Card,
    Element,
    button_row,
    card,
    execute,
    facts,
    heading,
    paragraph,
    role_name,
    shorten,
    text_input,
    when,
)
from cards.text import plain

# Rows per page: each undecided row carries two buttons; 10 rows stay far below Teams' 28 KB
# even with long names (tests/cards measure the largest page of a 500-person review).
PAGE_SIZE = 10
MAX_NAME = 80
TEAMS_CARD_LIMIT = 28 * 1024


class ReviewVerb(StrEnum):
    DECIDE = "review.decide"
    KEEP_RECOMMENDED = "review.keep_recommended"
    PAGE = "review.page"


PageNumber = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,5}$")]


class _ReviewAction(BaseModel):
    # Teams adds keys of its own (and every input on the card): ignore what we do not read.
    model_config = ConfigDict(frozen=True, extra="ignore", strict=True)

    definition: Id
    instance: Id
    page: PageNumber = "0"

    @property
    def page_number(self) -> int:
        return int(self.page)


class ReviewDecide(_ReviewAction):
    """Keep (Approve) or Remove (Deny) one person's role."""

    verb: Literal[ReviewVerb.DECIDE] = ReviewVerb.DECIDE
    item: Id
    decision: Literal["Approve", "Deny"]
    reason: Reason = ""


class ReviewKeepRecommended(_ReviewAction):
    """Keep every undecided row Graph recommends keeping."""

    verb: Literal[ReviewVerb.KEEP_RECOMMENDED] = ReviewVerb.KEEP_RECOMMENDED


class ReviewPage(_ReviewAction):
    verb: Literal[ReviewVerb.PAGE] = ReviewVerb.PAGE


ReviewAction = ReviewDecide | ReviewKeepRecommended | ReviewPage
_ADAPTER: TypeAdapter[ReviewAction] = TypeAdapter(ReviewAction)


def parse_review_action(data: Mapping[str, Any]) -> ReviewAction:
    try:
        return _ADAPTER.validate_python(dict(data))
    except ValidationError:
        raise InvalidAction(
            "I could not read that button (the card may be out of date). Type `reviews` for "
            "the reviews running now."
        ) from None


def page_count(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


# --- the reviewer's card -----------------------------------------------------------------------


def review_card(view: ReviewCard, tz: str | None = None) -> Card:
    instance = view.instance
    role = role_name(instance.role)
    over = not instance.is_open
    title = f"Access review: {role}"
    body: list[Element] = [heading(title)]
    if over:
        body.append(paragraph(f"This review is over. {plain(view.outcome)}".strip(), bold=True))
    else:
        body.append(
            paragraph(
                f"Does each of these people still need {role}? Keep or remove each one "
                f"by {_date(instance.end, tz)}. Removed access can be asked for again in PIM.",
            )
        )
    body.append(
        paragraph(
            f"{view.decided} of {view.total} decided · page {view.page + 1} of {view.pages}",
            subtle=True,
        )
    )
    ids = {"definition": instance.definition_id, "instance": instance.instance_id}
    page = {"page": str(view.page)}
    if not over and any(not i.decided for i in view.items):
        body.append(
            text_input(
                "reason", "Reason (needed to remove)", max_length=500, placeholder="e.g. left"
            )
        )
    for item in view.items:
        body.extend(_row(item, ids | page, open_=not over, tz=tz))
    actions = []
    if not over and any(
        not i.decided and i.recommendation is Recommendation.APPROVE for i in view.items
    ):
        actions.append(execute("Keep all recommended", ReviewVerb.KEEP_RECOMMENDED, ids | page))
    if view.page > 0:
        actions.append(execute("Previous", ReviewVerb.PAGE, ids | {"page": str(view.page - 1)}))
    if view.page + 1 < view.pages:
        actions.append(execute("Next", ReviewVerb.PAGE, ids | {"page": str(view.page + 1)}))
    body.append(
        paragraph(
            "Recommendations are Microsoft Entra's, from each person's sign-ins. Decisions "
            "made in the Entra portal show here too.",
            subtle=True,
        )
    )
    return card(body, actions, fallback_text=f"{title}: {view.decided} of {view.total} decided")


def _row(
    item: ReviewItem, data: Mapping[str, str], *, open_: bool, tz: str | None
) -> list[Element]:
    who = plain(shorten(item.principal.display_name or item.principal.upn or "someone", MAX_NAME))
    upn = plain(shorten(item.principal.upn, MAX_NAME))
    details = [
        f"recommended: {_recommendation(item.recommendation)}",
        f"last sign-in {_date(item.last_sign_in, tz)}" if item.last_sign_in else "no sign-in known",
        f"last activation {_date(item.last_activation, tz)}"
        if item.last_activation
        else "never activated",
    ]
    elements: list[Element] = [
        paragraph(who + (f" ({upn})" if upn else ""), bold=True),
        paragraph(" · ".join(details), subtle=True),
    ]
    if item.decided:
        verdict = "✅ Kept" if item.decision is Decision.APPROVE else "❌ Removed"
        by = f" by {plain(shorten(item.reviewed_by, MAX_NAME))}" if item.reviewed_by else ""
        at = f", {_date(item.reviewed_at, tz)}" if item.reviewed_at else ""
        kept = item.decision is Decision.APPROVE
        elements.append(paragraph(f"{verdict}{by}{at}", color="good" if kept else "attention"))
    elif open_:
        row = {**data, "item": item.item_id}
        elements.append(
            button_row(
                execute("Keep", ReviewVerb.DECIDE, row | {"decision": "Approve"}, style="positive"),
                execute(
                    "Remove",
                    ReviewVerb.DECIDE,
                    row | {"decision": "Deny"},
                    style="destructive",
                    send_inputs=True,
                ),
            )
        )
    else:
        elements.append(paragraph("Not reviewed", subtle=True))
    return elements


def _recommendation(value: Recommendation) -> str:
    return {
        Recommendation.APPROVE: "keep",
        Recommendation.DENY: "remove",
        Recommendation.NO_INFO: "no information",
    }[value]


def _date(value: datetime | None, tz: str | None) -> str:
    """In the viewer's zone `tz`; when pimbot does not know it, the Teams client shows it in
    the zone of whoever looks (`cards.common.when`)."""
    return when(value, tz) if value else ""


# --- `reviews` ---------------------------------------------------------------------------------


def reviews_list(progress: list[ReviewProgress], tz: str | None = None) -> Card:
    body: list[Element] = [heading(f"Access reviews: {len(progress)}")]
    if not progress:
        body.append(
            paragraph(
                "No access reviews yet. Start one with `review ROLE every N days`, e.g. "
                "`review Exchange Administrator every 90 days`."
            )
        )
    for line in progress:
        name = plain(shorten(line.definition.display_name, MAX_NAME))
        instance = line.instance
        if instance is None:
            body.append(paragraph(f"{name}: not started yet ({plain(line.definition.status)})"))
            continue
        state = "running" if instance.is_open else plain(instance.status).lower()
        body.append(paragraph(f"{name}: {state}, ends {_date(instance.end, tz)}", bold=True))
        body.append(
            paragraph(
                f"{line.kept + line.removed} of {line.total} decided: {line.kept} kept, "
                f"{line.removed} removed, {line.undecided} not yet",
                subtle=True,
            )
        )
    return card(body, fallback_text=f"Access reviews: {len(progress)}")


# --- the end of a review -----------------------------------------------------------------------

HOW_TO_ASK_AGAIN = (
    "If you still need it, ask your admins to make you eligible again (in Microsoft Entra: "
    "Privileged Identity Management, or My Access)."
)
NAMES_SHOWN = 20


def review_summary_card(instance: ReviewInstance, items: Sequence[ReviewItem]) -> Card:
    """What the admins get when an instance ended and its decisions were applied."""
    role = role_name(instance.role)
    kept = [i for i in items if i.decision is Decision.APPROVE]
    removed = [i for i in items if i.decision is Decision.DENY]
    unreviewed = [i for i in items if not i.decided]
    outcome = review_outcome(items)
    body: list[Element] = [
        heading(f"Access review of {role} ended"),
        paragraph(outcome, bold=True),
        facts(
            [
                ("Removed", _names(removed, with_reviewer=True)),
                ("Not reviewed", _names(unreviewed)),
                ("Kept", _names(kept)),
            ]
        ),
        paragraph(
            "Microsoft Entra applied the decisions: the people removed are no longer eligible "
            "for the role, and pimbot told each of them.",
            subtle=True,
        ),
    ]
    return card(body, fallback_text=f"Access review of {role} ended: {outcome}")


def review_outcome(items: Sequence[ReviewItem]) -> str:
    kept = sum(i.decision is Decision.APPROVE for i in items)
    removed = sum(i.decision is Decision.DENY for i in items)
    return f"{kept} kept, {removed} removed, {sum(not i.decided for i in items)} not reviewed."


def removed_notice_card(instance: ReviewInstance, item: ReviewItem) -> Card:
    """What a person removed by the review is told."""
    role = role_name(instance.role)
    by = f" (decided by {plain(shorten(item.reviewed_by, MAX_NAME))})" if item.reviewed_by else ""
    reason = plain(shorten(item.justification, 500))
    body: list[Element] = [
        heading(f"Your {role} role was removed", color="attention"),
        paragraph(
            f"The access review of {role} removed your {role} role{by}: you are no longer "
            "eligible for it, and any active assignment of it ended."
        ),
    ]
    if reason:
        body.append(facts([("Reason given", reason)]))
    body.append(paragraph(HOW_TO_ASK_AGAIN))
    return card(body, fallback_text=f"The access review of {role} removed your {role} role")


def _names(items: Sequence[ReviewItem], *, with_reviewer: bool = False) -> str:
    shown = []
    for item in items[:NAMES_SHOWN]:
        name = plain(shorten(item.principal.display_name, MAX_NAME))
        if with_reviewer and item.reviewed_by:
            name += f" (by {plain(shorten(item.reviewed_by, MAX_NAME))})"
        shown.append(name)
    more = len(items) - NAMES_SHOWN
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")
