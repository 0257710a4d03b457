"""How a turn's cost grows with the size of the data: throughput and p99 of everyday turns against
the number of open requests in the database, and against the size of the tenant (the roles each
person is eligible for).

    .venv/bin/python -m bench.growth [--open 100 10000 100000] [--roles 3] [--db postgresql]
    .venv/bin/python -m bench.growth --open 100 --roles 3 50 200
    .venv/bin/python -m bench.growth --open 100 --approvers 1 10 100
    .venv/bin/python -m bench.growth --open 100 --eligible 0 10000 100000

Each point is a fresh database and one pimbot process (the shared-clock `pimbot serve`) with the
twins in this process. `--people` people talk: each has two open requests waiting for Megan; the
other open requests (bulk-seeded) belong to people and approvers who do not talk, each with its
approval-timeout job scheduled. For `--seconds`, `--concurrency` loops send turns round robin:
each talker's `pending` (their open requests, and what waits for them: reads the requests table)
and `roles` (eligible and active roles: reads Graph only), and Megan's `pending` (the talkers'
requests wait for her) every fifth turn. A turn's time is until pimbot answered the Teams twin's
POST (its replies are sent within the turn).

`--approvers N` adds a role approved by one group of N people (Megan and N - 1 made up), each
talker eligible for it with their two open requests for it waiting for all N, and a third turn:
the activation form for that role (`activate Growth Approved Role`).

`--eligible N` adds N eligible assignments to the tenant, held by made-up people who do not talk
(each eligible for one of SILENT_ROLES): the tenant grows, what each talker holds does not.
Each point also prints pimbot's CPU per turn, which the twins' own work (in this process) does
not count in.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from bench.expiry_scale import install_all, memory_line, percentile
from bench.fanout import bots_cpu_seconds
from bench.scale_seed import Seeded, load_average, seed_jobs, seed_requests
from bench.stage import clean_up_on_sigterm, fresh_database
from bot.domain import Person, RequestState, Role
from bot.sandbox.cluster import Cluster, cluster
from bot.sandbox.tenant import DEFAULT_TENANT_PATH, DemoTenant
from bot.store.jobs import JobStatus
from bot.workflow.outbox import JobKind

APPROVED_ROLE = "Exchange Administrator"  # approved by Megan or Nestor in the demo tenant
APPROVAL_ROLE = "Growth Approved Role"  # with --approvers: approved by APPROVER_GROUP
APPROVAL_ROLE_ID = "9a0e0000-0000-4000-8000-000000000001"
APPROVER_GROUP = "Growth Approvers"
APPROVER_GROUP_ID = "9a0e0000-0000-4000-9000-000000000001"
BASE_ROLES = ("Exchange Administrator", "User Administrator", "Security Reader")
# The roles of `--eligible`'s silent people: none is under an access review in the demo tenant,
# so the review scan at start-up does not grow with them.
SILENT_ROLES = ("User Administrator", "Security Reader")


def talker(n: int) -> str:
    return f"talk{n:03d}"


def approver_handle(n: int) -> str:
    return f"appr{n:03d}"


def tenant(people: int, roles: int, approvers: int = 0, eligible: int = 0) -> DemoTenant:
    """The demo tenant plus `people` users each eligible for `roles` roles (the demo tenant's
    first, then made-up ones, `Scale Role n`, with the default policy). With `approvers`, also
    APPROVAL_ROLE, approved by the group APPROVER_GROUP of Megan and `approvers - 1` more
    people, and each talker eligible for it. With `eligible`, that many more people who do not
    talk, each eligible for one of SILENT_ROLES."""
    data = yaml.safe_load(DEFAULT_TENANT_PATH.read_text(encoding="utf-8"))
    names = list(BASE_ROLES[:roles])
    for n in range(len(names), roles):
        name = f"Scale Role {n:04d}"
        data["roles"].append(
            {"id": f"5ca1e000-0000-4000-8000-{n:012d}", "display_name": name, "description": name}
        )
        names.append(name)
    if approvers:
        data["roles"].append(
            {"id": APPROVAL_ROLE_ID, "display_name": APPROVAL_ROLE, "description": APPROVAL_ROLE}
        )
        for n in range(1, approvers):
            data["users"].append(
                {
                    "handle": approver_handle(n),
                    "id": f"00000000-0000-4000-c000-{n:012d}",
                    "display_name": f"Approver {n:03d}",
                }
            )
        data["groups"].append(
            {
                "id": APPROVER_GROUP_ID,
                "display_name": APPROVER_GROUP,
                "members": ["megan", *(approver_handle(n) for n in range(1, approvers))],
            }
        )
        data["policies"].append(
            {
                "role": APPROVAL_ROLE,
                "max_duration": "PT4H",
                "require_mfa": False,
                "require_justification": True,
                "approval": {"groups": [APPROVER_GROUP]},
            }
        )
        names.append(APPROVAL_ROLE)
    for n in range(1, people + 1):
        data["users"].append(
            {
                "handle": talker(n),
                "id": f"00000000-0000-4000-d000-{n:012d}",
                "display_name": f"Talker {n:03d}",
            }
        )
        for name in names:
            data["eligibilities"].append({"user": talker(n), "role": name})
    for n in range(eligible):
        handle = f"silent{n:06d}"
        data["users"].append(
            {
                "handle": handle,
                "id": f"00000000-0000-4000-a000-{n:012d}",
                "display_name": f"Silent {n:06d}",
            }
        )
        data["eligibilities"].append({"user": handle, "role": SILENT_ROLES[n % len(SILENT_ROLES)]})
    return DemoTenant.model_validate(data)


def seeds(
    twin_tenant: DemoTenant, people: int, open_requests: int, approvers: int = 0
) -> list[Seeded]:
    """Two requests of each talker waiting for Megan and Nestor (with `approvers`: for
    APPROVAL_ROLE, waiting for the group's `approvers` members, Megan first), and bulk ones."""
    tenant_id = twin_tenant.tenant_id
    spec = twin_tenant.role(APPROVAL_ROLE if approvers else APPROVED_ROLE)
    role = Role(id=spec.id, display_name=spec.display_name, description=spec.description)
    megan, nestor = twin_tenant.user("megan").id, twin_tenant.user("nestor").id
    waiting_for = (megan, nestor)
    if approvers:
        waiting_for = (
            megan,
            *(twin_tenant.user(approver_handle(n)).id for n in range(1, approvers)),
        )
    seeded = []
    for n in range(1, people + 1):
        user = twin_tenant.user(talker(n))
        person = Person(id=user.id, tenant_id=tenant_id, display_name=user.display_name)
        for k in range(2):
            seeded.append(
                Seeded(
                    f"talk-{n:03d}-{k}",
                    person,
                    role,
                    RequestState.PENDING_APPROVAL,
                    approver_ids=waiting_for,
                )
            )
    for n in range(max(0, open_requests - len(seeded))):
        person = Person(
            id=f"00000000-0000-4000-e000-{n:012d}", tenant_id=tenant_id, display_name=f"N{n}"
        )
        approvers = (f"00000000-0000-4000-f000-{n % 997:012d}",)
        seeded.append(
            Seeded(
                f"bulk-{n:06d}", person, role, RequestState.PENDING_APPROVAL, approver_ids=approvers
            )
        )
    return seeded


def timeout_jobs(seeded: list[Seeded], due: Any) -> list[dict[str, Any]]:
    kind = str(JobKind.APPROVAL_TIMEOUT)
    return [
        {
            "kind": kind,
            "payload": {"request_id": s.id},
            "due_at": due,
            "attempts": 0,
            "dedupe_key": f"{kind}:{s.id}",
            "status": JobStatus.PENDING.value,
            "last_error": "",
            "finished_at": None,
        }
        for s in seeded
    ]


async def drive(
    c: Cluster, people: int, seconds: float, concurrency: int, form: str | None = None
) -> dict[str, list[float]]:
    """Turns for `seconds`: each talker's `pending` and `roles` (and `form`, the activation
    form's request, when given) in turn, and Megan's `pending` every fifth turn; the time of
    each turn by what was said."""
    texts = ("pending", "roles", form) if form else ("pending", "roles")
    mix = [(talker(n), text) for text in texts for n in range(1, people + 1)]
    turns = itertools.cycle(
        [
            turn
            for n, turn in enumerate(mix)
            for turn in ([turn, ("megan", "pending")] if n % 4 == 0 else [turn])
        ]
    )
    times: dict[str, list[float]] = {text: [] for text in texts} | {"megan pending": []}
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds

    async def worker() -> None:
        while loop.time() < end:
            handle, text = next(turns)
            started = time.perf_counter()
            answer = await c.client.say(handle, text)
            took = time.perf_counter() - started
            assert answer["status"] == 200, answer
            times["megan pending" if handle == "megan" else text].append(took)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return times


def figures(times: list[float]) -> str:
    return (
        f"median {statistics.median(times) * 1000:5.0f} ms, "
        f"p99 {percentile(times, 0.99) * 1000:5.0f} ms (n={len(times)})"
    )


async def point(
    args: argparse.Namespace,
    kind: str,
    open_requests: int,
    roles: int,
    approvers: int,
    eligible: int,
) -> None:
    with tempfile.TemporaryDirectory(prefix="pimbot-growth-") as tmp:
        workdir = Path(tmp)
        twin_tenant = tenant(args.people, roles, approvers, eligible)
        form = f"activate {APPROVAL_ROLE}" if approvers else None
        async with (
            fresh_database(kind, workdir) as url,
            cluster(workdir, database_url=url, tenant=twin_tenant) as c,
        ):
            await install_all(c, [talker(n) for n in range(1, args.people + 1)] + ["megan"])
            await c.settled()
            seeded = seeds(twin_tenant, args.people, open_requests, approvers)
            started = time.perf_counter()
            await seed_requests(c.db, twin_tenant.tenant_id, c.clock(), seeded)
            await seed_jobs(c.db, timeout_jobs(seeded, c.clock() + timedelta(days=1)))
            seeding = time.perf_counter() - started
            await drive(c, args.people, 3.0, args.concurrency, form)  # warm the caches
            cpu_before = bots_cpu_seconds(c)
            times = await drive(c, args.people, args.seconds, args.concurrency, form)
            cpu = bots_cpu_seconds(c) - cpu_before
            everything = [t for kind in times.values() for t in kind]
            print(
                f"{kind}: {open_requests:>7,} open requests ({seeding:.0f} s to seed), "
                f"{roles:>3} eligible roles each, "
                + (f"{approvers} approvers in one group, " if approvers else "")
                + (f"{eligible:,} more eligible assignments in the tenant, " if eligible else "")
                + f"concurrency {args.concurrency}: "
                f"{len(everything) / args.seconds:6.1f} turns/s, all turns {figures(everything)}, "
                f"pimbot CPU {cpu / max(len(everything), 1) * 1000:.1f} ms/turn; "
                f"{load_average()}",
                flush=True,
            )
            for name, kind_times in times.items():
                print(f"    {name:>13}: {figures(kind_times)}")
            print(f"    {memory_line(c)}", flush=True)


async def main(args: argparse.Namespace) -> None:
    clean_up_on_sigterm()
    for kind in args.db:
        for open_requests in args.open:
            for roles in args.roles:
                for approvers in args.approvers:
                    for eligible in args.eligible:
                        await point(args, kind, open_requests, roles, approvers, eligible)


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--open", type=int, nargs="+", default=[100, 10_000, 100_000])
    parser.add_argument("--roles", type=int, nargs="+", default=[3])
    parser.add_argument(
        "--approvers",
        type=int,
        nargs="+",
        default=[0],
        help="members of the group approving the talkers' role (0: Megan and Nestor by name)",
    )
    parser.add_argument(
        "--eligible",
        type=int,
        nargs="+",
        default=[0],
        help="eligible assignments added to the tenant, held by people who do not talk",
    )
    parser.add_argument("--people", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--db", nargs="+", default=["postgresql"])
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
    sys.exit(0)
