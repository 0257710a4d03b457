"""Directory audit records (`auditLogs/directoryAudits`) in Graph's shape, with the PIM
activity names Entra records (e.g. "Add member to role requested (PIM activation)")."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.sandbox.graph.principals import find_service_principal
from bot.sandbox.graph.values import format_datetime, new_guid
from bot.sandbox.tenant import DemoTenant

PIM_SYSTEM_USER = {"id": "00000000-0000-0000-0000-000000000000", "displayName": "Azure AD PIM"}


class AuditLog:
    def __init__(self, tenant: DemoTenant, records: list[dict[str, Any]]) -> None:
        self._tenant = tenant
        self._records = records

    def write(
        self,
        activity: str,
        *,
        at: datetime,
        operation: str,
        role_id: str,
        principal_id: str,
        initiated_by: Mapping[str, Any],
        details: Mapping[str, str | None] | None = None,
        service: str = "PIM",
        correlation_id: str | None = None,
        result_reason: str = "",
    ) -> None:
        """Append one record. `initiated_by` is Graph's `{"user": ..., "app": ...}` pair."""
        record_id = new_guid()
        self._records.append(
            {
                "id": f"PIM_{record_id}" if service == "PIM" else f"Directory_{record_id}",
                "category": "RoleManagement",
                "correlationId": correlation_id or new_guid(),
                "result": "success",
                "resultReason": result_reason,
                "activityDisplayName": activity,
                "activityDateTime": format_datetime(at),
                "loggedByService": service,
                "operationType": operation,
                "initiatedBy": {"app": initiated_by.get("app"), "user": initiated_by.get("user")},
                "targetResources": [
                    self._role_target(role_id),
                    self._principal_target(principal_id),
                ],
                "additionalDetails": [
                    {"key": key, "value": value} for key, value in (details or {}).items()
                ],
            }
        )

    def _role_target(self, role_id: str) -> dict[str, Any]:
        try:
            name: str | None = self._tenant.role(role_id).display_name
        except KeyError:
            name = None
        return {
            "id": role_id,
            "displayName": name,
            "type": "Role",
            "userPrincipalName": None,
            "groupType": None,
            "modifiedProperties": [],
        }

    def _principal_target(self, principal_id: str) -> dict[str, Any]:
        try:
            user = self._tenant.user(principal_id)
            return {
                "id": user.id,
                "displayName": user.display_name,
                "type": "User",
                "userPrincipalName": user.upn,
                "groupType": None,
                "modifiedProperties": [],
            }
        except KeyError:
            pass
        app = find_service_principal(self._tenant, principal_id)
        if app is not None:
            return {
                "id": principal_id,
                "displayName": app.json["displayName"],
                "type": "ServicePrincipal",
                "userPrincipalName": None,
                "groupType": None,
                "modifiedProperties": [],
            }
        try:
            group = self._tenant.group(principal_id)
            name: str | None = group.display_name
        except KeyError:
            name = None
        return {
            "id": principal_id,
            "displayName": name,
            "type": "Group",
            "userPrincipalName": None,
            "groupType": None,
            "modifiedProperties": [],
        }
