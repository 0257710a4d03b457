from datetime import timedelta

from bot.domain import SentMessage
from bot.store import ConversationRecord, Database
from tests.store.factories import T0, TENANT, a_request


def a_conversation(**overrides: object) -> ConversationRecord:
    fields: dict[str, object] = {
        "person_id": "alice-id",
        "tenant_id": TENANT,
        "conversation_id": "a:1XyZ-personal-chat",
        "service_url": "https://smba.trafficmanager.net/emea/",
        "teams_id": "29:1abcDEF",
        "bot_id": "28:bot-app-id",
        "display_name": "Alice Ng",
        "timezone": "Europe/Berlin",
        "reference": {"conversation": {"id": "a:1XyZ", "tenantId": TENANT}, "locale": "de-DE"},
        "updated_at": T0,
    }
    fields.update(overrides)
    return ConversationRecord.model_validate(fields)


async def test_a_conversation_round_trips(db: Database) -> None:
    record = a_conversation()
    async with db.transaction() as tx:
        await tx.conversations.upsert(record)
    async with db.transaction() as tx:
        assert await tx.conversations.get("alice-id") == record
        assert await tx.conversations.get("bob-id") is None


async def test_upsert_replaces_the_persons_conversation(db: Database) -> None:
    newer = a_conversation(
        conversation_id="a:new", timezone=None, reference={}, updated_at=T0 + timedelta(days=1)
    )
    async with db.transaction() as tx:
        await tx.conversations.upsert(a_conversation())
        await tx.conversations.upsert(newer)
    async with db.transaction() as tx:
        assert await tx.conversations.get("alice-id") == newer


async def test_any_service_url_is_the_tenants_most_recent(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.conversations.upsert(a_conversation(service_url="https://old.example/"))
        await tx.conversations.upsert(
            a_conversation(
                person_id="bob-id",
                service_url="https://new.example/",
                updated_at=T0 + timedelta(hours=1),
            )
        )
        await tx.conversations.upsert(
            a_conversation(
                person_id="eve-id",
                tenant_id="other-tenant",
                service_url="https://other.example/",
                updated_at=T0 + timedelta(hours=2),
            )
        )
    async with db.transaction() as tx:
        assert await tx.conversations.any_service_url(TENANT) == "https://new.example/"
        assert await tx.conversations.any_service_url("unknown-tenant") is None


async def test_sent_cards_are_listed_per_request_and_purpose_in_sending_order(
    db: Database,
) -> None:
    request = a_request()
    to_bob = SentMessage(person_id="bob-id", conversation_id="a:bob", activity_id="1:10")
    to_carol = SentMessage(person_id="carol-id", conversation_id="a:carol", activity_id="1:11")
    to_alice = SentMessage(person_id="alice-id", conversation_id="a:alice", activity_id="1:12")
    async with db.transaction() as tx:
        await tx.requests.insert(request)
        await tx.cards.add(request.id, "approval", to_bob)
        await tx.cards.add(request.id, "approval", to_carol)
        await tx.cards.add(request.id, "status", to_alice)
    async with db.transaction() as tx:
        assert await tx.cards.for_request(request.id, "approval") == [to_bob, to_carol]
        assert await tx.cards.for_request(request.id) == [to_bob, to_carol, to_alice]
        assert await tx.cards.for_request("other") == []


async def test_adding_a_card_twice_keeps_the_first(db: Database) -> None:
    request = a_request()
    first = SentMessage(person_id="bob-id", conversation_id="a:bob", activity_id="1:10")
    again = SentMessage(person_id="bob-id", conversation_id="a:bob", activity_id="1:99")
    async with db.transaction() as tx:
        await tx.requests.insert(request)
        await tx.cards.add(request.id, "approval", first)
    async with db.transaction() as tx:
        await tx.cards.add(request.id, "approval", again)
    async with db.transaction() as tx:
        assert await tx.cards.for_request(request.id) == [first]
