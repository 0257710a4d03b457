"""The Microsoft Graph application permissions each engine needs, and the ones it must not hold.

Each need is met by any one of its permissions (the least privileged first), as the Permissions
table of each Graph operation's page lists them. The names are Microsoft Graph's; their ids are
read from Microsoft Graph's service principal (`appRoles`) of the tenant, never written here.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.graph.teams_apps import INSTALL_PERMISSION
from bot.settings import EngineName, Settings

_ROLE_MANAGEMENT_READ = (
    "RoleManagement.Read.Directory",
    "RoleManagement.Read.All",
    "RoleManagement.ReadWrite.Directory",
)


@dataclass(frozen=True)
class Need:
    purpose: str  # what pimbot cannot do without it, in words
    accepted: tuple[str, ...]  # any one of these; the first is the one to grant

    @property
    def least(self) -> str:
        return self.accepted[0]


ADMIN_ACTIVATION = Need(
    "activate, extend and end roles for people (adminAssign, adminExtend, adminRemove)",
    ("RoleAssignmentSchedule.ReadWrite.Directory", "RoleManagement.ReadWrite.Directory"),
)
ROLE_READS = Need(
    "read role definitions, eligibilities, active assignments and schedule requests",
    _ROLE_MANAGEMENT_READ,
)
POLICY_READS = Need(
    "read each role's PIM policy (duration, justification, ticket, MFA, approvers)",
    (
        "RoleManagementPolicy.Read.Directory",
        "RoleManagementPolicy.ReadWrite.Directory",
        *_ROLE_MANAGEMENT_READ,
    ),
)
USER_READS = Need(
    "read the names of requesters and approvers",
    ("User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"),
)
GROUP_READS = Need(
    "read approver groups and group-inherited eligibility (transitive members)",
    (
        "GroupMember.Read.All",
        "Group.Read.All",
        "Group.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ),
)
TEAMS_INSTALLS = Need(
    "install pimbot for approvers who never opened it (PIMBOT_TEAMS_CATALOG_APP_ID is set)",
    (
        INSTALL_PERMISSION,
        "TeamsAppInstallation.ReadWriteForUser.All",
        "TeamsAppInstallation.ReadWriteAndConsentSelfForUser.All",
        "TeamsAppInstallation.ReadWriteAndConsentForUser.All",
    ),
)

# With the pim engine no application permission may change who holds a role (docs/engines.md).
TIER_ZERO = ("RoleAssignmentSchedule.ReadWrite.Directory", "RoleManagement.ReadWrite.Directory")


def needs(settings: Settings) -> list[Need]:
    """What this deployment's Graph credential must hold."""
    required = [ROLE_READS, POLICY_READS, USER_READS, GROUP_READS]
    if settings.engine is EngineName.BOT:
        required.insert(0, ADMIN_ACTIVATION)
    if settings.teams_catalog_app_id:
        required.append(TEAMS_INSTALLS)
    return required


def unwanted(settings: Settings) -> tuple[str, ...]:
    """Permissions this deployment holds only at its peril."""
    return TIER_ZERO if settings.engine is EngineName.PIM else ()
