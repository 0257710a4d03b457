"""`/metrics` in the Prometheus text format, with a registry per app instance.

Two kinds of figures:
- what this process saw: Graph calls (latency by method, responses by status code, errors by
  status code), counted as they happen through `GraphHttp`'s observer;
- what the store holds, read when scraped (so every replica reports the same truth and nothing
  is lost in a restart): requests by state, decisions by outcome, active activations, and the
  lag of the oldest due job (`JobQueue.oldest_due_lag`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from bot.domain import RequestState
from bot.store import Database

logger = logging.getLogger(__name__)

GRAPH_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
NO_RESPONSE = "none"


class Metrics:
    """Every metric pimbot exports, in its own `CollectorRegistry` (never the global one, so
    that many apps can live in one process, as in the tests)."""

    def __init__(self, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.now = now  # the clock jobs are due by
        self.registry = CollectorRegistry(auto_describe=True)
        self.graph_seconds = Histogram(
            "pimbot_graph_request_duration_seconds",
            "Time for one Graph HTTP request (each retry counts on its own).",
            ["method"],
            buckets=GRAPH_BUCKETS,
            registry=self.registry,
        )
        self.graph_responses = Counter(
            "pimbot_graph_responses",
            "Graph HTTP responses by method and status code ('none': no response arrived).",
            ["method", "status"],
            registry=self.registry,
        )
        self.graph_errors = Counter(
            "pimbot_graph_errors",
            "Graph HTTP requests that failed, by status code ('none': no response arrived).",
            ["status"],
            registry=self.registry,
        )
        self.requests = Gauge(
            "pimbot_requests",
            "Activation requests in the store, by state.",
            ["state"],
            registry=self.registry,
        )
        self.decisions = Gauge(
            "pimbot_decisions",
            "Approver decisions in the store, by outcome (approved, denied).",
            ["outcome"],
            registry=self.registry,
        )
        self.active = Gauge(
            "pimbot_active_activations",
            "Requests whose role is active now.",
            registry=self.registry,
        )
        self.job_lag = Gauge(
            "pimbot_job_lag_seconds",
            "How long the oldest due job has waited to run (0 when none is due).",
            registry=self.registry,
        )
        self.store_up = Gauge(
            "pimbot_store_up",
            "1 when the store answered the last scrape, 0 when it did not.",
            registry=self.registry,
        )

    # --- the Graph observer -------------------------------------------------------------------

    def observe_graph(self, method: str, status: int | None, seconds: float) -> None:
        """Called by `GraphHttp` after every attempt."""
        code = NO_RESPONSE if status is None else str(status)
        self.graph_seconds.labels(method=method).observe(max(seconds, 0.0))
        self.graph_responses.labels(method=method, status=code).inc()
        if status is None or status >= 400:
            self.graph_errors.labels(status=code).inc()

    # --- the store, at scrape time ------------------------------------------------------------

    async def refresh_from_store(self, db: Database, now: datetime) -> None:
        try:
            async with db.transaction() as tx:
                by_state = await tx.requests.count_by_state()
                decisions = await tx.requests.count_decisions()
                lag = await tx.jobs.oldest_due_lag(now)
        except Exception as error:  # the figures stay as last read; the scrape still answers
            logger.warning("metrics: cannot read the store: %s", type(error).__name__)
            self.store_up.set(0)
            return
        self.store_up.set(1)
        for state in RequestState:
            self.requests.labels(state=state.value).set(by_state.get(state, 0))
        for outcome in ("approved", "denied"):
            self.decisions.labels(outcome=outcome).set(decisions.get(outcome, 0))
        self.active.set(by_state.get(RequestState.ACTIVE, 0))
        self.job_lag.set(0.0 if lag is None else max(lag.total_seconds(), 0.0))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def metrics_handler(
    metrics: Metrics, db: Database
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler for `GET /metrics`."""

    async def handle(_: web.Request) -> web.StreamResponse:
        await metrics.refresh_from_store(db, metrics.now())
        response = web.Response(body=metrics.exposition())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    return handle
