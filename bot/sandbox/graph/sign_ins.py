"""Users' `signInActivity`, as Graph returns it: only when `$select` names it, and only to a
caller that may read audit logs (`AuditLog.Read.All`), besides reading users.

https://learn.microsoft.com/graph/api/resources/signinactivity
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.sandbox.graph.auth import READ_AUDIT, Caller
from bot.sandbox.graph.odata import parse_query
from bot.sandbox.graph.shapes import Json
from bot.sandbox.graph.values import format_datetime
from bot.sandbox.tenant import TenantUser

SIGN_IN_ACTIVITY = "signInActivity"


def asks_for_sign_ins(query: Mapping[str, str]) -> bool:
    select = parse_query(query).select or ()
    return any(name.lower() == SIGN_IN_ACTIVITY.lower() for name in select)


def with_sign_in_activity(caller: Caller, user: TenantUser, shaped: Json) -> Json:
    """`shaped` with the user's `signInActivity` (the caller must hold AuditLog.Read.All)."""
    caller.require(READ_AUDIT)
    last = format_datetime(user.last_sign_in)
    return {
        **shaped,
        SIGN_IN_ACTIVITY: {
            "lastSignInDateTime": last,
            "lastSignInRequestId": None,
            "lastNonInteractiveSignInDateTime": None,
            "lastNonInteractiveSignInRequestId": None,
            "lastSuccessfulSignInDateTime": last,
            "lastSuccessfulSignInRequestId": None,
        },
    }
