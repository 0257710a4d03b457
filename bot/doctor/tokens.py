"""Can pimbot get its two app tokens: the Bot Connector's and Microsoft Graph's? Both through
the same code the bot uses (`BotConnectorTokenSource`, `graph_token_provider`), against
`PIMBOT_LOGIN_URL`."""

from __future__ import annotations

import re

import requests

from bot.channel.credentials import BotConnectorTokenSource, build_token_source
from bot.client_credentials import ClientCredential, CredentialError, ManagedIdentity
from bot.doctor.report import Finding, fail, ok, skip
from bot.domain import GraphError
from bot.graph.tokens import TokenProvider
from bot.msal_http import LoginHttpClient
from bot.settings import AnonymousNotAllowed, AppType, CredentialKind, Settings

BOT_CONNECTOR = "Bot Connector token"
GRAPH = "Graph token"
_AADSTS = re.compile(r"AADSTS(\d+)")


async def bot_connector_token(
    settings: Settings, login: LoginHttpClient
) -> tuple[Finding, BotConnectorTokenSource | None]:
    """The finding, and the token source holding a token when there is one."""
    if settings.anonymous:
        try:
            settings.inbound_mode()
        except AnonymousNotAllowed as refusal:
            finding = fail(
                BOT_CONNECTOR,
                f"pimbot would not start: {refusal}",
                "Set MicrosoftAppId to the bot's app registration and its credential "
                "(docs/deploy.md, 'The app registration').",
            )
            return finding, None
        finding = skip(
            BOT_CONNECTOR,
            "MicrosoftAppId is empty (anonymous mode): there is no Bot Connector token to get",
            "Set MicrosoftAppId and its credential for Teams; anonymous mode is only for the "
            "Bot Framework Emulator and the Agents Playground.",
        )
        return finding, None
    try:
        source = build_token_source(settings, login)
        assert source is not None
        await source.refresh()
    except (CredentialError, ValueError) as exc:
        words = f"the credential settings cannot work: {exc}"
        return fail(BOT_CONNECTOR, words, _settings_fix()), None
    except requests.RequestException as exc:
        return _unreachable(BOT_CONNECTOR, settings, exc), None
    except Exception as exc:  # msal's and the identity endpoint's refusals
        finding = fail(
            BOT_CONNECTOR,
            f"Entra refused the token for app {settings.app_id}: {exc}",
            _fix_for(str(exc), settings, settings.app_id, _bot_credential_words(settings)),
        )
        return finding, None
    return ok(BOT_CONNECTOR, f"app {settings.app_id} got a token for the Bot Connector"), source


async def graph_token(
    settings: Settings,
    credential: ClientCredential | ManagedIdentity | None,
    tokens: TokenProvider | None,
    problem: str = "",
) -> Finding:
    """`tokens` is None (and `problem` says why) when the credential settings are unusable."""
    if tokens is None or credential is None:
        return fail(GRAPH, f"the Graph credential settings cannot work: {problem}", _settings_fix())
    client_id = _graph_principal(settings, credential)
    try:
        await tokens.token()
    except GraphError as exc:
        if isinstance(exc.__cause__, requests.RequestException) or exc.status == 503:
            return fail(
                GRAPH,
                f"no answer from Entra ({settings.login_url}): {exc.message}",
                f"Check that this machine reaches {settings.login_url} (proxy, firewall, DNS) "
                "and that PIMBOT_LOGIN_URL is your cloud's login host.",
            )
        return fail(
            GRAPH,
            f"Entra refused a Graph token for {client_id}: {exc.code}: {exc.message}",
            _fix_for(exc.message, settings, client_id, _graph_credential_words(settings)),
        )
    return ok(GRAPH, f"{client_id} got an app-only token for Microsoft Graph")


def _graph_principal(settings: Settings, credential: ClientCredential | ManagedIdentity) -> str:
    if isinstance(credential, ManagedIdentity):
        return f"managed identity {credential.client_id}"
    return f"app {settings.effective_graph_client_id}"


def _unreachable(check: str, settings: Settings, exc: Exception) -> Finding:
    return fail(
        check,
        f"no answer from Entra ({settings.login_url}): {type(exc).__name__}",
        f"Check that this machine reaches {settings.login_url} (proxy, firewall, DNS) and that "
        "PIMBOT_LOGIN_URL is your cloud's login host.",
    )


def _settings_fix() -> str:
    return (
        "Set one working credential: PIMBOT_APP_CREDENTIAL / PIMBOT_GRAPH_CREDENTIAL and what "
        "it needs (a readable PEM for a certificate, a secret, or IDENTITY_ENDPOINT with "
        "PIMBOT_MANAGED_IDENTITY_CLIENT_ID for a managed identity); docs/deploy.md, "
        "'The app registration'."
    )


def _bot_credential_words(settings: Settings) -> str:
    if settings.app_type is AppType.USER_ASSIGNED_MSI:
        return "the managed identity"
    match settings.effective_app_credential:
        case CredentialKind.CERTIFICATE:
            return "the certificate in PIMBOT_APP_CERTIFICATE_PATH"
        case CredentialKind.FEDERATED_IDENTITY:
            return "the managed identity's federated credential"
        case _:
            return "the client secret in MicrosoftAppPassword"


def _graph_credential_words(settings: Settings) -> str:
    match settings.effective_graph_credential:
        case CredentialKind.CERTIFICATE:
            return (
                "the certificate in PIMBOT_GRAPH_CERTIFICATE_PATH (or PIMBOT_APP_CERTIFICATE_PATH)"
            )
        case CredentialKind.FEDERATED_IDENTITY:
            return "the managed identity's federated credential"
        case CredentialKind.MANAGED_IDENTITY:
            return "the managed identity"
        case _:
            return "the client secret in PIMBOT_GRAPH_CLIENT_SECRET (or MicrosoftAppPassword)"


def _fix_for(error: str, settings: Settings, app: str, credential: str) -> str:
    """What to do about an Entra error, by its AADSTS code."""
    match = _AADSTS.search(error)
    code = match.group(1) if match else ""
    tenant = settings.app_tenant_id or settings.graph_tenant_id
    if code in ("7000215", "7000222"):
        return (
            f"{credential} is not a current secret of {app}: in the Entra admin center, App "
            f"registrations > {app} > Certificates & secrets > New client secret; set its Value "
            "(not its Secret ID) and keep it in Key Vault."
        )
    if code in ("700016", "700038"):
        return (
            f"{app} is not an app registration of tenant {tenant}: check MicrosoftAppId, "
            "PIMBOT_GRAPH_CLIENT_ID and MicrosoftAppTenantId / PIMBOT_TENANT_ID."
        )
    if code in ("90002", "900023", "90013"):
        return f"No tenant {tenant!r}: set MicrosoftAppTenantId and PIMBOT_TENANT_ID to its id."
    if code in ("700027", "700024", "70021", "700211", "700213", "700212"):
        return (
            f"Entra does not accept {credential} for {app}: upload that certificate's public part "
            "to the app registration, or add the federated credential for the container's "
            "managed identity (docs/deploy.md, 'The app registration')."
        )
    return (
        f"Check {credential} for {app} (docs/deploy.md, 'The app registration'); "
        "Entra's own words are above."
    )
