"""Without an app registration no SSO token is accepted, whatever its audience."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.sso import InvalidSsoToken, SsoValidator


async def test_no_app_id_accepts_no_token_not_even_one_for_api_botid_with_an_empty_id() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {
        "aud": "api://botid-",
        "iss": "x",
        "tid": "t",
        "oid": "o",
        "iat": now,
        "exp": now + 600,
    }
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k"})
    fetched: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        fetched.append(str(request.url))
        return httpx.Response(404)

    validator = SsoValidator(
        login_url="http://login",
        tenant_id="t",
        app_id="",
        http=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
    )
    with pytest.raises(InvalidSsoToken, match="no app registration"):
        await validator.validate(token)
    assert fetched == []
    await validator.close()
