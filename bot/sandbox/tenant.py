"""The sandbox's demo tenant: people, groups, roles, PIM eligibilities, standing assignments and
PIM policies, read from a YAML file a person can edit.

The YAML refers to users by handle, to roles by display name and to groups by display name or
id; `DemoTenant` checks every reference when it loads, so a typo fails at start-up, not in the
middle of a demo. The Graph, Entra and Teams twins all read this one model.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

DEFAULT_TENANT_PATH = Path(__file__).with_name("demo_tenant.yaml")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TenantUser(_Spec):
    id: str
    handle: str
    upn: str  # defaults to `{handle}@{domain}` in the YAML
    display_name: str
    mail: str | None = None  # defaults to the upn in the YAML unless given (null: no mailbox)
    job_title: str = ""
    timezone: str = "UTC"  # IANA name, sent by the Teams twin as localTimezone
    break_glass: bool = False
    # signInActivity.lastSignInDateTime (Graph returns it only when $select names it); None: never
    last_sign_in: datetime | None = None
    manager: str | None = None  # the manager's handle (Graph: /users/{id}/manager); None: none


class TenantGroup(_Spec):
    id: str
    display_name: str
    members: list[str] = Field(default_factory=list)  # user handles, or other groups' ids or names


class FederatedCredential(_Spec):
    """A federated identity credential on an app registration: Entra accepts a token from
    `issuer` about `subject` for one of `audiences` as the app's client assertion."""

    issuer: str = ""  # empty: this tenant's own Entra issuer (a managed identity's tokens)
    subject: str  # for a managed identity: its principal (object) id
    audiences: list[str] = Field(default_factory=lambda: ["api://AzureADTokenExchange"])


class AppRegistration(_Spec):
    client_id: str
    client_secret: str = ""  # empty: the app has no secret
    display_name: str
    application_permissions: list[str] = Field(default_factory=list)
    # Microsoft Graph's delegated permissions an admin consented to for everyone (on-behalf-of)
    delegated_permissions: list[str] = Field(
        default_factory=lambda: [
            "RoleAssignmentSchedule.ReadWrite.Directory",
            "RoleEligibilitySchedule.ReadWrite.Directory",  # the admin side's conversions
            "RoleManagementPolicy.ReadWrite.Directory",  # the computed MFA alert's fix
            "AccessReview.ReadWrite.All",  # reviewers' access review decisions (pim engine)
            "RoleManagement.Read.Directory",
            "User.Read",
            "User.ReadBasic.All",
        ]
    )
    certificates: list[str] = Field(default_factory=list)  # PEM certificates (public part)
    # Entra's "Allow public client flows": the device code grant, without a secret
    public_client: bool = False
    federated_credentials: list[FederatedCredential] = Field(default_factory=list)
    # The service principal's last sign-in (`reports/servicePrincipalSignInActivities`,
    # `lastSignInActivity`); None: no sign-in recorded
    last_sign_in: datetime | None = None


class ManagedIdentitySpec(_Spec):
    """A user-assigned managed identity, with the Graph application permissions it holds."""

    client_id: str
    principal_id: str
    display_name: str
    application_permissions: list[str] = Field(default_factory=list)
    last_sign_in: datetime | None = None  # as an app registration's


class RoleSpec(_Spec):
    """A directory role definition; for built-in roles `id` is Microsoft's template id."""

    id: str
    display_name: str
    description: str = ""


class EligibilitySpec(_Spec):
    """`user` may activate `role` (PIM eligibility, tenant-wide scope)."""

    user: str  # handle
    role: str  # display name
    end: datetime | None = None  # None: permanently eligible


class AssignmentSpec(_Spec):
    """A standing active assignment of `role` to `user`, or to `app`'s service principal (what
    an audit looks for). Graph grants service principals active assignments only, never
    eligibilities."""

    user: str = ""  # handle
    app: str = ""  # an app registration's or managed identity's display name or client id
    role: str  # display name
    end: datetime | None = None  # None: permanent
    # Made directly (`POST roleManagement/directory/roleAssignments`), not through PIM
    outside_pim: bool = False

    @model_validator(mode="after")
    def _one_principal(self) -> AssignmentSpec:
        if bool(self.user) == bool(self.app):
            raise ValueError("an assignment names exactly one of `user` and `app`")
        return self


class ApprovalSpec(_Spec):
    """Who approves activations. Approval is required when this block is present."""

    users: list[str] = Field(default_factory=list)  # handles
    groups: list[str] = Field(default_factory=list)  # display names or ids
    timeout_days: int = Field(1, ge=1)  # approvalStageTimeOutInDays
    approver_justification_required: bool = True
    required_for_extension: bool = False

    @model_validator(mode="after")
    def _has_approvers(self) -> ApprovalSpec:
        if not self.users and not self.groups:
            raise ValueError("an approval block needs at least one user or group")
        return self


class PolicySpec(_Spec):
    """A role's PIM settings. The defaults are Microsoft's default policy for directory roles."""

    role: str  # display name
    max_duration: timedelta = timedelta(hours=8)  # Expiration_EndUser_Assignment
    require_mfa: bool = True
    require_justification: bool = True
    require_ticket: bool = False
    approval: ApprovalSpec | None = None
    authentication_context: str | None = None  # an ACRS claim value such as "c1"
    # The admin side (Enablement_/Expiration_Admin_Assignment): how active assignments are made.
    admin_assignment_require_justification: bool = True
    admin_assignment_expiration_required: bool = False
    admin_assignment_max_duration: timedelta = timedelta(days=180)


class AccessReviewSpec(_Spec):
    """A recurring access review of one role's eligible and active assignments. Its first
    instance starts when the Graph twin first starts; `decided` maps user handles to decisions
    already recorded (Approve or Deny) by the first reviewer."""

    display_name: str
    role: str
    reviewers: list[str]  # user handles or group names
    every_days: int = 90
    duration_days: int = 14
    decided: dict[str, str] = Field(default_factory=dict)


class DemoTenant(_Spec):
    _user_index: tuple[list[TenantUser], dict[str, TenantUser]] | None = PrivateAttr(None)
    tenant_id: str
    domain: str
    display_name: str
    users: list[TenantUser]
    groups: list[TenantGroup] = Field(default_factory=list)
    roles: list[RoleSpec]
    eligibilities: list[EligibilitySpec] = Field(default_factory=list)
    assignments: list[AssignmentSpec] = Field(default_factory=list)
    policies: list[PolicySpec] = Field(default_factory=list)
    # PIM alert configurations that differ from the defaults, by alert name (e.g. thresholds).
    alert_settings: dict[str, dict[str, Any]] = Field(default_factory=dict)
    apps: list[AppRegistration]
    # The group whose transitive members are pimbot's admins (PIMBOT_ADMIN_GROUP_ID): name or id
    admin_group: str | None = None
    managed_identities: list[ManagedIdentitySpec] = Field(default_factory=list)
    access_reviews: list[AccessReviewSpec] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _default_addresses(cls, data: Any) -> Any:
        """Users get `handle@domain` as upn, and the upn as mail unless `mail` is given."""
        if not isinstance(data, dict) or not isinstance(data.get("users"), list):
            return data
        domain = data.get("domain", "")
        users = []
        for raw in data["users"]:
            user = dict(raw) if isinstance(raw, dict) else raw
            if isinstance(user, dict) and "handle" in user:
                user.setdefault("upn", f"{user['handle']}@{domain}")
                user.setdefault("mail", user["upn"])
            users.append(user)
        return {**data, "users": users}

    @model_validator(mode="after")
    def _check_references(self) -> DemoTenant:
        try:
            self._check_references_or_raise()
        except KeyError as missing:  # pydantic reports ValueErrors, not KeyErrors
            raise ValueError(missing.args[0]) from None
        return self

    def _check_references_or_raise(self) -> None:
        if not self.apps:
            raise ValueError("the tenant needs at least one app registration (pimbot's)")
        _unique("user id", (u.id.lower() for u in self.users))
        _unique("user handle", (u.handle.lower() for u in self.users))
        _unique("group id", (g.id.lower() for g in self.groups))
        _unique("role id", (r.id.lower() for r in self.roles))
        _unique("role name", (r.display_name.lower() for r in self.roles))
        _unique("policy role", (self.role(p.role).id for p in self.policies))
        for person in self.users:
            if person.manager is not None and self.user(person.manager).id == person.id:
                raise ValueError(f"{person.handle} cannot be their own manager")
        for group in self.groups:
            for member in group.members:
                self._member(member)
        self._check_no_group_cycle()
        if self.admin_group is not None:
            self.group(self.admin_group)
        _unique("app client id", (a.client_id.lower() for a in self.apps))
        grants: list[EligibilitySpec | AssignmentSpec] = [*self.eligibilities, *self.assignments]
        for grant in grants:
            if isinstance(grant, AssignmentSpec) and grant.app:
                self.app_principal(grant.app)
            else:
                self.user(grant.user)
            self.role(grant.role)
        for policy in self.policies:
            self.role(policy.role)
            if policy.approval:
                for handle in policy.approval.users:
                    self.user(handle)
                for group_ref in policy.approval.groups:
                    self.group(group_ref)
        for review in self.access_reviews:
            self.role(review.role)
            for reviewer in review.reviewers:
                self._member(reviewer)
            for handle in review.decided:
                self.user(handle)

    # --- lookups ------------------------------------------------------------------------------

    def user(self, ref: str) -> TenantUser:
        """A user by handle, upn or id (case-insensitive); KeyError when there is none."""
        found = self._users_by_key().get(ref.lower())
        if found is None:
            raise KeyError(f"no user {ref!r} in the demo tenant")
        return found

    def _users_by_key(self) -> dict[str, TenantUser]:
        """Every user under its handle, upn and id, lower-cased (a tenant of 10,000 people is
        looked up once per item of every page); the first user wins, as a scan would. Built
        again whenever `users` is another list (a `model_copy` with new users)."""
        cached = self._user_index
        if cached is not None and cached[0] is self.users:
            return cached[1]
        index: dict[str, TenantUser] = {}
        for user in self.users:
            for key in (user.handle.lower(), user.upn.lower(), user.id.lower()):
                index.setdefault(key, user)
        self._user_index = (self.users, index)
        return index

    def manager_of(self, user_ref: str) -> TenantUser | None:
        """The user's manager; None when they have none."""
        user = self.user(user_ref)
        return self.user(user.manager) if user.manager else None

    def group(self, ref: str) -> TenantGroup:
        """A group by id or display name (case-insensitive); KeyError when there is none."""
        wanted = ref.lower()
        for group in self.groups:
            if wanted in (group.id.lower(), group.display_name.lower()):
                return group
        raise KeyError(f"no group {ref!r} in the demo tenant")

    def role(self, ref: str) -> RoleSpec:
        """A role by display name or id (case-insensitive); KeyError when there is none."""
        wanted = ref.lower()
        for role in self.roles:
            if wanted in (role.id.lower(), role.display_name.lower()):
                return role
        raise KeyError(f"no role {ref!r} in the demo tenant")

    def policy(self, role_ref: str) -> PolicySpec:
        """The role's policy; Microsoft's default policy when the YAML gives none."""
        role = self.role(role_ref)
        for policy in self.policies:
            if self.role(policy.role).id == role.id:
                return policy
        return PolicySpec(role=role.display_name)

    def transitive_user_ids(self, group_id: str) -> list[str]:
        """Ids of the users in the group and in every group nested in it, each once, in order."""
        found: list[str] = []
        seen_groups: set[str] = set()

        def walk(group: TenantGroup) -> None:
            if group.id in seen_groups:
                return
            seen_groups.add(group.id)
            for member in group.members:
                resolved = self._member(member)
                if isinstance(resolved, TenantGroup):
                    walk(resolved)
                elif resolved.id not in found:
                    found.append(resolved.id)

        walk(self.group(group_id))
        return found

    def direct_member_ids(self, group_id: str) -> list[str]:
        """Object ids of the group's direct members (users and groups)."""
        return [self._member(member).id for member in self.group(group_id).members]

    def groups_of(self, user_id: str) -> list[TenantGroup]:
        """Every group the user belongs to, directly or through nesting."""
        return [g for g in self.groups if user_id in self.transitive_user_ids(g.id)]

    def app_principal(self, ref: str) -> AppRegistration | ManagedIdentitySpec:
        """An app registration or managed identity by display name or client id (case-
        insensitive): whose service principal an assignment names; KeyError when there is none."""
        wanted = ref.lower()
        found: list[AppRegistration | ManagedIdentitySpec] = [*self.apps, *self.managed_identities]
        for app in found:
            if wanted in (app.client_id.lower(), app.display_name.lower()):
                return app
        raise KeyError(f"no app or managed identity {ref!r} in the demo tenant")

    @property
    def pimbot_app(self) -> AppRegistration:
        """The app registration pimbot runs as (the first one)."""
        return self.apps[0]

    def _member(self, ref: str) -> TenantUser | TenantGroup:
        try:
            return self.user(ref)
        except KeyError:
            pass
        try:
            return self.group(ref)
        except KeyError:
            raise KeyError(f"group member {ref!r} is neither a user nor a group") from None

    def _check_no_group_cycle(self) -> None:
        def visit(group: TenantGroup, path: tuple[str, ...]) -> None:
            if group.id in path:
                raise ValueError(f"groups nest in a cycle: {' → '.join(path)}")
            for member in group.members:
                resolved = self._member(member)
                if isinstance(resolved, TenantGroup):
                    visit(resolved, (*path, group.id))

        for group in self.groups:
            visit(group, ())


def _unique(what: str, values: Iterable[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"duplicate {what}: {value}")
        seen.add(value)


def load_tenant(path: Path | None = None) -> DemoTenant:
    """Read and validate a tenant file; the packaged demo tenant by default."""
    source = path or DEFAULT_TENANT_PATH
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    return DemoTenant.model_validate(data)
