"""The connector client's retry policy: the same statuses retried, without the quadratic build."""

from msrest.universal_http.requests import ClientRetryPolicy

import bot.channel  # noqa: F401  (applies the fix)

MSREST_SAFE_CODES = [i for i in range(500) if i != 408] + [501, 505]


def test_safe_codes_are_held_in_a_set() -> None:
    assert isinstance(ClientRetryPolicy.safe_codes, frozenset)


def test_the_same_statuses_are_retried_as_msrest_documents() -> None:
    expected = [i for i in range(999) if i not in MSREST_SAFE_CODES]
    assert ClientRetryPolicy().policy.status_forcelist == expected
    assert expected[:6] == [408, 500, 502, 503, 504, 506]
