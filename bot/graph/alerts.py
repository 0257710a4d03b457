"""The five PIM alerts from Graph: PIM's own (`beta/identityGovernance/roleManagementAlerts`,
with definitions, configurations and incidents) where the tenant offers them, else computed by
pimbot from the same facts PIM scans: role schedules, policies and sign-in activity.

PIM's alerts need an Entra ID P2 licence and RoleManagementAlert.Read.Directory; without them
Graph answers 403 (or 400/404), and every alert is computed instead, each saying so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.durations import format_duration, parse_duration
from bot.governance.domain import (
    DEFAULT_GLOBAL_ADMIN_THRESHOLD,
    DEFAULT_STALE_WINDOW,
    PIM_ALERT_NAMES,
    THRESHOLD_KINDS,
    Alert,
    AlertKind,
    AlertSource,
    AlertsReport,
    Finding,
    RolePolicy,
)
from bot.graph.assignments import ASSIGNMENT_INSTANCES, ASSIGNMENT_REQUESTS
from bot.graph.directory import ELIGIBILITY_INSTANCES
from bot.graph.errors import GraphError
from bot.graph.http import GraphHttp
from bot.graph.odata import path_segment
from bot.graph.role_policies import DIRECTORY_SCOPE, GraphRolePolicies
from bot.graph.standing import APP_SIGN_INS, app_sign_ins_of

log = logging.getLogger(__name__)

ALERTS = "/identityGovernance/roleManagementAlerts/alerts"
CONFIGURATIONS = "/identityGovernance/roleManagementAlerts/alertConfigurations"
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
PAGE = 999  # the largest page Graph gives; 10,000 assignments are ~10 round trips
# Graph's answers that mean "this tenant does not offer PIM's alerts to pimbot".
UNAVAILABLE = frozenset({400, 403, 404})
_KIND_BY_NAME = {name: kind for kind, name in PIM_ALERT_NAMES.items()}


def _when(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class GraphAlerts:
    """`AlertsSource` over Graph."""

    def __init__(self, http: GraphHttp, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self._http = http
        self._now = now

    async def read(self) -> AlertsReport:
        now = self._now()
        try:
            alerts = await self._from_pim()
        except GraphError as exc:
            if exc.status not in UNAVAILABLE:
                raise
            why = f"PIM's alerts are not available to pimbot here (Graph {exc.status} {exc.code})"
            log.info("%s; computing them", why)
            return AlertsReport(alerts=await self._computed(now, why), taken_at=now)
        return AlertsReport(alerts=alerts, taken_at=now)

    async def refresh(self) -> None:
        """PIM's scan is a long-running operation: what it finds shows in a later read."""
        body = {"scopeId": "/", "scopeType": "DirectoryRole"}
        try:
            await self._http.post_json(f"{ALERTS}/refresh", body, version="beta")
        except GraphError as exc:
            if exc.status not in UNAVAILABLE:
                raise
            log.info("PIM's alerts cannot be refreshed here (%s %s)", exc.status, exc.code)

    async def remediate(self, graph_alert_id: str, incident_id: str) -> None:
        path = (
            f"{ALERTS}/{path_segment(graph_alert_id)}/alertIncidents/"
            f"{path_segment(incident_id)}/remediate"
        )
        await self._http.post_json(path, {}, version="beta")

    async def configure(
        self, alert: Alert, *, enabled: bool | None = None, threshold: str | None = None
    ) -> None:
        """PATCH of the alert's configuration, which Graph wants with its `@odata.type`."""
        if alert.graph_alert_id is None:
            raise ValueError("only PIM's own alerts have a configuration")
        body: dict[str, Any] = {"@odata.type": alert.config_type}
        if enabled is not None:
            body["isEnabled"] = enabled
        if threshold is not None:
            if THRESHOLD_KINDS.get(alert.kind) == "count":
                body["globalAdminCountThreshold"] = int(threshold)
            else:
                body["duration"] = threshold
        path = f"{CONFIGURATIONS}/{path_segment(alert.graph_alert_id)}"
        await self._http.patch_json(path, body, version="beta")

    # --- PIM's own ---------------------------------------------------------------------------

    async def _from_pim(self) -> tuple[Alert, ...]:
        params = {
            "$filter": DIRECTORY_SCOPE,
            "$expand": "alertDefinition,alertConfiguration,alertIncidents",
        }
        found: dict[AlertKind, Alert] = {}
        async for item in self._http.get_all(ALERTS, params, version="beta"):
            name = str(item.get("id", "")).rsplit("_", 1)[-1]
            kind = _KIND_BY_NAME.get(name)
            if kind is not None:
                found[kind] = _pim_alert(kind, item)
        missing = [kind for kind in AlertKind if kind not in found]
        for kind in missing:
            found[kind] = Alert(
                kind=kind,
                source=AlertSource.GRAPH,
                active=False,
                note="PIM does not list this alert in this tenant",
            )
        return tuple(found[kind] for kind in AlertKind)

    # --- computed ------------------------------------------------------------------------------

    async def _computed(self, now: datetime, why: str) -> tuple[Alert, ...]:
        eligible, active, policies, activations = await asyncio.gather(
            self._all(ELIGIBILITY_INSTANCES, {"$expand": "principal", "$top": PAGE}),
            self._all(ASSIGNMENT_INSTANCES, {"$expand": "principal", "$top": PAGE}),
            GraphRolePolicies(self._http).read_all(),
            self._all(ASSIGNMENT_REQUESTS, {"$filter": "action eq 'selfActivate'", "$top": PAGE}),
        )
        names = {p.role_id: p.role_name for p in policies}
        note = f"{why}; computed by pimbot"
        computed = [
            _too_many_global_admins(eligible, active, names),
            _outside_pim(active, names),
            _no_mfa(policies, eligible),
            _stale_eligible(eligible, activations, names, now),
            await self._stale_sign_in(active, names, now),
        ]
        return tuple(
            alert.model_copy(update={"note": _merged_note(alert, note)}) for alert in computed
        )

    async def _stale_sign_in(
        self, active: Sequence[Mapping[str, Any]], names: Mapping[str, str], now: datetime
    ) -> Alert:
        """Standing assignments of users and of service principals (apps) with no sign-in within
        90 days: users' `signInActivity`, apps' sign-in activity report (beta). Each read Graph
        refuses leaves its kind of account out, and the note says so."""
        standing = [a for a in active if a.get("assignmentType") != "Activated"]
        users = {str(a["principalId"]) for a in standing if _principal_type(a) == "user"}
        apps = [a for a in standing if _principal_type(a) == "servicePrincipal"]
        (user_last, user_refusal), (app_last, app_refusal) = await asyncio.gather(
            self._user_sign_ins(users), self._app_sign_ins(bool(apps))
        )
        refusals = [r for r in (user_refusal, app_refusal) if r]
        if user_refusal and (app_refusal or not apps):
            return Alert(
                kind=AlertKind.STALE_SIGN_IN,
                source=AlertSource.COMPUTED,
                active=False,
                known=False,
                note="not computed: " + "; ".join(refusals),
            )
        cutoff = now - DEFAULT_STALE_WINDOW
        findings = []
        for assignment in standing:
            principal = str(assignment["principalId"])
            kind = _principal_type(assignment)
            if kind == "user" and principal in user_last:
                signed_in = user_last[principal]
                never = "never signed in"
                what = ""
            elif kind == "servicePrincipal" and app_last is not None:
                app_id = str((assignment.get("principal") or {}).get("appId") or "")
                signed_in = app_last.get(app_id)
                never = "app, no sign-in recorded"
                what = "app, "
            else:
                continue
            if signed_in is not None and signed_in >= cutoff:
                continue
            findings.append(
                _finding(
                    assignment,
                    names,
                    since=signed_in,
                    detail=f"{what}last signed in {signed_in:%Y-%m-%d}" if signed_in else never,
                )
            )
        return Alert(
            kind=AlertKind.STALE_SIGN_IN,
            source=AlertSource.COMPUTED,
            active=bool(findings),
            findings=tuple(findings),
            threshold=f"{DEFAULT_STALE_WINDOW.days} days",
            note="; ".join(f"not covered: {r}" for r in refusals),
        )

    async def _user_sign_ins(self, wanted: set[str]) -> tuple[dict[str, datetime | None], str]:
        """Last sign-in of each wanted user, or why Graph gave none."""
        last: dict[str, datetime | None] = {}
        if not wanted:
            return last, ""
        try:
            params: dict[str, str | int] = {"$select": "id,signInActivity", "$top": 999}
            async for user in self._http.get_all("/users", params):
                if str(user.get("id")) in wanted:
                    activity = user.get("signInActivity") or {}
                    last[str(user["id"])] = _when(activity.get("lastSignInDateTime"))
        except GraphError as exc:
            if exc.status not in UNAVAILABLE:
                raise
            return {}, (
                "Graph gives no sign-in activity of users here "
                f"({exc.status} {exc.code}; it needs AuditLog.Read.All and Entra ID P1)"
            )
        return last, ""

    async def _app_sign_ins(self, wanted: bool) -> tuple[dict[str, datetime] | None, str]:
        """Last sign-in per app id from the service principal sign-in activity report (beta),
        or why Graph gave none (None)."""
        if not wanted:
            return {}, ""
        try:
            items = [
                item
                async for item in self._http.get_all(APP_SIGN_INS, {"$top": PAGE}, version="beta")
            ]
        except GraphError as exc:
            if exc.status not in UNAVAILABLE:
                raise
            return None, (
                "Graph gives no sign-in activity of apps here (reports/servicePrincipalSignIn"
                f"Activities: {exc.status} {exc.code}; it needs AuditLog.Read.All and Entra ID P1)"
            )
        return app_sign_ins_of(items), ""

    async def _all(self, path: str, params: dict[str, str | int]) -> list[dict[str, Any]]:
        return [
            item
            async for item in self._http.get_all(path, params)
            if (item.get("directoryScopeId") or "/") == "/"
        ]


def _merged_note(alert: Alert, note: str) -> str:
    """Why the alert was computed, and what it could not cover; only what stopped it when it
    could not be computed at all."""
    if not alert.note:
        return note
    return alert.note if not alert.known else f"{note}; {alert.note}"


# --- PIM's alerts in pimbot's terms --------------------------------------------------------------


def _pim_alert(kind: AlertKind, item: Mapping[str, Any]) -> Alert:
    definition = item.get("alertDefinition") or {}
    configuration = item.get("alertConfiguration") or {}
    incidents = item.get("alertIncidents") or []
    enabled = configuration.get("isEnabled", True) is not False
    findings = tuple(_incident_finding(kind, incident) for incident in incidents)
    return Alert(
        kind=kind,
        source=AlertSource.GRAPH,
        active=bool(item.get("isActive")) and enabled and bool(findings),
        findings=findings,
        severity=str(definition.get("severityLevel") or ""),
        threshold=_threshold(kind, configuration),
        graph_alert_id=str(item.get("id")),
        note="" if enabled else "turned off in PIM",
        enabled=enabled,
        config_type=str(configuration.get("@odata.type") or ""),
        threshold_value=_threshold_value(kind, configuration),
    )


def _threshold_value(kind: AlertKind, configuration: Mapping[str, Any]) -> str:
    match THRESHOLD_KINDS.get(kind):
        case "count":
            return str(
                configuration.get("globalAdminCountThreshold", DEFAULT_GLOBAL_ADMIN_THRESHOLD)
            )
        case "duration":
            return str(configuration.get("duration") or "P90D")
    return ""


def _incident_finding(kind: AlertKind, incident: Mapping[str, Any]) -> Finding:
    since_key = {
        AlertKind.STALE_SIGN_IN: "lastSignInDateTime",
        AlertKind.STALE_ELIGIBLE: "lastActivationDateTime",
        AlertKind.OUTSIDE_PIM: "assignmentCreatedDateTime",
    }.get(kind)
    since = _when(incident.get(since_key)) if since_key else None
    detail = ""
    if kind is AlertKind.STALE_SIGN_IN:
        detail = f"last signed in {since:%Y-%m-%d}" if since else "never signed in"
    elif kind is AlertKind.STALE_ELIGIBLE:
        detail = f"last activated {since:%Y-%m-%d}" if since else "never activated"
    elif kind is AlertKind.OUTSIDE_PIM and since:
        detail = f"assigned {since:%Y-%m-%d}"
    return Finding(
        key=str(incident.get("id")),
        principal_id=incident.get("assigneeId"),
        principal_name=str(
            incident.get("assigneeDisplayName") or incident.get("assigneeUserPrincipalName") or ""
        ),
        role_id=incident.get("roleDefinitionId") or incident.get("roleTemplateId"),
        role_name=str(incident.get("roleDisplayName") or ""),
        since=since,
        detail=detail,
    )


def _threshold(kind: AlertKind, configuration: Mapping[str, Any]) -> str:
    if kind is AlertKind.TOO_MANY_GLOBAL_ADMINS:
        count = configuration.get("globalAdminCountThreshold", DEFAULT_GLOBAL_ADMIN_THRESHOLD)
        return f"more than {count}"
    if kind in (AlertKind.STALE_ELIGIBLE, AlertKind.STALE_SIGN_IN):
        text = configuration.get("duration")
        window = parse_duration(text) if isinstance(text, str) else DEFAULT_STALE_WINDOW
        return f"{window.days} days" if window.days else format_duration(window)
    return ""


# --- computed ------------------------------------------------------------------------------------


def _principal_type(item: Mapping[str, Any]) -> str:
    principal = item.get("principal") or {}
    return str(principal.get("@odata.type", "")).removeprefix("#microsoft.graph.")


def _finding(
    item: Mapping[str, Any],
    names: Mapping[str, str],
    *,
    since: datetime | None = None,
    detail: str = "",
) -> Finding:
    principal = item.get("principal") or {}
    role_id = str(item.get("roleDefinitionId") or "")
    principal_id = str(item.get("principalId") or "")
    kind = _principal_type(item)
    return Finding(
        key=f"{role_id}_{principal_id}",
        principal_id=principal_id,
        principal_type=kind if kind in ("user", "group", "servicePrincipal") else "unknown",
        principal_name=str(principal.get("displayName") or principal_id),
        role_id=role_id,
        role_name=names.get(role_id, role_id),
        since=since,
        detail=detail,
    )


def _too_many_global_admins(
    eligible: Sequence[Mapping[str, Any]],
    active: Sequence[Mapping[str, Any]],
    names: Mapping[str, str],
) -> Alert:
    holders: dict[str, Mapping[str, Any]] = {}
    for item in [*eligible, *active]:
        if item.get("roleDefinitionId") == GLOBAL_ADMINISTRATOR and _principal_type(item) == "user":
            holders.setdefault(str(item["principalId"]), item)
    threshold = DEFAULT_GLOBAL_ADMIN_THRESHOLD
    findings = tuple(_finding(item, names) for item in holders.values())
    return Alert(
        kind=AlertKind.TOO_MANY_GLOBAL_ADMINS,
        source=AlertSource.COMPUTED,
        active=len(findings) > threshold,
        findings=findings if len(findings) > threshold else (),
        threshold=f"more than {threshold}",
    )


def _outside_pim(active: Sequence[Mapping[str, Any]], names: Mapping[str, str]) -> Alert:
    """An active assignment PIM did not make has no schedule start in Graph."""
    findings = tuple(
        _finding(item, names, detail="assigned directly")
        for item in active
        if item.get("assignmentType") == "Assigned" and not item.get("startDateTime")
    )
    return Alert(
        kind=AlertKind.OUTSIDE_PIM,
        source=AlertSource.COMPUTED,
        active=bool(findings),
        findings=findings,
    )


def _no_mfa(policies: Iterable[RolePolicy], eligible: Sequence[Mapping[str, Any]]) -> Alert:
    held = {str(item.get("roleDefinitionId")) for item in eligible}
    findings = tuple(
        Finding(key=p.role_id, role_id=p.role_id, role_name=p.role_name)
        for p in policies
        if p.role_id in held
        and not p.settings.activation.require_mfa
        and not p.settings.activation.authentication_context
    )
    return Alert(
        kind=AlertKind.NO_MFA, source=AlertSource.COMPUTED, active=bool(findings), findings=findings
    )


def _stale_eligible(
    eligible: Sequence[Mapping[str, Any]],
    activations: Sequence[Mapping[str, Any]],
    names: Mapping[str, str],
    now: datetime,
) -> Alert:
    cutoff = now - DEFAULT_STALE_WINDOW
    recent = {
        (str(r.get("principalId")), str(r.get("roleDefinitionId")))
        for r in activations
        if (created := _when(r.get("createdDateTime"))) is not None and created >= cutoff
    }
    findings = tuple(
        _finding(item, names, detail="not activated in 90 days")
        for item in eligible
        if (start := _when(item.get("startDateTime"))) is not None
        and start < cutoff
        and (str(item.get("principalId")), str(item.get("roleDefinitionId"))) not in recent
    )
    return Alert(
        kind=AlertKind.STALE_ELIGIBLE,
        source=AlertSource.COMPUTED,
        active=bool(findings),
        findings=findings,
        threshold=f"{DEFAULT_STALE_WINDOW.days} days",
    )
