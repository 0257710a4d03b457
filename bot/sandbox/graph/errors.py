"""Graph's error answers, raised anywhere in the twin and rendered once by the dispatcher.

Codes and messages follow what Graph sends (e.g. `RoleAssignmentRequestPolicyValidationFailed`
with the failed rule names in its message, `RoleAssignmentExists`, `PendingRoleAssignmentRequest`,
`ActiveDurationTooShort`), because pimbot's Graph client maps
them to its own exceptions by code and parses rule names out of the message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime


class GraphHttpError(Exception):
    """An error response: HTTP status, Graph `error.code` and `error.message`."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def error_body(
    code: str, message: str, *, request_id: str, client_request_id: str, now: datetime
) -> dict[str, object]:
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": now.strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": client_request_id,
            },
        }
    }


def bad_request(message: str, code: str = "BadRequest") -> GraphHttpError:
    return GraphHttpError(400, code, message)


def unknown_segment(segment: str) -> GraphHttpError:
    return bad_request(f"Resource not found for the segment '{segment}'.")


def directory_not_found(object_id: str) -> GraphHttpError:
    return GraphHttpError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{object_id}' does not exist or one of its queried reference-property "
        "objects are not present.",
    )


def not_found(message: str) -> GraphHttpError:
    return GraphHttpError(404, "ResourceNotFound", message)


def access_denied(
    message: str = "Insufficient privileges to complete the operation.",
) -> GraphHttpError:
    return GraphHttpError(403, "Authorization_RequestDenied", message)


def policy_failed(rules: Sequence[str]) -> GraphHttpError:
    return bad_request(
        f"The following policy rules failed: {json.dumps(list(rules))}",
        "RoleAssignmentRequestPolicyValidationFailed",
    )


def acrs_failed(claim_value: str) -> GraphHttpError:
    claims = json.dumps(
        {"access_token": {"acrs": {"essential": True, "value": claim_value}}},
        separators=(",", ":"),
    )
    return bad_request(
        f"The request requires an authentication context the token does not carry. claims={claims}",
        "RoleAssignmentRequestAcrsValidationFailed",
    )


def assignment_exists() -> GraphHttpError:
    return bad_request("The Role assignment already exists.", "RoleAssignmentExists")


def assignment_does_not_exist() -> GraphHttpError:
    return bad_request("The Role assignment does not exist.", "RoleAssignmentDoesNotExist")


def active_duration_too_short() -> GraphHttpError:
    # "Miniumum" (sic): the service's own spelling.
    return bad_request(
        "The Active duration is too short. Miniumum Required is 5 minutes.",
        "ActiveDurationTooShort",
    )


def pending_request_exists() -> GraphHttpError:
    return bad_request(
        "There is already a pending request for this principal, role and scope.",
        "PendingRoleAssignmentRequest",
    )
