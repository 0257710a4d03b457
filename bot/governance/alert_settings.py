"""`alerts settings`: PIM's configuration of its own alerts (on or off, threshold), changed by an
admin with a button (PATCH of the alert's `alertConfigurations` entry in Graph).

Admins only (the front's gate, at every button), read from Graph again before each change,
audited (`alerts.settings.changed`, `.refused`, `.failed`). No second admin: a configuration
changes what PIM watches and reports, not who holds a role or what activating one needs. Graph
offers the change to pimbot's app with RoleManagementAlert.ReadWrite.Directory (the bot engine);
where PIM's alerts are not available to pimbot there is nothing to configure.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.domain import Actor, CardMessage, GraphError, Outcome, TextMessage
from bot.governance.audit import audit_admin
from bot.governance.config import GovernanceConfig
from bot.governance.domain import THRESHOLD_KINDS, AlertSource
from bot.governance.policy_ports import AlertsSource, PolicyRefused
from bot.store import Database
from bot.timefmt import iso_duration, parse_iso_duration
from bot.workflow.errors import graph_trouble
from cards.governance.alert_actions import AlertsConfigure
from cards.governance.alert_settings import alert_settings_card
from cards.text import plain

MAX_COUNT = 10_000
MAX_WINDOW = timedelta(days=3650)


class AlertSettings:
    def __init__(
        self,
        source: AlertsSource,
        db: Database,
        config: GovernanceConfig,
        now: Callable[[], datetime],
    ) -> None:
        self._source = source
        self._db = db
        self._config = config
        self._now = now

    async def card(self, actor: Actor) -> Outcome:
        try:
            report = await self._source.read()
        except PolicyRefused as refusal:
            return _text(f"Entra refused to show the alerts: {refusal.message or refusal.code}.")
        card = alert_settings_card(report, taken_at=report.taken_at, tz=actor.timezone)
        return Outcome(replies=[CardMessage(card=card, summary="PIM alert settings")])

    async def configure(self, actor: Actor, action: AlertsConfigure) -> Outcome:
        ids = {"alert": action.kind.value}
        if not self._config.app_writes:
            return await self._refuse(
                actor,
                ids,
                "On the pim engine pimbot's app may only read PIM's alerts: nothing was changed. "
                "Change the alert's settings in Microsoft Entra admin center, Privileged Identity "
                "Management, Alerts, Settings.",
            )
        report = await self._source.read()
        alert = report.alert(action.kind)
        if alert is None or alert.source is not AlertSource.GRAPH or not alert.graph_alert_id:
            return await self._refuse(
                actor,
                ids,
                "PIM's own alerts are not available to pimbot now, so there is no setting to "
                "change. Nothing was changed.",
            )
        enabled: bool | None = None
        threshold: str | None = None
        if action.enabled:
            enabled = action.enabled == "true"
            if enabled == alert.enabled:
                return _text(f"{alert.title} is {'on' if enabled else 'off'} already.")
        else:
            threshold, problem = _threshold(THRESHOLD_KINDS.get(alert.kind), action.threshold)
            if problem:
                return await self._refuse(actor, ids, problem)
        try:
            await self._source.configure(alert, enabled=enabled, threshold=threshold)
        except GraphError as exc:
            words = graph_trouble(exc, "change the alert's settings") + " Nothing was changed."
            await self._audit(actor, "alerts.settings.failed", ids, outcome="failed", reason=words)
            return _text(words)
        change = (
            ("turned on" if enabled else "turned off")
            if enabled is not None
            else f"threshold set to {threshold}"
        )
        details = {**ids, "enabled": enabled, "threshold": threshold, "before": alert.threshold}
        await self._audit(actor, "alerts.settings.changed", details, reason=change)
        after = await self._source.read()
        card = alert_settings_card(after, taken_at=after.taken_at, tz=actor.timezone)
        return Outcome(card_update=card, toast=f"{alert.title}: {change}.")

    async def _refuse(self, actor: Actor, ids: dict[str, str], text: str) -> Outcome:
        await self._audit(actor, "alerts.settings.refused", ids, outcome="refused", reason=text)
        return _text(text)

    async def _audit(
        self,
        actor: Actor,
        action: str,
        details: dict[str, Any],
        *,
        outcome: str = "ok",
        reason: str = "",
    ) -> None:
        async with self._db.transaction() as tx:
            await audit_admin(
                tx,
                self._now(),
                actor.person.id,
                action,
                outcome=outcome,
                reason=reason,
                details=details,
            )


def _threshold(kind: str | None, text: str) -> tuple[str | None, str]:
    """The threshold as Graph takes it, or the words saying why not."""
    if kind is None:
        return None, "This alert has no threshold to set. Nothing was changed."
    if kind == "count":
        if not text.isdigit() or not 0 < int(text) <= MAX_COUNT:
            return None, (
                f"“{plain(text[:20])}” is not a number of Global Administrators (a whole "
                f"number from 1 to {MAX_COUNT}). Nothing was changed."
            )
        return str(int(text)), ""
    window = parse_iso_duration(text)
    if window is None or window < timedelta(days=1) or window > MAX_WINDOW:
        return None, (
            f"“{plain(text[:20])}” is not a period I can use: an ISO 8601 duration of at "
            "least a day, e.g. P90D. Nothing was changed."
        )
    return iso_duration(window), ""


def _text(text: str) -> Outcome:
    return Outcome(replies=[TextMessage(text=text)])
