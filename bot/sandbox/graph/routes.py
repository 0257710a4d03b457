"""The Graph twin's resources: which path and method does what, and how collections are
filtered, expanded, selected and paged. Transport-free: a `GraphRequest` in, a `GraphResponse`
out, so that `$batch` runs sub-requests through exactly the same code as direct calls."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from yarl import URL

from bot.sandbox.graph import shapes
from bot.sandbox.graph.auth import (
    READ_ASSIGNMENTS,
    READ_AUDIT,
    READ_DIRECT_ASSIGNMENTS,
    READ_ELIGIBILITIES,
    READ_GROUPS,
    READ_POLICIES,
    READ_ROLE_DEFINITIONS,
    READ_USERS,
    WRITE_ASSIGNMENT_REQUESTS,
    Caller,
)
from bot.sandbox.graph.errors import (
    GraphHttpError,
    bad_request,
    directory_not_found,
    not_found,
    unknown_segment,
)
from bot.sandbox.graph.odata import (
    Expand,
    Query,
    check_expandable,
    check_filterable,
    check_selectable,
    equality_value,
    matches,
    paginate,
    parse_query,
    project,
)
from bot.sandbox.graph.pim import Pim
from bot.sandbox.graph.shapes import Json
from bot.sandbox.graph.state import Schedule
from bot.sandbox.tenant import TenantUser

if TYPE_CHECKING:
    from bot.sandbox.graph.teamwork import TeamsAppInstalls

GRAPH_VERSIONS = ("v1.0", "beta")


@dataclass(frozen=True)
class GraphRequest:
    method: str
    version: str  # "v1.0" or "beta"
    path: str  # below the version, e.g. "/users/adele@contoso.example"
    query: Mapping[str, str]
    body: Any
    caller: Caller
    url: URL  # the absolute URL as called, for @odata.context and nextLink

    @property
    def service_root(self) -> str:
        return str(self.url.origin()) + f"/{self.version}"


@dataclass
class GraphResponse:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def changes_state(self) -> bool:
        return self.status < 400


Handler = Callable[["GraphResources", GraphRequest, "re.Match[str]"], GraphResponse]
Expander = Callable[[Json, Expand], Any]


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    versions: tuple[str, ...]
    mutates: bool


_ROUTES: list[_Route] = []
_ID = r"(?P<id>[^/()]+)"


def _route(
    method: str, pattern: str, *, versions: tuple[str, ...] = GRAPH_VERSIONS
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _ROUTES.append(
            _Route(
                method,
                re.compile(pattern + "/?", re.IGNORECASE),
                handler,
                versions,
                method != "GET",
            )
        )
        return handler

    return register


def _known_segments(version: str) -> set[str]:
    words: set[str] = set()
    for known in _ROUTES:
        if version in known.versions:
            for part in known.pattern.pattern.split("/"):
                if re.fullmatch(r"[A-Za-z$.]+", part):
                    words.add(part.lower())
    return words


class GraphResources:
    """Every Graph resource the twin serves, over one tenant and one PIM state."""

    def __init__(self, pim: Pim, page_size: int) -> None:
        self.pim = pim
        self.tenant = pim.tenant
        self.page_size = page_size
        self.teamwork: TeamsAppInstalls | None = None  # users' Teams apps (teamwork.py)

    def dispatch(self, request: GraphRequest) -> tuple[GraphResponse, bool]:
        """The response, and whether the call may have changed state."""
        allowed_methods = []
        for known in _ROUTES:
            if request.version not in known.versions:
                continue
            match = known.pattern.fullmatch(request.path)
            if match is None:
                continue
            if known.method != request.method:
                allowed_methods.append(known.method)
                continue
            return known.handler(self, request, match), known.mutates
        if allowed_methods:
            raise GraphHttpError(
                405,
                "Request_BadRequest",
                f"The HTTP method '{request.method}' is not allowed for this resource.",
                headers={"Allow": ", ".join(sorted(set(allowed_methods)))},
            )
        known_words = _known_segments(request.version)
        segments = [s for s in request.path.split("/") if s]
        unknown = next((s for s in segments if s.lower() not in known_words), None)
        raise unknown_segment(unknown or (segments[-1] if segments else ""))

    # --- shared machinery ----------------------------------------------------------------------

    def _expanders(self) -> dict[str, Expander]:
        return {
            "roleDefinition": lambda item, _: self._role_json(item.get("roleDefinitionId")),
            "principal": lambda item, _: shapes.directory_object(
                self.tenant, str(item.get("principalId"))
            ),
        }

    def _role_json(self, role_id: object) -> Json | None:
        try:
            return shapes.role_definition(self.tenant.role(str(role_id)))
        except KeyError:
            return None

    def _apply_expand(
        self, item: Json, chosen: Mapping[str, Expand], expanders: Mapping[str, Expander]
    ) -> Json:
        expanded = dict(item)
        for name, option in chosen.items():
            value = expanders[name](item, option)
            if option.select is not None and isinstance(value, dict):
                value = project(value, option.select)
            expanded[name] = value
        return expanded

    def collection(
        self,
        request: GraphRequest,
        context: str,
        items: Sequence[Json],
        *,
        properties: Sequence[str],
        type_name: str,
        filterable: Sequence[str] | None = None,
        expanders: Mapping[str, Expander] | None = None,
        query: Query | None = None,
    ) -> GraphResponse:
        query = query or parse_query(request.query)
        check_filterable(query.filter, filterable or properties, type_name)
        check_selectable(query.select, properties, type_name)
        expanders = expanders or {}
        chosen = check_expandable(query.expand, expanders, type_name)
        selected = [item for item in items if matches(item, query.filter)]
        page = paginate(selected, query, self.page_size, request.url)
        values = [
            project(self._apply_expand(item, chosen, expanders), _with_expanded(query, chosen))
            for item in page.items
        ]
        body: Json = {"@odata.context": f"{request.service_root}/$metadata#{context}"}
        if query.count:
            body["@odata.count"] = page.total
        body["value"] = values
        if page.next_link:
            body["@odata.nextLink"] = page.next_link
        return GraphResponse(200, body)

    def entity(
        self,
        request: GraphRequest,
        context: str,
        item: Json,
        *,
        properties: Sequence[str],
        type_name: str,
        expanders: Mapping[str, Expander] | None = None,
        status: int = 200,
    ) -> GraphResponse:
        query = parse_query(request.query)
        if query.filter or query.top or query.offset:
            raise bad_request("$filter, $top and $skiptoken apply to collections only.")
        check_selectable(query.select, properties, type_name)
        expanders = expanders or {}
        chosen = check_expandable(query.expand, expanders, type_name)
        body = {
            "@odata.context": f"{request.service_root}/$metadata#{context}/$entity",
            **project(self._apply_expand(item, chosen, expanders), _with_expanded(query, chosen)),
        }
        return GraphResponse(status, body)

    def _find(self, items: Sequence[Json], object_id: str, what: str) -> Json:
        for item in items:
            if str(item.get("id", "")).lower() == object_id.lower():
                return item
        raise not_found(f"The {what} '{object_id}' does not exist.")

    def _current_user(self, request: GraphRequest, on: str, allowed: tuple[str, ...]) -> str:
        if on.lower() not in allowed:
            raise bad_request(f"The value '{on}' of 'on' is not supported here.")
        return request.caller.require_user()

    # --- role definitions ----------------------------------------------------------------------

    def _role_definitions(self) -> list[Json]:
        return [shapes.role_definition(role) for role in self.tenant.roles]

    @_route("GET", "/roleManagement/directory/roleDefinitions")
    def list_role_definitions(self, request: GraphRequest, _: re.Match[str]) -> GraphResponse:
        request.caller.require(READ_ROLE_DEFINITIONS)
        return self.collection(
            request,
            "roleManagement/directory/roleDefinitions",
            self._role_definitions(),
            properties=shapes.ROLE_DEFINITION_PROPERTIES,
            filterable=("id", "displayName", "isBuiltIn", "templateId"),
            type_name="unifiedRoleDefinition",
        )

    @_route("GET", f"/roleManagement/directory/roleDefinitions/{_ID}")
    def get_role_definition(self, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
        request.caller.require(READ_ROLE_DEFINITIONS)
        try:
            role = self.tenant.role(match["id"])
        except KeyError:
            raise directory_not_found(match["id"]) from None
        if role.id.lower() != match["id"].lower():
            raise directory_not_found(match["id"])  # by id only, not by name
        return self.entity(
            request,
            "roleManagement/directory/roleDefinitions",
            shapes.role_definition(role),
            properties=shapes.ROLE_DEFINITION_PROPERTIES,
            type_name="unifiedRoleDefinition",
        )

    # --- schedules and instances ---------------------------------------------------------------

    def _in_force(self, kind: str) -> list[Schedule]:
        now = self.pim.now()
        return [s for s in self.pim.state.schedules if s.kind == kind and s.in_force(now)]

    def _live(self, kind: str) -> list[Schedule]:
        now = self.pim.now()
        return [s for s in self.pim.state.schedules if s.kind == kind and not s.ended(now)]

    def _eligibility_instances(self) -> list[Json]:
        return [shapes.eligibility_instance(s) for s in self._in_force("eligibility")]

    def _assignment_instances(self) -> list[Json]:
        return [shapes.assignment_instance(s) for s in self._in_force("assignment")]

    def _instance_expanders(self) -> dict[str, Expander]:
        def activated_using(item: Json, _: Expand) -> Json | None:
            schedule = next(
                (s for s in self._in_force("assignment") if s.assignment_id == item["id"]), None
            )
            if schedule is None or schedule.activated_using is None:
                return None
            eligibility = next(
                (s for s in self._in_force("eligibility") if s.id == schedule.activated_using),
                None,
            )
            return shapes.eligibility_instance(eligibility) if eligibility else None

        return {**self._expanders(), "activatedUsing": activated_using}

    def _schedules_response(
        self,
        request: GraphRequest,
        match: re.Match[str],
        *,
        entity_set: str,
        items: list[Json],
        properties: Sequence[str],
        type_name: str,
        expanders: Mapping[str, Expander] | None = None,
    ) -> GraphResponse:
        context = f"roleManagement/directory/{entity_set}"
        on = match.groupdict().get("on")
        if on is not None:
            user_id = self._current_user(request, on, ("principal",))
            items = [i for i in items if str(i["principalId"]).lower() == user_id.lower()]
            context = f"Collection(microsoft.graph.{type_name})"
            items = [{"@odata.type": f"#microsoft.graph.{type_name}", **i} for i in items]
        object_id = match.groupdict().get("id")
        if object_id is not None:
            item = self._find(items, object_id, type_name)
            return self.entity(
                request,
                context,
                item,
                properties=properties,
                type_name=type_name,
                expanders=expanders or self._expanders(),
            )
        return self.collection(
            request,
            context,
            items,
            properties=properties,
            type_name=type_name,
            expanders=expanders or self._expanders(),
        )

    _BY_USER = r"/filterByCurrentUser\(on='(?P<on>\w+)'\)"

    @_route("GET", "/roleManagement/directory/roleEligibilityScheduleInstances")
    @_route("GET", f"/roleManagement/directory/roleEligibilityScheduleInstances/{_ID}")
    @_route("GET", "/roleManagement/directory/roleEligibilityScheduleInstances" + _BY_USER)
    def eligibility_instances(self, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
        request.caller.require(READ_ELIGIBILITIES)
        return self._schedules_response(
            request,
            match,
            entity_set="roleEligibilityScheduleInstances",
            items=self._eligibility_instances(),
            properties=shapes.ELIGIBILITY_INSTANCE_PROPERTIES,
            type_name="unifiedRoleEligibilityScheduleInstance",
        )

    @_route("GET", "/roleManagement/directory/roleAssignmentScheduleInstances")
    @_route("GET", f"/roleManagement/directory/roleAssignmentScheduleInstances/{_ID}")
    @_route("GET", "/roleManagement/directory/roleAssignmentScheduleInstances" + _BY_USER)
    def assignment_instances(self, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
        request.caller.require(READ_ASSIGNMENTS)
        return self._schedules_response(
            request,
            match,
            entity_set="roleAssignmentScheduleInstances",
            items=self._assignment_instances(),
            properties=shapes.ASSIGNMENT_INSTANCE_PROPERTIES,
            type_name="unifiedRoleAssignmentScheduleInstance",
            expanders=self._instance_expanders(),
        )

    @_route("GET", "/roleManagement/directory/roleEligibilitySchedules")
    @_route("GET", f"/roleManagement/directory/roleEligibilitySchedules/{_ID}")
    @_route("GET", "/roleManagement/directory/roleEligibilitySchedules" + _BY_USER)
    def eligibility_schedules(self, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
        request.caller.require(READ_ELIGIBILITIES)
        return self._schedules_response(
            request,
            match,
            entity_set="roleEligibilitySchedules",
            items=[shapes.schedule(s) for s in self._live("eligibility")],
            properties=[p for p in shapes.SCHEDULE_PROPERTIES if p != "assignmentType"],
            type_name="unifiedRoleEligibilitySchedule",
        )

    @_route("GET", "/roleManagement/directory/roleAssignmentSchedules")
    @_route("GET", f"/roleManagement/directory/roleAssignmentSchedules/{_ID}")
    @_route("GET", "/roleManagement/directory/roleAssignmentSchedules" + _BY_USER)
    def assignment_schedules(self, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
        request.caller.require(READ_ASSIGNMENTS)
        return self._schedules_response(
            request,
            match,
            entity_set="roleAssignmentSchedules",
            items=[shapes.schedule(s) for s in self._live("assignment")],
            properties=shapes.SCHEDULE_PROPERTIES,
            type_name="unifiedRoleAssignmentSchedule",
        )

    # --- schedule requests ---------------------------------------------------------------------

    _REQUESTS = "roleManagement/directory/roleAssignmentScheduleRequests"
    _REQUEST_FILTERABLE = (
        "id",
        "principalId",
        "roleDefinitionId",
        "status",
        "targetScheduleId",
        "directoryScopeId",
        "appScopeId",
        "createdBy",
        "action",
    )

    def _request_expanders(self) -> dict[str, Expander]:
        def target_schedule(item: Json, _: Expand) -> Json | None:
            schedule = next(
                (s for s in self.pim.state.schedules if s.id == item.get("targetScheduleId")),
                None,
            )
            return shapes.schedule(schedule) if schedule else None

        return {**self._expanders(), "targetSchedule": target_schedule}

    @_route("GET", "/roleManagement/directory/roleAssignmentScheduleRequests")
    @_route(
        "GET",
        "/roleManagement/directory/roleAssignmentScheduleRequests"
        r"/filterByCurrentUser\(on='(?P<on>\w+)'\)",
    )
    def list_requests(self, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
        request.caller.require(READ_ASSIGNMENTS)
        stored = list(self.pim.state.requests)
        context = self._REQUESTS
        on = match.groupdict().get("on")
        if on is not None:
            user_id = self._current_user(request, on, ("principal", "approver")).lower()
            if on.lower() == "principal":
                stored = [r for r in stored if r.principal_id.lower() == user_id]
            else:
                approvals = {
                    a.request_id
                    for a in self.pim.state.approvals
                    if self.pim.approver_of(a, user_id)
                }
                stored = [r for r in stored if r.id in approvals]
            context = "Collection(microsoft.graph.unifiedRoleAssignmentScheduleRequest)"
        return self.collection(
            request,
            context,
            [shapes.schedule_request(r) for r in stored],
            properties=shapes.REQUEST_PROPERTIES,
            filterable=self._REQUEST_FILTERABLE,
            type_name="unifiedRoleAssignmentScheduleRequest",
            expanders=self._request_expanders(),
        )

    @_route("POST", "/roleManagement/directory/roleAssignmentScheduleRequests")
    def create_request(self, request: GraphRequest, _: re.Match[str]) -> GraphResponse:
        created = self.pim.submit(request.caller, request.body)
        return GraphResponse(
            201,
            {
                "@odata.context": f"{request.service_root}/$metadata#{self._REQUESTS}/$entity",
                **shapes.schedule_request(created),
            },
        )

    @_route("GET", f"/roleManagement/directory/roleAssignmentScheduleRequests/{_ID}")
    def get_request(self, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
        request.caller.require(READ_ASSIGNMENTS)
        stored = self.pim.state.request(match["id"])
        if stored is None:
            raise not_found(f"The request '{match['id']}' does not exist.")
        return self.entity(
            request,
            self._REQUESTS,
            shapes.schedule_request(stored),
            properties=shapes.REQUEST_PROPERTIES,
            type_name="unifiedRoleAssignmentScheduleRequest",
            expanders=self._request_expanders(),
        )

    @_route("POST", f"/roleManagement/directory/roleAssignmentScheduleRequests/{_ID}/cancel")
    def cancel_request(self, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
        request.caller.require(WRITE_ASSIGNMENT_REQUESTS)
        self.pim.cancel(request.caller, match["id"])
        return GraphResponse(204)

    # --- approvals [beta] ----------------------------------------------------------------------

    _APPROVALS = "/roleManagement/directory/roleAssignmentApprovals"

    def _approval_json(self, request: GraphRequest, approval_id: str) -> tuple[Json, list[Json]]:
        request.caller.require(READ_ASSIGNMENTS)
        approval = self.pim.state.approval(approval_id)
        if approval is None:
            raise not_found(f"The approval '{approval_id}' does not exist.")
        steps = [shapes.approval_step(s, request.caller.user_id) for s in approval.steps]
        return shapes.approval(approval), steps

    @_route("GET", f"{_APPROVALS}/{_ID}", versions=("beta",))
    def get_approval(self, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
        approval, steps = self._approval_json(request, match["id"])
        return self.entity(
            request,
            "roleManagement/directory/roleAssignmentApprovals",
            approval,
            properties=("id",),
            type_name="approval",
            expanders={"steps": lambda _item, _option: steps},
        )

    @_route("GET", f"{_APPROVALS}/{_ID}/steps", versions=("beta",))
    def list_approval_steps(self, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
        _, steps = self._approval_json(request, match["id"])
        return self.collection(
            request,
            f"roleManagement/directory/roleAssignmentApprovals('{match['id']}')/steps",
            steps,
            properties=tuple(steps[0]) if steps else ("id",),
            type_name="approvalStep",
        )

    @_route("GET", f"{_APPROVALS}/{_ID}/steps/(?P<step>[^/]+)", versions=("beta",))
    def get_approval_step(self, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
        _, steps = self._approval_json(request, match["id"])
        step = self._find(steps, match["step"], "approval step")
        return self.entity(
            request,
            f"roleManagement/directory/roleAssignmentApprovals('{match['id']}')/steps",
            step,
            properties=tuple(step),
            type_name="approvalStep",
        )

    @_route("PATCH", f"{_APPROVALS}/{_ID}/steps/(?P<step>[^/]+)", versions=("beta",))
    def decide_approval_step(self, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
        self.pim.decide(request.caller, match["id"], match["step"], request.body)
        return GraphResponse(204)

    # --- policies --------------------------------------------------------------------------------

    def _require_policy_scope(self, query: Query) -> None:
        scope_id = equality_value(query.filter, "scopeId")
        scope_type = equality_value(query.filter, "scopeType")
        if scope_id is None or scope_type is None:
            raise bad_request(
                "The filter must include scopeId and scopeType, e.g. "
                "$filter=scopeId eq '/' and scopeType eq 'DirectoryRole'."
            )

    def _policy_expanders(self) -> dict[str, Expander]:
        def rules(item: Json, option: Expand) -> list[Json]:
            stored = self.pim.state.policy(str(item["id"]))
            found = stored.rules if stored else []
            return [project(rule, option.select) for rule in found]

        return {"rules": rules, "effectiveRules": rules}

    def _policy_assignment_expanders(self) -> dict[str, Expander]:
        policy_expanders = self._policy_expanders()

        def policy(item: Json, option: Expand) -> Json | None:
            stored = self.pim.state.policy(str(item["policyId"]))
            if stored is None:
                return None
            chosen = check_expandable(
                option.expand, policy_expanders, "unifiedRoleManagementPolicy"
            )
            return self._apply_expand(shapes.policy(stored), chosen, policy_expanders)

        return {"policy": policy, "roleDefinition": self._expanders()["roleDefinition"]}

    @_route("GET", "/policies/roleManagementPolicyAssignments")
    def list_policy_assignments(self, request: GraphRequest, _: re.Match[str]) -> GraphResponse:
        request.caller.require(READ_POLICIES)
        query = parse_query(request.query)
        self._require_policy_scope(query)
        return self.collection(
            request,
            "policies/roleManagementPolicyAssignments",
            [shapes.policy_assignment(p) for p in self.pim.state.policies],
            properties=shapes.POLICY_ASSIGNMENT_PROPERTIES,
            type_name="unifiedRoleManagementPolicyAssignment",
            expanders=self._policy_assignment_expanders(),
            query=query,
        )

    @_route("GET", f"/policies/roleManagementPolicyAssignments/{_ID}")
    def get_policy_assignment(self, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
        request.caller.require(READ_POLICIES)
        items = [shapes.policy_assignment(p) for p in self.pim.state.policies]
        return self.entity(
            request,
            "policies/roleManagementPolicyAssignments",
            self._find(items, match["id"], "policy assignment"),
            properties=shapes.POLICY_ASSIGNMENT_PROPERTIES,
            type_name="unifiedRoleManagementPolicyAssignment",
            expanders=self._policy_assignment_expanders(),
        )

    @_route("GET", "/policies/roleManagementPolicies")
    def list_policies(self, request: GraphRequest, _: re.Match[str]) -> GraphResponse:
        request.caller.require(READ_POLICIES)
        query = parse_query(request.query)
        self._require_policy_scope(query)
        return self.collection(
            request,
            "policies/roleManagementPolicies",
            [shapes.policy(p) for p in self.pim.state.policies],
            properties=shapes.POLICY_PROPERTIES,
            type_name="unifiedRoleManagementPolicy",
            expanders=self._policy_expanders(),
            query=query,
        )

    @_route("GET", f"/policies/roleManagementPolicies/{_ID}")
    def get_policy(self, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
        request.caller.require(READ_POLICIES)
        stored = self.pim.state.policy(match["id"])
        if stored is None:
            raise not_found(f"The policy '{match['id']}' does not exist.")
        return self.entity(
            request,
            "policies/roleManagementPolicies",
            shapes.policy(stored),
            properties=shapes.POLICY_PROPERTIES,
            type_name="unifiedRoleManagementPolicy",
            expanders=self._policy_expanders(),
        )

    def _rules(self, request: GraphRequest, policy_id: str) -> list[Json]:
        request.caller.require(READ_POLICIES)
        stored = self.pim.state.policy(policy_id)
        if stored is None:
            raise not_found(f"The policy '{policy_id}' does not exist.")
        return stored.rules

    @_route("GET", f"/policies/roleManagementPolicies/{_ID}/rules")
    def list_rules(self, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
        rules = self._rules(request, match["id"])
        return self.collection(
            request,
            f"policies/roleManagementPolicies('{match['id']}')/rules",
            rules,
            properties=sorted({key for rule in rules for key in rule}),
            type_name="unifiedRoleManagementPolicyRule",
        )

    @_route("GET", f"/policies/roleManagementPolicies/{_ID}/rules/(?P<rule>[^/]+)")
    def get_rule(self, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
        rules = self._rules(request, match["id"])
        rule = self._find(rules, match["rule"], "rule")
        return self.entity(
            request,
            f"policies/roleManagementPolicies('{match['id']}')/rules",
            rule,
            properties=tuple(rule),
            type_name="unifiedRoleManagementPolicyRule",
        )

    @_route("PATCH", f"/policies/roleManagementPolicies/{_ID}/rules/(?P<rule>[^/]+)")
    def patch_rule(self, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
        self.pim.patch_rule(request.caller, match["id"], match["rule"], request.body)
        return GraphResponse(204)

    # --- direct role assignments ---------------------------------------------------------------

    _ROLE_ASSIGNMENTS = "roleManagement/directory/roleAssignments"

    @_route("GET", "/roleManagement/directory/roleAssignments")
    def list_role_assignments(self, request: GraphRequest, _: re.Match[str]) -> GraphResponse:
        request.caller.require(READ_DIRECT_ASSIGNMENTS)
        return self.collection(
            request,
            self._ROLE_ASSIGNMENTS,
            [shapes.role_assignment(s) for s in self._in_force("assignment")],
            properties=shapes.ROLE_ASSIGNMENT_PROPERTIES,
            type_name="unifiedRoleAssignment",
            expanders=self._expanders(),
        )

    @_route("GET", f"/roleManagement/directory/roleAssignments/{_ID}")
    def get_role_assignment(self, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
        request.caller.require(READ_DIRECT_ASSIGNMENTS)
        items = [shapes.role_assignment(s) for s in self._in_force("assignment")]
        try:
            item = self._find(items, match["id"], "role assignment")
        except GraphHttpError:
            raise directory_not_found(match["id"]) from None
        return self.entity(
            request,
            self._ROLE_ASSIGNMENTS,
            item,
            properties=shapes.ROLE_ASSIGNMENT_PROPERTIES,
            type_name="unifiedRoleAssignment",
            expanders=self._expanders(),
        )

    @_route("POST", "/roleManagement/directory/roleAssignments")
    def create_role_assignment(self, request: GraphRequest, _: re.Match[str]) -> GraphResponse:
        schedule = self.pim.assign_directly(request.caller, request.body)
        return GraphResponse(
            201,
            {
                "@odata.context": (
                    f"{request.service_root}/$metadata#{self._ROLE_ASSIGNMENTS}/$entity"
                ),
                **shapes.role_assignment(schedule),
            },
        )

    @_route("DELETE", f"/roleManagement/directory/roleAssignments/{_ID}")
    def delete_role_assignment(self, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
        self.pim.remove_directly(request.caller, match["id"])
        return GraphResponse(204)

    # --- users and groups ----------------------------------------------------------------------

    @_route("GET", "/users")
    def list_users(self, request: GraphRequest, _: re.Match[str]) -> GraphResponse:
        request.caller.require(READ_USERS)
        return self.collection(
            request,
            "users",
            [shapes.user(u) for u in self.tenant.users],
            properties=shapes.USER_PROPERTIES,
            filterable=("id", "displayName", "userPrincipalName", "mail", "jobTitle", "givenName"),
            type_name="user",
        )

    def _user(self, object_id: str) -> TenantUser:
        """A user by id or UPN, as Graph finds them (handles are the sandbox's own)."""
        wanted = object_id.lower()
        found = next(
            (u for u in self.tenant.users if wanted in (u.id.lower(), u.upn.lower())), None
        )
        if found is None:
            raise directory_not_found(object_id)
        return found

    @_route("GET", f"/users/{_ID}")
    def get_user(self, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
        request.caller.require(READ_USERS)
        return self.entity(
            request,
            "users",
            shapes.user(self._user(match["id"])),
            properties=shapes.USER_PROPERTIES,
            type_name="user",
        )

    @_route("GET", f"/users/{_ID}/(?P<relation>transitiveMemberOf|memberOf)")
    @_route(
        "GET",
        f"/users/{_ID}/(?P<relation>transitiveMemberOf|memberOf)/(?P<cast>microsoft\\.graph\\.group)",
    )
    def user_groups(self, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
        request.caller.require(READ_GROUPS)
        found = self._user(match["id"])
        groups = self.tenant.groups_of(found.id)
        if match["relation"].lower() == "memberof":
            groups = [g for g in groups if found.id in self.tenant.direct_member_ids(g.id)]
        return self.collection(
            request,
            "groups" if match.groupdict().get("cast") else "directoryObjects",
            [shapes.group(g) for g in groups],
            properties=shapes.GROUP_PROPERTIES,
            type_name="group",
        )

    def _group(self, group_id: str) -> Json:
        found = next((g for g in self.tenant.groups if g.id.lower() == group_id.lower()), None)
        if found is None:
            raise directory_not_found(group_id)
        return shapes.group(found)

    @_route("GET", f"/groups/{_ID}")
    def get_group(self, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
        request.caller.require(READ_GROUPS)
        return self.entity(
            request,
            "groups",
            self._group(match["id"]),
            properties=shapes.GROUP_PROPERTIES,
            type_name="group",
        )

    @_route("GET", f"/groups/{_ID}/(?P<relation>transitiveMembers|members)")
    @_route(
        "GET",
        f"/groups/{_ID}/(?P<relation>transitiveMembers|members)/(?P<cast>microsoft\\.graph\\.user)",
    )
    def group_members(self, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
        request.caller.require(READ_GROUPS)
        group = self._group(match["id"])
        if match["relation"].lower() == "transitivemembers":
            member_ids = [
                *self.tenant.transitive_user_ids(group["id"]),
                *sorted(self._transitive_group_ids(group["id"])),
            ]
        else:
            member_ids = self.tenant.direct_member_ids(group["id"])
        members = [m for m in (shapes.directory_object(self.tenant, i) for i in member_ids) if m]
        users_only = match.groupdict().get("cast") is not None
        if users_only:
            members = [m for m in members if m["@odata.type"] == "#microsoft.graph.user"]
        return self.collection(
            request,
            "users" if users_only else "directoryObjects",
            members,
            properties=(*shapes.USER_PROPERTIES, *shapes.GROUP_PROPERTIES),
            type_name="user" if users_only else "directoryObject",
        )

    def _transitive_group_ids(self, group_id: str) -> set[str]:
        found: set[str] = set()
        pending = [group_id]
        while pending:
            current = pending.pop()
            for member_id in self.tenant.direct_member_ids(current):
                if member_id not in found and any(g.id == member_id for g in self.tenant.groups):
                    found.add(member_id)
                    pending.append(member_id)
        return found

    # --- audit -----------------------------------------------------------------------------------

    @_route("GET", "/auditLogs/directoryAudits")
    def directory_audits(self, request: GraphRequest, _: re.Match[str]) -> GraphResponse:
        request.caller.require(READ_AUDIT)
        newest_first = list(reversed(self.pim.state.audits))
        return self.collection(
            request,
            "auditLogs/directoryAudits",
            newest_first,
            properties=shapes.AUDIT_PROPERTIES,
            type_name="directoryAudit",
        )


def _with_expanded(query: Query, chosen: Mapping[str, Expand]) -> tuple[str, ...] | None:
    """`$select` plus the expanded navigation properties (Graph keeps both)."""
    if query.select is None:
        return None
    return (*query.select, *chosen)
