"""Group membership for the admin gate (`bot.governance.ports.AdminDirectory`) over Graph.

Needs `GroupMember.Read.All` (application), which pimbot already holds to resolve approver
groups; nothing is cached, so a person removed from the admin group is refused at once.
"""

from __future__ import annotations

from bot.domain import Person
from bot.graph.errors import GraphError
from bot.graph.http import GraphHttp
from bot.graph.models import Group, User
from bot.graph.odata import path_segment
from bot.graph.people import PERSON_FIELDS


class GraphAdminDirectory:
    def __init__(self, http: GraphHttp, *, tenant_id: str) -> None:
        self._http = http
        self._tenant_id = tenant_id

    async def is_transitive_member(self, person_id: str, group_id: str) -> bool:
        """`GET /users/{id}/transitiveMemberOf/microsoft.graph.group`: the user's groups, nested
        ones included; a user Graph does not know is no member."""
        path = f"/users/{path_segment(person_id)}/transitiveMemberOf/microsoft.graph.group"
        wanted = group_id.lower()
        try:
            async for item in self._http.get_all(path, {"$select": "id", "$top": 999}):
                if Group.model_validate(item).id.lower() == wanted:
                    return True
        except GraphError as exc:
            if exc.status == 404:
                return False
            raise
        return False

    async def transitive_members(self, group_id: str) -> list[Person]:
        path = f"/groups/{path_segment(group_id)}/transitiveMembers/microsoft.graph.user"
        params: dict[str, str | int] = {"$select": PERSON_FIELDS, "$top": 999}
        users = [User.model_validate(item) async for item in self._http.get_all(path, params)]
        return [
            Person(
                id=user.id,
                tenant_id=self._tenant_id,
                display_name=user.display_name or "",
                upn=user.user_principal_name or "",
            )
            for user in users
            if user.account_enabled is not False
        ]
