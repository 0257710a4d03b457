"""`alerts` at scale: 10,000 standing role assignments in the Graph twin (bench.standing_scale's
crowded tenant), `alerts` asked by an admin through the whole bot (Teams twin → bot → Graph twin on
loopback), on both engines.

    .venv/bin/python -m bench.alerts_scale [--people 2500] [--rounds 3]

bot engine: PIM's own alerts, read with their incidents (one paged collection). pim engine: the
app reads only, Graph refuses PIM's alerts (403) and pimbot computes them from the schedules,
policies and activation requests (every collection paged at 999). Measures, per round: `alerts`
sent → the card shown, the Graph calls that took, and the size of the card.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from bench.standing_scale import crowded_tenant
from bot.sandbox.runner import sandbox
from bot.sandbox.teams.client import SandboxClient
from bot.sandbox.tenant import DemoTenant

READ_ONLY_APP = ["RoleManagement.Read.Directory", "User.Read.All", "GroupMember.Read.All"]


def for_engine(tenant: DemoTenant, engine: str) -> DemoTenant:
    if engine == "bot":
        return tenant
    app = tenant.apps[0].model_copy(update={"application_permissions": READ_ONLY_APP})
    return tenant.model_copy(update={"apps": [app, *tenant.apps[1:]]})


async def run(people: int, rounds: int, page_size: int, engine: str) -> None:
    tenant = for_engine(crowded_tenant(people), engine)
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            sandbox(
                tenant=tenant,
                database_url=f"sqlite:///{Path(tmp) / 'pimbot.db'}",
                state_dir=Path(tmp),
                run_scheduler=False,
                graph_page_size=page_size,
                engine=engine,
            ) as running,
            SandboxClient(running.twins.service_url) as client,
        ):
            await client.install("megan")
            times: list[float] = []
            for _ in range(rounds):
                calls_before = len(running.twins.graph.calls)
                began = time.perf_counter()
                result = await client.say("megan", "alerts")
                took = time.perf_counter() - began
                assert result["status"] in (200, 201), result
                messages = await client.messages("megan")
                card = next(
                    c
                    for m in reversed(messages)
                    for c in m["cards"]
                    if "PIM alerts" in json.dumps(c)
                )
                calls = running.twins.graph.calls[calls_before:]
                times.append(took)
                counts = [
                    b["text"] for b in card["body"] if b.get("text", "").startswith(("⚠", "✓", "?"))
                ]
                print(
                    f"{engine} engine: alerts in {took:.2f} s, {len(calls)} Graph calls, card "
                    f"{len(json.dumps(card).encode()):,} bytes; {'; '.join(counts)}"
                )
            print(f"{engine}: median {statistics.median(times):.2f} s, max {max(times):.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=2500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--page-size", type=int, default=999)
    parser.add_argument("--engine", choices=["bot", "pim", "both"], default="both")
    args = parser.parse_args()
    for engine in ("bot", "pim") if args.engine == "both" else (args.engine,):
        asyncio.run(run(args.people, args.rounds, args.page_size, engine))


if __name__ == "__main__":
    main()
