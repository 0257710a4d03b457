"""AppTokenProvider: msal client credentials off the loop, cached, never leaking the secret."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any
from urllib.parse import parse_qs

import pytest

from bot.graph.errors import AuthenticationFailed
from bot.graph.tokens import AppTokenProvider

TENANT = "tenant-1"
SECRET = "s3cr3t-Value~never.logged"
LOGIN = "https://login.microsoftonline.com"


class FakeResponse:
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status_code = status
        self.text = json.dumps(body)
        self.headers: dict[str, str] = {}

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise RuntimeError(self.status_code)


class FakeEntra:
    """msal's http_client: OpenID discovery and the token endpoint, no network."""

    def __init__(self, token_answers: list[tuple[int, dict[str, Any]]] | None = None) -> None:
        self.answers = token_answers or []
        self.token_posts: list[dict[str, str]] = []
        self.threads: set[int] = set()
        self.urls: list[str] = []
        self.issued = 0

    def get(self, url: str, params: Any = None, headers: Any = None, **kw: Any) -> FakeResponse:
        self.threads.add(threading.get_ident())
        self.urls.append(url)
        if "/common/discovery/instance" in url:  # msal looks up authority aliases on errors
            aliases = ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com"]
            return FakeResponse(200, {"metadata": [{"aliases": aliases}]})
        base = f"{LOGIN}/{TENANT}"
        return FakeResponse(
            200,
            {
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "issuer": f"{base}/v2.0",
            },
        )

    def post(
        self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kw: Any
    ) -> FakeResponse:
        self.threads.add(threading.get_ident())
        self.urls.append(url)
        form = (
            data if isinstance(data, dict) else {k: v[0] for k, v in parse_qs(data or "").items()}
        )
        self.token_posts.append(form)
        if self.answers:
            status, body = self.answers.pop(0)
            return FakeResponse(status, body)
        self.issued += 1
        return FakeResponse(
            200,
            {"token_type": "Bearer", "access_token": f"at-{self.issued}", "expires_in": 3600},
        )

    def close(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def provider(entra: FakeEntra, clock: Clock | None = None) -> AppTokenProvider:
    return AppTokenProvider(
        "11111111-2222-3333-4444-555555555555",
        SECRET,
        TENANT,
        LOGIN,
        http_client=entra,
        clock=clock or Clock(),
    )


async def test_the_token_comes_from_the_client_credentials_flow_for_graph() -> None:
    entra = FakeEntra()

    assert await provider(entra).token() == "at-1"

    (form,) = entra.token_posts
    assert form["grant_type"] == "client_credentials"
    assert form["scope"] == "https://graph.microsoft.com/.default"
    assert entra.urls[-1] == f"{LOGIN}/{TENANT}/oauth2/v2.0/token"


async def test_the_token_is_cached() -> None:
    entra = FakeEntra()
    tokens = provider(entra)

    assert [await tokens.token() for _ in range(3)] == ["at-1"] * 3
    assert len(entra.token_posts) == 1


async def test_the_token_is_refreshed_five_minutes_before_it_expires() -> None:
    entra, clock = FakeEntra(), Clock()
    tokens = provider(entra, clock)
    await tokens.token()

    clock.now += 3600 - 300 - 1
    assert await tokens.token() == "at-1"
    clock.now += 1
    assert await tokens.token() == "at-2"
    assert len(entra.token_posts) == 2


async def test_msal_runs_off_the_event_loop() -> None:
    entra = FakeEntra()
    await provider(entra).token()

    assert entra.threads
    assert threading.get_ident() not in entra.threads


async def test_concurrent_callers_share_one_refresh() -> None:
    entra = FakeEntra()
    tokens = provider(entra)

    results = await asyncio.gather(*(tokens.token() for _ in range(5)))

    assert results == ["at-1"] * 5
    assert len(entra.token_posts) == 1


async def test_invalidate_forces_a_new_token() -> None:
    entra = FakeEntra()
    tokens = provider(entra)
    await tokens.token()

    tokens.invalidate()

    assert await tokens.token() == "at-2"


async def test_an_entra_error_becomes_authentication_failed_with_its_aadsts_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    description = (
        "AADSTS7000215: Invalid client secret provided. "
        f"Ensure the secret being sent in the request is the client secret value ({SECRET})."
    )
    entra = FakeEntra(
        [
            (
                401,
                {
                    "error": "invalid_client",
                    "error_description": description,
                    "error_codes": [7000215],
                },
            )
        ]
    )

    with pytest.raises(AuthenticationFailed) as caught:
        await provider(entra).token()

    assert caught.value.code == "invalid_client"
    assert "AADSTS7000215" in str(caught.value)
    assert SECRET not in str(caught.value)
    assert SECRET not in caught.value.message
    assert SECRET not in caplog.text


async def test_an_unreachable_authority_becomes_authentication_failed() -> None:
    class Unreachable(FakeEntra):
        def get(self, url: str, params: Any = None, headers: Any = None, **kw: Any) -> FakeResponse:
            raise ConnectionError(f"cannot connect (client_secret={SECRET})")

    with pytest.raises(AuthenticationFailed) as caught:
        await provider(Unreachable()).token()

    assert SECRET not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


async def test_the_provider_does_not_show_its_secret() -> None:
    tokens = provider(FakeEntra())
    assert SECRET not in repr(tokens)
    assert SECRET not in str(vars(tokens).get("_authority"))
