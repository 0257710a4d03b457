"""`policies/roleManagementPolicies` and `policies/roleManagementPolicyAssignments`: PIM's
settings per role (its rules), which role each policy applies to, and changing a rule."""

from __future__ import annotations

import re

from bot.sandbox.graph import shapes
from bot.sandbox.graph.auth import READ_POLICIES
from bot.sandbox.graph.context import Expander, TwinContext
from bot.sandbox.graph.errors import bad_request, not_found
from bot.sandbox.graph.odata import (
    Expand,
    Query,
    check_expandable,
    equality_value,
    parse_query,
    project,
)
from bot.sandbox.graph.router import ID, GraphRequest, GraphResponse, Routes
from bot.sandbox.graph.shapes import Json

routes = Routes()
_POLICIES = "policies/roleManagementPolicies"
_POLICY_ASSIGNMENTS = "policies/roleManagementPolicyAssignments"
_RULE = "(?P<rule>[^/]+)"


def _require_policy_scope(query: Query) -> None:
    scope_id = equality_value(query.filter, "scopeId")
    scope_type = equality_value(query.filter, "scopeType")
    if scope_id is None or scope_type is None:
        raise bad_request(
            "The filter must include scopeId and scopeType, e.g. "
            "$filter=scopeId eq '/' and scopeType eq 'DirectoryRole'."
        )


def _policy_expanders(twin: TwinContext) -> dict[str, Expander]:
    def rules(item: Json, option: Expand) -> list[Json]:
        stored = twin.roles.state.policy(str(item["id"]))
        found = stored.rules if stored else []
        return [project(rule, option.select) for rule in found]

    return {"rules": rules, "effectiveRules": rules}


def _policy_assignment_expanders(twin: TwinContext) -> dict[str, Expander]:
    policy_expanders = _policy_expanders(twin)

    def policy(item: Json, option: Expand) -> Json | None:
        stored = twin.roles.state.policy(str(item["policyId"]))
        if stored is None:
            return None
        chosen = check_expandable(option.expand, policy_expanders, "unifiedRoleManagementPolicy")
        return twin.apply_expand(shapes.policy(stored), chosen, policy_expanders)

    return {"policy": policy, "roleDefinition": twin.directory_expanders()["roleDefinition"]}


@routes.route("GET", f"/{_POLICY_ASSIGNMENTS}")
def list_policy_assignments(
    twin: TwinContext, request: GraphRequest, _: re.Match[str]
) -> GraphResponse:
    request.caller.require(READ_POLICIES)
    query = parse_query(request.query)
    _require_policy_scope(query)
    return twin.collection(
        request,
        _POLICY_ASSIGNMENTS,
        [shapes.policy_assignment(p) for p in twin.roles.state.policies],
        properties=shapes.POLICY_ASSIGNMENT_PROPERTIES,
        type_name="unifiedRoleManagementPolicyAssignment",
        expanders=_policy_assignment_expanders(twin),
        query=query,
    )


@routes.route("GET", f"/{_POLICY_ASSIGNMENTS}/{ID}")
def get_policy_assignment(
    twin: TwinContext, request: GraphRequest, match: re.Match[str]
) -> GraphResponse:
    request.caller.require(READ_POLICIES)
    items = [shapes.policy_assignment(p) for p in twin.roles.state.policies]
    return twin.entity(
        request,
        _POLICY_ASSIGNMENTS,
        twin.find(items, match["id"], "policy assignment"),
        properties=shapes.POLICY_ASSIGNMENT_PROPERTIES,
        type_name="unifiedRoleManagementPolicyAssignment",
        expanders=_policy_assignment_expanders(twin),
    )


@routes.route("GET", f"/{_POLICIES}")
def list_policies(twin: TwinContext, request: GraphRequest, _: re.Match[str]) -> GraphResponse:
    request.caller.require(READ_POLICIES)
    query = parse_query(request.query)
    _require_policy_scope(query)
    return twin.collection(
        request,
        _POLICIES,
        [shapes.policy(p) for p in twin.roles.state.policies],
        properties=shapes.POLICY_PROPERTIES,
        type_name="unifiedRoleManagementPolicy",
        expanders=_policy_expanders(twin),
        query=query,
    )


@routes.route("GET", f"/{_POLICIES}/{ID}")
def get_policy(twin: TwinContext, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
    request.caller.require(READ_POLICIES)
    stored = twin.roles.state.policy(match["id"])
    if stored is None:
        raise not_found(f"The policy '{match['id']}' does not exist.")
    return twin.entity(
        request,
        _POLICIES,
        shapes.policy(stored),
        properties=shapes.POLICY_PROPERTIES,
        type_name="unifiedRoleManagementPolicy",
        expanders=_policy_expanders(twin),
    )


def _rules(twin: TwinContext, request: GraphRequest, policy_id: str) -> list[Json]:
    request.caller.require(READ_POLICIES)
    stored = twin.roles.state.policy(policy_id)
    if stored is None:
        raise not_found(f"The policy '{policy_id}' does not exist.")
    return stored.rules


@routes.route("GET", f"/{_POLICIES}/{ID}/rules")
def list_rules(twin: TwinContext, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
    rules = _rules(twin, request, match["id"])
    return twin.collection(
        request,
        f"{_POLICIES}('{match['id']}')/rules",
        rules,
        properties=sorted({key for rule in rules for key in rule}),
        type_name="unifiedRoleManagementPolicyRule",
    )


@routes.route("GET", f"/{_POLICIES}/{ID}/rules/{_RULE}")
def get_rule(twin: TwinContext, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
    rules = _rules(twin, request, match["id"])
    rule = twin.find(rules, match["rule"], "rule")
    return twin.entity(
        request,
        f"{_POLICIES}('{match['id']}')/rules",
        rule,
        properties=tuple(rule),
        type_name="unifiedRoleManagementPolicyRule",
    )


@routes.route("PATCH", f"/{_POLICIES}/{ID}/rules/{_RULE}")
def patch_rule(twin: TwinContext, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
    twin.roles.patch_rule(request.caller, match["id"], match["rule"], request.body)
    return GraphResponse(204)
