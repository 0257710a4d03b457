"""`pimbot sandbox`: the bot plus its Graph, Entra and Teams stand-ins, all on loopback.

The twins run in a thread with their own event loop (botbuilder fetches the channel's OpenID
metadata with blocking calls on the bot's loop; a twin on that loop would deadlock), the bot runs
on the main loop exactly as `pimbot serve` does, pointed at the twins by its ordinary settings.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from bot.app import Services, build_services, create_app
from bot.sandbox.tenant import DemoTenant, load_tenant
from bot.sandbox.twins import PortInUse, TwinPorts, Twins
from bot.settings import Settings

DEFAULT_BOT_PORT = 3978
# The twins sit 1002-1004 above the bot: 4980-4982 for the default 3978, and a second sandbox
# on `--port 5000` gets 6002-6004, so one number chooses all four.
TWIN_PORT_OFFSET = 1002


def sandbox_ports(bot_port: int) -> TwinPorts:
    """The twins' ports for a sandbox whose bot listens on `bot_port`."""
    first = bot_port + TWIN_PORT_OFFSET
    return TwinPorts(graph=first, login=first + 1, teams=first + 2)


def teams_twin_url(bot_port: int) -> str:
    """Where `pimbot chat` finds the Teams twin of the sandbox started with `--port bot_port`."""
    return f"http://127.0.0.1:{sandbox_ports(bot_port).teams}"


def port_in_use_advice(busy: PortInUse, bot_port: int) -> str:
    """What to tell a person whose sandbox could not start: which port, and how to choose others."""
    other = free_sandbox_port(bot_port + 10)
    twins = sandbox_ports(other)
    return (
        f"pimbot sandbox cannot start: port {busy.port} ({busy.what}) is already in use, "
        "perhaps by another pimbot sandbox.\n"
        f"Stop whatever uses it, or choose other ports: `pimbot sandbox --port {other}` puts the "
        f"bot on {other} and the twins on {twins.graph}-{twins.teams} (free now); then chat with "
        f"`pimbot chat --as adele --port {other}`."
    )


def free_sandbox_port(start: int) -> int:
    """The first bot port from `start` (in steps of 10) whose four sandbox ports are free now."""
    candidate = start
    for _ in range(50):
        if candidate + TWIN_PORT_OFFSET + 2 > 65535:
            candidate = 3000
        twins = sandbox_ports(candidate)
        if all(_is_free(p) for p in (candidate, twins.graph, twins.login, twins.teams)):
            return candidate
        candidate += 10
    return candidate


def _is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class RunningSandbox:
    twins: Twins
    services: Services
    bot_url: str
    settings: Settings


def bind(host: str, port: int) -> socket.socket:
    """Bind first, so the Teams twin can be told the bot's address before the bot starts."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse("the bot", port) from exc
        raise
    sock.listen(128)
    sock.setblocking(False)
    return sock


def sandbox_settings(twins: Twins, *, database_url: str, **overrides: object) -> Settings:
    """The bot's settings for the sandbox: the same names an operator sets for Azure."""
    env = {**twins.bot_environment()}
    values: dict[str, object] = {
        "app_id": env.get("MicrosoftAppId", ""),
        "app_password": env.get("MicrosoftAppPassword", ""),
        "app_type": env.get("MicrosoftAppType", "SingleTenant"),
        "app_tenant_id": env.get("MicrosoftAppTenantId", ""),
        "allow_anonymous": env.get("PIMBOT_ALLOW_ANONYMOUS", "false"),
        "tenant_id": env["PIMBOT_TENANT_ID"],
        "graph_client_id": env.get("PIMBOT_GRAPH_CLIENT_ID", ""),
        "graph_client_secret": env.get("PIMBOT_GRAPH_CLIENT_SECRET", ""),
        "graph_url": env["PIMBOT_GRAPH_URL"],
        "login_url": env["PIMBOT_LOGIN_URL"],
        "botframework_openid_url": env["PIMBOT_BOTFRAMEWORK_OPENID_URL"],
        "token_service_url": env["PIMBOT_TOKEN_SERVICE_URL"],
        "teams_catalog_app_id": env.get("PIMBOT_TEAMS_CATALOG_APP_ID", ""),
        "admin_group_id": env.get("PIMBOT_ADMIN_GROUP_ID", ""),
        "break_glass_ids": env.get("PIMBOT_BREAK_GLASS_IDS", ""),
        "database_url": database_url,
        "host": "127.0.0.1",
        "metrics_port": 0,  # any free port: several sandboxes (and test runs) side by side
    }
    values.update(overrides)
    # model_validate, not Settings(): the sandbox must not pick up a .env meant for Azure.
    return Settings.model_validate(values)


@asynccontextmanager
async def serve_bot(
    settings: Settings,
    sock: socket.socket,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    run_scheduler: bool = True,
) -> AsyncIterator[Services]:
    """The bot, exactly as `pimbot serve` runs it, on an already bound socket."""
    services = await build_services(settings, now=now, run_scheduler=run_scheduler)
    runner = web.AppRunner(create_app(services), access_log=None)
    try:
        await runner.setup()
        await web.SockSite(runner, sock).start()
        yield services
    finally:
        await runner.cleanup()


@asynccontextmanager
async def sandbox(
    *,
    tenant: DemoTenant | None = None,
    port: int = 0,
    twin_ports: TwinPorts = TwinPorts(graph=0, login=0, teams=0),
    database_url: str,
    state_dir: Path | None = None,
    anonymous: bool = False,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    run_scheduler: bool = True,
    graph_page_size: int = 100,
    require_install: bool = False,
    managed_identity: str = "",
    **settings_overrides: object,
) -> AsyncIterator[RunningSandbox]:
    """Twins + bot, started and stopped together. Used by `pimbot sandbox` and by the tests.

    `managed_identity` (a client id of the tenant's `managed_identities`) gives the bot the
    identity endpoint as Container Apps would (IDENTITY_ENDPOINT, IDENTITY_HEADER)."""
    tenant = tenant or load_tenant()
    sock = bind("127.0.0.1", port)
    bot_url = f"http://127.0.0.1:{sock.getsockname()[1]}/api/messages"
    twins = Twins(
        tenant,
        bot_url=bot_url,
        anonymous=anonymous,
        ports=twin_ports,
        state_dir=state_dir,
        now=now,
        graph_page_size=graph_page_size,
        require_install=require_install,
    )
    try:
        twins.start()
    except BaseException:
        sock.close()
        raise
    try:
        if managed_identity:
            endpoint = twins.entra.identity_endpoint
            settings_overrides = {
                "identity_endpoint": endpoint.url,
                "identity_header": endpoint.header,
                "managed_identity_client_id": managed_identity,
                **settings_overrides,
            }
        settings = sandbox_settings(twins, database_url=database_url, **settings_overrides)
        async with serve_bot(settings, sock, now=now, run_scheduler=run_scheduler) as services:
            yield RunningSandbox(twins=twins, services=services, bot_url=bot_url, settings=settings)
    finally:
        sock.close()
        twins.stop()


async def run_sandbox(
    *, port: int, state_dir: Path, anonymous: bool = False, engine: str = "bot"
) -> None:
    """What `make sandbox` runs: the bot on `port`, the twins next to it (`sandbox_ports`), state
    under ./var/, until Ctrl-C."""
    tenant = load_tenant()
    await asyncio.to_thread(state_dir.mkdir, parents=True, exist_ok=True)
    database_url = f"sqlite:///{(state_dir / 'pimbot.db').resolve()}"
    async with sandbox(
        tenant=tenant,
        port=port,
        twin_ports=sandbox_ports(port),
        database_url=database_url,
        state_dir=state_dir,
        anonymous=anonymous,
        engine=engine,
    ) as running:
        print(banner(running, tenant, state_dir, port=port), flush=True)
        await asyncio.Event().wait()


def banner(
    running: RunningSandbox, tenant: DemoTenant, state_dir: Path, *, port: int = DEFAULT_BOT_PORT
) -> str:
    twins = running.twins
    # The chat finds this sandbox's Teams twin from the same --port it was started with.
    chat_port = "" if port == DEFAULT_BOT_PORT else f" --port {port}"
    users = ", ".join(u.handle for u in tenant.users if not u.break_glass)
    return "\n".join(
        [
            "",
            f"pimbot sandbox is running for {tenant.display_name} ({tenant.domain})",
            f"  bot            {running.bot_url}",
            f"  Graph twin     {twins.graph_url}",
            f"  Entra twin     {twins.login_url}",
            f"  Teams twin     {twins.service_url}  (web chat)",
            f"  metrics        {running.services.metrics_server.url}/metrics"
            if running.services.metrics_server
            else "",
            f"  state          {state_dir}/",
            "",
            f"Open {twins.service_url} in a browser to chat with pimbot as any demo user, as in",
            "Teams (several people side by side). Or talk to it from another terminal:",
            f"  .venv/bin/pimbot chat --as adele{chat_port}        "
            "(requester: try `activate Exchange Admin`)",
            f"  .venv/bin/pimbot chat --as megan{chat_port}        "
            "(approver, and an admin: try `standing`)",
            f"Demo users: {users}",
            "Press Ctrl-C to stop.",
        ]
    )
