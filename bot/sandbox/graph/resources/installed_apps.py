"""`users/{id}/teamwork/installedApps`: installing pimbot's Teams app for a user, whether it is
installed, and the one-on-one chat between the user and the bot (the installs: `teamwork.py`)."""

from __future__ import annotations

import re

from bot.sandbox.graph.context import TwinContext
from bot.sandbox.graph.errors import GraphHttpError, bad_request, not_found
from bot.sandbox.graph.odata import check_expandable, check_filterable, matches, parse_query
from bot.sandbox.graph.resources.directory_objects import find_user
from bot.sandbox.graph.router import ID, GraphRequest, GraphResponse, Routes
from bot.sandbox.graph.teamwork import TeamsAppInstalls
from bot.sandbox.teams.ids import graph_chat_id

routes = Routes()
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


def _installs(twin: TwinContext) -> TeamsAppInstalls:
    if twin.teamwork is None:
        raise not_found("Teams app installations are not available in this twin.")
    return twin.teamwork


def _user_id(twin: TwinContext, ref: str) -> str:
    return find_user(twin.tenant, ref).id


@routes.route("GET", f"/users/{ID}/teamwork/installedApps")
def list_installed_apps(
    twin: TwinContext, request: GraphRequest, match: re.Match[str]
) -> GraphResponse:
    request.caller.require(READ_INSTALLATIONS)
    installs = _installs(twin)
    user_id = _user_id(twin, match["id"])
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


@routes.route("POST", f"/users/{ID}/teamwork/installedApps")
def install_app(twin: TwinContext, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
    request.caller.require(WRITE_INSTALLATIONS)
    installs = _installs(twin)
    user_id = _user_id(twin, match["id"])
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


@routes.route("GET", f"/users/{ID}/teamwork/installedApps/{_INSTALLATION}/chat")
def installed_app_chat(
    twin: TwinContext, request: GraphRequest, match: re.Match[str]
) -> GraphResponse:
    request.caller.require(READ_INSTALLATIONS)
    installs = _installs(twin)
    user_id = _user_id(twin, match["id"])
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
