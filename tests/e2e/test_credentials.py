"""The whole bot with no secret anywhere: the app registration in the Entra twin has no client
secret, only a certificate or a federated credential for the container's managed identity;
pimbot gets its Graph and Bot Connector tokens with client assertions, and a person is served as
usual."""

from __future__ import annotations

from pathlib import Path

from bot.sandbox.runner import sandbox
from bot.sandbox.teams.client import SandboxClient
from bot.sandbox.teams.person import Person
from bot.sandbox.tenant import FederatedCredential, load_tenant
from tests.credentials.certificates import make_certificate
from tests.credentials.test_against_entra import IDENTITY
from tests.support.clock import FakeClock


async def test_pimbot_serves_people_on_a_certificate_with_no_secret_anywhere(
    tmp_path: Path,
) -> None:
    tenant = load_tenant()
    app = tenant.pimbot_app
    pem = make_certificate()
    app.client_secret = ""  # the registration has no secret at all
    app.certificates.append(pem.certificate)
    key_file = tmp_path / "pimbot.pem"
    key_file.write_bytes(pem.combined)

    async with (
        sandbox(
            tenant=tenant,
            database_url=f"sqlite:///{tmp_path / 'pimbot.db'}",
            state_dir=tmp_path,
            now=FakeClock(),
            run_scheduler=False,
            app_password="",
            graph_client_secret="",
            app_certificate_path=str(key_file),
        ) as running,
        SandboxClient(running.twins.service_url) as client,
    ):
        adele = Person(client, "adele")
        await adele.say("my roles")
        assert "Exchange Administrator" in await adele.chat_text()

        requests = running.twins.entra.token_requests
        grants = [r for r in requests if r.grant_type == "client_credentials"]
        assert grants and all(r.status == 200 for r in grants), grants
        scopes = {r.scope for r in grants}
        assert "https://graph.microsoft.com/.default" in scopes
        assert "https://api.botframework.com/.default" in scopes


async def test_pimbot_serves_people_as_its_managed_identity_as_infra_deploys_it(
    tmp_path: Path,
) -> None:
    """What infra/ deploys: the registration trusts the user-assigned identity (a federated
    credential); the container has the identity endpoint and no credential setting at all."""
    tenant = load_tenant()
    tenant.managed_identities.append(IDENTITY)
    app = tenant.pimbot_app
    app.client_secret = ""
    app.federated_credentials.append(FederatedCredential(subject=IDENTITY.principal_id))

    async with (
        sandbox(
            tenant=tenant,
            database_url=f"sqlite:///{tmp_path / 'pimbot.db'}",
            state_dir=tmp_path,
            now=FakeClock(),
            run_scheduler=False,
            managed_identity=IDENTITY.client_id,
            app_password="",
            graph_client_secret="",
        ) as running,
        SandboxClient(running.twins.service_url) as client,
    ):
        adele = Person(client, "adele")
        await adele.say("my roles")
        assert "Exchange Administrator" in await adele.chat_text()

        grants = [
            r for r in running.twins.entra.token_requests if r.grant_type == "client_credentials"
        ]
        assert grants and all(r.status == 200 for r in grants), grants
        assert {r.scope for r in grants} >= {
            "https://graph.microsoft.com/.default",
            "https://api.botframework.com/.default",
        }
        identity_calls = running.twins.entra.identity_endpoint.requests
        assert identity_calls and {c[1] for c in identity_calls} == {"api://AzureADTokenExchange"}
