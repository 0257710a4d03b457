"""Who is calling, and may they: the caller's token claims and Graph's permission tables.

Permissions per operation follow the "Permissions" table of each operation's page in the Microsoft
Graph reference (least privileged first, plus the higher ones Graph also accepts). App-only tokens
carry application permissions in `roles`; delegated tokens carry scopes in `scp` and the user in
`oid`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.sandbox.graph.errors import GraphHttpError, access_denied

_ROLE_MANAGEMENT_READ = (
    "RoleManagement.Read.Directory",
    "RoleManagement.Read.All",
    "RoleManagement.ReadWrite.Directory",
)
READ_ROLE_DEFINITIONS = (*_ROLE_MANAGEMENT_READ, "Directory.Read.All")
READ_ASSIGNMENTS = (
    "RoleAssignmentSchedule.Read.Directory",
    "RoleAssignmentSchedule.ReadWrite.Directory",
    *_ROLE_MANAGEMENT_READ,
)
READ_ELIGIBILITIES = (
    "RoleEligibilitySchedule.Read.Directory",
    "RoleEligibilitySchedule.ReadWrite.Directory",
    *_ROLE_MANAGEMENT_READ,
)
WRITE_ASSIGNMENT_REQUESTS = (
    "RoleAssignmentSchedule.ReadWrite.Directory",
    "RoleAssignmentSchedule.Remove.Directory",
    "RoleManagement.ReadWrite.Directory",
)
WRITE_ELIGIBILITY_REQUESTS = (
    "RoleEligibilitySchedule.ReadWrite.Directory",
    "RoleEligibilitySchedule.Remove.Directory",
    "RoleManagement.ReadWrite.Directory",
)
READ_POLICIES = (
    "RoleManagementPolicy.Read.Directory",
    "RoleManagementPolicy.ReadWrite.Directory",
    *_ROLE_MANAGEMENT_READ,
)
WRITE_POLICIES = ("RoleManagementPolicy.ReadWrite.Directory", "RoleManagement.ReadWrite.Directory")
DECIDE_APPROVALS = ("RoleAssignmentSchedule.ReadWrite.Directory",)
READ_DIRECT_ASSIGNMENTS = (*_ROLE_MANAGEMENT_READ, "Directory.Read.All")
WRITE_DIRECT_ASSIGNMENTS = ("RoleManagement.ReadWrite.Directory",)
READ_USERS = (
    "User.ReadBasic.All",
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
)
READ_GROUPS = (
    "GroupMember.Read.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
)
READ_AUDIT = ("AuditLog.Read.All",)


@dataclass(frozen=True)
class Caller:
    """The authenticated caller of one request."""

    claims: Mapping[str, Any]

    @property
    def is_app(self) -> bool:
        return self.claims.get("idtyp") == "app" or "scp" not in self.claims

    @property
    def user_id(self) -> str | None:
        """The signed-in user's object id; None for app-only tokens."""
        return None if self.is_app else str(self.claims.get("oid") or "") or None

    @property
    def app_id(self) -> str:
        return str(self.claims.get("appid") or self.claims.get("azp") or "")

    @property
    def display_name(self) -> str | None:
        name = self.claims.get("name") or self.claims.get("app_displayname")
        return str(name) if name else None

    @property
    def permissions(self) -> frozenset[str]:
        if self.is_app:
            roles = self.claims.get("roles") or []
            return frozenset(str(role) for role in roles)
        return frozenset(str(self.claims.get("scp") or "").split())

    @property
    def has_mfa(self) -> bool:
        return "mfa" in (self.claims.get("amr") or [])

    @property
    def auth_contexts(self) -> frozenset[str]:
        acrs = self.claims.get("acrs") or []
        if isinstance(acrs, str):
            acrs = acrs.split()
        return frozenset(str(value) for value in acrs)

    def require(self, accepted: tuple[str, ...], *, app_allowed: bool = True) -> None:
        """403 `Authorization_RequestDenied` unless the token grants one of `accepted`."""
        if self.is_app and not app_allowed:
            raise access_denied(
                "This operation needs a signed-in user; application permissions are not supported."
            )
        if not self.permissions.intersection(accepted):
            raise access_denied(
                "Insufficient privileges to complete the operation. The token needs one of: "
                + ", ".join(accepted)
                + "."
            )

    def require_user(self) -> str:
        user_id = self.user_id
        if user_id is None:
            raise access_denied(
                "This operation needs a signed-in user; application permissions are not supported."
            )
        return user_id


def unauthenticated(message: str) -> GraphHttpError:
    return GraphHttpError(
        401,
        "InvalidAuthenticationToken",
        message,
        headers={"WWW-Authenticate": 'Bearer realm="", error="invalid_token"'},
    )
