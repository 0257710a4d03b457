"""Without an app registration no SSO token is accepted, whatever its audience."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.msal_http import LoginHttpClient
from bot.sso import InvalidSsoToken, SsoValidator


class RecordingSession(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.fetched: list[str] = []

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.fetched.append(str(url))
        response = requests.Response()
        response.status_code = 404
        return response


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
    session = RecordingSession()
    login = LoginHttpClient("http://127.0.0.1:9", session=session)

    validator = SsoValidator(login_url="http://127.0.0.1:9", tenant_id="t", app_id="", login=login)
    with pytest.raises(InvalidSsoToken, match="no app registration"):
        await validator.validate(token)
    assert session.fetched == []
    await validator.close()
    login.close()
