"""`pimbot doctor` and the admin side: with `PIMBOT_ADMIN_GROUP_ID` set it also checks what the
admin commands need (docs/engines.md, docs/alerts.md), and a missing one is a warning that names
the admin feature that will not work; without an admin group it asks nothing more. Faults are
injected as in test_doctor.py: the twins' app registration holds other permissions."""

from __future__ import annotations

from pathlib import Path

from bot.doctor.permissions import ADMIN_DELEGATED, ADMIN_DELEGATED_PURPOSES
from bot.doctor.report import Finding, Status, exit_code, render
from bot.sandbox.tenant import load_tenant
from bot.settings import EngineName
from tests.doctor.test_doctor import (
    CAN_READ_ASSIGNMENTS,
    CAN_READ_GRANTS,
    _deployment,
    finding,
    with_delegated,
    with_permissions,
)

# What the bot engine needs and nothing of the admin side: the role writes are
# RoleAssignmentSchedule.ReadWrite.Directory, which cannot make an eligibility.
ADMIN_SIDE_APP = (
    "RoleManagement.ReadWrite.Directory",
    "RoleManagementAlert.ReadWrite.Directory",
    "AuditLog.Read.All",
)
BOT_ENGINE_ONLY = [
    *(p for p in CAN_READ_ASSIGNMENTS if p not in ADMIN_SIDE_APP),
    "RoleAssignmentSchedule.ReadWrite.Directory",
    "RoleManagement.Read.Directory",
]
PIM_ENGINE_READS = [
    "RoleManagement.Read.Directory",
    "RoleManagementPolicy.Read.Directory",
    "User.Read.All",
    "GroupMember.Read.All",
    "TeamsAppInstallation.ReadWriteSelfForUser.All",
    "Application.Read.All",
    "Directory.Read.All",
]


def warnings(findings: list[Finding], check: str) -> list[Finding]:
    return [f for f in findings if f.check == check and f.status is Status.WARN]


async def test_the_bot_engine_without_the_admin_sides_permissions_is_warned_feature_by_feature(
    tmp_path: Path,
) -> None:
    async for deployment in _deployment(tmp_path, with_permissions(load_tenant(), BOT_ENGINE_ONLY)):
        assert deployment.settings.admin_group_id  # the demo tenant has pimbot's admins
        findings = await deployment.examine()

    assert exit_code(findings) == 0, render(findings)  # the activation workflow is whole
    engine = finding(findings, "Graph permissions", Status.OK)
    assert "admin side" not in engine.message
    warned = {w.message.split(" ", 1)[0]: w for w in warnings(findings, "Graph permissions")}
    assert set(warned) == {
        "RoleEligibilitySchedule.ReadWrite.Directory",
        "RoleManagementAlert.ReadWrite.Directory",
        "AuditLog.Read.All",
    }, render(findings)
    conversions = warned["RoleEligibilitySchedule.ReadWrite.Directory"]
    assert "`standing` cannot convert anyone" in conversions.message
    assert "no Fix works" in warned["RoleManagementAlert.ReadWrite.Directory"].message
    assert "last sign-in as not known" in warned["AuditLog.Read.All"].message
    for warning in warned.values():
        assert "PIMBOT_ADMIN_GROUP_ID" in warning.message
        assert "Application permissions" in warning.fix and "Grant admin consent" in warning.fix


async def test_without_an_admin_group_the_admin_sides_permissions_are_not_asked_for(
    tmp_path: Path,
) -> None:
    async for deployment in _deployment(tmp_path, with_permissions(load_tenant(), BOT_ENGINE_ONLY)):
        findings = await deployment.examine(admin_group_id="")

    assert exit_code(findings) == 0, render(findings)
    assert warnings(findings, "Graph permissions") == [], render(findings)


async def test_a_deployment_with_every_admin_permission_says_so(tmp_path: Path) -> None:
    async for deployment in _deployment(
        tmp_path, with_permissions(load_tenant(), CAN_READ_ASSIGNMENTS)
    ):
        findings = await deployment.examine()

    granted = finding(findings, "Graph permissions", Status.OK)
    assert "and every one the admin side needs" in granted.message
    assert warnings(findings, "Graph permissions") == [], render(findings)


async def test_the_pim_engine_without_pims_alerts_is_told_they_are_computed(
    tmp_path: Path,
) -> None:
    reads_only = with_permissions(load_tenant(), PIM_ENGINE_READS)
    async for deployment in _deployment(tmp_path, reads_only):
        findings = await deployment.examine(engine=EngineName.PIM)

    assert exit_code(findings) == 0, render(findings)
    warned = {w.message.split(" ", 1)[0]: w for w in warnings(findings, "Graph permissions")}
    # The pim engine converts with the admin's own token: no application write is asked for.
    assert set(warned) == {"RoleManagementAlert.Read.Directory", "AuditLog.Read.All"}
    alerts = warned["RoleManagementAlert.Read.Directory"]
    assert "the alerts pimbot computes instead" in alerts.message


async def test_the_pim_engine_needs_consent_for_the_admins_conversions(tmp_path: Path) -> None:
    consented = with_permissions(load_tenant(), CAN_READ_GRANTS)
    async for deployment in _deployment(tmp_path / "both", consented):
        findings = await deployment.examine(engine=EngineName.PIM)
    both = finding(findings, "Delegated consent", Status.OK)
    assert "RoleEligibilitySchedule.ReadWrite.Directory" in both.message
    assert warnings(findings, "Delegated consent") == []

    people_only = with_delegated(consented, ["RoleAssignmentSchedule.ReadWrite.Directory"])
    async for deployment in _deployment(tmp_path / "people", people_only):
        findings = await deployment.examine(engine=EngineName.PIM)
        without_admins = await deployment.examine(engine=EngineName.PIM, admin_group_id="")

    assert exit_code(findings) == 0, render(findings)
    assert "RoleAssignmentSchedule.ReadWrite.Directory (delegated) has admin consent" in (
        finding(findings, "Delegated consent", Status.OK).message
    )
    conversions, mfa_fix = warnings(findings, "Delegated consent")
    assert conversions.message.startswith("RoleEligibilitySchedule.ReadWrite.Directory (delegated")
    assert "`standing` cannot convert anyone to eligible" in conversions.message
    assert "Delegated permissions > RoleEligibilitySchedule.ReadWrite.Directory" in conversions.fix
    assert mfa_fix.message.startswith("RoleManagementPolicy.ReadWrite.Directory (delegated")
    assert "cannot turn MFA on in a role's policy" in mfa_fix.message
    assert warnings(without_admins, "Delegated consent") == [], render(without_admins)


async def test_delegated_grants_checked_by_hand_name_the_admin_sides_permission_too(
    tmp_path: Path,
) -> None:
    async for deployment in _deployment(
        tmp_path, with_permissions(load_tenant(), CAN_READ_ASSIGNMENTS)
    ):
        findings = await deployment.examine(engine=EngineName.PIM)

    [by_hand] = warnings(findings, "Delegated consent")
    assert "RoleEligibilitySchedule.ReadWrite.Directory" in by_hand.fix
    assert "RoleAssignmentSchedule.ReadWrite.Directory" in by_hand.fix


def test_every_delegated_permission_of_the_admin_side_says_what_it_is_for() -> None:
    assert set(ADMIN_DELEGATED) <= set(ADMIN_DELEGATED_PURPOSES)
