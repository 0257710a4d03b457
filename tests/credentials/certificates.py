"""Self-signed certificates for tests: what `openssl req -x509 -nodes` would write."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class TestCertificate:
    key: str  # PEM, PKCS#8, unencrypted
    certificate: str  # PEM

    @property
    def combined(self) -> bytes:
        return (self.key + self.certificate).encode()

    @property
    def thumbprint_b64url(self) -> str:
        cert = x509.load_pem_x509_certificate(self.certificate.encode())
        digest = cert.fingerprint(hashes.SHA256())
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def make_certificate(name: str = "pimbot") -> TestCertificate:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return TestCertificate(
        key=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        certificate=certificate.public_bytes(serialization.Encoding.PEM).decode(),
    )
