"""Activities and channel tokens made by hand, for posting straight to a bot's endpoint.

The Teams twin only speaks for its tenant's users and only sends what a real client would; the
trust tests and the endpoint fuzzer play an attacker (or Teams speaking for another tenant) and
need the same shapes without those limits.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from bot.sandbox.entra import SigningKey
from bot.sandbox.teams.channel_auth import CHANNEL_ISSUER
from bot.sandbox.teams.ids import bot_mri, personal_conversation_id, user_mri
from bot.sandbox.tenant import DemoTenant


def personal_activity(
    tenant: DemoTenant,
    service_url: str,
    handle: str,
    activity_type: str = "message",
    *,
    tenant_id: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """An activity from `handle`'s 1:1 chat with pimbot, shaped as Teams sends it; `tenant_id`
    moves the sender (same object id) into another tenant."""
    user = tenant.user(handle)
    app_id = tenant.pimbot_app.client_id
    tenant_id = tenant_id or tenant.tenant_id
    return {
        "type": activity_type,
        "id": uuid.uuid4().hex,
        "timestamp": datetime.now(UTC).isoformat(),
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": {
            "id": user_mri(tenant_id, user.id),
            "name": user.display_name,
            "aadObjectId": user.id,
        },
        "conversation": {
            "conversationType": "personal",
            "tenantId": tenant_id,
            "id": personal_conversation_id(tenant_id, app_id, user.id),
        },
        "recipient": {"id": bot_mri(app_id), "name": "pimbot"},
        "channelData": {"tenant": {"id": tenant_id}},
        "locale": "en-US",
        **fields,
    }


def channel_token(key: SigningKey, app_id: str, service_url: str, **claims: Any) -> str:
    """A channel token as the Bot Connector signs it; `claims` override the standard ones
    (None removes one)."""
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": CHANNEL_ISSUER,
        "aud": app_id,
        "serviceurl": service_url,
        "nbf": now - 5,
        "iat": now - 5,
        "exp": now + 3600,
    }
    body.update(claims)
    return key.sign({k: v for k, v in body.items() if v is not None})
