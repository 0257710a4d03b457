"""The `alerts` cards: the five PIM alerts at a glance, and one alert's findings page by page.
Each alert says where it came from (PIM's own alert in Graph, or computed by pimbot)."""

from __future__ import annotations

from datetime import datetime

from bot.governance.domain import Alert, AlertSource, AlertsReport, Finding
from cards.common import (
    Card,
    Element,
    TextColor,
    button_row,
    card,
    execute,
    heading,
    paragraph,
    when,
)
from cards.governance.alert_actions import AlertsVerb
from cards.text import plain

SHOWN_PER_ALERT = 5  # findings on the summary card
PAGE_SIZE = 20  # findings per page of one alert


def alerts_card(report: AlertsReport, *, tz: str | None = None) -> Card:
    active = report.active
    body: list[Element] = [
        heading("PIM alerts" + (f": {len(active)} need attention" if active else ": all clear"))
    ]
    notes = {alert.note for alert in report.alerts}
    shared = notes.pop() if len(notes) == 1 else ""
    if shared:
        body.append(paragraph(plain(shared) + ".", subtle=True))
    for alert in report.alerts:
        body.extend(_summary(alert, shown_note=not shared))
        if alert.active and alert.findings:
            # Under its alert, not in one row at the end: five titles side by side are cut
            # short in Teams ("Too m…").
            body.append(
                button_row(
                    execute(
                        f"{alert.title} ({alert.count})",
                        AlertsVerb.PAGE,
                        {"kind": alert.kind.value, "page": "0"},
                    )
                )
            )
    body.append(paragraph(f"Read {when(report.taken_at, tz)}.", subtle=True))
    return card(body, fallback_text=f"PIM alerts: {len(active)} need attention")


def alert_page_card(
    alert: Alert,
    page: int,
    *,
    taken_at: datetime,
    tz: str | None = None,
    can_fix: bool = False,
) -> Card:
    pages = max(1, -(-alert.count // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    shown = alert.findings[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    body: list[Element] = [
        heading(f"{alert.title}: {alert.count}"),
        paragraph(_source(alert), subtle=True),
        *(_finding_row(alert, f, can_fix) for f in shown),
        paragraph(f"Page {page + 1} of {pages}. Read {when(taken_at, tz)}.", subtle=True),
    ]
    actions = [execute("All alerts", AlertsVerb.SUMMARY)]
    if page > 0:
        actions.append(
            execute("Previous", AlertsVerb.PAGE, {"kind": alert.kind.value, "page": str(page - 1)})
        )
    if page + 1 < pages:
        actions.append(
            execute("Next", AlertsVerb.PAGE, {"kind": alert.kind.value, "page": str(page + 1)})
        )
    return card(body, actions, fallback_text=f"{alert.title}: {alert.count}")


def _summary(alert: Alert, *, shown_note: bool = True) -> list[Element]:
    color: TextColor = "good"
    title = f"✓ {alert.title}: none"
    if not alert.known:
        title, color = f"? {alert.title}: unknown", "default"
    elif alert.active and alert.findings:
        title = f"⚠ {alert.title}: {alert.count}"
        color = "attention" if alert.severity == "high" else "warning"
    heading_block = paragraph(title, bold=True, color=color)
    heading_block["spacing"] = "Medium"
    blocks = [heading_block, paragraph(_source(alert, note=shown_note), subtle=True)]
    if alert.active:
        blocks += [paragraph(_finding(f)) for f in alert.findings[:SHOWN_PER_ALERT]]
        if alert.count > SHOWN_PER_ALERT:
            blocks.append(paragraph(f"…and {alert.count - SHOWN_PER_ALERT} more.", subtle=True))
    return blocks


FIX_WORDS = {
    "too_many_global_admins": "remove the Global Administrator assignment",
    "outside_pim": "remove the assignment made outside PIM",
    "no_mfa": "turn on MFA for activation in the role's policy",
    "stale_eligible": "remove the eligibility",
    "stale_sign_in": "remove the role from the account",
}
# What pimbot itself does for an alert it computed (no PIM remediation to ask for).
COMPUTED_FIX_WORDS = {
    "too_many_global_admins": "make the person eligible for the role, then remove the active "
    "assignment (as `standing` converts; PIM's count of Global Administrators includes "
    "eligible ones)",
    "outside_pim": "make the person eligible for the role, then remove the assignment made "
    "outside PIM",
    "no_mfa": "turn on MFA for activation in the role's policy, as you (your own sign-in)",
    "stale_eligible": "remove the eligibility",
    "stale_sign_in": "make the account eligible for the role, then remove the active assignment",
}
# For an app (a service principal), which PIM cannot make eligible.
APP_FIX_WORDS = {
    "stale_sign_in": "remove the app's active assignment of the role (PIM cannot make an app "
    "eligible, so the app loses the role)",
}


# A computed alert's app finding with no fix pimbot can make: converting is all it offers there,
# and PIM cannot make an app eligible.
APP_NO_FIX = (
    "an app: PIM cannot make it eligible, so pimbot has no fix for it here; remove its "
    "assignment in Entra if it no longer needs the role"
)


def app_without_fix(alert: Alert, finding: Finding) -> bool:
    return (
        alert.source is AlertSource.COMPUTED
        and finding.principal_type == "servicePrincipal"
        and alert.kind.value not in APP_FIX_WORDS
    )


def _finding_row(alert: Alert, finding: Finding, can_fix: bool) -> Element:
    if app_without_fix(alert, finding):
        return paragraph(f"{_finding(finding)} — {APP_NO_FIX}.")
    if not can_fix:
        return paragraph(_finding(finding))
    return {
        "type": "ColumnSet",
        "columns": [
            {"type": "Column", "width": "stretch", "items": [paragraph(_finding(finding))]},
            {
                "type": "Column",
                "width": "auto",
                "items": [
                    {
                        "type": "ActionSet",
                        "actions": [
                            execute(
                                "Fix",
                                AlertsVerb.FIX,
                                {"kind": alert.kind.value, "key": finding.key},
                            )
                        ],
                    }
                ],
            },
        ],
    }


def fix_confirmation_card(alert: Alert, finding: Finding) -> Card:
    """Are you sure? What the fix does, to whom, before anything changes."""
    what = FIX_WORDS[alert.kind.value]
    data = {"kind": alert.kind.value, "key": finding.key}
    back = execute("Back", AlertsVerb.PAGE, {"kind": alert.kind.value, "page": "0"})
    if app_without_fix(alert, finding):
        none: list[Element] = [
            heading(f"Fix: {alert.title}"),
            paragraph(_finding(finding)),
            paragraph(f"No fix: {APP_NO_FIX}.", subtle=True),
        ]
        return card(none, [back], fallback_text=f"Fix: {alert.title}: none for an app")
    body: list[Element] = [
        heading(f"Fix: {alert.title}"),
        paragraph(_finding(finding)),
        paragraph(
            f"PIM will {what} (its own remediation of this alert). Changes to Global "
            "Administrator need a second admin."
            if alert.source is AlertSource.GRAPH
            else f"pimbot will {_computed_fix(alert, finding)}. Changes to Global "
            "Administrator or Privileged Role Administrator need a second admin.",
            subtle=True,
        ),
    ]
    actions = [execute("Confirm fix", AlertsVerb.CONFIRM_FIX, data, style="destructive"), back]
    return card(body, actions, fallback_text=f"Fix: {alert.title}?")


def _computed_fix(alert: Alert, finding: Finding) -> str:
    kind = alert.kind.value
    if finding.principal_type == "servicePrincipal" and kind in APP_FIX_WORDS:
        return APP_FIX_WORDS[kind]
    return COMPUTED_FIX_WORDS[kind]


def _source(alert: Alert, *, note: bool = True) -> str:
    origin = "PIM's alert (Graph)" if alert.source is AlertSource.GRAPH else "computed by pimbot"
    parts = [origin]
    if alert.threshold:
        parts.append(f"threshold {alert.threshold}")
    if alert.severity:
        parts.append(f"severity {alert.severity}")
    text = "Source: " + ", ".join(parts)
    return text + (f". {plain(alert.note)}" if alert.note and note else "")


def _finding(finding: Finding) -> str:
    who = plain(finding.principal_name) if finding.principal_name else ""
    role = plain(finding.role_name) if finding.role_name else ""
    line = " — ".join(part for part in (who, role) if part) or plain(finding.key)
    return f"• {line}" + (f" ({plain(finding.detail)})" if finding.detail else "")
