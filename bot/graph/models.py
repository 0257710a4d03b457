"""Pydantic models of the Graph payloads pimbot reads and writes.

Wire shapes stay inside `bot/graph/`: these models are parsed from and dumped to Graph JSON
(camelCase, `@odata.type` discriminators) and translated to `bot.domain` types by their callers.
Unknown fields are ignored; unknown rule and approver types parse into catch-all models instead of
failing, because Microsoft adds new ones over time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    Tag,
)
from pydantic.alias_generators import to_camel

from bot.durations import format_duration, parse_duration


def _duration_from_wire(value: object) -> object:
    return parse_duration(value) if isinstance(value, str) else value


IsoDuration = Annotated[
    timedelta,
    BeforeValidator(_duration_from_wire),
    PlainSerializer(format_duration, return_type=str),
]


class GraphModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON object Graph expects: camelCase, without unset optional fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# --- roles and schedule instances --------------------------------------------------------------


class RoleDefinition(GraphModel):
    id: str
    display_name: str = ""
    description: str | None = None
    is_built_in: bool | None = None
    is_enabled: bool | None = None
    template_id: str | None = None


class ScheduleInstanceBase(GraphModel):
    id: str
    principal_id: str
    role_definition_id: str
    directory_scope_id: str | None = "/"
    app_scope_id: str | None = None
    start_date_time: datetime | None = None
    end_date_time: datetime | None = None
    member_type: str | None = None  # Direct | Group | Inherited
    role_definition: RoleDefinition | None = None  # with $expand=roleDefinition


class EligibilityScheduleInstance(ScheduleInstanceBase):
    role_eligibility_schedule_id: str | None = None


class AssignmentScheduleInstance(ScheduleInstanceBase):
    assignment_type: str | None = None  # Assigned | Activated
    role_assignment_origin_id: str | None = None
    role_assignment_schedule_id: str | None = None


# --- schedule requests -------------------------------------------------------------------------


class ExpirationPattern(GraphModel):
    type: str  # notSpecified | noExpiration | afterDateTime | afterDuration
    end_date_time: datetime | None = None
    duration: IsoDuration | None = None


class RequestSchedule(GraphModel):
    start_date_time: datetime | None = None
    expiration: ExpirationPattern | None = None


class TicketInfo(GraphModel):
    ticket_number: str | None = None
    ticket_system: str | None = None


class Identity(GraphModel):
    id: str | None = None
    display_name: str | None = None


class IdentitySet(GraphModel):
    user: Identity | None = None
    application: Identity | None = None
    device: Identity | None = None


class RoleAssignmentScheduleRequest(GraphModel):
    """The body of `POST /roleManagement/directory/roleAssignmentScheduleRequests`."""

    action: str  # adminAssign | adminExtend | adminRemove | selfActivate | ...
    principal_id: str
    role_definition_id: str
    directory_scope_id: str = "/"
    justification: str | None = None
    ticket_info: TicketInfo | None = None
    schedule_info: RequestSchedule | None = None


class RoleAssignmentScheduleRequestResponse(GraphModel):
    """What Graph answers to a schedule request (201) or returns when it is read back."""

    id: str
    status: str
    action: str | None = None
    principal_id: str | None = None
    role_definition_id: str | None = None
    directory_scope_id: str | None = None
    justification: str | None = None
    approval_id: str | None = None
    target_schedule_id: str | None = None
    created_date_time: datetime | None = None
    completed_date_time: datetime | None = None
    created_by: IdentitySet | None = None
    schedule_info: RequestSchedule | None = None
    ticket_info: TicketInfo | None = None


class AwaitingApprover(GraphModel):
    """A request listed by `roleAssignmentScheduleRequests/filterByCurrentUser(on='approver')`,
    with `$expand=roleDefinition,principal`."""

    id: str = ""
    status: str | None = None
    principal: Identity | None = None
    role_definition: Identity | None = None


# --- policies and their rules ------------------------------------------------------------------


class PolicyRuleTarget(GraphModel):
    caller: str | None = None  # None | Admin | EndUser
    operations: list[str] = Field(default_factory=list)
    level: str | None = None  # Eligibility | Assignment
    inheritable_settings: list[str] | None = None
    enforced_settings: list[str] | None = None


class PolicyRuleBase(GraphModel):
    id: str
    odata_type: str = Field(alias="@odata.type")
    target: PolicyRuleTarget | None = None


class ExpirationRule(PolicyRuleBase):
    is_expiration_required: bool = False
    maximum_duration: IsoDuration | None = None


class EnablementRule(PolicyRuleBase):
    enabled_rules: list[str] = Field(default_factory=list)


class SubjectSetBase(GraphModel):
    odata_type: str = Field(alias="@odata.type")
    description: str | None = None
    is_backup: bool | None = None


class SingleUser(SubjectSetBase):
    user_id: str


class GroupMembers(SubjectSetBase):
    group_id: str


class OtherSubjectSet(SubjectSetBase):
    """An approver kind pimbot does not resolve (requestorManager, ...)."""


def _subject_set_tag(value: Any) -> str:
    odata_type = value.get("@odata.type", "") if isinstance(value, dict) else value.odata_type
    return {
        "#microsoft.graph.singleUser": "singleUser",
        "#microsoft.graph.groupMembers": "groupMembers",
    }.get(str(odata_type), "other")


SubjectSet = Annotated[
    Annotated[SingleUser, Tag("singleUser")]
    | Annotated[GroupMembers, Tag("groupMembers")]
    | Annotated[OtherSubjectSet, Tag("other")],
    Discriminator(_subject_set_tag),
]


class ApprovalStage(GraphModel):
    approval_stage_time_out_in_days: int = 1
    is_approver_justification_required: bool = True
    escalation_time_in_minutes: int = 0
    is_escalation_enabled: bool = False
    primary_approvers: list[SubjectSet] = Field(default_factory=list)
    escalation_approvers: list[SubjectSet] = Field(default_factory=list)


class ApprovalSettings(GraphModel):
    is_approval_required: bool = False
    is_approval_required_for_extension: bool = False
    is_requestor_justification_required: bool = False
    approval_mode: str | None = None  # SingleStage | Serial | Parallel | NoApproval
    approval_stages: list[ApprovalStage] = Field(default_factory=list)


class ApprovalRule(PolicyRuleBase):
    setting: ApprovalSettings | None = None


class AuthenticationContextRule(PolicyRuleBase):
    is_enabled: bool = False
    claim_value: str | None = None


class NotificationRule(PolicyRuleBase):
    notification_type: str | None = None
    recipient_type: str | None = None
    notification_level: str | None = None
    is_default_recipients_enabled: bool | None = None
    notification_recipients: list[str] = Field(default_factory=list)


class OtherRule(PolicyRuleBase):
    """A rule type pimbot does not read."""


_RULE_TAGS = {
    "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule": "expiration",
    "#microsoft.graph.unifiedRoleManagementPolicyEnablementRule": "enablement",
    "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule": "approval",
    "#microsoft.graph.unifiedRoleManagementPolicyAuthenticationContextRule": "authContext",
    "#microsoft.graph.unifiedRoleManagementPolicyNotificationRule": "notification",
}


def _rule_tag(value: Any) -> str:
    odata_type = value.get("@odata.type", "") if isinstance(value, dict) else value.odata_type
    return _RULE_TAGS.get(str(odata_type), "other")


PolicyRule = Annotated[
    Annotated[ExpirationRule, Tag("expiration")]
    | Annotated[EnablementRule, Tag("enablement")]
    | Annotated[ApprovalRule, Tag("approval")]
    | Annotated[AuthenticationContextRule, Tag("authContext")]
    | Annotated[NotificationRule, Tag("notification")]
    | Annotated[OtherRule, Tag("other")],
    Discriminator(_rule_tag),
]


class LastModifiedBy(GraphModel):
    id: str | None = None
    display_name: str | None = None


class RoleManagementPolicy(GraphModel):
    id: str
    display_name: str | None = None
    description: str | None = None
    is_organization_default: bool | None = None
    scope_id: str | None = None
    scope_type: str | None = None
    last_modified_date_time: datetime | None = None
    last_modified_by: LastModifiedBy | None = None
    rules: list[PolicyRule] = Field(default_factory=list)


class RoleManagementPolicyAssignment(GraphModel):
    id: str
    policy_id: str | None = None
    scope_id: str | None = None
    scope_type: str | None = None
    role_definition_id: str | None = None
    policy: RoleManagementPolicy | None = None


# --- people ------------------------------------------------------------------------------------


class User(GraphModel):
    id: str
    display_name: str | None = None
    user_principal_name: str | None = None
    mail: str | None = None
    account_enabled: bool | None = None


class Group(GraphModel):
    id: str
    display_name: str | None = None
    is_assignable_to_role: bool | None = None


# --- approvals (beta) --------------------------------------------------------------------------


class UserIdentity(GraphModel):
    id: str | None = None
    display_name: str | None = None
    user_principal_name: str | None = None


class ApprovalStep(GraphModel):
    id: str
    display_name: str | None = None
    assigned_to_me: bool | None = None
    status: str | None = None  # InProgress | Initializing | Completed | Expired
    review_result: str | None = None  # NotReviewed | Approved | Denied
    reviewed_by: list[UserIdentity] | None = None
    reviewed_date_time: datetime | None = None
    justification: str | None = None


class Approval(GraphModel):
    id: str
    steps: list[ApprovalStep] = Field(default_factory=list)
