"""What one turn costs, counted exactly: database statements and transactions, and Graph calls.

A regression guard CI can afford (no timing): a change that adds a write to every message, reads
the same thing from Graph twice in a turn, or stops using a cache fails here. When a count
changes on purpose, change it here and say why in the commit. Each command is said once first,
so the caches of roles, policies, groups and approvers are warm, as in a running deployment;
Adele is in a role-assignable group (Identity Team): her own eligibilities and active roles are
read every time, her group's active roles too, its eligibilities come from the cache.
"""

from __future__ import annotations

from bot.sandbox.teams.person import Person
from tests.costs.conftest import Costs, Turns

ELIGIBILITY = "GET /v1.0/roleManagement/directory/roleEligibilityScheduleInstances"
ASSIGNMENTS = "GET /v1.0/roleManagement/directory/roleAssignmentScheduleInstances"
ASSIGN = "POST /v1.0/roleManagement/directory/roleAssignmentScheduleRequests"
BATCH = "POST /v1.0/$batch"
READ_REQUESTS = "SELECT requests."
ADELE = "dcca3857-d360-5149-8193-4741a33647e0"
GROUPS = f"GET /v1.0/users/{ADELE}/transitiveMemberOf/microsoft.graph.group"


async def second_time(turns: Turns, text: str) -> Costs:
    await turns.client.install("adele")
    await turns.client.say("adele", text)
    with turns.counted() as costs:
        answer = await turns.client.say("adele", text)
    assert answer["status"] == 200
    return costs


async def test_help_touches_neither_the_database_nor_graph(turns: Turns) -> None:
    costs = await second_time(turns, "help")

    assert costs.statements == []
    assert costs.transactions == 0
    assert costs.graph_calls == costs.round_trips == []
    # botbuilder asks for a user token client on every activity; the one built for pimbot's
    # app id on the first turn serves every later one.
    assert costs.user_token_clients == 0


async def test_my_roles_reads_eligible_and_active_roles_once_each_in_one_round_trip(
    turns: Turns,
) -> None:
    costs = await second_time(turns, "my roles")

    assert sorted(costs.graph_calls) == [ASSIGNMENTS, ASSIGNMENTS, ELIGIBILITY]
    assert costs.round_trips == [BATCH]
    assert costs.statements == []
    assert costs.transactions == 0


async def test_pending_is_one_read_transaction_of_two_queries(turns: Turns) -> None:
    costs = await second_time(turns, "pending")

    assert [s[: len(READ_REQUESTS)] for s in costs.statements] == [READ_REQUESTS] * 2
    assert costs.transactions == 1
    assert costs.graph_calls == costs.round_trips == []


async def test_the_activation_form_reads_roles_once_and_the_policy_from_its_cache(
    turns: Turns,
) -> None:
    costs = await second_time(turns, "activate user admin for 1h")

    assert sorted(costs.graph_calls) == [ASSIGNMENTS, ASSIGNMENTS, ELIGIBILITY]
    assert costs.round_trips == [BATCH]
    assert [s[: len(READ_REQUESTS)] for s in costs.statements] == [READ_REQUESTS]
    assert costs.transactions == 1


async def test_an_activation_checks_eligibility_fresh_in_one_round_trip_then_assigns(
    turns: Turns,
) -> None:
    """User Administrator needs no approval: the submit turn, then the activation job. The job
    reads Adele's groups and eligibilities fresh (no cache) right before `adminAssign`, in one
    batch with the eligibilities of the group she was in last time; then the write, whose
    provisioned answer carries the schedule (nothing is read back): two round trips."""
    adele = Person(turns.client, "adele")
    await turns.client.install("adele")
    await adele.say("my roles")  # her groups and her group's eligibilities, cached
    await adele.say("activate user admin for 1h")  # the role's policy, cached
    await turns.running.services.scheduler.run_once()  # what was due already (a review scan)
    with turns.counted() as submit:
        await adele.press("Activate")
    with turns.counted() as job:
        await turns.running.services.scheduler.run_once()

    assert sorted(submit.graph_calls) == [ASSIGNMENTS, ASSIGNMENTS, ELIGIBILITY]
    assert submit.round_trips == [BATCH]
    assert sorted(job.graph_calls) == sorted([GROUPS, ELIGIBILITY, ELIGIBILITY, ASSIGN])
    assert job.round_trips == [BATCH, ASSIGN]
    assert "User Administrator is active until" in await adele.chat_text()
