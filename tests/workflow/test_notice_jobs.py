"""A notice with a card about a request (active until, ends soon, has ended): sent as the request
is when it goes out, kept up to date when the request changes on the way, and cheap to send."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import event

from bot.domain import ActivationRequest, CardMessage, Message, Person, SentMessage
from bot.workflow import outbox
from tests.workflow.conftest import World
from tests.workflow.fakes import ADELE, USER_ADMIN, FakeMessenger

STALE = {
    "type": "AdaptiveCard",
    "version": "1.5",
    "body": [{"type": "TextBlock", "text": "queued-card-marker"}],
}


class HookedMessenger(FakeMessenger):
    """Runs `during_send` while a message is on its way (after Teams took it, before pimbot
    hears back)."""

    during_send: Callable[[], Awaitable[None]] | None = None

    async def send(self, person: Person, message: Message) -> SentMessage | None:
        sent = await super().send(person, message)
        hook, self.during_send = self.during_send, None
        if hook is not None:
            await hook()
        return sent


async def _active(world: World) -> ActivationRequest:
    await world.submit(ADELE, USER_ADMIN.id, duration="PT2H")
    await world.run_jobs()
    return await world.only_request(ADELE)


async def _queue_notice(world: World, request: ActivationRequest, key: str) -> None:
    async with world.db.transaction() as tx:
        await outbox.message(
            tx,
            ADELE.id,
            request.tenant_id,
            key=key,
            now=world.clock(),
            text="a notice",
            card=STALE,
            about=request,
        )


async def _change(world: World, request: ActivationRequest) -> None:
    """The end moves (as after an extension elsewhere): a new version of the request."""
    async with world.db.transaction() as tx:
        await tx.requests.update(
            request.id, now=world.clock(), end=world.clock() + timedelta(hours=3)
        )


def _sent_notice(world: World) -> tuple[str, dict[str, Any]]:
    found = [
        (d.activity_id, d.message.card)
        for d in world.messenger.sent
        if isinstance(d.message, CardMessage) and d.message.summary == "a notice"
    ]
    assert len(found) == 1
    return found[0]


async def test_a_notice_about_a_request_that_changed_since_it_was_queued_is_drawn_again(
    world: World,
) -> None:
    request = await _active(world)
    await _queue_notice(world, request, "changed-before")
    await _change(world, request)

    await world.run_jobs()

    _, card = _sent_notice(world)
    assert "queued-card-marker" not in str(card)
    assert "role.deactivate" in str(card)  # the status card of an active role, as it is now


async def test_a_notice_about_a_request_that_changed_on_its_way_is_updated_at_once(
    world: World,
) -> None:
    messenger = HookedMessenger()
    world.messenger = messenger
    world.workflow.deps.messenger = messenger
    request = await _active(world)
    await _queue_notice(world, request, "changed-during")

    async def change() -> None:
        await _change(world, request)

    messenger.during_send = change
    await world.run_jobs()

    activity_id, card = _sent_notice(world)
    assert "queued-card-marker" in str(card)  # sent as queued: the request had not changed yet
    updated = [m for sent, m in messenger.updates if sent.activity_id == activity_id]
    assert updated and "queued-card-marker" not in str(updated[-1])
    async with world.db.transaction() as tx:  # and recorded, so later changes update it too
        copies = await tx.cards.copies(request.id)
    assert activity_id in [sent.activity_id for _, sent in copies]


async def test_sending_a_notice_about_an_unchanged_request_reads_only_its_version(
    world: World,
) -> None:
    request = await _active(world)
    await _queue_notice(world, request, "unchanged")
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        words = " ".join(sql.split())
        if not words.startswith("BEGIN"):
            statements.append(words)

    engine = world.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert await world.run_jobs() == 1
    finally:
        event.remove(engine, "before_cursor_execute", count)

    reads = [s for s in statements if s.startswith("SELECT")]
    writes = [s.split(" (")[0].split(" SET")[0] for s in statements if not s.startswith("SELECT")]
    # The claim, the version before sending, the version held while recording, the copy, done.
    assert len(reads) == 2, reads
    assert all(s.startswith("SELECT requests.version FROM requests") for s in reads)
    assert writes == [
        "UPDATE jobs",  # the claim
        "INSERT INTO sent_cards",  # the copy, to update it later
        "UPDATE jobs",  # done
        "UPDATE jobs",  # the next claim, which finds nothing due
    ]
    _, card = _sent_notice(world)
    assert "queued-card-marker" in str(card)
