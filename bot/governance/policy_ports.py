"""What policy as code needs from the tenant; `bot/graph/role_policies.py` implements it."""

from __future__ import annotations

from typing import Protocol

from bot.domain import Role
from bot.governance.domain import Alert, AlertsReport, RoleHolder, RolePolicy, RoleSettings


class PolicyRefused(Exception):
    """The tenant refused to read or change a policy (HTTP status and Graph's words)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class PolicyWriteFailed(Exception):
    """Changing one role's policy failed part-way; the rules already written were put back
    (`rolled_back`) or could not be (`left_changed` names them)."""

    def __init__(self, refusal: PolicyRefused, left_changed: tuple[str, ...] = ()) -> None:
        super().__init__(str(refusal))
        self.refusal = refusal
        self.left_changed = left_changed


class RolePolicies(Protocol):
    async def read_all(self) -> list[RolePolicy]:
        """Every directory role's policy at the tenant scope, sorted by role name."""
        ...

    async def write(self, policy_id: str, settings: RoleSettings) -> tuple[str, ...]:
        """Make the policy say `settings`, patching only the rules that differ; the ids of the
        rules written. All or nothing: raises PolicyWriteFailed after putting back what it wrote.
        """
        ...


class RoleSettingsSource(Protocol):
    """One role's settings and holders, for `settings <role>`."""

    async def roles(self) -> list[Role]:
        """Every directory role, to find the one a person names."""
        ...

    async def policy(self, role_id: str) -> RolePolicy | None:
        """The role's policy at the tenant scope; None when PIM has none for it."""
        ...

    async def holders(self, role_id: str) -> list[RoleHolder]:
        """Who is eligible for the role, has it active, or has standing access to it."""
        ...


class AlertsSource(Protocol):
    """The five PIM alerts: PIM's own where Graph offers them, else computed."""

    async def read(self) -> AlertsReport: ...

    async def refresh(self) -> None:
        """Ask PIM to scan for its alerts again (where the tenant offers them; else nothing)."""
        ...

    async def remediate(self, graph_alert_id: str, incident_id: str) -> None:
        """PIM's own remediation of one incident of one of its alerts."""
        ...

    async def configure(
        self, alert: Alert, *, enabled: bool | None = None, threshold: str | None = None
    ) -> None:
        """Change PIM's configuration of one of its alerts: turn it on or off, set its
        threshold (a count, or an ISO 8601 duration, as `THRESHOLD_KINDS` says)."""
        ...
