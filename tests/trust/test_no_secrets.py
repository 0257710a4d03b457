"""Secrets and tokens never reach the logs, the audit log (or its export) or the database.

Journeys run with every logger at DEBUG; every JWT the twins issue (app tokens for Graph and the
Bot Connector, channel tokens, SSO tokens, id tokens) is recorded as it is signed, then looked
for, with the client secret and the app password, in everything pimbot wrote."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.sandbox import entra
from tests.e2e.conftest import Sandbox
from tests.trust.door import BotDoor
from tests.trust.journeys import pending_exchange_request


@pytest.fixture
def issued_tokens(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    tokens: list[str] = []
    sign = entra.SigningKey.sign

    def recording_sign(self: entra.SigningKey, claims: Mapping[str, Any]) -> str:
        token = sign(self, claims)
        tokens.append(token)
        return token

    monkeypatch.setattr(entra.SigningKey, "sign", recording_sign)
    yield tokens


async def journeys(sb: Sandbox) -> None:
    """Approval, denial, MFA (refused without MFA, then accepted), a forged sign-in token and a
    forged channel token: every path a token or secret travels."""
    await pending_exchange_request(sb)
    await sb.person("megan").press("Approve", {"reason": "ok"})
    await sb.run_jobs()
    adele = sb.person("adele")
    await adele.say("activate global admin for 1h because INC-42 tenant lockout")
    await adele.press("Ask for approval")
    await sb.client.wait_for("adele", "signin_required")
    await sb.client.sign_in("adele", mfa=True)
    await sb.run_jobs()
    await sb.person("nestor").press("Deny", {"reason": "not today"})
    await adele.say("my roles")
    async with httpx.AsyncClient(timeout=60) as http:
        door = BotDoor(sb.running, http)
        forged_sso = entra.SigningKey().sign({"aud": door.app_id, "oid": door.user_id("adele")})
        exchange = door.activity(
            "adele",
            "invoke",
            name="signin/tokenExchange",
            value={"id": "no-such-request", "connectionName": "sso", "token": forged_sso},
        )
        await door.post(exchange)
        forged_channel = entra.SigningKey(kid=sb.running.twins.teams.channel.key.kid)
        await door.post(
            door.activity("adele", text="my roles"),
            authorization="Bearer " + door.token(key=forged_channel),
        )
    sb.clock.advance(minutes=70)
    await sb.run_jobs()


def leaks(haystack: str, secrets: list[str]) -> list[str]:
    """The secrets found, shortened so the failure message does not print them whole."""
    return [s[:12] + "…" for s in secrets if s in haystack]


async def test_no_secret_or_token_is_logged_audited_or_stored(
    sandboxed: Sandbox, issued_tokens: list[str], caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    await journeys(sandboxed)

    settings = sandboxed.running.settings
    secrets = [
        settings.app_password.get_secret_value(),
        sandboxed.running.twins.tenant.pimbot_app.client_secret,
    ]
    assert all(secrets)
    # A token's signature is unique to it; its claims part alone would identify it too.
    tokens = sorted(set(issued_tokens))
    needles = secrets + tokens + [t.rsplit(".", 1)[1] for t in tokens]
    assert len(tokens) >= 5  # app tokens (Graph, Bot Connector), channel and SSO tokens

    logged = caplog.text  # messages with their exception text and stack traces
    assert caplog.records and any(r.levelno == logging.DEBUG for r in caplog.records)
    assert leaks(logged, needles) == []

    async with sandboxed.running.services.db.transaction() as tx:
        assert (await tx.audit.verify()).ok
        exported = io.StringIO()
        await tx.audit.export("json", exported)
        await tx.audit.export("csv", exported)
    assert "mfa.missing" in exported.getvalue()  # the refused sign-in is audited...
    assert leaks(exported.getvalue(), needles) == []  # ...without its token

    stored = b"".join(p.read_bytes() for p in tmp_path.glob("pimbot.db*"))
    assert stored
    assert leaks(stored.decode("utf-8", errors="replace"), needles) == []
