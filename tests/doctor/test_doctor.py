"""`pimbot doctor` against the sandbox's twins: a healthy deployment passes every check, and each
fault, injected into the twins or the settings, fails its check with words that say what to do,
and makes the run exit non-zero."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.cli import main
from bot.doctor import examine
from bot.doctor.report import Finding, Status, exit_code, render
from bot.manifest import ManifestValues, build_package
from bot.sandbox.runner import RunningSandbox, sandbox
from bot.sandbox.tenant import DemoTenant, load_tenant
from bot.settings import EngineName, Settings
from tests.support.clock import FakeClock

HOSTNAME = "pimbot.contoso.example"


@dataclass
class Deployment:
    running: RunningSandbox
    tmp_path: Path

    @property
    def settings(self) -> Settings:
        return self.running.settings

    def package(self, app_id: str | None = None) -> Path:
        """The Teams app package an operator uploaded (for `app_id`, MicrosoftAppId's by
        default)."""
        settings = Settings.model_validate(
            self.settings.model_dump()
            | {"app_id": app_id or self.settings.app_id, "public_hostname": HOSTNAME}
        )
        out = self.tmp_path / f"pimbot-{app_id or 'own'}.zip"
        return build_package(ManifestValues.from_settings(settings), out)

    async def examine(self, **settings: Any) -> list[Finding]:
        """The doctor's findings for the sandbox's settings with `settings` changed."""
        changed = Settings.model_validate(self.settings.model_dump() | settings)
        return await self.examine_with(changed)

    async def examine_with(
        self, settings: Settings, *, manifest: Path | None = None, endpoint: str | None = None
    ) -> list[Finding]:
        return await examine(
            settings,
            manifest=manifest or self.package(),
            endpoint=endpoint or self.running.bot_url,
        )

    def in_twins(self, change: Callable[[], None]) -> None:
        async def run() -> None:
            change()

        self.running.twins.call(run)


def with_permissions(tenant: DemoTenant, permissions: list[str]) -> DemoTenant:
    app = tenant.pimbot_app.model_copy(update={"application_permissions": permissions})
    return tenant.model_copy(update={"apps": [app, *tenant.apps[1:]]})


DEMO_PERMISSIONS = list(load_tenant().pimbot_app.application_permissions)
CAN_READ_ASSIGNMENTS = [*DEMO_PERMISSIONS, "Application.Read.All"]


async def _deployment(tmp_path: Path, tenant: DemoTenant) -> AsyncIterator[Deployment]:
    async with sandbox(
        tenant=tenant,
        database_url=f"sqlite:///{tmp_path / 'pimbot.db'}",
        state_dir=tmp_path,
        now=FakeClock(),
        run_scheduler=False,
    ) as running:
        yield Deployment(running, tmp_path)


@pytest.fixture
async def deployment(tmp_path: Path) -> AsyncIterator[Deployment]:
    async for made in _deployment(tmp_path, with_permissions(load_tenant(), CAN_READ_ASSIGNMENTS)):
        yield made


@pytest.fixture
async def least_privileged(tmp_path: Path) -> AsyncIterator[Deployment]:
    """The demo tenant as it is: pimbot may not read service principals."""
    async for made in _deployment(tmp_path, load_tenant()):
        yield made


def finding(findings: list[Finding], check: str, status: Status | None = None) -> Finding:
    matching = [f for f in findings if f.check == check and (status is None or f.status is status)]
    wanted = f"{check!r} ({status})" if status else repr(check)
    assert matching, f"no {wanted} finding:\n{render(findings)}"
    return matching[0]


def failed(findings: list[Finding], check: str) -> Finding:
    assert exit_code(findings) == 1, render(findings)
    return finding(findings, check, Status.FAIL)


# --- a healthy deployment --------------------------------------------------------------------


async def test_a_healthy_deployment_passes_every_check(deployment: Deployment) -> None:
    findings = await deployment.examine()

    assert exit_code(findings) == 0, render(findings)
    assert {f.check for f in findings} == {
        "Bot Connector token",
        "Graph token",
        "Graph permissions",
        "PIM",
        "Messaging endpoint",
        "Teams app manifest",
        "SSO connection",
        "Database",
    }
    assert all(f.status is Status.OK for f in findings), render(findings)
    permissions = finding(findings, "Graph permissions")
    assert "app role assignments" in permissions.message
    # Read as Graph documents it: the principal by appId, its assignments, Graph's app roles.
    calls = [c for c in deployment.running.twins.graph.calls if "servicePrincipals" in c.path]
    assert {c.status for c in calls} == {200}
    assert any(c.path.endswith("/appRoleAssignments") for c in calls)
    assert "answers 401" in finding(findings, "Messaging endpoint").message


async def test_without_application_read_all_the_permissions_come_from_the_token(
    least_privileged: Deployment,
) -> None:
    findings = await least_privileged.examine()

    assert exit_code(findings) == 0, render(findings)
    permissions = finding(findings, "Graph permissions", Status.OK)
    assert "roles claim" in permissions.message and "Application.Read.All" in permissions.message
    refused = [
        c for c in least_privileged.running.twins.graph.calls if "servicePrincipals" in c.path
    ]
    assert [c.status for c in refused] == [403]


async def test_the_command_prints_each_check_and_exits_zero(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in deployment.running.twins.bot_environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PIMBOT_DATABASE_URL", deployment.settings.database_url)
    monkeypatch.chdir(deployment.tmp_path)  # no .env of the checkout

    code = await _in_thread(
        lambda: main(
            [
                "doctor",
                "--manifest",
                str(deployment.package()),
                "--endpoint",
                deployment.running.bot_url,
            ]
        )
    )

    printed = capsys.readouterr().out
    assert code == 0, printed
    assert printed.count("[ok  ]") == 8


# --- each fault ------------------------------------------------------------------------------


async def test_a_wrong_secret_gets_no_token_and_says_to_make_a_new_one(
    deployment: Deployment,
) -> None:
    findings = await deployment.examine(
        app_password="not-the-secret", graph_client_secret="not-the-secret"
    )

    connector = failed(findings, "Bot Connector token")
    assert "7000215" in connector.message
    assert "Certificates & secrets" in connector.fix and "New client secret" in connector.fix
    graph = failed(findings, "Graph token")
    assert "Certificates & secrets" in graph.fix
    assert finding(findings, "Graph permissions").status is Status.SKIP
    # Without the Bot Connector token the OAuth connection cannot be asked.
    assert finding(findings, "SSO connection").status is Status.SKIP


async def test_no_app_id_is_a_bot_that_would_not_start(deployment: Deployment) -> None:
    findings = await deployment.examine(app_id="", allow_anonymous=False)

    refused = failed(findings, "Bot Connector token")
    assert "would not start" in refused.message and "MicrosoftAppId is empty" in refused.message
    assert "Set MicrosoftAppId" in refused.fix


async def test_a_permission_without_admin_consent_is_named_with_where_to_grant_it(
    tmp_path: Path,
) -> None:
    lacking = [p for p in CAN_READ_ASSIGNMENTS if p != "GroupMember.Read.All"]
    async for deployment in _deployment(tmp_path, with_permissions(load_tenant(), lacking)):
        findings = await deployment.examine()

    missing = failed(findings, "Graph permissions")
    assert missing.message.startswith("GroupMember.Read.All (application, Microsoft Graph)")
    assert "approver groups" in missing.message
    assert "API permissions" in missing.fix and "Grant admin consent" in missing.fix


async def test_the_pim_engine_is_warned_of_a_permission_that_can_grant_any_role(
    deployment: Deployment,
) -> None:
    findings = await deployment.examine(engine=EngineName.PIM)

    assert exit_code(findings) == 0, render(findings)
    tier_zero = finding(findings, "Graph permissions", Status.WARN)
    assert "RoleManagement.ReadWrite.Directory" in tier_zero.message
    assert "Remove" in tier_zero.fix


def with_delegated(tenant: DemoTenant, delegated: list[str]) -> DemoTenant:
    app = tenant.pimbot_app.model_copy(update={"delegated_permissions": delegated})
    return tenant.model_copy(update={"apps": [app, *tenant.apps[1:]]})


CAN_READ_GRANTS = [*CAN_READ_ASSIGNMENTS, "Directory.Read.All"]


async def test_the_pim_engine_needs_admin_consent_for_its_delegated_permission(
    tmp_path: Path,
) -> None:
    consented = with_permissions(load_tenant(), CAN_READ_GRANTS)
    async for deployment in _deployment(tmp_path / "consented", consented):
        findings = await deployment.examine(engine=EngineName.PIM)
    assert finding(findings, "Delegated consent").status is Status.OK, render(findings)

    not_consented = with_delegated(consented, ["User.Read"])
    async for deployment in _deployment(tmp_path / "not", not_consented):
        findings = await deployment.examine(engine=EngineName.PIM)
    missing = failed(findings, "Delegated consent")
    assert "RoleAssignmentSchedule.ReadWrite.Directory (delegated" in missing.message
    assert "Delegated permissions" in missing.fix and "Grant admin consent" in missing.fix


async def test_without_directory_read_all_the_delegated_consent_is_left_to_check_by_hand(
    deployment: Deployment,
) -> None:
    findings = await deployment.examine(engine=EngineName.PIM)

    by_hand = finding(findings, "Delegated consent", Status.WARN)
    assert "Directory.Read.All" in by_hand.message
    assert "Granted for" in by_hand.fix


async def test_a_tenant_without_the_pim_licence_is_told_which_licence(
    deployment: Deployment,
) -> None:
    def unlicensed() -> None:
        deployment.running.twins.graph.licence.licensed = False

    deployment.in_twins(unlicensed)
    findings = await deployment.examine()

    pim = failed(findings, "PIM")
    assert "AadPremiumLicenseRequired" in pim.message
    assert "Microsoft Entra ID P2" in pim.fix
    calls = deployment.running.twins.graph.calls
    assert any(c.status == 403 and "roleEligibilityScheduleInstances" in c.path for c in calls)


async def test_an_endpoint_nobody_answers_at_is_not_reachable(deployment: Deployment) -> None:
    findings = await deployment.examine_with(
        deployment.settings, endpoint="http://127.0.0.1:9/api/messages"
    )

    endpoint = failed(findings, "Messaging endpoint")
    assert "not reachable" in endpoint.message
    assert "ingress" in endpoint.fix


async def test_an_endpoint_that_answers_without_a_token_fails(deployment: Deployment) -> None:
    async def anyone_welcome(_: web.Request) -> web.Response:
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/api/messages", anyone_welcome)
    async with TestServer(app, host="127.0.0.1") as server:
        findings = await deployment.examine_with(
            deployment.settings, endpoint=str(server.make_url("/api/messages"))
        )

    endpoint = failed(findings, "Messaging endpoint")
    assert "answered 200" in endpoint.message and "WITHOUT a token" in endpoint.message
    assert "MicrosoftAppId" in endpoint.fix


async def test_an_oauth_connection_for_another_resource_is_an_sso_mismatch(
    deployment: Deployment,
) -> None:
    def elsewhere() -> None:
        connection = deployment.running.twins.teams.token_service.connections["pimbot-sso"]
        connection.token_exchange_url = "api://botid-00000000-0000-0000-0000-000000000001"

    deployment.in_twins(elsewhere)
    findings = await deployment.examine()

    sso = failed(findings, "SSO connection")
    assert "api://botid-00000000-0000-0000-0000-000000000001" in sso.message
    assert f"api://botid-{deployment.settings.app_id}" in sso.fix


async def test_an_oauth_connection_name_the_bot_does_not_have_fails(
    deployment: Deployment,
) -> None:
    findings = await deployment.examine(oauth_connection="contoso-sso")

    sso = failed(findings, "SSO connection")
    assert "'contoso-sso'" in sso.message
    assert "Add OAuth Connection Settings" in sso.fix


async def test_a_manifest_for_another_bot_is_named(deployment: Deployment) -> None:
    other = "00000000-0000-0000-0000-0000000000aa"
    findings = await deployment.examine_with(
        deployment.settings, manifest=deployment.package(app_id=other)
    )

    manifest = failed(findings, "Teams app manifest")
    assert other in manifest.message and deployment.settings.app_id in manifest.message
    assert "pimbot manifest build" in manifest.fix
    # Its webApplicationInfo is another app's too.
    assert finding(findings, "SSO connection").status is Status.FAIL


async def test_a_database_nobody_answers_at_is_unreachable(deployment: Deployment) -> None:
    findings = await deployment.examine(
        database_url="postgresql://pimbot:not-shown@127.0.0.1:9/pimbot"
    )

    db = failed(findings, "Database")
    assert "not reachable" in db.message
    assert "not-shown" not in db.message and "***" in db.message
    assert "firewall" in db.fix


async def test_a_database_never_migrated_says_to_start_pimbot_once(
    deployment: Deployment, tmp_path: Path
) -> None:
    findings = await deployment.examine(database_url=f"sqlite:///{tmp_path / 'empty.db'}")

    db = failed(findings, "Database")
    assert "migration none" in db.message
    assert "pimbot serve" in db.fix


async def _in_thread(function: Callable[[], int]) -> int:
    """`main` runs its own event loop, so not on the test's."""
    return await asyncio.to_thread(function)
