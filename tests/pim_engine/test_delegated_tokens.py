"""Delegated tokens: what an on-behalf-of answer means, and how long a person's token is kept."""

from __future__ import annotations

from typing import Any

import pytest

from bot.graph.delegated import ConsentRequired, DelegatedTokens, SignInRequired
from bot.graph.errors import AuthenticationFailed

CLAIMS = '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}'


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class ScriptedTokens(DelegatedTokens):
    """msal's answers scripted; everything else as in production."""

    def __init__(self, *answers: dict[str, Any], clock: Clock) -> None:
        super().__init__(
            "client", "s3cret", "tenant", "http://127.0.0.1:1", http_client=object(), clock=clock
        )
        self.answers = list(answers)
        self.claims_seen: list[str | None] = []

    def _build_app(self) -> Any:
        return object()

    def _acquire(self, sso_token: str, claims: str | None) -> dict[str, Any]:
        self.claims_seen.append(claims)
        return self.answers.pop(0)


async def test_a_token_is_kept_per_person_until_five_minutes_before_it_expires() -> None:
    clock = Clock()
    tokens = ScriptedTokens({"access_token": "graph-token", "expires_in": 3600}, clock=clock)
    assert await tokens.exchange("adele", "sso") == "graph-token"
    assert tokens.cached("adele") == "graph-token"
    assert tokens.cached("megan") is None
    clock.now += 3600 - 5 * 60
    assert tokens.cached("adele") is None


async def test_missing_consent_is_told_apart_from_a_needed_sign_in() -> None:
    tokens = ScriptedTokens(
        {"error": "invalid_grant", "error_codes": [65001]},
        {"error": "interaction_required", "error_codes": [50076], "claims": CLAIMS},
        clock=Clock(),
    )
    with pytest.raises(ConsentRequired):
        await tokens.exchange("adele", "sso")
    with pytest.raises(SignInRequired) as needed:
        await tokens.exchange("adele", "sso", CLAIMS)
    assert needed.value.claims == CLAIMS
    assert tokens.claims_seen == [None, CLAIMS]
    assert tokens.cached("adele") is None


async def test_other_refusals_are_authentication_failures_without_secrets() -> None:
    tokens = ScriptedTokens({"error": "invalid_client", "error_codes": [7000215]}, clock=Clock())
    with pytest.raises(AuthenticationFailed) as failed:
        await tokens.exchange("adele", "sso")
    assert "s3cret" not in str(failed.value)
    assert "s3cret" not in repr(tokens)


async def test_forgetting_a_person_drops_their_token() -> None:
    tokens = ScriptedTokens({"access_token": "t", "expires_in": 3600}, clock=Clock())
    await tokens.exchange("adele", "sso")
    tokens.forget("adele")
    assert tokens.cached("adele") is None
