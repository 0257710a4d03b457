"""The sandboxed bot's front door, used directly: activities crafted by hand and posted to
`/api/messages` with a token of our choosing (the channel's own, a forged one or none).

The Teams twin only speaks for its tenant's users and only sends what a real client would; an
attacker (or Teams speaking for another tenant) is not bound by that, so these tests are not
either.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from bot.sandbox.entra import SigningKey
from bot.sandbox.runner import RunningSandbox
from bot.sandbox.teams.raw import channel_token, personal_activity
from bot.store import AuditEntry

OTHER_TENANT = "0b1f2e3d-4c5b-6a79-8877-665544332211"


@dataclass
class Answer:
    status: int
    body: Any
    text: str


@dataclass
class BotDoor:
    running: RunningSandbox
    http: httpx.AsyncClient

    @property
    def tenant_id(self) -> str:
        return self.running.twins.tenant.tenant_id

    @property
    def app_id(self) -> str:
        return self.running.twins.tenant.pimbot_app.client_id

    @property
    def service_url(self) -> str:
        return self.running.twins.teams.service_url

    def user_id(self, handle: str) -> str:
        return self.running.twins.tenant.user(handle).id

    def activity(
        self,
        handle: str,
        activity_type: str = "message",
        *,
        tenant_id: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """An activity from `handle`'s 1:1 chat, shaped as Teams sends it; `tenant_id` moves the
        sender (same object id) into another tenant."""
        return personal_activity(
            self.running.twins.tenant,
            self.service_url,
            handle,
            activity_type,
            tenant_id=tenant_id,
            **fields,
        )

    def execute(
        self, handle: str, data: Mapping[str, Any], *, tenant_id: str | None = None
    ) -> dict[str, Any]:
        """An Action.Execute invoke carrying `data` (what a card button would send)."""
        action = {"type": "Action.Execute", "verb": data.get("verb"), "data": dict(data)}
        return self.activity(
            handle,
            "invoke",
            tenant_id=tenant_id,
            name="adaptiveCard/action",
            value={"action": action, "trigger": "manual"},
        )

    def token(self, key: SigningKey | None = None, **claims: Any) -> str:
        """A channel token as the Bot Connector signs it; `key` signs instead of the channel's
        key, `claims` override the standard ones (None removes one)."""
        key = key or self.running.twins.teams.channel.key
        return channel_token(key, self.app_id, self.service_url, **claims)

    async def post(
        self,
        activity: Mapping[str, Any] | bytes | str,
        *,
        authorization: str | None = "valid",
        content_type: str = "application/json",
    ) -> Answer:
        """POST to the bot. `authorization="valid"` signs with the channel's key."""
        headers = {"Content-Type": content_type}
        if authorization == "valid":
            headers["Authorization"] = f"Bearer {self.token()}"
        elif authorization is not None:
            headers["Authorization"] = authorization
        content = (
            activity
            if isinstance(activity, bytes | str)
            else json.dumps(activity, ensure_ascii=False)
        )
        response = await self.http.post(self.running.bot_url, content=content, headers=headers)
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = None
        return Answer(response.status_code, body, response.text)

    async def audit_entries(self) -> list[AuditEntry]:
        async with self.running.services.db.transaction() as tx:
            return await tx.audit.entries()
