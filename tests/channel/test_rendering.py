"""Our messages as Bot Framework activities: a sign-in card is only sent when it can work."""

from __future__ import annotations

from bot.channel.rendering import OAUTH_CARD, SignInCardSettings, message_activity
from bot.domain import SignInRequest

REQUEST = SignInRequest(exchange_id="r-1", text="Sign in to confirm it's you.", mfa_required=True)


def test_a_sign_in_request_with_an_app_registration_is_an_oauth_card_for_its_resource() -> None:
    settings = SignInCardSettings(app_id="app-1", connection="pimbot-sso")
    activity = message_activity(REQUEST, settings)
    (attachment,) = activity.attachments
    assert attachment.content_type == OAUTH_CARD
    assert attachment.content["tokenExchangeResource"]["uri"] == "api://botid-app-1"


def test_without_an_app_registration_no_oauth_card_is_sent_but_words() -> None:
    """`api://botid-` with an empty id names no resource: Teams cannot exchange a token for it
    and the sign-in page has no app to sign in to."""
    settings = SignInCardSettings(app_id="", connection="pimbot-sso")
    activity = message_activity(REQUEST, settings)
    assert not activity.attachments
    assert "api://botid-" not in str(activity.as_dict())
    assert "app registration" in activity.text
