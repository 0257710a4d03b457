"""Policy as code: every directory role's PIM settings in one YAML file, and what applying a file
would change.

The file lists roles by id (the name is kept for people; a renamed role still matches). Roles the
file leaves out are left as they are. Durations are ISO 8601 (`PT8H`, `P365D`), as Graph writes
them. A file read back from `export` and applied unchanged changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.governance.domain import (
    Activation,
    Assignment,
    Notifications,
    RolePolicy,
    RoleSettings,
)
from bot.governance.policy_reviews import (
    DeclaredReviews,
    ReviewEntry,
    ReviewPlan,
    TenantReview,
    describe_reviews,
)

FILE_VERSION = 1
HEADER = (
    "# pimbot policy: the PIM settings of every directory role (pimbot policy export).\n"
    "# Change what you need, then `pimbot policy diff FILE` and `pimbot policy apply FILE`.\n"
)


class PolicyFileError(Exception):
    """The file is not a policy file pimbot can apply; the message says where and why."""


class RoleEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    role: str
    id: str
    activation: Activation = Activation()
    assignment: Assignment = Assignment()
    notifications: Notifications = Notifications()
    # The role's access reviews (policy_reviews.py); None: the file leaves them as they are.
    reviews: tuple[ReviewEntry, ...] | None = None

    @property
    def settings(self) -> RoleSettings:
        return RoleSettings(
            activation=self.activation,
            assignment=self.assignment,
            notifications=self.notifications,
        )


class PolicyFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = FILE_VERSION
    roles: tuple[RoleEntry, ...] = Field(default_factory=tuple)


def export_text(
    policies: Sequence[RolePolicy], reviews: Sequence[TenantReview] | None = None
) -> str:
    """The file; with `reviews` (the tenant's running access reviews), each role lists its
    reviews (`reviews: []` for none), so that applying it keeps exactly those."""
    document = PolicyFile(
        roles=tuple(
            RoleEntry(
                role=policy.role_name,
                id=policy.role_id,
                activation=policy.settings.activation,
                assignment=policy.settings.assignment,
                notifications=policy.settings.notifications,
            )
            for policy in policies
        )
    )
    raw = document.model_dump(mode="json")
    for entry in raw["roles"]:
        entry.pop("reviews", None)
        if reviews is not None:
            entry["reviews"] = [
                _review_json(r.entry) for r in reviews if r.role_id.lower() == entry["id"].lower()
            ]
    body = yaml.safe_dump(raw, sort_keys=False, allow_unicode=True, width=100)
    return HEADER + body


def _review_json(entry: ReviewEntry) -> dict[str, Any]:
    raw = entry.model_dump(mode="json")
    raw["reviewers"] = entry.reviewers.model_dump(mode="json", exclude_defaults=True)
    return raw


def load_text(text: str) -> PolicyFile:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise PolicyFileError(f"not YAML: {error}") from None
    if not isinstance(raw, dict):
        raise PolicyFileError("a policy file is a mapping with `version` and `roles`")
    try:
        document = PolicyFile.model_validate(raw)
    except ValidationError as error:
        raise PolicyFileError(_explain(error, raw)) from None
    if document.version != FILE_VERSION:
        raise PolicyFileError(
            f"version {document.version} is not one pimbot reads (it writes {FILE_VERSION})"
        )
    seen: set[str] = set()
    for entry in document.roles:
        if entry.id.lower() in seen:
            raise PolicyFileError(f"role {entry.role} ({entry.id}) is listed twice")
        seen.add(entry.id.lower())
    return document


def _explain(error: ValidationError, raw: Mapping[str, Any]) -> str:
    lines = []
    for problem in error.errors()[:10]:
        where = list(problem["loc"])
        if len(where) >= 2 and where[0] == "roles" and isinstance(where[1], int):
            roles = raw.get("roles")
            entry = roles[where[1]] if isinstance(roles, list) and where[1] < len(roles) else {}
            name = entry.get("role") if isinstance(entry, dict) else None
            where[1] = f"[{name or where[1]}]"
        path = ".".join(str(part) for part in where).replace(".[", "[").replace("].", "] ")
        lines.append(f"{path}: {problem['msg']}")
    return "; ".join(lines)


# --- what would change -------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    path: str  # e.g. "activation.maximum_duration"
    before: Any
    after: Any


@dataclass(frozen=True)
class RolePlan:
    current: RolePolicy
    desired: RoleSettings
    changes: tuple[Change, ...]


def plan(document: PolicyFile, tenant: Sequence[RolePolicy]) -> list[RolePlan]:
    """The roles whose settings the file changes, with each change. Raises PolicyFileError for a
    role the tenant does not have."""
    by_id = {policy.role_id.lower(): policy for policy in tenant}
    plans = []
    for entry in document.roles:
        current = by_id.get(entry.id.lower())
        if current is None:
            raise PolicyFileError(
                f"role {entry.role} ({entry.id}) has no PIM policy in this tenant; "
                "nothing was changed"
            )
        changes = differences(current.settings, entry.settings)
        if changes:
            plans.append(RolePlan(current, entry.settings, tuple(changes)))
    return plans


def differences(before: RoleSettings, after: RoleSettings) -> list[Change]:
    old = _flatten(before.model_dump(mode="json"))
    new = _flatten(after.model_dump(mode="json"))
    return [
        Change(path, old.get(path), new.get(path))
        for path in sorted(set(old) | set(new), key=_order(list(new) + list(old)))
        if old.get(path) != new.get(path)
    ]


def _order(paths: list[str]) -> Any:
    first = {path: index for index, path in reversed(list(enumerate(paths)))}
    return lambda path: first[path]


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested settings as dotted paths; lists of objects (approval stages) by index, lists of
    plain values (recipients) and approvers as whole values."""
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if (
        isinstance(value, list)
        and value
        and all(isinstance(item, dict) and "approvers" in item for item in value)
    ):
        flat = {}
        for index, item in enumerate(value):
            flat.update(_flatten(item, f"{prefix}[{index}]"))
        return flat
    return {prefix: value}


def declared_reviews(document: PolicyFile) -> list[DeclaredReviews]:
    """The roles whose access reviews the file declares (`reviews:`, even empty)."""
    return [
        DeclaredReviews(entry.id, entry.role, entry.reviews)
        for entry in document.roles
        if entry.reviews is not None
    ]


def describe(plans: Sequence[RolePlan], review_plans: Sequence[ReviewPlan] = ()) -> str:
    """The changes as a person reads them, one role after another, then the reviews."""
    if not plans and not review_plans:
        return "No changes: the tenant already has these settings."
    lines = []
    for role_plan in plans:
        lines.append(f"{role_plan.current.role_name} ({role_plan.current.role_id}):")
        for change in role_plan.changes:
            lines.append(f"  {change.path}: {_show(change.before)} -> {_show(change.after)}")
    lines.extend(describe_reviews(review_plans))
    count = len(
        {p.current.role_id.lower() for p in plans} | {p.role_id.lower() for p in review_plans}
    )
    lines.append(f"{count} role{'s' if count != 1 else ''} would change.")
    return "\n".join(lines)


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "[" + ", ".join(_show_item(item) for item in value) + "]"
    return str(value)


def _show_item(item: Any) -> str:
    if isinstance(item, dict):
        who = item.get("user") or item.get("group") or "other"
        name = item.get("name")
        return f"{name} ({who})" if name else str(who)
    return str(item)
