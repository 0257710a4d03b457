"""`users` and `groups`: reading a user (by id or UPN), a group, and memberships either way,
direct (`memberOf`, `members`) or transitive; and `directoryObjects/{id}`, any of them (or a
service principal) by object id, typed by `@odata.type` (it needs `Directory.Read.All`)."""

from __future__ import annotations

import re

from bot.sandbox.graph import shapes
from bot.sandbox.graph.auth import READ_GROUPS, READ_USERS
from bot.sandbox.graph.context import TwinContext
from bot.sandbox.graph.errors import directory_not_found
from bot.sandbox.graph.principals import SERVICE_PRINCIPAL_FIELDS
from bot.sandbox.graph.router import ID, GraphRequest, GraphResponse, Routes
from bot.sandbox.graph.shapes import Json
from bot.sandbox.graph.sign_ins import SIGN_IN_ACTIVITY, asks_for_sign_ins, with_sign_in_activity
from bot.sandbox.tenant import DemoTenant, TenantUser

routes = Routes()
READ_DIRECTORY_OBJECTS = ("Directory.Read.All", "Directory.ReadWrite.All")
_USER_GROUPS = "(?P<relation>transitiveMemberOf|memberOf)"
_GROUP_MEMBERS = "(?P<relation>transitiveMembers|members)"


def find_user(tenant: DemoTenant, object_id: str) -> TenantUser:
    """A user by id or UPN, as Graph finds them (handles are the sandbox's own), or Graph's 404."""
    wanted = object_id.lower()
    found = next((u for u in tenant.users if wanted in (u.id.lower(), u.upn.lower())), None)
    if found is None:
        raise directory_not_found(object_id)
    return found


@routes.route("GET", f"/directoryObjects/{ID}")
def get_directory_object(
    twin: TwinContext, request: GraphRequest, match: re.Match[str]
) -> GraphResponse:
    request.caller.require(READ_DIRECTORY_OBJECTS)
    found = shapes.directory_object(twin.tenant, match["id"])
    if found is None:
        raise directory_not_found(match["id"])
    return twin.entity(
        request,
        "directoryObjects",
        found,
        properties=(*shapes.USER_PROPERTIES, *shapes.GROUP_PROPERTIES, *SERVICE_PRINCIPAL_FIELDS),
        type_name="directoryObject",
    )


@routes.route("GET", "/users")
def list_users(twin: TwinContext, request: GraphRequest, _: re.Match[str]) -> GraphResponse:
    request.caller.require(READ_USERS)
    users = [shapes.user(u) for u in twin.tenant.users]
    if asks_for_sign_ins(request.query):
        users = [
            with_sign_in_activity(request.caller, u, shaped)
            for u, shaped in zip(twin.tenant.users, users, strict=True)
        ]
    return twin.collection(
        request,
        "users",
        users,
        properties=(*shapes.USER_PROPERTIES, SIGN_IN_ACTIVITY),
        filterable=("id", "displayName", "userPrincipalName", "mail", "jobTitle", "givenName"),
        type_name="user",
    )


@routes.route("GET", f"/users/{ID}")
def get_user(twin: TwinContext, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
    request.caller.require(READ_USERS)
    found = find_user(twin.tenant, match["id"])
    shaped = shapes.user(found)
    if asks_for_sign_ins(request.query):
        shaped = with_sign_in_activity(request.caller, found, shaped)
    return twin.entity(
        request,
        "users",
        shaped,
        properties=(*shapes.USER_PROPERTIES, SIGN_IN_ACTIVITY),
        type_name="user",
    )


# "List manager": User.Read.All (least privileged) or higher; User.ReadBasic.All is not enough.
READ_MANAGER = (
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
)


@routes.route("GET", f"/users/{ID}/manager")
def get_manager(twin: TwinContext, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
    """The user's manager (a directoryObject, here always a user); 404 when they have none,
    as Graph answers."""
    request.caller.require(READ_MANAGER)
    found = find_user(twin.tenant, match["id"])
    manager = twin.tenant.manager_of(found.id)
    if manager is None:
        raise directory_not_found("manager")
    return twin.entity(
        request,
        "directoryObjects",
        shapes.user(manager),
        properties=shapes.USER_PROPERTIES,
        type_name="user",
    )


@routes.route("GET", f"/users/{ID}/{_USER_GROUPS}")
@routes.route("GET", f"/users/{ID}/{_USER_GROUPS}/(?P<cast>microsoft\\.graph\\.group)")
def user_groups(twin: TwinContext, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
    request.caller.require(READ_GROUPS)
    found = find_user(twin.tenant, match["id"])
    groups = twin.tenant.groups_of(found.id)
    if match["relation"].lower() == "memberof":
        groups = [g for g in groups if found.id in twin.tenant.direct_member_ids(g.id)]
    return twin.collection(
        request,
        "groups" if match.groupdict().get("cast") else "directoryObjects",
        [shapes.group(g) for g in groups],
        properties=shapes.GROUP_PROPERTIES,
        type_name="group",
    )


def _group(tenant: DemoTenant, group_id: str) -> Json:
    found = next((g for g in tenant.groups if g.id.lower() == group_id.lower()), None)
    if found is None:
        raise directory_not_found(group_id)
    return shapes.group(found)


@routes.route("GET", "/groups")
def list_groups(twin: TwinContext, request: GraphRequest, _: re.Match[str]) -> GraphResponse:
    request.caller.require(READ_GROUPS)
    return twin.collection(
        request,
        "groups",
        [shapes.group(g) for g in twin.tenant.groups],
        properties=shapes.GROUP_PROPERTIES,
        filterable=("id", "displayName"),
        type_name="group",
    )


@routes.route("GET", f"/groups/{ID}")
def get_group(twin: TwinContext, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
    request.caller.require(READ_GROUPS)
    return twin.entity(
        request,
        "groups",
        _group(twin.tenant, match["id"]),
        properties=shapes.GROUP_PROPERTIES,
        type_name="group",
    )


@routes.route("GET", f"/groups/{ID}/{_GROUP_MEMBERS}")
@routes.route("GET", f"/groups/{ID}/{_GROUP_MEMBERS}/(?P<cast>microsoft\\.graph\\.user)")
def group_members(twin: TwinContext, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
    request.caller.require(READ_GROUPS)
    group = _group(twin.tenant, match["id"])
    if match["relation"].lower() == "transitivemembers":
        member_ids = [
            *twin.tenant.transitive_user_ids(group["id"]),
            *sorted(_transitive_group_ids(twin.tenant, group["id"])),
        ]
    else:
        member_ids = twin.tenant.direct_member_ids(group["id"])
    members = [m for m in (shapes.directory_object(twin.tenant, i) for i in member_ids) if m]
    users_only = match.groupdict().get("cast") is not None
    if users_only:
        members = [m for m in members if m["@odata.type"] == "#microsoft.graph.user"]
    return twin.collection(
        request,
        "users" if users_only else "directoryObjects",
        members,
        properties=(*shapes.USER_PROPERTIES, *shapes.GROUP_PROPERTIES),
        type_name="user" if users_only else "directoryObject",
    )


def _transitive_group_ids(tenant: DemoTenant, group_id: str) -> set[str]:
    found: set[str] = set()
    pending = [group_id]
    while pending:
        current = pending.pop()
        for member_id in tenant.direct_member_ids(current):
            if member_id not in found and any(g.id == member_id for g in tenant.groups):
                found.add(member_id)
                pending.append(member_id)
    return found
