"""Journeys the trust tests start from, driven through the Teams twin like people do."""

from __future__ import annotations

from bot.domain import ActivationRequest, RequestState
from tests.e2e.conftest import Sandbox


async def requests_of(sb: Sandbox, handle: str) -> list[ActivationRequest]:
    """Every open request of the person, newest first."""
    person_id = sb.running.twins.tenant.user(handle).id
    async with sb.running.services.db.transaction() as tx:
        return await tx.requests.open_for_requester(person_id)


async def request_state(sb: Sandbox, request_id: str) -> RequestState:
    async with sb.running.services.db.transaction() as tx:
        request = await tx.requests.get(request_id)
    assert request is not None
    return request.state


async def pending_exchange_request(sb: Sandbox, requester: str = "adele") -> str:
    """`requester` asks for Exchange Administrator (approvers: Megan and Nestor); the approval
    cards are delivered. Returns the request id."""
    person = sb.person(requester)
    await sb.client.install(requester)
    await person.say("activate exchange admin for 1h because INC-7 mailbox restore")
    await person.press("Ask for approval")
    await sb.run_jobs()
    (request,) = await requests_of(sb, requester)
    assert request.state is RequestState.PENDING_APPROVAL
    return request.id


async def audit_actions(sb: Sandbox) -> list[str]:
    async with sb.running.services.db.transaction() as tx:
        return [entry.action for entry in await tx.audit.entries()]
