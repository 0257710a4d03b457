"""Access reviews of directory roles, as Microsoft Graph runs them
(`identityGovernance/accessReviews`, v1.0): a schedule definition scoped to one role's eligible
and active assignments, its recurring instances, and one decision item per principal.

How the twin runs them (https://learn.microsoft.com/graph/api/resources/accessreviewsv2-overview):
- A definition's first instance starts at `settings.recurrence.range.startDate` (today when
  absent) and lasts `settings.instanceDurationInDays`; a recurring definition starts the next
  instance `pattern.interval` days/weeks/months/years after the previous one started.
- An instance lists, when it starts, each principal holding the role (eligible or active), with
  Graph's recommendation: Approve when the user signed in within `recommendationLookBackDuration`
  (30 days by default), Deny when not, NoInfoAvailable when no sign-in is known.
- At its end (or on `stop`) an instance is `Completed`: undecided items take the default decision
  when `defaultDecisionEnabled`; with `autoApplyDecisionsEnabled` the decisions are applied
  (status `Applied`), otherwise `applyDecisions` applies them. Applying Deny removes the
  principal's eligibility and active assignment of the role, as PIM does.
- Reviewers are users (`/users/{id}`), group members (`/groups/{id}/transitiveMembers`), or
  each principal's manager (`./manager` with `queryRoot` `decisions`); when a principal has no
  manager, the `fallbackReviewers` review their item
  (https://learn.microsoft.com/graph/accessreviews-reviewers-concept). Each decision item lists
  its own reviewers; the contacted reviewers are all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.sandbox.graph.audit import PIM_SYSTEM_USER
from bot.sandbox.graph.auth import Caller
from bot.sandbox.graph.errors import GraphHttpError, access_denied, bad_request, not_found
from bot.sandbox.graph.principals import find_service_principal
from bot.sandbox.graph.review_state import (
    ReviewDecision,
    ReviewDefinition,
    ReviewIdentity,
    ReviewInstance,
)
from bot.sandbox.graph.role_management import RoleManagement
from bot.sandbox.graph.values import new_guid, parse_duration, stable_guid
from bot.sandbox.tenant import AccessReviewSpec

ROLE_DEFINITIONS = "/roleManagement/directory/roleDefinitions/"
DECISIONS = ("Approve", "Deny", "NotReviewed", "DontKnow")
DEFAULT_DECISIONS = ("Approve", "Deny", "Recommendation", "None")
DEFAULT_LOOK_BACK = timedelta(days=30)
REVIEW_SYSTEM = ReviewIdentity(
    id="00000000-0000-0000-0000-000000000000", display_name="AAD Access Reviews"
)
# "Only interval, dayOfMonth, and type (weekly, absoluteMonthly) properties of recurrencePattern
# are supported" for access reviews (patternedRecurrence).
RECURRENCE_TYPES = ("weekly", "absoluteMonthly")


MANAGER_QUERY = "./manager"


def _is_manager_scope(reviewer: object) -> bool:
    return isinstance(reviewer, Mapping) and str(reviewer.get("query") or "").strip().lower() == (
        MANAGER_QUERY
    )


def instance_is_open(instance: ReviewInstance) -> bool:
    return instance.status == "InProgress"


class AccessReviews:
    """The twin's access reviews, over the same tenant, clock and PIM state as role management."""

    def __init__(self, roles: RoleManagement) -> None:
        self.roles = roles
        self.tenant = roles.tenant
        self.state = roles.state

    @property
    def definitions(self) -> list[ReviewDefinition]:
        return self.state.access_reviews

    def definition(self, definition_id: str) -> ReviewDefinition:
        found = next((d for d in self.definitions if d.id.lower() == definition_id.lower()), None)
        if found is None:
            raise not_found(f"The access review definition '{definition_id}' does not exist.")
        return found

    def instance(self, definition_id: str, instance_id: str) -> ReviewInstance:
        found = self.definition(definition_id).instance(instance_id)
        if found is None:
            raise not_found(f"The access review instance '{instance_id}' does not exist.")
        return found

    # --- creating ------------------------------------------------------------------------------

    def create(self, caller: Caller, body: object) -> ReviewDefinition:
        if not isinstance(body, Mapping):
            raise bad_request("The request body must be an accessReviewScheduleDefinition.")
        display_name = body.get("displayName")
        if not isinstance(display_name, str) or not display_name.strip():
            raise bad_request("displayName is required.")
        scope = body.get("scope")
        role_id = self._role_of_scope(scope)
        reviewers = body.get("reviewers") or []
        if not isinstance(reviewers, list) or not reviewers:
            raise bad_request("reviewers must name at least one reviewer.")
        for reviewer in reviewers:
            self._reviewer_ids(reviewer)  # 400 for a reviewer scope the tenant cannot resolve
        fallback = body.get("fallbackReviewers") or []
        if not isinstance(fallback, list):
            raise bad_request("fallbackReviewers must be a collection of reviewer scopes.")
        for reviewer in fallback:
            if _is_manager_scope(reviewer):
                raise bad_request("fallbackReviewers must name users or groups, not './manager'.")
            self._reviewer_ids(reviewer)
        settings = body.get("settings") or {}
        if not isinstance(settings, Mapping):
            raise bad_request("settings must be an accessReviewScheduleSettings.")
        self._check_settings(settings)
        now = self.roles.now()
        definition = ReviewDefinition(
            id=new_guid(),
            display_name=display_name,
            description_for_admins=str(body.get("descriptionForAdmins") or ""),
            description_for_reviewers=str(body.get("descriptionForReviewers") or ""),
            created_by=self._identity(caller),
            created=now,
            modified=now,
            status="NotStarted",
            role_id=role_id,
            scope=dict(scope),  # type: ignore[arg-type]  # checked by _role_of_scope
            reviewers=[dict(r) for r in reviewers],
            fallback_reviewers=[dict(r) for r in fallback],
            settings=dict(settings),
        )
        self.definitions.append(definition)
        self.sweep()
        return definition

    def update(self, caller: Caller, definition_id: str, body: object) -> None:
        """PUT a definition: the whole object; changes reach the instances that start later,
        not the one running. Graph updates `reviewers` only when they are individual users."""
        definition = self.definition(definition_id)
        if not isinstance(body, Mapping):
            raise bad_request("The request body must be an accessReviewScheduleDefinition.")
        display_name = body.get("displayName")
        if not isinstance(display_name, str) or not display_name.strip():
            raise bad_request("displayName is required.")
        scope = body.get("scope")
        if scope is not None and self._role_of_scope(scope).lower() != definition.role_id.lower():
            raise bad_request("The scope of an access review cannot be updated.")
        reviewers = body.get("reviewers")
        if not isinstance(reviewers, list) or not reviewers:
            raise bad_request("reviewers must name at least one reviewer.")
        if reviewers != definition.reviewers and not (
            _users_only(definition.reviewers) and _users_only(reviewers)
        ):
            raise bad_request(
                "The reviewers property is only updatable if individual users are assigned as "
                "reviewers."
            )
        for reviewer in reviewers:
            self._reviewer_ids(reviewer)
        settings = body.get("settings")
        if not isinstance(settings, Mapping):
            raise bad_request("settings must be an accessReviewScheduleSettings.")
        self._check_settings(settings)
        definition.display_name = display_name
        definition.description_for_admins = str(body.get("descriptionForAdmins") or "")
        definition.description_for_reviewers = str(body.get("descriptionForReviewers") or "")
        definition.reviewers = [dict(r) for r in reviewers]
        definition.fallback_reviewers = [dict(r) for r in body.get("fallbackReviewers") or []]
        definition.settings = dict(settings)
        definition.modified = self.roles.now()

    def seed(self, spec: AccessReviewSpec) -> bool:
        """A demo tenant review: created once, by the system, its first instance starting now."""
        key = f"{spec.display_name}|{spec.role}"
        if key in self.state.seeded_access_reviews or any(
            d.seeded_from == key for d in self.definitions
        ):
            return False
        self.state.seeded_access_reviews.append(key)
        role = self.tenant.role(spec.role)
        reviewers: list[dict[str, Any]] = []
        for ref in spec.reviewers:
            try:
                reviewers.append({"query": f"/users/{self.tenant.user(ref).id}"})
            except KeyError:
                group = self.tenant.group(ref)
                reviewers.append({"query": f"/groups/{group.id}/transitiveMembers"})
        for reviewer in reviewers:
            reviewer["queryType"] = "MicrosoftGraph"
        now = self.roles.now()
        definition = ReviewDefinition(
            id=stable_guid("access-review", key),
            display_name=spec.display_name,
            created=now,
            modified=now,
            status="NotStarted",
            role_id=role.id,
            scope=role_scope(role.id),
            reviewers=reviewers,
            settings=schedule_settings(spec.every_days, spec.duration_days, now),
            seeded_from=key,
        )
        self.definitions.append(definition)
        self._start_instance(definition, now)
        instance = definition.instances[-1]
        for handle, decision in spec.decided.items():
            user = self.tenant.user(handle)
            item = next(d for d in instance.decisions if d.principal_id == user.id)
            self._record(item, decision, "", self._user_identity(item.reviewer_ids[0]))
        return True

    def _role_of_scope(self, scope: object) -> str:
        """The role a directory-role review covers: a `principalResourceMembershipsScope` whose
        resource scope is `/roleManagement/directory/roleDefinitions/{id}`, or an
        `accessReviewQueryScope` with that query."""
        if not isinstance(scope, Mapping):
            raise bad_request("scope is required.")
        queries: list[object]
        if scope.get("@odata.type") == "#microsoft.graph.principalResourceMembershipsScope":
            resource_scopes = scope.get("resourceScopes") or []
            queries = [s.get("query") for s in resource_scopes if isinstance(s, Mapping)]
        else:
            queries = [scope.get("query")]
        for query in queries:
            if isinstance(query, str) and query.lower().startswith(ROLE_DEFINITIONS.lower()):
                role_id = query[len(ROLE_DEFINITIONS) :].strip("/")
                try:
                    return self.tenant.role(role_id).id
                except KeyError:
                    raise bad_request(f"The role definition '{role_id}' does not exist.") from None
        raise bad_request(
            "The twin reviews directory roles only: scope a review to "
            f"'{ROLE_DEFINITIONS}{{roleDefinitionId}}'."
        )

    def _check_settings(self, settings: Mapping[str, Any]) -> None:
        duration = settings.get("instanceDurationInDays", 1)
        if not isinstance(duration, int) or duration < 1:
            raise bad_request("instanceDurationInDays must be a positive number of days.")
        default = settings.get("defaultDecision", "None")
        if default not in DEFAULT_DECISIONS:
            raise bad_request(f"defaultDecision must be one of {', '.join(DEFAULT_DECISIONS)}.")
        pattern = (settings.get("recurrence") or {}).get("pattern")
        if pattern:
            if pattern.get("type") not in RECURRENCE_TYPES:
                raise bad_request(
                    "Access reviews recur weekly or absoluteMonthly; "
                    f"'{pattern.get('type')}' is not supported."
                )
            interval = pattern.get("interval", 1)
            if not isinstance(interval, int) or interval < 1:
                raise bad_request("The recurrence interval must be a positive number.")
        look_back = settings.get("recommendationLookBackDuration")
        if look_back is not None:
            parse_duration(look_back, "recommendationLookBackDuration")

    def _reviewer_ids(self, reviewer: object) -> list[str]:
        """The users a static reviewer scope names; [] for `./manager` (resolved per item)."""
        if not isinstance(reviewer, Mapping) or not isinstance(reviewer.get("query"), str):
            raise bad_request("Each reviewer needs a query.")
        query = str(reviewer["query"]).strip()
        if query.lower() == MANAGER_QUERY:
            if str(reviewer.get("queryRoot") or "").lower() != "decisions":
                raise bad_request(
                    "The relative query './manager' needs queryRoot 'decisions'.",
                )
            return []
        parts = [p for p in query.split("/") if p]
        if len(parts) == 2 and parts[0].lower() == "users":
            try:
                return [self.tenant.user(parts[1]).id]
            except KeyError:
                raise bad_request(f"The reviewer '{parts[1]}' does not exist.") from None
        if len(parts) >= 2 and parts[0].lower() == "groups":
            try:
                group = self.tenant.group(parts[1])
            except KeyError:
                raise bad_request(f"The reviewer group '{parts[1]}' does not exist.") from None
            if len(parts) == 2 or parts[2].lower() not in ("members", "transitivemembers"):
                raise bad_request(f"Review by a group names its members: '{query}/members'.")
            return self.tenant.transitive_user_ids(group.id)
        raise bad_request(
            f"The reviewer query '{query}' is not supported by the twin (users, groups and "
            "./manager only)."
        )

    # --- the clock -----------------------------------------------------------------------------

    def sweep(self) -> bool:
        """Start instances whose time came, complete those that reached their end."""
        now = self.roles.now()
        changed = False
        for spec in self.tenant.access_reviews:
            changed |= self.seed(spec)
        for definition in self.definitions:
            for instance in definition.instances:
                if instance_is_open(instance) and instance.end <= now:
                    self._complete(definition, instance, instance.end)
                    changed = True
            start = self._next_start(definition)
            while start is not None and start <= now:
                self._start_instance(definition, start)
                changed = True
                start = self._next_start(definition)
        return changed

    def _next_start(self, definition: ReviewDefinition) -> datetime | None:
        recurrence = definition.settings.get("recurrence") or {}
        if not definition.instances:
            start_date = (recurrence.get("range") or {}).get("startDate")
            if isinstance(start_date, str):
                day = datetime.fromisoformat(start_date).date()
                created = definition.created
                if day <= created.date():
                    return created
                return datetime.combine(day, created.timetz())
            return definition.created
        pattern = recurrence.get("pattern") or {}
        kind = pattern.get("type")
        if kind not in RECURRENCE_TYPES or definition.status == "Completed":
            return None
        interval = int(pattern.get("interval") or 1)
        previous = definition.instances[-1].start
        if kind == "weekly":
            return previous + timedelta(weeks=interval)
        return add_months(previous, interval)

    def _start_instance(self, definition: ReviewDefinition, start: datetime) -> None:
        duration = timedelta(days=int(definition.settings.get("instanceDurationInDays", 1)))
        static = self._scope_ids(definition.reviewers)
        by_manager = any(_is_manager_scope(r) for r in definition.reviewers)
        fallback = self._scope_ids(definition.fallback_reviewers)
        instance = ReviewInstance(
            id=stable_guid("access-review-instance", definition.id, start.isoformat()),
            definition_id=definition.id,
            start=start,
            end=start + duration,
            reviewer_ids=list(static),
        )
        look_back = DEFAULT_LOOK_BACK
        if definition.settings.get("recommendationLookBackDuration"):
            look_back = parse_duration(
                definition.settings["recommendationLookBackDuration"],
                "recommendationLookBackDuration",
            )
        reviewed = _principal_kinds(definition.scope)
        for principal_id in self._holders(definition.role_id):
            is_app = find_service_principal(self.tenant, principal_id) is not None
            if (
                reviewed is not None
                and ("servicePrincipals" if is_app else "users") not in reviewed
            ):
                continue  # outside the review's principal scopes
            last_sign_in = self._last_sign_in(principal_id, start)
            if not definition.settings.get("recommendationsEnabled", True) or last_sign_in is None:
                recommendation = "NoInfoAvailable"
            else:
                recommendation = "Approve" if start - last_sign_in <= look_back else "Deny"
            reviewer_ids = list(static)
            if by_manager:
                manager = self.tenant.manager_of(principal_id)
                reviewer_ids += [manager.id] if manager is not None else fallback
            reviewer_ids = list(dict.fromkeys(reviewer_ids))
            for user_id in reviewer_ids:  # contacted: every item's reviewers
                if user_id not in instance.reviewer_ids:
                    instance.reviewer_ids.append(user_id)
            instance.decisions.append(
                ReviewDecision(
                    id=stable_guid("access-review-decision", instance.id, principal_id),
                    principal_id=principal_id,
                    reviewer_ids=reviewer_ids,
                    recommendation=recommendation,
                    last_sign_in=last_sign_in,
                )
            )
        definition.instances.append(instance)
        definition.status = "InProgress"

    def _scope_ids(self, scopes: list[dict[str, Any]]) -> list[str]:
        """The users static reviewer scopes name, each once, in order."""
        found: list[str] = []
        for scope in scopes:
            for user_id in self._reviewer_ids(scope):
                if user_id not in found:
                    found.append(user_id)
        return found

    def _holders(self, role_id: str) -> list[str]:
        now = self.roles.now()
        holders: list[str] = []
        for schedule in self.state.schedules:
            if schedule.role_id.lower() != role_id.lower() or not schedule.in_force(now):
                continue
            if schedule.kind == "assignment" and schedule.assignment_type == "Activated":
                continue  # an activation is reviewed through the eligibility it used
            if schedule.principal_id not in holders:
                holders.append(schedule.principal_id)
        return holders

    def _last_sign_in(self, user_id: str, at: datetime) -> datetime | None:
        """The user's last sign-in as of `at` (a sign-in the tenant dates later counts as `at`)."""
        try:
            last = self.tenant.user(user_id).last_sign_in
        except KeyError:
            return None
        return None if last is None else min(last, at)

    def _complete(
        self, definition: ReviewDefinition, instance: ReviewInstance, at: datetime
    ) -> None:
        instance.status = "Completed"
        settings = definition.settings
        if settings.get("defaultDecisionEnabled"):
            default = str(settings.get("defaultDecision", "None"))
            for item in instance.decisions:
                if item.decision != "NotReviewed" or default == "None":
                    continue
                decision = item.recommendation if default == "Recommendation" else default
                if decision in ("Approve", "Deny"):
                    self._record(item, decision, "", REVIEW_SYSTEM, at=at)
        if settings.get("autoApplyDecisionsEnabled"):
            self._apply(instance, REVIEW_SYSTEM, at)
        if not (settings.get("recurrence") or {}).get("pattern"):
            definition.status = "Completed"

    # --- deciding ------------------------------------------------------------------------------

    def decide(
        self, caller: Caller, definition_id: str, instance_id: str, item_id: str, body: object
    ) -> None:
        """PATCH a decision item: a signed-in reviewer of the instance only."""
        reviewer_id = caller.require_user()
        instance = self.instance(definition_id, instance_id)
        item = next((d for d in instance.decisions if d.id.lower() == item_id.lower()), None)
        if item is None:
            raise not_found(f"The decision '{item_id}' does not exist.")
        decision, justification = self._parse_decision(body, definition_id)
        self._require_open(instance)
        if reviewer_id not in item.reviewer_ids:
            raise access_denied("The caller is not a reviewer of this decision.")
        self._record(item, decision, justification, self._identity(caller))

    def batch_record(
        self, caller: Caller, definition_id: str, instance_id: str, body: object, *, mine: bool
    ) -> None:
        """`batchRecordDecisions` (v1.0; delegated or app) or `recordAllDecisions` (beta,
        delegated): one decision for every item matching `principalId`/`resourceId`; a signed-in
        caller decides only the items they review."""
        instance = self.instance(definition_id, instance_id)
        decision, justification = self._parse_decision(body, definition_id)
        self._require_open(instance)
        assert isinstance(body, Mapping)
        principal_id = body.get("principalId")
        resource_id = body.get("resourceId")
        definition = self.definition(definition_id)
        if resource_id is not None and str(resource_id).lower() != definition.role_id.lower():
            return
        user_id = caller.user_id
        if mine and user_id is None:
            raise access_denied(
                "This operation needs a signed-in user; application permissions are not supported."
            )
        for item in instance.decisions:
            if principal_id is not None and item.principal_id.lower() != str(principal_id).lower():
                continue
            if user_id is not None and user_id not in item.reviewer_ids:
                continue
            self._record(item, decision, justification, self._identity(caller))

    def _parse_decision(self, body: object, definition_id: str) -> tuple[str, str]:
        if not isinstance(body, Mapping):
            raise bad_request("The request body must carry a decision.")
        decision = body.get("decision")
        if decision not in DECISIONS:
            raise bad_request(f"decision must be one of {', '.join(DECISIONS)}.")
        justification = body.get("justification") or ""
        if not isinstance(justification, str):
            raise bad_request("justification must be a string.")
        settings = self.definition(definition_id).settings
        if (
            decision == "Approve"
            and settings.get("justificationRequiredOnApproval")
            and not justification.strip()
        ):
            raise bad_request("A justification is required to approve.", "JustificationRequired")
        return str(decision), justification

    def _require_open(self, instance: ReviewInstance) -> None:
        if not instance_is_open(instance):
            raise GraphHttpError(
                409,
                "Conflict",
                f"The access review instance is {instance.status}; it takes no more decisions.",
            )

    def _record(
        self,
        item: ReviewDecision,
        decision: str,
        justification: str,
        reviewer: ReviewIdentity,
        *,
        at: datetime | None = None,
    ) -> None:
        item.decision = decision
        item.justification = justification
        item.reviewed_by = reviewer
        item.reviewed_at = at or self.roles.now()

    # --- actions on an instance ----------------------------------------------------------------

    def stop(self, caller: Caller, definition_id: str, instance_id: str) -> None:
        definition = self.definition(definition_id)
        instance = self.instance(definition_id, instance_id)
        self._require_open(instance)
        self._complete(definition, instance, self.roles.now())

    def apply(self, caller: Caller, definition_id: str, instance_id: str) -> None:
        instance = self.instance(definition_id, instance_id)
        if instance.status != "Completed":
            raise bad_request(
                f"Decisions apply to a Completed instance; this one is {instance.status}."
            )
        self._apply(instance, self._identity(caller), self.roles.now())

    def send_reminder(self, caller: Caller, definition_id: str, instance_id: str) -> None:
        instance = self.instance(definition_id, instance_id)
        self._require_open(instance)
        instance.reminders_sent += 1

    def _apply(self, instance: ReviewInstance, applier: ReviewIdentity, at: datetime) -> None:
        definition = self.definition(instance.definition_id)
        for item in instance.decisions:
            if item.apply_result != "New":
                continue
            item.applied_by, item.applied_at = applier, at
            if item.decision != "Deny":
                item.apply_result = "AppliedSuccessfully"
                continue
            removed = self._remove_access(definition, item, at)
            item.apply_result = (
                "AppliedSuccessfully" if removed else "AppliedSuccessfullyButObjectNotFound"
            )
        instance.status = "Applied"

    def _remove_access(
        self, definition: ReviewDefinition, item: ReviewDecision, at: datetime
    ) -> bool:
        schedules = [
            s
            for s in self.state.schedules.of(item.principal_id)
            if s.role_id.lower() == definition.role_id.lower()
        ]
        for schedule in schedules:
            self.state.schedules.remove(schedule)
            self.roles.audit.write(
                "Remove eligible member from role in PIM completed (access review)"
                if schedule.kind == "eligibility"
                else "Remove member from role in PIM completed (access review)",
                at=at,
                operation="Delete",
                role_id=schedule.role_id,
                principal_id=schedule.principal_id,
                initiated_by={"user": PIM_SYSTEM_USER, "app": None},
                details={
                    "AccessReviewId": definition.id,
                    "OriginRoleAssignmentId": schedule.assignment_id,
                },
            )
        return bool(schedules)

    # --- identities ----------------------------------------------------------------------------

    def _identity(self, caller: Caller) -> ReviewIdentity:
        if caller.user_id:
            return self._user_identity(caller.user_id)
        name = next(
            (a.display_name for a in self.tenant.apps if a.client_id == caller.app_id), None
        )
        return ReviewIdentity(id=caller.app_id, display_name=name)

    def _user_identity(self, user_id: str) -> ReviewIdentity:
        try:
            user = self.tenant.user(user_id)
        except KeyError:
            return ReviewIdentity(id=user_id)
        return ReviewIdentity(
            id=user.id, display_name=user.display_name, user_principal_name=user.upn
        )


def _principal_kinds(scope: Mapping[str, Any]) -> set[str] | None:
    """Whose access a `principalResourceMembershipsScope` reviews, by its `principalScopes`:
    `/users` (users, and role-assignable groups' assignments as before) and `/servicePrincipals`
    (apps); None when the scope names none (everyone holding the role)."""
    scopes = scope.get("principalScopes")
    if not isinstance(scopes, list) or not scopes:
        return None
    queries = {str(s.get("query", "")).strip("/").lower() for s in scopes if isinstance(s, Mapping)}
    kinds = {kind for kind in ("users", "servicePrincipals") if kind.lower() in queries}
    return kinds or None


def _users_only(reviewers: list[Any]) -> bool:
    return all(
        isinstance(r, Mapping) and str(r.get("query", "")).lower().startswith("/users/")
        for r in reviewers
    )


def role_scope(role_id: str) -> dict[str, Any]:
    """The documented scope of a review of a directory role's assignments, eligible and active
    (https://learn.microsoft.com/graph/accessreviews-scope-concept)."""
    return {
        "@odata.type": "#microsoft.graph.principalResourceMembershipsScope",
        "principalScopes": [
            {
                "@odata.type": "#microsoft.graph.accessReviewQueryScope",
                "query": "/users",
                "queryType": "MicrosoftGraph",
            }
        ],
        "resourceScopes": [
            {
                "@odata.type": "#microsoft.graph.accessReviewQueryScope",
                "query": f"{ROLE_DEFINITIONS}{role_id}",
                "queryType": "MicrosoftGraph",
            }
        ],
    }


def add_months(when: datetime, months: int) -> datetime:
    """The same day `months` later (the month's last day when it is shorter)."""
    month_index = when.month - 1 + months
    year, month = when.year + month_index // 12, month_index % 12 + 1
    next_month = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=when.tzinfo)
    last_day = (next_month - timedelta(days=1)).day
    return when.replace(year=year, month=month, day=min(when.day, last_day))


def schedule_settings(every_days: int, duration_days: int, start: datetime) -> dict[str, Any]:
    return {
        "mailNotificationsEnabled": True,
        "reminderNotificationsEnabled": True,
        "justificationRequiredOnApproval": False,
        "defaultDecisionEnabled": False,
        "defaultDecision": "None",
        "instanceDurationInDays": duration_days,
        "autoApplyDecisionsEnabled": False,
        "recommendationsEnabled": True,
        "recurrence": {
            "pattern": {"type": "weekly", "interval": max(1, every_days // 7)}
            if every_days % 30
            else {"type": "absoluteMonthly", "interval": every_days // 30, "dayOfMonth": start.day},
            "range": {"type": "noEnd", "startDate": start.date().isoformat()},
        },
    }
