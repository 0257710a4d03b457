"""Loopback stand-ins for the channel tests.

`FakeCloud` is one threaded stdlib HTTP server on 127.0.0.1 playing three roles:
- login.botframework.com: OpenID metadata + JWKS (with endorsements) for channel tokens;
- login.microsoftonline.com: tenant discovery + client-credentials token endpoint;
- the Bot Connector (smba.trafficmanager.net): `/v3/conversations...`, recording every call.
It runs in a thread because botbuilder's outbound client uses `requests` in worker threads, and a
fetch that did land on the loop must not deadlock the test but show up as a failure.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.domain import (
    Actor,
    Outcome,
    SentMessage,
    TokenExchangeOutcome,
)
from bot.store.conversations import ConversationRecord

APP_ID = "11111111-2222-3333-4444-555555555555"
TENANT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
USER_OID = "00000000-0000-0000-0000-0000000000a1"
USER_MRI = "29:user-ada"
CHANNEL_ISSUER = "https://api.botframework.com"


def _b64u_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class SigningKey:
    """An RSA key published as a JWK, like the Bot Framework's channel keys."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self, endorsements: tuple[str, ...]) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "n": _b64u_uint(numbers.n),
            "e": _b64u_uint(numbers.e),
            "endorsements": list(endorsements),
        }

    def sign(self, claims: Mapping[str, Any]) -> str:
        return jwt.encode(dict(claims), self.key, algorithm="RS256", headers={"kid": self.kid})


def channel_token(
    key: SigningKey,
    service_url: str,
    *,
    audience: str = APP_ID,
    issuer: str = CHANNEL_ISSUER,
    lifetime: int = 3600,
) -> str:
    """A token as the Bot Connector service signs it for a bot."""
    now = int(time.time())
    return key.sign(
        {
            "iss": issuer,
            "aud": audience,
            "serviceurl": service_url,
            "nbf": now - 5,
            "iat": now - 5,
            "exp": now + lifetime,
        }
    )


@dataclass
class ConnectorCall:
    method: str
    path: str  # URL-decoded
    authorization: str | None
    body: Any


@dataclass
class TokenRequest:
    tenant: str
    form: dict[str, str]


class FakeCloud:
    def __init__(self, signing_key: SigningKey, *, endorsements: tuple[str, ...] = ("msteams",)):
        self.signing_key = signing_key
        self.endorsements = endorsements
        self.connector_calls: list[ConnectorCall] = []
        self.token_requests: list[TokenRequest] = []
        self.metadata_fetches = 0
        self.tokens_answered = 0
        # Tests may hold token answers until the event loop proves it is still running.
        self.token_requested = threading.Event()
        self.release_token = threading.Event()
        self.release_token.set()
        self.connector_status: int | None = None  # force an error status on /v3 calls
        self.connector_retry_after: str | None = None  # the Retry-After of that error answer
        self.connector_page: str | None = None  # answer /v3 calls with this text (HTML page)
        # The token service: its calls, and the tokens it holds by magic code.
        self.token_service_calls: list[ConnectorCall] = []
        self.user_tokens: dict[str, str] = {}
        self._lock = threading.Lock()
        cloud = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                cloud._get(self)

            def do_POST(self) -> None:
                cloud._write(self, "POST")

            def do_PUT(self) -> None:
                cloud._write(self, "PUT")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        # A URL per server: botbuilder caches metadata per URL, process-wide.
        self.metadata_url = f"{self.base}/v1/.well-known/openidconfiguration"
        self.service_url = f"{self.base}/teams/"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> FakeCloud:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release_token.set()
        self._server.shutdown()
        self._server.server_close()

    # --- request handling (server threads) --------------------------------------------------

    def _send(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        body: Any,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header(
            "Content-Type", "text/html" if isinstance(body, str) else "application/json"
        )
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _read(self, handler: BaseHTTPRequestHandler) -> bytes:
        length = int(handler.headers.get("Content-Length") or 0)
        return handler.rfile.read(length) if length else b""

    def _get(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path
        if path.startswith("/api/"):
            return self._token_service(handler)
        if path == "/v1/.well-known/openidconfiguration":
            with self._lock:
                self.metadata_fetches += 1
            return self._send(
                handler,
                200,
                {
                    "issuer": CHANNEL_ISSUER,
                    "jwks_uri": f"{self.base}/v1/.well-known/keys",
                    "id_token_signing_alg_values_supported": ["RS256"],
                },
            )
        if path == "/v1/.well-known/keys":
            return self._send(handler, 200, {"keys": [self.signing_key.jwk(self.endorsements)]})
        if path.endswith("/v2.0/.well-known/openid-configuration"):
            tenant = path.split("/")[1]
            authority = f"{self.base}/{tenant}"
            return self._send(
                handler,
                200,
                {
                    "issuer": f"{authority}/v2.0",
                    "authorization_endpoint": f"{authority}/oauth2/v2.0/authorize",
                    "token_endpoint": f"{authority}/oauth2/v2.0/token",
                },
            )
        return self._send(handler, 404, {"error": {"code": "NotFound", "message": path}})

    def _write(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        raw = self._read(handler)
        path = handler.path
        if path.endswith("/oauth2/v2.0/token"):
            return self._token(handler, path.split("/")[1], raw)
        if not path.startswith("/teams/v3/"):
            return self._send(handler, 404, {"error": {"code": "NotFound", "message": path}})
        call = ConnectorCall(
            method=method,
            path=unquote(path.removeprefix("/teams")),
            authorization=handler.headers.get("Authorization"),
            body=json.loads(raw) if raw else None,
        )
        with self._lock:
            self.connector_calls.append(call)
        if self.connector_status is not None:
            retry = (
                {"Retry-After": self.connector_retry_after} if self.connector_retry_after else {}
            )
            body = self.connector_page or {"error": {"code": "Forbidden", "message": "no"}}
            return self._send(handler, self.connector_status, body, retry)
        if method == "PUT":
            return self._send(handler, 200, {"id": call.path.rsplit("/", 1)[-1]})
        if call.path == "/v3/conversations":
            return self._send(handler, 201, {"id": "a:new-1on1", "activityId": "1700000000000"})
        return self._send(handler, 201, {"id": f"act-{uuid.uuid4().hex[:8]}"})

    def _token(self, handler: BaseHTTPRequestHandler, tenant: str, raw: bytes) -> None:
        form = {name: values[0] for name, values in parse_qs(raw.decode()).items()}
        with self._lock:
            self.token_requests.append(TokenRequest(tenant=tenant, form=form))
            number = len(self.token_requests)
        self.token_requested.set()
        released = self.release_token.wait(timeout=20)
        with self._lock:
            self.tokens_answered += 1
        if not released:
            return self._send(handler, 503, {"error": "temporarily_unavailable"})
        self._send(
            handler,
            200,
            {"token_type": "Bearer", "expires_in": 3600, "access_token": f"bf-token-{number}"},
        )

    def _token_service(self, handler: BaseHTTPRequestHandler) -> None:
        """The Bot Framework token service: a sign-in resource, a user's token by magic code."""
        path, _, query = handler.path.partition("?")
        params = {name: values[0] for name, values in parse_qs(query).items()}
        call = ConnectorCall("GET", path, handler.headers.get("Authorization"), params)
        with self._lock:
            self.token_service_calls.append(call)
        if path == "/api/botsignin/GetSignInResource":
            return self._send(
                handler,
                200,
                {
                    "signInLink": f"{self.base}/api/oauth/signin?signin=abc",
                    "tokenExchangeResource": {
                        "id": "service-id",
                        "uri": f"api://botid-{APP_ID}",
                        "providerId": "30dd229c-58e3-4a48-bdfd-91ec48eb906c",
                    },
                },
            )
        if path == "/api/usertoken/GetToken":
            token = self.user_tokens.get(params.get("code", ""))
            if token is None:
                return self._send(handler, 404, {"error": {"code": "NotFound"}})
            return self._send(
                handler,
                200,
                {
                    "channelId": params.get("channelId"),
                    "connectionName": params.get("connectionName"),
                    "token": token,
                },
            )
        return self._send(handler, 404, {"error": {"code": "NotFound", "message": path}})

    # --- views for assertions ---------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[ConnectorCall]:
        with self._lock:
            return [c for c in self.connector_calls if method is None or c.method == method]


def teams_activity(service_url: str, **overrides: Any) -> dict[str, Any]:
    """A Teams activity as it reaches the bot, in JSON (camelCase) form."""
    activity: dict[str, Any] = {
        "type": "message",
        "id": "1700000000001",
        "timestamp": "2026-01-01T10:00:00.000Z",
        "localTimezone": "Europe/Berlin",
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": {"id": USER_MRI, "name": "Ada Admin", "aadObjectId": USER_OID},
        "recipient": {"id": f"28:{APP_ID}", "name": "pimbot"},
        "conversation": {
            "id": "a:conv-ada",
            "conversationType": "personal",
            "tenantId": TENANT_ID,
        },
        "channelData": {"tenant": {"id": TENANT_ID}},
        "text": "my roles",
    }
    activity.update(overrides)
    return activity


# --- the store and the workflow, faked --------------------------------------------------------


class FakeConversations:
    def __init__(self, records: dict[str, ConversationRecord]) -> None:
        self._records = records

    async def upsert(self, record: ConversationRecord) -> None:
        self._records[record.person_id] = record

    async def get(self, person_id: str) -> ConversationRecord | None:
        return self._records.get(person_id)

    async def any_service_url(self, tenant_id: str) -> str | None:
        matching = [r for r in self._records.values() if r.tenant_id == tenant_id]
        return max(matching, key=lambda r: r.updated_at).service_url if matching else None


class FakeTransaction:
    def __init__(self, records: dict[str, ConversationRecord]) -> None:
        self.conversations = FakeConversations(records)


class FakeDatabase:
    """The part of `bot.store.Database` the channel uses, in memory."""

    def __init__(self) -> None:
        self.records: dict[str, ConversationRecord] = {}

    def transaction(self) -> AbstractAsyncContextManager[FakeTransaction]:
        return self._transaction()

    @asynccontextmanager
    async def _transaction(self) -> Any:
        yield FakeTransaction(self.records)


@dataclass
class WorkflowCall:
    entry: str
    actor: Actor
    args: tuple[Any, ...]
    card: SentMessage | None = None  # the message that carried a pressed button


@dataclass
class FakeWorkflow:
    """A `TurnHandler` that records its calls and answers what the test told it to."""

    outcome: Outcome = field(default_factory=Outcome)
    exchange: TokenExchangeOutcome = field(
        default_factory=lambda: TokenExchangeOutcome(accepted=True)
    )
    error: Exception | None = None
    calls: list[WorkflowCall] = field(default_factory=list)
    foreign_tenants: list[tuple[Actor | None, str, str]] = field(default_factory=list)

    def _record(self, entry: str, actor: Actor, *args: Any) -> None:
        self.calls.append(WorkflowCall(entry, actor, args))
        if self.error is not None:
            raise self.error

    async def on_text(self, actor: Actor, text: str) -> Outcome:
        self._record("on_text", actor, text)
        return self.outcome

    async def on_action(
        self, actor: Actor, data: Mapping[str, Any], card: SentMessage | None = None
    ) -> Outcome:
        self._record("on_action", actor, dict(data))
        self.calls[-1].card = card
        return self.outcome

    async def on_token_exchange(
        self, actor: Actor, exchange_id: str, token: str
    ) -> TokenExchangeOutcome:
        self._record("on_token_exchange", actor, exchange_id, token)
        return self.exchange

    async def on_installed(self, actor: Actor) -> Outcome:
        self._record("on_installed", actor)
        return self.outcome

    async def on_foreign_tenant(self, actor: Actor | None, tenant_id: str, activity: str) -> None:
        self.foreign_tenants.append((actor, tenant_id, activity))


def only(items: Iterator[Any] | list[Any]) -> Any:
    values = list(items)
    assert len(values) == 1, values
    return values[0]
