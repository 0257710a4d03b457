"""Builds the admin side from settings and the Graph adapters `bot/app.py` hands in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain import Message, Person, SentMessage
from bot.governance.alert_fixes import ComputedFixes
from bot.governance.alert_settings import AlertSettings
from bot.governance.alerts_digest import AlertsDigest
from bot.governance.alerts_journey import VERBS as ALERT_VERBS
from bot.governance.alerts_journey import AlertsJourney
from bot.governance.break_glass import BreakGlassKept
from bot.governance.config import GovernanceConfig
from bot.governance.four_eyes import DECISION_VERBS, SIGN_IN_PREFIX, AsAdmin, FourEyes
from bot.governance.front import AdminFront, WorkflowTurns
from bot.governance.gate import AdminGate
from bot.governance.policy_ports import AlertsSource, RoleSettingsSource
from bot.governance.ports import (
    AdminDirectory,
    AlertFixWrites,
    PostToChannel,
    SendMessages,
    StandingReads,
    StandingWrites,
)
from bot.governance.settings_journey import SettingsJourney
from bot.governance.standing import VERBS as STANDING_VERBS
from bot.governance.standing import Standing
from bot.settings import EngineName, Settings
from bot.store import Database
from bot.timefmt import parse_iso_duration
from bot.workflow.jobs import JobRunner


def governance_config(settings: Settings) -> GovernanceConfig:
    return GovernanceConfig(
        tenant_id=settings.graph_tenant_id,
        admin_group_id=settings.admin_group_id.strip(),
        break_glass_ids=settings.break_glass,
        eligible_window=parse_iso_duration(settings.eligible_window) or timedelta(days=180),
        alerts_every=parse_iso_duration(settings.alerts_every) or timedelta(days=1),
        alerts_channel=settings.alerts_channel.strip(),
        app_writes=settings.engine is EngineName.BOT,
    )


@dataclass
class Governance:
    """The admin side: `front` is the turn handler the channel gets."""

    front: AdminFront
    gate: AdminGate
    four_eyes: FourEyes
    standing: Standing


def build_governance(
    config: GovernanceConfig,
    db: Database,
    workflow: WorkflowTurns,
    *,
    admins: AdminDirectory,
    standing_reads: StandingReads,
    standing_writes: StandingWrites,
    runner: JobRunner,
    now: Callable[[], datetime],
    as_admin: AsAdmin | None = None,
    standing_writes_as: Callable[[str], StandingWrites] | None = None,
    role_settings: RoleSettingsSource | None = None,
    alerts: AlertsSource | None = None,
    channel: PostToChannel | None = None,
    alert_fixes: AlertFixWrites | None = None,
    alert_fixes_as: Callable[[str], AlertFixWrites] | None = None,
) -> Governance:
    """Admin commands through the gate, the rest to `workflow`; the admin side's jobs run by
    `runner` (the scheduler's)."""
    gate = AdminGate(db, admins, config, now)
    front = AdminFront(workflow, gate)
    four_eyes = FourEyes(
        db,
        gate,
        now,
        wake_scheduler=lambda: runner.deps.wake_scheduler(),
        as_admin=as_admin,
        messenger=lambda: runner.deps.messenger,
    )
    front.add_actions(DECISION_VERBS, four_eyes.on_action)
    front.add_sign_in(SIGN_IN_PREFIX, four_eyes.on_sign_in, four_eyes.newest_sign_in)
    runner.add_handlers(four_eyes.job_handlers())
    standing = Standing(
        db, config, standing_reads, standing_writes, four_eyes, now, writes_as=standing_writes_as
    )
    front.add_command("standing", standing.on_command)
    front.add_actions(STANDING_VERBS, standing.on_action)
    if role_settings is not None:
        front.add_command("settings", SettingsJourney(role_settings).on_command)
    if alerts is not None:
        alerts = BreakGlassKept(alerts, config)
        computed = None
        if alert_fixes is not None:
            computed = ComputedFixes(
                db,
                config,
                standing_reads,
                alert_fixes,
                standing,
                four_eyes,
                now,
                writes_as=alert_fixes_as if as_admin is not None else None,
            )
        journey = AlertsJourney(
            alerts,
            db=db,
            config=config,
            four_eyes=four_eyes,
            now=now,
            computed_fixes=computed,
            settings=AlertSettings(alerts, db, config, now),
        )
        front.add_command("alerts", journey.on_command)
        front.add_actions(ALERT_VERBS, journey.on_action)
        runner.add_handlers(
            AlertsDigest(db, alerts, admins, config, now, channel=channel).job_handlers()
        )
    return Governance(front, gate, four_eyes, standing)


def build_admin_front(
    settings: Settings,
    db: Database,
    workflow: WorkflowTurns,
    *,
    admins: AdminDirectory,
    standing_reads: StandingReads,
    standing_writes: StandingWrites,
    runner: JobRunner,
    now: Callable[[], datetime],
    as_admin: AsAdmin | None = None,
    standing_writes_as: Callable[[str], StandingWrites] | None = None,
    role_settings: RoleSettingsSource | None = None,
    alerts: AlertsSource | None = None,
    channel: PostToChannel | None = None,
    alert_fixes: AlertFixWrites | None = None,
    alert_fixes_as: Callable[[str], AlertFixWrites] | None = None,
) -> AdminFront:
    """The turn handler the channel gets, built from settings. `as_admin` and
    `standing_writes_as`: the pim engine's admin sign-in and writes with the admin's token."""
    return build_governance(
        governance_config(settings),
        db,
        workflow,
        admins=admins,
        standing_reads=standing_reads,
        standing_writes=standing_writes,
        runner=runner,
        now=now,
        as_admin=as_admin,
        standing_writes_as=standing_writes_as,
        role_settings=role_settings,
        alerts=alerts,
        channel=channel,
        alert_fixes=alert_fixes,
        alert_fixes_as=alert_fixes_as,
    ).front


class LateSender:
    """Sends through a messenger that exists only once the channel is built."""

    def __init__(self, messenger: Callable[[], SendMessages]) -> None:
        self._messenger = messenger

    async def send(self, person: Person, message: Message) -> SentMessage | None:
        return await self._messenger().send(person, message)


class LateChannel:
    """Posts in a channel through a messenger that exists only once the channel is built."""

    def __init__(self, messenger: Callable[[], PostToChannel]) -> None:
        self._messenger = messenger

    async def post_to_channel(self, channel_id: str, message: Message) -> SentMessage | None:
        return await self._messenger().post_to_channel(channel_id, message)
