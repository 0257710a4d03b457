"""The Bot Connector /v3 routes of the Teams twin, called as a bot calls them."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from bot.sandbox.entra import EntraTwin


class Bot:
    """Calls the connector with the bot's own Entra token."""

    def __init__(self, world, token: str | None) -> None:
        self.world = world
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def request(self, method: str, path: str, body=None) -> httpx.Response:
        async with httpx.AsyncClient() as http:
            return await http.request(
                method, f"{self.world.teams_url}{path}", json=body, headers=self.headers
            )

    async def create_chat(self, member_id: str) -> httpx.Response:
        tenant_id = self.world.tenant.tenant_id
        return await self.request(
            "POST",
            "/v3/conversations",
            {
                "isGroup": False,
                "bot": {"id": f"28:{self.world.tenant.pimbot_app.client_id}"},
                "members": [{"id": member_id}],
                "channelData": {"tenant": {"id": tenant_id}},
                "tenantID": tenant_id,
            },
        )


async def bot_token(world, *, client_id: str | None = None) -> str:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{world.entra.base_url}/{world.tenant.tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id or world.tenant.pimbot_app.client_id,
                "client_secret": world.tenant.pimbot_app.client_secret,
                "scope": "https://api.botframework.com/.default",
            },
        )
    return str(response.json()["access_token"])


@pytest.fixture
async def bot(world) -> Bot:
    return Bot(world, await bot_token(world))


def activities(conversation_id: str, activity_id: str = "") -> str:
    path = f"/v3/conversations/{quote(conversation_id, safe='')}/activities"
    return f"{path}/{activity_id}" if activity_id else path


async def test_bot_creates_a_chat_with_an_aad_object_id_and_sends_into_it(world, bot):
    adele = world.tenant.user("adele")
    created = await bot.create_chat(adele.id)
    assert created.status_code == 201
    conversation_id = created.json()["id"]

    sent = await bot.request("POST", activities(conversation_id), {"type": "message", "text": "hi"})

    assert sent.status_code == 201
    messages = await world.client.messages("adele")
    assert messages[-1]["id"] == sent.json()["id"]
    assert messages[-1]["text"] == "hi" and messages[-1]["from"] == "bot"


async def test_the_same_chat_is_found_by_teams_id_and_by_object_id(world, bot):
    await world.client.say("megan", "hello")
    mri = world.bot.received[-1]["from"]["id"]
    by_mri = (await bot.create_chat(mri)).json()["id"]
    by_oid = (await bot.create_chat(world.tenant.user("megan").id)).json()["id"]
    assert by_mri == by_oid == world.bot.received[-1]["conversation"]["id"]


async def test_reply_to_an_activity_is_recorded_with_its_reply_to_id(world, bot):
    await world.client.say("adele", "hello")
    inbound = world.bot.received[-1]
    path = activities(inbound["conversation"]["id"], inbound["id"])
    response = await bot.request("POST", path, {"type": "message", "text": "answer"})
    assert response.status_code == 201
    assert (await world.client.messages("adele"))[-1]["replyToId"] == inbound["id"]
    assert world.teams.calls[-1].path == path and world.teams.calls[-1].method == "POST"
    assert world.teams.calls[-1].body["text"] == "answer"


async def test_update_replaces_the_message_in_place(world, bot):
    conversation_id = (await bot.create_chat(world.tenant.user("adele").id)).json()["id"]
    sent = await bot.request("POST", activities(conversation_id), {"type": "message", "text": "v1"})
    activity_id = sent.json()["id"]

    updated = await bot.request(
        "PUT", activities(conversation_id, activity_id), {"type": "message", "text": "v2"}
    )

    assert updated.status_code == 200 and updated.json() == {"id": activity_id}
    messages = await world.client.messages("adele")
    assert [(m["id"], m["text"], m["edited"]) for m in messages] == [(activity_id, "v2", True)]
    kinds = [e["kind"] for e in (await world.client.transcript("adele"))["events"]]
    assert kinds == ["message", "update"]


async def test_update_of_an_unknown_activity_is_404(world, bot):
    conversation_id = (await bot.create_chat(world.tenant.user("adele").id)).json()["id"]
    response = await bot.request(
        "PUT", activities(conversation_id, "12345"), {"type": "message", "text": "x"}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NotFound"


async def test_sending_to_an_unknown_conversation_is_404(bot):
    response = await bot.request("POST", activities("a:nope"), {"type": "message", "text": "x"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "ConversationNotFound"


async def test_delete_removes_the_message(world, bot):
    conversation_id = (await bot.create_chat(world.tenant.user("adele").id)).json()["id"]
    sent = await bot.request("POST", activities(conversation_id), {"type": "message", "text": "x"})
    deleted = await bot.request("DELETE", activities(conversation_id, sent.json()["id"]))
    assert deleted.status_code == 200
    assert await world.client.messages("adele") == []


async def test_members_of_a_personal_chat(world, bot):
    adele = world.tenant.user("adele")
    conversation_id = (await bot.create_chat(adele.id)).json()["id"]
    base = f"/v3/conversations/{quote(conversation_id, safe='')}"

    members = (await bot.request("GET", f"{base}/members")).json()
    member = (await bot.request("GET", f"{base}/members/{quote(adele.id)}")).json()
    paged = (await bot.request("GET", f"{base}/pagedmembers?pageSize=10")).json()
    missing = await bot.request("GET", f"{base}/members/29%3Asomeone-else")

    assert [m["aadObjectId"] for m in members] == [adele.id]
    assert member["userPrincipalName"] == adele.upn and member["tenantId"] == world.tenant.tenant_id
    assert paged["members"][0]["id"] == members[0]["id"] and paged["continuationToken"] is None
    assert missing.status_code == 404


async def test_connector_refuses_calls_without_a_token(world):
    response = await Bot(world, None).create_chat(world.tenant.user("adele").id)
    assert response.status_code == 401
    assert world.teams.calls[-1].authorized is False


async def test_connector_refuses_a_token_from_another_authority(world):
    other = EntraTwin(world.tenant, base_url=world.entra.base_url)
    forged = other.app_token(world.tenant.pimbot_app, "https://api.botframework.com")
    response = await Bot(world, forged).create_chat(world.tenant.user("adele").id)
    assert response.status_code == 401


async def test_connector_refuses_a_graph_token(world):
    graph_token = world.entra.app_token(world.tenant.pimbot_app, "https://graph.microsoft.com")
    response = await Bot(world, graph_token).create_chat(world.tenant.user("adele").id)
    assert response.status_code == 401


async def test_anonymous_bot_calls_the_connector_without_a_token(anonymous_world):
    response = await Bot(anonymous_world, None).create_chat(anonymous_world.tenant.user("adele").id)
    assert response.status_code == 201


async def test_creating_a_chat_needs_the_tenant(world, bot):
    response = await bot.request(
        "POST", "/v3/conversations", {"members": [{"id": world.tenant.user("adele").id}]}
    )
    assert response.status_code == 400


async def test_chat_with_a_user_who_has_not_installed_the_app_is_forbidden(strict_world):
    bot = Bot(strict_world, await bot_token(strict_world))
    adele = strict_world.tenant.user("adele")
    refused = await bot.create_chat(adele.id)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "Forbidden"

    await strict_world.client.install("adele")
    assert (await bot.create_chat(adele.id)).status_code == 201
