"""How fast the core journey feels in the sandbox: the bot, its channel, Graph client and store as
they run in production, the twins on loopback, the scheduler running on its own (no test hooks).

    .venv/bin/python -m bench.journey [--rounds 20]

Measures, per round:
- form:     `activate user admin for 1h` sent → the activation form shown in the chat
            (one turn: auth, role resolution, eligibility + policy reads from Graph, the card)
- activate: the form's button pressed → "active until" shown (invoke, job, adminAssign in Graph,
            read-back of Graph's schedule, notice through the Bot Connector)
- approve:  an approver's Approve tap → the requester told the role is active
Each round uses a fresh demo user, so nothing is served from a per-person cache.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable

from bot.sandbox.runner import sandbox
from bot.sandbox.teams.client import SandboxClient
from bot.sandbox.teams.person import Person

REQUESTERS = ("adele", "alex")


async def until(check: Callable[[], Awaitable[bool]], what: str, within: float = 30) -> None:
    deadline = time.perf_counter() + within
    while not await check():
        if time.perf_counter() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.005)


async def timed(
    action: Callable[[], Awaitable[object]], done: Callable[[], Awaitable[bool]]
) -> float:
    started = time.perf_counter()
    await action()
    await until(done, "journey step")
    return time.perf_counter() - started


async def seen(person: Person, text: str) -> bool:
    return text in await person.chat_text()


async def one_round(client: SandboxClient, handle: str) -> dict[str, float]:
    person = Person(client, handle)
    await client.install(handle)
    form = await timed(
        lambda: person.say("activate user admin for 1h"),
        lambda: seen(person, "Activate User Administrator"),
    )
    activate = await timed(
        lambda: person.press("Activate"),
        lambda: seen(person, "User Administrator is active until"),
    )
    await person.say("activate exchange admin for 1h because bench")
    await until(lambda: seen(person, "Ask for approval"), "form")
    await person.press("Ask for approval")
    megan = Person(client, "megan")
    await until(lambda: seen(megan, handle.title()), "approval card")
    approve = await timed(
        lambda: megan.press("Approve", {"reason": "bench"}, where=handle.title()),
        lambda: seen(person, "Exchange Administrator is active until"),
    )
    return {"form": form, "activate": activate, "approve": approve}


async def main(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        results: list[dict[str, float]] = []
        for n in range(rounds):
            # a fresh sandbox per round: every round starts cold for its requester
            async with (
                sandbox(database_url=f"sqlite:///{workdir}/pimbot-{n}.db") as running,
                SandboxClient(running.twins.service_url) as client,
            ):
                results.append(await one_round(client, REQUESTERS[n % len(REQUESTERS)]))
        for step in ("form", "activate", "approve"):
            times = sorted(r[step] for r in results)
            p90 = times[max(0, int(len(times) * 0.9) - 1)]
            print(
                f"{step:<9} median {statistics.median(times) * 1000:6.0f} ms   "
                f"p90 {p90 * 1000:6.0f} ms   max {times[-1] * 1000:6.0f} ms   (n={len(times)})"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    asyncio.run(main(parser.parse_args().rounds))
