"""The activity handler: Teams activities in, `TurnHandler` calls out, `Outcome`s back.

For every inbound activity: refuse other tenants (the workflow audits the refusal), record the
sender's 1:1 conversation, then turn the activity into one workflow call and the returned
`Outcome` into replies, card updates and invoke responses. Workflow failures become a friendly
reply (and an error invoke response), logged with a correlation id; people never see a stack
trace.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.schema import Activity, ActivityTypes, SignInConstants

from bot.channel.connector_errors import delivery_failure
from bot.channel.conversations import ConversationDatabase, ConversationRecorder
from bot.channel.identity import actor_of, command_text, is_personal_chat, tenant_of
from bot.channel.rendering import (
    card_activity,
    card_invoke_body,
    error_invoke_body,
    message_invoke_body,
)
from bot.channel.sign_in import SignInCards, TokenServiceError
from bot.domain import Actor, Message, Outcome, SentMessage, TextMessage
from bot.workflow.ports import LATEST_SIGN_IN, DeliveryRefused, TurnHandler

logger = logging.getLogger(__name__)

ADAPTIVE_CARD_ACTION = "adaptiveCard/action"
TOKEN_EXCHANGE = SignInConstants.token_exchange_operation_name  # "signin/tokenExchange"
VERIFY_STATE = SignInConstants.verify_state_operation_name  # "signin/verifyState"

FAILURE_TEXT = "Something went wrong on our side; nothing was changed."
FOREIGN_TENANT_TEXT = (
    "Sorry, I can only help people of the organization I was set up for. "
    "Please ask your own administrators about privileged access."
)
UNKNOWN_PERSON_TEXT = (
    "Sorry, I could not tell who you are from this message, so I cannot help with "
    "privileged access here. Please write to me in a 1:1 chat in Microsoft Teams."
)
SIGN_IN_NOT_RECEIVED_TEXT = "That sign-in did not reach me. Please press Sign in again."
TOKEN_SERVICE_DOWN_TEXT = (
    "I couldn't complete your sign-in just now (the Bot Framework token service did not "
    "answer). Please press Sign in again in a minute."
)
DONE_TEXT = "Done."
SEE_CHAT_TEXT = "My answer is in the chat."
MAX_STATUS_LINE = 200

_ACTOR_KEY = "pimbot.actor"


class PimbotActivityHandler(TeamsActivityHandler):  # type: ignore[misc]
    def __init__(
        self,
        turn_handler: TurnHandler,
        db: ConversationDatabase,
        *,
        allowed_tenant_id: str,
        sign_in: SignInCards,
    ) -> None:
        super().__init__()
        self._workflow = turn_handler
        self._db = db
        self._conversations = ConversationRecorder(db)
        self._allowed_tenant_id = allowed_tenant_id
        self._cards = sign_in

    # --- every activity ---------------------------------------------------------------------

    async def on_turn(self, turn_context: TurnContext) -> None:
        activity: Activity = turn_context.activity
        tenant_id = tenant_of(activity)
        if self._allowed_tenant_id and tenant_id != self._allowed_tenant_id:
            logger.warning(
                "Refused %s activity from tenant %r (serving %r)",
                activity.type,
                tenant_id,
                self._allowed_tenant_id,
            )
            kind = f"{activity.type} {activity.name}" if activity.name else str(activity.type)
            await self._workflow.on_foreign_tenant(actor_of(activity), tenant_id, kind)
            await self._answer_with_text(turn_context, FOREIGN_TENANT_TEXT)
            return
        actor = actor_of(activity)
        turn_context.turn_state[_ACTOR_KEY] = actor
        try:
            recorded = None
            if actor is not None and is_personal_chat(activity):
                recorded = await self._conversations.record(activity, actor)
            if actor is not None and actor.timezone is None:
                # Teams sends `localTimezone` on messages, not on invokes: use the last one.
                if recorded is not None:
                    actor = actor.model_copy(update={"timezone": recorded.timezone})
                else:
                    actor = await self._with_known_timezone(actor)
                turn_context.turn_state[_ACTOR_KEY] = actor
            await super().on_turn(turn_context)
        except Exception as error:
            refused = delivery_failure(error)
            if isinstance(refused, DeliveryRefused):
                # The channel refused a reply for good (a chat it does not know, whatever the
                # body of its answer): expected, not a bug; telling the sender would fail too.
                logger.warning(
                    "The channel refused a reply to %s activity %s: %s",
                    activity.type,
                    activity.id,
                    refused,
                )
                return
            await self._answer_failure(turn_context)

    async def _with_known_timezone(self, actor: Actor) -> Actor:
        async with self._db.transaction() as tx:
            known = await tx.conversations.get(actor.person.id)
        if known is None or not known.timezone:
            return actor
        return actor.model_copy(update={"timezone": known.timezone})

    async def on_conversation_update_activity(self, turn_context: TurnContext) -> None:
        """Nothing beyond recording the conversation (botbuilder's Teams default would look
        members up over the network)."""

    async def on_installation_update_add(self, turn_context: TurnContext) -> None:
        actor = _actor(turn_context)
        if actor is None:
            return
        await self._deliver(turn_context, await self._workflow.on_installed(actor))

    # --- messages: text and Action.Submit ---------------------------------------------------

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity: Activity = turn_context.activity
        actor = _actor(turn_context)
        if actor is None:
            await turn_context.send_activity(UNKNOWN_PERSON_TEXT)
            return
        if isinstance(activity.value, Mapping):  # Action.Submit: a message with `value`
            outcome = await self._workflow.on_action(
                actor, dict(activity.value), card=_card_message(activity, actor)
            )
            await self._update_submitted_card(turn_context, outcome)
            await self._deliver(turn_context, outcome)
            if outcome.toast:
                await turn_context.send_activity(outcome.toast)
            return
        text = command_text(activity)
        if text:
            await self._deliver(turn_context, await self._workflow.on_text(actor, text))

    async def _update_submitted_card(self, turn_context: TurnContext, outcome: Outcome) -> None:
        if outcome.card_update is None:
            return
        card_message_id = turn_context.activity.reply_to_id
        if not card_message_id:
            logger.warning("Action.Submit without replyToId; sending the updated card anew")
            await turn_context.send_activity(card_activity(outcome.card_update))
            return
        update = card_activity(outcome.card_update)
        update.id = card_message_id
        await turn_context.update_activity(update)

    # --- invokes: Action.Execute and SSO token exchange -------------------------------------

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        name = turn_context.activity.name
        if name == ADAPTIVE_CARD_ACTION:
            return await self._on_card_action(turn_context)
        if name == TOKEN_EXCHANGE:
            return await self._on_token_exchange(turn_context)
        if name == VERIFY_STATE:
            return await self._on_verify_state(turn_context)
        response = await super().on_invoke_activity(turn_context)
        if isinstance(response, InvokeResponse) and response.status == 501:
            # botbuilder's answer to every invoke nobody handles: the client sent something
            # pimbot never offers (a message extension, a task module...); that is not a
            # server error.
            return InvokeResponse(
                status=400, body=error_invoke_body(400, "BadRequest", "Not an invoke I handle.")
            )
        return response

    async def _on_card_action(self, turn_context: TurnContext) -> InvokeResponse:
        actor = _actor(turn_context)
        if actor is None:
            return InvokeResponse(status=200, body=message_invoke_body(UNKNOWN_PERSON_TEXT))
        value = _mapping(turn_context.activity.value)
        action = _mapping(value.get("action"))
        if action.get("type") != "Action.Execute":
            return InvokeResponse(
                status=200,
                body=error_invoke_body(400, "BadRequest", "Action.Execute expected"),
            )
        outcome = await self._workflow.on_action(
            actor, execute_data(value), card=_card_message(turn_context.activity, actor)
        )
        if outcome.card_update is not None:
            await self._deliver(turn_context, outcome)
            return InvokeResponse(status=200, body=card_invoke_body(outcome.card_update))
        line, said = _status_line(outcome)
        # What the line under the card says is not said again in the chat.
        await self._deliver(turn_context, outcome, leave_out=said)
        return InvokeResponse(status=200, body=message_invoke_body(line))

    async def _on_token_exchange(self, turn_context: TurnContext) -> InvokeResponse:
        value = _mapping(turn_context.activity.value)
        exchange_id = str(value.get("id") or "")
        connection_name = str(value.get("connectionName") or self._cards.settings.connection)
        token = value.get("token")
        actor = _actor(turn_context)
        if actor is None or not exchange_id or not isinstance(token, str) or not token:
            return _exchange_failed(exchange_id, connection_name, "The sign-in was incomplete.")
        result = await self._workflow.on_token_exchange(actor, exchange_id, token)
        await self._deliver(turn_context, result.outcome)
        if not result.accepted:
            return _exchange_failed(exchange_id, connection_name, result.failure_detail)
        return InvokeResponse(
            status=200, body={"id": exchange_id, "connectionName": connection_name}
        )

    async def _on_verify_state(self, turn_context: TurnContext) -> InvokeResponse:
        """The person signed in through the card's Sign in button: `state` is the magic code
        that claims their token for the OAuth connection from the token service. 200 when the
        sign-in served what waited, 404 when there is no token for it (as botbuilder's
        OAuthPrompt answers), 412 when pimbot refused the token (the workflow says why)."""
        activity: Activity = turn_context.activity
        code = _mapping(activity.value).get("state")
        actor = _actor(turn_context)
        service = self._cards.service
        user_id = activity.from_property.id if activity.from_property else ""
        if actor is None or service is None or not isinstance(code, str) or not code:
            return InvokeResponse(status=404)
        try:
            token = await service.user_token(str(user_id), str(activity.channel_id), code)
        except TokenServiceError as exc:
            logger.warning("signin/verifyState: the token service refused: %s", exc)
            await turn_context.send_activity(TOKEN_SERVICE_DOWN_TEXT)
            return InvokeResponse(status=500)
        if token is None:
            await turn_context.send_activity(SIGN_IN_NOT_RECEIVED_TEXT)
            return InvokeResponse(status=404)
        result = await self._workflow.on_token_exchange(actor, LATEST_SIGN_IN, token)
        await self._deliver(turn_context, result.outcome)
        if not result.accepted:
            return InvokeResponse(
                status=412,
                body={"connectionName": service.connection, "failureDetail": result.failure_detail},
            )
        return InvokeResponse(status=200)

    # --- answers ----------------------------------------------------------------------------

    async def _deliver(
        self, turn_context: TurnContext, outcome: Outcome, *, leave_out: Message | None = None
    ) -> None:
        for reply in outcome.replies:
            if reply is not leave_out:
                reply_activity = await self._cards.activity(reply, turn_context.activity)
                await turn_context.send_activity(reply_activity)

    async def _answer_with_text(self, turn_context: TurnContext, text: str) -> None:
        """Tell the sender `text` in the way the activity allows."""
        activity: Activity = turn_context.activity
        if activity.type == ActivityTypes.invoke:
            if activity.name == ADAPTIVE_CARD_ACTION:
                response = InvokeResponse(status=200, body=message_invoke_body(text))
            else:
                response = InvokeResponse(
                    status=403, body=error_invoke_body(403, "Forbidden", text)
                )
            await _set_invoke_response(turn_context, response)
        elif activity.type == ActivityTypes.message or (
            activity.type == ActivityTypes.installation_update and activity.action == "add"
        ):
            await turn_context.send_activity(text)

    async def _answer_failure(self, turn_context: TurnContext) -> None:
        activity: Activity = turn_context.activity
        correlation_id = uuid.uuid4().hex[:12]
        logger.exception(
            "Turn failed [ref %s]: %s activity %s (%s)",
            correlation_id,
            activity.type,
            activity.id,
            activity.name or "",
        )
        text = f"{FAILURE_TEXT} (reference {correlation_id})"
        if activity.type == ActivityTypes.invoke:
            # Action.Execute errors travel in a 200 body that Teams shows; others as HTTP 500.
            status = 200 if activity.name == ADAPTIVE_CARD_ACTION else 500
            body = error_invoke_body(500, "InternalError", text)
            await _set_invoke_response(turn_context, InvokeResponse(status=status, body=body))
        if activity.type in (ActivityTypes.message, ActivityTypes.invoke):
            try:
                await turn_context.send_activity(text)
            except Exception:  # the connector may be what failed; the log has the reference
                logger.exception("Could not tell the sender about failure [ref %s]", correlation_id)


def execute_data(value: Mapping[str, Any]) -> dict[str, Any]:
    """What the workflow gets for an Action.Execute: `action.data` (Teams merges the card's
    inputs into it), plus `verb` when the data does not carry one and Teams' `trigger`
    ("manual" or "automatic" for refresh), which msrest's model would drop."""
    action = _mapping(value.get("action"))
    data = dict(_mapping(action.get("data")))
    verb = action.get("verb")
    if isinstance(verb, str) and verb and "verb" not in data:
        data["verb"] = verb
    trigger = value.get("trigger")
    if isinstance(trigger, str) and trigger and "trigger" not in data:
        data["trigger"] = trigger
    return data


def _card_message(activity: Activity, actor: Actor) -> SentMessage | None:
    """The message that carried a pressed button (Teams names it in `replyToId`)."""
    conversation_id = activity.conversation.id if activity.conversation else ""
    if not activity.reply_to_id or not conversation_id:
        return None
    return SentMessage(
        person_id=actor.person.id,
        conversation_id=str(conversation_id),
        activity_id=str(activity.reply_to_id),
    )


def _actor(turn_context: TurnContext) -> Actor | None:
    actor = turn_context.turn_state.get(_ACTOR_KEY)
    return actor if isinstance(actor, Actor) else None


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _exchange_failed(exchange_id: str, connection_name: str, detail: str) -> InvokeResponse:
    """412 makes Teams fall back to showing the sign-in card."""
    return InvokeResponse(
        status=412,
        body={"id": exchange_id, "connectionName": connection_name, "failureDetail": detail},
    )


async def _set_invoke_response(turn_context: TurnContext, response: InvokeResponse) -> None:
    await turn_context.send_activity(Activity(type=ActivityTypes.invoke_response, value=response))


def _status_line(outcome: Outcome) -> tuple[str, TextMessage | None]:
    """The line Teams shows under the card, and the reply it already says (not to be sent to the
    chat as well): the toast (and a reply that repeats it), else the first text reply when it fits
    the line (a refusal reads better there than "Done."), else "Done." or a pointer to the chat,
    where a longer answer goes whole."""
    texts = [m for m in outcome.replies if isinstance(m, TextMessage)]
    if outcome.toast:
        same = next((m for m in texts if m.text == outcome.toast), None)
        return outcome.toast, same
    if not texts:
        return DONE_TEXT, None
    first = texts[0].text.replace("**", "").replace("`", "").strip()
    if not first:
        return DONE_TEXT, None
    if len(first) <= MAX_STATUS_LINE:
        return first, texts[0]
    return SEE_CHAT_TEXT, None
