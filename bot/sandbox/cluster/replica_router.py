"""A tiny reverse proxy in front of several pimbot replicas, as Azure Bot Service puts a load
balancer in front of them: the Teams twin posts to it, it forwards to one bot by sender (so a test
can send two approvers' taps to two different processes) or round robin."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence

import aiohttp
from aiohttp import web

FORWARDED_HEADERS = ("Authorization", "Content-Type")


class ReplicaRouter:
    def __init__(self, backends: Sequence[str]) -> None:
        self.backends = list(backends)  # base URLs, e.g. http://127.0.0.1:1234
        self.by_sender: dict[str, int] = {}  # Entra object id -> backend index
        self.by_invoke: dict[str, int] = {}  # invoke name -> backend index (before by_sender)
        self.forwarded: list[tuple[str, int]] = []  # (sender, backend index) per activity
        self._turns = itertools.count()
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post("/api/messages", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[-1][1]}/api/messages"
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))
        return self.url

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def _pick(self, sender: str, invoke: str) -> int:
        if invoke in self.by_invoke:
            return self.by_invoke[invoke] % len(self.backends)
        if sender in self.by_sender:
            return self.by_sender[sender] % len(self.backends)
        return next(self._turns) % len(self.backends)

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        body = await request.read()
        try:
            activity = json.loads(body)
            sender = str(activity.get("from", {}).get("aadObjectId", ""))
            invoke = str(activity.get("name", "")) if activity.get("type") == "invoke" else ""
        except (ValueError, AttributeError):
            sender, invoke = "", ""
        index = self._pick(sender, invoke)
        self.forwarded.append((sender, index))
        headers = {k: v for k, v in request.headers.items() if k in FORWARDED_HEADERS}
        try:
            async with self._session.post(
                self.backends[index] + "/api/messages", data=body, headers=headers
            ) as answer:
                return web.Response(
                    status=answer.status,
                    body=await answer.read(),
                    content_type=answer.content_type,
                )
        except aiohttp.ClientError:
            return web.Response(status=502, text="pimbot replica unreachable")
