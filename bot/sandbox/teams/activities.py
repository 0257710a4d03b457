"""Activities shaped the way Teams sends them to a bot in a 1:1 chat."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.sandbox.teams.conversations import Chat

LOCALE = "en-US"


def _timestamps(timezone: str | None) -> dict[str, str]:
    now = datetime.now(UTC)
    stamps = {"timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z")}
    if timezone:
        try:
            stamps["localTimestamp"] = now.astimezone(ZoneInfo(timezone)).isoformat(
                timespec="milliseconds"
            )
            stamps["localTimezone"] = timezone
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return stamps


class ActivityFactory:
    """Builds inbound activities for one bot; `service_url` is read when an activity is built."""

    def __init__(self, *, tenant_id: str, bot_id: str, bot_name: str) -> None:
        self.tenant_id = tenant_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.service_url = ""

    def base(self, chat: Chat, activity_type: str, activity_id: str) -> dict[str, Any]:
        user = chat.user
        return {
            "type": activity_type,
            "id": activity_id,
            **_timestamps(user.timezone),
            "serviceUrl": self.service_url,
            "channelId": "msteams",
            "from": {"id": chat.user_mri, "name": user.display_name, "aadObjectId": user.id},
            "conversation": {
                "conversationType": "personal",
                "tenantId": self.tenant_id,
                "id": chat.id,
            },
            "recipient": {"id": self.bot_id, "name": self.bot_name},
            "entities": [
                {
                    "type": "clientInfo",
                    "locale": LOCALE,
                    "country": LOCALE.split("-")[-1],
                    "platform": "Web",
                    "timezone": user.timezone or "UTC",
                }
            ],
            "channelData": {"tenant": {"id": self.tenant_id}},
            "locale": LOCALE,
        }

    def message(self, chat: Chat, activity_id: str, text: str) -> dict[str, Any]:
        return self.base(chat, "message", activity_id) | {"text": text, "textFormat": "plain"}

    def submit(
        self, chat: Chat, activity_id: str, reply_to_id: str, value: dict[str, Any]
    ) -> dict[str, Any]:
        activity = self.base(chat, "message", activity_id) | {
            "replyToId": reply_to_id,
            "value": value,
        }
        activity["channelData"] |= {
            "source": {"name": "message"},
            "legacy": {"replyToId": reply_to_id},
        }
        return activity

    def invoke(
        self,
        chat: Chat,
        activity_id: str,
        name: str,
        value: dict[str, Any],
        reply_to_id: str | None = None,
    ) -> dict[str, Any]:
        activity = self.base(chat, "invoke", activity_id) | {"name": name, "value": value}
        if reply_to_id:
            activity["replyToId"] = reply_to_id
            activity["channelData"] |= {
                "source": {"name": "message"},
                "legacy": {"replyToId": reply_to_id},
            }
        return activity

    def installation_update(self, chat: Chat, activity_id: str, action: str) -> dict[str, Any]:
        activity = self.base(chat, "installationUpdate", activity_id) | {"action": action}
        activity["channelData"] |= {"source": {"name": "message"}}
        return activity

    def members_added(self, chat: Chat, activity_id: str) -> dict[str, Any]:
        return self.base(chat, "conversationUpdate", activity_id) | {
            "membersAdded": [
                {"id": self.bot_id},
                {"id": chat.user_mri, "aadObjectId": chat.user.id},
            ]
        }
