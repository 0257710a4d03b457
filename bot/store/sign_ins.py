"""SignInStore: what waits on a person's sign-in, kept in the database.

In the pim engine every write to PIM is made with the acting person's delegated token. When
pimbot has none, it sends a sign-in card and the action (an approver's decision, a cancel, a
deactivation, `pending`) waits for the token exchange that follows. That exchange may reach
another replica, or this one after a restart, so the waiting action lives here, keyed by the
sign-in's exchange id, with the person it belongs to. Tokens are never stored.

An activation's sign-in uses the request id as its exchange id; its row holds PIM's claims
challenge (the one automatic retry after a step-up) and a short lease, so that a token exchange
Teams retries, on any replica, never calls PIM twice at once for one request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import delete, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.dialect import upsert_insert
from bot.store.schema import sign_in_waits

WaitKind = Literal["activate", "decide", "cancel", "deactivate", "pending"]


@dataclass(frozen=True)
class SignInWait:
    """An action that waits for `person_id`'s sign-in."""

    exchange_id: str
    person_id: str
    kind: WaitKind
    target: str = ""  # request id or role id
    verdict: str = ""  # approve | deny, for a decision
    reason: str = ""
    claims: str = ""  # PIM's claims challenge, for an activation's step-up


class SignInStore:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, wait: SignInWait, *, now: datetime, expires_at: datetime) -> None:
        await self._connection.execute(
            sign_in_waits.insert().values(
                **_columns(wait), created_at=now, expires_at=expires_at, busy_until=None
            )
        )

    async def get(self, exchange_id: str, *, now: datetime) -> SignInWait | None:
        """The wait under `exchange_id`, unless it has expired."""
        row = (
            await self._connection.execute(
                select(sign_in_waits).where(
                    sign_in_waits.c.exchange_id == exchange_id, sign_in_waits.c.expires_at > now
                )
            )
        ).first()
        return None if row is None else _decode(row)

    async def newest_for(
        self, person_id: str, *, now: datetime
    ) -> tuple[SignInWait, datetime] | None:
        """`person_id`'s newest live wait for an action (not an activation's: its request is
        the record of those) and when it began: what a sign-in completed through the card's
        button, which names no exchange, is for."""
        row = (
            await self._connection.execute(
                select(sign_in_waits)
                .where(
                    sign_in_waits.c.person_id == person_id,
                    sign_in_waits.c.expires_at > now,
                    sign_in_waits.c.kind != "activate",
                )
                .order_by(sign_in_waits.c.created_at.desc())
                .limit(1)
            )
        ).first()
        return None if row is None else (_decode(row), row.created_at)

    async def take(self, exchange_id: str, person_id: str, *, now: datetime) -> SignInWait | None:
        """Remove and return `person_id`'s live wait: of two exchanges for one sign-in (Teams
        retries), on any replica, exactly one gets it."""
        row = (
            await self._connection.execute(
                delete(sign_in_waits)
                .where(
                    sign_in_waits.c.exchange_id == exchange_id,
                    sign_in_waits.c.person_id == person_id,
                    sign_in_waits.c.expires_at > now,
                )
                .returning(*sign_in_waits.c)
            )
        ).first()
        return None if row is None else _decode(row)

    async def lease(
        self, request_id: str, person_id: str, *, now: datetime, until: datetime
    ) -> bool:
        """Take the activation lease of `request_id` (creating its row): False while another
        exchange holds it."""
        statement = upsert_insert(self._connection, sign_in_waits).values(
            **_columns(SignInWait(request_id, person_id, "activate", target=request_id)),
            created_at=now,
            expires_at=until,
            busy_until=until,
        )
        statement = statement.on_conflict_do_update(
            index_elements=[sign_in_waits.c.exchange_id],
            set_={"busy_until": until, "expires_at": until},
            where=or_(sign_in_waits.c.busy_until.is_(None), sign_in_waits.c.busy_until <= now),
        )
        result = await self._connection.execute(statement)
        return bool(result.rowcount)

    async def release(self, request_id: str, *, keep_until: datetime) -> None:
        """End the activation lease; the row (and its claims challenge) stays until
        `keep_until`."""
        await self._connection.execute(
            update(sign_in_waits)
            .where(sign_in_waits.c.exchange_id == request_id)
            .values(busy_until=None, expires_at=keep_until)
        )

    async def challenge(self, request_id: str) -> str:
        """PIM's claims challenge for the activation of `request_id` ('' when none)."""
        claims = await self._connection.scalar(
            select(sign_in_waits.c.claims).where(sign_in_waits.c.exchange_id == request_id)
        )
        return str(claims or "")

    async def set_challenge(
        self, request_id: str, person_id: str, claims: str, *, now: datetime, until: datetime
    ) -> None:
        """Keep PIM's claims challenge ('' to drop it) for the next sign-in of the activation
        of `request_id`, until `until`."""
        statement = upsert_insert(self._connection, sign_in_waits).values(
            **_columns(
                SignInWait(request_id, person_id, "activate", target=request_id, claims=claims)
            ),
            created_at=now,
            expires_at=until,
            busy_until=None,
        )
        statement = statement.on_conflict_do_update(
            index_elements=[sign_in_waits.c.exchange_id],
            set_={"claims": claims, "expires_at": until},
        )
        await self._connection.execute(statement)

    async def purge(self, now: datetime) -> int:
        """Forget expired waits."""
        result = await self._connection.execute(
            delete(sign_in_waits).where(sign_in_waits.c.expires_at <= now)
        )
        return int(result.rowcount)


def _columns(wait: SignInWait) -> dict[str, str]:
    return {
        "exchange_id": wait.exchange_id,
        "person_id": wait.person_id,
        "kind": wait.kind,
        "target": wait.target,
        "verdict": wait.verdict,
        "reason": wait.reason,
        "claims": wait.claims,
    }


def _decode(row: Row[object]) -> SignInWait:
    return SignInWait(
        exchange_id=row.exchange_id,
        person_id=row.person_id,
        kind=row.kind,
        target=row.target,
        verdict=row.verdict,
        reason=row.reason,
        claims=row.claims,
    )
