"""The Microsoft Graph permissions each engine needs, those the admin side needs on top
(`PIMBOT_ADMIN_GROUP_ID` set), and the ones an engine must not hold.

Each need is met by any one of its permissions (the least privileged first), as the Permissions
table of each Graph operation's page lists them. The names are Microsoft Graph's; their ids are
read from Microsoft Graph's service principal (`appRoles`) of the tenant, never written here.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import PIM_DELEGATED_SCOPE
from bot.graph.standing import ADMIN_DELEGATED_SCOPES
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

# The admin side's needs (docs/engines.md, docs/alerts.md): without one an admin feature does not
# work, or works with less, while the rest of pimbot does; `purpose` says which, as a warning.
CONVERSIONS = Need(
    "`standing` cannot convert anyone to eligible (its Convert to eligible makes the eligibility "
    "with roleEligibilityScheduleRequests adminAssign, app-only on the bot engine)",
    ("RoleEligibilitySchedule.ReadWrite.Directory", "RoleManagement.ReadWrite.Directory"),
)
ALERTS_AND_FIX = Need(
    "`alerts` cannot read PIM's own alerts, refresh them for the digest nor Fix them: the card "
    "shows the alerts pimbot computes, and no Fix works",
    ("RoleManagementAlert.ReadWrite.Directory",),
)
ALERTS_READ = Need(
    "`alerts` cannot read PIM's own alerts: the card shows the alerts pimbot computes instead",
    ("RoleManagementAlert.Read.Directory", "RoleManagementAlert.ReadWrite.Directory"),
)
SIGN_IN_ACTIVITY = Need(
    "`standing` shows every last sign-in as not known, and the computed stale-account alert of "
    "`alerts` as unknown (users' signInActivity; it also needs an Entra ID P1 licence)",
    ("AuditLog.Read.All",),
)
# The delegated permissions an admin's own token needs on the pim engine besides the one every
# person's needs (bot.domain.PIM_DELEGATED_SCOPE): conversions are made with them.
ADMIN_DELEGATED = tuple(scope for scope in ADMIN_DELEGATED_SCOPES if scope != PIM_DELEGATED_SCOPE)
# What each of them is for: without it, the admin feature it names does not work.
ADMIN_DELEGATED_PURPOSES = {
    "RoleEligibilitySchedule.ReadWrite.Directory": (
        "`standing` cannot convert anyone to eligible: the deciding admin's sign-in for the "
        "conversion (adminAssign of the eligibility with their own token) would be refused as "
        "consent required"
    ),
    "RoleManagementPolicy.ReadWrite.Directory": (
        'the Fix of the `alerts` alert "Roles that don\'t require MFA" cannot turn MFA on in '
        "a role's policy: Graph changes a policy rule only with a signed-in admin's token, and "
        "that sign-in would be refused as consent required"
    ),
}

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


def admin_side_on(settings: Settings) -> bool:
    """The admin commands are on: `PIMBOT_ADMIN_GROUP_ID` names the admins' group."""
    return bool(settings.admin_group_id.strip())


def admin_needs(settings: Settings) -> list[Need]:
    """What the admin side needs on top of `needs`, when it is on (`PIMBOT_ADMIN_GROUP_ID`);
    missing, they are warnings: pimbot runs, one admin feature does not."""
    if not admin_side_on(settings):
        return []
    if settings.engine is EngineName.BOT:
        return [CONVERSIONS, ALERTS_AND_FIX, SIGN_IN_ACTIVITY]
    return [ALERTS_READ, SIGN_IN_ACTIVITY]  # the pim engine converts with the admin's token


def unwanted(settings: Settings) -> tuple[str, ...]:
    """Permissions this deployment holds only at its peril."""
    return TIER_ZERO if settings.engine is EngineName.PIM else ()
