"""Graph, Entra and Teams twins on loopback, in one background thread with its own event loop.

Why a thread: botbuilder fetches the channel's OpenID metadata with blocking `requests` calls on
the bot's event loop; a twin served by that same loop could never answer. Twin
state is only touched from the twins' loop; other threads go through `call()` / `acall()`.
"""

from __future__ import annotations

import asyncio
import errno
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from aiohttp import web

from bot.sandbox.entra import GRAPH_RESOURCE, EntraTwin, utc_now
from bot.sandbox.graph import GraphTwin
from bot.sandbox.teams import TeamsTwin
from bot.sandbox.tenant import DemoTenant

T = TypeVar("T")
GRAPH_STATE_FILE = "graph-twin.json"


@dataclass(frozen=True)
class TwinPorts:
    graph: int = 0
    login: int = 0
    teams: int = 0


class PortInUse(Exception):
    """A port the sandbox needs is taken (another sandbox, or anything else)."""

    def __init__(self, what: str, port: int) -> None:
        super().__init__(f"port {port} ({what}) is already in use")
        self.what = what
        self.port = port


class Twins:
    def __init__(
        self,
        tenant: DemoTenant,
        *,
        bot_url: str,
        anonymous: bool = False,
        host: str = "127.0.0.1",
        ports: TwinPorts = TwinPorts(graph=0, login=0, teams=0),
        state_dir: Path | None = None,
        now: Callable[[], datetime] = utc_now,
        graph_page_size: int = 100,
        require_install: bool = False,
    ) -> None:
        self.tenant = tenant
        self.anonymous = anonymous
        self.host = host
        self.ports = ports
        app = tenant.pimbot_app
        # `now` is PIM's clock (schedules start and end by it; tests move it by hand). Tokens keep
        # to the wall clock, as every relying party (botbuilder, PyJWT) checks them against it.
        self.entra = EntraTwin(tenant)
        self.graph = GraphTwin(
            tenant,
            verify_token=lambda token: self.entra.verify(token, GRAPH_RESOURCE),
            now=now,
            page_size=graph_page_size,
            state_path=state_dir / GRAPH_STATE_FILE if state_dir else None,
        )
        self.teams = TeamsTwin(
            tenant,
            bot_url=bot_url,
            app_id=None if anonymous else app.client_id,
            entra=self.entra,
            require_install=require_install,
        )
        # Installing the app through Graph installs it in Teams (which tells the bot).
        self.graph.teamwork.host = self.teams
        self.graph_url = self.login_url = self.service_url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runners: list[web.AppRunner] = []

    @property
    def botframework_openid_url(self) -> str:
        return self.teams.openid_url

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Bind and serve all three twins; returns once they accept connections."""
        if self._thread is not None:
            raise RuntimeError("the twins are already running")
        loop = asyncio.new_event_loop()
        started = threading.Event()
        self._loop = loop
        self._thread = threading.Thread(
            target=self._run_loop, args=(loop, started), name="pimbot-twins", daemon=True
        )
        self._thread.start()
        started.wait()
        try:
            self.call(self._serve)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result()
            loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
        self._loop = self._thread = None

    def __enter__(self) -> Twins:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- crossing threads ------------------------------------------------------------------

    def call(self, function: Callable[[], Awaitable[T]]) -> T:
        """Run `function()` on the twins' loop and wait for its result (from another thread)."""
        loop = self._running()
        return asyncio.run_coroutine_threadsafe(self._awaited(function), loop).result()

    async def acall(self, function: Callable[[], Awaitable[T]]) -> T:
        """The same, awaited from another event loop without blocking it."""
        loop = self._running()
        future = asyncio.run_coroutine_threadsafe(self._awaited(function), loop)
        return await asyncio.wrap_future(future)

    def bot_environment(self) -> dict[str, str]:
        """The settings that point a pimbot process at these twins (names as Azure sets them)."""
        app = self.tenant.pimbot_app
        return {
            "MicrosoftAppId": "" if self.anonymous else app.client_id,
            "MicrosoftAppPassword": "" if self.anonymous else app.client_secret,
            "MicrosoftAppType": "SingleTenant",
            "MicrosoftAppTenantId": self.tenant.tenant_id,
            "PIMBOT_ALLOW_ANONYMOUS": "true" if self.anonymous else "false",
            "PIMBOT_TENANT_ID": self.tenant.tenant_id,
            "PIMBOT_GRAPH_CLIENT_ID": app.client_id,
            "PIMBOT_GRAPH_CLIENT_SECRET": app.client_secret,
            "PIMBOT_GRAPH_URL": self.graph_url,
            "PIMBOT_LOGIN_URL": self.login_url,
            "PIMBOT_BOTFRAMEWORK_OPENID_URL": self.botframework_openid_url,
            "PIMBOT_TOKEN_SERVICE_URL": self.service_url.rstrip("/"),
            "PIMBOT_TEAMS_CATALOG_APP_ID": self.graph.teamwork.catalog_app_id,
            "PIMBOT_ADMIN_GROUP_ID": (
                self.tenant.group(self.tenant.admin_group).id if self.tenant.admin_group else ""
            ),
            "PIMBOT_BREAK_GLASS_IDS": ",".join(u.id for u in self.tenant.users if u.break_glass),
        }

    # -- on the twins' loop ----------------------------------------------------------------

    @staticmethod
    def _run_loop(loop: asyncio.AbstractEventLoop, started: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(started.set)
        loop.run_forever()

    def _running(self) -> asyncio.AbstractEventLoop:
        if self._loop is None or not self._loop.is_running():
            raise RuntimeError("the twins are not running; call start() first")
        return self._loop

    @staticmethod
    async def _awaited(function: Callable[[], Awaitable[T]]) -> T:
        return await function()

    async def _serve(self) -> None:
        self.graph_url = await self._bind(self.graph.app, self.ports.graph, "the Graph twin")
        self.login_url = await self._bind(self.entra.app, self.ports.login, "the Entra twin")
        self.entra.base_url = self.login_url
        teams_url = await self._bind(self.teams.app, self.ports.teams, "the Teams twin")
        self.teams.service_url = teams_url
        self.service_url = self.teams.service_url

    async def _bind(self, app: web.Application, port: int, what: str) -> str:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        self._runners.append(runner)
        site = web.TCPSite(runner, self.host, port)
        try:
            await site.start()
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(what, port) from exc
            raise
        bound_port = runner.addresses[-1][1]
        return f"http://{self.host}:{bound_port}"

    async def _shutdown(self) -> None:
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
