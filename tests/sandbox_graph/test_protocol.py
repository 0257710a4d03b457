"""Graph's protocol as the twin speaks it: tokens, error format and headers, the OData subset,
paging, throttling and outages, and `$batch`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.sandbox.graph import shapes
from bot.sandbox.graph.schedules import Schedule
from bot.sandbox.tenant import DemoTenant
from tests.support.clock import FakeClock

from .conftest import (
    ELIGIBILITY_INSTANCES,
    EXCHANGE,
    INSTANCES,
    REQUESTS,
    USER_ADMIN,
    Graph,
    activation,
    error_of,
    ok,
    start_graph,
)

ROLE_DEFINITIONS = "/v1.0/roleManagement/directory/roleDefinitions"


@pytest.fixture
async def small_pages(tenant: DemoTenant, clock: FakeClock) -> AsyncIterator[Graph]:
    started = await start_graph(tenant, clock, page_size=2)
    yield started
    await started.client.close()


# --- tokens and errors ------------------------------------------------------------------------


async def test_missing_or_unknown_token_is_401_in_graphs_error_format(graph: Graph) -> None:
    missing = await graph.client.get(ROLE_DEFINITIONS)
    error = await error_of(missing, 401)
    assert error["code"] == "InvalidAuthenticationToken"
    assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
    forged = await graph.get(ROLE_DEFINITIONS, token="forged")
    assert (await error_of(forged, 401))["code"] == "InvalidAuthenticationToken"
    assert graph.twin.calls[-1].claims is None


async def test_client_request_id_is_echoed_and_a_request_id_given(graph: Graph) -> None:
    response = await graph.get(ROLE_DEFINITIONS, headers={"client-request-id": "abc-123"})
    assert response.status == 200
    assert response.headers["client-request-id"] == "abc-123"
    assert response.headers["request-id"] == graph.twin.calls[-1].request_id


async def test_calls_are_recorded_with_the_callers_claims(graph: Graph) -> None:
    token = graph.tokens.user("adele")
    body = activation(graph.uid("adele"), USER_ADMIN)
    await graph.post(REQUESTS, token=token, json=body)
    call = graph.twin.calls[-1]
    assert (call.method, call.path, call.status) == (
        "POST",
        "/v1.0/roleManagement/directory/roleAssignmentScheduleRequests",
        201,
    )
    assert call.json == body
    assert call.claims is not None and call.claims["oid"] == graph.uid("adele")


async def test_reading_needs_a_permission(graph: Graph) -> None:
    token = graph.tokens.app(roles=["User.Read.All"])
    response = await graph.get(ROLE_DEFINITIONS, token=token)
    assert (await error_of(response, 403))["code"] == "Authorization_RequestDenied"


async def test_unknown_resources_and_methods_are_refused(graph: Graph) -> None:
    unknown = await graph.get("/v1.0/roleManagement/directory/roleThings")
    assert (await error_of(unknown, 400))["message"] == (
        "Resource not found for the segment 'roleThings'."
    )
    wrong_method = await graph.call("DELETE", ROLE_DEFINITIONS)
    await error_of(wrong_method, 405)


async def test_body_that_is_not_json_is_a_bad_request(graph: Graph) -> None:
    response = await graph.client.post(
        REQUESTS,
        data=b"{not json",
        headers={"Authorization": f"Bearer {graph.default_token}"},
    )
    await error_of(response, 400)


# --- OData ------------------------------------------------------------------------------------


async def test_role_definitions_filter_and_select(graph: Graph) -> None:
    body = await ok(
        await graph.get(
            ROLE_DEFINITIONS,
            params={
                "$filter": "displayName eq 'Exchange Administrator'",
                "$select": "id,displayName",
            },
        )
    )
    assert body["value"] == [{"id": EXCHANGE, "displayName": "Exchange Administrator"}]
    assert body["@odata.context"].endswith(
        "/v1.0/$metadata#roleManagement/directory/roleDefinitions"
    )
    one = await ok(await graph.get(f"{ROLE_DEFINITIONS}/{EXCHANGE}"))
    assert one["templateId"] == EXCHANGE and one["isBuiltIn"] is True
    await error_of(await graph.get(f"{ROLE_DEFINITIONS}/00000000-0000-0000-0000-000000000000"), 404)


async def test_a_filter_by_principal_reads_only_that_principals_schedules(
    graph: Graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As Graph's index on the principal does: the twin's answer to one person's eligibilities
    costs the same in a tenant of 100,000 assignments as in the demo tenant's few."""
    shaped: list[str] = []
    shape = shapes.eligibility_instance

    def counted(schedule: Schedule) -> shapes.Json:
        shaped.append(schedule.principal_id)
        return shape(schedule)

    monkeypatch.setattr(shapes, "eligibility_instance", counted)
    adele = graph.uid("adele")

    mine = await ok(
        await graph.get(
            ELIGIBILITY_INSTANCES, params={"$filter": f"principalId eq '{adele.upper()}'"}
        )
    )
    assert mine["value"] and {i["principalId"] for i in mine["value"]} == {adele}
    assert set(shaped) == {adele}

    # the rest of the filter still applies to what is left; without one, everyone is listed
    one_role = await ok(
        await graph.get(
            ELIGIBILITY_INSTANCES,
            params={"$filter": f"principalId eq '{adele}' and roleDefinitionId eq '{EXCHANGE}'"},
        )
    )
    assert [i["roleDefinitionId"] for i in one_role["value"]] == [EXCHANGE]
    everyone = await ok(await graph.get(ELIGIBILITY_INSTANCES))
    assert len({i["principalId"] for i in everyone["value"]}) > 1


async def test_in_operator_and_quotes_inside_strings(graph: Graph) -> None:
    body = await ok(
        await graph.get(
            ROLE_DEFINITIONS,
            params={"$filter": f"id in ('{EXCHANGE}', '{USER_ADMIN}')", "$select": "displayName"},
        )
    )
    assert sorted(r["displayName"] for r in body["value"]) == [
        "Exchange Administrator",
        "User Administrator",
    ]
    nothing = await ok(
        await graph.get(ROLE_DEFINITIONS, params={"$filter": "displayName eq 'O''Brien'"})
    )
    assert nothing["value"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"$filter": "displayName eq 'A' or displayName eq 'B'"},
        {"$filter": "contains(displayName, 'Admin')"},
        {"$filter": "displayName eq"},
        {"$filter": "rolePermissions eq 'x'"},
        {"$select": "id,nope"},
        {"$expand": "nothing"},
        {"$orderby": "displayName"},
        {"$top": "0"},
        {"$top": "1000"},
        {"$skiptoken": "garbage!"},
    ],
)
async def test_unsupported_query_syntax_is_a_bad_request_not_ignored(
    graph: Graph, params: dict[str, str]
) -> None:
    response = await graph.get(ROLE_DEFINITIONS, params=params)
    assert (await error_of(response, 400))["code"] == "BadRequest"


async def test_paging_follows_next_links_across_several_pages(small_pages: Graph) -> None:
    names: list[str] = []
    url: str | None = ROLE_DEFINITIONS
    pages = 0
    while url:
        body = await ok(await small_pages.get(url))
        assert len(body["value"]) <= 2
        names += [r["displayName"] for r in body["value"]]
        url = body.get("@odata.nextLink")
        pages += 1
    assert pages == 6
    assert sorted(names) == sorted(r.display_name for r in small_pages.tenant.roles)


async def test_top_sets_a_smaller_page_and_is_kept_in_the_next_link(graph: Graph) -> None:
    first = await ok(await graph.get(ROLE_DEFINITIONS, params={"$top": "3", "$count": "true"}))
    assert len(first["value"]) == 3
    assert first["@odata.count"] == len(graph.tenant.roles)
    link = first["@odata.nextLink"]
    assert "%24top=3" in link or "$top=3" in link
    second = await ok(await graph.get(link))
    assert {r["id"] for r in second["value"]}.isdisjoint({r["id"] for r in first["value"]})


async def test_group_transitive_members_page_through_the_nested_group(small_pages: Graph) -> None:
    group = small_pages.tenant.group("PIM Approvers").id
    first = await ok(
        await small_pages.get(
            f"/v1.0/groups/{group}/transitiveMembers/microsoft.graph.user",
            params={"$select": "id,displayName,userPrincipalName,mail", "$top": "999"},
        )
    )
    second = await ok(await small_pages.get(first["@odata.nextLink"]))
    assert "@odata.nextLink" not in second
    names = [u["displayName"] for u in first["value"] + second["value"]]
    assert names == ["Megan Bowen", "Nestor Wilke", "Lidia Holloway"]


async def test_users_by_id_or_upn_with_select_and_404(graph: Graph) -> None:
    adele = graph.tenant.user("adele")
    by_upn = await ok(
        await graph.get("/v1.0/users/adele@contoso.example", params={"$select": "id,mail"})
    )
    assert by_upn["id"] == adele.id and by_upn["mail"] == adele.mail
    assert "displayName" not in by_upn
    by_id = await ok(await graph.get(f"/v1.0/users/{adele.id}"))
    assert by_id["jobTitle"] == adele.job_title
    missing = await graph.get("/v1.0/users/nobody@contoso.example")
    assert (await error_of(missing, 404))["code"] == "Request_ResourceNotFound"
    found = await ok(
        await graph.get("/v1.0/users", params={"$filter": "startswith(displayName,'Ad')"})
    )
    assert [u["userPrincipalName"] for u in found["value"]] == ["adele@contoso.example"]


async def test_groups_and_a_users_groups(graph: Graph) -> None:
    leads = graph.tenant.group("Security Leads").id
    group = await ok(await graph.get(f"/v1.0/groups/{leads}"))
    assert group["displayName"] == "Security Leads"
    of_lidia = await ok(
        await graph.get(
            f"/v1.0/users/{graph.uid('lidia')}/transitiveMemberOf/microsoft.graph.group",
            params={"$select": "id,displayName,isAssignableToRole"},
        )
    )
    assert sorted(g["displayName"] for g in of_lidia["value"]) == [
        "PIM Approvers",
        "Security Leads",
    ]
    await error_of(await graph.get("/v1.0/groups/00000000-0000-0000-0000-000000000000"), 404)


async def test_a_users_manager_and_404_for_someone_without_one(graph: Graph) -> None:
    manager = await ok(await graph.get(f"/v1.0/users/{graph.uid('adele')}/manager"))
    assert manager["id"] == graph.uid("megan")
    assert manager["@odata.type"] == "#microsoft.graph.user"
    by_upn = await ok(
        await graph.get("/v1.0/users/diego@contoso.example/manager", params={"$select": "id"})
    )
    assert by_upn["id"] == graph.uid("nestor") and "displayName" not in by_upn
    none = await graph.get(f"/v1.0/users/{graph.uid('lynne')}/manager")
    error = await error_of(none, 404)
    assert error["code"] == "Request_ResourceNotFound" and "'manager'" in error["message"]
    basic = graph.tokens.app(("User.ReadBasic.All",))
    await error_of(await graph.get(f"/v1.0/users/{graph.uid('adele')}/manager", token=basic), 403)


async def test_groups_by_display_name(graph: Graph) -> None:
    found = await ok(
        await graph.get(
            "/v1.0/groups",
            params={"$filter": "displayName eq 'identity team'", "$select": "id,displayName"},
        )
    )
    assert [g["id"] for g in found["value"]] == [graph.tenant.group("Identity Team").id]
    nothing = await ok(
        await graph.get("/v1.0/groups", params={"$filter": "displayName eq 'Nobody'"})
    )
    assert nothing["value"] == []


# --- throttling, outages, batch ---------------------------------------------------------------


async def test_throttle_answers_429_with_retry_after_then_recovers(graph: Graph) -> None:
    graph.twin.throttle(2, retry_after=7)
    for _ in range(2):
        throttled = await graph.get(ROLE_DEFINITIONS)
        assert (await error_of(throttled, 429))["code"] == "TooManyRequests"
        assert throttled.headers["Retry-After"] == "7"
    assert (await graph.get(ROLE_DEFINITIONS)).status == 200


async def test_throttle_can_target_one_method(graph: Graph) -> None:
    graph.twin.throttle(1, method="POST")
    assert (await graph.get(ROLE_DEFINITIONS)).status == 200
    body = activation(graph.uid("adele"), USER_ADMIN)
    token = graph.tokens.user("adele")
    assert (await graph.post(REQUESTS, token=token, json=body)).status == 429
    assert (await graph.post(REQUESTS, token=token, json=body)).status == 201


async def test_outage_answers_the_status_in_graphs_error_format(graph: Graph) -> None:
    graph.twin.outage(1, status=503)
    down = await graph.get(ROLE_DEFINITIONS)
    assert (await error_of(down, 503))["code"] == "serviceNotAvailable"
    assert (await graph.get(ROLE_DEFINITIONS)).status == 200


async def test_batch_answers_each_request_by_id(graph: Graph) -> None:
    adele = graph.tenant.user("adele")
    body = await ok(
        await graph.post(
            "/v1.0/$batch",
            json={
                "requests": [
                    {"id": "a", "method": "GET", "url": f"/users/{adele.id}?$select=displayName"},
                    {"id": "b", "method": "GET", "url": "/users/nobody@contoso.example"},
                    {
                        "id": "c",
                        "method": "GET",
                        "url": f"/roleManagement/directory/roleDefinitions/{EXCHANGE}",
                        "dependsOn": ["b"],
                    },
                ]
            },
        )
    )
    by_id = {r["id"]: r for r in body["responses"]}
    assert by_id["a"]["status"] == 200
    assert by_id["a"]["body"]["displayName"] == "Adele Vance"
    assert by_id["b"]["status"] == 404
    assert by_id["b"]["body"]["error"]["code"] == "Request_ResourceNotFound"
    assert by_id["c"]["status"] == 424


async def test_batch_of_more_than_twenty_is_refused(graph: Graph) -> None:
    requests = [
        {"id": str(i), "method": "GET", "url": "/roleManagement/directory/roleDefinitions"}
        for i in range(21)
    ]
    response = await graph.post("/v1.0/$batch", json={"requests": requests})
    assert (await error_of(response, 400))["code"] == "BadRequest"


async def test_batch_sub_requests_are_throttled_one_by_one(graph: Graph) -> None:
    graph.twin.throttle(1, retry_after=3)
    body = await ok(
        await graph.post(
            "/v1.0/$batch",
            json={
                "requests": [
                    {
                        "id": "1",
                        "method": "GET",
                        "url": "/roleManagement/directory/roleDefinitions",
                    },
                    {
                        "id": "2",
                        "method": "GET",
                        "url": "/roleManagement/directory/roleDefinitions",
                    },
                ]
            },
        )
    )
    first, second = body["responses"]
    assert first["status"] == 429 and first["headers"]["Retry-After"] == "3"
    assert second["status"] == 200


async def test_batch_can_write(graph: Graph) -> None:
    alex = graph.uid("alex")
    body = await ok(
        await graph.post(
            "/v1.0/$batch",
            json={
                "requests": [
                    {
                        "id": "1",
                        "method": "POST",
                        "url": "/roleManagement/directory/roleAssignmentScheduleRequests",
                        "headers": {"Content-Type": "application/json"},
                        "body": activation(alex, EXCHANGE, action="adminAssign"),
                    }
                ]
            },
        )
    )
    assert body["responses"][0]["status"] == 201
    instances = await ok(await graph.get(INSTANCES, params={"$filter": f"principalId eq '{alex}'"}))
    assert len(instances["value"]) == 1
