"""The admin side's cards built from typed sample data shaped like the sandbox's demo tenant
(`bot/sandbox/demo_tenant.yaml`): its people, roles, standing assignments and break-glass
accounts, as `standing`, four-eyes, `alerts`, `settings <role>` and `help` show them. They join
the other cards in `tests/cards/test_cards.py` (schema, size, buttons pimbot can read) and are
drawn in docs/cards/ by `tests/cards_render/`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import cards
from bot.domain import Person, Role
from bot.governance.domain import (
    Activation,
    AdminChange,
    Alert,
    AlertKind,
    AlertSource,
    AlertsReport,
    Approval,
    ApprovalStage,
    Approver,
    Assignment,
    ChangeState,
    Finding,
    RoleHolder,
    RoleOverview,
    RolePolicy,
    RoleSettings,
    StandingAssignment,
    StandingReport,
)
from cards.governance.alerts import alert_page_card, alerts_card, fix_confirmation_card
from cards.governance.four_eyes import change_status, second_admin_request
from cards.governance.help import with_admin_help
from cards.governance.role_settings import role_settings_card
from cards.governance.standing import standing_list

TENANT = "b5a2c1f0-3d4e-4f6a-8b7c-9d0e1f2a3b4c"
NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)  # the sandbox's demo date
ADMIN_COMMANDS = ("standing", "settings", "alerts")  # what the admin front registers


def _person(user_id: str, name: str, upn: str) -> Person:
    return Person(id=user_id, tenant_id=TENANT, display_name=name, upn=upn)


ALEX = _person("9117c8fa-0c27-5153-b369-4efacd5f9740", "Alex Wilber", "alex@contoso.example")
MEGAN = _person("9a5768bb-92d7-537a-b265-9aaefd3b6f1a", "Megan Bowen", "megan@contoso.example")
MIRIAM = _person("374c992c-aacf-546d-965f-ad4fb5185657", "Miriam Graham", "miriam@contoso.example")
GRADY = _person("6c578a85-2b6b-585c-97f5-4d09da081d14", "Grady Archie", "grady@contoso.example")
LEE = _person("c9d0750c-3785-5de9-b9e7-2de1f34b55ba", "Lee Gu", "lee@contoso.example")
LYNNE = _person("0f3483b8-81ce-55e4-993a-e6b3ace0efa5", "Lynne Robbins", "lynne@contoso.example")
JONI = _person("f5f05f4b-16ef-5456-93b6-3742f1acd5bc", "Joni Sherman", "joni@contoso.example")
PRADEEP = _person(
    "809e6401-07f6-5527-bee2-bf87b942a3a6", "Pradeep Gupta", "pradeep@contoso.example"
)
ISAIAH = _person("69f8ea76-296e-5e6f-bd85-4e6529baac01", "Isaiah Langer", "isaiah@contoso.example")
HR_SYNC = _person("0b1c2d3e-4f50-5a6b-8c7d-9e0f1a2b3c4d", "Contoso HR Sync", "")  # an app
LEGACY_APP = _person("1c2d3e4f-5061-5b7c-9d8e-0f1a2b3c4d5e", "Legacy Provisioning Script", "")
BREAK_GLASS_1 = _person(
    "6a350cf6-d964-54e0-ae49-dd0ba7c4a20f", "Break Glass 1", "breakglass1@contoso.example"
)
BREAK_GLASS_2 = _person(
    "6c90ee97-e5a2-56ea-ac89-f555741f4cd3", "Break Glass 2", "breakglass2@contoso.example"
)
JOHANNA = _person(
    "2fac5fbf-71b3-58ba-b5d6-f0e8b47a1e07", "Johanna Lorenz", "johanna@contoso.example"
)
ADELE = _person("dcca3857-d360-5149-8193-4741a33647e0", "Adele Vance", "adele@contoso.example")

GLOBAL = Role(id="62e90394-69f5-4237-9190-012177145e10", display_name="Global Administrator")
EXCHANGE = Role(id="29232cdf-9323-42fd-ade2-1d097af3e4de", display_name="Exchange Administrator")
SECURITY = Role(id="194ae4cb-b126-40b2-bd5b-6091b380977d", display_name="Security Administrator")
USER_ADMIN = Role(id="fe930be7-5e62-47db-91af-98c3a49a38b1", display_name="User Administrator")
APP_ADMIN = Role(
    id="9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", display_name="Application Administrator"
)
SHAREPOINT = Role(
    id="f28a1f50-f6e7-4571-818b-6a12f2af6b6c", display_name="SharePoint Administrator"
)
TEAMS = Role(id="69091246-20e8-4a56-aa4d-066075b2a7a8", display_name="Teams Administrator")


SINCE = datetime(2024, 1, 1, tzinfo=UTC)  # the demo tenant's assignments all start here


def _signed_in(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 9, 0, tzinfo=UTC)


def _standing(
    person: Person,
    role: Role,
    *,
    outside_pim: bool = False,
    last_sign_in: datetime | None = None,
    break_glass: bool = False,
    app: bool = False,
) -> StandingAssignment:
    return StandingAssignment(
        principal=person,
        principal_type="servicePrincipal" if app else "user",
        role=role,
        assignment_id=f"{role.id}_{person.id}",
        origin="direct" if outside_pim else "pim",
        since=SINCE,
        last_sign_in=last_sign_in,
        break_glass=break_glass,
    )


# The demo tenant's standing access as `standing` reports it: riskiest roles first, and within
# Global Administrator the people pimbot may convert before the break-glass accounts it keeps.
STANDING = StandingReport(
    assignments=(
        _standing(LEE, GLOBAL, outside_pim=True, last_sign_in=_signed_in(2025, 6, 2)),
        _standing(MIRIAM, GLOBAL, last_sign_in=_signed_in(2026, 12, 4)),
        _standing(BREAK_GLASS_1, GLOBAL, last_sign_in=_signed_in(2026, 10, 1), break_glass=True),
        _standing(BREAK_GLASS_2, GLOBAL, break_glass=True),
        _standing(JONI, SECURITY, last_sign_in=_signed_in(2026, 12, 1)),
        _standing(GRADY, EXCHANGE, last_sign_in=_signed_in(2026, 11, 30)),
        _standing(LYNNE, EXCHANGE, outside_pim=True),
        _standing(HR_SYNC, USER_ADMIN, last_sign_in=_signed_in(2026, 12, 5), app=True),
        _standing(PRADEEP, USER_ADMIN, outside_pim=True),
        _standing(ISAIAH, APP_ADMIN, last_sign_in=_signed_in(2026, 9, 15)),
        _standing(
            LEGACY_APP, APP_ADMIN, outside_pim=True, last_sign_in=_signed_in(2026, 4, 20), app=True
        ),
    ),
    permanent_global_admins=4,
    taken_at=NOW,
)


def _conversion(state: ChangeState, **changes: Any) -> AdminChange:
    """Megan asks to convert Miriam's standing Global Administrator: four-eyes."""
    base = AdminChange(
        id="admchg_5e1b07",
        tenant_id=TENANT,
        kind="standing.convert",
        target_key=f"standing.convert:{MIRIAM.id}:{GLOBAL.id}",
        role_id=GLOBAL.id,
        title="Convert Miriam Graham's standing Global Administrator to eligible",
        facts=[
            ("Person", "Miriam Graham"),
            ("Role", "Global Administrator"),
            ("Standing since", SINCE.strftime("%Y-%m-%d")),
            ("Assigned", "in PIM"),
            ("Eligible for", "180 days"),
        ],
        payload={"principal_id": MIRIAM.id, "role_id": GLOBAL.id, "window": "P180D"},
        proposer=MEGAN,
        needs_second=True,
        state=state,
        created_at=NOW,
        updated_at=NOW,
    )
    return base.model_copy(update=changes)


def _decided(state: ChangeState, reason: str) -> AdminChange:
    """Alex, the second admin, decides."""
    return _conversion(
        state,
        decided_by=ALEX,
        decided_at=NOW + timedelta(minutes=6),
        decision_reason=reason,
        updated_at=NOW + timedelta(minutes=7),
    )


def _finding(person: Person, role: Role, detail: str = "", *, app: bool = False) -> Finding:
    return Finding(
        key=f"{person.id}:{role.id}",
        principal_id=person.id,
        principal_type="servicePrincipal" if app else "user",
        principal_name=person.display_name,
        role_id=role.id,
        role_name=role.display_name,
        detail=detail,
    )


def _role_finding(role: Role) -> Finding:
    return Finding(key=role.id, role_id=role.id, role_name=role.display_name)


TOO_MANY_GLOBAL_ADMINS = Alert(
    kind=AlertKind.TOO_MANY_GLOBAL_ADMINS,
    source=AlertSource.GRAPH,
    active=True,
    severity="low",
    threshold="more than 4",
    findings=(
        _finding(BREAK_GLASS_1, GLOBAL),
        _finding(BREAK_GLASS_2, GLOBAL),
        _finding(MIRIAM, GLOBAL),
        _finding(LEE, GLOBAL),
        _finding(ADELE, GLOBAL),
    ),
)
ALERTS = AlertsReport(
    alerts=(
        TOO_MANY_GLOBAL_ADMINS,
        Alert(
            kind=AlertKind.OUTSIDE_PIM,
            source=AlertSource.GRAPH,
            active=True,
            severity="high",
            findings=(
                _finding(LEE, GLOBAL, "assigned 2024-01-01"),
                _finding(LYNNE, EXCHANGE, "assigned 2024-01-01"),
                _finding(PRADEEP, USER_ADMIN, "assigned 2024-01-01"),
                _finding(LEGACY_APP, APP_ADMIN, "assigned 2024-01-01", app=True),
            ),
        ),
        Alert(
            kind=AlertKind.NO_MFA,
            source=AlertSource.GRAPH,
            active=True,
            severity="high",
            findings=(_role_finding(USER_ADMIN), _role_finding(APP_ADMIN)),
        ),
        Alert(
            kind=AlertKind.STALE_ELIGIBLE,
            source=AlertSource.GRAPH,
            active=True,
            severity="medium",
            threshold="90 days",
            findings=(
                _finding(ADELE, APP_ADMIN, "never activated"),
                _finding(ADELE, SECURITY, "never activated"),
                _finding(ADELE, USER_ADMIN, "never activated"),
                _finding(ADELE, GLOBAL, "never activated"),
                _finding(LEE, SHAREPOINT, "never activated"),
                _finding(
                    JOHANNA,
                    TEAMS,
                    "never activated",
                ),
                _finding(
                    ALEX,
                    USER_ADMIN,
                    "never activated",
                ),
            ),
        ),
        Alert(
            kind=AlertKind.STALE_SIGN_IN,
            source=AlertSource.GRAPH,
            active=True,
            severity="medium",
            threshold="90 days",
            findings=(
                _finding(LEE, GLOBAL, "last signed in 2025-06-02"),
                _finding(LEGACY_APP, APP_ADMIN, "last signed in 2026-04-20", app=True),
            ),
        ),
    ),
    taken_at=NOW,
)
ALL_CLEAR = AlertsReport(
    alerts=tuple(
        Alert(
            kind=kind,
            source=AlertSource.COMPUTED,
            active=False,
            note="PIM's alerts are not available to pimbot here (Graph 403 Forbidden)",
        )
        for kind in AlertKind
    ),
    taken_at=NOW,
)

PIM_APPROVERS = "fc259843-2ed5-5a68-b275-f6cd31ea1143"
GLOBAL_SETTINGS = RoleOverview(
    policy=RolePolicy(
        role_id=GLOBAL.id,
        role_name=GLOBAL.display_name,
        policy_id=f"Directory_{TENANT}_{GLOBAL.id}",
        settings=RoleSettings(
            activation=Activation(
                maximum_duration=timedelta(hours=2),
                require_mfa=True,
                require_justification=True,
                require_ticket=True,
                approval=Approval(
                    required=True,
                    stages=(
                        ApprovalStage(
                            approvers=(Approver(group=PIM_APPROVERS, name="PIM Approvers"),)
                        ),
                    ),
                ),
            ),
            assignment=Assignment(permanent_active_allowed=True),
        ),
    ),
    holders=(
        RoleHolder(principal_id=ADELE.id, name=ADELE.display_name, holds="eligible"),
        *(
            RoleHolder(principal_id=p.id, name=p.display_name, holds="standing")
            for p in (BREAK_GLASS_1, BREAK_GLASS_2, MIRIAM, LEE)
        ),
    ),
)


ADMIN_CARDS: dict[str, Callable[[], dict[str, Any]]] = {
    "standing": lambda: standing_list(STANDING, page=0, window=timedelta(days=180)),
    "standing none": lambda: standing_list(
        StandingReport(assignments=(), permanent_global_admins=0, taken_at=NOW),
        page=0,
        window=timedelta(days=180),
    ),
    "admin change second admin": lambda: second_admin_request(
        _conversion(ChangeState.AWAITING_SECOND),
        tz="America/New_York",
        refresh_user_ids=["29:megan", "29:nestor", "29:alex"],
    ),
    "admin change done": lambda: change_status(
        _decided(ChangeState.DONE, "the other GA stays; INC-9 audit"),
        tz="America/New_York",
    ),
    "admin change denied": lambda: change_status(
        _decided(ChangeState.DENIED, "Miriam is on call for the tenant migration until Friday"),
        tz="America/New_York",
    ),
    "alerts": lambda: alerts_card(ALERTS, tz="Europe/London"),
    "alerts all clear": lambda: alerts_card(ALL_CLEAR, tz="Europe/London"),
    "alert page": lambda: alert_page_card(
        TOO_MANY_GLOBAL_ADMINS, 0, taken_at=NOW, tz="Europe/London", can_fix=True
    ),
    "alert fix confirmation": lambda: fix_confirmation_card(
        TOO_MANY_GLOBAL_ADMINS, TOO_MANY_GLOBAL_ADMINS.findings[2]
    ),
    "role settings": lambda: role_settings_card(GLOBAL_SETTINGS, tz="Europe/London"),
    "help for admins": lambda: with_admin_help(
        cards.help_card(), commands=ADMIN_COMMANDS, enabled=True
    ),
    "help admin commands off": lambda: with_admin_help(
        cards.help_card(), commands=ADMIN_COMMANDS, enabled=False
    ),
}
