"""The Graph twin's PIM alerts for directory roles (beta):
`/identityGovernance/roleManagementAlerts/{alerts, alertDefinitions, alertConfigurations}`, the
alerts' incidents, `refresh` and `remediate`. Permissions: RoleManagementAlert.Read.Directory to
read, RoleManagementAlert.ReadWrite.Directory to change, delegated or application; a signed-in
caller also needs an active Privileged Role Administrator (or Global Administrator) role to change.
"""

from __future__ import annotations

import re
from typing import Any

from bot.sandbox.graph.alerts import DEFINITIONS, GLOBAL_ADMINISTRATOR, Alerts
from bot.sandbox.graph.context import TwinContext
from bot.sandbox.graph.errors import bad_request, not_found
from bot.sandbox.graph.odata import equality_value, parse_query
from bot.sandbox.graph.policies import patched_rules
from bot.sandbox.graph.router import GraphRequest, GraphResponse, Routes
from bot.sandbox.graph.schedules import Schedule
from bot.sandbox.graph.values import format_datetime, new_guid

READ_ALERTS = ("RoleManagementAlert.Read.Directory", "RoleManagementAlert.ReadWrite.Directory")
WRITE_ALERTS = ("RoleManagementAlert.ReadWrite.Directory",)
BETA = ("beta",)
routes = Routes()
_BASE = "/identityGovernance/roleManagementAlerts"
_ID = r"(?P<id>[^/()]+)"

ALERT_PROPERTIES = (
    "id",
    "alertDefinitionId",
    "scopeId",
    "scopeType",
    "incidentCount",
    "isActive",
    "lastModifiedDateTime",
    "lastScannedDateTime",
)
DEFINITION_PROPERTIES = (
    "id",
    "scopeId",
    "scopeType",
    "displayName",
    "description",
    "severityLevel",
    "securityImpact",
    "mitigationSteps",
    "howToPrevent",
    "isRemediatable",
    "isConfigurable",
)
CONFIGURATION_PROPERTIES = ("id", "alertDefinitionId", "scopeId", "scopeType", "isEnabled")


def _alerts(twin: TwinContext) -> Alerts:
    return Alerts(twin.tenant, twin.roles.state, twin.roles.now)


def _require_scope(request: GraphRequest) -> None:
    query = parse_query(request.query)
    if equality_value(query.filter, "scopeId") is None or (
        equality_value(query.filter, "scopeType") is None
    ):
        raise bad_request(
            "The filter must include scopeId and scopeType, e.g. "
            "$filter=scopeId eq '/' and scopeType eq 'DirectoryRole'."
        )


def _expanders(alerts: Alerts) -> dict[str, Any]:
    def name(item: dict[str, Any]) -> str:
        return alerts.name_of(str(item["id"]))

    return {
        "alertDefinition": lambda item, _: alerts.definition_json(name(item)),
        "alertConfiguration": lambda item, _: alerts.configuration_json(name(item)),
        "alertIncidents": lambda item, _: alerts.incident_jsons(name(item)),
    }


@routes.route("GET", f"{_BASE}/alerts", versions=BETA)
def list_alerts(twin: TwinContext, request: GraphRequest, _: re.Match[str]) -> GraphResponse:
    request.caller.require(READ_ALERTS)
    _require_scope(request)
    alerts = _alerts(twin)
    return twin.collection(
        request,
        "identityGovernance/roleManagementAlerts/alerts",
        [alerts.alert_json(d.name) for d in DEFINITIONS],
        properties=ALERT_PROPERTIES,
        type_name="unifiedRoleManagementAlert",
        expanders=_expanders(alerts),
    )


@routes.route("GET", f"{_BASE}/alerts/{_ID}", versions=BETA)
def get_alert(twin: TwinContext, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
    request.caller.require(READ_ALERTS)
    alerts = _alerts(twin)
    return twin.entity(
        request,
        "identityGovernance/roleManagementAlerts/alerts",
        alerts.alert_json(alerts.name_of(match["id"])),
        properties=ALERT_PROPERTIES,
        type_name="unifiedRoleManagementAlert",
        expanders=_expanders(alerts),
    )


@routes.route("PATCH", f"{_BASE}/alerts/{_ID}", versions=BETA)
def patch_alert(twin: TwinContext, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
    _require_writer(twin, request)
    alerts = _alerts(twin)
    alerts.set_active(alerts.name_of(match["id"]), request.body)
    return GraphResponse(204)


@routes.route("GET", f"{_BASE}/alerts/{_ID}/alertIncidents", versions=BETA)
def list_incidents(twin: TwinContext, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
    request.caller.require(READ_ALERTS)
    alerts = _alerts(twin)
    name = alerts.name_of(match["id"])
    incidents = alerts.incident_jsons(name)
    return twin.collection(
        request,
        f"identityGovernance/roleManagementAlerts/alerts('{match['id']}')/alertIncidents",
        incidents,
        properties=sorted({key for incident in incidents for key in incident} | {"id"}),
        type_name="unifiedRoleManagementAlertIncident",
    )


@routes.route("POST", f"{_BASE}/alerts/refresh", versions=BETA)
@routes.route("POST", f"{_BASE}/alerts/{_ID}/refresh", versions=BETA)
def refresh(twin: TwinContext, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
    _require_writer(twin, request)
    alerts = _alerts(twin)
    alert_id = match.groupdict().get("id")
    if alert_id is None:
        body = request.body if isinstance(request.body, dict) else {}
        if body.get("scopeId") != "/" or body.get("scopeType") != "DirectoryRole":
            raise bad_request("Give scopeId '/' and scopeType 'DirectoryRole' to refresh alerts.")
        alerts.scan()
    else:
        alerts.scan(alerts.name_of(alert_id))
    # A long-running operation in Graph; the twin's scan is over before it answers.
    operation = new_guid()
    twin.roles.state.alerts.setdefault("operations", {})[operation] = format_datetime(
        twin.roles.now()
    )
    location = f"{request.service_root}{_BASE}/operations/{operation}"
    return GraphResponse(202, None, {"Location": location})


@routes.route("GET", f"{_BASE}/operations/{_ID}", versions=BETA)
def get_operation(twin: TwinContext, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
    request.caller.require(READ_ALERTS)
    started = twin.roles.state.alerts.get("operations", {}).get(match["id"])
    if started is None:
        raise not_found(f"The operation '{match['id']}' does not exist.")
    item = {
        "id": match["id"],
        "createdDateTime": started,
        "lastActionDateTime": started,
        "resourceLocation": None,
        "status": "succeeded",
        "statusDetail": None,
    }
    return twin.entity(
        request,
        "identityGovernance/roleManagementAlerts/operations",
        item,
        properties=tuple(item),
        type_name="longRunningOperation",
    )


@routes.route("GET", f"{_BASE}/alertDefinitions", versions=BETA)
def list_definitions(twin: TwinContext, request: GraphRequest, _: re.Match[str]) -> GraphResponse:
    request.caller.require(READ_ALERTS)
    _require_scope(request)
    alerts = _alerts(twin)
    return twin.collection(
        request,
        "identityGovernance/roleManagementAlerts/alertDefinitions",
        [alerts.definition_json(d.name) for d in DEFINITIONS],
        properties=DEFINITION_PROPERTIES,
        type_name="unifiedRoleManagementAlertDefinition",
    )


@routes.route("GET", f"{_BASE}/alertDefinitions/{_ID}", versions=BETA)
def get_definition(twin: TwinContext, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
    request.caller.require(READ_ALERTS)
    alerts = _alerts(twin)
    return twin.entity(
        request,
        "identityGovernance/roleManagementAlerts/alertDefinitions",
        alerts.definition_json(alerts.name_of(match["id"])),
        properties=DEFINITION_PROPERTIES,
        type_name="unifiedRoleManagementAlertDefinition",
    )


@routes.route("GET", f"{_BASE}/alertConfigurations", versions=BETA)
def list_configurations(
    twin: TwinContext, request: GraphRequest, _: re.Match[str]
) -> GraphResponse:
    request.caller.require(READ_ALERTS)
    _require_scope(request)
    alerts = _alerts(twin)
    items = [alerts.configuration_json(d.name) for d in DEFINITIONS]
    return twin.collection(
        request,
        "identityGovernance/roleManagementAlerts/alertConfigurations",
        items,
        properties=sorted({key for item in items for key in item} - {"@odata.type"}),
        type_name="unifiedRoleManagementAlertConfiguration",
    )


@routes.route("GET", f"{_BASE}/alertConfigurations/{_ID}", versions=BETA)
def get_configuration(
    twin: TwinContext, request: GraphRequest, match: re.Match[str]
) -> GraphResponse:
    request.caller.require(READ_ALERTS)
    alerts = _alerts(twin)
    item = alerts.configuration_json(alerts.name_of(match["id"]))
    return twin.entity(
        request,
        "identityGovernance/roleManagementAlerts/alertConfigurations",
        item,
        properties=tuple(k for k in item if k != "@odata.type"),
        type_name="unifiedRoleManagementAlertConfiguration",
    )


@routes.route("PATCH", f"{_BASE}/alertConfigurations/{_ID}", versions=BETA)
def patch_configuration(
    twin: TwinContext, request: GraphRequest, match: re.Match[str]
) -> GraphResponse:
    _require_writer(twin, request)
    alerts = _alerts(twin)
    alerts.update_configuration(alerts.name_of(match["id"]), request.body)
    return GraphResponse(204)


@routes.route(
    "POST", f"{_BASE}/alerts/{_ID}/alertIncidents/(?P<incident>[^/()]+)/remediate", versions=BETA
)
def remediate(twin: TwinContext, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
    _require_writer(twin, request)
    alerts = _alerts(twin)
    name = alerts.name_of(match["id"])
    incident = alerts.find_incident(name, match["incident"])
    _fix(twin, request, name, incident)
    alerts.take_incident(name, match["incident"])
    return GraphResponse(204)


def _require_writer(twin: TwinContext, request: GraphRequest) -> None:
    request.caller.require(WRITE_ALERTS)
    twin.roles._require_admin_role(request.caller)


def _fix(twin: TwinContext, request: GraphRequest, name: str, incident: dict[str, Any]) -> None:
    """What the portal's Fix does for the incident."""
    pim = twin.roles
    now = pim.now()
    assignee = str(incident.get("assigneeId") or "")
    role_id = str(incident.get("roleDefinitionId") or incident.get("roleTemplateId") or "")
    schedules: list[Schedule]
    match name:
        case "TooManyGlobalAdminsAssignedToTenantAlert":
            schedules = [
                s
                for s in pim.state.schedules
                if s.role_id == GLOBAL_ADMINISTRATOR
                and s.principal_id == assignee
                and s.in_force(now)
            ]
        case "RolesAssignedOutsidePimAlert":
            schedules = [
                s
                for s in pim.state.schedules
                if s.kind == "assignment" and s.assignment_id == incident["id"] and s.in_force(now)
            ]
        case "StaleSignInAlert":
            schedules = [
                s
                for s in pim.state.schedules
                if s.kind == "assignment"
                and s.principal_id == assignee
                and s.role_id == role_id
                and s.in_force(now)
            ]
        case "RedundantAssignmentAlert":
            schedules = [
                s
                for s in pim.state.schedules
                if s.kind == "eligibility"
                and s.principal_id == assignee
                and s.role_id == role_id
                and s.in_force(now)
            ]
        case "NoMfaOnRoleActivationAlert":
            _require_mfa(twin, request, role_id)
            return
        case _:
            raise bad_request(f"The alert {name} cannot be remediated.")
    for schedule in schedules:
        pim.state.schedules.remove(schedule)
        activity = (
            "Remove eligible member from role in PIM completed (permanent)"
            if schedule.kind == "eligibility"
            else "Remove member from role"
        )
        pim.audit.write(
            activity,
            at=now,
            operation="Unassign",
            role_id=schedule.role_id,
            principal_id=schedule.principal_id,
            initiated_by=pim._caller_ref(request.caller),
            details={"RemediatedAlert": name},
            service="PIM",
        )


def _require_mfa(twin: TwinContext, request: GraphRequest, role_id: str) -> None:
    stored = next((p for p in twin.roles.state.policies if p.role_id == role_id), None)
    if stored is None:
        raise not_found(f"The role '{role_id}' has no policy.")
    rule = next(r for r in stored.rules if r["id"] == "Enablement_EndUser_Assignment")
    enabled = [
        "MultiFactorAuthentication",
        *(v for v in rule["enabledRules"] if v != "MultiFactorAuthentication"),
    ]
    stored.rules = patched_rules(
        stored.rules,
        rule["id"],
        {"@odata.type": rule["@odata.type"], "id": rule["id"], "enabledRules": enabled},
    )
    stored.last_modified = twin.roles.now()
