"""GraphPimDirectory: roles, eligibility (direct and through groups), policies and people."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from bot.domain import ApproverKind, ApproverRef, Person
from bot.graph.directory import GraphPimDirectory
from bot.graph.errors import GraphError
from tests.graph.fakes import GRAPH, answer_batches, graph_error, graph_http

V1 = f"{GRAPH}/v1.0"
ROLES = f"{V1}/roleManagement/directory/roleDefinitions"
ELIGIBILITY = f"{V1}/roleManagement/directory/roleEligibilityScheduleInstances"
ASSIGNMENTS = f"{V1}/roleManagement/directory/roleAssignmentScheduleInstances"
POLICY_ASSIGNMENTS = f"{V1}/policies/roleManagementPolicyAssignments"
NOW = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
USER = "user-1"
GROUP = "group-pim"
EXCHANGE = {"id": "29232cdf", "displayName": "Exchange Administrator", "description": "Mail"}
SECURITY = {"id": "194ae4cb", "displayName": "Security Administrator"}
GLOBAL = {"id": "62e90394", "displayName": "Global Administrator"}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def page(*items: dict[str, Any], next_link: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {"value": list(items)}
    if next_link:
        body["@odata.nextLink"] = next_link
    return httpx.Response(200, json=body)


def eligibility(role: dict[str, Any], principal: str = USER, **changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": f"e-{principal}-{role['id']}",
        "principalId": principal,
        "roleDefinitionId": role["id"],
        "directoryScopeId": "/",
        "startDateTime": "2024-01-01T00:00:00Z",
        "endDateTime": None,
        "memberType": "Direct",
        "roleDefinition": role,
    }
    item.update(changes)
    return item


def no_groups() -> None:
    respx.get(url__startswith=f"{V1}/users/{USER}/transitiveMemberOf").mock(return_value=page())


def by_principal(responses: dict[str, httpx.Response]) -> Any:
    def answer(request: httpx.Request) -> httpx.Response:
        principal = request.url.params["$filter"].removeprefix("principalId eq ").strip("'")
        return responses.get(principal, page())

    return answer


def directory(http: Any, clock: Clock | None = None) -> GraphPimDirectory:
    return GraphPimDirectory(http, tenant_id="tenant-1", now=lambda: NOW, clock=clock or Clock())


@respx.mock
async def test_list_roles_reads_all_pages_and_is_cached_for_ten_minutes() -> None:
    route = respx.get(url__startswith=ROLES).mock(
        side_effect=[
            page(EXCHANGE, next_link=f"{ROLES}?$skiptoken=2"),
            page(GLOBAL),
            page(EXCHANGE),
        ]
    )
    clock = Clock()
    async with graph_http() as http:
        pim = directory(http, clock)
        first = await pim.list_roles()
        clock.now = 599
        cached = await pim.list_roles()
        clock.now = 601
        refreshed = await pim.list_roles()

    assert [role.display_name for role in first] == [
        "Exchange Administrator",
        "Global Administrator",
    ]
    assert first[0].description == "Mail"
    assert cached == first
    assert [role.id for role in refreshed] == ["29232cdf"]
    assert route.call_count == 3


@respx.mock
async def test_eligible_roles_asks_for_the_principal_with_the_role_definition_expanded() -> None:
    no_groups()
    route = respx.get(url__startswith=ELIGIBILITY).mock(
        return_value=page(eligibility(EXCHANGE, endDateTime="2025-01-01T00:00:00Z"))
    )
    async with graph_http() as http:
        roles = await directory(http).eligible_roles(USER)

    params = route.calls[0].request.url.params
    assert params["$filter"] == f"principalId eq '{USER}'"
    assert params["$expand"] == "roleDefinition"
    assert [(r.role.display_name, r.end, r.member_type) for r in roles] == [
        ("Exchange Administrator", datetime(2025, 1, 1, tzinfo=UTC), "Direct")
    ]


@respx.mock
async def test_eligibility_through_a_role_assignable_group_counts() -> None:
    answer_batches()
    respx.get(url__startswith=f"{V1}/users/{USER}/transitiveMemberOf").mock(
        return_value=page(
            {"id": GROUP, "displayName": "PIM Security", "isAssignableToRole": True},
            {"id": "group-plain", "displayName": "All staff", "isAssignableToRole": False},
        )
    )
    route = respx.get(url__startswith=ELIGIBILITY).mock(
        side_effect=by_principal(
            {
                USER: page(eligibility(EXCHANGE)),
                GROUP: page(eligibility(SECURITY, principal=GROUP)),
            }
        )
    )
    async with graph_http() as http:
        roles = await directory(http).eligible_roles(USER)

    assert [(r.role.display_name, r.member_type) for r in roles] == [
        ("Exchange Administrator", "Direct"),
        ("Security Administrator", "Group"),
    ]
    asked = {call.request.url.params["$filter"] for call in route.calls}
    assert asked == {f"principalId eq '{USER}'", f"principalId eq '{GROUP}'"}  # not group-plain


@respx.mock
async def test_a_role_eligible_both_directly_and_through_a_group_appears_once() -> None:
    answer_batches()
    respx.get(url__startswith=f"{V1}/users/{USER}/transitiveMemberOf").mock(
        return_value=page({"id": GROUP, "isAssignableToRole": True})
    )
    respx.get(url__startswith=ELIGIBILITY).mock(
        side_effect=by_principal(
            {
                USER: page(eligibility(EXCHANGE, endDateTime="2024-06-01T00:00:00Z")),
                GROUP: page(eligibility(EXCHANGE, principal=GROUP)),
            }
        )
    )
    async with graph_http() as http:
        roles = await directory(http).eligible_roles(USER)

    assert [(r.role.id, r.end, r.member_type) for r in roles] == [("29232cdf", None, "Group")]


@respx.mock
async def test_held_roles_reads_the_groups_once_for_eligible_and_active() -> None:
    answer_batches()
    groups = respx.get(url__startswith=f"{V1}/users/{USER}/transitiveMemberOf").mock(
        return_value=page({"id": GROUP, "isAssignableToRole": True})
    )
    respx.get(url__startswith=ELIGIBILITY).mock(
        side_effect=by_principal({GROUP: page(eligibility(EXCHANGE, principal=GROUP))})
    )
    respx.get(url__startswith=ASSIGNMENTS).mock(
        side_effect=by_principal(
            {GROUP: page(eligibility(SECURITY, principal=GROUP, assignmentType="Assigned"))}
        )
    )
    async with graph_http() as http:
        eligible, active = await directory(http).held_roles(USER)

    assert [(r.role.id, r.member_type) for r in eligible] == [("29232cdf", "Group")]
    assert [a.role.id for a in active] == ["194ae4cb"]
    assert groups.call_count == 1


@respx.mock
async def test_ended_and_administrative_unit_eligibilities_are_left_out() -> None:
    no_groups()
    respx.get(url__startswith=ELIGIBILITY).mock(
        return_value=page(
            eligibility(EXCHANGE, endDateTime=(NOW - timedelta(minutes=1)).isoformat()),
            eligibility(SECURITY, directoryScopeId="/administrativeUnits/au-1"),
            eligibility(GLOBAL),
        )
    )
    async with graph_http() as http:
        roles = await directory(http).eligible_roles(USER)

    assert [r.role.display_name for r in roles] == ["Global Administrator"]


@respx.mock
async def test_without_an_expanded_role_definition_the_role_list_names_the_role() -> None:
    no_groups()
    respx.get(url__startswith=ELIGIBILITY).mock(
        return_value=page(eligibility(EXCHANGE, roleDefinition=None))
    )
    respx.get(url__startswith=ROLES).mock(return_value=page(EXCHANGE))
    async with graph_http() as http:
        roles = await directory(http).eligible_roles(USER)

    assert roles[0].role.display_name == "Exchange Administrator"


@respx.mock
async def test_active_roles_report_their_window_and_kind() -> None:
    no_groups()
    respx.get(url__startswith=ASSIGNMENTS).mock(
        return_value=page(
            eligibility(
                EXCHANGE,
                startDateTime="2024-05-01T08:00:00Z",
                endDateTime="2024-05-01T10:00:00Z",
                assignmentType="Activated",
            ),
            eligibility(GLOBAL, startDateTime=None, assignmentType="Assigned"),
        )
    )
    async with graph_http() as http:
        active = await directory(http).active_roles(USER)

    assert [(a.role.display_name, a.start, a.end, a.assignment_type) for a in active] == [
        (
            "Exchange Administrator",
            datetime(2024, 5, 1, 8, tzinfo=UTC),
            datetime(2024, 5, 1, 10, tzinfo=UTC),
            "Activated",
        ),
        ("Global Administrator", None, None, "Assigned"),
    ]


def policy_page(max_duration: str) -> httpx.Response:
    return page(
        {
            "id": "DirectoryRole_t_p_29232cdf",
            "policyId": "DirectoryRole_t_p",
            "scopeId": "/",
            "scopeType": "DirectoryRole",
            "roleDefinitionId": "29232cdf",
            "policy": {
                "id": "DirectoryRole_t_p",
                "rules": [
                    {
                        "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule",
                        "id": "Expiration_EndUser_Assignment",
                        "isExpirationRequired": True,
                        "maximumDuration": max_duration,
                    }
                ],
            },
        }
    )


@respx.mock
async def test_activation_policy_filters_by_scope_and_role_and_is_cached_for_a_minute() -> None:
    route = respx.get(url__startswith=POLICY_ASSIGNMENTS).mock(
        side_effect=[policy_page("PT2H"), policy_page("PT3H")]
    )
    clock = Clock()
    async with graph_http() as http:
        pim = directory(http, clock)
        first = await pim.activation_policy("29232cdf")
        clock.now = 59
        cached = await pim.activation_policy("29232cdf")
        clock.now = 61
        refreshed = await pim.activation_policy("29232cdf")

    params = route.calls[0].request.url.params
    assert params["$filter"] == (
        "scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq '29232cdf'"
    )
    assert params["$expand"] == "policy($expand=rules)"
    assert first.max_duration == cached.max_duration == timedelta(hours=2)
    assert refreshed.max_duration == timedelta(hours=3)
    assert route.call_count == 2


@respx.mock
async def test_quotes_in_ids_cannot_break_out_of_the_filter() -> None:
    route = respx.get(url__startswith=POLICY_ASSIGNMENTS).mock(return_value=page())
    async with graph_http() as http:
        await directory(http).activation_policy("x' or scopeId ne '")

    assert (
        route.calls[0]
        .request.url.params["$filter"]
        .endswith("roleDefinitionId eq 'x'' or scopeId ne '''")
    )


@respx.mock
async def test_resolve_approvers_expands_groups_transitively_without_duplicates() -> None:
    respx.get(url__startswith=f"{V1}/users/grace").mock(
        return_value=httpx.Response(
            200, json={"id": "grace", "displayName": "Grace", "userPrincipalName": "grace@c.test"}
        )
    )
    respx.get(url__startswith=f"{V1}/users/gone").mock(
        return_value=graph_error("Request_ResourceNotFound", status=404)
    )
    members = f"{V1}/groups/approvers/transitiveMembers/microsoft.graph.user"
    group_route = respx.get(url__startswith=members).mock(
        side_effect=[
            page(
                {"id": "alan", "displayName": "Alan", "userPrincipalName": "alan@c.test"},
                {"id": "grace", "displayName": "Grace", "userPrincipalName": "grace@c.test"},
                next_link=f"{members}?$skiptoken=p2",
            ),
            page(
                {"id": "ken", "displayName": "Ken", "accountEnabled": False},
                {"id": "barbara", "displayName": "Barbara", "userPrincipalName": "b@c.test"},
            ),
        ]
    )
    refs = [
        ApproverRef(kind=ApproverKind.USER, id="grace"),
        ApproverRef(kind=ApproverKind.USER, id="gone"),
        ApproverRef(kind=ApproverKind.GROUP, id="approvers"),
    ]
    async with graph_http() as http:
        people = await directory(http).resolve_approvers(refs)

    assert [person.id for person in people] == ["grace", "alan", "barbara"]
    assert people[0] == Person(
        id="grace", tenant_id="tenant-1", display_name="Grace", upn="grace@c.test"
    )
    assert group_route.calls[0].request.url.params["$top"] == "999"


@respx.mock
async def test_get_person_is_none_for_an_unknown_user() -> None:
    respx.get(url__startswith=f"{V1}/users/").mock(
        return_value=graph_error("Request_ResourceNotFound", status=404)
    )
    async with graph_http() as http:
        assert await directory(http).get_person("nobody") is None


@respx.mock
async def test_user_ids_are_escaped_in_paths() -> None:
    route = respx.get(url__startswith=f"{V1}/users/").mock(
        return_value=httpx.Response(200, json={"id": "a/b"})
    )
    async with graph_http() as http:
        await directory(http).get_person("a/../b")

    assert route.calls[0].request.url.raw_path.startswith(b"/v1.0/users/a%2F..%2Fb?")


@respx.mock
async def test_an_own_activation_is_reported_over_a_group_assignment_of_the_same_role() -> None:
    answer_batches()
    respx.get(url__startswith=f"{V1}/users/{USER}/transitiveMemberOf").mock(
        return_value=page({"id": GROUP, "isAssignableToRole": True})
    )
    respx.get(url__startswith=ASSIGNMENTS).mock(
        side_effect=by_principal(
            {
                USER: page(
                    eligibility(
                        EXCHANGE, endDateTime="2024-05-01T10:00:00Z", assignmentType="Activated"
                    )
                ),
                GROUP: page(eligibility(EXCHANGE, principal=GROUP, assignmentType="Assigned")),
            }
        )
    )
    async with graph_http() as http:
        active = await directory(http).active_roles(USER)

    assert [(a.role.id, a.end, a.assignment_type) for a in active] == [
        ("29232cdf", datetime(2024, 5, 1, 10, tzinfo=UTC), "Activated")
    ]


@respx.mock
async def test_when_groups_cannot_be_listed_direct_eligibility_still_counts() -> None:
    respx.get(url__startswith=f"{V1}/users/{USER}/transitiveMemberOf").mock(
        return_value=graph_error("Authorization_RequestDenied", status=403)
    )
    respx.get(url__startswith=ELIGIBILITY).mock(return_value=page(eligibility(EXCHANGE)))
    async with graph_http() as http:
        roles = await directory(http).eligible_roles(USER)

    assert [r.role.display_name for r in roles] == ["Exchange Administrator"]


@respx.mock
async def test_a_persons_groups_are_read_once_a_minute_for_eligible_and_active_roles() -> None:
    answer_batches()
    groups = respx.get(url__startswith=f"{V1}/users/{USER}/transitiveMemberOf").mock(
        return_value=page({"id": GROUP, "displayName": "PIM Security", "isAssignableToRole": True})
    )
    respx.get(url__startswith=ELIGIBILITY).mock(
        side_effect=by_principal({GROUP: page(eligibility(SECURITY, principal=GROUP))})
    )
    respx.get(url__startswith=ASSIGNMENTS).mock(return_value=page())
    clock = Clock()
    async with graph_http() as http:
        pim = directory(http, clock)
        await pim.eligible_roles(USER)
        await pim.active_roles(USER)
        clock.now = 59
        cached = await pim.eligible_roles(USER)
        assert groups.call_count == 1
        clock.now = 61
        await pim.active_roles(USER)

    assert [(r.role.display_name, r.member_type) for r in cached] == [
        ("Security Administrator", "Group")
    ]
    assert groups.call_count == 2


@respx.mock
async def test_the_people_behind_approvers_are_cached_for_a_minute() -> None:
    grace = respx.get(url__startswith=f"{V1}/users/grace").mock(
        return_value=httpx.Response(200, json={"id": "grace", "displayName": "Grace"})
    )
    refs = [ApproverRef(kind=ApproverKind.USER, id="grace")]
    clock = Clock()
    async with graph_http() as http:
        pim = directory(http, clock)
        first = await pim.resolve_approvers(refs)
        clock.now = 59
        assert await pim.resolve_approvers(list(refs)) == first
        assert grace.call_count == 1
        clock.now = 61
        await pim.resolve_approvers(refs)

    assert grace.call_count == 2


@respx.mock
async def test_a_load_the_caller_stopped_waiting_for_still_fills_the_cache() -> None:
    release = asyncio.Event()

    async def slow_policy(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return page()

    route = respx.get(url__startswith=POLICY_ASSIGNMENTS).mock(side_effect=slow_policy)
    async with graph_http() as http:
        pim = directory(http)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(pim.activation_policy(EXCHANGE["id"]), 0.01)
        release.set()
        policy = await pim.activation_policy(EXCHANGE["id"])
        again = await pim.activation_policy(EXCHANGE["id"])

    assert route.call_count == 1
    assert policy == again


@respx.mock
async def test_a_groups_eligibilities_are_read_once_a_minute_the_persons_own_every_time() -> None:
    answer_batches()
    respx.get(url__regex=rf"{V1}/users/[^/]+/transitiveMemberOf").mock(
        return_value=page({"id": GROUP, "displayName": "PIM Security", "isAssignableToRole": True})
    )
    route = respx.get(url__startswith=ELIGIBILITY).mock(
        side_effect=by_principal(
            {
                USER: page(eligibility(EXCHANGE)),
                GROUP: page(eligibility(SECURITY, principal=GROUP)),
            }
        )
    )
    clock = Clock()
    async with graph_http() as http:
        pim = directory(http, clock)
        await pim.eligible_roles(USER)
        again = await pim.eligible_roles(USER)
        await pim.eligible_roles("user-2")
        clock.now = 61
        await pim.eligible_roles(USER)

    asked = [c.request.url.params["$filter"].split("'")[1] for c in route.calls]
    assert asked == [USER, GROUP, USER, "user-2", USER, GROUP]
    assert [(r.role.display_name, r.member_type) for r in again] == [
        ("Exchange Administrator", "Direct"),
        ("Security Administrator", "Group"),
    ]


@respx.mock
async def test_a_fresh_read_of_eligibility_uses_no_cached_group_or_group_eligibility() -> None:
    answer_batches()
    membership = respx.get(url__startswith=f"{V1}/users/{USER}/transitiveMemberOf").mock(
        side_effect=[
            page({"id": GROUP, "displayName": "PIM Security", "isAssignableToRole": True}),
            page(),  # removed from the group since
        ]
    )
    respx.get(url__startswith=ELIGIBILITY).mock(
        side_effect=by_principal({GROUP: page(eligibility(SECURITY, principal=GROUP))})
    )
    async with graph_http() as http:
        pim = directory(http, Clock())
        cached = await pim.eligible_roles(USER)
        fresh = await pim.eligible_roles(USER, fresh=True)

    assert [r.role.display_name for r in cached] == ["Security Administrator"]
    assert fresh == []
    assert membership.call_count == 2


@respx.mock
async def test_a_fresh_read_of_approvers_skips_the_cache() -> None:
    grace = respx.get(url__startswith=f"{V1}/users/grace").mock(
        return_value=httpx.Response(200, json={"id": "grace", "displayName": "Grace"})
    )
    refs = [ApproverRef(kind=ApproverKind.USER, id="grace")]
    async with graph_http() as http:
        pim = directory(http, Clock())
        await pim.resolve_approvers(refs)
        await pim.resolve_approvers(refs, fresh=True)

    assert grace.call_count == 2


@respx.mock
async def test_held_roles_read_everything_in_one_round_trip_once_the_groups_are_known() -> None:
    batches = answer_batches()
    respx.get(url__startswith=f"{V1}/users/{USER}/transitiveMemberOf").mock(
        return_value=page({"id": GROUP, "isAssignableToRole": True})
    )
    eligibility_route = respx.get(url__startswith=ELIGIBILITY).mock(
        side_effect=by_principal({GROUP: page(eligibility(EXCHANGE, principal=GROUP))})
    )
    assignments = respx.get(url__startswith=ASSIGNMENTS).mock(
        side_effect=by_principal({USER: page(eligibility(SECURITY, assignmentType="Activated"))})
    )
    async with graph_http() as http:
        pim = directory(http)
        await pim.held_roles(USER)  # the groups, then one batch (the group's eligibility too)
        batches.calls.clear()
        eligibility_route.calls.clear()
        assignments.calls.clear()
        eligible, active = await pim.held_roles(USER)

    assert [r.role.id for r in eligible] == ["29232cdf"]
    assert [a.role.id for a in active] == ["194ae4cb"]
    assert batches.call_count == 1
    sent = json.loads(batches.calls[0].request.content)["requests"]
    assert [(r["method"], r["url"].split("?")[0]) for r in sent] == [
        ("GET", "/roleManagement/directory/roleEligibilityScheduleInstances"),
        ("GET", "/roleManagement/directory/roleAssignmentScheduleInstances"),
        ("GET", "/roleManagement/directory/roleAssignmentScheduleInstances"),
    ]
    # The person's own eligibility, their own and their group's active roles: the group's
    # eligibility came from the cache.
    assert eligibility_route.call_count == 1
    assert assignments.call_count == 2


@respx.mock
async def test_a_failed_read_in_a_batch_fails_the_turn_as_it_would_alone() -> None:
    answer_batches()
    respx.get(url__startswith=f"{V1}/users/{USER}/transitiveMemberOf").mock(return_value=page())
    respx.get(url__startswith=ELIGIBILITY).mock(return_value=page(eligibility(EXCHANGE)))
    respx.get(url__startswith=ASSIGNMENTS).mock(
        return_value=graph_error("Authorization_RequestDenied", status=403)
    )
    async with graph_http() as http:
        with pytest.raises(GraphError) as failed:
            await directory(http).held_roles(USER)

    assert failed.value.status == 403 and failed.value.code == "Authorization_RequestDenied"


@respx.mock
async def test_a_fresh_read_asks_for_the_groups_and_their_eligibility_in_one_round_trip() -> None:
    batches = answer_batches()
    membership = respx.get(url__startswith=f"{V1}/users/{USER}/transitiveMemberOf").mock(
        side_effect=[
            page({"id": GROUP, "isAssignableToRole": True}),
            page({"id": GROUP, "isAssignableToRole": True}),
            page(
                {"id": GROUP, "isAssignableToRole": True},
                {"id": "group-new", "isAssignableToRole": True},
            ),
        ]
    )
    route = respx.get(url__startswith=ELIGIBILITY).mock(
        side_effect=by_principal(
            {
                GROUP: page(eligibility(EXCHANGE, principal=GROUP)),
                "group-new": page(eligibility(SECURITY, principal="group-new")),
            }
        )
    )
    async with graph_http() as http:
        pim = directory(http, Clock())
        await pim.eligible_roles(USER)  # the groups are known from now on
        batches.calls.clear()
        route.calls.clear()
        same = await pim.eligible_roles(USER, fresh=True)
        assert batches.call_count == 1  # membership, own and the group's eligibility at once
        assert route.call_count == 2
        grown = await pim.eligible_roles(USER, fresh=True)

    assert [r.role.id for r in same] == ["29232cdf"]
    assert [r.role.id for r in grown] == ["29232cdf", "194ae4cb"]
    # The new group's eligibility needed a second round trip, a plain GET of that group alone.
    assert batches.call_count == 2
    assert [c.request.url.params["$filter"] for c in route.calls[2:]] == [
        f"principalId eq '{USER}'",
        f"principalId eq '{GROUP}'",
        "principalId eq 'group-new'",
    ]
    assert membership.call_count == 3
