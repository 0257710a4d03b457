"""Builds access reviews (`bot/governance/reviews/`) with their Graph adapters and puts the
reviewers' front in front of the admin front. Lives outside `bot/governance`, which does not
import `bot/graph`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.governance.ports import AdminDirectory, SignInChecker
from bot.governance.reviews.front import ReviewFront
from bot.governance.reviews.journey import AsReviewer, Reviews
from bot.governance.reviews.ports import ReviewDirectory
from bot.governance.wiring import governance_config
from bot.graph.access_reviews import REVIEWER_DELEGATED_SCOPES, GraphAccessReviews
from bot.graph.delegated import DelegatedPim, DelegatedTokens
from bot.graph.http import GraphHttp
from bot.settings import Settings
from bot.store import Database
from bot.workflow.jobs import JobRunner
from bot.workflow.ports import Messenger, TurnHandler


def build_reviews(
    settings: Settings,
    db: Database,
    admin_front: Any,
    *,
    graph: GraphHttp,
    directory: ReviewDirectory,
    admins: AdminDirectory,
    messenger: Callable[[], Messenger],
    runner: JobRunner,
    now: Callable[[], datetime],
    as_person: DelegatedPim | None,
    credential: Any,
    login: Any,
    sso: SignInChecker,
) -> tuple[Reviews, TurnHandler]:
    """`admin_front`: the `AdminFront`, which gets the `reviews` command (admins only); the
    returned turn handler is what the channel gets. `as_person`: the pim engine, where
    decisions are written with the reviewer's own delegated token."""
    config = governance_config(settings)
    tenant = settings.graph_tenant_id
    app_reviews = GraphAccessReviews(graph, tenant_id=tenant, now=now)
    as_reviewer = None
    if as_person is not None:
        tokens = DelegatedTokens(
            settings.effective_graph_client_id,
            credential,
            tenant,
            settings.login_url,
            http_client=login,
            scopes=REVIEWER_DELEGATED_SCOPES,
        )

        def writes_as(token: str) -> GraphAccessReviews:
            return GraphAccessReviews(
                as_person.as_person(token), tenant_id=tenant, now=now, delegated=True
            )

        as_reviewer = AsReviewer(tokens=tokens, sso=sso, writes_as=writes_as)
    reviews = Reviews(
        db,
        config,
        reads=app_reviews,
        writes=app_reviews,
        directory=directory,
        admins=admins,
        messenger=messenger,
        now=now,
        wake_scheduler=lambda: runner.deps.wake_scheduler(),
        as_reviewer=as_reviewer,
    )
    runner.add_handlers(reviews.job_handlers())
    admin_front.add_command("reviews", reviews.on_command)
    return reviews, ReviewFront(admin_front, reviews)
