"""`standing`: standing access (active, with no end or an end far away), converted to eligible.

The list is read from Graph when asked for and at every page turn. "Convert to eligible" is
checked at the moment it is pressed (the gate, the assignment still there, not a break-glass
account, not the last active Global Administrator, the window within the role's policy), then
handed to four-eyes, which asks a second admin for Global and Privileged Role Administrator and
runs `carry_out` once approved.

`carry_out` makes the eligibility first (`roleEligibilityScheduleRequests`, `adminAssign`) and
only then removes the standing assignment (`roleAssignmentScheduleRequests`, `adminRemove`): no
one is ever left with neither. Each step looks at Graph before it writes and records its progress
in the stored change (approved → in_progress → done), so the job that runs it can die at any
point and be run again (after a restart, on another replica) without doing a step twice.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.domain import (
    Actor,
    CardMessage,
    GraphError,
    Outcome,
    RoleAssignmentDoesNotExist,
    RoleAssignmentExists,
    TextMessage,
)
from bot.governance.audit import audit_admin, audit_refusal
from bot.governance.config import GovernanceConfig
from bot.governance.domain import (
    GLOBAL_ADMINISTRATOR,
    STANDING_HORIZON,
    AdminChange,
    ChangeState,
    StandingAssignment,
    StandingReport,
    risk_rank,
)
from bot.governance.four_eyes import FourEyes, Proposal
from bot.governance.ports import StandingReads, StandingWrites
from bot.store import Database
from bot.timefmt import format_duration, iso_duration, parse_iso_duration
from bot.workflow import outbox
from bot.workflow.errors import TRANSIENT, graph_trouble
from bot.workflow.outbox import RetryLater
from cards.actions import InvalidAction
from cards.governance.actions import (
    AdminVerb,
    StandingConvert,
    StandingPage,
    parse_admin_action,
)
from cards.governance.standing import standing_list
from cards.text import plain

log = logging.getLogger(__name__)

KIND = "standing.convert"
VERBS = (AdminVerb.STANDING_PAGE.value, AdminVerb.STANDING_CONVERT.value)
RETRY_DELAY = timedelta(seconds=30)
PIM_ENGINE_TEXT = (
    "On the pim engine pimbot's app may only read, and converting needs your own sign-in, which "
    "pimbot cannot ask for here yet: nothing was changed. Convert it in Microsoft Entra admin "
    "center, Privileged Identity Management (assignments: make the person eligible, then remove "
    "the active assignment)."
)

# Graph: an eligibility's principal "can be a user or a role-assignable group. You can grant only
# active assignments service principals." (unifiedRoleEligibilityScheduleRequest)
APP_TEXT = (
    "{who} is an app (a service principal): PIM cannot make an app eligible, Entra grants apps "
    "active assignments only, so there is nothing to convert it to. Nothing was changed. If the "
    "app no longer needs {role}, remove its assignment: when it has not signed in for 90 days, "
    "`alerts` (Potential stale service accounts) offers that fix."
)


class Standing:
    def __init__(
        self,
        db: Database,
        config: GovernanceConfig,
        reads: StandingReads,
        writes: StandingWrites,
        four_eyes: FourEyes,
        now: Callable[[], datetime],
        writes_as: Callable[[str], StandingWrites] | None = None,
    ) -> None:
        """`writes`: with the app's own permissions (bot engine); `writes_as(token)`: with an
        admin's delegated token (pim engine), when the app may only read."""
        self._writes_as = writes_as
        self._can_convert = config.app_writes or writes_as is not None
        self._db = db
        self._config = config
        self._reads = reads
        self._writes = writes
        self._four_eyes = four_eyes
        self._now = now
        four_eyes.register(KIND, self.carry_out)

    @property
    def can_convert(self) -> bool:
        """With the app's permissions (bot engine) or the deciding admin's own (pim engine)."""
        return self._can_convert

    # --- the list -----------------------------------------------------------------------------

    async def on_command(self, actor: Actor, text: str) -> Outcome:
        report = await self.report()
        card = standing_list(
            report,
            page=0,
            window=self._config.eligible_window,
            tz=actor.timezone,
            can_convert=self._can_convert,
        )
        summary = f"Standing access: {len(report.assignments)} assignments"
        return Outcome(replies=[CardMessage(card=card, summary=summary)])

    async def report(self) -> StandingReport:
        now = self._now()
        snapshot = await self._reads.standing_assignments(now)
        marked = [
            a.model_copy(update={"break_glass": True})
            if self._config.is_break_glass(a.principal.id)
            else a
            for a in snapshot.assignments
        ]
        ordered = sorted(
            marked,
            key=lambda a: (
                risk_rank(a.role.id),
                a.role.display_name.casefold(),
                a.break_glass,
                a.principal.display_name.casefold(),
                a.principal.id,
            ),
        )
        permanent_global = sum(
            1 for a in ordered if a.role.id == GLOBAL_ADMINISTRATOR and a.end is None
        )
        return StandingReport(
            assignments=tuple(ordered),
            permanent_global_admins=permanent_global,
            taken_at=now,
            unknown=snapshot.unknown,
        )

    async def on_action(self, actor: Actor, data: Mapping[str, Any]) -> Outcome:
        try:
            action = parse_admin_action(data)
        except InvalidAction as exc:
            return _text(exc.friendly_message)
        match action:
            case StandingPage():
                report = await self.report()
                card = standing_list(
                    report,
                    page=action.number,
                    window=self._config.eligible_window,
                    tz=actor.timezone,
                    can_convert=self._can_convert,
                )
                return Outcome(card_update=card)
            case StandingConvert():
                return await self.convert(actor, action)
        return _text("That button is not one I know (the card may be out of date).")

    # --- asking for a conversion --------------------------------------------------------------

    async def convert(self, actor: Actor, action: StandingConvert) -> Outcome:
        """Checked against Graph now, then handed to four-eyes."""
        ids = {"principal_id": action.principal_id, "role_id": action.role_id}
        if not self._can_convert:
            return await self._refuse(actor, ids, PIM_ENGINE_TEXT)
        window = parse_iso_duration(action.window) if action.window else None
        window = window or (None if action.window else self._config.eligible_window)
        if window is None:
            return await self._refuse(
                actor, ids, "The eligibility window is not a duration I can read (e.g. P180D)."
            )
        if self._config.is_break_glass(action.principal_id):
            return await self._refuse(
                actor,
                ids,
                "That is a break-glass (emergency access) account: pimbot keeps it as it is and "
                "never converts it.",
            )
        current = await self._reads.active_assignment(action.principal_id, action.role_id)
        if current is None or not _is_standing(current, self._now()):
            return await self._refuse(
                actor,
                ids,
                "That person no longer has a standing assignment of this role, so there is "
                "nothing to convert. Type `standing` for the list as it is now.",
            )
        who, role = plain(current.principal.display_name), plain(current.role.display_name)
        if current.principal_type == "servicePrincipal":
            return await self._refuse(actor, ids, APP_TEXT.format(who=who, role=role))
        limit = await self._reads.eligibility_limit(action.role_id)
        if limit.maximum is not None and window > limit.maximum:
            return await self._refuse(
                actor,
                ids,
                f"The policy of {role} allows eligibilities of at most "
                f"{format_duration(limit.maximum)} ({iso_duration(limit.maximum)}); "
                f"{format_duration(window)} is longer. Change the window on the card.",
            )
        refusal = await self.last_global_admin(action.principal_id, action.role_id)
        if refusal:
            return await self._refuse(actor, ids, refusal)
        origin = "directly, outside PIM" if current.origin == "direct" else "in PIM"
        proposal = Proposal(
            kind=KIND,
            target_key=f"{KIND}:{action.principal_id.lower()}:{action.role_id}",
            role_id=action.role_id,
            title=f"Convert {current.principal.display_name}'s standing "
            f"{current.role.display_name} to eligible",
            facts=[
                ("Person", current.principal.display_name),
                ("Role", current.role.display_name),
                ("Standing since", current.since.strftime("%Y-%m-%d") if current.since else ""),
                ("Assigned", origin),
                ("Eligible for", format_duration(window)),
            ],
            payload={
                "principal_id": current.principal.id,
                "principal_name": current.principal.display_name,
                "role_id": current.role.id,
                "role_name": current.role.display_name,
                "window": iso_duration(window),
            },
        )
        return await self._four_eyes.propose(actor, proposal)

    async def last_global_admin(self, principal_id: str, role_id: str) -> str:
        """Why taking the principal's active assignment away (converting it, or removing an
        app's) would leave no active Global Administrator other than the break-glass accounts
        (or none at all); "" when it would not."""
        if role_id != GLOBAL_ADMINISTRATOR:
            return ""
        holders = await self._reads.active_principals(GLOBAL_ADMINISTRATOR)
        others = [p for p in holders if p.lower() != principal_id.lower()]
        if not others:
            return (
                "Refused: after this conversion the tenant would have no active Global "
                "Administrator at all."
            )
        if all(self._config.is_break_glass(p) for p in others):
            return (
                "Refused: after this conversion the only active Global Administrators would be "
                "the break-glass accounts. Keep one other active Global Administrator first."
            )
        return ""

    async def _refuse(self, actor: Actor, ids: dict[str, str], text: str) -> Outcome:
        await audit_refusal(
            self._db,
            self._now(),
            actor.person.id,
            f"{KIND}_refused",
            reason=text,
            details=ids,
        )
        return _text(text)

    # --- carrying it out (the admin_change job) -----------------------------------------------

    async def carry_out(self, change: AdminChange, token: str | None) -> None:
        """`token`: the deciding admin's delegated token (pim engine), None for the app's."""
        writes = self._writes
        if token is not None and self._writes_as is not None:
            writes = self._writes_as(token)
        try:
            if change.state is ChangeState.APPROVED:
                moved = await self._make_eligible(change, writes)
                if moved is None:
                    return
                change = moved
            if change.state is ChangeState.IN_PROGRESS:
                await self._remove_standing(change, writes)
        except GraphError as exc:
            if isinstance(exc, TRANSIENT) or exc.status in (429, 500, 502, 503, 504):
                delay = timedelta(seconds=exc.retry_after) if exc.retry_after else RETRY_DELAY
                raise RetryLater(delay, f"Graph: {exc}") from exc
            await self._fail(change, exc, as_admin=token is not None)

    async def _make_eligible(
        self, change: AdminChange, writes: StandingWrites
    ) -> AdminChange | None:
        """Step one; the change moved to in_progress, or None when it is finished otherwise."""
        p = change.payload
        principal_id, role_id = str(p["principal_id"]), str(p["role_id"])
        now = self._now()
        current = await self._reads.active_assignment(principal_id, role_id)
        eligible = await self._reads.is_eligible(principal_id, role_id)
        if current is None or not _is_standing(current, now):
            if eligible:
                # Nothing left for this change to do (another change, or someone outside
                # pimbot, did it): the person was told by whoever changed their access.
                await self._finish(
                    change, "the standing assignment was already gone", tell_person=False
                )
                return None
            await self._give_up(
                change,
                "The standing assignment was gone before pimbot could convert it; nothing was "
                "changed.",
            )
            return None
        refusal = await self.last_global_admin(principal_id, role_id)
        if refusal:
            await self._give_up(change, refusal + " Nothing was changed.")
            return None
        graph_request_id = None
        if not eligible:
            window = parse_iso_duration(str(p["window"])) or self._config.eligible_window
            try:
                graph_request_id = await writes.make_eligible(
                    principal_id, role_id, now, now + window, _justification(change)
                )
            except RoleAssignmentExists:
                # Another worker (a replica whose lease ran out) made it a moment ago.
                if not await self._reads.is_eligible(principal_id, role_id):
                    raise
        async with self._db.transaction() as tx:
            moved = await tx.admin_changes.transition(
                change.id, from_states=[ChangeState.APPROVED], to=ChangeState.IN_PROGRESS, now=now
            )
            if moved is not None:
                await audit_admin(
                    tx,
                    now,
                    None,
                    f"{KIND}.eligible",
                    graph_request_id=graph_request_id,
                    details=_facts(change, already=graph_request_id is None),
                )
        return moved

    async def _remove_standing(self, change: AdminChange, writes: StandingWrites) -> None:
        p = change.payload
        principal_id, role_id = str(p["principal_id"]), str(p["role_id"])
        current = await self._reads.active_assignment(principal_id, role_id)
        graph_request_id = None
        if current is not None and _is_standing(current, self._now()):
            # Another worker may have removed it a moment ago: the outcome is the same.
            with contextlib.suppress(RoleAssignmentDoesNotExist):
                graph_request_id = await writes.remove_assignment(
                    principal_id, role_id, _justification(change)
                )
        await self._finish(change, "", graph_request_id=graph_request_id)

    async def _finish(
        self,
        change: AdminChange,
        note: str,
        *,
        graph_request_id: str | None = None,
        tell_person: bool = True,
    ) -> None:
        now = self._now()
        p = change.payload
        role = plain(str(p["role_name"]))
        window = parse_iso_duration(str(p["window"])) or self._config.eligible_window
        async with self._db.transaction() as tx:
            done = await tx.admin_changes.transition(
                change.id,
                from_states=[ChangeState.APPROVED, ChangeState.IN_PROGRESS],
                to=ChangeState.DONE,
                now=now,
            )
            if done is None:
                return
            await audit_admin(
                tx,
                now,
                None,
                f"{KIND}.done",
                reason=note,
                graph_request_id=graph_request_id,
                details=_facts(change),
            )
            if tell_person:
                await outbox.message(
                    tx,
                    str(p["principal_id"]),
                    change.tenant_id,
                    key=f"standing_converted:{change.id}",
                    now=now,
                    text=(
                        f"Your admin access changed: you no longer hold **{role}** permanently. "
                        f"You are now eligible for it for {format_duration(window)}, asked by "
                        f"{plain(change.proposer.display_name)}. When you need it, activate it "
                        f"just in time: type `activate {role}` (for how long, and why)."
                    ),
                )
            await outbox.message(
                tx,
                change.proposer.id,
                change.tenant_id,
                key=f"admin_done:{change.id}",
                now=now,
                text=f"✅ Done: {plain(change.title)}."
                if tell_person
                else f"✅ Done already: {plain(change.title)} ({note}).",
            )

    async def _give_up(self, change: AdminChange, words: str) -> None:
        await self._mark_failed(change, words, outcome="refused")

    async def _fail(self, change: AdminChange, exc: GraphError, *, as_admin: bool) -> None:
        """`as_admin`: the writes were the deciding admin's own (pim engine), so a 403 is about
        that admin's rights, not pimbot's permissions."""
        async with self._db.transaction() as tx:
            stored = await tx.admin_changes.get(change.id)
        step_done = stored is not None and stored.state is ChangeState.IN_PROGRESS
        if as_admin and exc.status == 403:
            words = (
                "Entra refused it with your sign-in: making someone eligible and removing an "
                "assignment need an active Privileged Role Administrator or Global Administrator "
                "role. Activate one (e.g. `activate Privileged Role Administrator`), then ask "
                "again from `standing`."
            )
        else:
            words = graph_trouble(exc, "carry it out")
        if step_done:
            words += (
                " The person is eligible now, and still holds the standing assignment: "
                "nobody lost access. Remove it in Entra, or ask again from `standing`."
            )
        else:
            words += " Nothing was changed."
        await self._mark_failed(stored or change, words, outcome="failed")

    async def _mark_failed(self, change: AdminChange, words: str, *, outcome: str) -> None:
        now = self._now()
        async with self._db.transaction() as tx:
            failed = await tx.admin_changes.transition(
                change.id,
                from_states=[ChangeState.APPROVED, ChangeState.IN_PROGRESS],
                to=ChangeState.FAILED,
                now=now,
                failure=words,
            )
            if failed is None:
                return
            await audit_admin(
                tx,
                now,
                None,
                f"{KIND}.failed",
                outcome=outcome,
                reason=words,
                details=_facts(change),
            )
            await outbox.message(
                tx,
                change.proposer.id,
                change.tenant_id,
                key=f"admin_failed:{change.id}",
                now=now,
                text=f"❌ Not done: {plain(change.title)}. {words}",
            )


def _is_standing(assignment: StandingAssignment, now: datetime) -> bool:
    return assignment.end is None or assignment.end > now + STANDING_HORIZON


def _justification(change: AdminChange) -> str:
    second = (
        f", approved by {change.decided_by.display_name}" if change.decided_by is not None else ""
    )
    return (
        f"pimbot: standing access converted to eligible, asked by "
        f"{change.proposer.display_name}{second} (change {change.id})"
    )[:500]


def _facts(change: AdminChange, *, already: bool = False) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "change_id": change.id,
        "principal_id": change.payload.get("principal_id"),
        "role_id": change.role_id,
        "window": change.payload.get("window"),
        "proposer_id": change.proposer.id,
    }
    if change.decided_by is not None:
        facts["approved_by"] = change.decided_by.id
    if already:
        facts["already_eligible"] = True
    return facts


def _text(text: str) -> Outcome:
    return Outcome(replies=[TextMessage(text=text)])
