"""A Graph twin on loopback with stand-in tokens, and pimbot's Graph client talking to it as a
given token (an admin's delegated one, or the app's)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from bot.graph.http import GraphHttp
from bot.policy_cli import StaticToken
from bot.sandbox.tenant import DemoTenant, load_tenant
from tests.sandbox_graph.conftest import START, Graph, Tokens, start_graph
from tests.support.clock import FakeClock

POLICY_ADMIN_SCOPES = "RoleManagementPolicy.ReadWrite.Directory RoleManagement.Read.Directory"
EXCHANGE_ADMIN = "29232cdf-9323-42fd-ade2-1d097af3e4de"
USER_ADMIN = "fe930be7-5e62-47db-91af-98c3a49a38b1"
GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"


class JwtShapedTokens(Tokens):
    """Stand-in tokens shaped like JWTs (header.claims.signature), so that what reads a token's
    claims without verifying them (the CLI's audit actor) can; the twin still looks them up."""

    def _issue(self, claims: Mapping[str, Any]) -> str:
        header = _b64({"alg": "none", "n": len(self._claims)})
        token = f"{header}.{_b64(dict(claims))}.sig"
        self._claims[token] = claims
        return token


def _b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@dataclass
class Tenant:
    graph: Graph
    url: str  # the twin's base URL, as PIMBOT_GRAPH_URL

    def client(self, token: str, *, transport: httpx.AsyncBaseTransport | None = None) -> GraphHttp:
        client = httpx.AsyncClient(transport=transport) if transport else None
        return GraphHttp(self.url, StaticToken(token), client=client, max_retry_time=0)

    def admin_token(self, handle: str = "breakglass1") -> str:
        return self.graph.tokens.user(handle, scp=POLICY_ADMIN_SCOPES)

    def patches(self) -> list[Any]:
        return [call for call in self.graph.twin.calls if call.method == "PATCH"]


@asynccontextmanager
async def twin_tenant() -> AsyncIterator[Tenant]:
    tenant: DemoTenant = load_tenant()
    graph = await start_graph(tenant, FakeClock(START), tokens=JwtShapedTokens(tenant))
    try:
        yield Tenant(graph, f"http://127.0.0.1:{graph.client.port}")
    finally:
        await graph.client.close()
