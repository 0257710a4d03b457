"""A directory role's PIM settings, grouped as the Entra portal's "Role settings" page groups them.

Activation (what someone eligible must do to turn the role on), assignment (how admins may make
eligible and active assignments) and notifications (who is e-mailed about what). The model is
lossless for every setting a policy rule PATCH may change, so that reading a policy into it and
writing it back changes nothing. It holds no Graph wire shapes: `bot/graph/role_policies.py`
translates it to and from the policy's rules.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from bot.timefmt import iso_duration, parse_iso_duration

ENABLEMENT_VALUES = ("MultiFactorAuthentication", "Justification", "Ticketing")
NOTIFICATION_LEVELS = ("None", "Critical", "All")
APPROVAL_MODES = ("SingleStage", "Serial", "Parallel", "NoApproval")


def _duration(value: object) -> object:
    if isinstance(value, str):
        parsed = parse_iso_duration(value)
        if parsed is None:
            raise ValueError(
                f"{value!r} is not an ISO 8601 duration between PT1S and P366D (e.g. PT8H, P365D)"
            )
        return parsed
    return value


Duration = Annotated[
    timedelta, BeforeValidator(_duration), PlainSerializer(iso_duration, return_type=str)
]


class _Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Approver(_Settings):
    """One approver: a user or a group (by object id), or another kind kept as Graph wrote it."""

    user: str | None = None
    group: str | None = None
    other: dict[str, Any] | None = None
    name: str = ""  # Graph's description; shown, not used to decide
    backup: bool = False

    @model_validator(mode="after")
    def _exactly_one(self) -> Approver:
        if sum(x is not None for x in (self.user, self.group, self.other)) != 1:
            raise ValueError("an approver is exactly one of `user: <id>`, `group: <id>`, `other`")
        return self

    @model_serializer(mode="wrap")
    def _compact(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """`{user: <id>, name: Megan Bowen}`: the kinds it is not, and `backup: false`, left out."""
        dumped: dict[str, Any] = handler(self)
        return {k: v for k, v in dumped.items() if v is not None and (k != "backup" or v)}


class ApprovalStage(_Settings):
    timeout_days: int = Field(1, ge=1)
    approver_justification_required: bool = True
    escalation_enabled: bool = False
    escalation_minutes: int = Field(0, ge=0)
    approvers: tuple[Approver, ...] = ()
    escalation_approvers: tuple[Approver, ...] = ()


class Approval(_Settings):
    required: bool = False
    required_for_extension: bool = False
    requestor_justification_required: bool = True
    mode: Literal["SingleStage", "Serial", "Parallel", "NoApproval"] = "SingleStage"
    stages: tuple[ApprovalStage, ...] = ()

    @model_validator(mode="after")
    def _approvers_when_required(self) -> Approval:
        if self.required and not self.stages:
            raise ValueError("approval is required but no stage (with approvers) is given")
        if self.required and any(not stage.approvers for stage in self.stages):
            raise ValueError("approval is required: every stage needs at least one approver")
        return self


class Activation(_Settings):
    """The end-user rules (`*_EndUser_Assignment`)."""

    maximum_duration: Duration = timedelta(hours=8)
    require_mfa: bool = True
    require_justification: bool = True
    require_ticket: bool = False
    authentication_context: str | None = None  # a claim value such as "c1"; replaces MFA
    approval: Approval = Approval()


class Assignment(_Settings):
    """The admin rules: eligible (`*_Admin_Eligibility`) and active (`*_Admin_Assignment`)."""

    permanent_eligible_allowed: bool = True
    eligible_maximum_duration: Duration = timedelta(days=365)
    eligible_require_mfa: bool = False
    eligible_require_justification: bool = False
    permanent_active_allowed: bool = False
    active_maximum_duration: Duration = timedelta(days=180)
    active_require_mfa: bool = False
    active_require_justification: bool = True


class Notice(_Settings):
    """One notification rule: how much goes to the default recipients and who else is told."""

    level: Literal["None", "Critical", "All"] = "All"
    default_recipients: bool = True
    additional_recipients: tuple[str, ...] = ()
    type: str = "Email"


class NoticeGroup(_Settings):
    """The three recipients the portal lists for one event."""

    admin: Notice = Notice()  # "Role assignment alert" / "Role activation alert"
    requestor: Notice = Notice()  # the assigned or activating user
    approver: Notice = Notice()  # "Request to approve ..."


class Notifications(_Settings):
    eligible_assignment: NoticeGroup = NoticeGroup()  # members assigned as eligible
    active_assignment: NoticeGroup = NoticeGroup()  # members assigned as active
    activation: NoticeGroup = NoticeGroup()  # eligible members activate the role


class RoleSettings(_Settings):
    activation: Activation = Activation()
    assignment: Assignment = Assignment()
    notifications: Notifications = Notifications()


class RolePolicy(_Settings):
    """One role's settings as the tenant holds them."""

    role_id: str
    role_name: str
    policy_id: str
    settings: RoleSettings


HoldKind = Literal["eligible", "active", "standing"]


class RoleHolder(_Settings):
    """Someone who holds the role now: eligible for it, active through an activation, or with
    standing access (an active assignment made by an admin, not activated)."""

    principal_id: str
    name: str
    principal_type: Literal["user", "group", "servicePrincipal", "unknown"] = "user"
    holds: HoldKind
    end: datetime | None = None  # None: no end


class RoleOverview(_Settings):
    """What `settings <role>` shows: the role's settings and who holds it."""

    policy: RolePolicy
    holders: tuple[RoleHolder, ...] = ()

    def holding(self, kind: HoldKind) -> list[RoleHolder]:
        return [h for h in self.holders if h.holds == kind]
