"""botbuilder's `CloudAdapter`, with the messages of a turn sent through pimbot's own Bot
Connector client (`connector.py`) instead of the msrest client botbuilder builds for the turn.

Inbound authentication, the turn pipeline and invoke responses stay botbuilder's; only the HTTP
calls that carry a reply or an update change, and their bodies are the ones botbuilder sent.
"""

from __future__ import annotations

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ActivityTypes, ResourceResponse
from botframework.connector.auth import BotFrameworkAuthentication

from bot.channel.connector import BotConnector, model_json

# Activities botbuilder handles without calling the connector (or, for a trace, only in the
# Emulator): left to it.
NOT_SENT = ("delay", ActivityTypes.invoke_response, ActivityTypes.trace)


class PimbotAdapter(CloudAdapter):  # type: ignore[misc]
    def __init__(self, authentication: BotFrameworkAuthentication, connector: BotConnector) -> None:
        super().__init__(authentication)
        self._connector = connector

    async def send_activities(
        self, context: TurnContext, activities: list[Activity]
    ) -> list[ResourceResponse]:
        if not activities:
            return list(await super().send_activities(context, activities))  # botbuilder's error
        responses: list[ResourceResponse] = []
        for activity in activities:
            if activity.type in NOT_SENT:
                responses.extend(await super().send_activities(context, [activity]))
                continue
            activity.id = None
            body = model_json(activity)
            if activity.reply_to_id:
                sent_id = await self._connector.reply_to_activity(
                    activity.service_url, activity.conversation.id, activity.reply_to_id, body
                )
            else:
                sent_id = await self._connector.send_to_conversation(
                    activity.service_url, activity.conversation.id, body
                )
            responses.append(ResourceResponse(id=sent_id))
        return responses

    async def update_activity(
        self, context: TurnContext, activity: Activity
    ) -> ResourceResponse | None:
        updated = await self._connector.update_activity(
            activity.service_url, activity.conversation.id, activity.id, model_json(activity)
        )
        return ResourceResponse(id=updated) if updated else None
