"""Expiry at scale: a job table of 100,000 scheduled expiry warnings and end checks, two pimbot
replicas (real `pimbot serve` processes with the shared clock) running them, and how late each
notice reaches the person in Teams; with the claim's time and plan at that size and each
replica's memory.

    .venv/bin/python -m bench.expiry_scale [--scheduled 100000] [--fire 1000] [--window 120]
        [--warning-minutes 15] [--replicas 2] [--open 10000] [--db postgresql] [--old-index]
        [--claims-only]

The schedule is compressed with the twins' clock: the database gets `--scheduled` pending expiry
jobs (Core inserts, like `bot.workflow.outbox.expiry` writes them). `--fire` of them fall due
evenly within `--window` seconds (half warnings of activations ending `--warning-minutes` (15)
later, which the Graph twin lists as active with that end; half end checks of activations that
just ended); a warned activation's own end check comes after that, and falls within the run if the
window is longer than the warning (then more notices go out than are measured);
the rest fall due in the 24 hours after. `--open` more requests wait for approval (they hold no
jobs). Once seeded, the shared clock jumps to just before the window, and the window plays out in
real time. A notice's lateness is when the Teams twin accepted it (the message job's finish,
committed right after the connector answered) minus when its expiry job fell due.

`--old-index` puts back the index the jobs table had before migration 0006 (status, due_at), to
measure the claim as it was; `--claims-only` seeds a database and measures the claim without
starting pimbot.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import insert, select, text

from bench.scale_seed import (
    Seeded,
    analyze,
    cpu_seconds,
    expiry_job,
    load_average,
    memory_megabytes,
    seed_jobs,
    seed_requests,
)
from bench.stage import BotProcess, clean_up_on_sigterm, fresh_database
from bot.domain import Person, RequestState, Role
from bot.sandbox.cluster import Cluster, cluster
from bot.sandbox.cluster.clock import SharedClock
from bot.sandbox.cluster.cluster import bot_env
from bot.sandbox.cluster.replica_router import ReplicaRouter
from bot.sandbox.teams.client import SandboxClient
from bot.sandbox.tenant import DEFAULT_TENANT_PATH, DemoTenant
from bot.sandbox.twins import Twins
from bot.scheduler import BATCH
from bot.store import Database
from bot.store.jobs import JobStatus, claimable
from bot.store.schema import jobs
from bot.workflow.outbox import EXPIRY_CHECK_GRACE, JobKind

WARNED_ROLE = "User Administrator"
ENDED_ROLE = "Exchange Administrator"
BULK_ROLE = "Security Reader"
LEAD = timedelta(seconds=5)  # the clock lands this long before the window opens
SETTLE_SECONDS = 180.0
TIE = 50_000  # pending jobs due at one instant, for the claim with ties (rolled back)


def person_handle(n: int) -> str:
    return f"exp{n:04d}"


def warned_role(k: int) -> tuple[str, str]:
    """(id, name) of the k-th role a person holds until a warning is due: User Administrator,
    then made-up roles (default policy) for people who hold several at once."""
    if k == 0:
        return "", WARNED_ROLE
    return f"e1a5e000-0000-4000-8000-{k:012d}", f"Expiry Role {k:04d}"


def tenant(people: int, warned_ends: list[datetime]) -> DemoTenant:
    """The demo tenant plus `people` users; the n-th warned activation (0-based) belongs to user
    n % people + 1, who holds role `warned_role(n // people)` until warned_ends[n] (what the
    Graph twin reports as the activation's end)."""
    data = yaml.safe_load(DEFAULT_TENANT_PATH.read_text(encoding="utf-8"))
    layers = -(-len(warned_ends) // max(1, people))
    for k in range(1, layers):
        role_id, name = warned_role(k)
        data["roles"].append({"id": role_id, "display_name": name, "description": name})
    for n in range(1, people + 1):
        handle = person_handle(n)
        data["users"].append(
            {
                "handle": handle,
                "id": f"00000000-0000-4000-a000-{n:012d}",
                "display_name": f"Expiry Person {n:04d}",
                "timezone": "Europe/London",
            }
        )
        for role in (ENDED_ROLE, BULK_ROLE):
            data["eligibilities"].append({"user": handle, "role": role})
        for k in range(layers if n <= len(warned_ends) else 0):
            data["eligibilities"].append({"user": handle, "role": warned_role(k)[1]})
    for n, end in enumerate(warned_ends):
        handle = person_handle(n % people + 1)
        data["assignments"].append(
            {"user": handle, "role": warned_role(n // people)[1], "end": end}
        )
    return DemoTenant.model_validate(data)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def spread(values: Sequence[float], unit: str = "s", scale: float = 1.0) -> str:
    if not values:
        return "none"
    v = [x * scale for x in values]
    return (
        f"median {statistics.median(v):.2f} {unit}, p99 {percentile(v, 0.99):.2f} {unit}, "
        f"max {max(v):.2f} {unit} (n={len(v)})"
    )


# Share of a day's expiry notices falling due in each hour (UTC-like office day): activations
# start when people ask for them during working hours and last 1 to 8 hours, so ends follow the
# working day with a late-morning and an early-afternoon hump. The busiest hour holds 11 % of
# the day, 2.6 times the average hour.
DAY_SHAPE = (
    0.5, 0.5, 0.5, 0.5, 0.5, 1.0, 2.0, 4.0, 7.0, 10.0, 11.0, 10.0,
    7.5, 9.0, 10.0, 9.0, 7.0, 4.5, 2.5, 1.5, 1.0, 0.5, 0.5, 0.5,
)  # fmt: skip


def due_offsets(fire: int, window: float, shape: str, seed: int = 13) -> list[float]:
    """When each of `fire` notices falls due, in seconds into the window: `even` spaces them
    evenly; `day` draws them at random (a Poisson-like stream, fixed seed) with the density of
    DAY_SHAPE, the 24 hours compressed into `window` seconds."""
    if shape == "even":
        step = window / max(1, fire)
        return [step * n for n in range(fire)]
    rng = random.Random(seed)
    hour = window / len(DAY_SHAPE)
    offsets = [
        (h + rng.random()) * hour
        for h in rng.choices(range(len(DAY_SHAPE)), weights=DAY_SHAPE, k=fire)
    ]
    return sorted(offsets)


class Plan:
    """Who fires when: the schedule of the run, in the clock's time."""

    def __init__(self, args: argparse.Namespace, base: datetime) -> None:
        self.base = base
        offsets = due_offsets(args.fire, args.window, args.shape)
        # Warnings and end checks interleaved through the window.
        self.warn_due = [base + timedelta(seconds=o) for o in offsets[0::2]]
        self.end_due = [base + timedelta(seconds=o) for o in offsets[1::2]]
        self.warned = len(self.warn_due)
        self.ended = len(self.end_due)
        self.warning = timedelta(minutes=args.warning_minutes)
        self.warned_ends = [due + self.warning for due in self.warn_due]
        self.people = max(1, min(args.people, max(self.warned, self.ended)))
        self.bulk = max(0, (args.scheduled - self.warned * 2 - self.ended) // 2)
        self.window_end = base + timedelta(seconds=args.window)


def seeds(
    plan: Plan, twin_tenant: DemoTenant, open_requests: int
) -> tuple[list[Seeded], list[dict[str, Any]], dict[str, datetime]]:
    """The requests, their expiry jobs, and when each fired request's job falls due."""
    tenant_id = twin_tenant.tenant_id

    def person(n: int) -> Person:
        user = twin_tenant.user(person_handle(n))
        return Person(id=user.id, tenant_id=tenant_id, display_name=user.display_name)

    def role(name: str) -> Role:
        spec = twin_tenant.role(name)
        return Role(id=spec.id, display_name=spec.display_name, description=spec.description)

    requests: list[Seeded] = []
    rows: list[dict[str, Any]] = []
    due: dict[str, datetime] = {}
    warning, check = str(JobKind.EXPIRY_WARNING), str(JobKind.EXPIRY_CHECK)
    for n, (when, end) in enumerate(zip(plan.warn_due, plan.warned_ends, strict=True)):
        rid = f"warn-{n:06d}"
        held = role(warned_role(n // plan.people)[1])
        requests.append(Seeded(rid, person(n % plan.people + 1), held, RequestState.ACTIVE, end))
        rows.append(expiry_job(warning, rid, end, when))
        rows.append(expiry_job(check, rid, end, end + EXPIRY_CHECK_GRACE))
        due[rid] = when
    for n, when in enumerate(plan.end_due):
        rid, end = f"end-{n:06d}", when - EXPIRY_CHECK_GRACE
        requests.append(
            Seeded(rid, person(n % plan.people + 1), role(ENDED_ROLE), RequestState.ACTIVE, end)
        )
        rows.append(expiry_job(warning, rid, end, end - plan.warning, done=True))
        rows.append(expiry_job(check, rid, end, when))
        due[rid] = when
    later = plan.window_end + timedelta(hours=1)
    for n in range(plan.bulk):
        rid, end = f"bulk-{n:06d}", later + timedelta(seconds=n * 86400 / max(1, plan.bulk))
        requests.append(
            Seeded(rid, person(n % plan.people + 1), role(BULK_ROLE), RequestState.ACTIVE, end)
        )
        rows.append(expiry_job(warning, rid, end, end - plan.warning))
        rows.append(expiry_job(check, rid, end, end + EXPIRY_CHECK_GRACE))
    approvers = (twin_tenant.user("megan").id, twin_tenant.user("nestor").id)
    for n in range(open_requests):
        requests.append(
            Seeded(
                f"open-{n:06d}",
                person(n % plan.people + 1),
                role(BULK_ROLE),
                RequestState.PENDING_APPROVAL,
                approver_ids=approvers,
            )
        )
    return requests, rows, due


async def claim_figures(db: Database, now: datetime, rounds: int = 30) -> list[str]:
    """The claim's SELECT (FOR UPDATE SKIP LOCKED, as `claim_due` runs it) timed in transactions
    that are rolled back, at `now` and with TIE more jobs due at one instant; and its plan."""
    lines = []
    for label, tie in (("as seeded", 0), (f"+{TIE:,} jobs due at one instant", TIE)):
        async with db.engine.connect() as connection:
            transaction = await connection.begin()
            if tie:
                first = now - timedelta(minutes=1)
                tied = [expiry_job("tie", f"tie-{n}", first, first) for n in range(tie)]
                for start in range(0, tie, 2000):
                    await connection.execute(insert(jobs), tied[start : start + 2000])
            times = []
            for _ in range(rounds):
                nested = await connection.begin_nested()
                started = time.perf_counter()
                await connection.execute(claimable(now, BATCH))
                times.append(time.perf_counter() - started)
                await nested.rollback()
            inside = []
            for _ in range(rounds):
                nested = await connection.begin_nested()
                plan = await explain(connection, now)
                inside.extend(
                    float(line.split()[-2]) / 1000
                    for line in plan.splitlines()
                    if "Execution Time" in line
                )
                await nested.rollback()
            await transaction.rollback()
        database = f"; inside the database {spread(inside, 'ms', 1000)}" if inside else ""
        lines.append(
            f"claim of {BATCH} ({label}): from the client {spread(times, 'ms', 1000)}{database}; "
            f"{load_average()}\n{plan}"
        )
    return lines


async def explain(connection: Any, now: datetime) -> str:
    query = claimable(now, BATCH).compile(
        dialect=connection.dialect, compile_kwargs={"literal_binds": True}
    )
    prefix = "EXPLAIN ANALYZE" if connection.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN"
    rows = (await connection.execute(text(f"{prefix} {query}"))).all()
    return "\n".join("    " + " ".join(str(c) for c in row) for row in rows)


async def old_index(db: Database) -> None:
    async with db.engine.begin() as connection:
        await connection.execute(text("CREATE INDEX ix_jobs_status_due ON jobs (status, due_at)"))
        await connection.execute(text("DROP INDEX ix_jobs_status_due_id"))


async def sent_at(db: Database, request_ids: set[str], since: datetime) -> dict[str, datetime]:
    """When the message job about each request finished (the notice accepted by Teams)."""
    async with db.engine.connect() as connection:
        rows = await connection.execute(
            select(jobs.c.payload, jobs.c.finished_at).where(
                jobs.c.kind == str(JobKind.MESSAGE),
                jobs.c.status == JobStatus.DONE.value,
                jobs.c.finished_at >= since,
            )
        )
        found: dict[str, datetime] = {}
        for payload, finished in rows:
            rid = payload.get("request_id")
            if rid in request_ids and (rid not in found or finished < found[rid]):
                found[rid] = finished
    return found


async def waits(db: Database) -> dict[str, int]:
    """What the bench database's busy sessions wait for right now (PostgreSQL)."""
    async with db.engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT coalesce(wait_event_type || ':' || wait_event, 'running'), count(*) "
                "FROM pg_stat_activity WHERE datname = current_database() "
                "AND state NOT IN ('idle') AND pid <> pg_backend_pid() GROUP BY 1"
            )
        )
        return {str(wait): int(count) for wait, count in rows}


class CollectorPauses:
    """How long this process's garbage collector stopped it (the twins run here): a full
    collection walks every object the twins hold, and the Teams twin keeps every message it
    carried, so unchecked the pauses grow through a long run and delay what the twins answer."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._started = 0.0
        gc.callbacks.append(self._note)

    def _note(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif info["generation"] == 2:
            self.pauses.append(time.perf_counter() - self._started)

    def line(self) -> str:
        gc.callbacks.remove(self._note)
        longest = f", the longest {max(self.pauses):.2f} s" if self.pauses else ""
        return f"{len(self.pauses)} full garbage collections in the twins' process{longest}"


def pid_of(bot: Any) -> int:
    assert bot.process is not None
    return int(bot.process.pid)


def memory_line(c: Cluster) -> str:
    parts = []
    for bot in c.bots:
        assert bot.process is not None
        rss, peak = memory_megabytes(bot.process.pid)
        parts.append(f"{bot.name} RSS {rss:.0f} MiB (peak {peak:.0f} MiB)")
    return "; ".join(parts)


async def install_all(c: Cluster, handles: list[str], concurrency: int = 8) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(handle: str) -> None:
        async with gate:
            await c.client.install(handle)

    await asyncio.gather(*(one(h) for h in handles))


@asynccontextmanager
async def profiled_cluster(
    workdir: Path, *, database_url: str, replicas: int, tenant: DemoTenant, profile: Path
) -> AsyncIterator[Cluster]:
    """`cluster()` with each replica running under pyinstrument, its session written to
    `profile`/pimbot-N.pyisession when the replica stops (`pyinstrument --load FILE` reads it)."""
    clock = SharedClock(workdir / "clock")
    router = ReplicaRouter([])
    twins = Twins(tenant, bot_url=await router.start(), now=clock)
    twins.start()
    bots: list[BotProcess] = []
    db: Database | None = None
    try:
        settings = bot_env(twins, database_url=database_url, clock_file=clock.path)
        for n in range(replicas):
            name = f"pimbot-{n}"
            command = [
                sys.executable,
                "-m",
                "pyinstrument",
                "--renderer",
                "session",
                "--outfile",
                str(profile / f"{name}.pyisession"),
                "-m",
                "bot.sandbox.cluster.serve_clocked",
            ]
            bot = BotProcess(name, command, settings, workdir)
            await bot.start()  # one at a time: the first one migrates the database
            bots.append(bot)
            router.backends.append(f"http://127.0.0.1:{bot.port}")
        db = await Database.connect(database_url)
        async with SandboxClient(twins.service_url) as client:
            yield Cluster(twins, clock, router, bots, client, db)  # type: ignore[arg-type]
    finally:
        for bot in bots:
            await bot.stop()
        if db is not None:
            await db.close()
        await router.close()
        twins.stop()


async def claims_only(args: argparse.Namespace, workdir: Path) -> None:
    """The same seeding into a database migrated here, the claim figures, and nothing run."""
    base = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    plan = Plan(args, base)
    twin_tenant = tenant(plan.people, plan.warned_ends)
    async with fresh_database(args.db, workdir) as url:
        db = await Database.connect(url)
        try:
            await db.migrate()
            requests, rows, _ = seeds(plan, twin_tenant, args.open)
            await seed_requests(db, twin_tenant.tenant_id, base, requests)
            await seed_jobs(db, rows)
            if args.old_index:
                await old_index(db)
            await analyze(db)
            pending = sum(r["status"] == JobStatus.PENDING.value for r in rows)
            print(
                f"{args.db}: {len(requests):,} requests, {pending:,} pending expiry jobs; index: "
                f"{'(status, due_at) as before 0006' if args.old_index else '(status, due_at, id)'}"
            )
            for line in await claim_figures(db, base + timedelta(seconds=args.window / 2)):
                print(line, flush=True)
        finally:
            await db.close()


async def run(args: argparse.Namespace, workdir: Path) -> None:
    base = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    plan = Plan(args, base)
    twin_tenant = tenant(plan.people, plan.warned_ends)
    async with (
        fresh_database(args.db, workdir) as url,
        (
            cluster(
                workdir,
                database_url=url,
                replicas=args.replicas,
                tenant=twin_tenant,
                env={
                    "PIMBOT_SCHEDULER_CONCURRENCY": str(args.concurrency),
                    "PIMBOT_EXPIRY_WARNING_MINUTES": str(args.warning_minutes),
                },
            )
            if args.profile is None
            else profiled_cluster(
                workdir,
                database_url=url,
                replicas=args.replicas,
                tenant=twin_tenant,
                profile=args.profile,
            )
        ) as c,
    ):
        handles = [person_handle(n) for n in range(1, plan.people + 1)]
        started = time.perf_counter()
        await install_all(c, handles)
        await c.settled(within=SETTLE_SECONDS)
        print(f"{len(handles)} people installed the bot in {time.perf_counter() - started:.0f} s")
        print(f"after installs: {memory_line(c)}; {load_average()}", flush=True)

        requests, rows, due = seeds(plan, twin_tenant, args.open)
        started = time.perf_counter()
        await seed_requests(c.db, twin_tenant.tenant_id, c.clock(), requests)
        pending = sum(r["status"] == JobStatus.PENDING.value for r in rows)
        await seed_jobs(c.db, rows)
        if args.old_index:
            await old_index(c.db)
        await analyze(c.db)
        print(
            f"seeded {len(requests):,} requests ({args.open:,} awaiting approval) and "
            f"{pending:,} pending expiry jobs ({len(due):,} due within the {args.window} s "
            f"window) in {time.perf_counter() - started:.0f} s; index: "
            f"{'(status, due_at) as before 0006' if args.old_index else '(status, due_at, id)'}"
        )
        for line in await claim_figures(c.db, base + timedelta(seconds=args.window / 2)):
            print(line)
        print(f"seeded, before the window: {memory_line(c)}; {load_average()}", flush=True)

        if args.graph_latency:
            c.twins.graph.delay(args.graph_latency, 10**9)
        c.clock.advance(base - LEAD - c.clock())
        offset = c.clock() - datetime.now(UTC)
        cpu_before = [cpu_seconds(pid_of(bot)) for bot in c.bots] + [cpu_seconds(os.getpid())]
        wall_started = time.perf_counter()
        wall_since = datetime.now(UTC) - timedelta(seconds=1)
        loads: list[float] = []
        waited: dict[str, int] = {}
        peak_memory = ""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + args.window + LEAD.total_seconds() + SETTLE_SECONDS
        found: dict[str, datetime] = {}
        collector = CollectorPauses()
        while loop.time() < deadline:
            await asyncio.sleep(1.0)
            # What the twins hold stays out of the collector's walk (they stand in for Microsoft's
            # services, whose pauses are not pimbot's lateness); pimbot's processes are untouched.
            gc.freeze()
            loads.append(float(load_average().split()[1].split("/")[0]))
            if args.db == "postgresql":
                for wait, count in (await waits(c.db)).items():
                    waited[wait] = waited.get(wait, 0) + count
            peak_memory = memory_line(c)
            if c.clock() > plan.window_end:
                found = await sent_at(c.db, set(due), wall_since)
                if len(found) == len(due):
                    break
        cpu = [
            after - before
            for after, before in zip(
                [cpu_seconds(pid_of(bot)) for bot in c.bots] + [cpu_seconds(os.getpid())],
                cpu_before,
                strict=True,
            )
        ]
        wall = time.perf_counter() - wall_started
        late = [(found[rid] + offset - due[rid]).total_seconds() for rid in found]
        warned = [late_s for rid, late_s in zip(found, late, strict=True) if rid[0] == "w"]
        ended = [late_s for rid, late_s in zip(found, late, strict=True) if rid[0] == "e"]
        over = sum(x > 2.0 for x in late)
        print(
            f"{args.replicas} replicas on {args.db}, {pending:,} scheduled jobs: "
            f"{len(found):,} of {len(due):,} notices sent; lateness: {spread(late)}; "
            f"{over} later than 2 s"
        )
        order = sorted(found, key=lambda rid: due[rid])
        tenth = max(1, len(order) // 10)
        late_of = dict(zip(found, late, strict=True))
        first = [late_of[rid] for rid in order[:tenth]]
        last = [late_of[rid] for rid in order[-tenth:]]
        if found:
            span = (max(found.values()) + offset - min(due.values())).total_seconds()
            print(
                f"  min {min(late):.2f} s; the first tenth due: {spread(first)}; the last tenth: "
                f"{spread(last)}; {len(found) / span:.1f} notices/s from the first due to the "
                f"last sent ({len(due) / args.window:.1f}/s fell due)"
            )
        late_by_minute: dict[int, list[float]] = {}
        for rid, late_s in zip(found, late, strict=True):
            if late_s > 2.0:
                minute = int((due[rid] - plan.base).total_seconds() // 60)
                late_by_minute.setdefault(minute, []).append(late_s)
        if late_by_minute:
            print(
                "  the minutes of the window with notices later than 2 s (minute: how many, the "
                "latest): "
                + ", ".join(
                    f"{m}: {len(v)}, {max(v):.1f} s" for m, v in sorted(late_by_minute.items())
                )
            )
        print(f"  warnings:    {spread(warned)}")
        print(f"  end notices: {spread(ended)}")
        print(
            f"  load during the window: median {statistics.median(loads):.1f}, "
            f"max {max(loads):.1f} (1-minute average, sampled each second)"
        )
        print(
            f"  CPU over the {wall:.0f} s from the clock's jump to the last notice: "
            + ", ".join(f"{bot.name} {t:.0f} s" for bot, t in zip(c.bots, cpu, strict=False))
            + f", twins and bench {cpu[-1]:.0f} s; pimbot CPU per notice "
            f"{1000 * sum(cpu[:-1]) / max(1, len(found)):.0f} ms"
        )
        if waited:
            print(
                "  database sessions seen busy, by wait (sampled each second): "
                + ", ".join(f"{w} {n}" for w, n in sorted(waited.items(), key=lambda i: -i[1]))
            )
        print(f"  at the end: {peak_memory}; {collector.line()}")
        async with c.db.transaction() as tx:
            lag = await tx.jobs.oldest_due_lag(c.clock())
        print(f"  queue lag at the end: {lag}; {load_average()}", flush=True)
        if args.open:
            await pending_turn(c, args.open)


async def pending_turn(c: Cluster, waiting: int) -> None:
    """Megan approves every open request: what her `pending` costs, and the memory after it."""
    await c.client.install("megan")
    await c.settled()
    for n in range(2):
        started = time.perf_counter()
        answer = await c.client.say("megan", "pending")
        took = time.perf_counter() - started
        said = (await c.messages("megan"))[-1]
        print(
            f"  megan's `pending` with {waiting:,} requests waiting for her (turn {n + 1}): "
            f"answered {answer['status']} in {took:.2f} s, reply {len(str(said)):,} characters; "
            f"{memory_line(c)}; {load_average()}",
            flush=True,
        )


async def main(args: argparse.Namespace) -> None:
    clean_up_on_sigterm()
    if args.profile is not None:
        args.profile = args.profile.resolve()
        args.profile.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pimbot-expiry-") as tmp:
        await (claims_only if args.claims_only else run)(args, Path(tmp))


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scheduled", type=int, default=100_000)
    parser.add_argument("--fire", type=int, default=1000)
    parser.add_argument("--window", type=float, default=120.0)
    parser.add_argument("--shape", choices=["even", "day"], default="even")
    parser.add_argument(
        "--graph-latency",
        type=float,
        default=0.0,
        help="seconds the Graph twin holds every request during the window (as Graph's own)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=8, help="PIMBOT_SCHEDULER_CONCURRENCY of each replica"
    )
    parser.add_argument(
        "--people", type=int, default=1000, help="at most this many people hold the activations"
    )
    parser.add_argument(
        "--warning-minutes",
        type=int,
        default=15,
        help="how long before its end an activation is warned (PIMBOT_EXPIRY_WARNING_MINUTES); "
        "longer than the window, no warned activation's own end notice falls within the run",
    )
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--open", type=int, default=10_000)
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--old-index", action="store_true")
    parser.add_argument("--claims-only", action="store_true", help="seed, time claims, stop")
    parser.add_argument(
        "--profile", type=Path, help="run the replicas under pyinstrument; sessions written here"
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
    sys.exit(0)
