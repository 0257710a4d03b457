"""Access reviews in Teams.

- `review ROLE every N days [for D days] [by REVIEWERS]` (admins, through the admin gate) creates
  Graph's access review definition; REVIEWERS is `UPN, UPN`, `group NAME`, `admins` (the
  default) or `managers [else FALLBACK]` (each person's manager; FALLBACK, the admins by default,
  reviews the people who have none). `reviews` lists the reviews and their progress.
- A scan (job `review_scan`, every few minutes, on whichever replica claims it) finds instances
  that started and sends each contacted reviewer one card with the rows that are theirs (a
  manager's reports; every row for named people and groups): a row per person, Keep / Remove,
  "Keep all recommended", a page at a time. It refreshes the cards when decisions were made
  elsewhere (the Entra portal).
- A tap is checked against pimbot's store and Graph (a reviewer of this instance, the instance
  still open, the item part of it and theirs to decide), then recorded once (first tap wins,
  across replicas) and written to Graph once by the job `review_record`: as the reviewer
  (delegated PATCH) on the pim engine, app-only (`batchRecordDecisions`) on the bot engine,
  where pimbot's audit log names the reviewer. Every copy of the card is then updated
  (`review_refresh`).
- Follow-through per instance: a reminder a day before the end (Teams, and Graph's
  `sendReminder`), escalation to the admins at halfway for reviewers who have not answered, and
  at the end: stop, apply, a summary to the admins, and a message to each person removed.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.domain import (
    Actor,
    CardMessage,
    DelegatedTokenError,
    GraphError,
    Outcome,
    Person,
    SentMessage,
    SignInRequest,
    TextMessage,
    TokenExchangeOutcome,
)
from bot.governance.audit import audit_admin, audit_refusal
from bot.governance.config import GovernanceConfig
from bot.governance.domain import (
    Decision,
    Recommendation,
    RecordedDecision,
    ReviewByGroup,
    ReviewByManagers,
    ReviewByPeople,
    ReviewCard,
    ReviewerSpec,
    ReviewInstance,
    ReviewItem,
    ReviewProgress,
    ReviewRun,
    ReviewSpec,
)
from bot.governance.ports import AdminDirectory, AdminTokens, SignInChecker
from bot.governance.reviews.ports import ReviewDirectory, ReviewReads, ReviewWrites
from bot.sso import InvalidSsoToken
from bot.store import Database, Job
from bot.timefmt import format_when
from bot.workflow.errors import TRANSIENT, graph_trouble
from bot.workflow.outbox import RetryLater
from bot.workflow.ports import Messenger
from bot.workflow.roles import Ambiguous, Exact, resolve_role
from cards.actions import InvalidAction
from cards.governance.reviews import (
    PAGE_SIZE,
    ReviewDecide,
    ReviewKeepRecommended,
    ReviewPage,
    ReviewVerb,
    page_count,
    parse_review_action,
    removed_notice_card,
    review_card,
    review_outcome,
    review_summary_card,
    reviews_list,
)
from cards.text import plain

log = logging.getLogger(__name__)

SCAN_JOB = "review_scan"  # {}: finds new instances and decisions made elsewhere; re-enqueued
CARD_JOB = "review_card"  # {instance_key, person_id}: a reviewer's card, sent once
RECORD_JOB = "review_record"  # {instance_key, item_id}: one decision written to Graph once
REFRESH_JOB = "review_refresh"  # {instance_key}: every copy of the card, redrawn
REMIND_JOB = "review_remind"  # {instance_key}
ESCALATE_JOB = "review_escalate"  # {instance_key}
FINISH_JOB = "review_finish"  # {instance_key}
SIGN_IN_JOB = "review_sign_in"  # {instance_key, person_id}: asks a reviewer to sign in (pim)
VERBS = tuple(verb.value for verb in ReviewVerb)
SIGN_IN_PREFIX = "review-"  # exchange ids of reviewers' sign-ins (pim engine)

SCAN_EVERY = timedelta(minutes=5)
REMIND_BEFORE = timedelta(days=1)
FINISH_GRACE = timedelta(minutes=1)
RETRY = timedelta(seconds=30)
DEFAULT_DURATION_DAYS = 14
MAX_REASON = 500
_COMMAND = re.compile(
    r"^\s*review\s+(?P<role>.+?)\s+every\s+(?P<every>\d{1,4})\s+days?"
    r"(?:\s+for\s+(?P<duration>\d{1,3})\s+days?)?(?:\s+by\s+(?P<by>.+?))?\s*$",
    re.IGNORECASE,
)
_MANAGERS = re.compile(
    r"^(?:(?:their|the|each\s+person'?s)\s+)?managers?"
    r"(?:\s*,?\s+(?:else|otherwise|fallback|falling\s+back\s+to)\s+(?P<fallback>.+))?$",
    re.IGNORECASE,
)
_GROUP = re.compile(r"^(?:the\s+)?group\s+(?P<group>.+)$", re.IGNORECASE)
_ADMINS = re.compile(r"^(?:the\s+)?(?:pimbot\s+)?admins?$", re.IGNORECASE)
USAGE = (
    "Start a recurring access review with `review ROLE every N days`, for example `review "
    "Exchange Administrator every 90 days`. Add `for D days` for how long each review stays "
    "open (14 by default) and `by …` for the reviewers: `by UPN, UPN` (named people), `by group "
    "NAME` (a group's members, by display name or id), `by managers` (each person's manager; "
    "the pimbot admins review people without one, or say `by managers else UPN` or `else group "
    "NAME`), or `by admins` (the pimbot admins, the default). `reviews` lists the reviews and "
    "how far they got."
)


@dataclass(frozen=True)
class AsReviewer:
    """The pim engine: decisions are written with the reviewer's own delegated token (Graph
    records the reviewer); pimbot asks them to sign in when it holds none."""

    tokens: AdminTokens
    sso: SignInChecker
    writes_as: Callable[[str], ReviewWrites]  # a delegated token → writes as that person


class Reviews:
    def __init__(
        self,
        db: Database,
        config: GovernanceConfig,
        *,
        reads: ReviewReads,
        writes: ReviewWrites,
        directory: ReviewDirectory,
        admins: AdminDirectory,
        messenger: Callable[[], Messenger],
        now: Callable[[], datetime],
        wake_scheduler: Callable[[], None] = lambda: None,
        as_reviewer: AsReviewer | None = None,
    ) -> None:
        self._db = db
        self._config = config
        self._reads = reads
        self._writes = writes
        self._directory = directory
        self._admins = admins
        self._messenger = messenger
        self._now = now
        self._wake = wake_scheduler
        self._as_reviewer = as_reviewer

    def job_handlers(self) -> dict[str, Callable[[Job], Awaitable[None]]]:
        return {
            SCAN_JOB: self._scan_job,
            CARD_JOB: self._card_job,
            RECORD_JOB: self._record_job,
            REFRESH_JOB: self._refresh_job,
            REMIND_JOB: self._remind_job,
            ESCALATE_JOB: self._escalate_job,
            FINISH_JOB: self._finish_job,
            SIGN_IN_JOB: self._sign_in_job,
        }

    async def start(self) -> None:
        """Queue a scan due now (every replica may call it: the key dedupes), so that a review
        already running at start-up reaches its reviewers on the scheduler's first round. The
        scan is a job: it does not hold up the people the replica serves."""
        await self._enqueue_scan(self._now(), soon=True)

    # --- admin commands ------------------------------------------------------------------------

    async def on_command(self, actor: Actor, text: str) -> Outcome:
        """`review ROLE every N days ...` or `reviews` (the admin gate admitted the actor)."""
        if _COMMAND.match(text):
            return await self._create(actor, text)
        if text.strip().lower() in ("reviews", "access reviews"):
            return await self._list(actor)
        return _text(USAGE)

    async def _create(self, actor: Actor, text: str) -> Outcome:
        match = _COMMAND.match(text)
        assert match is not None
        every = int(match["every"])
        duration = int(match["duration"] or min(DEFAULT_DURATION_DAYS, every))
        if every < 1 or duration < 1 or duration > every:
            return _text(
                "Each review must stay open at least a day and end before the next one "
                f"starts (every {every} days, open {duration} days). {USAGE}"
            )
        roles = await self._directory.list_roles()
        found = resolve_role(match["role"], roles)
        if isinstance(found, Ambiguous):
            names = ", ".join(plain(r.display_name) for r in found.candidates[:5])
            return _text(f"Which role do you mean: {names}?")
        if not isinstance(found, Exact):
            return _text(f"I found no role called “{plain(match['role'])}”. {USAGE}")
        chosen = await self._reviewers(match["by"] or "")
        if isinstance(chosen, str):
            return _text(f"{chosen} Nothing created.")
        reviewers, who = chosen
        spec = ReviewSpec(
            role=found.role,
            every_days=every,
            duration_days=duration,
            reviewers=reviewers,
        )
        try:
            created = await self._writes.create(spec)
        except ValueError as exc:  # every N days that Graph cannot repeat
            return _text(str(exc))
        now = self._now()
        async with self._db.transaction() as tx:
            await audit_admin(
                tx,
                now,
                actor.person.id,
                "review.created",
                details={
                    "definition_id": created.definition_id,
                    "role_id": found.role.id,
                    "every_days": every,
                    "duration_days": duration,
                    "reviewers": _describe(reviewers),
                },
            )
        await self._enqueue_scan(now, soon=True)
        return _text(
            f"✅ Access review of {plain(found.role.display_name)} created: every {every} days, "
            f"open {duration} days, reviewed by {who}. Each reviewer gets a card here when a "
            "review starts. `reviews` shows how far it got."
        )

    async def _reviewers(self, text: str) -> tuple[ReviewerSpec, str] | str:
        """The reviewers `by …` names, and how a reply says who they are; or what is wrong."""
        text = text.strip()
        if managers := _MANAGERS.match(text):
            if managers["fallback"] is None:
                fallback: tuple[ReviewByPeople | ReviewByGroup, str] | str = self._admins_spec()
            else:
                fallback = await self._static_reviewers(managers["fallback"])
            if isinstance(fallback, str):
                return fallback
            return (
                ReviewByManagers(fallback=fallback[0]),
                f"each person's manager (and {fallback[1]} for people without one)",
            )
        if _MANAGERS.match(text.split()[0] if text else "") and " " in text:
            return (
                f"I did not understand “{plain(text)}”: say `by managers`, or `by managers "
                "else UPN` (or `else group NAME`, `else admins`) for who reviews the people "
                "without a manager."
            )
        return await self._static_reviewers(text)

    async def _static_reviewers(
        self, text: str
    ) -> tuple[ReviewByPeople | ReviewByGroup, str] | str:
        text = text.strip()
        if not text or _ADMINS.match(text):
            return self._admins_spec()
        if group := _GROUP.match(text):
            ref = group["group"].strip().strip("“”\"'")
            found = await self._reads.groups_named(ref)
            if not found:
                return f"I found no group called “{plain(ref)}” to review."
            if len(found) > 1:
                choices = ", ".join(f"{plain(g.display_name)} ({g.id})" for g in found[:5])
                return (
                    f"More than one group is called “{plain(ref)}”: {choices}. Say `by group "
                    "ID` with the id of the one you mean."
                )
            return ReviewByGroup(
                group_id=found[0].id
            ), f"the members of {plain(found[0].display_name)}"
        user_ids: list[str] = []
        for ref in re.split(r"\s*(?:,|\band\b)\s*", text):
            if not ref:
                continue
            if _MANAGERS.match(ref):
                return "Managers review on their own: say `by managers else UPN, UPN`."
            person = await self._directory.get_person(ref)
            if person is None:
                return f"I found nobody called “{plain(ref)}” to review."
            if person.id not in user_ids:
                user_ids.append(person.id)
        return ReviewByPeople(user_ids=tuple(user_ids)), "the people you named"

    def _admins_spec(self) -> tuple[ReviewByGroup, str] | str:
        if not self._config.admin_group_id:
            return "pimbot has no admin group to review with: name the reviewers."
        return ReviewByGroup(group_id=self._config.admin_group_id), "the pimbot admins"

    async def _list(self, actor: Actor) -> Outcome:
        progress = []
        for definition in await self._reads.definitions():
            if not definition.role_id:
                continue
            instances = await self._reads.instances(definition.definition_id)
            instance = instances[-1] if instances else None
            line = ReviewProgress(definition=definition, instance=instance)
            if instance is not None:
                items = await self._merged_items(instance)
                line = line.model_copy(
                    update={
                        "total": len(items),
                        "kept": sum(i.decision is Decision.APPROVE for i in items),
                        "removed": sum(i.decision is Decision.DENY for i in items),
                    }
                )
            progress.append(line)
        summary = f"Access reviews: {len(progress)}"
        return Outcome(
            replies=[CardMessage(card=reviews_list(progress, actor.timezone), summary=summary)]
        )

    # --- the reviewer's card -------------------------------------------------------------------

    async def on_action(
        self, actor: Actor, data: Mapping[str, Any], card: SentMessage | None = None
    ) -> Outcome:
        """A button on a reviewer's card: no admin gate (reviewers need not be admins), but
        the reviewer, the review and the item are checked against the store and Graph."""
        try:
            action = parse_review_action(data)
        except InvalidAction as exc:
            return _text(exc.friendly_message)
        key = f"{action.definition}/{action.instance}"
        run = await self._run(key)
        if run is None:
            return _text("I know no such access review (the card may be out of date).")
        if not run.is_reviewer(actor.person.id) or actor.person.tenant_id != run.tenant_id:
            await audit_refusal(
                self._db,
                self._now(),
                actor.person.id,
                "review.refused",
                reason="not a reviewer of this review",
                details={"instance": key},
            )
            return _text("You are not a reviewer of this access review, so nothing was recorded.")
        match action:
            case ReviewPage():
                return await self._show(run, actor, action.page_number)
            case ReviewDecide():
                return await self._decide(run, actor, action)
            case ReviewKeepRecommended():
                return await self._keep_recommended(run, actor, action.page_number)
        return _text("That button is not one I know (the card may be out of date).")

    async def _show(self, run: ReviewRun, actor: Actor, page: int, toast: str = "") -> Outcome:
        view = await self._view(run, actor.person, page)
        async with self._db.transaction() as tx:
            await tx.reviews.turn_page(run.key, actor.person.id, view.page)
        return Outcome(card_update=review_card(view, actor.timezone), toast=toast or None)

    async def _still_open(self, run: ReviewRun) -> ReviewRun:
        """The run, finished in pimbot's eyes when Graph says the instance is over."""
        if run.finished:
            return run
        current = await self._reads.instance(run.instance.definition_id, run.instance.instance_id)
        if current is None or current.is_open:
            return run
        return run.model_copy(update={"instance": current})

    async def _decide(self, run: ReviewRun, actor: Actor, action: ReviewDecide) -> Outcome:
        run = await self._still_open(run)
        if not run.instance.is_open:
            return await self._late(run, actor, action.page_number)
        decision = Decision(action.decision)
        reason = action.reason.strip()
        if decision is Decision.DENY and not reason:
            return _text("Please type a reason in the card before you remove someone's role.")
        item = await self._reads.item(run.instance, action.item)
        if item is None:
            return _text("That person is not part of this review (the card may be out of date).")
        if not run.may_decide(actor.person.id, item.principal.id):
            await audit_refusal(
                self._db,
                self._now(),
                actor.person.id,
                "review.refused",
                reason="not a reviewer of this item",
                details={
                    "instance": run.key,
                    "item_id": item.item_id,
                    "principal_id": item.principal.id,
                },
            )
            return _text(
                f"You do not review {plain(item.principal.display_name)} in this access review "
                "(another reviewer does), so nothing was recorded."
            )
        recorded = await self._record(run, actor.person, [(item, decision, reason)])
        toast = "" if recorded else "Already decided: the card shows who decided."
        return await self._show(run, actor, action.page_number, toast)

    async def _keep_recommended(self, run: ReviewRun, actor: Actor, page: int) -> Outcome:
        run = await self._still_open(run)
        if not run.instance.is_open:
            return await self._late(run, actor, page)
        items = _theirs(run, actor.person, await self._merged_items(run.instance))
        chosen = [
            (i, Decision.APPROVE, "Kept as Microsoft Entra recommended")
            for i in items
            if not i.decided and i.recommendation is Recommendation.APPROVE
        ]
        count = await self._record(run, actor.person, chosen)
        return await self._show(run, actor, page, f"Kept {count} as recommended.")

    async def _late(self, run: ReviewRun, actor: Actor, page: int) -> Outcome:
        """A tap on a review that is over: the outcome, and the card as it ended."""
        view = await self._view(run, actor.person, page)
        outcome = run.outcome or "It has ended; nothing more is recorded."
        return Outcome(
            card_update=review_card(view, actor.timezone),
            replies=[TextMessage(text=f"This access review is over. {plain(outcome)}")],
        )

    async def _record(
        self,
        run: ReviewRun,
        reviewer: Person,
        decisions: list[tuple[ReviewItem, Decision, str]],
    ) -> int:
        """Record decisions once each and queue their writes and the card refresh."""
        now = self._now()
        recorded = 0
        async with self._db.transaction() as tx:
            for item, decision, reason in decisions:
                entry = RecordedDecision(
                    instance_key=run.key,
                    item_id=item.item_id,
                    principal_id=item.principal.id,
                    decision=decision,
                    justification=reason[:MAX_REASON],
                    reviewer=reviewer,
                    decided_at=now,
                )
                if not await tx.reviews.record(entry):
                    continue
                recorded += 1
                await audit_admin(
                    tx,
                    now,
                    reviewer.id,
                    "review.decided",
                    reason=reason,
                    details={
                        "instance": run.key,
                        "item_id": item.item_id,
                        "principal_id": item.principal.id,
                        "role_id": run.instance.role.id,
                        "decision": decision.value,
                    },
                )
                await tx.jobs.enqueue(
                    RECORD_JOB,
                    {"instance_key": run.key, "item_id": item.item_id},
                    due_at=now,
                    dedupe_key=f"{RECORD_JOB}:{run.key}:{item.item_id}",
                )
            if recorded:
                await self._enqueue_refresh(tx, run.key, now)
        if recorded:
            self._wake()
        return recorded

    async def _view(
        self,
        run: ReviewRun,
        reviewer: Person,
        page: int,
        merged: list[ReviewItem] | None = None,
    ) -> ReviewCard:
        """The reviewer's page: only the rows they may decide. `merged`: the instance's items
        as `_merged_items` gives them, when the caller read them already."""
        if merged is None:
            merged = await self._merged_items(run.instance)
        items = _theirs(run, reviewer, merged)
        pages = page_count(len(items))
        page = min(max(page, 0), pages - 1)
        return ReviewCard(
            instance=run.instance,
            items=tuple(items[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]),
            page=page,
            pages=pages,
            total=len(items),
            decided=sum(i.decided for i in items),
            reviewer=reviewer,
            outcome=run.outcome,
        )

    async def _merged_items(self, instance: ReviewInstance) -> list[ReviewItem]:
        """Graph's items with pimbot's decisions and history: a decision taken in Teams shows
        with its reviewer (before and after it reaches Graph), one made in the portal with
        Graph's reviewer; the last activation is the later of PIM's and pimbot's."""
        items = await self._reads.items(instance)
        async with self._db.transaction() as tx:
            recorded = await tx.reviews.decisions(instance.key, self._config.tenant_id)
            history = await tx.reviews.last_activations(instance.role.id)
        merged = []
        for item in items:
            update: dict[str, Any] = {}
            ours = recorded.get(item.item_id)
            # Graph's own record wins only when it says something else, later (the portal);
            # the same decision written app-only shows the person who took it, not the app.
            changed_since = (
                ours is not None
                and item.decided
                and item.decision is not ours.decision
                and item.reviewed_at is not None
                and item.reviewed_at > ours.decided_at
            )
            if ours is not None and not changed_since:
                update |= {
                    "decision": ours.decision,
                    "reviewed_by": ours.reviewer.display_name,
                    "reviewed_by_id": ours.reviewer.id,
                    "reviewed_at": ours.decided_at,
                    "justification": ours.justification,
                }
            ours_activation = history.get(item.principal.id)
            if ours_activation and (
                item.last_activation is None or item.last_activation < ours_activation
            ):
                update["last_activation"] = ours_activation
            merged.append(item.model_copy(update=update) if update else item)
        return sorted(merged, key=lambda i: (i.principal.display_name.casefold(), i.principal.id))

    async def _run(self, key: str) -> ReviewRun | None:
        async with self._db.transaction() as tx:
            return await tx.reviews.run(key)

    # --- jobs ----------------------------------------------------------------------------------

    async def _scan_job(self, job: Job) -> None:
        now = self._now()
        try:
            await self.scan()
        finally:
            await self._enqueue_scan(now + SCAN_EVERY)

    async def scan(self) -> None:
        """New instances get their run, cards and follow-through; open ones whose decisions
        changed elsewhere get their cards redrawn."""
        now = self._now()
        for definition in await self._reads.definitions():
            if not definition.role_id:
                continue
            for instance in await self._reads.instances(definition.definition_id):
                if instance.is_open:
                    await self._begin(instance, now)
        async with self._db.transaction() as tx:
            runs = await tx.reviews.open_runs()
        for run in runs:
            items = await self._merged_items(run.instance)
            digest = _digest(items)
            if digest != run.digest:
                async with self._db.transaction() as tx:
                    before = await tx.reviews.change(run.key, now, digest=digest)
                    if before is not None and before.digest != digest and before.digest:
                        await self._enqueue_refresh(tx, run.key, now)

    async def _begin(self, instance: ReviewInstance, now: datetime) -> None:
        async with self._db.transaction() as tx:
            known = await tx.reviews.run(instance.key)
        if known is not None:
            return
        reviewers = await self._reads.reviewers(instance)
        reviewer_of = await self._reads.reviewer_of(instance)
        if reviewer_of:  # a contacted reviewer with no item of theirs gets no card
            assigned = {r.lower() for ids in reviewer_of.values() for r in ids}
            reviewers = [r for r in reviewers if r.id.lower() in assigned]
        run = ReviewRun(
            tenant_id=self._config.tenant_id,
            instance=instance,
            reviewers=tuple(reviewers),
            reviewer_of=reviewer_of,
        )
        async with self._db.transaction() as tx:
            if not await tx.reviews.start_run(run, now):
                return  # another replica saw it first
            await audit_admin(
                tx,
                now,
                None,
                "review.started",
                details={
                    "instance": run.key,
                    "role_id": instance.role.id,
                    "reviewers": ",".join(r.id for r in reviewers),
                },
            )
            for reviewer in reviewers:
                await tx.jobs.enqueue(
                    CARD_JOB,
                    {"instance_key": run.key, "person_id": reviewer.id},
                    due_at=now,
                    dedupe_key=f"{CARD_JOB}:{run.key}:{reviewer.id}",
                )
            length = instance.end - instance.start
            follow = [
                (ESCALATE_JOB, instance.start + length / 2),
                (FINISH_JOB, instance.end + FINISH_GRACE),
            ]
            if length > 2 * REMIND_BEFORE:
                follow.append((REMIND_JOB, instance.end - REMIND_BEFORE))
            for kind, due in follow:
                await tx.jobs.enqueue(
                    kind,
                    {"instance_key": run.key},
                    due_at=due,
                    dedupe_key=f"{kind}:{run.key}",
                )
        self._wake()

    async def _card_job(self, job: Job) -> None:
        key, person_id = str(job.payload["instance_key"]), str(job.payload["person_id"])
        run = await self._run(key)
        reviewer = next((r for r in run.reviewers if r.id == person_id), None) if run else None
        if run is None or reviewer is None or run.finished:
            return
        async with self._db.transaction() as tx:
            if await tx.reviews.card(key, person_id) is not None:
                return  # sent already (a replayed job)
        view = await self._view(run, reviewer, 0)
        waiting = view.total - view.decided
        message = CardMessage(
            card=review_card(view),
            summary=f"Access review of {run.instance.role.display_name}: "
            f"{waiting} decision{'' if waiting == 1 else 's'} waiting for you",
        )
        sent = await self._messenger().send(reviewer, message)
        if sent is None or not sent.activity_id:
            log.warning("review card for %s could not be sent or has no id", person_id)
            return
        async with self._db.transaction() as tx:
            await tx.reviews.add_card(key, sent, 0)

    async def _record_job(self, job: Job) -> None:
        """Write one decision to Graph, exactly once: Graph is read first, so a write that
        succeeded before a crash is not made again."""
        key, item_id = str(job.payload["instance_key"]), str(job.payload["item_id"])
        run = await self._run(key)
        if run is None:
            return
        async with self._db.transaction() as tx:
            ours = (await tx.reviews.decisions(key, run.tenant_id)).get(item_id)
        if ours is None or ours.written_at is not None:
            return
        item = await self._reads.item(run.instance, item_id)
        if item is None:
            return
        writes, how = self._writes, "app"
        if self._as_reviewer is not None:
            token = self._as_reviewer.tokens.cached(ours.reviewer.id)
            if token is None:
                # One sign-in card per reviewer and review an hour, however many decisions wait
                # (the sign-in queues them all again).
                now = self._now()
                async with self._db.transaction() as tx:
                    await tx.jobs.enqueue(
                        SIGN_IN_JOB,
                        {"instance_key": key, "person_id": ours.reviewer.id},
                        due_at=now,
                        dedupe_key=f"{SIGN_IN_JOB}:{key}:{ours.reviewer.id}:{now:%Y%m%d%H}",
                    )
                self._wake()
                return
            writes, how = self._as_reviewer.writes_as(token), "delegated"
        if item.decision is not ours.decision or item.justification != ours.justification:
            try:
                await writes.record(run.instance, item, ours.decision, ours.justification)
            except GraphError as exc:
                if isinstance(exc, TRANSIENT):
                    raise RetryLater(RETRY, f"Graph {exc.status}") from exc
                await self._not_written(run, ours, exc)
                return
        now = self._now()
        async with self._db.transaction() as tx:
            if await tx.reviews.written(key, item_id, now):
                await audit_admin(
                    tx,
                    now,
                    ours.reviewer.id,
                    "review.decision_written",
                    details={
                        "instance": key,
                        "item_id": item_id,
                        "principal_id": ours.principal_id,
                        "decision": ours.decision.value,
                        # app: Graph names pimbot's app as the reviewer; this entry names the
                        # person. delegated: Graph names the person itself.
                        "written_as": how,
                        "reviewer_id": ours.reviewer.id,
                    },
                )

    async def _not_written(self, run: ReviewRun, ours: RecordedDecision, exc: GraphError) -> None:
        now = self._now()
        async with self._db.transaction() as tx:
            await audit_admin(
                tx,
                now,
                ours.reviewer.id,
                "review.decision_not_written",
                outcome="error",
                reason=f"Graph {exc.status} {exc.code}",
                details={"instance": run.key, "item_id": ours.item_id},
            )
        words = graph_trouble(exc, "record your decision in Microsoft Entra")
        await self._messenger().send(ours.reviewer, TextMessage(text=words))

    async def _sign_in_job(self, job: Job) -> None:
        key, person_id = str(job.payload["instance_key"]), str(job.payload["person_id"])
        run = await self._run(key)
        reviewer = next((r for r in run.reviewers if r.id == person_id), None) if run else None
        if run is None or reviewer is None or self._as_reviewer is None:
            return
        if self._as_reviewer.tokens.cached(person_id) is not None:
            return  # signed in meanwhile
        await self._ask_sign_in(run, reviewer)

    async def _ask_sign_in(self, run: ReviewRun, reviewer: Person) -> None:
        await self._messenger().send(
            reviewer,
            SignInRequest(
                exchange_id=f"{SIGN_IN_PREFIX}{run.key}",
                text=(
                    "Sign in so that I can record your access review decisions in Microsoft "
                    f"Entra as you: {plain(run.instance.display_name)}"
                ),
                mfa_required=False,
            ),
        )

    async def on_sign_in(
        self, actor: Actor, exchange_id: str, sso_token: str
    ) -> TokenExchangeOutcome:
        """A reviewer signed in (pim engine): their decisions waiting for Graph are written."""
        as_reviewer = self._as_reviewer
        key = exchange_id.removeprefix(SIGN_IN_PREFIX)
        run = await self._run(key)
        if as_reviewer is None or run is None:
            return TokenExchangeOutcome(accepted=False, failure_detail="unknown sign-in")
        if not run.is_reviewer(actor.person.id):
            return TokenExchangeOutcome(accepted=False, failure_detail="not a reviewer")
        try:
            claims = await as_reviewer.sso.validate(sso_token)
            if claims.object_id != actor.person.id:
                return TokenExchangeOutcome(accepted=False, failure_detail="another account")
            await as_reviewer.tokens.exchange(actor.person.id, sso_token)
        except InvalidSsoToken as exc:
            return TokenExchangeOutcome(accepted=False, failure_detail=str(exc))
        except DelegatedTokenError as exc:
            return TokenExchangeOutcome(
                accepted=False, failure_detail=str(exc), outcome=_text(exc.words)
            )
        now = self._now()
        async with self._db.transaction() as tx:
            waiting = await tx.reviews.decisions(key, run.tenant_id)
            for item_id, ours in waiting.items():
                if ours.written_at is None and ours.reviewer.id == actor.person.id:
                    await tx.jobs.enqueue(
                        RECORD_JOB,
                        {"instance_key": key, "item_id": item_id},
                        due_at=now,
                        dedupe_key=f"{RECORD_JOB}:{key}:{item_id}:{now.isoformat()}",
                    )
        self._wake()
        return TokenExchangeOutcome(
            accepted=True, outcome=_text("Thanks: I am recording your decisions as you.")
        )

    async def _refresh_job(self, job: Job) -> None:
        key = str(job.payload["instance_key"])
        run = await self._run(key)
        if run is None:
            return
        async with self._db.transaction() as tx:
            copies = await tx.reviews.cards(key)
        messenger = self._messenger()
        merged = await self._merged_items(run.instance) if copies else []
        for sent, page in copies:
            reviewer = next((r for r in run.reviewers if r.id == sent.person_id), None)
            if reviewer is None:
                continue
            view = await self._view(run, reviewer, page, merged)
            await messenger.update(sent, CardMessage(card=review_card(view)))

    async def _remind_job(self, job: Job) -> None:
        key = str(job.payload["instance_key"])
        run = await self._run(key)
        if run is None or run.finished or run.reminded:
            return
        items = await self._merged_items(run.instance)
        waiting = sum(not i.decided for i in items)
        if waiting:
            try:
                await self._writes.send_reminder(run.instance)  # Graph's own email too
            except GraphError as exc:
                if isinstance(exc, TRANSIENT):
                    raise RetryLater(RETRY, f"Graph {exc.status}") from exc
                log.warning("sendReminder refused: %s", exc)
        async with self._db.transaction() as tx:
            if await tx.reviews.mark(key, "reminded", self._now()) is None:
                return
        if not waiting:
            return
        for reviewer in run.reviewers:
            theirs = sum(not i.decided for i in _theirs(run, reviewer, items))
            if not theirs:
                continue
            await self._messenger().send(
                reviewer,
                TextMessage(
                    text=f"⏰ Reminder: {theirs} decision{_s(theirs)} still open in the access "
                    f"review of {plain(run.instance.role.display_name)}, which ends "
                    f"{format_when(run.instance.end, None)}. Your card above has the buttons."
                ),
            )

    async def _escalate_job(self, job: Job) -> None:
        key = str(job.payload["instance_key"])
        run = await self._run(key)
        if run is None or run.finished or run.escalated:
            return
        items = await self._merged_items(run.instance)
        answered = {i.reviewed_by_id for i in items if i.decided and i.reviewed_by_id}
        silent = [
            r
            for r in run.reviewers
            if r.id not in answered and any(not i.decided for i in _theirs(run, r, items))
        ]
        waiting = sum(not i.decided for i in items)
        async with self._db.transaction() as tx:
            if await tx.reviews.mark(key, "escalated", self._now()) is None:
                return
            if silent and waiting:
                await audit_admin(
                    tx,
                    self._now(),
                    None,
                    "review.escalated",
                    details={"instance": key, "silent": ",".join(r.id for r in silent)},
                )
        if not silent or not waiting:
            return
        names = ", ".join(plain(r.display_name or r.upn) for r in silent)
        text = (
            f"⚠️ Halfway through the access review of {plain(run.instance.role.display_name)}: "
            f"{names} {'has' if len(silent) == 1 else 'have'} not answered, and {waiting} "
            f"decision{_s(waiting)} are open. It ends {format_when(run.instance.end, None)}."
        )
        for admin in await self._admin_people():
            await self._messenger().send(admin, TextMessage(text=text))

    async def _finish_job(self, job: Job) -> None:
        """At the end: stop the instance if Graph has not, apply its decisions, tell the admins
        and the people who lost access, and draw the cards as they ended."""
        key = str(job.payload["instance_key"])
        run = await self._run(key)
        if run is None or run.finished:
            return
        instance = await self._reads.instance(run.instance.definition_id, run.instance.instance_id)
        if instance is None:
            return
        try:
            if instance.is_open:
                await self._writes.stop(instance)
                instance = await self._reread(instance)
            if instance.status == "Completed":
                await self._writes.apply(instance)
                instance = await self._reread(instance)
        except GraphError as exc:
            if isinstance(exc, TRANSIENT):
                raise RetryLater(RETRY, f"Graph {exc.status}") from exc
            raise
        if instance.status != "Applied":  # Graph is still completing or applying
            raise RetryLater(RETRY, f"waiting for Graph: the instance is {instance.status}")
        items = await self._merged_items(instance)
        kept = [i for i in items if i.decision is Decision.APPROVE]
        removed = [i for i in items if i.decision is Decision.DENY]
        unreviewed = [i for i in items if not i.decided]
        outcome = review_outcome(items)
        now = self._now()
        async with self._db.transaction() as tx:
            before = await tx.reviews.change(
                key, now, unless="finished", finished=True, outcome=outcome, instance=instance
            )
            if before is None:
                return  # another worker finished it
            await audit_admin(
                tx,
                now,
                None,
                "review.finished",
                details={
                    "instance": key,
                    "kept": len(kept),
                    "removed": len(removed),
                    "not_reviewed": len(unreviewed),
                    "status": instance.status,
                },
            )
            await self._enqueue_refresh(tx, key, now)
        summary = CardMessage(
            card=review_summary_card(instance, items),
            summary=f"Access review of {instance.role.display_name} ended: {outcome}",
        )
        for admin in await self._admin_people():
            await self._messenger().send(admin, summary)
        for item in removed:
            await self._messenger().send(
                item.principal,
                CardMessage(
                    card=removed_notice_card(instance, item),
                    summary=f"Your {instance.role.display_name} role was removed",
                ),
            )

    async def _reread(self, instance: ReviewInstance) -> ReviewInstance:
        current = await self._reads.instance(instance.definition_id, instance.instance_id)
        return current or instance

    async def _admin_people(self) -> list[Person]:
        if not self._config.admin_group_id:
            return []
        return await self._admins.transitive_members(self._config.admin_group_id)

    async def _enqueue_scan(self, due: datetime, *, soon: bool = False) -> None:
        bucket = due.replace(second=0, microsecond=0)
        async with self._db.transaction() as tx:
            await tx.jobs.enqueue(
                SCAN_JOB,
                {},
                due_at=due,
                dedupe_key=f"{SCAN_JOB}:{bucket.isoformat()}{':now' if soon else ''}",
            )
        if soon:
            self._wake()

    async def _enqueue_refresh(self, tx: Any, key: str, now: datetime) -> None:
        await tx.jobs.enqueue(
            REFRESH_JOB,
            {"instance_key": key},
            due_at=now,
            dedupe_key=f"{REFRESH_JOB}:{key}:{now.isoformat()}",
        )


def _theirs(run: ReviewRun, reviewer: Person, items: list[ReviewItem]) -> list[ReviewItem]:
    """The items the reviewer may decide (all of them unless reviewers differ per item)."""
    if not run.reviewer_of:
        return items
    return [i for i in items if run.may_decide(reviewer.id, i.principal.id)]


def _describe(reviewers: ReviewerSpec) -> str:
    """The reviewers, for the audit log."""
    match reviewers:
        case ReviewByPeople():
            return ",".join(reviewers.user_ids)
        case ReviewByGroup():
            return f"group {reviewers.group_id}"
        case ReviewByManagers():
            fallback = _describe(reviewers.fallback) if reviewers.fallback else "none"
            return f"managers, else {fallback}"


def _digest(items: list[ReviewItem]) -> str:
    text = "|".join(f"{i.item_id}:{i.decision.value}:{i.reviewed_by_id}" for i in items)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def _text(text: str) -> Outcome:
    return Outcome(replies=[TextMessage(text=text)])
