"""Entra ID twin (see `twin.py`): the names other twins and tests use."""

from bot.sandbox.entra.signing import SigningKey
from bot.sandbox.entra.tenant_view import (
    AppRegistrationView,
    TenantUserView,
    TenantView,
    find_user,
    service_principal_id,
)
from bot.sandbox.entra.token_endpoint import TokenRequest
from bot.sandbox.entra.tokens import (
    BOTFRAMEWORK_RESOURCE,
    GRAPH_RESOURCE,
    InvalidToken,
)
from bot.sandbox.entra.twin import ENTRA_PUBLIC_URL, EntraTwin, utc_now

__all__ = [
    "BOTFRAMEWORK_RESOURCE",
    "ENTRA_PUBLIC_URL",
    "GRAPH_RESOURCE",
    "AppRegistrationView",
    "EntraTwin",
    "InvalidToken",
    "SigningKey",
    "TenantUserView",
    "TenantView",
    "TokenRequest",
    "find_user",
    "service_principal_id",
    "utc_now",
]
