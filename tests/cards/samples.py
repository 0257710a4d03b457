"""Typed sample data for card tests, and the checks every card must pass."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft6Validator

from bot.domain import (
    ActivationPolicy,
    ActivationRequest,
    ActiveRole,
    ApproverKind,
    ApproverRef,
    EligibleRole,
    Person,
    RequestKind,
    RequestState,
    Role,
    Ticket,
)
from cards.actions import parse_action
from cards.governance.actions import AdminVerb, parse_admin_action
from cards.governance.alert_actions import AlertsVerb, parse_alerts_action
from cards.governance.reviews import ReviewVerb, parse_review_action

TEAMS_MAX_CARD_BYTES = 28 * 1024
NOW = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)

EXCHANGE = Role(id="29232cdf-9323-42fd-ade2-1d097af3e4de", display_name="Exchange Administrator")
GLOBAL = Role(id="62e90394-69f5-4237-9190-012177145e10", display_name="Global Administrator")
SECURITY = Role(id="194ae4cb-b126-40b2-bd5b-6091b380977d", display_name="Security Administrator")
SECURITY_READER = Role(id="5d6b6bb7-de71-4623-b4af-96380a352509", display_name="Security Reader")

ALICE = Person(
    id="aaaaaaaa-0000-0000-0000-000000000001",
    tenant_id="t1",
    display_name="Alice Admin",
    upn="alice@contoso.example",
)
BOB = Person(
    id="bbbbbbbb-0000-0000-0000-000000000002",
    tenant_id="t1",
    display_name="Bob Approver",
    upn="bob@contoso.example",
)

LAX = ActivationPolicy(role_id=EXCHANGE.id, max_duration=timedelta(hours=8))
STRICT = ActivationPolicy(
    role_id=GLOBAL.id,
    max_duration=timedelta(hours=2),
    require_justification=True,
    require_ticket=True,
    require_mfa=True,
    require_approval=True,
    require_approval_for_extension=True,
    approver_justification_required=True,
    approvers=(ApproverRef(kind=ApproverKind.USER, id=BOB.id),),
)


def request(
    state: RequestState = RequestState.PENDING_APPROVAL,
    *,
    role: Role = EXCHANGE,
    justification: str = "INC-1234 mailbox restore",
    **changes: Any,
) -> ActivationRequest:
    base = ActivationRequest(
        id="req_7f3a9c",
        tenant_id="t1",
        requester=ALICE,
        role=role,
        kind=RequestKind.ACTIVATE,
        duration=timedelta(hours=2),
        justification=justification,
        ticket=Ticket(number="INC-1234", system="ServiceNow"),
        state=state,
        approver_ids=(BOB.id,),
        created_at=NOW,
        updated_at=NOW,
    )
    return base.model_copy(update=changes)


def decided(state: RequestState, **changes: Any) -> ActivationRequest:
    return request(
        state,
        decided_by=BOB,
        decided_at=NOW + timedelta(minutes=3),
        decision_reason="ok, on call this week",
        start=NOW + timedelta(minutes=4),
        end=NOW + timedelta(hours=2, minutes=4),
        **changes,
    )


def many_roles(count: int) -> list[Role]:
    return [
        Role(id=f"00000000-0000-0000-0000-{index:012d}", display_name=f"Sample Role {index:03d}")
        for index in range(count)
    ]


def eligible(*roles: Role) -> list[EligibleRole]:
    return [EligibleRole(role=role) for role in roles]


def active(*roles: Role) -> list[ActiveRole]:
    return [ActiveRole(role=role, start=NOW, end=NOW + timedelta(hours=1)) for role in roles]


# --- checks -----------------------------------------------------------------------------------


@cache
def _validator() -> Draft6Validator:
    text = (resources.files("adaptive_cards") / "schemas" / "schema-1.5.json").read_text("utf-8")
    return Draft6Validator(json.loads(text))


def schema_errors(card: dict[str, Any]) -> list[str]:
    """Adaptive Card 1.5 schema violations, Teams' own `msteams` extension left out."""
    stripped = copy.deepcopy(card)
    _strip_msteams(stripped)
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in _validator().iter_errors(stripped)
    ]


def _strip_msteams(node: Any) -> None:
    if isinstance(node, dict):
        node.pop("msteams", None)
        for value in node.values():
            _strip_msteams(value)
    elif isinstance(node, list):
        for item in node:
            _strip_msteams(item)


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every dict in the card, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def elements(card: dict[str, Any], type_prefix: str) -> list[dict[str, Any]]:
    return [node for node in walk(card) if str(node.get("type", "")).startswith(type_prefix)]


def inputs(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {node["id"]: node for node in elements(card, "Input.")}


def buttons(card: dict[str, Any]) -> list[dict[str, Any]]:
    """The Action.Execute buttons a person can press (not the refresh action, nor fallbacks)."""
    refresh = card.get("refresh", {}).get("action")
    return [node for node in elements(card, "Action.Execute") if node is not refresh]


def texts(card: dict[str, Any]) -> str:
    parts = []
    for node in walk(card):
        if node.get("type") == "TextBlock":
            parts.append(node["text"])
        if node.get("type") == "FactSet":
            parts.extend(f"{fact['title']}: {fact['value']}" for fact in node["facts"])
    return "\n".join(parts)


def filled_inputs(card: dict[str, Any]) -> dict[str, str]:
    """What Teams would merge in when a person presses a button after filling the form."""
    values = {}
    for input_id, node in inputs(card).items():
        values[input_id] = node.get("value") or ("x" if node.get("isRequired") else "")
    return values


def press(card: dict[str, Any], title: str) -> dict[str, Any]:
    """The merged dict Teams sends for the button called `title`."""
    matching = [button for button in buttons(card) if button["title"] == title]
    assert len(matching) == 1, f"expected one button {title!r}, found {len(matching)}"
    return merged(card, matching[0])


def merged(card: dict[str, Any], button: dict[str, Any]) -> dict[str, Any]:
    """The button's data with the card's inputs merged in, when the button sends them."""
    data = dict(button["data"])
    if button.get("associatedInputs", "auto") == "auto":
        data |= filled_inputs(card)
    return data


_ADMIN_VERBS = {str(verb) for verb in AdminVerb}
_ALERTS_VERBS = {str(verb) for verb in AlertsVerb}
_REVIEW_VERBS = {str(verb) for verb in ReviewVerb}


def parse_any_action(data: Mapping[str, Any]) -> object:
    """What pimbot reads from a button's data, whichever side's button it is (the admin front
    sends admin and alerts verbs to their journeys, the reviewers' front review verbs to access
    reviews, the rest to the workflow); `InvalidAction`
    when it cannot read it."""
    verb = data.get("verb")
    if verb in _ADMIN_VERBS:
        return parse_admin_action(data)
    if verb in _ALERTS_VERBS:
        return parse_alerts_action(data)
    if verb in _REVIEW_VERBS:  # the reviewers' front sends these to access reviews
        return parse_review_action(data)
    return parse_action(data)


def check_card(card: dict[str, Any]) -> None:
    """What every pimbot card must satisfy."""
    assert card["type"] == "AdaptiveCard"
    assert card["version"] == "1.5"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert schema_errors(card) == []
    assert len(json.dumps(card).encode()) < TEAMS_MAX_CARD_BYTES
    for node in elements(card, "Input."):
        assert node.get("id"), node
    for node in elements(card, "Action.Execute"):
        assert node["verb"], node
        assert node["data"]["verb"] == node["verb"], node
        fallback = node.get("fallback")
        if fallback is not None:
            assert fallback["type"] == "Action.Submit"
            assert fallback["data"] == node["data"]
    for node in elements(card, "TextBlock"):
        assert node.get("wrap") is True, node
    for button in buttons(card):
        parse_any_action(merged(card, button))  # every button sends something pimbot can read
