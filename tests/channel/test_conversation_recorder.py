"""ConversationRecorder: each person's chat is written when it changes, not on every message."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

from botbuilder.schema import Activity

from bot.channel.conversations import ConversationRecorder
from bot.channel.identity import actor_of
from tests.channel.fakes import USER_OID, FakeDatabase, FakeTransaction, teams_activity

SERVICE_URL = "https://smba.trafficmanager.net/emea/"


class CountingDatabase(FakeDatabase):
    def __init__(self) -> None:
        super().__init__()
        self.transactions = 0

    def transaction(self) -> AbstractAsyncContextManager[FakeTransaction]:
        self.transactions += 1
        return super().transaction()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def activity(**overrides: Any) -> Activity:
    return Activity().deserialize(teams_activity(SERVICE_URL, **overrides))


async def record(recorder: ConversationRecorder, **overrides: Any) -> Any:
    seen = activity(**overrides)
    actor = actor_of(seen)
    assert actor is not None
    return await recorder.record(seen, actor)


async def test_the_same_conversation_again_is_not_written_again() -> None:
    db = CountingDatabase()
    recorder = ConversationRecorder(db, clock=Clock())

    for text in ("help", "my roles", "pending"):
        stored = await record(recorder, text=text)

    assert db.transactions == 1
    assert stored == db.records[USER_OID]


async def test_what_changed_is_written_at_once() -> None:
    db = CountingDatabase()
    recorder = ConversationRecorder(db, clock=Clock())
    await record(recorder)

    await record(recorder, localTimezone="Asia/Tokyo")
    await record(
        recorder, localTimezone="Asia/Tokyo", serviceUrl="https://smba.trafficmanager.net/amer/"
    )

    assert db.transactions == 3
    assert db.records[USER_OID].timezone == "Asia/Tokyo"
    assert db.records[USER_OID].service_url == "https://smba.trafficmanager.net/amer/"


async def test_an_invoke_without_a_time_zone_keeps_the_known_one_without_a_write() -> None:
    db = CountingDatabase()
    recorder = ConversationRecorder(db, clock=Clock())
    await record(recorder, localTimezone="Asia/Tokyo")

    stored = await record(recorder, localTimezone=None)

    assert db.transactions == 1
    assert stored.timezone == "Asia/Tokyo"


async def test_an_unchanged_conversation_is_written_again_after_the_refresh_time() -> None:
    db = CountingDatabase()
    clock = Clock()
    recorder = ConversationRecorder(db, refresh_seconds=600, clock=clock)
    await record(recorder)
    clock.now = 599
    await record(recorder)
    assert db.transactions == 1

    clock.now = 601
    await record(recorder)

    assert db.transactions == 2


async def test_it_remembers_at_most_capacity_people() -> None:
    db = CountingDatabase()
    recorder = ConversationRecorder(db, capacity=2, clock=Clock())
    people = [f"{USER_OID[:-1]}{n}" for n in range(3)]
    for person in people:
        await record(recorder, **{"from": {"id": f"29:{person}", "aadObjectId": person}})

    await record(recorder, **{"from": {"id": f"29:{people[0]}", "aadObjectId": people[0]}})

    assert db.transactions == 4  # the first person was forgotten, so written again
