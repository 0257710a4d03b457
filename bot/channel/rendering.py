"""Our messages (bot/domain.py) as Bot Framework activities and Teams invoke response bodies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from botbuilder.schema import Activity, ActivityTypes, Attachment

from bot.domain import CardMessage, Message, SignInRequest, TextMessage

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
OAUTH_CARD = "application/vnd.microsoft.card.oauth"
ACTIVITY_MESSAGE = "application/vnd.microsoft.activity.message"
ERROR = "application/vnd.microsoft.error"

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
    login_url: str
    tenant_id: str

    @property
    def exchange_uri(self) -> str:
        """The Application ID URI Teams requests an SSO token for (manifest
        `webApplicationInfo.resource`)."""
        return f"api://botid-{self.app_id}"

    def sign_in_url(self, claims: str = "") -> str:
        """Fallback for clients that cannot do the silent exchange: the authority's authorize
        page, asking for the bot's SSO scope (and meeting a step-up `claims` challenge)."""
        params = {
            "client_id": self.app_id,
            "response_type": "code",
            "scope": f"{self.exchange_uri}/access_as_user",
            "prompt": "login",
        }
        if claims:
            params["claims"] = claims
        query = urlencode(params)
        return f"{self.login_url}/{self.tenant_id or 'organizations'}/oauth2/v2.0/authorize?{query}"


def message_activity(message: Message, sign_in: SignInCardSettings) -> Activity:
    """A new message activity (not yet addressed) carrying `message`."""
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
            attachments=[Attachment(content_type=OAUTH_CARD, content=oauth_card(message, sign_in))],
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


def oauth_card(request: SignInRequest, sign_in: SignInCardSettings) -> dict[str, Any]:
    """An OAuth card with a token exchange resource: Teams tries a silent SSO token first and
    answers with a `signin/tokenExchange` invoke carrying `exchange_id`."""
    return {
        "text": request.text,
        "connectionName": SSO_CONNECTION_NAME,
        "tokenExchangeResource": {
            "id": request.exchange_id,
            "uri": sign_in.exchange_uri,
            "providerId": AAD_V2_PROVIDER_ID,
        },
        "buttons": [
            {
                "type": "signin",
                "title": "Sign in",
                "text": "Sign in",
                "value": sign_in.sign_in_url(request.claims),
            }
        ],
    }


def card_invoke_body(card: dict[str, object]) -> dict[str, Any]:
    """Action.Execute answer that replaces the card for the person who acted."""
    return {"statusCode": 200, "type": ADAPTIVE_CARD, "value": card}


def message_invoke_body(text: str) -> dict[str, Any]:
    """Action.Execute answer that shows a short message and keeps the card."""
    return {"statusCode": 200, "type": ACTIVITY_MESSAGE, "value": text}


def error_invoke_body(status: int, code: str, message: str) -> dict[str, Any]:
    return {"statusCode": status, "type": ERROR, "value": {"code": code, "message": message}}
