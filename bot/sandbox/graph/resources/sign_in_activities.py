"""`reports/servicePrincipalSignInActivities` (beta): when each service principal last signed in,
as Microsoft documents the report
(https://learn.microsoft.com/graph/api/reportroot-list-serviceprincipalsigninactivities).

- `GET /reports/servicePrincipalSignInActivities` (`$filter=appId eq '…'`, `$top`, paged) and
  `GET /reports/servicePrincipalSignInActivities/{id}`: one item per service principal with a
  recorded sign-in (`appId`; `id` is the appId in base64, as in Microsoft's examples). Each item
  has `lastSignInActivity` (the latest of any flow) and one `signInActivity` per flow; the twin's
  apps sign in with their own credentials (`applicationAuthenticationClientSignInActivity`), the
  other flows are null.
- The report needs `AuditLog.Read.All` (or `Directory.Read.All`); it exists on the beta endpoint
  only. A service principal without a recorded sign-in is not listed.
"""

from __future__ import annotations

import base64
import re
import uuid

from bot.sandbox.graph.context import TwinContext
from bot.sandbox.graph.errors import GraphHttpError
from bot.sandbox.graph.principals import ServicePrincipal, service_principals
from bot.sandbox.graph.router import ID, GraphRequest, GraphResponse, Routes
from bot.sandbox.graph.shapes import Json
from bot.sandbox.graph.values import format_datetime

routes = Routes()
BETA = ("beta",)
READ_SIGN_IN_ACTIVITY = ("AuditLog.Read.All", "Directory.Read.All")
PATH = "/reports/servicePrincipalSignInActivities"
FLOWS = (
    "applicationAuthenticationClientSignInActivity",
    "applicationAuthenticationResourceSignInActivity",
    "delegatedClientSignInActivity",
    "delegatedResourceSignInActivity",
)
PROPERTIES = ("id", "appId", "lastSignInActivity", *FLOWS)
_REQUEST_IDS = uuid.UUID("5e0c3f6a-8b1d-4c2e-9a7f-1d2b3c4e5f60")


def _activity(principal: ServicePrincipal) -> Json:
    when = principal.last_sign_in
    assert when is not None
    activity = {
        "lastSignInDateTime": format_datetime(when),
        "lastSignInRequestId": str(uuid.uuid5(_REQUEST_IDS, f"{principal.app_id}:{when}")),
    }
    return {
        "id": base64.b64encode(principal.app_id.encode()).decode(),
        "appId": principal.app_id,
        "lastSignInActivity": activity,
        "applicationAuthenticationClientSignInActivity": activity,
        "applicationAuthenticationResourceSignInActivity": None,
        "delegatedClientSignInActivity": None,
        "delegatedResourceSignInActivity": None,
    }


def _report(twin: TwinContext) -> list[Json]:
    return [_activity(p) for p in service_principals(twin.tenant) if p.last_sign_in is not None]


@routes.route("GET", PATH, versions=BETA)
def list_activities(twin: TwinContext, request: GraphRequest, _: re.Match[str]) -> GraphResponse:
    request.caller.require(READ_SIGN_IN_ACTIVITY)
    return twin.collection(
        request,
        "reports/servicePrincipalSignInActivities",
        _report(twin),
        properties=PROPERTIES,
        filterable=("id", "appId"),
        type_name="servicePrincipalSignInActivity",
    )


@routes.route("GET", f"{PATH}/{ID}", versions=BETA)
def get_activity(twin: TwinContext, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
    request.caller.require(READ_SIGN_IN_ACTIVITY)
    found = next((item for item in _report(twin) if item["id"] == match["id"]), None)
    if found is None:
        raise GraphHttpError(
            404, "ResourceNotFound", f"The sign-in activity '{match['id']}' does not exist."
        )
    return twin.entity(
        request,
        "reports/servicePrincipalSignInActivities",
        found,
        properties=PROPERTIES,
        type_name="servicePrincipalSignInActivity",
    )
