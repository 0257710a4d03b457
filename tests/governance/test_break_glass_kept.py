"""Break-glass accounts in the alerts: never flagged as stale, shown as kept (the alerts pimbot
reads from PIM name them, as PIM does not know which accounts are for emergencies)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.governance.break_glass import keep_break_glass
from bot.governance.config import GovernanceConfig
from bot.governance.domain import Alert, AlertKind, AlertSource, AlertsReport, Finding

GLASS, PERSON = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"


def report(kind: AlertKind, *ids: str) -> AlertsReport:
    findings = tuple(
        Finding(key=i, principal_id=i, principal_name=i[:4], detail="never signed in") for i in ids
    )
    alert = Alert(kind=kind, source=AlertSource.GRAPH, active=True, findings=findings)
    return AlertsReport(alerts=(alert,), taken_at=datetime(2026, 12, 6, tzinfo=UTC))


def config() -> GovernanceConfig:
    return GovernanceConfig(
        tenant_id="t", admin_group_id="admins", break_glass_ids=frozenset({GLASS})
    )


def test_a_break_glass_account_is_left_out_of_a_stale_alert_and_said_to_be_kept() -> None:
    (alert,) = keep_break_glass(report(AlertKind.STALE_SIGN_IN, GLASS, PERSON), config()).alerts
    assert [f.principal_id for f in alert.findings] == [PERSON]
    assert alert.active
    assert "1 break-glass account left out" in alert.note


def test_a_stale_alert_that_named_only_break_glass_accounts_is_no_longer_raised() -> None:
    (alert,) = keep_break_glass(report(AlertKind.STALE_ELIGIBLE, GLASS), config()).alerts
    assert alert.findings == ()
    assert not alert.active


def test_where_they_count_break_glass_accounts_stay_and_are_marked_as_kept() -> None:
    original = report(AlertKind.TOO_MANY_GLOBAL_ADMINS, GLASS, PERSON)
    (alert,) = keep_break_glass(original, config()).alerts
    details = {f.principal_id: f.detail for f in alert.findings}
    assert details[PERSON] == "never signed in"
    assert details[GLASS] == (
        "never signed in; break-glass account: kept, never converted or flagged as stale"
    )
