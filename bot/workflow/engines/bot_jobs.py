"""The bot engine's jobs: activating an approved request in Graph with pimbot's own app
permissions (retrying while Graph is down, failing with words a person can act on), and ending
a request nobody decided on in time.

Safe to run twice, like every job: each re-reads the request and acts from the state it finds.
"""

from __future__ import annotations

from datetime import timedelta

from bot.domain import (
    ActivationRequest,
    ActivationResult,
    GraphError,
    RequestKind,
    RequestState,
    RoleAssignmentExists,
)
from bot.store import Job
from bot.workflow.activation import activated, start_activating
from bot.workflow.context import Deps
from bot.workflow.deciding import still_an_approver
from bot.workflow.errors import TRANSIENT, graph_trouble
from bot.workflow.moves import Notice, move
from bot.workflow.outbox import JobHandler, JobKind, RetryLater
from bot.workflow.ports import Engine
from cards.text import plain

# While Graph is down, try again at these intervals (then keep the last one).
GRAPH_BACKOFF = (5, 15, 30, 60, 120, 300)


class BotJobs:
    def __init__(self, deps: Deps, graph: Engine) -> None:
        self.deps = deps
        self.graph = graph

    def handlers(self) -> dict[str, JobHandler]:
        return {JobKind.ACTIVATE: self.activate, JobKind.APPROVAL_TIMEOUT: self.approval_timeout}

    async def activate(self, job: Job) -> None:
        deps = self.deps
        request_id = str(job.payload["request_id"])
        now = deps.now()
        async with deps.db.transaction() as tx:
            request = await start_activating(deps, tx, request_id, now)
            if request is None:
                request = await tx.requests.get(request_id)
                # ACTIVATING here means an earlier run died mid-call: carry on, Graph decides.
                if request is None or request.state is not RequestState.ACTIVATING:
                    return
        try:
            if request.decided_by is not None and not await still_an_approver(
                deps, request.decided_by.id, request, fresh=True
            ):
                await self._fail(
                    request,
                    f"{plain(request.decided_by.display_name or 'The approver')} "
                    "is no longer an approver "
                    f"of {plain(request.role.display_name)}, so their approval no longer counts. "
                    "Ask again.",
                    None,
                )
                return
            if not await self._still_eligible(request):
                await self._fail(
                    request,
                    f"{plain(request.requester.display_name or 'The requester')} is no longer "
                    f"eligible for {plain(request.role.display_name)} in PIM, so I did not "
                    "activate it. Ask your PIM administrator if it is still needed.",
                    None,
                )
                return
            result = await self._call_engine(request)
        except TRANSIENT as exc:
            await self._graph_delayed(request, exc, job)
            return
        except GraphError as exc:
            await self._fail(
                request, graph_trouble(exc, f"activate {plain(request.role.display_name)}"), exc
            )
            return
        await activated(deps, request, result)

    async def _still_eligible(self, request: ActivationRequest) -> bool:
        """Read fresh from Graph, no cache: `adminAssign` and `adminExtend` are admin actions
        that PIM does not check against the person's eligibility, so pimbot must, last thing
        before it acts (eligibility may have gone since the submit, or since the approval)."""
        eligible = await self.deps.directory.eligible_roles(request.requester.id, fresh=True)
        return any(e.role.id == request.role.id for e in eligible)

    async def _call_engine(self, request: ActivationRequest) -> ActivationResult:
        if request.kind is RequestKind.EXTEND:
            return await self.graph.extend(request)
        try:
            return await self.graph.activate(request)
        except RoleAssignmentExists:
            # Either an earlier run of this job got through before a crash, or the role was
            # activated elsewhere. Graph's schedule says what is true now.
            for active in await self.deps.directory.active_roles(request.requester.id):
                if active.role.id == request.role.id and active.end is not None:
                    return ActivationResult(
                        graph_request_id=request.graph_request_id or "",
                        status="Provisioned",
                        start=active.start,
                        end=active.end,
                    )
            raise

    async def _graph_delayed(self, request: ActivationRequest, exc: GraphError, job: Job) -> None:
        deps, now = self.deps, self.deps.now()
        waited = now - (request.decided_at or request.created_at)
        if waited > deps.config.activation_retry_budget:
            await self._fail(
                request,
                graph_trouble(exc, f"activate {plain(request.role.display_name)}")
                + " I gave up after trying for a while; press Retry to try again.",
                exc,
            )
            return
        text = (
            graph_trouble(exc, f"activate {plain(request.role.display_name)}")
            + " Your request is safe; I'll keep trying and tell you when it's done."
        )
        async with deps.db.transaction() as tx:
            await move(
                deps,
                tx,
                request,
                from_states=RequestState.ACTIVATING,
                to=RequestState.APPROVED,
                action="activation.delayed",
                actor=None,
                refresh=False,
                notice=Notice(
                    text,
                    key="graph-delay",
                    also=[request.decided_by.id] if request.decided_by else [],
                ),
                outcome="retrying",
                reason=exc.code,
                graph_request_id=exc.request_id,
                now=now,
            )
        delay = exc.retry_after or GRAPH_BACKOFF[min(job.attempts, len(GRAPH_BACKOFF)) - 1]
        raise RetryLater(timedelta(seconds=delay), f"Graph: {exc.code}")

    async def _fail(self, request: ActivationRequest, words: str, exc: GraphError | None) -> None:
        async with self.deps.db.transaction() as tx:
            await move(
                self.deps,
                tx,
                request,
                from_states=RequestState.ACTIVATING,
                to=RequestState.FAILED,
                action="activation.failed",
                actor=None,
                changes={"failure": words},
                notice=Notice(
                    f"⚠️ {words}", key="failed", also=request.approver_ids, each_change=True
                ),
                outcome="failed",
                reason=f"{exc.code}: {exc.message}" if exc else words,
                graph_request_id=exc.request_id if exc else None,
            )

    async def approval_timeout(self, job: Job) -> None:
        async with self.deps.db.transaction() as tx:
            request = await tx.requests.get(str(job.payload["request_id"]))
            if request is None:
                return
            await move(
                self.deps,
                tx,
                request,
                from_states=RequestState.PENDING_APPROVAL,
                to=RequestState.EXPIRED_UNAPPROVED,
                action="request.expired_unapproved",
                actor=None,
                notice=Notice(
                    f"Nobody decided on your request for **{plain(request.role.display_name)}** "
                    "in time, so it has expired. You can ask again.",
                    key="timeout",
                ),
            )
