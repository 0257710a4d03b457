"""What one turn costs, counted exactly: database statements and transactions, and Graph calls.

A regression guard CI can afford (no timing): a change that adds a write to every message, reads
the same thing from Graph twice in a turn, or stops using a cache fails here. When a count
changes on purpose, change it here and say why in the commit. Each command is said once first,
so the caches of roles, policies, groups and approvers are warm, as in a running deployment;
Adele is in a role-assignable group (Identity Team): her own eligibilities and active roles are
read every time, her group's active roles too, its eligibilities come from the cache.
"""

from __future__ import annotations

from tests.costs.conftest import Costs, Turns

ELIGIBILITY = "GET /v1.0/roleManagement/directory/roleEligibilityScheduleInstances"
ASSIGNMENTS = "GET /v1.0/roleManagement/directory/roleAssignmentScheduleInstances"
BATCH = "POST /v1.0/$batch"
READ_REQUESTS = "SELECT requests."


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
