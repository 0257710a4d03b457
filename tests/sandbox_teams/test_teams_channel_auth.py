"""Activities the Teams twin posts are signed the way the Bot Framework channel signs them."""

from __future__ import annotations

import httpx
import jwt
from jwt import PyJWK


async def channel_keys(teams_url: str) -> tuple[dict, list[dict]]:
    async with httpx.AsyncClient() as http:
        metadata = (await http.get(f"{teams_url}/v1/.well-known/openidconfiguration")).json()
        keys = (await http.get(metadata["jwks_uri"])).json()["keys"]
    return metadata, keys


async def test_posted_activities_carry_a_channel_token_that_validates_against_the_jwks(world):
    await world.client.say("adele", "hello")
    activity, authorization = world.bot.received[-1], world.bot.authorizations[-1]
    metadata, keys = await channel_keys(world.teams_url)
    token = authorization.removeprefix("Bearer ")
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = next(k for k in keys if k["kid"] == kid)

    claims = jwt.decode(
        token,
        PyJWK(jwk).key,
        algorithms=["RS256"],
        audience=world.tenant.pimbot_app.client_id,
        issuer=metadata["issuer"],
    )

    assert metadata["issuer"] == "https://api.botframework.com"
    assert activity["channelId"] in jwk["endorsements"]
    assert claims["serviceurl"] == activity["serviceUrl"] == world.teams_url + "/"
    assert claims["nbf"] <= claims["exp"]


async def test_anonymous_bot_gets_no_authorization_header(anonymous_world):
    await anonymous_world.client.say("adele", "hello")
    assert anonymous_world.bot.authorizations == [""]
    messages = await anonymous_world.client.messages("adele")
    assert [m["text"] for m in messages] == ["hello", "echo: hello"]


async def test_message_activity_is_shaped_like_teams(world):
    adele = world.tenant.user("adele")
    await world.client.say("adele", "hi")
    activity = world.bot.received[-1]
    assert activity["type"] == "message" and activity["text"] == "hi"
    assert activity["from"]["id"].startswith("29:")
    assert activity["from"]["aadObjectId"] == adele.id
    assert activity["from"]["name"] == adele.display_name
    assert activity["recipient"]["id"] == f"28:{world.tenant.pimbot_app.client_id}"
    assert activity["conversation"]["conversationType"] == "personal"
    assert activity["conversation"]["tenantId"] == world.tenant.tenant_id
    assert activity["conversation"]["id"].startswith("a:")
    assert activity["channelData"]["tenant"]["id"] == world.tenant.tenant_id
    assert activity["localTimezone"] == adele.timezone
    assert activity["locale"] == "en-US"
    assert activity["id"] and activity["timestamp"].endswith("Z")
