"""How pimbot proves who it is to Entra: a client secret, a certificate, or a managed identity.

- `ClientSecret`: the app registration's secret (what msal calls `client_credential=str`).
- `ClientCertificate`: a PEM file holding the private key and its certificate. msal signs a client
  assertion with it (PS256, `x5t#S256` header: the certificate's SHA-256 thumbprint); the private
  key never leaves the process.
- `FederatedIdentity`: the app registration trusts a managed identity (a federated identity
  credential with issuer `{login}/{tenant}/v2.0`, subject the identity's object id, audience
  `api://AzureADTokenExchange`); the identity's token for that audience is the client assertion.
- `ManagedIdentity`: tokens straight from the identity endpoint that Azure Container Apps and App
  Service give a container (`IDENTITY_ENDPOINT` and `IDENTITY_HEADER`), for a user-assigned
  identity named by its client id; `BlockingManagedIdentity` is the same for threads that block
  (azure-core's `get_token`, for the Azure Monitor exporter).

msal's own `ManagedIdentityClient` reads `IDENTITY_ENDPOINT` from `os.environ` at call time, so
the endpoint could not be a setting (or a stand-in in tests) without changing the process's
environment; the endpoint's protocol is small, so `ManagedIdentity` speaks it itself, with httpx,
on the event loop.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import SecretStr

from bot.settings import AppType, CredentialKind, DatabaseAuth, Settings

FEDERATED_TOKEN_AUDIENCE = "api://AzureADTokenExchange"
# Azure Database for PostgreSQL accepts Entra tokens for this resource as passwords.
POSTGRES_ENTRA_RESOURCE = "https://ossrdbms-aad.database.windows.net"
IDENTITY_API_VERSION = "2019-08-01"  # Container Apps and App Service identity endpoint
REFRESH_MARGIN_SECONDS = 5 * 60


class CredentialError(ValueError):
    """A credential setting that cannot work (unreadable PEM, key and certificate that differ)."""


class ManagedIdentityUnavailable(PermissionError):
    """The identity endpoint refused or could not be reached; the message carries no secret."""


@dataclass(frozen=True)
class ClientSecret:
    value: SecretStr

    def __repr__(self) -> str:
        return "ClientSecret(***)"


@dataclass(frozen=True)
class ClientCertificate:
    private_key_pem: SecretStr
    certificate_pem: str
    thumbprint_sha256: str  # hex, as Entra shows it for the app registration's certificate

    def __repr__(self) -> str:
        return f"ClientCertificate(thumbprint_sha256={self.thumbprint_sha256!r})"

    @classmethod
    def from_pem_file(cls, path: str | Path) -> ClientCertificate:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise CredentialError(f"cannot read the certificate file {path}: {exc}") from None
        return cls.from_pem(data, source=str(path))

    @classmethod
    def from_pem(cls, data: bytes, *, source: str = "PEM") -> ClientCertificate:
        """One PEM holding an unencrypted private key and the certificate for it (the form Key
        Vault exports and `openssl req -x509 -nodes` writes)."""
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise CredentialError(f"{source}: no unencrypted private key ({exc})") from None
        try:
            certificate = x509.load_pem_x509_certificate(data)
        except ValueError as exc:
            raise CredentialError(f"{source}: no certificate ({exc})") from None
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise CredentialError(f"{source}: the private key must be RSA (or EC)")
        if _public_der(key.public_key()) != _public_der(certificate.public_key()):
            raise CredentialError(f"{source}: the certificate is not the private key's")
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        return cls(
            private_key_pem=SecretStr(key_pem),
            certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
            thumbprint_sha256=certificate.fingerprint(hashes.SHA256()).hex(),
        )

    def msal_credential(self) -> dict[str, str]:
        """msal >= 1.35 derives the SHA-256 thumbprint from `public_certificate` and signs with
        PS256 (no SHA-1 thumbprint, which Entra keeps only for compatibility)."""
        return {
            "private_key": self.private_key_pem.get_secret_value(),
            "public_certificate": self.certificate_pem,
        }


def _public_der(key: Any) -> bytes:
    return bytes(
        key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


@dataclass(frozen=True)
class IssuedToken:
    value: str
    expires_at: float  # time.time() seconds

    def expires_in(self, now: float | None = None) -> float:
        return self.expires_at - (time.time() if now is None else now)


class ManagedIdentity:
    """A user-assigned managed identity, through the container's identity endpoint."""

    def __init__(
        self,
        endpoint: str,
        header: SecretStr | str,
        client_id: str,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not endpoint or not client_id:
            raise CredentialError(
                "a managed identity needs IDENTITY_ENDPOINT and the identity's client id"
            )
        self.endpoint = endpoint
        self.client_id = client_id
        self._header = header if isinstance(header, SecretStr) else SecretStr(header)
        self._timeout = timeout
        self._transport = transport
        self._cache: dict[str, IssuedToken] = {}
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"ManagedIdentity(client_id={self.client_id!r}, endpoint={self.endpoint!r})"

    async def token(self, resource: str, *, fresh: bool = False) -> IssuedToken:
        """A token for `resource` (no `/.default`), reused until 5 minutes before it expires."""
        async with self._lock:
            cached = self._cache.get(resource)
            if cached and not fresh and cached.expires_in() > REFRESH_MARGIN_SECONDS:
                return cached
            issued = await self._fetch(resource)
            self._cache[resource] = issued
            return issued

    async def _fetch(self, resource: str) -> IssuedToken:
        params, headers = self._request(resource)
        try:
            async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport) as http:
                response = await http.get(self.endpoint, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None
        return self._issued(response, resource)

    def _request(self, resource: str) -> tuple[dict[str, str], dict[str, str]]:
        params = {
            "api-version": IDENTITY_API_VERSION,
            "resource": resource,
            "client_id": self.client_id,
        }
        return params, {"X-IDENTITY-HEADER": self._header.get_secret_value()}

    def _unreachable(self, exc: httpx.HTTPError) -> ManagedIdentityUnavailable:
        return ManagedIdentityUnavailable(
            f"cannot reach the identity endpoint {self.endpoint}: {type(exc).__name__}"
        )

    @staticmethod
    def _issued(response: httpx.Response, resource: str) -> IssuedToken:
        if response.status_code != 200:
            raise ManagedIdentityUnavailable(
                f"the identity endpoint answered {response.status_code} for {resource}: "
                f"{response.text[:300]}"
            )
        try:
            body = response.json()
            value, expires_on = str(body["access_token"]), float(body["expires_on"])
        except (ValueError, KeyError, TypeError):
            raise ManagedIdentityUnavailable(
                "the identity endpoint's answer has no access_token and expires_on"
            ) from None
        return IssuedToken(value, expires_on)


class AccessToken(NamedTuple):
    """What an azure-core `TokenCredential.get_token` returns (the same two fields)."""

    token: str
    expires_on: int


class BlockingManagedIdentity(ManagedIdentity):
    """The same identity, for a caller on a thread of its own that asks azure-core's
    `get_token(*scopes)`: the Azure Monitor exporter sends telemetry from its worker threads
    through an azure-core pipeline. pimbot passes this rather than `azure-identity`'s
    `ManagedIdentityCredential`, so that one implementation of the identity endpoint (and its
    settings: IDENTITY_ENDPOINT, IDENTITY_HEADER, the identity's client id) serves everything."""

    def __init__(
        self,
        endpoint: str,
        header: SecretStr | str,
        client_id: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(endpoint, header, client_id, timeout=timeout)
        self._blocking_transport = transport
        self._blocking_lock = threading.Lock()

    def get_token(self, *scopes: str, **_options: Any) -> AccessToken:
        """A token for the one scope asked (`<resource>/.default`), reused until 5 minutes
        before it expires. Raises ManagedIdentityUnavailable; azure-core reports it and the
        exporter keeps the telemetry for a later attempt."""
        if len(scopes) != 1:
            raise CredentialError(f"a managed identity token is for one scope, not {scopes!r}")
        resource = scopes[0].removesuffix("/.default")
        with self._blocking_lock:
            cached = self._cache.get(resource)
            if not cached or cached.expires_in() <= REFRESH_MARGIN_SECONDS:
                cached = self._fetch_blocking(resource)
                self._cache[resource] = cached
        return AccessToken(cached.value, int(cached.expires_at))

    def _fetch_blocking(self, resource: str) -> IssuedToken:
        params, headers = self._request(resource)
        try:
            with httpx.Client(timeout=self._timeout, transport=self._blocking_transport) as http:
                response = http.get(self.endpoint, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None
        return self._issued(response, resource)


@dataclass(frozen=True)
class FederatedIdentity:
    """The managed identity's token, presented as the app registration's client assertion."""

    identity: ManagedIdentity
    audience: str = FEDERATED_TOKEN_AUDIENCE


ClientCredential = ClientSecret | ClientCertificate | FederatedIdentity


class MsalCredential:
    """The `client_credential` argument for an msal confidential client, kept current.

    msal calls a `client_assertion` callable in its (worker) thread; a federated assertion comes
    from the identity endpoint, asynchronously, so `prepare()` fetches it on the loop before each
    msal call and the callable only reads it."""

    def __init__(self, credential: ClientCredential | SecretStr | str) -> None:
        if isinstance(credential, str | SecretStr):
            credential = ClientSecret(
                credential if isinstance(credential, SecretStr) else SecretStr(credential)
            )
        self.credential: ClientCredential = credential
        self._assertion = ""

    @property
    def kind(self) -> str:
        return {
            ClientSecret: "secret",
            ClientCertificate: "certificate",
            FederatedIdentity: "federated identity",
        }[type(self.credential)]

    async def prepare(self) -> None:
        if isinstance(self.credential, FederatedIdentity):
            issued = await self.credential.identity.token(self.credential.audience)
            self._assertion = issued.value

    def for_msal(self) -> str | dict[str, Any]:
        credential = self.credential
        if isinstance(credential, ClientSecret):
            return credential.value.get_secret_value()
        if isinstance(credential, ClientCertificate):
            return credential.msal_credential()
        return {"client_assertion": self._current_assertion}

    def _current_assertion(self) -> str:
        if not self._assertion:
            raise CredentialError("the federated client assertion was not fetched (prepare())")
        return self._assertion

    def redact(self, text: str) -> str:
        """`text` without the secret or assertion it might echo."""
        for value in (self._secret_value(), self._assertion):
            if value:
                text = text.replace(value, "***")
        return text

    def _secret_value(self) -> str:
        credential = self.credential
        if isinstance(credential, ClientSecret):
            return credential.value.get_secret_value()
        return ""


# --- from settings --------------------------------------------------------------------------


def managed_identity_from(settings: Settings) -> ManagedIdentity:
    client_id = settings.effective_managed_identity_client_id
    if not settings.identity_endpoint or not client_id:
        raise CredentialError(
            "a managed identity needs IDENTITY_ENDPOINT (Container Apps sets it) and the "
            "identity's client id (PIMBOT_MANAGED_IDENTITY_CLIENT_ID, or MicrosoftAppId with "
            "MicrosoftAppType=UserAssignedMSI)"
        )
    return ManagedIdentity(settings.identity_endpoint, settings.identity_header, client_id)


def _credential(
    settings: Settings, kind: CredentialKind, *, certificate_path: str, secret: SecretStr, name: str
) -> ClientCredential | ManagedIdentity:
    if kind is CredentialKind.CERTIFICATE:
        if not certificate_path:
            raise CredentialError(f"{name}=certificate needs a certificate path setting")
        return ClientCertificate.from_pem_file(certificate_path)
    if kind is CredentialKind.FEDERATED_IDENTITY:
        return FederatedIdentity(managed_identity_from(settings))
    if kind is CredentialKind.MANAGED_IDENTITY:
        return managed_identity_from(settings)
    return ClientSecret(secret)


def graph_credential_from(settings: Settings) -> ClientCredential | ManagedIdentity:
    """What pimbot presents to Entra for its Graph tokens (`PIMBOT_GRAPH_CREDENTIAL`)."""
    return _credential(
        settings,
        settings.effective_graph_credential,
        certificate_path=settings.effective_graph_certificate_path,
        secret=settings.effective_graph_client_secret,
        name="PIMBOT_GRAPH_CREDENTIAL",
    )


def bot_connector_credential_from(settings: Settings) -> ClientCredential | ManagedIdentity:
    """What pimbot presents for its Bot Connector token: the managed identity itself for
    `MicrosoftAppType=UserAssignedMSI` (as Azure Bot Service runs such bots), else the app
    registration's certificate, secret or federated managed identity (`PIMBOT_APP_CREDENTIAL`)."""
    if settings.app_type is AppType.USER_ASSIGNED_MSI:
        return managed_identity_from(settings)
    kind = settings.effective_app_credential
    if kind is CredentialKind.MANAGED_IDENTITY:
        raise CredentialError(
            "PIMBOT_APP_CREDENTIAL=managed_identity: set MicrosoftAppType=UserAssignedMSI and "
            "MicrosoftAppId to the identity's client id instead"
        )
    return _credential(
        settings,
        kind,
        certificate_path=settings.app_certificate_path,
        secret=settings.app_password,
        name="PIMBOT_APP_CREDENTIAL",
    )


def database_password_from(settings: Settings) -> Callable[[], Awaitable[str]] | None:
    """For `PIMBOT_DATABASE_AUTH=managed_identity`: the identity's Entra token for Azure
    Database for PostgreSQL, fetched for each new connection (cached until 5 minutes before it
    expires, so a new connection never gets an expiring one)."""
    if settings.database_auth is not DatabaseAuth.MANAGED_IDENTITY:
        return None
    identity = managed_identity_from(settings)

    async def entra_token() -> str:
        return (await identity.token(POSTGRES_ENTRA_RESOURCE)).value

    return entra_token
