"""Posting activities to the bot's messaging endpoint, signed the way the channel signs them."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.sandbox.teams.channel_auth import ChannelAuth

log = logging.getLogger(__name__)
BOT_TIMEOUT = aiohttp.ClientTimeout(total=60)


@dataclass(frozen=True)
class BotAnswer:
    status: int  # the bot's HTTP status; 502 when it could not be reached
    body: Any  # parsed JSON, or None


class BotLink:
    """The twin's HTTP client towards the bot. Lives on the twin's event loop."""

    def __init__(self, channel: ChannelAuth, *, bot_url: str, app_id: str | None) -> None:
        self.channel = channel
        self.bot_url = bot_url
        self.app_id = app_id
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(self, activity: dict[str, Any]) -> BotAnswer:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=BOT_TIMEOUT)
        headers = {}
        if self.app_id is not None:
            token = self.channel.token(app_id=self.app_id, service_url=activity["serviceUrl"])
            headers["Authorization"] = f"Bearer {token}"
        try:
            async with self._session.post(self.bot_url, json=activity, headers=headers) as response:
                text = await response.text()
                try:
                    body = await response.json(content_type=None) if text.strip() else None
                except ValueError:
                    body = None
                return BotAnswer(response.status, body)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning(
                "could not deliver %s to the bot at %s: %s", activity["type"], self.bot_url, exc
            )
            return BotAnswer(502, {"error": f"pimbot is not reachable at {self.bot_url}"})
