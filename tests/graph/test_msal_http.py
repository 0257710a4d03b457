"""msal against any login URL: the https authority msal demands, mapped onto the real one."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests

from bot.graph.tokens import AppTokenProvider
from bot.msal_http import (
    LoginHttpClient,
    authority_for,
    instance_discovery_for,
    is_well_known_login_host,
)


def test_the_authority_is_always_https_on_the_same_host_and_port() -> None:
    assert authority_for("https://login.microsoftonline.com", "t1") == (
        "https://login.microsoftonline.com/t1"
    )
    assert authority_for("http://127.0.0.1:8123/", "t1") == "https://127.0.0.1:8123/t1"


@pytest.mark.parametrize("bad", ["ftp://x", "http://127.0.0.1:1/prefix", "127.0.0.1:80"])
def test_login_urls_with_a_path_or_another_scheme_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        authority_for(bad, "t1")


@pytest.mark.parametrize(
    ("login_url", "expected"),
    [
        ("https://login.microsoftonline.com", None),  # msal's default path
        ("https://login.microsoftonline.us", None),
        ("https://login.partner.microsoftonline.cn", None),
        ("http://127.0.0.1:8123", False),
        ("https://entra.example.test", False),
    ],
)
def test_instance_discovery_is_off_only_for_hosts_msal_does_not_know(
    login_url: str, expected: bool | None
) -> None:
    assert instance_discovery_for(login_url) is expected
    assert is_well_known_login_host(login_url) is (expected is None)


class RecordingSession(requests.Session):
    def __init__(self, body: str = "{}") -> None:
        super().__init__()
        self.calls: list[tuple[str, str, Any]] = []
        self.body = body

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        self.calls.append((str(method), str(url), kwargs.get("timeout")))
        response = requests.Response()
        response.status_code = 200
        response._content = self.body.encode()
        return response


def test_production_urls_pass_through_unchanged_with_a_timeout() -> None:
    session = RecordingSession('{"token_endpoint": "https://login.microsoftonline.com/t/x"}')
    client = LoginHttpClient("https://login.microsoftonline.com", session=session, timeout=3.0)

    response = client.get(
        "https://login.microsoftonline.com/t/v2.0/.well-known/openid-configuration"
    )

    assert session.calls == [
        ("GET", "https://login.microsoftonline.com/t/v2.0/.well-known/openid-configuration", 3.0)
    ]
    assert json.loads(response.text)["token_endpoint"] == "https://login.microsoftonline.com/t/x"
    assert not client.maps_urls


def test_the_https_form_of_a_plain_http_login_url_is_sent_to_the_http_url() -> None:
    session = RecordingSession('{"token_endpoint": "http://127.0.0.1:8123/t/oauth2/v2.0/token"}')
    client = LoginHttpClient("http://127.0.0.1:8123", session=session)

    discovery = client.get("https://127.0.0.1:8123/t/v2.0/.well-known/openid-configuration")
    client.post("https://127.0.0.1:8123/t/oauth2/v2.0/token", data={"a": "b"})
    client.post("https://other.test:8123/t/oauth2/v2.0/token")  # another host: untouched

    assert [call[1] for call in session.calls] == [
        "http://127.0.0.1:8123/t/v2.0/.well-known/openid-configuration",
        "http://127.0.0.1:8123/t/oauth2/v2.0/token",
        "https://other.test:8123/t/oauth2/v2.0/token",
    ]
    # msal refuses http endpoints, so discovery documents name the https form.
    assert json.loads(discovery.text)["token_endpoint"] == (
        "https://127.0.0.1:8123/t/oauth2/v2.0/token"
    )


def test_a_host_that_merely_starts_like_the_login_host_is_not_mapped() -> None:
    session = RecordingSession()
    client = LoginHttpClient("http://127.0.0.1:81", session=session)

    client.get("https://127.0.0.1:8123/t")

    assert session.calls[0][1] == "https://127.0.0.1:8123/t"


def test_plain_http_is_refused_for_hosts_other_than_loopback() -> None:
    with pytest.raises(ValueError, match="plain http"):
        LoginHttpClient("http://login.example.test")
    assert LoginHttpClient("http://login.example.test", allow_insecure_http=True).maps_urls


# --- msal end to end against a loopback "Entra" ---------------------------------------------------


class FakeEntraServer(ThreadingHTTPServer):
    paths: list[str]
    forms: list[dict[str, list[str]]]


class Handler(BaseHTTPRequestHandler):
    server: FakeEntraServer

    def _send(self, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.server.paths.append(self.path)
        host = f"http://{self.headers['Host']}/t1"
        self._send(
            {
                "authorization_endpoint": f"{host}/oauth2/v2.0/authorize",
                "token_endpoint": f"{host}/oauth2/v2.0/token",
                "issuer": f"{host}/v2.0",
            }
        )

    def do_POST(self) -> None:
        self.server.paths.append(self.path)
        length = int(self.headers["Content-Length"])
        self.server.forms.append(parse_qs(self.rfile.read(length).decode()))
        self._send({"token_type": "Bearer", "access_token": "sandbox-token", "expires_in": 3599})

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def entra_server() -> Iterator[FakeEntraServer]:
    server = FakeEntraServer(("127.0.0.1", 0), Handler)
    server.paths, server.forms = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


async def test_msal_gets_a_token_from_a_plain_http_loopback_authority(
    entra_server: FakeEntraServer,
) -> None:
    port = entra_server.server_address[1]
    tokens = AppTokenProvider("app-1", "pw", "t1", f"http://127.0.0.1:{port}")

    assert await tokens.token() == "sandbox-token"

    # Tenant discovery and the token request, nothing else (no instance discovery).
    assert entra_server.paths == [
        "/t1/v2.0/.well-known/openid-configuration",
        "/t1/oauth2/v2.0/token",
    ]
    assert entra_server.forms[0]["grant_type"] == ["client_credentials"]
    assert entra_server.forms[0]["client_id"] == ["app-1"]
