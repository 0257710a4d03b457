"""Users and groups: people by id, the users an approver reference stands for, and the
role-assignable groups a person belongs to."""

from __future__ import annotations

import logging

from bot.domain import ApproverKind, ApproverRef, Person
from bot.graph.batch import CollectionRead
from bot.graph.errors import GraphError
from bot.graph.http import GraphHttp, JsonObject
from bot.graph.models import Group, User
from bot.graph.odata import path_segment

logger = logging.getLogger(__name__)

PERSON_FIELDS = "id,displayName,userPrincipalName,accountEnabled"


def person_from(user: User, tenant_id: str) -> Person:
    return Person(
        id=user.id,
        tenant_id=tenant_id,
        display_name=user.display_name or "",
        upn=user.user_principal_name or "",
    )


async def read_user(http: GraphHttp, user_id: str) -> User | None:
    """The user, or None when it was deleted or never existed."""
    try:
        body = await http.get_json(f"/users/{path_segment(user_id)}", {"$select": PERSON_FIELDS})
    except GraphError as exc:
        if exc.status == 404:
            return None
        raise
    return User.model_validate(body)


async def enabled_users_of(http: GraphHttp, ref: ApproverRef) -> list[User]:
    """The enabled user a reference names, or the enabled transitive user members of its group
    (none when the group no longer exists)."""
    if ref.kind is ApproverKind.USER:
        user = await read_user(http, ref.id)
        return [user] if user and user.account_enabled is not False else []
    params: dict[str, str | int] = {"$select": PERSON_FIELDS, "$top": 999}
    path = f"/groups/{path_segment(ref.id)}/transitiveMembers/microsoft.graph.user"
    try:
        members = [User.model_validate(item) async for item in http.get_all(path, params)]
    except GraphError as exc:
        if exc.status != 404:
            raise
        logger.warning("approver group %s no longer exists", ref.id)
        return []
    return [user for user in members if user.account_enabled is not False]


async def role_assignable_groups(http: GraphHttp, principal_id: str) -> list[str]:
    """Groups (transitively) holding the principal that can carry roles: PIM eligibilities
    and assignments given to such a group count for its members."""
    read = groups_read(principal_id)
    try:
        items = [item async for item in http.get_all(read.path, read.params)]
    except GraphError as exc:
        return groups_from(exc, principal_id)
    return groups_from(items, principal_id)


def groups_read(principal_id: str) -> CollectionRead:
    """The read behind `role_assignable_groups`, to send alone or in a batch."""
    path = f"/users/{path_segment(principal_id)}/transitiveMemberOf/microsoft.graph.group"
    return CollectionRead(path, {"$select": "id,displayName,isAssignableToRole", "$top": 999})


def groups_from(result: list[JsonObject] | GraphError, principal_id: str) -> list[str]:
    """The role-assignable group ids in the answer to `groups_read`."""
    if isinstance(result, GraphError):
        if result.status not in (400, 403, 404):
            raise result
        # Not permitted (no GroupMember.Read.All) or not offered: direct ones still count.
        logger.warning(
            "cannot list the groups of %s (%s %s); group-inherited roles are left out",
            principal_id,
            result.status,
            result.code,
        )
        return []
    groups = [Group.model_validate(item) for item in result]
    return [group.id for group in groups if group.is_assignable_to_role]
