"""Twins in this process, pimbot replicas as subprocesses behind a router, one database."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from bot.domain import ActivationRequest, RequestState
from bot.sandbox.cluster.bot_process import BotProcess
from bot.sandbox.cluster.clock import SharedClock
from bot.sandbox.cluster.replica_router import ReplicaRouter
from bot.sandbox.teams.client import SandboxClient
from bot.sandbox.teams.person import Person, actions_of
from bot.sandbox.tenant import DEFAULT_TENANT_PATH, DemoTenant
from bot.sandbox.twins import Twins
from bot.store import Database

ASSIGNMENT_REQUESTS = "/v1.0/roleManagement/directory/roleAssignmentScheduleRequests"
EXCHANGE_ADMIN = "29232cdf-9323-42fd-ade2-1d097af3e4de"
SHAREPOINT_ADMIN = "f28a1f50-f6e7-4571-818b-6a12f2af6b6c"
WAIT_SECONDS = 60.0


def crowd_tenant(requesters: int) -> DemoTenant:
    """The demo tenant plus `requesters` people eligible for Exchange and SharePoint
    Administrator (both approved by Megan or Nestor: many requests that need a decision) and for
    User Administrator (no approval)."""
    data = yaml.safe_load(DEFAULT_TENANT_PATH.read_text(encoding="utf-8"))
    for n in range(1, requesters + 1):
        handle = f"req{n:02d}"
        data["users"].append(
            {
                "handle": handle,
                "id": f"00000000-0000-4000-8000-{n:012d}",
                "display_name": f"Requester {n:02d}",
            }
        )
        for role in ("Exchange Administrator", "SharePoint Administrator", "User Administrator"):
            data["eligibilities"].append({"user": handle, "role": role})
    data["policies"].append(
        {
            "role": "SharePoint Administrator",
            "max_duration": "PT4H",
            "require_mfa": False,
            "require_justification": True,
            "approval": {"users": ["megan", "nestor"]},
        }
    )
    return DemoTenant.model_validate(data)


@dataclass
class Cluster:
    twins: Twins
    clock: SharedClock
    router: ReplicaRouter
    bots: list[BotProcess]
    client: SandboxClient
    db: Database

    def person(self, handle: str) -> Person:
        return Person(self.client, handle)

    def user_id(self, handle: str) -> str:
        return self.twins.tenant.user(handle).id

    def route(self, handle: str, bot: int) -> None:
        """Send everything `handle` does to replica `bot`."""
        self.router.by_sender[self.user_id(handle)] = bot

    # --- what the twins saw ---------------------------------------------------------------

    def activations(self, status: int | None = None) -> list[Any]:
        """adminAssign calls Graph answered (with `status`, if given)."""
        return [
            c
            for c in self.twins.graph.calls
            if c.method == "POST"
            and c.path == ASSIGNMENT_REQUESTS
            and isinstance(c.json, dict)
            and c.json.get("action") == "adminAssign"
            and (status is None or c.status == status)
        ]

    def active_schedules(self, handle: str) -> list[Any]:
        user = self.user_id(handle)
        return [
            s
            for s in self.twins.graph.state.schedules.of(user)
            if s.assignment_type == "Assigned" and s.end is not None
        ]

    async def messages(self, handle: str) -> list[dict[str, Any]]:
        return await self.client.messages(handle)

    async def sent(self, handle: str) -> list[str]:
        """Every message the bot sent into `handle`'s chat, as sent (text and cards as JSON);
        later updates of a message do not count as sends."""
        page = await self.client.transcript(handle)
        return [
            e["text"] + " " + json.dumps(e["cards"])
            for e in page["events"]
            if e["kind"] == "message"
        ]

    async def count(self, handle: str, needle: str) -> int:
        """How many messages the bot sent to `handle` contain `needle`."""
        return sum(needle in message for message in await self.sent(handle))

    async def approval_cards(self, handle: str, request_id: str) -> int:
        """Approval cards for `request_id` sent to an approver (who is not the requester)."""
        return sum(request_id in m and "request.approve" in m for m in await self.sent(handle))

    async def until_cards(
        self, request_id: str, approvers: Iterable[str] = ("megan", "nestor")
    ) -> bool:
        """Whether every approver has been sent the approval card for `request_id`."""
        return all([await self.approval_cards(a, request_id) >= 1 for a in approvers])

    # --- the database, read as the bot stored it ------------------------------------------

    async def requests(self, *states: RequestState) -> list[ActivationRequest]:
        async with self.db.transaction() as tx:
            return await tx.requests.list_in_states(states or list(RequestState))

    async def request_of(self, handle: str) -> ActivationRequest:
        user = self.user_id(handle)
        mine = [r for r in await self.requests() if r.requester.id == user]
        assert len(mine) == 1, mine
        return mine[0]

    async def audit_actions(self, request_id: str) -> list[str]:
        async with self.db.transaction() as tx:
            return [e.action for e in await tx.audit.entries(request_id=request_id)]

    # --- driving ----------------------------------------------------------------------------

    async def button(self, handle: str, request_id: str, title: str) -> tuple[str, dict[str, Any]]:
        """(message id, action) of `title` on the newest card of `handle` about `request_id`."""
        for message in reversed(await self.messages(handle)):
            for card in message["cards"]:
                for action in actions_of(card):
                    data = json.dumps(action.get("data", {}))
                    if action["title"] == title and request_id in data:
                        return message["id"], action
        raise AssertionError(f"{handle} sees no {title!r} for {request_id}")

    async def press_on(
        self, handle: str, request_id: str, title: str, inputs: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """Press `title` on the newest card of `handle` whose action is about `request_id`."""
        message_id, action = await self.button(handle, request_id, title)
        return await self.client.press(handle, message_id, action, inputs)

    async def until(
        self, check: Callable[[], Awaitable[bool]], what: str, within: float = WAIT_SECONDS
    ) -> None:
        """Wait for an outcome the bot produces in the background (bounded, not a timing
        assertion: the test fails only if it never happens)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not await check():
            if loop.time() > deadline:
                raise AssertionError(f"gave up waiting for: {what}")
            await asyncio.sleep(0.05)

    async def settled(self, within: float = WAIT_SECONDS) -> None:
        """Until the job queue holds nothing due (every notice is out)."""

        async def idle() -> bool:
            async with self.db.transaction() as tx:
                return await tx.jobs.oldest_due_lag(self.clock()) is None

        await self.until(idle, "the job queue to drain", within)

    def advance(self, **parts: float) -> None:
        self.clock.advance(timedelta(**parts))


def bot_env(twins: Twins, *, database_url: str, clock_file: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return {
        **keep,
        **twins.bot_environment(),
        "PIMBOT_DATABASE_URL": database_url,
        "PIMBOT_HOST": "127.0.0.1",
        "PIMBOT_METRICS_PORT": "0",  # replicas side by side: each its own free port
        "PIMBOT_SCHEDULER_INTERVAL_SECONDS": "0.2",
        "PIMBOT_GRAPH_MAX_RETRY_SECONDS": "3",
        "PIMBOT_TEST_CLOCK_FILE": str(clock_file),
        "PIMBOT_LOG_LEVEL": "INFO",
    }


@asynccontextmanager
async def cluster(
    workdir: Path,
    *,
    database_url: str,
    replicas: int = 1,
    clocked: bool = True,
    tenant: DemoTenant | None = None,
    installed: Iterable[str] = (),
    env: dict[str, str] | None = None,
    profile: Path | None = None,
) -> AsyncIterator[Cluster]:
    """`profile`: a directory; each replica runs under pyinstrument and writes
    `<name>.pyisession` there when it stops (`pyinstrument --load FILE` renders it)."""
    clock = SharedClock(workdir / "clock")
    router = ReplicaRouter([])
    twins = Twins(tenant or crowd_tenant(0), bot_url=await router.start(), now=clock)
    twins.start()
    bots: list[BotProcess] = []
    db: Database | None = None
    try:
        bot_settings = {
            **bot_env(twins, database_url=database_url, clock_file=clock.path),
            **(env or {}),
        }
        for n in range(replicas):
            name = f"pimbot-{n}"
            report = profile / f"{name}.pyisession" if profile is not None else None
            bot = BotProcess(name, bot_settings, workdir, clocked=clocked, profile=report)
            await bot.start()  # one at a time: the first one migrates the database
            bots.append(bot)
            router.backends.append(bot.url)
        db = await Database.connect(database_url)
        async with SandboxClient(twins.service_url) as client:
            for handle in installed:
                await client.install(handle)
            yield Cluster(twins, clock, router, bots, client, db)
    finally:
        for bot in bots:
            await bot.stop()
        if db is not None:
            await db.close()
        await router.close()
        twins.stop()
