"""Who sent an inbound activity, from where: read from the Teams activity shape.

Teams puts the tenant in `channelData.tenant.id`; botbuilder's `conversation.tenant_id` maps the
JSON key `tenantID` and so is always None for Teams traffic (reference gotcha 5).
"""

from __future__ import annotations

import re
from typing import Any

from botbuilder.schema import Activity

from bot.domain import Actor, Person

_MENTION = re.compile(r"<at>.*?</at>", re.IGNORECASE | re.DOTALL)


def tenant_of(activity: Activity) -> str:
    channel_data: Any = activity.channel_data
    if isinstance(channel_data, dict):
        tenant = channel_data.get("tenant")
        if isinstance(tenant, dict) and isinstance(tenant.get("id"), str):
            return str(tenant["id"])
    return ""


def actor_of(activity: Activity) -> Actor | None:
    """The person behind the activity, or None when Teams did not say (no `aadObjectId`)."""
    sender = activity.from_property
    object_id = getattr(sender, "aad_object_id", None)
    if not object_id:
        return None
    return Actor(
        person=Person(
            id=str(object_id),
            tenant_id=tenant_of(activity),
            display_name=str(getattr(sender, "name", None) or ""),
        ),
        teams_id=str(getattr(sender, "id", None) or ""),
        timezone=activity.local_timezone or None,
    )


def is_personal_chat(activity: Activity) -> bool:
    """True for the 1:1 chat between a person and the bot (or a client that does not say,
    like the Emulator)."""
    conversation = activity.conversation
    if conversation is None:
        return False
    if conversation.is_group:
        return False
    return conversation.conversation_type in (None, "", "personal")


def command_text(activity: Activity) -> str:
    """The message text without `<at>bot</at>` mentions and surrounding whitespace."""
    return " ".join(_MENTION.sub(" ", activity.text or "").split())
