"""A role's PIM policy rules, read as what an end-user activation must satisfy.

Only the `*_EndUser_Assignment` rules matter for activation. A rule that is missing falls back to
Microsoft's default for it (the policy a new tenant has for every built-in role): at most 8 hours,
MFA and a justification required, no approval, approvers given one day and asked for a
justification.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.domain import ActivationPolicy, ApproverKind, ApproverRef
from bot.graph.models import (
    ApprovalRule,
    ApprovalStage,
    AuthenticationContextRule,
    EnablementRule,
    ExpirationRule,
    GroupMembers,
    PolicyRule,
    SingleUser,
    SubjectSet,
)

EXPIRATION_RULE_ID = "Expiration_EndUser_Assignment"
ENABLEMENT_RULE_ID = "Enablement_EndUser_Assignment"
APPROVAL_RULE_ID = "Approval_EndUser_Assignment"
AUTHENTICATION_CONTEXT_RULE_ID = "AuthenticationContext_EndUser_Assignment"

DEFAULT_MAX_DURATION = timedelta(hours=8)
DEFAULT_ENABLED_RULES = ("MultiFactorAuthentication", "Justification")
DEFAULT_STAGE = ApprovalStage()


def activation_policy_from_rules(role_id: str, rules: Sequence[PolicyRule]) -> ActivationPolicy:
    by_id = {rule.id: rule for rule in rules}

    expiration = by_id.get(EXPIRATION_RULE_ID)
    max_duration = (
        expiration.maximum_duration
        if isinstance(expiration, ExpirationRule) and expiration.maximum_duration
        else DEFAULT_MAX_DURATION
    )

    enablement = by_id.get(ENABLEMENT_RULE_ID)
    enabled = (
        set(enablement.enabled_rules)
        if isinstance(enablement, EnablementRule)
        else set(DEFAULT_ENABLED_RULES)
    )

    approval = by_id.get(APPROVAL_RULE_ID)
    setting = approval.setting if isinstance(approval, ApprovalRule) else None
    require_approval = bool(setting and setting.is_approval_required)
    stage = setting.approval_stages[0] if setting and setting.approval_stages else DEFAULT_STAGE

    auth_context = by_id.get(AUTHENTICATION_CONTEXT_RULE_ID)
    claim_value = (
        auth_context.claim_value
        if isinstance(auth_context, AuthenticationContextRule) and auth_context.is_enabled
        else None
    )

    return ActivationPolicy(
        role_id=role_id,
        max_duration=max_duration,
        require_justification="Justification" in enabled
        or (require_approval and bool(setting and setting.is_requestor_justification_required)),
        require_ticket="Ticketing" in enabled,
        require_mfa="MultiFactorAuthentication" in enabled,
        require_approval=require_approval,
        require_approval_for_extension=bool(setting and setting.is_approval_required_for_extension),
        approver_justification_required=stage.is_approver_justification_required,
        approvers=tuple(
            ref for ref in (_approver_ref(s) for s in stage.primary_approvers) if ref is not None
        ),
        approval_timeout=timedelta(days=stage.approval_stage_time_out_in_days),
        authentication_context=claim_value or None,
    )


def _approver_ref(subject: SubjectSet) -> ApproverRef | None:
    """Users and groups; other subject kinds (a requestor's manager, ...) are not resolvable."""
    if isinstance(subject, SingleUser):
        return ApproverRef(kind=ApproverKind.USER, id=subject.user_id, description=_text(subject))
    if isinstance(subject, GroupMembers):
        return ApproverRef(kind=ApproverKind.GROUP, id=subject.group_id, description=_text(subject))
    return None


def _text(subject: SingleUser | GroupMembers) -> str:
    return subject.description or ""
