"""A restarted sandbox still knows who is active: state saved after each change and loaded at
start."""

from __future__ import annotations

import json
from pathlib import Path

from bot.sandbox.tenant import DemoTenant
from tests.support.clock import FakeClock

from .conftest import EXCHANGE, INSTANCES, REQUESTS, USER_ADMIN, Tokens, activation, ok, start_graph


async def test_an_activation_survives_a_restart(
    tenant: DemoTenant, clock: FakeClock, tmp_path: Path
) -> None:
    state_path = tmp_path / "graph.json"
    tokens = Tokens(tenant)
    adele = tenant.user("adele").id
    first = await start_graph(tenant, clock, state_path=state_path, tokens=tokens)
    created = await ok(
        await first.post(REQUESTS, token=tokens.user("adele"), json=activation(adele, USER_ADMIN)),
        201,
    )
    pending = await ok(
        await first.post(
            REQUESTS, token=tokens.user("alex"), json=activation(tenant.user("alex").id, EXCHANGE)
        ),
        201,
    )
    await first.client.close()
    assert json.loads(state_path.read_text())["requests"]

    second = await start_graph(tenant, clock, state_path=state_path, tokens=tokens)
    try:
        [instance] = (
            await ok(await second.get(INSTANCES, params={"$filter": f"principalId eq '{adele}'"}))
        )["value"]
        assert instance["roleAssignmentScheduleId"] == created["id"]
        again = await ok(await second.get(f"{REQUESTS}/{pending['id']}"))
        assert again["status"] == "PendingApproval"
    finally:
        await second.client.close()


async def test_expiry_while_stopped_is_applied_at_the_next_start(
    tenant: DemoTenant, clock: FakeClock, tmp_path: Path
) -> None:
    state_path = tmp_path / "graph.json"
    tokens = Tokens(tenant)
    adele = tenant.user("adele").id
    first = await start_graph(tenant, clock, state_path=state_path, tokens=tokens)
    await ok(
        await first.post(REQUESTS, token=tokens.user("adele"), json=activation(adele, USER_ADMIN)),
        201,
    )
    await first.client.close()
    clock.advance(hours=2)
    second = await start_graph(tenant, clock, state_path=state_path, tokens=tokens)
    try:
        body = await ok(
            await second.get(INSTANCES, params={"$filter": f"principalId eq '{adele}'"})
        )
        assert body["value"] == []
    finally:
        await second.client.close()
    saved = json.loads(state_path.read_text())
    assert any(
        a["activityDisplayName"] == "Remove member from role (PIM activation expired)"
        for a in saved["audits"]
    )
