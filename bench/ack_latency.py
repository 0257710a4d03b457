"""How long Teams waits for pimbot to answer an Approve tap, with Graph answering at once or
slowly (latency injected in the Graph twin), against a real `pimbot serve`-equivalent process.

    .venv/bin/python -m bench.ack_latency [--rounds 5] [--latency 0 10]

Each round: a requester asks for an approval role, both approval cards go out, then Graph is made
slow (`delay(latency)` on every call) and Megan taps Approve; the time from the tap to the
invoke's answer is what Teams sees (its limit is about 15 s; we aim for under 2 s).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path

from bench.stage import clean_up_on_sigterm
from bot.sandbox.cluster import Cluster, cluster, crowd_tenant


async def one_round(c: Cluster, handle: str, latency: float) -> tuple[float, str]:
    person = c.person(handle)
    await person.say(f"activate exchange administrator for 1h because bench {handle}")
    await person.press("Ask for approval")
    request = await c.request_of(handle)
    await c.until(partial(c.until_cards, request.id), "approval cards")
    if latency:
        c.twins.graph.delay(latency, 10_000)
    started = time.perf_counter()
    await c.press_on("megan", request.id, "Approve", {"reason": "bench"})
    elapsed = time.perf_counter() - started
    await c.twins.acall(partial(_calm, c))
    state = (await c.request_of(handle)).state.value
    return elapsed, state


async def _calm(c: Cluster) -> None:
    c.twins.graph.calm()


async def main(rounds: int, latencies: list[float]) -> None:
    clean_up_on_sigterm()
    with tempfile.TemporaryDirectory() as workdir:
        handles = [f"req{n:02d}" for n in range(1, rounds * len(latencies) + 1)]
        async with cluster(
            Path(workdir),
            database_url=f"sqlite:///{workdir}/pimbot.db",
            tenant=crowd_tenant(len(handles)),
            installed=handles,
        ) as c:
            for i, latency in enumerate(latencies):
                results = [
                    await one_round(c, handles[i * rounds + r], latency) for r in range(rounds)
                ]
                times = [t for t, _ in results]
                states = sorted({s for _, s in results})
                print(
                    f"graph latency {latency:>4.1f} s: approve answered in "
                    f"median {statistics.median(times):.2f} s, max {max(times):.2f} s "
                    f"over {rounds} taps; request state right after: {', '.join(states)}"
                )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--latency", type=float, nargs="+", default=[0.0, 10.0])
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.latency))
