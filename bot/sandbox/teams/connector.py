"""The Bot Connector `/v3` REST routes as Teams serves them to a bot (Bot Connector REST API v3):
create a 1:1 chat, send, reply, update and delete activities, read members. Every call is
recorded."""

from __future__ import annotations

import copy
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.sandbox.entra import BOTFRAMEWORK_RESOURCE, EntraTwin, InvalidToken
from bot.sandbox.teams.conversations import (
    Channels,
    ChannelThread,
    Chat,
    Chats,
    Message,
    adaptive_cards,
    oauth_card,
)
from bot.sandbox.teams.faults import ConnectorFaults, OddAnswer, html_page

MAX_ACTIVITY_BYTES = 28 * 1024  # Teams' limit for one message
DENIED = {"message": "Authorization has been denied for this request."}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Conversation = Chat | ChannelThread


@dataclass
class ConnectorCall:
    method: str
    path: str  # as sent, conversation ids URL-encoded
    body: Any
    status: int = 0
    authorized: bool = False


def bf_error(status: int, code: str, message: str) -> web.Response:
    """Bot Framework's error body."""
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class BotConnector:
    def __init__(
        self,
        chats: Chats,
        *,
        app_id: str | None,
        entra: EntraTwin,
        require_install: bool,
        on_sign_in_card: Callable[[Chat], None],
        channels: Channels | None = None,
    ) -> None:
        self.chats = chats
        self.channels = channels or Channels()
        self.app_id = app_id
        self.entra = entra
        self.require_install = require_install
        self.on_sign_in_card = on_sign_in_card
        self.calls: list[ConnectorCall] = []
        self.faults = ConnectorFaults()
        self.bot_account = {"id": f"28:{chats.bot_app_id}"}

    def routes(self) -> list[web.RouteDef]:
        conversation = "/v3/conversations/{conversation_id}"
        activity = conversation + "/activities/{activity_id}"
        return [
            web.post("/v3/conversations", self._guard(self._create_conversation)),
            web.post(conversation + "/activities", self._guard(self._send)),
            web.post(activity, self._guard(self._send)),
            web.put(activity, self._guard(self._update)),
            web.delete(activity, self._guard(self._delete)),
            web.get(conversation + "/members", self._guard(self._members)),
            web.get(conversation + "/members/{member_id}", self._guard(self._member)),
            web.get(conversation + "/pagedmembers", self._guard(self._paged_members)),
        ]

    # -- authentication and recording ------------------------------------------------------

    def _guard(self, handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            raw = await request.read()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            call = ConnectorCall(request.method, request.raw_path, body)
            self.calls.append(call)
            call.authorized = self._authorized(request.headers.get("Authorization", ""))
            response = (
                await self._with_faults(request, handler)
                if call.authorized
                else web.json_response(DENIED, status=401)
            )
            call.status = response.status
            return response

        return guarded

    async def _with_faults(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Carry out a call the way `self.faults` says (held, answered oddly), else plainly."""
        conversation_id = request.match_info.get("conversation_id")
        if conversation_id is None or "/activities" not in request.path:
            return await handler(request)
        plan = self.faults.plan(request.method, conversation_id)
        if plan.hold and not await self.faults.wait():
            return web.Response(status=503)  # dropped: never carried out
        response: web.StreamResponse
        odd = plan.answer
        if odd is not None and odd.answer is OddAnswer.HTML_PAGE:
            response = html_page(odd.status, odd.retry_after)
        else:
            response = await handler(request)
            if odd is not None and odd.answer is OddAnswer.ACCEPTED_WITHOUT_ID:
                response = web.Response(status=202) if response.status < 300 else response
        for callback in plan.before_answer or []:
            callback()
        return response

    def authorized(self, header: str) -> bool:
        """Whether `header` carries the bot's Bot Connector token (the token service asks too)."""
        return self._authorized(header)

    def _authorized(self, header: str) -> bool:
        if self.app_id is None:
            return True  # anonymous bot: Teams' stand-ins accept calls without a token
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not token:
            return False
        try:
            claims = self.entra.verify(token, BOTFRAMEWORK_RESOURCE)
        except InvalidToken:
            return False
        return self.app_id in (claims.get("appid"), claims.get("azp"))

    # -- conversations ---------------------------------------------------------------------

    def _chat(self, request: web.Request) -> Chat | None:
        return self.chats.by_id(request.match_info["conversation_id"])

    def _conversation(self, request: web.Request) -> Conversation | None:
        """A 1:1 chat, or a team channel (posts there need no per-user install)."""
        conversation_id = request.match_info["conversation_id"]
        return self.chats.by_id(conversation_id) or self.channels.by_id(conversation_id)

    def _not_installed(self, chat: Conversation) -> web.Response | None:
        if isinstance(chat, Chat) and self.require_install and not chat.installed:
            return bf_error(403, "Forbidden", "Bot is not installed in user's personal scope")
        return None

    async def _create_conversation(self, request: web.Request) -> web.Response:
        body = await _json_object(request)
        if body is None:
            return bf_error(400, "BadSyntax", "The request body is not a JSON object.")
        members = body.get("members") or []
        if body.get("isGroup") or len(members) != 1 or not isinstance(members[0], dict):
            return bf_error(400, "BadArgument", "Only 1:1 chats with exactly one member.")
        tenant = (body.get("channelData") or {}).get("tenant", {}).get("id") or body.get("tenantId")
        if not tenant:
            return bf_error(400, "BadArgument", "Tenant ID is required (channelData.tenant.id).")
        if tenant != self.chats.tenant.tenant_id:
            return bf_error(403, "Forbidden", f"Tenant {tenant} is not this bot's tenant.")
        user = self.chats.user(str(members[0].get("id", "")))
        if user is None:
            return bf_error(400, "BadArgument", f"Unknown member {members[0].get('id')!r}.")
        chat = self.chats.for_user(user)
        if refused := self._not_installed(chat):
            return refused
        result: dict[str, Any] = {"id": chat.id}
        if isinstance(body.get("activity"), dict):
            message = await self._store(chat, body["activity"], reply_to_id=None)
            result["activityId"] = message.id
        return web.json_response(result, status=201)

    # -- activities ------------------------------------------------------------------------

    async def _send(self, request: web.Request) -> web.Response:
        chat = self._conversation(request)
        if chat is None:
            return bf_error(404, "ConversationNotFound", "Conversation not found.")
        if refused := self._not_installed(chat):
            return refused
        activity = await _json_object(request)
        if activity is None or not activity.get("type"):
            return bf_error(400, "BadArgument", "An activity with a type is required.")
        if len(await request.read()) > MAX_ACTIVITY_BYTES:
            return bf_error(413, "MessageSizeTooBig", "Message size too big.")
        if activity["type"] != "message":
            return web.json_response({"id": self.chats.ids.new()}, status=201)
        reply_to = request.match_info.get("activity_id")
        message = await self._store(chat, activity, reply_to_id=reply_to)
        return web.json_response({"id": message.id}, status=201)

    async def _store(
        self, chat: Conversation, activity: dict[str, Any], *, reply_to_id: str | None
    ) -> Message:
        message_id = self.chats.ids.new()
        stored = self._as_sent(chat, activity, message_id)
        message = Message(id=message_id, sender="bot", activity=stored, reply_to_id=reply_to_id)
        chat.messages[message_id] = message
        await chat.transcript.add(
            "message",
            activityId=message_id,
            text=stored.get("text") or "",
            cards=adaptive_cards(stored),
            attachments=stored.get("attachments") or [],
            replyToId=reply_to_id,
        )
        if isinstance(chat, Chat) and oauth_card(stored) is not None:
            self.on_sign_in_card(chat)
        return message

    def _as_sent(
        self, chat: Conversation, activity: dict[str, Any], message_id: str
    ) -> dict[str, Any]:
        stored = copy.deepcopy(activity)
        kind = "personal" if isinstance(chat, Chat) else "channel"
        stored |= {
            "id": message_id,
            "from": self.bot_account,
            "conversation": {"id": chat.id, "conversationType": kind},
            "timestamp": _now(),
        }
        return stored

    async def _update(self, request: web.Request) -> web.Response:
        chat, message = self._message(request)
        if chat is None or message is None:
            return bf_error(404, "NotFound", "The activity was not found in the conversation.")
        activity = await _json_object(request)
        if activity is None:
            return bf_error(400, "BadArgument", "An activity is required.")
        message.activity = self._as_sent(chat, activity, message.id)
        message.edits += 1
        if isinstance(chat, Chat):
            chat.card_views.pop(message.id, None)  # an update resets user-specific views
        await chat.transcript.add(
            "update",
            activityId=message.id,
            text=message.activity.get("text") or "",
            cards=message.cards,
            attachments=message.activity.get("attachments") or [],
        )
        return web.json_response({"id": message.id})

    async def _delete(self, request: web.Request) -> web.Response:
        chat, message = self._message(request)
        if chat is None or message is None:
            return bf_error(404, "NotFound", "The activity was not found in the conversation.")
        message.deleted = True
        await chat.transcript.add("delete", activityId=message.id)
        return web.json_response({})

    def _message(self, request: web.Request) -> tuple[Conversation | None, Message | None]:
        chat = self._conversation(request)
        if chat is None:
            return None, None
        message = chat.messages.get(request.match_info["activity_id"])
        if message is None or message.deleted or message.sender != "bot":
            return chat, None
        return chat, message

    # -- members ---------------------------------------------------------------------------

    def _account(self, chat: Chat) -> dict[str, Any]:
        user = chat.user
        given, _, surname = user.display_name.partition(" ")
        return {
            "id": chat.user_mri,
            "name": user.display_name,
            "aadObjectId": user.id,
            "givenName": given,
            "surname": surname,
            "email": user.mail,
            "userPrincipalName": user.upn,
            "tenantId": self.chats.tenant.tenant_id,
            "userRole": "user",
        }

    async def _members(self, request: web.Request) -> web.Response:
        chat = self._chat(request)
        if chat is None:
            return bf_error(404, "ConversationNotFound", "Conversation not found.")
        return web.json_response([self._account(chat)])

    async def _member(self, request: web.Request) -> web.Response:
        chat = self._chat(request)
        if chat is None:
            return bf_error(404, "ConversationNotFound", "Conversation not found.")
        if request.match_info["member_id"] not in (chat.user_mri, chat.user.id):
            return bf_error(
                404, "MemberNotFoundInConversation", "The member was not found in the conversation."
            )
        return web.json_response(self._account(chat))

    async def _paged_members(self, request: web.Request) -> web.Response:
        chat = self._chat(request)
        if chat is None:
            return bf_error(404, "ConversationNotFound", "Conversation not found.")
        return web.json_response({"members": [self._account(chat)], "continuationToken": None})


async def _json_object(request: web.Request) -> dict[str, Any] | None:
    raw = await request.read()
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
