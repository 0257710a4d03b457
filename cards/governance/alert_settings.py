"""The card of PIM's alert configurations (`alerts settings`): each of PIM's alerts, on or off,
with its threshold where it has one, and the buttons to change them."""

from __future__ import annotations

from datetime import datetime

from bot.governance.domain import THRESHOLD_KINDS, AlertSource, AlertsReport
from cards.common import Card, Element, card, execute, heading, paragraph, text_input, when
from cards.governance.alert_actions import AlertsVerb

HINTS = {
    "count": "more than how many Global Administrators (a whole number, e.g. 5)",
    "duration": "after how long without use (ISO 8601 days, e.g. P90D)",
}


def alert_settings_card(report: AlertsReport, *, taken_at: datetime, tz: str | None = None) -> Card:
    body: list[Element] = [heading("PIM alert settings")]
    own = [a for a in report.alerts if a.source is AlertSource.GRAPH and a.graph_alert_id]
    if not own:
        body.append(
            paragraph(
                "PIM's own alerts are not available to pimbot here, so there is nothing to "
                "configure: pimbot computes the alerts with PIM's default thresholds."
            )
        )
    for alert in own:
        state = "on" if alert.enabled else "off"
        line = paragraph(
            f"{alert.title}: {state}"
            + (f", threshold {alert.threshold}" if alert.threshold else ""),
            bold=True,
        )
        line["spacing"] = "Medium"
        body.append(line)
        buttons = [
            execute(
                "Turn off" if alert.enabled else "Turn on",
                AlertsVerb.CONFIGURE,
                {"kind": alert.kind.value, "enabled": "false" if alert.enabled else "true"},
            )
        ]
        threshold_kind = THRESHOLD_KINDS.get(alert.kind)
        if threshold_kind is not None:
            body.append(
                text_input(
                    f"threshold_{alert.kind.value}",
                    f"Threshold: {HINTS[threshold_kind]}",
                    value=alert.threshold_value,
                    max_length=50,
                )
            )
            buttons.append(
                execute(
                    "Set threshold",
                    AlertsVerb.CONFIGURE,
                    {"kind": alert.kind.value},
                    send_inputs=True,
                )
            )
        body.append({"type": "ActionSet", "actions": buttons})
    body.append(
        paragraph(
            f"Read {when(taken_at, tz)}. Changes monitoring only, not who holds a role: no "
            "second admin is needed, and every change is in the audit log.",
            subtle=True,
        )
    )
    return card(
        body, [execute("All alerts", AlertsVerb.SUMMARY)], fallback_text="PIM alert settings"
    )
