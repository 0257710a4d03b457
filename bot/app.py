"""The aiohttp application: `/api/messages`, `/healthz`, `/readyz`, and the wiring behind them
(`/metrics` is served on a port of its own, `PIMBOT_METRICS_PORT`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiohttp import web

from bot.audit_anchor import AuditAnchor
from bot.channel import Channel, build_channel
from bot.client_credentials import (
    ClientCredential,
    CredentialError,
    ManagedIdentity,
    database_password_from,
    graph_credential_from,
)
from bot.domain import Message, Person, SentMessage
from bot.governance.alerts_digest import start_digest
from bot.governance.four_eyes import AsAdmin
from bot.governance.wiring import LateChannel, LateSender, build_admin_front
from bot.graph.admins import GraphAdminDirectory
from bot.graph.alert_fixes import GraphAlertFixes
from bot.graph.alerts import GraphAlerts
from bot.graph.bot_engine import BotEngine
from bot.graph.delegated import DelegatedGraph, DelegatedTokens
from bot.graph.directory import GraphPimDirectory
from bot.graph.http import GraphHttp
from bot.graph.role_holders import GraphRoleSettings
from bot.graph.standing import ADMIN_DELEGATED_SCOPES, GraphStanding
from bot.graph.teams_apps import TeamsAppInstaller
from bot.graph.tokens import AppTokenProvider, ManagedIdentityTokenProvider, TokenProvider
from bot.logging_setup import correlation_middleware
from bot.metrics import Metrics, MetricsServer
from bot.msal_http import LoginHttpClient
from bot.review_wiring import build_reviews
from bot.scheduler import Scheduler
from bot.settings import EngineName, Settings
from bot.sso import SsoValidator
from bot.store import Database
from bot.timefmt import parse_iso_duration
from bot.workflow.context import Deps, WorkflowConfig, utc_now
from bot.workflow.engines.bot import BotFlow
from bot.workflow.engines.pim import PimFlow
from bot.workflow.engines.protocol import WorkflowEngine
from bot.workflow.jobs import JobRunner
from bot.workflow.ports import Messenger
from bot.workflow.service import Workflow

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    db: Database
    tokens: TokenProvider
    graph: GraphHttp
    workflow: Workflow
    channel: Channel
    scheduler: Scheduler
    sso: SsoValidator
    delegated: DelegatedGraph | None = None  # the pim engine's
    metrics: Metrics = field(default_factory=Metrics)
    login: LoginHttpClient | None = None  # every call to the login host goes through it
    metrics_server: MetricsServer | None = None  # `/metrics` on its own port (started by the app)
    audit_anchor: AuditAnchor | None = None  # the audit head, published outside the database
    draining: bool = False  # shutting down: not ready for new traffic

    async def drain(self, grace: float) -> None:
        """Stop taking work and let the running job finish (see `bot/serving.py`)."""
        self.draining = True
        await self.scheduler.drain(grace)

    async def close(self) -> None:
        if self.audit_anchor is not None:
            await self.audit_anchor.stop()
        if self.metrics_server is not None:
            await self.metrics_server.stop()
        await self.scheduler.stop()
        await self.channel.stop()
        if self.delegated is not None:
            await self.delegated.aclose()
        await self.graph.aclose()
        await self.sso.close()
        if self.login is not None:
            self.login.close()
        await self.db.close()


SERVICES = web.AppKey("services", Services)


class _NotYetWired:
    """Stands in for the messenger until the channel exists (they need each other)."""

    async def send(self, person: Person, message: Message) -> SentMessage | None:
        raise RuntimeError("messenger used before the channel was built")

    async def update(self, sent: SentMessage, message: Message) -> bool:
        raise RuntimeError("messenger used before the channel was built")


def graph_token_provider(
    settings: Settings,
    credential: ClientCredential | ManagedIdentity,
    login: LoginHttpClient | None = None,
) -> TokenProvider:
    """App-only Graph tokens: the managed identity's own, or the app registration's via msal."""
    if isinstance(credential, ManagedIdentity):
        log.info("Graph: managed identity %s", credential.client_id)
        return ManagedIdentityTokenProvider(credential)
    provider = AppTokenProvider(
        client_id=settings.effective_graph_client_id,
        credential=credential,
        tenant_id=settings.graph_tenant_id,
        login_url=settings.login_url,
        http_client=login,
    )
    log.info(
        "Graph: app %s with a %s", settings.effective_graph_client_id, provider.credential_kind
    )
    return provider


async def build_services(
    settings: Settings, *, now: Callable[[], datetime] = utc_now, run_scheduler: bool = True
) -> Services:
    settings.inbound_mode()  # refuses anonymous where it is not allowed, before anything starts
    tenant = settings.graph_tenant_id
    credential = graph_credential_from(settings)  # a bad credential setting stops the start-up
    if settings.engine is EngineName.PIM and isinstance(credential, ManagedIdentity):
        raise CredentialError(
            "PIMBOT_ENGINE=pim exchanges tokens on-behalf-of people, which needs an app "
            "registration: use a certificate, a secret or federated_identity for Graph"
        )
    db = await Database.connect(settings.database_url, password=database_password_from(settings))
    await db.migrate()
    # One client, one mapping for the login host: app tokens, on-behalf-of and SSO signing keys.
    login = LoginHttpClient(settings.login_url)
    tokens = graph_token_provider(settings, credential, login)
    metrics = Metrics(now=now, store_cache_seconds=settings.metrics_cache_seconds)
    graph = GraphHttp(
        settings.graph_url,
        tokens,
        max_retry_time=settings.graph_max_retry_seconds,
        observer=metrics.observe_graph,
    )
    sso = SsoValidator(
        login_url=settings.login_url, tenant_id=tenant, app_id=settings.app_id, login=login
    )
    placeholder: Messenger = _NotYetWired()
    directory = GraphPimDirectory(graph, tenant_id=tenant, now=now)
    deps = Deps(
        db=db,
        directory=directory,
        messenger=placeholder,
        sso=sso,
        config=WorkflowConfig(
            tenant_id=tenant,
            expiry_warning=timedelta(minutes=settings.expiry_warning_minutes),
            sign_in_available=bool(settings.app_id),
        ),
        now=now,
    )
    delegated = None
    engine: WorkflowEngine
    if settings.engine is EngineName.PIM:
        delegated = DelegatedGraph.build(
            app_graph=graph,
            client_id=settings.effective_graph_client_id,
            credential=credential,  # type: ignore[arg-type]  # not a ManagedIdentity (above)
            tenant_id=tenant,
            login_url=settings.login_url,
            login=login,
            now=now,
            max_retry_time=settings.graph_max_retry_seconds,
        )
        engine = PimFlow(
            deps, tokens=delegated.tokens, as_person=delegated.as_person, reads=delegated.reads
        )
    else:
        engine = BotFlow(deps, BotEngine(graph, now=now))
    await engine.start()
    workflow = Workflow(deps, engine)
    runner = JobRunner(deps)
    runner.add_handlers(engine.jobs())
    installer = (
        TeamsAppInstaller(graph, settings.teams_catalog_app_id)
        if settings.teams_catalog_app_id
        else None
    )
    standing = GraphStanding(graph, tenant_id=tenant, now=now)
    as_admin, standing_as, fixes_as = None, None, None
    if delegated is not None:  # the pim engine: admins act with their own delegated tokens
        admin_tokens = DelegatedTokens(
            settings.effective_graph_client_id,
            credential,  # type: ignore[arg-type]  # not a ManagedIdentity (above)
            tenant,
            settings.login_url,
            http_client=login,
            scopes=ADMIN_DELEGATED_SCOPES,
        )
        as_admin = AsAdmin(admin_tokens, sso, LateSender(lambda: deps.messenger))
        as_person = delegated.as_person

        def standing_as(token: str) -> GraphStanding:
            return GraphStanding(as_person.as_person(token), tenant_id=tenant, now=now)

        def fixes_as(token: str) -> GraphAlertFixes:
            return GraphAlertFixes(as_person.as_person(token))

    front = build_admin_front(
        settings,
        db,
        workflow,
        admins=GraphAdminDirectory(graph, tenant_id=tenant),
        standing_reads=standing,
        standing_writes=standing,
        runner=runner,
        now=now,
        as_admin=as_admin,
        standing_writes_as=standing_as,
        role_settings=GraphRoleSettings(graph, directory),
        alerts=GraphAlerts(graph, now=now),
        channel=LateChannel(lambda: channel.messenger),
        alert_fixes=GraphAlertFixes(graph),
        alert_fixes_as=fixes_as,
    )
    if settings.admin_group_id.strip():
        async with db.transaction() as tx:
            every = parse_iso_duration(settings.alerts_every) or timedelta(days=1)
            await start_digest(tx, now(), every)  # the alerts digest, once per database
    reviews, turns = build_reviews(
        settings,
        db,
        front,
        graph=graph,
        directory=deps.directory,
        admins=GraphAdminDirectory(graph, tenant_id=tenant),
        messenger=lambda: deps.messenger,
        runner=runner,
        now=now,
        as_person=delegated.as_person if delegated is not None else None,
        credential=credential if delegated is not None else None,
        login=login,
        sso=sso,
    )
    channel = build_channel(settings, db, turns, installer, login)
    deps.messenger = channel.messenger
    scheduler = Scheduler(
        db,
        runner,
        now=now,
        interval=settings.scheduler_interval_seconds,
        concurrency=settings.scheduler_concurrency if db.dialect == "postgresql" else 1,
    )
    deps.wake_scheduler = scheduler.wake
    await channel.start()
    await reviews.start()
    if run_scheduler:
        scheduler.start()
    metrics_server = MetricsServer(metrics, db, host=settings.host, port=settings.metrics_port)
    audit_anchor = None
    if settings.audit_anchor_minutes > 0:
        audit_anchor = AuditAnchor(db, metrics, interval_seconds=settings.audit_anchor_minutes * 60)
        audit_anchor.start()
    return Services(
        settings,
        db,
        tokens,
        graph,
        workflow,
        channel,
        scheduler,
        sso,
        delegated,
        metrics,
        login=login,
        metrics_server=metrics_server,
        audit_anchor=audit_anchor,
    )


def create_app(services: Services) -> web.Application:
    app = web.Application(client_max_size=256 * 1024, middlewares=[correlation_middleware])
    app[SERVICES] = services
    app.router.add_post("/api/messages", services.channel.handle_messages)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)

    async def start_metrics(_: web.Application) -> None:
        if services.metrics_server is not None:
            await services.metrics_server.start()

    async def close(_: web.Application) -> None:
        await services.close()

    app.on_startup.append(start_metrics)
    app.on_cleanup.append(close)
    return app


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready when the database answers and a Graph token can be had, and not shutting down;
    says whether inbound requests are authenticated or anonymous."""
    services = request.app[SERVICES]
    if services.draining:
        return web.json_response({"ready": False, "draining": True}, status=503)
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
    inbound = services.settings.inbound_mode().value  # authenticated | anonymous
    return web.json_response(
        {"ready": ok, "inbound": inbound, "checks": checks}, status=200 if ok else 503
    )
