"""A review already running when pimbot starts reaches its reviewers on the scheduler's first
round, without waiting for the periodic scan or for any time to pass."""

from __future__ import annotations

import json

from tests.e2e.conftest import Sandbox


async def test_a_review_running_at_start_up_is_sent_on_the_first_round(
    sandboxed: Sandbox,
) -> None:
    sb = sandboxed  # the demo tenant's review is running; the clock does not move here
    for _ in range(3):  # the scan, then the cards it queued
        await sb.run_jobs()
    texts = [json.dumps(card) for m in await sb.person("megan").messages() for card in m["cards"]]
    assert any("Access review: Exchange Administrator" in text for text in texts), texts
