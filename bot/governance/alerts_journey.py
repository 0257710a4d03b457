"""`alerts`: the five PIM alerts for pimbot's admins, read fresh from Graph each time (PIM's own
where the tenant offers them, else computed), each alert's findings page by page, and **Fix**.

A fix of PIM's own alert is PIM's remediation of the incident (Graph `remediate`): remove the
assignment, remove the eligibility, or turn on MFA in the role's policy. A fix of an alert pimbot
computed is pimbot's own change (`bot/governance/alert_fixes.py`). It is asked for on the card,
confirmed, checked again against Graph when confirmed (the incident still there; never a break-glass
account's role), handed to four-eyes (a second admin for Global Administrator), carried out by the
`admin_change` job, and audited at every step. Graph must offer PIM's alerts to pimbot's app
(RoleManagementAlert.ReadWrite.Directory), so PIM's remediation exists on the bot engine only; the
pim engine's app only reads, and such a fix asked for there is refused in words.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.domain import Actor, CardMessage, GraphError, Outcome, TextMessage
from bot.governance.alert_fixes import ComputedFixes
from bot.governance.alert_settings import AlertSettings
from bot.governance.audit import audit_admin, audit_refusal
from bot.governance.config import GovernanceConfig
from bot.governance.domain import (
    GLOBAL_ADMINISTRATOR,
    AdminChange,
    Alert,
    AlertKind,
    AlertSource,
    ChangeState,
    Finding,
)
from bot.governance.four_eyes import FourEyes, Proposal
from bot.governance.policy_ports import AlertsSource, PolicyRefused
from bot.store import Database
from bot.workflow import outbox
from bot.workflow.errors import TRANSIENT, graph_trouble
from bot.workflow.outbox import RetryLater
from cards.actions import InvalidAction
from cards.governance.alert_actions import (
    AlertsConfigure,
    AlertsFix,
    AlertsSettings,
    AlertsSummary,
    AlertsVerb,
    parse_alerts_action,
)
from cards.governance.alerts import alert_page_card, alerts_card, fix_confirmation_card
from cards.text import plain

log = logging.getLogger(__name__)

KIND = "alerts.fix"
VERBS = tuple(verb.value for verb in AlertsVerb)
RETRY_DELAY = timedelta(seconds=30)
NO_FIX_TEXT = (
    "pimbot cannot fix this alert here: fixes are PIM's own remediation, which needs PIM's alerts "
    "and an app allowed to change them (the bot engine with RoleManagementAlert.ReadWrite."
    "Directory). Nothing was changed. Fix it in Microsoft Entra admin center, Privileged Identity "
    "Management, Alerts."
)
GONE_TEXT = (
    "That finding is not there any more (fixed already, or changed since the card was sent). "
    "Nothing was changed. Type `alerts` for the alerts as they are now."
)


class AlertsJourney:
    def __init__(
        self,
        source: AlertsSource,
        *,
        db: Database | None = None,
        config: GovernanceConfig | None = None,
        four_eyes: FourEyes | None = None,
        now: Callable[[], datetime] | None = None,
        computed_fixes: ComputedFixes | None = None,
        settings: AlertSettings | None = None,
    ) -> None:
        self._source = source
        self._settings = settings
        self._computed = computed_fixes
        self._db = db
        self._config = config
        self._four_eyes = four_eyes
        self._now = now
        if four_eyes is not None:
            four_eyes.register(KIND, self.carry_out)

    @property
    def _fixes_possible(self) -> bool:
        return self._four_eyes is not None and self._config is not None and self._config.app_writes

    async def on_command(self, actor: Actor, text: str) -> Outcome:
        if self._settings is not None and text.split()[-1:] == ["settings"]:
            return await self._settings.card(actor)
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
        if isinstance(action, AlertsSettings | AlertsConfigure):
            if self._settings is None:
                return Outcome(toast="Alert settings are not available here.")
            if isinstance(action, AlertsSettings):
                return await self._settings.card(actor)
            return await self._settings.configure(actor, action)
        try:
            report = await self._source.read()
        except PolicyRefused as refusal:
            return Outcome(toast=f"Entra refused to show the alerts: {refusal.message}.")
        if isinstance(action, AlertsSummary):
            return Outcome(card_update=alerts_card(report, tz=actor.timezone))
        alert = report.alert(action.kind)
        if alert is None:
            return Outcome(toast="That alert is not there any more. Type `alerts` for a new card.")
        if isinstance(action, AlertsFix):
            return await self._fix(actor, action, alert)
        page = alert_page_card(
            alert,
            action.page,
            taken_at=report.taken_at,
            tz=actor.timezone,
            can_fix=self._can_fix(alert),
        )
        return Outcome(card_update=page)

    def _can_fix(self, alert: Alert) -> bool:
        if not alert.active:
            return False
        if alert.source is AlertSource.GRAPH:
            return self._fixes_possible
        return self._computed is not None and self._computed.offers(alert.kind)

    def _why_not(self, alert: Alert) -> str:
        if alert.source is AlertSource.GRAPH or self._computed is None:
            return NO_FIX_TEXT
        return self._computed.why_not(alert.kind)

    # --- asking for a fix ---------------------------------------------------------------------

    async def _fix(self, actor: Actor, action: AlertsFix, alert: Alert) -> Outcome:
        ids = {"alert": action.kind.value, "key": action.key}
        if not self._can_fix(alert):
            return await self._refuse(actor, ids, self._why_not(alert))
        finding = next((f for f in alert.findings if f.key == action.key), None)
        if finding is None:
            return await self._refuse(actor, ids, GONE_TEXT)
        if (
            finding.principal_id
            and self._config
            and self._config.is_break_glass(finding.principal_id)
        ):
            return await self._refuse(
                actor,
                ids,
                f"{plain(finding.principal_name)} is a break-glass (emergency access) account: "
                "pimbot keeps it as it is. Nothing was changed.",
            )
        if action.verb is AlertsVerb.FIX:
            return Outcome(card_update=fix_confirmation_card(alert, finding))
        if alert.source is AlertSource.COMPUTED and self._computed is not None:
            return await self._computed.propose(actor, alert, finding)
        assert self._four_eyes is not None
        return await self._four_eyes.propose(actor, _proposal(alert, finding))

    async def _refuse(self, actor: Actor, ids: dict[str, str], text: str) -> Outcome:
        if self._db is not None and self._now is not None:
            await audit_refusal(
                self._db,
                self._now(),
                actor.person.id,
                f"{KIND}.refused",
                reason=text,
                details=ids,
            )
        return _text(text)

    # --- carrying it out (the admin_change job) -----------------------------------------------

    async def carry_out(self, change: AdminChange, token: str | None = None) -> None:
        """`token`: the deciding admin's own, on the pim engine; fixes are offered on the bot
        engine only (its app remediates), so it is not used."""
        p = change.payload
        kind = AlertKind(str(p["alert"]))
        try:
            report = await self._source.read()
            alert = report.alert(kind)
            if alert is not None and alert.source is not AlertSource.GRAPH:
                # PIM's alerts went away (a permission or licence removed): nothing to remediate
                # with, and no telling whether the finding is still there.
                words = f"PIM's alerts are not available to pimbot now ({alert.note}). " + (
                    "Nothing was changed."
                )
                await self._close(
                    change, ChangeState.FAILED, words, "❌ Not done", outcome="failed"
                )
                return
            finding = next(
                (f for f in (alert.findings if alert else ()) if f.key == p["key"]), None
            )
            if alert is None or alert.graph_alert_id is None or finding is None:
                await self._close(change, ChangeState.DONE, "already fixed", "✅ Already fixed")
                return
            await self._source.remediate(alert.graph_alert_id, finding.key)
        except GraphError as exc:
            if isinstance(exc, TRANSIENT) or exc.status in (429, 500, 502, 503, 504):
                delay = timedelta(seconds=exc.retry_after) if exc.retry_after else RETRY_DELAY
                raise RetryLater(delay, f"Graph: {exc}") from exc
            words = graph_trouble(exc, "fix it") + " Nothing was changed."
            await self._close(change, ChangeState.FAILED, words, "❌ Not done", outcome="failed")
            return
        await self._close(change, ChangeState.DONE, "remediated in PIM", "✅ Done")

    async def _close(
        self,
        change: AdminChange,
        to: ChangeState,
        note: str,
        told: str,
        *,
        outcome: str = "ok",
    ) -> None:
        assert self._db is not None and self._now is not None
        now = self._now()
        async with self._db.transaction() as tx:
            moved = await tx.admin_changes.transition(
                change.id,
                from_states=[ChangeState.APPROVED, ChangeState.IN_PROGRESS],
                to=to,
                now=now,
                failure=note if to is ChangeState.FAILED else "",
            )
            if moved is None:
                return
            await audit_admin(
                tx,
                now,
                None,
                f"{KIND}.done" if to is ChangeState.DONE else f"{KIND}.failed",
                outcome=outcome,
                reason=note,
                details={"change_id": change.id, **change.payload},
            )
            extra = f" {note}" if to is ChangeState.FAILED else ""
            await outbox.message(
                tx,
                change.proposer.id,
                change.tenant_id,
                key=f"admin_done:{change.id}",
                now=now,
                text=f"{told}: {plain(change.title)}.{extra}",
            )


def _proposal(alert: Alert, finding: Finding) -> Proposal:
    role_id = (
        GLOBAL_ADMINISTRATOR
        if alert.kind is AlertKind.TOO_MANY_GLOBAL_ADMINS
        else finding.role_id or ""
    )
    subject = " — ".join(p for p in (finding.principal_name, finding.role_name) if p)
    return Proposal(
        kind=KIND,
        target_key=f"{KIND}:{alert.kind.value}:{finding.key.lower()}",
        role_id=role_id,
        title=f"Fix “{alert.title}” for {subject or finding.key}",
        facts=[
            ("Alert", alert.title),
            ("Person", finding.principal_name),
            ("Role", finding.role_name),
            ("Found", finding.detail),
        ],
        payload={
            "alert": alert.kind.value,
            "key": finding.key,
            "graph_alert_id": alert.graph_alert_id or "",
            "principal_id": finding.principal_id or "",
            "role_id": finding.role_id or "",
        },
    )


def _text(text: str) -> Outcome:
    return Outcome(replies=[TextMessage(text=text)])
