"""Access reviews in the policy file: each role's running review definitions, what applying a
file would change in them, and the changes made all or nothing.

Under a role, `reviews:` lists the role's access reviews (`pimbot policy export` writes them). A
role with `reviews:` (even `[]`) has exactly those reviews after `apply`: a review with an `id`
is that definition, changed in place where it differs; one without an `id` is created; a running
review of the role that the list leaves out is deleted. A role without `reviews:` keeps its
reviews as they are.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from bot.governance.policy_ports import PolicyRefused

# Graph repeats access reviews weekly or monthly (`weekly`, `absoluteMonthly`), or runs one once.
ONCE = "once"
DefaultDecision = Literal["None", "Approve", "Deny", "Recommendation"]
DEFAULT_DECISIONS: tuple[DefaultDecision, ...] = ("None", "Approve", "Deny", "Recommendation")
_PERIOD = re.compile(r"^P(?P<n>[1-9]\d{0,3})(?P<unit>[DWM])$")
_DAYS = re.compile(r"^P(?P<n>[1-9]\d{0,2})D$")


class ReviewersEntry(BaseModel):
    """Who reviews: named people (UPNs or object ids), a group's members (name or object id),
    or each person's manager (`managers: true`, with `fallback` people or a `fallback_group`
    reviewing for those who have none).
    Reviewer scopes pimbot has no word for are kept as Graph wrote them (`other`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    people: tuple[str, ...] = ()
    group: str | None = None
    managers: bool = False
    fallback: tuple[str, ...] = ()
    fallback_group: str | None = None
    other: tuple[dict[str, Any], ...] = ()

    @model_validator(mode="after")
    def _one_kind(self) -> ReviewersEntry:
        if not (self.people or self.group or self.managers or self.other):
            raise ValueError("name the reviewers: people, group or managers")
        if self.managers and (self.people or self.group):
            raise ValueError("managers review alone (add `fallback` people for those without one)")
        if (self.fallback or self.fallback_group) and not self.managers:
            raise ValueError("`fallback` reviewers review only with `managers: true`")
        return self

    @property
    def kinds(self) -> tuple[str, ...]:
        found = []
        if self.people:
            found.append("people")
        if self.group:
            found.append("group")
        if self.managers:
            found.append("managers")
        if self.other:
            found.append("other")
        return tuple(found)

    def same_as(self, other: ReviewersEntry) -> bool:
        """Equal as reviewers: people and groups compared without case or order."""
        return (
            _folded(self.people) == _folded(other.people)
            and (self.group or "").casefold() == (other.group or "").casefold()
            and self.managers == other.managers
            and _folded(self.fallback) == _folded(other.fallback)
            and (self.fallback_group or "").casefold() == (other.fallback_group or "").casefold()
            and list(self.other) == list(other.other)
        )


class ReviewEntry(BaseModel):
    """One recurring access review of the role's eligible and active assignments."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str | None = None  # the definition's id; leave it out to create one
    name: str | None = None  # its display name; "<role> access review" when left out
    every: str  # P2W, P1M, P3M (or P14D, P90D: weeks, months of 30 days); `once`
    duration: str = "P14D"  # how long each instance stays open, in days
    reviewers: ReviewersEntry
    auto_apply: bool = True
    default_decision: DefaultDecision = "None"
    recommendations: bool = True
    justification_on_approval: bool = False
    reminders: bool = True

    @field_validator("every")
    @classmethod
    def _every(cls, value: str) -> str:
        recurrence(value)
        return value

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str) -> str:
        duration_days(value)
        return value

    @model_validator(mode="after")
    def _fits(self) -> ReviewEntry:
        pattern = recurrence(self.every)
        if pattern is not None:
            kind, interval = pattern
            period = interval * (7 if kind == "weekly" else 28)  # the shortest month
            if duration_days(self.duration) > period:
                raise ValueError(
                    f"each review ({self.duration}) must end before the next starts ({self.every})"
                )
        return self


def recurrence(every: str) -> tuple[str, int] | None:
    """`every` as Graph's recurrence pattern (type, interval); None for `once`."""
    if every == ONCE:
        return None
    match = _PERIOD.match(every)
    if match is None:
        raise ValueError(
            f"{every!r} is not a recurrence Graph offers: say P1W, P2W, … (weeks), P1M, P3M, … "
            "(months) or `once`"
        )
    count, unit = int(match["n"]), match["unit"]
    if unit == "W":
        return ("weekly", count)
    if unit == "M":
        return ("absoluteMonthly", count)
    if count % 30 == 0:
        return ("absoluteMonthly", count // 30)
    if count % 7 == 0:
        return ("weekly", count // 7)
    raise ValueError(
        f"{every!r}: Microsoft Entra repeats access reviews every so many weeks or months "
        "(P7D, P14D, … or P30D, P90D, …)"
    )


def every_of(pattern: tuple[str, int] | None) -> str:
    if pattern is None:
        return ONCE
    kind, interval = pattern
    return f"P{interval}W" if kind == "weekly" else f"P{interval}M"


def duration_days(duration: str) -> int:
    match = _DAYS.match(duration)
    if match is None:
        raise ValueError(f"{duration!r}: say how many days each review stays open, e.g. P14D")
    return int(match["n"])


def _folded(values: Sequence[str]) -> set[str]:
    return {value.casefold() for value in values}


# --- the tenant ---------------------------------------------------------------------------------


class NotInTenant(Exception):
    """A reviewer the file names that the tenant does not have."""


@dataclass(frozen=True)
class TenantReview:
    """A running access review definition of a directory role, as the file would say it
    (reviewers as UPNs and group ids), with Graph's own object to put it back (opaque here)."""

    role_id: str
    entry: ReviewEntry
    graph_object: Mapping[str, Any]


class ReviewDefinitions(Protocol):
    """Access review definitions of directory roles; `bot/graph/review_policies.py` implements
    it. Writes raise PolicyRefused with Graph's words."""

    async def read_all(self) -> list[TenantReview]:
        """Every running (not completed) review definition scoped to a directory role."""
        ...

    async def resolve(self, reviewers: ReviewersEntry) -> ReviewersEntry:
        """The reviewers as export writes them (people as UPNs, a group by id); NotInTenant
        for someone or a group the tenant does not have."""
        ...

    async def create(self, role_id: str, role_name: str, entry: ReviewEntry) -> TenantReview: ...

    async def update(self, before: TenantReview, after: ReviewEntry, role_name: str) -> None:
        """PUT the definition: what it was, with the file's settings."""
        ...

    async def put_back(self, before: TenantReview) -> None:
        """PUT the definition as it was."""
        ...

    async def delete(self, review: TenantReview) -> None: ...

    async def restore(self, review: TenantReview) -> TenantReview:
        """Create a deleted review again, with its settings (Graph gives it a new id)."""
        ...


# --- what would change -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewChange:
    setting: str
    before: Any
    after: Any


@dataclass(frozen=True)
class ReviewPlan:
    role_id: str
    role_name: str
    action: Literal["create", "update", "delete"]
    before: TenantReview | None  # what the tenant has (update, delete)
    after: ReviewEntry | None  # what the file says, its reviewers resolved (create, update)
    changes: tuple[ReviewChange, ...] = ()

    @property
    def label(self) -> str:
        name = (self.after.name if self.after else None) or (
            self.before.entry.name if self.before else None
        )
        ident = self.before.entry.id if self.before else "new"
        return f"review “{name or self.role_name + ' access review'}” ({ident})"


class ReviewPlanError(Exception):
    """The file's reviews cannot be applied as written; the message says where and why."""


# The reviewer kinds pimbot runs in Teams end to end (bot/governance/reviews/: named people, a
# group's members, each person's manager with fallback reviewers); reviewer scopes it has no
# word for (`other`) are refused when a file would create or change a review with them.
SUPPORTED_KINDS = frozenset({"people", "group", "managers"})


@dataclass(frozen=True)
class DeclaredReviews:
    """One role's `reviews:` from the file."""

    role_id: str
    role_name: str
    reviews: tuple[ReviewEntry, ...]


async def plan_reviews(
    declared: Sequence[DeclaredReviews],
    tenant: Sequence[TenantReview],
    definitions: ReviewDefinitions,
    supported: frozenset[str] = SUPPORTED_KINDS,
) -> list[ReviewPlan]:
    """What applying the declared reviews changes. Raises ReviewPlanError for a review that
    names someone the tenant does not have, an id that is not a running review of the role,
    or a change Graph or pimbot cannot make; nothing has been written then."""
    plans: list[ReviewPlan] = []
    seen: set[str] = set()
    for role in declared:
        current = {
            r.entry.id.lower(): r
            for r in tenant
            if r.role_id.lower() == role.role_id.lower() and r.entry.id
        }
        kept: set[str] = set()
        for entry in role.reviews:
            where = f"role {role.role_name}, review {entry.name or entry.id or '(new)'}"
            if entry.id is None:
                _check_kinds(where, entry, supported)
            elif entry.id.lower() not in current:
                raise ReviewPlanError(
                    f"{where}: {entry.id} is not a running access review of this role (it ended, "
                    "was deleted, or reviews another role); leave out `id` to create a review"
                )
            try:
                resolved = entry.model_copy(
                    update={"reviewers": await definitions.resolve(entry.reviewers)}
                )
            except NotInTenant as missing:
                raise ReviewPlanError(f"{where}: {missing}") from None
            if entry.id is None:
                plans.append(
                    ReviewPlan(
                        role.role_id,
                        role.role_name,
                        "create",
                        None,
                        resolved,
                        tuple(_changes(None, resolved, role.role_name)),
                    )
                )
                continue
            key = entry.id.lower()
            if key in seen:
                raise ReviewPlanError(f"{where}: the review {entry.id} is listed twice")
            seen.add(key)
            before = current[key]
            kept.add(key)
            changes = _changes(before.entry, resolved, role.role_name)
            if not changes:
                continue
            _check_kinds(where, resolved, supported)
            if not resolved.reviewers.same_as(before.entry.reviewers) and not (
                _people_only(resolved.reviewers) and _people_only(before.entry.reviewers)
            ):
                raise ReviewPlanError(
                    f"{where}: Graph changes a review's reviewers in place only when they are "
                    "named people; to change these, leave out the review's `id` (pimbot creates "
                    "the review anew and deletes this one)"
                )
            if before.entry.every != resolved.every and resolved.every == ONCE:
                raise ReviewPlanError(f"{where}: a recurring review cannot become a one-off")
            plans.append(
                ReviewPlan(role.role_id, role.role_name, "update", before, resolved, tuple(changes))
            )
        for key, before in current.items():
            if key not in kept:
                plans.append(ReviewPlan(role.role_id, role.role_name, "delete", before, None))
    return plans


def _check_kinds(where: str, entry: ReviewEntry, supported: frozenset[str]) -> None:
    refused = [kind for kind in entry.reviewers.kinds if kind not in supported]
    if "other" in refused:
        raise ReviewPlanError(
            f"{where}: pimbot cannot create or change a review with reviewers it has no word "
            "for (`other`); name people, a group or managers"
        )
    if refused:
        raise ReviewPlanError(
            f"{where}: this pimbot cannot run reviews by {' or '.join(refused)} in Teams; "
            "name people, a group or managers"
        )
    if entry.every == ONCE:
        raise ReviewPlanError(f"{where}: pimbot creates recurring reviews only (every P…W or P…M)")


def _people_only(reviewers: ReviewersEntry) -> bool:
    return reviewers.kinds == ("people",)


_COMPARED = (
    "name",
    "every",
    "duration",
    "auto_apply",
    "default_decision",
    "recommendations",
    "justification_on_approval",
    "reminders",
)


def _changes(before: ReviewEntry | None, after: ReviewEntry, role_name: str) -> list[ReviewChange]:
    changes = []
    for setting in _COMPARED:
        old = _value(before, setting, role_name) if before else None
        new = _value(after, setting, role_name)
        if old != new:
            changes.append(ReviewChange(setting, old, new))
    if before is None or not after.reviewers.same_as(before.reviewers):
        changes.append(
            ReviewChange(
                "reviewers", _who(before.reviewers) if before else None, _who(after.reviewers)
            )
        )
    return changes


def _value(entry: ReviewEntry, setting: str, role_name: str) -> Any:
    if setting == "name":
        return entry.name or f"{role_name} access review"
    if setting == "every":
        return every_of(recurrence(entry.every))
    if setting == "duration":
        return f"P{duration_days(entry.duration)}D"
    return getattr(entry, setting)


def _who(reviewers: ReviewersEntry) -> str:
    parts = []
    if reviewers.people:
        parts.append("people " + ", ".join(reviewers.people))
    if reviewers.group:
        parts.append(f"group {reviewers.group}")
    if reviewers.managers:
        instead = list(reviewers.fallback)
        if reviewers.fallback_group:
            instead.append(f"group {reviewers.fallback_group}")
        parts.append("managers" + (f" (else {', '.join(instead)})" if instead else ""))
    if reviewers.other:
        parts.append(f"{len(reviewers.other)} other reviewer scope(s)")
    return "; ".join(parts)


def describe_reviews(plans: Sequence[ReviewPlan]) -> list[str]:
    lines = []
    for review_plan in plans:
        head = f"{review_plan.role_name} ({review_plan.role_id}): {review_plan.label}"
        if review_plan.action == "delete":
            lines.append(f"{head}: delete")
            continue
        lines.append(f"{head}: {review_plan.action}")
        for change in review_plan.changes:
            before = "(none)" if change.before is None else _show(change.before)
            lines.append(f"  {change.setting}: {before} -> {_show(change.after)}")
    return lines


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


# --- applying ----------------------------------------------------------------------------------

Record = Callable[[str, str, Mapping[str, Any]], Awaitable[None]]
AUDIT_ACTION = "policy.review"


class ReviewApplyFailed(Exception):
    """A review change was refused; those made before it were put back, or (`left_changed`)
    could not be."""

    def __init__(self, plan: ReviewPlan, refusal: PolicyRefused, left_changed: Sequence[str]):
        super().__init__(f"{plan.label}: {refusal}")
        self.plan = plan
        self.refusal = refusal
        self.left_changed = tuple(left_changed)


@dataclass(frozen=True)
class _Done:
    plan: ReviewPlan
    made: TenantReview | None  # a created review, to delete on the way back


def ordered(plans: Sequence[ReviewPlan]) -> list[ReviewPlan]:
    """Creates and updates first, deletes last: a delete is the one change that cannot be put
    back as it was (a review made anew has a new id and no history)."""
    order = {"create": 0, "update": 1, "delete": 2}
    return sorted(plans, key=lambda p: order[p.action])


async def apply_reviews(
    definitions: ReviewDefinitions, plans: Sequence[ReviewPlan], record: Record
) -> int:
    """Make the changes; the number made. All or nothing: raises ReviewApplyFailed after putting
    back the changes made before the refused one."""
    done: list[_Done] = []
    for review_plan in ordered(plans):
        try:
            made = await _make(definitions, review_plan)
        except PolicyRefused as refusal:
            await record(
                f"{AUDIT_ACTION}.{review_plan.action}", "refused", _details(review_plan, refusal)
            )
            left = await put_back_reviews(definitions, done, record)
            raise ReviewApplyFailed(review_plan, refusal, left) from refusal
        done.append(_Done(review_plan, made))
        details = _details(review_plan)
        if made is not None:
            details["definition_id"] = made.entry.id
        await record(f"{AUDIT_ACTION}.{review_plan.action}", "changed", details)
    return len(done)


async def _make(definitions: ReviewDefinitions, review_plan: ReviewPlan) -> TenantReview | None:
    if review_plan.action == "create":
        assert review_plan.after is not None
        return await definitions.create(
            review_plan.role_id, review_plan.role_name, review_plan.after
        )
    assert review_plan.before is not None
    if review_plan.action == "update":
        assert review_plan.after is not None
        await definitions.update(review_plan.before, review_plan.after, review_plan.role_name)
        return None
    await definitions.delete(review_plan.before)
    return None


async def put_back_reviews(
    definitions: ReviewDefinitions, done: Sequence[_Done], record: Record
) -> list[str]:
    left = []
    for step in reversed(done):
        review_plan = step.plan
        try:
            if review_plan.action == "create":
                assert step.made is not None
                await definitions.delete(step.made)
            elif review_plan.action == "update":
                assert review_plan.before is not None
                await definitions.put_back(review_plan.before)
            else:
                assert review_plan.before is not None
                await definitions.restore(review_plan.before)
        except PolicyRefused as refusal:
            left.append(f"{review_plan.role_name} {review_plan.label}")
            await record(
                f"{AUDIT_ACTION}.{review_plan.action}.undo",
                "refused",
                _details(review_plan, refusal),
            )
            continue
        await record(f"{AUDIT_ACTION}.{review_plan.action}.undo", "changed", _details(review_plan))
        if review_plan.action == "delete":
            # Made anew: the same settings, a new id and no past instances.
            left.append(f"{review_plan.role_name} {review_plan.label} (made anew, with a new id)")
    return left


def _details(review_plan: ReviewPlan, refusal: PolicyRefused | None = None) -> dict[str, Any]:
    details: dict[str, Any] = {
        "role_id": review_plan.role_id,
        "role": review_plan.role_name,
        "definition_id": review_plan.before.entry.id if review_plan.before else None,
        "changes": [
            {"setting": c.setting, "before": c.before, "after": c.after}
            for c in review_plan.changes
        ],
    }
    if review_plan.action == "delete" and review_plan.before is not None:
        details["deleted"] = review_plan.before.entry.model_dump(mode="json")
    if refusal is not None:
        details["refusal"] = {
            "status": refusal.status,
            "code": refusal.code,
            "message": refusal.message,
        }
    return details
