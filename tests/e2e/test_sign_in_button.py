"""The sign-in card's button, as Teams documents it: the token service's sign-in page for the
OAuth connection, then `signin/verifyState` with the magic code, which pimbot redeems for the
person's token and uses for the newest sign-in waiting for them."""

from __future__ import annotations

from bot.domain import Actor, Person
from bot.workflow.ports import LATEST_SIGN_IN
from bot.workflow.service import NOTHING_WAITS_FOR_SIGN_IN
from tests.e2e.conftest import Sandbox


async def test_an_mfa_sign_in_through_the_button_submits_the_request(sandboxed: Sandbox) -> None:
    adele = sandboxed.person("adele")
    await sandboxed.client.install("adele")
    await adele.say("activate global admin for 1h because INC-42 tenant lockout")
    await adele.press("Ask for approval")
    await sandboxed.client.wait_for("adele", "signin_required")  # the silent token had no MFA

    card = next(
        a["content"]
        for m in await adele.messages()
        for a in m["attachments"]
        if a["contentType"] == "application/vnd.microsoft.card.oauth"
    )
    (button,) = card["buttons"]
    assert button["value"].startswith(f"{sandboxed.running.twins.service_url}api/oauth/signin?")

    signed = await sandboxed.client.sign_in("adele", mfa=True)
    assert signed["status"] == 200
    await sandboxed.run_jobs()

    token_service = sandboxed.running.twins.teams.token_service
    (get_token,) = [query for name, query in token_service.calls if name == "GetToken"]
    assert get_token["connectionName"] == "pimbot-sso" and get_token["code"]
    assert "Approve" in await sandboxed.person("megan").buttons()


async def test_a_sign_in_nothing_waits_for_changes_nothing_and_says_so(
    sandboxed: Sandbox,
) -> None:
    twins = sandboxed.running.twins
    user = twins.tenant.user("adele")
    actor = Actor(
        person=Person(id=user.id, tenant_id=twins.tenant.tenant_id, display_name="Adele Vance"),
        teams_id=f"29:{user.id}",
    )
    token = twins.entra.mint_sso_token(
        user.id, audience_app_id=twins.tenant.pimbot_app.client_id, mfa=True
    )

    result = await sandboxed.running.services.workflow.on_token_exchange(
        actor, LATEST_SIGN_IN, token
    )

    assert not result.accepted
    assert NOTHING_WAITS_FOR_SIGN_IN in str(result.outcome.replies)
