"""A tiny bot for testing the Teams twin: it speaks the Bot Connector protocol by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
from aiohttp import web

from bot.sandbox.entra import EntraTwin

CARD = {
    "type": "AdaptiveCard",
    "version": "1.5",
    "body": [
        {"type": "TextBlock", "text": "Approve Exchange Administrator for Adele?"},
        {"type": "Input.Text", "id": "reason", "label": "Reason", "value": "ok"},
        {"type": "Input.Text", "id": "ticket", "label": "Ticket", "isRequired": True},
    ],
    "actions": [
        {"type": "Action.Execute", "title": "Approve", "verb": "approve", "data": {"rid": "r1"}},
        {"type": "Action.Execute", "title": "Toast", "verb": "toast", "data": {}},
        {"type": "Action.Execute", "title": "Fail", "verb": "fail", "data": {}},
        {"type": "Action.Submit", "title": "Submit", "data": {"rid": "r1"}},
    ],
}


@dataclass
class EchoBot:
    entra: EntraTwin
    app_id: str | None
    secret: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)  # connector responses

    def __post_init__(self) -> None:
        self.app = web.Application()
        self.app.router.add_post("/api/messages", self._messages)

    async def _token(self) -> str | None:
        if self.app_id is None:
            return None
        async with httpx.AsyncClient() as http:
            response = await http.post(
                f"{self.entra.base_url}/{self.entra.tenant_id}/oauth2/v2.0/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.app_id,
                    "client_secret": self.secret,
                    "scope": "https://api.botframework.com/.default",
                },
            )
        return str(response.json()["access_token"])

    async def reply(self, activity: dict[str, Any], reply: dict[str, Any]) -> dict[str, Any]:
        conversation = quote(activity["conversation"]["id"], safe="")
        url = f"{activity['serviceUrl']}v3/conversations/{conversation}/activities/{activity['id']}"
        token = await self._token()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient() as http:
            response = await http.post(url, json={"type": "message", **reply}, headers=headers)
        result: dict[str, Any] = response.json()
        self.sent.append(result)
        return result

    async def _messages(self, request: web.Request) -> web.Response:
        activity = await request.json()
        self.received.append(activity)
        self.authorizations.append(request.headers.get("Authorization", ""))
        if activity["type"] == "invoke":
            return await self._invoke(activity)
        if activity["type"] == "message" and activity.get("value"):
            await self.reply(activity, {"text": f"submitted {sorted(activity['value'].items())}"})
        elif activity["type"] == "message":
            await self._answer(activity, activity["text"])
        return web.Response(status=201)

    async def _answer(self, activity: dict[str, Any], text: str) -> None:
        if text == "card":
            attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "content": CARD}
            await self.reply(activity, {"attachments": [attachment]})
        elif text == "signin":
            oauth = {
                "contentType": "application/vnd.microsoft.card.oauth",
                "content": {
                    "text": "Please sign in",
                    "connectionName": "sso",
                    "tokenExchangeResource": {"id": "exchange-1", "uri": "api://botid-x"},
                    "buttons": [{"type": "signin", "title": "Sign in", "value": ""}],
                },
            }
            await self.reply(activity, {"attachments": [oauth]})
        else:
            await self.reply(activity, {"text": f"echo: {text}"})

    async def _invoke(self, activity: dict[str, Any]) -> web.Response:
        if activity["name"] == "signin/tokenExchange":
            value = activity["value"]
            claims = self.entra.verify(value["token"], self.app_id or "")
            if "mfa" not in claims["amr"]:
                detail = {"id": value["id"], "connectionName": "sso", "failureDetail": "mfa needed"}
                return web.json_response(detail, status=412)
            return web.json_response({"id": value["id"], "connectionName": "sso"})
        verb = activity["value"]["action"]["verb"]
        if verb == "approve":
            card = {
                "type": "AdaptiveCard",
                "version": "1.5",
                "body": [{"type": "TextBlock", "text": "Approved"}],
            }
            body: dict[str, Any] = {
                "statusCode": 200,
                "type": "application/vnd.microsoft.card.adaptive",
                "value": card,
            }
        elif verb == "toast":
            body = {
                "statusCode": 200,
                "type": "application/vnd.microsoft.activity.message",
                "value": "Done",
            }
        else:
            body = {
                "statusCode": 400,
                "type": "application/vnd.microsoft.error",
                "value": {"code": "BadRequest", "message": "Not today"},
            }
        return web.json_response(body)
