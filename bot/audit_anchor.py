"""Publishes the audit chain's head outside the database, so the chain can be checked against it.

Someone who can write the database can rewrite the audit log and its head into a chain that is
consistent in itself. Every `PIMBOT_AUDIT_ANCHOR_MINUTES` (and at start) each replica writes the
head's id and hash to the log (`audit anchor: entry N hash H`, kept by Log Analytics) and to
`/metrics` (`pimbot_audit_anchor_info{id, hash}`). `pimbot audit verify --anchor H` then proves
that entry N and every entry before it are unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.metrics import Metrics
from bot.store import AuditHead, Database

log = logging.getLogger(__name__)


class AuditAnchor:
    def __init__(self, db: Database, metrics: Metrics | None, *, interval_seconds: float) -> None:
        self.db = db
        self.metrics = metrics
        self.interval_seconds = interval_seconds
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def publish_once(self) -> AuditHead | None:
        """Publish the current head (nothing while the log is empty)."""
        async with self.db.transaction() as tx:
            head = await tx.audit.head()
        if head is None:
            return None
        log.info("audit anchor: entry %d hash %s", head.id, head.hash)
        if self.metrics is not None:
            self.metrics.audit_anchor.info({"id": str(head.id), "hash": head.hash})
        return head

    def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._run(), name="audit-anchor")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.publish_once()
            except Exception as error:  # the database is away: try again next time
                log.warning("audit anchor: cannot read the head: %s", type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval_seconds)
