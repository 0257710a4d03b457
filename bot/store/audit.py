"""AuditLog: an append-only, hash-chained record of every decision and privileged action.

Each entry's hash is `sha256(prev_hash + canonical JSON of the entry)`, the first entry's
`prev_hash` is 64 zeros, and the one-row `audit_head` table holds the newest id and hash. An
edited, deleted or inserted row breaks the chain and `verify()` names the first bad id.

Someone who can rewrite the whole table *and* the head can forge a consistent chain, so the chain is
anchored outside the database: the head's hash is published to the logs and metrics every few
minutes (`bot.audit_anchor`), and `verify(anchor=HASH)` proves that the entry with that hash, and
every entry before it, are exactly as they were when it was published (each hash covers the one
before it, so no earlier entry can change without changing the anchored hash).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any, Literal, TextIO

from pydantic import BaseModel
from sqlalchemy import Row, Select, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.schema import audit_head, audit_log
from bot.store.types import as_utc

GENESIS_HASH = "0" * 64
_HEAD_ID = 1

EXPORT_COLUMNS = (
    "id",
    "at",
    "actor_id",
    "action",
    "outcome",
    "request_id",
    "reason",
    "ticket",
    "graph_request_id",
    "details",
    "prev_hash",
    "hash",
)


class AuditEntry(BaseModel):
    id: int
    at: datetime
    actor_id: str | None
    action: str
    outcome: str
    request_id: str | None
    reason: str
    ticket: str | None
    graph_request_id: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str


class AuditVerification(BaseModel):
    ok: bool
    checked: int  # entries that matched the chain
    first_bad_id: int | None = None
    problem: str = ""
    anchor_id: int | None = None  # the entry whose hash is the anchor, when it was found


class AuditHead(BaseModel):
    """The newest entry: what is published as the anchor."""

    id: int
    hash: str


class AuditLog:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def append(
        self,
        *,
        at: datetime,
        actor_id: str | None,
        action: str,
        outcome: str,
        request_id: str | None = None,
        reason: str = "",
        ticket: str | None = None,
        graph_request_id: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Append one entry. The row lock on `audit_head` (PostgreSQL; SQLite has one writer)
        makes concurrent appends take turns, so the chain never forks."""
        head = (
            await self._connection.execute(
                select(audit_head.c.last_id, audit_head.c.last_hash)
                .where(audit_head.c.id == _HEAD_ID)
                .with_for_update()
            )
        ).one()
        details_json = canonical_json(dict(details or {}))
        fields = {
            "id": head.last_id + 1,
            "at": as_utc(at),
            "actor_id": actor_id,
            "action": action,
            "outcome": outcome,
            "request_id": request_id,
            "reason": reason,
            "ticket": ticket,
            "graph_request_id": graph_request_id,
        }
        entry_hash = chain_hash(head.last_hash, fields, details_json)
        await self._connection.execute(
            insert(audit_log).values(
                **fields, details=details_json, prev_hash=head.last_hash, hash=entry_hash
            )
        )
        await self._connection.execute(
            update(audit_head)
            .where(audit_head.c.id == _HEAD_ID)
            .values(last_id=fields["id"], last_hash=entry_hash)
        )
        return AuditEntry(
            **fields,
            details=json.loads(details_json),
            prev_hash=head.last_hash,
            hash=entry_hash,
        )

    async def head(self) -> AuditHead | None:
        """The newest entry's id and hash (None while the log is empty or the head is gone)."""
        row = (
            await self._connection.execute(
                select(audit_head.c.last_id, audit_head.c.last_hash).where(
                    audit_head.c.id == _HEAD_ID
                )
            )
        ).first()
        if row is None or row.last_id == 0:
            return None
        return AuditHead(id=row.last_id, hash=row.last_hash)

    async def verify(self, anchor: str | None = None) -> AuditVerification:
        """Walk the whole chain (`_verify_chain`); with `anchor`, a hash published earlier, the
        chain must also contain an entry with that hash."""
        result = await self._verify_chain(anchor)
        if anchor is None or not result.ok or result.anchor_id is not None:
            return result
        return AuditVerification(
            ok=False,
            checked=result.checked,
            problem=(
                f"no entry has the anchor hash {anchor}: the log was rewritten up to that entry, "
                "cut off before it, or the anchor comes from another database"
            ),
        )

    async def _verify_chain(self, anchor: str | None) -> AuditVerification:
        """Ids must be consecutive from 1, each `prev_hash` the previous hash, each hash
        recomputable, and the last entry the one `audit_head` names."""
        anchor = anchor.strip().lower() if anchor else None
        anchor_id: int | None = None
        checked = 0
        expected_id = 1
        prev_hash = GENESIS_HASH
        while True:
            async for row in self._stream(_ordered().where(audit_log.c.id >= expected_id)):
                if row.id != expected_id:
                    return _broken(
                        checked,
                        row.id,
                        f"entry {row.id} follows entry {expected_id - 1}: entries are missing"
                        if row.id > expected_id
                        else f"entry {row.id} is out of sequence",
                    )
                if row.prev_hash != prev_hash:
                    return _broken(
                        checked, row.id, f"entry {row.id} does not link to its predecessor"
                    )
                if chain_hash(prev_hash, _hashed_fields(row), row.details) != row.hash:
                    return _broken(checked, row.id, f"entry {row.id} was altered")
                checked += 1
                expected_id += 1
                prev_hash = row.hash
                if anchor is not None and row.hash == anchor:
                    anchor_id = row.id
            # Appends committed while we read are verified on the next turn of the loop.
            head = (
                await self._connection.execute(
                    select(audit_head.c.last_id, audit_head.c.last_hash).where(
                        audit_head.c.id == _HEAD_ID
                    )
                )
            ).first()
            last_id = expected_id - 1
            if head is None:
                return AuditVerification(
                    ok=False,
                    checked=checked,
                    problem=(
                        "the audit head record (table audit_head) is missing, so the end of the "
                        "chain cannot be checked: it was deleted behind pimbot's back"
                    ),
                    anchor_id=anchor_id,
                )
            if head.last_id == last_id:
                if head.last_hash != prev_hash:
                    return _broken(checked, last_id, "the newest entry is not the one recorded")
                return AuditVerification(ok=True, checked=checked, anchor_id=anchor_id)
            if head.last_id < last_id:
                return _broken(checked, head.last_id + 1, "entries after the recorded head")
            if not await self._exists(expected_id):
                return _broken(
                    checked,
                    expected_id,
                    f"entries {expected_id} to {head.last_id} are missing",
                )

    async def entries(
        self, *, since: datetime | None = None, request_id: str | None = None
    ) -> list[AuditEntry]:
        statement = _ordered()
        if since is not None:
            statement = statement.where(audit_log.c.at >= as_utc(since))
        if request_id is not None:
            statement = statement.where(audit_log.c.request_id == request_id)
        rows = await self._connection.execute(statement)
        return [_decode(row) for row in rows]

    async def export(
        self, fmt: Literal["csv", "json"], out: TextIO, since: datetime | None = None
    ) -> int:
        """Write entries (oldest first) for a SIEM: CSV with a header row, or JSON Lines (one
        object per line). JSON values are written as stored, hashes included, so the export can
        be checked against the chain; CSV cells that a spreadsheet would run as a formula get a
        leading `'` (see `spreadsheet_safe`). Returns the number of entries written."""
        if fmt not in ("csv", "json"):
            raise ValueError(f"unknown export format {fmt!r}: use csv or json")
        statement = _ordered()
        if since is not None:
            statement = statement.where(audit_log.c.at >= as_utc(since))
        writer = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
        if writer:
            writer.writerow(EXPORT_COLUMNS)
        count = 0
        async for row in self._stream(statement):
            record = _export_record(row)
            if writer:
                writer.writerow([spreadsheet_safe(record[c]) for c in EXPORT_COLUMNS])
            else:
                record["details"] = json.loads(row.details)
                out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
            count += 1
        return count

    async def _stream(self, statement: Select[Any]) -> AsyncIterator[Row[Any]]:
        result = await self._connection.stream(statement.execution_options(yield_per=500))
        async for row in result:
            yield row

    async def _exists(self, entry_id: int) -> bool:
        found = await self._connection.execute(
            select(audit_log.c.id).where(audit_log.c.id == entry_id)
        )
        return found.first() is not None


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> str:
    """A CSV cell that Excel, LibreOffice and Sheets show as text: reasons, names and tickets
    come from users, and a cell starting with `=`, `+`, `-`, `@` (or a tab or carriage return)
    would otherwise run as a formula when an analyst opens the export (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 as is: the same bytes for the same data, every time."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=str,
    )


def chain_hash(prev_hash: str, fields: Mapping[str, Any], details_json: str) -> str:
    entry = {
        **fields,
        "at": as_utc(fields["at"]).isoformat(timespec="microseconds"),
        "details": json.loads(details_json),
    }
    return hashlib.sha256((prev_hash + canonical_json(entry)).encode("utf-8")).hexdigest()


def _ordered() -> Select[Any]:
    return select(audit_log).order_by(audit_log.c.id)


def _hashed_fields(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": row.at,
        "actor_id": row.actor_id,
        "action": row.action,
        "outcome": row.outcome,
        "request_id": row.request_id,
        "reason": row.reason,
        "ticket": row.ticket,
        "graph_request_id": row.graph_request_id,
    }


def _decode(row: Row[Any]) -> AuditEntry:
    return AuditEntry(
        **_hashed_fields(row),
        details=json.loads(row.details),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def _export_record(row: Row[Any]) -> dict[str, Any]:
    record = {name: getattr(row, name) for name in EXPORT_COLUMNS}
    record["at"] = as_utc(row.at).isoformat(timespec="microseconds")
    return record


def _broken(checked: int, entry_id: int, problem: str) -> AuditVerification:
    return AuditVerification(ok=False, checked=checked, first_bad_id=entry_id, problem=problem)
