"""ReviewStore: pimbot's side of access reviews. A run per review instance (what was sent,
reminded, escalated, finished), each decision taken in Teams (inserted once: of two taps, two
replicas or a tap and a retry, exactly one records it), and where each reviewer's card is."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain import Person, SentMessage
from bot.governance.domain import Decision, RecordedDecision, ReviewRun
from bot.store.cards import sent_message_of
from bot.store.dialect import upsert_insert
from bot.store.schema import requests, review_cards, review_decisions, review_runs
from bot.store.types import as_utc

_TICK = timedelta(microseconds=1)  # every update moves updated_at, the optimistic lock


class ReviewStore:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    # --- runs ----------------------------------------------------------------------------------

    async def start_run(self, run: ReviewRun, now: datetime) -> bool:
        """Record a newly seen instance; False when it is known already (another replica)."""
        statement = (
            upsert_insert(self._connection, review_runs)
            .values(
                instance_key=run.key,
                tenant_id=run.tenant_id,
                finished=run.finished,
                updated_at=as_utc(now),
                document=run.model_dump(mode="json"),
            )
            .on_conflict_do_nothing(index_elements=[review_runs.c.instance_key])
            .returning(review_runs.c.instance_key)
        )
        return (await self._connection.execute(statement)).first() is not None

    async def run(self, instance_key: str) -> ReviewRun | None:
        row = (
            await self._connection.execute(
                select(review_runs.c.document).where(review_runs.c.instance_key == instance_key)
            )
        ).first()
        return ReviewRun.model_validate(row.document) if row else None

    async def open_runs(self) -> list[ReviewRun]:
        rows = await self._connection.execute(
            select(review_runs.c.document).where(review_runs.c.finished.is_(False))
        )
        return [ReviewRun.model_validate(row.document) for row in rows]

    async def mark(self, instance_key: str, flag: str, now: datetime) -> ReviewRun | None:
        """Set `flag` (reminded, escalated, finished) once: the run as it was, when this call
        set it; None when it was set already (another worker or replica did it)."""
        return await self.change(instance_key, now, unless=flag, **{flag: True})

    async def change(
        self, instance_key: str, now: datetime, *, unless: str | None = None, **changes: object
    ) -> ReviewRun | None:
        """Apply `changes` to the run (unless its flag `unless` is set): the run as it was
        before, or None. Optimistic: an update names the `updated_at` it read."""
        for _ in range(5):
            row = (
                await self._connection.execute(
                    select(review_runs.c.document, review_runs.c.updated_at).where(
                        review_runs.c.instance_key == instance_key
                    )
                )
            ).first()
            if row is None:
                return None
            run = ReviewRun.model_validate(row.document)
            if unless is not None and getattr(run, unless):
                return None
            changed = ReviewRun.model_validate({**run.model_dump(), **changes})
            result = await self._connection.execute(
                update(review_runs)
                .where(
                    review_runs.c.instance_key == instance_key,
                    review_runs.c.updated_at == row.updated_at,
                )
                .values(
                    finished=changed.finished,
                    updated_at=max(as_utc(now), as_utc(row.updated_at) + _TICK),
                    document=changed.model_dump(mode="json"),
                )
            )
            if result.rowcount:
                return run
        return None

    # --- decisions -----------------------------------------------------------------------------

    async def record(self, decision: RecordedDecision) -> bool:
        """False (nothing written) when the item was decided in Teams already."""
        statement = (
            upsert_insert(self._connection, review_decisions)
            .values(
                instance_key=decision.instance_key,
                item_id=decision.item_id,
                principal_id=decision.principal_id,
                decision=decision.decision.value,
                justification=decision.justification,
                reviewer_id=decision.reviewer.id,
                reviewer_name=decision.reviewer.display_name,
                decided_at=as_utc(decision.decided_at),
                written_at=None,
            )
            .on_conflict_do_nothing(
                index_elements=[review_decisions.c.instance_key, review_decisions.c.item_id]
            )
            .returning(review_decisions.c.item_id)
        )
        return (await self._connection.execute(statement)).first() is not None

    async def decisions(self, instance_key: str, tenant_id: str) -> dict[str, RecordedDecision]:
        rows = await self._connection.execute(
            select(review_decisions).where(review_decisions.c.instance_key == instance_key)
        )
        return {
            row.item_id: RecordedDecision(
                instance_key=row.instance_key,
                item_id=row.item_id,
                principal_id=row.principal_id,
                decision=Decision(row.decision),
                justification=row.justification,
                reviewer=Person(
                    id=row.reviewer_id, tenant_id=tenant_id, display_name=row.reviewer_name
                ),
                decided_at=as_utc(row.decided_at),
                written_at=as_utc(row.written_at) if row.written_at else None,
            )
            for row in rows
        }

    async def written(self, instance_key: str, item_id: str, now: datetime) -> bool:
        """Mark the decision written to Graph; False when it was marked already."""
        result = await self._connection.execute(
            update(review_decisions)
            .where(
                review_decisions.c.instance_key == instance_key,
                review_decisions.c.item_id == item_id,
                review_decisions.c.written_at.is_(None),
            )
            .values(written_at=as_utc(now))
        )
        return bool(result.rowcount)

    # --- cards ---------------------------------------------------------------------------------

    async def card(self, instance_key: str, person_id: str) -> tuple[SentMessage, int] | None:
        row = (
            await self._connection.execute(
                select(review_cards).where(
                    review_cards.c.instance_key == instance_key,
                    review_cards.c.person_id == person_id,
                )
            )
        ).first()
        if row is None:
            return None
        sent = sent_message_of(row)
        return sent, row.page

    async def cards(self, instance_key: str) -> list[tuple[SentMessage, int]]:
        rows = await self._connection.execute(
            select(review_cards).where(review_cards.c.instance_key == instance_key)
        )
        return [
            (
                sent_message_of(row),
                row.page,
            )
            for row in rows
        ]

    async def add_card(self, instance_key: str, sent: SentMessage, page: int = 0) -> bool:
        if not sent.activity_id:
            raise ValueError("a sent card without an activity id cannot be recorded")
        statement = (
            upsert_insert(self._connection, review_cards)
            .values(
                instance_key=instance_key,
                person_id=sent.person_id,
                conversation_id=sent.conversation_id,
                activity_id=sent.activity_id,
                page=page,
            )
            .on_conflict_do_nothing(
                index_elements=[review_cards.c.instance_key, review_cards.c.person_id]
            )
            .returning(review_cards.c.person_id)
        )
        return (await self._connection.execute(statement)).first() is not None

    async def turn_page(self, instance_key: str, person_id: str, page: int) -> None:
        await self._connection.execute(
            update(review_cards)
            .where(
                review_cards.c.instance_key == instance_key,
                review_cards.c.person_id == person_id,
            )
            .values(page=page)
        )

    # --- pimbot's history ----------------------------------------------------------------------

    async def last_activations(self, role_id: str) -> dict[str, datetime]:
        """When each person last had the role activated through pimbot (its start)."""
        started = func.max(requests.c.start_at)
        rows = await self._connection.execute(
            select(requests.c.requester_id, started.label("started"))
            .where(
                requests.c.role_id == role_id,
                requests.c.state.in_(("active", "ended")),
                requests.c.start_at.is_not(None),
            )
            .group_by(requests.c.requester_id)
        )
        return {row.requester_id: as_utc(row.started) for row in rows if row.started}
