"""`auditLogs/directoryAudits`: what PIM recorded, newest first."""

from __future__ import annotations

import re

from bot.sandbox.graph import shapes
from bot.sandbox.graph.auth import READ_AUDIT
from bot.sandbox.graph.context import TwinContext
from bot.sandbox.graph.router import GraphRequest, GraphResponse, Routes

routes = Routes()


@routes.route("GET", "/auditLogs/directoryAudits")
def directory_audits(twin: TwinContext, request: GraphRequest, _: re.Match[str]) -> GraphResponse:
    request.caller.require(READ_AUDIT)
    newest_first = list(reversed(twin.roles.state.audits))
    return twin.collection(
        request,
        "auditLogs/directoryAudits",
        newest_first,
        properties=shapes.AUDIT_PROPERTIES,
        type_name="directoryAudit",
    )
