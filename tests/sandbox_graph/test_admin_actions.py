"""App-only admin actions (the bot engine's path), the clock ending assignments, the audit log
and direct role assignments outside PIM."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from .conftest import (
    EXCHANGE,
    INSTANCES,
    PRIVILEGED_ROLE_ADMIN,
    REQUESTS,
    USER_ADMIN,
    Graph,
    activation,
    error_of,
    ok,
    patch_rule,
)

ROLE_ASSIGNMENTS = "/v1.0/roleManagement/directory/roleAssignments"
AUDITS = "/v1.0/auditLogs/directoryAudits"


def _admin(principal: str, role: str, action: str = "adminAssign", **kwargs: Any) -> dict[str, Any]:
    return activation(principal, role, action=action, **kwargs)


async def _instances_of(graph: Graph, principal: str) -> list[dict[str, Any]]:
    body = await ok(await graph.get(INSTANCES, params={"$filter": f"principalId eq '{principal}'"}))
    return list(body["value"])


async def test_app_assigns_a_time_bound_active_assignment(graph: Graph) -> None:
    alex = graph.uid("alex")
    created = await ok(
        await graph.post(REQUESTS, json=_admin(alex, EXCHANGE, duration="PT4H")), 201
    )
    assert created["status"] == "Provisioned"
    assert created["createdBy"]["application"]["id"] == graph.tenant.pimbot_app.client_id
    assert created["createdBy"]["user"] is None
    [instance] = await _instances_of(graph, alex)
    assert instance["assignmentType"] == "Assigned"
    assert instance["endDateTime"] == "2026-03-02T13:00:00Z"
    [assignment] = (
        await ok(await graph.get(ROLE_ASSIGNMENTS, params={"$filter": f"principalId eq '{alex}'"}))
    )["value"]
    assert assignment["id"] == instance["roleAssignmentOriginId"]


async def test_admin_assign_needs_the_admin_justification_rule(graph: Graph) -> None:
    response = await graph.post(
        REQUESTS, json=_admin(graph.uid("alex"), EXCHANGE, justification=None)
    )
    assert (await error_of(response, 400))["message"].endswith('["JustificationRule"]')


async def test_admin_assign_beyond_the_admin_maximum_fails_the_expiration_rule(
    graph: Graph,
) -> None:
    response = await graph.post(
        REQUESTS, json=_admin(graph.uid("alex"), EXCHANGE, duration="P181D")
    )
    assert (await error_of(response, 400))["message"].endswith('["ExpirationRule"]')


async def test_admin_assign_over_an_existing_assignment_is_refused(graph: Graph) -> None:
    grady = graph.uid("grady")  # standing Exchange Administrator
    response = await graph.post(REQUESTS, json=_admin(grady, EXCHANGE))
    assert (await error_of(response, 400))["code"] == "RoleAssignmentExists"


async def test_app_without_the_write_permission_is_refused(graph: Graph) -> None:
    token = graph.tokens.app(roles=["RoleManagement.Read.Directory"])
    response = await graph.post(REQUESTS, token=token, json=_admin(graph.uid("alex"), EXCHANGE))
    assert (await error_of(response, 403))["code"] == "Authorization_RequestDenied"


async def test_delegated_admin_actions_need_an_admin_role(graph: Graph) -> None:
    body = _admin(graph.uid("alex"), EXCHANGE)
    as_adele = await graph.post(REQUESTS, token=graph.tokens.user("adele"), json=body)
    assert (await error_of(as_adele, 403))["code"] == "Authorization_RequestDenied"
    as_global_admin = await graph.post(REQUESTS, token=graph.tokens.user("breakglass1"), json=body)
    assert (await ok(as_global_admin, 201))["status"] == "Provisioned"


async def test_admin_remove_revokes_after_five_minutes(graph: Graph) -> None:
    alex = graph.uid("alex")
    await ok(await graph.post(REQUESTS, json=_admin(alex, EXCHANGE)), 201)
    remove = _admin(alex, EXCHANGE, action="adminRemove", duration=None)
    early = await graph.post(REQUESTS, json=remove)
    assert (await error_of(early, 400))["code"] == "ActiveDurationTooShort"
    graph.clock.advance(minutes=5)
    removed = await ok(await graph.post(REQUESTS, json=remove), 201)
    assert removed["status"] == "Revoked"
    assert removed["scheduleInfo"] is None and removed["targetScheduleId"] is None
    assert await _instances_of(graph, alex) == []
    nothing = await graph.post(REQUESTS, json=remove)
    assert (await error_of(nothing, 400))["code"] == "RoleAssignmentDoesNotExist"


async def test_admin_extend_moves_the_end_of_a_time_bound_assignment(graph: Graph) -> None:
    alex = graph.uid("alex")
    await ok(await graph.post(REQUESTS, json=_admin(alex, EXCHANGE, duration="PT1H")), 201)
    graph.clock.advance(minutes=50)
    extended = await ok(
        await graph.post(
            REQUESTS,
            json=_admin(alex, EXCHANGE, action="adminExtend", duration="PT2H", start=graph.clock()),
        ),
        201,
    )
    assert extended["status"] == "Provisioned"
    [instance] = await _instances_of(graph, alex)
    assert instance["endDateTime"] == "2026-03-02T11:50:00Z"


async def test_an_extended_assignment_ends_at_its_new_end_not_its_old_one(graph: Graph) -> None:
    alex = graph.uid("alex")
    await ok(await graph.post(REQUESTS, json=_admin(alex, EXCHANGE, duration="PT1H")), 201)
    graph.clock.advance(minutes=50)
    later = _admin(alex, EXCHANGE, action="adminExtend", duration="PT2H", start=graph.clock())
    await ok(await graph.post(REQUESTS, json=later), 201)

    graph.clock.advance(minutes=15)  # past the first end
    graph.twin.sweep()
    assert len(graph.twin.state.schedules_of("assignment", alex, EXCHANGE)) == 1
    graph.clock.advance(hours=2)  # past the new end
    graph.twin.sweep()
    assert graph.twin.state.schedules_of("assignment", alex, EXCHANGE) == []
    shorter = _admin(alex, EXCHANGE, duration="PT3H")
    await ok(await graph.post(REQUESTS, json=shorter), 201)
    sooner = _admin(alex, EXCHANGE, action="adminExtend", duration="PT1H", start=graph.clock())
    await ok(await graph.post(REQUESTS, json=sooner), 201)
    graph.clock.advance(hours=1)  # an end moved earlier comes at its new time too
    graph.twin.sweep()
    assert graph.twin.state.schedules_of("assignment", alex, EXCHANGE) == []


async def test_admin_extend_without_a_time_bound_assignment_is_refused(graph: Graph) -> None:
    nothing = await graph.post(REQUESTS, json=_admin(graph.uid("alex"), EXCHANGE, "adminExtend"))
    assert (await error_of(nothing, 400))["code"] == "RoleAssignmentDoesNotExist"
    permanent = await graph.post(REQUESTS, json=_admin(graph.uid("grady"), EXCHANGE, "adminExtend"))
    assert (await error_of(permanent, 400))["code"] == "RoleAssignmentDoesNotExist"


async def test_unsupported_actions_and_scopes_are_refused_plainly(graph: Graph) -> None:
    renew = await graph.post(REQUESTS, json=_admin(graph.uid("alex"), EXCHANGE, "adminRenew"))
    assert "not supported" in (await error_of(renew, 400))["message"]
    scoped = _admin(graph.uid("alex"), EXCHANGE)
    scoped["directoryScopeId"] = "/administrativeUnits/1"
    await error_of(await graph.post(REQUESTS, json=scoped), 400)
    unknown_role = _admin(graph.uid("alex"), "00000000-0000-0000-0000-00000000000a")
    assert (await error_of(await graph.post(REQUESTS, json=unknown_role), 400))[
        "code"
    ] == "RoleNotFound"
    bad_action = _admin(graph.uid("alex"), EXCHANGE, action="promote")
    await error_of(await graph.post(REQUESTS, json=bad_action), 400)


async def test_an_activation_disappears_at_its_end_with_an_expiry_audit_record(
    graph: Graph,
) -> None:
    adele = graph.uid("adele")
    created = await ok(
        await graph.post(
            REQUESTS, token=graph.tokens.user("adele"), json=activation(adele, USER_ADMIN)
        ),
        201,
    )
    graph.clock.advance(minutes=59, seconds=59)
    assert len(await _instances_of(graph, adele)) == 1
    graph.clock.advance(seconds=1)
    assert await _instances_of(graph, adele) == []
    assert (
        await ok(await graph.get(ROLE_ASSIGNMENTS, params={"$filter": f"principalId eq '{adele}'"}))
    )["value"] == []
    auditor = graph.tokens.app(roles=["AuditLog.Read.All"])
    audits = await ok(
        await graph.get(
            AUDITS,
            token=auditor,
            params={
                "$filter": (
                    "category eq 'RoleManagement' and loggedByService eq 'PIM' and "
                    "activityDisplayName eq 'Remove member from role (PIM activation expired)'"
                )
            },
        )
    )
    [record] = audits["value"]
    assert record["initiatedBy"]["user"]["displayName"] == "Azure AD PIM"
    assert record["activityDateTime"] == "2026-03-02T10:00:00Z"
    details = {d["key"]: d["value"] for d in record["additionalDetails"]}
    assert details["RoleAssignmentRequestId"] == created["id"]
    assert details["AuditType"] == "RemoveActivatedRole"


async def test_sweep_applies_the_clock_without_a_request(graph: Graph) -> None:
    adele = graph.uid("adele")
    await ok(
        await graph.post(
            REQUESTS, token=graph.tokens.user("adele"), json=activation(adele, USER_ADMIN)
        ),
        201,
    )
    graph.clock.advance(timedelta(hours=1))
    graph.twin.sweep()
    assert not [
        s for s in graph.twin.state.schedules if s.principal_id == adele and s.kind == "assignment"
    ]


async def test_audit_log_tells_the_story_of_an_activation_newest_first(graph: Graph) -> None:
    adele = graph.uid("adele")
    await ok(
        await graph.post(
            REQUESTS, token=graph.tokens.user("adele"), json=activation(adele, USER_ADMIN)
        ),
        201,
    )
    audits = await ok(
        await graph.get(
            AUDITS,
            token=graph.tokens.app(roles=["AuditLog.Read.All"]),
            params={"$filter": "activityDateTime ge 2026-03-02T00:00:00Z"},
        )
    )
    assert [a["activityDisplayName"] for a in audits["value"]] == [
        "Add member to role completed (PIM activation)",
        "Add member to role requested (PIM activation)",
    ]
    assert audits["value"][0]["initiatedBy"]["user"]["userPrincipalName"] == "adele@contoso.example"


async def test_audit_log_needs_its_own_permission(graph: Graph) -> None:
    response = await graph.get(AUDITS)
    assert (await error_of(response, 403))["code"] == "Authorization_RequestDenied"


async def test_direct_role_assignments_show_as_permanent_instances_and_can_be_deleted(
    graph: Graph,
) -> None:
    nestor = graph.uid("nestor")
    created = await ok(
        await graph.post(
            ROLE_ASSIGNMENTS,
            json={
                "@odata.type": "#microsoft.graph.unifiedRoleAssignment",
                "roleDefinitionId": PRIVILEGED_ROLE_ADMIN,
                "principalId": nestor,
                "directoryScopeId": "/",
            },
        ),
        201,
    )
    [instance] = await _instances_of(graph, nestor)
    assert instance["id"] == created["id"]
    assert instance["startDateTime"] is None and instance["endDateTime"] is None
    assert instance["assignmentType"] == "Assigned"
    fetched = await ok(
        await graph.get(f"{ROLE_ASSIGNMENTS}/{created['id']}", params={"$expand": "principal"})
    )
    assert fetched["principal"]["displayName"] == "Nestor Wilke"
    deleted = await graph.call("DELETE", f"{ROLE_ASSIGNMENTS}/{created['id']}")
    assert deleted.status == 204
    assert await _instances_of(graph, nestor) == []
    again = await graph.call("DELETE", f"{ROLE_ASSIGNMENTS}/{created['id']}")
    await error_of(again, 404)


async def test_the_demo_tenants_permanent_global_administrators_show_with_no_end(
    graph: Graph,
) -> None:
    body = await ok(
        await graph.get(
            INSTANCES,
            params={
                "$filter": "roleDefinitionId eq '62e90394-69f5-4237-9190-012177145e10' and "
                "assignmentType eq 'Assigned'",
                "$expand": "principal($select=userPrincipalName)",
            },
        )
    )
    assert sorted(i["principal"]["userPrincipalName"] for i in body["value"]) == [
        "breakglass1@contoso.example",
        "breakglass2@contoso.example",
        "lee@contoso.example",  # assigned directly, outside PIM: no start either
        "miriam@contoso.example",
    ]
    assert all(i["endDateTime"] is None for i in body["value"])


async def test_admin_expiration_required_rejects_a_permanent_assignment(graph: Graph) -> None:
    response = await patch_rule(
        graph,
        EXCHANGE,
        {
            "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule",
            "id": "Expiration_Admin_Assignment",
            "isExpirationRequired": True,
            "maximumDuration": "P90D",
        },
    )
    assert response.status == 204
    alex = graph.uid("alex")
    permanent = await graph.post(REQUESTS, json=_admin(alex, EXCHANGE, duration=None))
    assert (await error_of(permanent, 400))["message"].endswith('["ExpirationRule"]')
    bounded = await graph.post(REQUESTS, json=_admin(alex, EXCHANGE, duration="P90D"))
    assert (await ok(bounded, 201))["status"] == "Provisioned"


async def test_validation_only_requests_change_nothing(graph: Graph) -> None:
    alex = graph.uid("alex")
    body = {**_admin(alex, EXCHANGE), "isValidationOnly": True}
    checked = await ok(await graph.post(REQUESTS, json=body), 201)
    assert checked["isValidationOnly"] is True
    assert await _instances_of(graph, alex) == []
    listed = await ok(await graph.get(REQUESTS, params={"$filter": f"principalId eq '{alex}'"}))
    assert listed["value"] == []
