"""The core journey end to end through HTTP on loopback: Teams twin → bot → Graph twin, with the
bot's real channel (signed activities), Graph client, msal and store."""

from __future__ import annotations

from datetime import timedelta

from bot.sandbox.teams.person import actions_of
from tests.e2e.conftest import Sandbox

ACTIVATE = "/v1.0/roleManagement/directory/roleAssignmentScheduleRequests"


def activation_bodies(sb: Sandbox) -> list[dict[str, object]]:
    return [
        c.json
        for c in sb.graph_calls
        if c.method == "POST"
        and c.path == ACTIVATE
        and c.json
        and c.json["action"] == "adminAssign"
    ]


async def test_a_lax_role_is_active_right_after_the_form(sandboxed: Sandbox) -> None:
    adele = sandboxed.person("adele")
    await sandboxed.client.install("adele")
    await adele.say("activate user admin for 2h")
    assert "Activate User Administrator" in await adele.chat_text()

    await adele.press("Activate")
    await sandboxed.run_jobs()

    assert "User Administrator is active until" in await adele.chat_text()
    (body,) = activation_bodies(sandboxed)
    assert body["action"] == "adminAssign"
    assert body["directoryScopeId"] == "/"
    assert body["roleDefinitionId"] == "fe930be7-5e62-47db-91af-98c3a49a38b1"
    assert body["scheduleInfo"]["expiration"] == {  # type: ignore[index]
        "type": "afterDuration",
        "duration": "PT2H",
    }
    # Graph now lists the activation, as the portal would show it
    roles = await adele.chat_text()
    await adele.say("my roles")
    assert "User Administrator" in roles


async def test_sending_the_form_reads_the_persons_groups_once(sandboxed: Sandbox) -> None:
    """Eligibility and what is active both come from the person's role-assignable groups:
    never read twice. The submission takes them from the minute's cache the form filled; the
    activation job (which may or may not have run yet) reads them once, fresh."""
    adele = sandboxed.person("adele")
    await sandboxed.client.install("adele")
    await adele.say("activate user admin for 2h")
    before = len(sandboxed.graph_calls)

    await adele.press("Activate")

    group_reads = [
        c
        for c in sandboxed.graph_calls[before:]
        if c.path.endswith("/transitiveMemberOf/microsoft.graph.group")
    ]
    assert len(group_reads) <= 1


async def test_approval_by_another_person_then_activation(sandboxed: Sandbox) -> None:
    adele, megan, nestor = (sandboxed.person(h) for h in ("adele", "megan", "nestor"))
    await sandboxed.client.install("adele")
    await adele.say("activate Exchange Admin for 2h because INC-1234 mailbox restore")
    form = await adele.chat_text()
    assert "INC-1234 mailbox restore" in form and "Megan Bowen" in form

    await adele.press("Ask for approval")
    await sandboxed.run_jobs()
    for approver in (megan, nestor):
        assert "Approve" in await approver.buttons()
    assert "Approve" not in await adele.buttons()

    await megan.press("Approve", {"reason": "ok for the restore"})
    await sandboxed.run_jobs()

    # every copy shows the outcome; nobody can press Approve any more
    for approver in (megan, nestor):
        text = await approver.chat_text()
        assert "Approved" in text and "Megan Bowen" in text
        assert "Approve" not in await approver.buttons()
    adele_sees = await adele.chat_text()
    assert "Megan Bowen approved" in adele_sees
    assert "Exchange Administrator is active until" in adele_sees
    (body,) = activation_bodies(sandboxed)
    assert body["justification"] == "INC-1234 mailbox restore"


async def test_a_denial_needs_a_reason_and_reaches_the_requester(sandboxed: Sandbox) -> None:
    adele, megan = sandboxed.person("adele"), sandboxed.person("megan")
    await sandboxed.client.install("adele")
    await adele.say("activate exchange administrator for 1h because look at a mailbox")
    await adele.press("Ask for approval")
    await sandboxed.run_jobs()

    await megan.press("Deny", {"reason": ""})
    assert "reason" in await megan.chat_text()
    await megan.press("Deny", {"reason": "use the helpdesk role"})
    await sandboxed.run_jobs()

    assert "use the helpdesk role" in await adele.chat_text()
    assert activation_bodies(sandboxed) == []


async def test_mfa_role_asks_for_a_sign_in_with_mfa(sandboxed: Sandbox) -> None:
    adele = sandboxed.person("adele")
    await sandboxed.client.install("adele")
    await adele.say("activate global admin for 1h because INC-42 tenant lockout")
    await adele.press("Ask for approval")
    # Teams tries the silent sign-in; it had no MFA, so the client shows a sign-in prompt.
    prompt = await sandboxed.client.wait_for("adele", "signin_required")
    assert prompt["status"] == 412
    assert "didn't use it" in await adele.chat_text()
    signed = await sandboxed.client.sign_in("adele", mfa=True)
    assert signed["exchanged"]
    await sandboxed.run_jobs()

    for handle in ("megan", "nestor", "lidia"):  # PIM Approvers, with the nested Security Leads
        assert "Approve" in await sandboxed.person(handle).buttons(), handle


async def test_warned_before_the_end_and_told_when_it_ended(sandboxed: Sandbox) -> None:
    adele = sandboxed.person("adele")
    await sandboxed.client.install("adele")
    await adele.say("activate user admin for 1h")
    await adele.press("Activate")
    await sandboxed.run_jobs()

    sandboxed.clock.advance(minutes=46)
    await sandboxed.run_jobs()
    assert {"Extend", "Deactivate now"} <= set(await adele.buttons())

    sandboxed.clock.advance(minutes=15)
    await sandboxed.run_jobs()
    assert "User Administrator has ended" in await adele.chat_text()
    # Sent once (the warning card itself now shows that the role has ended).
    sent = (await sandboxed.client.transcript("adele"))["events"]
    warnings = [
        e
        for e in sent
        if e["kind"] == "message" and e["text"].startswith("User Administrator ends at")
    ]
    assert len(warnings) == 1


async def test_deactivate_is_refused_in_the_first_five_minutes(sandboxed: Sandbox) -> None:
    adele = sandboxed.person("adele")
    await sandboxed.client.install("adele")
    await adele.say("activate user admin for 1h")
    await adele.press("Activate")
    await sandboxed.run_jobs()

    await adele.say("deactivate user admin")
    assert "first 5 minutes" in await adele.chat_text()

    sandboxed.clock.advance(timedelta(minutes=6))
    await adele.say("deactivate user admin")
    assert "no longer active" in await adele.chat_text()


async def test_someone_not_eligible_sees_what_they_can_activate(sandboxed: Sandbox) -> None:
    alex = sandboxed.person("alex")
    await sandboxed.client.install("alex")
    await alex.say("activate global admin")
    text = await alex.chat_text()
    assert "not eligible" in text.lower()
    assert "Exchange Administrator" in text and "User Administrator" in text


async def test_graph_throttling_is_absorbed(sandboxed: Sandbox) -> None:
    adele = sandboxed.person("adele")
    await sandboxed.client.install("adele")
    sandboxed.running.twins.graph.throttle(2, retry_after=1)
    await adele.say("activate user admin for 1h")
    await adele.press("Activate")
    await sandboxed.run_jobs()
    assert "User Administrator is active until" in await adele.chat_text()
    assert any(c.status == 429 for c in sandboxed.graph_calls)


async def test_older_clients_decide_through_action_submit(sandboxed: Sandbox) -> None:
    """Teams clients without Universal Actions send the card's Action.Submit fallback as a
    message with a value; the decision and the in-place update work the same."""
    adele, megan = sandboxed.person("adele"), sandboxed.person("megan")
    await sandboxed.client.install("adele")
    await adele.say("activate exchange admin for 1h because mailbox restore")
    await adele.press("Ask for approval")
    await sandboxed.run_jobs()

    card_message = next(m for m in await megan.messages() if "Approve" in str(m["cards"]))
    approve = next(a for a in actions_of(card_message["cards"][0]) if a["title"] == "Approve")
    fallback = approve["fallback"]
    assert fallback["type"] == "Action.Submit"
    await sandboxed.client.press("megan", card_message["id"], fallback, {"reason": "fine"})
    await sandboxed.run_jobs()

    assert "Megan Bowen approved" in await adele.chat_text()
    updated = next(m for m in await megan.messages() if m["id"] == card_message["id"])
    assert "Approve" not in str(actions_of(updated["cards"][0]))


async def test_extend_adds_to_the_current_end_and_says_until_when(sandboxed: Sandbox) -> None:
    adele = sandboxed.person("adele")
    await sandboxed.client.install("adele")
    await adele.say("activate user admin for 1h")
    await adele.press("Activate")
    await sandboxed.run_jobs()
    (assigned,) = [
        c
        for c in sandboxed.graph_calls
        if c.path == ACTIVATE and c.json and c.json["action"] == "adminAssign"
    ]
    sandboxed.clock.advance(minutes=45)

    await adele.say("extend user admin")
    form = await adele.chat_text()
    assert "Extend User Administrator" in form and "Active until" in form
    await adele.press("Extend", {"duration": "PT30M"})
    await sandboxed.run_jobs()

    (extended,) = [
        c.json
        for c in sandboxed.graph_calls
        if c.path == ACTIVATE and c.json and c.json["action"] == "adminExtend"
    ]
    expiration = extended["scheduleInfo"]["expiration"]  # type: ignore[index]
    assert expiration["type"] == "afterDateTime"
    # an hour from the first activation, plus the 30 minutes asked for
    first_start = sandboxed.clock() - timedelta(minutes=45)
    assert expiration["endDateTime"].startswith(
        (first_start + timedelta(hours=1, minutes=30)).strftime("%Y-%m-%dT%H:%M")
    )
    said = await adele.chat_text()
    assert "User Administrator is extended by 30 min, now until" in said
    assert "Activating now" not in said
    assert assigned.json["action"] == "adminAssign"


async def test_deactivate_now_pressed_too_early_is_answered_once(sandboxed: Sandbox) -> None:
    adele = sandboxed.person("adele")
    await sandboxed.client.install("adele")
    await adele.say("activate user admin for 1h")
    await adele.press("Activate")
    await sandboxed.run_jobs()
    before = await adele.chat_text()

    await adele.press("Deactivate now")

    # The pressed card comes back as it is now, so the refusal is said in the chat: once.
    toasts = [line for line in await adele.toasts() if "first 5 minutes" in line]
    chat = (await adele.chat_text()).replace(before, "")
    assert len(toasts) + chat.count("first 5 minutes") == 1
