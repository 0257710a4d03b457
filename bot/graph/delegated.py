"""Delegated Graph access: a person's Teams SSO token exchanged on-behalf-of them (msal OBO) for
a Graph token, and the PIM calls that only a signed-in person may make.

Tokens live in memory only, per person, until five minutes before they expire; they are never
logged and never written anywhere. msal is synchronous and does network I/O, so every msal call
runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
import msal
from pydantic import ValidationError

from bot.client_credentials import ClientCredential, ManagedIdentityUnavailable, MsalCredential
from bot.domain import (
    PIM_DELEGATED_SCOPE,
    Activation,
    ActivationRequest,
    Approval,
    AwaitingDecision,
    ConsentRequired,
    GraphError,
    PimRequest,
    SignInRequired,
)
from bot.graph.approvals import decide_step, read_approval
from bot.graph.assignments import (
    ASSIGNMENT_INSTANCES,
    ASSIGNMENT_REQUESTS,
    TENANT_SCOPE,
    removal_body,
    request_status,
    schedule_request_body,
)
from bot.graph.errors import AuthenticationFailed
from bot.graph.http import DEFAULT_LIMITS, DEFAULT_TIMEOUT, GraphHttp
from bot.graph.models import (
    AssignmentScheduleInstance,
    AwaitingApprover,
    Identity,
    RoleAssignmentScheduleRequestResponse,
)
from bot.graph.odata import path_segment
from bot.msal_http import LoginHttpClient, authority_for, instance_discovery_for

logger = logging.getLogger(__name__)

REFRESH_MARGIN_SECONDS = 5 * 60
# AADSTS codes that mean "the person (or an admin) has to consent first".
CONSENT_CODES = frozenset({65001, 65004, 65005})


@dataclass(frozen=True)
class _Cached:
    value: str
    refresh_at: float


class DelegatedTokens:
    """On-behalf-of Graph tokens per person, in memory."""

    def __init__(
        self,
        client_id: str,
        credential: ClientCredential | str,
        tenant_id: str,
        login_url: str,
        graph_resource: str = "https://graph.microsoft.com",
        *,
        http_client: Any = None,
        clock: Callable[[], float] = time.monotonic,
        scopes: Sequence[str] = (PIM_DELEGATED_SCOPE,),
    ) -> None:
        """`scopes`: the delegated Graph permissions asked for (the admin side asks for more)."""
        self._client_id = client_id
        self._credential = MsalCredential(credential)
        self._authority = authority_for(login_url, tenant_id)
        self._instance_discovery = instance_discovery_for(login_url)
        self._http_client = http_client if http_client is not None else LoginHttpClient(login_url)
        self._scopes = [f"{graph_resource.rstrip('/')}/{scope}" for scope in scopes]
        self._clock = clock
        self._tokens: dict[str, _Cached] = {}
        self._app: Any = None
        self._app_lock = asyncio.Lock()

    def __repr__(self) -> str:  # never show the secret or a token
        return f"DelegatedTokens(client_id={self._client_id!r}, cached={len(self._tokens)})"

    def cached(self, person_id: str) -> str | None:
        hit = self._tokens.get(person_id)
        if hit is None or self._clock() >= hit.refresh_at:
            self._tokens.pop(person_id, None)
            return None
        return hit.value

    def forget(self, person_id: str) -> None:
        self._tokens.pop(person_id, None)

    async def exchange(self, person_id: str, sso_token: str, claims: str | None = None) -> str:
        """A Graph token for the person from their SSO token (OBO), cached for next time."""
        async with self._app_lock:
            if self._app is None:
                self._app = await asyncio.to_thread(self._build_app)
        started = self._clock()
        try:
            await self._credential.prepare()  # a federated assertion is fetched on the loop
        except ManagedIdentityUnavailable as exc:
            raise AuthenticationFailed(503, "managed_identity_unavailable", str(exc)) from None
        result = await asyncio.to_thread(self._acquire, sso_token, claims)
        token = self._from_result(result)
        expires_in = float(result.get("expires_in") or 0)
        refresh_at = started + max(0.0, expires_in - REFRESH_MARGIN_SECONDS)
        self._tokens[person_id] = _Cached(token, refresh_at)
        return token

    # --- in the worker thread ------------------------------------------------------------------

    def _build_app(self) -> Any:
        try:
            return msal.ConfidentialClientApplication(
                self._client_id,
                client_credential=self._credential.for_msal(),
                authority=self._authority,
                http_client=self._http_client,
                instance_discovery=self._instance_discovery,
                # PIM honours authentication-context claims challenges only for capable clients.
                client_capabilities=["cp1"],
            )
        except Exception as exc:
            raise AuthenticationFailed(
                503, "authority_unavailable", f"cannot reach the login authority: {exc}"
            ) from None

    def _acquire(self, sso_token: str, claims: str | None) -> dict[str, Any]:
        app = self._app
        try:
            result = app.acquire_token_on_behalf_of(
                user_assertion=sso_token, scopes=self._scopes, claims_challenge=claims
            )
        except Exception as exc:
            raise AuthenticationFailed(
                503, "authority_unavailable", f"on-behalf-of exchange failed: {type(exc).__name__}"
            ) from None
        finally:
            # Our own cache decides; msal keeps no copy (nor a refresh token) of anyone's token.
            cache = app.token_cache
            for kind in (
                msal.TokenCache.CredentialType.ACCESS_TOKEN,
                msal.TokenCache.CredentialType.REFRESH_TOKEN,
            ):
                for entry in list(cache.search(kind)):
                    cache.remove_at(entry)
        return dict(result or {})

    def _from_result(self, result: dict[str, Any]) -> str:
        if "access_token" in result:
            return str(result["access_token"])
        error = str(result.get("error") or "no_token")
        codes = {int(c) for c in result.get("error_codes") or () if str(c).isdigit()}
        logger.info("on-behalf-of exchange refused: %s %s", error, sorted(codes))
        if codes & CONSENT_CODES or result.get("suberror") == "consent_required":
            raise ConsentRequired(error)
        if error in ("interaction_required", "invalid_grant"):
            claims = result.get("claims")
            raise SignInRequired(error, str(claims) if claims else None)
        raise AuthenticationFailed(401, error, "the on-behalf-of exchange was refused")


class _FixedToken:
    """`TokenProvider` for one delegated token: there is nothing to refresh on a 401."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self) -> str:
        return self._token

    def invalidate(self) -> None:
        return None


def request_state(payload: dict[str, Any]) -> PimRequest:
    """A schedule request as Graph returned it, in pimbot's terms."""
    try:
        response = RoleAssignmentScheduleRequestResponse.model_validate(payload)
    except ValidationError as exc:
        raise GraphError(200, "InvalidResponse", f"unexpected schedule request: {exc}") from exc
    info = response.schedule_info
    expiration = info.expiration if info else None
    return PimRequest(
        id=response.id,
        status=request_status(response.status),
        graph_status=response.status,
        approval_id=response.approval_id or None,
        start=_utc(info.start_date_time if info else None),
        end=_utc(expiration.end_date_time if expiration else None),
    )


def _utc(value: datetime | None) -> datetime | None:
    """Graph writes UTC; a time without an offset is taken as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class DelegatedPim:
    """The PIM writes pimbot makes as the signed-in person (their token, their rights)."""

    def __init__(
        self,
        graph_url: str,
        *,
        now: Callable[[], datetime],
        max_retry_time: float = 30.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._graph_url = graph_url
        self._now = now
        self._max_retry_time = max_retry_time
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=DEFAULT_TIMEOUT, limits=DEFAULT_LIMITS)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    def as_person(self, token: str, version: str = "v1.0") -> GraphHttp:
        """Graph with this person's token, on the shared connection pool."""
        return GraphHttp(
            self._graph_url,
            _FixedToken(token),
            version=version,
            client=self._client,
            max_retry_time=self._max_retry_time,
        )

    async def self_activate(self, token: str, request: ActivationRequest) -> PimRequest:
        body = schedule_request_body("selfActivate", request, self._now())
        if not request.justification:
            body.pop("justification", None)  # PIM's policy decides whether one is needed
        payload, _ = await self.as_person(token).post_json(ASSIGNMENT_REQUESTS, body)
        return request_state(payload)

    async def self_deactivate(self, token: str, principal_id: str, role_id: str) -> None:
        body = removal_body("selfDeactivate", principal_id, role_id)
        await self.as_person(token).post_json(ASSIGNMENT_REQUESTS, body)

    async def cancel(self, token: str, graph_request_id: str) -> None:
        path = f"{ASSIGNMENT_REQUESTS}/{path_segment(graph_request_id)}/cancel"
        await self.as_person(token).post_json(path, {})

    async def waiting_for_me(self, token: str) -> list[AwaitingDecision]:
        """Requests waiting for this approver, as PIM lists them."""
        path = f"{ASSIGNMENT_REQUESTS}/filterByCurrentUser(on='approver')"
        params = {"$filter": "status eq 'PendingApproval'", "$expand": "roleDefinition,principal"}
        try:
            found = [
                AwaitingApprover.model_validate(item)
                async for item in self.as_person(token).get_all(path, params)
            ]
        except ValidationError as exc:
            raise GraphError(200, "InvalidResponse", f"unexpected request list: {exc}") from exc
        return [
            AwaitingDecision(
                graph_request_id=item.id,
                requester_name=_display_name(item.principal),
                role_name=_display_name(item.role_definition),
            )
            for item in found
        ]

    async def read_approval(self, token: str, approval_id: str) -> Approval:
        return await read_approval(self.as_person(token), approval_id)

    async def decide_step(
        self,
        token: str,
        approval_id: str,
        step_id: str,
        verdict: Literal["approve", "deny"],
        justification: str,
    ) -> None:
        await decide_step(self.as_person(token), approval_id, step_id, verdict, justification)


def _display_name(identity: Identity | None) -> str:
    return (identity.display_name or "") if identity else ""


async def read_request(graph: GraphHttp, graph_request_id: str) -> PimRequest:
    """The schedule request as PIM has it now (app-only read)."""
    payload = await graph.get_json(f"{ASSIGNMENT_REQUESTS}/{path_segment(graph_request_id)}")
    return request_state(payload)


class AppPimReads:
    """`PimReads` over the app-only Graph client (read permissions only)."""

    def __init__(self, graph: GraphHttp) -> None:
        self._graph = graph

    async def read_request(self, graph_request_id: str) -> PimRequest:
        return await read_request(self._graph, graph_request_id)

    async def read_approval(self, approval_id: str) -> Approval | None:
        try:
            return await read_approval(self._graph, approval_id)
        except GraphError as exc:
            if exc.status in (400, 403, 404):
                return None
            raise

    async def activations(self) -> list[Activation]:
        params = {"$filter": "assignmentType eq 'Activated'"}
        found = []
        async for item in self._graph.get_all(ASSIGNMENT_INSTANCES, params):
            instance = AssignmentScheduleInstance.model_validate(item)
            if (instance.directory_scope_id or TENANT_SCOPE) != TENANT_SCOPE:
                continue
            found.append(
                Activation(
                    principal_id=instance.principal_id,
                    role_id=instance.role_definition_id,
                    start=instance.start_date_time,
                    end=instance.end_date_time,
                )
            )
        return found


@dataclass
class DelegatedGraph:
    """The pim engine's Graph parts, built from the deployment's settings."""

    tokens: DelegatedTokens
    as_person: DelegatedPim
    reads: AppPimReads

    @classmethod
    def build(
        cls,
        *,
        app_graph: GraphHttp,
        client_id: str,
        credential: ClientCredential | str,
        tenant_id: str,
        login_url: str,
        login: LoginHttpClient | None = None,
        now: Callable[[], datetime],
        max_retry_time: float,
    ) -> DelegatedGraph:
        """`login` is the process's shared login client (see `bot.msal_http`)."""
        tokens = DelegatedTokens(client_id, credential, tenant_id, login_url, http_client=login)
        as_person = DelegatedPim(app_graph.base_url, now=now, max_retry_time=max_retry_time)
        return cls(tokens, as_person, AppPimReads(app_graph))

    async def aclose(self) -> None:
        await self.as_person.aclose()
