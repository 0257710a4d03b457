"""The aiohttp application: `/api/messages`, `/healthz`, `/readyz`, and the wiring behind them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web

from bot.channel import Channel, build_channel
from bot.domain import Message, Person, SentMessage
from bot.graph.http import GraphHttp
from bot.graph.pim import BotEngine, GraphPimDirectory
from bot.graph.teams_apps import TeamsAppInstaller
from bot.graph.tokens import AppTokenProvider
from bot.scheduler import Scheduler
from bot.settings import Settings
from bot.sso import SsoValidator
from bot.store import Database
from bot.workflow.context import Deps, WorkflowConfig, utc_now
from bot.workflow.jobs import JobRunner
from bot.workflow.ports import Messenger
from bot.workflow.service import Workflow

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    db: Database
    tokens: AppTokenProvider
    graph: GraphHttp
    workflow: Workflow
    channel: Channel
    scheduler: Scheduler
    sso: SsoValidator

    async def close(self) -> None:
        await self.scheduler.stop()
        await self.channel.stop()
        await self.graph.aclose()
        await self.sso.close()
        await self.db.close()


SERVICES = web.AppKey("services", Services)


class _NotYetWired:
    """Stands in for the messenger until the channel exists (they need each other)."""

    async def send(self, person: Person, message: Message) -> SentMessage | None:
        raise RuntimeError("messenger used before the channel was built")

    async def update(self, sent: SentMessage, message: Message) -> None:
        raise RuntimeError("messenger used before the channel was built")


async def build_services(
    settings: Settings, *, now: Callable[[], datetime] = utc_now, run_scheduler: bool = True
) -> Services:
    db = await Database.connect(settings.database_url)
    await db.migrate()
    tenant = settings.graph_tenant_id
    tokens = AppTokenProvider(
        client_id=settings.effective_graph_client_id,
        client_secret=settings.effective_graph_client_secret.get_secret_value(),
        tenant_id=tenant,
        login_url=settings.login_url,
    )
    graph = GraphHttp(settings.graph_url, tokens, max_retry_time=settings.graph_max_retry_seconds)
    sso = SsoValidator(login_url=settings.login_url, tenant_id=tenant, app_id=settings.app_id)
    placeholder: Messenger = _NotYetWired()
    deps = Deps(
        db=db,
        directory=GraphPimDirectory(graph, tenant_id=tenant, now=now),
        engine=BotEngine(graph, now=now),
        messenger=placeholder,
        sso=sso,
        config=WorkflowConfig(
            tenant_id=tenant,
            expiry_warning=timedelta(minutes=settings.expiry_warning_minutes),
        ),
        now=now,
    )
    workflow = Workflow(deps)
    installer = (
        TeamsAppInstaller(graph, settings.teams_catalog_app_id)
        if settings.teams_catalog_app_id
        else None
    )
    channel = build_channel(settings, db, workflow, installer)
    deps.messenger = channel.messenger
    scheduler = Scheduler(
        db, JobRunner(deps), now=now, interval=settings.scheduler_interval_seconds
    )
    deps.wake_scheduler = scheduler.wake
    await channel.start()
    if run_scheduler:
        scheduler.start()
    return Services(settings, db, tokens, graph, workflow, channel, scheduler, sso)


def create_app(services: Services) -> web.Application:
    app = web.Application(client_max_size=256 * 1024)
    app[SERVICES] = services
    app.router.add_post("/api/messages", services.channel.handle_messages)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)

    async def close(_: web.Application) -> None:
        await services.close()

    app.on_cleanup.append(close)
    return app


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready when the database answers and a Graph token can be had."""
    services = request.app[SERVICES]
    checks: dict[str, str] = {}
    try:
        await services.db.ping()
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    try:
        await services.tokens.token()
        checks["graph_token"] = "ok"
    except Exception as exc:
        checks["graph_token"] = f"unavailable: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return web.json_response({"ready": ok, "checks": checks}, status=200 if ok else 503)
