"""TeamsAppInstaller against the Entra and Graph twins over loopback: find or make the app's
installation for a user, then name the user's chat with the app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from aiohttp import web

from bot.graph.http import GraphHttp
from bot.graph.teams_apps import INSTALL_PERMISSION, InstallRefused, TeamsAppInstaller
from bot.graph.tokens import AppTokenProvider
from bot.sandbox.entra import GRAPH_RESOURCE, EntraTwin
from bot.sandbox.graph import GraphTwin
from bot.sandbox.tenant import DemoTenant, load_tenant

MEGAN = "9a5768bb-92d7-537a-b265-9aaefd3b6f1a"
INSTALLED_APPS = f"/v1.0/users/{MEGAN}/teamwork/installedApps"


@dataclass
class Twins:
    tenant: DemoTenant
    graph: GraphTwin
    installer: TeamsAppInstaller


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def twins(adjust: Callable[[DemoTenant], None] = lambda _: None) -> AsyncIterator[Twins]:
    tenant = load_tenant()
    adjust(tenant)
    entra = EntraTwin(tenant)
    graph = GraphTwin(tenant, verify_token=lambda token: entra.verify(token, GRAPH_RESOURCE))
    async with serve(entra.app) as login_url, serve(graph.app) as graph_url:
        entra.base_url = login_url
        app = tenant.pimbot_app
        tokens = AppTokenProvider(app.client_id, app.client_secret, tenant.tenant_id, login_url)
        http = GraphHttp(graph_url, tokens)
        try:
            yield Twins(tenant, graph, TeamsAppInstaller(http, graph.teamwork.catalog_app_id))
        finally:
            await http.aclose()


@pytest.fixture
async def sandbox() -> AsyncIterator[Twins]:
    async with twins() as running:
        yield running


async def test_installs_the_app_for_someone_without_it_and_names_their_chat(
    sandbox: Twins,
) -> None:
    chat = await sandbox.installer.personal_chat(MEGAN)

    assert chat.newly_installed
    assert chat.chat_id == f"19:{MEGAN}_{sandbox.tenant.pimbot_app.client_id}@unq.gbl.spaces"
    (install,) = [c for c in sandbox.graph.calls if c.method == "POST"]
    assert install.path == INSTALLED_APPS and install.status == 201
    assert install.json == {
        "teamsApp@odata.bind": "https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/"
        + sandbox.graph.teamwork.catalog_app_id
    }
    assert sandbox.graph.teamwork.host.is_installed(MEGAN)


async def test_an_existing_installation_is_used_as_it_is(sandbox: Twins) -> None:
    sandbox.graph.teamwork.host.install(MEGAN)

    chat = await sandbox.installer.personal_chat(MEGAN)

    assert not chat.newly_installed
    assert chat.installation_id == sandbox.graph.teamwork.installation_id(MEGAN)
    assert not [c for c in sandbox.graph.calls if c.method == "POST"]


async def test_an_app_permission_policy_that_blocks_the_app_is_a_refusal(sandbox: Twins) -> None:
    sandbox.graph.teamwork.blocked_users.add(MEGAN)

    with pytest.raises(InstallRefused):
        await sandbox.installer.personal_chat(MEGAN)


async def test_without_the_installation_permission_it_is_a_refusal() -> None:
    def without_permission(tenant: DemoTenant) -> None:
        tenant.pimbot_app.application_permissions.remove(INSTALL_PERMISSION)

    async with twins(without_permission) as running:
        with pytest.raises(InstallRefused):
            await running.installer.personal_chat(MEGAN)
        assert not running.graph.teamwork.host.is_installed(MEGAN)
