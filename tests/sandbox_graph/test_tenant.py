"""The demo tenant file: what other parts of pimbot rely on finding in it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from bot.sandbox.tenant import DEFAULT_TENANT_PATH, DemoTenant, load_tenant

from .conftest import GLOBAL_ADMIN


def test_demo_tenant_is_contoso_with_pimbots_app_registration() -> None:
    tenant = load_tenant()
    assert tenant.display_name == "Contoso (sandbox)"
    assert tenant.domain == "contoso.example"
    app = tenant.pimbot_app
    assert app.client_id == "7d3c8a5e-2f1b-4c6a-9e0d-5b4a3c2d1e0f"
    assert app.client_secret == "sandbox-secret-not-for-production"
    assert set(app.application_permissions) == {
        "RoleManagement.ReadWrite.Directory",
        "RoleManagementPolicy.Read.Directory",
        "User.Read.All",
        "GroupMember.Read.All",
        "AuditLog.Read.All",  # users' last sign-in, for `standing`
        "TeamsAppInstallation.ReadWriteSelfForUser.All",  # to reach approvers without the app
        "RoleManagementAlert.ReadWrite.Directory",  # PIM's security alerts and their Fix
        "AccessReview.ReadWrite.All",  # access reviews
    }


def test_users_are_found_by_handle_upn_or_id_ignoring_case() -> None:
    tenant = load_tenant()
    adele = tenant.user("adele")
    assert tenant.user("ADELE@contoso.example") == adele
    assert tenant.user(adele.id.upper()) == adele
    assert adele.upn == "adele@contoso.example" and adele.mail == adele.upn
    with pytest.raises(KeyError):
        tenant.user("mallory")


def test_tenant_has_a_dozen_people_in_several_time_zones() -> None:
    tenant = load_tenant()
    people = [u for u in tenant.users if not u.break_glass]
    assert len(people) >= 12
    assert len({u.timezone for u in people}) >= 4


def test_two_break_glass_accounts_and_two_others_hold_permanent_global_administrator() -> None:
    tenant = load_tenant()
    break_glass = {u.handle for u in tenant.users if u.break_glass}
    assert break_glass == {"breakglass1", "breakglass2"}
    standing_global = {
        a.user
        for a in tenant.assignments
        if tenant.role(a.role).id == GLOBAL_ADMIN and a.end is None
    }
    # More than 2 permanent Global Administrators: what `standing` flags, and one of the two
    # others can be converted while the other stays active.
    assert standing_global == break_glass | {"miriam", "lee"}
    assert all(tenant.user(h).mail is None for h in break_glass)


def test_every_row_of_the_audit_table_has_standing_access_to_find() -> None:
    tenant = load_tenant()
    by_role: dict[str, list[bool]] = {}
    for a in tenant.assignments:
        if a.end is None and (a.app or not tenant.user(a.user).break_glass):
            by_role.setdefault(tenant.role(a.role).display_name, []).append(a.outside_pim)
    for role in (
        "Global Administrator",
        "Exchange Administrator",
        "Security Administrator",
        "User Administrator",
        "Application Administrator",
    ):
        assert by_role.get(role), role
    # Some made in PIM, some directly outside it.
    assert {made for flags in by_role.values() for made in flags} == {True, False}
    assert tenant.admin_group is not None
    assert {u.handle for u in tenant.users if u.last_sign_in} >= {"grady", "miriam"}


def test_apps_hold_roles_one_signing_in_and_one_stale_assigned_outside_pim() -> None:
    """What `standing` lists as apps and the stale-account alert finds among them."""
    tenant = load_tenant()
    held = {
        tenant.app_principal(a.app).display_name: (a.role, a.outside_pim)
        for a in tenant.assignments
        if a.app
    }
    assert held == {
        "Contoso HR Sync": ("User Administrator", False),
        "Legacy Provisioning Script": ("Application Administrator", True),
    }
    last = {name: tenant.app_principal(name).last_sign_in for name in held}
    busy, stale = last["Contoso HR Sync"], last["Legacy Provisioning Script"]
    assert busy is not None and stale is not None and busy - stale > timedelta(days=90)


def test_pim_approvers_reach_lidia_through_the_nested_security_leads_group() -> None:
    tenant = load_tenant()
    approvers = tenant.transitive_user_ids(tenant.group("PIM Approvers").id)
    assert [tenant.user(i).handle for i in approvers] == ["megan", "nestor", "lidia"]
    assert tenant.group("security leads").members == ["lidia"]


def test_roles_without_a_policy_get_microsofts_default() -> None:
    tenant = load_tenant()
    default = tenant.policy("Teams Administrator")
    assert default.max_duration.total_seconds() == 8 * 3600
    assert default.require_mfa and default.require_justification
    assert not default.require_ticket and default.approval is None


def test_policies_go_from_lax_to_strict() -> None:
    tenant = load_tenant()
    lax = tenant.policy("User Administrator")
    assert not (lax.require_mfa or lax.require_justification or lax.require_ticket)
    strict = tenant.policy("Global Administrator")
    assert strict.require_mfa and strict.require_justification and strict.require_ticket
    assert strict.approval is not None and strict.approval.groups == ["PIM Approvers"]
    assert strict.max_duration.total_seconds() == 2 * 3600


def _tenant_data() -> dict[str, object]:
    data = yaml.safe_load(DEFAULT_TENANT_PATH.read_text())
    assert isinstance(data, dict)
    return data


def test_a_typo_in_a_reference_fails_at_load_time() -> None:
    data = _tenant_data()
    data["eligibilities"] = [{"user": "adelle", "role": "Exchange Administrator"}]
    with pytest.raises(ValidationError, match="adelle"):
        DemoTenant.model_validate(data)


def test_an_unknown_field_fails_at_load_time(tmp_path: Path) -> None:
    data = _tenant_data()
    data["policies"] = [{"role": "User Administrator", "max_duraton": "PT1H"}]
    path = tmp_path / "tenant.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ValidationError, match="max_duraton"):
        load_tenant(path)


def test_some_people_have_a_manager_and_one_with_a_role_to_review_has_none() -> None:
    tenant = load_tenant()
    manager = tenant.manager_of("adele")
    assert manager is not None and manager.handle == "megan"
    assert tenant.manager_of("lynne") is None  # holds Exchange Administrator


def test_a_manager_must_be_a_user_of_the_tenant() -> None:
    data = _tenant_data()
    users = data["users"]
    assert isinstance(users, list)
    users[0]["manager"] = "nobodyhere"
    with pytest.raises(ValidationError, match="nobodyhere"):
        DemoTenant.model_validate(data)


def test_nested_groups_may_not_form_a_cycle() -> None:
    data = _tenant_data()
    groups = data["groups"]
    assert isinstance(groups, list)
    groups[1]["members"] = ["lidia", groups[0]["id"]]  # Security Leads ⊃ PIM Approvers ⊃ …
    with pytest.raises(ValidationError, match="cycle"):
        DemoTenant.model_validate(data)
