"""Random input through the real HTTP endpoint, signed like the channel signs it: random text to
the command parser, random JSON to every card action (Action.Execute and Action.Submit), to the
SSO token exchange and to invokes of any name. Every input is answered without a 5xx, and
afterwards the audit chain verifies and no request is in a state the rules do not allow.

Each test starts one sandbox and runs its examples against it (state carries over between
examples, as it would in production); example counts are kept small so the suite stays fast.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, TypeVar

import httpx
from botbuilder.schema import Activity
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.channel.identity import command_text
from bot.domain import RequestState
from bot.sandbox.runner import sandbox
from bot.sandbox.teams.client import SandboxClient
from cards.actions import Verb
from tests.e2e.conftest import Sandbox
from tests.support.clock import FakeClock
from tests.trust.door import BotDoor
from tests.trust.journeys import pending_exchange_request

TEXT_EXAMPLES = 150
ACTION_EXAMPLES = 300
INVOKE_EXAMPLES = 150
ACTIVATE = "/v1.0/roleManagement/directory/roleAssignmentScheduleRequests"

T = TypeVar("T")


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,  # the same examples on every run: CI failures reproduce
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = ["request_id", "role_id", "form_id", "reason", "kind", "duration", "justification"]
FIELDS += ["ticket_number", "ticket_system", "ticket", "trigger", "verb"]


class Fuzzing:
    """One sandbox, driven from synchronous hypothesis tests through an event loop of its own."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.runner = asyncio.Runner()
        self.stack = AsyncExitStack()

    def run(self, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
        return self.runner.run(make())

    async def start(self) -> None:
        clock = FakeClock()
        running = await self.stack.enter_async_context(
            sandbox(
                database_url=f"sqlite:///{self.tmp_path / 'pimbot.db'}",
                state_dir=self.tmp_path,
                now=clock,
                run_scheduler=False,
            )
        )
        client = await self.stack.enter_async_context(SandboxClient(running.twins.service_url))
        http = await self.stack.enter_async_context(httpx.AsyncClient(timeout=60))
        self.sb = Sandbox(running, client, clock)
        self.door = BotDoor(running, http)
        self.pending = await pending_exchange_request(self.sb)
        for handle in ("megan", "alex"):
            await client.install(handle)

    def __enter__(self) -> Fuzzing:
        self.run(self.start)
        return self

    def __exit__(self, *exc: object) -> None:
        self.run(self.check_nothing_corrupted)
        self.run(self.stack.aclose)
        self.runner.close()

    async def check_nothing_corrupted(self) -> None:
        async with self.sb.running.services.db.transaction() as tx:
            verification = await tx.audit.verify()
            assert verification.ok, verification
            requests = await tx.requests.list_in_states(list(RequestState))
        for request in requests:
            assert request.requester.id not in request.approver_ids
            if request.decided_by is not None:
                assert request.decided_by.id in request.approver_ids
                assert request.state not in (RequestState.DRAFT, RequestState.PENDING_APPROVAL)
            if request.state is RequestState.PENDING_APPROVAL:
                assert request.approver_ids
            if request.approver_ids and request.state in (
                RequestState.APPROVED,
                RequestState.ACTIVATING,
                RequestState.ACTIVE,
            ):
                assert request.decided_by is not None
        granted = [
            c
            for c in self.sb.graph_calls
            if c.method == "POST"
            and c.path == ACTIVATE
            and (c.json or {}).get("action") == "adminAssign"
        ]
        assert len(granted) <= len(requests)

    async def replies(self, handle: str) -> int:
        return len(await self.sb.client.messages(handle))


def test_random_text_is_always_answered(tmp_path: Path) -> None:
    with Fuzzing(tmp_path) as fuzz:

        @fuzz_settings(TEXT_EXAMPLES)
        @given(
            handle=st.sampled_from(["adele", "megan", "alex"]),
            text=st.text(max_size=200)
            | st.builds(
                "{} {}".format,
                st.sampled_from(["activate", "deactivate", "extend", "my", "pim", "cancel"]),
                st.text(max_size=80),
            ),
        )
        def send(handle: str, text: str) -> None:
            async def go() -> None:
                before = await fuzz.replies(handle)
                answer = await fuzz.door.post(fuzz.door.activity(handle, text=text))
                assert answer.status == 200, (answer.status, answer.text)
                if command_text(Activity(text=text)):
                    assert await fuzz.replies(handle) > before, text

            fuzz.run(go)

        send()


def test_random_card_actions_are_answered_and_refused_safely(tmp_path: Path) -> None:
    with Fuzzing(tmp_path) as fuzz:
        ids = st.sampled_from([fuzz.pending, "", "x" * 101, "../../etc", fuzz.pending + "0"])
        plausible = st.fixed_dictionaries(
            {"verb": st.sampled_from([str(v) for v in Verb]) | st.text(max_size=20)},
            optional={
                **{name: json_values for name in FIELDS if name not in ("verb", "request_id")},
                "request_id": ids | json_values,
            },
        )
        payloads = plausible | st.dictionaries(st.sampled_from(FIELDS), json_values) | json_values

        @fuzz_settings(ACTION_EXAMPLES)
        @given(
            handle=st.sampled_from(["adele", "megan", "alex"]),
            data=payloads,
            submit=st.booleans(),
        )
        def press(handle: str, data: Any, submit: bool) -> None:
            async def go() -> None:
                door = fuzz.door
                if submit:
                    activity = door.activity(handle, value=data, replyToId="1")
                else:
                    activity = door.activity(
                        handle,
                        "invoke",
                        name="adaptiveCard/action",
                        value={"action": {"type": "Action.Execute", "data": data}},
                    )
                answer = await door.post(activity)
                assert answer.status < 500, (answer.status, answer.text)
                if not submit:  # Teams shows what an Action.Execute returns
                    assert answer.status == 200 and answer.body["type"], answer.text

            fuzz.run(go)

        press()


def test_random_invokes_and_token_exchanges_are_answered(tmp_path: Path) -> None:
    with Fuzzing(tmp_path) as fuzz:
        names = st.sampled_from(
            ["adaptiveCard/action", "signin/tokenExchange", "signin/verifyState"]
        ) | st.text(max_size=30)

        @fuzz_settings(INVOKE_EXAMPLES)
        @given(
            handle=st.sampled_from(["adele", "megan"]),
            name=names,
            value=json_values
            | st.fixed_dictionaries(
                {"id": st.sampled_from([fuzz.pending]) | st.text(max_size=20)},
                optional={
                    "token": st.text(max_size=60) | json_values,
                    "connectionName": json_values,
                    "state": st.text(max_size=12) | json_values,  # verifyState's magic code
                },
            ),
        )
        def invoke(handle: str, name: str, value: Any) -> None:
            async def go() -> None:
                answer = await fuzz.door.post(
                    fuzz.door.activity(handle, "invoke", name=name, value=value)
                )
                assert answer.status < 500, (name, value, answer.status, answer.text)

            fuzz.run(go)

        invoke()
