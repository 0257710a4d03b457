"""What every part of the workflow needs: the store, Graph, the messenger and the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.sso import SsoVerifier
from bot.store import Database
from bot.workflow.ports import Messenger, PimDirectory


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class WorkflowConfig:
    tenant_id: str
    expiry_warning: timedelta = timedelta(minutes=15)
    # How long a Graph outage may last before an approved request is marked failed.
    activation_retry_budget: timedelta = timedelta(minutes=30)
    # Teams signs people in for the bot's app registration (SSO resource `api://botid-<app id>`).
    # Without one (anonymous mode: the Emulator, Agents Playground) nobody can sign in, so roles
    # that need MFA, and every write of the pim engine, cannot be done.
    sign_in_available: bool = True


@dataclass
class Deps:
    db: Database
    directory: PimDirectory
    messenger: Messenger
    sso: SsoVerifier
    config: WorkflowConfig
    now: Callable[[], datetime] = utc_now
    # Called after a turn enqueued jobs, so the scheduler runs them at once instead of at its
    # next tick.
    wake_scheduler: Callable[[], None] = field(default=lambda: None)
