"""The `standing` card: standing access by role, riskiest first, a page at a time, with
"Convert to eligible" per person and role."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.governance.domain import (
    MAX_PERMANENT_GLOBAL_ADMINS,
    NEEDS_SECOND_ADMIN,
    StandingAssignment,
    StandingReport,
    advice_for,
)
from bot.timefmt import iso_duration
from cards.common import (
    Card,
    Element,
    button_row,
    card,
    execute,
    heading,
    paragraph,
    person_name,
    role_name,
    text_input,
)
from cards.governance.actions import AdminVerb
from cards.text import plain

PAGE_SIZE = 10  # rows per card: each row carries a button; 10 stay far below Teams' 28 KB
MAX_NAME = 80


def page_count(report: StandingReport) -> int:
    return max(1, -(-len(report.assignments) // PAGE_SIZE))


def standing_list(
    report: StandingReport,
    *,
    page: int,
    window: timedelta,
    tz: str | None = None,
    can_convert: bool = True,
) -> Card:
    """One page of the report. `window`: the eligibility a conversion makes, editable on the
    card (sent with the Convert buttons). `can_convert` False: no Convert buttons (the pim
    engine), and the card says where to convert instead."""
    pages = page_count(report)
    page = min(max(page, 0), pages - 1)
    total = len(report.assignments)
    body: list[Element] = [heading(f"Standing access: {total} assignment{_s(total)}")]
    body.append(_global_admin_line(report))
    for unknown in report.unknown:
        body.append(paragraph(f"Not known: {plain(unknown)}.", subtle=True))
    if not total:
        body.append(paragraph("Nobody holds an admin role permanently. Nothing to convert."))
        return card(body, fallback_text="Standing access: none")
    if can_convert:
        body.append(
            text_input(
                "window",
                "Eligible for (ISO 8601, within the role's policy)",
                value=iso_duration(window),
                max_length=30,
            )
        )
    else:
        body.append(
            paragraph(
                "Converting from here needs the bot engine (on the pim engine pimbot's app only "
                "reads): convert in Entra admin center, Privileged Identity Management.",
                subtle=True,
            )
        )
    rows = report.assignments[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    shown_role = ""
    for assignment in rows:
        if assignment.role.id != shown_role:
            shown_role = assignment.role.id
            body.append(
                paragraph(
                    f"{role_name(assignment.role)}: {advice_for(assignment.role.id)}", bold=True
                )
            )
        body.extend(_row(assignment, can_convert=can_convert))
    actions = []
    if page > 0:
        actions.append(execute("Previous", AdminVerb.STANDING_PAGE, {"page": str(page - 1)}))
    if page + 1 < pages:
        actions.append(execute("Next", AdminVerb.STANDING_PAGE, {"page": str(page + 1)}))
    body.append(
        paragraph(
            f"Page {page + 1} of {pages}, riskiest roles first. Dates are UTC. Every conversion "
            "is checked again in Entra when it is made.",
            subtle=True,
        )
    )
    return card(body, actions, fallback_text=f"Standing access: {total} assignments")


def _global_admin_line(report: StandingReport) -> Element:
    count = report.permanent_global_admins
    if report.too_many_global_admins:
        return paragraph(
            f"⚠️ {count} permanent Global Administrators: more than "
            f"{MAX_PERMANENT_GLOBAL_ADMINS}. Best practice keeps only the break-glass accounts "
            "permanent.",
            color="attention",
        )
    return paragraph(
        f"{count} permanent Global Administrator{_s(count)} (best practice: at most "
        f"{MAX_PERMANENT_GLOBAL_ADMINS}, the break-glass accounts).",
        color="good",
    )


def _row(assignment: StandingAssignment, *, can_convert: bool) -> list[Element]:
    who = person_name(assignment.principal)[:MAX_NAME]
    upn = plain(assignment.principal.upn)[:MAX_NAME]
    kind = {"group": " (group)", "servicePrincipal": " (app)"}.get(assignment.principal_type, "")
    how = "directly, outside PIM" if assignment.origin == "direct" else "in PIM"
    details = [
        f"assigned {how}",
        f"since {_date(assignment.since)}" if assignment.since else "since: not known",
        f"ends {_date(assignment.end)}" if assignment.end else "no end",
        f"last sign-in {_date(assignment.last_sign_in)}"
        if assignment.last_sign_in
        else "last sign-in: not known",
        f"last activation {_date(assignment.last_activation)}"
        if assignment.last_activation
        else "never activated through PIM",
    ]
    elements: list[Element] = [
        # Bold by weight, not Markdown: the same in Teams and in any renderer without Markdown.
        paragraph(f"{who}{kind}" + (f" ({upn})" if upn else ""), bold=True),
        paragraph(" · ".join(details), subtle=True),
    ]
    if assignment.break_glass:
        elements.append(
            paragraph("Kept: a break-glass account. pimbot never converts it.", color="good")
        )
    elif assignment.principal_type == "servicePrincipal":
        elements.append(
            paragraph(
                "No Convert: an app cannot be made eligible in PIM (Entra grants apps active "
                "assignments only). If it no longer needs the role, remove the assignment; "
                "`alerts` offers that when the app has not signed in for 90 days.",
                subtle=True,
            )
        )
    elif can_convert:
        data = {"principal_id": assignment.principal.id, "role_id": assignment.role.id}
        second = " (needs a second admin)" if assignment.role.id in NEEDS_SECOND_ADMIN else ""
        elements.append(
            button_row(
                execute(
                    f"Convert to eligible{second}",
                    AdminVerb.STANDING_CONVERT,
                    data,
                    style="positive",
                    send_inputs=True,
                )
            )
        )
    return elements


def _date(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d") if dt else ""


def _s(count: int) -> str:
    return "" if count == 1 else "s"
