"""The alerts digest: every PIMBOT_ALERTS_EVERY, what is new in PIM's alerts since the last
digest goes to each of pimbot's admins in their 1:1 chat (or, with PIMBOT_ALERTS_CHANNEL, once to
that Teams channel), and nothing when nothing is new.

Exactly once across replicas: the digest is a job in the jobs table (one replica claims it), its
messages (or its one channel post) are queued with keys named after the job, and the job queues
the next digest (again keyed by its own id) in the same transaction, carrying what it has seen. A
replica that dies after that transaction and before finishing the job leaves it to be run again,
which queues nothing new.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from bot.domain import GraphError, TextMessage
from bot.governance.audit import audit_admin
from bot.governance.config import GovernanceConfig
from bot.governance.domain import Alert, Finding
from bot.governance.policy_ports import AlertsSource
from bot.governance.ports import AdminDirectory, PostToChannel
from bot.store import Database, Tx
from bot.store.jobs import Job
from bot.workflow import outbox
from bot.workflow.outbox import JobHandler, RetryLater
from cards.text import plain

log = logging.getLogger(__name__)

DIGEST_JOB = "alerts_digest"  # {"seen": [fingerprints] | None}
CHANNEL_JOB = "alerts_channel_post"  # {"channel_id", "text"}: the digest in PIMBOT_ALERTS_CHANNEL
MAX_LINES = 15
RETRY_DELAY = timedelta(minutes=5)


def fingerprint(alert: Alert, finding: Finding) -> str:
    """A short stable name of one finding (the job carries thousands of them)."""
    text = f"{alert.kind.value}:{finding.key.lower()}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


async def start_digest(tx: Tx, now: datetime, every: timedelta) -> None:
    """Queue the first round, once per database (later ones follow from it). The first round
    only notes what is there (the admins see it with `alerts`); digests tell what is new."""
    await tx.jobs.enqueue(
        DIGEST_JOB, {"seen": None}, due_at=now + every, dedupe_key=f"{DIGEST_JOB}:first"
    )


class AlertsDigest:
    def __init__(
        self,
        db: Database,
        source: AlertsSource,
        admins: AdminDirectory,
        config: GovernanceConfig,
        now: Callable[[], datetime],
        *,
        channel: PostToChannel | None = None,
    ) -> None:
        self._db = db
        self._channel = channel
        self._source = source
        self._admins = admins
        self._config = config
        self._every = config.alerts_every
        self._now = now

    def job_handlers(self) -> dict[str, JobHandler]:
        return {DIGEST_JOB: self.run, CHANNEL_JOB: self.post_in_channel}

    async def run(self, job: Job) -> None:
        if not self._config.enabled:
            return  # no admins: no digest (and no next one)
        try:
            await self._source.refresh()
            report = await self._source.read()
            admins = (
                []
                if self._config.alerts_channel
                else await self._admins.transitive_members(self._config.admin_group_id)
            )
        except GraphError as exc:
            log.warning("alerts digest: Graph answered %s; trying again later", exc.status)
            raise RetryLater(RETRY_DELAY, f"Graph: {exc}") from exc
        current = {
            fingerprint(alert, finding): (alert, finding)
            for alert in report.active
            for finding in alert.findings
        }
        raw_seen = job.payload.get("seen")
        seen = set(raw_seen) if isinstance(raw_seen, list) else set(current)  # first: a baseline
        new = [pair for key, pair in current.items() if key not in seen]
        now = self._now()
        async with self._db.transaction() as tx:
            if new:
                text = digest_text(new)
                if self._config.alerts_channel:
                    await tx.jobs.enqueue(
                        CHANNEL_JOB,
                        {"channel_id": self._config.alerts_channel, "text": text},
                        due_at=now,
                        dedupe_key=f"{CHANNEL_JOB}:{job.id}",
                    )
                for admin in admins:
                    await outbox.message(
                        tx,
                        admin.id,
                        self._config.tenant_id,
                        key=f"{DIGEST_JOB}:{job.id}",
                        now=now,
                        text=text,
                    )
                await audit_admin(
                    tx,
                    now,
                    None,
                    "alerts.digest",
                    details={
                        "new": len(new),
                        "admins": len(admins),
                        "channel": self._config.alerts_channel,
                        "job_id": job.id,
                    },
                )
            await tx.jobs.enqueue(
                DIGEST_JOB,
                {"seen": sorted(current)},
                due_at=now + self._every,
                dedupe_key=f"{DIGEST_JOB}:after:{job.id}",
            )

    async def post_in_channel(self, job: Job) -> None:
        channel_id = str(job.payload["channel_id"])
        if self._channel is None:
            log.warning("alerts digest: no way to post in channel %s here", channel_id)
            return
        message = TextMessage(text=str(job.payload.get("text") or ""))
        if await self._channel.post_to_channel(channel_id, message) is None:
            log.warning(
                "alerts digest: could not post in channel %s (PIMBOT_ALERTS_CHANNEL): is pimbot "
                "added to its team?",
                channel_id,
            )


def digest_text(new: Sequence[tuple[Alert, Finding]]) -> str:
    lines = [f"**New in PIM's alerts** ({len(new)}):"]
    for alert, finding in new[:MAX_LINES]:
        subject = " — ".join(
            plain(part) for part in (finding.principal_name, finding.role_name) if part
        )
        lines.append(f"- {alert.title}: {subject or plain(finding.key)}")
    if len(new) > MAX_LINES:
        lines.append(f"- …and {len(new) - MAX_LINES} more")
    lines.append("Type `alerts` for the card, with a Fix for each.")
    return "\n".join(lines)
