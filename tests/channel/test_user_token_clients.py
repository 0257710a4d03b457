"""ReusedUserTokenClients: botbuilder's authentication, with one user token client per app id."""

from __future__ import annotations

from typing import Any

from botframework.connector.auth import AuthenticationConstants, ClaimsIdentity

from bot.channel.user_token_clients import ReusedUserTokenClients


class Inner:
    """Stands in for botbuilder's built-in authentication: counts what it is asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def create_user_token_client(self, identity: ClaimsIdentity) -> object:
        self.asked.append("user_token_client")
        return object()

    async def authenticate_request(self, activity: Any, auth_header: str) -> str:
        self.asked.append(f"authenticate {auth_header}")
        return "result"


def identity(app_id: str) -> ClaimsIdentity:
    return ClaimsIdentity(
        {
            AuthenticationConstants.AUDIENCE_CLAIM: app_id,
            AuthenticationConstants.APP_ID_CLAIM: app_id,
        },
        True,
    )


async def test_one_user_token_client_per_app_id() -> None:
    inner = Inner()
    auth = ReusedUserTokenClients(inner)  # type: ignore[arg-type]

    first = await auth.create_user_token_client(identity("app-1"))
    again = await auth.create_user_token_client(identity("app-1"))
    other = await auth.create_user_token_client(identity("app-2"))

    assert first is again
    assert other is not first
    assert inner.asked == ["user_token_client", "user_token_client"]


async def test_every_request_is_still_authenticated_by_botbuilder() -> None:
    inner = Inner()
    auth = ReusedUserTokenClients(inner)  # type: ignore[arg-type]

    for _ in range(2):
        assert await auth.authenticate_request(None, "Bearer x") == "result"  # type: ignore[arg-type]

    assert inner.asked == ["authenticate Bearer x", "authenticate Bearer x"]
