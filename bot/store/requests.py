"""RequestStore: activation requests and their approvers; every state change is conditional."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import ColumnElement, Row, Select, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain import (
    OPEN_STATES,
    TRANSITIONS,
    ActivationRequest,
    Person,
    RequestKind,
    RequestState,
    Role,
    Ticket,
)
from bot.store.dialect import upsert_insert
from bot.store.errors import RequestNotFound
from bot.store.schema import request_approvers, requests
from bot.store.types import as_utc

# Fields the store itself manages; `transition` and `update` refuse them in `changes`.
_MANAGED_FIELDS = frozenset({"id", "state", "version", "updated_at"})


class RequestStore:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def insert(self, req: ActivationRequest) -> bool:
        """Insert a new request; False (and nothing written) when its id exists already, so two
        racing submissions of one card make one request."""
        statement = (
            upsert_insert(self._connection, requests)
            .values(_encode_request(req))
            .on_conflict_do_nothing(index_elements=[requests.c.id])
            .returning(requests.c.id)
        )
        if (await self._connection.execute(statement)).first() is None:
            return False
        await self._write_approvers(req.id, req.approver_ids)
        return True

    async def get(self, request_id: str) -> ActivationRequest | None:
        found = await self._fetch(_select().where(requests.c.id == request_id))
        return found[0] if found else None

    async def version(self, request_id: str, *, hold: bool = False) -> int | None:
        """The request's version (None when there is no such request), one column of one row.
        `hold` keeps the row from changing until the transaction ends (PostgreSQL `FOR SHARE`;
        SQLite's one writer already does), so what the transaction writes next is in place
        before any later change of the request commits."""
        statement = select(requests.c.version).where(requests.c.id == request_id)
        if hold:
            statement = statement.with_for_update(read=True)
        value: int | None = (await self._connection.execute(statement)).scalar_one_or_none()
        return value

    async def transition(
        self,
        request_id: str,
        *,
        from_states: Collection[RequestState],
        to: RequestState,
        now: datetime,
        **changes: Any,
    ) -> ActivationRequest | None:
        """Move the request to `to` if it is still in one of `from_states`, with `changes`.

        One conditional UPDATE, so of two racing deciders exactly one wins; the loser gets None
        and should re-read the request to tell the person what happened instead.
        """
        _check_transition(from_states, to)
        values = _encode_changes(changes)
        statement = (
            update(requests)
            .where(
                requests.c.id == request_id,
                requests.c.state.in_([str(state.value) for state in from_states]),
            )
            .values(
                **values,
                state=str(to.value),
                updated_at=as_utc(now),
                version=requests.c.version + 1,
            )
            .returning(*requests.c)
        )
        row = (await self._connection.execute(statement)).first()
        if row is None:
            return None
        return await self._after_update(row, changes)

    async def update(self, request_id: str, *, now: datetime, **changes: Any) -> ActivationRequest:
        """Change fields without changing the state (e.g. `mfa_verified_at`)."""
        values = _encode_changes(changes)
        statement = (
            update(requests)
            .where(requests.c.id == request_id)
            .values(**values, updated_at=as_utc(now), version=requests.c.version + 1)
            .returning(*requests.c)
        )
        row = (await self._connection.execute(statement)).first()
        if row is None:
            raise RequestNotFound(request_id)
        return await self._after_update(row, changes)

    async def open_for_requester(self, person_id: str) -> list[ActivationRequest]:
        return await self._fetch(
            _newest_first(
                _select().where(
                    requests.c.requester_id == person_id,
                    requests.c.state.in_(_values(OPEN_STATES)),
                )
            )
        )

    async def open_for_role(self, person_id: str, role_id: str) -> ActivationRequest | None:
        found = await self._fetch(
            _newest_first(
                _select().where(
                    requests.c.requester_id == person_id,
                    requests.c.role_id == role_id,
                    requests.c.state.in_(_values(OPEN_STATES)),
                )
            ).limit(1)
        )
        return found[0] if found else None

    async def pending_for_approver(
        self, person_id: str, *, limit: int | None = None
    ) -> list[ActivationRequest]:
        """Requests waiting for the person's decision, newest first; the newest `limit` only,
        when given (a list for people to read need not load every one of thousands)."""
        statement = _newest_first(_select().where(*_pending_for(person_id)))
        return await self._fetch(statement if limit is None else statement.limit(limit))

    async def count_pending_for_approver(self, person_id: str) -> int:
        count: int = (
            await self._connection.execute(
                select(func.count()).select_from(requests).where(*_pending_for(person_id))
            )
        ).scalar_one()
        return count

    async def active_for(self, person_id: str, role_id: str) -> ActivationRequest | None:
        found = await self._fetch(
            _newest_first(_select().where(*_active(person_id, role_id))).limit(1)
        )
        return found[0] if found else None

    async def all_active_for(self, person_id: str, role_id: str) -> list[ActivationRequest]:
        """Every active request of the person for the role, newest first: for a moment, an
        extension and the activation it extends."""
        return await self._fetch(_newest_first(_select().where(*_active(person_id, role_id))))

    async def newest_extension(self, request: ActivationRequest) -> ActivationRequest | None:
        """The newest extension of the same person's role that became active after `request`
        was made (the one that took over from it), if any."""
        found = await self._fetch(
            _newest_first(
                _select().where(
                    requests.c.requester_id == request.requester.id,
                    requests.c.role_id == request.role.id,
                    requests.c.kind == RequestKind.EXTEND.value,
                    requests.c.state.in_(_values([RequestState.ACTIVE, RequestState.ENDED])),
                    requests.c.created_at > request.created_at,
                )
            ).limit(1)
        )
        return found[0] if found else None

    async def list_in_states(self, states: Collection[RequestState]) -> list[ActivationRequest]:
        return await self._fetch(
            _newest_first(_select().where(requests.c.state.in_(_values(states))))
        )

    async def count_by_state(self) -> dict[RequestState, int]:
        """How many requests are in each state (states without any are left out); for metrics."""
        rows = await self._connection.execute(
            select(requests.c.state, func.count()).group_by(requests.c.state)
        )
        return {RequestState(state): int(count) for state, count in rows}

    async def count_decisions(self) -> dict[str, int]:
        """Decided requests by outcome: `denied`, or `approved` (whatever happened after)."""
        outcome = requests.c.state == RequestState.DENIED.value
        rows = await self._connection.execute(
            select(outcome, func.count())
            .where(requests.c.decided_by_id.is_not(None))
            .group_by(outcome)
        )
        return {("denied" if denied else "approved"): int(count) for denied, count in rows}

    # --- internals ------------------------------------------------------------------------

    async def _after_update(self, row: Row[Any], changes: dict[str, Any]) -> ActivationRequest:
        if "approver_ids" in changes:
            await self._connection.execute(
                delete(request_approvers).where(request_approvers.c.request_id == row.id)
            )
            await self._write_approvers(row.id, _validated("approver_ids", changes["approver_ids"]))
        return (await self._build([row]))[0]

    async def _write_approvers(self, request_id: str, approver_ids: Sequence[str]) -> None:
        unique_ids = list(dict.fromkeys(approver_ids))
        if unique_ids:
            await self._connection.execute(
                insert(request_approvers),
                [
                    {"request_id": request_id, "approver_id": approver_id, "position": position}
                    for position, approver_id in enumerate(unique_ids)
                ],
            )

    async def _fetch(self, statement: Select[Any]) -> list[ActivationRequest]:
        rows = (await self._connection.execute(statement)).all()
        return await self._build(rows)

    async def _build(self, rows: Sequence[Row[Any]]) -> list[ActivationRequest]:
        if not rows:
            return []
        approvers: dict[str, list[str]] = {row.id: [] for row in rows}
        approver_rows = await self._connection.execute(
            select(request_approvers.c.request_id, request_approvers.c.approver_id)
            .where(request_approvers.c.request_id.in_(list(approvers)))
            .order_by(request_approvers.c.request_id, request_approvers.c.position)
        )
        for request_id, approver_id in approver_rows:
            approvers[request_id].append(approver_id)
        return [_decode_request(row, approvers[row.id]) for row in rows]


def _select() -> Select[Any]:
    return select(requests)


def _active(person_id: str, role_id: str) -> tuple[ColumnElement[bool], ...]:
    return (
        requests.c.requester_id == person_id,
        requests.c.role_id == role_id,
        requests.c.state == RequestState.ACTIVE.value,
    )


def _pending_for(person_id: str) -> tuple[ColumnElement[bool], ...]:
    waiting_for_person = select(request_approvers.c.request_id).where(
        request_approvers.c.approver_id == person_id
    )
    return (
        requests.c.state == RequestState.PENDING_APPROVAL.value,
        requests.c.id.in_(waiting_for_person),
    )


def _newest_first(statement: Select[Any]) -> Select[Any]:
    return statement.order_by(requests.c.created_at.desc(), requests.c.id.desc())


def _values(states: Iterable[RequestState]) -> list[str]:
    return sorted(str(state.value) for state in states)


def _check_transition(from_states: Collection[RequestState], to: RequestState) -> None:
    if not from_states:
        raise ValueError("transition needs at least one state to move from")
    illegal = sorted(str(s.value) for s in from_states if to not in TRANSITIONS[RequestState(s)])
    if illegal:
        raise ValueError(f"transition {', '.join(illegal)} -> {to.value} is not allowed")


# --- mapping between ActivationRequest and the `requests` row -----------------------------


def _person_columns(prefix: str, person: Person | None) -> dict[str, Any]:
    return {
        f"{prefix}_id": person.id if person else None,
        f"{prefix}_tenant_id": person.tenant_id if person else None,
        f"{prefix}_display_name": person.display_name if person else None,
        f"{prefix}_upn": person.upn if person else None,
    }


def _role_columns(role: Role) -> dict[str, Any]:
    return {
        "role_id": role.id,
        "role_display_name": role.display_name,
        "role_description": role.description,
    }


def _ticket_columns(ticket: Ticket | None) -> dict[str, Any]:
    return {
        "ticket_number": ticket.number if ticket else None,
        "ticket_system": ticket.system if ticket else None,
    }


def _enum_value(field: str) -> Callable[[Any], dict[str, Any]]:
    return lambda value: {field: str(value.value)}


def _renamed(column: str) -> Callable[[Any], dict[str, Any]]:
    return lambda value: {column: value}


# Fields stored under another name or spread over several columns; the rest map one to one.
_ENCODERS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "requester": lambda person: _person_columns("requester", person),
    "decided_by": lambda person: _person_columns("decided_by", person),
    "role": _role_columns,
    "ticket": _ticket_columns,
    "kind": _enum_value("kind"),
    "state": _enum_value("state"),
    "start": _renamed("start_at"),
    "end": _renamed("end_at"),
    "approver_ids": lambda _ids: {},  # a table of its own
}


def _encode_field(name: str, value: Any) -> dict[str, Any]:
    encoder = _ENCODERS.get(name)
    return encoder(value) if encoder else {name: value}


def _encode_request(req: ActivationRequest) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    for name in ActivationRequest.model_fields:
        columns.update(_encode_field(name, getattr(req, name)))
    return columns


@cache
def _adapter(field: str) -> TypeAdapter[Any]:
    annotation = ActivationRequest.model_fields[field].annotation
    assert annotation is not None
    return TypeAdapter(annotation)


def _validated(field: str, value: Any) -> Any:
    return _adapter(field).validate_python(value)


def _encode_changes(changes: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(changes) - set(ActivationRequest.model_fields))
    if unknown:
        raise ValueError(f"ActivationRequest has no field(s) {', '.join(unknown)}")
    managed = sorted(set(changes) & _MANAGED_FIELDS)
    if managed:
        raise ValueError(f"the store manages {', '.join(managed)}; do not pass it in changes")
    columns: dict[str, Any] = {}
    for name, value in changes.items():
        columns.update(_encode_field(name, _validated(name, value)))
    return columns


def _decode_request(row: Row[Any], approver_ids: list[str]) -> ActivationRequest:
    decided_by = (
        Person(
            id=row.decided_by_id,
            tenant_id=row.decided_by_tenant_id,
            display_name=row.decided_by_display_name,
            upn=row.decided_by_upn,
        )
        if row.decided_by_id is not None
        else None
    )
    ticket = (
        Ticket(number=row.ticket_number, system=row.ticket_system or "")
        if row.ticket_number is not None
        else None
    )
    return ActivationRequest(
        id=row.id,
        tenant_id=row.tenant_id,
        requester=Person(
            id=row.requester_id,
            tenant_id=row.requester_tenant_id,
            display_name=row.requester_display_name,
            upn=row.requester_upn,
        ),
        role=Role(
            id=row.role_id, display_name=row.role_display_name, description=row.role_description
        ),
        kind=RequestKind(row.kind),
        duration=row.duration,
        justification=row.justification,
        ticket=ticket,
        state=RequestState(row.state),
        approver_ids=tuple(approver_ids),
        require_mfa=bool(row.require_mfa),
        mfa_verified_at=row.mfa_verified_at,
        decided_by=decided_by,
        decided_at=row.decided_at,
        decision_reason=row.decision_reason,
        graph_request_id=row.graph_request_id,
        start=row.start_at,
        end=row.end_at,
        failure=row.failure,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )
