"""What one user's Teams client shows over time, as numbered events that clients can long-poll.

Event kinds: `message` (the bot posted: text and cards), `update` (the bot replaced a message),
`delete`, `card_view` (an invoke response replaced a card for this user only), `toast` (an invoke
response's message), `error` (an invoke error, or the bot failing to answer), `user_message`
(what the user sent), `signin_required` (Teams shows a sign-in prompt after a refused token
exchange), `signed_in`, `installed`.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any


class Transcript:
    """Append-only, per user. Only touched from the twin's event loop."""

    def __init__(self) -> None:
        self._events: list[dict[str, Any]] = []
        self._changed = asyncio.Condition()
        self._closed = False

    @property
    def last_seq(self) -> int:
        return len(self._events)

    async def add(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {
            "seq": len(self._events) + 1,
            "kind": kind,
            "at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            **fields,
        }
        async with self._changed:
            self._events.append(event)
            self._changed.notify_all()
        return event

    async def close(self) -> None:
        """The twin is shutting down: waiting clients get what there is now, at once (a server
        waits for every open request before it stops)."""
        async with self._changed:
            self._closed = True
            self._changed.notify_all()

    def since(self, after: int) -> list[dict[str, Any]]:
        return self._events[max(after, 0) :]

    async def wait_since(self, after: int, wait: float) -> list[dict[str, Any]]:
        """Events after `after`; waits up to `wait` seconds for the first one to arrive."""
        if wait > 0 and self.last_seq <= after and not self._closed:
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._changed.wait_for(lambda: self.last_seq > after or self._closed),
                        timeout=wait,
                    )
        return self.since(after)
