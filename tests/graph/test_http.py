"""GraphHttp: retries, token refresh, paging, error mapping, and what it sends."""

import json
import uuid

import httpx
import pytest
import respx

from bot.graph.errors import (
    AcrsValidationFailed,
    ActiveDurationTooShort,
    GraphError,
    GraphUnavailable,
    PendingRoleAssignmentRequest,
    PolicyValidationFailed,
    RoleAssignmentDoesNotExist,
    RoleAssignmentExists,
    Throttled,
)
from tests.graph.fakes import GRAPH, FakeTokens, RecordedSleep, graph_error, graph_http

ROLES = f"{GRAPH}/v1.0/roleManagement/directory/roleDefinitions"
REQUESTS = f"{GRAPH}/v1.0/roleManagement/directory/roleAssignmentScheduleRequests"


@respx.mock
async def test_a_429_is_retried_after_the_seconds_graph_asks_for() -> None:
    route = respx.get(ROLES).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}, json={"error": {"code": "x"}}),
            httpx.Response(200, json={"value": []}),
        ]
    )
    sleep = RecordedSleep()
    async with graph_http(sleep=sleep) as http:
        body = await http.get_json("/roleManagement/directory/roleDefinitions")

    assert body == {"value": []}
    assert sleep.waits == [7.0]
    assert route.call_count == 2


@respx.mock
async def test_503_then_504_back_off_exponentially_then_succeed() -> None:
    respx.get(ROLES).mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(504),
            httpx.Response(200, json={"value": [{"id": "r"}]}),
        ]
    )
    sleep = RecordedSleep()
    async with graph_http(sleep=sleep, jitter=lambda: 1.0) as http:
        body = await http.get_json("/roleManagement/directory/roleDefinitions")

    assert body["value"] == [{"id": "r"}]
    assert sleep.waits == [0.5, 1.0]  # base 0.5 s, doubling (jitter at its maximum)


@respx.mock
async def test_backoff_jitter_keeps_at_least_half_of_each_step() -> None:
    respx.get(ROLES).mock(side_effect=[httpx.Response(503)] * 3 + [httpx.Response(200, json={})])
    sleep = RecordedSleep()
    async with graph_http(sleep=sleep, jitter=lambda: 0.0) as http:
        await http.get_json("/roleManagement/directory/roleDefinitions")

    assert sleep.waits == [0.25, 0.5, 1.0]


@respx.mock
async def test_throttling_beyond_the_retry_budget_raises_throttled_with_retry_after() -> None:
    respx.get(ROLES).mock(
        return_value=httpx.Response(
            429,
            headers={"Retry-After": "4", "request-id": "req-429"},
            json={"error": {"code": "TooManyRequests", "message": "slow down"}},
        )
    )
    sleep = RecordedSleep()
    async with graph_http(sleep=sleep, max_retry_time=10) as http:
        with pytest.raises(Throttled) as caught:
            await http.get_json("/roleManagement/directory/roleDefinitions")

    assert sleep.waits == [4.0, 4.0]  # a third wait would pass the 10 s budget
    assert caught.value.status == 429
    assert caught.value.retry_after == 4.0
    assert caught.value.request_id == "req-429"


@respx.mock
async def test_a_retry_after_longer_than_the_budget_is_not_waited_for() -> None:
    respx.get(ROLES).mock(return_value=httpx.Response(429, headers={"Retry-After": "120"}))
    sleep = RecordedSleep()
    async with graph_http(sleep=sleep, max_retry_time=30) as http:
        with pytest.raises(Throttled) as caught:
            await http.get_json("/roleManagement/directory/roleDefinitions")

    assert sleep.waits == []
    assert caught.value.retry_after == 120.0


@respx.mock
async def test_unavailability_beyond_the_retry_budget_raises_graph_unavailable() -> None:
    route = respx.get(ROLES).mock(return_value=httpx.Response(503))
    sleep = RecordedSleep()
    async with graph_http(sleep=sleep, max_retry_time=2, jitter=lambda: 1.0) as http:
        with pytest.raises(GraphUnavailable) as caught:
            await http.get_json("/roleManagement/directory/roleDefinitions")

    assert caught.value.status == 503
    assert sum(sleep.waits) <= 2
    assert route.call_count == len(sleep.waits) + 1


@respx.mock
async def test_connection_failures_are_retried_even_for_a_post() -> None:
    respx.post(REQUESTS).mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(201, json={"id": "q"})]
    )
    sleep = RecordedSleep()
    async with graph_http(sleep=sleep) as http:
        body, _ = await http.post_json(
            "/roleManagement/directory/roleAssignmentScheduleRequests", {}
        )

    assert body == {"id": "q"}
    assert len(sleep.waits) == 1


@respx.mock
async def test_a_post_that_timed_out_after_sending_is_not_repeated() -> None:
    route = respx.post(REQUESTS).mock(side_effect=httpx.ReadTimeout("slow"))
    async with graph_http() as http:
        with pytest.raises(GraphUnavailable) as caught:
            await http.post_json("/roleManagement/directory/roleAssignmentScheduleRequests", {})

    assert route.call_count == 1
    assert caught.value.code == "Timeout"


@respx.mock
async def test_a_get_that_timed_out_is_retried() -> None:
    route = respx.get(ROLES).mock(
        side_effect=[httpx.ReadTimeout("slow"), httpx.Response(200, json={"value": []})]
    )
    async with graph_http() as http:
        await http.get_json("/roleManagement/directory/roleDefinitions")

    assert route.call_count == 2


@respx.mock
async def test_a_post_refused_with_503_is_retried() -> None:
    route = respx.post(REQUESTS).mock(
        side_effect=[httpx.Response(503), httpx.Response(201, json={"id": "q"})]
    )
    async with graph_http() as http:
        body, _ = await http.post_json(
            "/roleManagement/directory/roleAssignmentScheduleRequests", {}
        )

    assert body == {"id": "q"}
    assert route.call_count == 2


@respx.mock
async def test_a_500_is_not_retried() -> None:
    route = respx.get(ROLES).mock(return_value=graph_error("generalException", status=500))
    async with graph_http() as http:
        with pytest.raises(GraphUnavailable):
            await http.get_json("/roleManagement/directory/roleDefinitions")

    assert route.call_count == 1


@respx.mock
async def test_a_401_refreshes_the_token_once_then_succeeds() -> None:
    route = respx.get(ROLES).mock(
        side_effect=[
            graph_error("InvalidAuthenticationToken", status=401),
            httpx.Response(200, json={"value": []}),
        ]
    )
    tokens = FakeTokens()
    async with graph_http(tokens=tokens) as http:
        await http.get_json("/roleManagement/directory/roleDefinitions")

    assert tokens.invalidations == 1
    sent = [call.request.headers["Authorization"] for call in route.calls]
    assert sent == ["Bearer token-1", "Bearer token-2"]


@respx.mock
async def test_a_second_401_is_an_error() -> None:
    route = respx.get(ROLES).mock(
        return_value=graph_error("InvalidAuthenticationToken", "expired", status=401)
    )
    tokens = FakeTokens()
    async with graph_http(tokens=tokens) as http:
        with pytest.raises(GraphError) as caught:
            await http.get_json("/roleManagement/directory/roleDefinitions")

    assert caught.value.status == 401
    assert tokens.invalidations == 1
    assert route.call_count == 2


@respx.mock
async def test_get_all_follows_next_links_exactly_as_given_across_three_pages() -> None:
    page2 = f"{GRAPH}/v1.0/roleManagement/directory/roleDefinitions?$skiptoken=A%2Fb%3D%3D"
    page3 = f"{GRAPH}/v1.0/roleManagement/directory/roleDefinitions?$skiptoken=C%2Fd%3D%3D"
    seen: list[str] = []

    def pages(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if "skiptoken=A" in str(request.url):
            return httpx.Response(200, json={"value": [{"id": "2"}], "@odata.nextLink": page3})
        if "skiptoken=C" in str(request.url):
            return httpx.Response(200, json={"value": [{"id": "3"}]})
        return httpx.Response(200, json={"value": [{"id": "1"}], "@odata.nextLink": page2})

    respx.get(url__startswith=ROLES).mock(side_effect=pages)
    async with graph_http() as http:
        items = [
            item
            async for item in http.get_all("/roleManagement/directory/roleDefinitions", {"$top": 1})
        ]

    assert [item["id"] for item in items] == ["1", "2", "3"]
    assert seen == [f"{ROLES}?%24top=1", page2, page3]


@respx.mock
async def test_get_all_refuses_a_next_link_to_another_host() -> None:
    respx.get(ROLES).mock(
        return_value=httpx.Response(
            200, json={"value": [{"id": "1"}], "@odata.nextLink": "https://evil.test/v1.0/x"}
        )
    )
    evil = respx.get(url__startswith="https://evil.test").mock(return_value=httpx.Response(200))
    async with graph_http() as http:
        with pytest.raises(GraphError, match="nextLink"):
            _ = [item async for item in http.get_all("/roleManagement/directory/roleDefinitions")]

    assert not evil.called


@pytest.mark.parametrize(
    ("code", "message", "error_class"),
    [
        (
            "RoleAssignmentRequestPolicyValidationFailed",
            'The following policy rules failed: ["MfaRule"]',
            PolicyValidationFailed,
        ),
        (
            "RoleAssignmentRequestAcrsValidationFailed",
            'claims={"access_token":{"acrs":{"essential":true,"value":"c1"}}}',
            AcrsValidationFailed,
        ),
        ("RoleAssignmentExists", "The Role assignment already exists.", RoleAssignmentExists),
        (
            "RoleAssignmentDoesNotExist",
            "The Role assignment does not exist.",
            RoleAssignmentDoesNotExist,
        ),
        (
            "ActiveDurationTooShort",
            "The Active duration is too short. Miniumum Required is 5 minutes.",
            ActiveDurationTooShort,
        ),
        ("PendingRoleAssignmentRequest", "pending", PendingRoleAssignmentRequest),
    ],
)
@respx.mock
async def test_each_pim_error_code_raises_its_own_class(
    code: str, message: str, error_class: type[GraphError]
) -> None:
    route = respx.post(REQUESTS).mock(return_value=graph_error(code, message))
    async with graph_http() as http:
        with pytest.raises(error_class) as caught:
            await http.post_json("/roleManagement/directory/roleAssignmentScheduleRequests", {})

    assert caught.value.code == code
    assert caught.value.message == message
    assert caught.value.request_id == "r-1"
    assert route.call_count == 1  # a refusal is final


@respx.mock
async def test_policy_validation_failures_name_the_broken_rules() -> None:
    respx.post(REQUESTS).mock(
        return_value=graph_error(
            "RoleAssignmentRequestPolicyValidationFailed",
            'The following policy rules failed: ["MfaRule","TicketingRule"]',
        )
    )
    async with graph_http() as http:
        with pytest.raises(PolicyValidationFailed) as caught:
            await http.post_json("/roleManagement/directory/roleAssignmentScheduleRequests", {})

    assert caught.value.rules == ["MfaRule", "TicketingRule"]


@respx.mock
async def test_an_error_without_a_json_body_still_raises_a_graph_error() -> None:
    respx.get(ROLES).mock(return_value=httpx.Response(403, text="<html>denied</html>"))
    async with graph_http() as http:
        with pytest.raises(GraphError) as caught:
            await http.get_json("/roleManagement/directory/roleDefinitions")

    assert caught.value.status == 403


@respx.mock
async def test_every_request_carries_a_fresh_client_request_id_and_the_bearer_token() -> None:
    route = respx.get(ROLES).mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json={"value": []})]
    )
    async with graph_http() as http:
        await http.get_json("/roleManagement/directory/roleDefinitions")

    ids = [call.request.headers["client-request-id"] for call in route.calls]
    assert len(set(ids)) == 2
    assert all(uuid.UUID(value).version == 4 for value in ids)
    assert route.calls[0].request.headers["Authorization"] == "Bearer token-1"


@respx.mock
async def test_versions_and_bodies_reach_the_right_urls() -> None:
    patch = respx.patch(f"{GRAPH}/beta/things/1").mock(return_value=httpx.Response(204))
    delete = respx.delete(f"{GRAPH}/v1.0/things/2").mock(return_value=httpx.Response(204))
    async with graph_http() as http:
        assert await http.patch_json("/things/1", {"a": 1}, version="beta") == {}
        await http.delete("/things/2")

    assert json.loads(patch.calls[0].request.content) == {"a": 1}
    assert delete.called


@respx.mock
async def test_the_token_never_appears_in_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    respx.get(url__startswith=ROLES).mock(
        return_value=httpx.Response(200, headers={"request-id": "rid-7"}, json={"value": []})
    )
    async with graph_http() as http:
        await http.get_json("/roleManagement/directory/roleDefinitions", {"$filter": "x"})

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "rid-7" in logged
    assert "GET /v1.0/roleManagement/directory/roleDefinitions -> 200" in logged
    assert "token-1" not in logged
