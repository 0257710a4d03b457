"""Access reviews in the policy file, against the Graph twin: `export` writes each role's running
review definitions, `diff` shows what would change, `apply` creates, updates (PUT) and deletes
definitions until the tenant matches the file, all or nothing, audited; a round trip writes
nothing."""

from __future__ import annotations

import argparse
import io
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from bot.governance.policy_reviews import (
    DeclaredReviews,
    ReviewEntry,
    ReviewersEntry,
    ReviewPlanError,
    TenantReview,
    plan_reviews,
)
from bot.graph.errors import GraphError
from bot.graph.review_policies import GraphReviewDefinitions
from bot.graph.role_policies import GraphRolePolicies
from bot.policy_cli import PolicyConsole, run_policy
from tests.governance.policy_twin import (
    EXCHANGE_ADMIN,
    POLICY_ADMIN_SCOPES,
    USER_ADMIN,
    Tenant,
    twin_tenant,
)

ADMIN_SCOPES = f"{POLICY_ADMIN_SCOPES} AccessReview.ReadWrite.All User.Read.All Group.Read.All"
DEFINITIONS = "/identityGovernance/accessReviews/definitions"
PIM_APPROVERS = "fc259843-2ed5-5a68-b275-f6cd31ea1143"


@pytest.fixture
async def tenant() -> AsyncIterator[Tenant]:
    async with twin_tenant() as started:
        yield started


class Audit:
    def __init__(self) -> None:
        self.entries: list[tuple[str, str, Mapping[str, Any]]] = []

    async def __call__(self, action: str, outcome: str, details: Mapping[str, Any]) -> None:
        self.entries.append((action, outcome, details))


class Console(PolicyConsole):
    def __init__(self) -> None:
        super().__init__(io.StringIO(), io.StringIO(), lambda _: None)

    @property
    def said(self) -> str:
        assert isinstance(self.out, io.StringIO) and isinstance(self.err, io.StringIO)
        return self.out.getvalue() + self.err.getvalue()


def args(command: str, file: Path | None = None, **extra: Any) -> argparse.Namespace:
    defaults = {"out": None, "yes": True, "exit_code": False}
    return argparse.Namespace(policy_command=command, file=file, **(defaults | extra))


def admin_token(tenant: Tenant) -> str:
    return tenant.graph.tokens.user("breakglass1", scp=ADMIN_SCOPES)


async def run(
    tenant: Tenant,
    command: str,
    file: Path | None = None,
    *,
    audit: Audit | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    **extra: Any,
) -> tuple[int, Console]:
    console = Console()
    http = tenant.client(admin_token(tenant), transport=transport)
    try:
        code = await run_policy(
            args(command, file, **extra),
            GraphRolePolicies(http),
            console,
            audit,
            reviews=GraphReviewDefinitions(http),
        )
    finally:
        await http.aclose()
    return code, console


async def export(tenant: Tenant) -> str:
    code, console = await run(tenant, "export")
    assert code == 0, console.said
    assert isinstance(console.out, io.StringIO)
    return console.out.getvalue()


def role(document: Mapping[str, Any], role_id: str) -> dict[str, Any]:
    entry: dict[str, Any] = next(r for r in document["roles"] if r["id"] == role_id)
    return entry


def edited(text: str, change: Callable[[dict[str, Any]], None]) -> str:
    document = yaml.safe_load(text)
    change(document)
    return yaml.safe_dump(document, sort_keys=False)


def writes(tenant: Tenant) -> list[tuple[str, str]]:
    return [
        (call.method, call.path)
        for call in tenant.graph.twin.calls
        if call.method != "GET" and "accessReviews" in call.path
    ]


def twin_definitions(tenant: Tenant) -> list[Any]:
    return list(tenant.graph.twin.state.access_reviews)


def upn(tenant: Tenant, handle: str) -> str:
    return tenant.graph.tenant.user(handle).upn


async def test_export_writes_each_roles_running_reviews(tenant: Tenant) -> None:
    document = yaml.safe_load(await export(tenant))
    [review] = role(document, EXCHANGE_ADMIN)["reviews"]
    [definition] = twin_definitions(tenant)
    assert review == {
        "id": definition.id,
        "name": "Exchange Administrator access review",
        "every": "P3M",
        "duration": "P14D",
        "reviewers": {"people": [upn(tenant, "megan")]},
        "auto_apply": False,
        "default_decision": "None",
        "recommendations": True,
        "justification_on_approval": False,
        "reminders": True,
    }
    assert role(document, USER_ADMIN)["reviews"] == []  # declared: none


async def test_a_round_trip_writes_nothing(tenant: Tenant, tmp_path: Path) -> None:
    file = tmp_path / "roles.yaml"
    file.write_text(await export(tenant))
    audit = Audit()
    code, console = await run(tenant, "apply", file, audit=audit)
    assert code == 0, console.said
    assert "No changes" in console.said
    assert writes(tenant) == []
    assert audit.entries == []


async def test_apply_changes_a_review_in_place_with_put(tenant: Tenant, tmp_path: Path) -> None:
    megan, nestor = upn(tenant, "megan"), upn(tenant, "nestor")

    def change(document: dict[str, Any]) -> None:
        [review] = role(document, EXCHANGE_ADMIN)["reviews"]
        review.update(duration="P7D", auto_apply=True, default_decision="Recommendation")
        review["reviewers"] = {"people": [megan.upper(), "nestor"]}  # any case, a handle is no UPN

    file = tmp_path / "roles.yaml"
    file.write_text(edited(await export(tenant), change))
    code, console = await run(tenant, "diff", file)
    assert code == 2 and "no user 'nestor'" in console.said  # checked before anything is written
    file.write_text(
        edited(
            file.read_text(),
            lambda d: role(d, EXCHANGE_ADMIN)["reviews"][0]["reviewers"].update(
                people=[megan.upper(), nestor]
            ),
        )
    )
    code, console = await run(tenant, "diff", file, exit_code=True)
    assert code == 1
    assert "duration: P14D -> P7D" in console.said
    assert (
        f"reviewers: people {megan} -> people {megan}, {nestor}" in console.said
    )  # as Graph spells them
    assert writes(tenant) == []

    audit = Audit()
    code, console = await run(tenant, "apply", file, audit=audit)
    assert code == 0, console.said
    [definition] = twin_definitions(tenant)
    assert writes(tenant) == [("PUT", f"/v1.0{DEFINITIONS}/{definition.id}")]
    assert definition.settings["instanceDurationInDays"] == 7
    assert definition.settings["defaultDecision"] == "Recommendation"
    assert definition.settings["defaultDecisionEnabled"] is True
    assert [r["query"] for r in definition.reviewers] == [
        f"/users/{tenant.graph.tenant.user('megan').id}",
        f"/users/{tenant.graph.tenant.user('nestor').id}",
    ]
    # The running instance keeps its reviewers and end; the next one gets the new settings.
    assert definition.instances[0].reviewer_ids == [tenant.graph.tenant.user("megan").id]
    [(action, outcome, details)] = audit.entries
    assert (action, outcome, details["definition_id"]) == (
        "policy.review.update",
        "changed",
        definition.id,
    )
    # Applied once, the file and the tenant agree.
    code, console = await run(tenant, "diff", file)
    assert "No changes" in console.said


async def test_apply_creates_and_deletes_reviews_so_the_tenant_matches_the_file(
    tenant: Tenant, tmp_path: Path
) -> None:
    def change(document: dict[str, Any]) -> None:
        role(document, EXCHANGE_ADMIN)["reviews"] = []
        role(document, USER_ADMIN)["reviews"] = [
            {"every": "P90D", "duration": "P10D", "reviewers": {"group": "PIM Approvers"}}
        ]

    file = tmp_path / "roles.yaml"
    file.write_text(edited(await export(tenant), change))
    [old] = twin_definitions(tenant)
    audit = Audit()
    code, console = await run(tenant, "apply", file, audit=audit)
    assert code == 0, console.said
    assert "Changed 2 roles (0 rules, 2 access reviews)." in console.said
    [new] = twin_definitions(tenant)
    assert new.id != old.id and new.role_id == USER_ADMIN
    assert new.display_name == "User Administrator access review"
    assert new.reviewers == [
        {
            "query": f"/groups/{PIM_APPROVERS}/transitiveMembers/microsoft.graph.user",
            "queryType": "MicrosoftGraph",
        }
    ]
    assert new.settings["recurrence"]["pattern"]["type"] == "absoluteMonthly"
    assert new.settings["recurrence"]["pattern"]["interval"] == 3
    assert [(a, o) for a, o, _ in audit.entries] == [
        ("policy.review.create", "changed"),
        ("policy.review.delete", "changed"),
    ]
    # Exported again, the new review is there by its id and group, and nothing more would change.
    document = yaml.safe_load(await export(tenant))
    [review] = role(document, USER_ADMIN)["reviews"]
    assert (review["id"], review["reviewers"]) == (new.id, {"group": PIM_APPROVERS})
    assert role(document, EXCHANGE_ADMIN)["reviews"] == []


class FailingCall(httpx.AsyncBaseTransport):
    """Graph answers 500 to the first call with this method (after the others went through)."""

    def __init__(self, method: str) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._method = method
        self.failed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == self._method and not self.failed:
            self.failed = True
            return httpx.Response(
                500, json={"error": {"code": "InternalServerError", "message": "Try again."}}
            )
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_a_refusal_puts_back_the_rules_and_reviews_written_before_it(
    tenant: Tenant, tmp_path: Path
) -> None:
    """A rule, a review created, a review changed, then Graph refuses the delete: the review
    made is deleted again, the changed one put back with PUT, the rule patched back."""
    text = await export(tenant)
    [old] = twin_definitions(tenant)  # the demo review, there once the twin has been asked

    def change(document: dict[str, Any]) -> None:
        role(document, USER_ADMIN)["activation"]["maximum_duration"] = "PT1H"
        role(document, USER_ADMIN)["reviews"] = [
            {"every": "P1M", "reviewers": {"people": [upn(tenant, "megan")]}},
            {"every": "P2W", "duration": "P3D", "reviewers": {"people": [upn(tenant, "nestor")]}},
        ]
        role(document, EXCHANGE_ADMIN)["reviews"] = []

    file = tmp_path / "roles.yaml"
    file.write_text(edited(text, change))
    audit = Audit()
    code, console = await run(tenant, "apply", file, audit=audit, transport=FailingCall("DELETE"))
    assert code == 1
    assert "500 InternalServerError" in console.said
    assert "Nothing was changed" in console.said
    assert [(a, o) for a, o, _ in audit.entries] == [
        ("policy.apply", "changed"),
        ("policy.review.create", "changed"),
        ("policy.review.create", "changed"),
        ("policy.review.delete", "refused"),
        ("policy.review.create.undo", "changed"),
        ("policy.review.create.undo", "changed"),
        ("policy.apply.undo", "changed"),
    ]
    assert [d.id for d in twin_definitions(tenant)] == [old.id]
    assert await export(tenant) == text


async def test_an_update_refused_is_put_back_with_the_others(
    tenant: Tenant, tmp_path: Path
) -> None:
    text = await export(tenant)

    def change(document: dict[str, Any]) -> None:
        role(document, EXCHANGE_ADMIN)["reviews"][0]["duration"] = "P5D"
        role(document, EXCHANGE_ADMIN)["reviews"].append(
            {"every": "P1M", "reviewers": {"people": [upn(tenant, "megan")]}}
        )

    file = tmp_path / "roles.yaml"
    file.write_text(edited(text, change))
    code, console = await run(tenant, "apply", file, audit=Audit(), transport=FailingCall("PUT"))
    assert code == 1, console.said
    assert await export(tenant) == text


@pytest.mark.parametrize(
    ("review", "message"),
    [
        (
            {"every": "P1M", "reviewers": {"other": [{"query": "/applications/x/owners"}]}},
            "reviewers it has no word for",
        ),
        (
            {"every": "P1M", "reviewers": {"people": ["x"], "managers": True}},
            "managers review alone",
        ),
        ({"every": "P1M", "reviewers": {}}, "name the reviewers"),
        ({"every": "P45D", "reviewers": {"people": ["x"]}}, "weeks or months"),
        ({"every": "P1W", "duration": "P14D", "reviewers": {"people": ["x"]}}, "must end before"),
        ({"every": "P1M", "reviewers": {"group": "No Such Group"}}, "no group called"),
        (
            {
                "id": "00000000-0000-0000-0000-000000000001",
                "every": "P1M",
                "reviewers": {"people": ["x"]},
            },
            "not a running access review of this role",
        ),
        ({"every": "P1M", "reviewers": {"people": ["x"]}, "surprise": 1}, "surprise"),
    ],
)
async def test_a_review_pimbot_cannot_make_is_refused_before_anything_is_written(
    tenant: Tenant, tmp_path: Path, review: dict[str, Any], message: str
) -> None:
    file = tmp_path / "roles.yaml"
    file.write_text(
        edited(await export(tenant), lambda d: role(d, USER_ADMIN).update(reviews=[review]))
    )
    code, console = await run(tenant, "apply", file, audit=Audit())
    assert code == 2, console.said
    assert message in console.said
    assert writes(tenant) == [] and tenant.patches() == []


async def test_reviewers_graph_cannot_change_in_place_are_refused_with_what_to_do(
    tenant: Tenant, tmp_path: Path
) -> None:
    file = tmp_path / "roles.yaml"
    file.write_text(
        edited(
            await export(tenant),
            lambda d: role(d, EXCHANGE_ADMIN)["reviews"][0].update(
                reviewers={"group": PIM_APPROVERS}
            ),
        )
    )
    code, console = await run(tenant, "apply", file, audit=Audit())
    assert code == 2
    assert "leave out the review's `id`" in console.said
    assert writes(tenant) == []


async def test_a_role_without_reviews_in_the_file_keeps_its_reviews(
    tenant: Tenant, tmp_path: Path
) -> None:
    file = tmp_path / "roles.yaml"
    file.write_text(edited(await export(tenant), lambda d: role(d, EXCHANGE_ADMIN).pop("reviews")))
    code, console = await run(tenant, "apply", file, audit=Audit())
    assert code == 0 and "No changes" in console.said
    assert len(twin_definitions(tenant)) == 1


async def test_the_twin_refuses_a_put_of_group_reviewers_as_graph_documents(
    tenant: Tenant,
) -> None:
    """The twin's PUT keeps to Graph's rule: reviewers change in place only when individual
    users review (what pimbot's plan checks first)."""
    await export(tenant)  # the demo review exists once the twin has been asked
    [definition] = twin_definitions(tenant)
    http = tenant.client(admin_token(tenant))
    body = {
        "displayName": definition.display_name,
        "scope": definition.scope,
        "reviewers": [
            {"query": f"/groups/{PIM_APPROVERS}/transitiveMembers", "queryType": "MicrosoftGraph"}
        ],
        "settings": definition.settings,
    }
    with pytest.raises(GraphError) as refused:
        await http.request("PUT", http.url(f"{DEFINITIONS}/{definition.id}"), json=body)
    await http.aclose()
    assert refused.value.status == 400
    assert "only updatable if individual users" in refused.value.message


class TenantOnly:
    """`ReviewDefinitions` that only reads and resolves (a plan writes nothing)."""

    def __init__(self, reviews: list[TenantReview]) -> None:
        self.reviews = reviews

    async def read_all(self) -> list[TenantReview]:
        return self.reviews

    async def resolve(self, reviewers: ReviewersEntry) -> ReviewersEntry:
        return reviewers

    async def create(self, role_id: str, role_name: str, entry: ReviewEntry) -> TenantReview:
        raise AssertionError("a plan writes nothing")

    async def update(self, before: TenantReview, after: ReviewEntry, role_name: str) -> None:
        raise AssertionError("a plan writes nothing")

    async def put_back(self, before: TenantReview) -> None:
        raise AssertionError("a plan writes nothing")

    async def delete(self, review: TenantReview) -> None:
        raise AssertionError("a plan writes nothing")

    async def restore(self, review: TenantReview) -> TenantReview:
        raise AssertionError("a plan writes nothing")


async def test_a_review_by_managers_with_a_fallback_group_is_created_and_round_trips(
    tenant: Tenant, tmp_path: Path
) -> None:
    """Managers review their own people; the Security Leads review those without a manager."""

    def change(document: dict[str, Any]) -> None:
        role(document, USER_ADMIN)["reviews"] = [
            {
                "every": "P1M",
                "duration": "P7D",
                "reviewers": {"managers": True, "fallback_group": "Security Leads"},
            }
        ]

    file = tmp_path / "roles.yaml"
    file.write_text(edited(await export(tenant), change))
    code, console = await run(tenant, "apply", file, audit=Audit())
    assert code == 0, console.said
    [new] = [d for d in twin_definitions(tenant) if d.role_id == USER_ADMIN]
    assert new.reviewers == [
        {"query": "./manager", "queryType": "MicrosoftGraph", "queryRoot": "decisions"}
    ]
    leads = tenant.graph.tenant.group("Security Leads").id
    assert [r["query"] for r in new.fallback_reviewers] == [
        f"/groups/{leads}/transitiveMembers/microsoft.graph.user"
    ]
    document = yaml.safe_load(await export(tenant))
    [review] = role(document, USER_ADMIN)["reviews"]
    assert review["reviewers"] == {"managers": True, "fallback_group": leads}
    file.write_text(yaml.safe_dump(document, sort_keys=False))
    before = writes(tenant)
    code, console = await run(tenant, "apply", file, audit=Audit())
    assert (code, writes(tenant)) == (0, before), console.said  # a round trip writes nothing


BY_MANAGERS = ReviewEntry(
    id="d1",
    name="Exchange Administrator access review",
    every="P1M",
    reviewers=ReviewersEntry(managers=True, fallback=("megan@contoso.example",)),
)


async def test_reviews_by_a_kind_pimbot_does_not_run_are_kept_but_not_changed() -> None:
    """A review made elsewhere by reviewers a pimbot does not run in Teams is exported and
    kept as it is; changing one, or making one, is refused."""
    tenant = TenantOnly([TenantReview(EXCHANGE_ADMIN, BY_MANAGERS, {})])
    declared = [DeclaredReviews(EXCHANGE_ADMIN, "Exchange Administrator", (BY_MANAGERS,))]
    assert await plan_reviews(declared, tenant.reviews, tenant, supported=frozenset()) == []
    longer = BY_MANAGERS.model_copy(update={"duration": "P21D"})
    with pytest.raises(ReviewPlanError, match="cannot run reviews by managers"):
        await plan_reviews(
            [DeclaredReviews(EXCHANGE_ADMIN, "Exchange Administrator", (longer,))],
            tenant.reviews,
            tenant,
            supported=frozenset({"people", "group"}),
        )
    # This pimbot runs them: the same change is planned as an update in place.
    [update] = await plan_reviews(
        [DeclaredReviews(EXCHANGE_ADMIN, "Exchange Administrator", (longer,))],
        tenant.reviews,
        tenant,
    )
    assert (update.action, [c.setting for c in update.changes]) == ("update", ["duration"])
