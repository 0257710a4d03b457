"""Cards rendered readably for the terminal, and the facts a client reads off a card."""

from __future__ import annotations

from datetime import timedelta

from bot.domain import ActivationPolicy, Role
from bot.sandbox.card_text import card_actions, card_inputs, input_errors, render_card
from cards.activation import activation_form

APPROVAL = {
    "type": "AdaptiveCard",
    "version": "1.5",
    "body": [
        {"type": "TextBlock", "text": "Adele asks to activate Exchange Administrator"},
        {
            "type": "FactSet",
            "facts": [
                {"title": "Duration", "value": "2 hours"},
                {"title": "Ticket", "value": "INC-42"},
            ],
        },
        {
            "type": "ColumnSet",
            "columns": [
                {"type": "Column", "items": [{"type": "TextBlock", "text": "Risk"}]},
                {"type": "Column", "items": [{"type": "TextBlock", "text": "high"}]},
            ],
        },
        {"type": "Input.Text", "id": "reason", "label": "Your reason", "isRequired": True},
        {"type": "TextBlock", "text": "hidden", "isVisible": False},
    ],
    "actions": [
        {"type": "Action.Execute", "title": "Approve", "verb": "approve", "data": {"id": "r1"}},
        {"type": "Action.Execute", "title": "Deny", "verb": "deny", "data": {"id": "r1"}},
    ],
}


def test_texts_facts_and_columns_are_shown():
    text = render_card(APPROVAL)
    assert "Adele asks to activate Exchange Administrator" in text
    assert "Duration  2 hours" in text and "Ticket    INC-42" in text
    assert "Risk  |  high" in text
    assert "hidden" not in text


def test_actions_are_numbered_in_order():
    assert render_card(APPROVAL).splitlines()[-1] == "[1] Approve  [2] Deny"
    assert [a.verb for a in card_actions(APPROVAL)] == ["approve", "deny"]


def test_inputs_show_label_id_default_and_choices():
    card = {
        "type": "AdaptiveCard",
        "body": [
            {
                "type": "Input.ChoiceSet",
                "id": "duration",
                "label": "Duration",
                "value": "PT2H",
                "choices": [
                    {"title": "1 hour", "value": "PT1H"},
                    {"title": "2 hours", "value": "PT2H"},
                ],
            },
            {"type": "Input.Text", "id": "ticket", "label": "Ticket", "isRequired": True},
        ],
    }
    lines = render_card(card).splitlines()
    assert lines == [
        "✎ Duration (duration) [2 hours]",
        "    1) 1 hour",
        "    2) 2 hours",
        "✎ Ticket * (ticket)",
    ]
    assert [(i.id, i.default) for i in card_inputs(card)] == [("duration", "PT2H"), ("ticket", "")]


def test_action_sets_in_the_body_and_show_cards_share_one_numbering():
    card = {
        "type": "AdaptiveCard",
        "body": [
            {"type": "TextBlock", "text": "Role"},
            {"type": "ActionSet", "actions": [{"type": "Action.Submit", "title": "Extend"}]},
        ],
        "actions": [
            {
                "type": "Action.ShowCard",
                "title": "Deny…",
                "card": {
                    "type": "AdaptiveCard",
                    "body": [{"type": "Input.Text", "id": "why", "label": "Why"}],
                    "actions": [{"type": "Action.Submit", "title": "Send denial"}],
                },
            },
            {"type": "Action.OpenUrl", "title": "Docs", "url": "https://example.test"},
        ],
    }
    text = render_card(card)
    assert "[1] Extend" in text and "[2] Send denial" in text and "[3] Docs" in text
    assert [a.title for a in card_actions(card)] == ["Extend", "Send denial", "Docs"]
    assert [i.id for i in card_inputs(card)] == ["why"]


def test_required_inputs_left_empty_are_flagged():
    assert input_errors(APPROVAL, {"reason": " "}) == {"reason": "Your reason is required"}
    assert input_errors(APPROVAL, {"reason": "fine"}) == {}


def test_pimbots_activation_form_renders_with_its_inputs_and_buttons():
    role = Role(id="29232cdf-9323-42fd-ade2-1d097af3e4de", display_name="Exchange Administrator")
    policy = ActivationPolicy(
        role_id=role.id,
        max_duration=timedelta(hours=4),
        require_justification=True,
        require_ticket=True,
    )
    card = activation_form(role, policy, form_id="f1", justification="mailbox move")
    text = render_card(card)
    inputs = {i.id: i for i in card_inputs(card)}
    assert "Activate Exchange Administrator" in text
    assert inputs["justification"].default == "mailbox move" and inputs["justification"].is_required
    assert inputs["ticket_number"].is_required
    assert text.splitlines()[-1] == "[1] Activate"
