"""`/metrics`: Prometheus text with what the store holds (requests by state, decisions, active
activations, job lag) and what this process saw of Graph (latency, responses and errors by code)."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bot.metrics import Metrics
from tests.e2e.conftest import Sandbox


async def scrape(sb: Sandbox) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    url = sb.running.bot_url.replace("/api/messages", "/metrics")
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
