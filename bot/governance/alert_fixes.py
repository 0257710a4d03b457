"""Fixes of the alerts pimbot computes (the tenant does not offer PIM's own alerts, so there is no
PIM remediation to ask for): pimbot makes the change itself.

- Too many Global Administrators, Roles assigned outside PIM, Potential stale service accounts:
  the active assignment is converted to an eligibility, exactly as `standing`'s "Convert to
  eligible" does (same checks, same two steps, same four-eyes).
- Potential stale service accounts, for an app (a service principal): PIM cannot make an app
  eligible (Graph grants service principals active assignments only), so the fix is PIM's
  documented remediation for a stale account: the active assignment is removed
  (`roleAssignmentScheduleRequests`, `adminRemove`), never the last active Global Administrator
  other than the break-glass accounts.
- Stale eligible assignments: the eligibility is removed (`adminRemove`).
- Roles that don't require MFA: MFA for activation is turned on in the role's policy. Graph lets
  only a signed-in admin change a policy rule, so this fix exists where the deciding admin's own
  token is at hand (the pim engine) and not with the app's permissions.

Each is asked for and confirmed on the card, read again from Graph when confirmed (the journey)
and again when carried out, never touches a break-glass account, goes through four-eyes (a second
admin for Global Administrator and Privileged Role Administrator), and is audited as
`alerts.fix.computed.*` (conversions as `standing.convert*`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.domain import Actor, GraphError, Outcome, RoleAssignmentDoesNotExist, TextMessage
from bot.governance.audit import audit_admin, audit_refusal
from bot.governance.config import GovernanceConfig
from bot.governance.domain import AdminChange, Alert, AlertKind, ChangeState, Finding
from bot.governance.four_eyes import FourEyes, Proposal
from bot.governance.policy_ports import PolicyWriteFailed
from bot.governance.ports import AlertFixWrites, StandingReads
from bot.governance.standing import Standing
from bot.store import Database
from bot.workflow import outbox
from bot.workflow.errors import TRANSIENT, graph_trouble
from bot.workflow.outbox import RetryLater
from cards.governance.actions import StandingConvert
from cards.text import plain

KIND = "alerts.fix.computed"
CONVERTED = frozenset(
    {AlertKind.TOO_MANY_GLOBAL_ADMINS, AlertKind.OUTSIDE_PIM, AlertKind.STALE_SIGN_IN}
)
REMOVE_ELIGIBILITY = "remove_eligibility"
REMOVE_ASSIGNMENT = "remove_assignment"  # an app's stale active assignment
REQUIRE_MFA = "require_mfa"
RETRY_DELAY = timedelta(seconds=30)
BUSY = (429, 500, 502, 503, 504)
MFA_NEEDS_SIGN_IN = (
    "Turning on MFA in a role's policy needs a signed-in admin: Graph does not let an app change "
    "PIM policy rules, and on the bot engine pimbot acts with its app's permissions. Nothing was "
    "changed. Turn it on with `pimbot policy apply` (policy as code) or in Microsoft Entra admin "
    "center, Privileged Identity Management, Roles, the role's settings."
)


class ComputedFixes:
    def __init__(
        self,
        db: Database,
        config: GovernanceConfig,
        reads: StandingReads,
        writes: AlertFixWrites,
        standing: Standing,
        four_eyes: FourEyes,
        now: Callable[[], datetime],
        writes_as: Callable[[str], AlertFixWrites] | None = None,
    ) -> None:
        """`writes`: with the app's own permissions (bot engine); `writes_as(token)`: with the
        deciding admin's delegated token (pim engine)."""
        self._db = db
        self._config = config
        self._reads = reads
        self._writes = writes
        self._writes_as = writes_as
        self._standing = standing
        self._four_eyes = four_eyes
        self._now = now
        four_eyes.register(KIND, self.carry_out)

    def offers(self, kind: AlertKind) -> bool:
        if kind in CONVERTED:
            return self._standing.can_convert
        if kind is AlertKind.NO_MFA:
            return self._writes_as is not None  # a policy PATCH is delegated-only
        return self._config.app_writes or self._writes_as is not None

    def why_not(self, kind: AlertKind) -> str:
        if kind is AlertKind.NO_MFA:
            return MFA_NEEDS_SIGN_IN
        return (
            "pimbot cannot fix this alert here: its app may only read, and nothing lets it act "
            "with your own sign-in. Nothing was changed. Fix it in Microsoft Entra admin center, "
            "Privileged Identity Management."
        )

    async def propose(self, actor: Actor, alert: Alert, finding: Finding) -> Outcome:
        """The finding was read from Graph just now (the journey); hand the fix to four-eyes."""
        if alert.kind is AlertKind.STALE_SIGN_IN and finding.principal_type == "servicePrincipal":
            return await self._propose_removal(actor, alert, finding)
        if alert.kind in CONVERTED:
            return await self._standing.convert(
                actor,
                StandingConvert(
                    principal_id=finding.principal_id or "", role_id=finding.role_id or ""
                ),
            )
        fix = REQUIRE_MFA if alert.kind is AlertKind.NO_MFA else REMOVE_ELIGIBILITY
        return await self._four_eyes.propose(actor, _fix_proposal(alert, finding, fix, "Person"))

    async def _propose_removal(self, actor: Actor, alert: Alert, finding: Finding) -> Outcome:
        """An app's stale standing assignment: removed, since an app cannot be made eligible."""
        principal_id, role_id = finding.principal_id or "", finding.role_id or ""
        ids = {"alert": alert.kind.value, "key": finding.key}
        refusal = await self._standing.last_global_admin(principal_id, role_id)
        if refusal:
            return await self._refuse(actor, ids, refusal)
        proposal = _fix_proposal(alert, finding, REMOVE_ASSIGNMENT, "App")
        return await self._four_eyes.propose(actor, proposal)

    async def _refuse(self, actor: Actor, ids: dict[str, str], text: str) -> Outcome:
        await audit_refusal(
            self._db,
            self._now(),
            actor.person.id,
            f"{KIND}.refused",
            reason=text,
            details=ids,
        )
        return Outcome(replies=[TextMessage(text=text)])

    # --- carrying it out (the admin_change job) -----------------------------------------------

    async def carry_out(self, change: AdminChange, token: str | None) -> None:
        """`token`: the deciding admin's delegated token (pim engine), None for the app's."""
        writes = self._writes
        if token is not None and self._writes_as is not None:
            writes = self._writes_as(token)
        p = change.payload
        principal_id, role_id = str(p.get("principal_id") or ""), str(p.get("role_id") or "")
        try:
            if p.get("fix") == REQUIRE_MFA:
                if token is None and self._writes_as is None:
                    await self._close(change, ChangeState.FAILED, MFA_NEEDS_SIGN_IN, "refused")
                    return
                changed = await writes.require_mfa(role_id)
                note = "MFA turned on" if changed else "MFA was on already"
                await self._close(change, ChangeState.DONE, note)
                return
            if self._config.is_break_glass(principal_id):
                words = (
                    "That is a break-glass account: pimbot keeps it as it is. Nothing was changed."
                )
                await self._close(change, ChangeState.FAILED, words, "refused")
                return
            if p.get("fix") == REMOVE_ASSIGNMENT:
                await self._remove_assignment(change, writes, principal_id, role_id)
                return
            if not await self._reads.is_eligible(principal_id, role_id):
                await self._close(change, ChangeState.DONE, "the eligibility was already gone")
                return
            graph_request_id = None
            with contextlib.suppress(RoleAssignmentDoesNotExist):  # another worker, just now
                graph_request_id = await writes.remove_eligibility(
                    principal_id, role_id, _justification(change)
                )
            await self._close(
                change, ChangeState.DONE, "eligibility removed", graph_request_id=graph_request_id
            )
        except GraphError as exc:
            if isinstance(exc, TRANSIENT) or exc.status in BUSY:
                delay = timedelta(seconds=exc.retry_after) if exc.retry_after else RETRY_DELAY
                raise RetryLater(delay, f"Graph: {exc}") from exc
            words = _refused_words(exc.status, token) or graph_trouble(exc, "fix it")
            await self._close(change, ChangeState.FAILED, f"{words} Nothing was changed.")
        except PolicyWriteFailed as failed:
            refusal = failed.refusal
            if refusal.status in BUSY and not failed.left_changed:
                raise RetryLater(RETRY_DELAY, f"Graph: {refusal}") from failed
            words = _refused_words(refusal.status, token) or (
                f"Entra refused to change the role's policy: {refusal.message or refusal.code}."
            )
            left = (
                f" These rules could not be put back: {', '.join(failed.left_changed)}."
                if failed.left_changed
                else " Nothing was changed."
            )
            await self._close(change, ChangeState.FAILED, words + left)

    async def _remove_assignment(
        self, change: AdminChange, writes: AlertFixWrites, principal_id: str, role_id: str
    ) -> None:
        """Checked against Graph again now: the assignment still there, and not the last active
        Global Administrator other than the break-glass accounts."""
        if await self._reads.active_assignment(principal_id, role_id) is None:
            await self._close(change, ChangeState.DONE, "the assignment was already gone")
            return
        refusal = await self._standing.last_global_admin(principal_id, role_id)
        if refusal:
            await self._close(
                change, ChangeState.FAILED, f"{refusal} Nothing was changed.", "refused"
            )
            return
        graph_request_id = None
        with contextlib.suppress(RoleAssignmentDoesNotExist):  # another worker, just now
            graph_request_id = await writes.remove_assignment(
                principal_id, role_id, _justification(change)
            )
        await self._close(
            change, ChangeState.DONE, "assignment removed", graph_request_id=graph_request_id
        )

    async def _close(
        self,
        change: AdminChange,
        to: ChangeState,
        note: str,
        outcome: str = "",
        *,
        graph_request_id: str | None = None,
    ) -> None:
        now = self._now()
        failed = to is ChangeState.FAILED
        async with self._db.transaction() as tx:
            moved = await tx.admin_changes.transition(
                change.id,
                from_states=[ChangeState.APPROVED, ChangeState.IN_PROGRESS],
                to=to,
                now=now,
                failure=note if failed else "",
            )
            if moved is None:
                return  # another worker closed it
            await audit_admin(
                tx,
                now,
                None,
                f"{KIND}.failed" if failed else f"{KIND}.done",
                outcome=outcome or ("failed" if failed else "ok"),
                reason=note,
                graph_request_id=graph_request_id,
                details={"change_id": change.id, **change.payload},
            )
            told = (
                f"❌ Not done: {plain(change.title)}. {note}"
                if failed
                else (f"✅ Done: {plain(change.title)} ({note}).")
            )
            await outbox.message(
                tx,
                change.proposer.id,
                change.tenant_id,
                key=f"admin_done:{change.id}",
                now=now,
                text=told,
            )


CHANGE_WORDS = {
    REMOVE_ASSIGNMENT: "remove the app's active assignment of the role (PIM cannot make an app "
    "eligible)",
    REMOVE_ELIGIBILITY: "remove the eligibility",
    REQUIRE_MFA: "require MFA to activate the role",
}


def _refused_words(status: int, token: str | None) -> str:
    if status == 403 and token is not None:
        return (
            "Entra refused it with your sign-in: this change needs an active Privileged Role "
            "Administrator or Global Administrator role. Activate one (e.g. `activate Privileged "
            "Role Administrator`), then ask again from `alerts`."
        )
    return ""


def _justification(change: AdminChange) -> str:
    second = (
        f", approved by {change.decided_by.display_name}" if change.decided_by is not None else ""
    )
    return (
        f"pimbot: alert “{change.payload.get('alert')}” fixed, asked by "
        f"{change.proposer.display_name}{second} (change {change.id})"
    )[:500]


def _fix_proposal(alert: Alert, finding: Finding, fix: str, who: str) -> Proposal:
    """The four-eyes change that applies `fix` to one finding; `who` names the principal's kind
    on the card ("Person" or "App")."""
    subject = " — ".join(p for p in (finding.principal_name, finding.role_name) if p)
    return Proposal(
        kind=KIND,
        target_key=f"alerts.fix:{alert.kind.value}:{finding.key.lower()}",
        role_id=finding.role_id or "",
        title=f"Fix “{alert.title}” for {subject or finding.key}",
        facts=[
            ("Alert", alert.title),
            (who, finding.principal_name),
            ("Role", finding.role_name),
            ("Found", finding.detail),
            ("Change", CHANGE_WORDS[fix]),
        ],
        payload={
            "alert": alert.kind.value,
            "fix": fix,
            "key": finding.key,
            "principal_id": finding.principal_id or "",
            "role_id": finding.role_id or "",
        },
    )
