"""pimbot's own client for the Bot Connector calls of every message it sends: a new activity in
a conversation, a reply to an activity, and the update of one in place (REST API v3, `POST
/v3/conversations/{conversationId}/activities[/{activityId}]` and `PUT …/activities/{activityId}`).
`PimbotAdapter` sends a turn's replies through it; `BotMessenger` its proactive messages.

botbuilder's `ConnectorClient` builds a new msrest pipeline and `requests` session for every
call (a new TCP connection each time, the call itself in a worker thread) and serializes the
activity through msrest's validating serializer; for a fan-out of approval cards that was most of
the CPU a card cost. Here one aiohttp session keeps its connections open, the activity is turned
into JSON by walking the schema's attribute maps, and the bearer token is the one the token
source keeps fresh. An answer that is not a success raises `ConnectorError` with its status and
`Retry-After` (read by `connector_errors`); nothing is retried here: the job that sent it is
(`bot/scheduler.py`), after the delay Teams asked for.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import Any
from urllib.parse import quote

import aiohttp
from msrest.serialization import Model

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 30.0
MAX_ERROR_BODY = 300


class ConnectorError(Exception):
    """The Bot Connector answered with a status that is not a success."""

    def __init__(self, status: int, retry_after: str | None, body: str) -> None:
        detail = " ".join(body.split())[:MAX_ERROR_BODY]
        super().__init__(f"Bot Connector answered HTTP {status}: {detail}".rstrip(": "))
        self.status = status
        self.retry_after = retry_after


def model_json(value: Any) -> Any:
    """A Bot Framework schema object as the JSON msrest sends for it: each attribute under its
    wire name (`from_property` as `from`), attributes that are None left out, enums as their
    values, free-form objects (card content, channel data) as they are."""
    if isinstance(value, Model):
        out: dict[str, Any] = {}
        for attribute, spec in type(value)._attribute_map.items():
            item = getattr(value, attribute, None)
            if item is not None:
                out[spec["key"]] = model_json(item)
        return out
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {key: model_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [model_json(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def addressed(activity: dict[str, Any], reference: dict[str, Any]) -> dict[str, Any]:
    """`activity` (JSON) sent by the bot into the conversation of a stored reference (JSON, as
    `ConversationReference.serialize()` wrote it): what botbuilder's
    `TurnContext.apply_conversation_reference` does, as a new message (no `replyToId`)."""
    fields = {
        "channelId": reference.get("channelId"),
        "locale": reference.get("locale"),
        "serviceUrl": reference.get("serviceUrl"),
        "conversation": reference.get("conversation"),
        "from": reference.get("bot"),
        "recipient": reference.get("user"),
    }
    out = {key: item for key, item in activity.items() if key not in fields and key != "id"}
    out.update({key: item for key, item in fields.items() if item is not None})
    out.pop("replyToId", None)
    return out


class BotConnector:
    """Sends and updates activities. `token` gives the current bearer token (None: the bot runs
    without an app registration and sends no Authorization header)."""

    def __init__(
        self, token: Callable[[], str] | None, *, timeout: float = TIMEOUT_SECONDS
    ) -> None:
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def send_to_conversation(
        self, service_url: str, conversation_id: str, activity: dict[str, Any]
    ) -> str:
        """Post a new activity; the id the connector gave it ("" when it gave none)."""
        url = f"{_base(service_url)}/v3/conversations/{quote(conversation_id, safe='')}/activities"
        answer = await self._call("POST", url, activity)
        return str(answer.get("id") or "") if isinstance(answer, dict) else ""

    async def reply_to_activity(
        self, service_url: str, conversation_id: str, reply_to_id: str, activity: dict[str, Any]
    ) -> str:
        """Post an activity as a reply to `reply_to_id`; the id the connector gave it."""
        answer = await self._call(
            "POST", _activity_url(service_url, conversation_id, reply_to_id), activity
        )
        return str(answer.get("id") or "") if isinstance(answer, dict) else ""

    async def update_activity(
        self, service_url: str, conversation_id: str, activity_id: str, activity: dict[str, Any]
    ) -> str:
        """Replace an activity the bot sent; the id the connector named ("" when none)."""
        answer = await self._call(
            "PUT", _activity_url(service_url, conversation_id, activity_id), activity
        )
        return str(answer.get("id") or "") if isinstance(answer, dict) else ""

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(self, method: str, url: str, body: dict[str, Any]) -> Any:
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token()}"
        data = json.dumps(body, ensure_ascii=False).encode()
        async with self._client().request(method, url, data=data, headers=headers) as response:
            text = await response.text()
            if response.status >= 300:
                raise ConnectorError(response.status, response.headers.get("Retry-After"), text)
        if not text.strip():
            return None  # accepted without naming the activity (202)
        try:
            return json.loads(text)
        except ValueError:
            # The connector took it (2xx) but its answer cannot be read: the message is out, only
            # its id is unknown. Sending it again would show it twice, so it counts as accepted
            # without an id (botbuilder's client raised here, and the job sent it again).
            logger.warning("%s %s: %s answer is not JSON", method, url, response.status)
            return None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session


def _base(service_url: str) -> str:
    return service_url.rstrip("/")


def _activity_url(service_url: str, conversation_id: str, activity_id: str) -> str:
    return (
        f"{_base(service_url)}/v3/conversations/{quote(conversation_id, safe='')}"
        f"/activities/{quote(activity_id, safe='')}"
    )
