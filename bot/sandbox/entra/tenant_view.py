"""The tenant as the Entra twin sees it (the demo tenant satisfies these), and the lookups the
twins share: a user by handle, UPN or object id, and an app's service principal id."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Protocol

_SP_NAMESPACE = uuid.UUID("8a6b0e9c-2f6e-4a53-9d7c-5e7d3c1f0a11")


class TenantUserView(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def handle(self) -> str: ...
    @property
    def upn(self) -> str: ...
    @property
    def display_name(self) -> str: ...
    @property
    def mail(self) -> str | None: ...
    @property
    def timezone(self) -> str | None: ...


class AppRegistrationView(Protocol):
    @property
    def client_id(self) -> str: ...
    @property
    def client_secret(self) -> str: ...
    @property
    def display_name(self) -> str: ...
    @property
    def application_permissions(self) -> Iterable[str]: ...


class TenantView(Protocol):
    @property
    def tenant_id(self) -> str: ...
    @property
    def users(self) -> Sequence[TenantUserView]: ...
    @property
    def pimbot_app(self) -> AppRegistrationView: ...
    def user(self, ref: str) -> TenantUserView | None: ...


def find_user(tenant: TenantView, ref: str) -> TenantUserView | None:
    """The user named by handle, upn or object id; None when there is no such user (whether the
    tenant's own lookup returns None or raises)."""
    try:
        return tenant.user(ref)
    except (LookupError, ValueError):
        return None


def service_principal_id(client_id: str) -> str:
    """A stable object id for an app's service principal in the tenant."""
    return str(uuid.uuid5(_SP_NAMESPACE, client_id))


def subject_of(user_id: str) -> str:
    """A stable `sub` claim for a user."""
    return str(uuid.uuid5(_SP_NAMESPACE, f"sub:{user_id}"))
