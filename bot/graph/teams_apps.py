"""Installing pimbot's Teams app for a person through Graph, to reach someone who never opened it.

The Bot Connector can only create a 1:1 chat with a user who has the app installed. Graph can
install it for them (`POST /users/{id}/teamwork/installedApps`, application permission
`TeamsAppInstallation.ReadWriteSelfForUser.All`) and then name the chat between the user and the
app (`GET …/installedApps/{installationId}/chat`), whose id the Bot Connector accepts as a
conversation id. Teams also sends the bot an `installationUpdate`, which records the
conversation as any install does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import quote

from bot.graph.errors import GraphError
from bot.graph.http import GraphHttp

logger = logging.getLogger(__name__)

INSTALL_PERMISSION = "TeamsAppInstallation.ReadWriteSelfForUser.All"


class InstallRefused(Exception):
    """Graph will not install the app for this person (403: no permission granted, or an app
    permission policy blocks the app for them)."""


@dataclass(frozen=True)
class PersonalChat:
    installation_id: str
    chat_id: str
    newly_installed: bool


class TeamsAppInstaller:
    """Finds or makes the installation of the catalog app `catalog_app_id` (the app's id in
    the tenant's app catalog, not the manifest id) for a user, and its 1:1 chat."""

    def __init__(self, graph: GraphHttp, catalog_app_id: str) -> None:
        self._graph = graph
        self._catalog_app_id = catalog_app_id

    @property
    def catalog_app_id(self) -> str:
        return self._catalog_app_id

    async def personal_chat(self, user_id: str) -> PersonalChat:
        """The chat between the user and the app, installing the app first when needed.

        Raises `InstallRefused` on 403; other Graph errors propagate."""
        installation_id = await self._installation_id(user_id)
        newly_installed = installation_id is None
        if installation_id is None:
            await self._install(user_id)
            installation_id = await self._installation_id(user_id)
            if installation_id is None:
                raise GraphError(
                    404, "InstallationNotFound", "the app was installed but is not listed"
                )
        try:
            chat = await self._graph.get_json(
                f"{self._installations_path(user_id)}/{quote(installation_id, safe='')}/chat"
            )
        except GraphError as error:
            if error.status == 403:
                raise InstallRefused(str(error)) from error
            raise
        return PersonalChat(
            installation_id=installation_id,
            chat_id=str(chat.get("id") or ""),
            newly_installed=newly_installed,
        )

    async def _installation_id(self, user_id: str) -> str | None:
        params = {
            "$expand": "teamsApp",
            "$filter": f"teamsApp/id eq '{_odata_literal(self._catalog_app_id)}'",
        }
        try:
            async for item in self._graph.get_all(self._installations_path(user_id), params):
                return str(item.get("id") or "") or None
        except GraphError as error:
            if error.status == 403:
                raise InstallRefused(str(error)) from error
            raise
        return None

    async def _install(self, user_id: str) -> None:
        body = {
            "teamsApp@odata.bind": (
                "https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/"
                + quote(self._catalog_app_id, safe="")
            )
        }
        try:
            await self._graph.post_json(self._installations_path(user_id), body)
        except GraphError as error:
            if error.status == 409:
                return  # installed meanwhile (another replica, or the person themselves)
            if error.status == 403:
                raise InstallRefused(str(error)) from error
            raise
        logger.info("installed the Teams app for user %s", user_id)

    @staticmethod
    def _installations_path(user_id: str) -> str:
        return f"/users/{quote(user_id, safe='')}/teamwork/installedApps"


def _odata_literal(value: str) -> str:
    return value.replace("'", "''")
