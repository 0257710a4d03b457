"""The Teams client, driven over a small JSON API (`/_sandbox/users/{who}/…`): install the app,
say something, press card actions, sign in, and read what the user sees.

Card actions behave as in Teams: `Action.Execute` becomes an `adaptiveCard/action` invoke whose
response changes only this user's view (card, toast or error); `Action.Submit` becomes a message
with `value`. The client fills each input's default and refuses empty required inputs without
contacting the bot. SSO: an OAuth card with a token exchange resource makes the client mint an SSO
token silently and send `signin/tokenExchange`; a refusal (412) shows a sign-in prompt, and
`/signin` presses the card's Sign in button: the person signs in at the token service's page
(with MFA, and meeting the authentication contexts asked for), and the client sends the magic
code it got in `signin/verifyState`, as Teams does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.sandbox.card_text import card_inputs, input_errors
from bot.sandbox.entra import EntraTwin
from bot.sandbox.teams.activities import ActivityFactory
from bot.sandbox.teams.bot_link import BotAnswer, BotLink
from bot.sandbox.teams.connector import bf_error
from bot.sandbox.teams.conversations import (
    ADAPTIVE_CARD,
    Channels,
    Chat,
    Chats,
    Message,
    PendingSignIn,
    oauth_card,
)
from bot.sandbox.teams.token_service import TokenService

MESSAGE_RESPONSE = "application/vnd.microsoft.activity.message"
ERROR_RESPONSE = "application/vnd.microsoft.error"
LOGIN_REQUEST = "application/vnd.microsoft.activity.loginRequest"
MAX_WAIT_SECONDS = 60.0
Handler = Callable[[web.Request, Chat], Awaitable[web.Response]]


class TeamsClientSide:
    def __init__(
        self,
        chats: Chats,
        *,
        factory: ActivityFactory,
        link: BotLink,
        entra: EntraTwin,
        sso_audience: str,
        token_service: TokenService | None = None,
        channels: Channels | None = None,
    ) -> None:
        self.chats = chats
        self.channels = channels or Channels()
        self.factory = factory
        self.link = link
        self.entra = entra
        self.sso_audience = sso_audience
        self.token_service = token_service
        self._tasks: set[asyncio.Task[None]] = set()

    def routes(self) -> list[web.RouteDef]:
        user = "/_sandbox/users/{who}"
        return [
            web.post(user + "/install", self._with_chat(self._install)),
            web.delete(user + "/install", self._with_chat(self._uninstall)),
            web.post(user + "/messages", self._with_chat(self._say)),
            web.get(user + "/messages", self._with_chat(self._messages)),
            web.post(user + "/actions", self._with_chat(self._press)),
            web.post(user + "/refresh", self._with_chat(self._refresh)),
            web.post(user + "/signin", self._with_chat(self._sign_in)),
            web.get(user + "/transcript", self._with_chat(self._transcript)),
            web.get("/_sandbox/channels/{channel_id}/messages", self._channel_messages),
        ]

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _with_chat(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def resolved(request: web.Request) -> web.Response:
            who = request.match_info["who"]
            user = self.chats.user(who)
            if user is None:
                known = ", ".join(u.handle for u in self.chats.tenant.users)
                return bf_error(
                    404, "UserNotFound", f"No user {who!r} in this tenant. Known users: {known}."
                )
            if not self.factory.service_url:
                self.factory.service_url = f"{request.scheme}://{request.host}/"
            return await handler(request, self.chats.for_user(user))

        return resolved

    # -- install ---------------------------------------------------------------------------

    async def _install(self, request: web.Request, chat: Chat) -> web.Response:
        # The person's zone goes with the answer: a client shows card times in it, as Teams does.
        timezone = chat.user.timezone or None
        if chat.installed:
            return web.json_response(
                {"conversationId": chat.id, "alreadyInstalled": True, "timezone": timezone}
            )
        chat.installed = True
        installed, added = await self._announce_install(chat)
        return web.json_response(
            {
                "conversationId": chat.id,
                "installationUpdate": installed.status,
                "conversationUpdate": added.status,
                "timezone": timezone,
            }
        )

    def install_for(self, chat: Chat) -> None:
        """An install made elsewhere (Graph's installedApps): the chat accepts messages at once;
        Teams tells the bot shortly after, as it does, once the installer got its answer."""
        if chat.installed:
            return
        chat.installed = True
        task = asyncio.get_running_loop().create_task(self._announce_quietly(chat))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _announce_quietly(self, chat: Chat) -> None:
        await self._announce_install(chat)

    async def _announce_install(self, chat: Chat) -> tuple[BotAnswer, BotAnswer]:
        installed = await self.link.post(
            self.factory.installation_update(chat, self.chats.ids.new(), "add")
        )
        added = await self.link.post(self.factory.members_added(chat, self.chats.ids.new()))
        await chat.transcript.add("installed", conversationId=chat.id)
        return installed, added

    async def _uninstall(self, request: web.Request, chat: Chat) -> web.Response:
        if not chat.installed:
            return web.json_response({"conversationId": chat.id, "installed": False})
        chat.installed = False
        answer = await self.link.post(
            self.factory.installation_update(chat, self.chats.ids.new(), "remove")
        )
        return web.json_response({"conversationId": chat.id, "installationUpdate": answer.status})

    # -- messages --------------------------------------------------------------------------

    async def _say(self, request: web.Request, chat: Chat) -> web.Response:
        body = await _json(request)
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            return bf_error(400, "BadArgument", 'Send {"text": "..."}.')
        activity = self.factory.message(chat, self.chats.ids.new(), text)
        self._remember_user_message(chat, activity)
        await chat.transcript.add("user_message", activityId=activity["id"], text=text)
        answer = await self.link.post(activity)
        return web.json_response({"status": answer.status, "activityId": activity["id"]})

    def _remember_user_message(self, chat: Chat, activity: dict[str, Any]) -> None:
        chat.messages[activity["id"]] = Message(
            id=activity["id"],
            sender="user",
            activity=activity,
            reply_to_id=activity.get("replyToId"),
        )

    async def _messages(self, request: web.Request, chat: Chat) -> web.Response:
        return web.json_response(
            {"conversationId": chat.id, "messages": [chat.view(m) for m in chat.visible_messages()]}
        )

    async def _channel_messages(self, request: web.Request) -> web.Response:
        channel = self.channels.by_id(request.match_info["channel_id"])
        if channel is None:
            return bf_error(404, "NotFound", "Not a channel id (19:…@thread.tacv2).")
        messages = [
            {
                "id": m.id,
                "text": m.activity.get("text") or "",
                "cards": m.cards,
                "edited": m.edits > 0,
            }
            for m in channel.visible_messages()
        ]
        return web.json_response({"conversationId": channel.id, "messages": messages})

    async def _transcript(self, request: web.Request, chat: Chat) -> web.Response:
        try:
            after = int(request.query.get("after", "0"))
            wait = min(float(request.query.get("wait", "0")), MAX_WAIT_SECONDS)
        except ValueError:
            return bf_error(400, "BadArgument", "after must be an integer, wait a number.")
        events = await chat.transcript.wait_since(after, wait)
        return web.json_response({"events": events, "last": chat.transcript.last_seq})

    # -- card actions ----------------------------------------------------------------------

    async def _press(self, request: web.Request, chat: Chat) -> web.Response:
        body = await _json(request)
        activity_id = str(body.get("activityId", ""))
        action = body.get("action")
        inputs = body.get("inputs") or {}
        if not isinstance(action, dict) or not isinstance(inputs, dict):
            return bf_error(400, "BadArgument", 'Send {"activityId", "action", "inputs"}.')
        card = chat.card_shown(activity_id)
        if card is None:
            return bf_error(404, "NotFound", f"No card in message {activity_id!r}.")
        values = {spec.id: spec.default for spec in card_inputs(card)}
        values |= {str(k): "" if v is None else str(v) for k, v in inputs.items()}
        if action.get("associatedInputs") == "none":
            values = {}
        elif errors := input_errors(card, values):
            return web.json_response({"status": None, "inputErrors": errors}, status=422)
        raw_data = action.get("data")
        data: dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
        if action.get("type") == "Action.Execute":
            answer = await self._execute(chat, activity_id, action, {**data, **values})
        elif action.get("type") == "Action.Submit":
            answer = await self._submit(chat, activity_id, {**data, **values})
        else:
            return bf_error(
                400, "BadArgument", f"{action.get('type')} does not send anything to the bot."
            )
        return web.json_response({"status": answer.status, "response": answer.body})

    async def _refresh(self, request: web.Request, chat: Chat) -> web.Response:
        """The user looks at a card with `refresh`: Teams sends its action as an automatic
        invoke when the user is among `refresh.userIds` (or the list is absent)."""
        activity_id = str((await _json(request)).get("activityId", ""))
        card = chat.card_shown(activity_id)
        if card is None:
            return bf_error(404, "NotFound", f"No card in message {activity_id!r}.")
        raw_refresh = card.get("refresh")
        refresh: dict[str, Any] = raw_refresh if isinstance(raw_refresh, dict) else {}
        raw_action = refresh.get("action")
        action = raw_action if isinstance(raw_action, dict) else None
        user_ids = refresh.get("userIds")
        if action is None or (isinstance(user_ids, list) and chat.user_mri not in user_ids):
            return web.json_response({"refreshed": False, "status": None, "response": None})
        raw_data = action.get("data")
        data: dict[str, Any] = dict(raw_data) if isinstance(raw_data, dict) else {}
        answer = await self._execute(chat, activity_id, action, data, trigger="automatic")
        return web.json_response(
            {"refreshed": True, "status": answer.status, "response": answer.body}
        )

    async def _execute(
        self,
        chat: Chat,
        activity_id: str,
        action: dict[str, Any],
        data: dict[str, Any],
        *,
        trigger: str = "manual",
    ) -> BotAnswer:
        executed: dict[str, Any] = {
            "type": "Action.Execute",
            "verb": action.get("verb"),
            "data": data,
        }
        if action.get("id"):
            executed["id"] = action["id"]
        if action.get("title"):
            executed["title"] = action["title"]
        invoke = self.factory.invoke(
            chat,
            self.chats.ids.new(),
            "adaptiveCard/action",
            {"action": executed, "trigger": trigger},
            reply_to_id=activity_id,
        )
        answer = await self.link.post(invoke)
        await self._apply_invoke_response(chat, activity_id, answer)
        return answer

    async def _submit(self, chat: Chat, activity_id: str, value: dict[str, Any]) -> BotAnswer:
        activity = self.factory.submit(chat, self.chats.ids.new(), activity_id, value)
        self._remember_user_message(chat, activity)
        return await self.link.post(activity)

    async def _apply_invoke_response(self, chat: Chat, activity_id: str, answer: BotAnswer) -> None:
        body = answer.body if isinstance(answer.body, dict) else {}
        kind, value = body.get("type"), body.get("value")
        if answer.status != 200:
            await chat.transcript.add(
                "error", activityId=activity_id, message=f"The bot answered HTTP {answer.status}."
            )
        elif kind == ADAPTIVE_CARD and isinstance(value, dict):
            chat.card_views[activity_id] = value
            await chat.transcript.add("card_view", activityId=activity_id, card=value)
        elif kind == MESSAGE_RESPONSE:
            await chat.transcript.add("toast", activityId=activity_id, text=str(value or ""))
        elif kind == ERROR_RESPONSE:
            error = value if isinstance(value, dict) else {"message": str(value)}
            await chat.transcript.add(
                "error",
                activityId=activity_id,
                code=error.get("code", ""),
                message=error.get("message", ""),
                statusCode=body.get("statusCode"),
            )
        elif kind == LOGIN_REQUEST:
            await chat.transcript.add("signin_required", activityId=activity_id, text="Sign in")
        else:
            await chat.transcript.add(
                "error", activityId=activity_id, message=f"Unexpected invoke response {kind!r}."
            )

    # -- SSO -------------------------------------------------------------------------------

    def on_sign_in_card(self, chat: Chat) -> None:
        """The bot sent an OAuth card: the client answers with a token exchange, after the bot's
        send call has returned (as Teams does)."""
        message = next(
            m for m in reversed(chat.messages.values()) if oauth_card(m.activity) is not None
        )
        card = oauth_card(message.activity) or {}
        resource = card.get("tokenExchangeResource") or {}
        buttons = [b for b in card.get("buttons") or [] if isinstance(b, dict)]
        link = next((str(b.get("value")) for b in buttons if b.get("type") == "signin"), "")
        chat.pending_sign_in = PendingSignIn(
            exchange_id=str(resource.get("id", "")),
            connection_name=str(card.get("connectionName", "")),
            activity_id=message.id,
            text=str(card.get("text", "") or "Sign in"),
            sign_in_link=link,
        )
        task = asyncio.get_running_loop().create_task(self._exchange(chat))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _exchange(self, chat: Chat) -> None:
        await self._exchange_token(chat)

    async def _exchange_token(self, chat: Chat) -> BotAnswer | None:
        pending = chat.pending_sign_in
        if pending is None:
            return None
        token = self.entra.mint_sso_token(
            chat.user.id,
            audience_app_id=self.sso_audience,
            mfa=chat.mfa_done,
            acrs=sorted(self.entra.satisfied_auth_contexts(chat.user.id)),
        )
        invoke = self.factory.invoke(
            chat,
            self.chats.ids.new(),
            "signin/tokenExchange",
            {"id": pending.exchange_id, "connectionName": pending.connection_name, "token": token},
        )
        answer = await self.link.post(invoke)
        await self._after_sign_in(chat, pending, answer)
        return answer

    async def _sign_in(self, request: web.Request, chat: Chat) -> web.Response:
        body = await _json(request)
        chat.mfa_done = chat.mfa_done or bool(body.get("mfa", True))
        contexts = [str(v) for v in body.get("acrs") or []]
        if contexts:
            self.entra.satisfy_auth_contexts(chat.user.id, *contexts)
        pending = chat.pending_sign_in
        if pending is not None and pending.sign_in_link and self.token_service is not None:
            answer = await self._sign_in_with_button(chat, pending)
        else:
            answer = await self._exchange_token(chat)
        if answer is None:
            return web.json_response({"exchanged": False, "status": None, "response": None})
        return web.json_response(
            {"exchanged": True, "status": answer.status, "response": answer.body}
        )

    async def _sign_in_with_button(self, chat: Chat, pending: PendingSignIn) -> BotAnswer | None:
        """The person signs in at the card's link; Teams hands the bot the magic code."""
        assert self.token_service is not None
        token = self.entra.mint_sso_token(
            chat.user.id,
            audience_app_id=self.sso_audience,
            mfa=chat.mfa_done,
            acrs=sorted(self.entra.satisfied_auth_contexts(chat.user.id)),
        )
        code = self.token_service.sign_in(pending.sign_in_link, chat.user_mri, token)
        if code is None:
            await chat.transcript.add(
                "signin_required", activityId=pending.activity_id, text=pending.text, status=None
            )
            return None
        invoke = self.factory.invoke(
            chat, self.chats.ids.new(), "signin/verifyState", {"state": code}
        )
        answer = await self.link.post(invoke)
        await self._after_sign_in(chat, pending, answer)
        return answer

    async def _after_sign_in(self, chat: Chat, pending: PendingSignIn, answer: BotAnswer) -> None:
        if answer.status == 200:
            if chat.pending_sign_in is pending:
                chat.pending_sign_in = None
            await chat.transcript.add("signed_in", activityId=pending.activity_id)
            return
        body = answer.body if isinstance(answer.body, dict) else {}
        await chat.transcript.add(
            "signin_required",
            activityId=pending.activity_id,
            text=pending.text,
            status=answer.status,
            failureDetail=str(body.get("failureDetail", "")),
        )


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json() if request.can_read_body else {}
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
