"""`identityGovernance/accessReviews/definitions` (v1.0 and beta): schedule definitions, their
instances and decision items, each reviewer's own (`filterByCurrentUser(on='reviewer')`), and the
actions on an instance (`stop`, `applyDecisions`, `sendReminder`, `batchRecordDecisions`, and
beta's `decisions/recordAllDecisions`).

Permissions, from each operation's page in the Microsoft Graph v1.0 reference
(https://learn.microsoft.com/graph/api/resources/accessreviewsv2-overview):
- reading (definitions, instances, decisions, filterByCurrentUser): AccessReview.Read.All or
  AccessReview.ReadWrite.All, delegated or application; filterByCurrentUser needs a user;
- creating, updating (PUT) or deleting a definition, stop, applyDecisions, sendReminder,
  batchRecordDecisions: AccessReview.ReadWrite.All, delegated or application;
- updating a decision item (PATCH): AccessReview.ReadWrite.All, delegated only, by a reviewer of
  the item ("Application: Not supported");
- recordAllDecisions (beta): delegated only, the caller's own items.
"""

from __future__ import annotations

import re

from bot.sandbox.graph.access_reviews import AccessReviews
from bot.sandbox.graph.context import TwinContext
from bot.sandbox.graph.review_state import (
    ReviewDecision,
    ReviewDefinition,
    ReviewIdentity,
    ReviewInstance,
)
from bot.sandbox.graph.router import BY_CURRENT_USER, GraphRequest, GraphResponse, Routes
from bot.sandbox.graph.shapes import Json
from bot.sandbox.graph.values import format_datetime

routes = Routes()

READ_REVIEWS = ("AccessReview.Read.All", "AccessReview.ReadWrite.All")
WRITE_REVIEWS = ("AccessReview.ReadWrite.All",)

_DEFINITIONS = "/identityGovernance/accessReviews/definitions"
_DEFINITION = f"{_DEFINITIONS}/(?P<definition>[^/()]+)"
_INSTANCE = f"{_DEFINITION}/instances/(?P<instance>[^/()]+)"
_DECISION = f"{_INSTANCE}/decisions/(?P<decision>[^/()]+)"

DEFINITION_PROPERTIES = (
    "id",
    "displayName",
    "createdDateTime",
    "lastModifiedDateTime",
    "status",
    "descriptionForAdmins",
    "descriptionForReviewers",
    "createdBy",
    "scope",
    "instanceEnumerationScope",
    "reviewers",
    "fallbackReviewers",
    "additionalNotificationRecipients",
    "settings",
)
INSTANCE_PROPERTIES = (
    "id",
    "startDateTime",
    "endDateTime",
    "status",
    "scope",
    "reviewers",
    "fallbackReviewers",
)
DECISION_PROPERTIES = (
    "id",
    "accessReviewId",
    "reviewedBy",
    "reviewedDateTime",
    "decision",
    "justification",
    "appliedBy",
    "appliedDateTime",
    "applyResult",
    "applyDescription",
    "recommendation",
    "principalLink",
    "resourceLink",
    "principal",
    "resource",
)


# --- shapes ------------------------------------------------------------------------------------


def _user_identity(identity: ReviewIdentity | None) -> Json:
    if identity is None:
        return {
            "id": "00000000-0000-0000-0000-000000000000",
            "displayName": "",
            "userPrincipalName": "",
        }
    return {
        "id": identity.id,
        "displayName": identity.display_name or "",
        "userPrincipalName": identity.user_principal_name or "",
    }


def definition_json(definition: ReviewDefinition) -> Json:
    return {
        "id": definition.id,
        "displayName": definition.display_name,
        "createdDateTime": format_datetime(definition.created),
        "lastModifiedDateTime": format_datetime(definition.modified),
        "status": definition.status,
        "descriptionForAdmins": definition.description_for_admins,
        "descriptionForReviewers": definition.description_for_reviewers,
        "createdBy": _user_identity(definition.created_by),
        "scope": definition.scope,
        "instanceEnumerationScope": None,
        "reviewers": definition.reviewers,
        "fallbackReviewers": definition.fallback_reviewers,
        "additionalNotificationRecipients": [],
        "settings": definition.settings,
    }


def instance_json(definition: ReviewDefinition, instance: ReviewInstance) -> Json:
    return {
        "id": instance.id,
        "startDateTime": format_datetime(instance.start),
        "endDateTime": format_datetime(instance.end),
        "status": instance.status,
        "scope": definition.scope,
        "reviewers": definition.reviewers,
        "fallbackReviewers": definition.fallback_reviewers,
    }


def decision_json(
    twin: TwinContext,
    request: GraphRequest,
    definition: ReviewDefinition,
    instance: ReviewInstance,
    item: ReviewDecision,
) -> Json:
    root = request.service_root
    try:
        user = twin.tenant.user(item.principal_id)
        principal: Json = {
            "@odata.type": "#microsoft.graph.userIdentity",
            "id": user.id,
            "displayName": user.display_name,
            "userPrincipalName": user.upn,
        }
    except KeyError:
        principal = {"@odata.type": "#microsoft.graph.userIdentity", "id": item.principal_id}
    role = twin.role_json(definition.role_id) or {}
    return {
        "id": item.id,
        "accessReviewId": instance.id,
        "reviewedBy": _user_identity(item.reviewed_by),
        "reviewedDateTime": format_datetime(item.reviewed_at),
        "decision": item.decision,
        "justification": item.justification,
        "appliedBy": _user_identity(item.applied_by),
        "appliedDateTime": format_datetime(item.applied_at),
        "applyResult": item.apply_result,
        "applyDescription": None,
        "recommendation": item.recommendation,
        "principalLink": f"{root}/users/{item.principal_id}",
        "resourceLink": f"{root}/roleManagement/directory/roleDefinitions/{definition.role_id}",
        "principal": principal,
        "resource": {
            "@odata.type": "#microsoft.graph.accessReviewInstanceDecisionItemResource",
            "id": definition.role_id,
            "displayName": role.get("displayName"),
            "type": "directoryRole",
        },
    }


def _insights(item: ReviewDecision) -> list[Json]:
    if item.last_sign_in is None:
        return []
    return [
        {
            "@odata.type": "#microsoft.graph.userSignInInsight",
            "id": f"{item.id}-signin",
            "insightCreatedDateTime": format_datetime(item.reviewed_at or item.last_sign_in),
            "lastSignInDateTime": format_datetime(item.last_sign_in),
        }
    ]


# --- definitions -------------------------------------------------------------------------------


@routes.route("GET", _DEFINITIONS)
@routes.route("GET", f"{_DEFINITIONS}{BY_CURRENT_USER}")
def list_definitions(
    twin: TwinContext, request: GraphRequest, match: re.Match[str]
) -> GraphResponse:
    request.caller.require(READ_REVIEWS)
    definitions = twin.reviews.definitions
    context = "identityGovernance/accessReviews/definitions"
    if match.groupdict().get("on") is not None:
        user_id = twin.current_user(request, match["on"], ("reviewer",))
        definitions = [
            d for d in definitions if any(user_id in i.reviewer_ids for i in d.instances)
        ]
        context = "Collection(accessReviewScheduleDefinition)"
    return twin.collection(
        request,
        context,
        [definition_json(d) for d in definitions],
        properties=DEFINITION_PROPERTIES,
        type_name="accessReviewScheduleDefinition",
    )


@routes.route("POST", _DEFINITIONS)
def create_definition(twin: TwinContext, request: GraphRequest, _: re.Match[str]) -> GraphResponse:
    request.caller.require(WRITE_REVIEWS)
    definition = twin.reviews.create(request.caller, request.body)
    return twin.entity(
        request,
        "identityGovernance/accessReviews/definitions",
        definition_json(definition),
        properties=DEFINITION_PROPERTIES,
        type_name="accessReviewScheduleDefinition",
        status=201,
    )


@routes.route("GET", _DEFINITION)
def get_definition(twin: TwinContext, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
    request.caller.require(READ_REVIEWS)
    definition = twin.reviews.definition(match["definition"])
    return twin.entity(
        request,
        "identityGovernance/accessReviews/definitions",
        definition_json(definition),
        properties=DEFINITION_PROPERTIES,
        type_name="accessReviewScheduleDefinition",
    )


@routes.route("PUT", _DEFINITION)
def update_definition(
    twin: TwinContext, request: GraphRequest, match: re.Match[str]
) -> GraphResponse:
    request.caller.require(WRITE_REVIEWS)
    twin.reviews.update(request.caller, match["definition"], request.body)
    return GraphResponse(204)


@routes.route("DELETE", _DEFINITION)
def delete_definition(
    twin: TwinContext, request: GraphRequest, match: re.Match[str]
) -> GraphResponse:
    request.caller.require(WRITE_REVIEWS)
    definition = twin.reviews.definition(match["definition"])
    twin.reviews.definitions.remove(definition)
    return GraphResponse(204)


# --- instances ---------------------------------------------------------------------------------


@routes.route("GET", f"{_DEFINITION}/instances")
@routes.route("GET", f"{_DEFINITION}/instances{BY_CURRENT_USER}")
def list_instances(twin: TwinContext, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
    request.caller.require(READ_REVIEWS)
    definition = twin.reviews.definition(match["definition"])
    instances = definition.instances
    context = f"identityGovernance/accessReviews/definitions('{definition.id}')/instances"
    if match.groupdict().get("on") is not None:
        user_id = twin.current_user(request, match["on"], ("reviewer",))
        instances = [i for i in instances if user_id in i.reviewer_ids]
        context = "Collection(accessReviewInstance)"
    return twin.collection(
        request,
        context,
        [instance_json(definition, i) for i in instances],
        properties=INSTANCE_PROPERTIES,
        type_name="accessReviewInstance",
    )


@routes.route("GET", _INSTANCE)
def get_instance(twin: TwinContext, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
    request.caller.require(READ_REVIEWS)
    definition = twin.reviews.definition(match["definition"])
    instance = twin.reviews.instance(match["definition"], match["instance"])
    return twin.entity(
        request,
        f"identityGovernance/accessReviews/definitions('{definition.id}')/instances",
        instance_json(definition, instance),
        properties=INSTANCE_PROPERTIES,
        type_name="accessReviewInstance",
    )


@routes.route("GET", f"{_INSTANCE}/contactedReviewers")
def list_contacted_reviewers(
    twin: TwinContext, request: GraphRequest, match: re.Match[str]
) -> GraphResponse:
    """The reviewers Graph notified for the instance (`accessReviewReviewer`)."""
    request.caller.require(READ_REVIEWS)
    definition = twin.reviews.definition(match["definition"])
    instance = twin.reviews.instance(match["definition"], match["instance"])
    reviewers = []
    for user_id in instance.reviewer_ids:
        try:
            user = twin.tenant.user(user_id)
        except KeyError:
            continue
        reviewers.append(
            {
                "id": user.id,
                "displayName": user.display_name,
                "userPrincipalName": user.upn,
                "createdDateTime": format_datetime(instance.start),
            }
        )
    return twin.collection(
        request,
        f"identityGovernance/accessReviews/definitions('{definition.id}')"
        f"/instances('{instance.id}')/contactedReviewers",
        reviewers,
        properties=("id", "displayName", "userPrincipalName", "createdDateTime"),
        type_name="accessReviewReviewer",
    )


def _instance_action(name: str) -> None:
    @routes.route("POST", f"{_INSTANCE}/{name}")
    def act(twin: TwinContext, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
        request.caller.require(WRITE_REVIEWS)
        reviews: AccessReviews = twin.reviews
        action = {
            "stop": reviews.stop,
            "applyDecisions": reviews.apply,
            "sendReminder": reviews.send_reminder,
        }[name]
        action(request.caller, match["definition"], match["instance"])
        return GraphResponse(204)


for _action in ("stop", "applyDecisions", "sendReminder"):
    _instance_action(_action)


@routes.route("POST", f"{_INSTANCE}/batchRecordDecisions")
def batch_record_decisions(
    twin: TwinContext, request: GraphRequest, match: re.Match[str]
) -> GraphResponse:
    request.caller.require(WRITE_REVIEWS)
    twin.reviews.batch_record(
        request.caller, match["definition"], match["instance"], request.body, mine=False
    )
    return GraphResponse(204)


@routes.route("POST", f"{_INSTANCE}/decisions/recordAllDecisions", versions=("beta",))
def record_all_decisions(
    twin: TwinContext, request: GraphRequest, match: re.Match[str]
) -> GraphResponse:
    request.caller.require(READ_REVIEWS, app_allowed=False)
    twin.reviews.batch_record(
        request.caller, match["definition"], match["instance"], request.body, mine=True
    )
    return GraphResponse(204)


# --- decisions ---------------------------------------------------------------------------------


@routes.route("GET", f"{_INSTANCE}/decisions")
@routes.route("GET", f"{_INSTANCE}/decisions{BY_CURRENT_USER}")
def list_decisions(twin: TwinContext, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
    request.caller.require(READ_REVIEWS)
    definition = twin.reviews.definition(match["definition"])
    instance = twin.reviews.instance(match["definition"], match["instance"])
    items = instance.decisions
    context = (
        f"identityGovernance/accessReviews/definitions('{definition.id}')"
        f"/instances('{instance.id}')/decisions"
    )
    if match.groupdict().get("on") is not None:
        user_id = twin.current_user(request, match["on"], ("reviewer",))
        items = [d for d in items if user_id in d.reviewer_ids]
        context = "Collection(accessReviewInstanceDecisionItem)"
    by_id = {d.id: d for d in items}
    return twin.collection(
        request,
        context,
        [
            {
                "@odata.type": "#microsoft.graph.accessReviewInstanceDecisionItem",
                **decision_json(twin, request, definition, instance, d),
            }
            for d in items
        ],
        properties=DECISION_PROPERTIES,
        type_name="accessReviewInstanceDecisionItem",
        filterable=("decision", "recommendation", "id"),
        expanders={"insights": lambda item, _: _insights(by_id[item["id"]])},
    )


@routes.route("GET", _DECISION)
def get_decision(twin: TwinContext, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
    request.caller.require(READ_REVIEWS)
    definition = twin.reviews.definition(match["definition"])
    instance = twin.reviews.instance(match["definition"], match["instance"])
    item = next((d for d in instance.decisions if d.id.lower() == match["decision"].lower()), None)
    if item is None:
        twin.find([], match["decision"], "decision")
    assert item is not None
    return twin.entity(
        request,
        f"identityGovernance/accessReviews/definitions('{definition.id}')"
        f"/instances('{instance.id}')/decisions",
        decision_json(twin, request, definition, instance, item),
        properties=DECISION_PROPERTIES,
        type_name="accessReviewInstanceDecisionItem",
        expanders={"insights": lambda _item, _: _insights(item)},
    )


@routes.route("PATCH", _DECISION)
def update_decision(
    twin: TwinContext, request: GraphRequest, match: re.Match[str]
) -> GraphResponse:
    request.caller.require(WRITE_REVIEWS, app_allowed=False)
    twin.reviews.decide(
        request.caller, match["definition"], match["instance"], match["decision"], request.body
    )
    return GraphResponse(204)
