"""`alerts`: the five PIM alerts for pimbot's admins, read fresh from Graph each time (PIM's own
where the tenant offers them, else computed), with each alert's findings page by page."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bot.domain import Actor, CardMessage, Outcome, TextMessage
from bot.governance.policy_ports import AlertsSource, PolicyRefused
from cards.actions import InvalidAction
from cards.governance.alert_actions import AlertsSummary, AlertsVerb, parse_alerts_action
from cards.governance.alerts import alert_page_card, alerts_card

log = logging.getLogger(__name__)

VERBS = (AlertsVerb.PAGE.value, AlertsVerb.SUMMARY.value)


class AlertsJourney:
    def __init__(self, source: AlertsSource) -> None:
        self._source = source

    async def on_command(self, actor: Actor, text: str) -> Outcome:
        try:
            report = await self._source.read()
        except PolicyRefused as refusal:
            return _text(f"Entra refused to show the alerts: {refusal.message or refusal.code}.")
        active = len(report.active)
        return Outcome(
            replies=[
                CardMessage(
                    card=alerts_card(report, tz=actor.timezone),
                    summary=f"PIM alerts: {active} need attention",
                )
            ]
        )

    async def on_action(self, actor: Actor, data: Mapping[str, Any]) -> Outcome:
        try:
            action = parse_alerts_action(data)
        except InvalidAction as invalid:
            return Outcome(toast=str(invalid))
        try:
            report = await self._source.read()
        except PolicyRefused as refusal:
            return Outcome(toast=f"Entra refused to show the alerts: {refusal.message}.")
        if isinstance(action, AlertsSummary):
            return Outcome(card_update=alerts_card(report, tz=actor.timezone))
        alert = report.alert(action.kind)
        if alert is None:
            return Outcome(toast="That alert is not there any more. Type `alerts` for a new card.")
        page = alert_page_card(alert, action.page, taken_at=report.taken_at, tz=actor.timezone)
        return Outcome(card_update=page)


def _text(text: str) -> Outcome:
    return Outcome(replies=[TextMessage(text=text)])
