"""PIM's security alerts for directory roles (Graph beta `identityGovernance/roleManagementAlerts`):
their definitions, the tenant's configuration of each, and the incidents a scan finds.

A scan reads the twin's PIM state the way PIM's own scanner reads a tenant, and keeps what it found
until the next scan (`refresh`), as the real service does: an alert's incidents and
`lastScannedDateTime` change only when it is scanned. Remediating an incident does what the portal's
"Fix" does (removes the assignment, or turns on MFA in the role's policy) and drops the incident.

Ids follow Graph's: `DirectoryRole_{tenantId}_{AlertName}` for alerts, definitions and
configurations. Alert names, texts and configuration types are Microsoft's
(https://learn.microsoft.com/graph/api/resources/unifiedrolemanagementalert?view=graph-rest-beta).
`SequentialActivationRenewalsAlert` and `InvalidLicenseAlert` are listed as a tenant lists them but
never fire here: the twin keeps no activation-frequency statistics and always has a licence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.sandbox.graph.errors import bad_request, not_found
from bot.sandbox.graph.policies import read_policy
from bot.sandbox.graph.principals import find_service_principal
from bot.sandbox.graph.schedules import Schedule
from bot.sandbox.graph.state import TwinState
from bot.sandbox.graph.values import format_datetime, format_duration, parse_duration
from bot.sandbox.tenant import DemoTenant

Json = dict[str, Any]

GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
TOO_MANY_GLOBAL_ADMINS = "TooManyGlobalAdminsAssignedToTenantAlert"
OUTSIDE_PIM = "RolesAssignedOutsidePimAlert"
NO_MFA = "NoMfaOnRoleActivationAlert"
STALE_SIGN_IN = "StaleSignInAlert"
REDUNDANT = "RedundantAssignmentAlert"
RENEWALS = "SequentialActivationRenewalsAlert"
INVALID_LICENSE = "InvalidLicenseAlert"


@dataclass(frozen=True)
class Definition:
    name: str
    display_name: str
    severity: str
    remediable: bool
    configurable: bool
    config_type: str
    incident_type: str
    description: str
    security_impact: str
    mitigation_steps: str
    how_to_prevent: str
    defaults: tuple[tuple[str, Any], ...] = ()  # the configuration's own properties


DEFINITIONS: tuple[Definition, ...] = (
    Definition(
        TOO_MANY_GLOBAL_ADMINS,
        "There are too many global administrators",
        "low",
        True,
        True,
        "tooManyGlobalAdminsAssignedToTenantAlertConfiguration",
        "tooManyGlobalAdminsAssignedToTenantAlertIncident",
        "{0} users are assigned to Global Administrator, more than {1}.",
        "Global Administrator is the highest privileged role; every extra one widens the attack "
        "surface.",
        "Review the users in the list and remove any that do not absolutely need the role.",
        "Assign users the least privileged role they need.",
        (("globalAdminCountThreshold", 5), ("percentageOfGlobalAdminsOutOfRolesThreshold", 50)),
    ),
    Definition(
        OUTSIDE_PIM,
        "Roles are being assigned outside of Privileged Identity Management",
        "high",
        True,
        False,
        "rolesAssignedOutsidePrivilegedIdentityManagementAlertConfiguration",
        "rolesAssignedOutsidePrivilegedIdentityManagementAlertIncident",
        "{0} role assignments were made outside of Privileged Identity Management.",
        "Assignments made outside PIM are not monitored and may indicate an attack.",
        "Review the assignments and remove those not made through PIM.",
        "Make privileged assignments through PIM only.",
    ),
    Definition(
        NO_MFA,
        "Roles don't require multi-factor authentication for activation",
        "medium",
        True,
        False,
        "noMfaOnRoleActivationAlertConfiguration",
        "noMfaOnRoleActivationAlertIncident",
        "{0} roles can be activated without multi-factor authentication.",
        "Without MFA, a compromised account can activate a privileged role.",
        "Require MFA (or an authentication context) on activation of every role in the list.",
        "Require MFA for activation of every privileged role.",
    ),
    Definition(
        STALE_SIGN_IN,
        "Potential stale accounts in a privileged role",
        "medium",
        True,
        True,
        "staleSignInAlertConfiguration",
        "staleSignInAlertIncident",
        "{0} accounts in a privileged role have not signed in within {1} days.",
        "Accounts that are not used are not watched, and are an easy target.",
        "Review the accounts and remove the role from those that no longer need it.",
        "Review privileged accounts regularly.",
        (("duration", "P90D"),),
    ),
    Definition(
        REDUNDANT,
        "Eligible administrators aren't activating their privileged role",
        "low",
        True,
        True,
        "redundantAssignmentAlertConfiguration",
        "redundantAssignmentAlertIncident",
        "{0} eligible administrators have not activated their role within {1} days.",
        "Eligibility nobody uses is standing attack surface.",
        "Remove the eligibilities that are not needed.",
        "Review eligibilities regularly (access reviews).",
        (("duration", "P90D"),),
    ),
    Definition(
        RENEWALS,
        "Roles are being activated too frequently",
        "medium",
        False,
        True,
        "sequentialActivationRenewalsAlertConfiguration",
        "sequentialActivationRenewalsAlertIncident",
        "A role was activated {0} times within {1}.",
        "Frequent renewals may mean the longest activation is too short.",
        "Review the role's longest activation.",
        "Set activation durations that fit the work.",
        (("sequentialActivationCounterThreshold", 10), ("timeIntervalBetweenActivations", "PT1H")),
    ),
    Definition(
        INVALID_LICENSE,
        "The organization doesn't have Microsoft Entra ID P2",
        "high",
        False,
        False,
        "invalidLicenseAlertConfiguration",
        "invalidLicenseAlertIncident",
        "The tenant has no Microsoft Entra ID P2 licence for PIM.",
        "PIM's features stop working without a licence.",
        "Buy licences.",
        "Keep licences current.",
    ),
)
BY_NAME = {d.name: d for d in DEFINITIONS}


class Alerts:
    """The tenant's PIM alerts over the twin's state (kept in `state.alerts`)."""

    def __init__(self, tenant: DemoTenant, state: TwinState, now: Callable[[], datetime]) -> None:
        self.tenant = tenant
        self.state = state
        self.now = now

    # --- ids -------------------------------------------------------------------------------------

    def id_of(self, name: str) -> str:
        return f"DirectoryRole_{self.tenant.tenant_id}_{name}"

    def name_of(self, object_id: str) -> str:
        prefix = f"DirectoryRole_{self.tenant.tenant_id}_"
        name = object_id[len(prefix) :] if object_id.lower().startswith(prefix.lower()) else ""
        found = next((d.name for d in DEFINITIONS if d.name.lower() == name.lower()), None)
        if found is None:
            raise not_found(f"The alert '{object_id}' does not exist.")
        return found

    # --- stored state ------------------------------------------------------------------------

    @property
    def _stored(self) -> dict[str, Any]:
        stored = self.state.alerts
        if "configurations" not in stored:
            overrides = self.tenant.alert_settings
            stored["configurations"] = {
                d.name: {"isEnabled": True, **dict(d.defaults), **overrides.get(d.name, {})}
                for d in DEFINITIONS
            }
            stored["active"] = {}
            stored["incidents"] = {}
            stored["scanned"] = {}
            stored["modified"] = {}
        return stored

    def configuration(self, name: str) -> dict[str, Any]:
        return dict(self._stored["configurations"][name])

    def incidents(self, name: str) -> list[Json]:
        self._scan_if_never(name)
        return [dict(i) for i in self._stored["incidents"].get(name, [])]

    def is_active(self, name: str) -> bool:
        self._scan_if_never(name)
        return bool(self._stored["active"].get(name)) and bool(self._stored["incidents"].get(name))

    def _scan_if_never(self, name: str) -> None:
        if name not in self._stored["scanned"]:
            self.scan(name)

    # --- JSON, as Graph shows them -------------------------------------------------------------

    def alert_json(self, name: str) -> Json:
        incidents = self.incidents(name)
        return {
            "id": self.id_of(name),
            "alertDefinitionId": self.id_of(name),
            "scopeId": "/",
            "scopeType": "DirectoryRole",
            "incidentCount": len(incidents),
            "isActive": self.is_active(name),
            "lastModifiedDateTime": self._stored["modified"].get(name)
            or self._stored["scanned"].get(name),
            "lastScannedDateTime": self._stored["scanned"].get(name),
        }

    def definition_json(self, name: str) -> Json:
        d = BY_NAME[name]
        return {
            "id": self.id_of(name),
            "scopeId": "/",
            "scopeType": "DirectoryRole",
            "displayName": d.display_name,
            "description": d.description,
            "severityLevel": d.severity,
            "securityImpact": d.security_impact,
            "mitigationSteps": d.mitigation_steps,
            "howToPrevent": d.how_to_prevent,
            "isRemediatable": d.remediable,
            "isConfigurable": d.configurable,
        }

    def configuration_json(self, name: str) -> Json:
        d = BY_NAME[name]
        return {
            "@odata.type": f"#microsoft.graph.{d.config_type}",
            "id": self.id_of(name),
            "alertDefinitionId": self.id_of(name),
            "scopeId": "/",
            "scopeType": "DirectoryRole",
            **self.configuration(name),
        }

    def incident_jsons(self, name: str) -> list[Json]:
        d = BY_NAME[name]
        return [
            {"@odata.type": f"#microsoft.graph.{d.incident_type}", **incident}
            for incident in self.incidents(name)
        ]

    # --- scanning ------------------------------------------------------------------------------

    def scan(self, name: str | None = None) -> None:
        """Scan the tenant for one alert, or for all."""
        names = [name] if name else [d.name for d in DEFINITIONS]
        now = self.now()
        for each in names:
            config = self.configuration(each)
            found = self._find(each, config, now) if config.get("isEnabled", True) else []
            stored = self._stored
            before = stored["incidents"].get(each, [])
            stored["incidents"][each] = found
            stored["scanned"][each] = format_datetime(now)
            if found != before:
                stored["modified"][each] = format_datetime(now)
            stored["active"][each] = bool(found)

    def _find(self, name: str, config: dict[str, Any], now: datetime) -> list[Json]:
        match name:
            case "TooManyGlobalAdminsAssignedToTenantAlert":
                return self._too_many_global_admins(config, now)
            case "RolesAssignedOutsidePimAlert":
                return [
                    self._assignee(s)
                    | self._role(s.role_id)
                    | {
                        "id": s.assignment_id,
                        "assignmentCreatedDateTime": format_datetime(s.created),
                    }
                    for s in self._in_force("assignment", now)
                    if s.outside_pim
                ]
            case "NoMfaOnRoleActivationAlert":
                return self._no_mfa(now)
            case "StaleSignInAlert":
                return self._stale_sign_ins(config, now)
            case "RedundantAssignmentAlert":
                return self._redundant(config, now)
        return []

    def _in_force(self, kind: str, now: datetime) -> list[Schedule]:
        return [s for s in self.state.schedules if s.kind == kind and s.in_force(now)]

    def _users_holding(self, role_id: str, now: datetime) -> list[str]:
        holders: dict[str, None] = {}
        for s in self._in_force("eligibility", now) + self._in_force("assignment", now):
            if s.role_id == role_id and self._is_user(s.principal_id):
                holders.setdefault(s.principal_id)
        return list(holders)

    def _too_many_global_admins(self, config: dict[str, Any], now: datetime) -> list[Json]:
        admins = self._users_holding(GLOBAL_ADMINISTRATOR, now)
        threshold = int(config.get("globalAdminCountThreshold", 5))
        percentage = int(config.get("percentageOfGlobalAdminsOutOfRolesThreshold", 100))
        privileged = {
            s.principal_id
            for s in self._in_force("eligibility", now) + self._in_force("assignment", now)
            if self._is_user(s.principal_id)
        }
        share = 100 * len(admins) / len(privileged) if privileged else 0
        if len(admins) <= threshold and share <= percentage:
            return []
        return [{"id": user_id, **self._user_ref(user_id)} for user_id in admins]

    def _no_mfa(self, now: datetime) -> list[Json]:
        held = {s.role_id for s in self.state.schedules if s.kind == "eligibility"}
        found = []
        for stored in self.state.policies:
            if stored.role_id not in held:
                continue  # PIM reports the roles someone is eligible for
            policy = read_policy(stored.rules)
            if "MultiFactorAuthentication" in policy.enduser_enabled or policy.auth_context:
                continue
            role = self._role(stored.role_id)
            found.append(
                {
                    "id": stored.role_id,
                    "roleDisplayName": role["roleDisplayName"],
                    "roleTemplateId": role["roleTemplateId"],
                }
            )
        return found

    def _stale_sign_ins(self, config: dict[str, Any], now: datetime) -> list[Json]:
        window = parse_duration(config.get("duration", "P90D"), "duration")
        found = []
        for s in self._in_force("assignment", now):
            if s.assignment_type == "Activated":
                continue
            # Accounts that "might be service or shared accounts": users and service
            # principals (an incident's assigneeUserPrincipalName applies to users only).
            if self._is_user(s.principal_id):
                last = self.tenant.user(s.principal_id).last_sign_in
            elif (app := find_service_principal(self.tenant, s.principal_id)) is not None:
                last = app.last_sign_in
            else:
                continue
            if last is not None and last >= now - window:
                continue
            found.append(
                {
                    "id": f"{s.role_id}_{s.principal_id}",
                    **self._assignee(s),
                    **self._role(s.role_id),
                    "assignmentCreatedDateTime": format_datetime(s.created),
                    "lastSignInDateTime": format_datetime(last),
                }
            )
        return found

    def _redundant(self, config: dict[str, Any], now: datetime) -> list[Json]:
        window = parse_duration(config.get("duration", "P90D"), "duration")
        found = []
        for s in self._in_force("eligibility", now):
            if s.created >= now - window:
                continue  # too new to say
            activations = [
                r.created
                for r in self.state.requests
                if r.action == "selfActivate"
                and r.principal_id == s.principal_id
                and r.role_id == s.role_id
                and r.status in ("Provisioned", "Granted", "PendingApproval")
            ]
            last = max(activations, default=None)
            if last is not None and last >= now - window:
                continue
            found.append(
                {
                    "id": f"{s.role_id}_{s.principal_id}",
                    **self._assignee(s),
                    **self._role(s.role_id),
                    "lastActivationDateTime": format_datetime(last),
                }
            )
        return found

    # --- configuration and dismissal -----------------------------------------------------------

    def update_configuration(self, name: str, body: object) -> None:
        d = BY_NAME[name]
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object.")
        odata_type = str(body.get("@odata.type", "")).lstrip("#").lower()
        if not odata_type:
            raise bad_request(
                f"The request body must include '@odata.type' ('#microsoft.graph.{d.config_type}')."
            )
        if odata_type != f"microsoft.graph.{d.config_type}".lower():
            raise bad_request(f"'{body['@odata.type']}' is not the type of this configuration.")
        allowed = {"isEnabled", *(key for key, _ in d.defaults)}
        unknown = (
            set(body) - allowed - {"@odata.type", "id", "alertDefinitionId", "scopeId", "scopeType"}
        )
        if unknown:
            raise bad_request(f"The configuration has no property {sorted(unknown)[0]!r}.")
        if not d.configurable and set(body) & {key for key, _ in d.defaults}:
            raise bad_request(f"The alert {name} has no thresholds to configure.")
        config = self.configuration(name)
        for key in allowed & set(body):
            value = body[key]
            if key == "isEnabled":
                if not isinstance(value, bool):
                    raise bad_request("isEnabled must be true or false.")
            elif key in ("duration", "timeIntervalBetweenActivations"):
                value = format_duration(parse_duration(value, key))
            elif not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise bad_request(f"{key} must be a non-negative whole number.")
            config[key] = value
        self._stored["configurations"][name] = config
        self._stored["modified"][name] = format_datetime(self.now())

    def set_active(self, name: str, body: object) -> None:
        if not isinstance(body, dict) or set(body) - {"isActive"}:
            raise bad_request("Only isActive can be changed on an alert.")
        if not isinstance(body.get("isActive"), bool):
            raise bad_request("isActive must be true or false.")
        self._scan_if_never(name)
        self._stored["active"][name] = body["isActive"]
        self._stored["modified"][name] = format_datetime(self.now())

    def take_incident(self, name: str, incident_id: str) -> Json:
        """Remove and return one incident (after it was remediated)."""
        incidents = self._stored["incidents"].get(name, [])
        for incident in incidents:
            if str(incident["id"]).lower() == incident_id.lower():
                incidents.remove(incident)
                self._stored["modified"][name] = format_datetime(self.now())
                return dict(incident)
        raise not_found(f"The incident '{incident_id}' does not exist.")

    def find_incident(self, name: str, incident_id: str) -> Json:
        for incident in self.incidents(name):
            if str(incident["id"]).lower() == incident_id.lower():
                return incident
        raise not_found(f"The incident '{incident_id}' does not exist.")

    # --- names -----------------------------------------------------------------------------------

    def _is_user(self, object_id: str) -> bool:
        try:
            self.tenant.user(object_id)
        except KeyError:
            return False
        return True

    def _user_ref(self, user_id: str) -> Json:
        user = self.tenant.user(user_id)
        return {
            "assigneeId": user.id,
            "assigneeDisplayName": user.display_name,
            "assigneeUserPrincipalName": user.upn,
        }

    def _assignee(self, schedule: Schedule) -> Json:
        if self._is_user(schedule.principal_id):
            return self._user_ref(schedule.principal_id)
        app = find_service_principal(self.tenant, schedule.principal_id)
        return {
            "assigneeId": schedule.principal_id,
            "assigneeDisplayName": app.json["displayName"] if app else None,
            "assigneeUserPrincipalName": None,
        }

    def _role(self, role_id: str) -> Json:
        try:
            name = self.tenant.role(role_id).display_name
        except KeyError:
            name = None
        return {"roleDefinitionId": role_id, "roleDisplayName": name, "roleTemplateId": role_id}
