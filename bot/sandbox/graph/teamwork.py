"""The Graph twin's `users/{id}/teamwork/installedApps`: pimbot's Teams app installed for a user.

Only the tenant's one catalog app (pimbot's) is known. Whether a user has it is asked of a
`TeamsAppHost`: the Teams twin when the twins run together (so an install through Graph makes
Teams send the bot an `installationUpdate`, and an install in the Teams client shows here), or
a plain set otherwise. Tests block the app for some users with `blocked_users` (as an app
permission policy would: 403).
"""

from __future__ import annotations

import base64
import re
import uuid
from dataclasses import dataclass, field
from typing import Protocol

from bot.sandbox.graph.errors import GraphHttpError, bad_request, not_found
from bot.sandbox.graph.odata import check_expandable, check_filterable, matches, parse_query
from bot.sandbox.graph.routes import _ID, GraphRequest, GraphResources, GraphResponse, _route
from bot.sandbox.graph.shapes import Json
from bot.sandbox.teams.ids import graph_chat_id
from bot.sandbox.tenant import DemoTenant

READ_INSTALLATIONS = (
    "TeamsAppInstallation.ReadForUser.All",
    "TeamsAppInstallation.ReadSelfForUser.All",
    "TeamsAppInstallation.ReadWriteSelfForUser.All",
    "TeamsAppInstallation.ReadWriteForUser.All",
    "TeamsAppInstallation.ReadWriteAndConsentSelfForUser.All",
    "TeamsAppInstallation.ReadWriteAndConsentForUser.All",
)
WRITE_INSTALLATIONS = (
    "TeamsAppInstallation.ReadWriteSelfForUser.All",
    "TeamsAppInstallation.ReadWriteForUser.All",
    "TeamsAppInstallation.ReadWriteAndConsentSelfForUser.All",
    "TeamsAppInstallation.ReadWriteAndConsentForUser.All",
)
_CATALOG_BIND = re.compile(
    r"^https://graph\.microsoft\.com/(?:v1\.0|beta)/appCatalogs/teamsApps/(.+)$"
)
_INSTALLATION = r"(?P<installation>[^/()]+)"


class TeamsAppHost(Protocol):
    """Where the app's per-user installs live (the Teams twin, when it runs)."""

    def is_installed(self, user_id: str) -> bool: ...

    def install(self, user_id: str) -> None: ...


@dataclass
class InstalledSet:
    """A host without Teams: installs are remembered, nobody is told."""

    users: set[str] = field(default_factory=set)

    def is_installed(self, user_id: str) -> bool:
        return user_id in self.users

    def install(self, user_id: str) -> None:
        self.users.add(user_id)


def catalog_app_id(tenant: DemoTenant) -> str:
    """The pimbot app's id in the tenant's app catalog (stable per app registration)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"teamsapp:{tenant.pimbot_app.client_id}"))


class TeamsAppInstalls:
    def __init__(self, tenant: DemoTenant, host: TeamsAppHost | None = None) -> None:
        self.tenant = tenant
        self.host: TeamsAppHost = host or InstalledSet()
        self.catalog_app_id = catalog_app_id(tenant)
        self.blocked_users: set[str] = set()

    def teams_app(self) -> Json:
        app = self.tenant.pimbot_app
        return {
            "id": self.catalog_app_id,
            "externalId": app.client_id,
            "displayName": app.display_name,
            "distributionMethod": "organization",
        }

    def installation_id(self, user_id: str) -> str:
        raw = f"{user_id}##{self.catalog_app_id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def installation(self, user_id: str) -> Json:
        return {"id": self.installation_id(user_id), "teamsApp": self.teams_app()}


def _installs(resources: GraphResources) -> TeamsAppInstalls:
    if resources.teamwork is None:
        raise not_found("Teams app installations are not available in this twin.")
    return resources.teamwork


def _user_id(resources: GraphResources, ref: str) -> str:
    return resources._user(ref).id


@_route("GET", f"/users/{_ID}/teamwork/installedApps")
def list_installed_apps(
    resources: GraphResources, request: GraphRequest, match: re.Match[str]
) -> GraphResponse:
    request.caller.require(READ_INSTALLATIONS)
    installs = _installs(resources)
    user_id = _user_id(resources, match["id"])
    query = parse_query(request.query)
    check_filterable(query.filter, ("id", "teamsApp"), "userScopeTeamsAppInstallation")
    expanded = check_expandable(query.expand, ("teamsApp",), "userScopeTeamsAppInstallation")
    items = [installs.installation(user_id)] if installs.host.is_installed(user_id) else []
    values = [
        item if "teamsApp" in expanded else {"id": item["id"]}
        for item in items
        if matches(item, query.filter)
    ]
    context = f"{request.service_root}/$metadata#users('{user_id}')/teamwork/installedApps"
    return GraphResponse(200, {"@odata.context": context, "value": values})


@_route("POST", f"/users/{_ID}/teamwork/installedApps")
def install_app(
    resources: GraphResources, request: GraphRequest, match: re.Match[str]
) -> GraphResponse:
    request.caller.require(WRITE_INSTALLATIONS)
    installs = _installs(resources)
    user_id = _user_id(resources, match["id"])
    body = request.body if isinstance(request.body, dict) else {}
    bound = _CATALOG_BIND.match(str(body.get("teamsApp@odata.bind") or ""))
    if bound is None:
        raise bad_request("teamsApp@odata.bind must name an app of appCatalogs/teamsApps.")
    if bound.group(1).lower() != installs.catalog_app_id.lower():
        raise not_found(f"The Teams app '{bound.group(1)}' is not in the app catalog.")
    if user_id in installs.blocked_users:
        raise GraphHttpError(
            403, "Forbidden", "The app is blocked for this user by an app permission policy."
        )
    if installs.host.is_installed(user_id):
        raise GraphHttpError(409, "Conflict", "The app is already installed for this user.")
    installs.host.install(user_id)
    return GraphResponse(201)


@_route("GET", f"/users/{_ID}/teamwork/installedApps/{_INSTALLATION}/chat")
def installed_app_chat(
    resources: GraphResources, request: GraphRequest, match: re.Match[str]
) -> GraphResponse:
    request.caller.require(READ_INSTALLATIONS)
    installs = _installs(resources)
    user_id = _user_id(resources, match["id"])
    if not installs.host.is_installed(user_id) or match["installation"] != installs.installation_id(
        user_id
    ):
        raise not_found(f"The installation '{match['installation']}' does not exist.")
    chat_id = graph_chat_id(user_id, installs.tenant.pimbot_app.client_id)
    return GraphResponse(
        200,
        {
            "@odata.context": f"{request.service_root}/$metadata#chats/$entity",
            "id": chat_id,
            "topic": None,
            "chatType": "oneOnOne",
            "tenantId": installs.tenant.tenant_id,
            "webUrl": f"https://teams.microsoft.com/l/chat/{chat_id}/0?tenantId="
            + installs.tenant.tenant_id,
        },
    )
