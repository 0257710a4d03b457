"""Graph's error answers, read as the error vocabulary of `bot.domain`.

Graph's error body is `{"error": {"code", "message", "innerError": {"request-id", ...}}}`; its
`code` picks the most specific class, a 429 or 5xx that outlasted the retries is `Throttled` or
`GraphUnavailable`. The classes themselves live in `bot.domain` (the workflow acts on them without
knowing Graph) and are named here too for the Graph layer's callers.
"""

from __future__ import annotations

from bot.domain import (
    AcrsValidationFailed,
    ActiveDurationTooShort,
    AuthenticationFailed,
    GraphError,
    GraphUnavailable,
    PendingRoleAssignmentRequest,
    PolicyValidationFailed,
    RoleAssignmentDoesNotExist,
    RoleAssignmentExists,
    Throttled,
)

__all__ = [
    "ERRORS_BY_CODE",
    "AcrsValidationFailed",
    "ActiveDurationTooShort",
    "AuthenticationFailed",
    "GraphError",
    "GraphUnavailable",
    "PendingRoleAssignmentRequest",
    "PolicyValidationFailed",
    "RoleAssignmentDoesNotExist",
    "RoleAssignmentExists",
    "Throttled",
    "error_from_response",
]

ERRORS_BY_CODE: dict[str, type[GraphError]] = {
    "RoleAssignmentRequestPolicyValidationFailed": PolicyValidationFailed,
    "RoleAssignmentRequestAcrsValidationFailed": AcrsValidationFailed,
    "RoleAssignmentExists": RoleAssignmentExists,
    "RoleAssignmentDoesNotExist": RoleAssignmentDoesNotExist,
    "ActiveDurationTooShort": ActiveDurationTooShort,
    "PendingRoleAssignmentRequest": PendingRoleAssignmentRequest,
}


def error_from_response(
    status: int, body: object, request_id: str | None = None, retry_after: float | None = None
) -> GraphError:
    """Build the most specific error for a Graph error response body."""
    code, message = "UnknownError", ""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        code = str(err.get("code") or code)
        message = str(err.get("message") or "")
        inner = err.get("innerError") or err.get("innererror")
        if isinstance(inner, dict) and not request_id:
            request_id = inner.get("request-id")
    if status == 429:
        cls: type[GraphError] = Throttled
    elif status >= 500:
        cls = GraphUnavailable
    else:
        cls = ERRORS_BY_CODE.get(code, GraphError)
    return cls(status, code, message, request_id=request_id, retry_after=retry_after)
