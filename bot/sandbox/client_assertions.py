"""Client assertions at the Entra twin's token endpoint, checked as Entra documents them.

A confidential client may prove itself with `client_assertion_type=
urn:ietf:params:oauth:client-assertion-type:jwt-bearer` and `client_assertion=<JWT>` instead of
a secret. Two kinds are accepted:

- **Certificate credentials**: a JWT the app signed with the private key of a certificate
  registered on the app registration, named in the header by `x5t#S256` (SHA-256 thumbprint,
  PS256 or RS256) or `x5t` (SHA-1, RS256); `aud` is the token endpoint, `iss` and `sub` are the
  client id, `exp` and `jti` are present (`nbf` or `iat`, when present, is not in the future;
  msal sends `iat`, not `nbf`).
- **Federated identity credentials**: a token from a trusted issuer (here: this tenant's own
  Entra, as for a managed identity) whose issuer, subject and audience match a federated
  credential of the app registration.

Anything else is refused with Entra's error codes (AADSTS700027 for a signature that no
registered certificate verifies, AADSTS700024 outside its validity, AADSTS70021 for a token that
no federated credential matches).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes

JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CERTIFICATE_ALGORITHMS = ("PS256", "RS256")


class AssertionRefused(Exception):
    def __init__(self, code: int, message: str, *, error: str = "invalid_client") -> None:
        super().__init__(message)
        self.code, self.message, self.error = code, message, error


class FederatedCredentialView(Protocol):
    @property
    def issuer(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def audiences(self) -> Sequence[str]: ...


@dataclass(frozen=True)
class AssertingApp:
    client_id: str
    certificates: Sequence[str]  # PEM
    federated_credentials: Sequence[FederatedCredentialView]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _thumbprints(certificate_pem: str) -> tuple[x509.Certificate, str, str]:
    certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
    return (
        certificate,
        _b64url(certificate.fingerprint(hashes.SHA256())),
        _b64url(certificate.fingerprint(hashes.SHA1())),  # noqa: S303 - Entra's x5t is SHA-1
    )


def assertion_subject(assertion: str) -> str:
    """The client id an assertion names (`sub`, as Entra reads it), without verifying it."""
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        return ""
    return str(claims.get("sub") or "")


def verify_client_assertion(
    assertion: str,
    app: AssertingApp,
    *,
    token_endpoint: str,
    now: float,
    verify_entra_token: Callable[[str, str], Mapping[str, Any]],
    entra_issuer: str,
) -> None:
    """Raise `AssertionRefused` unless `assertion` proves `app`.

    `verify_entra_token(token, audience)` verifies a token the tenant's Entra issued (signature,
    issuer, audience, lifetime) and returns its claims."""
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError:
        raise AssertionRefused(50027, "JWT token is invalid or malformed.") from None
    try:
        issuer = str(jwt.decode(assertion, options={"verify_signature": False}).get("iss", ""))
    except jwt.PyJWTError:
        raise AssertionRefused(50027, "JWT token is invalid or malformed.") from None
    # An app signs its own assertions (iss is its client id); anything else is federated.
    if issuer == app.client_id:
        _verify_certificate_assertion(assertion, header, app, token_endpoint, now)
    else:
        _verify_federated_assertion(assertion, app, verify_entra_token, entra_issuer)


def _verify_certificate_assertion(
    assertion: str,
    header: Mapping[str, Any],
    app: AssertingApp,
    token_endpoint: str,
    now: float,
) -> None:
    # msal pads its base64url thumbprints with "=" (RFC 7515 says not to); Entra takes both.
    sha256 = str(header.get("x5t#S256") or "").rstrip("=")
    sha1 = str(header.get("x5t") or "").rstrip("=")
    match = None
    for pem in app.certificates:
        certificate, cert_sha256, cert_sha1 = _thumbprints(pem)
        if (sha256 and sha256 == cert_sha256) or (sha1 and not sha256 and sha1 == cert_sha1):
            match = certificate
            break
    if match is None:
        raise AssertionRefused(
            700027,
            "The certificate with identifier used to sign the client assertion is not "
            f"registered on application. [Reason - The key was not found., Thumbprint of key "
            f"used by client: '{sha256 or sha1}']",
        )
    algorithm = header.get("alg")
    if algorithm not in CERTIFICATE_ALGORITHMS or (sha1 and not sha256 and algorithm != "RS256"):
        raise AssertionRefused(700027, "Client assertion contains an invalid signature.")
    try:
        claims = jwt.decode(
            assertion,
            match.public_key(),  # type: ignore[arg-type]
            algorithms=[algorithm],
            audience=token_endpoint,
            options={
                "require": ["exp", "iss", "sub", "jti", "aud"],
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt.InvalidAudienceError:
        raise AssertionRefused(
            700212,
            f"The audience claim of the client assertion must be the token endpoint "
            f"'{token_endpoint}'.",
        ) from None
    except jwt.MissingRequiredClaimError as exc:
        raise AssertionRefused(
            50027, f"JWT token is invalid or malformed ({exc.claim} missing)."
        ) from None
    except jwt.PyJWTError:
        raise AssertionRefused(
            700027, "Client assertion failed signature validation. [Reason - The key was found.]"
        ) from None
    if claims["iss"] != app.client_id or claims["sub"] != app.client_id:
        raise AssertionRefused(
            700023, "The client assertion's issuer and subject must be the client id."
        )
    not_before = claims.get("nbf", claims.get("iat", 0))
    if not (float(not_before) - 300 <= now < float(claims["exp"])):
        raise AssertionRefused(700024, "Client assertion is not within its valid time range.")


def _verify_federated_assertion(
    assertion: str,
    app: AssertingApp,
    verify_entra_token: Callable[[str, str], Mapping[str, Any]],
    entra_issuer: str,
) -> None:
    try:
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise AssertionRefused(50027, "JWT token is invalid or malformed.") from None
    issuer, subject = str(unverified.get("iss", "")), str(unverified.get("sub", ""))
    audience = str(unverified.get("aud", ""))
    for credential in app.federated_credentials:
        if (credential.issuer or entra_issuer) != issuer or credential.subject != subject:
            continue
        if audience not in credential.audiences:
            continue
        if issuer != entra_issuer:
            break  # only this tenant's own Entra can be verified here
        try:
            verify_entra_token(assertion, audience)
        except Exception as exc:
            raise AssertionRefused(
                700027, f"Client assertion failed signature validation. ({exc})"
            ) from None
        return
    raise AssertionRefused(
        70021,
        "No matching federated identity record found for presented assertion. Assertion "
        f"Issuer: '{issuer}'. Assertion Subject: '{subject}'. Assertion Audience: '{audience}'.",
    )
