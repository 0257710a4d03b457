"""`POST /api/messages`: our replacement for `CloudAdapter.process`.

botbuilder 4.17.1's `process` answers 500 for most token failures (it only maps
`PermissionError` to 401) and for every invoke response that has a body (it serializes the body
twice). Here the request is checked, then authenticated on its own (every failure → 401, before
any bot code runs), then processed with the ready `AuthenticateRequestResult`; invoke bodies are
plain dicts and are serialized exactly once.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from botbuilder.core import Bot, serializer_helper
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity
from msrest.serialization import Model

from bot.channel.connector_errors import delivery_failure
from bot.telemetry import count_turn, mark_failed, work_span
from bot.workflow.ports import DeliveryRefused

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, code: str) -> web.Response:
    return web.json_response({"error": code}, status=status)


async def _read_limited(request: web.Request, limit: int) -> bytes | None:
    """The body, or None when it is larger than `limit` (declared or actual)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    body = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        body.extend(chunk)
        if len(body) > limit:
            return None
    return bytes(body)


def _parse_activity(body: bytes) -> Activity | None:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict) or not payload.get("type"):
        return None
    try:
        activity = Activity().deserialize(payload)
    except Exception:  # msrest DeserializationError and friends: malformed fields
        return None
    return activity if isinstance(activity, Activity) and activity.type else None


def messages_handler(adapter: CloudAdapter, bot: Bot) -> Handler:
    """The aiohttp handler for the Bot Framework messaging endpoint."""

    async def handle_messages(request: web.Request) -> web.StreamResponse:
        if request.content_type != "application/json":
            return _error(415, "UnsupportedMediaType")
        body = await _read_limited(request, MAX_BODY_BYTES)
        if body is None:
            return _error(413, "PayloadTooLarge")
        activity = _parse_activity(body)
        if activity is None:
            return _error(400, "BadRequest")

        auth_header = request.headers.get("Authorization", "")
        try:
            auth_result = await adapter.bot_framework_authentication.authenticate_request(
                activity, auth_header
            )
        except Exception as error:  # forged, expired, wrong aud/iss/serviceurl, unknown kid...
            # The exception text never carries the token; the header itself is never logged.
            logger.warning(
                "Rejected %s activity from channel %r: %s",
                activity.type,
                activity.channel_id,
                type(error).__name__,
            )
            return _error(401, "Unauthorized")

        with work_span("pimbot.turn", _turn_attributes(activity)) as span:
            response = await _process(adapter, bot, auth_result, activity)
            span.set_attribute("http.response.status_code", response.status)
            if response.status >= 500:
                mark_failed(span, "the turn failed")
        count_turn(str(activity.type), response.status)
        return response

    return handle_messages


def _turn_attributes(activity: Activity) -> dict[str, str]:
    attributes = {"pimbot.activity.type": str(activity.type or "")}
    if activity.name:
        attributes["pimbot.activity.name"] = str(activity.name)
    if activity.channel_id:
        attributes["pimbot.channel"] = str(activity.channel_id)
    return attributes


async def _process(
    adapter: CloudAdapter, bot: Bot, auth_result: Any, activity: Activity
) -> web.Response:
    """Run the authenticated activity through the bot; the HTTP answer for it."""
    try:
        invoke_response = await adapter.process_activity(auth_result, activity, bot.on_turn)
    except Exception as error:
        refused = _refused_delivery(error)
        if refused is not None:
            # The channel refused a reply of this turn for good (a chat it does not know, a
            # bot removed from it): retrying the activity cannot help; no server error.
            logger.warning(
                "The channel refused a reply to %s activity %s: %s",
                activity.type,
                activity.id,
                refused,
            )
            return web.Response(status=200)
        correlation_id = uuid.uuid4().hex[:12]
        logger.exception(
            "Turn failed [ref %s] for %s activity %s",
            correlation_id,
            activity.type,
            activity.id,
        )
        return web.json_response({"error": "InternalError", "ref": correlation_id}, status=500)

    if invoke_response is None:
        return web.Response(status=200)
    status = int(invoke_response.status or 200)
    if invoke_response.body is None:
        return web.Response(status=status)
    return web.json_response(_plain(invoke_response.body), status=status)


def _refused_delivery(error: Exception) -> int | None:
    """The status of a connector answer that refuses for good (4xx but 408 and 429), whatever
    the body of the answer, else None."""
    failure = delivery_failure(error)
    return failure.status if isinstance(failure, DeliveryRefused) else None


def _plain(body: Any) -> Any:
    """Invoke bodies are plain JSON values; msrest models (from botbuilder's own handlers) are
    serialized here, once."""
    return serializer_helper(body) if isinstance(body, Model) else body
