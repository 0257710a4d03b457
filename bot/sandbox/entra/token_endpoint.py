"""`POST /{tenant}/oauth2/v2.0/token`: the client credentials grant (app-only tokens for Graph and
the Bot Framework), on-behalf-of (a user's Graph token for the bot, with Conditional Access
claims challenges) and the device code grant of command-line tools (`device_code.py`), answered
with Entra's token body or error body."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.sandbox.entra.client_auth import ClientAuthenticator
from bot.sandbox.entra.device_code import DEVICE_CODE_GRANT, DeviceCodes
from bot.sandbox.entra.oauth_errors import (
    OAuthError,
    error_response,
    missing_parameter,
    tenant_in_path,
    unknown_resource,
)
from bot.sandbox.entra.tenant_view import AppRegistrationView, TenantView, find_user
from bot.sandbox.entra.tokens import (
    BOTFRAMEWORK_RESOURCE,
    GRAPH_RESOURCE,
    TOKEN_LIFETIME,
    InvalidToken,
    TokenIssuer,
)

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
DEFAULT_DELEGATED_SCOPES = (
    "RoleAssignmentSchedule.ReadWrite.Directory",
    "RoleEligibilitySchedule.ReadWrite.Directory",  # the admin side's conversions
    "AccessReview.ReadWrite.All",  # reviewers' access review decisions (pim engine)
    "RoleManagement.Read.Directory",
    "User.Read",
    "User.ReadBasic.All",
)


@dataclass
class TokenRequest:
    """One call to the token endpoint, as tests see it (no secrets, no tokens)."""

    grant_type: str
    client_id: str
    scope: str
    status: int
    error: str = ""


class TokenEndpoint:
    """The token endpoint of one tenant. `satisfied_auth_contexts(user_id)` says which
    authentication contexts the user's session has met (a challenge for one of them passes)."""

    def __init__(
        self,
        tenant: TenantView,
        issuer: TokenIssuer,
        now: Callable[[], datetime],
        satisfied_auth_contexts: Callable[[str], frozenset[str]],
    ) -> None:
        self.tenant = tenant
        self.issuer = issuer
        self._now = now
        self._satisfied_auth_contexts = satisfied_auth_contexts
        self._clients = ClientAuthenticator(tenant, issuer, now)
        self.device_codes = DeviceCodes(tenant, issuer, now)
        self.requests: list[TokenRequest] = []

    async def serve(self, request: web.Request) -> web.Response:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        grant_type = form.get("grant_type", "")
        record = TokenRequest(
            grant_type=grant_type,
            client_id=form.get("client_id", ""),
            scope=form.get("scope", ""),
            status=200,
        )
        self.requests.append(record)
        try:
            if grant_type == DEVICE_CODE_GRANT:  # a public client: no secret to check
                tenant_in_path(request, self.tenant.tenant_id, allow_common=True)
                body = self.device_codes.redeem(
                    form,
                    lambda app, scopes: self._delegated_scopes(
                        app, [s for s in scopes if s not in OIDC_SCOPES]
                    ),
                )
                return web.json_response(body, headers={"Cache-Control": "no-store, no-cache"})
            tenant = tenant_in_path(request, self.tenant.tenant_id)
            app = self._clients.authenticate(
                form,
                request.headers.get("Authorization", ""),
                token_endpoint=f"{self.issuer.public_url}/{tenant}/oauth2/v2.0/token",
            )
            record.client_id = app.client_id
            if grant_type == "client_credentials":
                body = self._client_credentials(app, form)
            elif grant_type == JWT_BEARER and form.get("requested_token_use") == "on_behalf_of":
                body = self._on_behalf_of(app, form)
            elif not grant_type:
                raise missing_parameter("grant_type")
            else:
                raise OAuthError(
                    400,
                    "unsupported_grant_type",
                    70003,
                    f"The app requested an unsupported grant type '{grant_type}'.",
                )
        except OAuthError as exc:
            record.status, record.error = exc.status, exc.error
            return self.refuse(request, exc)
        return web.json_response(body, headers={"Cache-Control": "no-store, no-cache"})

    def refuse(self, request: web.Request, exc: OAuthError) -> web.Response:
        return error_response(request, exc, now=self._now(), public_url=self.issuer.public_url)

    def _client_credentials(
        self, app: AppRegistrationView, form: Mapping[str, str]
    ) -> dict[str, Any]:
        scope = form.get("scope", "").strip()
        if not scope:
            raise missing_parameter("scope")
        scopes = scope.split()
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            raise OAuthError(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows "
                "must have a scope value with /.default suffixed to the resource identifier "
                "(application ID URI).",
            )
        resource = _canonical_resource(scopes[0].removesuffix("/.default"))
        if resource not in (GRAPH_RESOURCE, BOTFRAMEWORK_RESOURCE):
            raise unknown_resource(resource, self.tenant.tenant_id)
        return _token_body(self.issuer.app_token(app, resource))

    def _on_behalf_of(self, app: AppRegistrationView, form: Mapping[str, str]) -> dict[str, Any]:
        assertion = form.get("assertion", "")
        if not assertion:
            raise missing_parameter("assertion")
        scopes = form.get("scope", "").split()
        if not scopes:
            raise missing_parameter("scope")
        requested = [s for s in scopes if s not in OIDC_SCOPES]
        scp = self._delegated_scopes(app, requested)
        try:
            incoming = self.issuer.verify_any_audience(assertion)
        except InvalidToken as exc:
            raise OAuthError(
                400, "invalid_grant", 50013, f"Assertion failed signature validation. ({exc})"
            ) from exc
        if incoming.get("aud") not in (app.client_id, f"api://botid-{app.client_id}"):
            raise OAuthError(
                400,
                "invalid_grant",
                50013,
                "Assertion audience does not match the Client app presenting the assertion.",
            )
        user = find_user(self.tenant, str(incoming.get("oid", "")))
        if user is None:
            raise OAuthError(
                400, "invalid_grant", 50034, "The user account does not exist in the directory."
            )
        acrs = set(incoming.get("acrs") or ())
        challenged = _challenged_auth_contexts(form.get("claims", ""))
        acrs |= challenged & self._satisfied_auth_contexts(user.id)
        if challenged - acrs:
            # The middle tier cannot satisfy Conditional Access itself: Entra sends the claims
            # back for the client to use in an interactive sign-in.
            raise OAuthError(
                400,
                "interaction_required",
                50076,
                "Due to a configuration change made by your administrator, or because you "
                "moved to a new location, you must use multi-factor authentication to access "
                f"'{GRAPH_RESOURCE}'.",
                claims=form.get("claims", ""),
            )
        claims = self.issuer.user_claims(user) | {
            "aud": GRAPH_RESOURCE,
            "iss": self.issuer.issuer_v1,
            "idp": self.issuer.issuer_v1,
            "appid": app.client_id,
            "app_displayname": app.display_name,
            "appidacr": "1",
            "idtyp": "user",
            "scp": " ".join(scp),
            "amr": list(incoming.get("amr") or ["pwd"]),
            "unique_name": user.upn,
            "ver": "1.0",
        }
        if acrs:
            claims["acrs"] = sorted(acrs)
        capabilities = _client_capabilities(form.get("claims", ""))
        if capabilities:
            claims["xms_cc"] = capabilities
        body = _token_body(self.issuer.sign(claims)) | {
            "scope": " ".join(f"{GRAPH_RESOURCE}/{s}" for s in scp),
        }
        if "openid" in scopes:
            body["id_token"] = self.issuer.id_token(user, app.client_id)
        if form.get("client_info") == "1":
            info = json.dumps({"uid": user.id, "utid": self.tenant.tenant_id}).encode()
            body["client_info"] = base64.urlsafe_b64encode(info).rstrip(b"=").decode()
        return body

    def _delegated_scopes(self, app: AppRegistrationView, requested: Sequence[str]) -> list[str]:
        consented = list(getattr(app, "delegated_permissions", DEFAULT_DELEGATED_SCOPES))
        names: list[str] = []
        for scope in requested:
            resource, _, name = scope.rpartition("/")
            if _canonical_resource(resource or GRAPH_RESOURCE) != GRAPH_RESOURCE:
                raise unknown_resource(resource, self.tenant.tenant_id)
            if name == ".default":
                names.extend(consented)
            elif name in consented:
                names.append(name)
            else:
                raise OAuthError(
                    400,
                    "invalid_grant",
                    65001,
                    f"The user or administrator has not consented to use the application with "
                    f"ID '{app.client_id}' named '{app.display_name}'. Send an interactive "
                    f"authorization request for this user and resource. (scope {name})",
                )
        return list(dict.fromkeys(names))


def _token_body(access_token: str) -> dict[str, Any]:
    lifetime = int(TOKEN_LIFETIME.total_seconds()) - 1
    return {
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": access_token,
    }


def _canonical_resource(resource: str) -> str:
    resource = resource.rstrip("/")
    return GRAPH_RESOURCE if resource == GRAPH_APP_ID else resource


def _parse_claims(claims: str) -> dict[str, Any]:
    if not claims:
        return {}
    try:
        parsed = json.loads(claims)
    except ValueError as exc:
        raise OAuthError(
            400, "invalid_request", 90014, "The claims parameter is not valid JSON."
        ) from exc
    access = parsed.get("access_token") if isinstance(parsed, dict) else None
    return access if isinstance(access, dict) else {}


def _challenged_auth_contexts(claims: str) -> set[str]:
    """Values of an `acrs` claims challenge: `{"access_token":{"acrs":{"essential":true,
    "value":"c1"}}}` (or `"values": [...]`)."""
    acrs = _parse_claims(claims).get("acrs")
    if not isinstance(acrs, dict):
        return set()
    values = [acrs.get("value"), *(acrs.get("values") or [])]
    return {str(v) for v in values if v}


def _client_capabilities(claims: str) -> list[str]:
    xms_cc = _parse_claims(claims).get("xms_cc")
    if isinstance(xms_cc, dict):
        return [str(v) for v in xms_cc.get("values") or []]
    return []
