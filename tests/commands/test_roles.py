import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import Role
from bot.workflow.roles import Ambiguous, Exact, NoMatch, RoleMatch, resolve_role

# Built-in Entra roles and their template ids (the same in every tenant).
BUILT_IN = [
    Role(id=role_id, display_name=name)
    for name, role_id in [
        ("Global Administrator", "62e90394-69f5-4237-9190-012177145e10"),
        ("Privileged Role Administrator", "e8611ab8-c189-46e8-94e1-60213ab1f814"),
        ("Privileged Authentication Administrator", "7be44c8a-adaf-4e2a-84d6-ab2649e08a13"),
        ("Security Administrator", "194ae4cb-b126-40b2-bd5b-6091b380977d"),
        ("Security Reader", "5d6b6bb7-de71-4623-b4af-96380a352509"),
        ("Security Operator", "5f2222b1-57c3-48ba-8ad5-d4759f1fde6f"),
        ("Global Reader", "f2ef992c-3afb-46b9-b7cf-a126ee74c451"),
        ("Exchange Administrator", "29232cdf-9323-42fd-ade2-1d097af3e4de"),
        ("SharePoint Administrator", "f28a1f50-f6e7-4571-818b-6a12f2af6b6c"),
        ("Teams Administrator", "69091246-20e8-4a56-aa4d-066075b2a7a8"),
        ("User Administrator", "fe930be7-5e62-47db-91af-98c3a49a38b1"),
        ("Helpdesk Administrator", "729827e3-9c14-49f7-bb1b-9608f156bbb8"),
        ("Password Administrator", "966707d0-3269-4727-9be2-8c3a10f19b9d"),
        ("Authentication Administrator", "c4e39bd9-1100-46d3-8c65-fb160da0071f"),
        ("Application Administrator", "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"),
        ("Cloud Application Administrator", "158c047a-c907-4556-b7ef-446551a6b5f7"),
        ("Conditional Access Administrator", "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9"),
        ("Groups Administrator", "fdd7a751-b60b-444a-984c-02652fe8fa1c"),
        ("Intune Administrator", "3a2c62db-5318-420d-8d74-23affee5d9d5"),
        ("Cloud Device Administrator", "7698a772-787b-4ac8-901f-60d6b08affd2"),
        ("Billing Administrator", "b0f54661-2d74-4c50-afa3-1ec803f12efe"),
        ("Compliance Administrator", "17315797-102d-40b4-93e0-432062caca18"),
        ("Hybrid Identity Administrator", "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2"),
        ("Attribute Definition Administrator", "8424c6f0-a189-499e-bbd0-26c1753c96d4"),
    ]
]
BY_NAME = {role.display_name: role for role in BUILT_IN}


def names(match: RoleMatch) -> list[str]:
    if isinstance(match, Exact):
        return [match.role.display_name]
    if isinstance(match, Ambiguous):
        return [role.display_name for role in match.candidates]
    return [role.display_name for role in match.suggestions]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Exchange Administrator", "Exchange Administrator"),
        ("exchange administrator", "Exchange Administrator"),
        ("  EXCHANGE ADMINISTRATOR ", "Exchange Administrator"),
        ("Exchange Admin", "Exchange Administrator"),
        ("exch admin", "Exchange Administrator"),
        ("exch adm", "Exchange Administrator"),
        ("exchange", "Exchange Administrator"),
        ("admin exchange", "Exchange Administrator"),
        ("sec admin", "Security Administrator"),
        ("app admin", "Application Administrator"),
        ("apps admin", "Application Administrator"),
        ("cloud app admin", "Cloud Application Administrator"),
        ("priv role admin", "Privileged Role Administrator"),
        ("priv auth admin", "Privileged Authentication Administrator"),
        ("sharepoint adm", "SharePoint Administrator"),
        ("ga", "Global Administrator"),
        ("GA", "Global Administrator"),
        ("pra", "Privileged Role Administrator"),
        ("ca", "Conditional Access Administrator"),
        ("hybrid", "Hybrid Identity Administrator"),
        ("global reader", "Global Reader"),
        ("62e90394-69f5-4237-9190-012177145e10", "Global Administrator"),
    ],
)
def test_names_abbreviations_and_prefixes_resolve_to_one_role(query: str, expected: str) -> None:
    assert resolve_role(query, BUILT_IN) == Exact(BY_NAME[expected])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Exchnage Admin", "Exchange Administrator"),
        ("exchane admin", "Exchange Administrator"),
        ("Secuirty Administrator", "Security Administrator"),
        ("condtional access", "Conditional Access Administrator"),
        ("pasword admin", "Password Administrator"),
        ("Helpdesk Admnistrator", "Helpdesk Administrator"),
    ],
)
def test_small_typos_still_resolve(query: str, expected: str) -> None:
    assert resolve_role(query, BUILT_IN) == Exact(BY_NAME[expected])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("security", ["Security Administrator", "Security Operator", "Security Reader"]),
        ("securty", ["Security Administrator", "Security Operator", "Security Reader"]),
        ("global", ["Global Administrator", "Global Reader"]),
        ("cloud", ["Cloud Application Administrator", "Cloud Device Administrator"]),
        (
            "priv admin",
            ["Privileged Authentication Administrator", "Privileged Role Administrator"],
        ),
    ],
)
def test_a_query_matching_several_roles_equally_is_ambiguous(
    query: str, expected: list[str]
) -> None:
    match = resolve_role(query, BUILT_IN)
    assert isinstance(match, Ambiguous)
    assert names(match) == expected


def test_an_exact_display_name_wins_over_abbreviations_and_prefixes() -> None:
    custom = Role(id="c0ffee00-0000-0000-0000-000000000001", display_name="Exchange Admin")
    roles = [*BUILT_IN, custom]
    assert resolve_role("exchange admin", roles) == Exact(custom)
    assert resolve_role("Exchange Administrator", roles) == Exact(BY_NAME["Exchange Administrator"])


def test_an_exact_name_wins_over_a_nickname() -> None:
    ga_team = Role(id="c0ffee00-0000-0000-0000-000000000002", display_name="GA")
    assert resolve_role("ga", [*BUILT_IN, ga_team]) == Exact(ga_team)


def test_a_nickname_never_lands_on_another_role_with_the_same_initials() -> None:
    # Eligible for Groups Administrator but not Global: "ga" must not activate the former.
    eligible = [BY_NAME["Groups Administrator"], BY_NAME["Exchange Administrator"]]
    assert isinstance(resolve_role("ga", eligible), NoMatch)


def test_two_roles_with_the_same_name_are_ambiguous() -> None:
    twin = Role(id="c0ffee00-0000-0000-0000-000000000003", display_name="Exchange Administrator")
    match = resolve_role("Exchange Administrator", [*BUILT_IN, twin])
    assert isinstance(match, Ambiguous)
    assert {role.id for role in match.candidates} == {twin.id, BY_NAME["Exchange Administrator"].id}


def test_fewer_unmatched_words_beats_more() -> None:
    recipient = Role(
        id="31392ffb-586c-42d1-9346-e59415a2cc4e", display_name="Exchange Recipient Administrator"
    )
    assert resolve_role("exch", [*BUILT_IN, recipient]) == Exact(BY_NAME["Exchange Administrator"])
    assert resolve_role("exch recip", [*BUILT_IN, recipient]) == Exact(recipient)


@pytest.mark.parametrize("query", ["xyzzy", "Exchange Reader", "payroll"])
def test_no_match_offers_at_most_three_close_names(query: str) -> None:
    match = resolve_role(query, BUILT_IN)
    assert isinstance(match, NoMatch)
    assert len(match.suggestions) <= 3


def test_no_match_suggests_the_closest_names_first() -> None:
    match = resolve_role("Exchange Reader", BUILT_IN)
    assert isinstance(match, NoMatch)
    assert names(match)[0] in {"Exchange Administrator", "Global Reader", "Security Reader"}


@pytest.mark.parametrize("query", ["", "   ", "!!!"])
def test_an_empty_query_matches_nothing(query: str) -> None:
    assert resolve_role(query, BUILT_IN) == NoMatch([])


def test_nothing_matches_in_an_empty_list() -> None:
    assert resolve_role("ga", []) == NoMatch([])


def test_resolution_does_not_depend_on_the_order_of_roles() -> None:
    for query in ["security", "exch admin", "Exchnage Admin", "global", "xyzzy"]:
        assert resolve_role(query, BUILT_IN) == resolve_role(query, list(reversed(BUILT_IN)))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("the exchange admin role", "Exchange Administrator"),
        ("my global admin role please", "Global Administrator"),
        ("priv role admin", "Privileged Role Administrator"),
    ],
)
def test_filler_words_are_dropped_only_when_they_get_in_the_way(query: str, expected: str) -> None:
    assert resolve_role(query, BUILT_IN) == Exact(BY_NAME[expected])


@given(st.text(max_size=80))
def test_resolve_role_never_raises_and_is_deterministic(query: str) -> None:
    first = resolve_role(query, BUILT_IN)
    assert isinstance(first, Exact | Ambiguous | NoMatch)
    assert resolve_role(query, BUILT_IN) == first
