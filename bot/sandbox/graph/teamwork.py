"""Which users have pimbot's Teams app installed, as the Graph twin's
`users/{id}/teamwork/installedApps` shows them (the routes: `resources/installed_apps.py`).

Only the tenant's one catalog app (pimbot's) is known. Whether a user has it is asked of a
`TeamsAppHost`: the Teams twin when the twins run together (so an install through Graph makes
Teams send the bot an `installationUpdate`, and an install in the Teams client shows here), or
a plain set otherwise. Tests block the app for some users with `blocked_users` (as an app
permission policy would: 403).
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from typing import Protocol

from bot.sandbox.graph.shapes import Json
from bot.sandbox.tenant import DemoTenant


class TeamsAppHost(Protocol):
    """Where the app's per-user installs live (the Teams twin, when it runs)."""

    def is_installed(self, user_id: str) -> bool: ...

    def install(self, user_id: str) -> None: ...


@dataclass
class InstalledSet:
    """A host without Teams: installs are remembered, nobody is told."""

    users: set[str] = field(default_factory=set)

    def is_installed(self, user_id: str) -> bool:
        return user_id in self.users

    def install(self, user_id: str) -> None:
        self.users.add(user_id)


def catalog_app_id(tenant: DemoTenant) -> str:
    """The pimbot app's id in the tenant's app catalog (stable per app registration)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"teamsapp:{tenant.pimbot_app.client_id}"))


class TeamsAppInstalls:
    def __init__(self, tenant: DemoTenant, host: TeamsAppHost | None = None) -> None:
        self.tenant = tenant
        self.host: TeamsAppHost = host or InstalledSet()
        self.catalog_app_id = catalog_app_id(tenant)
        self.blocked_users: set[str] = set()

    def teams_app(self) -> Json:
        app = self.tenant.pimbot_app
        return {
            "id": self.catalog_app_id,
            "externalId": app.client_id,
            "displayName": app.display_name,
            "distributionMethod": "organization",
        }

    def installation_id(self, user_id: str) -> str:
        raw = f"{user_id}##{self.catalog_app_id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def installation(self, user_id: str) -> Json:
        return {"id": self.installation_id(user_id), "teamsApp": self.teams_app()}
