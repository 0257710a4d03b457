"""The twins runner: all three twins in their own thread, reachable with the bot's own clients."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from aiohttp.test_utils import TestServer

from bot.graph.tokens import AppTokenProvider
from bot.sandbox.teams import SandboxClient
from bot.sandbox.tenant import load_tenant
from bot.sandbox.twins import Twins
from bot.settings import Settings
from tests.sandbox_teams.echo_bot import EchoBot


@pytest.fixture
def twins() -> Iterator[Twins]:
    with Twins(load_tenant(), bot_url="http://127.0.0.1:9/api/messages") as running:
        yield running


def test_bot_environment_points_at_the_running_twins(twins: Twins) -> None:
    env = twins.bot_environment()
    settings = Settings(_env_file=None, **env)  # type: ignore[call-arg]
    assert settings.app_id == twins.tenant.pimbot_app.client_id
    assert settings.app_type == "SingleTenant"
    assert settings.graph_url == twins.graph_url and settings.login_url == twins.login_url
    assert env["PIMBOT_BOTFRAMEWORK_OPENID_URL"] == (
        f"{twins.service_url}v1/.well-known/openidconfiguration"
    )
    assert twins.service_url.endswith("/") and twins.entra.base_url == twins.login_url
    with httpx.Client() as http:
        metadata = http.get(env["PIMBOT_BOTFRAMEWORK_OPENID_URL"]).json()
    assert metadata["issuer"] == "https://api.botframework.com"


def test_anonymous_twins_give_the_bot_no_app_id_but_graph_credentials() -> None:
    tenant = load_tenant()
    with Twins(tenant, bot_url="http://127.0.0.1:9/api/messages", anonymous=True) as twins:
        env = twins.bot_environment()
    assert env["MicrosoftAppId"] == "" and env["MicrosoftAppPassword"] == ""
    assert env["PIMBOT_ALLOW_ANONYMOUS"] == "true"
    assert env["PIMBOT_GRAPH_CLIENT_ID"] == tenant.pimbot_app.client_id


async def test_pimbots_own_token_provider_gets_a_token_that_graph_accepts(twins: Twins) -> None:
    app = twins.tenant.pimbot_app
    provider = AppTokenProvider(
        app.client_id, app.client_secret, twins.tenant.tenant_id, twins.login_url
    )
    token = await provider.token()
    async with httpx.AsyncClient() as http:
        response = await http.get(
            f"{twins.graph_url}/v1.0/roleManagement/directory/roleDefinitions",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200
    assert response.json()["value"]


async def test_teams_twin_in_its_thread_talks_to_a_bot_on_this_loop() -> None:
    tenant = load_tenant()
    with Twins(tenant, bot_url="http://127.0.0.1:9/api/messages") as twins:
        bot = EchoBot(twins.entra, tenant.pimbot_app.client_id, tenant.pimbot_app.client_secret)
        server = TestServer(bot.app, host="127.0.0.1", port=0)
        await server.start_server()
        try:
            await twins.acall(lambda: _set_bot_url(twins, str(server.make_url("/api/messages"))))
            async with SandboxClient(twins.service_url) as client:
                await client.say("adele", "hello")
                messages = await client.messages("adele")
        finally:
            await server.close()
    assert [m["text"] for m in messages] == ["hello", "echo: hello"]


async def _set_bot_url(twins: Twins, url: str) -> None:
    twins.teams.bot_url = url


def test_stop_twice_is_harmless() -> None:
    twins = Twins(load_tenant(), bot_url="http://127.0.0.1:9/api/messages")
    twins.start()
    twins.stop()
    twins.stop()
    with pytest.raises(RuntimeError):
        twins.call(_noop)


async def _noop() -> None:
    return None
