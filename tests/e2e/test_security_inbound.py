"""Inbound authentication of the running sandbox bot (it runs with an app id and checks every
activity's channel token): anything not signed by the channel for this bot is 401 and changes
nothing, and bad bodies are refused with a plain status and no details."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import jwt
import pytest

from bot.domain import RequestState
from bot.sandbox.entra import SigningKey
from tests.e2e.conftest import Sandbox
from tests.trust.door import BotDoor
from tests.trust.journeys import audit_actions, pending_exchange_request, request_state

EMULATOR_ISSUER = "https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/"


@pytest.fixture
async def door(sandboxed: Sandbox) -> AsyncIterator[BotDoor]:
    async with httpx.AsyncClient(timeout=60) as http:
        yield BotDoor(sandboxed.running, http)


def _same_kid_other_key(door: BotDoor) -> str:
    forger = SigningKey(kid=door.running.twins.teams.channel.key.kid)
    return "Bearer " + door.token(key=forger)


REJECTED: dict[str, Callable[[BotDoor], str | None]] = {
    "no Authorization header": lambda door: None,
    "Basic scheme": lambda door: "Basic cGltYm90OnNhbmRib3g=",
    "Bearer without a token": lambda door: "Bearer",
    "not a JWT": lambda door: "Bearer not.a.jwt",
    "forged signature (the channel's kid, another key)": _same_kid_other_key,
    "unknown key id": lambda door: "Bearer " + door.token(key=SigningKey()),
    "expired": lambda door: (
        "Bearer " + door.token(exp=int(time.time()) - 600, nbf=int(time.time()) - 4000)
    ),
    "not yet valid": lambda door: "Bearer " + door.token(nbf=int(time.time()) + 3600),
    "for another bot": lambda door: (
        "Bearer " + door.token(aud="00000000-0000-0000-0000-0bad0bad0bad")
    ),
    "wrong issuer": lambda door: "Bearer " + door.token(iss="https://evil.example"),
    "emulator issuer": lambda door: (
        "Bearer " + door.token(iss=EMULATOR_ISSUER, ver="1.0", appid=door.app_id)
    ),
    "serviceurl of another service": lambda door: (
        "Bearer " + door.token(serviceurl="https://smba.trafficmanager.net/emea/")
    ),
    "no serviceurl claim": lambda door: "Bearer " + door.token(serviceurl=None),
    "unsigned (alg none)": lambda door: "Bearer " + _unsigned(door),
}


def _unsigned(door: BotDoor) -> str:
    claims: dict[str, Any] = {
        "iss": "https://api.botframework.com",
        "aud": door.app_id,
        "serviceurl": door.service_url,
        "exp": int(time.time()) + 3600,
    }
    kid = door.running.twins.teams.channel.key.kid
    return jwt.encode(claims, None, algorithm="none", headers={"kid": kid})


@pytest.mark.parametrize("case", sorted(REJECTED))
async def test_a_forged_approval_is_401_and_changes_nothing(
    sandboxed: Sandbox, door: BotDoor, case: str
) -> None:
    request_id = await pending_exchange_request(sandboxed)
    before = await audit_actions(sandboxed)
    megan_sees = await sandboxed.person("megan").messages()
    approve = door.execute(
        "megan", {"verb": "request.approve", "request_id": request_id, "reason": "ok"}
    )

    answer = await door.post(approve, authorization=REJECTED[case](door))

    assert answer.status == 401
    assert answer.body == {"error": "Unauthorized"}
    await sandboxed.run_jobs()
    assert await request_state(sandboxed, request_id) is RequestState.PENDING_APPROVAL
    assert await audit_actions(sandboxed) == before
    assert await sandboxed.person("megan").messages() == megan_sees


async def test_the_same_approval_signed_by_the_channel_is_accepted(
    sandboxed: Sandbox, door: BotDoor
) -> None:
    """The control for the test above: only the token differs."""
    request_id = await pending_exchange_request(sandboxed)
    approve = door.execute(
        "megan", {"verb": "request.approve", "request_id": request_id, "reason": "ok"}
    )

    answer = await door.post(approve)

    assert answer.status == 200
    assert await request_state(sandboxed, request_id) is RequestState.APPROVED


async def test_an_unsigned_message_is_401_and_nobody_hears_of_it(
    sandboxed: Sandbox, door: BotDoor
) -> None:
    await sandboxed.client.install("adele")
    seen = await sandboxed.person("adele").messages()

    answer = await door.post(
        door.activity("adele", text="activate user admin for 1h"), authorization=None
    )

    assert answer.status == 401
    assert await sandboxed.person("adele").messages() == seen
    assert await audit_actions(sandboxed) == []


async def test_a_channel_the_key_does_not_endorse_is_401(sandboxed: Sandbox, door: BotDoor) -> None:
    await sandboxed.client.install("adele")

    answer = await door.post(door.activity("adele", text="my roles", channelId="webchat"))

    assert answer.status == 401


BAD_BODIES: dict[str, tuple[bytes, str, int]] = {
    "not JSON": (b"{this is not json", "application/json", 400),
    "a JSON list": (b"[1, 2, 3]", "application/json", 400),
    "an activity without a type": (b'{"text": "hi"}', "application/json", 400),
    "invalid UTF-8": (b'{"type": "message", "text": "\xff\xfe"}', "application/json", 400),
    "form data": (b"type=message&text=hi", "application/x-www-form-urlencoded", 415),
    "plain text": (b"activate global admin", "text/plain", 415),
    "over 256 KB": (
        b'{"type": "message", "text": "' + b"x" * (300 * 1024) + b'"}',
        "application/json",
        413,
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
async def test_bad_bodies_get_a_plain_status_without_details(
    sandboxed: Sandbox, door: BotDoor, case: str
) -> None:
    body, content_type, status = BAD_BODIES[case]

    answer = await door.post(body, content_type=content_type)

    assert answer.status == status
    assert "Traceback" not in answer.text and "File " not in answer.text
    assert set(answer.body) == {"error"}
    assert await audit_actions(sandboxed) == []
