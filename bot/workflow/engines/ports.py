"""What the pim engine needs from Graph: delegated tokens, the writes a signed-in person makes,
and the app-only reads that follow PIM's state. `bot/graph/` implements them; tests fake them."""

from __future__ import annotations

from typing import Literal, Protocol

from bot.domain import Activation, ActivationRequest, Approval, AwaitingDecision, PimRequest


class UserTokens(Protocol):
    def cached(self, person_id: str) -> str | None: ...

    def forget(self, person_id: str) -> None: ...

    async def exchange(self, person_id: str, sso_token: str, claims: str | None = None) -> str: ...


class PimAsPerson(Protocol):
    """Graph writes with the acting person's delegated token."""

    async def self_activate(self, token: str, request: ActivationRequest) -> PimRequest: ...

    async def self_deactivate(self, token: str, principal_id: str, role_id: str) -> None: ...

    async def cancel(self, token: str, graph_request_id: str) -> None: ...

    async def waiting_for_me(self, token: str) -> list[AwaitingDecision]: ...

    async def read_approval(self, token: str, approval_id: str) -> Approval: ...

    async def decide_step(
        self,
        token: str,
        approval_id: str,
        step_id: str,
        verdict: Literal["approve", "deny"],
        justification: str,
    ) -> None: ...


class PimReads(Protocol):
    """App-only reads (RoleManagement.Read.Directory) that follow what PIM decided."""

    async def read_request(self, graph_request_id: str) -> PimRequest: ...

    async def read_approval(self, approval_id: str) -> Approval | None:
        """None when the app may not read approvals (then a denial can't be told from a
        timeout)."""
        ...

    async def activations(self) -> list[Activation]: ...
