"""Fuzz pimbot's signed endpoint at scale, on both engines.

Mixed inputs go to `/api/messages` of a running sandbox, as the Teams channel (or an attacker)
would send them: random and command-like texts, card actions (Action.Execute and the
Action.Submit fallback) with plausible and junk payloads aimed at live requests, invokes and token
exchanges, requests with forged channel tokens (wrong key, audience, issuer, expired, none,
garbage), activities from another tenant, and replays of earlier legitimate activities (an
approver's tap, a requester's cancel, a token exchange) posted again.

The pass mark:
- no answer is a 5xx;
- every forged request is answered 401 and changes nothing (the database's requests, audit chain
  and jobs, and Graph's writes are compared before and after each batch of forged inputs);
- the state stays lawful: the audit chain verifies, no request was decided by someone who is not
  its approver, no requester approved their own request, no decided request is still open, and
  Graph saw no more activations than there are requests.

New requests waiting for approval are made as the run goes, so taps find something to act on.

    .venv/bin/python -m bench.fuzz_endpoint --inputs 100000            # both engines, 50,000 each
    .venv/bin/python -m bench.fuzz_endpoint --inputs 2000 --engine pim --seed 7
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from bot.domain import RequestState
from bot.sandbox.entra import SigningKey
from bot.sandbox.runner import RunningSandbox, sandbox
from bot.sandbox.teams.client import SandboxClient
from bot.sandbox.teams.raw import channel_token, personal_activity
from bot.sandbox.tenant import DemoTenant, load_tenant
from bot.store.schema import audit_log, jobs, requests

OTHER_TENANT = "0b1f2e3d-4c5b-6a79-8877-665544332211"
HANDLES = ["adele", "megan", "nestor", "alex", "lidia", "diego"]
REQUESTERS = ["adele", "alex", "diego"]
VERBS = [
    "request.submit",
    "request.approve",
    "request.deny",
    "request.cancel",
    "request.retry",
    "request.refresh",
    "role.pick",
    "role.deactivate",
    "role.extend",
]
WORDS = [
    "activate",
    "deactivate",
    "extend",
    "cancel",
    "my roles",
    "pending",
    "help",
    "hi",
    "give me",
    "exchange admin",
    "global administrator",
    "user admin",
    "security",
    "for 2h",
    "for 99h",
    "because",
    "INC-1234",
    "[x](http://evil.example)",
    "**bold**",
    "\uff35\uff33\uff25\uff32 \uff21\uff24\uff2d\uff29\uff2e",  # USER ADMIN, full width
    "\u200b",
    "'; DROP TABLE requests; --",
    "%s%s%n",
    "../../etc/passwd",
]
FIELDS = ["request_id", "role_id", "form_id", "reason", "kind", "duration", "justification"]
FIELDS += ["ticket_number", "ticket_system", "ticket", "trigger", "verb", "start"]
ROLE_IDS = [
    "29232cdf-9323-42fd-ade2-1d097af3e4de",  # Exchange Administrator
    "62e90394-69f5-4237-9190-012177145e10",  # Global Administrator
    "fe930be7-5e62-47db-91af-98c3a49a38b1",  # User Administrator
    "00000000-0000-0000-0000-000000000000",
]
READ_ONLY_APP = ["RoleManagement.Read.Directory", "User.Read.All", "GroupMember.Read.All"]
ACTIVATE = "/v1.0/roleManagement/directory/roleAssignmentScheduleRequests"


class Violation(AssertionError):
    """The run broke the pass mark."""


@dataclass
class Tally:
    by_kind: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    forged_batches: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())


class Fuzzer:
    def __init__(self, running: RunningSandbox, http: httpx.AsyncClient, rng: random.Random):
        self.running = running
        self.http = http
        self.rng = rng
        self.tenant = running.twins.tenant
        self.app_id = self.tenant.pimbot_app.client_id
        self.service_url = running.twins.teams.service_url
        self.stranger_key = SigningKey()
        self.replayable: deque[dict[str, Any]] = deque(maxlen=200)
        self.request_ids: list[str] = []
        self.tally = Tally()
        self._valid, self._signed_at = "", -1e9

    # --- shaping activities as Teams does -----------------------------------------------------

    def activity(
        self, handle: str, kind: str = "message", *, tenant: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        return personal_activity(
            self.tenant, self.service_url, handle, kind, tenant_id=tenant, **fields
        )

    def token(self, key: SigningKey | None = None, **claims: Any) -> str:
        key = key or self.running.twins.teams.channel.key
        return channel_token(key, self.app_id, self.service_url, **claims)

    async def post(self, activity: dict[str, Any] | str, authorization: str | None) -> int:
        headers = {"Content-Type": "application/json"}
        if authorization is not None:
            headers["Authorization"] = authorization
        body = activity if isinstance(activity, str) else json.dumps(activity, ensure_ascii=False)
        answer = await self.http.post(self.running.bot_url, content=body, headers=headers)
        self.tally.by_status[answer.status_code] += 1
        if answer.status_code >= 500:
            raise Violation(f"{answer.status_code} for {body!r}: {answer.text[:300]}")
        return answer.status_code

    # --- random inputs ------------------------------------------------------------------------

    def junk(self, depth: int = 0) -> Any:
        r = self.rng
        choice = r.randrange(9 if depth < 2 else 6)
        if choice == 0:
            return None
        if choice == 1:
            return r.choice([True, False])
        if choice == 2:
            return r.randint(-(2**40), 2**40)
        if choice == 3:
            return r.uniform(-1e9, 1e9)
        if choice in (4, 5):
            return self.text(40)
        if choice == 6:
            return [self.junk(depth + 1) for _ in range(r.randrange(4))]
        return {self.text(12): self.junk(depth + 1) for _ in range(r.randrange(4))}

    def text(self, size: int) -> str:
        r = self.rng
        if r.random() < 0.5:
            return "".join(chr(r.randrange(0x20, 0x2FFF)) for _ in range(r.randrange(size + 1)))
        return " ".join(r.choice(WORDS) for _ in range(r.randrange(1, 5)))

    def ascii(self, size: int) -> str:
        """Printable ASCII only: what an HTTP header can carry."""
        return "".join(chr(self.rng.randrange(0x21, 0x7F)) for _ in range(size))

    def target_id(self) -> Any:
        r = self.rng
        if self.request_ids and r.random() < 0.7:
            return r.choice(self.request_ids[-20:])
        return r.choice(["", "x" * 101, "../../etc", "req_" + uuid.uuid4().hex, self.junk()])

    def payload(self) -> Any:
        r = self.rng
        if r.random() < 0.15:
            return self.junk()
        data: dict[str, Any] = {"verb": r.choice(VERBS) if r.random() < 0.85 else self.text(20)}
        for name in r.sample(FIELDS, r.randrange(len(FIELDS))):
            data[name] = self.junk()
        if r.random() < 0.8:
            data["request_id"] = self.target_id()
        if r.random() < 0.5:
            data["role_id"] = r.choice(ROLE_IDS)
        if r.random() < 0.5:
            data["reason"] = self.text(60)
        return data

    def valid_input(self) -> tuple[str, dict[str, Any]]:
        """(kind, activity) signed with the channel's real key."""
        r = self.rng
        handle = r.choice(HANDLES)
        roll = r.random()
        if roll < 0.30:
            text = self.text(120) if r.random() < 0.6 else r.choice(WORDS) + " " + self.text(30)
            return "text", self.activity(handle, text=text)
        if roll < 0.55:
            value = {"action": {"type": "Action.Execute", "data": self.payload()}}
            if r.random() < 0.2:
                value = self.junk()
            activity = self.activity(handle, "invoke", name="adaptiveCard/action", value=value)
            return "card action (Execute)", activity
        if roll < 0.65:
            activity = self.activity(handle, value=self.payload(), replyToId=str(r.randrange(9)))
            return "card action (Submit)", activity
        if roll < 0.80:
            name = r.choice(["signin/tokenExchange", "signin/verifyState", "adaptiveCard/action"])
            if r.random() < 0.3:
                name = self.text(30)
            value: Any = {
                "id": self.target_id() if r.random() < 0.5 else f"pim-decide-{uuid.uuid4().hex}",
                "connectionName": r.choice(["pimbot-sso", self.text(10)]),
                "token": r.choice([self.text(60), self.token(aud="api://other"), ""]),
            }
            if r.random() < 0.2:
                value = self.junk()
            return "invoke", self.activity(handle, "invoke", name=name, value=value)
        if roll < 0.88:
            kind = r.choice(["conversationUpdate", "installationUpdate", "messageReaction", "x"])
            return "other activity", self.activity(handle, kind)
        if roll < 0.94:
            return "other tenant", self.activity(handle, tenant=OTHER_TENANT, text="my roles")
        if self.replayable:
            return "replay", dict(r.choice(self.replayable))
        return "text", self.activity(handle, text="help")

    def forged_authorization(self) -> str | None:
        r = self.rng
        choice = r.randrange(9)
        if choice == 0:
            return None
        if choice == 1:
            return "Bearer " + self.ascii(40)
        if choice == 2:
            return f"Bearer {self.token(self.stranger_key)}"
        if choice == 3:
            return f"Bearer {self.token(aud='some-other-bot')}"
        if choice == 4:
            return f"Bearer {self.token(iss='https://evil.example')}"
        if choice == 5:
            return f"Bearer {self.token(exp=int(time.time()) - 3600, nbf=None, iat=None)}"
        if choice == 6:
            header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"  # {"alg":"none"}
            return f"Bearer {header}.{self.token().split('.')[1]}."
        if choice == 7:
            return f"Basic {self.ascii(20)}"
        return f"Bearer {self.token(aud=None)}"

    # --- driving ------------------------------------------------------------------------------

    def valid_token(self) -> str:
        """The channel's token, signed once a minute (as the real channel caches its own)."""
        now = time.monotonic()
        if now - self._signed_at > 60:
            self._valid, self._signed_at = self.token(), now
        return self._valid

    async def send_valid(self) -> None:
        kind, activity = self.valid_input()
        self.tally.by_kind[kind] += 1
        await self.post(activity, f"Bearer {self.valid_token()}")
        if kind != "replay" and activity.get("type") == "invoke":
            self.replayable.append(activity)

    async def quiet_snapshot(self) -> tuple[Any, ...]:
        """The state once nothing moves: the Teams twin answers some of the bot's cards on its
        own (a sign-in card gets a token exchange), so wait until two looks agree."""
        previous = await self.snapshot()
        for _ in range(100):
            await asyncio.sleep(0.3)
            current = await self.snapshot()
            if current == previous:
                return current
            previous = current
        raise Violation("the state never settled")

    async def send_forged_batch(self, size: int) -> None:
        before = await self.quiet_snapshot()
        for _ in range(size):
            _, activity = self.valid_input()
            self.tally.by_kind["forged"] += 1
            status = await self.post(activity, self.forged_authorization())
            if status != 401:
                raise Violation(f"a forged request was answered {status}")
        if await self.quiet_snapshot() != before:
            raise Violation("a batch of forged requests changed the state")
        self.tally.forged_batches += 1

    async def snapshot(self) -> tuple[Any, ...]:
        async with self.running.services.db.transaction() as tx:
            connection = tx.requests._connection
            state = await connection.execute(
                select(func.count(), func.coalesce(func.sum(requests.c.version), 0))
            )
            audit = await connection.scalar(select(func.count()).select_from(audit_log))
            queued = await connection.scalar(select(func.count()).select_from(jobs))
        writes = sum(1 for c in self.running.twins.graph.calls if c.method != "GET")
        return (tuple(state.one()), audit, queued, writes)

    async def new_pending_request(self, client: SandboxClient) -> None:
        """A requester asks for a role that needs approval, so taps have something to act on."""
        handle = self.rng.choice(REQUESTERS)
        await client.say(handle, "cancel")
        await client.say(handle, "activate exchange admin for 1h because INC-7 fuzz")
        messages = await client.messages(handle)
        for message in reversed(messages):
            for card in message["cards"]:
                for action in _actions(card):
                    if action.get("title") in ("Ask for approval", "Activate"):
                        await client.press(handle, message["id"], action, {})
                        await self.remember_requests()
                        return

    async def remember_requests(self) -> None:
        async with self.running.services.db.transaction() as tx:
            found = await tx.requests.list_in_states(list(RequestState))
        self.request_ids = [r.id for r in found]

    async def check_lawful(self) -> None:
        async with self.running.services.db.transaction() as tx:
            verification = await tx.audit.verify()
            found = await tx.requests.list_in_states(list(RequestState))
        if not verification.ok:
            raise Violation(f"audit chain: {verification}")
        for r in found:
            if r.requester.id in r.approver_ids:
                raise Violation(f"{r.id}: the requester is one of its approvers")
            if r.decided_by is not None:
                if r.decided_by.id not in r.approver_ids:
                    raise Violation(f"{r.id}: decided by {r.decided_by.id}, not an approver")
                if r.state in (RequestState.DRAFT, RequestState.PENDING_APPROVAL):
                    raise Violation(f"{r.id}: decided but still {r.state}")
            granted_states = (RequestState.APPROVED, RequestState.ACTIVATING, RequestState.ACTIVE)
            if r.approver_ids and r.state in granted_states and r.decided_by is None:
                raise Violation(f"{r.id}: {r.state} without a decision")
        granted = [
            c
            for c in self.running.twins.graph.calls
            if c.method == "POST" and c.path == ACTIVATE and c.status in (200, 201)
        ]
        if len(granted) > len(found):
            raise Violation(f"{len(granted)} activations for {len(found)} requests")


def _actions(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if str(node.get("type", "")).startswith("Action.") and "title" in node:
            found.append(node)
        for value in node.values():
            found.extend(_actions(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_actions(value))
    return found


def zero_trust(tenant: DemoTenant) -> DemoTenant:
    """The demo tenant with pimbot's app holding read permissions only (the pim engine)."""
    app = tenant.apps[0].model_copy(update={"application_permissions": READ_ONLY_APP})
    return tenant.model_copy(update={"apps": [app, *tenant.apps[1:]]})


async def fuzz_engine(
    engine: str, inputs: int, seed: int, concurrency: int, say: Callable[[str], None]
) -> Tally:
    rng = random.Random(f"{seed}:{engine}")
    tenant = load_tenant()
    with tempfile.TemporaryDirectory(prefix="pimbot-fuzz-") as tmp:
        async with (
            sandbox(
                tenant=zero_trust(tenant) if engine == "pim" else tenant,
                database_url=f"sqlite:///{Path(tmp) / 'pimbot.db'}",
                state_dir=Path(tmp),
                engine=engine,
                run_scheduler=False,  # jobs run between batches, never during a forged one
            ) as running,
            SandboxClient(running.twins.service_url) as client,
            httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=concurrency)) as http,
        ):
            for handle in HANDLES:
                await client.install(handle)
            fuzzer = Fuzzer(running, http, rng)
            started = time.monotonic()
            batch = 250
            while fuzzer.tally.total < inputs:
                await fuzzer.new_pending_request(client)
                valid = min(batch, inputs - fuzzer.tally.total)
                queue = iter(range(valid))

                async def worker(queue: Any = queue) -> None:
                    for _ in queue:
                        await fuzzer.send_valid()

                await asyncio.gather(*(worker() for _ in range(concurrency)))
                await running.services.scheduler.run_once()
                forged = min(batch // 10, inputs - fuzzer.tally.total)
                if forged > 0:
                    await fuzzer.send_forged_batch(forged)
                await fuzzer.check_lawful()
                elapsed = time.monotonic() - started
                tally = fuzzer.tally
                say(
                    f"  {engine}: {tally.total:>7} inputs, {tally.total / elapsed:6.0f}/s, "
                    f"statuses {dict(tally.by_status)}"
                )
            await fuzzer.check_lawful()
            return fuzzer.tally


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=100_000, help="in all, across engines")
    parser.add_argument("--engine", choices=["bot", "pim", "both"], default="both")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    engines = ["bot", "pim"] if args.engine == "both" else [args.engine]
    started = time.monotonic()
    totals: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    try:
        for engine in engines:
            tally = await fuzz_engine(
                engine,
                args.inputs // len(engines),
                args.seed,
                args.concurrency,
                lambda line: print(line, file=sys.stderr, flush=True),
            )
            totals.update(tally.by_kind)
            statuses.update(tally.by_status)
            print(
                f"{engine}: {tally.total} inputs, {tally.forged_batches} forged batches unchanged"
            )
    except Violation as exc:
        print(f"FAILED: {exc}")
        return 1
    elapsed = time.monotonic() - started
    print(f"inputs by kind: {dict(sorted(totals.items()))}")
    print(f"answers by status: {dict(sorted(statuses.items()))}")
    print(f"{sum(totals.values())} inputs in {elapsed:.0f} s: zero 5xx, zero unlawful changes")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
