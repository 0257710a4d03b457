"""`Messenger` over the Bot Connector: proactive messages to a person's 1:1 chat, and in-place
updates of what was sent."""

from __future__ import annotations

import logging

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import (
    Activity,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
)
from msrest.exceptions import HttpOperationError

from bot.channel.conversations import ConversationDatabase, conversation_record
from bot.channel.rendering import SignInCardSettings, message_activity
from bot.domain import Actor, Message, Person, SentMessage

logger = logging.getLogger(__name__)

TEAMS_CHANNEL_ID = "msteams"


class BotMessenger:
    """Sends through `adapter.continue_conversation` on the stored reference; creates the 1:1
    chat first for a person who never wrote to the bot (with a service URL of their tenant)."""

    def __init__(
        self,
        adapter: CloudAdapter,
        db: ConversationDatabase,
        *,
        app_id: str,
        sign_in: SignInCardSettings,
    ) -> None:
        self._adapter = adapter
        self._db = db
        self._app_id = app_id
        self._sign_in = sign_in

    async def send(self, person: Person, message: Message) -> SentMessage | None:
        async with self._db.transaction() as tx:
            known = await tx.conversations.get(person.id)
            service_url = (
                None if known else await tx.conversations.any_service_url(person.tenant_id)
            )
        if known is not None:
            reference = ConversationReference().deserialize(known.reference)
            try:
                activity_id = await self._send_in(reference, message)
            except Exception as error:
                if not is_unreachable(error):
                    raise
                logger.warning("Cannot reach person %s: %s", person.id, error)
                return None
            return SentMessage(
                person_id=person.id, conversation_id=known.conversation_id, activity_id=activity_id
            )
        if service_url is None:
            logger.warning(
                "Cannot reach person %s: no conversation and no service URL for tenant %r",
                person.id,
                person.tenant_id,
            )
            return None
        return await self._create_chat_and_send(person, service_url, message)

    async def update(self, sent: SentMessage, message: Message) -> None:
        async with self._db.transaction() as tx:
            known = await tx.conversations.get(sent.person_id)
        if known is None:
            logger.warning("Cannot update message %s: no conversation known", sent.activity_id)
            return
        reference = ConversationReference().deserialize(known.reference)
        update = message_activity(message, self._sign_in)
        update.id = sent.activity_id

        async def put(turn_context: TurnContext) -> None:
            TurnContext.apply_conversation_reference(update, reference)
            update.conversation = ConversationAccount(id=sent.conversation_id)
            update.id = sent.activity_id
            await turn_context.adapter.update_activity(turn_context, update)

        try:
            await self._adapter.continue_conversation(reference, put, bot_app_id=self._app_id)
        except Exception as error:
            if not is_unreachable(error):
                raise
            logger.warning("Cannot update message %s: %s", sent.activity_id, error)

    async def _send_in(self, reference: ConversationReference, message: Message) -> str:
        """Post `message` as a new message (not a reply) in the referenced conversation."""
        activity = message_activity(message, self._sign_in)
        sent_ids: list[str] = []

        async def post(turn_context: TurnContext) -> None:
            TurnContext.apply_conversation_reference(activity, reference)
            activity.reply_to_id = None  # proactive: POST .../activities, not a reply
            responses = await turn_context.adapter.send_activities(turn_context, [activity])
            sent_ids.append(str(getattr(responses[0], "id", "") or ""))

        await self._adapter.continue_conversation(reference, post, bot_app_id=self._app_id)
        return sent_ids[0] if sent_ids else ""

    async def _create_chat_and_send(
        self, person: Person, service_url: str, message: Message
    ) -> SentMessage | None:
        parameters = ConversationParameters(
            is_group=False,
            bot=ChannelAccount(id=f"28:{self._app_id}" if self._app_id else "pimbot"),
            members=[ChannelAccount(id=person.id)],
            tenant_id=person.tenant_id,  # sent as "tenantID"; Teams reads channelData.tenant.id
            channel_data={"tenant": {"id": person.tenant_id}},
        )
        created: list[Activity] = []

        async def remember(turn_context: TurnContext) -> None:
            created.append(turn_context.activity)

        try:
            await self._adapter.create_conversation(
                self._app_id,
                remember,
                parameters,
                TEAMS_CHANNEL_ID,
                service_url,
                None,
            )
        except Exception as error:
            if not is_unreachable(error):
                raise
            logger.warning("Cannot create a chat with person %s: %s", person.id, error)
            return None
        create_activity = created[0]
        create_activity.from_property = ChannelAccount(id=person.id, aad_object_id=person.id)
        actor = Actor(person=person)
        record = conversation_record(create_activity, actor)
        async with self._db.transaction() as tx:
            await tx.conversations.upsert(record)
        reference = ConversationReference().deserialize(record.reference)
        activity_id = await self._send_in(reference, message)
        return SentMessage(
            person_id=person.id, conversation_id=record.conversation_id, activity_id=activity_id
        )


def is_unreachable(error: Exception) -> bool:
    """The Bot Connector said no for this person (403: bot blocked or not installed, 404:
    conversation or user unknown). Other failures are worth a retry and are raised."""
    if not isinstance(error, HttpOperationError):
        return False
    status = getattr(getattr(error, "response", None), "status_code", None)
    return status in (403, 404)
