"""What an engine is: everything in which the bot engine and the pim engine differ, behind one
protocol, chosen once (`bot/app.py`, from `PIMBOT_ENGINE`). The workflow's front door
(`service.py`) calls it the same way for both; docs/engines.md says how they differ.

The shared parts (role resolution and forms in `Requesting`, what a person holds in
`ActiveRoles`) are built by the engine around itself, since they ask it whether a request waits
for the requester's sign-in and what follows once it is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from bot.domain import Actor, Outcome, TokenExchangeOutcome
from bot.workflow.active_roles import ActiveRoles
from bot.workflow.deciding import Decisions
from bot.workflow.outbox import JobHandler
from bot.workflow.requesting import Requesting, Submission


class WorkflowEngine(Submission, Decisions, Protocol):
    """Submit (`Submission`: whether a request waits for a sign-in, what follows once it is
    recorded), the sign-in that follows a form, decide (`Decisions`, after the shared checks),
    retry, cancel, extend, deactivate, pending, and the jobs that activate and follow."""

    @property
    def requesting(self) -> Requesting: ...

    @property
    def roles(self) -> ActiveRoles: ...

    async def on_token_exchange(
        self, actor: Actor, exchange_id: str, token: str
    ) -> TokenExchangeOutcome:
        """The Teams SSO token for a sign-in this engine asked for."""
        ...

    async def retry(self, actor: Actor, request_id: str) -> Outcome:
        """The Retry button of a failed request."""
        ...

    async def cancel(self, actor: Actor, request_id: str) -> Outcome:
        """The Cancel button on the requester's card."""
        ...

    async def cancel_named(self, actor: Actor, ref: str | None) -> Outcome:
        """`cancel [role or request]` typed in the chat."""
        ...

    async def extend(self, actor: Actor, role_id: str) -> Outcome:
        """The Extend button of an active role."""
        ...

    async def extend_by_name(self, actor: Actor, query: str) -> Outcome:
        """`extend [role]` typed in the chat."""
        ...

    async def deactivate(self, actor: Actor, role_id: str) -> Outcome:
        """The Deactivate button of an active role."""
        ...

    async def deactivate_by_name(self, actor: Actor, query: str) -> Outcome:
        """`deactivate [role]` typed in the chat."""
        ...

    async def pending(self, actor: Actor) -> Outcome:
        """`pending`: the person's open requests and those waiting for their decision."""
        ...

    def jobs(self) -> Mapping[str, JobHandler]:
        """The job kinds this engine queues, with their handlers (added to the `JobRunner`)."""
        ...

    async def start(self) -> None:
        """Once at start-up, before turns and jobs run (the pim engine starts watching PIM)."""
        ...
