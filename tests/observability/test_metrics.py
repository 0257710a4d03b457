"""`/metrics`: Prometheus text with what the store holds (requests by state, decisions, active
activations, job lag) and what this process saw of Graph (latency, responses and errors by code)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bot.metrics import Metrics
from bot.settings import Settings
from tests.e2e.conftest import Sandbox


async def scrape(sb: Sandbox) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    url = f"{sb.running.services.metrics_server.url}/metrics"
    assert not url.startswith(sb.running.bot_url.removesuffix("/api/messages"))
    async with httpx.AsyncClient() as http:
        response = await http.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


async def test_an_approved_activation_shows_in_the_figures(sandboxed: Sandbox) -> None:
    adele, megan = sandboxed.person("adele"), sandboxed.person("megan")
    await sandboxed.client.install("adele")
    await adele.say("activate Exchange Admin for 2h because INC-1234 mailbox restore")
    await adele.press("Ask for approval")
    await sandboxed.run_jobs()
    before = await scrape(sandboxed)
    await megan.press("Approve", {"reason": "ok"})
    await sandboxed.run_jobs()

    after = await scrape(sandboxed)

    assert before[("pimbot_requests", (("state", "pending_approval"),))] == 1
    assert before[("pimbot_decisions", (("outcome", "approved"),))] == 0
    assert after[("pimbot_requests", (("state", "pending_approval"),))] == 0
    assert after[("pimbot_requests", (("state", "active"),))] == 1
    assert after[("pimbot_decisions", (("outcome", "approved"),))] == 1
    assert after[("pimbot_active_activations", ())] == 1
    assert after[("pimbot_store_up", ())] == 1
    posts_ok = after[("pimbot_graph_responses_total", (("method", "POST"), ("status", "201")))]
    assert posts_ok >= 1  # the adminAssign
    assert after[("pimbot_graph_request_duration_seconds_count", (("method", "GET"),))] >= 1


async def test_graph_errors_are_counted_by_status_code(sandboxed: Sandbox) -> None:
    adele = sandboxed.person("adele")
    await sandboxed.client.install("adele")
    sandboxed.running.twins.graph.throttle(1, retry_after=0)
    await adele.say("my roles")

    figures = await scrape(sandboxed)

    assert figures[("pimbot_graph_errors_total", (("status", "429"),))] == 1
    assert ("pimbot_graph_errors_total", (("status", "503"),)) not in figures


async def test_job_lag_is_how_long_the_oldest_due_job_has_waited(sandboxed: Sandbox) -> None:
    adele = sandboxed.person("adele")
    await sandboxed.client.install("adele")
    assert (await scrape(sandboxed))[("pimbot_job_lag_seconds", ())] == 0
    await adele.say("activate Exchange Admin for 2h because INC-1234 mailbox restore")
    await adele.press("Ask for approval")  # the approvers' notices are now due, not yet sent

    sandboxed.clock.advance(seconds=90)

    assert (await scrape(sandboxed))[("pimbot_job_lag_seconds", ())] >= 90
    await sandboxed.run_jobs()
    assert (await scrape(sandboxed))[("pimbot_job_lag_seconds", ())] == 0


def test_each_metrics_object_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.observe_graph("GET", 404, 0.01)

    assert first.registry.get_sample_value("pimbot_graph_errors_total", {"status": "404"}) == 1
    assert second.registry.get_sample_value("pimbot_graph_errors_total", {"status": "404"}) is None


def test_a_request_without_response_counts_as_an_error() -> None:
    metrics = Metrics()
    metrics.observe_graph("POST", None, 0.2)
    metrics.observe_graph("GET", 200, 0.1)

    assert metrics.registry.get_sample_value("pimbot_graph_errors_total", {"status": "none"}) == 1
    assert metrics.registry.get_sample_value("pimbot_graph_errors_total", {"status": "200"}) is None


async def test_metrics_are_not_served_on_the_bots_port(sandboxed: Sandbox) -> None:
    async with httpx.AsyncClient() as http:
        on_bot_port = await http.get(sandboxed.running.bot_url.replace("/api/messages", "/metrics"))
        on_own_port = await http.get(f"{sandboxed.running.services.metrics_server.url}/metrics")

    assert on_bot_port.status_code == 404
    assert on_own_port.status_code == 200 and "pimbot_store_up" in on_own_port.text


def test_the_metrics_port_has_a_default_of_its_own() -> None:
    settings = Settings(_env_file=None)
    assert settings.metrics_port == 9464 != settings.port


class CountingStore:
    """Stands in for the database: counts the store reads a scrape makes."""

    def __init__(self) -> None:
        self.reads = 0
        self.gate: asyncio.Event | None = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        self.reads += 1
        if self.gate is not None:
            await self.gate.wait()
        yield self

    # the three queries, on the "transaction"
    @property
    def requests(self) -> Any:
        return self

    @property
    def jobs(self) -> Any:
        return self

    async def count_by_state(self) -> dict[Any, int]:
        return {}

    async def count_decisions(self) -> dict[str, int]:
        return {}

    async def oldest_due_lag(self, now: datetime) -> timedelta | None:
        return None


class Ticks:
    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


async def test_store_figures_are_cached_for_a_few_seconds() -> None:
    store, ticks = CountingStore(), Ticks()
    metrics = Metrics(store_cache_seconds=5.0, monotonic=ticks)
    now = datetime(2030, 1, 1, tzinfo=UTC)

    await metrics.refresh_from_store(store, now)  # type: ignore[arg-type]
    ticks.value += 4.9
    await metrics.refresh_from_store(store, now)  # type: ignore[arg-type]
    assert store.reads == 1

    ticks.value += 0.2
    await metrics.refresh_from_store(store, now)  # type: ignore[arg-type]
    assert store.reads == 2


async def test_concurrent_scrapes_share_one_store_read() -> None:
    store = CountingStore()
    store.gate = asyncio.Event()
    metrics = Metrics(store_cache_seconds=5.0, monotonic=Ticks())
    now = datetime(2030, 1, 1, tzinfo=UTC)

    scrapes = [
        asyncio.create_task(metrics.refresh_from_store(store, now))  # type: ignore[arg-type]
        for _ in range(5)
    ]
    while store.reads == 0:
        await asyncio.sleep(0)
    store.gate.set()
    await asyncio.gather(*scrapes)

    assert store.reads == 1
