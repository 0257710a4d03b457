"""Entra ID twin: the parts of the v2.0 endpoint that pimbot, botbuilder and msal talk to.

Served routes (all on plain http; see "Public URLs" below):

- `GET /{tenant}/v2.0/.well-known/openid-configuration` (and the v1 variant without `/v2.0`)
- `GET /{tenant}/discovery/v2.0/keys`, `GET /{tenant}/discovery/keys` (the same RSA JWKS)
- `GET /common/discovery/instance` (msal's instance discovery for hosts it does not know)
- `POST /{tenant}/oauth2/v2.0/token`: client credentials and on-behalf-of, with Entra's error body;
  the client proves itself with a secret or a client assertion (`client_assertions.py`).
- `GET /msi/token`: the identity endpoint a container gets for its managed identities
  (`identity_endpoint.py`).

Public URLs. Like Entra, the metadata names the public host in every URL (issuer, endpoints,
`jwks_uri`): `https://login.microsoftonline.com/{tenant}/...` (`public_url`). The twin itself
serves plain http on loopback (`base_url`), so its clients must map the public host onto it, as
pimbot's `LoginHttpClient` does for `PIMBOT_LOGIN_URL`; a client that follows the metadata
verbatim fails here exactly as it would against a stand-in in production.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.sandbox.client_assertions import (
    JWT_BEARER_ASSERTION,
    AssertingApp,
    AssertionRefused,
    assertion_subject,
    verify_client_assertion,
)
from bot.sandbox.identity_endpoint import IdentityEndpointTwin

GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
BOTFRAMEWORK_RESOURCE = "https://api.botframework.com"
ENTRA_PUBLIC_URL = "https://login.microsoftonline.com"
TEAMS_CLIENT_APP_ID = "1fec8e78-bce4-4aaf-ab1b-5451cc387264"  # Teams desktop/mobile client
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
FEDERATED_TOKEN_AUDIENCE = "api://AzureADTokenExchange"
OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
DEFAULT_DELEGATED_SCOPES = (
    "RoleAssignmentSchedule.ReadWrite.Directory",
    "RoleManagement.Read.Directory",
    "User.Read",
    "User.ReadBasic.All",
)
TOKEN_LIFETIME = timedelta(hours=1)
_SP_NAMESPACE = uuid.UUID("8a6b0e9c-2f6e-4a53-9d7c-5e7d3c1f0a11")


# --- the tenant as this twin sees it (the demo tenant satisfies these) -------------------------


class TenantUserView(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def handle(self) -> str: ...
    @property
    def upn(self) -> str: ...
    @property
    def display_name(self) -> str: ...
    @property
    def mail(self) -> str | None: ...
    @property
    def timezone(self) -> str | None: ...


class AppRegistrationView(Protocol):
    @property
    def client_id(self) -> str: ...
    @property
    def client_secret(self) -> str: ...
    @property
    def display_name(self) -> str: ...
    @property
    def application_permissions(self) -> Iterable[str]: ...


class TenantView(Protocol):
    @property
    def tenant_id(self) -> str: ...
    @property
    def users(self) -> Sequence[TenantUserView]: ...
    @property
    def pimbot_app(self) -> AppRegistrationView: ...
    def user(self, ref: str) -> TenantUserView | None: ...


def find_user(tenant: TenantView, ref: str) -> TenantUserView | None:
    """The user named by handle, upn or object id; None when there is no such user (whether the
    tenant's own lookup returns None or raises)."""
    try:
        return tenant.user(ref)
    except (LookupError, ValueError):
        return None


def service_principal_id(client_id: str) -> str:
    """A stable object id for an app's service principal in the tenant."""
    return str(uuid.uuid5(_SP_NAMESPACE, client_id))


def utc_now() -> datetime:
    return datetime.now(UTC)


# --- signing keys ------------------------------------------------------------------------------


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class SigningKey:
    """An RSA key pair published as a JWK and used to sign RS256 tokens."""

    def __init__(self, kid: str | None = None, *, endorsements: Sequence[str] | None = None):
        self.kid = kid or secrets.token_urlsafe(16)
        self._private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._endorsements = list(endorsements) if endorsements is not None else None

    def jwk(self) -> dict[str, Any]:
        numbers = self._private.public_key().public_numbers()
        key: dict[str, Any] = {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
        }
        if self._endorsements is not None:
            key["endorsements"] = list(self._endorsements)
        return key

    def sign(self, claims: Mapping[str, Any]) -> str:
        return jwt.encode(
            dict(claims),
            self._private,
            algorithm="RS256",
            headers={"kid": self.kid, "x5t": self.kid, "typ": "JWT"},
        )

    def public_key(self) -> rsa.RSAPublicKey:
        return self._private.public_key()


# --- errors ------------------------------------------------------------------------------------


class InvalidToken(Exception):
    """A token this twin would not accept; the message says why (never the token)."""


@dataclass
class _OAuthError(Exception):
    status: int
    error: str
    code: int
    message: str
    claims: str = ""  # a claims challenge the client must satisfy interactively


def _missing(parameter: str) -> _OAuthError:
    return _OAuthError(
        400,
        "invalid_request",
        900144,
        f"The request body must contain the following parameter: '{parameter}'.",
    )


# --- the twin ----------------------------------------------------------------------------------


@dataclass
class TokenRequest:
    """One call to the token endpoint, as tests see it (no secrets, no tokens)."""

    grant_type: str
    client_id: str
    scope: str
    status: int
    error: str = ""


@dataclass
class _Session:
    satisfied_auth_contexts: set[str] = field(default_factory=set)


class EntraTwin:
    """Entra ID v2.0 for one tenant: metadata, keys and the token endpoint, plus helpers that mint
    what the Teams client would obtain silently (SSO tokens) and verify what this twin issued."""

    def __init__(
        self,
        tenant: TenantView,
        *,
        now: Callable[[], datetime] = utc_now,
        base_url: str = "http://127.0.0.1",
        public_url: str = ENTRA_PUBLIC_URL,
    ) -> None:
        self.tenant = tenant
        self.base_url = base_url.rstrip("/")  # where the twin listens
        self.public_url = public_url.rstrip("/")  # what its metadata and tokens name
        self._now = now
        self._key = SigningKey()
        self._sessions: dict[str, _Session] = {}
        self.token_requests: list[TokenRequest] = []
        self.app = web.Application()
        self.app.add_routes(
            [
                web.get("/common/discovery/instance", self._instance_discovery),
                web.get("/{tenant}/v2.0/.well-known/openid-configuration", self._openid_v2),
                web.get("/{tenant}/.well-known/openid-configuration", self._openid_v1),
                web.get("/{tenant}/discovery/v2.0/keys", self._keys),
                web.get("/{tenant}/discovery/keys", self._keys),
                web.post("/{tenant}/oauth2/v2.0/token", self._token),
            ]
        )
        self.identity_endpoint = IdentityEndpointTwin(self)
        self.identity_endpoint.install(self.app)

    # -- identities ------------------------------------------------------------------------

    @property
    def tenant_id(self) -> str:
        return self.tenant.tenant_id

    def now(self) -> datetime:
        return self._now()

    @property
    def issuer_v2(self) -> str:
        return f"{self.public_url}/{self.tenant_id}/v2.0"

    @property
    def issuer_v1(self) -> str:
        return f"https://sts.windows.net/{self.tenant_id}/"

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self._key.jwk()]}

    # -- user sessions ---------------------------------------------------------------------

    def satisfy_auth_contexts(self, user_ref: str, *values: str) -> None:
        """Record that the user's session met these authentication contexts (e.g. "c1")."""
        user = self._user(user_ref)
        self._sessions.setdefault(user.id, _Session()).satisfied_auth_contexts.update(values)

    def satisfied_auth_contexts(self, user_ref: str) -> frozenset[str]:
        session = self._sessions.get(self._user(user_ref).id)
        return frozenset(session.satisfied_auth_contexts) if session else frozenset()

    # -- tokens ----------------------------------------------------------------------------

    def mint_sso_token(
        self, user_ref: str, *, audience_app_id: str, mfa: bool, acrs: Sequence[str] = ()
    ) -> str:
        """The v2 access token Teams' client obtains silently for the bot's app (Teams SSO)."""
        user = self._user(user_ref)
        claims = self._user_claims(user) | {
            "aud": audience_app_id,
            "iss": self.issuer_v2,
            "azp": TEAMS_CLIENT_APP_ID,
            "azpacr": "0",
            "scp": "access_as_user",
            "ver": "2.0",
            "preferred_username": user.upn,
            "amr": ["pwd", "mfa"] if mfa else ["pwd"],
        }
        if acrs:
            claims["acrs"] = list(acrs)
        return self._key.sign(claims)

    def verify(self, token: str, audience: str) -> dict[str, Any]:
        """Claims of a token this twin issued for `audience`; raises `InvalidToken` otherwise."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("not a JWT") from exc
        if header.get("alg") != "RS256":
            raise InvalidToken("unexpected signing algorithm")
        if header.get("kid") != self._key.kid:
            raise InvalidToken("signed with an unknown key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key.public_key(),
                algorithms=["RS256"],
                options={
                    "verify_aud": False,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_iss": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"signature rejected: {type(exc).__name__}") from exc
        if claims.get("iss") not in (self.issuer_v1, self.issuer_v2):
            raise InvalidToken("issued by someone else")
        if claims.get("aud") != audience:
            raise InvalidToken(f"audience is not {audience}")
        now = self._now().timestamp()
        if not isinstance(claims.get("exp"), int | float) or now >= claims["exp"]:
            raise InvalidToken("expired")
        if isinstance(claims.get("nbf"), int | float) and now < claims["nbf"]:
            raise InvalidToken("not valid yet")
        return claims

    # -- claims builders -------------------------------------------------------------------

    def _times(self) -> dict[str, int]:
        issued = int(self._now().timestamp())
        return {
            "iat": issued,
            "nbf": issued,
            "exp": issued + int(TOKEN_LIFETIME.total_seconds()),
        }

    def _common(self) -> dict[str, Any]:
        return {
            "tid": self.tenant_id,
            "uti": secrets.token_urlsafe(16),
            "rh": "0.sandbox",
            "aio": secrets.token_urlsafe(24),
        } | self._times()

    def _user_claims(self, user: TenantUserView) -> dict[str, Any]:
        return self._common() | {
            "oid": user.id,
            "sub": str(uuid.uuid5(_SP_NAMESPACE, f"sub:{user.id}")),
            "upn": user.upn,
            "name": user.display_name,
        }

    def _app_token(self, app: AppRegistrationView, resource: str, *, principal_id: str = "") -> str:
        sp_id = principal_id or service_principal_id(app.client_id)
        claims = self._common() | {
            "aud": resource,
            "iss": self.issuer_v1,
            "idp": self.issuer_v1,
            "appid": app.client_id,
            "azp": app.client_id,
            "appidacr": "1",
            "app_displayname": app.display_name,
            "idtyp": "app",
            "oid": sp_id,
            "sub": sp_id,
            "ver": "1.0",
        }
        if resource == GRAPH_RESOURCE:
            claims["roles"] = sorted(app.application_permissions)
        return self._key.sign(claims)

    def _user(self, ref: str) -> TenantUserView:
        user = find_user(self.tenant, ref)
        if user is None:
            raise LookupError(f"no user {ref!r} in tenant {self.tenant_id}")
        return user

    # -- HTTP: metadata --------------------------------------------------------------------

    def _check_tenant(self, request: web.Request, *, allow_common: bool = False) -> str:
        tenant = request.match_info["tenant"]
        if tenant == self.tenant_id or (allow_common and tenant in ("common", "organizations")):
            return tenant
        raise _OAuthError(
            400,
            "invalid_tenant",
            90002,
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and "
            "are signing into the correct cloud.",
        )

    async def _openid_v2(self, request: web.Request) -> web.Response:
        return await self._guard(request, lambda: self._openid_document(request, v2=True))

    async def _openid_v1(self, request: web.Request) -> web.Response:
        return await self._guard(request, lambda: self._openid_document(request, v2=False))

    def _openid_document(self, request: web.Request, *, v2: bool) -> web.Response:
        tenant = self._check_tenant(request, allow_common=True)
        oauth = keys = f"{self.public_url}/{tenant}"
        version = "/v2.0" if v2 else ""
        issuer = self.issuer_v2 if v2 else self.issuer_v1
        if tenant != self.tenant_id:
            issuer = issuer.replace(self.tenant_id, "{tenantid}")
        document = {
            "issuer": issuer,
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
        return web.json_response(document)

    async def _keys(self, request: web.Request) -> web.Response:
        def keys() -> web.Response:
            self._check_tenant(request, allow_common=True)
            return web.json_response(self.jwks())

        return await self._guard(request, keys)

    async def _instance_discovery(self, request: web.Request) -> web.Response:
        def discovery() -> web.Response:
            endpoint = request.query.get("authorization_endpoint")
            if not endpoint:
                raise _missing("authorization_endpoint")
            parts = urlsplit(endpoint)
            segments = [s for s in parts.path.split("/") if s]
            if parts.scheme != "https" or not parts.netloc or not segments:
                raise _OAuthError(400, "invalid_instance", 50049, "Unknown or invalid instance.")
            tenant = unquote(segments[0])
            host = parts.netloc
            if host == request.host.partition(":")[0] and "X-Forwarded-Host" not in request.headers:
                host = request.host  # msal drops the port of the authority it asks about

            return web.json_response(
                {
                    "tenant_discovery_endpoint": (
                        f"https://{host}/{tenant}/v2.0/.well-known/openid-configuration"
                    ),
                    "api-version": "1.1",
                    "metadata": [
                        {"preferred_network": host, "preferred_cache": host, "aliases": [host]}
                    ],
                }
            )

        return await self._guard(request, discovery)

    # -- HTTP: token endpoint --------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        grant_type = form.get("grant_type", "")
        record = TokenRequest(
            grant_type=grant_type,
            client_id=form.get("client_id", ""),
            scope=form.get("scope", ""),
            status=200,
        )
        self.token_requests.append(record)
        try:
            self._check_tenant(request)
            app = self._authenticate_client(
                form,
                request.headers.get("Authorization", ""),
                token_endpoint=(
                    f"{self.public_url}/{request.match_info['tenant']}/oauth2/v2.0/token"
                ),
            )
            record.client_id = app.client_id
            if grant_type == "client_credentials":
                body = self._client_credentials(app, form)
            elif grant_type == JWT_BEARER and form.get("requested_token_use") == "on_behalf_of":
                body = self._on_behalf_of(app, form)
            elif not grant_type:
                raise _missing("grant_type")
            else:
                raise _OAuthError(
                    400,
                    "unsupported_grant_type",
                    70003,
                    f"The app requested an unsupported grant type '{grant_type}'.",
                )
        except _OAuthError as exc:
            record.status, record.error = exc.status, exc.error
            return self._error_response(request, exc)
        return web.json_response(body, headers={"Cache-Control": "no-store, no-cache"})

    def _authenticate_client(
        self, form: Mapping[str, str], authorization: str, *, token_endpoint: str
    ) -> AppRegistrationView:
        if form.get("client_assertion_type") or form.get("client_assertion"):
            return self._authenticate_by_assertion(form, token_endpoint)
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if authorization.startswith("Basic "):
            try:
                decoded = base64.b64decode(authorization[6:]).decode()
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise _OAuthError(401, "invalid_client", 7000215, "Invalid client secret.") from exc
            basic_id, _, basic_secret = decoded.partition(":")
            client_id, secret = client_id or unquote(basic_id), unquote(basic_secret)
        app = self._registered_app(client_id)
        if not secret:
            raise _OAuthError(
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or "
                "'client_secret'.",
            )
        if not app.client_secret or not secrets.compare_digest(
            secret.encode(), app.client_secret.encode()
        ):
            raise _OAuthError(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                "the client secret value, not the client secret ID, for a secret added to app "
                f"'{client_id}'.",
            )
        return app

    def _registered_app(self, client_id: str) -> AppRegistrationView:
        if not client_id:
            raise _missing("client_id")
        registered: list[AppRegistrationView] = list(
            getattr(self.tenant, "apps", None) or [self.tenant.pimbot_app]
        )
        app = next((a for a in registered if a.client_id == client_id), None)
        if app is None:
            raise _OAuthError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{self.tenant_id}'. This can happen if the application has not been installed "
                "by the administrator of the tenant or consented to by any user in the tenant.",
            )
        return app

    def _authenticate_by_assertion(
        self, form: Mapping[str, str], token_endpoint: str
    ) -> AppRegistrationView:
        if form.get("client_assertion_type") != JWT_BEARER_ASSERTION:
            raise _OAuthError(
                400,
                "invalid_request",
                50027 if form.get("client_assertion_type") else 900144,
                f"client_assertion_type must be '{JWT_BEARER_ASSERTION}' with a client_assertion.",
            )
        assertion = form.get("client_assertion", "")
        if not assertion:
            raise _missing("client_assertion")
        client_id = form.get("client_id") or assertion_subject(assertion)
        app = self._registered_app(client_id)
        try:
            verify_client_assertion(
                assertion,
                AssertingApp(
                    client_id=app.client_id,
                    certificates=list(getattr(app, "certificates", ())),
                    federated_credentials=list(getattr(app, "federated_credentials", ())),
                ),
                token_endpoint=token_endpoint,
                now=self._now().timestamp(),
                verify_entra_token=self.verify,
                entra_issuer=self.issuer_v2,
            )
        except AssertionRefused as exc:
            raise _OAuthError(401, exc.error, exc.code, exc.message) from None
        return app

    def managed_identity_token(self, identity: AppRegistrationView, resource: str) -> str:
        """What the identity endpoint hands a managed identity: for the token exchange audience
        (`api://AzureADTokenExchange`), a v2 token about the identity to use as a federated
        client assertion; for a resource, an app-only token like any app's."""
        principal_id = str(getattr(identity, "principal_id", ""))
        if resource != FEDERATED_TOKEN_AUDIENCE:
            return self._app_token(identity, resource, principal_id=principal_id)
        return self._key.sign(
            self._common()
            | {
                "aud": resource,
                "iss": self.issuer_v2,
                "azp": identity.client_id,
                "azpacr": "2",
                "oid": principal_id,
                "sub": principal_id,
                "idtyp": "app",
                "ver": "2.0",
            }
        )

    def _client_credentials(
        self, app: AppRegistrationView, form: Mapping[str, str]
    ) -> dict[str, Any]:
        scope = form.get("scope", "").strip()
        if not scope:
            raise _missing("scope")
        scopes = scope.split()
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            raise _OAuthError(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows "
                "must have a scope value with /.default suffixed to the resource identifier "
                "(application ID URI).",
            )
        resource = _canonical_resource(scopes[0].removesuffix("/.default"))
        if resource not in (GRAPH_RESOURCE, BOTFRAMEWORK_RESOURCE):
            raise self._unknown_resource(resource)
        return _token_body(self._app_token(app, resource))

    def _on_behalf_of(self, app: AppRegistrationView, form: Mapping[str, str]) -> dict[str, Any]:
        assertion = form.get("assertion", "")
        if not assertion:
            raise _missing("assertion")
        scopes = form.get("scope", "").split()
        if not scopes:
            raise _missing("scope")
        requested = [s for s in scopes if s not in OIDC_SCOPES]
        scp = self._delegated_scopes(app, requested)
        try:
            incoming = self._verify_any_audience(assertion)
        except InvalidToken as exc:
            raise _OAuthError(
                400, "invalid_grant", 50013, f"Assertion failed signature validation. ({exc})"
            ) from exc
        if incoming.get("aud") not in (app.client_id, f"api://botid-{app.client_id}"):
            raise _OAuthError(
                400,
                "invalid_grant",
                50013,
                "Assertion audience does not match the Client app presenting the assertion.",
            )
        user = find_user(self.tenant, str(incoming.get("oid", "")))
        if user is None:
            raise _OAuthError(
                400, "invalid_grant", 50034, "The user account does not exist in the directory."
            )
        acrs = set(incoming.get("acrs") or ())
        challenged = _challenged_auth_contexts(form.get("claims", ""))
        acrs |= challenged & self.satisfied_auth_contexts(user.id)
        if challenged - acrs:
            # The middle tier cannot satisfy Conditional Access itself: Entra sends the claims
            # back for the client to use in an interactive sign-in.
            raise _OAuthError(
                400,
                "interaction_required",
                50076,
                "Due to a configuration change made by your administrator, or because you "
                "moved to a new location, you must use multi-factor authentication to access "
                f"'{GRAPH_RESOURCE}'.",
                claims=form.get("claims", ""),
            )
        claims = self._user_claims(user) | {
            "aud": GRAPH_RESOURCE,
            "iss": self.issuer_v1,
            "idp": self.issuer_v1,
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
        body = _token_body(self._key.sign(claims)) | {
            "scope": " ".join(f"{GRAPH_RESOURCE}/{s}" for s in scp),
        }
        if "openid" in scopes:
            body["id_token"] = self._id_token(user, app.client_id)
        if form.get("client_info") == "1":
            info = json.dumps({"uid": user.id, "utid": self.tenant_id}).encode()
            body["client_info"] = base64.urlsafe_b64encode(info).rstrip(b"=").decode()
        return body

    def _delegated_scopes(self, app: AppRegistrationView, requested: Sequence[str]) -> list[str]:
        consented = list(getattr(app, "delegated_permissions", DEFAULT_DELEGATED_SCOPES))
        names: list[str] = []
        for scope in requested:
            resource, _, name = scope.rpartition("/")
            if _canonical_resource(resource or GRAPH_RESOURCE) != GRAPH_RESOURCE:
                raise self._unknown_resource(resource)
            if name == ".default":
                names.extend(consented)
            elif name in consented:
                names.append(name)
            else:
                raise _OAuthError(
                    400,
                    "invalid_grant",
                    65001,
                    f"The user or administrator has not consented to use the application with "
                    f"ID '{app.client_id}' named '{app.display_name}'. Send an interactive "
                    f"authorization request for this user and resource. (scope {name})",
                )
        return list(dict.fromkeys(names))

    def _verify_any_audience(self, token: str) -> dict[str, Any]:
        try:
            audience = str(jwt.decode(token, options={"verify_signature": False}).get("aud", ""))
        except jwt.PyJWTError as exc:
            raise InvalidToken("not a JWT") from exc
        return self.verify(token, audience)

    def _id_token(self, user: TenantUserView, client_id: str) -> str:
        return self._key.sign(
            self._user_claims(user)
            | {
                "aud": client_id,
                "iss": self.issuer_v2,
                "preferred_username": user.upn,
                "ver": "2.0",
            }
        )

    def _unknown_resource(self, resource: str) -> _OAuthError:
        return _OAuthError(
            400,
            "invalid_resource",
            500011,
            f"The resource principal named {resource} was not found in the tenant named "
            f"{self.tenant_id}. This can happen if the application has not been installed by the "
            "administrator of the tenant or consented to by any user in the tenant.",
        )

    # -- HTTP: errors ----------------------------------------------------------------------

    async def _guard(
        self, request: web.Request, handler: Callable[[], web.Response]
    ) -> web.Response:
        try:
            return handler()
        except _OAuthError as exc:
            return self._error_response(request, exc)

    def _error_response(self, request: web.Request, exc: _OAuthError) -> web.Response:
        trace_id = str(uuid.uuid4())
        correlation_id = request.headers.get("client-request-id") or str(uuid.uuid4())
        timestamp = self._now().astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        description = (
            f"AADSTS{exc.code}: {exc.message} Trace ID: {trace_id} "
            f"Correlation ID: {correlation_id} Timestamp: {timestamp}"
        )
        body = {
            "error": exc.error,
            "error_description": description,
            "error_codes": [exc.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"{self.public_url}/error?code={exc.code}",
        }
        if exc.claims:
            body["claims"] = exc.claims
        return web.json_response(body, status=exc.status)


# --- helpers -----------------------------------------------------------------------------------


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
        raise _OAuthError(
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
