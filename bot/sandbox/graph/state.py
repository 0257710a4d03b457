"""What the Graph twin remembers: PIM schedules, schedule requests, approvals, policies and
audit records, seeded from the demo tenant and saved to disk as one JSON document.

Users, groups and role definitions are not stored here: they come from the tenant file.
Instances and role assignments are not stored either: they are the schedules that are in force
at `now`, so they appear at their start and disappear at their end by construction.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.sandbox.graph.policies import Rule, build_rules
from bot.sandbox.graph.principals import principal_id_of
from bot.sandbox.graph.review_state import ReviewDefinition
from bot.sandbox.graph.schedules import ROOT_SCOPE, Schedule, ScheduleBook, ScheduleBookField
from bot.sandbox.graph.values import stable_guid
from bot.sandbox.tenant import DemoTenant

# When the seeded (standing) assignments and eligibilities began.
SEED_TIME = datetime(2024, 1, 1, tzinfo=UTC)


class RequestedSchedule(BaseModel):
    start: datetime
    expiration_type: str  # noExpiration | afterDuration | afterDateTime | notSpecified
    end: datetime | None = None
    duration: timedelta | None = None

    @property
    def effective_end(self) -> datetime | None:
        if self.expiration_type == "afterDuration" and self.duration is not None:
            return self.start + self.duration
        if self.expiration_type == "afterDateTime":
            return self.end
        return None


class Identity(BaseModel):
    id: str
    display_name: str | None = None


class ScheduleRequest(BaseModel):
    id: str
    action: str
    status: str
    principal_id: str
    role_id: str
    scope: str | None = ROOT_SCOPE
    app_scope: str | None = None
    justification: str | None = None
    ticket_number: str | None = None
    ticket_system: str | None = None
    schedule: RequestedSchedule | None = None
    is_validation_only: bool = False
    created: datetime
    completed: datetime | None = None
    approval_id: str | None = None
    target_schedule_id: str | None = None
    created_by_user: Identity | None = None
    created_by_app: Identity | None = None


class ApprovalStep(BaseModel):
    id: str
    approver_ids: list[str]  # users, with group approvers expanded transitively
    status: str = "Initializing"  # Initializing | InProgress | Completed | Expired
    review_result: str = "NotReviewed"  # NotReviewed | Approved | Denied
    reviewed_by: Identity | None = None
    reviewed_at: datetime | None = None
    justification: str = ""
    approver_justification_required: bool = True
    timeout: timedelta = timedelta(days=1)
    started_at: datetime | None = None

    def times_out_at(self) -> datetime | None:
        return self.started_at + self.timeout if self.started_at else None


class Approval(BaseModel):
    id: str
    request_id: str
    steps: list[ApprovalStep]

    @property
    def current_step(self) -> ApprovalStep | None:
        return next((step for step in self.steps if step.status == "InProgress"), None)


class StoredPolicy(BaseModel):
    id: str
    role_id: str
    rules: list[Rule]
    last_modified: datetime | None = None
    last_modified_by: Identity | None = None


class TwinState(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)  # the ScheduleBook

    schedules: ScheduleBookField = Field(default_factory=ScheduleBook)
    requests: list[ScheduleRequest] = Field(default_factory=list)
    eligibility_requests: list[ScheduleRequest] = Field(default_factory=list)
    approvals: list[Approval] = Field(default_factory=list)
    policies: list[StoredPolicy] = Field(default_factory=list)
    audits: list[dict[str, Any]] = Field(default_factory=list)  # Graph directoryAudit shape
    alerts: dict[str, Any] = Field(default_factory=dict)  # PIM alerts (bot/sandbox/graph/alerts.py)
    access_reviews: list[ReviewDefinition] = Field(default_factory=list)
    # The demo tenant's reviews made so far (`seeded_from` keys): a deleted one stays deleted.
    seeded_access_reviews: list[str] = Field(default_factory=list)

    # --- queries -----------------------------------------------------------------------------

    def schedules_of(
        self, kind: Literal["eligibility", "assignment"], principal_id: str, role_id: str
    ) -> list[Schedule]:
        return [
            s
            for s in self.schedules.of(principal_id)
            if s.kind == kind and s.role_id.lower() == role_id.lower()
        ]

    def request(self, request_id: str) -> ScheduleRequest | None:
        return next((r for r in self.requests if r.id.lower() == request_id.lower()), None)

    def approval(self, approval_id: str) -> Approval | None:
        return next((a for a in self.approvals if a.id.lower() == approval_id.lower()), None)

    def policy(self, policy_id: str) -> StoredPolicy | None:
        return next((p for p in self.policies if p.id.lower() == policy_id.lower()), None)

    def policy_for_role(self, role_id: str) -> StoredPolicy:
        return next(p for p in self.policies if p.role_id.lower() == role_id.lower())


# --- seeding and persistence ------------------------------------------------------------------


def policy_id(tenant: DemoTenant, role_id: str) -> str:
    return f"DirectoryRole_{tenant.tenant_id}_{stable_guid('policy', tenant.tenant_id, role_id)}"


def seed_state(tenant: DemoTenant) -> TwinState:
    """The tenant as it stands before anyone has done anything."""
    state = TwinState()
    for eligibility in tenant.eligibilities:
        user, role = tenant.user(eligibility.user), tenant.role(eligibility.role)
        schedule_id = stable_guid("eligibility", user.id, role.id)
        state.schedules.append(
            Schedule(
                id=schedule_id,
                kind="eligibility",
                principal_id=user.id,
                role_id=role.id,
                created_using=schedule_id,
                created=SEED_TIME,
                start=SEED_TIME,
                end=eligibility.end,
                expiration_type="afterDateTime" if eligibility.end else "noExpiration",
            )
        )
    for assignment in tenant.assignments:
        principal_id = (
            principal_id_of(tenant, assignment.app)
            if assignment.app
            else tenant.user(assignment.user).id
        )
        role = tenant.role(assignment.role)
        schedule_id = stable_guid("assignment", principal_id, role.id)
        schedule = Schedule(
            id=schedule_id,
            kind="assignment",
            principal_id=principal_id,
            role_id=role.id,
            created_using=schedule_id,
            created=SEED_TIME,
            start=SEED_TIME,
            end=assignment.end,
            expiration_type="afterDateTime" if assignment.end else "noExpiration",
            assignment_type="Assigned",
            outside_pim=assignment.outside_pim,
        )
        if assignment.outside_pim:  # Graph names a direct assignment's schedule by its own id
            schedule.created_using = schedule.assignment_id
        state.schedules.append(schedule)
    for role in tenant.roles:
        state.policies.append(
            StoredPolicy(
                id=policy_id(tenant, role.id),
                role_id=role.id,
                rules=build_rules(tenant, tenant.policy(role.id)),
            )
        )
    return state


def load_state(path: Path) -> TwinState | None:
    """The saved state, or None when nothing was saved yet."""
    if not path.exists():
        return None
    return TwinState.model_validate_json(path.read_text(encoding="utf-8"))


def write_state_atomically(path: Path, document: str) -> None:
    """Write to a temporary file beside `path`, then rename over it: a crash leaves either the
    old or the new state, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(document)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
