"""The pim engine end to end through HTTP on loopback: every PIM write is made with the acting
person's own delegated token (Teams SSO → on-behalf-of), and PIM enforces its policy."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.domain import RequestState
from bot.sandbox.runner import sandbox
from bot.sandbox.teams.client import SandboxClient
from bot.sandbox.tenant import DemoTenant, load_tenant
from bot.sandbox.twins import Twins
from tests.e2e.conftest import Sandbox
from tests.support.clock import FakeClock

REQUESTS = "/v1.0/roleManagement/directory/roleAssignmentScheduleRequests"
APPROVALS = "/beta/roleManagement/directory/roleAssignmentApprovals"
READ_ONLY_APP = ["RoleManagement.Read.Directory", "User.Read.All", "GroupMember.Read.All"]


def zero_trust_tenant(**policy_changes: dict[str, Any]) -> DemoTenant:
    """The demo tenant with pimbot's app holding read permissions only (no tier-0 write)."""
    tenant = load_tenant()
    app = tenant.apps[0].model_copy(update={"application_permissions": READ_ONLY_APP})
    policies = [p.model_copy(update=policy_changes.get(p.role, {})) for p in tenant.policies]
    return tenant.model_copy(update={"apps": [app, *tenant.apps[1:]], "policies": policies})


@pytest.fixture
async def pim_box(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Sandbox]:
    clock = FakeClock()
    changes = getattr(request, "param", {})
    async with (
        sandbox(
            tenant=zero_trust_tenant(**changes),
            database_url=f"sqlite:///{tmp_path / 'pimbot.db'}",
            state_dir=tmp_path,
            now=clock,
            run_scheduler=False,
            engine="pim",
        ) as running,
        SandboxClient(running.twins.service_url) as client,
    ):
        yield Sandbox(running, client, clock)


USER_ADMIN = "fe930be7-5e62-47db-91af-98c3a49a38b1"


def twins_of(sb: Sandbox | Twins) -> Twins:
    return sb if isinstance(sb, Twins) else sb.running.twins


async def portal_token(sb: Sandbox | Twins, http: httpx.AsyncClient, handle: str) -> str:
    """The person's own Graph token, as the Entra portal or PowerShell would hold it."""
    twins = twins_of(sb)
    tenant, app = twins.tenant, twins.tenant.apps[0]
    sso = twins.entra.mint_sso_token(handle, audience_app_id=app.client_id, mfa=True)
    answer = await http.post(
        f"{twins.login_url}/{tenant.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "requested_token_use": "on_behalf_of",
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "assertion": sso,
            "scope": "https://graph.microsoft.com/RoleAssignmentSchedule.ReadWrite.Directory",
        },
    )
    return str(answer.raise_for_status().json()["access_token"])


async def activate_in_the_portal(
    sb: Sandbox | Twins, handle: str, role_id: str, duration: str
) -> None:
    twins = twins_of(sb)
    user = twins.tenant.user(handle)
    assert user is not None
    async with httpx.AsyncClient() as http:
        token = await portal_token(sb, http, handle)
        created = await http.post(
            f"{twins.graph_url}{REQUESTS}",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "action": "selfActivate",
                "principalId": user.id,
                "roleDefinitionId": role_id,
                "directoryScopeId": "/",
                "justification": "from the portal",
                "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": duration}},
            },
        )
        assert created.status_code == 201, created.text


async def approve_in_the_portal(sb: Sandbox, handle: str, reason: str) -> None:
    """An approver decides in the Entra portal, not in Teams."""
    graph = sb.running.twins.graph_url
    async with httpx.AsyncClient() as http:
        headers = {"Authorization": f"Bearer {await portal_token(sb, http, handle)}"}
        waiting = await http.get(
            f"{graph}{REQUESTS}/filterByCurrentUser(on='approver')",
            params={"$filter": "status eq 'PendingApproval'"},
            headers=headers,
        )
        (request,) = waiting.raise_for_status().json()["value"]
        approval = f"{graph}{APPROVALS}/{request['approvalId']}"
        steps = (await http.get(f"{approval}/steps", headers=headers)).json()["value"]
        step = next(s for s in steps if s["assignedToMe"] and s["status"] == "InProgress")
        decided = await http.patch(
            f"{approval}/steps/{step['id']}",
            headers=headers,
            json={"reviewResult": "Approve", "justification": reason},
        )
        assert decided.status_code == 204, decided.text


def writes(sb: Sandbox) -> list[Any]:
    return [c for c in sb.graph_calls if c.method in ("POST", "PATCH", "DELETE")]


async def test_a_lax_role_is_activated_as_the_person(pim_box: Sandbox) -> None:
    adele = pim_box.person("adele")
    await pim_box.client.install("adele")
    await adele.say("activate user admin for 2h")
    await adele.press("Activate")
    await pim_box.client.wait_for("adele", "signed_in")
    await pim_box.run_jobs()

    assert "User Administrator is active until" in await adele.chat_text()
    (call,) = [c for c in writes(pim_box) if c.path == REQUESTS]
    assert call.json["action"] == "selfActivate"
    assert call.status == 201
    await adele.say("my roles")
    assert "User Administrator" in await adele.chat_text()


async def test_approval_in_pim_with_a_race_between_two_approvers(pim_box: Sandbox) -> None:
    adele, megan, nestor = (pim_box.person(h) for h in ("adele", "megan", "nestor"))
    await pim_box.client.install("adele")
    await adele.say("activate Exchange Admin for 2h because INC-1234 mailbox restore")
    await adele.press("Ask for approval")
    await pim_box.client.wait_for("adele", "signed_in")
    await pim_box.run_jobs()
    assert "asked the approvers" in await adele.chat_text()
    for approver in (megan, nestor):
        assert "Approve" in await approver.buttons()

    # Megan approves in the portal; before pimbot has looked, Nestor denies in Teams. PIM
    # answers his decision (made with his own token) 409: he sees PIM's outcome instead.
    await approve_in_the_portal(pim_box, "megan", "ok for the restore")
    await nestor.press("Deny", {"reason": "too late"})
    await pim_box.client.wait_for("nestor", "signed_in")
    await pim_box.run_jobs()

    decisions = [c for c in writes(pim_box) if c.path.startswith(APPROVALS)]
    assert [c.status for c in decisions] == [204, 409]
    assert "Someone else decided first" in str(await pim_box.client.transcript("nestor"))
    adele_sees = await adele.chat_text()
    assert "Exchange Administrator is active until" in adele_sees
    assert "denied" not in adele_sees.lower()
    for approver in (megan, nestor):
        assert "Approved" in await approver.chat_text()
        assert "Approve" not in await approver.buttons()


async def test_an_approver_decides_with_their_own_token(pim_box: Sandbox) -> None:
    adele, lidia = pim_box.person("adele"), pim_box.person("lidia")
    await pim_box.client.install("adele")
    await adele.say("activate Security Admin for 1h because INC-77 phishing response")
    await adele.press("Ask for approval")
    await pim_box.client.wait_for("adele", "signin_required")  # PIM's MfaRule
    assert "multi-factor authentication" in await adele.chat_text()
    await pim_box.client.sign_in("adele", mfa=True)
    await pim_box.run_jobs()

    await lidia.press("Deny", {"reason": "use Security Reader"})
    await pim_box.client.wait_for("lidia", "signed_in")
    await pim_box.run_jobs()

    (decision,) = [c for c in writes(pim_box) if c.path.startswith(APPROVALS)]
    assert decision.status == 204 and decision.json["reviewResult"] == "Deny"
    assert "use Security Reader" in await adele.chat_text()
    assert "Approve" not in await lidia.buttons()


async def test_nobody_deciding_ends_as_pim_times_the_stage_out(pim_box: Sandbox) -> None:
    adele = pim_box.person("adele")
    await pim_box.client.install("adele")
    await adele.say("activate Exchange Admin for 1h because look at a mailbox")
    await adele.press("Ask for approval")
    await pim_box.client.wait_for("adele", "signed_in")
    await pim_box.run_jobs()

    pim_box.clock.advance(hours=25)
    await pim_box.run_jobs()
    assert "approval stage timed out" in await adele.chat_text()
    assert "Approve" not in await pim_box.person("megan").buttons()


ADELE = "dcca3857-d360-5149-8193-4741a33647e0"  # the demo tenant's Adele Vance


async def claims_challenge_recorded(sb: Sandbox) -> None:
    for _ in range(400):
        async with sb.running.services.db.transaction() as tx:
            drafts = await tx.requests.open_for_requester(ADELE)
            if any([await tx.sign_ins.challenge(r.id) for r in drafts]):
                return
        await asyncio.sleep(0.05)
    raise AssertionError("pimbot never recorded PIM's claims challenge")


@pytest.mark.parametrize(
    "pim_box", [{"User Administrator": {"authentication_context": "c1"}}], indirect=True
)
async def test_step_up_sign_in_then_one_automatic_retry(pim_box: Sandbox) -> None:
    adele = pim_box.person("adele")
    await pim_box.client.install("adele")
    await adele.say("activate user admin for 1h")
    await adele.press("Activate")
    prompt = await pim_box.client.wait_for("adele", "signin_required")
    assert prompt["status"] == 412
    assert "extra sign-in check" in str(await pim_box.client.transcript("adele"))
    # A person signs in after reading the card; by then pimbot has recorded PIM's claims
    # challenge. (Signing in within the same instant finds nothing waiting yet.)
    await claims_challenge_recorded(pim_box)
    # The card's Sign in button is the token service's sign-in page for the OAuth connection,
    # never a bare authorize URL; PIM's claims challenge stays with pimbot for the retry.
    shown = str(await adele.messages())
    assert f"{pim_box.running.twins.service_url}api/oauth/signin?signin=" in shown
    assert "oauth2/v2.0/authorize" not in shown

    signed = await pim_box.client.sign_in("adele", acrs=["c1"])
    assert signed["status"] == 200
    # Teams handed over the magic code (signin/verifyState); pimbot claimed the token with it.
    token_calls = [name for name, _ in pim_box.running.twins.teams.token_service.calls]
    assert token_calls.count("GetToken") == 1
    await pim_box.run_jobs()
    assert "User Administrator is active until" in await adele.chat_text()
    attempts = [c for c in writes(pim_box) if c.path == REQUESTS]
    assert [c.status for c in attempts] == [400, 201]


async def test_an_activation_made_in_the_portal_is_noticed(pim_box: Sandbox) -> None:
    adele = pim_box.person("adele")
    await pim_box.client.install("adele")
    await pim_box.run_jobs()
    await activate_in_the_portal(pim_box, "adele", USER_ADMIN, "PT1H")
    pim_box.clock.advance(minutes=1)
    await pim_box.run_jobs()
    assert "activated for you outside Teams" in await adele.chat_text()
    assert {"Extend", "Deactivate now"} <= set(await adele.buttons())  # its card, at once

    pim_box.clock.advance(minutes=45)
    await pim_box.run_jobs()
    assert {"Extend", "Deactivate now"} <= set(await adele.buttons())


async def test_an_outside_activation_is_told_in_the_zone_of_whoever_reads_it(
    tmp_path: Path,
) -> None:
    """Someone pimbot never heard from has no known zone: the notice gives no time in UTC, and
    its card carries the end for Teams to show in the reader's own zone."""
    tenant = zero_trust_tenant()
    users = [
        u.model_copy(update={"timezone": ""}) if u.handle == "adele" else u for u in tenant.users
    ]
    clock = FakeClock()
    async with (
        sandbox(
            tenant=tenant.model_copy(update={"users": users}),
            database_url=f"sqlite:///{tmp_path / 'pimbot.db'}",
            state_dir=tmp_path,
            now=clock,
            run_scheduler=False,
            engine="pim",
        ) as running,
        SandboxClient(running.twins.service_url) as client,
    ):
        box = Sandbox(running, client, clock)
        await client.install("adele")
        await box.run_jobs()
        await activate_in_the_portal(box, "adele", USER_ADMIN, "PT1H")
        clock.advance(minutes=1)
        await box.run_jobs()

        told = await box.person("adele").chat_text()
        assert "activated for you outside Teams" in told
        assert "(UTC)" not in told
        assert "{{TIME(" in json.dumps(await box.person("adele").messages())


async def test_cancel_by_role_cancels_that_request_in_pim(pim_box: Sandbox) -> None:
    adele = pim_box.person("adele")
    await pim_box.client.install("adele")
    await adele.say("activate Exchange Admin for 1h because mailbox restore")
    await adele.press("Ask for approval")
    await pim_box.client.wait_for("adele", "signed_in")
    await adele.say("activate Security Admin for 1h because INC-77 phishing response")
    await adele.press("Ask for approval")
    await pim_box.client.wait_for("adele", "signin_required")  # PIM's MfaRule
    await pim_box.client.sign_in("adele", mfa=True)
    await pim_box.run_jobs()
    async with pim_box.running.services.db.transaction() as tx:
        mine = await tx.requests.open_for_requester(pim_box.running.twins.tenant.user("adele").id)
    in_pim = {r.role.display_name: r.graph_request_id for r in mine}
    assert set(in_pim) == {"Exchange Administrator", "Security Administrator"}

    await adele.say("cancel exchange admin")
    await pim_box.run_jobs()

    (cancelled,) = [c for c in writes(pim_box) if c.path.endswith("/cancel")]
    assert cancelled.path == f"{REQUESTS}/{in_pim['Exchange Administrator']}/cancel"
    assert "Cancelled your request for **Exchange Administrator**" in await adele.chat_text()


async def test_a_second_sign_in_for_one_activation_answers_once_it_is_recorded(
    pim_box: Sandbox,
) -> None:
    """Teams retries a token exchange it had no answer to (on any replica). The retry must not
    call PIM again while the first is still with it, and must not answer before the activation
    is recorded."""
    adele, twins = pim_box.person("adele"), pim_box.running.twins

    async def hold_self_activation() -> None:
        twins.graph.delay(120, 1, method="POST", path="/roleAssignmentScheduleRequests")

    async def release() -> None:
        twins.graph.release()

    await pim_box.client.install("adele")
    await adele.say("activate user admin for 1h")
    await twins.acall(hold_self_activation)
    await adele.press("Activate")  # the client's own exchange reaches PIM, which holds it
    for _ in range(1200):
        if twins.graph.held == 1:
            break
        await asyncio.sleep(0.05)
    assert twins.graph.held == 1

    retry = asyncio.create_task(pim_box.client.sign_in("adele"))
    done, _ = await asyncio.wait({retry}, timeout=2)  # a retry that does not wait answers at once
    answered_early = bool(done)
    await twins.acall(release)
    answer = await retry

    assert answer["status"] == 200
    assert not answered_early, "the retry answered while PIM still held the first exchange"
    async with pim_box.running.services.db.transaction() as tx:
        (request,) = await tx.requests.list_in_states(list(RequestState))
    assert request.state is not RequestState.DRAFT
    assert [c.status for c in writes(pim_box) if c.path == REQUESTS] == [201]
