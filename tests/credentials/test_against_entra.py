"""Credentials without secrets, against the Entra twin over loopback: a certificate registered
on the app registration, a managed identity's token as a federated client assertion, and the
managed identity itself (the identity endpoint Container Apps provides). The twin refuses what
Entra refuses: an unregistered certificate, a tampered assertion, an unknown federated subject,
a wrong identity header."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import jwt
import pytest
from aiohttp import web
from pydantic import SecretStr

from bot.channel.credentials import BotConnectorTokenSource
from bot.client_credentials import (
    ClientCertificate,
    FederatedIdentity,
    ManagedIdentity,
    ManagedIdentityUnavailable,
)
from bot.graph.errors import AuthenticationFailed
from bot.graph.tokens import AppTokenProvider, ManagedIdentityTokenProvider
from bot.sandbox.entra import BOTFRAMEWORK_RESOURCE, GRAPH_RESOURCE, EntraTwin
from bot.sandbox.tenant import (
    AppRegistration,
    DemoTenant,
    FederatedCredential,
    ManagedIdentitySpec,
    load_tenant,
)
from tests.credentials.certificates import make_certificate

IDENTITY = ManagedIdentitySpec(
    client_id="5b1f8c3e-8e0a-4d4b-9f55-1f0c6f2d7a10",
    principal_id="c0a3d6e1-7b2f-4e8d-a1c4-2f9e8d7c6b5a",
    display_name="id-pimbot",
    application_permissions=["RoleManagement.ReadWrite.Directory", "User.Read.All"],
)


@dataclass
class Entra:
    twin: EntraTwin
    tenant: DemoTenant
    login_url: str

    @property
    def app(self) -> AppRegistration:
        return self.tenant.pimbot_app

    def identity(self, *, header: str | None = None) -> ManagedIdentity:
        endpoint = self.twin.identity_endpoint
        return ManagedIdentity(
            endpoint.url, header if header is not None else endpoint.header, IDENTITY.client_id
        )

    def graph_provider(self, credential: object) -> AppTokenProvider:
        return AppTokenProvider(
            self.app.client_id,
            credential,  # type: ignore[arg-type]
            self.tenant.tenant_id,
            self.login_url,
        )


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def entra() -> AsyncIterator[Entra]:
    tenant = load_tenant()
    tenant.managed_identities.append(IDENTITY)
    twin = EntraTwin(tenant)
    async with serve(twin.app) as login_url:
        twin.base_url = login_url
        yield Entra(twin, tenant, login_url)


# --- certificates ------------------------------------------------------------------------------


async def test_a_registered_certificate_gets_a_graph_token_without_any_secret(
    entra: Entra,
) -> None:
    pem = make_certificate()
    entra.app.client_secret = ""
    entra.app.certificates.append(pem.certificate)
    tokens = entra.graph_provider(ClientCertificate.from_pem(pem.combined))

    claims = entra.twin.verify(await tokens.token(), GRAPH_RESOURCE)

    assert claims["appid"] == entra.app.client_id
    assert "RoleManagement.ReadWrite.Directory" in claims["roles"]
    assert entra.twin.token_requests[-1].status == 200


async def test_an_unregistered_certificate_is_refused(entra: Entra) -> None:
    entra.app.certificates.append(make_certificate().certificate)
    tokens = entra.graph_provider(ClientCertificate.from_pem(make_certificate().combined))

    with pytest.raises(AuthenticationFailed) as refused:
        await tokens.token()

    assert refused.value.code == "invalid_client"
    assert "AADSTS700027" in str(refused.value)


async def test_the_bot_connector_token_comes_from_the_certificate_too(entra: Entra) -> None:
    pem = make_certificate()
    entra.app.certificates.append(pem.certificate)
    source = BotConnectorTokenSource(
        entra.app.client_id,
        ClientCertificate.from_pem(pem.combined),
        entra.login_url,
        entra.tenant.tenant_id,
    )
    try:
        await source.refresh()
        claims = entra.twin.verify(source.current_token(), BOTFRAMEWORK_RESOURCE)
    finally:
        await source.stop()
    assert claims["appid"] == entra.app.client_id


async def assertion_status(entra: Entra, assertion: str) -> tuple[int, dict[str, object]]:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{entra.login_url}/{entra.tenant.tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": entra.app.client_id,
                "scope": f"{GRAPH_RESOURCE}/.default",
                "client_assertion_type": ("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                "client_assertion": assertion,
            },
        )
    return response.status_code, response.json()


def signed_assertion(pem_key: str, thumbprint: str, **claims: object) -> str:
    now = int(time.time())
    body = {
        "aud": "",
        "iss": "",
        "sub": "",
        "jti": str(uuid.uuid4()),
        "nbf": now,
        "exp": now + 600,
    } | claims
    return jwt.encode(body, pem_key, algorithm="PS256", headers={"x5t#S256": thumbprint})


async def test_an_assertion_for_another_audience_or_expired_or_tampered_is_refused(
    entra: Entra,
) -> None:
    pem = make_certificate()
    entra.app.certificates.append(pem.certificate)
    certificate = ClientCertificate.from_pem(pem.combined)
    key = certificate.private_key_pem.get_secret_value()
    thumbprint = pem.thumbprint_b64url
    # The audience Entra expects: the token endpoint its metadata advertises.
    endpoint = f"https://login.microsoftonline.com/{entra.tenant.tenant_id}/oauth2/v2.0/token"
    me = {"iss": entra.app.client_id, "sub": entra.app.client_id}

    good = signed_assertion(key, thumbprint, aud=endpoint, **me)
    assert (await assertion_status(entra, good))[0] == 200

    wrong_audience = signed_assertion(key, thumbprint, aud="https://elsewhere/token", **me)
    expired = signed_assertion(key, thumbprint, aud=endpoint, nbf=1, exp=2, **me)
    head, body, signature = good.split(".")
    tampered = f"{head}.{body}.{signature[:-6]}AAAAAA"
    for assertion, code in ((wrong_audience, 700212), (expired, 700024), (tampered, 700027)):
        status, answer = await assertion_status(entra, assertion)
        assert status == 401 and answer["error_codes"] == [code], answer


# --- managed identity --------------------------------------------------------------------------


async def test_a_managed_identity_token_is_a_federated_client_assertion_for_the_app(
    entra: Entra,
) -> None:
    entra.app.client_secret = ""
    entra.app.federated_credentials.append(FederatedCredential(subject=IDENTITY.principal_id))
    tokens = entra.graph_provider(FederatedIdentity(entra.identity()))

    claims = entra.twin.verify(await tokens.token(), GRAPH_RESOURCE)

    assert claims["appid"] == entra.app.client_id  # the app's permissions, not the identity's
    assert entra.twin.identity_endpoint.requests[-1] == (
        IDENTITY.client_id,
        "api://AzureADTokenExchange",
        200,
    )


async def test_a_managed_identity_the_app_does_not_trust_is_refused(entra: Entra) -> None:
    entra.app.federated_credentials.append(FederatedCredential(subject=str(uuid.uuid4())))
    tokens = entra.graph_provider(FederatedIdentity(entra.identity()))

    with pytest.raises(AuthenticationFailed) as refused:
        await tokens.token()

    assert "AADSTS70021" in str(refused.value)


async def test_the_managed_identity_itself_gets_graph_and_bot_connector_tokens(
    entra: Entra,
) -> None:
    identity = entra.identity()
    graph_claims = entra.twin.verify(
        await ManagedIdentityTokenProvider(identity).token(), GRAPH_RESOURCE
    )
    assert graph_claims["appid"] == IDENTITY.client_id
    assert graph_claims["oid"] == IDENTITY.principal_id
    assert graph_claims["roles"] == sorted(IDENTITY.application_permissions)

    source = BotConnectorTokenSource(
        IDENTITY.client_id, identity, entra.login_url, entra.tenant.tenant_id
    )
    await source.refresh()
    bot_claims = entra.twin.verify(source.current_token(), BOTFRAMEWORK_RESOURCE)
    await source.stop()
    assert bot_claims["appid"] == IDENTITY.client_id


async def test_the_identity_endpoint_refuses_a_wrong_header_and_nothing_leaks(
    entra: Entra,
) -> None:
    wrong = entra.identity(header="not-the-header")
    with pytest.raises(ManagedIdentityUnavailable) as refused:
        await wrong.token(GRAPH_RESOURCE)
    assert "401" in str(refused.value) and "not-the-header" not in str(refused.value)

    with pytest.raises(AuthenticationFailed):
        await ManagedIdentityTokenProvider(wrong).token()


async def test_a_managed_identity_token_is_reused_until_invalidated(entra: Entra) -> None:
    provider = ManagedIdentityTokenProvider(entra.identity())
    first = await provider.token()
    assert await provider.token() == first
    provider.invalidate()
    assert await provider.token() != first
    assert len(entra.twin.identity_endpoint.requests) == 2


def test_a_secret_setting_is_never_shown() -> None:
    identity = ManagedIdentity("http://127.0.0.1:9/msi/token", SecretStr("hdr-value"), "c")
    assert "hdr-value" not in repr(identity)
