"""Reading a connector failure by its status and Retry-After, whatever its body."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from bot.channel.connector_errors import delivery_failure, retry_after
from bot.workflow.ports import DeliveryDelayed


def test_retry_after_in_seconds() -> None:
    assert retry_after("7") == 7.0
    assert retry_after("") is None
    assert retry_after("soon") is None


def test_retry_after_as_an_http_date() -> None:
    later = datetime.now(UTC) + timedelta(minutes=5)
    seconds = retry_after(format_datetime(later, usegmt=True))
    assert seconds is not None and 200 < seconds <= 300
    assert retry_after(format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)) == 0


def test_a_timeout_is_worth_a_retry_and_a_bug_is_not_a_connector_failure() -> None:
    assert isinstance(delivery_failure(TimeoutError()), DeliveryDelayed)
    assert delivery_failure(KeyError("bug")) is None
