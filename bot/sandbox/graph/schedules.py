"""The twin's PIM schedules (an eligibility or an active assignment each) and the book that
keeps them the way Graph's store finds them: by principal, and by when they end.

A tenant holds 100,000s of schedules. A call names one principal and the clock ends a few at a
time, so neither may walk them all: Graph answers such a call in the same time whatever the
tenant's size, and a twin that slowed down as the tenant grew would make a bench measure the twin
instead of the bot. To everyone else the book is the list it replaced: iteration in insertion
order (the order Graph pages them in here), `len`, `append`, `remove`; and it is saved as that
list.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, PlainSerializer

from bot.sandbox.graph.values import role_assignment_id

ROOT_SCOPE = "/"


class Schedule(BaseModel):
    """An eligibility or an active assignment for one principal, role and scope."""

    id: str
    kind: Literal["eligibility", "assignment"]
    principal_id: str
    role_id: str
    scope: str = ROOT_SCOPE
    created_using: str
    created: datetime
    modified: datetime | None = None
    status: str = "Provisioned"
    start: datetime
    end: datetime | None = None  # None: permanent
    expiration_type: str = "noExpiration"
    duration: timedelta | None = None
    assignment_type: Literal["Assigned", "Activated"] | None = None
    member_type: str = "Direct"
    activated_using: str | None = None  # the eligibility schedule an activation used
    outside_pim: bool = False  # a direct roleAssignment: Graph shows no start or end

    def in_force(self, now: datetime) -> bool:
        return self.start <= now and (self.end is None or now < self.end)

    def ended(self, now: datetime) -> bool:
        return self.end is not None and self.end <= now

    @property
    def assignment_id(self) -> str:
        """The id of the role assignment (and of the instance) this schedule puts in force."""
        return role_assignment_id(self.role_id, self.principal_id)


class ScheduleBook:
    """Every schedule, indexed by principal (case-insensitive) and by end."""

    def __init__(self, schedules: Iterable[Schedule] = ()) -> None:
        # Keyed by the object (id()): two schedules may be equal field for field.
        self._all: dict[int, Schedule] = {}
        self._by_principal: dict[str, dict[int, Schedule]] = {}
        # A heap of (end, key). An entry may be stale: its schedule removed, or its end moved
        # (`moved`); `take_ended` checks the schedule itself before it takes it.
        self._ends: list[tuple[datetime, int]] = []
        for schedule in schedules:
            self.append(schedule)

    def __iter__(self) -> Iterator[Schedule]:
        return iter(list(self._all.values()))  # a copy: callers remove while they walk

    def __len__(self) -> int:
        return len(self._all)

    def append(self, schedule: Schedule) -> None:
        key = id(schedule)
        self._all[key] = schedule
        self._by_principal.setdefault(schedule.principal_id.lower(), {})[key] = schedule
        self._remember_end(schedule)

    def remove(self, schedule: Schedule) -> None:
        """Remove that schedule (that object); ValueError if it is not here, as a list says."""
        key = id(schedule)
        if self._all.pop(key, None) is None:
            raise ValueError("the schedule is not in the book")
        principal = schedule.principal_id.lower()
        del self._by_principal[principal][key]
        if not self._by_principal[principal]:
            del self._by_principal[principal]

    def moved(self, schedule: Schedule) -> None:
        """`schedule`'s end was changed in place: take it when its new end comes."""
        self._remember_end(schedule)

    def of(self, principal_id: str) -> list[Schedule]:
        """The schedules that principal holds, in insertion order."""
        return list(self._by_principal.get(principal_id.lower(), {}).values())

    def take_ended(self, now: datetime) -> list[Schedule]:
        """Remove the schedules whose end has come by `now`, and return them in order of end."""
        taken: list[Schedule] = []
        while self._ends and self._ends[0][0] <= now:
            _, key = heapq.heappop(self._ends)
            schedule = self._all.get(key)
            if schedule is None:
                continue  # removed before its end
            if schedule.ended(now):
                self.remove(schedule)
                taken.append(schedule)
            elif schedule.end is not None:
                self._remember_end(schedule)  # moved later
        return taken

    def _remember_end(self, schedule: Schedule) -> None:
        if schedule.end is not None:
            heapq.heappush(self._ends, (schedule.end, id(schedule)))


def _as_book(value: Any) -> ScheduleBook:
    if isinstance(value, ScheduleBook):
        return value
    return ScheduleBook(Schedule.model_validate(item) for item in value)


# A TwinState field: validated from a list of schedules, saved as one.
ScheduleBookField = Annotated[
    ScheduleBook,
    BeforeValidator(_as_book),
    PlainSerializer(list, return_type=list[Schedule]),
]
