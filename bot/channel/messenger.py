"""`Messenger` over the Bot Connector: proactive messages to a person's 1:1 chat, and in-place
updates of what was sent.

Reaching a person: their stored conversation; else a new 1:1 chat (Teams allows it only when the
app is installed for them); else the app installed for them through Graph (`TeamsAppInstaller`),
then their chat with it; and where installing is refused, the configured approvers channel."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any, Protocol

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
)

from bot.channel.connector import BotConnector, addressed, model_json
from bot.channel.connector_errors import delivery_failure, status_of
from bot.channel.conversations import ConversationDatabase, conversation_record
from bot.channel.sign_in import SignInCards
from bot.domain import Actor, GraphError, Message, Person, SentMessage, SignInRequest
from bot.graph.teams_apps import InstallRefused, PersonalChat
from bot.store.conversations import ConversationRecord
from bot.workflow.ports import DeliveryDelayed
from cards.text import plain

logger = logging.getLogger(__name__)

TEAMS_CHANNEL_ID = "msteams"
INSTALL_UPDATE_WAIT_SECONDS = 10.0  # how long to wait for Teams' installationUpdate
INSTALL_UPDATE_POLL_SECONDS = 0.2


class AppInstaller(Protocol):
    """Installs the Teams app for a user and names their chat with it (Graph, `bot/graph/`)."""

    async def personal_chat(self, user_id: str) -> PersonalChat: ...


class BotMessenger:
    """Sends and updates through the Bot Connector (`connector`) on the stored reference;
    creates the 1:1 chat first (botbuilder's `adapter`) for a person who never wrote to the bot
    (with a service URL of their tenant), and installs the app for them when Teams refuses that
    chat."""

    def __init__(
        self,
        adapter: CloudAdapter,
        db: ConversationDatabase,
        *,
        connector: BotConnector,
        app_id: str,
        sign_in: SignInCards,
        installer: AppInstaller | None = None,
        approvers_channel_id: str = "",
        tenant_id: str = "",
        install_wait: float = INSTALL_UPDATE_WAIT_SECONDS,
    ) -> None:
        self._adapter = adapter
        self._connector = connector
        self._db = db
        self._app_id = app_id
        self._cards = sign_in
        self._installer = installer
        self._approvers_channel_id = approvers_channel_id
        self._tenant_id = tenant_id
        self._install_wait = install_wait

    async def send(self, person: Person, message: Message) -> SentMessage | None:
        try:
            return await self._send(person, message)
        except Exception as error:
            failure = delivery_failure(error)
            if failure is None:
                raise
            raise failure from None

    async def _send(self, person: Person, message: Message) -> SentMessage | None:
        async with self._db.transaction() as tx:
            known = await tx.conversations.get(person.id)
            service_url = (
                None if known else await tx.conversations.any_service_url(person.tenant_id)
            )
        if known is not None:
            try:
                activity_id = await self._send_in(known.reference, message)
            except Exception as error:
                if not is_unreachable(error):
                    raise
                logger.warning("Cannot reach person %s: %s", person.id, error)
                return None
            return SentMessage(
                person_id=person.id, conversation_id=known.conversation_id, activity_id=activity_id
            )
        if service_url is not None:
            sent = await self._create_chat_and_send(person, service_url, message)
            if sent is not None:
                return sent
        return await self._reach_by_install(person, service_url, message)

    async def update(self, sent: SentMessage, message: Message) -> bool:
        if not sent.activity_id:
            logger.warning("Cannot update a message the connector gave no id for")
            return False
        reference = await self._reference_for_update(sent)
        if reference is None:
            logger.warning("Cannot update message %s: no conversation known", sent.activity_id)
            return False
        update = addressed(model_json(await self._activity(message, reference)), reference)
        update["conversation"] = {"id": sent.conversation_id}
        update["id"] = sent.activity_id
        try:
            await self._connector.update_activity(
                str(reference["serviceUrl"]), sent.conversation_id, sent.activity_id, update
            )
        except Exception as error:
            failure = delivery_failure(error)
            if failure is None:
                raise
            if isinstance(failure, DeliveryDelayed):
                raise failure from None
            logger.warning("Cannot update message %s: %s", sent.activity_id, failure)
            return False
        return True

    async def _reference_for_update(self, sent: SentMessage) -> dict[str, Any] | None:
        if self._approvers_channel_id and sent.conversation_id == self._approvers_channel_id:
            async with self._db.transaction() as tx:
                service_url = await tx.conversations.any_service_url(self._tenant_id)
            return (
                None
                if service_url is None
                else _json(self._channel_reference(service_url, self._approvers_channel_id))
            )
        async with self._db.transaction() as tx:
            known = await tx.conversations.get(sent.person_id)
        return None if known is None else known.reference

    async def _send_in(self, reference: dict[str, Any], message: Message, *, note: str = "") -> str:
        """Post `message` as a new message (not a reply) in the conversation of `reference` (a
        serialized `ConversationReference`); `note` goes before its text. The connector's id
        for it ("" when it gave none)."""
        activity = addressed(model_json(await self._activity(message, reference)), reference)
        if note:
            activity["text"] = f"{note} {activity['text']}" if activity.get("text") else note
        return await self._connector.send_to_conversation(
            str(reference["serviceUrl"]), str(reference["conversation"]["id"]), activity
        )

    async def _activity(self, message: Message, reference: dict[str, Any]) -> Activity:
        """`message` as an activity; a sign-in request's card is made for the conversation of
        `reference` (the token service's state names it)."""
        if isinstance(message, SignInRequest):
            context = _addressed_from(ConversationReference().deserialize(reference))
        else:
            context = Activity(type=ActivityTypes.message)
        return await self._cards.activity(message, context)

    async def _create_chat_and_send(
        self, person: Person, service_url: str, message: Message
    ) -> SentMessage | None:
        parameters = ConversationParameters(
            is_group=False,
            bot=ChannelAccount(id=self._bot_id()),
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
        activity_id = await self._send_in(record.reference, message)
        return SentMessage(
            person_id=person.id, conversation_id=record.conversation_id, activity_id=activity_id
        )

    # --- people the app was never installed for ----------------------------------------------

    async def _reach_by_install(
        self, person: Person, service_url: str | None, message: Message
    ) -> SentMessage | None:
        """Install the app for the person through Graph and write in their chat with it; where
        installing is refused, post to the approvers channel instead."""
        if self._installer is None:
            logger.warning(
                "Cannot reach person %s: no conversation, and installing the app is not set up "
                "(PIMBOT_TEAMS_CATALOG_APP_ID)",
                person.id,
            )
            return await self._post_to_approvers_channel(person, service_url, message)
        try:
            chat = await self._installer.personal_chat(person.id)
        except InstallRefused as refused:
            logger.warning("Cannot install the app for person %s: %s", person.id, refused)
            return await self._post_to_approvers_channel(person, service_url, message)
        except GraphError as error:
            if error.status == 429 or error.status >= 500:
                raise  # worth a retry
            logger.warning("Cannot install the app for person %s: %s", person.id, error)
            return None
        if chat.newly_installed:
            logger.info("Installed the app for person %s to reach them", person.id)
        known = await self._conversation_after_install(person.id, waiting=service_url is None)
        if known is not None:
            reference = known.reference
            conversation_id = known.conversation_id
        elif service_url is not None and chat.chat_id:
            personal = self._personal_reference(person, service_url, chat.chat_id)
            conversation_id = chat.chat_id
            await self._remember(person, personal)
            reference = _json(personal)
        else:
            logger.warning(
                "Installed the app for person %s, but Teams has not told us their chat yet",
                person.id,
            )
            return None
        activity_id = await self._send_in(reference, message)
        return SentMessage(
            person_id=person.id, conversation_id=conversation_id, activity_id=activity_id
        )

    async def _conversation_after_install(
        self, person_id: str, *, waiting: bool
    ) -> ConversationRecord | None:
        """The conversation Teams' `installationUpdate` recorded; when there is no other way to
        the person (no service URL known), wait a little for it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self._install_wait if waiting else 0.0)
        while True:
            async with self._db.transaction() as tx:
                known = await tx.conversations.get(person_id)
            if known is not None or loop.time() >= deadline:
                return known
            await asyncio.sleep(INSTALL_UPDATE_POLL_SECONDS)

    def _personal_reference(
        self, person: Person, service_url: str, chat_id: str
    ) -> ConversationReference:
        return ConversationReference(
            channel_id=TEAMS_CHANNEL_ID,
            service_url=service_url,
            bot=ChannelAccount(id=self._bot_id()),
            user=ChannelAccount(id=person.id, aad_object_id=person.id),
            conversation=ConversationAccount(
                id=chat_id, conversation_type="personal", tenant_id=person.tenant_id
            ),
        )

    async def _remember(self, person: Person, reference: ConversationReference) -> None:
        """Keep the chat, unless Teams' `installationUpdate` has recorded it (better) already."""
        record = ConversationRecord(
            person_id=person.id,
            tenant_id=person.tenant_id,
            conversation_id=reference.conversation.id,
            service_url=reference.service_url,
            bot_id=self._bot_id(),
            display_name=person.display_name,
            reference=reference.serialize(),
            updated_at=datetime.now(UTC),
        )
        async with self._db.transaction() as tx:
            if await tx.conversations.get(person.id) is None:
                await tx.conversations.upsert(record)

    async def _post_to_approvers_channel(
        self, person: Person, service_url: str | None, message: Message
    ) -> SentMessage | None:
        if not self._approvers_channel_id or service_url is None:
            logger.warning(
                "Cannot reach person %s: %s",
                person.id,
                "no approvers channel is set (PIMBOT_APPROVERS_CHANNEL_ID)"
                if not self._approvers_channel_id
                else "no service URL known for the approvers channel",
            )
            return None
        reference = _json(self._channel_reference(service_url, self._approvers_channel_id))
        note = f"For {plain(person.display_name or person.upn or person.id)}:"
        activity_id = await self._send_in(reference, message, note=note)
        logger.warning(
            "Posted the message for person %s to the approvers channel %s instead of a 1:1 chat",
            person.id,
            self._approvers_channel_id,
        )
        return SentMessage(
            person_id=person.id,
            conversation_id=self._approvers_channel_id,
            activity_id=activity_id,
        )

    async def post_to_channel(self, channel_id: str, message: Message) -> SentMessage | None:
        """Post a new message in a team channel (the alerts digest's PIMBOT_ALERTS_CHANNEL),
        through the service URL of the tenant's conversations. None when none is known yet or
        the Bot Connector refuses the bot there (not in that team)."""
        async with self._db.transaction() as tx:
            service_url = await tx.conversations.any_service_url(self._tenant_id)
        if service_url is None:
            logger.warning("Cannot post in channel %s: no service URL known yet", channel_id)
            return None
        try:
            activity_id = await self._send_in(
                _json(self._channel_reference(service_url, channel_id)), message
            )
        except Exception as error:
            if not is_unreachable(error):
                failure = delivery_failure(error)
                if failure is None:
                    raise
                raise failure from None
            logger.warning("Cannot post in channel %s: %s", channel_id, error)
            return None
        return SentMessage(person_id="", conversation_id=channel_id, activity_id=activity_id)

    def _channel_reference(self, service_url: str, channel_id: str) -> ConversationReference:
        return ConversationReference(
            channel_id=TEAMS_CHANNEL_ID,
            service_url=service_url,
            bot=ChannelAccount(id=self._bot_id()),
            conversation=ConversationAccount(
                id=channel_id,
                conversation_type="channel",
                is_group=True,
                tenant_id=self._tenant_id or None,
            ),
        )

    def _bot_id(self) -> str:
        return f"28:{self._app_id}" if self._app_id else "pimbot"


def is_unreachable(error: Exception) -> bool:
    """The Bot Connector said no for this person (403: bot blocked or not installed, 404:
    conversation or user unknown), whatever the body of its answer. Other failures are
    raised (see `connector_errors`)."""
    return status_of(error) in (403, 404)


def _json(reference: ConversationReference) -> dict[str, Any]:
    serialized: dict[str, Any] = reference.serialize()
    return serialized


def _addressed_from(reference: ConversationReference) -> Activity:
    """An activity from the person of `reference` in its conversation (what a sign-in card's
    token exchange state is made from, as from an incoming activity)."""
    return TurnContext.apply_conversation_reference(
        Activity(type=ActivityTypes.message), reference, is_incoming=True
    )
