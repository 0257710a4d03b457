"""What the Entra twin publishes about itself: the OpenID configuration (v2 and v1) and msal's
instance discovery. Like Entra, every URL names the public host (`public_url`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from aiohttp import web

from bot.sandbox.entra.oauth_errors import OAuthError, missing_parameter
from bot.sandbox.entra.tokens import TokenIssuer


def openid_configuration(issuer: TokenIssuer, tenant: str, *, v2: bool) -> dict[str, Any]:
    """The document at `/{tenant}/[v2.0/].well-known/openid-configuration`; `tenant` is the
    tenant's id, or `common`/`organizations` (then the issuer has a `{tenantid}` placeholder)."""
    oauth = keys = f"{issuer.public_url}/{tenant}"
    version = "/v2.0" if v2 else ""
    issued_by = issuer.issuer_v2 if v2 else issuer.issuer_v1
    if tenant != issuer.tenant_id:
        issued_by = issued_by.replace(issuer.tenant_id, "{tenantid}")
    return {
        "issuer": issued_by,
        "authorization_endpoint": f"{oauth}/oauth2{version}/authorize",
        "token_endpoint": f"{oauth}/oauth2{version}/token",
        "device_authorization_endpoint": f"{oauth}/oauth2{version}/devicecode",
        "end_session_endpoint": f"{oauth}/oauth2{version}/logout",
        "jwks_uri": f"{keys}/discovery{version}/keys",
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "acr",
            "nonce",
            "preferred_username",
            "name",
            "tid",
            "ver",
            "at_hash",
            "c_hash",
            "email",
        ],
        "request_uri_parameter_supported": False,
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
        "msgraph_host": "graph.microsoft.com",
    }


def instance_discovery(request: web.Request) -> dict[str, Any]:
    """msal's `GET /common/discovery/instance` for an authority it does not know."""
    endpoint = request.query.get("authorization_endpoint")
    if not endpoint:
        raise missing_parameter("authorization_endpoint")
    parts = urlsplit(endpoint)
    segments = [s for s in parts.path.split("/") if s]
    if parts.scheme != "https" or not parts.netloc or not segments:
        raise OAuthError(400, "invalid_instance", 50049, "Unknown or invalid instance.")
    tenant = unquote(segments[0])
    host = parts.netloc
    if host == request.host.partition(":")[0] and "X-Forwarded-Host" not in request.headers:
        host = request.host  # msal drops the port of the authority it asks about
    return {
        "tenant_discovery_endpoint": (
            f"https://{host}/{tenant}/v2.0/.well-known/openid-configuration"
        ),
        "api-version": "1.1",
        "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
    }
