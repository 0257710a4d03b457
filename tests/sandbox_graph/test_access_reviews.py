"""The Graph twin's access reviews (`identityGovernance/accessReviews`, v1.0), as Microsoft
documents them: definitions scoped to a directory role, instances, decision items, each reviewer's
own items, deciding (delegated only, by a reviewer), batch decisions, stop, apply, reminders,
paging, and the shapes of Microsoft's Graph SDK models."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from msgraph.generated.models.access_review_instance import AccessReviewInstance
from msgraph.generated.models.access_review_instance_decision_item import (
    AccessReviewInstanceDecisionItem,
)
from msgraph.generated.models.access_review_reviewer import AccessReviewReviewer
from msgraph.generated.models.access_review_schedule_definition import (
    AccessReviewScheduleDefinition,
)

from bot.sandbox.entra import service_principal_id
from bot.sandbox.graph.access_reviews import role_scope
from tests.sandbox_graph.conftest import EXCHANGE, SECURITY_READER, Graph, error_of
from tests.support.graph_sdk_shapes import unknown_properties

DEFINITIONS = "/v1.0/identityGovernance/accessReviews/definitions"
REVIEWS = ("AccessReview.ReadWrite.All",)
REVIEWER_SCOPES = "AccessReview.ReadWrite.All User.Read"


def definition_body(graph: Graph, role_id: str = EXCHANGE, **settings: Any) -> dict[str, Any]:
    return {
        "displayName": "Review of a role",
        "descriptionForReviewers": "Does each of them still need it?",
        "scope": role_scope(role_id),
        "reviewers": [{"query": f"/users/{graph.uid('megan')}", "queryType": "MicrosoftGraph"}],
        "settings": {
            "instanceDurationInDays": 14,
            "recommendationsEnabled": True,
            "recurrence": {
                "pattern": {"type": "absoluteMonthly", "interval": 3, "dayOfMonth": 2},
                "range": {"type": "noEnd", "startDate": "2026-03-02"},
            },
            **settings,
        },
    }


async def create(graph: Graph, body: dict[str, Any]) -> dict[str, Any]:
    response = await graph.post(DEFINITIONS, json=body, token=graph.tokens.app(REVIEWS))
    assert response.status == 201, await response.text()
    created: dict[str, Any] = await response.json()
    return created


async def only_instance(graph: Graph, definition_id: str) -> dict[str, Any]:
    response = await graph.get(
        f"{DEFINITIONS}/{definition_id}/instances", token=graph.tokens.app(REVIEWS)
    )
    body = await response.json()
    assert response.status == 200, body
    assert len(body["value"]) == 1
    instance: dict[str, Any] = body["value"][0]
    return instance


async def decisions(
    graph: Graph, definition_id: str, instance_id: str, suffix: str = "", **kwargs: Any
) -> list[Any]:
    kwargs.setdefault("token", graph.tokens.app(REVIEWS))
    path = f"{DEFINITIONS}/{definition_id}/instances/{instance_id}/decisions{suffix}"
    items: list[Any] = []
    while path:
        response = await graph.get(path, **kwargs)
        body = await response.json()
        assert response.status == 200, body
        items += body["value"]
        path = body.get("@odata.nextLink")
        kwargs.pop("params", None)
    return items


async def test_a_role_review_lists_each_holder_of_the_role_with_graphs_recommendation(
    graph: Graph,
) -> None:
    definition = await create(graph, definition_body(graph))
    assert definition["status"] == "InProgress"
    assert unknown_properties(definition, AccessReviewScheduleDefinition) == []
    instance = await only_instance(graph, definition["id"])
    assert instance["status"] == "InProgress"
    assert instance["endDateTime"] == "2026-03-16T09:00:00Z"
    assert unknown_properties(instance, AccessReviewInstance) == []

    items = await decisions(graph, definition["id"], instance["id"], params={"$expand": "insights"})
    by_user = {item["principal"]["userPrincipalName"].split("@")[0]: item for item in items}
    # Eligible (adele, alex, diego) and standing active (grady; lynne, outside PIM) holders.
    assert set(by_user) == {"adele", "alex", "diego", "grady", "lynne"}
    assert by_user["adele"]["recommendation"] == "Approve"  # signed in recently
    assert by_user["diego"]["recommendation"] == "Deny"  # months ago, beyond 30 days
    assert by_user["lynne"]["recommendation"] == "NoInfoAvailable"  # no sign-in known
    assert by_user["diego"]["insights"][0]["@odata.type"] == "#microsoft.graph.userSignInInsight"
    assert by_user["adele"]["decision"] == "NotReviewed"
    assert by_user["adele"]["resource"]["id"] == EXCHANGE
    for item in items:
        assert unknown_properties(item, AccessReviewInstanceDecisionItem) == []


async def test_a_reviewer_decides_their_items_as_themselves_and_others_may_not(
    graph: Graph,
) -> None:
    definition = await create(graph, definition_body(graph))
    instance = await only_instance(graph, definition["id"])
    megan = graph.tokens.user("megan", scp=REVIEWER_SCOPES)
    mine = f"{DEFINITIONS}/{definition['id']}/instances/{instance['id']}/decisions"
    response = await graph.get(f"{mine}/filterByCurrentUser(on='reviewer')", token=megan)
    items = (await response.json())["value"]
    assert len(items) == 5
    diego = next(i for i in items if i["principal"]["id"] == graph.uid("diego"))

    patched = await graph.call(
        "PATCH",
        f"{mine}/{diego['id']}",
        token=megan,
        json={"decision": "Deny", "justification": "left"},
    )
    assert patched.status == 204
    stored = await (await graph.get(f"{mine}/{diego['id']}", token=megan)).json()
    assert stored["decision"] == "Deny"
    assert stored["reviewedBy"]["id"] == graph.uid("megan")

    # Not a reviewer: refused. App-only: Graph does not support updating a decision item.
    adele = graph.tokens.user("adele", scp=REVIEWER_SCOPES)
    refused = await graph.call(
        "PATCH", f"{mine}/{diego['id']}", token=adele, json={"decision": "Approve"}
    )
    assert (await error_of(refused, 403))["code"] == "Authorization_RequestDenied"
    app = await graph.call(
        "PATCH",
        f"{mine}/{diego['id']}",
        token=graph.tokens.app(REVIEWS),
        json={"decision": "Approve"},
    )
    await error_of(app, 403)
    bad = await graph.call(
        "PATCH", f"{mine}/{diego['id']}", token=megan, json={"decision": "Maybe"}
    )
    await error_of(bad, 400)
    not_mine = await graph.get(f"{mine}/filterByCurrentUser(on='reviewer')", token=adele)
    assert (await not_mine.json())["value"] == []


async def test_batch_record_decisions_works_app_only_and_record_all_needs_a_user(
    graph: Graph,
) -> None:
    definition = await create(graph, definition_body(graph))
    instance = await only_instance(graph, definition["id"])
    base = f"{DEFINITIONS}/{definition['id']}/instances/{instance['id']}"
    app = graph.tokens.app(REVIEWS)
    response = await graph.post(
        f"{base}/batchRecordDecisions",
        token=app,
        json={
            "decision": "Approve",
            "justification": "still needed",
            "principalId": graph.uid("adele"),
        },
    )
    assert response.status == 204
    items = {
        i["principal"]["id"]: i for i in await decisions(graph, definition["id"], instance["id"])
    }
    assert items[graph.uid("adele")]["decision"] == "Approve"
    assert items[graph.uid("alex")]["decision"] == "NotReviewed"

    beta_all = base.replace("/v1.0/", "/beta/") + "/decisions/recordAllDecisions"
    refused = await graph.post(beta_all, token=app, json={"decision": "Approve"})
    await error_of(refused, 403)
    megan = graph.tokens.user("megan", scp=REVIEWER_SCOPES)
    done = await graph.post(beta_all, token=megan, json={"decision": "Approve"})
    assert done.status == 204
    items = {
        i["principal"]["id"]: i for i in await decisions(graph, definition["id"], instance["id"])
    }
    assert {i["decision"] for i in items.values()} == {"Approve"}


async def test_stop_then_apply_removes_denied_access_and_the_instance_takes_no_more_decisions(
    graph: Graph,
) -> None:
    definition = await create(graph, definition_body(graph))
    instance = await only_instance(graph, definition["id"])
    base = f"{DEFINITIONS}/{definition['id']}/instances/{instance['id']}"
    app = graph.tokens.app(REVIEWS)
    await graph.post(
        f"{base}/batchRecordDecisions",
        token=app,
        json={"decision": "Deny", "principalId": graph.uid("diego")},
    )
    early = await graph.post(f"{base}/applyDecisions", token=app)
    await error_of(early, 400)
    assert (await graph.post(f"{base}/sendReminder", token=app)).status == 204
    assert (await graph.post(f"{base}/stop", token=app)).status == 204
    stopped = await (await graph.get(base, token=app)).json()
    assert stopped["status"] == "Completed"
    late = await graph.post(f"{base}/batchRecordDecisions", token=app, json={"decision": "Approve"})
    await error_of(late, 409)

    assert (await graph.post(f"{base}/applyDecisions", token=app)).status == 204
    applied = await (await graph.get(base, token=app)).json()
    assert applied["status"] == "Applied"
    schedules = graph.twin.state.schedules_of("eligibility", graph.uid("diego"), EXCHANGE)
    assert schedules == []
    assert graph.twin.state.schedules_of("eligibility", graph.uid("adele"), EXCHANGE) != []
    items = {
        i["principal"]["id"]: i for i in await decisions(graph, definition["id"], instance["id"])
    }
    assert items[graph.uid("diego")]["applyResult"] == "AppliedSuccessfully"


async def test_at_its_end_the_instance_takes_the_default_decision_and_applies_it(
    graph: Graph,
) -> None:
    body = definition_body(
        graph,
        defaultDecisionEnabled=True,
        defaultDecision="Recommendation",
        autoApplyDecisionsEnabled=True,
    )
    definition = await create(graph, body)
    graph.clock.advance(timedelta(days=14))
    instance = await only_instance(graph, definition["id"])
    assert instance["status"] == "Applied"
    assert graph.twin.state.schedules_of("eligibility", graph.uid("diego"), EXCHANGE) == []
    assert graph.twin.state.schedules_of("eligibility", graph.uid("adele"), EXCHANGE) != []

    graph.clock.advance(timedelta(days=78))  # three months after the first (June 2nd): the next
    response = await graph.get(
        f"{DEFINITIONS}/{definition['id']}/instances", token=graph.tokens.app(REVIEWS)
    )
    instances = (await response.json())["value"]
    assert [i["status"] for i in instances] == ["Applied", "InProgress"]


async def test_permissions_and_bad_definitions_are_refused_as_graph_does(graph: Graph) -> None:
    read_only = graph.tokens.app(("AccessReview.Read.All",))
    refused = await graph.post(DEFINITIONS, json=definition_body(graph), token=read_only)
    await error_of(refused, 403)
    none = await graph.get(DEFINITIONS, token=graph.tokens.app(("User.Read.All",)))
    await error_of(none, 403)
    group_scope = definition_body(graph)
    group_scope["scope"] = {"query": "/groups/x/members", "queryType": "MicrosoftGraph"}
    bad = await graph.post(DEFINITIONS, json=group_scope, token=graph.tokens.app(REVIEWS))
    await error_of(bad, 400)
    no_reviewer = definition_body(graph)
    no_reviewer["reviewers"] = [{"query": "/users/nobody", "queryType": "MicrosoftGraph"}]
    bad = await graph.post(DEFINITIONS, json=no_reviewer, token=graph.tokens.app(REVIEWS))
    await error_of(bad, 400)
    daily = definition_body(graph)
    daily["settings"]["recurrence"]["pattern"] = {"type": "daily", "interval": 90}
    bad = await graph.post(DEFINITIONS, json=daily, token=graph.tokens.app(REVIEWS))
    assert "weekly or absoluteMonthly" in (await error_of(bad, 400))["message"]
    missing = await graph.get(f"{DEFINITIONS}/nope", token=graph.tokens.app(REVIEWS))
    await error_of(missing, 404)


async def test_a_group_of_reviewers_and_paged_decisions(graph: Graph) -> None:
    body = definition_body(graph, role_id=SECURITY_READER)
    approvers = next(g for g in graph.tenant.groups if g.display_name == "PIM Approvers")
    body["reviewers"] = [
        {"query": f"/groups/{approvers.id}/transitiveMembers", "queryType": "MicrosoftGraph"}
    ]
    definition = await create(graph, body)
    instance = await only_instance(graph, definition["id"])
    lidia = graph.tokens.user("lidia", scp=REVIEWER_SCOPES)  # via the nested Security Leads group
    items = await decisions(
        graph,
        definition["id"],
        instance["id"],
        "/filterByCurrentUser(on='reviewer')",
        token=lidia,
        params={"$top": "1"},
    )
    assert {i["principal"]["id"] for i in items} == {graph.uid("adele"), graph.uid("megan")}


async def test_the_demo_tenant_has_a_review_with_decisions_waiting(graph: Graph) -> None:
    megan = graph.tokens.user("megan", scp=REVIEWER_SCOPES)
    response = await graph.get(f"{DEFINITIONS}/filterByCurrentUser(on='reviewer')", token=megan)
    reviews = (await response.json())["value"]
    assert [r["displayName"] for r in reviews] == ["Exchange Administrator access review"]
    instance = await only_instance(graph, reviews[0]["id"])
    items = await decisions(graph, reviews[0]["id"], instance["id"], token=megan)
    decided = {i["principal"]["id"]: i["decision"] for i in items}
    assert decided[graph.uid("alex")] == "Approve"
    assert sorted(decided.values()).count("NotReviewed") == 4


async def test_the_contacted_reviewers_of_an_instance(graph: Graph) -> None:
    definition = await create(graph, definition_body(graph))
    instance = await only_instance(graph, definition["id"])
    response = await graph.get(
        f"{DEFINITIONS}/{definition['id']}/instances/{instance['id']}/contactedReviewers",
        token=graph.tokens.app(REVIEWS),
    )
    [megan] = (await response.json())["value"]
    assert megan["id"] == graph.uid("megan")
    assert unknown_properties(megan, AccessReviewReviewer) == []


def by_managers(graph: Graph, fallback: str | None = "lidia") -> dict[str, Any]:
    body = definition_body(graph)
    body["reviewers"] = [
        {"query": "./manager", "queryType": "MicrosoftGraph", "queryRoot": "decisions"}
    ]
    if fallback:
        body["fallbackReviewers"] = [
            {"query": f"/users/{graph.uid(fallback)}", "queryType": "MicrosoftGraph"}
        ]
    return body


async def test_managers_review_their_reports_and_fallback_reviewers_the_rest(
    graph: Graph,
) -> None:
    """Exchange Administrator: Adele and Alex report to Megan, Diego to Nestor, Grady to Miriam;
    Lynne has no manager, so the fallback reviewer (Lidia) reviews her."""
    definition = await create(graph, by_managers(graph))
    assert definition["fallbackReviewers"][0]["query"] == f"/users/{graph.uid('lidia')}"
    assert unknown_properties(definition, AccessReviewScheduleDefinition) == []
    instance = await only_instance(graph, definition["id"])
    base = f"{DEFINITIONS}/{definition['id']}/instances/{instance['id']}"
    response = await graph.get(f"{base}/contactedReviewers", token=graph.tokens.app(REVIEWS))
    contacted = {r["id"] for r in (await response.json())["value"]}
    assert contacted == {graph.uid(h) for h in ("megan", "nestor", "miriam", "lidia")}

    def mine(handle: str) -> str:
        return graph.tokens.user(handle, scp=REVIEWER_SCOPES)

    async def reviews_of(handle: str) -> set[str]:
        items = await decisions(
            graph,
            definition["id"],
            instance["id"],
            "/filterByCurrentUser(on='reviewer')",
            token=mine(handle),
            params={"$top": "1"},  # paged: the filter holds across pages
        )
        return {i["principal"]["id"] for i in items}

    assert await reviews_of("megan") == {graph.uid("adele"), graph.uid("alex")}
    assert await reviews_of("nestor") == {graph.uid("diego")}
    assert await reviews_of("miriam") == {graph.uid("grady")}
    assert await reviews_of("lidia") == {graph.uid("lynne")}
    assert await reviews_of("adele") == set()

    # Only the item's reviewer decides it: Megan may not decide Diego's (Nestor's report).
    items = {
        i["principal"]["id"]: i for i in await decisions(graph, definition["id"], instance["id"])
    }
    diego = items[graph.uid("diego")]["id"]
    refused = await graph.call(
        "PATCH", f"{base}/decisions/{diego}", token=mine("megan"), json={"decision": "Approve"}
    )
    assert (await error_of(refused, 403))["code"] == "Authorization_RequestDenied"
    done = await graph.call(
        "PATCH", f"{base}/decisions/{diego}", token=mine("nestor"), json={"decision": "Deny"}
    )
    assert done.status == 204
    # A reviewer's batch decides only their own items.
    batch = await graph.post(
        f"{base}/batchRecordDecisions", token=mine("lidia"), json={"decision": "Approve"}
    )
    assert batch.status == 204
    after = {
        i["principal"]["id"]: i for i in await decisions(graph, definition["id"], instance["id"])
    }
    assert {h: after[graph.uid(h)]["decision"] for h in ("lynne", "diego", "adele")} == {
        "lynne": "Approve",
        "diego": "Deny",
        "adele": "NotReviewed",
    }


async def test_without_fallback_reviewers_nobody_reviews_a_person_without_a_manager(
    graph: Graph,
) -> None:
    definition = await create(graph, by_managers(graph, fallback=None))
    instance = await only_instance(graph, definition["id"])
    base = f"{DEFINITIONS}/{definition['id']}/instances/{instance['id']}"
    response = await graph.get(f"{base}/contactedReviewers", token=graph.tokens.app(REVIEWS))
    contacted = {r["id"] for r in (await response.json())["value"]}
    assert graph.uid("lidia") not in contacted and graph.uid("megan") in contacted
    twin_instance = graph.twin.state.access_reviews[-1].instances[-1]
    lynne = next(d for d in twin_instance.decisions if d.principal_id == graph.uid("lynne"))
    assert lynne.reviewer_ids == []


async def test_manager_reviewer_scopes_are_checked_as_graph_does(graph: Graph) -> None:
    app = graph.tokens.app(REVIEWS)
    no_root = by_managers(graph)
    del no_root["reviewers"][0]["queryRoot"]
    bad = await graph.post(DEFINITIONS, json=no_root, token=app)
    assert "queryRoot" in (await error_of(bad, 400))["message"]
    manager_fallback = by_managers(graph)
    manager_fallback["fallbackReviewers"] = manager_fallback["reviewers"]
    await error_of(await graph.post(DEFINITIONS, json=manager_fallback, token=app), 400)
    unknown_fallback = by_managers(graph)
    unknown_fallback["fallbackReviewers"] = [
        {"query": "/users/nobody", "queryType": "MicrosoftGraph"}
    ]
    await error_of(await graph.post(DEFINITIONS, json=unknown_fallback, token=app), 400)


async def test_a_review_of_users_leaves_out_an_app_holding_the_role(graph: Graph) -> None:
    """Application Administrator is also held by the app Legacy Provisioning Script (a service
    principal). A review whose principal scope is `/users` reviews users only
    (accessreviews-scope-concept): Adele (eligible) for her manager Megan, Isaiah for Miriam, and
    no item, nor any manager to look up, for the app."""
    app_admin = graph.tenant.role("Application Administrator").id
    body = by_managers(graph)
    body["scope"] = definition_body(graph, app_admin)["scope"]
    assert [s["query"] for s in body["scope"]["principalScopes"]] == ["/users"]
    definition = await create(graph, body)
    instance = await only_instance(graph, definition["id"])
    twin_instance = graph.twin.state.access_reviews[-1].instances[-1]
    reviewers = {d.principal_id: d.reviewer_ids for d in twin_instance.decisions}
    assert reviewers == {
        graph.uid("adele"): [graph.uid("megan")],
        graph.uid("isaiah"): [graph.uid("miriam")],
    }
    items = await decisions(graph, definition["id"], instance["id"])
    legacy = service_principal_id(
        graph.tenant.app_principal("Legacy Provisioning Script").client_id
    )
    assert legacy not in {i["principal"]["id"] for i in items}
