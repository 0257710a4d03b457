"""Structured logs: one JSON object per line, every line of a turn under one correlation id, and
no secret ever written."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from bot.logging_setup import (
    ALERTED_LOGGERS,
    JsonFormatter,
    SecretRedactor,
    configure_logging,
    reset_correlation_id,
    set_correlation_id,
)
from tests.e2e.conftest import Sandbox

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZGVsZSJ9.c2lnbmF0dXJl"


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging("INFO", secrets=["sandbox-secret-not-for-production"], stream=stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        for name in ALERTED_LOGGERS:
            logging.getLogger(name).setLevel(logging.NOTSET)


def entries(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line]


def test_a_line_is_json_with_the_correlation_id_of_its_turn(log_lines: io.StringIO) -> None:
    token = set_correlation_id("abc123def456")
    try:
        logging.getLogger("bot.test").warning("approved %s", "req-1")
    finally:
        reset_correlation_id(token)
    logging.getLogger("bot.test").info("between turns")

    first, second = entries(log_lines)
    assert first["level"] == "WARNING" and first["logger"] == "bot.test"
    assert first["message"] == "approved req-1"
    assert first["correlation_id"] == "abc123def456"
    assert "correlation_id" not in second


def test_warning_level_keeps_the_lines_alerts_and_the_audit_anchor_read() -> None:
    """PIMBOT_LOG_LEVEL=WARNING quiets pimbot, but not the Graph call lines the Graph error-rate
    alert counts, nor the audit anchor's head hash."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging("WARNING", stream=stream)
    try:
        logging.getLogger("bot.workflow").info("a turn went well")
        logging.getLogger("bot.graph.http").info("graph GET /v1.0/me -> 200 in 12 ms")
        logging.getLogger("bot.audit_anchor").info("audit anchor: entry 7 hash abc")
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        for name in ALERTED_LOGGERS:
            logging.getLogger(name).setLevel(logging.NOTSET)

    assert [line["message"] for line in entries(stream)] == [
        "graph GET /v1.0/me -> 200 in 12 ms",
        "audit anchor: entry 7 hash abc",
    ]


@pytest.mark.parametrize(
    "leaky",
    [
        f"Authorization: Bearer {JWT}",
        f"token {JWT} refused",
        "client_secret=sandbox-secret-not-for-production&scope=x",
        '{"password": "hunter2-but-longer"}',
        "the secret is sandbox-secret-not-for-production",
    ],
)
def test_secrets_are_redacted(leaky: str) -> None:
    redact = SecretRedactor(["sandbox-secret-not-for-production"])

    cleaned = redact(leaky)

    for secret in (JWT, "sandbox-secret-not-for-production", "hunter2-but-longer"):
        assert secret not in cleaned
    assert "***" in cleaned


def test_exceptions_are_redacted_too() -> None:
    formatter = JsonFormatter(SecretRedactor())
    try:
        raise RuntimeError(f"token endpoint said no to Bearer {JWT}")
    except RuntimeError:
        record = logging.LogRecord("bot", logging.ERROR, __file__, 1, "failed", None, None)
        record.exc_info = sys.exc_info()
    entry = json.loads(formatter.format(record))
    assert JWT not in entry["exception"] and "RuntimeError" in entry["exception"]


async def test_one_turn_logs_under_one_correlation_id_and_no_secret(
    sandboxed: Sandbox, log_lines: io.StringIO
) -> None:
    adele = sandboxed.person("adele")
    await sandboxed.client.install("adele")
    log_lines.truncate(0)
    log_lines.seek(0)

    await adele.say("my roles")

    graph_lines = [e for e in entries(log_lines) if e["logger"] == "bot.graph.http"]
    assert graph_lines, "the turn read roles from Graph"
    assert len({e.get("correlation_id") for e in graph_lines}) == 1
    assert graph_lines[0].get("correlation_id")
    written = log_lines.getvalue()
    assert "sandbox-secret-not-for-production" not in written
    assert "eyJ" not in written
