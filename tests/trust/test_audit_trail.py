"""Every state change of a request is in the audit log, in order, with who, why, the ticket and
the Graph request id; and the chain verifies afterwards."""

from __future__ import annotations

from bot.domain import RequestState
from bot.store import AuditEntry
from tests.e2e.conftest import Sandbox
from tests.trust.journeys import pending_exchange_request, requests_of


async def entries(sb: Sandbox) -> list[AuditEntry]:
    """The request journey's entries (the demo tenant's access review audits its own)."""
    async with sb.running.services.db.transaction() as tx:
        assert (await tx.audit.verify()).ok
        return [e for e in await tx.audit.entries() if not e.action.startswith("review.")]


def states(trail: list[AuditEntry]) -> list[str]:
    """The request states the trail went through, in order, without repeats."""
    seen: list[str] = []
    for entry in trail:
        state = entry.details.get("state")
        if state and (not seen or seen[-1] != state):
            seen.append(state)
    return seen


async def test_a_strict_role_from_request_to_expiry(sandboxed: Sandbox) -> None:
    sb, ids = sandboxed, sandboxed.running.twins.tenant
    adele, megan = sb.person("adele"), sb.person("megan")
    await sb.client.install("adele")
    await adele.say("activate global admin for 1h because INC-42 tenant lockout")
    await adele.press("Ask for approval")
    await sb.client.wait_for("adele", "signin_required")  # the silent sign-in had no MFA
    await sb.client.sign_in("adele", mfa=True)
    await sb.run_jobs()
    await megan.press("Approve", {"reason": "lockout confirmed"})
    await sb.run_jobs()
    sb.clock.advance(minutes=46)
    await sb.run_jobs()
    sb.clock.advance(minutes=15)
    await sb.run_jobs()

    trail = await entries(sb)

    assert [(e.action, e.outcome) for e in trail] == [
        ("request.created", "draft"),
        ("mfa.missing", "ok"),
        ("mfa.verified", "ok"),
        ("request.submitted", "pending_approval"),
        ("approval.card_sent", "ok"),
        ("approval.card_sent", "ok"),
        ("approval.card_sent", "ok"),
        ("request.approved", "ok"),
        ("activation.started", "ok"),
        ("activation.succeeded", "ok"),
        ("expiry.warned", "ok"),
        ("role.expired", "ok"),
    ]
    assert states(trail) == [
        "draft",
        "submitted",
        "pending_approval",
        "approved",
        "activating",
        "active",
        "ended",
    ]
    request_id = trail[0].request_id
    assert request_id and all(e.request_id == request_id for e in trail)
    assert all(e.ticket == "INC-42" for e in trail)
    by_action = {e.action: e for e in trail}
    assert by_action["request.created"].actor_id == ids.user("adele").id
    assert by_action["mfa.verified"].actor_id == ids.user("adele").id
    assert by_action["request.approved"].actor_id == ids.user("megan").id
    assert by_action["request.approved"].reason == "lockout confirmed"
    assert by_action["role.expired"].actor_id is None  # the scheduler acted
    graph_id = by_action["activation.succeeded"].graph_request_id
    assert graph_id
    assert {
        e.graph_request_id for e in trail[trail.index(by_action["activation.succeeded"]) :]
    } == {graph_id}
    card_recipients = {e.details["approver_id"] for e in trail if e.action == "approval.card_sent"}
    assert card_recipients == {ids.user(h).id for h in ("megan", "nestor", "lidia")}


async def test_a_denial_and_a_cancellation_are_recorded_with_their_reasons(
    sandboxed: Sandbox,
) -> None:
    sb = sandboxed
    denied = await pending_exchange_request(sb)
    await sb.person("nestor").press("Deny", {"reason": "use the helpdesk role"})
    await sb.person("adele").say("activate exchange admin for 1h because INC-8 second try")
    await sb.person("adele").press("Ask for approval")
    await sb.run_jobs()
    (open_request,) = await requests_of(sb, "adele")
    await sb.person("adele").say("cancel")

    trail = await entries(sb)

    decided = [(e.action, e.request_id, e.reason) for e in trail if e.action.startswith("request.")]
    assert decided == [
        ("request.created", denied, ""),
        ("request.submitted", denied, ""),
        ("request.denied", denied, "use the helpdesk role"),
        ("request.created", open_request.id, ""),
        ("request.submitted", open_request.id, ""),
        ("request.cancelled", open_request.id, ""),
    ]
    assert states([e for e in trail if e.request_id == denied]) == [
        "submitted",
        "pending_approval",
        "denied",
    ]
    assert states([e for e in trail if e.request_id == open_request.id])[-1] == "cancelled"
    assert not await requests_of(sb, "adele")


async def test_a_lax_role_and_its_early_deactivation(sandboxed: Sandbox) -> None:
    sb = sandboxed
    adele = sb.person("adele")
    await sb.client.install("adele")
    await adele.say("activate user admin for 2h")
    await adele.press("Activate")
    await sb.run_jobs()
    await adele.say("deactivate user admin")  # refused in the first five minutes
    sb.clock.advance(minutes=10)
    await adele.say("deactivate user admin")
    await sb.run_jobs()

    trail = await entries(sb)

    assert [(e.action, e.outcome) for e in trail] == [
        ("request.created", "submitted"),
        ("request.submitted", "approved"),
        ("activation.started", "ok"),
        ("activation.succeeded", "ok"),
        ("role.deactivate_refused", "refused"),
        ("role.deactivated", "ok"),
    ]
    assert states(trail)[-1] == RequestState.ENDED.value
