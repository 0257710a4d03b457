"""Cards that lead a requester to a request: the activation form, "which role?", "not eligible"."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.domain import ActivationPolicy, EligibleRole, Role
from bot.timefmt import duration_choices, format_duration, iso_duration
from cards.actions import MAX_JUSTIFICATION_LENGTH, MAX_TICKET_LENGTH, Verb
from cards.common import (
    MAX_LISTED,
    Card,
    Element,
    button_row,
    card,
    choice_input,
    execute,
    facts,
    heading,
    overflow_note,
    paragraph,
    role_name,
    text_input,
)
from cards.text import plain

_PREFERRED_DEFAULT = timedelta(hours=1)
# Each choice repeats what was typed (up to 500 characters) in its button and fallback: a few
# choices keep the card far below Teams' 28 KB, and more would not help the person anyway.
_MAX_ROLE_CHOICES = 8


def activation_form(
    role: Role,
    policy: ActivationPolicy,
    *,
    form_id: str,
    kind: str = "activate",
    duration: timedelta | None = None,
    justification: str = "",
    ticket: str = "",
    approver_names: Sequence[str] = (),
    notice: str = "",
    active_until: str = "",
) -> Card:
    """Ask only for what the role's policy needs; pre-fill what the person already typed.
    `active_until`: when the role being extended ends now (an extension adds to it)."""
    extending = kind == "extend"
    needs_approval = policy.require_approval_for_extension if extending else policy.require_approval
    verb_word = "Extend" if extending else "Activate"
    body: list[Element] = [heading(f"{verb_word} {role_name(role)}")]
    if notice:
        body.append(paragraph(plain(notice), color="warning"))
    for what, typed, limit in (
        ("reason", justification, MAX_JUSTIFICATION_LENGTH),
        ("ticket number", ticket, MAX_TICKET_LENGTH),
    ):
        if len(typed) > limit:
            body.append(paragraph(_too_long(what, typed, limit), color="warning"))
    body.append(
        facts(
            [
                ("Active until", active_until),
                (
                    "Adds at most" if extending else "Longest allowed",
                    format_duration(policy.max_duration),
                ),
                ("Approval", _approval_line(needs_approval, approver_names)),
                (
                    "MFA",
                    "Needed: you will be asked to sign in" if policy.require_mfa else "Not needed",
                ),
            ]
        )
    )
    body.append(_duration_input(policy.max_duration, duration))
    body.append(
        text_input(
            "justification",
            "Why do you need it?",
            value=justification,
            placeholder=f"What you will do with the role (up to {MAX_JUSTIFICATION_LENGTH} "
            "characters)",
            required=policy.require_justification,
            error_message="This role needs a reason.",
            max_length=MAX_JUSTIFICATION_LENGTH,
            multiline=True,
        )
    )
    if policy.require_ticket:
        body.append(
            text_input(
                "ticket_number",
                "Ticket number",
                value=ticket,
                placeholder=f"e.g. INC-1234 (up to {MAX_TICKET_LENGTH} characters)",
                required=True,
                error_message="This role needs a ticket number.",
                max_length=MAX_TICKET_LENGTH,
            )
        )
        body.append(
            text_input(
                "ticket_system",
                "Ticket system",
                placeholder="e.g. ServiceNow",
                max_length=MAX_TICKET_LENGTH,
            )
        )
    submit_title = "Ask for approval" if needs_approval else verb_word
    submit = execute(
        submit_title,
        Verb.SUBMIT_REQUEST,
        {"form_id": form_id, "role_id": role.id, "kind": "extend" if extending else "activate"},
        style="positive",
        send_inputs=True,
    )
    return card(body, [submit], fallback_text=f"{verb_word} {role.display_name}")


def _too_long(what: str, typed: str, limit: int) -> str:
    """Said on the form, before anything is sent; the text stays in the field to be shortened."""
    return (
        f"Your {what} is {len(typed):,} characters; up to {limit:,} fit. Shorten it below "
        "before you send."
    )


def _approval_line(needed: bool, approver_names: Sequence[str]) -> str:
    if not needed:
        return "Not needed"
    if approver_names:
        return "Needed from " + ", ".join(plain(name) for name in approver_names)
    return "Needed"


def _duration_input(maximum: timedelta, requested: timedelta | None) -> Element:
    choices = duration_choices(maximum)
    if requested is not None and timedelta(0) < requested <= maximum and requested not in choices:
        choices = sorted([*choices, requested])
    selected = _preselected(choices, requested)
    return choice_input(
        "duration",
        "For how long?",
        [(format_duration(choice), iso_duration(choice)) for choice in choices],
        value=iso_duration(selected) if selected is not None else "",
    )


def _preselected(choices: list[timedelta], requested: timedelta | None) -> timedelta | None:
    """What the person asked for when allowed, the maximum when they asked for more, else the
    shortest choice of at least an hour."""
    if not choices:
        return None
    if requested is not None:
        return requested if requested in choices else choices[-1]
    return next((choice for choice in choices if choice >= _PREFERRED_DEFAULT), choices[-1])


def role_choices(
    query: str,
    candidates: Sequence[Role],
    *,
    duration: timedelta | str | None = None,
    justification: str = "",
    ticket: str = "",
) -> Card:
    """`security` matched several roles: one button per role, carrying what was already typed
    (`duration` as a timedelta, or already as the ISO 8601 text a `PickRole` carries)."""
    if isinstance(duration, timedelta):
        duration = iso_duration(duration)
    # Each button carries what was typed, so text over the form's limits is not carried (never
    # cut): the form says what the limit is, and the person types it again there.
    too_long = [
        what
        for what, typed, limit in (
            ("reason", justification, MAX_JUSTIFICATION_LENGTH),
            ("ticket number", ticket, MAX_TICKET_LENGTH),
        )
        if len(typed) > limit
    ]
    prefill = {
        "duration": duration or "",
        "justification": "" if "reason" in too_long else justification,
        "ticket": "" if "ticket number" in too_long else ticket,
    }
    prefill = {key: value for key, value in prefill.items() if value}
    shown = candidates[:_MAX_ROLE_CHOICES]
    notes = [
        paragraph(
            f"Your {what} is longer than the {limit:,} characters the form takes, so type a "
            "shorter one there.",
            color="warning",
        )
        for what, limit in (
            ("reason", MAX_JUSTIFICATION_LENGTH),
            ("ticket number", MAX_TICKET_LENGTH),
        )
        if what in too_long
    ]
    body: list[Element] = [
        heading("Which role do you mean?"),
        paragraph(f"“{plain(query)}” matches more than one role."),
        *notes,
        *(
            button_row(execute(role.display_name, Verb.PICK_ROLE, {"role_id": role.id, **prefill}))
            for role in shown
        ),
        *overflow_note(len(shown), len(candidates), "Type more of the name to narrow it down."),
    ]
    return card(body, fallback_text="Which role do you mean?")


def not_eligible(query: str, role: Role | None, eligible: Sequence[EligibleRole]) -> Card:
    """The role is unknown, or the person may not activate it; offer what they can activate."""
    if role is not None:
        title = f"You are not eligible for {role_name(role)}"
        advice = "Ask your PIM administrator if you need it."
    else:
        title = f"I could not find a role called “{plain(query)}”"
        advice = "Check the name, or pick one of yours below."
    body: list[Element] = [heading(title), paragraph(advice)]
    if eligible:
        shown = eligible[:MAX_LISTED]
        body.append(paragraph("You can activate:", bold=True))
        body.extend(
            button_row(
                execute(
                    f"Activate {item.role.display_name}",
                    Verb.PICK_ROLE,
                    {"role_id": item.role.id},
                )
            )
            for item in shown
        )
        body.extend(
            overflow_note(
                len(shown), len(eligible), "Type `activate` and the role name for the others."
            )
        )
    else:
        body.append(paragraph("You have no roles you can activate right now.", subtle=True))
    return card(body, fallback_text=title)
