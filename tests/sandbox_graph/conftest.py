"""A Graph twin on loopback for each test, with a hand-moved clock and stand-in tokens.

Tokens are opaque strings the stand-in verifier maps to claims, shaped like Entra's: app-only
tokens have `idtyp: app` and `roles`; delegated ones `scp`, `oid`, `amr` and `acrs`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from bot.sandbox.graph import GraphTwin
from bot.sandbox.tenant import DemoTenant, load_tenant
from tests.support.clock import FakeClock

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PIMBOT_ROLES = (
    "RoleManagement.ReadWrite.Directory",
    "RoleManagementPolicy.Read.Directory",
    "User.Read.All",
    "GroupMember.Read.All",
)
USER_SCOPES = (
    "RoleAssignmentSchedule.ReadWrite.Directory RoleManagement.Read.Directory User.Read.All"
)

EXCHANGE = "29232cdf-9323-42fd-ade2-1d097af3e4de"
GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
SECURITY_ADMIN = "194ae4cb-b126-40b2-bd5b-6091b380977d"
SECURITY_READER = "5d6b6bb7-de71-4623-b4af-96380a352509"
USER_ADMIN = "fe930be7-5e62-47db-91af-98c3a49a38b1"
APP_ADMIN = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
PRIVILEGED_ROLE_ADMIN = "e8611ab8-c189-46e8-94e1-60213ab1f814"
TEAMS_ADMIN = "69091246-20e8-4a56-aa4d-066075b2a7a8"

REQUESTS = "/v1.0/roleManagement/directory/roleAssignmentScheduleRequests"
INSTANCES = "/v1.0/roleManagement/directory/roleAssignmentScheduleInstances"
ELIGIBILITY_INSTANCES = "/v1.0/roleManagement/directory/roleEligibilityScheduleInstances"
APPROVALS = "/beta/roleManagement/directory/roleAssignmentApprovals"


class Tokens:
    """The stand-in for the Entra twin's verifier."""

    def __init__(self, tenant: DemoTenant) -> None:
        self.tenant = tenant
        self._claims: dict[str, Mapping[str, Any]] = {}

    def verify(self, token: str) -> Mapping[str, Any]:
        if token not in self._claims:
            raise ValueError("unknown token")
        return self._claims[token]

    def _issue(self, claims: Mapping[str, Any]) -> str:
        token = f"token-{len(self._claims)}"
        self._claims[token] = claims
        return token

    def app(self, roles: Iterable[str] = PIMBOT_ROLES) -> str:
        return self._issue(
            {"idtyp": "app", "appid": self.tenant.pimbot_app.client_id, "roles": list(roles)}
        )

    def user(
        self, handle: str, *, mfa: bool = True, scp: str = USER_SCOPES, acrs: Iterable[str] = ()
    ) -> str:
        user = self.tenant.user(handle)
        return self._issue(
            {
                "oid": user.id,
                "name": user.display_name,
                "upn": user.upn,
                "scp": scp,
                "amr": ["pwd", "mfa"] if mfa else ["pwd"],
                "acrs": list(acrs),
            }
        )


@dataclass
class Graph:
    """A client for the twin that speaks as a given token."""

    client: TestClient[Any, Any]
    twin: GraphTwin
    tokens: Tokens
    clock: FakeClock
    tenant: DemoTenant
    default_token: str = field(default="")

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ClientResponse:
        all_headers = {"Authorization": f"Bearer {token or self.default_token}", **(headers or {})}
        if path.startswith("http"):  # a nextLink: absolute, and on this very server
            link = URL(path)
            assert (link.host, link.port) == (self.client.host, self.client.port)
            path = link.raw_path_qs
        return await self.client.request(
            method, path, json=json, params=params, headers=all_headers
        )

    async def get(self, path: str, **kwargs: Any) -> ClientResponse:
        return await self.call("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> ClientResponse:
        return await self.call("POST", path, **kwargs)

    def uid(self, handle: str) -> str:
        return self.tenant.user(handle).id


async def start_graph(
    tenant: DemoTenant,
    clock: FakeClock,
    *,
    page_size: int = 100,
    state_path: Path | None = None,
    tokens: Tokens | None = None,
) -> Graph:
    tokens = tokens or Tokens(tenant)
    twin = GraphTwin(
        tenant,
        verify_token=tokens.verify,
        now=clock,
        page_size=page_size,
        state_path=state_path,
    )
    client: TestClient[Any, Any] = TestClient(TestServer(twin.app, host="127.0.0.1", port=0))
    await client.start_server()
    return Graph(client, twin, tokens, clock, tenant, default_token=tokens.app())


@pytest.fixture
def tenant() -> DemoTenant:
    return load_tenant()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def graph(tenant: DemoTenant, clock: FakeClock) -> AsyncIterator[Graph]:
    started = await start_graph(tenant, clock)
    yield started
    await started.client.close()


def activation(
    principal_id: str,
    role_id: str,
    *,
    action: str = "selfActivate",
    duration: str | None = "PT1H",
    justification: str | None = "INC-1234 mailbox migration",
    ticket: str | None = None,
    start: datetime | None = None,
) -> dict[str, Any]:
    """A `roleAssignmentScheduleRequests` body."""
    body: dict[str, Any] = {
        "action": action,
        "principalId": principal_id,
        "roleDefinitionId": role_id,
        "directoryScopeId": "/",
    }
    if justification is not None:
        body["justification"] = justification
    if ticket is not None:
        body["ticketInfo"] = {"ticketNumber": ticket, "ticketSystem": "ServiceNow"}
    if duration is not None or start is not None:
        schedule: dict[str, Any] = {
            "expiration": {"type": "AfterDuration", "duration": duration}
            if duration
            else {"type": "NoExpiration"}
        }
        if start is not None:
            schedule["startDateTime"] = start.isoformat().replace("+00:00", "Z")
        body["scheduleInfo"] = schedule
    return body


async def error_of(response: ClientResponse, status: int) -> dict[str, Any]:
    """The Graph error of a response that must have `status`."""
    body = await response.json()
    assert response.status == status, body
    error = body["error"]
    assert error["innerError"]["request-id"] == response.headers["request-id"]
    return dict(error)


async def ok(response: ClientResponse, status: int = 200) -> dict[str, Any]:
    body = await response.json()
    assert response.status == status, body
    return dict(body)


def minutes(value: float) -> timedelta:
    return timedelta(minutes=value)


POLICY_ADMIN_SCOPES = "RoleManagementPolicy.ReadWrite.Directory RoleManagement.Read.Directory"


async def policy_id_of(graph: Graph, role_id: str) -> str:
    body = await ok(
        await graph.get(
            "/v1.0/policies/roleManagementPolicyAssignments",
            params={
                "$filter": (
                    f"scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq "
                    f"'{role_id}'"
                )
            },
        )
    )
    return str(body["value"][0]["policyId"])


async def patch_rule(graph: Graph, role_id: str, rule: dict[str, Any]) -> ClientResponse:
    """PATCH one rule of the role's policy as a break-glass Global Administrator."""
    policy_id = await policy_id_of(graph, role_id)
    return await graph.call(
        "PATCH",
        f"/v1.0/policies/roleManagementPolicies/{policy_id}/rules/{rule['id']}",
        token=graph.tokens.user("breakglass1", scp=POLICY_ADMIN_SCOPES),
        json=rule,
    )


async def enable_authentication_context(graph: Graph, role_id: str, claim: str) -> None:
    response = await patch_rule(
        graph,
        role_id,
        {
            "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyAuthenticationContextRule",
            "id": "AuthenticationContext_EndUser_Assignment",
            "isEnabled": True,
            "claimValue": claim,
        },
    )
    assert response.status == 204, await response.text()
