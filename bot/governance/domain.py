"""The admin side's vocabulary: the types governance, its store and its cards share.

`cards/governance/` may import this module (and `bot.domain`), nothing else of `bot/`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
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

from bot.domain import Frozen, Person, Role
from bot.timefmt import iso_duration, parse_iso_duration

# Built-in role template ids, the same in every tenant.
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
PRIVILEGED_ROLE_ADMINISTRATOR = "e8611ab8-c189-46e8-94e1-60213ab1f814"
# A change to either needs a second admin (four-eyes).
NEEDS_SECOND_ADMIN = frozenset({GLOBAL_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR})
# Best practice: at most this many permanent Global Administrators (the break-glass accounts).
MAX_PERMANENT_GLOBAL_ADMINS = 2


# --- changes an admin asked for ----------------------------------------------------------------


class ChangeState(StrEnum):
    AWAITING_SECOND = "awaiting_second"  # a second admin has to approve it first
    APPROVED = "approved"  # to be carried out (a job does it)
    IN_PROGRESS = "in_progress"  # the first step is done in Graph; the rest follows
    DONE = "done"
    DENIED = "denied"  # by the second admin
    FAILED = "failed"  # Graph refused; nothing half done

    @property
    def is_open(self) -> bool:
        return self in OPEN_CHANGE_STATES


OPEN_CHANGE_STATES = frozenset(
    {ChangeState.AWAITING_SECOND, ChangeState.APPROVED, ChangeState.IN_PROGRESS}
)

# The job that redraws every sent copy of a change's cards ({change_id}); the store queues it with
# each transition, in the same transaction, once per version.
CHANGE_CARDS_JOB = "admin_change_cards"

CHANGE_TRANSITIONS: dict[ChangeState, frozenset[ChangeState]] = {
    ChangeState.AWAITING_SECOND: frozenset({ChangeState.APPROVED, ChangeState.DENIED}),
    ChangeState.APPROVED: frozenset(
        {ChangeState.IN_PROGRESS, ChangeState.DONE, ChangeState.FAILED}
    ),
    ChangeState.IN_PROGRESS: frozenset({ChangeState.DONE, ChangeState.FAILED}),
    ChangeState.DONE: frozenset(),
    ChangeState.DENIED: frozenset(),
    ChangeState.FAILED: frozenset(),
}


class AdminChange(BaseModel):
    """One change an admin asked for, as stored: the single source of truth for the second
    admin's decision and for carrying it out (cards only carry its id)."""

    id: str
    tenant_id: str
    kind: str  # which journey carries it out, e.g. "standing.convert"
    target_key: str  # what it changes (at most one open change per target)
    role_id: str  # the role it touches (Global / Privileged Role Administrator: four-eyes)
    title: str  # "Convert Grady Archie's Exchange Administrator to eligible"
    facts: list[tuple[str, str]] = Field(default_factory=list)  # shown on cards, as is
    payload: dict[str, Any] = Field(default_factory=dict)  # what the journey needs to do it
    proposer: Person
    needs_second: bool
    state: ChangeState
    decided_by: Person | None = None
    decided_at: datetime | None = None
    decision_reason: str = ""
    failure: str = ""  # plain words, when failed
    created_at: datetime
    updated_at: datetime
    version: int = 1


# --- standing access ---------------------------------------------------------------------------


class StandingAssignment(Frozen):
    """An active role assignment with no end (or an end far away): standing access."""

    principal: Person
    principal_type: Literal["user", "group", "servicePrincipal", "unknown"] = "user"
    role: Role
    assignment_id: str  # the roleAssignment's id
    origin: Literal["pim", "direct"]  # made through PIM, or directly outside it
    since: datetime | None = None
    end: datetime | None = None  # None: permanent
    last_sign_in: datetime | None = None
    last_activation: datetime | None = None
    break_glass: bool = False


class StandingSnapshot(Frozen):
    """What Graph told of standing access at one moment."""

    assignments: tuple[StandingAssignment, ...]
    # Parts Graph would not tell (e.g. sign-in activity without AuditLog.Read.All), in words.
    unknown: tuple[str, ...] = ()


class EligibilityLimit(Frozen):
    """The role policy's `Expiration_Admin_Eligibility` rule."""

    maximum: timedelta | None = None  # None: no maximum
    expiration_required: bool = False


class StandingReport(Frozen):
    """Every standing assignment, riskiest role first, and what the audit table says of them."""

    assignments: tuple[StandingAssignment, ...]
    permanent_global_admins: int
    taken_at: datetime
    unknown: tuple[str, ...] = ()  # what Graph would not tell, in words

    @property
    def too_many_global_admins(self) -> bool:
        return self.permanent_global_admins > MAX_PERMANENT_GLOBAL_ADMINS


# The seed's audit table, riskiest first: what to do with standing access to each role.
ROLE_RISK: tuple[tuple[str, str], ...] = (
    (GLOBAL_ADMINISTRATOR, "convert; keep at most 2 break-glass accounts"),
    (PRIVILEGED_ROLE_ADMINISTRATOR, "convert all"),
    ("194ae4cb-b126-40b2-bd5b-6091b380977d", "convert all"),  # Security Administrator
    ("29232cdf-9323-42fd-ade2-1d097af3e4de", "convert all"),  # Exchange Administrator
    ("fe930be7-5e62-47db-91af-98c3a49a38b1", "convert all"),  # User Administrator
    ("9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", "convert all"),  # Application Administrator
)
STANDING_HORIZON = timedelta(days=365)  # an end further away than this counts as no end


def risk_rank(role_id: str) -> int:
    """Lower is riskier: the audit table's order, every other role after it."""
    for rank, (known, _) in enumerate(ROLE_RISK):
        if known == role_id:
            return rank
    return len(ROLE_RISK)


def advice_for(role_id: str) -> str:
    return next((advice for known, advice in ROLE_RISK if known == role_id), "convert")


# --- role settings (`settings <role>`, policy as code) ---------------------------------------
# A directory role's PIM settings grouped as the Entra portal's "Role settings" page groups them,
# lossless for every setting a policy rule PATCH may change; `bot/graph/role_policies.py`
# translates them to and from the policy's rules.

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


# --- PIM alerts (`alerts`) ------------------------------------------------------------------
# PIM's security alerts for directory roles, in pimbot's words: what each alert found, where it
# came from (PIM's own alerts in Graph, or computed by pimbot from schedules and policies where the
# tenant does not offer them), and which fix applies.
#
# Five alerts matter here, each as Microsoft names it in PIM:
#
# - too_many_global_admins (TooManyGlobalAdminsAssignedToTenantAlert): more Global Administrators
#   than the threshold (5 unless configured);
# - outside_pim (RolesAssignedOutsidePimAlert): a role assignment made directly, not through PIM;
# - no_mfa (NoMfaOnRoleActivationAlert): a role's activation needs no MFA (nor an authentication
#   context);
# - stale_eligible (RedundantAssignmentAlert): eligible, not activated within 90 days;
# - stale_sign_in (StaleSignInAlert): active assignments of accounts or service principals (apps)
#   that have not signed in for 90 days.


class AlertKind(StrEnum):
    TOO_MANY_GLOBAL_ADMINS = "too_many_global_admins"
    OUTSIDE_PIM = "outside_pim"
    NO_MFA = "no_mfa"
    STALE_ELIGIBLE = "stale_eligible"
    STALE_SIGN_IN = "stale_sign_in"


# PIM's alert name (the end of its id) for each kind.
PIM_ALERT_NAMES: dict[AlertKind, str] = {
    AlertKind.TOO_MANY_GLOBAL_ADMINS: "TooManyGlobalAdminsAssignedToTenantAlert",
    AlertKind.OUTSIDE_PIM: "RolesAssignedOutsidePimAlert",
    AlertKind.NO_MFA: "NoMfaOnRoleActivationAlert",
    AlertKind.STALE_ELIGIBLE: "RedundantAssignmentAlert",
    AlertKind.STALE_SIGN_IN: "StaleSignInAlert",
}
TITLES: dict[AlertKind, str] = {
    AlertKind.TOO_MANY_GLOBAL_ADMINS: "Too many Global Administrators",
    AlertKind.OUTSIDE_PIM: "Roles assigned outside PIM",
    AlertKind.NO_MFA: "Roles that don't require MFA",
    AlertKind.STALE_ELIGIBLE: "Stale eligible assignments",
    AlertKind.STALE_SIGN_IN: "Potential stale service accounts",
}
DEFAULT_GLOBAL_ADMIN_THRESHOLD = 5
# The alerts with a threshold an admin may set, and its kind: a count, or an ISO 8601 duration.
THRESHOLD_KINDS: dict[AlertKind, str] = {
    AlertKind.TOO_MANY_GLOBAL_ADMINS: "count",
    AlertKind.STALE_ELIGIBLE: "duration",
    AlertKind.STALE_SIGN_IN: "duration",
}
DEFAULT_STALE_WINDOW = timedelta(days=90)


class AlertSource(StrEnum):
    GRAPH = "graph"  # PIM's own alert, read from Graph
    COMPUTED = "computed"  # computed by pimbot from Graph's schedules and policies


class FixKind(StrEnum):
    REMEDIATE = "remediate"  # PIM's own remediation of the incident (Graph)
    REQUIRE_MFA = "require_mfa"  # turn on MFA in the role's policy
    REMOVE_ELIGIBILITY = "remove_eligibility"
    CONVERT_TO_ELIGIBLE = "convert_to_eligible"  # an active assignment becomes an eligibility
    NONE = "none"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Finding(_Frozen):
    """One thing an alert found: a person's assignment, or a role."""

    key: str  # stable within the alert (PIM's incident id, or principal/role ids)
    principal_id: str | None = None
    # an app (service principal) cannot be made eligible: its fix is another
    principal_type: Literal["user", "group", "servicePrincipal", "unknown"] = "user"
    principal_name: str = ""
    role_id: str | None = None
    role_name: str = ""
    since: datetime | None = None  # assigned since / last sign-in / last activation
    detail: str = ""  # e.g. "last signed in 2025-01-15", "never activated"


class Alert(_Frozen):
    kind: AlertKind
    source: AlertSource
    active: bool
    findings: tuple[Finding, ...] = ()
    severity: str = ""  # PIM's: low | medium | high
    threshold: str = ""  # e.g. "more than 5", "90 days"
    graph_alert_id: str | None = None  # PIM's alert id, when read from Graph
    note: str = ""  # why it was computed, or why it could not be
    known: bool = True  # False: neither PIM nor pimbot could tell (e.g. no sign-in activity)
    enabled: bool = True  # PIM's configuration: False when the alert is turned off in PIM
    config_type: str = ""  # the @odata.type of PIM's configuration of it (to PATCH it)
    threshold_value: str = ""  # the configured threshold as Graph has it ("5", "P90D"); "": none

    @property
    def title(self) -> str:
        return TITLES[self.kind]

    @property
    def count(self) -> int:
        return len(self.findings)


class AlertsReport(_Frozen):
    alerts: tuple[Alert, ...]
    taken_at: datetime

    @property
    def active(self) -> list[Alert]:
        return [alert for alert in self.alerts if alert.active and alert.findings]

    def alert(self, kind: AlertKind) -> Alert | None:
        return next((a for a in self.alerts if a.kind is kind), None)


# --- access reviews ----------------------------------------------------------------------------
# Decisions use Graph's words: Approve (pimbot's "Keep"), Deny ("Remove"), NotReviewed, DontKnow.
class Decision(StrEnum):
    APPROVE = "Approve"
    DENY = "Deny"
    NOT_REVIEWED = "NotReviewed"
    DONT_KNOW = "DontKnow"


class Recommendation(StrEnum):
    APPROVE = "Approve"
    DENY = "Deny"
    NO_INFO = "NoInfoAvailable"


def decision_of(value: str | None) -> Decision:
    try:
        return Decision(value or "NotReviewed")
    except ValueError:
        return Decision.NOT_REVIEWED


def recommendation_of(value: str | None) -> Recommendation:
    try:
        return Recommendation(value or "NoInfoAvailable")
    except ValueError:
        return Recommendation.NO_INFO


class ReviewByPeople(Frozen):
    """Named people review every item (Graph: one `/users/{id}` reviewer scope each)."""

    kind: Literal["people"] = "people"
    user_ids: tuple[str, ...] = Field(min_length=1)  # Entra object ids


class ReviewByGroup(Frozen):
    """A group's members, nested groups' too, review every item
    (Graph: `/groups/{id}/transitiveMembers`)."""

    kind: Literal["group"] = "group"
    group_id: str  # Entra object id


class ReviewByManagers(Frozen):
    """Each person's manager reviews that person's items (Graph: `./manager` with
    `queryRoot` `decisions`); `fallback` reviews the items of people who have no manager
    (Graph's `fallbackReviewers`). None: those items go unreviewed."""

    kind: Literal["managers"] = "managers"
    fallback: ReviewByPeople | ReviewByGroup | None = None


class NamedGroup(Frozen):
    """A group found by display name or id, for `review ... by group NAME`."""

    id: str
    display_name: str


ReviewerSpec = Annotated[
    ReviewByPeople | ReviewByGroup | ReviewByManagers, Field(discriminator="kind")
]


class ReviewSpec(Frozen):
    """What an admin asked for: a recurring review of one role's eligible and active
    assignments, and who reviews them."""

    role: Role
    every_days: int
    duration_days: int
    reviewers: ReviewerSpec
    default_decision: Decision | None = None  # taken by what nobody answered; None: none
    auto_apply: bool = True
    recommendations: bool = True


class ReviewInstance(Frozen):
    """One run of a review: its decisions are taken between `start` and `end`."""

    definition_id: str
    instance_id: str
    display_name: str
    role: Role
    start: datetime
    end: datetime
    status: str  # Graph's: InProgress, Completed, Applied, ...

    @property
    def is_open(self) -> bool:
        return self.status == "InProgress"

    @property
    def key(self) -> str:
        return f"{self.definition_id}/{self.instance_id}"


class ReviewItem(Frozen):
    """One person's access to the reviewed role, and what has been decided about it."""

    item_id: str
    principal: Person
    recommendation: Recommendation
    decision: Decision
    reviewed_by: str | None = None  # display name, as Graph or pimbot's audit has it
    reviewed_by_id: str | None = None
    reviewed_at: datetime | None = None
    justification: str = ""
    last_sign_in: datetime | None = None
    last_activation: datetime | None = None
    reviewer_ids: tuple[str, ...] = ()  # who may decide it; empty when Graph did not say
    applied: str = "New"  # Graph's applyResult

    @property
    def decided(self) -> bool:
        return self.decision in (Decision.APPROVE, Decision.DENY)


class ReviewDefinitionInfo(Frozen):
    definition_id: str
    display_name: str
    role_id: str | None
    status: str


class ReviewProgress(Frozen):
    """A line of `reviews`: one running (or last) instance and how far it got."""

    definition: ReviewDefinitionInfo
    instance: ReviewInstance | None
    total: int = 0
    kept: int = 0
    removed: int = 0

    @property
    def undecided(self) -> int:
        return self.total - self.kept - self.removed


class ReviewCard(Frozen):
    """What one page of a reviewer's card shows."""

    instance: ReviewInstance
    items: tuple[ReviewItem, ...]  # this page's rows
    page: int
    pages: int
    total: int
    decided: int
    reviewer: Person
    outcome: str = ""  # when the review is over: what came of it


class ReviewRun(Frozen):
    """What pimbot knows and has done about one instance (stored whole, `review_runs`)."""

    tenant_id: str
    instance: ReviewInstance
    reviewers: tuple[Person, ...]  # contacted by Graph when pimbot first saw the instance
    # Principal id (lower case) → ids of who reviews that principal's items, when reviewers
    # differ per item (managers, with fallback reviewers); empty: every reviewer, every item.
    reviewer_of: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    reminded: bool = False
    escalated: bool = False
    finished: bool = False
    outcome: str = ""  # plain words, once finished: kept, removed, not reviewed
    digest: str = ""  # of the items last shown on the cards

    @property
    def key(self) -> str:
        return self.instance.key

    def is_reviewer(self, person_id: str) -> bool:
        return any(r.id.lower() == person_id.lower() for r in self.reviewers)

    def may_decide(self, person_id: str, principal_id: str) -> bool:
        """Whether this contacted reviewer reviews the principal's items: every item when
        `reviewer_of` is empty (named people, a group), else those it names them for."""
        if not self.is_reviewer(person_id):
            return False
        if not self.reviewer_of:
            return True
        wanted = person_id.lower()
        return any(r.lower() == wanted for r in self.reviewer_of.get(principal_id.lower(), ()))


class RecordedDecision(Frozen):
    """A decision taken in Teams: recorded once (first tap wins), then written to Graph once."""

    instance_key: str
    item_id: str
    principal_id: str
    decision: Decision
    justification: str
    reviewer: Person
    decided_at: datetime
    written_at: datetime | None = None
