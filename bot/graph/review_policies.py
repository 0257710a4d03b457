"""Access review definitions for the policy file (`bot.governance.policy_reviews`), over Graph
(`identityGovernance/accessReviews/definitions`, v1.0).

- Read: the definitions scoped to a directory role that have not completed; reviewers
  `/users/{id}` are named by UPN, `/groups/{id}/transitiveMembers` (or `members`) by group id,
  `./manager` (query root `decisions`) as managers, with `fallbackReviewers` users as fallback.
- Create: POST, scoped to the role's eligible and active assignments the documented way.
- Update: PUT with the whole object, as Graph asks ("A PUT request expects the full object to
  be passed in, which includes all writable properties"); the writable properties are taken from
  the definition as read, with the file's settings over them. Changes apply to the instances that
  start after it, not the one running. Graph changes `reviewers` this way only when they are
  individual users.
- Delete: DELETE; undoing it creates the review again (a new id).

Needs AccessReview.ReadWrite.All (delegated: an admin with Identity Governance Administrator,
Privileged Role Administrator or Global Administrator; or the app's).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from bot.governance.policy_ports import PolicyRefused
from bot.governance.policy_reviews import (
    DEFAULT_DECISIONS,
    DefaultDecision,
    NotInTenant,
    ReviewEntry,
    ReviewersEntry,
    TenantReview,
    duration_days,
    every_of,
    recurrence,
)
from bot.graph.access_reviews import (
    DEFINITIONS,
    PAGE,
    DefinitionJson,
    role_review_scope,
)
from bot.graph.errors import GraphError
from bot.graph.http import GraphHttp
from bot.graph.odata import odata_string, path_segment

# What a PUT carries: the writable properties of an accessReviewScheduleDefinition.
WRITABLE = (
    "displayName",
    "descriptionForAdmins",
    "descriptionForReviewers",
    "scope",
    "instanceEnumerationScope",
    "reviewers",
    "fallbackReviewers",
    "additionalNotificationRecipients",
    "settings",
)
MANAGER = {"query": "./manager", "queryType": "MicrosoftGraph", "queryRoot": "decisions"}


class GraphReviewDefinitions:
    def __init__(self, http: GraphHttp, *, today: Callable[[], date] | None = None) -> None:
        self._http = http
        self._today = today or (lambda: datetime.now(UTC).date())
        self._upns: dict[str, str] = {}  # user id → UPN
        self._ids: dict[str, str] = {}  # UPN (folded) → user id

    # --- reads ---------------------------------------------------------------------------------

    async def read_all(self) -> list[TenantReview]:
        found = []
        try:
            async for item in self._http.get_all(DEFINITIONS, {"$top": PAGE}):
                definition = DefinitionJson.model_validate(item)
                if definition.role_id is None or definition.status == "Completed":
                    continue
                entry = await self._entry(item)
                found.append(TenantReview(definition.role_id, entry, item))
        except GraphError as exc:
            raise _refused(exc) from exc
        return sorted(found, key=lambda r: (r.role_id.lower(), r.entry.name or "", r.entry.id))

    async def _entry(self, item: dict[str, Any]) -> ReviewEntry:
        settings = item.get("settings") or {}
        pattern = (settings.get("recurrence") or {}).get("pattern") or {}
        kind, interval = pattern.get("type"), int(pattern.get("interval") or 1)
        every = every_of((kind, interval) if kind in ("weekly", "absoluteMonthly") else None)
        people: list[str] = []
        group: str | None = None
        managers = False
        other: list[dict[str, Any]] = []
        for scope in item.get("reviewers") or []:
            query = str(scope.get("query") or "")
            parts = [p for p in query.split("/") if p]
            if len(parts) == 2 and parts[0].lower() == "users":
                people.append(await self._upn(parts[1]))
            elif len(parts) >= 2 and parts[0].lower() == "groups" and group is None:
                group = parts[1]
            elif query == "./manager":
                managers = True
            else:
                other.append(dict(scope))
        fallback = []
        fallback_group: str | None = None
        for scope in item.get("fallbackReviewers") or []:
            parts = [p for p in str(scope.get("query") or "").split("/") if p]
            if len(parts) == 2 and parts[0].lower() == "users":
                fallback.append(await self._upn(parts[1]))
            elif len(parts) >= 2 and parts[0].lower() == "groups" and fallback_group is None:
                fallback_group = parts[1]
        default: DefaultDecision = "None"
        if settings.get("defaultDecisionEnabled"):
            found = str(settings.get("defaultDecision") or "None")
            default = next((d for d in DEFAULT_DECISIONS if d == found), "None")
        return ReviewEntry.model_construct(
            id=str(item["id"]),
            name=str(item.get("displayName") or ""),
            every=every,
            duration=f"P{int(settings.get('instanceDurationInDays') or 1)}D",
            reviewers=ReviewersEntry.model_construct(
                people=tuple(people),
                group=group,
                managers=managers,
                fallback=tuple(fallback) if managers else (),
                fallback_group=fallback_group if managers else None,
                other=tuple(other),
            ),
            auto_apply=bool(settings.get("autoApplyDecisionsEnabled")),
            default_decision=default,
            recommendations=bool(settings.get("recommendationsEnabled")),
            justification_on_approval=bool(settings.get("justificationRequiredOnApproval")),
            reminders=bool(settings.get("reminderNotificationsEnabled")),
        )

    async def resolve(self, reviewers: ReviewersEntry) -> ReviewersEntry:
        try:
            people = tuple([await self._user(ref) for ref in reviewers.people])
            fallback = tuple([await self._user(ref) for ref in reviewers.fallback])
            group = await self._group(reviewers.group) if reviewers.group else None
            fallback_group = (
                await self._group(reviewers.fallback_group) if reviewers.fallback_group else None
            )
        except GraphError as exc:
            raise _refused(exc) from exc
        return reviewers.model_copy(
            update={
                "people": people,
                "fallback": fallback,
                "group": group,
                "fallback_group": fallback_group,
            }
        )

    async def _user(self, ref: str) -> str:
        """A UPN or object id → the user's UPN."""
        try:
            item = await self._http.get_json(
                f"/users/{path_segment(ref)}", {"$select": "id,userPrincipalName"}
            )
        except GraphError as exc:
            if exc.status in (400, 404):
                raise NotInTenant(f"the tenant has no user {ref!r}") from None
            raise
        upn, user_id = str(item.get("userPrincipalName") or ref), str(item.get("id") or ref)
        self._upns[user_id.lower()] = upn
        self._ids[upn.casefold()] = user_id
        return upn

    async def _upn(self, user_id: str) -> str:
        if user_id.lower() not in self._upns:
            try:
                await self._user(user_id)
            except NotInTenant:
                return user_id  # a reviewer since deleted: named by id
        return self._upns.get(user_id.lower(), user_id)

    async def _user_id(self, upn: str) -> str:
        if upn.casefold() not in self._ids:
            await self._user(upn)
        return self._ids.get(upn.casefold(), upn)

    async def _group(self, ref: str) -> str:
        """A group's object id, or its display name (which must name one group) → its id."""
        if _is_guid(ref):
            try:
                item = await self._http.get_json(f"/groups/{path_segment(ref)}", {"$select": "id"})
            except GraphError as exc:
                if exc.status in (400, 404):
                    raise NotInTenant(f"the tenant has no group {ref!r}") from None
                raise
            return str(item.get("id") or ref)
        params = {"$filter": f"displayName eq {odata_string(ref)}", "$select": "id"}
        found = [str(item["id"]) async for item in self._http.get_all("/groups", params)]
        if len(found) != 1:
            why = "no group" if not found else f"{len(found)} groups"
            raise NotInTenant(f"the tenant has {why} called {ref!r}; name the group by its id")
        return found[0]

    # --- writes --------------------------------------------------------------------------------

    async def create(self, role_id: str, role_name: str, entry: ReviewEntry) -> TenantReview:
        body = await self._body(entry, role_id, role_name, base=None)
        return await self._post(role_id, body)

    async def update(self, before: TenantReview, after: ReviewEntry, role_name: str) -> None:
        body = await self._body(after, before.role_id, role_name, base=before)
        await self._put(before, body)

    async def put_back(self, before: TenantReview) -> None:
        await self._put(before, _writable(before.graph_object))

    async def delete(self, review: TenantReview) -> None:
        try:
            await self._http.delete(f"{DEFINITIONS}/{path_segment(str(review.entry.id))}")
        except GraphError as exc:
            raise _refused(exc) from exc

    async def restore(self, review: TenantReview) -> TenantReview:
        return await self._post(review.role_id, _writable(review.graph_object))

    async def _post(self, role_id: str, body: dict[str, Any]) -> TenantReview:
        try:
            created, _ = await self._http.post_json(DEFINITIONS, body)
            return TenantReview(role_id, await self._entry(created), created)
        except GraphError as exc:
            raise _refused(exc) from exc

    async def _put(self, before: TenantReview, body: dict[str, Any]) -> None:
        path = f"{DEFINITIONS}/{path_segment(str(before.entry.id))}"
        try:
            await self._http.request(
                "PUT", self._http.url(path), json={"id": before.entry.id, **body}
            )
        except GraphError as exc:
            raise _refused(exc) from exc

    async def _body(
        self, entry: ReviewEntry, role_id: str, role_name: str, base: TenantReview | None
    ) -> dict[str, Any]:
        body = _writable(base.graph_object) if base else _new_body(role_id, role_name)
        body["displayName"] = entry.name or f"{role_name} access review"
        if base is None or not entry.reviewers.same_as(base.entry.reviewers):
            body["reviewers"] = await self._reviewer_scopes(entry.reviewers)
            body["fallbackReviewers"] = [
                _user_scope(await self._user_id(upn)) for upn in entry.reviewers.fallback
            ]
            if entry.reviewers.fallback_group:
                body["fallbackReviewers"].append(_group_scope(entry.reviewers.fallback_group))
        settings = body.setdefault("settings", {})
        default = entry.default_decision
        settings.update(
            {
                "instanceDurationInDays": duration_days(entry.duration),
                "autoApplyDecisionsEnabled": entry.auto_apply,
                "defaultDecisionEnabled": default != "None",
                "defaultDecision": default,
                "recommendationsEnabled": entry.recommendations,
                "justificationRequiredOnApproval": entry.justification_on_approval,
                "reminderNotificationsEnabled": entry.reminders,
            }
        )
        pattern = recurrence(entry.every)
        before_every = base.entry.every if base else None
        if pattern is not None and every_of(pattern) != before_every:
            kind, interval = pattern
            start = (settings.get("recurrence") or {}).get("range", {}).get("startDate")
            start_date = datetime.fromisoformat(start).date() if start else self._today()
            json_pattern: dict[str, Any] = {"type": kind, "interval": interval}
            if kind == "absoluteMonthly":
                json_pattern["dayOfMonth"] = start_date.day
            settings["recurrence"] = {
                "pattern": json_pattern,
                "range": {"type": "noEnd", "startDate": start_date.isoformat()},
            }
        return body

    async def _reviewer_scopes(self, reviewers: ReviewersEntry) -> list[dict[str, Any]]:
        scopes = [_user_scope(await self._user_id(upn)) for upn in reviewers.people]
        if reviewers.group:
            scopes.append(_group_scope(reviewers.group))
        if reviewers.managers:
            scopes.append(dict(MANAGER))
        scopes.extend(dict(scope) for scope in reviewers.other)
        return scopes


def _new_body(role_id: str, role_name: str) -> dict[str, Any]:
    return {
        "descriptionForAdmins": (
            f"Who still needs {role_name}? Eligible and active assignments. Declared in "
            "pimbot's policy file, which brings reviewers their decisions in Teams."
        ),
        "descriptionForReviewers": (
            f"Does each of these people still need {role_name}? Remove what is no longer "
            "needed; removed access can be asked for again."
        ),
        "scope": role_review_scope(role_id),
        "settings": {"mailNotificationsEnabled": True},
    }


def _writable(graph_object: Any) -> dict[str, Any]:
    return {
        key: copy.deepcopy(graph_object[key])
        for key in WRITABLE
        if key in graph_object and graph_object[key] is not None
    }


def _group_scope(group_id: str) -> dict[str, Any]:
    return {
        "query": f"/groups/{group_id}/transitiveMembers/microsoft.graph.user",
        "queryType": "MicrosoftGraph",
    }


def _user_scope(user_id: str) -> dict[str, Any]:
    return {"query": f"/users/{user_id}", "queryType": "MicrosoftGraph"}


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _refused(exc: GraphError) -> PolicyRefused:
    return PolicyRefused(exc.status, exc.code, exc.message)
