"""The admin side's settings, as governance reads them (built from `bot.settings.Settings`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta


@dataclass(frozen=True)
class GovernanceConfig:
    tenant_id: str
    admin_group_id: str = ""  # "": the admin commands are off
    break_glass_ids: frozenset[str] = field(default_factory=frozenset)  # lower-cased object ids
    eligible_window: timedelta = timedelta(days=180)
    alerts_every: timedelta = timedelta(days=1)  # PIMBOT_ALERTS_EVERY: the alerts digest
    alerts_channel: str = ""  # PIMBOT_ALERTS_CHANNEL: the digest goes there, not to each admin
    # False on the pim engine: the app holds read permissions only, and admin writes need the
    # admin's own delegated token, which the admin side does not ask for yet.
    app_writes: bool = True

    @property
    def enabled(self) -> bool:
        return bool(self.admin_group_id)

    def is_break_glass(self, object_id: str) -> bool:
        return object_id.lower() in self.break_glass_ids
