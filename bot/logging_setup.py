"""Structured logs: one JSON object per line, with the correlation id of the turn being handled
and with secrets (bearer tokens, JWTs, configured secret values) redacted before anything is
written.

The correlation id lives in a context variable: set once per inbound HTTP request by
`correlation_middleware`, it follows every log line of that turn, including Graph calls and the
messenger, across awaits (asyncio copies the context into tasks it creates).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

CORRELATION_HEADER = "X-Correlation-Id"
_correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "pimbot_correlation_id", default=None
)

_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-_.~+/=]+")
_JWT = re.compile(r"\beyJ[A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]*")
_SECRET_FIELD = re.compile(
    r"(?i)((?:client_secret|password|access_token|refresh_token|assertion)[\"']?\s*[:=]\s*[\"']?)"
    r"[^\s\"'&,}]+"
)
REDACTED = "***"


def new_correlation_id() -> str:
    return uuid.uuid4().hex[:12]


def current_correlation_id() -> str | None:
    return _correlation_id.get()


def set_correlation_id(value: str | None) -> contextvars.Token[str | None]:
    return _correlation_id.set(value)


def reset_correlation_id(token: contextvars.Token[str | None]) -> None:
    _correlation_id.reset(token)


class SecretRedactor:
    """Removes bearer tokens, JWTs, `secret=…` pairs and the given literal secrets from text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
        text = _JWT.sub(REDACTED, text)
        return _SECRET_FIELD.sub(lambda m: m.group(1) + REDACTED, text)


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", "correlation_id"?, "exception"?}` per line."""

    def __init__(self, redact: Callable[[str], str] | None = None) -> None:
        super().__init__()
        self._redact = redact or SecretRedactor()

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self._redact(record.getMessage()),
        }
        correlation_id = getattr(record, "correlation_id", None) or current_correlation_id()
        if correlation_id:
            entry["correlation_id"] = correlation_id
        if record.exc_info:
            entry["exception"] = self._redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


# Loggers whose INFO lines are data: the Graph error-rate alert (infra/modules/alerts.bicep)
# counts every `graph METHOD path -> status` line, and the audit anchor's head hash is what
# `pimbot audit verify --anchor` is checked against. PIMBOT_LOG_LEVEL=WARNING must not silence them.
ALERTED_LOGGERS = ("bot.graph.http", "bot.audit_anchor")


def configure_logging(
    level: str = "INFO", *, secrets: Iterable[str] = (), stream: Any = None
) -> logging.Handler:
    """Send every log record, as JSON, to `stream` (stderr by default); returns the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(SecretRedactor(secrets)))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ALERTED_LOGGERS:
        # INFO at most, whatever the level: Azure Monitor's alerts count these lines.
        logging.getLogger(name).setLevel(min(root.level, logging.INFO))
    return handler


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def correlation_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A correlation id for the whole of one request (taken from `X-Correlation-Id` when the
    caller sent a plausible one), echoed in the response."""
    offered = request.headers.get(CORRELATION_HEADER, "")
    correlation_id = offered if re.fullmatch(r"[A-Za-z0-9\-]{8,64}", offered) else None
    token = set_correlation_id(correlation_id or new_correlation_id())
    try:
        response = await handler(request)
        response.headers[CORRELATION_HEADER] = current_correlation_id() or ""
        return response
    finally:
        reset_correlation_id(token)
