"""Errors from Microsoft Graph, as a small hierarchy the workflow can act on.

Graph's error body is `{"error": {"code", "message", "innerError": {"request-id", ...}}}`.
"""

from __future__ import annotations

import json
import re


class GraphError(Exception):
    """Graph answered with an error status (after any retries)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.retry_after = retry_after


class PolicyValidationFailed(GraphError):
    """`RoleAssignmentRequestPolicyValidationFailed`: the request broke PIM policy rules."""

    @property
    def rules(self) -> list[str]:
        """Rule names from `The following policy rules failed: ["MfaRule"]`."""
        match = re.search(r"\[.*?\]", self.message)
        if not match:
            return []
        try:
            parsed = json.loads(match.group(0))
        except ValueError:
            return []
        return [str(rule) for rule in parsed] if isinstance(parsed, list) else []


class AcrsValidationFailed(GraphError):
    """`RoleAssignmentRequestAcrsValidationFailed`: an authentication context is needed."""

    @property
    def claims(self) -> str | None:
        match = re.search(r"claims=(\{.*\})", self.message)
        return match.group(1) if match else None


class RoleAssignmentExists(GraphError):
    """The role is already active (or the assignment already exists)."""


class RoleAssignmentDoesNotExist(GraphError):
    """Nothing to deactivate, extend or remove."""


class ActiveDurationTooShort(GraphError):
    """Deactivation within five minutes of activation."""


class PendingRoleAssignmentRequest(GraphError):
    """A pending request already exists for this principal, role and scope."""


class Throttled(GraphError):
    """429 that outlasted the retry budget."""


class GraphUnavailable(GraphError):
    """5xx, timeouts or connection failures that outlasted the retry budget."""


class AuthenticationFailed(GraphError):
    """No token could be obtained for Graph (bad client secret, unreachable authority...)."""


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
