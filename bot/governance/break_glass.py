"""Break-glass accounts in the alerts: kept, and said to be kept.

Emergency-access accounts are meant to hold Global Administrator permanently and to sign in
almost never, so PIM's own alerts (and the computed ones) name them as stale or as one of too
many Global Administrators. pimbot never flags them as stale: it leaves them out of the stale
alerts and says how many it kept; where they count (the number of Global Administrators), it
shows them marked as kept.
"""

from __future__ import annotations

from bot.governance.config import GovernanceConfig
from bot.governance.domain import Alert, AlertKind, AlertsReport, Finding
from bot.governance.policy_ports import AlertsSource

STALE_KINDS = frozenset({AlertKind.STALE_ELIGIBLE, AlertKind.STALE_SIGN_IN})
KEPT = "break-glass account: kept, never converted or flagged as stale"


def keep_break_glass(report: AlertsReport, config: GovernanceConfig) -> AlertsReport:
    """`report` with the break-glass accounts taken out of the stale alerts and marked as kept
    wherever else they are named."""
    return report.model_copy(
        update={"alerts": tuple(_kept(alert, config) for alert in report.alerts)}
    )


def _kept(alert: Alert, config: GovernanceConfig) -> Alert:
    def is_break_glass(finding: Finding) -> bool:
        return finding.principal_id is not None and config.is_break_glass(finding.principal_id)

    kept = [f for f in alert.findings if is_break_glass(f)]
    if not kept:
        return alert
    if alert.kind in STALE_KINDS:
        findings = tuple(f for f in alert.findings if not is_break_glass(f))
        words = (
            f"{len(kept)} break-glass account{'s' if len(kept) != 1 else ''} left out: "
            "pimbot keeps them and never flags them as stale"
        )
        note = f"{alert.note}. {words}" if alert.note else words
        return alert.model_copy(
            update={"findings": findings, "note": note, "active": alert.active and bool(findings)}
        )
    marked = tuple(
        f.model_copy(update={"detail": f"{f.detail}; {KEPT}" if f.detail else KEPT})
        if is_break_glass(f)
        else f
        for f in alert.findings
    )
    return alert.model_copy(update={"findings": marked})


class BreakGlassKept:
    """An `AlertsSource` whose reports keep the break-glass accounts (see the module)."""

    def __init__(self, source: AlertsSource, config: GovernanceConfig) -> None:
        self._source = source
        self._config = config

    async def read(self) -> AlertsReport:
        return keep_break_glass(await self._source.read(), self._config)

    async def refresh(self) -> None:
        await self._source.refresh()

    async def remediate(self, graph_alert_id: str, incident_id: str) -> None:
        await self._source.remediate(graph_alert_id, incident_id)

    async def configure(
        self, alert: Alert, *, enabled: bool | None = None, threshold: str | None = None
    ) -> None:
        await self._source.configure(alert, enabled=enabled, threshold=threshold)
