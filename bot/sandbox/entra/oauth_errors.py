"""Entra's OAuth error answers: `error`, an `AADSTS` code and its description, trace and
correlation ids, and (for Conditional Access) the claims challenge."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web


@dataclass
class OAuthError(Exception):
    status: int
    error: str
    code: int
    message: str
    claims: str = ""  # a claims challenge the client must satisfy interactively


def missing_parameter(parameter: str) -> OAuthError:
    return OAuthError(
        400,
        "invalid_request",
        900144,
        f"The request body must contain the following parameter: '{parameter}'.",
    )


def unknown_resource(resource: str, tenant_id: str) -> OAuthError:
    return OAuthError(
        400,
        "invalid_resource",
        500011,
        f"The resource principal named {resource} was not found in the tenant named "
        f"{tenant_id}. This can happen if the application has not been installed by the "
        "administrator of the tenant or consented to by any user in the tenant.",
    )


def error_response(
    request: web.Request, exc: OAuthError, *, now: datetime, public_url: str
) -> web.Response:
    trace_id = str(uuid.uuid4())
    correlation_id = request.headers.get("client-request-id") or str(uuid.uuid4())
    timestamp = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    description = (
        f"AADSTS{exc.code}: {exc.message} Trace ID: {trace_id} "
        f"Correlation ID: {correlation_id} Timestamp: {timestamp}"
    )
    body = {
        "error": exc.error,
        "error_description": description,
        "error_codes": [exc.code],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"{public_url}/error?code={exc.code}",
    }
    if exc.claims:
        body["claims"] = exc.claims
    return web.json_response(body, status=exc.status)


def tenant_in_path(request: web.Request, tenant_id: str, *, allow_common: bool = False) -> str:
    """The `{tenant}` of the path if it is this tenant (or, where allowed, `common` or
    `organizations`); otherwise Entra's `invalid_tenant`."""
    tenant = request.match_info["tenant"]
    if tenant == tenant_id or (allow_common and tenant in ("common", "organizations")):
        return tenant
    raise OAuthError(
        400,
        "invalid_tenant",
        90002,
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and "
        "are signing into the correct cloud.",
    )
