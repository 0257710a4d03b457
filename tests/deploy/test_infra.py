"""The Azure deployment in infra/ gives the container exactly the settings `bot/settings.py`
reads, credentials only as Key Vault references, and the shape the issue asks for."""

from __future__ import annotations

import re
from pathlib import Path

from bot.settings import AppType, CredentialKind, Settings
from tests.deploy.settings_env import env_names, secret_env_names

INFRA = Path(__file__).resolve().parents[2] / "infra"
MAIN = (INFRA / "main.bicep").read_text(encoding="utf-8")
CONTAINER_APP = (INFRA / "modules" / "containerapp.bicep").read_text(encoding="utf-8")
BOT = (INFRA / "modules" / "bot.bicep").read_text(encoding="utf-8")

# `name: 'X'` followed (after optional comments) by `value:` or `secretRef:`: one env entry.
ENV_ENTRY = re.compile(r"name: '([^']+)'\s*\n(?:\s*//[^\n]*\n)*\s*(value|secretRef): ([^\n]+)")


def container_env() -> dict[str, tuple[str, str]]:
    """Env name -> ("value" | "secretRef", expression) as the container app sets it."""
    return {m.group(1): (m.group(2), m.group(3).strip()) for m in ENV_ENTRY.finditer(CONTAINER_APP)}


def test_every_variable_the_container_gets_is_a_setting_pimbot_reads() -> None:
    unknown = set(container_env()) - set(env_names().values())
    assert not unknown, f"not in bot/settings.py: {sorted(unknown)}"


def test_the_container_gets_the_settings_a_teams_deployment_needs() -> None:
    required = {
        "MicrosoftAppId",
        "MicrosoftAppType",
        "PIMBOT_APP_CREDENTIAL",
        "PIMBOT_MANAGED_IDENTITY_CLIENT_ID",
        "PIMBOT_DATABASE_AUTH",
        "MicrosoftAppTenantId",
        "PIMBOT_TENANT_ID",
        "PIMBOT_DATABASE_URL",
        "PIMBOT_ENGINE",
        "PIMBOT_PUBLIC_HOSTNAME",
        "PORT",
    }
    assert required <= set(container_env())


def test_credentials_come_from_key_vault_only() -> None:
    env = container_env()
    for name in secret_env_names() & set(env):
        kind, ref = env[name]
        if name == "PIMBOT_DATABASE_URL" and env["PIMBOT_DATABASE_AUTH"][1] == "'managed_identity'":
            continue  # no password in it (test_the_database_takes_the_identitys_token)
        assert kind == "secretRef", f"{name} is set as a plain value"
        secret = re.search(
            rf"name: {ref}\s*\n\s*keyVaultUrl: (\w+)\s*\n\s*identity: identityId", CONTAINER_APP
        )
        assert secret, f"{name}: secret {ref} is not a Key Vault reference read by the identity"
    assert "value: microsoftAppPassword" not in CONTAINER_APP
    # Every secret of the app is a Key Vault reference: none carries a value of its own.
    blocks = re.findall(r"^var \w+Secrets = (.*?)^\]", CONTAINER_APP, re.MULTILINE | re.DOTALL)
    assert blocks and "secrets: concat(appSecrets, graphSecrets, telemetrySecrets)" in CONTAINER_APP
    for block in blocks:
        assert "keyVaultUrl:" in block and "value:" not in block


def test_the_app_type_is_one_pimbot_accepts_and_the_bot_resource_agrees() -> None:
    kind, value = container_env()["MicrosoftAppType"]
    assert kind == "value" and value.strip("'") in {t.value for t in AppType}
    assert f"msaAppType: {value}" in BOT


def test_the_container_listens_where_ingress_and_probes_send_traffic() -> None:
    port = re.search(r"^var port = (\d+)$", CONTAINER_APP, re.MULTILINE)
    assert port and int(port.group(1)) == Settings.model_fields["port"].default
    assert container_env()["PORT"] == ("value", "string(port)")
    assert "targetPort: port" in CONTAINER_APP
    assert re.findall(r"path: '(/\w+)'", CONTAINER_APP) == ["/healthz", "/healthz", "/readyz"]


def test_metrics_have_their_own_port_and_the_ingress_exposes_only_the_bots() -> None:
    metrics_port = re.search(r"^var metricsPort = (\d+)$", CONTAINER_APP, re.MULTILINE)
    assert metrics_port
    assert int(metrics_port.group(1)) == Settings.model_fields["metrics_port"].default
    assert container_env()["PIMBOT_METRICS_PORT"] == ("value", "string(metricsPort)")
    ingress = re.search(r"ingress: \{(.*?)\n      \}", CONTAINER_APP, re.DOTALL)
    assert ingress and "targetPort: port" in ingress.group(1)
    assert "metricsPort" not in ingress.group(1)
    assert "additionalPortMappings" not in CONTAINER_APP
    assert "exposedPort" not in CONTAINER_APP


def test_at_least_two_replicas() -> None:
    for text in (MAIN, CONTAINER_APP):
        assert re.search(
            r"@minValue\(2\)\s*\n(?:@description\([^\n]*\)\s*\n)?param minReplicas int", text
        )
    default = re.search(r"param minReplicas int = (\d+)", MAIN)
    assert default and int(default.group(1)) >= 2
    assert "minReplicas: minReplicas" in CONTAINER_APP


def test_the_bot_sends_teams_to_api_messages() -> None:
    assert "/api/messages'" in CONTAINER_APP
    assert "messagingEndpoint: app.outputs.messagingEndpoint" in MAIN
    assert "channelName: 'MsTeamsChannel'" in BOT


def test_the_bot_connection_and_the_setting_pimbot_reads_share_one_name() -> None:
    """The sign-in card asks Teams for PIMBOT_OAUTH_CONNECTION: the Azure Bot's connection must
    bear that very name, so both come from one parameter whose default is pimbot's."""
    from bot.channel.rendering import SSO_CONNECTION_NAME

    assert f"param oauthConnectionName string = '{SSO_CONNECTION_NAME}'" in MAIN
    assert "connectionName: oauthConnectionName" in MAIN  # to the bot module
    assert "oauthConnectionName: oauthConnectionName" in MAIN  # to the container app
    assert "name: connectionName" in BOT
    assert container_env()["PIMBOT_OAUTH_CONNECTION"] == ("value", "oauthConnectionName")


def test_the_sign_in_connection_yields_a_token_pimbot_can_use() -> None:
    """The card's Sign in button ends in a token for the connection's scope: pimbot validates
    it as an SSO token (audience its own app) and exchanges it on-behalf-of."""
    assert (
        "scopes: 'openid profile offline_access api://botid-${microsoftAppId}/access_as_user'"
        in BOT
    )
    assert "value: 'api://botid-${microsoftAppId}'" in BOT  # the Token Exchange URL


def test_every_module_exists_and_every_parameter_is_documented() -> None:
    for module in re.findall(r"^module \w+ '([^']+)'", MAIN, re.MULTILINE):
        assert (INFRA / module).is_file(), module
    readme = (INFRA / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(\w+)` \|", readme, re.MULTILINE))
    parameters = set(re.findall(r"^param (\w+) ", MAIN, re.MULTILINE))
    assert parameters - documented == set(), "parameters missing from infra/README.md"
    assert documented - parameters == set(), "infra/README.md documents parameters that are gone"


POSTGRES = (INFRA / "modules" / "postgres.bicep").read_text(encoding="utf-8")
KEYVAULT = (INFRA / "modules" / "keyvault.bicep").read_text(encoding="utf-8")


def test_the_default_deployment_has_no_secret_the_identity_signs_in() -> None:
    assert "param appCredential string = 'federatedIdentity'" in MAIN
    assert "param microsoftAppPassword string = ''" in MAIN
    # The secret reaches Key Vault, the container and the bot only when chosen.
    assert "microsoftAppPassword: appCredential == 'secret' ? microsoftAppPassword : ''" in MAIN
    assert "module appPassword 'vault-secret.bicep' = if (!empty(microsoftAppPassword))" in KEYVAULT
    assert "var appSecrets = empty(appPasswordSecretUri) ? [] : [" in CONTAINER_APP
    assert "resource sso 'Microsoft.BotService/botServices/connections@2022-09-15' = if (" in BOT
    env = container_env()
    assert env["PIMBOT_APP_CREDENTIAL"] == (
        "value",
        "appCredential == 'secret' ? 'secret' : 'federated_identity'",
    )
    assert {"secret", "federated_identity"} <= {k.value for k in CredentialKind}
    assert env["PIMBOT_MANAGED_IDENTITY_CLIENT_ID"] == ("value", "managedIdentityClientId")
    assert "managedIdentityClientId: identity.outputs.clientId" in MAIN
    assert "output federatedCredentialSubject string = identity.outputs.principalId" in MAIN


def test_the_database_takes_the_identitys_token_verifies_tls_and_has_no_password() -> None:
    env = container_env()
    assert env["PIMBOT_DATABASE_AUTH"] == ("value", "'managed_identity'")
    assert env["PIMBOT_DATABASE_URL"] == ("value", "databaseUrl")
    url = re.search(r"databaseUrl: '(postgresql://[^']+)'", MAIN)
    assert url, "main.bicep gives the container no database URL"
    assert url.group(1).endswith("?sslmode=verify-full")
    user = url.group(1).removeprefix("postgresql://").split("@")[0]
    assert ":" not in user.replace("${uriComponent(identityName)}", ""), "a password in the URL"
    assert "${uriComponent(identityName)}@" in url.group(1)  # the identity's role, not an admin
    assert "passwordAuth: 'Disabled'" in POSTGRES and "activeDirectoryAuth: 'Enabled'" in POSTGRES
    assert "administratorLoginPassword" not in POSTGRES
    # The server's Entra administrator is a group of people, never pimbot's identity.
    assert "entraAdministratorObjectId: postgresEntraAdminObjectId" in MAIN
    assert (INFRA / "postgres" / "grants.sql").is_file()


MONITORING = (INFRA / "modules" / "monitoring.bicep").read_text(encoding="utf-8")
VAULT_SECRET = (INFRA / "modules" / "vault-secret.bicep").read_text(encoding="utf-8")


def resource_block(text: str, declaration: str) -> str:
    """The body of `resource <declaration> = {`, up to its closing brace at column 0."""
    start = text.index(f"resource {declaration} = {{")
    return text[start : text.index("\n}\n", start)]


def test_application_insights_is_workspace_based_and_takes_entra_tokens_only() -> None:
    component = resource_block(MONITORING, "insights 'Microsoft.Insights/components@2020-02-02'")
    assert "WorkspaceResourceId: workspace.id" in component  # the Log Analytics workspace
    assert "IngestionMode: 'LogAnalytics'" in component
    assert "DisableLocalAuth: true" in component
    # The identity may publish telemetry to it: Monitoring Metrics Publisher, on the component.
    publish = resource_block(
        MONITORING, "publishTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01'"
    )
    assert "scope: insights" in publish and "principalId: publisherPrincipalId" in publish
    assert "var metricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'" in MONITORING
    assert "publisherPrincipalId: identity.outputs.principalId" in MAIN
    # The connection string leaves the component only into Key Vault, never as an output.
    for text in (MONITORING, KEYVAULT, MAIN):
        outputs = re.findall(r"^output (.*)$", text, re.MULTILINE)
        assert not [o for o in outputs if "properties.ConnectionString" in o], outputs
    assert "properties.ConnectionString" not in MONITORING + MAIN


def test_the_connection_string_reaches_the_container_from_key_vault_only() -> None:
    assert "value: insights.properties.ConnectionString" in KEYVAULT
    assert "module insightsConnection 'vault-secret.bicep' = {" in KEYVAULT  # always stored
    assert "@secure()\n@description('The secret value.')\nparam value string" in VAULT_SECRET
    uri = "applicationInsightsConnectionStringUri"
    assert f"{uri}: vault.outputs.{uri}" in MAIN
    env = container_env()
    assert env["APPLICATIONINSIGHTS_CONNECTION_STRING"] == (
        "secretRef",
        "'applicationinsights-connection-string'",
    )
    assert re.search(
        r"name: 'applicationinsights-connection-string'\s*\n"
        r"\s*keyVaultUrl: applicationInsightsConnectionStringUri\s*\n\s*identity: identityId",
        CONTAINER_APP,
    )
    assert "telemetrySecrets)" in CONTAINER_APP and "telemetryEnv)" in CONTAINER_APP
    # A secret without an expiry gets no `exp` (Key Vault treats a secret past it as expired).
    assert "attributes: expiresOn > 0 ? {" in VAULT_SECRET


def test_the_exporter_authenticates_as_the_managed_identity() -> None:
    """Local authentication is off, so pimbot must present the identity's token, and the
    value is one pimbot accepts."""
    from bot.telemetry import entra_credential

    kind, value = container_env()["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]
    assert (kind, value) == ("value", "'Authorization=AAD;ClientId=${managedIdentityClientId}'")
    credential = entra_credential(
        value.strip("'").replace("${managedIdentityClientId}", "client-id"),
        identity_endpoint="http://localhost:42356/msi/token",
        identity_header="h",
        default_client_id="",
    )
    assert credential is not None and credential.client_id == "client-id"
