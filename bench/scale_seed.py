"""What the scale benchmarks stand on: a fresh database, bulk-seeded requests and jobs (SQLAlchemy
Core inserts, not 100,000 turns through HTTP), and the machine's load and a process's memory.

Rows are copies of one template written through the store itself (`RequestStore.insert`), so a
seeded request reads back exactly like one the bot wrote.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, text

from bot.domain import ActivationRequest, Person, RequestState, Role
from bot.store import Database
from bot.store.jobs import JobStatus
from bot.store.schema import jobs, request_approvers, requests

CHUNK = 2000  # rows per INSERT statement


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages, as printed beside every figure."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.1f}/{five:.1f}/{fifteen:.1f}"


def memory_megabytes(pid: int) -> tuple[float, float]:
    """(resident now, resident peak) of a process, in MiB (Linux /proc VmRSS and VmHWM)."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Seeded:
    """One seeded request: who asked for which role, its state and (when active) its end."""

    id: str
    requester: Person
    role: Role
    state: RequestState
    end: datetime | None = None
    approver_ids: tuple[str, ...] = ()


def template(tenant_id: str, now: datetime) -> ActivationRequest:
    return ActivationRequest(
        id="template",
        tenant_id=tenant_id,
        requester=Person(id="template", tenant_id=tenant_id, display_name="Template"),
        role=Role(id="template", display_name="Template"),
        duration=timedelta(hours=1),
        justification="scale benchmark",
        state=RequestState.ACTIVE,
        created_at=now,
        updated_at=now,
    )


async def template_row(db: Database, tenant_id: str, now: datetime) -> dict[str, Any]:
    """A request row as the store writes it (inserted, read back and deleted)."""
    async with db.transaction() as tx:
        await tx.requests.insert(template(tenant_id, now))
    async with db.engine.begin() as connection:
        row = (await connection.execute(select(requests).where(requests.c.id == "template"))).one()
        await connection.execute(delete(requests).where(requests.c.id == "template"))
    return dict(row._mapping)


def request_rows(base: dict[str, Any], seeded: Iterable[Seeded]) -> Iterator[dict[str, Any]]:
    for s in seeded:
        yield {
            **base,
            "id": s.id,
            "requester_id": s.requester.id,
            "requester_tenant_id": s.requester.tenant_id,
            "requester_display_name": s.requester.display_name,
            "requester_upn": s.requester.upn,
            "role_id": s.role.id,
            "role_display_name": s.role.display_name,
            "role_description": s.role.description,
            "state": s.state.value,
            "start_at": None if s.end is None else s.end - timedelta(hours=1),
            "end_at": s.end,
        }


def expiry_job(
    kind: str, request_id: str, end: datetime, due_at: datetime, *, done: bool = False
) -> dict[str, Any]:
    """An expiry job row as `bot.workflow.outbox.expiry` enqueues it (same payload and key)."""
    stamp = end.isoformat()
    return {
        "kind": kind,
        "payload": {"request_id": request_id, "end": stamp},
        "due_at": due_at,
        "attempts": 1 if done else 0,
        "dedupe_key": f"{kind}:{request_id}:{stamp}",
        "status": JobStatus.DONE.value if done else JobStatus.PENDING.value,
        "last_error": "",
        "finished_at": due_at if done else None,
    }


async def insert_rows(db: Database, table: Any, rows: Iterable[dict[str, Any]]) -> int:
    """Insert in chunks, one transaction per chunk; how many rows went in."""
    count, chunk = 0, []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            count += await _insert(db, table, chunk)
            chunk = []
    if chunk:
        count += await _insert(db, table, chunk)
    return count


async def _insert(db: Database, table: Any, chunk: list[dict[str, Any]]) -> int:
    async with db.engine.begin() as connection:
        await connection.execute(insert(table), chunk)
    return len(chunk)


async def seed_requests(db: Database, tenant_id: str, now: datetime, seeded: list[Seeded]) -> None:
    base = await template_row(db, tenant_id, now)
    await insert_rows(db, requests, request_rows(base, seeded))
    await insert_rows(
        db,
        request_approvers,
        (
            {"request_id": s.id, "approver_id": approver, "position": n}
            for s in seeded
            for n, approver in enumerate(s.approver_ids)
        ),
    )


async def seed_jobs(db: Database, rows: Iterable[dict[str, Any]]) -> int:
    return await insert_rows(db, jobs, rows)


async def analyze(db: Database) -> None:
    """Fresh planner statistics after a bulk load, as autovacuum would gather soon after."""
    async with db.engine.begin() as connection:
        await connection.execute(text("ANALYZE"))
