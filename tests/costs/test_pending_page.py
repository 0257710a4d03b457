"""`pending` for an approver with more waiting than the card lists: it reads the newest page and
counts the rest in the database, never every waiting request (10,000 of them cost 3 s and 58 MiB
per turn; bench/RESULTS.md)."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.domain import RequestState
from cards.common import MAX_LISTED
from tests.costs.conftest import Turns
from tests.store.factories import T0, a_request

WAITING = MAX_LISTED + 5


async def test_pending_reads_the_newest_page_and_counts_the_rest(turns: Turns) -> None:
    adele = turns.running.twins.tenant.user("adele").id
    async with turns.running.services.db.transaction() as tx:
        for n in range(WAITING):
            await tx.requests.insert(
                a_request(
                    state=RequestState.PENDING_APPROVAL,
                    approver_ids=(adele,),
                    created_at=T0 + timedelta(minutes=n),
                )
            )
    await turns.client.install("adele")

    with turns.counted() as costs:
        answer = await turns.client.say("adele", "pending")

    assert answer["status"] == 200
    [reply] = [m for m in await turns.client.messages("adele") if "Pending requests" in str(m)]
    assert "…and 5 more." in json.dumps(reply["cards"], ensure_ascii=False)
    counts = [s for s in costs.statements if s.startswith("SELECT count(*)")]
    assert len(counts) == 1, costs.statements


async def test_pending_counts_nothing_when_the_page_is_not_full(turns: Turns) -> None:
    adele = turns.running.twins.tenant.user("adele").id
    async with turns.running.services.db.transaction() as tx:
        await tx.requests.insert(
            a_request(state=RequestState.PENDING_APPROVAL, approver_ids=(adele,))
        )
    await turns.client.install("adele")

    with turns.counted() as costs:
        await turns.client.say("adele", "pending")

    assert not [s for s in costs.statements if s.startswith("SELECT count(*)")]
