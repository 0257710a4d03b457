"""Role management policies: generated from the tenant file in Graph's 17-rule shape, found by
role with the required scope filter, and changed rule by rule."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import (
    EXCHANGE,
    GLOBAL_ADMIN,
    REQUESTS,
    TEAMS_ADMIN,
    USER_ADMIN,
    Graph,
    activation,
    error_of,
    ok,
    patch_rule,
    policy_id_of,
)

ASSIGNMENTS = "/v1.0/policies/roleManagementPolicyAssignments"
POLICIES = "/v1.0/policies/roleManagementPolicies"
SCOPE = "scopeId eq '/' and scopeType eq 'DirectoryRole'"


async def _rules(graph: Graph, role_id: str) -> dict[str, dict[str, Any]]:
    body = await ok(
        await graph.get(
            ASSIGNMENTS,
            params={
                "$filter": f"{SCOPE} and roleDefinitionId eq '{role_id}'",
                "$expand": "policy($expand=rules)",
            },
        )
    )
    [assignment] = body["value"]
    return {rule["id"]: rule for rule in assignment["policy"]["rules"]}


async def test_policy_assignment_has_the_documented_ids_and_all_seventeen_rules(
    graph: Graph,
) -> None:
    body = await ok(
        await graph.get(
            ASSIGNMENTS,
            params={
                "$filter": f"{SCOPE} and roleDefinitionId eq '{GLOBAL_ADMIN}'",
                "$expand": "policy($expand=rules)",
            },
        )
    )
    [assignment] = body["value"]
    tenant_id = graph.tenant.tenant_id
    assert assignment["policyId"].startswith(f"DirectoryRole_{tenant_id}_")
    assert assignment["id"] == f"{assignment['policyId']}_{GLOBAL_ADMIN}"
    assert assignment["policy"]["scopeType"] == "DirectoryRole"
    rules = assignment["policy"]["rules"]
    assert len(rules) == 17
    assert len({rule["id"] for rule in rules}) == 17
    assert all(set(rule["target"]) >= {"caller", "operations", "level"} for rule in rules)


async def test_microsofts_default_policy_for_roles_the_tenant_leaves_alone(graph: Graph) -> None:
    rules = await _rules(graph, TEAMS_ADMIN)
    assert rules["Expiration_EndUser_Assignment"]["maximumDuration"] == "PT8H"
    assert rules["Expiration_EndUser_Assignment"]["isExpirationRequired"] is True
    assert rules["Enablement_EndUser_Assignment"]["enabledRules"] == [
        "MultiFactorAuthentication",
        "Justification",
    ]
    assert rules["Approval_EndUser_Assignment"]["setting"]["isApprovalRequired"] is False
    assert rules["Enablement_Admin_Assignment"]["enabledRules"] == ["Justification"]
    assert rules["Expiration_Admin_Assignment"]["maximumDuration"] == "P180D"
    assert rules["AuthenticationContext_EndUser_Assignment"]["isEnabled"] is False


async def test_strict_global_administrator_policy(graph: Graph) -> None:
    rules = await _rules(graph, GLOBAL_ADMIN)
    assert rules["Expiration_EndUser_Assignment"]["maximumDuration"] == "PT2H"
    assert rules["Enablement_EndUser_Assignment"]["enabledRules"] == [
        "MultiFactorAuthentication",
        "Justification",
        "Ticketing",
    ]
    setting = rules["Approval_EndUser_Assignment"]["setting"]
    assert setting["isApprovalRequired"] is True
    [stage] = setting["approvalStages"]
    assert stage["primaryApprovers"] == [
        {
            "@odata.type": "#microsoft.graph.groupMembers",
            "groupId": graph.tenant.group("PIM Approvers").id,
            "description": "PIM Approvers",
            "isBackup": False,
        }
    ]


async def test_exchange_policy_names_two_approving_users(graph: Graph) -> None:
    setting = (await _rules(graph, EXCHANGE))["Approval_EndUser_Assignment"]["setting"]
    approvers = setting["approvalStages"][0]["primaryApprovers"]
    assert [a["userId"] for a in approvers] == [graph.uid("megan"), graph.uid("nestor")]


@pytest.mark.parametrize("path", [ASSIGNMENTS, POLICIES], ids=["policy assignments", "policies"])
async def test_policy_lists_require_the_scope_filter(graph: Graph, path: str) -> None:
    unfiltered = await graph.get(path)
    assert (await error_of(unfiltered, 400))["code"] == "BadRequest"
    only_scope_id = await graph.get(path, params={"$filter": "scopeId eq '/'"})
    await error_of(only_scope_id, 400)
    filtered = await ok(await graph.get(path, params={"$filter": SCOPE}))
    assert len(filtered["value"]) == len(graph.tenant.roles)


async def test_policy_and_rule_by_id(graph: Graph) -> None:
    policy_id = await policy_id_of(graph, EXCHANGE)
    policy = await ok(await graph.get(f"{POLICIES}/{policy_id}", params={"$expand": "rules"}))
    assert len(policy["rules"]) == 17
    rule = await ok(await graph.get(f"{POLICIES}/{policy_id}/rules/Expiration_EndUser_Assignment"))
    assert rule["maximumDuration"] == "PT4H"
    await error_of(await graph.get(f"{POLICIES}/{policy_id}/rules/Nope"), 404)
    await error_of(await graph.get(f"{POLICIES}/DirectoryRole_x_y"), 404)


async def test_patching_a_rule_changes_what_activation_allows(graph: Graph) -> None:
    response = await patch_rule(
        graph,
        USER_ADMIN,
        {
            "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule",
            "id": "Expiration_EndUser_Assignment",
            "isExpirationRequired": True,
            "maximumDuration": "PT1H45M",
        },
    )
    assert response.status == 204
    assert (await _rules(graph, USER_ADMIN))["Expiration_EndUser_Assignment"][
        "maximumDuration"
    ] == "PT1H45M"
    adele = graph.uid("adele")
    too_long = await graph.post(
        REQUESTS,
        token=graph.tokens.user("adele"),
        json=activation(adele, USER_ADMIN, duration="PT2H"),
    )
    assert (await error_of(too_long, 400))["message"].endswith('["ExpirationRule"]')


async def test_patch_needs_the_derived_odata_type(graph: Graph) -> None:
    untyped = await patch_rule(
        graph, USER_ADMIN, {"id": "Expiration_EndUser_Assignment", "maximumDuration": "PT1H"}
    )
    assert "@odata.type" in (await error_of(untyped, 400))["message"]
    wrong_type = await patch_rule(
        graph,
        USER_ADMIN,
        {
            "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyEnablementRule",
            "id": "Expiration_EndUser_Assignment",
            "maximumDuration": "PT1H",
        },
    )
    await error_of(wrong_type, 400)


async def test_patch_refuses_an_approval_without_approvers(graph: Graph) -> None:
    response = await patch_rule(
        graph,
        USER_ADMIN,
        {
            "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule",
            "id": "Approval_EndUser_Assignment",
            "setting": {"isApprovalRequired": True, "approvalStages": [{"primaryApprovers": []}]},
        },
    )
    await error_of(response, 400)


async def test_policy_rules_cannot_be_patched_app_only(graph: Graph) -> None:
    policy_id = await policy_id_of(graph, USER_ADMIN)
    response = await graph.call(
        "PATCH",
        f"{POLICIES}/{policy_id}/rules/Expiration_EndUser_Assignment",
        json={
            "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule",
            "maximumDuration": "PT1H",
        },
    )
    assert (await error_of(response, 403))["code"] == "Authorization_RequestDenied"
