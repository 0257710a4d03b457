"""The Teams side's memory: who installed the app, the 1:1 chats, their messages and per-user card
views. Plain data; the HTTP layers decide what to do with it."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.entra import TenantUserView, TenantView, find_user
from bot.sandbox.teams.ids import (
    MessageIds,
    graph_chat_id,
    personal_conversation_id,
    user_mri,
)
from bot.sandbox.teams.transcript import Transcript

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
OAUTH_CARD = "application/vnd.microsoft.card.oauth"


@dataclass
class Message:
    """One message in a chat, as currently shown (updates replace `activity`)."""

    id: str
    sender: str  # "bot" | "user"
    activity: dict[str, Any]
    reply_to_id: str | None = None
    edits: int = 0
    deleted: bool = False

    @property
    def cards(self) -> list[dict[str, Any]]:
        return adaptive_cards(self.activity)


def adaptive_cards(activity: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        a["content"]
        for a in activity.get("attachments") or []
        if isinstance(a, dict) and a.get("contentType") == ADAPTIVE_CARD and a.get("content")
    ]


def oauth_card(activity: dict[str, Any]) -> dict[str, Any] | None:
    for attachment in activity.get("attachments") or []:
        if isinstance(attachment, dict) and attachment.get("contentType") == OAUTH_CARD:
            content = attachment.get("content")
            if isinstance(content, dict) and content.get("tokenExchangeResource"):
                return content
    return None


@dataclass
class PendingSignIn:
    """An OAuth card with a token exchange resource the client has not completed yet."""

    exchange_id: str
    connection_name: str
    activity_id: str
    text: str
    sign_in_link: str = ""  # the card's Sign in button (the token service's sign-in page)


@dataclass
class Chat:
    """A user's 1:1 chat with the bot."""

    id: str
    user: TenantUserView
    user_mri: str
    messages: dict[str, Message] = field(default_factory=dict)
    card_views: dict[str, dict[str, Any]] = field(default_factory=dict)  # message id → card
    transcript: Transcript = field(default_factory=Transcript)
    installed: bool = False
    mfa_done: bool = False  # the user's Teams session has done MFA (sessions start without)
    pending_sign_in: PendingSignIn | None = None

    def visible_messages(self) -> Iterator[Message]:
        return (m for m in self.messages.values() if not m.deleted)

    def view(self, message: Message) -> dict[str, Any]:
        """The message as this user sees it now: their own card view wins over the base card."""
        cards = message.cards
        override = self.card_views.get(message.id)
        if override is not None:
            cards = [override, *cards[1:]]
        return {
            "id": message.id,
            "from": message.sender,
            "text": message.activity.get("text") or "",
            "cards": copy.deepcopy(cards),
            "attachments": copy.deepcopy(message.activity.get("attachments") or []),
            "value": message.activity.get("value"),
            "replyToId": message.reply_to_id,
            "timestamp": message.activity.get("timestamp"),
            "edited": message.edits > 0,
        }

    def card_shown(self, message_id: str) -> dict[str, Any] | None:
        message = self.messages.get(message_id)
        if message is None or message.deleted:
            return None
        cards = self.view(message)["cards"]
        return cards[0] if cards else None


class Chats:
    """Every user's chat with one bot, created on first use with stable ids."""

    def __init__(self, tenant: TenantView, bot_app_id: str) -> None:
        self.tenant = tenant
        self.bot_app_id = bot_app_id
        self.ids = MessageIds()
        self._by_user: dict[str, Chat] = {}
        self._by_id: dict[str, Chat] = {}

    def for_user(self, user: TenantUserView) -> Chat:
        chat = self._by_user.get(user.id)
        if chat is None:
            chat = Chat(
                id=personal_conversation_id(self.tenant.tenant_id, self.bot_app_id, user.id),
                user=user,
                user_mri=user_mri(self.tenant.tenant_id, user.id),
            )
            self._by_user[user.id] = chat
            self._by_id[chat.id] = chat
        return chat

    def started(self) -> list[Chat]:
        """Every chat used so far."""
        return list(self._by_user.values())

    def by_id(self, conversation_id: str) -> Chat | None:
        """The chat with this id, or with the id Graph gives it (`19:…@unq.gbl.spaces`). Ids are
        stable, so a chat the bot knew before a restart of the sandbox is found again."""
        chat = self._by_id.get(conversation_id)
        if chat is None:
            for user in self.tenant.users:
                if conversation_id in (
                    personal_conversation_id(self.tenant.tenant_id, self.bot_app_id, user.id),
                    graph_chat_id(user.id, self.bot_app_id),
                ):
                    return self.for_user(user)
        return chat

    def user(self, ref: str) -> TenantUserView | None:
        """A user by handle, upn, object id or Teams MRI (`29:…`)."""
        if ref.startswith("29:"):
            return next(
                (u for u in self.tenant.users if user_mri(self.tenant.tenant_id, u.id) == ref),
                None,
            )
        return find_user(self.tenant, ref)


CHANNEL_ID = re.compile(r"^19:[^@/\s]+@thread\.(?:tacv2|skype)$")


@dataclass
class ChannelThread:
    """A team channel the bot posts to (its conversation id is the channel id, `19:…@thread.tacv2`).
    Every channel of the tenant's teams is taken to have the app installed."""

    id: str
    messages: dict[str, Message] = field(default_factory=dict)
    transcript: Transcript = field(default_factory=Transcript)

    def visible_messages(self) -> Iterator[Message]:
        return (m for m in self.messages.values() if not m.deleted)


class Channels:
    """Channel conversations, created when first used."""

    def __init__(self) -> None:
        self._by_id: dict[str, ChannelThread] = {}

    def by_id(self, conversation_id: str) -> ChannelThread | None:
        """The channel, or None when the id is not a channel id."""
        if CHANNEL_ID.match(conversation_id) is None:
            return None
        return self._by_id.setdefault(conversation_id, ChannelThread(conversation_id))
