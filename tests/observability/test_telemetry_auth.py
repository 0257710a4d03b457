"""Application Insights with local authentication off (what infra/ deploys): pimbot's exporter
sends the managed identity's Microsoft Entra token for Azure Monitor with every batch, and a
wrong APPLICATIONINSIGHTS_AUTHENTICATION_STRING stops pimbot at start-up with a clear message."""

from __future__ import annotations

import datetime
import ipaddress
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bot.client_credentials import BlockingManagedIdentity, ManagedIdentityUnavailable
from bot.telemetry import TelemetryAuthError, entra_credential

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
MONITOR_SCOPE = "https://monitor.azure.com//.default"  # the exporter's scope


def identity_endpoint(
    answers: list[httpx.Request], *, status: int = 200, expires_in: float = 3600
) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        answers.append(request)
        if status != 200:
            return httpx.Response(status, json={"error": "invalid_request"})
        return httpx.Response(
            200,
            json={
                "access_token": f"token-{len(answers)}",
                "expires_on": str(int(time.time() + expires_in)),
                "resource": request.url.params["resource"],
                "token_type": "Bearer",
            },
        )

    return httpx.MockTransport(answer)


# --- the credential -------------------------------------------------------------------------


def test_the_token_is_the_identitys_for_azure_monitor_and_is_reused() -> None:
    requests: list[httpx.Request] = []
    credential = BlockingManagedIdentity(
        "http://identity.local/msi/token",
        "the-header",
        CLIENT_ID,
        transport=identity_endpoint(requests),
    )
    first = credential.get_token(MONITOR_SCOPE)
    second = credential.get_token(MONITOR_SCOPE, enable_cae=True)
    assert first.token == "token-1" and second == first
    assert first.expires_on > time.time() + 3000
    (request,) = requests
    assert request.url.params["resource"] == "https://monitor.azure.com/"
    assert request.url.params["client_id"] == CLIENT_ID
    assert request.url.params["api-version"] == "2019-08-01"
    assert request.headers["X-IDENTITY-HEADER"] == "the-header"


def test_a_token_about_to_expire_is_fetched_again() -> None:
    requests: list[httpx.Request] = []
    credential = BlockingManagedIdentity(
        "http://identity.local/msi/token",
        "h",
        CLIENT_ID,
        transport=identity_endpoint(requests, expires_in=60),
    )
    assert credential.get_token(MONITOR_SCOPE).token == "token-1"
    assert credential.get_token(MONITOR_SCOPE).token == "token-2"


def test_a_refusing_identity_endpoint_is_a_clear_error_without_the_header() -> None:
    credential = BlockingManagedIdentity(
        "http://identity.local/msi/token",
        "secret-header",
        CLIENT_ID,
        transport=identity_endpoint([], status=400),
    )
    with pytest.raises(ManagedIdentityUnavailable, match="answered 400") as refused:
        credential.get_token(MONITOR_SCOPE)
    assert "secret-header" not in str(refused.value)


# --- APPLICATIONINSIGHTS_AUTHENTICATION_STRING -----------------------------------------------


def credential_from(text: str, *, endpoint: str = "http://identity.local/msi/token") -> object:
    return entra_credential(
        text, identity_endpoint=endpoint, identity_header="h", default_client_id="default-id"
    )


def test_without_an_authentication_string_the_connection_string_alone_is_used() -> None:
    assert credential_from("") is None
    assert credential_from("  ") is None


def test_aad_with_a_client_id_is_that_user_assigned_identity() -> None:
    credential = credential_from(f"Authorization=AAD;ClientId={CLIENT_ID}")
    assert isinstance(credential, BlockingManagedIdentity)
    assert credential.client_id == CLIENT_ID
    # Keys in any case, as the exporter reads them.
    lower = credential_from(f"authorization=aad; clientid={CLIENT_ID};")
    assert isinstance(lower, BlockingManagedIdentity) and lower.client_id == CLIENT_ID


def test_aad_without_a_client_id_is_the_identity_pimbot_already_uses() -> None:
    credential = credential_from("Authorization=AAD")
    assert isinstance(credential, BlockingManagedIdentity)
    assert credential.client_id == "default-id"


@pytest.mark.parametrize(
    ("text", "endpoint", "message"),
    [
        ("Authorization=Key", "http://x", "must say Authorization=AAD"),
        ("ClientId=abc", "http://x", "must say Authorization=AAD"),
        ("Authorization", "http://x", "is not key=value"),
        ("Authorization=AAD;ClientId=abc", "", "IDENTITY_ENDPOINT is not set"),
    ],
)
def test_an_authentication_string_pimbot_cannot_follow_is_refused(
    text: str, endpoint: str, message: str
) -> None:
    with pytest.raises(TelemetryAuthError, match=message):
        credential_from(text, endpoint=endpoint)


def test_aad_without_any_client_id_is_refused() -> None:
    with pytest.raises(TelemetryAuthError, match="no ClientId"):
        entra_credential(
            "Authorization=AAD",
            identity_endpoint="http://x",
            identity_header="h",
            default_client_id="",
        )


def test_serve_refuses_to_start_with_a_wrong_authentication_string(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "PIMBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'pimbot.db'}",
            "APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=0;",
            "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "Authorization=Key",
            "MicrosoftAppId": "00000000-0000-0000-0000-000000000001",
        },
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "APPLICATIONINSIGHTS_AUTHENTICATION_STRING must say Authorization=AAD" in done.stderr


# --- the exporter sends the token -------------------------------------------------------------


EXPORT = """
import http.server, json, os, ssl, sys, threading
import httpx
from opentelemetry import trace
from bot import telemetry
from bot.client_credentials import BlockingManagedIdentity

cert, key, client_id = sys.argv[1], sys.argv[2], sys.argv[3]
seen = {"identity": [], "ingestion": []}

class Ingestion(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        seen["ingestion"].append((self.path, self.headers.get("Authorization", "")))
        answer = json.dumps({"itemsReceived": 1, "itemsAccepted": 1, "errors": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ingestion)
tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
tls.load_cert_chain(cert, key)
server.socket = tls.wrap_socket(server.socket, server_side=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
ingestion = f"https://127.0.0.1:{server.server_address[1]}/"

def identity(request):
    seen["identity"].append(dict(request.url.params))
    token = {"access_token": "the-identitys-token", "expires_on": "4102444800"}
    return httpx.Response(200, json=token)

credential = BlockingManagedIdentity(
    "http://identity.local/msi/token", "h", client_id, transport=httpx.MockTransport(identity)
)
telemetry.configure_telemetry(
    f"InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint={ingestion}",
    credential=credential,
)
with telemetry.work_span("pimbot.turn", {}):
    pass
trace.get_tracer_provider().force_flush()
print(json.dumps(seen), flush=True)
os._exit(0)
"""


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_every_export_carries_the_managed_identitys_token(tmp_path: Path) -> None:
    """In a process of its own (the providers are process-wide), against a local HTTPS ingestion
    endpoint: azure-core sends a bearer token over TLS only."""
    cert, key = self_signed(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", EXPORT, str(cert), str(key), CLIENT_ID],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "REQUESTS_CA_BUNDLE": str(cert),
            "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",
            # The distro's default rate-limited sampler may drop a process's first span.
            "OTEL_TRACES_SAMPLER": "always_on",
            "TMPDIR": str(tmp_path),
        },
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen["ingestion"], done.stderr[-3000:]
    for path, authorization in seen["ingestion"]:
        assert path.endswith("/track")
        assert authorization == "Bearer the-identitys-token"
    assert seen["identity"]
    assert {(p["resource"], p["client_id"]) for p in seen["identity"]} == {
        ("https://monitor.azure.com/", CLIENT_ID)
    }
