"""What the twin's route handlers serve from: one tenant, its PIM state and rules, and the Teams
app installs; and how Graph answers with a collection or an entity (`$filter`, `$select`,
`$expand`, `$count`, paging)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bot.sandbox.graph import shapes
from bot.sandbox.graph.access_reviews import AccessReviews
from bot.sandbox.graph.errors import bad_request, not_found
from bot.sandbox.graph.odata import (
    Expand,
    Query,
    check_expandable,
    check_filterable,
    check_selectable,
    matches,
    paginate,
    parse_query,
    project,
)
from bot.sandbox.graph.role_management import RoleManagement
from bot.sandbox.graph.router import GraphRequest, GraphResponse
from bot.sandbox.graph.schedules import Schedule
from bot.sandbox.graph.shapes import Json
from bot.sandbox.graph.teamwork import TeamsAppInstalls

Expander = Callable[[Json, Expand], Any]


class TwinContext:
    """Every Graph resource the twin serves reads one tenant and one PIM state through this."""

    def __init__(
        self, roles: RoleManagement, page_size: int, teamwork: TeamsAppInstalls | None = None
    ) -> None:
        self.roles = roles
        self.tenant = roles.tenant
        self.page_size = page_size
        self.teamwork = teamwork  # users' Teams apps; None when the twin has none
        self.reviews = AccessReviews(roles)

    # --- schedules as of the twin's clock ------------------------------------------------------

    def in_force(self, kind: str, principal: str | None = None) -> list[Schedule]:
        """Schedules of `kind` ("eligibility" or "assignment") in force now (of `principal`
        only, when given)."""
        now = self.roles.now()
        return [s for s in self._schedules(kind, principal) if s.in_force(now)]

    def live(self, kind: str, principal: str | None = None) -> list[Schedule]:
        """Schedules of `kind` in force now or later (not yet ended)."""
        now = self.roles.now()
        return [s for s in self._schedules(kind, principal) if not s.ended(now)]

    def _schedules(self, kind: str, principal: str | None) -> list[Schedule]:
        schedules = self.roles.state.schedules
        return [
            s
            for s in (schedules if principal is None else schedules.of(principal))
            if s.kind == kind
        ]

    # --- expansion -----------------------------------------------------------------------------

    def directory_expanders(self) -> dict[str, Expander]:
        """`roleDefinition` and `principal`, which every role-management item can expand."""
        return {
            "roleDefinition": lambda item, _: self.role_json(item.get("roleDefinitionId")),
            "principal": lambda item, _: shapes.directory_object(
                self.tenant, str(item.get("principalId"))
            ),
        }

    def role_json(self, role_id: object) -> Json | None:
        try:
            return shapes.role_definition(self.tenant.role(str(role_id)))
        except KeyError:
            return None

    def apply_expand(
        self, item: Json, chosen: Mapping[str, Expand], expanders: Mapping[str, Expander]
    ) -> Json:
        expanded = dict(item)
        for name, option in chosen.items():
            value = expanders[name](item, option)
            if option.select is not None and isinstance(value, dict):
                value = project(value, option.select)
            expanded[name] = value
        return expanded

    # --- answers -------------------------------------------------------------------------------

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
            project(self.apply_expand(item, chosen, expanders), _with_expanded(query, chosen))
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
            **project(self.apply_expand(item, chosen, expanders), _with_expanded(query, chosen)),
        }
        return GraphResponse(status, body)

    # --- lookups -------------------------------------------------------------------------------

    def find(self, items: Sequence[Json], object_id: str, what: str) -> Json:
        """The item with that id (case-insensitive), or Graph's 404."""
        for item in items:
            if str(item.get("id", "")).lower() == object_id.lower():
                return item
        raise not_found(f"The {what} '{object_id}' does not exist.")

    def current_user(self, request: GraphRequest, on: str, allowed: tuple[str, ...]) -> str:
        """The signed-in user's id for `filterByCurrentUser(on=...)`, if `on` is allowed here."""
        if on.lower() not in allowed:
            raise bad_request(f"The value '{on}' of 'on' is not supported here.")
        return request.caller.require_user()


def _with_expanded(query: Query, chosen: Mapping[str, Expand]) -> tuple[str, ...] | None:
    """`$select` plus the expanded navigation properties (Graph keeps both)."""
    if query.select is None:
        return None
    return (*query.select, *chosen)
