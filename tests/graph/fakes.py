"""Test doubles shared by the Graph tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import respx

from bot.graph.http import GraphHttp

GRAPH = "https://graph.test"


class FakeTokens:
    """Hands out `token-1`, `token-2`, ... : a new one after each `invalidate()`."""

    def __init__(self) -> None:
        self.issued = 1
        self.invalidations = 0

    async def token(self) -> str:
        return f"token-{self.issued}"

    def invalidate(self) -> None:
        self.invalidations += 1
        self.issued += 1


class RecordedSleep:
    """An injected `sleep` that records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@asynccontextmanager
async def graph_http(
    tokens: FakeTokens | None = None,
    sleep: RecordedSleep | None = None,
    max_retry_time: float = 30.0,
    jitter: Callable[[], float] = lambda: 0.5,
) -> AsyncIterator[GraphHttp]:
    async with httpx.AsyncClient() as client:
        yield GraphHttp(
            GRAPH,
            tokens or FakeTokens(),
            client=client,
            max_retry_time=max_retry_time,
            sleep=sleep or RecordedSleep(),
            jitter=jitter,
        )


def graph_error(code: str, message: str = "", status: int = 400) -> httpx.Response:
    return httpx.Response(
        status,
        json={"error": {"code": code, "message": message, "innerError": {"request-id": "r-1"}}},
    )


def answer_batches(router: respx.Router | None = None, base: str = f"{GRAPH}/v1.0") -> respx.Route:
    """Answer `POST {base}/$batch` as Graph does, each sub-request by the router's other routes
    (so their call counts include batched calls): `{"responses": [{id, status, headers, body}]}`."""
    mocked = router if router is not None else respx.mock

    def answer(request: httpx.Request) -> httpx.Response:
        responses = []
        for item in json.loads(request.content)["requests"]:
            sub = httpx.Request(item["method"], f"{base}/{item['url'].lstrip('/')}")
            response = mocked.handler(sub)
            entry: dict[str, Any] = {
                "id": item["id"],
                "status": response.status_code,
                "headers": dict(response.headers),
            }
            if response.content:
                entry["body"] = response.json()
            responses.append(entry)
        return httpx.Response(200, json={"responses": responses})

    return mocked.post(f"{base}/$batch").mock(side_effect=answer)
