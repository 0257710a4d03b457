"""Every call to the login host (msal's tokens, the SSO signing keys, on-behalf-of) goes through
one `LoginHttpClient` with one mapping: Entra's metadata names https://login.microsoftonline.com
(as the real one does), and a stand-in on another address is still reached."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from aiohttp.test_utils import TestServer

from bot.graph.delegated import DelegatedTokens
from bot.graph.tokens import AppTokenProvider
from bot.msal_http import LoginHttpClient
from bot.sandbox.entra import GRAPH_RESOURCE, EntraTwin
from bot.sandbox.runner import sandbox
from bot.sandbox.tenant import DemoTenant, load_tenant
from bot.sso import SsoValidator

ENTRA = "https://login.microsoftonline.com"


class CountingSession(requests.Session):
    """A requests session that records every URL it is asked for (after the mapping)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def request(self, method: str | bytes, url: str | bytes, *args: object, **kwargs: object):  # type: ignore[no-untyped-def, override]
        self.urls.append(str(url))
        return super().request(method, url, *args, **kwargs)  # type: ignore[arg-type]


@dataclass
class Login:
    twin: EntraTwin
    tenant: DemoTenant
    url: str
    session: CountingSession
    client: LoginHttpClient


@pytest.fixture
async def login() -> AsyncIterator[Login]:
    tenant = load_tenant()
    twin = EntraTwin(tenant)
    server = TestServer(twin.app, host="127.0.0.1", port=0)
    await server.start_server()
    url = str(server.make_url("")).rstrip("/")
    twin.base_url = url
    session = CountingSession()
    client = LoginHttpClient(url, session=session)
    try:
        yield Login(twin, tenant, url, session, client)
    finally:
        client.close()
        await server.close()


async def test_the_entra_twin_advertises_the_public_https_host_like_entra(login: Login) -> None:
    tenant_id = login.tenant.tenant_id
    response = await asyncio.to_thread(
        requests.get, f"{login.url}/{tenant_id}/v2.0/.well-known/openid-configuration", timeout=10
    )
    document = response.json()

    assert document["issuer"] == f"{ENTRA}/{tenant_id}/v2.0"
    assert document["jwks_uri"] == f"{ENTRA}/{tenant_id}/discovery/v2.0/keys"
    assert document["token_endpoint"] == f"{ENTRA}/{tenant_id}/oauth2/v2.0/token"


async def test_sso_keys_are_fetched_through_the_login_client_mapping(login: Login) -> None:
    app = login.tenant.pimbot_app
    validator = SsoValidator(
        login_url=login.url,
        tenant_id=login.tenant.tenant_id,
        app_id=app.client_id,
        login=login.client,
    )
    token = login.twin.mint_sso_token("adele", audience_app_id=app.client_id, mfa=True)

    claims = await validator.validate(token)

    assert claims.object_id == login.tenant.user("adele").id and claims.has_mfa
    assert any(url.endswith("/discovery/v2.0/keys") for url in login.session.urls)
    assert all(url.startswith(login.url) for url in login.session.urls)


async def test_app_tokens_sso_keys_and_on_behalf_of_share_one_client(login: Login) -> None:
    app = login.tenant.pimbot_app
    tenant_id = login.tenant.tenant_id
    tokens = AppTokenProvider(
        app.client_id, app.client_secret, tenant_id, login.url, http_client=login.client
    )
    delegated = DelegatedTokens(
        app.client_id, app.client_secret, tenant_id, login.url, http_client=login.client
    )
    validator = SsoValidator(
        login_url=login.url, tenant_id=tenant_id, app_id=app.client_id, login=login.client
    )
    sso = login.twin.mint_sso_token("adele", audience_app_id=app.client_id, mfa=True)

    app_token = await tokens.token()
    await validator.validate(sso)
    user_token = await delegated.exchange(login.tenant.user("adele").id, sso)

    assert login.twin.verify(app_token, GRAPH_RESOURCE)["idtyp"] == "app"
    assert login.twin.verify(user_token, GRAPH_RESOURCE)["oid"] == login.tenant.user("adele").id
    posts = [u for u in login.session.urls if u.endswith("/oauth2/v2.0/token")]
    assert len(posts) >= 2  # client credentials and on-behalf-of, both mapped
    assert all(url.startswith(login.url) for url in login.session.urls)


@pytest.mark.parametrize(
    ("login_url", "url", "sent_to"),
    [
        # a stand-in: its own https form and Entra's public host both reach it
        ("http://127.0.0.1:4981", f"{ENTRA}/t/v2.0/x", "http://127.0.0.1:4981/t/v2.0/x"),
        ("http://127.0.0.1:4981", "https://127.0.0.1:4981/t/x", "http://127.0.0.1:4981/t/x"),
        ("https://entra.example.test", f"{ENTRA}/t/x", "https://entra.example.test/t/x"),
        # Entra's own hosts: nothing is mapped, not even between clouds
        (ENTRA, f"{ENTRA}/t/x", f"{ENTRA}/t/x"),
        ("https://login.microsoftonline.us", f"{ENTRA}/t/x", f"{ENTRA}/t/x"),
        # other hosts are never mapped
        (
            "http://127.0.0.1:4981",
            "https://graph.microsoft.com/v1.0",
            "https://graph.microsoft.com/v1.0",
        ),
    ],
)
def test_one_mapping_for_the_login_host(login_url: str, url: str, sent_to: str) -> None:
    session = CountingSession()
    session.request = lambda method, u, *a, **k: session.urls.append(str(u)) or _ok()  # type: ignore[method-assign, assignment]
    LoginHttpClient(login_url, session=session).get(url)
    assert session.urls == [sent_to]


def _ok() -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response._content = b"{}"
    return response


async def test_the_running_bot_sends_every_login_call_through_one_client(tmp_path: Path) -> None:
    """App tokens, on-behalf-of, SSO keys and the Bot Connector's token: one client."""
    async with sandbox(
        database_url=f"sqlite:///{tmp_path / 'pimbot.db'}", run_scheduler=False, engine="pim"
    ) as running:
        services = running.services
        login = services.login
        assert login is not None
        users = {
            "app tokens": services.tokens._http_client,
            "on-behalf-of": services.delegated.tokens._http_client if services.delegated else None,
            "SSO keys": services.sso._login,  # type: ignore[attr-defined]
            "Bot Connector": services.channel.token_source._http_client
            if services.channel.token_source
            else None,
        }

    assert {name: client is login for name, client in users.items()} == dict.fromkeys(users, True)
