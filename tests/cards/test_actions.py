from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cards.actions import (
    MAX_JUSTIFICATION_LENGTH,
    Approve,
    CancelRequest,
    CardAction,
    DeactivateRole,
    Deny,
    ExtendRole,
    InvalidAction,
    PickRole,
    Refresh,
    RetryRequest,
    SubmitRequest,
    Verb,
    parse_action,
)

ROLE_ID = "29232cdf-9323-42fd-ade2-1d097af3e4de"
REQUEST_ID = "req_7f3a9c"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {
                "verb": "request.submit",
                "form_id": "f1",
                "role_id": ROLE_ID,
                "kind": "activate",
                "duration": "PT2H",
                "justification": "  mailbox restore ",
                "ticket_number": "INC-1234",
                "ticket_system": "ServiceNow",
            },
            SubmitRequest(
                form_id="f1",
                role_id=ROLE_ID,
                kind="activate",
                duration="PT2H",
                justification="mailbox restore",
                ticket_number="INC-1234",
                ticket_system="ServiceNow",
            ),
        ),
        (
            {
                "verb": "request.submit",
                "form_id": "f1",
                "role_id": ROLE_ID,
                "kind": "extend",
                "duration": "PT30M",
            },
            SubmitRequest(form_id="f1", role_id=ROLE_ID, kind="extend", duration="PT30M"),
        ),
        ({"verb": "request.approve", "request_id": REQUEST_ID}, Approve(request_id=REQUEST_ID)),
        (
            {"verb": "request.approve", "request_id": REQUEST_ID, "reason": "ok, on call"},
            Approve(request_id=REQUEST_ID, reason="ok, on call"),
        ),
        (
            {"verb": "request.deny", "request_id": REQUEST_ID, "reason": "no ticket"},
            Deny(request_id=REQUEST_ID, reason="no ticket"),
        ),
        (
            {"verb": "request.cancel", "request_id": REQUEST_ID},
            CancelRequest(request_id=REQUEST_ID),
        ),
        ({"verb": "request.retry", "request_id": REQUEST_ID}, RetryRequest(request_id=REQUEST_ID)),
        ({"verb": "role.pick", "role_id": ROLE_ID}, PickRole(role_id=ROLE_ID)),
        (
            {
                "verb": "role.pick",
                "role_id": ROLE_ID,
                "duration": "PT2H",
                "justification": "x",
                "ticket": "INC-1",
            },
            PickRole(role_id=ROLE_ID, duration="PT2H", justification="x", ticket="INC-1"),
        ),
        ({"verb": "role.extend", "role_id": ROLE_ID}, ExtendRole(role_id=ROLE_ID)),
        ({"verb": "role.deactivate", "role_id": ROLE_ID}, DeactivateRole(role_id=ROLE_ID)),
        ({"verb": "card.refresh", "request_id": REQUEST_ID}, Refresh(request_id=REQUEST_ID)),
    ],
)
def test_every_verb_parses_into_its_payload(data: dict[str, Any], expected: CardAction) -> None:
    assert parse_action(data) == expected


def test_every_verb_has_a_payload() -> None:
    minimal: dict[Verb, dict[str, str]] = {
        Verb.SUBMIT_REQUEST: {
            "form_id": "f",
            "role_id": "r",
            "kind": "activate",
            "duration": "PT1H",
        },
        Verb.PICK_ROLE: {"role_id": "r"},
        Verb.EXTEND_ROLE: {"role_id": "r"},
        Verb.DEACTIVATE_ROLE: {"role_id": "r"},
    }
    for verb in Verb:
        data = {"verb": verb.value, **minimal.get(verb, {"request_id": "q"})}
        assert parse_action(data).verb == verb


def test_teams_extras_and_other_inputs_on_the_card_are_ignored() -> None:
    data = {
        "verb": "request.approve",
        "request_id": REQUEST_ID,
        "msteams": {"type": "messageBack"},
        "duration": "PT1H",
        "reason": "",
    }
    assert parse_action(data) == Approve(request_id=REQUEST_ID)


def test_submitted_duration_reads_as_a_timedelta_and_case_does_not_matter() -> None:
    action = parse_action(
        {
            "verb": "request.submit",
            "form_id": "f",
            "role_id": ROLE_ID,
            "kind": "activate",
            "duration": "pt1h30m",
        }
    )
    assert isinstance(action, SubmitRequest)
    assert action.requested_duration == timedelta(minutes=90)


def test_a_picked_role_without_duration_has_none() -> None:
    action = parse_action({"verb": "role.pick", "role_id": ROLE_ID})
    assert isinstance(action, PickRole)
    assert action.requested_duration is None


def invalid(data: Any) -> str:
    with pytest.raises(InvalidAction) as caught:
        parse_action(data)
    return caught.value.friendly_message


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"verb": "request.delete", "request_id": REQUEST_ID},
        {"verb": 3},
        {"verb": None},
        {"request_id": REQUEST_ID},
    ],
)
def test_an_unknown_or_missing_verb_is_refused(data: dict[str, Any]) -> None:
    assert "not one I know" in invalid(data)


@pytest.mark.parametrize(
    "data",
    [
        {"verb": "request.approve"},
        {"verb": "request.submit", "form_id": "f", "role_id": ROLE_ID, "kind": "activate"},
        {"verb": "role.pick"},
    ],
)
def test_a_missing_field_is_refused(data: dict[str, Any]) -> None:
    assert invalid(data)


@pytest.mark.parametrize(
    "data",
    [
        {"verb": "request.approve", "request_id": 42},
        {"verb": "request.approve", "request_id": [REQUEST_ID]},
        {"verb": "request.deny", "request_id": REQUEST_ID, "reason": {"text": "no"}},
        {"verb": "role.pick", "role_id": None},
        {
            "verb": "request.submit",
            "form_id": "f",
            "role_id": ROLE_ID,
            "kind": "activate",
            "duration": 2,
        },
    ],
)
def test_wrong_types_are_refused(data: dict[str, Any]) -> None:
    assert invalid(data)


@pytest.mark.parametrize(
    "request_id",
    ["", "   ", "../../etc/passwd", "a b", "<script>", "x" * 101, "id;drop table", "-leading"],
)
def test_ids_must_look_like_ids(request_id: str) -> None:
    assert invalid({"verb": "request.approve", "request_id": request_id})


def test_ids_are_stripped() -> None:
    assert parse_action({"verb": "request.cancel", "request_id": f"  {REQUEST_ID}\n"}) == (
        CancelRequest(request_id=REQUEST_ID)
    )


def test_an_oversized_justification_is_refused_with_the_limit() -> None:
    message = invalid(
        {
            "verb": "request.submit",
            "form_id": "f",
            "role_id": ROLE_ID,
            "kind": "activate",
            "duration": "PT1H",
            "justification": "x" * (MAX_JUSTIFICATION_LENGTH + 1),
        }
    )
    assert (
        message == f"The justification is too long (at most {MAX_JUSTIFICATION_LENGTH} characters)."
    )


def test_an_oversized_reason_is_refused() -> None:
    assert "reason is too long" in invalid(
        {"verb": "request.deny", "request_id": REQUEST_ID, "reason": "no" * 1000}
    )


@pytest.mark.parametrize("duration", ["2 hours", "", "PT2H; drop", "P" + "1" * 40])
def test_a_duration_not_from_the_list_is_refused(duration: str) -> None:
    message = invalid(
        {
            "verb": "request.submit",
            "form_id": "f",
            "role_id": ROLE_ID,
            "kind": "activate",
            "duration": duration,
        }
    )
    assert message == "Please pick a duration from the list."


def test_an_unknown_kind_is_refused() -> None:
    assert invalid(
        {
            "verb": "request.submit",
            "form_id": "f",
            "role_id": ROLE_ID,
            "kind": "assign",
            "duration": "PT1H",
        }
    )


@pytest.mark.parametrize("data", [None, "request.approve", ["verb"], 42])
def test_anything_but_a_mapping_is_refused(data: Any) -> None:
    assert invalid(data)


def test_the_friendly_message_never_echoes_what_was_sent() -> None:
    secret = "eyJhbGciOiJSUzI1NiJ9.secret-token"
    message = invalid({"verb": "request.approve", "request_id": secret + " !"})
    assert secret not in message


@given(
    st.dictionaries(
        st.sampled_from(["verb", "request_id", "role_id", "reason", "duration", "kind", "form_id"]),
        st.one_of(
            st.text(max_size=40), st.integers(), st.none(), st.sampled_from([v.value for v in Verb])
        ),
    )
)
def test_parse_action_returns_a_payload_or_raises_invalid_action_only(data: dict[str, Any]) -> None:
    try:
        parse_action(data)
    except InvalidAction as error:
        assert error.friendly_message
