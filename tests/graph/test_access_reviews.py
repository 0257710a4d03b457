"""GraphAccessReviews against the Graph twin over loopback: pimbot's review definition, reading an
instance's items with recommendation, last sign-in and last activation, and writing a decision
app-only (batchRecordDecisions) or as the reviewer (PATCH)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from bot.domain import Role
from bot.governance.domain import (
    Decision,
    NamedGroup,
    Recommendation,
    ReviewByGroup,
    ReviewByManagers,
    ReviewByPeople,
    ReviewSpec,
)
from bot.graph.access_reviews import (
    GraphAccessReviews,
    NotARecurrence,
    definition_body,
    recurrence_pattern,
)
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
        reviewers=ReviewByPeople(user_ids=(graph.uid("megan"),)),
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


def app_client(graph: Graph) -> GraphAccessReviews:
    roles = ("AccessReview.ReadWrite.All", "RoleManagement.Read.Directory", "User.Read.All")
    return client(graph, graph.tokens.app((*roles, "GroupMember.Read.All")))


def test_reviewers_are_written_as_microsoft_documents_them() -> None:
    role = Role(id=EXCHANGE, display_name="Exchange Administrator")
    start = datetime(2026, 3, 2)

    def body(reviewers: ReviewByPeople | ReviewByGroup | ReviewByManagers) -> dict[str, object]:
        spec = ReviewSpec(role=role, every_days=90, duration_days=14, reviewers=reviewers)
        return definition_body(spec, start=start)

    people = body(ReviewByPeople(user_ids=("u1", "u2")))
    assert people["reviewers"] == [
        {"query": "/users/u1", "queryType": "MicrosoftGraph"},
        {"query": "/users/u2", "queryType": "MicrosoftGraph"},
    ]
    assert "fallbackReviewers" not in people
    group = body(ReviewByGroup(group_id="g1"))
    assert group["reviewers"] == [
        {"query": "/groups/g1/transitiveMembers", "queryType": "MicrosoftGraph"}
    ]
    managers = body(ReviewByManagers(fallback=ReviewByGroup(group_id="g1")))
    assert managers["reviewers"] == [
        {"query": "./manager", "queryType": "MicrosoftGraph", "queryRoot": "decisions"}
    ]
    assert managers["fallbackReviewers"] == group["reviewers"]
    assert "fallbackReviewers" not in body(ReviewByManagers())


async def test_who_reviews_each_item_under_managers_with_fallback(graph: Graph) -> None:
    app = app_client(graph)
    spec = exchange_spec(graph).model_copy(
        update={
            "reviewers": ReviewByManagers(fallback=ReviewByPeople(user_ids=(graph.uid("lidia"),)))
        }
    )
    created = await app.create(spec)
    [instance] = await app.instances(created.definition_id)
    assert await app.reviewer_of(instance) == {
        graph.uid("adele"): (graph.uid("megan"),),
        graph.uid("alex"): (graph.uid("megan"),),
        graph.uid("diego"): (graph.uid("nestor"),),
        graph.uid("grady"): (graph.uid("miriam"),),
        graph.uid("lynne"): (graph.uid("lidia"),),  # no manager: the fallback reviewer
    }
    assert await app.manager_of(graph.uid("lynne")) is None
    # Named people or a group review every item: nothing per item.
    plain_review = await app.create(exchange_spec(graph))
    [plain_instance] = await app.instances(plain_review.definition_id)
    assert await app.reviewer_of(plain_instance) == {}


async def test_groups_by_name_or_id(graph: Graph) -> None:
    app = app_client(graph)
    team = graph.tenant.group("Identity Team")
    expected = [NamedGroup(id=team.id, display_name="Identity Team")]
    assert await app.groups_named("identity team") == expected
    assert await app.groups_named(team.id) == expected
    assert await app.groups_named("Nobody's Group") == []
    assert await app.groups_named("00000000-0000-0000-0000-000000000001") == []
