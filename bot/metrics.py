"""`/metrics` in the Prometheus text format, with a registry per app instance, served on its own
port (`PIMBOT_METRICS_PORT`, 9464 by default), never on the bot's public port.

Two kinds of figures:
- what this process saw: Graph calls (latency by method, responses by status code, errors by
  status code), counted as they happen through `GraphHttp`'s observer;
- what the store holds, read when scraped (so every replica reports the same truth and nothing
  is lost in a restart): requests by state, decisions by outcome, active activations, and the
  lag of the oldest due job (`JobQueue.oldest_due_lag`). One read serves every scrape for
  `PIMBOT_METRICS_CACHE_SECONDS` (5 s by default), and concurrent scrapes share it, so scraping
  often, or by many collectors, does not load the database.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from bot.domain import RequestState
from bot.store import Database

logger = logging.getLogger(__name__)

GRAPH_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
NO_RESPONSE = "none"


class Metrics:
    """Every metric pimbot exports, in its own `CollectorRegistry` (never the global one, so
    that many apps can live in one process, as in the tests)."""

    def __init__(
        self,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        store_cache_seconds: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.now = now  # the clock jobs are due by
        self._store_cache_seconds = store_cache_seconds
        self._monotonic = monotonic  # the clock the cache ages by
        self._store_read_at: float | None = None
        self._store_lock = asyncio.Lock()
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
        self.audit_anchor = Info(
            "pimbot_audit_anchor",
            "The audit chain's head (entry id and hash), published every few minutes: keep it "
            "and check the log with `pimbot audit verify --anchor HASH`.",
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
        """Read the store's figures unless a read younger than the cache time holds them;
        scrapes that arrive during a read wait for it instead of reading again."""
        async with self._store_lock:
            read_at = self._store_read_at
            if read_at is not None and self._monotonic() - read_at < self._store_cache_seconds:
                return
            if await self._read_store(db, now):
                self._store_read_at = self._monotonic()

    async def _read_store(self, db: Database, now: datetime) -> bool:
        try:
            async with db.transaction() as tx:
                by_state = await tx.requests.count_by_state()
                decisions = await tx.requests.count_decisions()
                lag = await tx.jobs.oldest_due_lag(now)
        except Exception as error:  # the figures stay as last read; the scrape still answers
            logger.warning("metrics: cannot read the store: %s", type(error).__name__)
            self.store_up.set(0)
            return False
        self.store_up.set(1)
        for state in RequestState:
            self.requests.labels(state=state.value).set(by_state.get(state, 0))
        for outcome in ("approved", "denied"):
            self.decisions.labels(outcome=outcome).set(decisions.get(outcome, 0))
        self.active.set(by_state.get(RequestState.ACTIVE, 0))
        self.job_lag.set(0.0 if lag is None else max(lag.total_seconds(), 0.0))
        return True

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


class MetricsServer:
    """`GET /metrics` on its own port, apart from the bot's public one: the ingress exposes only
    the bot's port, so the figures (and the store reads behind them) are not on the internet."""

    def __init__(self, metrics: Metrics, db: Database, *, host: str, port: int) -> None:
        self._metrics = metrics
        self._db = db
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None

    @property
    def port(self) -> int:
        """The bound port (the one asked for, or the one the system chose for 0)."""
        return self._port

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self._host in ("", "0.0.0.0") else self._host  # noqa: S104
        return f"http://{host}:{self._port}"

    async def start(self) -> None:
        if self._runner is not None:
            return
        app = web.Application()
        app.router.add_get("/metrics", metrics_handler(self._metrics, self._db))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self._host, self._port).start()
        except OSError as error:
            await runner.cleanup()
            raise OSError(
                error.errno, f"cannot serve /metrics on port {self._port}: {error.strerror}"
            ) from error
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        logger.info("metrics on port %d (/metrics)", self._port)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
