"""The `settings <role>` card: user text escaped, and far below Teams' 28 KB however many hold
the role."""

from __future__ import annotations

import json

from bot.governance.domain import (
    Activation,
    Approval,
    ApprovalStage,
    Approver,
    RoleHolder,
    RoleOverview,
    RolePolicy,
    RoleSettings,
)
from cards.governance.role_settings import MAX_NAMES, role_settings_card

TEAMS_CARD_LIMIT = 28 * 1024


def overview(holders: int, name: str = "Exchange Administrator") -> RoleOverview:
    approval = Approval(
        required=True, stages=(ApprovalStage(approvers=(Approver(user="u1", name="**Megan**"),)),)
    )
    policy = RolePolicy(
        role_id="r",
        role_name=name,
        policy_id="p",
        settings=RoleSettings(activation=Activation(approval=approval)),
    )
    people = tuple(
        RoleHolder(principal_id=f"id-{i}", name=f"Person {i:05d}", holds="eligible")
        for i in range(holders)
    )
    return RoleOverview(policy=policy, holders=people)


def test_ten_thousand_holders_are_counted_not_listed() -> None:
    card = role_settings_card(overview(10_000))
    text = json.dumps(card)
    assert len(text.encode()) < TEAMS_CARD_LIMIT / 4
    eligible = next(
        f["value"] for b in card["body"] for f in b.get("facts", []) if f["title"] == "Eligible"
    )
    assert eligible.startswith("10000: Person 00000")
    assert eligible.endswith(f"and {10_000 - MAX_NAMES} more")


def test_names_from_the_tenant_are_shown_as_text_not_markdown() -> None:
    text = json.dumps(role_settings_card(overview(1, name="[Admin](https://evil.example)")))
    assert "[Admin](https://evil.example)" not in text
    assert "**Megan**" not in text
