"""User text is data: whatever a requester types, or Graph calls a person or a role, shows on every
card as typed and never as a link, bold text, a list, a heading, code or an HTML entity."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cards
from bot.domain import ActiveRole, EligibleRole, Person, RequestKind, RequestState, Role, Ticket
from cards.text import as_typed, plain
from tests.cards.markdown import markup_in, rendered_texts
from tests.cards.samples import LAX, NOW, STRICT, decided, request

# Every form of Markdown and link Teams renders, each with "INC-8" to find it again.
HOSTILE = [
    "INC-8 see [runbook](http://evil.example/login) **urgent**",
    "INC-8 <http://evil.example/login> and https://evil.example/a?b=c and www.evil.com",
    "INC-8 mail evil@evil.com or mailto:evil@evil.com, see evil.com/login",
    "INC-8 __bold__ _italic_ *em* ~~gone~~ `code` ![img](http://evil.example/x.png)",
    "INC-8 &lt;b&gt; &#42;x&#42; &amp; <b>html</b> <img src=x onerror=alert(1)>",
    "INC-8\n# Approved by security\n- item\n* item\n+ item\n1. first\n2) second\n> quote",
    "INC-8\n\n    indented code\n```\nfenced\n```\nsetext\n===\n---\n| a | b |\n|---|---|",
    "INC-8 [ref]\n\n[ref]: http://evil.example/ref",
    "INC-8 {{DATE(2017-02-14T06:08:39Z, SHORT)}} \u202eevil\u202c",
]


def _person(text: str) -> Person:
    return Person(id="p-hostile", tenant_id="t1", display_name=text, upn="x@contoso.example")


def _role(text: str) -> Role:
    return Role(id="r-hostile", display_name=text)


def _request(text: str, state: RequestState, **changes: Any) -> Any:
    return decided(state).model_copy(
        update=dict(
            requester=_person(text),
            decided_by=_person(text),
            role=_role(text),
            justification=text,
            decision_reason=text,
            ticket=Ticket(number=text, system=text),
            failure=text,
            require_mfa=True,
            **changes,
        )
    )


Builder = Callable[[str], dict[str, Any]]

EVERY_BUILDER: dict[str, Builder] = {
    "activation form": lambda t: cards.activation_form(
        _role(t), STRICT, form_id="f", justification=t, ticket=t, approver_names=[t], notice=t
    ),
    "extension form": lambda t: cards.activation_form(
        _role(t), LAX, form_id="f", kind="extend", approver_names=[t], notice=t
    ),
    "role choices": lambda t: cards.role_choices(t, [_role(t), _role(t + " 2")], justification=t),
    "not eligible, known role": lambda t: cards.not_eligible(
        t, _role(t), [EligibleRole(role=_role(t))]
    ),
    "not eligible, unknown role": lambda t: cards.not_eligible(t, None, []),
    "approval request": lambda t: cards.approval_request(
        _request(t, RequestState.PENDING_APPROVAL), policy=STRICT, approver_teams_ids=["29:b"]
    ),
    "approval request to extend": lambda t: cards.approval_request(
        _request(t, RequestState.PENDING_APPROVAL, kind=RequestKind.EXTEND),
        policy=LAX,
        approver_teams_ids=["29:b"],
    ),
    **{
        f"approval decided {state}": (
            lambda t, state=state: cards.approval_decided(_request(t, state))
        )
        for state in RequestState
    },
    **{
        f"request status {state}": (lambda t, state=state: cards.request_status(_request(t, state)))
        for state in RequestState
    },
    "which to cancel": lambda t: cards.which_to_cancel(
        "You have 2 open requests.",
        [_request(t, RequestState.PENDING_APPROVAL), _request(t + " 2", RequestState.SUBMITTED)],
    ),
    "activated": lambda t: cards.activated(_request(t, RequestState.ACTIVE)),
    "expiry warning": lambda t: cards.expiry_warning(
        _request(t, RequestState.ACTIVE), minutes_left=15
    ),
    "ended": lambda t: cards.ended(_request(t, RequestState.ENDED)),
    "my roles": lambda t: cards.my_roles(
        [EligibleRole(role=_role(t), end=NOW + timedelta(days=9))],
        [
            ActiveRole(role=_role(t + " active"), start=NOW, end=NOW + timedelta(hours=1)),
            ActiveRole(role=_role(t + " permanent"), start=NOW, end=None),
        ],
    ),
    "pending list": lambda t: cards.pending_list(
        [_request(t, RequestState.PENDING_APPROVAL)], [_request(t, RequestState.PENDING_APPROVAL)]
    ),
}


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize("name", EVERY_BUILDER)
def test_no_markdown_from_user_text_takes_effect_on_any_card(name: str, hostile: str) -> None:
    card = EVERY_BUILDER[name](hostile)
    shown = rendered_texts(card)
    assert any("INC-8" in text for text in shown), "the user text is on the card"
    assert {text: markup_in(text) for text in shown if markup_in(text)} == {}
    # The user's DATE() (of 2017) must not work; pimbot's own client-rendered times of the sample
    # request (2025) may stand beside it.
    own_times = re.compile(r"\{\{(?:DATE|TIME)\(2025-[^)]*\)\}\}")
    unsafe = [own_times.sub("", text) for text in shown]
    assert not [text for text in unsafe if "{{" in text or "\u202e" in text]  # DATE(), reversal


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize("name", EVERY_BUILDER)
def test_user_text_on_cards_reads_as_typed(name: str, hostile: str) -> None:
    first_line = hostile.split("\n")[0].replace("\u202e", "").replace("\u202c", "")
    typed = [as_typed(text) for text in rendered_texts(EVERY_BUILDER[name](hostile))]
    assert any(first_line in text for text in typed)


def test_the_phishing_reason_from_the_report_is_no_link_but_reads_the_same() -> None:
    reason = "INC-8 see [runbook](http://evil.example/login) **urgent**"
    card = cards.approval_request(
        request(justification=reason), policy=STRICT, approver_teams_ids=["29:b"]
    )
    (value,) = [text for text in rendered_texts(card) if "runbook" in text]
    assert markup_in(value) == []
    assert as_typed(value) == reason
    assert "http://" not in value and "evil.example" not in value and "**" not in value


def test_the_check_itself_finds_markdown() -> None:
    for hostile in HOSTILE[:-1]:  # the last one is about Adaptive Cards and Unicode
        assert markup_in(hostile), hostile


# Letters, spaces, newlines and every character Markdown, HTML or link detection gives meaning.
_MARKDOWN_ALPHABET = st.sampled_from(
    [*"aZ9 \n\t#*-_+=.:/@&;<>[]()!`~|\\{}'\"", "http://", "www.", ".com", "&lt;", "1. ", "mailto:"]
)


@given(st.lists(_MARKDOWN_ALPHABET, max_size=40).map("".join))
def test_plain_text_never_renders_as_markup(text: str) -> None:
    assert markup_in(plain(text)) == []


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"))))
def test_plain_keeps_every_character_a_person_typed(text: str) -> None:
    text = text.replace("\u2024", "").replace("\u200b", "")
    for look_alike in "\u2217\uff3f\u02cb\u223c\uff1c\uff1e":
        text = text.replace(look_alike, "")
    for control in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069":
        text = text.replace(control, "")
    assert as_typed(plain(text)) == text
