"""`pimbot policy export|diff|apply` against the Graph twin: one YAML file for every role's PIM
settings, written back rule by rule with PATCH, only what differs, all or nothing, audited."""

from __future__ import annotations

import argparse
import asyncio
import io
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from bot.cli import main
from bot.governance.policy_file import PolicyFileError, load_text
from bot.graph.directory import GraphPimDirectory
from bot.graph.role_policies import GraphRolePolicies, settings_from_rules
from bot.policy_cli import ADMIN_TOKEN_ENV, PolicyConsole, run_policy
from bot.sandbox.graph.policies import build_rules
from bot.store import Database
from tests.governance.policy_twin import (
    EXCHANGE_ADMIN,
    GLOBAL_ADMIN,
    USER_ADMIN,
    Tenant,
    twin_tenant,
)


@pytest.fixture
async def tenant() -> AsyncIterator[Tenant]:
    async with twin_tenant() as started:
        yield started


class Audit:
    def __init__(self) -> None:
        self.entries: list[tuple[str, str, Mapping[str, Any]]] = []

    async def __call__(self, action: str, outcome: str, details: Mapping[str, Any]) -> None:
        self.entries.append((action, outcome, details))


class Console(PolicyConsole):
    def __init__(self, answer: str | None = None) -> None:
        super().__init__(io.StringIO(), io.StringIO(), lambda _: answer)

    @property
    def said(self) -> str:
        assert isinstance(self.out, io.StringIO) and isinstance(self.err, io.StringIO)
        return self.out.getvalue() + self.err.getvalue()


def args(command: str, file: Path | None = None, **extra: Any) -> argparse.Namespace:
    defaults = {"out": None, "yes": False, "exit_code": False}
    return argparse.Namespace(policy_command=command, file=file, **(defaults | extra))


async def export(tenant: Tenant, token: str | None = None) -> str:
    console = Console()
    http = tenant.client(token or tenant.graph.tokens.app())
    assert await run_policy(args("export"), GraphRolePolicies(http), console) == 0
    await http.aclose()
    assert isinstance(console.out, io.StringIO)
    return console.out.getvalue()


def edit(text: str, role_id: str, change: Any) -> str:
    document = yaml.safe_load(text)
    entry = next(r for r in document["roles"] if r["id"] == role_id)
    change(entry)
    return yaml.safe_dump(document, sort_keys=False)


async def test_export_lists_every_role_as_the_portal_groups_its_settings(tenant: Tenant) -> None:
    document = yaml.safe_load(await export(tenant))
    assert len(document["roles"]) == len(tenant.graph.tenant.roles)
    exchange = next(r for r in document["roles"] if r["id"] == EXCHANGE_ADMIN)
    assert exchange["role"] == "Exchange Administrator"
    activation = exchange["activation"]
    assert activation["maximum_duration"] == "PT4H"
    assert (activation["require_mfa"], activation["require_justification"]) == (False, True)
    approval = activation["approval"]
    assert approval["required"] is True
    assert [a["name"] for a in approval["stages"][0]["approvers"]] == [
        "Megan Bowen",
        "Nestor Wilke",
    ]
    assert exchange["assignment"]["active_maximum_duration"] == "P180D"
    assert exchange["notifications"]["activation"]["approver"]["level"] == "All"


async def test_a_round_trip_writes_nothing(tenant: Tenant, tmp_path: Path) -> None:
    file = tmp_path / "roles.yaml"
    file.write_text(await export(tenant))
    console, audit = Console(), Audit()
    http = tenant.client(tenant.admin_token())
    code = await run_policy(args("apply", file, yes=True), GraphRolePolicies(http), console, audit)
    await http.aclose()
    assert code == 0, console.said
    assert "No changes" in console.said
    assert tenant.patches() == []
    assert audit.entries == []


async def test_apply_writes_only_the_rules_that_differ_and_the_bot_reads_them(
    tenant: Tenant, tmp_path: Path
) -> None:
    def stricter(entry: dict[str, Any]) -> None:
        entry["activation"]["maximum_duration"] = "PT2H"
        entry["activation"]["require_ticket"] = True

    file = tmp_path / "roles.yaml"
    file.write_text(edit(await export(tenant), EXCHANGE_ADMIN, stricter))

    http = tenant.client(tenant.admin_token())
    policies = GraphRolePolicies(http)
    diff = Console()
    assert await run_policy(args("diff", file, exit_code=True), policies, diff) == 1
    assert "activation.maximum_duration: PT4H -> PT2H" in diff.said
    assert "activation.require_ticket: no -> yes" in diff.said
    assert "1 role would change." in diff.said

    console, audit = Console(), Audit()
    assert await run_policy(args("apply", file, yes=True), policies, console, audit) == 0
    assert "Changed 1 role (2 rules)." in console.said
    patched = sorted(call.path.rsplit("/", 1)[-1] for call in tenant.patches())
    assert patched == ["Enablement_EndUser_Assignment", "Expiration_EndUser_Assignment"]
    assert all(call.status == 204 for call in tenant.patches())
    [(action, outcome, details)] = audit.entries
    assert (action, outcome, details["role_id"]) == ("policy.apply", "changed", EXCHANGE_ADMIN)
    assert {c["setting"] for c in details["changes"]} == {
        "activation.maximum_duration",
        "activation.require_ticket",
    }

    directory = GraphPimDirectory(http, tenant_id=tenant.graph.tenant.tenant_id)
    policy = await directory.activation_policy(EXCHANGE_ADMIN)
    assert (policy.max_duration.total_seconds(), policy.require_ticket) == (7200, True)
    again = Console()
    assert await run_policy(args("diff", file, exit_code=True), policies, again) == 0
    assert "No changes" in again.said
    await http.aclose()


async def test_apply_as_the_app_is_refused_by_graph_and_changes_nothing(
    tenant: Tenant, tmp_path: Path
) -> None:
    file = tmp_path / "roles.yaml"
    text = await export(tenant)
    file.write_text(edit(text, USER_ADMIN, lambda e: e["activation"].update(require_mfa=True)))
    http = tenant.client(tenant.graph.tokens.app())
    console, audit = Console(), Audit()
    code = await run_policy(args("apply", file, yes=True), GraphRolePolicies(http), console, audit)
    assert code == 1
    assert "refused by Graph on User Administrator: 403" in console.said
    assert "needs a signed-in user" in console.said
    assert "Nothing was changed" in console.said
    assert [(a, o) for a, o, _ in audit.entries] == [("policy.apply", "refused")]
    assert await export(tenant) == text
    await http.aclose()


class FailingPatch(httpx.AsyncBaseTransport):
    """Graph answering the `nth` PATCH with a 500 (once); every other call reaches the twin."""

    def __init__(self, nth: int) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._nth = nth
        self._patches = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            self._patches += 1
            if self._patches == self._nth:
                return httpx.Response(
                    500,
                    json={"error": {"code": "InternalServerError", "message": "Try again."}},
                )
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_a_refusal_half_way_puts_back_what_was_written(
    tenant: Tenant, tmp_path: Path
) -> None:
    """Two roles change (two rules each); Graph fails the third PATCH, the first of the second
    role: the first role's two rules are put back, and the tenant is as before."""
    text = await export(tenant)
    changed = edit(
        text,
        EXCHANGE_ADMIN,
        lambda e: e["activation"].update(maximum_duration="PT1H", require_mfa=True),
    )
    changed = edit(
        changed,
        USER_ADMIN,
        lambda e: e["activation"].update(maximum_duration="PT1H", require_mfa=True),
    )
    file = tmp_path / "roles.yaml"
    file.write_text(changed)
    http = tenant.client(tenant.admin_token(), transport=FailingPatch(3))
    console, audit = Console(), Audit()
    code = await run_policy(args("apply", file, yes=True), GraphRolePolicies(http), console, audit)
    await http.aclose()
    assert code == 1
    assert "500 InternalServerError" in console.said
    assert "Nothing was changed" in console.said
    assert [(a, o) for a, o, _ in audit.entries] == [
        ("policy.apply", "changed"),
        ("policy.apply", "refused"),
        ("policy.apply.undo", "changed"),
    ]
    assert await export(tenant) == text


async def test_apply_asks_and_a_no_writes_nothing(tenant: Tenant, tmp_path: Path) -> None:
    file = tmp_path / "roles.yaml"
    file.write_text(
        edit(await export(tenant), USER_ADMIN, lambda e: e["activation"].update(require_mfa=True))
    )
    http = tenant.client(tenant.admin_token())
    for answer, said in ((None, "not confirmed (use --yes)"), ("n", "Nothing was changed.")):
        console = Console(answer)
        code = await run_policy(args("apply", file), GraphRolePolicies(http), console, Audit())
        assert code == 1
        assert said in console.said
    assert tenant.patches() == []
    await http.aclose()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e["activation"].update(maximum_duration="8 hours"), "maximum_duration"),
        (lambda e: e["activation"].update(surprise=True), "surprise"),
        (
            lambda e: e["activation"]["approval"].update(required=True, stages=[]),
            "no stage",
        ),
        (lambda e: e.update(id="00000000-0000-0000-0000-000000000000"), "no PIM policy"),
    ],
)
async def test_a_bad_file_is_refused_with_where_and_why(
    tenant: Tenant, tmp_path: Path, change: Any, message: str
) -> None:
    file = tmp_path / "roles.yaml"
    file.write_text(edit(await export(tenant), USER_ADMIN, change))
    http = tenant.client(tenant.admin_token())
    console = Console()
    code = await run_policy(
        args("apply", file, yes=True), GraphRolePolicies(http), console, Audit()
    )
    await http.aclose()
    assert code == 2
    assert message in console.said
    assert tenant.patches() == []


def test_a_file_naming_a_role_twice_is_refused() -> None:
    entry = {"role": "User Administrator", "id": USER_ADMIN}
    with pytest.raises(PolicyFileError, match="listed twice"):
        load_text(yaml.safe_dump({"version": 1, "roles": [entry, entry]}))


def test_every_rule_of_a_policy_reads_back_into_the_same_rules() -> None:
    """Lossless: the settings read from the twin's rules give back each rule's decided fields."""
    from bot.graph.role_policies import changed_rules
    from bot.sandbox.tenant import load_tenant

    tenant = load_tenant()
    for spec in tenant.policies:
        rules = build_rules(tenant, spec)
        assert changed_rules(rules, settings_from_rules(rules)) == []


async def test_the_command_end_to_end_with_the_admins_token_and_the_audit_log(
    tenant: Tenant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pimbot policy apply FILE --yes` as typed: Graph from PIMBOT_GRAPH_URL, the admin's token
    from PIMBOT_ADMIN_TOKEN, the change in pimbot's audit log under the admin's id."""
    out = tmp_path / "roles.yaml"
    database = tmp_path / "pimbot.db"
    bots_database = await Database.connect(f"sqlite:///{database}")  # the bot's, as it runs
    await bots_database.migrate()
    await bots_database.close()
    monkeypatch.setenv("PIMBOT_GRAPH_URL", tenant.url)
    monkeypatch.setenv(ADMIN_TOKEN_ENV, tenant.admin_token())
    assert await asyncio.to_thread(main, ["policy", "export", "--out", str(out)]) == 0
    out.write_text(
        edit(
            out.read_text(), GLOBAL_ADMIN, lambda e: e["activation"].update(maximum_duration="PT1H")
        )
    )
    code = await asyncio.to_thread(
        main, ["policy", "apply", str(out), "--yes", "--database", f"sqlite:///{database}"]
    )
    assert code == 0
    db = await Database.connect(f"sqlite:///{database}")
    async with db.transaction() as tx:
        [entry] = await tx.audit.entries()
    await db.close()
    assert (entry.action, entry.outcome) == ("policy.apply", "changed")
    assert entry.actor_id == tenant.graph.tenant.user("breakglass1").id
    assert entry.details["role"] == "Global Administrator"
