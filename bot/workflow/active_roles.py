"""What a person holds now: `my roles`, `pending`, `deactivate`, and the start of `extend`."""

from __future__ import annotations

from datetime import timedelta

import cards
from bot.domain import (
    ActiveDurationTooShort,
    ActiveRole,
    Actor,
    CardMessage,
    GraphError,
    Outcome,
    RequestKind,
    RequestState,
    RoleAssignmentDoesNotExist,
    TextMessage,
)
from bot.timefmt import format_when
from bot.workflow.audit import audit
from bot.workflow.context import Deps
from bot.workflow.errors import graph_trouble
from bot.workflow.moves import move
from bot.workflow.ports import RoleDeactivation
from bot.workflow.requesting import Requesting
from bot.workflow.roles import Ambiguous, Exact, NoMatch, resolve_role
from cards.common import MAX_LISTED
from cards.text import plain

DEACTIVATION_MIN_AGE_MINUTES = 5


class ActiveRoles:
    def __init__(self, deps: Deps, requesting: Requesting, graph: RoleDeactivation) -> None:
        """`graph`: how the engine ends an activation in Entra."""
        self.deps = deps
        self.requesting = requesting
        self.graph = graph

    async def my_roles(self, actor: Actor) -> Outcome:
        person_id = actor.person.id
        eligible, active = await self.deps.directory.held_roles(person_id)
        card = cards.my_roles(eligible, active, tz=actor.timezone)
        summary = f"{len(eligible)} eligible, {len(active)} active"
        return Outcome(replies=[CardMessage(card=card, summary=summary)])

    async def pending(self, actor: Actor) -> Outcome:
        async with self.deps.db.transaction() as tx:
            mine = await tx.requests.open_for_requester(actor.person.id)
            # The card lists MAX_LISTED; an approver of a busy role may have thousands waiting.
            waiting = await tx.requests.pending_for_approver(actor.person.id, limit=MAX_LISTED)
            waiting_total = len(waiting)
            if waiting_total == MAX_LISTED:  # a full page: count the rest
                waiting_total = await tx.requests.count_pending_for_approver(actor.person.id)
        card = cards.pending_list(mine, waiting, tz=actor.timezone, waiting_total=waiting_total)
        summary = f"{len(mine)} open requests of yours, {waiting_total} waiting for you"
        return Outcome(replies=[CardMessage(card=card, summary=summary)])

    async def deactivate_by_name(self, actor: Actor, query: str) -> Outcome:
        active = [a for a in await self.deps.directory.active_roles(actor.person.id)]
        if not active and not query.strip():
            return _text("You have no active roles right now.")
        match = resolve_role(query, [a.role for a in active]) if query.strip() else None
        if match is None and len(active) == 1:
            return await self.deactivate(actor, active[0].role.id)
        if isinstance(match, Exact):
            return await self.deactivate(actor, match.role.id)
        if isinstance(match, NoMatch):
            return await self._not_active(actor, query, active)
        candidates = match.candidates if isinstance(match, Ambiguous) else [a.role for a in active]
        return Outcome(
            replies=[
                CardMessage(
                    card=cards.my_roles(
                        [], [a for a in active if a.role in candidates], tz=actor.timezone
                    ),
                    summary="Which role should I deactivate?",
                )
            ]
        )

    async def deactivate(self, actor: Actor, role_id: str) -> Outcome:
        deps, person = self.deps, actor.person
        active = next(
            (a for a in await deps.directory.active_roles(person.id) if a.role.id == role_id), None
        )
        if active is None:
            return _text("That role isn't active for you, so there is nothing to deactivate.")
        if active.end is None:
            return _text(
                f"**{plain(active.role.display_name)}** is "
                "a permanent assignment, not an activation. "
                "Ask your PIM administrator to change it."
            )
        name = plain(active.role.display_name)
        try:
            await self.graph.deactivate(person.id, role_id)
        except ActiveDurationTooShort:
            earliest = ""
            if active.start is not None:
                when = active.start + timedelta(minutes=DEACTIVATION_MIN_AGE_MINUTES)
                earliest = f" Try again after {format_when(when, actor.timezone)}."
            await self._audit(actor, "role.deactivate_refused", role_id, "ActiveDurationTooShort")
            return _text(
                f"Entra doesn't allow ending a role in the first 5 minutes after it was activated, "
                f"so **{name}** stays active for now.{earliest}"
            )
        except RoleAssignmentDoesNotExist:
            return _text(f"**{name}** has already ended.")
        except GraphError as exc:
            await self._audit(actor, "role.deactivate_failed", role_id, exc.code)
            return _text(graph_trouble(exc, f"deactivate **{name}**"))
        now = deps.now()
        async with deps.db.transaction() as tx:
            request = await tx.requests.active_for(person.id, role_id)
            ended = None
            if request is not None:
                ended = await move(
                    deps,
                    tx,
                    request,
                    from_states=RequestState.ACTIVE,
                    to=RequestState.ENDED,
                    action="role.deactivated",
                    actor=person.id,
                    changes={"end": now},
                    now=now,
                )
            if ended is None:  # not activated through pimbot, or ended meanwhile
                await audit(
                    tx,
                    now,
                    person.id,
                    "role.deactivated",
                    request,
                    details=None if request else {"role_id": role_id, "role": name},
                )
        return _text(f"Done: **{name}** is no longer active.")

    async def extend_by_name(self, actor: Actor, query: str) -> Outcome:
        held = await self.deps.directory.active_roles(actor.person.id)
        active = [a for a in held if a.end is not None]
        if query.strip():
            named = resolve_role(query, [a.role for a in held])
            if isinstance(named, Exact):
                holding = next(a for a in held if a.role.id == named.role.id)
                if holding.end is None:
                    return _text(
                        f"You have **{plain(holding.role.display_name)}** permanently, "
                        "so there is nothing to extend."
                    )
                return await self.extend(actor, named.role.id)
            if isinstance(named, NoMatch):
                return await self._not_active(actor, query, held)
        elif len(active) == 1:
            return await self.extend(actor, active[0].role.id)
        if not active:
            return _text("You have no active roles to extend.")
        match = resolve_role(query, [a.role for a in active]) if query.strip() else None
        candidates = match.candidates if isinstance(match, Ambiguous) else [a.role for a in active]
        return Outcome(
            replies=[
                CardMessage(
                    card=cards.my_roles(
                        [], [a for a in active if a.role in candidates], tz=actor.timezone
                    ),
                    summary="Which role should I extend?",
                )
            ]
        )

    async def _not_active(self, actor: Actor, query: str, active: list[ActiveRole]) -> Outcome:
        """`query` names none of the person's active roles: say so, and what is active."""
        named = resolve_role(query, await self.deps.directory.list_roles())
        what = (
            f"**{plain(named.role.display_name)}** isn't"
            if isinstance(named, Exact)
            else f"No role called “{plain(query)}” is"
        )
        now_active = "; ".join(
            plain(a.role.display_name)
            + (
                " (permanent)"
                if a.end is None
                else f" (until {format_when(a.end, actor.timezone)})"
            )
            for a in active
        )
        if not active:
            return _text(f"{what} active for you, and nothing else is right now.")
        return _text(f"{what} active for you. Active now: {now_active}.")

    async def extend(self, actor: Actor, role_id: str) -> Outcome:
        active = next(
            (
                a
                for a in await self.deps.directory.active_roles(actor.person.id)
                if a.role.id == role_id and a.end is not None
            ),
            None,
        )
        if active is None:
            return _text("That role isn't active for you any more. Type `activate` to ask again.")
        return await self.requesting.form(actor, active.role, kind=RequestKind.EXTEND)

    async def _audit(self, actor: Actor, action: str, role_id: str, reason: str) -> None:
        async with self.deps.db.transaction() as tx:
            await audit(
                tx,
                self.deps.now(),
                actor.person.id,
                action,
                None,
                outcome="refused",
                reason=reason,
                details={"role_id": role_id},
            )


def _text(text: str) -> Outcome:
    return Outcome(replies=[TextMessage(text=text)])
