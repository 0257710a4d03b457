"""What a Bot Connector answer that is not a success means, read from its status code and
`Retry-After` whatever its body: gateways and stand-ins answer with HTML or plain-text pages,
which botbuilder's client cannot parse (it raises a `DeserializationError` that carries no
status), so the status is taken from the HTTP response that failed to parse. pimbot's own
client (`connector.py`) raises `ConnectorError`, which carries both."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from msrest.exceptions import (  # type: ignore[attr-defined]
    ClientRequestError,
    DeserializationError,
    HttpOperationError,
)

from bot.channel.connector import ConnectorError
from bot.retry_after import parse_retry_after
from bot.workflow.ports import DeliveryDelayed, DeliveryRefused

RETRIED_4XX = (408, 429)


def delivery_failure(error: BaseException) -> DeliveryRefused | DeliveryDelayed | None:
    """The failure `error` stands for, or None when it is not an answer from the connector
    (a bug: raise it as it is)."""
    if isinstance(error, (asyncio.TimeoutError, aiohttp.ClientError, ClientRequestError)):
        return DeliveryDelayed(None, f"{type(error).__name__}: {error}")
    detail = f"{type(error).__name__}: {error}"
    if isinstance(error, ConnectorError):
        status, asked = error.status, error.retry_after
    else:
        response = _http_response(error)
        if response is None:
            return None
        status = int(getattr(response, "status_code", 0) or 0)
        asked = (getattr(response, "headers", None) or {}).get("Retry-After")
    if status >= 500 or status in RETRIED_4XX:
        return DeliveryDelayed(status, detail, retry_after(asked))
    if 400 <= status < 500:
        return DeliveryRefused(status, detail)
    return DeliveryDelayed(status or None, detail)  # an unreadable success: try again


def status_of(error: BaseException) -> int | None:
    if isinstance(error, ConnectorError):
        return error.status
    response = _http_response(error)
    status = getattr(response, "status_code", None) if response is not None else None
    return int(status) if status else None


def _http_response(error: BaseException) -> Any | None:
    if isinstance(error, HttpOperationError):
        return getattr(error, "response", None)
    if isinstance(error, DeserializationError):
        return _unparsed_response(error)
    return None


def _unparsed_response(error: DeserializationError) -> Any | None:
    """The response msrest's `RawDeserializer.on_response(request, response)` could not parse:
    the nearest frame of the traceback with a `response` holding an HTTP response."""
    found: Any | None = None
    tb = error.__traceback__
    while tb is not None:
        candidate = tb.tb_frame.f_locals.get("response")
        http = getattr(candidate, "http_response", None)
        if http is not None and getattr(http, "status_code", None):
            found = http
        tb = tb.tb_next
    return found


def retry_after(value: str | None) -> float | None:
    """`Retry-After` as seconds: a number of seconds or an HTTP date."""
    return parse_retry_after(value)
