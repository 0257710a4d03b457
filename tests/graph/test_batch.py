"""Several reads in one `$batch` (bot.graph.batch), against the Graph twin over loopback: one
round trip, each sub-request's own status, a throttled one sent again after its Retry-After, at
most 20 per batch, further pages read one by one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from bot.graph.batch import CollectionRead, get_collections, sub_request_url
from bot.graph.errors import GraphError, Throttled
from bot.graph.http import GraphHttp
from bot.graph.tokens import AppTokenProvider
from bot.sandbox.entra import GRAPH_RESOURCE, EntraTwin
from bot.sandbox.graph import GraphTwin
from bot.sandbox.tenant import DemoTenant, load_tenant
from tests.graph.fakes import RecordedSleep
from tests.graph.test_against_twins import serve

ROLE_DEFINITIONS = "/roleManagement/directory/roleDefinitions"
ELIGIBILITY = "/roleManagement/directory/roleEligibilityScheduleInstances"


@dataclass
class Batching:
    tenant: DemoTenant
    graph: GraphTwin
    http: GraphHttp
    sleep: RecordedSleep

    def calls(self) -> list[str]:
        return [f"{c.method} {c.path} {c.status}" for c in self.graph.calls]


async def batching(page_size: int, max_retry_time: float = 30.0) -> AsyncIterator[Batching]:
    tenant = load_tenant()
    entra = EntraTwin(tenant)
    graph = GraphTwin(
        tenant,
        verify_token=lambda token: entra.verify(token, GRAPH_RESOURCE),
        page_size=page_size,
    )
    async with serve(entra.app) as login_url, serve(graph.app) as graph_url:
        entra.base_url = login_url
        app = tenant.pimbot_app
        tokens = AppTokenProvider(app.client_id, app.client_secret, tenant.tenant_id, login_url)
        sleep = RecordedSleep()
        http = GraphHttp(graph_url, tokens, sleep=sleep, max_retry_time=max_retry_time)
        try:
            await tokens.token()
            yield Batching(tenant, graph, http, sleep)
        finally:
            await http.aclose()


@pytest.fixture
async def twin() -> AsyncIterator[Batching]:
    async for started in batching(page_size=100):
        yield started


@pytest.fixture
async def small_pages() -> AsyncIterator[Batching]:
    async for started in batching(page_size=2):
        yield started


def eligibility_of(twin: Batching, handle: str) -> CollectionRead:
    principal = twin.tenant.user(handle).id
    return CollectionRead(
        ELIGIBILITY, {"$filter": f"principalId eq '{principal}'", "$expand": "roleDefinition"}
    )


async def alone(http: GraphHttp, read: CollectionRead) -> list[dict[str, object]]:
    return [item async for item in http.get_all(read.path, read.params)]


async def test_reads_travel_in_one_batch_and_come_back_in_order(twin: Batching) -> None:
    reads = [eligibility_of(twin, h) for h in ("adele", "megan", "alex")]
    expected = [await alone(twin.http, read) for read in reads]
    twin.graph.calls.clear()

    results = await get_collections(twin.http, reads)

    assert results == expected
    assert any(results)
    # The twin records a batch's sub-requests, then the batch.
    assert twin.calls() == [f"GET /v1.0{ELIGIBILITY} 200"] * 3 + ["POST /v1.0/$batch 200"]


async def test_one_read_alone_is_a_plain_get(twin: Batching) -> None:
    results = await get_collections(twin.http, [eligibility_of(twin, "adele")])

    assert results[0] and not isinstance(results[0], GraphError)
    assert twin.calls() == [f"GET /v1.0{ELIGIBILITY} 200"]


async def test_each_read_has_its_own_outcome(twin: Batching) -> None:
    reads = [
        eligibility_of(twin, "adele"),
        CollectionRead("/users/nobody@contoso.example/transitiveMemberOf", {"$top": 999}),
    ]

    found, missing = await get_collections(twin.http, reads)

    assert isinstance(found, list) and found
    assert isinstance(missing, GraphError) and missing.status == 404
    assert missing.code == "Request_ResourceNotFound"


async def test_a_throttled_read_is_sent_again_after_its_retry_after_alone(twin: Batching) -> None:
    reads = [eligibility_of(twin, "adele"), eligibility_of(twin, "megan")]
    expected = [await alone(twin.http, read) for read in reads]
    twin.graph.calls.clear()
    twin.graph.throttle(1, retry_after=3, method="GET")

    results = await get_collections(twin.http, reads)

    assert results == expected
    assert twin.sleep.waits == [3]
    assert twin.calls() == [
        f"GET /v1.0{ELIGIBILITY} 429",
        f"GET /v1.0{ELIGIBILITY} 200",
        "POST /v1.0/$batch 200",
        f"GET /v1.0{ELIGIBILITY} 200",
        "POST /v1.0/$batch 200",  # the second batch carries the throttled read only
    ]
    second_batch = twin.graph.calls[4].json["requests"]
    assert [r["url"] for r in second_batch] == [sub_request_url(reads[0])]


async def test_a_read_throttled_past_the_retry_budget_ends_throttled() -> None:
    async for twin in batching(page_size=100, max_retry_time=5):
        reads = [eligibility_of(twin, "adele"), eligibility_of(twin, "megan")]
        twin.graph.throttle(5, retry_after=2, method="GET")

        first, second = await get_collections(twin.http, reads)

        # Both throttled twice (waits of 2 s and 2 s, within 5 s); the third batch throttles
        # the first read once more, and a third wait would pass the budget: it is given up.
        assert twin.sleep.waits == [2, 2]
        assert isinstance(first, Throttled) and first.retry_after == 2
        assert isinstance(second, list) and second
        assert [len(c.json["requests"]) for c in twin.graph.calls if c.method == "POST"] == [
            2,
            2,
            2,
        ]


async def test_more_than_twenty_reads_go_in_batches_of_twenty(twin: Batching) -> None:
    handles = ["adele", "megan", "alex", "nestor", "lidia"]
    reads = [eligibility_of(twin, handles[i % len(handles)]) for i in range(25)]

    results = await get_collections(twin.http, reads)

    batches = [c for c in twin.graph.calls if c.path == "/v1.0/$batch"]
    assert [len(c.json["requests"]) for c in batches] == [20, 5]
    assert all(c.status == 200 for c in twin.graph.calls)
    assert results[0] == results[5] == results[20]


async def test_further_pages_are_read_after_the_batch(small_pages: Batching) -> None:
    reads = [
        CollectionRead(ROLE_DEFINITIONS, {"$select": "id,displayName"}),
        eligibility_of(small_pages, "adele"),
    ]
    expected = [await alone(small_pages.http, read) for read in reads]
    small_pages.graph.calls.clear()

    results = await get_collections(small_pages.http, reads)

    assert results == expected
    assert len(expected[0]) > 2  # more than one page
    calls = small_pages.calls()
    assert calls[2] == "POST /v1.0/$batch 200"  # after its two sub-requests
    assert calls.count("POST /v1.0/$batch 200") == 1
    assert calls.count(f"GET /v1.0{ROLE_DEFINITIONS} 200") == 1 + (len(expected[0]) - 1) // 2


def test_the_sub_request_url_keeps_odata_readable_and_escapes_the_rest() -> None:
    read = CollectionRead(ELIGIBILITY, {"$filter": "principalId eq 'a&b'", "$top": 5})

    assert sub_request_url(read) == f"{ELIGIBILITY}?$filter=principalId%20eq%20'a%26b'&$top=5"
