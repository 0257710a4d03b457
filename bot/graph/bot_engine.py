"""`BotEngine`: the bot engine's writes to PIM. pimbot has approved; Graph is told with app-only
admin actions."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

from pydantic import ValidationError

from bot.domain import ActivationRequest, ActivationResult
from bot.graph.assignments import (
    ASSIGNMENT_REQUESTS,
    AssignmentWindow,
    read_current_assignment,
    removal_body,
    schedule_request_body,
    window_from_response,
)
from bot.graph.errors import GraphError, RoleAssignmentDoesNotExist
from bot.graph.http import GraphHttp
from bot.graph.models import RoleAssignmentScheduleRequestResponse

logger = logging.getLogger(__name__)

# Request statuses after which nothing was or will be granted.
UNSUCCESSFUL_STATUSES = frozenset({"Failed", "Denied", "Canceled", "Revoked"})


class BotEngine:
    """`Engine` for the bot engine: `adminAssign`, `adminExtend` and `adminRemove` on time-bound
    active assignments."""

    def __init__(
        self, http: GraphHttp, *, now: Callable[[], datetime] = partial(datetime.now, UTC)
    ) -> None:
        self._http = http
        self._now = now

    async def activate(self, request: ActivationRequest) -> ActivationResult:
        return await self._schedule("adminAssign", request)

    async def extend(self, request: ActivationRequest) -> ActivationResult:
        """Add the request's duration to the end of the current assignment. `adminExtend` replaces
        the schedule, so it is sent from now until the current end plus the duration (PIM checks
        that span against the policy's longest assignment)."""
        current = await read_current_assignment(self._http, request.requester.id, request.role.id)
        if current is None or current.end is None:
            raise RoleAssignmentDoesNotExist(
                400, "RoleAssignmentDoesNotExist", "no time-bound assignment to extend"
            )
        return await self._schedule("adminExtend", request, end=current.end + request.duration)

    async def deactivate(self, principal_id: str, role_id: str) -> None:
        body = removal_body("adminRemove", principal_id, role_id)
        payload, _ = await self._http.post_json(ASSIGNMENT_REQUESTS, body)
        logger.info(
            "adminRemove of role %s for %s: %s", role_id, principal_id, payload.get("status")
        )

    async def current_assignment(self, principal_id: str, role_id: str) -> AssignmentWindow | None:
        """The principal's own active assignment of the role, or None when there is none."""
        return await read_current_assignment(self._http, principal_id, role_id)

    async def _schedule(
        self, action: str, request: ActivationRequest, *, end: datetime | None = None
    ) -> ActivationResult:
        start = self._now()
        payload, headers = await self._http.post_json(
            ASSIGNMENT_REQUESTS, schedule_request_body(action, request, start, end)
        )
        try:
            response = RoleAssignmentScheduleRequestResponse.model_validate(payload)
        except ValidationError as exc:
            raise GraphError(
                201, "InvalidResponse", f"unexpected schedule request answer: {exc}"
            ) from exc
        if response.status in UNSUCCESSFUL_STATUSES:
            raise GraphError(
                201,
                f"Request{response.status}",
                f"{action} of role {request.role.id} ended as {response.status}",
                request_id=headers.get("request-id"),
            )
        window_start, window_end = window_from_response(response, start, request.duration)
        if not _schedule_in_force(response):
            confirmed = await self._confirmed_window(request, response.target_schedule_id)
            if confirmed is not None:
                window_start = confirmed.start or window_start
                window_end = confirmed.end
        logger.info(
            "%s of role %s for %s: %s until %s (request %s)",
            action,
            request.role.id,
            request.requester.id,
            response.status,
            window_end.isoformat() if window_end else "no end",
            response.id,
        )
        return ActivationResult(
            graph_request_id=response.id,
            status=response.status,
            start=window_start,
            end=window_end,
        )

    async def _confirmed_window(
        self, request: ActivationRequest, target_schedule_id: str | None
    ) -> AssignmentWindow | None:
        """The schedule instance Graph now holds, for an answer that does not say its schedule is
        in force. The role is granted already, so a failure to read it back only costs
        precision, not the activation."""
        try:
            return await read_current_assignment(
                self._http, request.requester.id, request.role.id, target_schedule_id
            )
        except GraphError as exc:
            logger.warning("could not read back the assignment of request %s: %s", request.id, exc)
            return None


def _schedule_in_force(response: RoleAssignmentScheduleRequestResponse) -> bool:
    """Graph answers a request it has provisioned with the schedule now in force (its start and
    expiration): the window needs no second round trip to read back. An answer still on its way
    (`Granted`, `PendingProvisioning`) or without a schedule is read back."""
    info = response.schedule_info
    if response.status != "Provisioned" or info is None or info.start_date_time is None:
        return False
    expiration = info.expiration
    return expiration is not None and (
        expiration.end_date_time is not None
        or expiration.duration is not None
        or expiration.type.lower() == "noexpiration"
    )
