"""Counting what one turn costs: database round trips (statements and transactions, on the
bot's own engine) and Graph calls (on the Graph twin), for one message, with nothing else
running (no scheduler, no audit anchor)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from botframework.connector.token_api.aio import TokenApiClient
from sqlalchemy import event

from bot.sandbox.runner import RunningSandbox, sandbox
from bot.sandbox.teams.client import SandboxClient
from tests.store.conftest import database_url  # noqa: F401


@dataclass
class Costs:
    """`graph_calls`: every request Graph carried out ("METHOD /v1.0/path"), alone or inside a
    `$batch`, as Graph counts them for throttling; `round_trips`: the HTTP requests pimbot sent
    to Graph (a `$batch` is one, whatever it carries)."""

    statements: list[str] = field(default_factory=list)
    transactions: int = 0
    graph_calls: list[str] = field(default_factory=list)
    round_trips: list[str] = field(default_factory=list)
    user_token_clients: int = 0  # botbuilder's (OAuth token API) clients built


@dataclass
class Turns:
    running: RunningSandbox
    client: SandboxClient

    @contextmanager
    def counted(self) -> Iterator[Costs]:
        costs = Costs()
        engine = self.running.services.db.engine.sync_engine

        def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
            words = " ".join(sql.split())
            if not words.startswith("BEGIN"):  # SQLite's own BEGIN; PostgreSQL's is implicit
                costs.statements.append(words[:80])

        def committed(_conn: Any) -> None:
            costs.transactions += 1

        graph = self.running.twins.graph
        calls_before = len(graph.calls)
        built = TokenApiClient.__init__

        def build(client: TokenApiClient, *args: Any, **kwargs: Any) -> None:
            costs.user_token_clients += 1
            built(client, *args, **kwargs)

        event.listen(engine, "before_cursor_execute", statement)
        event.listen(engine, "commit", committed)
        TokenApiClient.__init__ = build  # type: ignore[method-assign]
        try:
            yield costs
        finally:
            TokenApiClient.__init__ = built  # type: ignore[method-assign]
            event.remove(engine, "before_cursor_execute", statement)
            event.remove(engine, "commit", committed)
            calls = graph.calls[calls_before:]
            batch = "/v1.0/$batch"
            costs.graph_calls = [f"{c.method} {c.path}" for c in calls if c.path != batch]
            costs.round_trips = [f"{c.method} {c.path}" for c in calls if not c.batch_request_id]


@pytest.fixture
async def turns(database_url: str, tmp_path: Path) -> AsyncIterator[Turns]:  # noqa: F811
    async with (
        sandbox(database_url=database_url, run_scheduler=False, audit_anchor_minutes=0) as running,
        SandboxClient(running.twins.service_url) as client,
    ):
        yield Turns(running, client)
