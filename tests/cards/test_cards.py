import json
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

import pytest

import cards
from bot.domain import ActiveRole, EligibleRole, RequestKind, RequestState
from bot.timefmt import parse_iso_duration
from cards.actions import (
    MAX_JUSTIFICATION_LENGTH,
    MAX_TICKET_LENGTH,
    Approve,
    CancelRequest,
    DeactivateRole,
    Deny,
    ExtendRole,
    PickRole,
    Refresh,
    RetryRequest,
    SubmitRequest,
    parse_action,
)
from cards.refresh import with_refresh
from tests.cards.admin_samples import ADMIN_CARDS
from tests.cards.review_samples import REVIEW_CARDS
from tests.cards.samples import (
    BOB,
    EXCHANGE,
    GLOBAL,
    LAX,
    NOW,
    SECURITY,
    SECURITY_READER,
    STRICT,
    active,
    buttons,
    check_card,
    decided,
    elements,
    eligible,
    inputs,
    many_roles,
    press,
    request,
    schema_errors,
    texts,
)

H = timedelta(hours=1)
LONG = "x" * MAX_JUSTIFICATION_LENGTH
APPROVERS = [f"29:approver-{index}" for index in range(100)]


def _approval_decided_in(state: RequestState) -> dict[str, Any]:
    return cards.approval_decided(decided(state))


def _request_status_in(state: RequestState) -> dict[str, Any]:
    return cards.request_status(decided(state, failure="Graph said no"), tz="Europe/Berlin")


EVERY_CARD: dict[str, Callable[[], dict[str, Any]]] = {
    "form lax": lambda: cards.activation_form(EXCHANGE, LAX, form_id="f1"),
    "form strict": lambda: cards.activation_form(
        GLOBAL,
        STRICT,
        form_id="f1",
        duration=3 * H,
        justification=LONG,
        ticket="INC-1",
        approver_names=["Bob Approver", "Carol"],
        notice="3 h is above the 2 h maximum.",
    ),
    "form extend": lambda: cards.activation_form(
        GLOBAL, STRICT, form_id="f2", kind="extend", active_until="Wed 12 Mar 2025 11:00 (UTC)"
    ),
    "role choices": lambda: cards.role_choices(
        "security", [SECURITY, SECURITY_READER], duration=2 * H, justification="x", ticket="A-1"
    ),
    "role choices many": lambda: cards.role_choices(
        "sample", many_roles(100), duration="PT2H", justification=LONG, ticket="T" * 100
    ),
    "not eligible known": lambda: cards.not_eligible("ga", GLOBAL, eligible(EXCHANGE)),
    "not eligible unknown": lambda: cards.not_eligible("payroll", None, []),
    "not eligible many": lambda: cards.not_eligible("ga", GLOBAL, eligible(*many_roles(200))),
    "approval request": lambda: cards.approval_request(
        request(justification=LONG, require_mfa=True, mfa_verified_at=NOW),
        policy=STRICT,
        approver_teams_ids=APPROVERS,
    ),
    "approval request lax": lambda: cards.approval_request(
        request(), policy=LAX, approver_teams_ids=["29:bob"], tz="Europe/Berlin"
    ),
    **{f"approval decided {state}": partial(_approval_decided_in, state) for state in RequestState},
    **{f"request status {state}": partial(_request_status_in, state) for state in RequestState},
    "activated": lambda: cards.activated(decided(RequestState.ACTIVE)),
    "expiry warning": lambda: cards.expiry_warning(decided(RequestState.ACTIVE), minutes_left=15),
    "ended": lambda: cards.ended(decided(RequestState.ENDED), tz="Asia/Tokyo"),
    "my roles": lambda: cards.my_roles(eligible(EXCHANGE, GLOBAL), active(EXCHANGE)),
    "my roles empty": lambda: cards.my_roles([], []),
    "my roles many": lambda: cards.my_roles(
        eligible(*many_roles(200)), active(*many_roles(40)), tz="Europe/Berlin"
    ),
    "pending list": lambda: cards.pending_list(
        [request()], [request(justification=LONG).model_copy(update={"requester": BOB})]
    ),
    "pending list empty": lambda: cards.pending_list([], []),
    "pending list many": lambda: cards.pending_list(
        [request(justification=LONG)] * 100, [request(justification=LONG)] * 100
    ),
    "which to cancel": lambda: cards.which_to_cancel(
        "You have 2 open requests.",
        [request(), decided(RequestState.DRAFT).model_copy(update={"role": GLOBAL})],
    ),
    "which to cancel many": lambda: cards.which_to_cancel(
        "You have 100 open requests.", [request(justification=LONG)] * 100
    ),
    "help": cards.help_card,
    "error": lambda: cards.error_card("Graph is busy", "Try again in a minute."),
    **ADMIN_CARDS,  # the admin side's: standing, four-eyes, alerts, role settings, help
    **REVIEW_CARDS,  # access reviews: the reviewer's card, `reviews`, the end
}


@pytest.mark.parametrize("name", EVERY_CARD)
def test_every_card_is_a_valid_small_adaptive_card_1_5(name: str) -> None:
    check_card(EVERY_CARD[name]())


@pytest.mark.parametrize("name", EVERY_CARD)
def test_every_card_is_json_serializable_and_independent_of_the_next(name: str) -> None:
    first, second = EVERY_CARD[name](), EVERY_CARD[name]()
    first["body"].clear()
    assert second["body"]
    assert json.loads(json.dumps(second)) == second


def test_the_schema_check_catches_a_broken_card() -> None:
    broken = cards.help_card()
    broken["body"].append({"type": "Input.Text"})  # no id
    broken["body"].append({"type": "Blink", "text": "hi"})
    assert schema_errors(broken)


# --- activation form ----------------------------------------------------------------------------


def duration_values(card: dict[str, Any]) -> list[timedelta]:
    values = [parse_iso_duration(c["value"]) for c in inputs(card)["duration"]["choices"]]
    assert None not in values
    return [value for value in values if value is not None]


def test_form_for_a_lax_role_asks_only_for_duration_and_an_optional_reason() -> None:
    card = cards.activation_form(EXCHANGE, LAX, form_id="f1")
    assert set(inputs(card)) == {"duration", "justification"}
    assert not inputs(card)["justification"].get("isRequired")
    assert "Approval: Not needed" in texts(card)
    assert "MFA: Not needed" in texts(card)
    assert "Longest allowed: 8 h" in texts(card)


def test_form_for_a_strict_role_requires_reason_and_ticket() -> None:
    card = cards.activation_form(GLOBAL, STRICT, form_id="f1", approver_names=["Bob Approver"])
    fields = inputs(card)
    assert set(fields) == {"duration", "justification", "ticket_number", "ticket_system"}
    assert fields["justification"]["isRequired"] is True
    assert fields["justification"]["errorMessage"]
    assert fields["ticket_number"]["isRequired"] is True
    assert "Approval: Needed from Bob Approver" in texts(card)
    assert "MFA: Needed" in texts(card)
    assert [b["title"] for b in buttons(card)] == ["Ask for approval"]


def test_form_says_the_limits_of_its_text_inputs() -> None:
    card = cards.activation_form(GLOBAL, STRICT, form_id="f1")
    justification, ticket = inputs(card)["justification"], inputs(card)["ticket_number"]
    assert justification["maxLength"] == MAX_JUSTIFICATION_LENGTH
    assert f"up to {MAX_JUSTIFICATION_LENGTH} characters" in justification["placeholder"]
    assert ticket["maxLength"] == MAX_TICKET_LENGTH
    assert f"up to {MAX_TICKET_LENGTH} characters" in ticket["placeholder"]


def test_a_reason_too_long_is_kept_whole_and_the_form_says_the_limit() -> None:
    typed = "restore the mailbox " * 340  # 6,800 characters
    card = cards.activation_form(GLOBAL, STRICT, form_id="f1", justification=typed, ticket="T-1")
    assert inputs(card)["justification"]["value"] == typed  # never cut
    assert "Your reason is 6,800 characters; up to 500 fit. Shorten it below" in texts(card)
    assert schema_errors(card) == []


def test_role_choices_do_not_carry_a_reason_too_long_and_say_why() -> None:
    typed = "y" * (MAX_JUSTIFICATION_LENGTH + 1)
    card = cards.role_choices("security", [SECURITY, SECURITY_READER], justification=typed)
    assert all("justification" not in button["data"] for button in buttons(card))
    assert "Your reason is longer than the 500 characters the form takes" in texts(card)


@pytest.mark.parametrize("maximum", [timedelta(minutes=15), H, 3 * H, 8 * H, 24 * H])
def test_duration_choices_never_exceed_the_policy_maximum(maximum: timedelta) -> None:
    policy = LAX.model_copy(update={"max_duration": maximum})
    for requested in [None, timedelta(minutes=10), 2 * H, 48 * H]:
        card = cards.activation_form(EXCHANGE, policy, form_id="f", duration=requested)
        values = duration_values(card)
        assert max(values) == maximum
        assert values == sorted(values)


def test_the_duration_typed_is_preselected() -> None:
    card = cards.activation_form(EXCHANGE, LAX, form_id="f", duration=2 * H)
    assert inputs(card)["duration"]["value"] == "PT2H"


def test_a_typed_duration_between_choices_is_offered_and_preselected() -> None:
    card = cards.activation_form(EXCHANGE, LAX, form_id="f", duration=timedelta(minutes=90))
    assert inputs(card)["duration"]["value"] == "PT1H30M"
    assert timedelta(minutes=90) in duration_values(card)


def test_a_typed_duration_above_the_maximum_preselects_the_maximum() -> None:
    card = cards.activation_form(GLOBAL, STRICT, form_id="f", duration=3 * H, notice="too long")
    assert inputs(card)["duration"]["value"] == "PT2H"
    assert "too long" in texts(card)


@pytest.mark.parametrize(
    ("maximum", "expected"),
    [(8 * H, "PT1H"), (H, "PT1H"), (timedelta(minutes=45), "PT45M")],
)
def test_without_a_typed_duration_the_shortest_choice_of_an_hour_or_more_is_preselected(
    maximum: timedelta, expected: str
) -> None:
    policy = LAX.model_copy(update={"max_duration": maximum})
    assert inputs(cards.activation_form(EXCHANGE, policy, form_id="f"))["duration"]["value"] == (
        expected
    )


def test_submitting_the_form_sends_a_request_pimbot_can_read() -> None:
    card = cards.activation_form(
        GLOBAL, STRICT, form_id="f1", duration=2 * H, justification="restore", ticket="INC-9"
    )
    action = parse_action(press(card, "Ask for approval"))
    assert action == SubmitRequest(
        form_id="f1",
        role_id=GLOBAL.id,
        kind="activate",
        duration="PT2H",
        justification="restore",
        ticket_number="INC-9",
        ticket_system="",
    )


def test_extension_form_uses_the_extension_approval_rule() -> None:
    no_approval_to_extend = STRICT.model_copy(update={"require_approval_for_extension": False})
    card = cards.activation_form(GLOBAL, no_approval_to_extend, form_id="f", kind="extend")
    assert "Approval: Not needed" in texts(card)
    action = parse_action(press(card, "Extend"))
    assert isinstance(action, SubmitRequest)
    assert action.kind == "extend"


# --- choosing a role ------------------------------------------------------------------------------


def test_role_choices_offer_one_button_per_role_carrying_what_was_typed() -> None:
    card = cards.role_choices(
        "security",
        [SECURITY, SECURITY_READER],
        duration=2 * H,
        justification="audit",
        ticket="INC-1",
    )
    assert "“security” matches more than one role." in texts(card)
    assert [
        parse_action(press(card, role.display_name)) for role in [SECURITY, SECURITY_READER]
    ] == [
        PickRole(role_id=role.id, duration="PT2H", justification="audit", ticket="INC-1")
        for role in [SECURITY, SECURITY_READER]
    ]


def test_role_choices_cut_a_long_list_and_say_so() -> None:
    card = cards.role_choices("sample", many_roles(40))
    assert len(buttons(card)) < 40
    assert "more" in texts(card)


def test_not_eligible_names_the_role_and_offers_what_they_can_activate() -> None:
    card = cards.not_eligible("ga", GLOBAL, eligible(EXCHANGE, SECURITY))
    assert "You are not eligible for Global Administrator" in texts(card)
    assert parse_action(press(card, "Activate Exchange Administrator")) == PickRole(
        role_id=EXCHANGE.id
    )
    assert len(buttons(card)) == 2


def test_not_eligible_for_an_unknown_role_quotes_the_query() -> None:
    card = cards.not_eligible("payroll", None, [])
    assert "“payroll”" in texts(card)
    assert buttons(card) == []


# --- approvals ------------------------------------------------------------------------------------


def test_approval_request_shows_who_what_how_long_why_and_ticket() -> None:
    card = cards.approval_request(request(), policy=LAX, approver_teams_ids=["29:bob"])
    shown = texts(card)
    for expected in [
        "Alice Admin asks to activate Exchange Administrator",
        "Duration: 2 h",
        "Reason: INC-1234 mailbox restore",
        "Ticket: INC-1234 (ServiceNow)",
        "Requested: ",
        "A reason is needed to deny.",
    ]:
        assert expected in shown


def test_approval_request_buttons_send_the_request_id_and_the_reason() -> None:
    card = cards.approval_request(request(), policy=LAX, approver_teams_ids=["29:bob"])
    assert "reason" in inputs(card)
    assert parse_action(press(card, "Approve")) == Approve(request_id="req_7f3a9c")
    assert parse_action(press(card, "Deny")) == Deny(request_id="req_7f3a9c")


def test_approval_request_requires_a_reason_when_the_policy_demands_it() -> None:
    strict = cards.approval_request(request(), policy=STRICT, approver_teams_ids=[])
    lax = cards.approval_request(request(), policy=LAX, approver_teams_ids=[])
    assert inputs(strict)["reason"]["isRequired"] is True
    assert "A reason is required to approve or deny." in texts(strict)
    assert not inputs(lax)["reason"].get("isRequired")


def test_an_approval_card_for_approvers_pimbot_never_heard_from_refreshes_for_everyone() -> None:
    # An empty `userIds` means "manual refresh only" in Teams; without it, every member of a
    # chat of up to 60 gets the automatic refresh.
    card = cards.approval_request(request(), policy=LAX, approver_teams_ids=[])
    assert "userIds" not in card["refresh"]
    assert card["refresh"]["action"]["verb"] == "card.refresh"


def test_a_requester_card_with_refresh_asks_pimbot_for_its_request_now() -> None:
    card = with_refresh(cards.activated(decided(RequestState.ACTIVE)), "req_7f3a9c", ["29:alice"])
    assert card["refresh"]["userIds"] == ["29:alice"]
    assert parse_action(card["refresh"]["action"]["data"]) == Refresh(request_id="req_7f3a9c")


def test_approval_request_refreshes_for_at_most_60_approvers() -> None:
    card = cards.approval_request(
        request(), policy=LAX, approver_teams_ids=["29:bob", "29:bob", *APPROVERS]
    )
    refresh = card["refresh"]
    assert refresh["action"]["verb"] == "card.refresh"
    assert refresh["action"]["data"] == {"verb": "card.refresh", "request_id": "req_7f3a9c"}
    assert len(refresh["userIds"]) == 60
    assert refresh["userIds"][:2] == ["29:bob", "29:approver-0"]


def test_approval_request_for_an_extension_says_so() -> None:
    card = cards.approval_request(
        request(kind=RequestKind.EXTEND), policy=LAX, approver_teams_ids=[]
    )
    assert "Alice Admin asks to extend Exchange Administrator" in texts(card)


@pytest.mark.parametrize(
    ("state", "outcome"),
    [
        (RequestState.APPROVED, "Approved: Exchange Administrator"),
        (RequestState.ACTIVE, "Approved: Exchange Administrator"),
        (RequestState.DENIED, "Denied: Exchange Administrator"),
        (RequestState.CANCELLED, "Cancelled by the requester"),
        (RequestState.EXPIRED_UNAPPROVED, "Expired, nobody decided in time"),
        (RequestState.FAILED, "Approved, but activation failed"),
    ],
)
def test_a_decided_approval_card_shows_the_outcome_and_has_no_buttons(
    state: RequestState, outcome: str
) -> None:
    card = cards.approval_decided(decided(state), tz="Europe/Berlin")
    assert outcome in texts(card)
    assert elements(card, "Action.") == []
    assert "refresh" not in card


def test_a_decided_approval_card_names_the_decider_the_time_and_the_reason() -> None:
    shown = texts(cards.approval_decided(decided(RequestState.DENIED), tz="Europe/Berlin"))
    assert "By Bob Approver, 11:03 (Europe/Berlin)" in shown or "By Bob Approver, Wed 12 Mar" in (
        shown
    )
    assert "Reason: ok, on call this week" in shown


# --- the requester's cards ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "heading", "actions"),
    [
        (RequestState.DRAFT, "Confirm it is you", [CancelRequest]),
        (RequestState.SUBMITTED, "Request sent", []),
        (RequestState.PENDING_APPROVAL, "Waiting for approval", [CancelRequest]),
        (RequestState.APPROVED, "Activating Exchange Administrator", []),
        (RequestState.ACTIVATING, "Activating Exchange Administrator", []),
        (RequestState.ACTIVE, "Exchange Administrator is active", [ExtendRole, DeactivateRole]),
        (RequestState.ENDED, "Exchange Administrator has ended", [PickRole]),
        (RequestState.DENIED, "Denied: Exchange Administrator", []),
        (RequestState.CANCELLED, "Cancelled: Exchange Administrator", []),
        (RequestState.EXPIRED_UNAPPROVED, "Expired: Exchange Administrator", [PickRole]),
        (RequestState.FAILED, "Could not activate Exchange Administrator", [RetryRequest]),
    ],
)
def test_request_status_tells_the_requester_where_it_stands(
    state: RequestState, heading: str, actions: list[type]
) -> None:
    card = cards.request_status(decided(state, failure="PIM refused: policy changed"))
    assert card["body"][0]["text"].startswith(heading)
    assert [type(parse_action(button["data"])) for button in buttons(card)] == actions


def test_a_denied_request_says_who_and_why() -> None:
    shown = texts(cards.request_status(decided(RequestState.DENIED), tz="UTC"))
    assert "Denied by Bob Approver" in shown
    assert "Reason: ok, on call this week" in shown


def test_a_failed_request_says_why_in_plain_words() -> None:
    card = cards.request_status(decided(RequestState.FAILED, failure="PIM refused the request."))
    assert "PIM refused the request." in texts(card)
    assert parse_action(press(card, "Retry")) == RetryRequest(request_id="req_7f3a9c")


def test_an_extension_says_extend_not_activate() -> None:
    failed = decided(RequestState.FAILED, kind=RequestKind.EXTEND)
    assert (
        cards.request_status(failed)["body"][0]["text"] == "Could not extend Exchange Administrator"
    )
    extending = decided(RequestState.ACTIVATING, kind=RequestKind.EXTEND)
    assert cards.request_status(extending)["body"][0]["text"] == "Extending Exchange Administrator"


def test_a_request_without_decider_needed_no_approval() -> None:
    card = cards.request_status(request(RequestState.ACTIVATING))
    assert "No approval needed." in texts(card)


def test_activated_card_says_until_when_in_the_persons_zone() -> None:
    card = cards.activated(decided(RequestState.ACTIVE), tz="Europe/Berlin")
    assert "(Europe/Berlin)" in texts(card)
    assert "You have it until" in texts(card)


def test_expiry_warning_offers_extend_and_deactivate() -> None:
    card = cards.expiry_warning(decided(RequestState.ACTIVE), minutes_left=15)
    assert card["body"][0]["text"] == "Exchange Administrator ends in 15 min"
    # The buttons name the request, so a press on a stale card is answered with its state now.
    assert parse_action(press(card, "Extend")) == ExtendRole(
        role_id=EXCHANGE.id, request_id="req_7f3a9c"
    )
    assert parse_action(press(card, "Deactivate now")) == DeactivateRole(
        role_id=EXCHANGE.id, request_id="req_7f3a9c"
    )


def test_ended_card_says_when_and_offers_to_activate_again() -> None:
    card = cards.ended(decided(RequestState.ENDED), tz=None)
    assert "It ended at" in texts(card)
    assert parse_action(press(card, "Activate again")) == PickRole(role_id=EXCHANGE.id)


# --- lists ----------------------------------------------------------------------------------------


def test_my_roles_lists_active_roles_with_end_and_the_others_to_activate() -> None:
    card = cards.my_roles(eligible(EXCHANGE, GLOBAL), active(EXCHANGE), tz="UTC")
    shown = texts(card)
    assert shown.index("Active now") < shown.index("Exchange Administrator")
    assert "Until " in shown
    actions = [parse_action(button["data"]) for button in buttons(card)]
    assert actions == [
        ExtendRole(role_id=EXCHANGE.id),
        DeactivateRole(role_id=EXCHANGE.id),
        PickRole(role_id=GLOBAL.id),
    ]


def test_my_roles_offers_no_buttons_for_a_permanent_assignment() -> None:
    permanent = ActiveRole(role=GLOBAL, start=None, end=None, assignment_type="Assigned")
    card = cards.my_roles([], [permanent])
    assert "Assigned permanently" in texts(card)
    assert buttons(card) == []


def test_my_roles_treats_a_time_bound_assignment_as_extendable() -> None:
    # The bot engine activates with adminAssign, so Graph lists "Assigned" with an end time.
    time_bound = ActiveRole(
        role=EXCHANGE, start=NOW, end=NOW + timedelta(hours=2), assignment_type="Assigned"
    )
    card = cards.my_roles([], [time_bound])
    assert "Assigned permanently" not in texts(card)
    assert [parse_action(b["data"]) for b in buttons(card)] == [
        ExtendRole(role_id=EXCHANGE.id),
        DeactivateRole(role_id=EXCHANGE.id),
    ]


def test_my_roles_shows_when_an_eligibility_ends() -> None:
    card = cards.my_roles([EligibleRole(role=GLOBAL, end=NOW + timedelta(days=30))], [])
    assert "Eligible until" in texts(card)


def test_my_roles_without_roles_says_so() -> None:
    assert "no active or eligible roles" in texts(cards.my_roles([], []))


def test_pending_list_lets_approvers_open_what_waits_and_requesters_cancel() -> None:
    waiting = request().model_copy(update={"id": "req_for_bob"})
    mine = request().model_copy(update={"requester": BOB, "id": "req_mine"})
    card = cards.pending_list([mine], [waiting])
    shown = texts(card)
    assert "Waiting for your decision" in shown
    assert "Alice Admin: Exchange Administrator, 2 h" in shown
    assert [parse_action(button["data"]) for button in buttons(card)] == [
        parse_action({"verb": "card.refresh", "request_id": "req_for_bob"}),
        CancelRequest(request_id="req_mine"),
    ]


def test_pending_list_of_the_newest_counts_everything_that_waits() -> None:
    newest = [request().model_copy(update={"id": f"req_{n}"}) for n in range(15)]
    shown = texts(cards.pending_list([], newest, waiting_total=10_000))
    assert "…and 9985 more." in shown


def test_pending_list_when_nothing_waits() -> None:
    assert "Nothing is waiting." in texts(cards.pending_list([], []))


def test_help_card_lists_the_commands() -> None:
    shown = texts(cards.help_card())
    for command in ["activate ROLE", "my roles", "pending", "deactivate ROLE", "extend"]:
        assert command in shown


def test_error_card_shows_title_and_advice() -> None:
    card = cards.error_card("Graph is busy", "Try again in a minute.")
    assert texts(card) == "Graph is busy\nTry again in a minute."


def test_a_draft_says_mfa_only_when_the_role_needs_it() -> None:
    with_mfa = cards.request_status(decided(RequestState.DRAFT, require_mfa=True))
    without = cards.request_status(decided(RequestState.DRAFT, require_mfa=False))
    assert "needs MFA" in texts(with_mfa)
    assert "needs MFA" not in texts(without) and "Sign in" in texts(without)


def test_a_card_for_someone_whose_zone_is_unknown_leaves_every_time_to_their_client() -> None:
    # A first card to an approver who never wrote to pimbot, or a copy many people read: Teams
    # renders `{{DATE()}}`/`{{TIME()}}` in the zone of whoever looks at it, never "UTC".
    shown = [
        cards.approval_request(request(), policy=LAX, approver_teams_ids=[]),
        cards.approval_decided(decided(RequestState.APPROVED)),
        cards.activated(decided(RequestState.ACTIVE)),
        cards.pending_list([], [request()]),
    ]
    for card in shown:
        text = json.dumps(card)
        assert "{{TIME(2025-03-12T" in text, text
        assert "(UTC)" not in text


def test_a_card_for_someone_whose_zone_is_known_names_it() -> None:
    card = cards.approval_request(request(), policy=LAX, approver_teams_ids=[], tz="Asia/Tokyo")
    assert "(Asia/Tokyo)" in json.dumps(card)
    assert "{{TIME(" not in json.dumps(card)


def test_the_approver_card_says_when_the_requester_confirmed_with_mfa() -> None:
    confirmed = request(require_mfa=True, mfa_verified_at=NOW + timedelta(minutes=2))
    card = cards.approval_request(
        confirmed, policy=STRICT, approver_teams_ids=["29:b"], tz="Europe/London"
    )
    assert "Alice Admin confirmed with MFA at Wed 12 Mar 2025 10:02 (Europe/London)." in texts(card)
    assert "must confirm" not in texts(card)


def test_the_approver_card_says_nothing_of_mfa_for_a_role_without_it() -> None:
    card = cards.approval_request(request(), policy=LAX, approver_teams_ids=["29:b"])
    assert "MFA" not in texts(card)


def test_the_approvers_reason_input_says_its_limit() -> None:
    card = cards.approval_request(request(), policy=STRICT, approver_teams_ids=["29:b"])
    reason = inputs(card)["reason"]
    assert reason["maxLength"] == 500
    assert "up to 500 characters" in reason["placeholder"]
