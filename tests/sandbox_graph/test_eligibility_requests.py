"""The twin's `roleEligibilityScheduleRequests` (adminAssign, adminRemove) and users'
`signInActivity`, as Microsoft documents them, checked with Microsoft's own Graph SDK models
(every property the twin returns must be one the SDK knows)."""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime, timedelta
from typing import Any

from kiota_abstractions.serialization import Parsable
from kiota_serialization_json.json_parse_node import JsonParseNode
from msgraph.generated.models.unified_role_eligibility_schedule_request import (
    UnifiedRoleEligibilityScheduleRequest,
)
from msgraph.generated.models.user import User

from tests.sandbox_graph.conftest import (
    ELIGIBILITY_INSTANCES,
    EXCHANGE,
    PIMBOT_ROLES,
    Graph,
    error_of,
    ok,
)

ELIGIBILITY_REQUESTS = "/v1.0/roleManagement/directory/roleEligibilityScheduleRequests"
ADMIN_SCOPES = "RoleEligibilitySchedule.ReadWrite.Directory RoleManagement.Read.Directory"


def unknown_properties(model: Any, path: str = "") -> list[str]:
    """Properties the SDK model did not recognise, anywhere inside it."""
    found = [
        f"{path}{key}"
        for key in (getattr(model, "additional_data", None) or {})
        if not key.startswith("@odata.")
    ]
    if dataclasses.is_dataclass(model):
        for item in dataclasses.fields(model):
            value = getattr(model, item.name)
            values = value if isinstance(value, list) else [value]
            for inner in values:
                if isinstance(inner, Parsable) and not isinstance(inner, enum.Enum):
                    found += unknown_properties(inner, f"{path}{item.name}.")
    return found


def parsed(body: dict[str, Any], model: type[Parsable]) -> Any:
    result = JsonParseNode(body).get_object_value(model)
    assert unknown_properties(result) == [], unknown_properties(result)
    return result


def assign_body(principal_id: str, *, days: int = 180, justification: str = "standing") -> Any:
    start = datetime(2026, 3, 2, 9, 0)
    return {
        "action": "adminAssign",
        "principalId": principal_id,
        "roleDefinitionId": EXCHANGE,
        "directoryScopeId": "/",
        "justification": justification,
        "scheduleInfo": {
            "startDateTime": start.isoformat() + "Z",
            "expiration": {
                "type": "afterDateTime",
                "endDateTime": (start + timedelta(days=days)).isoformat() + "Z",
            },
        },
    }


async def test_an_admin_makes_someone_eligible_and_reads_it_back(graph: Graph) -> None:
    grady = graph.uid("grady")
    created = await ok(await graph.post(ELIGIBILITY_REQUESTS, json=assign_body(grady)), 201)
    request = parsed(created, UnifiedRoleEligibilityScheduleRequest)
    assert (request.status, request.principal_id) == ("Provisioned", grady)
    listed = await ok(await graph.get(ELIGIBILITY_REQUESTS))
    assert [r["id"] for r in listed["value"]] == [created["id"]]
    for item in listed["value"]:
        parsed(item, UnifiedRoleEligibilityScheduleRequest)
    one = await ok(await graph.get(f"{ELIGIBILITY_REQUESTS}/{created['id']}"))
    assert one["targetScheduleId"] == created["targetScheduleId"]
    instances = await ok(
        await graph.get(ELIGIBILITY_INSTANCES, params={"$filter": f"principalId eq '{grady}'"})
    )
    assert [i["roleDefinitionId"] for i in instances["value"]] == [EXCHANGE]


async def test_an_eligibility_that_exists_already_is_refused(graph: Graph) -> None:
    adele = graph.uid("adele")  # eligible for Exchange Administrator in the demo tenant
    error = await error_of(await graph.post(ELIGIBILITY_REQUESTS, json=assign_body(adele)), 400)
    assert error["code"] == "RoleAssignmentExists"


async def test_a_window_beyond_the_policy_breaks_the_expiration_rule(graph: Graph) -> None:
    body = assign_body(graph.uid("grady"), days=400)  # the default maximum is P365D
    error = await error_of(await graph.post(ELIGIBILITY_REQUESTS, json=body), 400)
    assert error["code"] == "RoleAssignmentRequestPolicyValidationFailed"
    assert "ExpirationRule" in error["message"]


async def test_adminremove_takes_the_eligibility_away(graph: Graph) -> None:
    adele = graph.uid("adele")
    body = {**assign_body(adele), "action": "adminRemove"}
    body.pop("scheduleInfo")
    removed = await ok(await graph.post(ELIGIBILITY_REQUESTS, json=body), 201)
    assert parsed(removed, UnifiedRoleEligibilityScheduleRequest).status == "Revoked"
    instances = await ok(
        await graph.get(
            ELIGIBILITY_INSTANCES,
            params={"$filter": f"principalId eq '{adele}' and roleDefinitionId eq '{EXCHANGE}'"},
        )
    )
    assert instances["value"] == []


async def test_writing_eligibilities_needs_the_permission(graph: Graph) -> None:
    token = graph.tokens.app(["RoleManagement.Read.Directory"])
    response = await graph.post(
        ELIGIBILITY_REQUESTS, token=token, json=assign_body(graph.uid("grady"))
    )
    assert (await error_of(response, 403))["code"] == "Authorization_RequestDenied"


async def test_a_signed_in_admin_needs_an_active_admin_role(graph: Graph) -> None:
    token = graph.tokens.user("megan", scp=ADMIN_SCOPES)  # Megan holds no active admin role
    response = await graph.post(
        ELIGIBILITY_REQUESTS, token=token, json=assign_body(graph.uid("grady"))
    )
    assert (await error_of(response, 403))["code"] == "Authorization_RequestDenied"


async def test_sign_in_activity_comes_only_when_selected_and_with_audit_log_permission(
    graph: Graph,
) -> None:
    grady = graph.uid("grady")
    plain = await ok(await graph.get(f"/v1.0/users/{grady}"))
    assert "signInActivity" not in plain
    reader = graph.tokens.app([*PIMBOT_ROLES, "AuditLog.Read.All"])
    selected = await ok(
        await graph.get(
            f"/v1.0/users/{grady}",
            token=reader,
            params={"$select": "id,displayName,signInActivity"},
        )
    )
    user = parsed(selected, User)
    assert user.sign_in_activity.last_sign_in_date_time.isoformat() == "2026-11-30T08:12:00+00:00"
    listed = await ok(
        await graph.get("/v1.0/users", token=reader, params={"$select": "id,signInActivity"})
    )
    for item in listed["value"]:
        parsed(item, User)
    refused = await graph.get("/v1.0/users", params={"$select": "id,signInActivity"})
    assert (await error_of(refused, 403))["code"] == "Authorization_RequestDenied"
