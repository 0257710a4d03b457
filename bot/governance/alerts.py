"""PIM's security alerts for directory roles, in pimbot's words: what each alert found, where it
came from (PIM's own alerts in Graph, or computed by pimbot from schedules and policies where the
tenant does not offer them), and which fix applies.

Five alerts matter here, each as Microsoft names it in PIM:

- too_many_global_admins (TooManyGlobalAdminsAssignedToTenantAlert): more Global Administrators
  than the threshold (5 unless configured);
- outside_pim (RolesAssignedOutsidePimAlert): a role assignment made directly, not through PIM;
- no_mfa (NoMfaOnRoleActivationAlert): a role's activation needs no MFA (nor an authentication
  context);
- stale_eligible (RedundantAssignmentAlert): eligible, not activated within 90 days;
- stale_sign_in (StaleSignInAlert): active assignments of accounts that have not signed in for 90
  days.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class AlertKind(StrEnum):
    TOO_MANY_GLOBAL_ADMINS = "too_many_global_admins"
    OUTSIDE_PIM = "outside_pim"
    NO_MFA = "no_mfa"
    STALE_ELIGIBLE = "stale_eligible"
    STALE_SIGN_IN = "stale_sign_in"


# PIM's alert name (the end of its id) for each kind.
PIM_ALERT_NAMES: dict[AlertKind, str] = {
    AlertKind.TOO_MANY_GLOBAL_ADMINS: "TooManyGlobalAdminsAssignedToTenantAlert",
    AlertKind.OUTSIDE_PIM: "RolesAssignedOutsidePimAlert",
    AlertKind.NO_MFA: "NoMfaOnRoleActivationAlert",
    AlertKind.STALE_ELIGIBLE: "RedundantAssignmentAlert",
    AlertKind.STALE_SIGN_IN: "StaleSignInAlert",
}
TITLES: dict[AlertKind, str] = {
    AlertKind.TOO_MANY_GLOBAL_ADMINS: "Too many Global Administrators",
    AlertKind.OUTSIDE_PIM: "Roles assigned outside PIM",
    AlertKind.NO_MFA: "Roles that don't require MFA",
    AlertKind.STALE_ELIGIBLE: "Stale eligible assignments",
    AlertKind.STALE_SIGN_IN: "Potential stale service accounts",
}
DEFAULT_GLOBAL_ADMIN_THRESHOLD = 5
DEFAULT_STALE_WINDOW = timedelta(days=90)


class AlertSource(StrEnum):
    GRAPH = "graph"  # PIM's own alert, read from Graph
    COMPUTED = "computed"  # computed by pimbot from Graph's schedules and policies


class FixKind(StrEnum):
    REMEDIATE = "remediate"  # PIM's own remediation of the incident (Graph)
    REQUIRE_MFA = "require_mfa"  # turn on MFA in the role's policy
    REMOVE_ELIGIBILITY = "remove_eligibility"
    CONVERT_TO_ELIGIBLE = "convert_to_eligible"  # an active assignment becomes an eligibility
    NONE = "none"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Finding(_Frozen):
    """One thing an alert found: a person's assignment, or a role."""

    key: str  # stable within the alert (PIM's incident id, or principal/role ids)
    principal_id: str | None = None
    principal_name: str = ""
    role_id: str | None = None
    role_name: str = ""
    since: datetime | None = None  # assigned since / last sign-in / last activation
    detail: str = ""  # e.g. "last signed in 2025-01-15", "never activated"


class Alert(_Frozen):
    kind: AlertKind
    source: AlertSource
    active: bool
    findings: tuple[Finding, ...] = ()
    severity: str = ""  # PIM's: low | medium | high
    threshold: str = ""  # e.g. "more than 5", "90 days"
    graph_alert_id: str | None = None  # PIM's alert id, when read from Graph
    note: str = ""  # why it was computed, or why it could not be
    known: bool = True  # False: neither PIM nor pimbot could tell (e.g. no sign-in activity)

    @property
    def title(self) -> str:
        return TITLES[self.kind]

    @property
    def count(self) -> int:
        return len(self.findings)


class AlertsReport(_Frozen):
    alerts: tuple[Alert, ...]
    taken_at: datetime

    @property
    def active(self) -> list[Alert]:
        return [alert for alert in self.alerts if alert.active and alert.findings]

    def alert(self, kind: AlertKind) -> Alert | None:
        return next((a for a in self.alerts if a.kind is kind), None)
