"""`settings <role>`: a role's PIM settings grouped as the Entra portal groups them (activation,
assignment, notifications), and who holds the role now."""

from __future__ import annotations

from collections.abc import Sequence

from bot.governance.domain import (
    Activation,
    Approver,
    HoldKind,
    Notice,
    NoticeGroup,
    RoleHolder,
    RoleOverview,
)
from bot.timefmt import format_duration
from cards.common import Card, Element, card, facts, heading, paragraph, when
from cards.text import plain

MAX_NAMES = 12  # holders named per kind; the rest are counted, keeping the card far below 28 KB

_EVENTS = (
    ("eligible_assignment", "Assigned as eligible"),
    ("active_assignment", "Assigned as active"),
    ("activation", "Activated"),
)
_HOLDS: tuple[tuple[HoldKind, str], ...] = (
    ("eligible", "Eligible"),
    ("active", "Active (activated)"),
    ("standing", "Standing (assigned active)"),
)


def role_settings_card(overview: RoleOverview, *, tz: str | None = None) -> Card:
    policy = overview.policy
    settings = policy.settings
    activation, assignment = settings.activation, settings.assignment
    name = plain(policy.role_name)
    body: list[Element] = [
        heading(f"{name}: PIM settings"),
        _section("Activation"),
        facts(
            [
                ("Longest activation", format_duration(activation.maximum_duration)),
                ("On activation, require", _requirements(activation) or "Nothing"),
                ("Approval", _approval(overview)),
            ]
        ),
        _section("Assignment"),
        facts(
            [
                (
                    "Eligible assignments",
                    _expiry(
                        assignment.permanent_eligible_allowed,
                        format_duration(assignment.eligible_maximum_duration),
                    ),
                ),
                (
                    "Active assignments",
                    _expiry(
                        assignment.permanent_active_allowed,
                        format_duration(assignment.active_maximum_duration),
                    ),
                ),
                (
                    "Active assignment requires",
                    _listed(
                        ("MFA", assignment.active_require_mfa),
                        ("justification", assignment.active_require_justification),
                    )
                    or "Nothing",
                ),
            ]
        ),
        _section("Notifications"),
        facts(
            [(label, _notices(getattr(settings.notifications, event))) for event, label in _EVENTS]
        ),
        _section("Who holds it now"),
        facts([(label, _holders(overview.holding(kind), tz)) for kind, label in _HOLDS]),
    ]
    return card(body, fallback_text=f"PIM settings of {name}")


def _section(title: str) -> Element:
    block = paragraph(title, bold=True)
    block["spacing"] = "Medium"
    return block


def _listed(*items: tuple[str, bool]) -> str:
    return ", ".join(label for label, on in items if on)


def _requirements(activation: Activation) -> str:
    context = activation.authentication_context
    return _listed(
        ("MFA", activation.require_mfa and context is None),
        (f"authentication context {plain(context or '')}", context is not None),
        ("justification", activation.require_justification),
        ("ticket", activation.require_ticket),
    )


def _approval(overview: RoleOverview) -> str:
    approval = overview.policy.settings.activation.approval
    if not approval.required:
        return "Not needed"
    stages = [
        ", ".join(_approver(a) for a in stage.approvers) or "nobody" for stage in approval.stages
    ]
    text = "Needed from " + "; then ".join(stages)
    if approval.required_for_extension:
        text += " (also to extend)"
    return text


def _approver(approver: Approver) -> str:
    if approver.name:
        return plain(approver.name) + (" (group)" if approver.group else "")
    return plain(approver.user or approver.group or "another kind of approver")


def _expiry(permanent: bool, longest: str) -> str:
    return "Permanent allowed" if permanent else f"Must end, at most {longest}"


def _notices(group: NoticeGroup) -> str:
    parts = [
        _notice("admins", group.admin),
        _notice("the user", group.requestor),
        _notice("approvers", group.approver),
    ]
    return "; ".join(part for part in parts if part) or "Nobody is told"


def _notice(who: str, notice: Notice) -> str:
    if notice.level == "None" or (
        not notice.default_recipients and not notice.additional_recipients
    ):
        return ""
    level = "critical only" if notice.level == "Critical" else "all"
    extra = len(notice.additional_recipients)
    recipients = who if notice.default_recipients else ""
    if extra:
        more = f"{extra} more address{'es' if extra != 1 else ''}"
        recipients = f"{recipients} + {more}" if recipients else more
    return f"{recipients} ({level})"


def _holders(holders: Sequence[RoleHolder], tz: str | None) -> str:
    if not holders:
        return "Nobody"
    shown = [_holder(h, tz) for h in holders[:MAX_NAMES]]
    more = len(holders) - len(shown)
    text = ", ".join(shown)
    return f"{len(holders)}: {text}" + (f" and {more} more" if more else "")


def _holder(holder: RoleHolder, tz: str | None) -> str:
    name = plain(holder.name)
    if holder.principal_type == "group":
        name += " (group)"
    elif holder.principal_type == "servicePrincipal":
        name += " (app)"
    if holder.end is not None:
        name += f" until {when(holder.end, tz)}"
    return name
