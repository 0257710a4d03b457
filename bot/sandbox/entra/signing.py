"""The Entra twin's signing key: an RSA key pair published as a JWK, signing RS256 tokens."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa


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
