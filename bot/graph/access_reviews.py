"""Access reviews over Graph (`identityGovernance/accessReviews`, v1.0): the reads and writes of
`bot.governance.reviews.ports`.

Who writes a decision, per Microsoft's permission tables:
- updating a decision item (`PATCH .../decisions/{id}`) is delegated only, by a reviewer of the
  item: the pim engine writes it with the reviewer's own token, so Graph records the reviewer;
- `batchRecordDecisions` also takes application permissions: the bot engine writes with the app's
  token for the item's principal, so Graph records pimbot's app as the reviewer and pimbot's own
  audit log names the person who decided.

A review of a directory role is scoped the documented way
(https://learn.microsoft.com/graph/accessreviews-scope-concept): a
`principalResourceMembershipsScope` of `/users` on `/roleManagement/directory/roleDefinitions/{id}`
covers the role's eligible and active assignments. Graph repeats access reviews weekly or
monthly only (`recurrencePattern` types `weekly` and `absoluteMonthly`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import Field

from bot.domain import Person, Role
from bot.governance.domain import (
    Decision,
    NamedGroup,
    ReviewByGroup,
    ReviewByManagers,
    ReviewByPeople,
    ReviewDefinitionInfo,
    ReviewInstance,
    ReviewItem,
    ReviewSpec,
    decision_of,
    recommendation_of,
)
from bot.graph.assignments import ASSIGNMENT_REQUESTS
from bot.graph.errors import GraphError
from bot.graph.http import GraphHttp
from bot.graph.models import GraphModel
from bot.graph.odata import odata_string, path_segment

DEFINITIONS = "/identityGovernance/accessReviews/definitions"
ROLE_DEFINITION_QUERY = "/roleManagement/directory/roleDefinitions/"
MANAGER_QUERY = "./manager"
MANAGER_LOOKUPS = 8  # concurrent GET /users/{id}/manager when a review by managers starts
PAGE = 100  # the decisions API's documented default and a safe $top
# What the pim engine asks a reviewer to delegate to write their decisions.
REVIEWER_DELEGATED_SCOPES = ("AccessReview.ReadWrite.All",)


class NotARecurrence(ValueError):
    """Graph repeats access reviews weekly or monthly: `every N days` must be one of those."""


def recurrence_pattern(every_days: int, start: datetime) -> dict[str, Any]:
    """Every 30·k days is `absoluteMonthly` every k months; every 7·k days is `weekly`."""
    if every_days >= 30 and every_days % 30 == 0:
        return {"type": "absoluteMonthly", "interval": every_days // 30, "dayOfMonth": start.day}
    if every_days >= 7 and every_days % 7 == 0:
        return {"type": "weekly", "interval": every_days // 7}
    raise NotARecurrence(
        "Microsoft Entra repeats access reviews every so many weeks or months: say every 7, 14, "
        "… days (weeks) or every 30, 60, 90, … days (months)."
    )


class _Identity(GraphModel):
    id: str | None = None
    display_name: str | None = None
    user_principal_name: str | None = None


class _Insight(GraphModel):
    odata_type: str | None = Field(default=None, alias="@odata.type")
    last_sign_in_date_time: datetime | None = None


class _Resource(GraphModel):
    id: str | None = None
    display_name: str | None = None


class DecisionItem(GraphModel):
    """`accessReviewInstanceDecisionItem`, the fields pimbot reads."""

    id: str
    decision: str | None = None
    recommendation: str | None = None
    justification: str | None = None
    reviewed_by: _Identity | None = None
    reviewed_date_time: datetime | None = None
    apply_result: str | None = None
    principal: _Identity | None = None
    resource: _Resource | None = None
    insights: list[_Insight] = Field(default_factory=list)


class InstanceJson(GraphModel):
    id: str
    start_date_time: datetime
    end_date_time: datetime
    status: str


class _QueryScope(GraphModel):
    query: str | None = None


class ReviewerScope(GraphModel):
    """`accessReviewReviewerScope`: who reviews. `./manager` with `queryRoot` `decisions` is
    each reviewed person's manager; `/users/{id}` one person; `/groups/{id}/transitiveMembers`
    (or `/members`) a group's members."""

    query: str = ""
    query_root: str | None = None
    query_type: str | None = None

    @property
    def is_manager(self) -> bool:
        return self.query.strip().lower() == MANAGER_QUERY and (
            (self.query_root or "").lower() == "decisions"
        )


class InstanceReviewers(GraphModel):
    """An instance's `reviewers` and `fallbackReviewers`."""

    reviewers: list[ReviewerScope] = Field(default_factory=list)
    fallback_reviewers: list[ReviewerScope] = Field(default_factory=list)


class _Scope(GraphModel):
    query: str | None = None
    resource_scopes: list[_QueryScope] = Field(default_factory=list)


class DefinitionJson(GraphModel):
    id: str
    display_name: str = ""
    status: str = ""
    scope: _Scope | None = None

    @property
    def role_id(self) -> str | None:
        queries = [self.scope.query] if self.scope else []
        queries += [s.query for s in self.scope.resource_scopes] if self.scope else []
        for query in queries:
            if query and query.lower().startswith(ROLE_DEFINITION_QUERY.lower()):
                return query[len(ROLE_DEFINITION_QUERY) :].strip("/")
        return None


class _Activation(GraphModel):
    principal_id: str
    status: str | None = None
    created_date_time: datetime | None = None


class GraphAccessReviews:
    """`ReviewReads` and `ReviewWrites` over one `GraphHttp`: the app's, or (`delegated=True`) a
    reviewer's own, which records decisions by PATCH as that reviewer."""

    def __init__(
        self,
        http: GraphHttp,
        *,
        tenant_id: str,
        now: Callable[[], datetime],
        delegated: bool = False,
    ) -> None:
        self._http = http
        self._now = now
        self._tenant_id = tenant_id
        self._delegated = delegated

    # --- reads ---------------------------------------------------------------------------------

    async def definitions(self) -> list[ReviewDefinitionInfo]:
        found = []
        async for item in self._http.get_all(DEFINITIONS, {"$top": PAGE}):
            definition = DefinitionJson.model_validate(item)
            found.append(
                ReviewDefinitionInfo(
                    definition_id=definition.id,
                    display_name=definition.display_name,
                    role_id=definition.role_id,
                    status=definition.status,
                )
            )
        return found

    async def instances(self, definition_id: str) -> list[ReviewInstance]:
        definition = DefinitionJson.model_validate(
            await self._http.get_json(f"{DEFINITIONS}/{path_segment(definition_id)}")
        )
        role = await self._role(definition.role_id)
        found = [
            _instance(definition, role, InstanceJson.model_validate(item))
            async for item in self._http.get_all(
                f"{DEFINITIONS}/{path_segment(definition_id)}/instances", {"$top": PAGE}
            )
        ]
        return sorted(found, key=lambda i: i.start)

    async def instance(self, definition_id: str, instance_id: str) -> ReviewInstance | None:
        try:
            definition = DefinitionJson.model_validate(
                await self._http.get_json(f"{DEFINITIONS}/{path_segment(definition_id)}")
            )
            item = await self._http.get_json(_instance_path(definition_id, instance_id))
        except GraphError as exc:
            if exc.status == 404:
                return None
            raise
        role = await self._role(definition.role_id)
        return _instance(definition, role, InstanceJson.model_validate(item))

    async def items(self, instance: ReviewInstance) -> list[ReviewItem]:
        path = f"{_instance_path(instance.definition_id, instance.instance_id)}/decisions"
        raw = [
            DecisionItem.model_validate(item)
            async for item in self._http.get_all(path, {"$expand": "insights", "$top": PAGE})
        ]
        activations = await self._last_activations(instance.role.id)
        return [self._item(item, activations) for item in raw]

    async def item(self, instance: ReviewInstance, item_id: str) -> ReviewItem | None:
        """One decision item as Graph has it now (without the last activation)."""
        path = (
            f"{_instance_path(instance.definition_id, instance.instance_id)}"
            f"/decisions/{path_segment(item_id)}"
        )
        try:
            raw = DecisionItem.model_validate(await self._http.get_json(path))
        except GraphError as exc:
            if exc.status == 404:
                return None
            raise
        return self._item(raw, {})

    async def reviewers(self, instance: ReviewInstance) -> list[Person]:
        """The reviewers Graph contacted for the instance (`contactedReviewers`)."""
        path = f"{_instance_path(instance.definition_id, instance.instance_id)}/contactedReviewers"
        people = []
        async for item in self._http.get_all(path, {"$top": PAGE}):
            reviewer = _Identity.model_validate(item)
            if reviewer.id:
                people.append(
                    Person(
                        id=reviewer.id,
                        tenant_id=self._tenant_id,
                        display_name=reviewer.display_name or reviewer.id,
                        upn=reviewer.user_principal_name or "",
                    )
                )
        return people

    async def reviewer_of(self, instance: ReviewInstance) -> dict[str, tuple[str, ...]]:
        """Who reviews each principal's items, when that differs per item: with a `./manager`
        reviewer scope, the principal's manager (`GET /users/{id}/manager`), or the fallback
        reviewers when they have none, plus any static reviewers. Keys are lower-case
        principal ids. Empty when every contacted reviewer reviews every item."""
        scopes = InstanceReviewers.model_validate(
            await self._http.get_json(
                _instance_path(instance.definition_id, instance.instance_id),
                {"$select": "id,reviewers,fallbackReviewers"},
            )
        )
        if not any(scope.is_manager for scope in scopes.reviewers):
            return {}
        static = await self._scope_users([s for s in scopes.reviewers if not s.is_manager])
        fallback = await self._scope_users(scopes.fallback_reviewers)
        path = f"{_instance_path(instance.definition_id, instance.instance_id)}/decisions"
        principals: list[str] = []
        async for raw in self._http.get_all(path, {"$select": "id,principal", "$top": PAGE}):
            principal = DecisionItem.model_validate(raw).principal
            if principal is not None and principal.id and principal.id not in principals:
                principals.append(principal.id)
        # One GET per person, a few at a time (GraphHttp waits out throttling).
        gate = asyncio.Semaphore(MANAGER_LOOKUPS)

        async def manager(principal_id: str) -> str | None:
            async with gate:
                return await self.manager_of(principal_id)

        managers = await asyncio.gather(*(manager(p) for p in principals))
        return {
            principal_id.lower(): tuple(dict.fromkeys([*static, *([found] if found else fallback)]))
            for principal_id, found in zip(principals, managers, strict=True)
        }

    async def manager_of(self, user_id: str) -> str | None:
        """The user's manager's id; None when they have none (Graph answers 404)."""
        try:
            item = await self._http.get_json(
                f"/users/{path_segment(user_id)}/manager", {"$select": "id"}
            )
        except GraphError as exc:
            if exc.status == 404:
                return None
            raise
        found = item.get("id")
        return str(found) if found else None

    async def _scope_users(self, scopes: list[ReviewerScope]) -> list[str]:
        """The users static reviewer scopes name: `/users/{id}` and group members."""
        ids: list[str] = []
        for scope in scopes:
            parts = [p for p in scope.query.split("?")[0].split("/") if p]
            if len(parts) == 2 and parts[0].lower() == "users":
                ids.append(parts[1])
            elif len(parts) >= 3 and parts[0].lower() == "groups":
                path = f"/groups/{path_segment(parts[1])}/transitiveMembers/microsoft.graph.user"
                async for item in self._http.get_all(path, {"$select": "id", "$top": 999}):
                    if item.get("id"):
                        ids.append(str(item["id"]))
        return list(dict.fromkeys(ids))

    async def groups_named(self, ref: str) -> list[NamedGroup]:
        """Groups whose id or display name is `ref` (display names need not be unique)."""
        ref = ref.strip()
        if _is_guid(ref):
            try:
                item = await self._http.get_json(
                    f"/groups/{path_segment(ref)}", {"$select": "id,displayName"}
                )
            except GraphError as exc:
                if exc.status == 404:
                    return []
                raise
            return [_named_group(item)]
        params: dict[str, str | int] = {
            "$filter": f"displayName eq {odata_string(ref)}",
            "$select": "id,displayName",
            "$top": 25,
        }
        return [_named_group(item) async for item in self._http.get_all("/groups", params)]

    def _item(self, item: DecisionItem, activations: dict[str, datetime]) -> ReviewItem:
        principal = item.principal or _Identity()
        principal_id = principal.id or ""
        sign_ins = [i.last_sign_in_date_time for i in item.insights if i.last_sign_in_date_time]
        reviewer = item.reviewed_by
        reviewed = reviewer is not None and bool(reviewer.display_name) and bool(reviewer.id)
        return ReviewItem(
            item_id=item.id,
            principal=Person(
                id=principal_id,
                tenant_id=self._tenant_id,
                display_name=principal.display_name or principal_id,
                upn=principal.user_principal_name or "",
            ),
            recommendation=recommendation_of(item.recommendation),
            decision=decision_of(item.decision),
            reviewed_by=reviewer.display_name if reviewed and reviewer else None,
            reviewed_by_id=reviewer.id if reviewed and reviewer else None,
            reviewed_at=item.reviewed_date_time if reviewed else None,
            justification=item.justification or "",
            last_sign_in=max(sign_ins) if sign_ins else None,
            last_activation=activations.get(principal_id),
            applied=item.apply_result or "New",
        )

    async def _last_activations(self, role_id: str) -> dict[str, datetime]:
        """PIM's record of each principal's latest activation of the role."""
        params: dict[str, str | int] = {
            "$filter": f"action eq 'selfActivate' and roleDefinitionId eq {odata_string(role_id)}",
            "$select": "principalId,status,createdDateTime",
            "$top": 999,
        }
        latest: dict[str, datetime] = {}
        try:
            async for item in self._http.get_all(ASSIGNMENT_REQUESTS, params):
                activation = _Activation.model_validate(item)
                when = activation.created_date_time
                if when is None or activation.status in ("Denied", "Failed", "Canceled"):
                    continue
                if activation.principal_id not in latest or latest[activation.principal_id] < when:
                    latest[activation.principal_id] = when
        except GraphError as exc:
            if exc.status not in (400, 403):
                raise
        return latest

    async def _role(self, role_id: str | None) -> Role:
        if not role_id:
            return Role(id="", display_name="(not a role review)")
        try:
            item = await self._http.get_json(
                f"/roleManagement/directory/roleDefinitions/{path_segment(role_id)}",
                {"$select": "id,displayName,description"},
            )
        except GraphError as exc:
            if exc.status != 404:
                raise
            return Role(id=role_id, display_name=role_id)
        return Role(
            id=role_id,
            display_name=str(item.get("displayName") or role_id),
            description=str(item.get("description") or ""),
        )

    # --- writes --------------------------------------------------------------------------------

    async def create(self, spec: ReviewSpec) -> ReviewDefinitionInfo:
        body = definition_body(spec, start=self._now())
        created, _ = await self._http.post_json(DEFINITIONS, body)
        definition = DefinitionJson.model_validate(created)
        return ReviewDefinitionInfo(
            definition_id=definition.id,
            display_name=definition.display_name,
            role_id=definition.role_id,
            status=definition.status,
        )

    async def record(
        self,
        instance: ReviewInstance,
        item: ReviewItem,
        decision: Decision,
        justification: str,
    ) -> None:
        base = _instance_path(instance.definition_id, instance.instance_id)
        body = {"decision": decision.value, "justification": justification}
        if self._delegated:
            await self._http.patch_json(f"{base}/decisions/{path_segment(item.item_id)}", body)
            return
        await self._http.post_json(
            f"{base}/batchRecordDecisions", {**body, "principalId": item.principal.id}
        )

    async def send_reminder(self, instance: ReviewInstance) -> None:
        await self._action(instance, "sendReminder")

    async def stop(self, instance: ReviewInstance) -> None:
        await self._action(instance, "stop")

    async def apply(self, instance: ReviewInstance) -> None:
        await self._action(instance, "applyDecisions")

    async def _action(self, instance: ReviewInstance, name: str) -> None:
        await self._http.post_json(
            f"{_instance_path(instance.definition_id, instance.instance_id)}/{name}", {}
        )


def role_review_scope(role_id: str) -> dict[str, Any]:
    """An access review's `scope` over the users assigned a directory role (eligible and
    active), as Graph documents it for PIM role reviews."""
    query_scope = "#microsoft.graph.accessReviewQueryScope"
    return {
        "@odata.type": "#microsoft.graph.principalResourceMembershipsScope",
        "principalScopes": [
            {"@odata.type": query_scope, "query": "/users", "queryType": "MicrosoftGraph"}
        ],
        "resourceScopes": [
            {
                "@odata.type": query_scope,
                "query": f"{ROLE_DEFINITION_QUERY}{role_id}",
                "queryType": "MicrosoftGraph",
            }
        ],
    }


def definition_body(spec: ReviewSpec, *, start: datetime) -> dict[str, Any]:
    """The `accessReviewScheduleDefinition` pimbot creates for `review ROLE every N days`."""
    role = spec.role
    reviewers, fallback = reviewer_scopes(spec)
    default = spec.default_decision
    return {
        "displayName": f"{role.display_name} access review",
        "descriptionForAdmins": (
            f"Who still needs {role.display_name}? Eligible and active assignments, every "
            f"{spec.every_days} days. Created by pimbot, which brings reviewers their decisions "
            "in Teams."
        ),
        "descriptionForReviewers": (
            f"Does each of these people still need {role.display_name}? Remove what is no longer "
            "needed; removed access can be asked for again."
        ),
        "scope": role_review_scope(role.id),
        "reviewers": reviewers,
        **({"fallbackReviewers": fallback} if fallback else {}),
        "settings": {
            "mailNotificationsEnabled": True,
            "reminderNotificationsEnabled": True,
            "justificationRequiredOnApproval": False,
            "defaultDecisionEnabled": default is not None,
            "defaultDecision": default.value if default is not None else "None",
            "instanceDurationInDays": spec.duration_days,
            "autoApplyDecisionsEnabled": spec.auto_apply,
            "recommendationsEnabled": spec.recommendations,
            "recurrence": {
                "pattern": recurrence_pattern(spec.every_days, start),
                "range": {"type": "noEnd", "startDate": start.date().isoformat()},
            },
        },
    }


def reviewer_scopes(spec: ReviewSpec) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`reviewers` and `fallbackReviewers` as Microsoft documents them
    (https://learn.microsoft.com/graph/accessreviews-reviewers-concept)."""
    chosen = spec.reviewers
    if isinstance(chosen, ReviewByManagers):
        manager = {"query": MANAGER_QUERY, "queryType": "MicrosoftGraph", "queryRoot": "decisions"}
        return [manager], _static_scopes(chosen.fallback) if chosen.fallback else []
    return _static_scopes(chosen), []


def _static_scopes(chosen: ReviewByPeople | ReviewByGroup) -> list[dict[str, Any]]:
    if isinstance(chosen, ReviewByGroup):
        return [
            {
                "query": f"/groups/{chosen.group_id}/transitiveMembers",
                "queryType": "MicrosoftGraph",
            }
        ]
    return [
        {"query": f"/users/{user_id}", "queryType": "MicrosoftGraph"} for user_id in chosen.user_ids
    ]


def _is_guid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True


def _named_group(item: dict[str, Any]) -> NamedGroup:
    return NamedGroup(id=str(item["id"]), display_name=str(item.get("displayName") or item["id"]))


def _instance_path(definition_id: str, instance_id: str) -> str:
    return f"{DEFINITIONS}/{path_segment(definition_id)}/instances/{path_segment(instance_id)}"


def _instance(definition: DefinitionJson, role: Role, item: InstanceJson) -> ReviewInstance:
    return ReviewInstance(
        definition_id=definition.id,
        instance_id=item.id,
        display_name=definition.display_name,
        role=role,
        start=item.start_date_time,
        end=item.end_date_time,
        status=item.status,
    )
