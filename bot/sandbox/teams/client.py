"""Async client for the Teams twin's client API: speak and act as a user, read what they see."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

REQUEST_TIMEOUT = 90.0  # above the bot's own limits: a turn may run a while


class SandboxError(Exception):
    """The twin refused a request (unknown user, unknown message, bad arguments)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class SandboxClient:
    def __init__(self, base_url: str, *, http: httpx.AsyncClient | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = http or httpx.AsyncClient(timeout=REQUEST_TIMEOUT)

    async def __aenter__(self) -> SandboxClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    def _url(self, user: str, what: str) -> str:
        return f"{self.base_url}/_sandbox/users/{quote(user, safe='')}/{what}"

    async def _call(
        self,
        method: str,
        user: str,
        what: str,
        *,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        accept: Sequence[int] = (200,),
        request_timeout: float | None = None,
    ) -> Any:
        response = await self._http.request(
            method,
            self._url(user, what),
            json=json,
            params=params,
            timeout=request_timeout or REQUEST_TIMEOUT,
        )
        if response.status_code not in accept:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text
            raise SandboxError(response.status_code, message)
        return response.json()

    async def install(self, user: str) -> dict[str, Any]:
        """Install the app for the user (Teams sends installationUpdate and conversationUpdate)."""
        result: dict[str, Any] = await self._call("POST", user, "install")
        return result

    async def uninstall(self, user: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("DELETE", user, "install")
        return result

    async def say(self, user: str, text: str) -> dict[str, Any]:
        """Send a message as the user: `{"status": <bot's HTTP status>, "activityId"}`."""
        result: dict[str, Any] = await self._call("POST", user, "messages", json={"text": text})
        return result

    async def press(
        self,
        user: str,
        activity_id: str,
        action: Mapping[str, Any],
        inputs: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Press a card action: `{"status", "response"}`, or `{"status": None, "inputErrors"}`
        when the client refused to send (a required input left empty)."""
        body = {"activityId": activity_id, "action": dict(action), "inputs": dict(inputs or {})}
        result: dict[str, Any] = await self._call(
            "POST", user, "actions", json=body, accept=(200, 422)
        )
        return result

    async def refresh(self, user: str, activity_id: str) -> dict[str, Any]:
        """The user views a card with `refresh` (Teams' automatic Action.Execute):
        `{"refreshed", "status", "response"}`; the card view changes as for a press."""
        result: dict[str, Any] = await self._call(
            "POST", user, "refresh", json={"activityId": activity_id}
        )
        return result

    async def sign_in(
        self, user: str, *, mfa: bool = True, acrs: Sequence[str] = ()
    ) -> dict[str, Any]:
        """The user signs in again (with MFA, and meeting the given auth contexts); a pending
        token exchange is retried: `{"exchanged", "status", "response"}`."""
        result: dict[str, Any] = await self._call(
            "POST", user, "signin", json={"mfa": mfa, "acrs": list(acrs)}
        )
        return result

    async def transcript(self, user: str, after: int = 0, wait: float = 0) -> dict[str, Any]:
        """Events after `after` (`{"events": [...], "last": seq}`), waiting up to `wait` s."""
        result: dict[str, Any] = await self._call(
            "GET",
            user,
            "transcript",
            params={"after": after, "wait": wait},
            request_timeout=wait + REQUEST_TIMEOUT,
        )
        return result

    async def messages(self, user: str) -> list[dict[str, Any]]:
        """The chat as it looks now, each message with the card this user currently sees."""
        result = await self._call("GET", user, "messages")
        messages: list[dict[str, Any]] = result["messages"]
        return messages

    async def wait_for(
        self, user: str, kind: str, *, after: int = 0, within: float = 10.0
    ) -> dict[str, Any]:
        """The first event of `kind` after `after`, long-polling for at most `within` seconds."""
        deadline = time.monotonic() + within
        while True:
            remaining = deadline - time.monotonic()
            page = await self.transcript(user, after=after, wait=max(remaining, 0))
            event: dict[str, Any]
            for event in page["events"]:
                if event["kind"] == kind:
                    return event
            after = page["last"]
            if remaining <= 0:
                raise TimeoutError(f"no {kind!r} event for {user} within {within} s")

    async def channel_messages(self, channel_id: str) -> list[dict[str, Any]]:
        """What the bot posted in a team channel (`19:…@thread.tacv2`)."""
        response = await self._http.get(
            f"{self.base_url}/_sandbox/channels/{quote(channel_id, safe='')}/messages"
        )
        if response.status_code != 200:
            raise SandboxError(response.status_code, response.text)
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages
