"""The Entra twin as its clients see it: metadata, keys, token endpoint, SSO tokens, verify."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import msal
import pytest
from aiohttp.test_utils import TestServer

from bot.sandbox.entra import EntraTwin, InvalidToken
from tests.sandbox_teams.http_mapping import HostMappingClient
from tests.sandbox_teams.stand_ins import Tenant

GRAPH = "https://graph.microsoft.com"
BOTFRAMEWORK = "https://api.botframework.com"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def tenant() -> Tenant:
    return Tenant()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def entra(tenant: Tenant, clock: Clock) -> AsyncIterator[tuple[EntraTwin, str]]:
    twin = EntraTwin(tenant, now=clock)
    server = TestServer(twin.app, host="127.0.0.1", port=0)
    await server.start_server()
    twin.base_url = str(server.make_url("")).rstrip("/")
    yield twin, twin.base_url
    await server.close()


async def token_request(base: str, tenant: Tenant, **form: str) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(f"{base}/{tenant.tenant_id}/oauth2/v2.0/token", data=form)


async def client_credentials(base: str, tenant: Tenant, scope: str, secret: str | None = None):
    return await token_request(
        base,
        tenant,
        grant_type="client_credentials",
        client_id=tenant.pimbot_app.client_id,
        client_secret=secret or tenant.pimbot_app.client_secret,
        scope=scope,
    )


def unverified(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


async def test_openid_configuration_names_issuer_endpoints_and_keys_on_entras_host(entra, tenant):
    """Like Entra, every URL names https://login.microsoftonline.com, wherever the twin listens."""
    _, base = entra
    public = f"https://login.microsoftonline.com/{tenant.tenant_id}"
    async with httpx.AsyncClient() as http:
        doc = (
            await http.get(f"{base}/{tenant.tenant_id}/v2.0/.well-known/openid-configuration")
        ).json()
        keys = (
            await http.get(doc["jwks_uri"].replace("https://login.microsoftonline.com", base))
        ).json()
    assert doc["issuer"] == f"{public}/v2.0"
    assert doc["token_endpoint"] == f"{public}/oauth2/v2.0/token"
    assert doc["jwks_uri"] == f"{public}/discovery/v2.0/keys"
    assert keys["keys"][0]["kty"] == "RSA" and keys["keys"][0]["kid"]


async def test_unknown_tenant_gets_entra_error(entra):
    _, base = entra
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{base}/nope/v2.0/.well-known/openid-configuration")
    assert response.status_code == 400
    assert response.json()["error_codes"] == [90002]


async def test_client_credentials_for_graph_carry_app_roles(entra, tenant):
    twin, base = entra
    response = await client_credentials(base, tenant, f"{GRAPH}/.default")
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 3000
    claims = twin.verify(body["access_token"], GRAPH)
    assert claims["iss"] == f"https://sts.windows.net/{tenant.tenant_id}/"
    assert claims["idtyp"] == "app"
    assert claims["appid"] == claims["azp"] == tenant.pimbot_app.client_id
    assert claims["roles"] == sorted(tenant.pimbot_app.application_permissions)
    assert claims["tid"] == tenant.tenant_id and claims["oid"]
    assert "scp" not in claims


async def test_client_credentials_for_bot_connector(entra, tenant):
    twin, base = entra
    response = await client_credentials(base, tenant, f"{BOTFRAMEWORK}/.default")
    claims = twin.verify(response.json()["access_token"], BOTFRAMEWORK)
    assert claims["appid"] == tenant.pimbot_app.client_id
    assert "roles" not in claims


async def test_wrong_client_secret_is_rejected_in_entra_format(entra, tenant):
    _, base = entra
    response = await client_credentials(base, tenant, f"{GRAPH}/.default", secret="guess")
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "invalid_client"
    assert body["error_codes"] == [7000215]
    assert body["error_description"].startswith("AADSTS7000215:")
    assert {"timestamp", "trace_id", "correlation_id"} <= body.keys()
    assert "guess" not in response.text


async def test_unknown_client_is_rejected(entra, tenant):
    _, base = entra
    response = await token_request(
        base,
        tenant,
        grant_type="client_credentials",
        client_id="x",
        client_secret="y",
        scope=f"{GRAPH}/.default",
    )
    assert response.status_code == 400
    assert response.json()["error_codes"] == [700016]


async def test_client_credentials_need_a_default_scope(entra, tenant):
    _, base = entra
    response = await client_credentials(base, tenant, f"{GRAPH}/User.Read")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


async def test_client_credentials_for_an_unknown_resource(entra, tenant):
    _, base = entra
    response = await client_credentials(base, tenant, "https://vault.azure.net/.default")
    assert response.json()["error"] == "invalid_resource"


def test_sso_token_without_mfa(tenant):
    twin = EntraTwin(tenant, base_url="http://login.test")
    claims = unverified(
        twin.mint_sso_token("adele", audience_app_id=tenant.pimbot_app.client_id, mfa=False)
    )
    assert claims["iss"] == f"https://login.microsoftonline.com/{tenant.tenant_id}/v2.0"
    assert claims["aud"] == tenant.pimbot_app.client_id
    assert claims["amr"] == ["pwd"]
    assert claims["oid"] == tenant.user("adele").id
    assert claims["upn"] == claims["preferred_username"] == "adele@contoso.example"
    assert claims["name"] == "Adele Vance"
    assert claims["exp"] - claims["iat"] == 3600
    assert "acrs" not in claims


def test_sso_token_with_mfa_and_auth_context(tenant):
    twin = EntraTwin(tenant)
    token = twin.mint_sso_token("megan", audience_app_id="app", mfa=True, acrs=["c1"])
    claims = twin.verify(token, "app")
    assert claims["amr"] == ["pwd", "mfa"]
    assert claims["acrs"] == ["c1"]


def test_verify_rejects_wrong_audience(tenant):
    twin = EntraTwin(tenant)
    token = twin.mint_sso_token("adele", audience_app_id="app", mfa=False)
    with pytest.raises(InvalidToken, match="audience"):
        twin.verify(token, GRAPH)


def test_verify_rejects_expired_tokens(tenant, clock):
    twin = EntraTwin(tenant, now=clock)
    token = twin.mint_sso_token("adele", audience_app_id="app", mfa=False)
    clock.now += timedelta(hours=1)
    with pytest.raises(InvalidToken, match="expired"):
        twin.verify(token, "app")


def test_verify_rejects_tokens_signed_by_another_twin(tenant):
    forger = EntraTwin(tenant)
    twin = EntraTwin(tenant)
    token = forger.mint_sso_token("adele", audience_app_id="app", mfa=True)
    with pytest.raises(InvalidToken):
        twin.verify(token, "app")


def test_verify_rejects_a_tampered_payload(tenant):
    twin = EntraTwin(tenant)
    header, payload, signature = twin.mint_sso_token(
        "adele", audience_app_id="app", mfa=False
    ).split(".")
    claims = unverified(f"{header}.{payload}.{signature}") | {"amr": ["pwd", "mfa"]}
    forged = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    with pytest.raises(InvalidToken, match="signature"):
        twin.verify(f"{header}.{forged}.{signature}", "app")


async def obo(base: str, tenant: Tenant, assertion: str, **extra: str) -> httpx.Response:
    return await token_request(
        base,
        tenant,
        grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer",
        requested_token_use="on_behalf_of",
        client_id=tenant.pimbot_app.client_id,
        client_secret=tenant.pimbot_app.client_secret,
        assertion=assertion,
        scope=f"{GRAPH}/RoleAssignmentSchedule.ReadWrite.Directory openid profile offline_access",
        **extra,
    )


async def test_on_behalf_of_gives_a_delegated_graph_token_for_the_user(entra, tenant):
    twin, base = entra
    sso = twin.mint_sso_token("adele", audience_app_id=tenant.pimbot_app.client_id, mfa=True)
    response = await obo(base, tenant, sso)
    assert response.status_code == 200
    claims = twin.verify(response.json()["access_token"], GRAPH)
    assert claims["idtyp"] == "user"
    assert claims["oid"] == tenant.user("adele").id
    assert claims["upn"] == "adele@contoso.example"
    assert claims["scp"] == "RoleAssignmentSchedule.ReadWrite.Directory"
    assert claims["amr"] == ["pwd", "mfa"]
    assert claims["appid"] == tenant.pimbot_app.client_id


async def test_on_behalf_of_rejects_an_assertion_for_another_app(entra, tenant):
    twin, base = entra
    sso = twin.mint_sso_token("adele", audience_app_id="someone-else", mfa=True)
    response = await obo(base, tenant, sso)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_on_behalf_of_rejects_a_forged_assertion(entra, tenant):
    _, base = entra
    forged = EntraTwin(tenant).mint_sso_token(
        "adele", audience_app_id=tenant.pimbot_app.client_id, mfa=True
    )
    response = await obo(base, tenant, forged)
    assert response.json()["error"] == "invalid_grant"
    assert response.json()["error_codes"] == [50013]


ACRS_CHALLENGE = json.dumps({"access_token": {"acrs": {"essential": True, "value": "c1"}}})


async def test_acrs_challenge_is_met_only_when_the_session_satisfied_it(entra, tenant):
    twin, base = entra
    sso = twin.mint_sso_token("adele", audience_app_id=tenant.pimbot_app.client_id, mfa=True)
    before = await obo(base, tenant, sso, claims=ACRS_CHALLENGE)
    # as Entra: the middle tier can't meet it; the claims go back for an interactive sign-in
    assert before.status_code == 400
    assert before.json()["error"] == "interaction_required"
    assert before.json()["claims"] == ACRS_CHALLENGE

    twin.satisfy_auth_contexts("adele", "c1")
    after = await obo(base, tenant, sso, claims=ACRS_CHALLENGE)
    assert twin.verify(after.json()["access_token"], GRAPH)["acrs"] == ["c1"]


async def test_msal_client_credentials_and_obo_work_against_the_twin(entra, tenant):
    """msal's own flow: https authority mapped onto the twin, instance discovery included."""
    twin, base = entra
    host = base.removeprefix("http://")
    http_client = HostMappingClient({host: base, "login.microsoftonline.com": base})

    def acquire() -> tuple[dict[str, Any], dict[str, Any]]:
        app = msal.ConfidentialClientApplication(
            tenant.pimbot_app.client_id,
            client_credential=tenant.pimbot_app.client_secret,
            authority=f"https://{host}/{tenant.tenant_id}",
            http_client=http_client,
        )
        app_only = app.acquire_token_for_client(scopes=[f"{GRAPH}/.default"])
        sso = twin.mint_sso_token("adele", audience_app_id=tenant.pimbot_app.client_id, mfa=True)
        delegated = app.acquire_token_on_behalf_of(
            sso, scopes=[f"{GRAPH}/RoleAssignmentSchedule.ReadWrite.Directory"]
        )
        return app_only, delegated

    app_only, delegated = await asyncio.to_thread(acquire)
    assert twin.verify(app_only["access_token"], GRAPH)["idtyp"] == "app"
    assert twin.verify(delegated["access_token"], GRAPH)["oid"] == tenant.user("adele").id
    assert any("/common/discovery/instance" in url for url in http_client.urls)


async def test_msal_with_the_public_authority_host_uses_forwarded_headers(entra, tenant):
    twin, base = entra
    http_client = HostMappingClient({"login.microsoftonline.com": base}, forward_host=True)

    def acquire() -> dict[str, Any]:
        app = msal.ConfidentialClientApplication(
            tenant.pimbot_app.client_id,
            client_credential=tenant.pimbot_app.client_secret,
            authority=f"https://login.microsoftonline.com/{tenant.tenant_id}",
            http_client=http_client,
        )
        return app.acquire_token_for_client(scopes=[f"{BOTFRAMEWORK}/.default"])

    result = await asyncio.to_thread(acquire)
    assert twin.verify(result["access_token"], BOTFRAMEWORK)["appid"] == tenant.pimbot_app.client_id


async def test_msal_reports_a_bad_secret_as_an_error_result(entra, tenant):
    _, base = entra
    host = base.removeprefix("http://")
    http_client = HostMappingClient({host: base, "login.microsoftonline.com": base})

    def acquire() -> dict[str, Any]:
        app = msal.ConfidentialClientApplication(
            tenant.pimbot_app.client_id,
            client_credential="wrong",
            authority=f"https://{host}/{tenant.tenant_id}",
            http_client=http_client,
        )
        return app.acquire_token_for_client(scopes=[f"{GRAPH}/.default"])

    result = await asyncio.to_thread(acquire)
    assert result["error"] == "invalid_client"
    assert 7000215 in result["error_codes"]
