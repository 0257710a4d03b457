"""Our messages (bot/domain.py) as Bot Framework activities and Teams invoke response bodies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botbuilder.schema import Activity, ActivityTypes, Attachment

from bot.domain import CardMessage, Message, SignInRequest, TextMessage

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
OAUTH_CARD = "application/vnd.microsoft.card.oauth"
ACTIVITY_MESSAGE = "application/vnd.microsoft.activity.message"
ERROR = "application/vnd.microsoft.error"

# The default of PIMBOT_OAUTH_CONNECTION (the infrastructure names its connection so).
SSO_CONNECTION_NAME = "pimbot-sso"
NO_SIGN_IN_TEXT = (
    "This needs you to sign in, and this pimbot runs without an app registration (anonymous "
    "mode), so I cannot ask you to. It works in Teams once pimbot has its app registration."
)
# The Bot Service's service provider id of "Azure Active Directory v2" OAuth connections.
AAD_V2_PROVIDER_ID = "30dd229c-58e3-4a48-bdfd-91ec48eb906c"


@dataclass(frozen=True)
class SignInCardSettings:
    """What an OAuth card needs to know about this deployment."""

    app_id: str
    connection: str  # the Azure Bot's OAuth connection (PIMBOT_OAUTH_CONNECTION)

    @property
    def exchange_uri(self) -> str:
        """The Application ID URI Teams requests an SSO token for (manifest
        `webApplicationInfo.resource`)."""
        return f"api://botid-{self.app_id}"


@dataclass(frozen=True)
class SignInResource:
    """What the token service says about the connection: the Sign in button's URL (its sign-in
    page, carrying the conversation's state) and the connection's Token Exchange URL."""

    link: str
    exchange_uri: str
    provider_id: str


def message_activity(
    message: Message, sign_in: SignInCardSettings, resource: SignInResource | None = None
) -> Activity:
    """A new message activity (not yet addressed) carrying `message`; a sign-in request's card
    gets its Sign in button from `resource` (the token service's answer)."""
    if isinstance(message, TextMessage):
        return Activity(type=ActivityTypes.message, text=message.text)
    if isinstance(message, CardMessage):
        return card_activity(message.card, message.summary)
    if isinstance(message, SignInRequest):
        if not sign_in.app_id:
            # No app registration: there is no resource to exchange a token for and no app to
            # sign in to, so an OAuth card would lead nowhere. The workflow says so before it
            # gets here; this keeps any other path from sending one.
            return Activity(type=ActivityTypes.message, text=NO_SIGN_IN_TEXT)
        return Activity(
            type=ActivityTypes.message,
            attachments=[
                Attachment(content_type=OAUTH_CARD, content=oauth_card(message, sign_in, resource))
            ],
        )
    raise TypeError(f"cannot render {type(message).__name__}")


def card_activity(card: dict[str, object], summary: str = "") -> Activity:
    """An Adaptive Card message; `summary` is its text, shown in notifications and by clients
    that show no cards."""
    return Activity(
        type=ActivityTypes.message,
        text=summary or None,
        attachments=[Attachment(content_type=ADAPTIVE_CARD, content=card)],
    )


def oauth_card(
    request: SignInRequest, sign_in: SignInCardSettings, resource: SignInResource | None
) -> dict[str, Any]:
    """An OAuth card with a token exchange resource: Teams tries a silent SSO token first and
    answers with a `signin/tokenExchange` invoke carrying `exchange_id` (pimbot's own id, which
    is how the answer finds what waits for it). Its Sign in button is the token service's
    sign-in link for the connection; without one (the token service did not answer) the card has
    no button, never a bare authorize URL."""
    buttons = (
        [{"type": "signin", "title": "Sign in", "text": "Sign in", "value": resource.link}]
        if resource is not None
        else []
    )
    return {
        "text": request.text,
        "connectionName": sign_in.connection,
        "tokenExchangeResource": {
            "id": request.exchange_id,
            "uri": resource.exchange_uri
            if resource and resource.exchange_uri
            else sign_in.exchange_uri,
            "providerId": resource.provider_id
            if resource and resource.provider_id
            else AAD_V2_PROVIDER_ID,
        },
        "buttons": buttons,
    }


def card_invoke_body(card: dict[str, object]) -> dict[str, Any]:
    """Action.Execute answer that replaces the card for the person who acted."""
    return {"statusCode": 200, "type": ADAPTIVE_CARD, "value": card}


def message_invoke_body(text: str) -> dict[str, Any]:
    """Action.Execute answer that shows a short message and keeps the card."""
    return {"statusCode": 200, "type": ACTIVITY_MESSAGE, "value": text}


def error_invoke_body(status: int, code: str, message: str) -> dict[str, Any]:
    return {"statusCode": status, "type": ERROR, "value": {"code": code, "message": message}}
