"""A small async cache for Graph reads that change rarely (role definitions, policies, a
person's groups, the people behind approvers)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Values kept for `ttl` seconds, at most `capacity` of them (the oldest go first); one load
    per key at a time, shared by everyone asking meanwhile. A load outlives a caller that stops
    waiting (a turn's time budget): the next caller finds its result."""

    def __init__(self, ttl: float, clock: Callable[[], float], capacity: int = 10_000) -> None:
        self._ttl = ttl
        self._clock = clock
        self._capacity = capacity
        self._values: dict[K, tuple[float, V]] = {}
        self._loading: dict[K, asyncio.Future[V]] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        hit = self._values.get(key)
        if hit and self._clock() < hit[0]:
            return hit[1]
        pending = self._loading.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._load(key, load))
            pending.add_done_callback(_retrieve)
            self._loading[key] = pending
        return await asyncio.shield(pending)

    def peek(self, key: K) -> V | None:
        """The value if it is still fresh, without loading it."""
        hit = self._values.get(key)
        return hit[1] if hit and self._clock() < hit[0] else None

    def last(self, key: K) -> V | None:
        """The value last stored, even if it is no longer fresh (a hint, never an answer)."""
        hit = self._values.get(key)
        return hit[1] if hit else None

    def put(self, key: K, value: V) -> None:
        """Store a value read elsewhere (in a batch with other reads)."""
        self._values.pop(key, None)
        self._values[key] = (self._clock() + self._ttl, value)
        while len(self._values) > self._capacity:
            del self._values[next(iter(self._values))]

    async def _load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        try:
            value = await load()
        finally:
            self._loading.pop(key, None)
        self.put(key, value)
        return value


def _retrieve(future: asyncio.Future[Any]) -> None:
    """A load nobody waits for any more may fail: its exception is not worth a warning."""
    if not future.cancelled():
        future.exception()
