"""Applying a policy file: write the roles that differ, all or nothing, each change audited."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.governance.policy_file import RolePlan
from bot.governance.policy_ports import PolicyWriteFailed, RolePolicies
from bot.governance.policy_reviews import (
    ReviewApplyFailed,
    ReviewDefinitions,
    ReviewPlan,
    apply_reviews,
)

# Records one audit entry: action, outcome, details.
Record = Callable[[str, str, Mapping[str, Any]], Awaitable[None]]

AUDIT_ACTION = "policy.apply"


@dataclass(frozen=True)
class Applied:
    roles: tuple[str, ...]  # role names changed
    rules: int  # rules written
    reviews: int = 0  # access reviews created, changed or deleted


class ApplyFailed(Exception):
    """A role's write was refused; the roles written before it were put back (or, in
    `left_changed`, could not be)."""

    def __init__(self, role_name: str, cause: PolicyWriteFailed, left_changed: Sequence[str]):
        super().__init__(f"{role_name}: {cause.refusal.message}")
        self.role_name = role_name
        self.cause = cause
        self.left_changed = tuple(left_changed)


async def apply_plans(
    policies: RolePolicies,
    plans: Sequence[RolePlan],
    record: Record,
    reviews: ReviewDefinitions | None = None,
    review_plans: Sequence[ReviewPlan] = (),
) -> Applied:
    """The roles' rules, then their access reviews; a refusal anywhere puts back everything
    written before it."""
    done: list[RolePlan] = []
    rules = 0
    for role_plan in plans:
        role = role_plan.current
        try:
            written = await policies.write(role.policy_id, role_plan.desired)
        except PolicyWriteFailed as failure:
            await record(AUDIT_ACTION, "refused", _details(role_plan, (), failure))
            left = list(f"{role.role_name} ({rule})" for rule in failure.left_changed)
            left.extend(await _put_back(policies, done, record))
            raise ApplyFailed(role.role_name, failure, left) from failure
        rules += len(written)
        done.append(role_plan)
        await record(AUDIT_ACTION, "changed", _details(role_plan, written))
    changed = 0
    if review_plans:
        if reviews is None:
            raise RuntimeError("review changes need the review definitions")
        try:
            changed = await apply_reviews(reviews, review_plans, record)
        except ReviewApplyFailed as failure:
            left = list(failure.left_changed)
            left.extend(await _put_back(policies, done, record))
            label = f"{failure.plan.role_name} {failure.plan.label}"
            raise ApplyFailed(label, PolicyWriteFailed(failure.refusal), left) from failure
    roles = {p.current.role_name: None for p in done} | {p.role_name: None for p in review_plans}
    return Applied(tuple(roles), rules, changed)


async def _put_back(policies: RolePolicies, done: Sequence[RolePlan], record: Record) -> list[str]:
    left = []
    for role_plan in reversed(done):
        role = role_plan.current
        try:
            written = await policies.write(role.policy_id, role.settings)
        except PolicyWriteFailed as failure:
            left.append(role.role_name)
            await record(AUDIT_ACTION + ".undo", "refused", _details(role_plan, (), failure))
            continue
        await record(AUDIT_ACTION + ".undo", "changed", _details(role_plan, written))
    return left


def _details(
    role_plan: RolePlan, written: Sequence[str], failure: PolicyWriteFailed | None = None
) -> dict[str, Any]:
    details: dict[str, Any] = {
        "role_id": role_plan.current.role_id,
        "role": role_plan.current.role_name,
        "policy_id": role_plan.current.policy_id,
        "rules": list(written),
        "changes": [
            {"setting": c.path, "before": c.before, "after": c.after} for c in role_plan.changes
        ],
    }
    if failure is not None:
        details["refusal"] = {
            "status": failure.refusal.status,
            "code": failure.refusal.code,
            "message": failure.refusal.message,
        }
        details["left_changed"] = list(failure.left_changed)
    return details
