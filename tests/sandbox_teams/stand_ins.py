"""A tiny stand-in for the demo tenant (`bot.sandbox.tenant`), shaped like its public API."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class User:
    id: str
    handle: str
    upn: str
    display_name: str
    mail: str | None = None
    timezone: str | None = "Europe/Berlin"
    break_glass: bool = False


@dataclass(frozen=True)
class App:
    client_id: str = "6f0c2d6e-1111-4d2b-9c55-000000000b07"
    client_secret: str = "sandbox-secret-value"
    display_name: str = "pimbot"
    application_permissions: tuple[str, ...] = (
        "RoleManagement.ReadWrite.Directory",
        "User.Read.All",
    )


@dataclass
class Tenant:
    tenant_id: str = "7d1f7a8e-0000-4c5b-8f00-00000000c0de"
    users: list[User] = field(
        default_factory=lambda: [
            User(
                "a1a1a1a1-0000-0000-0000-000000000001",
                "adele",
                "adele@contoso.example",
                "Adele Vance",
                "adele@contoso.example",
                "Europe/Berlin",
            ),
            User(
                "b2b2b2b2-0000-0000-0000-000000000002",
                "megan",
                "megan@contoso.example",
                "Megan Bowen",
                "megan@contoso.example",
                "America/New_York",
            ),
        ]
    )
    pimbot_app: App = field(default_factory=App)

    def user(self, ref: str) -> User:
        for user in self.users:
            if ref.lower() in (user.id, user.handle, user.upn.lower()):
                return user
        raise KeyError(ref)
