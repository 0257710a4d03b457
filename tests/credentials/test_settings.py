"""Which credential the settings choose: certificates and managed identities without code changes,
SingleTenant by default, and a misconfiguration stops the start-up with words, not a traceback
deep inside msal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.channel.credentials import authority_tenant
from bot.client_credentials import (
    ClientCertificate,
    ClientSecret,
    CredentialError,
    FederatedIdentity,
    ManagedIdentity,
    bot_connector_credential_from,
    graph_credential_from,
)
from bot.settings import AppType, CredentialKind, Settings
from tests.credentials.certificates import make_certificate

APP_ID = "7d3c8a5e-2f1b-4c6a-9e0d-5b4a3c2d1e0f"
IDENTITY_ID = "5b1f8c3e-8e0a-4d4b-9f55-1f0c6f2d7a10"
TENANT = "3f9a7c21-5b8e-4d6a-9c0f-1e2d3c4b5a69"
CONTAINER_APPS = {
    "IDENTITY_ENDPOINT": "http://localhost:42356/msi/token",
    "IDENTITY_HEADER": "per-container-header",
}


def settings(**values: Any) -> Settings:
    return Settings.model_validate(
        {"MicrosoftAppId": APP_ID, "MicrosoftAppTenantId": TENANT, **values}
    )


def test_the_default_app_type_is_single_tenant_as_azure_creates_bots_now() -> None:
    configured = Settings.model_validate({})
    assert configured.app_type is AppType.SINGLE_TENANT
    assert authority_tenant(settings()) == TENANT  # tokens from the bot's own tenant


def test_single_tenant_without_a_tenant_id_is_refused() -> None:
    with pytest.raises(ValueError, match="MicrosoftAppTenantId"):
        authority_tenant(Settings.model_validate({"MicrosoftAppId": APP_ID}))


def test_a_secret_is_what_it_was_before() -> None:
    configured = settings(MicrosoftAppPassword="s3cret")
    assert isinstance(bot_connector_credential_from(configured), ClientSecret)
    assert isinstance(graph_credential_from(configured), ClientSecret)


def test_a_certificate_file_serves_the_bot_connector_and_graph(tmp_path: Path) -> None:
    pem = tmp_path / "pimbot.pem"
    pem.write_bytes(make_certificate().combined)
    configured = settings(PIMBOT_APP_CERTIFICATE_PATH=str(pem))

    assert configured.effective_app_credential is CredentialKind.CERTIFICATE
    assert configured.effective_graph_credential is CredentialKind.CERTIFICATE
    bot = bot_connector_credential_from(configured)
    assert isinstance(bot, ClientCertificate)
    assert "PRIVATE" not in repr(bot)


def test_a_certificate_file_that_cannot_work_stops_the_start(tmp_path: Path) -> None:
    one, other = make_certificate(), make_certificate()
    mismatched = tmp_path / "mismatched.pem"
    mismatched.write_text(one.key + other.certificate)
    key_only = tmp_path / "key.pem"
    key_only.write_text(one.key)
    for path, words in (
        (mismatched, "not the private key's"),
        (key_only, "no certificate"),
        (tmp_path / "absent.pem", "cannot read"),
    ):
        with pytest.raises(CredentialError, match=words):
            graph_credential_from(settings(PIMBOT_GRAPH_CERTIFICATE_PATH=str(path)))


def test_user_assigned_msi_bot_uses_its_identity_for_the_bot_connector() -> None:
    configured = Settings.model_validate(
        {
            "MicrosoftAppId": IDENTITY_ID,
            "MicrosoftAppType": "UserAssignedMSI",
            "MicrosoftAppTenantId": TENANT,
            **CONTAINER_APPS,
        }
    )
    credential = bot_connector_credential_from(configured)
    assert isinstance(credential, ManagedIdentity) and credential.client_id == IDENTITY_ID
    assert authority_tenant(configured) == TENANT
    # Graph with no other credential: the identity itself holds the permissions.
    assert configured.effective_graph_credential is CredentialKind.MANAGED_IDENTITY
    assert isinstance(graph_credential_from(configured), ManagedIdentity)


def test_user_assigned_msi_without_the_identity_endpoint_is_refused() -> None:
    configured = Settings.model_validate(
        {"MicrosoftAppId": IDENTITY_ID, "MicrosoftAppType": "UserAssignedMSI"}
    )
    with pytest.raises(CredentialError, match="IDENTITY_ENDPOINT"):
        bot_connector_credential_from(configured)


def test_an_app_registration_trusting_the_identity_needs_no_secret_at_all() -> None:
    """What infra/ deploys: the bot's app registration has a federated credential for the
    container's user-assigned identity; neither the Bot Connector nor Graph needs a secret."""
    configured = settings(PIMBOT_MANAGED_IDENTITY_CLIENT_ID=IDENTITY_ID, **CONTAINER_APPS)

    for credential in (
        bot_connector_credential_from(configured),
        graph_credential_from(configured),
    ):
        assert isinstance(credential, FederatedIdentity)
        assert credential.identity.client_id == IDENTITY_ID
        assert credential.audience == "api://AzureADTokenExchange"


def test_an_explicit_choice_wins_over_auto(tmp_path: Path) -> None:
    configured = settings(
        MicrosoftAppPassword="s3cret",
        PIMBOT_GRAPH_CREDENTIAL="federated_identity",
        PIMBOT_MANAGED_IDENTITY_CLIENT_ID=IDENTITY_ID,
        **CONTAINER_APPS,
    )
    assert isinstance(graph_credential_from(configured), FederatedIdentity)
    assert isinstance(bot_connector_credential_from(configured), ClientSecret)
    with pytest.raises(CredentialError, match="UserAssignedMSI"):
        bot_connector_credential_from(settings(PIMBOT_APP_CREDENTIAL="managed_identity"))
