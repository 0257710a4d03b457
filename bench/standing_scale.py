"""`standing` at scale: 10,000 standing role assignments in the Graph twin, listed by an admin
through the whole bot (Teams twin → bot → Graph twin on loopback).

    .venv/bin/python -m bench.standing_scale [--people 2500] [--rounds 3]

Each of `--people` extra demo users holds four roles permanently (Exchange, Security, User and
Application Administrator), so the default is 10,000 assignments besides the demo tenant's own.
Measures, per round: Megan's `standing` sent → the card shown (the turn: the admin gate, every
page of roleAssignmentScheduleInstances with $expand=principal, roleAssignmentSchedules, users'
signInActivity, activation requests, sorting, the first page of the card), the Graph calls that
took, and the size of the card.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from bot.sandbox.runner import sandbox
from bot.sandbox.teams.client import SandboxClient
from bot.sandbox.tenant import AssignmentSpec, DemoTenant, TenantUser, load_tenant

ROLES = (
    "Exchange Administrator",
    "Security Administrator",
    "User Administrator",
    "Application Administrator",
)


def crowded_tenant(people: int) -> DemoTenant:
    """The demo tenant plus `people` users, each with four standing assignments."""
    tenant = load_tenant()
    users = [
        TenantUser(
            id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"standing-bench-{n}")),
            handle=f"bench{n}",
            upn=f"bench{n}@{tenant.domain}",
            display_name=f"Bench User {n:05}",
        )
        for n in range(people)
    ]
    grants = [AssignmentSpec(user=u.handle, role=role) for u in users for role in ROLES]
    return DemoTenant.model_validate(
        {
            **tenant.model_dump(),
            "users": [*(u.model_dump() for u in tenant.users), *(u.model_dump() for u in users)],
            "assignments": [
                *(a.model_dump() for a in tenant.assignments),
                *(g.model_dump() for g in grants),
            ],
        }
    )


async def run(people: int, rounds: int, page_size: int) -> None:
    started = time.perf_counter()
    tenant = crowded_tenant(people)
    print(
        f"tenant with {len(tenant.assignments)} assignments built in "
        f"{time.perf_counter() - started:.1f} s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            sandbox(
                tenant=tenant,
                database_url=f"sqlite:///{Path(tmp) / 'pimbot.db'}",
                state_dir=Path(tmp),
                run_scheduler=False,
                graph_page_size=page_size,
            ) as running,
            SandboxClient(running.twins.service_url) as client,
        ):
            await client.install("megan")
            times: list[float] = []
            for _ in range(rounds):
                calls_before = len(running.twins.graph.calls)
                began = time.perf_counter()
                result = await client.say("megan", "standing")
                took = time.perf_counter() - began
                assert result["status"] in (200, 201), result
                messages = await client.messages("megan")
                card = next(
                    c
                    for m in reversed(messages)
                    for c in m["cards"]
                    if "Standing access" in json.dumps(c)
                )
                calls = running.twins.graph.calls[calls_before:]
                times.append(took)
                text = json.dumps(card)
                headline = next(
                    b["text"] for b in card["body"] if "Standing access" in b.get("text", "")
                )
                print(
                    f"standing: {took:.2f} s, {len(calls)} Graph calls, card "
                    f"{len(text.encode()):,} bytes, {headline!r}"
                )
            print(f"median {statistics.median(times):.2f} s, max {max(times):.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=2500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--page-size", type=int, default=999, help="the Graph twin's largest page (Graph: 999)"
    )
    args = parser.parse_args()
    asyncio.run(run(args.people, args.rounds, args.page_size))


if __name__ == "__main__":
    main()
