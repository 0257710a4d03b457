"""GraphAccessReviews against the Graph twin over loopback: pimbot's review definition, reading an
instance's items with recommendation, last sign-in and last activation, and writing a decision
app-only (batchRecordDecisions) or as the reviewer (PATCH)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from bot.domain import Role
from bot.governance.domain import Decision, Recommendation, ReviewSpec
from bot.graph.access_reviews import GraphAccessReviews, NotARecurrence, recurrence_pattern
from bot.graph.http import GraphHttp
from bot.sandbox.tenant import load_tenant
from tests.sandbox_graph.conftest import EXCHANGE, START, Graph, start_graph
from tests.support.clock import FakeClock

REVIEW_SCOPES = "AccessReview.ReadWrite.All RoleManagement.Read.Directory"


class Fixed:
    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self) -> str:
        return self._token

    def invalidate(self) -> None:
        return None


@pytest.fixture
async def graph() -> AsyncIterator[Graph]:
    started = await start_graph(load_tenant(), FakeClock(START))
    yield started
    await started.client.close()


def client(graph: Graph, token: str, *, delegated: bool = False) -> GraphAccessReviews:
    base = str(graph.client.make_url("/")).rstrip("/")
    return GraphAccessReviews(
        GraphHttp(base, Fixed(token)),
        tenant_id=graph.tenant.tenant_id,
        now=graph.clock,
        delegated=delegated,
    )


def exchange_spec(graph: Graph) -> ReviewSpec:
    return ReviewSpec(
        role=Role(id=EXCHANGE, display_name="Exchange Administrator"),
        every_days=90,
        duration_days=14,
        reviewer_ids=(graph.uid("megan"),),
    )


def test_every_n_days_is_weekly_or_monthly_as_graph_repeats_reviews() -> None:
    start = datetime(2026, 3, 2)
    assert recurrence_pattern(90, start) == {
        "type": "absoluteMonthly",
        "interval": 3,
        "dayOfMonth": 2,
    }
    assert recurrence_pattern(14, start) == {"type": "weekly", "interval": 2}
    with pytest.raises(NotARecurrence):
        recurrence_pattern(10, start)


async def test_pimbot_creates_a_role_review_and_reads_its_items(graph: Graph) -> None:
    app = client(
        graph, graph.tokens.app(("AccessReview.ReadWrite.All", "RoleManagement.Read.Directory"))
    )
    created = await app.create(exchange_spec(graph))
    assert created.role_id == EXCHANGE
    assert created.display_name == "Exchange Administrator access review"
    [instance] = await app.instances(created.definition_id)
    assert instance.is_open and instance.role.display_name == "Exchange Administrator"
    items = {i.principal.id: i for i in await app.items(instance)}
    diego = items[graph.uid("diego")]
    assert diego.recommendation is Recommendation.DENY
    assert diego.last_sign_in is not None
    assert diego.decision is Decision.NOT_REVIEWED and diego.reviewed_by is None

    await app.record(instance, diego, Decision.DENY, "moved teams")
    after = {i.principal.id: i for i in await app.items(instance)}
    assert after[graph.uid("diego")].decision is Decision.DENY
    assert after[graph.uid("diego")].reviewed_by == "pimbot"  # app-only: Graph names the app


async def test_the_reviewer_writes_as_themselves_on_the_delegated_path(graph: Graph) -> None:
    app = client(
        graph, graph.tokens.app(("AccessReview.ReadWrite.All", "RoleManagement.Read.Directory"))
    )
    created = await app.create(exchange_spec(graph))
    [instance] = await app.instances(created.definition_id)
    adele = next(i for i in await app.items(instance) if i.principal.id == graph.uid("adele"))
    megan = client(graph, graph.tokens.user("megan", scp=REVIEW_SCOPES), delegated=True)
    await megan.record(instance, adele, Decision.APPROVE, "")
    after = next(i for i in await app.items(instance) if i.principal.id == graph.uid("adele"))
    assert after.decision is Decision.APPROVE
    assert after.reviewed_by == "Megan Bowen"
